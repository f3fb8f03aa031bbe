//! Durability with a real process: a node killed with SIGKILL mid-load keeps
//! every transaction it acknowledged as committed, its chain verifies on
//! restart, and replaying its blocks through the chaincode gives the state
//! hash it stores.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reciprocity_chaincode::{BlockContext, EnvelopeRef, MemStore, apply_block, verify_envelopes};
use reciprocity_sdk::tx::{TxBuilder, body};
use reciprocity_sdk::wire;

/// Acknowledged transactions: id -> (height, position, code).
type Acknowledged = BTreeMap<Vec<u8>, (u64, u32, u32)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_transactions_survive_sigkill_and_the_chain_replays_to_the_stored_hash() {
    let net = common::TestNet::create();
    let mut node = net.start();
    let client = net.ready(&mut node).await;
    let key = Arc::new(net.club_key());
    let acknowledged: Arc<Mutex<Acknowledged>> = Arc::default();

    // Eight concurrent submitters, each waiting for commits, until the node dies.
    let mut tasks = Vec::new();
    for worker in 0..8u8 {
        let mut client = client.clone();
        let key = Arc::clone(&key);
        let acknowledged = Arc::clone(&acknowledged);
        tasks.push(tokio::spawn(async move {
            for n in 0u32.. {
                let mut id = [0u8; 16];
                id[0] = worker;
                id[1..5].copy_from_slice(&n.to_be_bytes());
                let tx = TxBuilder::now("test-net").sign(
                    &key,
                    body::register_member(&reciprocity_sdk::MemberId(id), "full", 30_000),
                );
                match client.submit(tx, true, 5_000).await {
                    Ok(r) if r.outcome == wire::SubmitOutcome::Committed as i32 => {
                        acknowledged
                            .lock()
                            .unwrap()
                            .insert(r.tx_id.clone(), (r.height, r.position, r.code));
                    }
                    Ok(_) => {}
                    Err(_) => return, // the node is gone
                }
            }
        }));
    }
    // Let load build up, then kill the node without warning.
    for _ in 0..100 {
        if acknowledged.lock().unwrap().len() >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    common::kill_hard(&mut node);
    for task in tasks {
        let _ = task.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 50,
        "load ran before the kill: {} acknowledged",
        acknowledged.len()
    );

    // Restart: the node verifies its chain on open and comes back.
    let mut node = net.start();
    let mut client = net.ready(&mut node).await;
    for (id, (height, position, code)) in &acknowledged {
        let status = client
            .transaction(&reciprocity_sdk::TxId(id.as_slice().try_into().unwrap()))
            .await
            .unwrap();
        assert_eq!(
            status.state,
            wire::TxState::Committed as i32,
            "acknowledged tx {} is lost",
            hex::encode(id)
        );
        assert_eq!((status.height, status.position, status.code), (*height, *position, *code));
    }

    // Replay every block through the chaincode: same state hash as stored.
    let status = client.status().await.unwrap();
    let mut store = MemStore::new();
    let mut state_hash = [0u8; 32];
    for height in 1..=status.height {
        let block = client.block(height).await.unwrap();
        let header = block.header.unwrap();
        let envelopes: Vec<EnvelopeRef<'_>> =
            block.txs.iter().map(EnvelopeRef::from_signed).collect();
        let ctx = BlockContext {
            chain_id: header.chain_id.clone(),
            height,
            timestamp_ms: header.timestamp_ms,
        };
        let outcome = apply_block(&mut store, &ctx, &verify_envelopes(&envelopes)).unwrap();
        let codes: Vec<u32> = outcome.results.iter().map(|r| r.code.number()).collect();
        let stored: Vec<u32> = block.results.iter().map(|r| r.code).collect();
        assert_eq!(codes, stored, "block {height} results replay identically");
        assert!(
            !stored.contains(&7),
            "block {height}: no duplicate (e.g. a genesis proposed again after restart)"
        );
        assert_eq!(
            outcome.state_hash.to_vec(),
            header.state_hash,
            "block {height} state hash replays identically"
        );
        state_hash = outcome.state_hash;
    }
    assert_eq!(state_hash.to_vec(), status.state_hash);
    common::stop(&mut node);
}
