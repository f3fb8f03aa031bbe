//! `recip bench submit`: closed-loop clients submitting signed transactions to
//! running nodes (spread over every `--endpoint` given) and waiting for each
//! commit; prints one JSON line with throughput and submit-to-commit latency
//! percentiles.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::{TxBuilder, body};
use reciprocity_sdk::wire;

use super::{ENDPOINT_DEFAULT, say};

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    what: BenchKind,
}

#[derive(Debug, Subcommand)]
enum BenchKind {
    /// Submit-and-wait load: member registrations signed by a registrar key.
    Submit {
        /// gRPC endpoints of the nodes to load; clients are spread over them
        /// (repeat the flag or separate with commas).
        #[arg(long, default_value = ENDPOINT_DEFAULT, value_delimiter = ',')]
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
    },
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let BenchKind::Submit { endpoint, key, clients, duration } = args.what;
    anyhow::ensure!((1..=4096).contains(&clients), "--clients must be 1..=4096");
    anyhow::ensure!(!endpoint.is_empty(), "give at least one --endpoint");
    let key = Arc::new(Keypair::read_file(&key)?);
    let mut nodes = Vec::new();
    for address in &endpoint {
        nodes.push(NodeClient::connect(address).await?);
    }
    let chain = nodes[0].status().await?.chain_id;
    let deadline = Instant::now() + Duration::from_secs(duration);
    let progress = ProgressBar::new(duration);
    progress.set_style(ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} s {msg}",
    )?);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..clients {
        let mut client = nodes[worker % nodes.len()].clone();
        let key = Arc::clone(&key);
        let chain = chain.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
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
                        latencies.push(sent.elapsed())
                    }
                    _ => refused += 1,
                }
            }
            (latencies, refused)
        }));
    }
    let ticker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                progress.inc(1);
            }
        })
    };
    let mut latencies = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (l, r) = task.await?;
        latencies.extend(l);
        refused += r;
    }
    let _ = ticker.await;
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let committed = latencies.len();
    say(serde_json::json!({
        "bench": "submit",
        "nodes": nodes.len(),
        "clients": clients,
        "duration_s": (elapsed * 10.0).round() / 10.0,
        "committed": committed,
        "committed_per_s": (committed as f64 / elapsed).round(),
        "refused": refused,
        "p50_ms": (percentile(&latencies, 0.50) * 100.0).round() / 100.0,
        "p90_ms": (percentile(&latencies, 0.90) * 100.0).round() / 100.0,
        "p99_ms": (percentile(&latencies, 0.99) * 100.0).round() / 100.0,
    }));
    Ok(())
}
