//! `recip-bench check` and `recip-bench search`: closed-loop HTTP clients
//! (keep-alive) against the front-desk check and the member search of the
//! seeded node ([`crate::seeded`]) for `--duration` seconds; one JSON line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use reciprocity_bench::latency::Latencies;

use crate::recip::Recip;
use crate::say;
use crate::seeded::{FIRST_NAMES, LAST_NAMES, SeedArgs, login, seeded_node};

/// A load run's shape.
#[derive(Debug, Clone, Args)]
pub(crate) struct LoadArgs {
    /// Concurrent closed-loop HTTP clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds to measure.
    #[arg(long, default_value_t = 10)]
    duration: u64,
}

/// Runs `concurrency` closed loops of `request(worker, i)` for `duration`;
/// their latencies and how many answers `request` accepted.
async fn closed_loop<F, Fut>(
    concurrency: usize,
    duration: Duration,
    request: F,
) -> anyhow::Result<(Latencies, u64)>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<bool>> + Send,
{
    let request = Arc::new(request);
    let accepted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let workers = (0..concurrency).map(|worker| {
        let request = Arc::clone(&request);
        let accepted = Arc::clone(&accepted);
        tokio::spawn(async move {
            let mut latencies = Latencies::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let started = Instant::now();
                if request(worker, i).await? {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
                latencies.record(started.elapsed());
                i += 1;
            }
            anyhow::Ok(latencies)
        })
    });
    let mut all = Latencies::new();
    for worker in futures::future::join_all(workers).await {
        all.merge(&worker??);
    }
    Ok((all, accepted.load(Ordering::Relaxed)))
}

/// `recip-bench check`.
pub(crate) async fn check(
    recip: &Recip,
    seed_args: SeedArgs,
    load: LoadArgs,
) -> anyhow::Result<()> {
    let (node, seeded) = seeded_node(recip, &seed_args).await?;
    anyhow::ensure!(
        !seeded.visitors_sample.is_empty(),
        "the seeded network has no visitors sample"
    );
    let http = reqwest::Client::builder().pool_max_idle_per_host(load.concurrency).build()?;
    let base = node.http();
    let token = Arc::new(login(&http, &base, &node.club_dir, "front_desk").await?);
    let sample = Arc::new(seeded.visitors_sample.clone());
    let url = Arc::new(format!("{base}/v1/visits/check"));
    let (latencies, eligible) =
        closed_loop(load.concurrency, Duration::from_secs(load.duration), move |worker, i| {
            let http = http.clone();
            let token = Arc::clone(&token);
            let sample = Arc::clone(&sample);
            let url = Arc::clone(&url);
            async move {
                let member = &sample[(worker * 7_919 + i as usize) % sample.len()];
                let response = http
                    .post(url.as_str())
                    .bearer_auth(token.as_str())
                    .json(&serde_json::json!({"member_id": member}))
                    .send()
                    .await?;
                anyhow::ensure!(
                    response.status() == reqwest::StatusCode::OK,
                    "check answered {}",
                    response.status()
                );
                let answer: serde_json::Value = response.json().await?;
                Ok(answer["eligible"] == true)
            }
        })
        .await?;
    let checks = latencies.count();
    let result = serde_json::json!({
        "bench": "check",
        "recip": recip.shown(),
        "members": seeded.members,
        "clubs": seeded.clubs,
        "agreements": seeded.agreements,
        "concurrency": load.concurrency,
        "duration_s": load.duration,
        "checks": checks,
        "checks_per_s": checks as f64 / load.duration as f64,
        "eligible_share": if checks == 0 { 0.0 } else { eligible as f64 / checks as f64 },
        "p50_ms": latencies.quantile_ms(0.50),
        "p90_ms": latencies.quantile_ms(0.90),
        "p99_ms": latencies.quantile_ms(0.99),
        "node_rss_mib": node.rss_mib(),
        "seed_phases": seeded.phases,
    });
    say(result);
    node.stop().await;
    Ok(())
}

/// `recip-bench search`.
pub(crate) async fn search(
    recip: &Recip,
    seed_args: SeedArgs,
    load: LoadArgs,
) -> anyhow::Result<()> {
    let (node, seeded) = seeded_node(recip, &seed_args).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(load.concurrency).build()?;
    let base = node.http();
    let token = Arc::new(login(&http, &base, &node.club_dir, "registrar").await?);
    let profiles = seeded.profiles.max(1);
    let base = Arc::new(base);
    let (latencies, found) =
        closed_loop(load.concurrency, Duration::from_secs(load.duration), move |worker, i| {
            let http = http.clone();
            let token = Arc::clone(&token);
            let base = Arc::clone(&base);
            async move {
                let k = (worker as u64 * 104_729 + i * 7_919) % profiles;
                // A mix: part of a surname, a full name, an exact number, a name with a status.
                let query = match i % 4 {
                    0 => {
                        let last = LAST_NAMES[((k / 20) % 25) as usize].to_lowercase();
                        format!("name={}", &last[..last.len().min(4)])
                    }
                    1 => format!(
                        "name={}%20{}",
                        FIRST_NAMES[(k % 20) as usize],
                        LAST_NAMES[((k / 20) % 25) as usize]
                    ),
                    2 => format!("number=M{k:07}"),
                    _ => format!(
                        "name={}&status=active",
                        FIRST_NAMES[(k % 20) as usize].to_lowercase()
                    ),
                };
                let response = http
                    .get(format!("{base}/v1/members?{query}&limit=50"))
                    .bearer_auth(token.as_str())
                    .send()
                    .await?;
                anyhow::ensure!(
                    response.status() == reqwest::StatusCode::OK,
                    "search answered {}",
                    response.status()
                );
                let answer: serde_json::Value = response.json().await?;
                Ok(answer["members"].as_array().is_some_and(|m| !m.is_empty()))
            }
        })
        .await?;
    let searches = latencies.count();
    let result = serde_json::json!({
        "bench": "search",
        "recip": recip.shown(),
        "profiles": seeded.profiles,
        "members": seeded.members,
        "concurrency": load.concurrency,
        "duration_s": load.duration,
        "searches": searches,
        "searches_per_s": searches as f64 / load.duration as f64,
        "found_share": if searches == 0 { 0.0 } else { found as f64 / searches as f64 },
        "p50_ms": latencies.quantile_ms(0.50),
        "p95_ms": latencies.quantile_ms(0.95),
        "p99_ms": latencies.quantile_ms(0.99),
        "node_rss_mib": node.rss_mib(),
    });
    say(result);
    node.stop().await;
    Ok(())
}
