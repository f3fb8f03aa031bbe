//! Smoke runs of `recip-bench` against the workspace's `recip`: small
//! networks, short loads, the JSON fields `docs/BENCHMARKS.md` and the
//! peers harness read. Figures are not checked here: benchmarks measure,
//! tests pin behaviour.

use std::process::Command;

use serde_json::Value;

/// The smoke runs start node processes: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `recip-bench`, pointed at the `recip` built beside it.
fn recip_bench() -> Command {
    let bench = std::path::PathBuf::from(env!("CARGO_BIN_EXE_recip-bench"));
    let recip = bench.with_file_name(format!("recip{}", std::env::consts::EXE_SUFFIX));
    assert!(
        recip.is_file(),
        "{} is missing: build the workspace (cargo test --workspace)",
        recip.display()
    );
    let mut command = Command::new(bench);
    command.arg("--recip").arg(recip);
    command
}

/// A first port of `span` consecutive ports that are free now.
fn free_port_block(span: u16) -> u16 {
    for _ in 0..200 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe");
        let base = probe.local_addr().expect("probe address").port();
        drop(probe);
        let Some(end) = base.checked_add(span) else { continue };
        if (base..end).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()) {
            return base;
        }
    }
    panic!("no block of {span} free ports");
}

/// The JSON line a run printed last, and everything it printed.
fn last_json_line(out: &std::process::Output, what: &str) -> (Value, String) {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{what}: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.lines().last().unwrap_or_default().to_owned();
    let value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{what}: {e}: {stdout}"));
    (value, stdout)
}

#[test]
fn check_and_search_seed_a_network_once_and_print_json() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port_block(30).to_string();
    let run = |what: &str| {
        let out = recip_bench()
            .args([what, "--members", "600", "--clubs", "4", "--agreements", "5"])
            .args(["--profiles", "200", "--duration", "1", "--concurrency", "2"])
            .args(["--port-base", &port, "--dir"])
            .arg(dir.path().join("bench"))
            .output()
            .expect("run recip-bench");
        last_json_line(&out, what)
    };
    let (check, printed) = run("check");
    assert!(printed.contains("clubs: 3 admitted"), "{printed}");
    assert_eq!(
        (check["bench"].as_str(), check["members"].as_u64(), check["clubs"].as_u64()),
        (Some("check"), Some(600), Some(4))
    );
    assert!(check["checks"].as_u64().expect("checks") > 0, "{check}");
    assert_eq!(check["eligible_share"], 1.0, "visitors of clubs with agreements: {check}");
    assert!(check["p99_ms"].as_f64().expect("p99_ms") > 0.0);
    // The second run reuses the seeded network.
    let (search, printed) = run("search");
    assert!(!printed.contains("admitted"), "seeded twice: {printed}");
    assert_eq!(
        (search["bench"].as_str(), search["profiles"].as_u64()),
        (Some("search"), Some(200))
    );
    assert!(
        search["searches"].as_u64().expect("searches") > 0 && search["found_share"] == 1.0,
        "{search}"
    );
    assert!(search["p95_ms"].as_f64().expect("p95_ms") > 0.0);
}

/// Three real node processes, a pre-signed mixed corpus, every transaction
/// committed, the nodes agreeing on the state hash, one JSON line.
#[test]
fn cluster_of_three_nodes_commits_a_mixed_corpus_and_prints_json() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port_block(96).to_string();
    let out = recip_bench()
        .args(["cluster", "--nodes", "3", "--clients", "8", "--duration", "2"])
        .args(["--members-per-club", "50", "--corpus", "40000", "--port-base", &port, "--dir"])
        .arg(dir.path().join("cluster"))
        .output()
        .expect("run recip-bench");
    let (run, _) = last_json_line(&out, "cluster");
    for field in [
        "committed_per_s",
        "refused",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "nodes",
        "clients",
        "block_txs_avg",
    ] {
        assert!(run[field].is_number(), "{field} missing: {run}");
    }
    assert_eq!((run["nodes"].as_u64(), run["clients"].as_u64()), (Some(3), Some(8)), "{run}");
    assert!(run["committed"].as_u64().expect("committed") > 0, "{run}");
    assert_eq!(run["refused"], 0, "every corpus transaction is valid: {run}");
    assert_eq!(run["state_hashes_agree"], true, "{run}");
    let mix = &run["corpus"]["mix"];
    assert!(
        mix["visits"].as_u64().expect("visits") > 0
            && mix["member_updates"].as_u64().expect("member updates") > 0
            && mix["votes"].as_u64().expect("votes") > 0,
        "{run}"
    );
}

#[test]
fn a_recip_path_that_is_not_a_file_is_refused_by_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_recip-bench"))
        .args(["--recip", "/nonexistent/recip", "cluster"])
        .output()
        .expect("run recip-bench");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--recip /nonexistent/recip is not a file"), "{stderr}");
}
