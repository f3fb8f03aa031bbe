//! Making networks and preparing clubs on one machine: what `recip network
//! init` and `recip devnet` do, and what the benchmark harness
//! (`tests/bench`, `recip-bench`) does the same way.
//!
//! - [`network`]: keys, genesis and one node config per founding club.
//! - [`club`]: a club's keystore of role keys (enrolled on-chain once) and
//!   its staff accounts, one per role, with generated passwords.
//! - [`process`]: waiting for a node process to be ready, the Raft timings
//!   for nodes on loopback, and a submission that must commit.
//!
//! It calls the SDK's client, [`records`](crate::records) (staff accounts) and
//! [`config`](crate::config); nothing of the running node.

pub mod club;
pub mod network;
pub mod process;

use crate::error::{NodeError, Result};

/// Turns any error into [`NodeError::Provision`] with what was being done.
trait OrFail<T> {
    /// `Err(e)` becomes `Provision("<what>: <e>")`.
    fn or_fail(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::fmt::Display> OrFail<T> for std::result::Result<T, E> {
    fn or_fail(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| NodeError::Provision(format!("{}: {e}", what())))
    }
}

/// A [`NodeError::Provision`] saying `message`.
fn fail(message: impl Into<String>) -> NodeError {
    NodeError::Provision(message.into())
}
