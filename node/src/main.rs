//! `recip`: the Reciprocity node and its command-line tools.
//!
//! ```text
//! recip network init --clubs 3 --out net     keys, genesis and node configs
//! recip network new-club ...                 a club that joins later
//! recip node --config net/harbour/node.toml   run one node
//! recip devnet                                init if needed, run, seed, print URLs
//! recip keys new|show                         key files
//! recip tx <kind> ...                         build, sign and submit a transaction
//! recip query <what> ...                      read the ledger's state
//! recip status                                the node's view of itself
//! recip index rebuild|status                  the SQL index
//! recip staff add ...                        a staff account of a club
//! ```
//!
//! The benchmarks are not in this binary: `recip-bench` (`tests/bench`)
//! runs it.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("recip: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
