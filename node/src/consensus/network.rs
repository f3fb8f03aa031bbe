//! The Raft network inside one process: a router that hands RPCs straight
//! to the target node's `Raft`, with fault injection (isolated nodes and
//! one-way link loss) for tests. The libp2p transport of the network issue
//! implements the same openraft traits.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use super::{PeerNode, Raft, TypeConfig};

#[derive(Default)]
struct RouterState {
    nodes: BTreeMap<u64, Raft>,
    isolated: BTreeSet<u64>,
    dropped_links: BTreeSet<(u64, u64)>,
}

/// Routes RPCs between the Raft nodes of one process.
#[derive(Clone, Default)]
pub struct Router {
    state: Arc<Mutex<RouterState>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().expect("router lock");
        f.debug_struct("Router").field("nodes", &state.nodes.keys().collect::<Vec<_>>()).finish()
    }
}

/// Why an RPC did not reach its target.
#[derive(Debug, thiserror::Error)]
#[error("node {target} is unreachable from node {from}")]
pub struct LinkDown {
    from: u64,
    target: u64,
}

impl Router {
    /// Adds (or replaces) a node.
    pub fn register(&self, id: u64, raft: Raft) {
        self.state.lock().expect("router lock").nodes.insert(id, raft);
    }

    /// Removes a node (as if its process stopped).
    pub fn unregister(&self, id: u64) {
        self.state.lock().expect("router lock").nodes.remove(&id);
    }

    /// Cuts a node off from every other node, both ways.
    pub fn isolate(&self, id: u64) {
        self.state.lock().expect("router lock").isolated.insert(id);
    }

    /// Drops every message from `from` to `to` (one way).
    pub fn drop_link(&self, from: u64, to: u64) {
        self.state.lock().expect("router lock").dropped_links.insert((from, to));
    }

    /// Restores every link.
    pub fn heal(&self) {
        let mut state = self.state.lock().expect("router lock");
        state.isolated.clear();
        state.dropped_links.clear();
    }

    /// The network handle for node `from`.
    pub fn client(&self, from: u64) -> RouterClient {
        RouterClient { router: self.clone(), from }
    }

    fn target(&self, from: u64, target: u64) -> Result<Raft, LinkDown> {
        let state = self.state.lock().expect("router lock");
        let cut = state.isolated.contains(&from)
            || state.isolated.contains(&target)
            || state.dropped_links.contains(&(from, target));
        match state.nodes.get(&target) {
            Some(raft) if !cut => Ok(raft.clone()),
            _ => Err(LinkDown { from, target }),
        }
    }
}

/// One node's view of the router (openraft's network factory).
#[derive(Debug, Clone)]
pub struct RouterClient {
    router: Router,
    from: u64,
}

/// A connection from one node to another through the router.
#[derive(Debug)]
pub struct RouterConnection {
    router: Router,
    from: u64,
    target: u64,
}

impl RaftNetworkFactory<TypeConfig> for RouterClient {
    type Network = RouterConnection;

    async fn new_client(&mut self, target: u64, _node: &PeerNode) -> Self::Network {
        RouterConnection { router: self.router.clone(), from: self.from, target }
    }
}

impl RouterConnection {
    fn raft(&self) -> Result<Raft, LinkDown> {
        self.router.target(self.from, self.target)
    }
}

type RpcError<E = openraft::error::Infallible> = RPCError<u64, PeerNode, RaftError<u64, E>>;

impl RaftNetwork<TypeConfig> for RouterConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RpcError> {
        let raft = self.raft().map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        raft.append_entries(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<InstallSnapshotResponse<u64>, RpcError<InstallSnapshotError>> {
        let raft = self.raft().map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        raft.install_snapshot(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        _option: RPCOption,
    ) -> Result<VoteResponse<u64>, RpcError> {
        let raft = self.raft().map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        raft.vote(rpc).await.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}
