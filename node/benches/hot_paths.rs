//! Micro-benchmarks of the node's hot pieces outside `apply_block` (which
//! `reciprocity-tests`' `apply_block` bench covers with the batch signature
//! check): admitting a transaction against a state of many members, the
//! Merkle root of a block's transactions, and the state hash over the write
//! set of a block of visits.
//!
//! `cargo bench -p reciprocity-node --bench hot_paths` runs them for real and
//! prints one JSON line per benchmark; under `cargo test` (no `--bench`) they
//! run once on a small state as a smoke test.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;
use prost::Message;
use reciprocity_chaincode::merkle;
use reciprocity_node::service::admission::{AdmissionContext, admit};
use reciprocity_sdk::tx::body;
use reciprocity_tests::{CHAIN_ID, Net};

const BATCH: usize = 1_000;

/// Total measured time and items per benchmark, for the JSON summary.
static MEASURED: Mutex<Vec<(&'static str, u64, Duration)>> = Mutex::new(Vec::new());

fn record(name: &'static str, items: u64, elapsed: Duration) {
    let mut measured = MEASURED.lock().expect("bench bookkeeping");
    match measured.iter_mut().find(|(n, _, _)| *n == name) {
        Some(entry) => {
            entry.1 += items;
            entry.2 += elapsed;
        }
        None => measured.push((name, items, elapsed)),
    }
}

/// The keys and values a block of `visits` writes (read back from a copy of
/// the state after applying it).
fn visit_block_writes(
    net: &Net,
    visits: &[reciprocity_proto::v1::SignedTx],
) -> reciprocity_chaincode::WriteSet {
    let mut store = net.store.clone();
    let envelopes: Vec<reciprocity_chaincode::EnvelopeRef<'_>> =
        visits.iter().map(reciprocity_chaincode::EnvelopeRef::from_signed).collect();
    let verified = reciprocity_chaincode::verify_envelopes(&envelopes);
    let before: std::collections::BTreeMap<Vec<u8>, Vec<u8>> =
        reciprocity_chaincode::StateRead::scan(&store, b"", None, usize::MAX)
            .expect("state scans")
            .into_iter()
            .collect();
    let ctx = reciprocity_chaincode::BlockContext {
        chain_id: CHAIN_ID.to_owned(),
        height: net.height + 1,
        timestamp_ms: net.now_ms,
    };
    reciprocity_chaincode::apply_block(&mut store, &ctx, &verified).expect("the block applies");
    reciprocity_chaincode::StateRead::scan(&store, b"", None, usize::MAX)
        .expect("state scans")
        .into_iter()
        .filter(|(key, value)| before.get(key) != Some(value))
        .map(|(key, value)| (key, Some(value)))
        .collect()
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let members = if bench_mode { 50_000 } else { 1_000 };
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60)]);
    let terms = net.terms(&["full"], 31, 366);
    net.agree("harbour", "alpine", &terms);
    let ids = net.register_numbered_members("harbour", members, BATCH, 3_000);
    let desk = net.club("alpine").front_desk;
    let visits: Vec<_> =
        ids.iter().take(BATCH).map(|m| net.tx(&desk, body::record_visit(m, 0))).collect();
    let leaves: Vec<Vec<u8>> = visits
        .iter()
        .map(|tx| {
            let id = reciprocity_chaincode::tx_id(&tx.payload);
            merkle::tx_leaf(id.as_bytes(), &tx.signer, &tx.signature)
        })
        .collect();
    // The write set a block of these visits leaves: apply them to a copy
    // of the state and keep what changed.
    let block_writes = visit_block_writes(&net, &visits);
    let ctx = AdmissionContext {
        chain_id: CHAIN_ID,
        now_ms: net.now_ms,
        tx_bytes_max: 64 * 1024,
        check_signature: true,
    };
    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    criterion.bench_function("admit_1000_visits", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                for tx in &visits {
                    admit(tx, &net.store, |_| false, &ctx).expect("a valid visit is admitted");
                }
            }
            let elapsed = started.elapsed();
            record("admit_1000_visits", iters * BATCH as u64, elapsed);
            elapsed
        });
    });
    criterion.bench_function("merkle_root_1000_txs", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(merkle::root(&leaves));
            }
            let elapsed = started.elapsed();
            record("merkle_root_1000_txs", iters * BATCH as u64, elapsed);
            elapsed
        });
    });
    criterion.bench_function("state_hash_1000_visits", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(reciprocity_chaincode::next_state_hash(
                    &[7; 32],
                    1_000,
                    &block_writes,
                ));
            }
            let elapsed = started.elapsed();
            record("state_hash_1000_visits", iters * BATCH as u64, elapsed);
            elapsed
        });
    });
    criterion.final_summary();
    let tx_bytes = visits.first().map_or(0, Message::encoded_len);
    for (name, items, elapsed) in MEASURED.lock().expect("bench bookkeeping").iter() {
        let per_item_us = elapsed.as_secs_f64() * 1e6 / (*items).max(1) as f64;
        let line = serde_json::json!({
            "bench": name,
            "members": members,
            "items": items,
            "per_item_us": (per_item_us * 1000.0).round() / 1000.0,
            "items_per_s": (1e6 / per_item_us).round(),
            "tx_bytes": tx_bytes,
            "mode": if bench_mode { "bench" } else { "smoke" },
        });
        #[allow(clippy::print_stdout)]
        {
            println!("{line}");
        }
    }
}
