//! Batched signature checks for admission. Submissions that arrive while a
//! batch is being checked wait for the next one, so under load a node checks
//! hundreds of signatures as one batch (`verify_envelopes`, the chaincode's
//! rule: batch equation first, `verify_strict` per signature if the batch
//! fails) instead of one strict check each; alone, a submission is checked
//! at once. Checks run off the async workers, one batch per core at a time.
//!
//! Admission's verdict only spares clients a hopeless wait: the rule that
//! counts runs again on every node when the block is applied.

use reciprocity_chaincode::{BlockTx, EnvelopeRef, verify_envelopes};
use reciprocity_proto::v1 as pb;
use tokio::sync::{mpsc, oneshot};

/// One submission waiting for its signature check.
struct Job {
    tx: pb::SignedTx,
    verdict: oneshot::Sender<(pb::SignedTx, bool)>,
}

/// The handle submissions use; cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier checking at most `batch_txs_max` signatures per batch with
    /// at most `queued_max` waiting; run the returned task.
    pub fn new(
        batch_txs_max: usize,
        queued_max: usize,
    ) -> (Verifier, impl std::future::Future<Output = ()> + Send + 'static) {
        let (queue, jobs) = mpsc::channel(queued_max.max(1));
        (Verifier { queue }, check_batches(jobs, batch_txs_max.max(1)))
    }

    /// Checks `tx`'s signature; gives the transaction back with the verdict
    /// (false also when the verifier has stopped).
    pub async fn verify(&self, tx: pb::SignedTx) -> (pb::SignedTx, bool) {
        let (verdict, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(job)) = self.queue.send(Job { tx, verdict }).await {
            return (job.tx, false);
        }
        answer.await.unwrap_or_else(|_| (pb::SignedTx::default(), false))
    }
}

/// Checks the signatures of `txs` as one batch with the chaincode's rule;
/// one verdict per transaction, in order.
pub fn signatures_valid<'a>(txs: impl IntoIterator<Item = &'a pb::SignedTx>) -> Vec<bool> {
    let envelopes: Vec<EnvelopeRef<'_>> = txs.into_iter().map(EnvelopeRef::from_signed).collect();
    verify_envelopes(&envelopes)
        .iter()
        .map(|checked| matches!(checked, BlockTx::Verified(_)))
        .collect()
}

async fn check_batches(mut jobs: mpsc::Receiver<Job>, batch_txs_max: usize) {
    // One batch per core at a time; what arrives meanwhile forms the next.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(cores));
    while let Some(first) = jobs.recv().await {
        let Ok(permit) = std::sync::Arc::clone(&in_flight).acquire_owned().await else { return };
        let mut batch = vec![first];
        while batch.len() < batch_txs_max {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        tokio::spawn(async move {
            let checked = tokio::task::spawn_blocking(move || {
                let verdicts = signatures_valid(batch.iter().map(|job| &job.tx));
                (batch, verdicts)
            })
            .await;
            drop(permit);
            // A panic in the check drops the batch: its submitters see "refused".
            if let Ok((batch, verdicts)) = checked {
                for (job, valid) in batch.into_iter().zip(verdicts) {
                    let _ = job.verdict.send((job.tx, valid));
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use reciprocity_sdk::keys::Keypair;
    use reciprocity_sdk::tx::{TxBuilder, body};

    #[tokio::test]
    async fn concurrent_submissions_are_checked_together_and_forgeries_refused() {
        let (verifier, task) = Verifier::new(64, 1_000);
        tokio::spawn(task);
        let key = Keypair::generate().unwrap();
        let txs: Vec<pb::SignedTx> = (0..40)
            .map(|_| {
                TxBuilder::now("chain").sign(
                    &key,
                    body::register_member(&reciprocity_sdk::random_member_id().unwrap(), "full", 1),
                )
            })
            .collect();
        let mut forged = txs[3].clone();
        forged.signature[10] ^= 1;
        let mut checks: Vec<_> = txs
            .iter()
            .cloned()
            .map(|tx| {
                let verifier = verifier.clone();
                tokio::spawn(async move { verifier.verify(tx).await })
            })
            .collect();
        checks.push(tokio::spawn({
            let verifier = verifier.clone();
            async move { verifier.verify(forged).await }
        }));
        let mut verdicts = Vec::new();
        for check in checks {
            verdicts.push(check.await.unwrap());
        }
        let (forged_back, forged_valid) = verdicts.pop().unwrap();
        assert!(!forged_valid, "a forged signature fails even inside a batch of valid ones");
        assert_eq!(forged_back.payload, txs[3].payload, "the transaction comes back");
        for ((back, valid), sent) in verdicts.iter().zip(&txs) {
            assert!(*valid);
            assert_eq!(back.encode_to_vec(), sent.encode_to_vec());
        }
    }
}
