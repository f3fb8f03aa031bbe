//! Validation codes: the stable, numbered answer the chaincode gives for every
//! transaction and every eligibility check.
//!
//! Numbers are part of the protocol: a code is never renumbered or reused. New
//! rules get new numbers at the end. The table in the crate documentation
//! lists every code; a test keeps the two in step.

use serde::{Deserialize, Serialize};

macro_rules! validation_codes {
    ($( #[doc = $doc:literal] $name:ident = $num:literal ),+ $(,)?) => {
        /// The outcome of validating one transaction (or one visit check).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[repr(u32)]
        pub enum ValidationCode {
            $( #[doc = $doc] $name = $num, )+
        }

        impl ValidationCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ValidationCode] = &[$(ValidationCode::$name),+];

            /// The stable number of the code (0 is success).
            pub const fn number(self) -> u32 {
                self as u32
            }

            /// The stable name of the code, e.g. `"MonthlyQuotaExceeded"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ValidationCode::$name => stringify!($name),)+
                }
            }

            /// What the code means, in words (its documentation), e.g.
            /// "The member has used this month's visit-days at this host."
            pub fn description(self) -> &'static str {
                match self {
                    $(ValidationCode::$name => $doc.trim_start(),)+
                }
            }

            /// The code with this number, if there is one.
            pub fn from_number(number: u32) -> Option<ValidationCode> {
                match number {
                    $($num => Some(ValidationCode::$name),)+
                    _ => None,
                }
            }

            /// The code with this name, if there is one.
            pub fn from_name(name: &str) -> Option<ValidationCode> {
                match name {
                    $(stringify!($name) => Some(ValidationCode::$name),)+
                    _ => None,
                }
            }
        }
    };
}

validation_codes! {
    /// The transaction is valid and was applied.
    Ok = 0,
    /// The payload bytes are not a well-formed `TxPayload`.
    MalformedPayload = 1,
    /// The payload carries no body.
    MissingBody = 2,
    /// The payload's chain id is not this network's.
    WrongChain = 3,
    /// The block time is past the transaction's `expires_at_ms`.
    Expired = 4,
    /// `created_at_ms` lies further ahead of the block time than the policy's clock skew allows.
    NotYetValid = 5,
    /// `expires_at_ms - created_at_ms` exceeds the policy's `tx_validity_ms_max` (or is negative).
    ValidityWindowTooLong = 6,
    /// A transaction with this id was already included.
    DuplicateTx = 7,
    /// The signature does not verify (strict Ed25519) for the signer key.
    BadSignature = 8,
    /// No genesis has been applied yet: only a genesis transaction can be.
    GenesisRequired = 9,
    /// A genesis transaction after the chain already has one.
    GenesisAlreadyApplied = 10,
    /// The genesis content is invalid (no clubs, bad policy, signer is not a founding club key...).
    InvalidGenesis = 11,
    /// The signer key is not an enrolled identity.
    UnknownSigner = 12,
    /// The signer identity was revoked.
    IdentityRevoked = 13,
    /// The signer's club is suspended or removed.
    SignerClubNotActive = 14,
    /// The signer identity lacks the role the transaction needs.
    MissingRole = 15,
    /// The signer acts for a club other than its own.
    NotOwnClub = 16,
    /// The named club does not exist.
    UnknownClub = 17,
    /// The other club (counterparty, host or home club) is suspended or removed.
    ClubNotActive = 18,
    /// The key is already enrolled (as an identity or club key), possibly revoked.
    IdentityExists = 19,
    /// The identity to revoke does not exist.
    UnknownIdentity = 20,
    /// The key is not a valid Ed25519 public key (length or encoding).
    InvalidPublicKey = 21,
    /// The key is a weak Ed25519 key (small order, or with a torsion component).
    WeakKey = 22,
    /// The club key cannot be revoked.
    CannotRevokeClubKey = 23,
    /// Roles are empty, unknown or repeated.
    InvalidRoles = 24,
    /// A member with this id already exists.
    MemberExists = 25,
    /// The member id is not known.
    UnknownMember = 26,
    /// The member id is not exactly 16 bytes.
    InvalidMemberId = 27,
    /// The tier name is empty, too long or has characters other than a-z, 0-9, '-', '_'.
    InvalidTier = 28,
    /// The member status is not a known value.
    InvalidStatus = 29,
    /// A date is 0 or beyond year 9999.
    InvalidDate = 30,
    /// An update that changes nothing (names no field, or only current values).
    EmptyUpdate = 31,
    /// The member belongs to another club than the signer's.
    NotHomeClub = 32,
    /// The agreement terms are malformed or inconsistent.
    InvalidTerms = 33,
    /// An agreement between the two clubs is already in force: amend it instead.
    AgreementExists = 34,
    /// There is no agreement in force between the two clubs.
    NoAgreement = 35,
    /// There is no pending offer to accept.
    NoPendingOffer = 36,
    /// The terms hash does not match the pending offer.
    TermsHashMismatch = 37,
    /// A club cannot accept its own offer.
    CannotAcceptOwnOffer = 38,
    /// A club cannot make an agreement with itself.
    AgreementWithSelf = 39,
    /// This side has already suspended the agreement.
    AgreementAlreadySuspended = 40,
    /// This side has not suspended the agreement.
    AgreementNotSuspended = 41,
    /// The agreement is under notice of termination (or terminated).
    AgreementTerminating = 42,
    /// The agreement has been terminated.
    AgreementTerminated = 43,
    /// No terms of the agreement are in effect yet.
    AgreementNotInEffect = 44,
    /// The terms in effect ended (past `valid_until_day`).
    AgreementExpired = 45,
    /// The agreement is suspended by one of the clubs.
    AgreementSuspended = 46,
    /// The day is in a blackout range of the terms.
    Blackout = 47,
    /// The member's status at home is not active.
    MemberNotActive = 48,
    /// The member's validity at home has ended.
    MemberExpired = 49,
    /// The member's tier is not covered by the terms.
    TierNotCovered = 50,
    /// The terms require a letter of introduction covering the day, and there is none.
    IntroductionRequired = 51,
    /// The member has used this month's visit-days at this host.
    MonthlyQuotaExceeded = 52,
    /// The member has used this year's visit-days at this host.
    YearlyQuotaExceeded = 53,
    /// More guests than the terms allow.
    TooManyGuests = 54,
    /// A member cannot make a reciprocal visit to the home club.
    VisitingOwnClub = 55,
    /// The visit id is not known.
    UnknownVisit = 56,
    /// Only the host club may void its visit.
    NotHostClub = 57,
    /// The visit is more than 24 hours old.
    VoidWindowPassed = 58,
    /// The visit was already voided.
    VisitAlreadyVoided = 59,
    /// The introduction's dates or host are invalid.
    InvalidIntroduction = 60,
    /// The proposal is malformed (no action, bad text, empty electorate...).
    InvalidProposal = 61,
    /// The voting period is outside the policy's bounds.
    VotingPeriodOutOfBounds = 62,
    /// The proposal id is not known.
    UnknownProposal = 63,
    /// The proposal's vote has closed.
    ProposalClosed = 64,
    /// The signer's club is not in the proposal's electorate.
    NotInElectorate = 65,
    /// The vote choice is not yes, no or abstain.
    InvalidVote = 66,
    /// A club with this id already exists.
    ClubExists = 67,
    /// The policy values are out of range or inconsistent.
    InvalidPolicy = 68,
    /// The club is not in a state the action applies to (e.g. suspending a suspended club).
    ClubStateConflict = 69,
    /// A node key is already used by a club.
    NodeKeyInUse = 70,
    /// The club spec is invalid (id syntax, name, UTC offset, nodes).
    InvalidClub = 71,
    /// The key is already enrolled as a card key (by any club), or its key id is taken.
    CardKeyExists = 72,
    /// No card key with this key id is enrolled.
    UnknownCardKey = 73,
    /// The card key was revoked.
    CardKeyRevoked = 74,
    /// The club has no current card key: an admin enrolls one first.
    NoCardKey = 75,
    /// The card key named is not the club's current card key (retired, or of another club).
    CardKeyNotCurrent = 76,
    /// The card key's proof of possession is missing or does not verify for this chain and club.
    CardKeyProofInvalid = 77,
}

impl ValidationCode {
    /// Whether this is success.
    pub const fn is_ok(self) -> bool {
        matches!(self, ValidationCode::Ok)
    }

    /// Whether the code says the transaction itself is malformed or out of
    /// range (bad encoding, a wrong chain, an invalid key, date, tier or
    /// terms...), rather than in conflict with the ledger's state.
    pub const fn is_malformed(self) -> bool {
        use ValidationCode as C;
        matches!(
            self,
            C::MalformedPayload
                | C::MissingBody
                | C::WrongChain
                | C::ValidityWindowTooLong
                | C::BadSignature
                | C::InvalidGenesis
                | C::InvalidPublicKey
                | C::WeakKey
                | C::InvalidRoles
                | C::InvalidMemberId
                | C::InvalidTier
                | C::InvalidStatus
                | C::InvalidDate
                | C::EmptyUpdate
                | C::InvalidTerms
                | C::AgreementWithSelf
                | C::InvalidIntroduction
                | C::InvalidProposal
                | C::VotingPeriodOutOfBounds
                | C::InvalidVote
                | C::InvalidPolicy
                | C::InvalidClub
                | C::CardKeyProofInvalid
        )
    }
}

impl std::fmt::Display for ValidationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ValidationCode::ALL {
            assert!(seen.insert(code.number()), "duplicate number {}", code.number());
            assert_eq!(ValidationCode::from_number(code.number()), Some(*code));
            assert_eq!(ValidationCode::from_name(code.name()), Some(*code));
        }
        assert_eq!(ValidationCode::from_number(9999), None);
        assert_eq!(
            ValidationCode::MonthlyQuotaExceeded.description(),
            "The member has used this month's visit-days at this host."
        );
    }
}
