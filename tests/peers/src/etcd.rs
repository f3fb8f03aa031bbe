//! A 3-member etcd cluster on loopback and a closed-loop put load against it.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use reciprocity_bench::latency::Latencies;

#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
mod pb {
    tonic::include_proto!("etcdserverpb");
}

use pb::kv_client::KvClient;

/// Where the etcd cluster runs.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ClusterArgs {
    /// The etcd server binary (Debian's `etcd-server` installs /usr/bin/etcd).
    #[arg(long, default_value = "etcd")]
    etcd: PathBuf,
    /// Client port of the first member; member i serves clients on base + i
    /// and peers on base + 10 + i.
    #[arg(long, default_value_t = 23790)]
    etcd_port_base: u16,
    /// Members of the etcd cluster.
    #[arg(long, default_value_t = 3)]
    etcd_members: u16,
}

/// A running etcd cluster (its processes are killed and its data removed
/// when stopped or dropped).
pub(crate) struct Cluster {
    children: Vec<tokio::process::Child>,
    dir: PathBuf,
    /// Client URLs, one per member.
    pub(crate) endpoints: Vec<String>,
}

impl Cluster {
    /// Starts a fresh cluster in a scratch directory and waits until a put commits.
    pub(crate) async fn start(args: &ClusterArgs) -> anyhow::Result<Cluster> {
        anyhow::ensure!((1..=5).contains(&args.etcd_members), "--etcd-members must be 1..=5");
        let dir = std::env::temp_dir().join(format!("peers-etcd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let base = args.etcd_port_base;
        let peer_url = |i: u16| format!("http://127.0.0.1:{}", base + 10 + i);
        let initial: Vec<String> =
            (0..args.etcd_members).map(|i| format!("e{i}={}", peer_url(i))).collect();
        let mut cluster = Cluster { children: Vec::new(), dir: dir.clone(), endpoints: Vec::new() };
        for i in 0..args.etcd_members {
            let client_url = format!("http://127.0.0.1:{}", base + i);
            let log = std::fs::File::create(dir.join(format!("e{i}.log")))?;
            let child = tokio::process::Command::new(&args.etcd)
                .arg("--name")
                .arg(format!("e{i}"))
                .arg("--data-dir")
                .arg(dir.join(format!("e{i}")))
                .arg("--listen-client-urls")
                .arg(&client_url)
                .arg("--advertise-client-urls")
                .arg(&client_url)
                .arg("--listen-peer-urls")
                .arg(peer_url(i))
                .arg("--initial-advertise-peer-urls")
                .arg(peer_url(i))
                .arg("--initial-cluster")
                .arg(initial.join(","))
                .arg("--initial-cluster-state")
                .arg("new")
                .arg("--initial-cluster-token")
                .arg("reciprocity-peers")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .with_context(|| {
                    format!(
                        "starting {} (Debian: apt-get install etcd-server, or `make deps`)",
                        args.etcd.display()
                    )
                })?;
            cluster.children.push(child);
            cluster.endpoints.push(client_url);
        }
        let started = Instant::now();
        loop {
            if let Ok(mut client) = KvClient::connect(cluster.endpoints[0].clone()).await
                && client
                    .put(pb::PutRequest {
                        key: b"ready".to_vec(),
                        value: Vec::new(),
                        ..Default::default()
                    })
                    .await
                    .is_ok()
            {
                return Ok(cluster);
            }
            for child in &mut cluster.children {
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!(
                        "an etcd member exited ({status}); see the logs in {}",
                        dir.display()
                    );
                }
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "the etcd cluster did not commit a put within 30 s; see the logs in {}",
                dir.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the members and removes their data.
    pub(crate) async fn stop(mut self) {
        for child in &mut self.children {
            let _ = child.kill().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `clients` closed-loop writers of 256-byte values for `duration_s`,
/// spread over `endpoints` (one HTTP/2 connection per member, as `recip
/// bench` keeps one per node); one JSON line.
pub(crate) async fn put_bench(
    endpoints: &[String],
    clients: usize,
    duration_s: u64,
) -> anyhow::Result<serde_json::Value> {
    const VALUE_BYTES: usize = 256;
    anyhow::ensure!((1..=4096).contains(&clients), "--clients must be 1..=4096");
    let mut connections = Vec::new();
    for endpoint in endpoints {
        connections.push(KvClient::connect(endpoint.clone()).await?);
    }
    let value = Arc::new(vec![b'v'; VALUE_BYTES]);
    let deadline = Instant::now() + Duration::from_secs(duration_s);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|worker| {
            let mut client = connections[worker % connections.len()].clone();
            let value = Arc::clone(&value);
            tokio::spawn(async move {
                let mut latencies = Latencies::new();
                let mut failed = 0u64;
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let key = format!("k{worker:04}-{n:08}").into_bytes();
                    n += 1;
                    let sent = Instant::now();
                    let request =
                        pb::PutRequest { key, value: value.as_ref().clone(), ..Default::default() };
                    match client.put(request).await {
                        Ok(_) => latencies.record(sent.elapsed()),
                        Err(_) => failed += 1,
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut latencies = Latencies::new();
    let mut failed = 0;
    for worker in workers {
        let (l, f) = worker.await?;
        latencies.merge(&l);
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "bench": "etcd_put",
        "members": endpoints.len(),
        "clients": clients,
        "value_bytes": VALUE_BYTES,
        "duration_s": (elapsed * 100.0).round() / 100.0,
        "puts": latencies.count(),
        "puts_per_s": (latencies.count() as f64 / elapsed).round(),
        "failed": failed,
        "p50_ms": latencies.quantile_ms(0.50),
        "p90_ms": latencies.quantile_ms(0.90),
        "p99_ms": latencies.quantile_ms(0.99),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Smoke run (part of `make test`): a real 3-member cluster takes puts.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_three_member_etcd_cluster_commits_closed_loop_puts() {
        let args = ClusterArgs { etcd: "etcd".into(), etcd_port_base: 23890, etcd_members: 3 };
        let cluster = Cluster::start(&args).await.expect("etcd cluster starts");
        let run = put_bench(&cluster.endpoints, 4, 1).await;
        cluster.stop().await;
        let run = run.expect("put bench runs");
        assert!(run["puts"].as_u64().unwrap() > 0, "{run}");
        assert_eq!(run["failed"], 0, "{run}");
        assert!(run["p50_ms"].as_f64().unwrap() > 0.0, "{run}");
    }
}
