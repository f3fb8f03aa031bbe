//! `peers`: measures the systems Reciprocity is compared with, on the same
//! machine and in the same run as `recip-bench`, and prints the ratios.
//!
//! - **etcd** (Debian's `etcd-server`, 3.4): a 3-member cluster on loopback
//!   (fsync on, as etcd always runs), loaded by closed-loop clients that each
//!   put a 256-byte value and wait for the answer, spread over the three
//!   members like `recip-bench cluster` spreads its clients over the nodes.
//! - **PostgreSQL** point lookups: `pgbench -S` (select-only on
//!   `pgbench_accounts`, one indexed row per transaction) for the front-desk
//!   check path.
//!
//! `peers compare` runs etcd, then `recip-bench cluster` at the same client
//! counts, then pgbench and (when `--check-dir` is given) `recip-bench
//! check`, and
//! prints every measurement and the ratios as JSON lines. `peers etcd-put`
//! and `peers pgbench` run one side alone.

mod etcd;
mod pgbench;

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Measures the peers and prints the ratios.
#[derive(Debug, Parser)]
#[command(name = "peers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// etcd, `recip-bench cluster`, pgbench and `recip-bench check` in one run, with ratios.
    Compare(CompareArgs),
    /// Closed-loop puts on a fresh 3-member etcd cluster (one JSON line per client count).
    EtcdPut {
        #[command(flatten)]
        etcd: etcd::ClusterArgs,
        /// Client counts to run, one after another.
        #[arg(long, value_delimiter = ',', default_value = "16,256")]
        clients: Vec<usize>,
        /// Seconds per client count.
        #[arg(long, default_value_t = 10)]
        duration: u64,
    },
    /// `pgbench -S` (one JSON line).
    Pgbench(pgbench::PgbenchArgs),
}

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// The `recip` binary to measure (an optimized build; default: the one
    /// beside `recip-bench`).
    #[arg(long)]
    recip: Option<PathBuf>,
    /// The `recip-bench` binary that drives it.
    #[arg(long, default_value = "recip-bench")]
    bench: PathBuf,
    /// Client counts for etcd and `recip-bench cluster`.
    #[arg(long, value_delimiter = ',', default_value = "16,256")]
    clients: Vec<usize>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Nodes of the `recip-bench cluster` (etcd always runs 3 members).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    #[command(flatten)]
    etcd: etcd::ClusterArgs,
    #[command(flatten)]
    pgbench: pgbench::PgbenchArgs,
    /// A network seeded by `recip-bench check --dir` (seeded on first use:
    /// 1M members, several minutes); without it the check is not run.
    #[arg(long)]
    check_dir: Option<PathBuf>,
    /// Extra arguments for `recip-bench cluster` (e.g. `--index=none`).
    #[arg(long, allow_hyphen_values = true)]
    recip_arg: Vec<String>,
}

/// Prints one JSON line.
#[allow(clippy::print_stdout)]
fn emit(value: &serde_json::Value) {
    println!("{value}");
}

/// Runs `recip-bench [--recip <recip>]` with `args` and returns the JSON
/// line it printed last.
async fn bench_json(
    bench: &PathBuf,
    recip: Option<&PathBuf>,
    args: &[String],
) -> anyhow::Result<serde_json::Value> {
    // `output()` would capture stderr too: spawn, so that recip's errors
    // reach the terminal.
    let mut command = tokio::process::Command::new(bench);
    if let Some(recip) = recip {
        command.arg("--recip").arg(recip);
    }
    let output = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("running {} {}", bench.display(), args.join(" ")))?
        .wait_with_output()
        .await?;
    anyhow::ensure!(output.status.success(), "{} {} failed", bench.display(), args.join(" "));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line =
        stdout.lines().rev().find(|l| l.starts_with('{')).with_context(|| {
            format!("{} {} printed no JSON line", bench.display(), args.join(" "))
        })?;
    Ok(serde_json::from_str(line)?)
}

fn number(value: &serde_json::Value, field: &str) -> f64 {
    value[field].as_f64().unwrap_or(f64::NAN)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { (a / b * 100.0).round() / 100.0 } else { f64::NAN }
}

async fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let mut etcd_runs = Vec::new();
    {
        let cluster = etcd::Cluster::start(&args.etcd).await?;
        for &clients in &args.clients {
            let run = etcd::put_bench(&cluster.endpoints, clients, args.duration).await?;
            emit(&run);
            etcd_runs.push(run);
        }
        cluster.stop().await;
    }
    let mut recip_runs = Vec::new();
    for &clients in &args.clients {
        let mut bench = vec![
            "cluster".to_owned(),
            "--nodes".to_owned(),
            args.nodes.to_string(),
            "--clients".to_owned(),
            clients.to_string(),
            "--duration".to_owned(),
            args.duration.to_string(),
        ];
        bench.extend(args.recip_arg.iter().cloned());
        let run = bench_json(&args.bench, args.recip.as_ref(), &bench).await?;
        emit(&run);
        recip_runs.push(run);
    }
    let pg = pgbench::run(&args.pgbench, args.duration).await?;
    emit(&pg);
    let check = match &args.check_dir {
        Some(dir) => {
            let check_args = vec![
                "check".to_owned(),
                "--dir".to_owned(),
                dir.display().to_string(),
                "--concurrency".to_owned(),
                args.pgbench.pg_clients.to_string(),
                "--duration".to_owned(),
                args.duration.to_string(),
            ];
            let run = bench_json(&args.bench, args.recip.as_ref(), &check_args).await?;
            emit(&run);
            Some(run)
        }
        None => None,
    };
    let mut ratios = serde_json::Map::new();
    for ((clients, etcd), recip) in args.clients.iter().zip(&etcd_runs).zip(&recip_runs) {
        ratios.insert(
            format!("committed_per_s_vs_etcd_puts_per_s@{clients}"),
            ratio(number(recip, "committed_per_s"), number(etcd, "puts_per_s")).into(),
        );
        ratios.insert(
            format!("p50_ms_vs_etcd_p50_ms@{clients}"),
            ratio(number(recip, "p50_ms"), number(etcd, "p50_ms")).into(),
        );
        ratios.insert(
            format!("p99_ms_vs_etcd_p99_ms@{clients}"),
            ratio(number(recip, "p99_ms"), number(etcd, "p99_ms")).into(),
        );
    }
    if let Some(check) = &check {
        ratios.insert(
            format!("checks_per_s_vs_pgbench_tps@{}", args.pgbench.pg_clients),
            ratio(number(check, "checks_per_s"), number(&pg, "tps")).into(),
        );
    }
    emit(&serde_json::json!({"bench": "ratios", "ratios": ratios}));
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Compare(args) => compare(args).await,
        Command::EtcdPut { etcd, clients, duration } => {
            let cluster = etcd::Cluster::start(&etcd).await?;
            let mut result = Ok(());
            for clients in clients {
                match etcd::put_bench(&cluster.endpoints, clients, duration).await {
                    Ok(run) => emit(&run),
                    Err(error) => {
                        result = Err(error);
                        break;
                    }
                }
            }
            cluster.stop().await;
            result
        }
        Command::Pgbench(args) => {
            let duration = args.pg_duration;
            emit(&pgbench::run(&args, duration).await?);
            Ok(())
        }
    }
}
