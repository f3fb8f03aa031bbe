//! What the node answers its peers: Raft RPCs go to openraft, forwarded
//! transactions to leader-side admission ([`super::forwarded`]), and
//! snapshot chunks to openraft once [`super::snapshot_chunks`] admits them.
//!
//! Owns nothing; calls the node's Raft handle, admission and the chunk
//! policy. Bounds are theirs (and the transport's request size).

use futures::future::BoxFuture;

use super::node::NodeHandle;
use crate::network::{PeerRequest, PeerResponse, PeerService, protocol};

impl PeerService for NodeHandle {
    fn serve(&self, request: PeerRequest) -> BoxFuture<'static, PeerResponse> {
        let node = self.clone();
        Box::pin(async move {
            match request {
                PeerRequest::Forward { txs } => node.accept_forwarded(txs).await,
                PeerRequest::InstallSnapshot(rpc) => match node.inner.snapshot_chunks.check(&rpc) {
                    Ok(()) => {
                        protocol::serve_raft(&node.inner.raft, PeerRequest::InstallSnapshot(rpc))
                            .await
                    }
                    Err(problem) => {
                        tracing::warn!(%problem, "refused a snapshot chunk");
                        PeerResponse::Declined(problem)
                    }
                },
                raft_rpc => protocol::serve_raft(&node.inner.raft, raft_rpc).await,
            }
        })
    }
}
