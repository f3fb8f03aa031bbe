//! Submissions and commit waiters: admits a transaction against this node's
//! state, queues it (in the mempool when this node leads, else through
//! [`super::forward`] on the leader's), and resolves the submitter's wait
//! when the block holding it is applied here.
//!
//! Owns the commit waiters and the set of transactions admitted here and not
//! yet applied (what [`NodeHandle::is_settled`] reads). Calls admission, the verifier, the mempool, the
//! forwarder and the ledger. Bounds: `limits.mempool_txs_max` waiting
//! transactions, `p2p.forward_timeout_ms` to find and reach a leader, the
//! caller's `timeout` for the commit.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use reciprocity_chaincode::{TxId, ValidationCode};
use reciprocity_proto::v1 as pb;
use tokio::sync::{broadcast, oneshot};

use super::admission::{self, AdmissionContext};
use super::mempool::{PendingTx, QueueRefusal};
use super::node::{Leader, NodeHandle};
use crate::clock::now_ms;
use crate::ledger::TxLocation;
use crate::refusal::Refusal;

/// How a submission ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// In a block: where, and with which code.
    Committed(TxLocation),
    /// Admitted; the caller did not wait.
    Accepted,
    /// Admitted, not committed within the deadline (it may still be).
    TimedOut,
}

impl NodeHandle {
    /// Admits a transaction and, when `wait` is set, waits for its commit up
    /// to `timeout`.
    #[tracing::instrument(level = "debug", skip(self, tx), fields(tx_id))]
    pub async fn submit(
        &self,
        tx: pb::SignedTx,
        wait: bool,
        timeout: Duration,
    ) -> Result<(TxId, Submitted), Refusal> {
        let started = std::time::Instant::now();
        let result = self.submit_counted(tx, wait, timeout).await;
        let metrics = &self.inner.metrics;
        match &result {
            Ok((_, Submitted::Committed(_))) => {
                metrics.submission("committed");
                metrics.submit_commit_seconds.observe(started.elapsed().as_secs_f64());
            }
            Ok((_, Submitted::Accepted)) => metrics.submission("accepted"),
            Ok((_, Submitted::TimedOut)) => metrics.submission("timed_out"),
            Err(Refusal::Busy { .. }) => metrics.submission("busy"),
            Err(Refusal::Unavailable { .. }) => metrics.submission("unavailable"),
            Err(_) => metrics.submission("refused"),
        }
        result
    }

    async fn submit_counted(
        &self,
        tx: pb::SignedTx,
        wait: bool,
        timeout: Duration,
    ) -> Result<(TxId, Submitted), Refusal> {
        let inner = &self.inner;
        // The signature is checked below, batched with concurrent submissions.
        let ctx = self.admission_context(false);
        let admitted = {
            let state = inner.ledger.state();
            admission::admit(
                &tx,
                &state,
                |id| {
                    // Ids used on the ledger are checked by `admit` against the
                    // chaincode's record; here only what waits in the mempool.
                    inner.mempool.contains(id)
                },
                &ctx,
            )?
        };
        let tx_id = admitted.tx_id;
        let (tx, signature_valid) = inner.verifier.verify(tx).await;
        if !signature_valid {
            return Err(admission::bad_signature());
        }
        tracing::Span::current().record("tx_id", tracing::field::display(tx_id));
        // The waiter is registered before the transaction can reach a block.
        let receiver = wait.then(|| {
            let (sender, receiver) = oneshot::channel();
            inner.waiters.lock().expect("waiters lock").entry(tx_id).or_default().push(sender);
            receiver
        });
        // Tracked before it can reach a block, like the waiter.
        self.track_unresolved(tx_id, admitted.expires_at_ms);
        if let Err(refusal) = self.enqueue(tx_id, tx).await {
            drop(receiver);
            self.drop_closed_waiters(&tx_id);
            self.inner.unresolved.lock().expect("unresolved lock").remove(&tx_id);
            return Err(refusal);
        }
        let Some(receiver) = receiver else {
            return Ok((tx_id, Submitted::Accepted));
        };
        // Committed and applied here before the waiter could see the block
        // (a forward retried after its answer was lost).
        if let Ok(Some(location)) = inner.ledger.tx_location(&tx_id) {
            drop(receiver);
            self.drop_closed_waiters(&tx_id);
            return Ok((tx_id, Submitted::Committed(location)));
        }
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(location)) => Ok((tx_id, Submitted::Committed(location))),
            _ => {
                // The receiver is gone: forget this waiter (others for the same id stay).
                self.drop_closed_waiters(&tx_id);
                Ok((tx_id, Submitted::TimedOut))
            }
        }
    }

    /// Remembers a transaction admitted here until its block is applied
    /// here (or it expires).
    fn track_unresolved(&self, tx_id: TxId, expires_at_ms: u64) {
        let mut unresolved = self.inner.unresolved.lock().expect("unresolved lock");
        if unresolved.len() < self.inner.config.limits.mempool_txs_max {
            unresolved.insert(tx_id, expires_at_ms);
        }
    }

    /// Whether this node has nothing in flight: everything in its Raft log
    /// is applied, its mempool is empty, and every transaction admitted
    /// through it is applied here or expired. Only then does its state
    /// foresee how the ledger will judge the next transaction (other nodes'
    /// submissions aside).
    pub fn is_settled(&self) -> bool {
        let caught_up = {
            let metrics = self.inner.raft.metrics();
            let metrics = metrics.borrow();
            metrics.last_log_index.unwrap_or(0)
                <= metrics.last_applied.as_ref().map_or(0, |log_id| log_id.index)
        };
        if !caught_up || !self.inner.mempool.is_empty() {
            return false;
        }
        let now = now_ms();
        let mut unresolved = self.inner.unresolved.lock().expect("unresolved lock");
        unresolved.retain(|_, expires_at_ms| *expires_at_ms >= now);
        unresolved.is_empty()
    }

    /// Removes the waiters of `id` whose submitter stopped waiting.
    fn drop_closed_waiters(&self, id: &TxId) {
        let mut waiters = self.inner.waiters.lock().expect("waiters lock");
        if let Some(list) = waiters.get_mut(id) {
            list.retain(|sender| !sender.is_closed());
            if list.is_empty() {
                waiters.remove(id);
            }
        }
    }
    /// What admission checks against, now (`check_signature`: false where
    /// the caller checks signatures in batches, see
    /// [`AdmissionContext::check_signature`]).
    pub(super) fn admission_context(&self, check_signature: bool) -> AdmissionContext<'_> {
        AdmissionContext {
            chain_id: &self.inner.network.chain_id,
            now_ms: now_ms(),
            tx_bytes_max: self.inner.config.limits.tx_bytes_max,
            check_signature,
        }
    }
    /// Puts an admitted transaction in this node's mempool.
    pub(super) fn queue_locally(&self, tx_id: TxId, tx: pb::SignedTx) -> Result<(), Refusal> {
        let bytes = tx.encoded_len();
        self.inner.mempool.push(PendingTx { tx_id, tx, bytes }).map_err(|refusal| match refusal {
            QueueRefusal::Full => Refusal::Busy { max: self.inner.config.limits.mempool_txs_max },
            QueueRefusal::Duplicate => Refusal::Invalid {
                code: ValidationCode::DuplicateTx,
                message: format!("transaction {tx_id} is already waiting"),
            },
        })
    }
    /// Queues an admitted transaction: in the mempool when this node leads,
    /// else on the leader's, through the transport.
    async fn enqueue(&self, tx_id: TxId, tx: pb::SignedTx) -> Result<(), Refusal> {
        let inner = &self.inner;
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(inner.config.p2p.forward_timeout_ms);
        let mut tx = Some(tx);
        loop {
            let last_problem = match self.leader() {
                Leader::Me => return self.queue_locally(tx_id, tx.take().expect("queued once")),
                Leader::Cut { ms } => format!(
                    "this node leads but no majority has acknowledged it for {ms} ms (a minority partition)"
                ),
                Leader::Unknown => {
                    "no leader is known (an election is under way, or this node is cut off)"
                        .to_owned()
                }
                Leader::Other(leader, node) => {
                    let bytes = tx.as_ref().expect("not queued yet").encode_to_vec();
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    let forwarded =
                        tokio::time::timeout(left, self.forward_batched(leader, node, bytes))
                            .await
                            .unwrap_or_else(
                                |_| Err("the leader did not answer in time".to_owned()),
                            );
                    match forwarded {
                        Ok(verdict) => {
                            return match verdict {
                                // Already waiting on the leader or already committed
                                // (a retry after a lost answer): the submitter's wait
                                // resolves from this node's ledger either way.
                                Err(Refusal::Invalid {
                                    code: ValidationCode::DuplicateTx, ..
                                }) => Ok(()),
                                verdict => verdict,
                            };
                        }
                        Err(problem) => problem,
                    }
                }
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(Refusal::Unavailable { reason: last_problem });
            }
            tokio::time::sleep(Duration::from_millis(inner.config.raft.heartbeat_interval_ms))
                .await;
        }
    }

    /// Resolves commit waiters from applied blocks.
    pub(super) async fn resolve_waiters(self) {
        let mut blocks = self.subscribe();
        loop {
            match blocks.recv().await {
                Ok(block) => {
                    let header = block.block.header.as_ref().expect("applied block has a header");
                    let mut ids = Vec::with_capacity(block.block.txs.len());
                    let mut waiters = self.inner.waiters.lock().expect("waiters lock");
                    for (position, (tx, result)) in
                        block.block.txs.iter().zip(&block.block.results).enumerate()
                    {
                        let id = reciprocity_chaincode::tx_id(&tx.payload);
                        ids.push(id);
                        if result.code == ValidationCode::DuplicateTx.number() {
                            continue;
                        }
                        let location = TxLocation {
                            height: header.height,
                            position: u32::try_from(position).expect("block fits u32"),
                            code: result.code,
                        };
                        for waiter in waiters.remove(&id).unwrap_or_default() {
                            let _ = waiter.send(location);
                        }
                    }
                    drop(waiters);
                    {
                        let mut unresolved = self.inner.unresolved.lock().expect("unresolved lock");
                        if !unresolved.is_empty() {
                            for id in &ids {
                                unresolved.remove(id);
                            }
                        }
                    }
                    self.inner.metrics.blocks_applied.inc();
                    self.inner.metrics.txs_applied.inc_by(ids.len() as u64);
                    self.inner.mempool.forget(ids);
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "waiter task lagged; resolving from the ledger");
                    let waiting: Vec<TxId> =
                        self.inner.waiters.lock().expect("waiters lock").keys().copied().collect();
                    let mut found = Vec::new();
                    for id in waiting {
                        if let Ok(Some(location)) = self.inner.ledger.tx_location(&id) {
                            found.push((id, location));
                        }
                    }
                    let mut waiters = self.inner.waiters.lock().expect("waiters lock");
                    for (id, location) in &found {
                        for waiter in waiters.remove(id).unwrap_or_default() {
                            let _ = waiter.send(*location);
                        }
                    }
                    drop(waiters);
                    let ledger = Arc::clone(&self.inner.ledger);
                    self.inner
                        .mempool
                        .forget_where(|id| ledger.tx_location(id).ok().flatten().is_some());
                    self.inner
                        .unresolved
                        .lock()
                        .expect("unresolved lock")
                        .retain(|id, _| ledger.tx_location(id).ok().flatten().is_none());
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
