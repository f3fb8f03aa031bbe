//! The node's core services between the APIs and consensus. [`startup`]
//! wires them around the shared [`node::NodeHandle`]; every other module
//! does one job:
//!
//! - [`admission`]: checks a submitted transaction before it may wait for a
//!   block (decode, size, chain id, expiry window, strict signature,
//!   duplicates).
//! - [`forward`]: sends transactions admitted on a follower to the leader.
//! - [`forwarded`]: the leader's admission of forwarded transactions.
//! - [`handoff`]: a node that stops leading hands its mempool to the new
//!   leader.
//! - [`membership`]: on the leader, Raft membership that follows the clubs
//!   active on the ledger.
//! - [`import`]: the member import job engine (submission with retries,
//!   rows settled one by one, progress kept).
//! - [`mempool`]: the bounded queue of admitted transactions.
//! - [`metrics`]: the Prometheus registry (submissions, commit latency,
//!   applied blocks, and gauges from the status).
//! - [`node`]: the handle — what the jobs share (ledger, Raft, mempool,
//!   transport, waiters) behind one cloneable `NodeHandle`.
//! - [`peers`]: what the node answers its peers.
//! - [`precheck`]: the ledger's verdict foreseen by a dry run; idempotent
//!   submission.
//! - [`producer`]: the block producer that cuts candidates on the leader.
//! - [`snapshot_chunks`]: bounds on snapshot transfers from peers.
//! - [`startup`]: opens the ledger, starts the transport and Raft, spawns
//!   the jobs.
//! - [`status`]: the node's view of itself and of the network.
//! - [`submit`]: submissions and commit waiters.
//! - [`sweeper`]: removes member profiles whose registration never
//!   committed.
//! - [`verifier`]: admission's signature checks, batched across concurrent
//!   submissions.

pub mod admission;
mod forward;
mod forwarded;
mod handoff;
pub mod import;
mod membership;
pub mod mempool;
pub mod metrics;
pub mod node;
mod peers;
pub mod precheck;
mod producer;
pub mod snapshot_chunks;
pub mod startup;
pub mod status;
pub mod submit;
pub mod sweeper;
pub mod verifier;
