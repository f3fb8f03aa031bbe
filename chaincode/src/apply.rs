//! `apply_block`: the one entry point that changes state.
//!
//! For each block: check the context against the chain position (height + 1,
//! time not going backwards), run the begin-block work (prune expired
//! transaction ids, close proposals whose end time has come), apply each
//! transaction in order, then write the block's changes to the store in key
//! order together with the new chain position and state hash.

use reciprocity_proto::v1 as pb;

use crate::ValidationCode;
use crate::context::BlockContext;
use crate::decode;
use crate::envelope::BlockTx;
use crate::error::{ChaincodeError, Result};
use crate::event::Event;
use crate::hash::{STATE_HASH_EMPTY, next_state_hash};
use crate::keys;
use crate::model::{Policy, TxId};
use crate::rules::{self, Reject, TxCtx, governance};
use crate::state::{encode, load};
use crate::store::{Overlay, StateRead, StateStore};

/// The latest block time the chaincode accepts: the end of 9999-12-31 UTC.
/// Bounding it keeps every `time + period` sum far from overflow.
pub const TIMESTAMP_MS_MAX: u64 =
    (crate::calendar::DAY_MAX as u64 + 1) * crate::calendar::DAY_MS - 1;

/// Most expired transaction ids pruned per block (the rest wait for later blocks).
pub const TX_IDS_PRUNED_PER_BLOCK_MAX: usize = 4096;

/// The outcome of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    /// The transaction id.
    pub tx_id: TxId,
    /// Validation code; only `Ok` changed state.
    pub code: ValidationCode,
    /// What it did.
    pub events: Vec<Event>,
}

impl TxOutcome {
    /// The wire form.
    pub fn to_proto(&self) -> pb::TxResult {
        pb::TxResult {
            tx_id: self.tx_id.0.to_vec(),
            code: self.code.number(),
            code_name: self.code.name().to_owned(),
            events: self.events.iter().map(Event::to_proto).collect(),
        }
    }
}

/// The outcome of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutcome {
    /// One result per transaction, in block order.
    pub results: Vec<TxOutcome>,
    /// Events of the block itself (proposals closing at their end time).
    pub block_events: Vec<Event>,
    /// State hash after the block.
    pub state_hash: [u8; 32],
    /// Number of keys written or deleted (excluding chain position).
    pub writes: usize,
}

/// Where the chain stands in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainPosition {
    /// Height of the last applied block (0 when none).
    pub height: u64,
    /// Timestamp of the last applied block (0 when none).
    pub time_ms: u64,
    /// State hash after the last applied block.
    pub state_hash: [u8; 32],
}

/// The chain position recorded in `view`.
pub fn chain_position(view: &dyn StateRead) -> Result<ChainPosition> {
    let height = load::<u64>(view, keys::META_HEIGHT)?.unwrap_or(0);
    let time_ms = load::<u64>(view, keys::META_TIME_MS)?.unwrap_or(0);
    let state_hash = load::<[u8; 32]>(view, keys::META_STATE_HASH)?.unwrap_or(STATE_HASH_EMPTY);
    Ok(ChainPosition { height, time_ms, state_hash })
}

/// Applies a block of transactions (already signature-checked) to `store`.
///
/// Errors mean nothing could be decided: the store failed, the state is
/// corrupt, or the context breaks the chain (height gap, time going back).
/// On error the store may hold none of the block's writes or, if the store
/// itself failed mid-way, some: callers back the store with a write batch
/// and discard it on error.
pub fn apply_block<S: StateStore>(
    store: &mut S,
    ctx: &BlockContext,
    txs: &[BlockTx],
) -> Result<BlockOutcome> {
    let position = chain_position(store)?;
    if ctx.height != position.height + 1 {
        return Err(ChaincodeError::InvalidBlockContext(format!(
            "height {} does not follow {}",
            ctx.height, position.height
        )));
    }
    if ctx.timestamp_ms > TIMESTAMP_MS_MAX {
        return Err(ChaincodeError::InvalidBlockContext(format!(
            "block time {} ms is after 9999-12-31",
            ctx.timestamp_ms
        )));
    }
    if ctx.timestamp_ms < position.time_ms {
        return Err(ChaincodeError::InvalidBlockContext(format!(
            "block time {} ms is before the previous block's {} ms",
            ctx.timestamp_ms, position.time_ms
        )));
    }
    let mut block_events = Vec::new();
    let (results, writes) = {
        let mut overlay = Overlay::new(&*store);
        prune_tx_ids(&mut overlay, ctx.timestamp_ms)?;
        governance::close_due(&mut overlay, ctx.timestamp_ms, ctx.height, &mut block_events)?;
        overlay.commit_tx();
        let mut results = Vec::with_capacity(txs.len());
        for tx in txs {
            results.push(apply_tx(&mut overlay, ctx, tx)?);
        }
        (results, overlay.into_writes())
    };
    let state_hash = next_state_hash(&position.state_hash, ctx.height, &writes);
    for (key, value) in &writes {
        assert!(!key.starts_with(keys::META_PREFIX), "rules must not write chain position keys");
        match value {
            Some(value) => store.put(key, value)?,
            None => store.delete(key)?,
        }
    }
    store.put(keys::META_HEIGHT, &encode(&ctx.height))?;
    store.put(keys::META_TIME_MS, &encode(&ctx.timestamp_ms))?;
    store.put(keys::META_STATE_HASH, &encode(&state_hash))?;
    Ok(BlockOutcome { results, block_events, state_hash, writes: writes.len() })
}

/// What applying `tx` first in a block with context `ctx` would answer,
/// without writing anything: how a node refuses at once what the ledger
/// would refuse anyway. The block's begin work (pruning expired ids,
/// closing proposals whose end time has come) is done first, on a throwaway
/// layer, exactly as [`apply_block`] does it. A later block may still
/// decide otherwise (others' transactions come first, time moves on).
pub fn dry_run(view: &dyn StateRead, ctx: &BlockContext, tx: &BlockTx) -> Result<TxOutcome> {
    let position = chain_position(view)?;
    if ctx.height != position.height + 1 || ctx.timestamp_ms < position.time_ms {
        return Err(ChaincodeError::InvalidBlockContext(format!(
            "a dry run at height {} and {} ms does not follow height {} at {} ms",
            ctx.height, ctx.timestamp_ms, position.height, position.time_ms
        )));
    }
    let mut overlay = Overlay::new(view);
    prune_tx_ids(&mut overlay, ctx.timestamp_ms)?;
    governance::close_due(&mut overlay, ctx.timestamp_ms, ctx.height, &mut Vec::new())?;
    overlay.commit_tx();
    apply_tx(&mut overlay, ctx, tx)
}

/// Forgets used transaction ids whose expiry has passed: such a transaction
/// is refused as `Expired` before the duplicate check.
fn prune_tx_ids(overlay: &mut Overlay<'_>, now_ms: u64) -> Result<()> {
    let expired = crate::store::leading_keys_while(
        overlay,
        keys::TX_EXPIRY_PREFIX,
        TX_IDS_PRUNED_PER_BLOCK_MAX,
        |key| {
            keys::number_after(keys::TX_EXPIRY_PREFIX, key).expect("txexp key has an expiry")
                < now_ms
        },
    )?;
    for key in expired {
        let id = keys::trailing_tx_id(&key).expect("txexp key has a tx id");
        overlay.delete(keys::tx_used(&id));
        overlay.delete(key);
    }
    Ok(())
}

fn outcome(tx_id: TxId, code: ValidationCode, events: Vec<Event>) -> TxOutcome {
    TxOutcome { tx_id, code, events }
}

fn apply_tx(overlay: &mut Overlay<'_>, ctx: &BlockContext, tx: &BlockTx) -> Result<TxOutcome> {
    let verified = match tx {
        BlockTx::BadSignature { tx_id } => {
            return Ok(outcome(*tx_id, ValidationCode::BadSignature, Vec::new()));
        }
        BlockTx::Verified(verified) => verified,
    };
    let tx_id = verified.tx_id;
    let refuse = |code| Ok(outcome(tx_id, code, Vec::new()));
    let payload = match decode::payload(&verified.payload) {
        Ok(payload) => payload,
        Err(code) => return refuse(code),
    };
    if payload.chain_id != ctx.chain_id {
        return refuse(ValidationCode::WrongChain);
    }
    let Some(body) = payload.body.as_ref() else {
        return refuse(ValidationCode::MissingBody);
    };
    if ctx.timestamp_ms > payload.expires_at_ms {
        return refuse(ValidationCode::Expired);
    }
    if let Some(policy) = load::<Policy>(overlay, keys::POLICY)? {
        if payload.created_at_ms > ctx.timestamp_ms.saturating_add(policy.clock_skew_ms_max) {
            return refuse(ValidationCode::NotYetValid);
        }
        let window_ok = payload.expires_at_ms >= payload.created_at_ms
            && payload.expires_at_ms - payload.created_at_ms <= policy.tx_validity_ms_max;
        if !window_ok {
            return refuse(ValidationCode::ValidityWindowTooLong);
        }
    }
    if overlay.get(&keys::tx_used(&tx_id))?.is_some() {
        return refuse(ValidationCode::DuplicateTx);
    }
    // From here on the id is used, whatever the body's fate.
    overlay.put(keys::tx_used(&tx_id), encode(&payload.expires_at_ms));
    overlay.put(keys::tx_expiry(payload.expires_at_ms, &tx_id), Vec::new());
    overlay.commit_tx();

    let body = match decode::body(body) {
        Ok(body) => body,
        Err(code) => return refuse(code),
    };
    let cx = TxCtx { block: ctx, tx_id, signer: verified.signer };
    let mut events = Vec::new();
    match rules::execute(overlay, &cx, body, &mut events) {
        Ok(()) => {
            overlay.commit_tx();
            Ok(outcome(tx_id, ValidationCode::Ok, events))
        }
        Err(Reject::Invalid(code)) => {
            assert!(!code.is_ok(), "a rejection carries a failure code");
            overlay.rollback_tx();
            refuse(code)
        }
        Err(Reject::Fatal(error)) => Err(error),
    }
}
