//! Decoding what nodes send back: envelopes, payloads, ids, codes.

use prost::Message;
use reciprocity_chaincode::{BlockTx, EnvelopeRef, TxId, ValidationCode};
use reciprocity_proto::v1 as wire;

use crate::{Result, SdkError};

/// Decodes an encoded `SignedTx`.
pub fn signed_tx(bytes: &[u8]) -> Result<wire::SignedTx> {
    wire::SignedTx::decode(bytes)
        .map_err(|e| SdkError::Decode { what: "SignedTx", reason: e.to_string() })
}

/// Decodes the payload of an envelope.
pub fn payload(tx: &wire::SignedTx) -> Result<wire::TxPayload> {
    wire::TxPayload::decode(tx.payload.as_slice())
        .map_err(|e| SdkError::Decode { what: "TxPayload", reason: e.to_string() })
}

/// The transaction id (SHA-256 of the payload bytes).
pub fn tx_id(tx: &wire::SignedTx) -> TxId {
    reciprocity_chaincode::tx_id(&tx.payload)
}

/// Whether the envelope's signature passes the network's signature rule.
pub fn verify(tx: &wire::SignedTx) -> bool {
    let envelope = EnvelopeRef::from_signed(tx);
    matches!(reciprocity_chaincode::verify_envelope(&envelope), BlockTx::Verified(_))
}

/// The validation code with this number.
pub fn code(number: u32) -> Option<ValidationCode> {
    ValidationCode::from_number(number)
}
