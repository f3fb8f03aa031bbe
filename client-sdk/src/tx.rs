//! Building and signing transactions.
//!
//! A [`TxBuilder`] holds what every payload carries (chain id, creation time,
//! validity window, nonce); [`body`] has one constructor per transaction kind.
//! Signing encodes the payload once and signs `"reciprocity/tx/v1" || bytes`.

use std::sync::atomic::{AtomicU64, Ordering};

use prost::Message;
use reciprocity_proto::v1 as wire;

use crate::keys::Keypair;

/// Default validity window of a transaction: 10 minutes.
pub const VALIDITY_MS_DEFAULT: u64 = 10 * 60 * 1000;

/// Common fields of the payloads a client builds.
#[derive(Debug, Clone)]
pub struct TxBuilder {
    chain_id: String,
    created_at_ms: u64,
    validity_ms: u64,
    nonce: Option<u64>,
}

/// Process-wide nonce source: random start, then counting, so two payloads
/// built by one process never share a nonce.
fn next_nonce() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if NEXT.load(Ordering::Relaxed) == 0 {
        let seed = crate::random_bytes::<8>().map(u64::from_le_bytes).unwrap_or(1) | 1;
        let _ = NEXT.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl TxBuilder {
    /// Payloads for `chain_id`, created at `created_at_ms`.
    pub fn new(chain_id: impl Into<String>, created_at_ms: u64) -> TxBuilder {
        TxBuilder {
            chain_id: chain_id.into(),
            created_at_ms,
            validity_ms: VALIDITY_MS_DEFAULT,
            nonce: None,
        }
    }

    /// Payloads for `chain_id`, created now (system clock).
    pub fn now(chain_id: impl Into<String>) -> TxBuilder {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        TxBuilder::new(chain_id, now_ms)
    }

    /// Sets the validity window (expiry = creation + window).
    #[must_use]
    pub fn validity_ms(mut self, validity_ms: u64) -> TxBuilder {
        self.validity_ms = validity_ms;
        self
    }

    /// Sets an explicit nonce (otherwise each payload gets a fresh one).
    #[must_use]
    pub fn nonce(mut self, nonce: u64) -> TxBuilder {
        self.nonce = Some(nonce);
        self
    }

    /// Sets the creation time.
    #[must_use]
    pub fn created_at_ms(mut self, created_at_ms: u64) -> TxBuilder {
        self.created_at_ms = created_at_ms;
        self
    }

    /// The payload with `body`.
    pub fn payload(&self, body: wire::tx_payload::Body) -> wire::TxPayload {
        wire::TxPayload {
            chain_id: self.chain_id.clone(),
            nonce: self.nonce.unwrap_or_else(next_nonce),
            created_at_ms: self.created_at_ms,
            expires_at_ms: self.created_at_ms.saturating_add(self.validity_ms),
            body: Some(body),
        }
    }

    /// The payload with `body`, signed by `key`.
    pub fn sign(&self, key: &Keypair, body: wire::tx_payload::Body) -> wire::SignedTx {
        sign_payload(key, &self.payload(body))
    }
}

/// Encodes `payload` once and signs the bytes.
pub fn sign_payload(key: &Keypair, payload: &wire::TxPayload) -> wire::SignedTx {
    sign_payload_bytes(key, payload.encode_to_vec())
}

/// Signs already-encoded payload bytes as they are.
pub fn sign_payload_bytes(key: &Keypair, payload: Vec<u8>) -> wire::SignedTx {
    let signature = key.sign_bytes(&reciprocity_chaincode::signing_message(&payload));
    wire::SignedTx { payload, signer: key.public_key().0.to_vec(), signature: signature.to_vec() }
}

/// One constructor per transaction kind.
pub mod body {
    use reciprocity_chaincode::{CardKeyId, MemberId, PublicKey, TxId};
    use reciprocity_proto::v1 as wire;
    use wire::create_proposal::Action;
    use wire::tx_payload::Body;

    /// Genesis: founding clubs and policy.
    pub fn genesis(clubs: Vec<wire::ClubSpec>, policy: wire::Policy) -> Body {
        Body::Genesis(wire::Genesis { clubs, policy: Some(policy) })
    }

    /// Enroll an identity of the signer's club.
    pub fn enroll_identity(key: &PublicKey, roles: &[wire::Role]) -> Body {
        Body::EnrollIdentity(wire::EnrollIdentity {
            public_key: key.0.to_vec(),
            roles: roles.iter().map(|r| *r as i32).collect(),
        })
    }

    /// Revoke an identity of the signer's club.
    pub fn revoke_identity(key: &PublicKey) -> Body {
        Body::RevokeIdentity(wire::RevokeIdentity { public_key: key.0.to_vec() })
    }

    /// Register a member of the signer's club.
    pub fn register_member(member: &MemberId, tier: &str, valid_until_day: u32) -> Body {
        Body::RegisterMember(wire::RegisterMember {
            member_id: member.0.to_vec(),
            tier: tier.to_owned(),
            valid_until_day,
        })
    }

    /// Change a member's status, tier or validity (`None` leaves it).
    pub fn update_member(
        member: &MemberId,
        status: Option<wire::MemberStatus>,
        tier: Option<&str>,
        valid_until_day: Option<u32>,
    ) -> Body {
        Body::UpdateMember(wire::UpdateMember {
            member_id: member.0.to_vec(),
            status: status.map_or(0, |s| s as i32),
            tier: tier.map(str::to_owned),
            valid_until_day,
        })
    }

    /// Offer terms to `counterparty`.
    pub fn propose_agreement(counterparty: &str, terms: &wire::AgreementTerms) -> Body {
        propose_agreement_bytes(counterparty, crate::terms::encode(terms))
    }

    /// Offer already-encoded terms to `counterparty`.
    pub fn propose_agreement_bytes(counterparty: &str, terms: Vec<u8>) -> Body {
        Body::ProposeAgreement(wire::ProposeAgreement {
            counterparty_club: counterparty.to_owned(),
            terms,
        })
    }

    /// Offer amended terms to `counterparty`.
    pub fn amend_agreement(counterparty: &str, terms: &wire::AgreementTerms) -> Body {
        Body::AmendAgreement(wire::AmendAgreement {
            counterparty_club: counterparty.to_owned(),
            terms: crate::terms::encode(terms),
        })
    }

    /// Accept `counterparty`'s pending offer by its terms hash.
    pub fn accept_agreement(counterparty: &str, terms_hash: [u8; 32]) -> Body {
        Body::AcceptAgreement(wire::AcceptAgreement {
            counterparty_club: counterparty.to_owned(),
            terms_hash: terms_hash.to_vec(),
        })
    }

    /// Suspend the agreement with `counterparty` (this side).
    pub fn suspend_agreement(counterparty: &str) -> Body {
        Body::SuspendAgreement(wire::SuspendAgreement {
            counterparty_club: counterparty.to_owned(),
        })
    }

    /// Lift this side's suspension.
    pub fn resume_agreement(counterparty: &str) -> Body {
        Body::ResumeAgreement(wire::ResumeAgreement { counterparty_club: counterparty.to_owned() })
    }

    /// Terminate with the notice of the terms in effect.
    pub fn terminate_agreement(counterparty: &str) -> Body {
        Body::TerminateAgreement(wire::TerminateAgreement {
            counterparty_club: counterparty.to_owned(),
        })
    }

    /// Introduce a member of the signer's club to `host`.
    pub fn issue_introduction(
        member: &MemberId,
        host: &str,
        from_day: u32,
        until_day: u32,
    ) -> Body {
        Body::IssueIntroduction(wire::IssueIntroduction {
            member_id: member.0.to_vec(),
            host_club: host.to_owned(),
            valid_from_day: from_day,
            valid_until_day: until_day,
        })
    }

    /// Record a visit at the signer's club.
    pub fn record_visit(member: &MemberId, guests: u32) -> Body {
        Body::RecordVisit(wire::RecordVisit { member_id: member.0.to_vec(), guests })
    }

    /// Void a visit recorded by the signer's club.
    pub fn void_visit(visit_id: &TxId) -> Body {
        Body::VoidVisit(wire::VoidVisit { visit_id: visit_id.0.to_vec() })
    }

    /// Open a vote.
    pub fn create_proposal(voting_period_ms: u64, action: Action) -> Body {
        Body::CreateProposal(wire::CreateProposal { voting_period_ms, action: Some(action) })
    }

    /// Cast (or replace) the signer's club's vote.
    pub fn cast_vote(proposal_id: &TxId, choice: wire::VoteChoice) -> Body {
        Body::CastVote(wire::CastVote {
            proposal_id: proposal_id.0.to_vec(),
            choice: choice as i32,
        })
    }

    /// Enroll `card_key` as club `club`'s card-issuing key on chain
    /// `chain_id` (retiring the current one), with the key's proof of
    /// possession; the signer must be an admin of `club`.
    pub fn enroll_card_key(
        card_key: &crate::keys::Keypair,
        chain_id: &str,
        club: &reciprocity_chaincode::ClubId,
    ) -> Body {
        let public_key = card_key.public_key();
        let message =
            reciprocity_chaincode::card_key_possession_message(chain_id, club, &public_key);
        Body::EnrollCardKey(wire::EnrollCardKey {
            public_key: public_key.0.to_vec(),
            possession_signature: card_key.sign_bytes(&message).to_vec(),
        })
    }

    /// Revoke one of the signer's club's card keys (every card it signed is refused).
    pub fn revoke_card_key(key: &PublicKey) -> Body {
        Body::RevokeCardKey(wire::RevokeCardKey { public_key: key.0.to_vec() })
    }

    /// Record a new card for a member of the signer's club, to be signed by
    /// the club's current card key `card_key_id`.
    pub fn issue_card(member: &MemberId, card_key_id: &CardKeyId) -> Body {
        Body::IssueCard(wire::IssueCard {
            member_id: member.0.to_vec(),
            card_key_id: card_key_id.0.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_carries_chain_window_and_distinct_nonces() {
        let builder = TxBuilder::new("chain", 1_000).validity_ms(500);
        let member = crate::MemberId([1; 16]);
        let a = builder.payload(body::record_visit(&member, 0));
        let b = builder.payload(body::record_visit(&member, 0));
        assert_eq!(a.chain_id, "chain");
        assert_eq!(a.expires_at_ms, 1_500);
        assert_ne!(a.nonce, b.nonce);
    }

    #[test]
    fn signed_tx_verifies_and_its_id_is_the_payload_hash() {
        let key = Keypair::from_seed([5; 32]);
        let member = crate::MemberId([1; 16]);
        let tx = TxBuilder::new("chain", 1_000).sign(&key, body::record_visit(&member, 1));
        assert!(crate::decode::verify(&tx));
        assert_eq!(crate::decode::tx_id(&tx), reciprocity_chaincode::tx_id(&tx.payload));
    }
}
