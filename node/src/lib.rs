//! The Reciprocity node: the `recip` binary's library. Data flows down this
//! list; each module calls only those below it.
//!
//! - [`api`]: the staff REST API (axum, OpenAPI) and the gRPC API (tonic),
//!   with the HTTP server for health, readiness and metrics.
//! - [`provision`]: making a network and preparing clubs on one machine
//!   (`recip network init`, `recip devnet`, the benchmark harness).
//! - [`service`]: the running node ([`service::node::NodeHandle`]) and its
//!   jobs — submissions and commit waiters, forwarding, the leader's
//!   admission of forwarded transactions, the block producer, the mempool
//!   hand-off, Raft membership that follows the ledger — plus admission, the
//!   bounded mempool, the batched signature verifier and the metrics.
//! - [`cards`]: member cards — the club's card-issuing keys on this node,
//!   the card's face (SVG, PNG, PDF with a QR code) and the door's check
//!   of a card's code against the ledger.
//! - [`records`]: the club's own records of truth (staff accounts, member
//!   profiles, the audit log): in the index's database, never derived.
//! - [`index`]: the off-chain SQL index (PostgreSQL or SQLite through sqlx):
//!   the projection of committed blocks, written exactly once with its
//!   checkpoint, the follower that keeps it up to the ledger, and its reads.
//! - [`network`]: the peer protocol (Raft RPCs, forwarded transactions) over
//!   libp2p with an allowlist that follows the ledger, or over an in-process
//!   router with fault injection for tests.
//! - [`consensus`]: openraft's types, the log store and state machine over
//!   the ledger's store (storage v2, snapshots included), and who should be
//!   in the membership.
//! - [`ledger`]: blocks, the transaction index, world state and consensus
//!   in the families of one store; applying a committed block candidate is
//!   one write batch; the stored chain is verified on open.
//! - [`storage`]: the key-value seam under both — RocksDB in production, a
//!   store in memory that models what a crash keeps for tests and the
//!   simulator.
//! - [`config`]: `node.toml`, environment overrides, validation.
//! - [`clock`], [`refusal`], [`words`], [`error`]: the leaves — the wall
//!   clock the node reads, why a transaction is refused before ordering,
//!   text for people, the crate's error type.
//!
//! Only this crate knows RocksDB, openraft, tonic, axum, libp2p and sqlx.
//! The rules live in `reciprocity-chaincode`.

pub mod api;
pub mod cards;
pub mod clock;
pub mod config;
pub mod consensus;
pub mod error;
pub mod index;
pub mod ledger;
pub mod network;
pub mod provision;
pub mod records;
pub mod refusal;
pub mod service;
pub mod storage;
pub mod words;

pub use error::{NodeError, Result};
