//! The mempool hand-off: a node that stops leading hands what waits in its
//! mempool (queued while it led) to the new leader.
//!
//! Owns nothing. Calls the mempool and [`super::forward`]. Bounds: one batch
//! within a block's bounds per `raft.heartbeat_interval_ms`; what the leader
//! answers "busy" waits for the next round.

use std::time::Duration;

use prost::Message;

use super::mempool::PendingTx;
use super::node::{Leader, NodeHandle};
use crate::refusal::Refusal;

impl NodeHandle {
    /// While not leading: hands what waits in the mempool (queued while this
    /// node led) to the new leader.
    pub(super) async fn hand_off_mempool(self) {
        let inner = &self.inner;
        let pause = Duration::from_millis(inner.config.raft.heartbeat_interval_ms);
        loop {
            tokio::time::sleep(pause).await;
            if inner.mempool.is_empty() {
                continue;
            }
            let Leader::Other(leader, node) = self.leader() else { continue };
            let batch = inner
                .mempool
                .take_batch(inner.config.limits.block_txs_max, inner.config.limits.block_bytes_max);
            let txs = batch.iter().map(|p| p.tx.encode_to_vec()).collect();
            match self.forward(leader, &node, txs).await {
                Ok(verdicts) if verdicts.len() != batch.len() => {
                    tracing::warn!(
                        sent = batch.len(),
                        answered = verdicts.len(),
                        "the leader answered for a different number of transactions; will retry"
                    );
                    inner.mempool.requeue_front(batch);
                }
                Ok(verdicts) => {
                    for (pending, verdict) in batch.iter().zip(&verdicts) {
                        if let Err(refusal) = verdict
                            && !matches!(refusal, Refusal::Busy { .. })
                        {
                            tracing::warn!(tx_id = %pending.tx_id, %refusal, "the leader refused a handed-over transaction");
                        }
                    }
                    let refused = verdicts.iter().filter(|v| v.is_err()).count();
                    tracing::info!(
                        txs = batch.len(),
                        refused,
                        leader,
                        "handed waiting transactions to the new leader"
                    );
                    let retry: Vec<PendingTx> = batch
                        .into_iter()
                        .zip(verdicts)
                        .filter(|(_, v)| matches!(v, Err(Refusal::Busy { .. })))
                        .map(|(p, _)| p)
                        .collect();
                    inner.mempool.requeue_front(retry);
                }
                Err(problem) => {
                    tracing::warn!(%problem, txs = batch.len(), "could not hand waiting transactions to the leader; will retry");
                    inner.mempool.requeue_front(batch);
                }
            }
        }
    }
}
