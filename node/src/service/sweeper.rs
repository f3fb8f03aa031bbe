//! The orphaned-profile sweeper: a member's profile is stored before its
//! on-chain registration is submitted, so a node stopped in between (or a
//! registration that never committed) leaves a profile pending; past its
//! deadline the sweeper marks it registered when the member is on the
//! ledger, and removes it when not.
//!
//! Owns nothing. Calls the club's records and the ledger. Bounds: at most
//! 1,000 profiles per sweep, one sweep per `api.orphan_sweep_ms`.

use reciprocity_chaincode::MemberId;

use super::node::NodeHandle;
use crate::clock::now_ms;
use crate::records::{Records, RecordsError};

/// Why one sweep stopped (logged; the next sweep tries again).
#[derive(Debug, thiserror::Error)]
enum SweepError {
    #[error("the club's records: {0}")]
    Records(#[from] RecordsError),
    #[error("reading the ledger: {0}")]
    Ledger(#[from] reciprocity_chaincode::ChaincodeError),
}

/// When a profile whose registration was signed at `created_ms` becomes an
/// orphan if its member is not on the ledger: the transaction has expired
/// by then (with a minute to spare), so it can never commit later.
pub fn orphan_after_ms(created_ms: u64) -> u64 {
    created_ms + reciprocity_sdk::tx::VALIDITY_MS_DEFAULT + 60_000
}

/// Profiles looked at per sweep.
const ORPHAN_SWEEP_BATCH_MAX: u32 = 1_000;

/// Resolves profiles still pending past their deadline (the node stopped
/// between storing a profile and seeing its registration commit): those
/// whose member is on the ledger are marked registered, the others
/// removed. Runs until the node stops.
pub async fn sweep_orphan_profiles(node: NodeHandle) {
    let every = std::time::Duration::from_millis(node.config().api.orphan_sweep_ms);
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        let Some(store) = node.index_store().map(Records::new) else { continue };
        if let Err(error) = sweep_once(&node, &store).await {
            tracing::warn!(%error, "orphaned profile sweep failed; will retry");
        }
    }
}

async fn sweep_once(node: &NodeHandle, store: &Records) -> Result<(), SweepError> {
    // Judged by the ledger's own time: a node catching up after downtime
    // has not yet seen blocks that may hold these registrations.
    let chain_time_ms = {
        let view = node.ledger().state();
        reciprocity_chaincode::chain_position(&view)?.time_ms
    };
    let ids =
        store.profiles_pending_past(now_ms().min(chain_time_ms), ORPHAN_SWEEP_BATCH_MAX).await?;
    if ids.is_empty() {
        return Ok(());
    }
    let (registered, orphans): (Vec<String>, Vec<String>) = {
        let view = node.ledger().state();
        let mut registered = Vec::new();
        let mut orphans = Vec::new();
        for id in ids {
            let on_ledger = MemberId::from_hex(&id)
                .map(|m| reciprocity_chaincode::query::member(&view, &m))
                .transpose()?
                .flatten()
                .is_some();
            if on_ledger { registered.push(id) } else { orphans.push(id) }
        }
        (registered, orphans)
    };
    store.profiles_mark_registered(&registered).await?;
    store.profiles_delete(&orphans).await?;
    if !orphans.is_empty() {
        tracing::warn!(
            removed = orphans.len(),
            "removed profiles whose registration never committed"
        );
    }
    Ok(())
}
