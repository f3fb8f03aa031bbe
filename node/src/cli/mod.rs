//! Command-line interface: argument parsing and dispatch. Each command lives
//! in its own module; network access goes through the SDK's gRPC client.

mod devnet;
mod index;
mod keys;
mod network;
mod node;
mod query;
mod staff;
mod tx;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The default gRPC endpoint of a local node.
pub(crate) const ENDPOINT_DEFAULT: &str = "http://127.0.0.1:7200";

/// The Reciprocity node and its tools.
#[derive(Debug, Parser)]
#[command(
    name = "recip",
    version,
    about = "Reciprocity: the ledger private clubs share for reciprocal visits"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or inspect a network.
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// Run one node from its config file.
    Node {
        /// The node's config file (node.toml).
        #[arg(long, env = "RECIP_CONFIG")]
        config: PathBuf,
    },
    /// Run a local network with sample data (creates it on first use).
    Devnet(devnet::DevnetArgs),
    /// Create and show key files.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Build, sign and submit a transaction.
    Tx(tx::TxArgs),
    /// Read the ledger's state.
    Query(query::QueryArgs),
    /// Manage a node's off-chain SQL index.
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// Manage a node's staff accounts.
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// Offline checks: a member card's credential.
    #[command(subcommand)]
    Verify(verify::VerifyCommand),
    /// Show a node's status.
    Status {
        /// The node's gRPC endpoint.
        #[arg(long, env = "RECIP_ENDPOINT", default_value = ENDPOINT_DEFAULT)]
        endpoint: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Network(command) => network::run(command).await,
            Command::Node { config } => node::run(&config).await,
            Command::Devnet(args) => devnet::run(args).await,
            Command::Keys(command) => keys::run(command),
            Command::Tx(args) => tx::run(args).await,
            Command::Query(args) => query::run(args).await,
            Command::Status { endpoint, json } => query::status(&endpoint, json).await,
            Command::Index(command) => index::run(command).await,
            Command::Staff(command) => staff::run(command).await,
            Command::Verify(command) => verify::run(command).await,
        }
    })
}

/// Prints a line for the user (the CLI's output channel).
#[allow(clippy::print_stdout)]
pub(crate) fn say(line: impl std::fmt::Display) {
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every argument of `cmd` and its subcommands without a help line, by path.
    fn bare_arguments(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        let path = format!("{path} {}", cmd.get_name());
        for arg in cmd.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && !arg.is_hide_set() && arg.get_help().is_none() {
                out.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_about().is_none() && sub.get_name() != "help" {
                out.push(format!("{path} {} (the command itself)", sub.get_name()));
            }
            bare_arguments(sub, &path, out);
        }
    }

    #[test]
    fn every_command_and_option_has_a_help_line() {
        let mut bare = Vec::new();
        bare_arguments(&super::Cli::command(), "", &mut bare);
        assert!(bare.is_empty(), "arguments without help:\n{}", bare.join("\n"));
    }

    #[test]
    fn the_node_binary_carries_no_benchmark_command() {
        // The benchmarks are `recip-bench` (tests/bench), not part of `recip`.
        assert!(super::Cli::command().find_subcommand("bench").is_none());
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
