//! A bounded, ordered queue of admitted transactions. Full means "busy, retry
//! later": nothing is dropped silently.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;

use reciprocity_chaincode::TxId;
use reciprocity_proto::v1 as pb;
use tokio::sync::Notify;

/// An admitted transaction.
#[derive(Debug, Clone)]
pub struct PendingTx {
    /// Its id.
    pub tx_id: TxId,
    /// The envelope.
    pub tx: pb::SignedTx,
    /// Encoded size.
    pub bytes: usize,
}

/// Why a transaction was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueRefusal {
    /// The mempool holds `mempool_txs_max` transactions.
    Full,
    /// The same transaction is already waiting.
    Duplicate,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<PendingTx>,
    ids: BTreeSet<TxId>,
}

/// The mempool.
pub struct Mempool {
    inner: Mutex<Inner>,
    capacity: usize,
    ready: Notify,
}

impl std::fmt::Debug for Mempool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mempool")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Mempool {
    /// An empty mempool holding at most `capacity` transactions.
    pub fn new(capacity: usize) -> Mempool {
        Mempool { inner: Mutex::new(Inner::default()), capacity, ready: Notify::new() }
    }

    /// Queues a transaction.
    pub fn push(&self, pending: PendingTx) -> Result<(), QueueRefusal> {
        let mut inner = self.inner.lock().expect("mempool lock");
        if inner.ids.contains(&pending.tx_id) {
            return Err(QueueRefusal::Duplicate);
        }
        if inner.queue.len() >= self.capacity {
            return Err(QueueRefusal::Full);
        }
        inner.ids.insert(pending.tx_id);
        inner.queue.push_back(pending);
        drop(inner);
        self.ready.notify_one();
        Ok(())
    }

    /// Whether `id` is waiting.
    pub fn contains(&self, id: &TxId) -> bool {
        self.inner.lock().expect("mempool lock").ids.contains(id)
    }

    /// Transactions waiting.
    pub fn len(&self) -> usize {
        self.inner.lock().expect("mempool lock").queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes up to `txs_max` transactions totalling at most `bytes_max` (at
    /// least one if any waits), in arrival order.
    pub fn take_batch(&self, txs_max: usize, bytes_max: usize) -> Vec<PendingTx> {
        let mut inner = self.inner.lock().expect("mempool lock");
        let mut batch = Vec::new();
        let mut bytes = 0;
        while let Some(next) = inner.queue.front() {
            if batch.len() >= txs_max || (!batch.is_empty() && bytes + next.bytes > bytes_max) {
                break;
            }
            bytes += next.bytes;
            let taken = inner.queue.pop_front().expect("front exists");
            batch.push(taken);
        }
        batch
    }

    /// Forgets ids once their transactions are in a block.
    pub fn forget(&self, ids: impl IntoIterator<Item = TxId>) {
        let mut inner = self.inner.lock().expect("mempool lock");
        for id in ids {
            inner.ids.remove(&id);
        }
    }

    /// Forgets ids that are no longer queued and satisfy `committed`
    /// (recovery when the applied-block feed was missed).
    pub fn forget_where(&self, committed: impl Fn(&TxId) -> bool) {
        let mut inner = self.inner.lock().expect("mempool lock");
        let queued: BTreeSet<TxId> = inner.queue.iter().map(|p| p.tx_id).collect();
        inner.ids.retain(|id| queued.contains(id) || !committed(id));
    }

    /// Puts a batch back at the front (the block could not be proposed).
    pub fn requeue_front(&self, batch: Vec<PendingTx>) {
        let mut inner = self.inner.lock().expect("mempool lock");
        for pending in batch.into_iter().rev() {
            inner.queue.push_front(pending);
        }
        drop(inner);
        self.ready.notify_one();
    }

    /// Waits until something may be waiting.
    pub async fn wait_ready(&self) {
        if !self.is_empty() {
            return;
        }
        self.ready.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(n: u8, bytes: usize) -> PendingTx {
        PendingTx { tx_id: TxId([n; 32]), tx: pb::SignedTx::default(), bytes }
    }

    #[test]
    fn a_full_mempool_refuses_and_batches_respect_both_bounds() {
        let pool = Mempool::new(3);
        for n in 0..3 {
            pool.push(tx(n, 10)).unwrap();
        }
        assert_eq!(pool.push(tx(9, 10)), Err(QueueRefusal::Full));
        assert_eq!(pool.push(tx(0, 10)), Err(QueueRefusal::Duplicate));
        let batch = pool.take_batch(10, 25);
        assert_eq!(batch.len(), 2);
        assert_eq!(pool.take_batch(1, 1).len(), 1, "one oversized tx still goes alone");
        assert!(pool.contains(&TxId([0; 32])), "ids stay until forgotten");
        pool.forget([TxId([0; 32])]);
        assert!(!pool.contains(&TxId([0; 32])));
        // Recovery: ids taken into blocks and committed are forgotten; queued ones stay.
        pool.push(tx(7, 10)).unwrap();
        pool.forget_where(|_| true);
        assert!(!pool.contains(&TxId([1; 32])) && !pool.contains(&TxId([2; 32])));
        assert!(pool.contains(&TxId([7; 32])), "still queued");
    }
}
