//! `recip-bench`: Reciprocity's benchmarks, run against the `recip` binary
//! as operators run it. Each prints one JSON line (progress goes to
//! stderr); `docs/BENCHMARKS.md` records the figures and the commands.
//!
//! - `cluster`: submit-to-commit on a fresh N-node cluster ([`cluster`]).
//! - `check`, `search`: the front-desk check and the member search over
//!   REST on one node seeded with a large network ([`seeded`], [`http_load`]).
//! - `failover`: SIGKILL the leader of a running devnet, time the next
//!   leader ([`failover`]).
//! - `submit`: submit-and-wait load on running nodes ([`submit`]).

mod cluster;
mod failover;
mod http_load;
mod progress;
mod recip;
mod seeded;
mod submit;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Reciprocity's benchmarks (one JSON line per run).
#[derive(Debug, Parser)]
#[command(name = "recip-bench", version, about)]
struct Cli {
    /// The `recip` binary to measure (default: the one beside this binary,
    /// else `recip` on the PATH).
    #[arg(long, global = true, env = "RECIP_BIN")]
    recip: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A fresh N-node cluster under a pre-signed mixed load.
    Cluster(cluster::ClusterArgs),
    /// The front-desk check over HTTP on one node seeded with a large
    /// network (seeds `--dir` on first use).
    Check {
        #[command(flatten)]
        seed: seeded::SeedArgs,
        #[command(flatten)]
        load: http_load::LoadArgs,
    },
    /// The member search over HTTP on the same seeded node.
    Search {
        #[command(flatten)]
        seed: seeded::SeedArgs,
        #[command(flatten)]
        load: http_load::LoadArgs,
    },
    /// Leader failover on a running devnet: SIGKILL the leader, time until
    /// another node leads with a majority behind it, restart the killed
    /// node, repeat.
    Failover(failover::FailoverArgs),
    /// Submit-and-wait load on running nodes: member registrations signed
    /// by a registrar key.
    Submit(submit::SubmitArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let recip = recip::Recip::locate(cli.recip)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Cluster(args) => cluster::run(&recip, args).await,
            Command::Check { seed, load } => http_load::check(&recip, seed, load).await,
            Command::Search { seed, load } => http_load::search(&recip, seed, load).await,
            Command::Failover(args) => failover::run(&recip, args).await,
            Command::Submit(args) => submit::run(args).await,
        }
    })
}

/// Prints a line of the result (stdout is the benchmark's output channel).
#[allow(clippy::print_stdout)]
fn say(line: impl std::fmt::Display) {
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
