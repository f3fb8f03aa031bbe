//! The Reciprocity node: the `recip` binary's library.
//!
//! - [`ledger`]: RocksDB column families for blocks, the transaction index,
//!   world state and consensus; applying a committed block candidate is one
//!   synced write batch; the stored chain is verified on open.
//! - [`config`]: `node.toml`, environment overrides, validation.
//! - [`service`]: admission, the bounded mempool, the block producer and
//!   commit waiters ([`service::node::NodeHandle`]).
//! - [`api`]: the gRPC service (health and reflection included).
//! - [`consensus`]: openraft's types, the RocksDB log store and state machine
//!   (storage v2, snapshots included).
//! - [`network`]: the peer protocol (Raft RPCs, forwarded transactions) over
//!   libp2p with an allowlist that follows the ledger, or over an in-process
//!   router with fault injection for tests.
//!
//! - [`index`]: the off-chain SQL index (PostgreSQL or SQLite through sqlx):
//!   the projection of committed blocks, written exactly once with its
//!   checkpoint, and the follower that keeps it up to the ledger.
//!
//! Only this crate knows RocksDB, openraft, tonic, libp2p and sqlx (and, as
//! it arrives, axum). The rules live in `reciprocity-chaincode`.

pub mod api;
pub mod config;
pub mod consensus;
pub mod error;
pub mod index;
pub mod ledger;
pub mod network;
pub mod service;

pub use error::{NodeError, Result};
