//! openraft's network traits over a [`Transport`]: each RPC becomes a
//! [`PeerRequest`] with the deadline openraft gives it.

// openraft's trait signatures fix their error types.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use super::{PeerRequest, PeerResponse, Transport, TransportError};
use crate::consensus::{PeerNode, TypeConfig};

/// How long Raft waits before retrying an unreachable peer: doubling from
/// `min_ms` up to `max_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// First wait.
    pub min_ms: u64,
    /// Longest wait.
    pub max_ms: u64,
}

/// openraft's network factory for one node.
#[derive(Debug, Clone)]
pub struct PeerNetwork {
    from: u64,
    transport: Transport,
    backoff: Backoff,
    append_bytes_max: u64,
}

impl PeerNetwork {
    /// The network of node `from` over `transport`; appends carry at most
    /// `append_bytes_max` bytes of blocks (a single larger block goes alone).
    pub fn new(
        from: u64,
        transport: Transport,
        backoff: Backoff,
        append_bytes_max: u64,
    ) -> PeerNetwork {
        PeerNetwork { from, transport, backoff, append_bytes_max }
    }
}

/// A connection to one peer.
#[derive(Debug)]
pub struct PeerConnection {
    from: u64,
    target: u64,
    node: PeerNode,
    transport: Transport,
    backoff: Backoff,
    append_bytes_max: u64,
}

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: u64, node: &PeerNode) -> Self::Network {
        PeerConnection {
            from: self.from,
            target,
            node: node.clone(),
            transport: self.transport.clone(),
            backoff: self.backoff,
            append_bytes_max: self.append_bytes_max,
        }
    }
}

type RpcError<E = openraft::error::Infallible> = RPCError<u64, PeerNode, RaftError<u64, E>>;

#[derive(Debug, thiserror::Error)]
#[error("peer answered {got} to a {sent} request")]
struct WrongAnswer {
    sent: &'static str,
    got: String,
}

impl PeerConnection {
    async fn exchange<E: std::error::Error>(
        &self,
        action: openraft::RPCTypes,
        request: PeerRequest,
        option: &RPCOption,
    ) -> Result<PeerResponse, RpcError<E>> {
        let ttl = option.hard_ttl();
        let result = self.transport.call(self.target, &self.node, request, ttl).await;
        result.map_err(|error| match error {
            TransportError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&error)),
            TransportError::Timeout { .. } => RPCError::Timeout(Timeout {
                action,
                id: self.from,
                target: self.target,
                timeout: ttl,
            }),
            TransportError::Failed { .. } => RPCError::Network(NetworkError::new(&error)),
        })
    }

    fn unexpected<E: std::error::Error>(sent: &'static str, got: &PeerResponse) -> RpcError<E> {
        let got = match got {
            PeerResponse::Declined(reason) => format!("declined ({reason})"),
            other => format!("{other:?}").chars().take(40).collect(),
        };
        RPCError::Network(NetworkError::new(&WrongAnswer { sent, got }))
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    fn backoff(&self) -> openraft::network::Backoff {
        let Backoff { min_ms, max_ms } = self.backoff;
        let waits = std::iter::successors(Some(min_ms), move |ms| Some((ms * 2).min(max_ms)));
        openraft::network::Backoff::new(waits.map(Duration::from_millis))
    }

    #[tracing::instrument(level = "trace", skip_all, fields(target = self.target))]
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RpcError> {
        // openraft gives an append one heartbeat interval: keep it small
        // enough to cross the link, telling openraft how many entries fit.
        if rpc.entries.len() > 1 {
            let mut bytes = 0u64;
            let mut fitting = 0u64;
            for entry in &rpc.entries {
                if let openraft::EntryPayload::Normal(block) = &entry.payload {
                    bytes += u64::try_from(block.candidate.len()).unwrap_or(u64::MAX);
                }
                if bytes > self.append_bytes_max {
                    break;
                }
                fitting += 1;
            }
            if bytes > self.append_bytes_max {
                let hint = fitting.max(1);
                return Err(RPCError::PayloadTooLarge(
                    openraft::error::PayloadTooLarge::new_entries_hint(hint),
                ));
            }
        }
        match self
            .exchange(openraft::RPCTypes::AppendEntries, PeerRequest::AppendEntries(rpc), &option)
            .await?
        {
            PeerResponse::AppendEntries(result) => {
                result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(Self::unexpected("append_entries", &other)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(target = self.target))]
    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<u64>, RpcError<InstallSnapshotError>> {
        match self
            .exchange(
                openraft::RPCTypes::InstallSnapshot,
                PeerRequest::InstallSnapshot(rpc),
                &option,
            )
            .await?
        {
            PeerResponse::InstallSnapshot(result) => {
                result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(Self::unexpected("install_snapshot", &other)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(target = self.target))]
    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RpcError> {
        match self.exchange(openraft::RPCTypes::Vote, PeerRequest::Vote(rpc), &option).await? {
            PeerResponse::Vote(result) => {
                result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(Self::unexpected("vote", &other)),
        }
    }
}
