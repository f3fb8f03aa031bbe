//! Read-only queries over any [`StateRead`]: records by id, small lists, and
//! the front-desk eligibility check. Nothing here writes.

use serde::{Deserialize, Serialize};

use crate::ValidationCode;
use crate::error::Result;
use crate::keys;
use crate::model::{
    Agreement, CardKey, CardKeyId, Club, ClubId, ClubStatus, FeeSettlement, Identity, Introduction,
    Member, MemberCard, MemberId, NodeInfo, Policy, Proposal, PublicKey, TxId, Visit,
};
use crate::rules::{governance, visit};
use crate::state::load;
use crate::store::StateRead;

/// The policy in force (none before genesis).
pub fn policy(view: &dyn StateRead) -> Result<Option<Policy>> {
    load(view, keys::POLICY)
}

/// Whether genesis has been applied.
pub fn has_genesis(view: &dyn StateRead) -> Result<bool> {
    Ok(view.get(keys::GENESIS)?.is_some())
}

/// A club by id.
pub fn club(view: &dyn StateRead, id: &ClubId) -> Result<Option<Club>> {
    load(view, &keys::club(id))
}

/// Every club, in id order.
pub fn clubs(view: &dyn StateRead) -> Result<Vec<Club>> {
    governance::all_clubs(view)
}

/// Node keys of active clubs, in club id order: who may take part in the network.
pub fn active_nodes(view: &dyn StateRead) -> Result<Vec<(ClubId, NodeInfo)>> {
    Ok(clubs(view)?
        .into_iter()
        .filter(|c| c.status == ClubStatus::Active)
        .flat_map(|c| {
            let id = c.spec.club_id;
            c.spec.nodes.into_iter().map(move |n| (id.clone(), n))
        })
        .collect())
}

/// A card-issuing key by id.
pub fn card_key(view: &dyn StateRead, id: &CardKeyId) -> Result<Option<CardKey>> {
    load(view, &keys::card_key(id))
}

/// The club's current card-issuing key, if it has one.
pub fn current_card_key(view: &dyn StateRead, club: &ClubId) -> Result<Option<CardKey>> {
    match crate::rules::card::current_key_id(view, club)? {
        Some(id) => card_key(view, &id),
        None => Ok(None),
    }
}

/// Every card key of a club (current, retired, revoked), in key id order.
pub fn card_keys_of(view: &dyn StateRead, club: &ClubId) -> Result<Vec<CardKey>> {
    let prefix = keys::club_card_key_index_prefix(club);
    let mut out = Vec::new();
    for (key, _) in view.scan(&prefix, None, usize::MAX)? {
        let id = keys::trailing_text(&key).and_then(CardKeyId::from_hex).ok_or_else(|| {
            crate::ChaincodeError::CorruptState {
                key: String::from_utf8_lossy(&key).into_owned(),
                reason: "a card key index entry without a key id".to_owned(),
            }
        })?;
        let card_key = card_key(view, &id)?.ok_or_else(|| crate::ChaincodeError::CorruptState {
            key: String::from_utf8_lossy(&key).into_owned(),
            reason: "an indexed card key is missing".to_owned(),
        })?;
        out.push(card_key);
    }
    Ok(out)
}

/// The card last issued to a member, if any.
pub fn member_card(view: &dyn StateRead, member: &MemberId) -> Result<Option<MemberCard>> {
    load(view, &keys::member_card(member))
}

/// An identity by key.
pub fn identity(view: &dyn StateRead, key: &PublicKey) -> Result<Option<Identity>> {
    load(view, &keys::identity(key))
}

/// Every identity of a club (active and revoked), in key order.
pub fn club_identities(view: &dyn StateRead, club: &ClubId) -> Result<Vec<Identity>> {
    let prefix = keys::club_identity_prefix(club);
    let mut out = Vec::new();
    for (key, _) in view.scan(&prefix, None, usize::MAX)? {
        let hex = keys::trailing_text(&key).expect("clubident key ends in a key");
        let public_key = PublicKey::from_hex(hex).expect("clubident key holds hex");
        out.extend(identity(view, &public_key)?);
    }
    Ok(out)
}

/// A member by id.
pub fn member(view: &dyn StateRead, id: &MemberId) -> Result<Option<Member>> {
    load(view, &keys::member(id))
}

/// The agreement between two clubs (either order).
pub fn agreement(view: &dyn StateRead, a: &ClubId, b: &ClubId) -> Result<Option<Agreement>> {
    load(view, &keys::agreement(a, b))
}

/// Every agreement a club is party to, in counterparty order.
pub fn club_agreements(view: &dyn StateRead, club: &ClubId) -> Result<Vec<Agreement>> {
    let prefix = keys::club_agreement_prefix(club);
    let mut out = Vec::new();
    for (key, _) in view.scan(&prefix, None, usize::MAX)? {
        let other = ClubId::parse(keys::trailing_text(&key).expect("clubagr key ends in a club"))
            .expect("clubagr key holds a club id");
        out.extend(agreement(view, club, &other)?);
    }
    Ok(out)
}

/// The current letter of introduction of a member to a host.
pub fn introduction(
    view: &dyn StateRead,
    host: &ClubId,
    member: &MemberId,
) -> Result<Option<Introduction>> {
    load(view, &keys::introduction(host, member))
}

/// A visit by id.
pub fn visit(view: &dyn StateRead, id: &TxId) -> Result<Option<Visit>> {
    load(view, &keys::visit(id))
}

/// A proposal by id; its tally is [`Proposal::tally`].
pub fn proposal(view: &dyn StateRead, id: &TxId) -> Result<Option<Proposal>> {
    load(view, &keys::proposal(id))
}

/// Open proposals by end time, at most `limit`.
pub fn open_proposals(view: &dyn StateRead, limit: usize) -> Result<Vec<Proposal>> {
    let mut out = Vec::new();
    for (key, _) in view.scan(keys::PROPOSAL_OPEN_PREFIX, None, limit)? {
        let id = keys::trailing_tx_id(&key).expect("propopen key ends in an id");
        out.extend(proposal(view, &id)?);
    }
    Ok(out)
}

/// Whether a transaction id has been used (and not yet pruned after expiry).
pub fn tx_used(view: &dyn StateRead, id: &TxId) -> Result<bool> {
    Ok(view.get(&keys::tx_used(id))?.is_some())
}

/// Visit-days a member has used and may use at a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    /// Visit-days used this calendar month (host's calendar).
    pub month_days_used: u32,
    /// Visit-days allowed per month.
    pub month_days_max: u32,
    /// Visit-days used this calendar year.
    pub year_days_used: u32,
    /// Visit-days allowed per year.
    pub year_days_max: u32,
    /// Whether today is already a visit-day (another check-in costs nothing).
    pub today_already_counted: bool,
}

impl Allowance {
    /// Visit-days left this month.
    pub fn month_days_remaining(&self) -> u32 {
        self.month_days_max.saturating_sub(self.month_days_used)
    }

    /// Visit-days left this year.
    pub fn year_days_remaining(&self) -> u32 {
        self.year_days_max.saturating_sub(self.year_days_used)
    }
}

/// The answer to a front-desk eligibility check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitCheck {
    /// `Ok` when a visit would be recorded; otherwise the first rule it breaks.
    pub code: ValidationCode,
    /// The host's local day at the time checked.
    pub local_day: u32,
    /// The member's home club, when the member is known.
    pub home_club: Option<ClubId>,
    /// Allowance under the terms in effect, when there are any.
    pub allowance: Option<Allowance>,
    /// Guests allowed per visit under the terms in effect.
    pub guests_max: Option<u32>,
    /// Fee per visit under the terms in effect: amount in minor units, currency, settlement.
    pub fee: Option<(u64, String, FeeSettlement)>,
    /// The member's tier, when the member is known.
    pub tier: Option<String>,
    /// The member's last day of validity, when the member is known.
    pub valid_until_day: Option<u32>,
    /// Under the terms in effect: whether they need a letter of
    /// introduction, and whether one covers the day checked.
    pub introduction: Option<IntroductionNeed>,
}

/// Whether the terms need a letter of introduction, and whether there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntroductionNeed {
    /// The terms need a letter for every visit.
    pub required: bool,
    /// A letter of the member to the host covers the day checked.
    pub present: bool,
}

/// Runs every visit rule at `at_ms` without writing: what recording a visit
/// of `member` with `guests` at `host` would answer, and the allowance left.
pub fn check_visit(
    view: &dyn StateRead,
    at_ms: u64,
    host: &ClubId,
    member: &MemberId,
    guests: u32,
) -> Result<VisitCheck> {
    let assessment = visit::assess(view, at_ms, host, member, guests)?;
    let terms = assessment.version.as_ref().map(|v| &v.terms);
    let allowance = match (terms, assessment.usage) {
        (Some(terms), Some(usage)) => Some(Allowance {
            month_days_used: usage.month_days_used,
            month_days_max: terms.visit_days_per_month_max,
            year_days_used: usage.year_days_used,
            year_days_max: terms.visit_days_per_year_max,
            today_already_counted: usage.day_check_ins > 0,
        }),
        _ => None,
    };
    let day = assessment.local_day;
    let introduction = match terms {
        Some(terms) => {
            let letter = introduction(view, host, member)?;
            let present =
                letter.is_some_and(|l| l.valid_from_day <= day && day <= l.valid_until_day);
            Some(IntroductionNeed { required: terms.introduction_required, present })
        }
        None => None,
    };
    Ok(VisitCheck {
        code: assessment.code,
        local_day: day,
        tier: assessment.member.as_ref().map(|m| m.tier.clone()),
        valid_until_day: assessment.member.as_ref().map(|m| m.valid_until_day),
        home_club: assessment.member.map(|m| m.home_club),
        allowance,
        guests_max: terms.map(|t| t.guests_per_visit_max),
        fee: terms.map(|t| (t.visit_fee_minor, t.fee_currency.clone(), t.fee_settlement)),
        introduction,
    })
}
