//! Admission: what a transaction must pass before it may wait in the mempool.
//! The checks mirror the chaincode's envelope rules so that clients learn
//! about a hopeless transaction at once; the chaincode checks again, on every
//! node, when the block is applied.

use prost::Message;
use reciprocity_chaincode::{
    BlockTx, EnvelopeRef, StateRead, TxId, ValidationCode, query, verify_envelope,
};
use reciprocity_proto::v1 as pb;

use crate::refusal::Refusal;

fn invalid(code: ValidationCode, message: impl Into<String>) -> Refusal {
    Refusal::Invalid { code, message: message.into() }
}

/// The refusal of a transaction whose signature does not verify.
pub fn bad_signature() -> Refusal {
    invalid(ValidationCode::BadSignature, "the signature does not verify for the signer key")
}

/// What admission needs to know.
#[derive(Debug)]
pub struct AdmissionContext<'a> {
    /// The network's chain id.
    pub chain_id: &'a str,
    /// The node's clock (Unix ms).
    pub now_ms: u64,
    /// Largest encoded transaction.
    pub tx_bytes_max: usize,
    /// Whether to check the signature here, one at a time with the strict
    /// rule. The node checks submissions and forwarded transactions in
    /// batches instead (`verifier`, `admit_forwarded`) and sets this false.
    pub check_signature: bool,
}

/// What admission learned of an admitted transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// Its id.
    pub tx_id: TxId,
    /// When its validity window ends (Unix ms).
    pub expires_at_ms: u64,
}

/// Checks a transaction; on success says what it is.
pub fn admit(
    tx: &pb::SignedTx,
    state: &dyn StateRead,
    already_known: impl Fn(&TxId) -> bool,
    ctx: &AdmissionContext<'_>,
) -> Result<Admitted, Refusal> {
    let bytes = tx.encoded_len();
    if bytes > ctx.tx_bytes_max {
        return Err(Refusal::TooLarge { bytes, max: ctx.tx_bytes_max });
    }
    let payload = pb::TxPayload::decode(tx.payload.as_slice())
        .map_err(|e| invalid(ValidationCode::MalformedPayload, e.to_string()))?;
    if payload.chain_id != ctx.chain_id {
        return Err(invalid(
            ValidationCode::WrongChain,
            format!(
                "payload names chain {:?}, this network is {:?}",
                payload.chain_id, ctx.chain_id
            ),
        ));
    }
    if payload.body.is_none() {
        return Err(invalid(ValidationCode::MissingBody, "the payload carries no body"));
    }
    if ctx.now_ms > payload.expires_at_ms {
        return Err(invalid(
            ValidationCode::Expired,
            format!("expired at {} ms, now {} ms", payload.expires_at_ms, ctx.now_ms),
        ));
    }
    let policy = query::policy(state)
        .map_err(|e| invalid(ValidationCode::GenesisRequired, e.to_string()))?;
    if let Some(policy) = policy {
        if payload.created_at_ms > ctx.now_ms.saturating_add(policy.clock_skew_ms_max) {
            return Err(invalid(
                ValidationCode::NotYetValid,
                "created in the future beyond the allowed clock skew",
            ));
        }
        let window_ok = payload.expires_at_ms >= payload.created_at_ms
            && payload.expires_at_ms - payload.created_at_ms <= policy.tx_validity_ms_max;
        if !window_ok {
            return Err(invalid(
                ValidationCode::ValidityWindowTooLong,
                format!(
                    "validity window exceeds tx_validity_ms_max = {} ms",
                    policy.tx_validity_ms_max
                ),
            ));
        }
    }
    let envelope = EnvelopeRef::from_signed(tx);
    let tx_id = if ctx.check_signature {
        match verify_envelope(&envelope) {
            BlockTx::Verified(verified) => verified.tx_id,
            BlockTx::BadSignature { .. } => return Err(bad_signature()),
        }
    } else {
        if tx.signer.len() != 32 || tx.signature.len() != 64 {
            return Err(invalid(
                ValidationCode::BadSignature,
                "the signer key must be 32 bytes and the signature 64",
            ));
        }
        reciprocity_chaincode::tx_id(&tx.payload)
    };
    let used = query::tx_used(state, &tx_id)
        .map_err(|e| invalid(ValidationCode::DuplicateTx, e.to_string()))?;
    if used || already_known(&tx_id) {
        return Err(invalid(
            ValidationCode::DuplicateTx,
            format!("transaction {tx_id} was already submitted"),
        ));
    }
    Ok(Admitted { tx_id, expires_at_ms: payload.expires_at_ms })
}
