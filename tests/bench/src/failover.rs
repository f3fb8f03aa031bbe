//! `recip-bench failover`: on a running devnet (`recip devnet --detach`),
//! SIGKILL the leader, time until another node leads with a majority
//! behind it, restart the killed node the way the devnet starts it, wait
//! until it has caught up, and repeat; one JSON line with the times.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use reciprocity_node::provision::process::LOOPBACK_RAFT;
use reciprocity_sdk::client::NodeClient;

use crate::recip::Recip;
use crate::say;

/// Which devnet and how many rounds.
#[derive(Debug, Args)]
pub(crate) struct FailoverArgs {
    /// The devnet directory (its devnet.json lists endpoints and pids).
    #[arg(long, default_value = "devnet")]
    dir: PathBuf,
    /// How many times to kill the leader.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
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
                pid: match n["pid"].as_u64().map(u32::try_from) {
                    // `kill 0` would signal this whole process group.
                    Some(Ok(pid)) if pid > 0 => pid,
                    _ => anyhow::bail!("{} lists a node without a pid", path.display()),
                },
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

/// `recip-bench failover`.
pub(crate) async fn run(recip: &Recip, args: FailoverArgs) -> anyhow::Result<()> {
    let FailoverArgs { dir, rounds } = args;
    let dir = dir.as_path();
    let mut nodes = listed_nodes(dir)?;
    anyhow::ensure!(nodes.len() >= 3, "failover needs at least 3 nodes");
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
        let child = std::process::Command::new(recip.path())
            .arg("node")
            .arg("--config")
            .arg(&config)
            .envs(LOOPBACK_RAFT.iter().filter(|(k, _)| std::env::var_os(k).is_none()).copied())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        nodes[leader].pid = child.id();
        record_pids(dir, &nodes)?;
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

/// Writes the nodes' pids into devnet.json at once, so that whoever stops
/// the devnet (or a failed round's cleanup) finds the restarted node.
fn record_pids(dir: &std::path::Path, nodes: &[ListedNode]) -> anyhow::Result<()> {
    let path = dir.join("devnet.json");
    let mut listing: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    for (i, node) in nodes.iter().enumerate() {
        listing["nodes"][i]["pid"] = node.pid.into();
    }
    // The file keeps its owner-only mode (it lists staff passwords).
    std::fs::write(&path, serde_json::to_string_pretty(&listing)?)?;
    Ok(())
}
