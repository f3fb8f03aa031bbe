//! The messages nodes exchange, and the service that answers them.
//!
//! Encoded with CBOR by libp2p's request-response codec (serde); the
//! in-process router hands the values over as they are.

use futures::future::BoxFuture;
use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};

use crate::consensus::TypeConfig;
use crate::refusal::Refusal;

/// A request from one node to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PeerRequest {
    /// Raft: replicate entries / heartbeat.
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// Raft: ask for a vote.
    Vote(VoteRequest<u64>),
    /// Raft: one chunk of a snapshot.
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// Transactions a follower admitted, for the leader's mempool. Each is an
    /// encoded `SignedTx`, as the client sent it.
    Forward {
        /// The encoded transactions.
        txs: Vec<serde_bytes::ByteBuf>,
    },
}

impl PeerRequest {
    /// Short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PeerRequest::AppendEntries(_) => "append_entries",
            PeerRequest::Vote(_) => "vote",
            PeerRequest::InstallSnapshot(_) => "install_snapshot",
            PeerRequest::Forward { .. } => "forward",
        }
    }
}

/// The answer to a [`PeerRequest`].
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerResponse {
    /// Raft's answer to `AppendEntries`.
    AppendEntries(Result<AppendEntriesResponse<u64>, RaftError<u64>>),
    /// Raft's answer to `Vote`.
    Vote(Result<VoteResponse<u64>, RaftError<u64>>),
    /// Raft's answer to `InstallSnapshot`.
    InstallSnapshot(Result<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>>),
    /// For each forwarded transaction, in order: queued on the leader (or
    /// already waiting there), or why not.
    Forwarded(Vec<Result<(), Refusal>>),
    /// The request was not served (e.g. forwarding to a node that is not
    /// the leader, or a node shutting down).
    Declined(String),
}

/// Answers inbound peer requests (a node, or a bare Raft in tests).
pub trait PeerService: Send + Sync + 'static {
    /// Serves one request.
    fn serve(&self, request: PeerRequest) -> BoxFuture<'static, PeerResponse>;
}

/// A bare Raft serves the Raft RPCs and declines forwarding.
impl PeerService for crate::consensus::Raft {
    fn serve(&self, request: PeerRequest) -> BoxFuture<'static, PeerResponse> {
        let raft = self.clone();
        Box::pin(async move { serve_raft(&raft, request).await })
    }
}

/// Hands a Raft RPC to `raft`; declines anything else.
pub async fn serve_raft(raft: &crate::consensus::Raft, request: PeerRequest) -> PeerResponse {
    match request {
        PeerRequest::AppendEntries(rpc) => {
            PeerResponse::AppendEntries(raft.append_entries(rpc).await)
        }
        PeerRequest::Vote(rpc) => PeerResponse::Vote(raft.vote(rpc).await),
        PeerRequest::InstallSnapshot(rpc) => {
            PeerResponse::InstallSnapshot(raft.install_snapshot(rpc).await)
        }
        PeerRequest::Forward { .. } => {
            PeerResponse::Declined("this node takes no forwarded transactions".into())
        }
    }
}
