//! Logging in to a node's REST API with an identity key: the node hands out
//! a random challenge (`POST /v1/auth/challenge`), the client signs
//! [`challenge_message`] with its key and sends the signature
//! (`POST /v1/auth/key-login`). The message is domain-separated from
//! transaction signatures, so a login signature can never pass as a
//! transaction and the other way round.

use ed25519_dalek::{Signature, VerifyingKey};
use reciprocity_chaincode::PublicKey;

use crate::keys::Keypair;

/// Domain tag of key-login messages.
pub const AUTH_DOMAIN: &str = "reciprocity/auth/v1";

/// The bytes a key signs to answer `challenge` on the chain `chain_id`:
/// `reciprocity/auth/v1\n<chain id>\n<challenge hex>`.
pub fn challenge_message(chain_id: &str, challenge: &[u8; 32]) -> Vec<u8> {
    format!("{AUTH_DOMAIN}\n{chain_id}\n{}", hex::encode(challenge)).into_bytes()
}

/// Signs the answer to `challenge` (the signature, as the API takes it in hex).
pub fn sign_challenge(key: &Keypair, chain_id: &str, challenge: &[u8; 32]) -> [u8; 64] {
    key.sign_bytes(&challenge_message(chain_id, challenge))
}

/// Whether `signature` is `key`'s strict Ed25519 signature of `message`.
pub fn verify(key: &PublicKey, message: &[u8], signature: &[u8; 64]) -> bool {
    VerifyingKey::from_bytes(key.as_bytes())
        .is_ok_and(|k| k.verify_strict(message, &Signature::from_bytes(signature)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_signature_verifies_only_for_its_chain_and_key() {
        let key = Keypair::from_seed([3; 32]);
        let challenge = [9u8; 32];
        let signature = sign_challenge(&key, "chain-a", &challenge);
        assert!(verify(&key.public_key(), &challenge_message("chain-a", &challenge), &signature));
        assert!(!verify(&key.public_key(), &challenge_message("chain-b", &challenge), &signature));
        let other = Keypair::from_seed([4; 32]);
        assert!(!verify(
            &other.public_key(),
            &challenge_message("chain-a", &challenge),
            &signature
        ));
    }
}
