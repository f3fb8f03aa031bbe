//! How nodes talk to each other: one request/response protocol
//! ([`PeerRequest`] / [`PeerResponse`]) carrying Raft's RPCs and forwarded
//! transactions, over one of two transports:
//!
//! - [`p2p`]: libp2p (TCP + noise + yamux, request-response with size limits,
//!   identify, ping) with an allowlist of the active clubs' node keys, kept in
//!   step with the ledger;
//! - [`inprocess`]: a router between nodes of one process with fault
//!   injection (isolation, one-way loss, delay, random loss from a seed), for
//!   fast, repeatable consensus tests.
//!
//! [`raft::PeerNetwork`] implements openraft's network traits over either
//! transport, so the consensus glue runs the same code in tests and in
//! production. A node serves inbound requests through [`PeerService`].

pub mod allowlist;
pub mod inprocess;
pub mod p2p;
pub mod protocol;
pub mod raft;

use std::time::Duration;

pub use protocol::{PeerRequest, PeerResponse, PeerService};

use crate::consensus::PeerNode;

/// Why a request to a peer got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The peer cannot be reached (not connected, dial failed, link down,
    /// not allowed).
    #[error("peer {peer} is unreachable: {reason}")]
    Unreachable {
        /// The peer.
        peer: String,
        /// What failed.
        reason: String,
    },
    /// The peer did not answer in time.
    #[error("peer {peer} did not answer within {timeout_ms} ms")]
    Timeout {
        /// The peer.
        peer: String,
        /// The deadline.
        timeout_ms: u64,
    },
    /// The exchange failed after the request left (stream reset, bad frame).
    #[error("request to peer {peer} failed: {reason}")]
    Failed {
        /// The peer.
        peer: String,
        /// What failed.
        reason: String,
    },
}

/// The transport a node uses to reach its peers.
#[derive(Debug, Clone)]
pub enum Transport {
    /// libp2p over TCP.
    P2p(p2p::P2pHandle),
    /// The in-process router (tests).
    InProcess(inprocess::RouterClient),
}

impl Transport {
    /// Sends `request` to `target` (Raft node id `target_id`) and waits for
    /// its answer up to `timeout`.
    pub async fn call(
        &self,
        target_id: u64,
        target: &PeerNode,
        request: PeerRequest,
        timeout: Duration,
    ) -> Result<PeerResponse, TransportError> {
        match self {
            Transport::P2p(handle) => handle.call(target, request, timeout).await,
            Transport::InProcess(client) => client.call(target_id, request, timeout).await,
        }
    }
}
