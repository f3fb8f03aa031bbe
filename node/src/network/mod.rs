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
//! Both are a [`PeerTransport`] (and the router a [`PeerFabric`], which a
//! simulator can replace); [`raft::PeerNetwork`] implements openraft's
//! network traits over any transport, so the consensus glue runs the same
//! code in tests, in a simulation and in production. A node serves inbound
//! requests through [`PeerService`].

pub mod allowlist;
pub mod inprocess;
pub mod p2p;
pub mod protocol;
pub mod raft;

use std::time::Duration;

use futures::future::BoxFuture;

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

/// How a node reaches its peers: libp2p in production, the in-process
/// router in tests, a simulated network (issue 14) — whatever implements
/// this. The consensus glue ([`raft::PeerNetwork`]) and the forwarder see
/// only this trait.
pub trait PeerTransport: Send + Sync + std::fmt::Debug + 'static {
    /// Sends `request` to `target` (Raft node id `target_id`) and waits for
    /// its answer up to `timeout`.
    fn call(
        &self,
        target_id: u64,
        target: &PeerNode,
        request: PeerRequest,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<PeerResponse, TransportError>>;

    /// The libp2p handle, when this transport is libp2p: the node keeps
    /// its allowlist in step with the ledger and reports its links. No
    /// default: a transport that wraps libp2p must say so, or it would run
    /// without an allowlist.
    fn p2p(&self) -> Option<&p2p::P2pHandle>;
}

/// A network nodes join: it gives each node its transport and takes the
/// service that answers the node's inbound requests (the in-process router
/// is one; a simulator brings its own). A fabric is trusted: requests reach
/// a node's service with no peer identity and no allowlist, so it is for
/// nodes of one process (tests, simulation), never for a real network.
pub trait PeerFabric: Send + Sync + std::fmt::Debug + 'static {
    /// The transport of node `node_id`.
    fn transport(&self, node_id: u64) -> Transport;
    /// Routes the requests for `node_id` to `service` from now on.
    fn serve(&self, node_id: u64, service: std::sync::Arc<dyn PeerService>);
}

/// The transport a node uses to reach its peers (cheap to clone).
#[derive(Debug, Clone)]
pub struct Transport(std::sync::Arc<dyn PeerTransport>);

impl Transport {
    /// Wraps an implementation.
    pub fn new(transport: impl PeerTransport) -> Transport {
        Transport(std::sync::Arc::new(transport))
    }

    /// Sends `request` to `target` (Raft node id `target_id`) and waits for
    /// its answer up to `timeout`.
    pub async fn call(
        &self,
        target_id: u64,
        target: &PeerNode,
        request: PeerRequest,
        timeout: Duration,
    ) -> Result<PeerResponse, TransportError> {
        self.0.call(target_id, target, request, timeout).await
    }

    /// The libp2p handle, when the transport is libp2p.
    pub fn p2p(&self) -> Option<&p2p::P2pHandle> {
        self.0.p2p()
    }
}

impl PeerTransport for p2p::P2pHandle {
    fn call(
        &self,
        _target_id: u64,
        target: &PeerNode,
        request: PeerRequest,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<PeerResponse, TransportError>> {
        let handle = self.clone();
        let target = target.clone();
        Box::pin(async move { p2p::P2pHandle::call(&handle, &target, request, timeout).await })
    }

    fn p2p(&self) -> Option<&p2p::P2pHandle> {
        Some(self)
    }
}

impl PeerTransport for inprocess::RouterClient {
    fn call(
        &self,
        target_id: u64,
        _target: &PeerNode,
        request: PeerRequest,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<PeerResponse, TransportError>> {
        let client = self.clone();
        Box::pin(async move {
            inprocess::RouterClient::call(&client, target_id, request, timeout).await
        })
    }

    fn p2p(&self) -> Option<&p2p::P2pHandle> {
        None
    }
}

impl PeerFabric for inprocess::Router {
    fn transport(&self, node_id: u64) -> Transport {
        Transport::new(self.client(node_id))
    }

    fn serve(&self, node_id: u64, service: std::sync::Arc<dyn PeerService>) {
        self.register(node_id, service);
    }
}
