//! The signed envelope: what is signed, how a transaction is identified, and
//! the one signature rule every node applies.
//!
//! - A signature covers [`SIGNING_DOMAIN`] followed by the exact payload bytes.
//! - The transaction id is SHA-256 of the payload bytes.
//! - The rule is [`verify_envelopes`] over a block's envelopes, and it is one
//!   function on every node. It rejects what `verify_strict` rejects cheaply
//!   (bad encodings, small-order keys, small-order `R`), then checks the rest
//!   as one batch; if the batch fails, each signature is checked with
//!   `verify_strict` on its own.
//!
//! For every signature an honest signer can produce (torsion-free `R` and
//! key) the verdict is exactly `verify_strict`'s. A crafted signature whose
//! `R` has a torsion component can pass the (cofactorless) batch equation
//! for some batch coefficients; ed25519-dalek derives those coefficients from
//! a transcript of the whole batch, so every node, checking the same block as
//! the same batch, reaches the same verdict: determinism holds, and such a
//! transaction is at most judged differently than a lone `verify_strict`
//! would. Keys with a torsion component cannot be enrolled ([`crate::ValidationCode::WeakKey`]).
//! Checking the batch in fixed, positional chunks (for parallelism) keeps
//! this property as long as every node uses the same chunking.

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::model::{PublicKey, TxId};

/// Domain tag prepended to the payload before signing.
pub const SIGNING_DOMAIN: &[u8] = b"reciprocity/tx/v1";

/// The transaction id: SHA-256 of the payload bytes.
pub fn tx_id(payload: &[u8]) -> TxId {
    TxId(Sha256::digest(payload).into())
}

/// The bytes an identity signs for `payload`.
pub fn signing_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_DOMAIN.len() + payload.len());
    message.extend_from_slice(SIGNING_DOMAIN);
    message.extend_from_slice(payload);
    message
}

/// A transaction whose signature passed the rule: the chaincode trusts `signer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTx {
    /// SHA-256 of `payload`.
    pub tx_id: TxId,
    /// The verified signer key.
    pub signer: PublicKey,
    /// The payload bytes exactly as signed.
    pub payload: Vec<u8>,
}

/// One transaction of a block, as handed to [`crate::apply_block`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockTx {
    /// The signature is valid.
    Verified(VerifiedTx),
    /// The signature (or the key's or signature's encoding) is invalid; the
    /// transaction stays in the block with code `BadSignature`.
    BadSignature {
        /// SHA-256 of the payload.
        tx_id: TxId,
    },
}

impl BlockTx {
    /// The transaction id.
    pub fn tx_id(&self) -> TxId {
        match self {
            BlockTx::Verified(tx) => tx.tx_id,
            BlockTx::BadSignature { tx_id } => *tx_id,
        }
    }
}

/// Borrowed parts of an envelope, as received.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeRef<'a> {
    /// Payload bytes.
    pub payload: &'a [u8],
    /// Signer key bytes (must be 32).
    pub signer: &'a [u8],
    /// Signature bytes (must be 64).
    pub signature: &'a [u8],
}

impl<'a> EnvelopeRef<'a> {
    /// The parts of a wire envelope.
    pub fn from_signed(tx: &'a reciprocity_proto::v1::SignedTx) -> EnvelopeRef<'a> {
        EnvelopeRef { payload: &tx.payload, signer: &tx.signer, signature: &tx.signature }
    }
}

/// Parsed key and signature, pre-filtered with the strict rule's cheap checks.
struct Candidate {
    key: VerifyingKey,
    signature: Signature,
    message: Vec<u8>,
}

/// Decoded signer keys of one batch: a block has few signers (each club's
/// staff keys), so each key is decompressed and checked once per batch.
type KeyCache = std::collections::BTreeMap<[u8; 32], Option<VerifyingKey>>;

fn signer_key(keys: &mut KeyCache, key_bytes: [u8; 32]) -> Option<VerifyingKey> {
    *keys
        .entry(key_bytes)
        .or_insert_with(|| VerifyingKey::from_bytes(&key_bytes).ok().filter(|key| !key.is_weak()))
}

fn candidate(envelope: &EnvelopeRef<'_>, keys: &mut KeyCache) -> Option<Candidate> {
    let key_bytes: [u8; 32] = envelope.signer.try_into().ok()?;
    let sig_bytes: [u8; 64] = envelope.signature.try_into().ok()?;
    let key = signer_key(keys, key_bytes)?;
    let signature = Signature::from_bytes(&sig_bytes);
    let r_bytes: [u8; 32] = sig_bytes[..32].try_into().expect("slice of 32");
    let r_point = curve25519_dalek::edwards::CompressedEdwardsY(r_bytes).decompress()?;
    if r_point.is_small_order() {
        return None;
    }
    Some(Candidate { key, signature, message: signing_message(envelope.payload) })
}

/// Checks one envelope with the strict rule.
pub fn verify_envelope(envelope: &EnvelopeRef<'_>) -> BlockTx {
    verify_envelopes(std::slice::from_ref(envelope)).pop().expect("one in, one out")
}

/// Checks a block's envelopes with the rule; results are in input order.
pub fn verify_envelopes(envelopes: &[EnvelopeRef<'_>]) -> Vec<BlockTx> {
    let mut keys = KeyCache::new();
    let candidates: Vec<Option<Candidate>> =
        envelopes.iter().map(|envelope| candidate(envelope, &mut keys)).collect();
    let batch: Vec<&Candidate> = candidates.iter().flatten().collect();
    let batch_ok = !batch.is_empty() && {
        let messages: Vec<&[u8]> = batch.iter().map(|c| c.message.as_slice()).collect();
        let signatures: Vec<Signature> = batch.iter().map(|c| c.signature).collect();
        let keys: Vec<VerifyingKey> = batch.iter().map(|c| c.key).collect();
        ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
    };
    envelopes
        .iter()
        .zip(&candidates)
        .map(|(envelope, candidate)| {
            let tx_id = tx_id(envelope.payload);
            let valid = match candidate {
                None => false,
                Some(_) if batch_ok => true,
                Some(c) => c.key.verify_strict(&c.message, &c.signature).is_ok(),
            };
            match (valid, candidate) {
                (true, Some(c)) => BlockTx::Verified(VerifiedTx {
                    tx_id,
                    signer: PublicKey(c.key.to_bytes()),
                    payload: envelope.payload.to_vec(),
                }),
                _ => BlockTx::BadSignature { tx_id },
            }
        })
        .collect()
}

/// Whether `bytes` is a usable key: a valid Ed25519 point of prime order
/// (neither small-order nor mixed-order).
pub(crate) fn key_check(bytes: &[u8]) -> Result<PublicKey, crate::ValidationCode> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| crate::ValidationCode::InvalidPublicKey)?;
    let key =
        VerifyingKey::from_bytes(&array).map_err(|_| crate::ValidationCode::InvalidPublicKey)?;
    let torsion_free = curve25519_dalek::edwards::CompressedEdwardsY(array)
        .decompress()
        .is_some_and(|point| point.is_torsion_free());
    if key.is_weak() || !torsion_free {
        return Err(crate::ValidationCode::WeakKey);
    }
    Ok(PublicKey(array))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(seed: u8, payload: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let sig = key.sign(&signing_message(payload));
        (key.verifying_key().to_bytes().to_vec(), sig.to_bytes().to_vec())
    }

    #[test]
    fn batch_accepts_good_and_isolates_bad_signatures() {
        let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
        let mut parts: Vec<(Vec<u8>, Vec<u8>)> =
            payloads.iter().enumerate().map(|(i, p)| signed(i as u8 + 1, p)).collect();
        parts[2].1[40] ^= 1; // corrupt one signature
        parts[4].0 = vec![0; 31]; // and one key length
        let envelopes: Vec<EnvelopeRef<'_>> = payloads
            .iter()
            .zip(&parts)
            .map(|(p, (k, s))| EnvelopeRef { payload: p, signer: k, signature: s })
            .collect();
        let verdicts = verify_envelopes(&envelopes);
        let ok: Vec<bool> = verdicts.iter().map(|v| matches!(v, BlockTx::Verified(_))).collect();
        assert_eq!(ok, [true, true, false, true, false]);
        assert_eq!(verdicts[2].tx_id(), tx_id(&payloads[2]));
    }

    #[test]
    fn signature_over_another_domain_is_rejected() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let payload = b"payload";
        let sig = key.sign(payload); // no domain tag
        let pk = key.verifying_key().to_bytes();
        let sig = sig.to_bytes();
        let verdict = verify_envelope(&EnvelopeRef { payload, signer: &pk, signature: &sig });
        assert!(matches!(verdict, BlockTx::BadSignature { .. }));
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (small order) encoded as a key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(key_check(&identity), Err(crate::ValidationCode::WeakKey));
        assert_eq!(key_check(&[1; 5]), Err(crate::ValidationCode::InvalidPublicKey));
        let good = SigningKey::from_bytes(&[3; 32]).verifying_key().to_bytes();
        assert!(key_check(&good).is_ok());
    }
}
