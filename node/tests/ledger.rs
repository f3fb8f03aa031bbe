//! Ledger storage: blocks read back as written, hash links and roots verify,
//! the state hash matches the chaincode's, and tampering is refused on open.

use std::sync::Arc;

use prost::Message;
use reciprocity_chaincode::{ValidationCode, chain_position, query};
use reciprocity_node::ledger::{Ledger, RaftPosition, block_hash};
use reciprocity_node::storage::memory::MemoryStore;
use reciprocity_node::storage::{Batch, Durability, Family};
use reciprocity_proto::v1 as pb;
use reciprocity_sdk::tx::body;
use reciprocity_tests::{CHAIN_ID, Net};

/// The harness's first blocks, replayed into a ledger as candidates.
fn chain() -> Net {
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60)]);
    let terms = net.terms(&["full"], 4, 48);
    net.agree("harbour", "alpine", &terms);
    let member = net.register_member("harbour", "full");
    let desk = net.club("alpine").front_desk;
    let visit = net.tx(&desk, body::record_visit(&member, 0));
    net.block(vec![visit.clone(), visit]); // the second is a duplicate
    net
}

fn fill(ledger: &Ledger, net: &Net) -> Vec<[u8; 32]> {
    let mut hashes = Vec::new();
    for (i, (ctx, txs)) in net.blocks.iter().enumerate() {
        let candidate = pb::BlockCandidate { timestamp_ms: ctx.timestamp_ms, txs: txs.clone() };
        let applied = ledger
            .apply_candidate(&candidate, RaftPosition { term: 1, index: i as u64 + 1 }, &[])
            .unwrap();
        hashes.push(applied.hash);
    }
    hashes
}

#[test]
fn blocks_read_back_as_written_and_link_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let net = chain();
    let ledger = Ledger::open(dir.path(), CHAIN_ID).unwrap();
    let hashes = fill(&ledger, &net);
    let summary = ledger.verify_chain().unwrap();
    assert_eq!(summary.height, net.height);
    assert_eq!(summary.state_hash, net.state_hash(), "same state hash as the in-memory chain");
    for height in 2..=net.height {
        let header = ledger.header(height).unwrap().unwrap();
        assert_eq!(header.prev_block_hash, hashes[height as usize - 2]);
        let block = ledger.block(height).unwrap().unwrap();
        assert_eq!(block.txs, net.blocks[height as usize - 1].1);
        assert_eq!(
            block_hash(&ledger.header_bytes(height).unwrap().unwrap()),
            hashes[height as usize - 1]
        );
    }
    // The duplicate keeps pointing at the first inclusion.
    let last = ledger.block(net.height).unwrap().unwrap();
    assert_eq!(last.results[1].code, ValidationCode::DuplicateTx.number());
    let id = reciprocity_chaincode::tx_id(&last.txs[0].payload);
    let location = ledger.tx_location(&id).unwrap().unwrap();
    assert_eq!((location.height, location.position, location.code), (net.height, 0, 0));
    // The world state equals the in-memory chain's, byte for byte.
    let position = chain_position(&ledger.state()).unwrap();
    assert_eq!(position.height, net.height);
    assert_eq!(query::clubs(&ledger.state()).unwrap(), query::clubs(&net.store).unwrap());
}

#[test]
fn reopening_keeps_everything_and_a_wrong_chain_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let net = chain();
    {
        let ledger = Ledger::open(dir.path(), CHAIN_ID).unwrap();
        fill(&ledger, &net);
    }
    let ledger = Ledger::open(dir.path(), CHAIN_ID).unwrap();
    assert_eq!(ledger.height().unwrap(), net.height);
    drop(ledger);
    let err = Ledger::open(dir.path(), "other-chain").unwrap_err().to_string();
    assert!(err.contains("other-chain") && err.contains(CHAIN_ID), "{err}");
}

#[test]
fn a_tampered_block_is_refused_on_open_with_the_height_named() {
    let dir = tempfile::tempdir().unwrap();
    let net = chain();
    {
        let ledger = Ledger::open(dir.path(), CHAIN_ID).unwrap();
        fill(&ledger, &net);
        // Change one transaction's bytes in block 3 behind the ledger's back.
        let mut block = ledger.block(3).unwrap().unwrap();
        block.header = None;
        block.txs[0].payload.push(0);
        let mut batch = Batch::new();
        batch.put(Family::Bodies, 3u64.to_be_bytes(), block.encode_to_vec());
        ledger.store().write(batch, Durability::Synced).unwrap();
    }
    let err = Ledger::open(dir.path(), CHAIN_ID).unwrap_err().to_string();
    assert!(err.contains("block 3") && err.contains("tx_root"), "{err}");
}

#[test]
fn a_missing_block_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let net = chain();
    {
        let ledger = Ledger::open(dir.path(), CHAIN_ID).unwrap();
        fill(&ledger, &net);
        let mut batch = Batch::new();
        batch.delete(Family::Headers, 2u64.to_be_bytes());
        ledger.store().write(batch, Durability::Synced).unwrap();
    }
    let err = Ledger::open(dir.path(), CHAIN_ID).unwrap_err().to_string();
    assert!(err.contains("block 2 is missing"), "{err}");
}

#[test]
fn a_leader_timestamp_before_the_previous_block_is_raised_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let net = chain();
    let ledger = Ledger::open(dir.path(), CHAIN_ID).unwrap();
    fill(&ledger, &net);
    let candidate = pb::BlockCandidate { timestamp_ms: 5, txs: vec![] };
    let applied =
        ledger.apply_candidate(&candidate, RaftPosition { term: 1, index: 99 }, &[]).unwrap();
    assert_eq!(applied.block.header.unwrap().timestamp_ms, net.now_ms);
    ledger.verify_chain().unwrap();
}

#[test]
fn the_tx_index_follows_the_inclusion_that_consumed_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let net = chain();
    let ledger = Ledger::open(dir.path(), CHAIN_ID).unwrap();
    fill(&ledger, &net);
    // Created ten minutes ahead: refused as NotYetValid, which does not use the id up.
    let early = reciprocity_sdk::tx::TxBuilder::new(CHAIN_ID, net.now_ms + 600_000).sign(
        &net.club("harbour").registrar,
        body::register_member(&reciprocity_chaincode::MemberId([5; 16]), "full", 30_000),
    );
    let id = reciprocity_chaincode::tx_id(&early.payload);
    let first = pb::BlockCandidate { timestamp_ms: net.now_ms, txs: vec![early.clone()] };
    ledger.apply_candidate(&first, RaftPosition { term: 1, index: 50 }, &[]).unwrap();
    let refused = ledger.tx_location(&id).unwrap().unwrap();
    assert_eq!(refused.code, ValidationCode::NotYetValid.number());
    let later =
        pb::BlockCandidate { timestamp_ms: net.now_ms + 600_000, txs: vec![early.clone(), early] };
    let applied = ledger.apply_candidate(&later, RaftPosition { term: 1, index: 51 }, &[]).unwrap();
    let header = applied.block.header.unwrap();
    let location = ledger.tx_location(&id).unwrap().unwrap();
    assert_eq!((location.height, location.position, location.code), (header.height, 0, 0));
}

#[test]
fn the_same_blocks_give_the_same_chain_in_rocksdb_and_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let net = chain();
    let rocks = Ledger::open(dir.path(), CHAIN_ID).unwrap();
    let memory = Ledger::with_store(
        Arc::new(MemoryStore::new()),
        CHAIN_ID,
        dir.path().join("memory-snapshots"),
    )
    .unwrap();
    assert_eq!(fill(&rocks, &net), fill(&memory, &net), "same block hashes");
    assert_eq!(rocks.verify_chain().unwrap(), memory.verify_chain().unwrap());
    assert_eq!(memory.verify_chain().unwrap().state_hash, net.state_hash());
}

#[test]
fn a_crash_of_unsynced_blocks_keeps_a_whole_prefix_of_them_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let net = chain();
    let store = Arc::new(MemoryStore::new());
    let ledger = Ledger::with_store(store.clone(), CHAIN_ID, dir.path().to_path_buf()).unwrap();
    let mut summaries = Vec::new();
    for (i, (ctx, txs)) in net.blocks.iter().enumerate() {
        let candidate = pb::BlockCandidate { timestamp_ms: ctx.timestamp_ms, txs: txs.clone() };
        let raft = RaftPosition { term: 1, index: i as u64 + 1 };
        ledger.apply_candidate_with(&candidate, raft, &[], Durability::Unsynced).unwrap();
        summaries.push(ledger.verify_chain().unwrap());
    }
    assert_eq!(store.unsynced_writes(), net.blocks.len(), "one batch per block");
    for kept in 0..=net.blocks.len() {
        // Whatever prefix of the writes reached the disk, the ledger opens
        // on whole blocks: the first `kept` of them.
        let crashed = Arc::new(store.crash(kept));
        let reopened = Ledger::with_store(crashed, CHAIN_ID, dir.path().to_path_buf()).unwrap();
        let summary = reopened.verify_chain().unwrap();
        assert_eq!(summary.height, kept as u64);
        if kept > 0 {
            assert_eq!(summary, summaries[kept - 1]);
        }
    }
    // An open of the same store for another chain is refused, naming the store.
    let err = Ledger::with_store(store, "other-chain", dir.path().to_path_buf()).unwrap_err();
    assert!(err.to_string().contains("memory"), "{err}");
}
