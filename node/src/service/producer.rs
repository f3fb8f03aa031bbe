//! The block producer: on the leader, commits the genesis block when the
//! chain is empty, then cuts block candidates from the mempool and proposes
//! them through Raft, pipelined.
//!
//! Owns nothing but its in-flight permits. Calls the mempool, the ledger
//! (the last block's time) and Raft. Bounds: `limits.blocks_in_flight_max`
//! blocks proposed and not yet applied, each within `limits.block_txs_max`
//! and `limits.block_bytes_max`; `limits.block_wait_ms` to fill a block
//! behind others.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use reciprocity_chaincode::chain_position;
use reciprocity_proto::v1 as pb;
use tracing::Instrument;

use super::node::NodeHandle;
use crate::clock::now_ms;
use crate::consensus::BlockRequest;

impl NodeHandle {
    /// On the leader: commits the genesis block if the chain is empty, then
    /// cuts block candidates from the mempool and proposes them through Raft.
    pub(super) async fn produce_blocks(self) {
        let inner = &self.inner;
        let limits = inner.config.limits.clone();
        let in_flight = Arc::new(tokio::sync::Semaphore::new(limits.blocks_in_flight_max));
        loop {
            if !self.is_leader() {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            if inner.ledger.height().unwrap_or(0) == 0 {
                // A restarted or new leader may not have applied what is
                // committed yet: catch up first, then look again.
                if inner.raft.ensure_linearizable().await.is_err()
                    || inner.ledger.height().unwrap_or(0) > 0
                {
                    continue;
                }
                let candidate = pb::BlockCandidate {
                    timestamp_ms: inner.network.genesis_time_ms,
                    txs: vec![inner.genesis_tx.clone()],
                };
                match inner
                    .raft
                    .client_write(BlockRequest { candidate: candidate.encode_to_vec() })
                    .await
                {
                    Ok(response) => {
                        tracing::info!(height = ?response.data.height, codes = ?response.data.codes, "genesis block committed")
                    }
                    Err(error) => {
                        tracing::warn!(%error, "genesis block not committed; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                continue;
            }
            inner.mempool.wait_ready().await;
            // Pipelining: up to `blocks_in_flight_max` blocks replicate and
            // apply while the next is cut. The mempool keeps a block's ids
            // until it is applied, so no transaction enters two blocks.
            let permit = Arc::clone(&in_flight)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            // With nothing else in flight a block goes at once (latency);
            // behind other blocks it waits `block_wait_ms` to fill (fewer,
            // larger blocks under load).
            let others_in_flight = in_flight.available_permits() + 1 < limits.blocks_in_flight_max;
            if others_in_flight
                && limits.block_wait_ms > 0
                && inner.mempool.len() < limits.block_txs_max
            {
                tokio::time::sleep(Duration::from_millis(limits.block_wait_ms)).await;
            }
            if !self.is_leader() {
                continue;
            }
            let batch = inner.mempool.take_batch(limits.block_txs_max, limits.block_bytes_max);
            if batch.is_empty() {
                continue;
            }
            // The ledger clamps a block's time to its predecessor's, so a
            // block cut before the previous one applied stays in order.
            let last_time_ms =
                chain_position(&inner.ledger.state()).map(|p| p.time_ms).unwrap_or(0);
            let candidate = pb::BlockCandidate {
                timestamp_ms: now_ms().max(last_time_ms),
                txs: batch.iter().map(|p| p.tx.clone()).collect(),
            };
            let node = self.clone();
            let span = tracing::info_span!("propose_block", txs = batch.len());
            tokio::spawn(
                async move {
                    let _permit = permit;
                    let result = node
                        .inner
                        .raft
                        .client_write(BlockRequest { candidate: candidate.encode_to_vec() })
                        .await;
                    if let Err(error) = result {
                        tracing::warn!(%error, txs = batch.len(), "block not committed; requeueing its transactions");
                        node.inner.mempool.requeue_front(batch);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                .instrument(span),
            );
        }
    }
}
