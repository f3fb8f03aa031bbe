//! From wire types to domain types: every shape rule (lengths, ranges, enum
//! values, text syntax) is checked here, once, and answered with a
//! [`ValidationCode`]. Rules in `rules/` then work on types that are valid by
//! construction.

use prost::Message;
use reciprocity_proto::v1 as pb;
use sha2::{Digest, Sha256};

use crate::ValidationCode;
use crate::calendar;
use crate::envelope::key_check;
use crate::model::{
    CardKeyId, ClubId, ClubSpec, DayRange, FeeSettlement, MemberId, MemberStatus, NodeInfo, Policy,
    ProposalAction, Role, Roles, Terms, TxId, VoteChoice,
};

/// Domain tag prepended to the terms bytes before hashing.
pub const TERMS_HASH_DOMAIN: &[u8] = b"reciprocity/terms/v1";

/// Bounds on what a transaction may carry.
pub mod limits {
    /// Longest club name, in characters.
    pub const CLUB_NAME_CHARS_MAX: usize = 100;
    /// Most nodes per club.
    pub const CLUB_NODES_MAX: usize = 16;
    /// Longest node address, in bytes.
    pub const NODE_ADDRESS_BYTES_MAX: usize = 256;
    /// Furthest a UTC offset may be from zero, in minutes (UTC-14..UTC+14).
    pub const UTC_OFFSET_MINUTES_ABS_MAX: i32 = 840;
    /// Most clubs in genesis.
    pub const GENESIS_CLUBS_MAX: usize = 1000;
    /// Longest tier name, in bytes.
    pub const TIER_BYTES_MAX: usize = 32;
    /// Most tiers an agreement covers.
    pub const TERMS_TIERS_MAX: usize = 32;
    /// Most blackout ranges in terms.
    pub const TERMS_BLACKOUTS_MAX: usize = 64;
    /// Most visit-days per month terms may grant.
    pub const VISIT_DAYS_PER_MONTH_MAX: u32 = 31;
    /// Most visit-days per year terms may grant.
    pub const VISIT_DAYS_PER_YEAR_MAX: u32 = 366;
    /// Most guests per visit terms may grant.
    pub const GUESTS_PER_VISIT_MAX: u32 = 100;
    /// Longest notice period, in days.
    pub const NOTICE_DAYS_MAX: u32 = 3650;
    /// Longest span of a letter of introduction, in days.
    pub const INTRODUCTION_DAYS_MAX: u32 = 366;
    /// Longest resolution text, in characters.
    pub const RESOLUTION_CHARS_MAX: usize = 2000;
    /// Shortest allowed `tx_validity_ms_max` in a policy.
    pub const POLICY_TX_VALIDITY_MS_MIN: u64 = 1_000;
    /// Longest allowed `tx_validity_ms_max` in a policy (30 days).
    pub const POLICY_TX_VALIDITY_MS_MAX: u64 = 30 * 86_400_000;
    /// Longest allowed `clock_skew_ms_max` in a policy (1 hour).
    pub const POLICY_CLOCK_SKEW_MS_MAX: u64 = 3_600_000;
    /// Longest allowed voting period in a policy (1 year).
    pub const POLICY_VOTING_PERIOD_MS_MAX: u64 = 366 * 86_400_000;
}

/// A decoded, shape-checked transaction body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TxBody {
    Genesis {
        clubs: Vec<ClubSpec>,
        policy: Policy,
    },
    EnrollIdentity {
        key: crate::PublicKey,
        roles: Roles,
    },
    RevokeIdentity {
        key: crate::PublicKey,
    },
    RegisterMember {
        member_id: MemberId,
        tier: String,
        valid_until_day: u32,
    },
    UpdateMember {
        member_id: MemberId,
        status: Option<MemberStatus>,
        tier: Option<String>,
        valid_until_day: Option<u32>,
    },
    ProposeAgreement {
        counterparty: ClubId,
        terms: Terms,
        terms_hash: [u8; 32],
    },
    AmendAgreement {
        counterparty: ClubId,
        terms: Terms,
        terms_hash: [u8; 32],
    },
    AcceptAgreement {
        counterparty: ClubId,
        terms_hash: [u8; 32],
    },
    SuspendAgreement {
        counterparty: ClubId,
    },
    ResumeAgreement {
        counterparty: ClubId,
    },
    TerminateAgreement {
        counterparty: ClubId,
    },
    IssueIntroduction {
        member_id: MemberId,
        host: ClubId,
        from_day: u32,
        until_day: u32,
    },
    RecordVisit {
        member_id: MemberId,
        guests: u32,
    },
    VoidVisit {
        visit_id: TxId,
    },
    CreateProposal {
        voting_period_ms: u64,
        action: ProposalAction,
    },
    CastVote {
        proposal_id: TxId,
        choice: VoteChoice,
    },
    EnrollCardKey {
        key: crate::PublicKey,
        possession_signature: [u8; 64],
    },
    RevokeCardKey {
        key: crate::PublicKey,
    },
    IssueCard {
        member_id: MemberId,
        card_key_id: CardKeyId,
    },
}

type Decoded<T> = Result<T, ValidationCode>;

/// Decodes payload bytes.
pub(crate) fn payload(bytes: &[u8]) -> Decoded<pb::TxPayload> {
    pb::TxPayload::decode(bytes).map_err(|_| ValidationCode::MalformedPayload)
}

/// SHA-256 of [`TERMS_HASH_DOMAIN`] and the encoded terms: what the accepting club signs.
pub fn terms_hash(terms_bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(TERMS_HASH_DOMAIN);
    hasher.update(terms_bytes);
    hasher.finalize().into()
}

/// Checks an Ed25519 public key: 32 bytes, a valid point, not weak.
pub fn public_key(bytes: &[u8]) -> Result<crate::PublicKey, ValidationCode> {
    key_check(bytes)
}

fn club_ref(text: &str) -> Decoded<ClubId> {
    // A malformed id can name no club.
    ClubId::parse(text).ok_or(ValidationCode::UnknownClub)
}

fn member_id(bytes: &[u8]) -> Decoded<MemberId> {
    MemberId::from_slice(bytes).ok_or(ValidationCode::InvalidMemberId)
}

fn day(value: u32) -> Decoded<u32> {
    calendar::is_valid_day(value).then_some(value).ok_or(ValidationCode::InvalidDate)
}

/// Checks a tier name: 1-32 bytes of `a-z`, `0-9`, `-`, `_`.
pub fn tier(text: &str) -> Result<String, ValidationCode> {
    let ok = !text.is_empty()
        && text.len() <= limits::TIER_BYTES_MAX
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    ok.then(|| text.to_owned()).ok_or(ValidationCode::InvalidTier)
}

fn role(value: i32) -> Decoded<Role> {
    match pb::Role::try_from(value) {
        Ok(pb::Role::Admin) => Ok(Role::Admin),
        Ok(pb::Role::Registrar) => Ok(Role::Registrar),
        Ok(pb::Role::FrontDesk) => Ok(Role::FrontDesk),
        Ok(pb::Role::Governor) => Ok(Role::Governor),
        Ok(pb::Role::Unspecified) | Err(_) => Err(ValidationCode::InvalidRoles),
    }
}

/// Decodes and validates encoded `AgreementTerms`; any problem is
/// [`ValidationCode::InvalidTerms`] ([`terms_checked`] says which field and why).
pub fn terms(bytes: &[u8]) -> Result<Terms, ValidationCode> {
    terms_checked(bytes).map_err(|_| ValidationCode::InvalidTerms)
}

/// A field of agreement terms (wire names in [`TermsField::wire_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermsField {
    /// The bytes are not an encoded `AgreementTerms`.
    Encoding,
    /// The covered tiers (`Some(i)`: the i-th, from 0).
    TiersCovered(Option<usize>),
    /// `visit_days_per_month_max`.
    VisitDaysPerMonthMax,
    /// `visit_days_per_year_max`.
    VisitDaysPerYearMax,
    /// `guests_per_visit_max`.
    GuestsPerVisitMax,
    /// `fee_currency`.
    FeeCurrency,
    /// `fee_settlement`.
    FeeSettlement,
    /// `valid_from_day`.
    ValidFrom,
    /// `valid_until_day`.
    ValidUntil,
    /// The blackout ranges (`Some(i)`: the i-th, from 0).
    Blackouts(Option<usize>),
    /// `notice_days`.
    NoticeDays,
}

impl TermsField {
    /// The field's name in `AgreementTerms`, e.g. `blackouts[2]`.
    pub fn wire_name(&self) -> String {
        match self {
            TermsField::Encoding => "terms".to_owned(),
            TermsField::TiersCovered(None) => "tiers_covered".to_owned(),
            TermsField::TiersCovered(Some(i)) => format!("tiers_covered[{i}]"),
            TermsField::VisitDaysPerMonthMax => "visit_days_per_month_max".to_owned(),
            TermsField::VisitDaysPerYearMax => "visit_days_per_year_max".to_owned(),
            TermsField::GuestsPerVisitMax => "guests_per_visit_max".to_owned(),
            TermsField::FeeCurrency => "fee_currency".to_owned(),
            TermsField::FeeSettlement => "fee_settlement".to_owned(),
            TermsField::ValidFrom => "valid_from_day".to_owned(),
            TermsField::ValidUntil => "valid_until_day".to_owned(),
            TermsField::Blackouts(None) => "blackouts".to_owned(),
            TermsField::Blackouts(Some(i)) => format!("blackouts[{i}]"),
            TermsField::NoticeDays => "notice_days".to_owned(),
        }
    }
}

/// Why terms are [`ValidationCode::InvalidTerms`]: the first field in
/// error and the reason, in words that never quote unbounded input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsProblem {
    /// The field.
    pub field: TermsField,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for TermsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field.wire_name(), self.reason)
    }
}

fn problem(field: TermsField, reason: impl Into<String>) -> TermsProblem {
    TermsProblem { field, reason: reason.into() }
}

/// Decodes and validates encoded `AgreementTerms`, naming the first field
/// in error. Accepts exactly what [`terms`] accepts.
pub fn terms_checked(bytes: &[u8]) -> Result<Terms, TermsProblem> {
    use TermsField as F;
    let t = pb::AgreementTerms::decode(bytes)
        .map_err(|_| problem(F::Encoding, "not an encoded AgreementTerms message"))?;
    if t.tiers_covered.is_empty() {
        return Err(problem(F::TiersCovered(None), "must name at least one tier"));
    }
    if t.tiers_covered.len() > limits::TERMS_TIERS_MAX {
        return Err(problem(
            F::TiersCovered(None),
            format!(
                "names {} tiers, more than the {} allowed",
                t.tiers_covered.len(),
                limits::TERMS_TIERS_MAX
            ),
        ));
    }
    let mut tiers = Vec::with_capacity(t.tiers_covered.len());
    for (i, name) in t.tiers_covered.iter().enumerate() {
        let name = tier(name).map_err(|_| {
            problem(
                F::TiersCovered(Some(i)),
                format!("is not a tier name (1-{} of a-z, 0-9, '-', '_')", limits::TIER_BYTES_MAX),
            )
        })?;
        if tiers.contains(&name) {
            return Err(problem(F::TiersCovered(Some(i)), format!("repeats tier {name:?}")));
        }
        tiers.push(name);
    }
    let month_max = limits::VISIT_DAYS_PER_MONTH_MAX;
    if !(1..=month_max).contains(&t.visit_days_per_month_max) {
        return Err(problem(
            F::VisitDaysPerMonthMax,
            format!("is {}, must be 1 to {month_max}", t.visit_days_per_month_max),
        ));
    }
    let year_max = limits::VISIT_DAYS_PER_YEAR_MAX;
    if t.visit_days_per_year_max < t.visit_days_per_month_max {
        return Err(problem(
            F::VisitDaysPerYearMax,
            format!(
                "is {}, fewer than the {} visit-days allowed per month",
                t.visit_days_per_year_max, t.visit_days_per_month_max
            ),
        ));
    }
    if t.visit_days_per_year_max > year_max {
        return Err(problem(
            F::VisitDaysPerYearMax,
            format!("is {}, must be at most {year_max}", t.visit_days_per_year_max),
        ));
    }
    if t.guests_per_visit_max > limits::GUESTS_PER_VISIT_MAX {
        return Err(problem(
            F::GuestsPerVisitMax,
            format!(
                "is {}, must be at most {}",
                t.guests_per_visit_max,
                limits::GUESTS_PER_VISIT_MAX
            ),
        ));
    }
    let currency_ok =
        t.fee_currency.len() == 3 && t.fee_currency.bytes().all(|b| b.is_ascii_uppercase());
    if !currency_ok {
        return Err(problem(
            F::FeeCurrency,
            "must be an ISO 4217 code of three capital letters, e.g. EUR",
        ));
    }
    let fee_settlement = match pb::FeeSettlement::try_from(t.fee_settlement) {
        Ok(pb::FeeSettlement::OnSite) => FeeSettlement::OnSite,
        Ok(pb::FeeSettlement::BilledToHomeClub) => FeeSettlement::BilledToHomeClub,
        _ => {
            return Err(problem(F::FeeSettlement, "must be on site or billed to the home club"));
        }
    };
    let not_a_day = "is not a day between 1970-01-02 and 9999-12-31";
    let valid_from_day = day(t.valid_from_day).map_err(|_| problem(F::ValidFrom, not_a_day))?;
    let valid_until_day = match t.valid_until_day {
        0 => None,
        until => {
            let until = day(until).map_err(|_| problem(F::ValidUntil, not_a_day))?;
            if until < valid_from_day {
                return Err(problem(F::ValidUntil, "is before the first day of validity"));
            }
            Some(until)
        }
    };
    if t.blackouts.len() > limits::TERMS_BLACKOUTS_MAX {
        return Err(problem(
            F::Blackouts(None),
            format!(
                "has {} ranges, more than the {} allowed",
                t.blackouts.len(),
                limits::TERMS_BLACKOUTS_MAX
            ),
        ));
    }
    if t.notice_days > limits::NOTICE_DAYS_MAX {
        return Err(problem(
            F::NoticeDays,
            format!("is {}, must be at most {}", t.notice_days, limits::NOTICE_DAYS_MAX),
        ));
    }
    let mut blackouts = Vec::with_capacity(t.blackouts.len());
    for (i, range) in t.blackouts.iter().enumerate() {
        let first_day = day(range.first_day)
            .map_err(|_| problem(F::Blackouts(Some(i)), format!("its first day {not_a_day}")))?;
        let last_day = day(range.last_day)
            .map_err(|_| problem(F::Blackouts(Some(i)), format!("its last day {not_a_day}")))?;
        if first_day > last_day {
            return Err(problem(F::Blackouts(Some(i)), "ends before it starts"));
        }
        blackouts.push(DayRange { first_day, last_day });
    }
    Ok(Terms {
        tiers_covered: tiers,
        visit_days_per_month_max: t.visit_days_per_month_max,
        visit_days_per_year_max: t.visit_days_per_year_max,
        guests_per_visit_max: t.guests_per_visit_max,
        visit_fee_minor: t.visit_fee_minor,
        fee_currency: t.fee_currency,
        fee_settlement,
        valid_from_day,
        valid_until_day,
        blackouts,
        notice_days: t.notice_days,
        introduction_required: t.introduction_required,
    })
}

/// Validates a club spec; key problems answer with their own codes.
pub fn club_spec(spec: &pb::ClubSpec) -> Result<ClubSpec, ValidationCode> {
    let invalid = ValidationCode::InvalidClub;
    let club_id = ClubId::parse(&spec.club_id).ok_or(invalid)?;
    let name_chars = spec.name.chars().count();
    let name_ok = (1..=limits::CLUB_NAME_CHARS_MAX).contains(&name_chars)
        && !spec.name.chars().any(char::is_control)
        && spec.name.trim() == spec.name;
    if !name_ok {
        return Err(invalid);
    }
    let club_key = key_check(&spec.club_key)?;
    if spec.nodes.is_empty() || spec.nodes.len() > limits::CLUB_NODES_MAX {
        return Err(invalid);
    }
    let mut nodes: Vec<NodeInfo> = Vec::with_capacity(spec.nodes.len());
    for node in &spec.nodes {
        let node_key = key_check(&node.node_key)?;
        let address_ok = !node.address.is_empty()
            && node.address.len() <= limits::NODE_ADDRESS_BYTES_MAX
            && !node.address.chars().any(|c| c.is_control() || c.is_whitespace());
        let reused = node_key == club_key || nodes.iter().any(|n| n.node_key == node_key);
        if !address_ok || reused {
            return Err(invalid);
        }
        nodes.push(NodeInfo { node_key, address: node.address.clone() });
    }
    let offset_max = limits::UTC_OFFSET_MINUTES_ABS_MAX;
    if !(-offset_max..=offset_max).contains(&spec.utc_offset_minutes) {
        return Err(invalid);
    }
    Ok(ClubSpec {
        club_id,
        name: spec.name.clone(),
        club_key,
        nodes,
        utc_offset_minutes: spec.utc_offset_minutes,
    })
}

/// Validates a policy.
pub fn policy(p: &pb::Policy) -> Result<Policy, ValidationCode> {
    let ok = (1..=10_000).contains(&p.quorum_bp)
        && p.threshold_bp < 10_000
        && (p.threshold_bp..10_000).contains(&p.removal_threshold_bp)
        && p.voting_period_ms_min >= 1
        && p.voting_period_ms_min <= p.voting_period_ms_max
        && p.voting_period_ms_max <= limits::POLICY_VOTING_PERIOD_MS_MAX
        && (limits::POLICY_TX_VALIDITY_MS_MIN..=limits::POLICY_TX_VALIDITY_MS_MAX)
            .contains(&p.tx_validity_ms_max)
        && p.clock_skew_ms_max <= limits::POLICY_CLOCK_SKEW_MS_MAX;
    ok.then_some(Policy {
        quorum_bp: p.quorum_bp,
        threshold_bp: p.threshold_bp,
        removal_threshold_bp: p.removal_threshold_bp,
        voting_period_ms_min: p.voting_period_ms_min,
        voting_period_ms_max: p.voting_period_ms_max,
        tx_validity_ms_max: p.tx_validity_ms_max,
        clock_skew_ms_max: p.clock_skew_ms_max,
    })
    .ok_or(ValidationCode::InvalidPolicy)
}

fn proposal_action(action: Option<&pb::create_proposal::Action>) -> Decoded<ProposalAction> {
    use pb::create_proposal::Action;
    Ok(match action.ok_or(ValidationCode::InvalidProposal)? {
        Action::AdmitClub(spec) => ProposalAction::AdmitClub(club_spec(spec)?),
        Action::SuspendClub(id) => ProposalAction::SuspendClub(club_ref(id)?),
        Action::ReinstateClub(id) => ProposalAction::ReinstateClub(club_ref(id)?),
        Action::RemoveClub(id) => ProposalAction::RemoveClub(club_ref(id)?),
        Action::ChangePolicy(p) => ProposalAction::ChangePolicy(policy(p)?),
        Action::Resolution(text) => {
            let chars = text.chars().count();
            if chars == 0 || chars > limits::RESOLUTION_CHARS_MAX || text.trim().is_empty() {
                return Err(ValidationCode::InvalidProposal);
            }
            ProposalAction::Resolution(text.clone())
        }
    })
}

/// Shape-checks a body.
pub(crate) fn body(body: &pb::tx_payload::Body) -> Decoded<TxBody> {
    use pb::tx_payload::Body;
    Ok(match body {
        Body::Genesis(g) => {
            let invalid = ValidationCode::InvalidGenesis;
            if g.clubs.is_empty() || g.clubs.len() > limits::GENESIS_CLUBS_MAX {
                return Err(invalid);
            }
            let clubs = g
                .clubs
                .iter()
                .map(club_spec)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| invalid)?;
            let policy = policy(g.policy.as_ref().ok_or(invalid)?).map_err(|_| invalid)?;
            TxBody::Genesis { clubs, policy }
        }
        Body::EnrollIdentity(e) => {
            let key = key_check(&e.public_key)?;
            let roles = e.roles.iter().map(|r| role(*r)).collect::<Decoded<Vec<Role>>>()?;
            let roles = Roles::from_roles(&roles).ok_or(ValidationCode::InvalidRoles)?;
            TxBody::EnrollIdentity { key, roles }
        }
        Body::RevokeIdentity(r) => TxBody::RevokeIdentity { key: key_check(&r.public_key)? },
        Body::RegisterMember(m) => TxBody::RegisterMember {
            member_id: member_id(&m.member_id)?,
            tier: tier(&m.tier)?,
            valid_until_day: day(m.valid_until_day)?,
        },
        Body::UpdateMember(m) => {
            let status = match pb::MemberStatus::try_from(m.status) {
                Ok(pb::MemberStatus::Unspecified) => None,
                Ok(pb::MemberStatus::Active) => Some(MemberStatus::Active),
                Ok(pb::MemberStatus::Suspended) => Some(MemberStatus::Suspended),
                Ok(pb::MemberStatus::Expired) => Some(MemberStatus::Expired),
                Ok(pb::MemberStatus::Resigned) => Some(MemberStatus::Resigned),
                Err(_) => return Err(ValidationCode::InvalidStatus),
            };
            let member_id = member_id(&m.member_id)?;
            let tier = m.tier.as_deref().map(tier).transpose()?;
            let valid_until_day = m.valid_until_day.map(day).transpose()?;
            if status.is_none() && tier.is_none() && valid_until_day.is_none() {
                return Err(ValidationCode::EmptyUpdate);
            }
            TxBody::UpdateMember { member_id, status, tier, valid_until_day }
        }
        Body::ProposeAgreement(p) => TxBody::ProposeAgreement {
            counterparty: club_ref(&p.counterparty_club)?,
            terms: terms(&p.terms)?,
            terms_hash: terms_hash(&p.terms),
        },
        Body::AmendAgreement(p) => TxBody::AmendAgreement {
            counterparty: club_ref(&p.counterparty_club)?,
            terms: terms(&p.terms)?,
            terms_hash: terms_hash(&p.terms),
        },
        Body::AcceptAgreement(a) => TxBody::AcceptAgreement {
            counterparty: club_ref(&a.counterparty_club)?,
            terms_hash: a
                .terms_hash
                .as_slice()
                .try_into()
                .map_err(|_| ValidationCode::TermsHashMismatch)?,
        },
        Body::SuspendAgreement(s) => {
            TxBody::SuspendAgreement { counterparty: club_ref(&s.counterparty_club)? }
        }
        Body::ResumeAgreement(r) => {
            TxBody::ResumeAgreement { counterparty: club_ref(&r.counterparty_club)? }
        }
        Body::TerminateAgreement(t) => {
            TxBody::TerminateAgreement { counterparty: club_ref(&t.counterparty_club)? }
        }
        Body::IssueIntroduction(i) => {
            let member_id = member_id(&i.member_id)?;
            let host = club_ref(&i.host_club)?;
            let from_day = day(i.valid_from_day)?;
            let until_day = day(i.valid_until_day)?;
            let span_ok =
                from_day <= until_day && until_day - from_day < limits::INTRODUCTION_DAYS_MAX;
            if !span_ok {
                return Err(ValidationCode::InvalidIntroduction);
            }
            TxBody::IssueIntroduction { member_id, host, from_day, until_day }
        }
        Body::RecordVisit(v) => {
            TxBody::RecordVisit { member_id: member_id(&v.member_id)?, guests: v.guests }
        }
        Body::VoidVisit(v) => TxBody::VoidVisit {
            visit_id: TxId::from_slice(&v.visit_id).ok_or(ValidationCode::UnknownVisit)?,
        },
        Body::CreateProposal(p) => TxBody::CreateProposal {
            voting_period_ms: p.voting_period_ms,
            action: proposal_action(p.action.as_ref())?,
        },
        Body::CastVote(v) => TxBody::CastVote {
            proposal_id: TxId::from_slice(&v.proposal_id).ok_or(ValidationCode::UnknownProposal)?,
            choice: match pb::VoteChoice::try_from(v.choice) {
                Ok(pb::VoteChoice::Yes) => VoteChoice::Yes,
                Ok(pb::VoteChoice::No) => VoteChoice::No,
                Ok(pb::VoteChoice::Abstain) => VoteChoice::Abstain,
                _ => return Err(ValidationCode::InvalidVote),
            },
        },
        Body::EnrollCardKey(e) => TxBody::EnrollCardKey {
            key: key_check(&e.public_key)?,
            possession_signature: <[u8; 64]>::try_from(e.possession_signature.as_slice())
                .map_err(|_| ValidationCode::CardKeyProofInvalid)?,
        },
        Body::RevokeCardKey(r) => TxBody::RevokeCardKey { key: key_check(&r.public_key)? },
        Body::IssueCard(c) => TxBody::IssueCard {
            member_id: member_id(&c.member_id)?,
            card_key_id: CardKeyId::from_slice(&c.card_key_id)
                .ok_or(ValidationCode::UnknownCardKey)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> pb::AgreementTerms {
        pb::AgreementTerms {
            tiers_covered: vec!["full".to_owned()],
            visit_days_per_month_max: 4,
            visit_days_per_year_max: 48,
            guests_per_visit_max: 1,
            visit_fee_minor: 0,
            fee_currency: "EUR".to_owned(),
            fee_settlement: pb::FeeSettlement::OnSite as i32,
            valid_from_day: 20_000,
            valid_until_day: 0,
            blackouts: Vec::new(),
            notice_days: 30,
            introduction_required: false,
        }
    }

    /// `edit` applied to good terms is refused, naming `field` with a reason containing `says`.
    fn check(edit: impl FnOnce(&mut pb::AgreementTerms), field: &str, says: &str) {
        let mut terms = good();
        edit(&mut terms);
        let bytes = terms.encode_to_vec();
        let problem = terms_checked(&bytes).expect_err("refused");
        assert_eq!(problem.field.wire_name(), field, "{problem}");
        assert!(problem.reason.contains(says), "{problem}");
        assert_eq!(super::terms(&bytes), Err(ValidationCode::InvalidTerms));
    }

    #[test]
    fn each_terms_problem_names_its_field_and_why() {
        assert!(terms_checked(&good().encode_to_vec()).is_ok());
        check(|t| t.tiers_covered.clear(), "tiers_covered", "at least one");
        check(|t| t.tiers_covered.push("GOLD".into()), "tiers_covered[1]", "not a tier name");
        check(|t| t.tiers_covered.push("full".into()), "tiers_covered[1]", "repeats");
        check(|t| t.visit_days_per_month_max = 0, "visit_days_per_month_max", "1 to 31");
        check(|t| t.visit_days_per_year_max = 2, "visit_days_per_year_max", "fewer than the 4");
        check(|t| t.visit_days_per_year_max = 400, "visit_days_per_year_max", "at most 366");
        check(|t| t.guests_per_visit_max = 101, "guests_per_visit_max", "at most 100");
        check(|t| t.fee_currency = "eur".into(), "fee_currency", "ISO 4217");
        check(|t| t.fee_settlement = 9, "fee_settlement", "on site");
        check(|t| t.valid_until_day = 19_000, "valid_until_day", "before the first day");
        check(|t| t.valid_from_day = 0, "valid_from_day", "not a day");
        check(|t| t.notice_days = 4_000, "notice_days", "at most 3650");
        check(
            |t| t.blackouts.push(pb::DayRange { first_day: 20_010, last_day: 20_005 }),
            "blackouts[0]",
            "ends before it starts",
        );
        check(
            |t| t.blackouts = vec![pb::DayRange { first_day: 1, last_day: 1 }; 65],
            "blackouts",
            "more than the 64",
        );
        let problem = terms_checked(&[0xff, 0xff]).expect_err("not terms");
        assert_eq!(problem.field, TermsField::Encoding);
    }

    #[test]
    fn a_terms_problem_never_quotes_a_long_tier_name() {
        let mut terms = good();
        terms.tiers_covered = vec!["x".repeat(100_000)];
        let problem = terms_checked(&terms.encode_to_vec()).expect_err("refused");
        assert!(problem.to_string().len() < 200, "{problem}");
    }
}
