//! Progress bars on stderr and the seeding loop that shows one.

use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::wire;

use crate::say;

/// A progress bar of `len` steps labelled `what`, with the rate.
pub(crate) fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what} ({{per_sec}})"
        ))
        .expect("valid template"),
    );
    bar
}

/// A bar that counts the seconds of a timed run until `deadline`.
pub(crate) fn seconds_until(deadline: Instant, seconds: u64) -> ProgressBar {
    let seconds_bar = bar(seconds, "s");
    let ticking = seconds_bar.clone();
    tokio::spawn(async move {
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            ticking.inc(1);
        }
    });
    seconds_bar
}

/// Submits every transaction `make(i)` builds for `0..count`, `in_flight`
/// at a time, each waited for; fails on the first refusal. Returns the
/// phase's figures as JSON.
pub(crate) async fn submit_all(
    client: &NodeClient,
    count: u64,
    in_flight: usize,
    what: &str,
    make: impl Fn(u64) -> wire::SignedTx,
) -> anyhow::Result<serde_json::Value> {
    let progress = bar(count, what);
    let started = Instant::now();
    let mut outcomes = futures::stream::iter((0..count).map(|i| {
        let tx = make(i);
        let mut client = client.clone();
        async move { client.submit(tx, true, 60_000).await }
    }))
    .buffer_unordered(in_flight.max(1));
    while let Some(outcome) = outcomes.next().await {
        let response = outcome?;
        anyhow::ensure!(
            response.outcome == wire::SubmitOutcome::Committed as i32 && response.code == 0,
            "{what}: a transaction was refused ({}, outcome {})",
            response.code_name,
            response.outcome
        );
        progress.inc(1);
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let per_s = count as f64 / seconds;
    say(format_args!("{what}: {count} in {seconds:.1} s ({per_s:.0}/s)"));
    Ok(serde_json::json!({"phase": what, "count": count, "seconds": seconds, "per_s": per_s}))
}
