//! `recip-bench submit`: closed-loop clients submitting member
//! registrations (signed by a registrar key) to running nodes, spread over
//! every `--endpoint` given, each waiting for its commit; one JSON line
//! with throughput and submit-to-commit latency percentiles.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use reciprocity_bench::latency::Latencies;
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::{TxBuilder, body};
use reciprocity_sdk::wire;

use crate::say;

/// The nodes, the key and the load.
#[derive(Debug, Args)]
pub(crate) struct SubmitArgs {
    /// gRPC endpoints of the nodes to load; clients are spread over them
    /// (repeat the flag or separate with commas).
    #[arg(long, default_value = "http://127.0.0.1:7200", value_delimiter = ',')]
    endpoint: Vec<String>,
    /// A key with the registrar role (a club key works).
    #[arg(long)]
    key: PathBuf,
    /// Concurrent closed-loop clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
}

/// `recip-bench submit`.
pub(crate) async fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let SubmitArgs { endpoint, key, clients, duration } = args;
    anyhow::ensure!((1..=4096).contains(&clients), "--clients must be 1..=4096");
    anyhow::ensure!(!endpoint.is_empty(), "give at least one --endpoint");
    let key = Arc::new(Keypair::read_file(&key)?);
    let mut nodes = Vec::new();
    for address in &endpoint {
        nodes.push(NodeClient::connect(address).await?);
    }
    let chain = nodes[0].status().await?.chain_id;
    let deadline = Instant::now() + Duration::from_secs(duration);
    let progress = crate::progress::seconds_until(deadline, duration);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..clients {
        let mut client = nodes[worker % nodes.len()].clone();
        let key = Arc::clone(&key);
        let chain = chain.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Latencies::new();
            let mut refused = 0u64;
            let salt: [u8; 4] = reciprocity_sdk::random_bytes().unwrap_or([0; 4]);
            let mut n = 0u64;
            while Instant::now() < deadline {
                let mut id = [0u8; 16];
                id[..4].copy_from_slice(&salt);
                id[4..8].copy_from_slice(&u32::try_from(worker).unwrap_or(0).to_be_bytes());
                id[8..].copy_from_slice(&n.to_be_bytes());
                n += 1;
                let tx = TxBuilder::now(&chain).sign(
                    &key,
                    body::register_member(&reciprocity_sdk::MemberId(id), "full", 30_000),
                );
                let sent = Instant::now();
                match client.submit(tx, true, 30_000).await {
                    Ok(r) if r.outcome == wire::SubmitOutcome::Committed as i32 && r.code == 0 => {
                        latencies.record(sent.elapsed())
                    }
                    _ => refused += 1,
                }
            }
            (latencies, refused)
        }));
    }
    let mut latencies = Latencies::new();
    let mut refused = 0;
    for task in tasks {
        let (l, r) = task.await?;
        latencies.merge(&l);
        refused += r;
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let committed = latencies.count();
    say(serde_json::json!({
        "bench": "submit",
        "nodes": nodes.len(),
        "clients": clients,
        "duration_s": (elapsed * 10.0).round() / 10.0,
        "committed": committed,
        "committed_per_s": (committed as f64 / elapsed).round(),
        "refused": refused,
        "p50_ms": latencies.quantile_ms(0.50),
        "p90_ms": latencies.quantile_ms(0.90),
        "p99_ms": latencies.quantile_ms(0.99),
    }));
    Ok(())
}
