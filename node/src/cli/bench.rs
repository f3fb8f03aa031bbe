//! `recip bench` (a fresh N-node cluster, in [`super::bench_cluster`]),
//! `recip bench submit`, `failover`, `check` and `search` (the last two in
//! [`super::bench_http`]). `submit`: closed-loop clients submitting signed transactions to
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

use super::bench_http::percentile;
use super::{ENDPOINT_DEFAULT, say};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    what: Option<BenchKind>,
    /// Without a subcommand: a fresh N-node cluster under a pre-signed mixed load.
    #[command(flatten)]
    cluster: super::bench_cluster::ClusterArgs,
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
    /// The front-desk check over HTTP on one node seeded with a large network
    /// (seeds `--dir` on first use; prints one JSON line).
    Check {
        #[command(flatten)]
        seed: super::bench_http::SeedArgs,
        #[command(flatten)]
        load: super::bench_http::LoadArgs,
    },
    /// The member search over HTTP on the same seeded node (prints one JSON line).
    Search {
        #[command(flatten)]
        seed: super::bench_http::SeedArgs,
        #[command(flatten)]
        load: super::bench_http::LoadArgs,
    },
    /// Leader failover on a running devnet: SIGKILL the leader, time until
    /// another node leads with a majority behind it, restart the killed
    /// node, repeat.
    Failover {
        /// The devnet directory (its devnet.json lists endpoints and pids).
        #[arg(long, default_value = "devnet")]
        dir: PathBuf,
        /// How many times to kill the leader.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
    },
}

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let Some(what) = args.what else {
        return super::bench_cluster::run(args.cluster).await;
    };
    match what {
        BenchKind::Submit { endpoint, key, clients, duration } => {
            submit(endpoint, &key, clients, duration).await
        }
        BenchKind::Failover { dir, rounds } => failover(&dir, rounds).await,
        BenchKind::Check { seed, load } => super::bench_http::check(seed, load).await,
        BenchKind::Search { seed, load } => super::bench_http::search(seed, load).await,
    }
}

/// A devnet node as listed in devnet.json.
struct ListedNode {
    club: String,
    grpc: String,
    pid: u32,
}

fn listed_nodes(dir: &std::path::Path) -> anyhow::Result<Vec<ListedNode>> {
    let path = dir.join("devnet.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!("cannot read {}: {e} (is the devnet running?)", path.display())
    })?;
    let listing: serde_json::Value = serde_json::from_str(&text)?;
    let nodes = listing["nodes"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("{} lists no nodes", path.display()))?;
    nodes
        .iter()
        .map(|n| {
            Ok(ListedNode {
                club: n["club"].as_str().unwrap_or_default().to_owned(),
                grpc: n["grpc"].as_str().unwrap_or_default().to_owned(),
                pid: u32::try_from(n["pid"].as_u64().unwrap_or(0))?,
            })
        })
        .collect()
}

/// The index of the node that leads with a recent majority acknowledgement.
async fn find_leader(nodes: &[ListedNode], skip: Option<usize>) -> Option<usize> {
    for (i, node) in nodes.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        let Ok(mut client) = NodeClient::connect(&node.grpc).await else { continue };
        if let Ok(status) = client.status().await
            && status.role == "leader"
            && status.millis_since_quorum_ack < 1_000
        {
            return Some(i);
        }
    }
    None
}

async fn failover(dir: &std::path::Path, rounds: u32) -> anyhow::Result<()> {
    let mut nodes = listed_nodes(dir)?;
    anyhow::ensure!(nodes.len() >= 3, "failover needs at least 3 nodes");
    let exe = std::env::current_exe()?;
    let mut times_ms = Vec::new();
    for round in 0..rounds {
        let mut leader = None;
        for _ in 0..500 {
            leader = find_leader(&nodes, None).await;
            if leader.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let leader = leader.ok_or_else(|| anyhow::anyhow!("no leader before round {round}"))?;
        let killed_at = Instant::now();
        std::process::Command::new("kill")
            .arg("-KILL")
            .arg(nodes[leader].pid.to_string())
            .status()?;
        let mut next = None;
        while next.is_none() && killed_at.elapsed() < Duration::from_secs(60) {
            next = find_leader(&nodes, Some(leader)).await;
            if next.is_none() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        anyhow::ensure!(next.is_some(), "no new leader within 60 s");
        times_ms.push(killed_at.elapsed().as_secs_f64() * 1e3);
        // Restart the killed node the way devnet starts it.
        let config = dir.join(&nodes[leader].club).join("node.toml");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(&nodes[leader].club).join("node.log"))?;
        let child = std::process::Command::new(&exe)
            .arg("node")
            .arg("--config")
            .arg(&config)
            .envs(
                super::devnet::LOOPBACK_RAFT
                    .iter()
                    .filter(|(k, _)| std::env::var_os(k).is_none())
                    .copied(),
            )
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        nodes[leader].pid = child.id();
        // The next round starts from a settled network: the restarted node
        // is back, caught up with the leader, and a second has passed.
        let back = Instant::now();
        loop {
            anyhow::ensure!(
                back.elapsed() < Duration::from_secs(60),
                "the restarted node did not come back"
            );
            let leader_height = match find_leader(&nodes, Some(leader)).await {
                Some(i) => match NodeClient::connect(&nodes[i].grpc).await {
                    Ok(mut client) => client.status().await.map(|s| s.height).ok(),
                    Err(_) => None,
                },
                None => None,
            };
            if let Ok(mut client) = NodeClient::connect(&nodes[leader].grpc).await
                && let Ok(status) = client.status().await
                && !status.leader.is_empty()
                && leader_height.is_some_and(|h| status.height >= h)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Keep devnet.json's pids current for whoever stops the devnet.
    let path = dir.join("devnet.json");
    let mut listing: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    for (i, node) in nodes.iter().enumerate() {
        listing["nodes"][i]["pid"] = node.pid.into();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&listing)?)?;
    times_ms.sort_by(f64::total_cmp);
    say(serde_json::json!({
        "bench": "failover",
        "nodes": nodes.len(),
        "rounds": rounds,
        "failover_ms": times_ms.iter().map(|t| (t * 10.0).round() / 10.0).collect::<Vec<_>>(),
        "failover_ms_max": times_ms.last().map(|t| (t * 10.0).round() / 10.0),
    }));
    Ok(())
}

async fn submit(
    endpoint: Vec<String>,
    key: &std::path::Path,
    clients: usize,
    duration: u64,
) -> anyhow::Result<()> {
    anyhow::ensure!((1..=4096).contains(&clients), "--clients must be 1..=4096");
    anyhow::ensure!(!endpoint.is_empty(), "give at least one --endpoint");
    let key = Arc::new(Keypair::read_file(key)?);
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
