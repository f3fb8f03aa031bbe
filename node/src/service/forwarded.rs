//! Leader-side admission of forwarded transactions: a follower's batch is
//! decoded, its signatures checked again as one batch, each transaction
//! admitted against the leader's state and queued in its mempool.
//!
//! Owns nothing. Calls admission, the verifier and the mempool. Bounds: at
//! most `limits.block_txs_max` transactions per request (the rest are
//! answered "busy"), each within `limits.tx_bytes_max`; the work runs off the
//! async workers.

use prost::Message;
use reciprocity_chaincode::ValidationCode;
use reciprocity_proto::v1 as pb;

use super::admission;
use super::node::{Leader, NodeHandle};
use crate::network::PeerResponse;
use crate::refusal::Refusal;

impl NodeHandle {
    /// On the leader: admits forwarded transactions into the mempool (at
    /// most `block_txs_max` per request; signature checks off the async
    /// workers).
    pub(super) async fn accept_forwarded(&self, txs: Vec<serde_bytes::ByteBuf>) -> PeerResponse {
        // More than a block's worth: the rest are "busy" and come again.
        let txs_max = self.inner.config.limits.block_txs_max;
        let mut txs = txs;
        let overflow = txs.len().saturating_sub(txs_max);
        txs.truncate(txs_max);
        let node = self.clone();
        match tokio::task::spawn_blocking(move || node.admit_forwarded(txs)).await {
            Ok(PeerResponse::Forwarded(mut verdicts)) => {
                let max = self.inner.config.limits.mempool_txs_max;
                verdicts.extend((0..overflow).map(|_| Err(Refusal::Busy { max })));
                PeerResponse::Forwarded(verdicts)
            }
            Ok(response) => response,
            Err(error) => PeerResponse::Declined(format!("admission failed: {error}")),
        }
    }

    fn admit_forwarded(&self, txs: Vec<serde_bytes::ByteBuf>) -> PeerResponse {
        match self.leader() {
            Leader::Me => {}
            Leader::Cut { ms } => {
                return PeerResponse::Declined(format!(
                    "no majority has acknowledged this leader for {ms} ms"
                ));
            }
            Leader::Other(..) | Leader::Unknown => {
                return PeerResponse::Declined("this node is not the leader".to_owned());
            }
        }
        let inner = &self.inner;
        let tx_bytes_max = inner.config.limits.tx_bytes_max;
        let decoded: Vec<std::result::Result<pb::SignedTx, Refusal>> = txs
            .into_iter()
            .map(|bytes| {
                if bytes.len() > tx_bytes_max {
                    return Err(Refusal::TooLarge { bytes: bytes.len(), max: tx_bytes_max });
                }
                pb::SignedTx::decode(bytes.as_slice()).map_err(|e| Refusal::Invalid {
                    code: ValidationCode::MalformedPayload,
                    message: format!("forwarded transaction does not decode: {e}"),
                })
            })
            .collect();
        // The forwarding peer checked the signatures; checked again here, as
        // one batch, so that a faulty peer cannot queue a forged copy of a
        // payload ahead of its honest one.
        let mut signatures_valid =
            super::verifier::signatures_valid(decoded.iter().flatten()).into_iter();
        let ctx = self.admission_context(false);
        let state = inner.ledger.state();
        let verdicts = decoded
            .into_iter()
            .map(|decoded| {
                let tx = decoded?;
                if !signatures_valid.next().expect("one verdict per decoded transaction") {
                    return Err(admission::bad_signature());
                }
                let tx_id =
                    admission::admit(&tx, &state, |id| inner.mempool.contains(id), &ctx)?.tx_id;
                self.queue_locally(tx_id, tx)
            })
            .collect();
        PeerResponse::Forwarded(verdicts)
    }
}
