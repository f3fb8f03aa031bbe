//! The forwarder: sends transactions admitted on a node that does not lead
//! to the leader's mempool, batched per leader, and hands each submitter its
//! verdict.
//!
//! Owns the queue of transactions waiting to be forwarded. Calls the
//! transport. Bounds: `limits.mempool_txs_max` queued, at most
//! `p2p.forwards_in_flight_max` requests out, each within a block's bounds
//! (`limits.block_txs_max`, `limits.block_bytes_max`) and
//! `p2p.forward_timeout_ms`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tracing::Instrument;

use super::node::{ForwardVerdict, Forwarding, NodeHandle};
use crate::consensus::PeerNode;
use crate::network::{PeerRequest, PeerResponse};
use crate::refusal::Refusal;

impl NodeHandle {
    /// Forwards one admitted transaction through the forwarder task, which
    /// sends it with whatever else waits for the same leader.
    pub(super) async fn forward_batched(
        &self,
        leader: u64,
        node: PeerNode,
        tx: Vec<u8>,
    ) -> ForwardVerdict {
        let (verdict, answer) = oneshot::channel();
        let forwarding = Forwarding { leader, node, tx, verdict };
        if self.inner.forwards.send(forwarding).await.is_err() {
            return Err("this node is shutting down".to_owned());
        }
        answer.await.unwrap_or_else(|_| Err("the forwarder stopped".to_owned()))
    }

    /// The forwarder: sends queued submissions to the leader in batches (what
    /// queued while `forwards_in_flight_max` requests were out, up to a
    /// block's bounds, one leader per request) and hands each submitter its
    /// verdict.
    pub(super) async fn forward_batches(self, mut queued: tokio::sync::mpsc::Receiver<Forwarding>) {
        let limits = self.inner.config.limits.clone();
        let in_flight =
            Arc::new(tokio::sync::Semaphore::new(self.inner.config.p2p.forwards_in_flight_max));
        let mut carried: Option<Forwarding> = None;
        loop {
            let first = match carried.take() {
                Some(first) => first,
                None => match queued.recv().await {
                    Some(first) => first,
                    None => return,
                },
            };
            let permit = Arc::clone(&in_flight)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let mut bytes = first.tx.len();
            let mut batch = vec![first];
            while batch.len() < limits.block_txs_max {
                let Ok(next) = queued.try_recv() else { break };
                if next.leader != batch[0].leader || bytes + next.tx.len() > limits.block_bytes_max
                {
                    carried = Some(next);
                    break;
                }
                bytes += next.tx.len();
                batch.push(next);
            }
            let node = self.clone();
            let span = tracing::debug_span!("forward", txs = batch.len());
            tokio::spawn(
                async move {
                    let _permit = permit;
                    let (leader, peer) = (batch[0].leader, batch[0].node.clone());
                    let mut verdicts = Vec::with_capacity(batch.len());
                    let mut txs = Vec::with_capacity(batch.len());
                    for forwarding in batch {
                        txs.push(forwarding.tx);
                        verdicts.push(forwarding.verdict);
                    }
                    let sent = txs.len();
                    match node.forward(leader, &peer, txs).await {
                        Ok(answers) if answers.len() == sent => {
                            for (verdict, answer) in verdicts.into_iter().zip(answers) {
                                let _ = verdict.send(Ok(answer));
                            }
                        }
                        Ok(_) => {
                            for verdict in verdicts {
                                let _ = verdict.send(Err(
                                    "the leader answered for a different number of transactions"
                                        .to_owned(),
                                ));
                            }
                        }
                        Err(problem) => {
                            for verdict in verdicts {
                                let _ = verdict.send(Err(problem.clone()));
                            }
                        }
                    }
                }
                .instrument(span),
            );
        }
    }

    /// Sends admitted transactions to the leader's mempool; per transaction
    /// verdicts, or why the leader could not be asked.
    pub(super) async fn forward(
        &self,
        leader: u64,
        node: &PeerNode,
        txs: Vec<Vec<u8>>,
    ) -> std::result::Result<Vec<std::result::Result<(), Refusal>>, String> {
        let request =
            PeerRequest::Forward { txs: txs.into_iter().map(serde_bytes::ByteBuf::from).collect() };
        let timeout = Duration::from_millis(self.inner.config.p2p.forward_timeout_ms);
        match self.inner.transport.call(leader, node, request, timeout).await {
            Ok(PeerResponse::Forwarded(verdicts)) => Ok(verdicts),
            Ok(PeerResponse::Declined(reason)) => Err(format!("the leader declined: {reason}")),
            Ok(_) => Err("the leader answered with something else".to_owned()),
            Err(error) => Err(error.to_string()),
        }
    }
}
