//! The node's core services between the APIs and consensus:
//!
//! - [`admission`]: checks a submitted transaction before it may wait for a
//!   block (decode, size, chain id, expiry window, strict signature,
//!   duplicates).
//! - [`mempool`]: the bounded queue of admitted transactions.
//! - [`metrics`]: the Prometheus registry (submissions, commit latency,
//!   applied blocks, and gauges from the status).
//! - [`node`]: the running node — Raft, ledger, mempool, the block producer
//!   that cuts candidates on the leader, and commit waiters.
//! - [`verifier`]: admission's signature checks, batched across concurrent
//!   submissions.

pub mod admission;
pub mod mempool;
pub mod metrics;
pub mod node;
pub mod verifier;
