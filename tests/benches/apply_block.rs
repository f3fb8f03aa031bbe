//! Benchmark of the chaincode's hot path: `apply_block` with 1,000 visit
//! transactions against a state holding 100,000 members, and the batch
//! signature check of the same block.
//!
//! `cargo bench -p reciprocity-tests --bench apply_block` runs it for real and
//! prints one JSON line per benchmark; under `cargo test` (no `--bench` flag)
//! it runs once on a small state as a smoke test.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use reciprocity_chaincode::{BlockContext, BlockTx, EnvelopeRef, apply_block, verify_envelopes};
use reciprocity_proto::v1 as wire;
use reciprocity_sdk::tx::body;
use reciprocity_tests::Net;

const BLOCK_TXS: usize = 1_000;

struct World {
    net: Net,
    visits: Vec<wire::SignedTx>,
    members: usize,
}

fn world(members: usize) -> World {
    let mut net = Net::new(&[("harbour", 0), ("alpine", 60)]);
    let terms = net.terms(&["full"], 31, 366);
    net.agree("harbour", "alpine", &terms);
    let ids = net.register_numbered_members("harbour", members, BLOCK_TXS, 3_000);
    let desk = net.club("alpine").front_desk;
    let visits = ids
        .iter()
        .step_by((members / BLOCK_TXS).max(1))
        .take(BLOCK_TXS)
        .map(|m| net.tx(&desk, body::record_visit(m, 0)))
        .collect();
    World { net, visits, members }
}

fn envelopes(txs: &[wire::SignedTx]) -> Vec<EnvelopeRef<'_>> {
    txs.iter().map(EnvelopeRef::from_signed).collect()
}

/// Total measured time and iterations per benchmark, for the JSON summary.
static MEASURED: Mutex<Vec<(&'static str, u64, Duration)>> = Mutex::new(Vec::new());

fn record(name: &'static str, iters: u64, elapsed: Duration) {
    let mut measured = MEASURED.lock().expect("bench bookkeeping");
    match measured.iter_mut().find(|(n, _, _)| *n == name) {
        Some(entry) => {
            entry.1 += iters;
            entry.2 += elapsed;
        }
        None => measured.push((name, iters, elapsed)),
    }
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let members = if bench_mode { 100_000 } else { 2_000 };
    let setup_started = Instant::now();
    let w = world(members);
    let verified: Vec<BlockTx> = verify_envelopes(&envelopes(&w.visits));
    let setup_s = setup_started.elapsed().as_secs_f64();
    let ctx = BlockContext {
        chain_id: "test-chain".into(),
        height: w.net.height + 1,
        timestamp_ms: w.net.now_ms,
    };
    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));

    criterion.bench_function("apply_block_1000_visits", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut store = w.net.store.clone();
                let started = Instant::now();
                let outcome = apply_block(&mut store, &ctx, &verified).expect("in-memory apply");
                total += started.elapsed();
                assert!(outcome.results.iter().all(|r| r.code.is_ok()), "every visit is valid");
            }
            record("apply_block_1000_visits", iters, total);
            total
        });
    });
    criterion.bench_function("verify_envelopes_1000", |b| {
        let envs = envelopes(&w.visits);
        b.iter_batched(
            || (),
            |()| {
                let started = Instant::now();
                let out = verify_envelopes(&envs);
                record("verify_envelopes_1000", 1, started.elapsed());
                out
            },
            BatchSize::SmallInput,
        );
    });
    criterion.final_summary();

    for (name, iters, elapsed) in MEASURED.lock().expect("bench bookkeeping").iter() {
        let mean_s = elapsed.as_secs_f64() / (*iters).max(1) as f64;
        let line = serde_json::json!({
            "bench": name,
            "members": w.members,
            "block_txs": BLOCK_TXS,
            "iterations": iters,
            "mean_ms": (mean_s * 1e3 * 1000.0).round() / 1000.0,
            "txs_per_s": (BLOCK_TXS as f64 / mean_s).round(),
            "mode": if bench_mode { "bench" } else { "smoke" },
            "setup_s": (setup_s * 10.0).round() / 10.0,
        });
        #[allow(clippy::print_stdout)]
        {
            println!("{line}");
        }
    }
}
