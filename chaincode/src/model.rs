//! The domain types the chaincode stores and answers with.
//!
//! These are the chaincode's own types, converted from the wire types at the
//! edge (`decode`). Preconditions live here: a [`ClubId`] is always well
//! formed, a [`PublicKey`] always 32 bytes, a [`Terms`] always consistent.
//! Records are stored with postcard (a compact, deterministic serde format).

use serde::{Deserialize, Serialize};

/// Encodes bytes as lowercase hex.
fn hex_string(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

macro_rules! byte_id {
    ($(#[$doc:meta])* $name:ident, $len:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        // Hex in human-readable formats (JSON); the plain array in binary
        // ones (postcard state records), byte for byte what a derive gives.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.serialize_str(&self.to_hex())
                } else {
                    serializer.serialize_newtype_struct(stringify!($name), &self.0)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    let text = String::deserialize(deserializer)?;
                    $name::from_hex(&text).ok_or_else(|| {
                        serde::de::Error::custom(format!("expected {} hex bytes", $len))
                    })
                } else {
                    #[derive(Deserialize)]
                    struct Raw([u8; $len]);
                    Raw::deserialize(deserializer).map(|raw| $name(raw.0))
                }
            }
        }

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// From a slice of exactly the right length.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                <[u8; $len]>::try_from(bytes).ok().map(Self)
            }

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex_string(&self.0)
            }

            /// From lowercase or uppercase hex.
            pub fn from_hex(text: &str) -> Option<Self> {
                let bytes = hex::decode(text).ok()?;
                Self::from_slice(&bytes)
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
    };
}

byte_id!(
    /// An Ed25519 public key (identity, club or node key).
    PublicKey,
    32
);
byte_id!(
    /// A member's opaque id: 16 random bytes chosen by the home club.
    MemberId,
    16
);
byte_id!(
    /// A transaction id: SHA-256 of the payload bytes. Also names visits
    /// and proposals (the id of the transaction that created them).
    TxId,
    32
);

byte_id!(
    /// A card-issuing key's id: the first 8 bytes of SHA-256 of
    /// [`CARD_KEY_ID_DOMAIN`] and the public key (see [`CardKeyId::of`]).
    CardKeyId,
    8
);

/// Domain tag hashed before a card key to give its [`CardKeyId`].
pub const CARD_KEY_ID_DOMAIN: &[u8] = b"reciprocity/card-key/v1";

/// Domain tag of a card key's proof of possession.
pub const CARD_KEY_POSSESSION_DOMAIN: &[u8] = b"reciprocity/card-key-pop/v1";

/// What a card key signs to prove that `club` of chain `chain_id` holds it:
/// [`CARD_KEY_POSSESSION_DOMAIN`] || chain id || 0 || club id || 0 || key.
pub fn card_key_possession_message(chain_id: &str, club: &ClubId, key: &PublicKey) -> Vec<u8> {
    let mut message = Vec::with_capacity(CARD_KEY_POSSESSION_DOMAIN.len() + 80);
    message.extend_from_slice(CARD_KEY_POSSESSION_DOMAIN);
    message.extend_from_slice(chain_id.as_bytes());
    message.push(0);
    message.extend_from_slice(club.as_str().as_bytes());
    message.push(0);
    message.extend_from_slice(key.as_bytes());
    message
}

impl CardKeyId {
    /// The id of a card-issuing public key.
    pub fn of(key: &PublicKey) -> CardKeyId {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(CARD_KEY_ID_DOMAIN);
        hasher.update(key.as_bytes());
        let digest: [u8; 32] = hasher.finalize().into();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        CardKeyId(id)
    }
}

/// A club's id: 1-32 chars of `a-z`, `0-9`, `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClubId(String);

impl ClubId {
    /// Longest club id.
    pub const LEN_MAX: usize = 32;

    /// Validates and wraps a club id.
    pub fn parse(text: &str) -> Option<ClubId> {
        let mut chars = text.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok =
            text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        (first_ok && rest_ok && text.len() <= Self::LEN_MAX).then(|| ClubId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClubId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lifecycle of a club in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClubStatus {
    /// Takes part: its staff can act, its node may connect, it votes.
    Active,
    /// Suspended by a vote; can be reinstated.
    Suspended,
    /// Removed by a vote; final.
    Removed,
}

/// One node of a club.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's libp2p identity key.
    pub node_key: PublicKey,
    /// Where peers dial it.
    pub address: String,
}

/// A club as admitted (by genesis or a vote).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClubSpec {
    /// Stable id.
    pub club_id: ClubId,
    /// Display name.
    pub name: String,
    /// The club key: the club's root identity, holding every role.
    pub club_key: PublicKey,
    /// The club's nodes.
    pub nodes: Vec<NodeInfo>,
    /// Offset of the clubhouse's local time from UTC, in minutes.
    pub utc_offset_minutes: i32,
}

/// A club in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Club {
    /// What was admitted.
    pub spec: ClubSpec,
    /// Current status.
    pub status: ClubStatus,
    /// Height of the block that admitted it.
    pub admitted_height: u64,
}

/// A role within a club.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Identities and agreements.
    Admin,
    /// Members and introductions.
    Registrar,
    /// Visits.
    FrontDesk,
    /// Proposals and votes.
    Governor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Registrar, Role::FrontDesk, Role::Governor];

    fn bit(self) -> u8 {
        match self {
            Role::Admin => 1,
            Role::Registrar => 2,
            Role::FrontDesk => 4,
            Role::Governor => 8,
        }
    }

    /// Lower-case name, e.g. `front_desk`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Registrar => "registrar",
            Role::FrontDesk => "front_desk",
            Role::Governor => "governor",
        }
    }
}

/// A non-empty set of roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles(u8);

impl Roles {
    /// Every role.
    pub fn all() -> Roles {
        Roles::from_roles(&Role::ALL).expect("roles: ALL is not empty")
    }

    /// The set of `roles`, or `None` when empty or repeated.
    pub fn from_roles(roles: &[Role]) -> Option<Roles> {
        let mut bits = 0u8;
        for role in roles {
            if bits & role.bit() != 0 {
                return None;
            }
            bits |= role.bit();
        }
        (bits != 0).then_some(Roles(bits))
    }

    /// Whether the set holds `role`.
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// The roles in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

/// An enrolled signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The key.
    pub public_key: PublicKey,
    /// The club it acts for.
    pub club_id: ClubId,
    /// What it may do.
    pub roles: Roles,
    /// Height of enrolment.
    pub enrolled_height: u64,
    /// Height of revocation, if revoked.
    pub revoked_height: Option<u64>,
}

impl Identity {
    /// Whether the identity has not been revoked.
    pub fn is_active(&self) -> bool {
        self.revoked_height.is_none()
    }
}

/// A member's standing at the home club.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberStatus {
    /// In good standing.
    Active,
    /// Suspended by the home club.
    Suspended,
    /// Lapsed.
    Expired,
    /// Left the club.
    Resigned,
}

/// A member as the ledger knows it: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Opaque id.
    pub member_id: MemberId,
    /// The club the member belongs to.
    pub home_club: ClubId,
    /// Membership tier at home.
    pub tier: String,
    /// Standing.
    pub status: MemberStatus,
    /// Last day of validity.
    pub valid_until_day: u32,
    /// Height of registration.
    pub registered_height: u64,
    /// Height of the last change.
    pub updated_height: u64,
}

/// A club's card-issuing key: an identity of the club, not of a staff
/// member, that signs member cards and nothing on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardKey {
    /// Its id (what a card names).
    pub key_id: CardKeyId,
    /// The key.
    pub public_key: PublicKey,
    /// The club whose cards it signs.
    pub club_id: ClubId,
    /// Height of enrolment.
    pub enrolled_height: u64,
    /// Height at which a newer key replaced it: it signs no new cards, and
    /// the cards it signed stay valid until their valid-until.
    pub retired_height: Option<u64>,
    /// Height of revocation (compromised): every card it signed is refused.
    pub revoked_height: Option<u64>,
}

impl CardKey {
    /// Whether the key is the club's current one (neither retired nor revoked).
    pub fn is_current(&self) -> bool {
        self.retired_height.is_none() && self.revoked_height.is_none()
    }
}

/// The card last issued to a member: what its credential must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCard {
    /// The member.
    pub member_id: MemberId,
    /// The home club.
    pub home_club: ClubId,
    /// 1 for the first card, then one more for each reprint.
    pub serial: u32,
    /// The key that signs it.
    pub card_key_id: CardKeyId,
    /// The member's tier when the card was issued.
    pub tier: String,
    /// The member's validity when the card was issued: the card's own expiry.
    pub valid_until_day: u32,
    /// Block time of issue.
    pub issued_at_ms: u64,
    /// Height of issue.
    pub issued_height: u64,
}

/// What a member card's credential states (its signed claims).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardClaims {
    /// The member.
    pub member_id: MemberId,
    /// The home club.
    pub home_club: ClubId,
    /// Tier when issued.
    pub tier: String,
    /// The card's last valid day.
    pub valid_until_day: u32,
    /// Block time of issue.
    pub issued_at_ms: u64,
    /// The card's serial.
    pub serial: u32,
}

impl MemberCard {
    /// The claims a credential of this card carries.
    pub fn claims(&self) -> CardClaims {
        CardClaims {
            member_id: self.member_id,
            home_club: self.home_club.clone(),
            tier: self.tier.clone(),
            valid_until_day: self.valid_until_day,
            issued_at_ms: self.issued_at_ms,
            serial: self.serial,
        }
    }
}

/// How a visit fee is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeeSettlement {
    /// Paid by the visitor at the host.
    OnSite,
    /// Billed by the host to the home club.
    BilledToHomeClub,
}

/// An inclusive range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRange {
    /// First day.
    pub first_day: u32,
    /// Last day (inclusive).
    pub last_day: u32,
}

impl DayRange {
    /// Whether `day` lies in the range.
    pub fn contains(&self, day: u32) -> bool {
        self.first_day <= day && day <= self.last_day
    }
}

/// Validated agreement terms (see `AgreementTerms` in the wire format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// Tiers admitted.
    pub tiers_covered: Vec<String>,
    /// Visit-days per member at one host per calendar month.
    pub visit_days_per_month_max: u32,
    /// Visit-days per member at one host per calendar year.
    pub visit_days_per_year_max: u32,
    /// Guests per visit.
    pub guests_per_visit_max: u32,
    /// Fee per visit in minor units.
    pub visit_fee_minor: u64,
    /// ISO 4217 currency.
    pub fee_currency: String,
    /// How the fee is settled.
    pub fee_settlement: FeeSettlement,
    /// First day of validity.
    pub valid_from_day: u32,
    /// Last day of validity, if any.
    pub valid_until_day: Option<u32>,
    /// Blackout ranges in the host's calendar.
    pub blackouts: Vec<DayRange>,
    /// Days of notice for termination.
    pub notice_days: u32,
    /// Whether a letter of introduction is needed.
    pub introduction_required: bool,
}

/// One accepted version of an agreement's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsVersion {
    /// 1 for the original terms, then 2, 3... for amendments.
    pub version: u32,
    /// The terms.
    pub terms: Terms,
    /// SHA-256 of the domain tag and the terms bytes both sides signed.
    pub terms_hash: [u8; 32],
    /// The club that offered them.
    pub offered_by: ClubId,
    /// Height of acceptance.
    pub accepted_height: u64,
}

/// Terms offered by one club and awaiting the other's acceptance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The offering club.
    pub offered_by: ClubId,
    /// The terms.
    pub terms: Terms,
    /// Hash the other side must sign.
    pub terms_hash: [u8; 32],
    /// Whether this amends an agreement in force.
    pub is_amendment: bool,
    /// Height of the offer.
    pub offered_height: u64,
}

/// A termination under notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Termination {
    /// The terminating club.
    pub by: ClubId,
    /// When the agreement ends (Unix ms).
    pub effective_at_ms: u64,
}

/// A bilateral agreement between two clubs (one per pair of clubs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// The two clubs, in ascending order.
    pub clubs: (ClubId, ClubId),
    /// Accepted versions still relevant (in effect or future), sorted by
    /// `(valid_from_day, version)`.
    pub versions: Vec<TermsVersion>,
    /// The pending offer, if any.
    pub pending: Option<Offer>,
    /// Clubs that currently suspend the agreement, sorted.
    pub suspended_by: Vec<ClubId>,
    /// Termination under notice (or past), if any.
    pub termination: Option<Termination>,
    /// The number the next accepted version gets.
    pub next_version: u32,
}

/// Where an agreement stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgreementStatus {
    /// Offered, not yet accepted.
    Proposed,
    /// Accepted but no version has started.
    NotYetInEffect,
    /// In force.
    Active,
    /// Suspended by at least one side.
    Suspended,
    /// In force, under notice of termination.
    Terminating,
    /// Ended by termination.
    Terminated,
    /// Past the last version's end date.
    Expired,
}

impl Agreement {
    /// Whether the termination, if any, has taken effect at `at_ms`.
    pub fn is_terminated_at(&self, at_ms: u64) -> bool {
        self.termination.as_ref().is_some_and(|t| at_ms >= t.effective_at_ms)
    }

    /// The version in effect on `day`: the last one started by then.
    pub fn version_on(&self, day: u32) -> Option<&TermsVersion> {
        self.versions.iter().rev().find(|v| v.terms.valid_from_day <= day)
    }

    /// The other club of the pair.
    pub fn other(&self, club: &ClubId) -> &ClubId {
        if &self.clubs.0 == club { &self.clubs.1 } else { &self.clubs.0 }
    }

    /// The status at `at_ms`, with `day` the relevant local day.
    pub fn status_at(&self, at_ms: u64, day: u32) -> AgreementStatus {
        if self.versions.is_empty() {
            return AgreementStatus::Proposed;
        }
        if self.is_terminated_at(at_ms) {
            return AgreementStatus::Terminated;
        }
        let Some(version) = self.version_on(day) else {
            return AgreementStatus::NotYetInEffect;
        };
        if version.terms.valid_until_day.is_some_and(|until| day > until) {
            return AgreementStatus::Expired;
        }
        if !self.suspended_by.is_empty() {
            return AgreementStatus::Suspended;
        }
        if self.termination.is_some() {
            return AgreementStatus::Terminating;
        }
        AgreementStatus::Active
    }
}

/// A letter of introduction from a member's home club to a host club.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introduction {
    /// The member.
    pub member_id: MemberId,
    /// The issuing (home) club.
    pub home_club: ClubId,
    /// The club the member is introduced to.
    pub host_club: ClubId,
    /// First day covered.
    pub valid_from_day: u32,
    /// Last day covered.
    pub valid_until_day: u32,
    /// The issuing transaction.
    pub issued_by_tx: TxId,
}

/// A voided visit's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voiding {
    /// When it was voided (block time).
    pub at_ms: u64,
    /// The voiding transaction.
    pub tx_id: TxId,
}

/// A recorded visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The recording transaction's id.
    pub visit_id: TxId,
    /// Where.
    pub host_club: ClubId,
    /// The visitor's home club.
    pub home_club: ClubId,
    /// Who.
    pub member_id: MemberId,
    /// Block time of the visit.
    pub at_ms: u64,
    /// The host's local day of the visit.
    pub local_day: u32,
    /// Guests brought.
    pub guests: u32,
    /// Fee per the terms in effect.
    pub fee_minor: u64,
    /// Currency of the fee.
    pub fee_currency: String,
    /// How the fee is settled.
    pub fee_settlement: FeeSettlement,
    /// The agreement version applied.
    pub terms_version: u32,
    /// Set when voided.
    pub voided: Option<Voiding>,
}

/// Governance policy (see `Policy` in the wire format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Minimum turnout, basis points.
    pub quorum_bp: u32,
    /// Yes must exceed this share of yes + no, basis points.
    pub threshold_bp: u32,
    /// Same, for removing a club.
    pub removal_threshold_bp: u32,
    /// Shortest voting period.
    pub voting_period_ms_min: u64,
    /// Longest voting period.
    pub voting_period_ms_max: u64,
    /// Longest transaction validity window.
    pub tx_validity_ms_max: u64,
    /// How far a transaction's creation time may lead the block time.
    pub clock_skew_ms_max: u64,
}

/// What a proposal would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalAction {
    /// Admit a new club.
    AdmitClub(ClubSpec),
    /// Suspend an active club.
    SuspendClub(ClubId),
    /// Reinstate a suspended club.
    ReinstateClub(ClubId),
    /// Remove a club for good.
    RemoveClub(ClubId),
    /// Replace the policy.
    ChangePolicy(Policy),
    /// A non-binding resolution.
    Resolution(String),
}

impl ProposalAction {
    /// The club the action is about, which does not vote on it (suspension, removal).
    pub fn excluded_voter(&self) -> Option<&ClubId> {
        match self {
            ProposalAction::SuspendClub(c) | ProposalAction::RemoveClub(c) => Some(c),
            _ => None,
        }
    }

    /// Short name, e.g. `admit_club`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProposalAction::AdmitClub(_) => "admit_club",
            ProposalAction::SuspendClub(_) => "suspend_club",
            ProposalAction::ReinstateClub(_) => "reinstate_club",
            ProposalAction::RemoveClub(_) => "remove_club",
            ProposalAction::ChangePolicy(_) => "change_policy",
            ProposalAction::Resolution(_) => "resolution",
        }
    }
}

/// A club's vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoteChoice {
    /// For.
    Yes,
    /// Against.
    No,
    /// Counts for turnout only.
    Abstain,
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalStatus {
    /// Voting.
    Open,
    /// Closed and passed (and executed).
    Passed,
    /// Closed and not passed.
    Rejected,
}

/// Why a proposal closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseReason {
    /// No vote still to come could change the outcome.
    Decided,
    /// The end time passed.
    EndTimeReached,
}

/// The count of a proposal's votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Yes votes.
    pub yes: u32,
    /// No votes.
    pub no: u32,
    /// Abstentions.
    pub abstain: u32,
    /// Size of the electorate.
    pub electorate: u32,
}

impl Tally {
    /// Clubs of the electorate that have not voted.
    pub fn not_voted(&self) -> u32 {
        self.electorate - self.yes - self.no - self.abstain
    }
}

/// A governance proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The creating transaction's id.
    pub proposal_id: TxId,
    /// The proposing club.
    pub proposer_club: ClubId,
    /// What passes if it passes.
    pub action: ProposalAction,
    /// Block time of creation.
    pub created_at_ms: u64,
    /// End of voting.
    pub ends_at_ms: u64,
    /// Clubs that may vote, sorted.
    pub electorate: Vec<ClubId>,
    /// Votes cast, sorted by club.
    pub votes: Vec<(ClubId, VoteChoice)>,
    /// Quorum in force at creation.
    pub quorum_bp: u32,
    /// Threshold in force at creation (the removal threshold for removals).
    pub threshold_bp: u32,
    /// Current status.
    pub status: ProposalStatus,
    /// When and why it closed.
    pub closed: Option<(u64, CloseReason)>,
    /// If it passed but could not be executed, why (e.g. the club id was taken meanwhile).
    pub execution_failure: Option<crate::ValidationCode>,
}

impl Proposal {
    /// The current count.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally {
            yes: 0,
            no: 0,
            abstain: 0,
            electorate: u32::try_from(self.electorate.len()).expect("electorate fits u32"),
        };
        for (_, choice) in &self.votes {
            match choice {
                VoteChoice::Yes => tally.yes += 1,
                VoteChoice::No => tally.no += 1,
                VoteChoice::Abstain => tally.abstain += 1,
            }
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_key_id_is_the_first_eight_bytes_of_its_domain_hash() {
        use sha2::{Digest, Sha256};
        let key = PublicKey([7; 32]);
        let mut hasher = Sha256::new();
        hasher.update(b"reciprocity/card-key/v1");
        hasher.update([7u8; 32]);
        let digest = hasher.finalize();
        assert_eq!(CardKeyId::of(&key).0, digest[..8]);
        assert_ne!(CardKeyId::of(&key), CardKeyId::of(&PublicKey([8; 32])));
    }

    #[test]
    fn ids_are_hex_in_json_and_plain_bytes_in_state_records() {
        let key = PublicKey([0xab; 32]);
        let stored = postcard::to_allocvec(&key).unwrap();
        assert_eq!(stored, postcard::to_allocvec(&[0xabu8; 32]).unwrap());
        assert_eq!(postcard::from_bytes::<PublicKey>(&stored).unwrap(), key);
        let member = MemberId([1; 16]);
        let encoded = postcard::to_allocvec(&member).unwrap();
        assert_eq!(postcard::from_bytes::<MemberId>(&encoded).unwrap(), member);
    }
}
