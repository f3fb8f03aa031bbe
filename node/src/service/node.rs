//! The running node's handle: what every job of the node shares (the ledger,
//! Raft, the mempool, the transport, the commit waiters, the forwarder's
//! queue, the metrics) behind one cloneable [`NodeHandle`] used by the APIs,
//! and who leads from this node's point of view.
//!
//! The jobs live in their own modules and reach the shared state through
//! the handle; [`super::startup`] opens the ledger, starts Raft and the
//! transport and spawns them:
//!
//! - [`super::submit`]: submissions and commit waiters;
//! - [`super::forward`]: forwarding admitted transactions to the leader;
//! - [`super::forwarded`]: the leader's admission of forwarded transactions;
//! - [`super::producer`]: the block producer;
//! - [`super::handoff`]: the mempool hand-off on leader change;
//! - [`super::membership`]: Raft membership that follows the ledger;
//! - [`super::peers`] and [`super::snapshot_chunks`]: what peers are
//!   answered, and the policing of snapshot transfers;
//! - [`crate::network::allowlist`]: the peer allowlist;
//! - [`super::status`]: the node's view of itself.
//!
//! Any node accepts a submission: it admits it against its own state, then
//! queues it in its mempool when it leads, or forwards it to the leader. The
//! submitter waits on the node it called, which resolves the wait when the
//! block holding the transaction is applied there. A node that stops leading
//! hands what is left in its mempool to the new leader.
//!
//! Calls nothing of the jobs (they call it). Bounds: each job's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use reciprocity_chaincode::TxId;
use reciprocity_network_config::NetworkConfig;
use reciprocity_proto::v1 as pb;
use tokio::sync::{broadcast, oneshot};

use super::mempool::Mempool;
use super::snapshot_chunks::SnapshotChunks;
use crate::config::NodeConfig;
use crate::consensus::{PeerNode, Raft};
use crate::error::Result;
use crate::ledger::{AppliedBlock, Ledger, TxLocation};
use crate::network::Transport;
use crate::refusal::Refusal;

/// Submitters waiting for their transaction's block, by transaction id.
pub(super) type Waiters = Mutex<BTreeMap<TxId, Vec<oneshot::Sender<TxLocation>>>>;

/// A leader's verdict on one forwarded transaction, or why it could not be asked.
pub(super) type ForwardVerdict = std::result::Result<std::result::Result<(), Refusal>, String>;

/// One admitted transaction waiting to be forwarded to the leader.
pub(super) struct Forwarding {
    pub(super) leader: u64,
    pub(super) node: PeerNode,
    pub(super) tx: Vec<u8>,
    pub(super) verdict: oneshot::Sender<ForwardVerdict>,
}

/// What the node's jobs share; each job's module reads what it needs.
pub(super) struct Inner {
    pub(super) config: NodeConfig,
    pub(super) network: NetworkConfig,
    pub(super) ledger: Arc<Ledger>,
    pub(super) raft: Raft,
    pub(super) mempool: Mempool,
    pub(super) waiters: Waiters,
    pub(super) applied: broadcast::Sender<Arc<AppliedBlock>>,
    pub(super) node_id: u64,
    pub(super) genesis_tx: pb::SignedTx,
    pub(super) transport: Transport,
    /// Tasks to stop on shutdown.
    pub(super) tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// The policy for snapshot transfers from peers.
    pub(super) snapshot_chunks: SnapshotChunks,
    /// Prometheus metrics.
    pub(super) metrics: super::metrics::NodeMetrics,
    /// How far the index got (when the node has an index).
    pub(super) index_progress: Arc<crate::index::IndexProgress>,
    /// Submissions for the leader, batched by the forwarder task.
    pub(super) forwards: tokio::sync::mpsc::Sender<Forwarding>,
    /// Admission's batched signature checks.
    pub(super) verifier: super::verifier::Verifier,
    /// Transactions admitted through this node whose block it has not
    /// applied yet, with their expiry (Unix ms): at most
    /// `limits.mempool_txs_max` (a full set only means "not settled").
    pub(super) unresolved: Mutex<BTreeMap<TxId, u64>>,
}

/// The running node.
#[derive(Clone)]
pub struct NodeHandle {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("node_id", &self.inner.node_id)
            .field("club", &self.inner.config.club)
            .finish()
    }
}

impl NodeHandle {
    /// Stops Raft and the node's tasks (the ledger closes when the last handle drops).
    pub async fn shutdown(&self) {
        if let Err(error) = self.inner.raft.shutdown().await {
            tracing::warn!(%error, "raft did not shut down cleanly");
        }
        for task in self.inner.tasks.lock().expect("tasks lock").drain(..) {
            task.abort();
        }
    }

    /// This node's Raft id.
    pub fn node_id(&self) -> u64 {
        self.inner.node_id
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.inner.ledger
    }

    /// The Raft handle.
    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// The network configuration.
    pub fn network(&self) -> &NetworkConfig {
        &self.inner.network
    }

    /// The node's metrics (the HTTP layer records request latencies in them).
    pub fn metrics(&self) -> &super::metrics::NodeMetrics {
        &self.inner.metrics
    }

    /// The Prometheus text exposition of this node's metrics.
    pub fn render_metrics(&self) -> Result<String> {
        Ok(self.inner.metrics.render(&self.status()?.gauges()))
    }

    /// The index database, once connected (none without `index_url`).
    pub fn index_store(&self) -> Option<crate::index::IndexStore> {
        self.inner.index_progress.connected.get().cloned()
    }

    /// Applied blocks as they come.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<AppliedBlock>> {
        self.inner.applied.subscribe()
    }

    /// Whether `id` waits in the mempool.
    pub fn is_pending(&self, id: &TxId) -> bool {
        self.inner.mempool.contains(id)
    }

    pub(super) fn is_leader(&self) -> bool {
        self.inner.raft.metrics().borrow().current_leader == Some(self.inner.node_id)
    }

    /// The current leader (other than this node) and how to reach it.
    pub(super) fn leader(&self) -> Leader {
        // Read in place: this runs on every submission.
        let receiver = self.inner.raft.metrics();
        let metrics = receiver.borrow();
        match metrics.current_leader {
            Some(id) if id == self.inner.node_id => {
                let window_ms = self.inner.config.raft.election_timeout_max_ms;
                match metrics.millis_since_quorum_ack {
                    Some(ms) if ms > window_ms => Leader::Cut { ms },
                    _ => Leader::Me,
                }
            }
            Some(id) => match metrics.membership_config.membership().get_node(&id) {
                Some(node) => Leader::Other(id, node.clone()),
                None => Leader::Unknown,
            },
            None => Leader::Unknown,
        }
    }
}

/// Who leads, from this node's point of view.
pub(super) enum Leader {
    /// This node, acknowledged by a majority recently.
    Me,
    /// This node, but no majority has acknowledged it for `ms` (a minority partition).
    Cut {
        /// Time since the last acknowledgement by a majority.
        ms: u64,
    },
    /// Another node.
    Other(u64, PeerNode),
    /// Nobody known.
    Unknown,
}
