//! Foreseeing the ledger's verdict: a dry run of the chaincode over a
//! snapshot of this node's state refuses at once what the ledger will refuse,
//! so a caller hears "nothing was submitted" instead of waiting for a block;
//! and submission that is idempotent (a retry of a committed transaction
//! gets its receipt again).
//!
//! Owns nothing. Calls the ledger (one RocksDB snapshot per check), the
//! chaincode's `dry_run` and [`super::submit`]. Bounds: two dry runs per
//! submission, each one transaction.

use std::time::Duration;

use reciprocity_chaincode::{TxId, ValidationCode};
use reciprocity_proto::v1 as pb;

use super::node::NodeHandle;
use super::submit::Submitted;
use crate::clock::now_ms;
use crate::refusal::Refusal;

/// Whether a refusal with `code` depends on the transaction alone, so that
/// no other transaction and no later block time can lift it: the malformed
/// codes, but for those measured against the network's policy (which a
/// pending governance decision may change) or the clubs (a proposal with no
/// electorate), and an expired validity window.
pub fn refused_whatever_the_state(code: ValidationCode) -> bool {
    use ValidationCode as C;
    match code {
        C::ValidityWindowTooLong | C::VotingPeriodOutOfBounds | C::InvalidProposal => false,
        C::Expired => true,
        code => code.is_malformed(),
    }
}

impl NodeHandle {
    /// Submits `tx` and waits up to `timeout` for its commit, after
    /// [`NodeHandle::precheck`]; a transaction already committed answers
    /// with where (a retry after a lost answer).
    pub async fn submit_checked(
        &self,
        tx: pb::SignedTx,
        timeout: Duration,
    ) -> Result<(TxId, Submitted), Refusal> {
        let tx_id = reciprocity_chaincode::tx_id(&tx.payload);
        if let Ok(Some(location)) = self.inner.ledger.tx_location(&tx_id) {
            return Ok((tx_id, Submitted::Committed(location)));
        }
        let horizon_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.precheck(&tx, horizon_ms)?;
        self.submit(tx, true, timeout).await
    }

    /// Refuses, with the ledger's own code, a transaction that the ledger
    /// will refuse: a dry run of the chaincode over a snapshot of this
    /// node's state ([`reciprocity_chaincode::dry_run`]), the signature
    /// taken as valid (admission checks it).
    ///
    /// Only what this node can foresee is refused here. A refusal that
    /// depends on the transaction alone (malformed, expired, terms that do
    /// not add up) always is. One that depends on the ledger's state or the
    /// block's time (an unknown member, a quota, a closed proposal) is
    /// refused only when the node is settled ([`NodeHandle::is_settled`]:
    /// nothing in flight that could change it) and a dry run at the end of
    /// `horizon_ms` (the caller's commit wait) refuses it too (a day, month or year boundary may
    /// come first). Anything else, and a dry run that cannot decide, goes to
    /// the ledger, whose block has the last word.
    pub fn precheck(&self, tx: &pb::SignedTx, horizon_ms: u64) -> Result<(), Refusal> {
        use reciprocity_chaincode::{BlockContext, BlockTx, PublicKey, ValidationCode, VerifiedTx};
        // A malformed signer is for admission to name.
        let Some(signer) = PublicKey::from_slice(&tx.signer) else { return Ok(()) };
        let verified = BlockTx::Verified(VerifiedTx {
            tx_id: reciprocity_chaincode::tx_id(&tx.payload),
            signer,
            payload: tx.payload.clone(),
        });
        let ledger = &self.inner.ledger;
        let view = ledger.snapshot();
        let Ok(position) = reciprocity_chaincode::chain_position(&view) else { return Ok(()) };
        let dry_run_at = |timestamp_ms: u64| {
            let ctx = BlockContext {
                chain_id: ledger.chain_id().to_owned(),
                height: position.height + 1,
                timestamp_ms,
            };
            match reciprocity_chaincode::dry_run(&view, &ctx, &verified) {
                Ok(outcome) => Some(outcome.code),
                Err(error) => {
                    tracing::debug!(%error, "dry run undecided; the ledger will judge");
                    None
                }
            }
        };
        let now = now_ms().max(position.time_ms);
        let Some(code) = dry_run_at(now) else { return Ok(()) };
        // A duplicate is for admission to name (this node may not have
        // indexed where the first copy went).
        if code.is_ok() || code == ValidationCode::DuplicateTx {
            return Ok(());
        }
        if !refused_whatever_the_state(code) {
            let later = now.saturating_add(horizon_ms);
            if !self.is_settled() || dry_run_at(later) != Some(code) {
                return Ok(());
            }
        }
        Err(Refusal::Invalid {
            code,
            message: format!(
                "the ledger at height {} refuses it; nothing was submitted",
                position.height
            ),
        })
    }
}
