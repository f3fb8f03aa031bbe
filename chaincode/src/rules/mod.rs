//! The rules, one module per domain. Each rule reads through the overlay,
//! checks everything first and only then writes, and answers a violation with
//! a [`ValidationCode`]. Authorization (signer, club, role) is the first check
//! of every rule.

pub(crate) mod agreement;
pub(crate) mod card;
pub(crate) mod genesis;
pub(crate) mod governance;
pub(crate) mod identity;
pub(crate) mod member;
pub(crate) mod visit;

use crate::ValidationCode;
use crate::context::BlockContext;
use crate::decode::TxBody;
use crate::error::ChaincodeError;
use crate::event::Event;
use crate::keys;
use crate::model::{Club, ClubId, ClubStatus, Identity, Policy, PublicKey, Role, TxId};
use crate::state::load;
use crate::store::{Overlay, StateRead};

/// Why a rule did not apply.
#[derive(Debug)]
pub(crate) enum Reject {
    /// A rule violation: the transaction is invalid and changes nothing.
    Invalid(ValidationCode),
    /// The store failed or the state is corrupt: the block cannot be applied.
    Fatal(ChaincodeError),
}

impl From<ValidationCode> for Reject {
    fn from(code: ValidationCode) -> Self {
        Reject::Invalid(code)
    }
}

impl From<ChaincodeError> for Reject {
    fn from(error: ChaincodeError) -> Self {
        Reject::Fatal(error)
    }
}

/// Result of a rule.
pub(crate) type RuleResult<T> = Result<T, Reject>;

/// What a rule knows about the transaction it applies.
pub(crate) struct TxCtx<'c> {
    pub(crate) block: &'c BlockContext,
    pub(crate) tx_id: TxId,
    pub(crate) signer: PublicKey,
}

/// Applies one shape-checked body.
pub(crate) fn execute(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    body: TxBody,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let genesis_done = overlay.get(keys::GENESIS)?.is_some();
    if let TxBody::Genesis { clubs, policy } = body {
        if genesis_done {
            return Err(ValidationCode::GenesisAlreadyApplied.into());
        }
        return genesis::apply(overlay, cx, clubs, &policy, events);
    }
    if !genesis_done {
        return Err(ValidationCode::GenesisRequired.into());
    }
    match body {
        TxBody::Genesis { .. } => unreachable!("genesis handled above"),
        TxBody::EnrollIdentity { key, roles } => identity::enroll(overlay, cx, key, roles, events),
        TxBody::RevokeIdentity { key } => identity::revoke(overlay, cx, key, events),
        TxBody::RegisterMember { member_id, tier, valid_until_day } => {
            member::register(overlay, cx, member_id, tier, valid_until_day, events)
        }
        TxBody::UpdateMember { member_id, status, tier, valid_until_day } => {
            member::update(overlay, cx, member_id, status, tier, valid_until_day, events)
        }
        TxBody::ProposeAgreement { counterparty, terms, terms_hash } => {
            agreement::offer(overlay, cx, &counterparty, terms, terms_hash, false, events)
        }
        TxBody::AmendAgreement { counterparty, terms, terms_hash } => {
            agreement::offer(overlay, cx, &counterparty, terms, terms_hash, true, events)
        }
        TxBody::AcceptAgreement { counterparty, terms_hash } => {
            agreement::accept(overlay, cx, &counterparty, terms_hash, events)
        }
        TxBody::SuspendAgreement { counterparty } => {
            agreement::suspend(overlay, cx, &counterparty, events)
        }
        TxBody::ResumeAgreement { counterparty } => {
            agreement::resume(overlay, cx, &counterparty, events)
        }
        TxBody::TerminateAgreement { counterparty } => {
            agreement::terminate(overlay, cx, &counterparty, events)
        }
        TxBody::IssueIntroduction { member_id, host, from_day, until_day } => {
            member::introduce(overlay, cx, member_id, &host, from_day, until_day, events)
        }
        TxBody::RecordVisit { member_id, guests } => {
            visit::record(overlay, cx, member_id, guests, events)
        }
        TxBody::VoidVisit { visit_id } => visit::void(overlay, cx, visit_id, events),
        TxBody::CreateProposal { voting_period_ms, action } => {
            governance::create(overlay, cx, voting_period_ms, action, events)
        }
        TxBody::CastVote { proposal_id, choice } => {
            governance::vote(overlay, cx, proposal_id, choice, events)
        }
        TxBody::EnrollCardKey { key, possession_signature } => {
            card::enroll_key(overlay, cx, key, &possession_signature, events)
        }
        TxBody::RevokeCardKey { key } => card::revoke_key(overlay, cx, key, events),
        TxBody::IssueCard { member_id, card_key_id } => {
            card::issue(overlay, cx, member_id, card_key_id, events)
        }
    }
}

/// The signer's identity and club, if the signer may act in `role`.
pub(crate) fn authorize(
    view: &dyn StateRead,
    signer: &PublicKey,
    role: Role,
) -> RuleResult<(Identity, Club)> {
    let identity: Identity =
        load(view, &keys::identity(signer))?.ok_or(ValidationCode::UnknownSigner)?;
    if !identity.is_active() {
        return Err(ValidationCode::IdentityRevoked.into());
    }
    let club = club_of(view, &identity.club_id)?;
    if club.status != ClubStatus::Active {
        return Err(ValidationCode::SignerClubNotActive.into());
    }
    if !identity.roles.contains(role) {
        return Err(ValidationCode::MissingRole.into());
    }
    Ok((identity, club))
}

/// A club that must exist because state refers to it.
fn club_of(view: &dyn StateRead, id: &ClubId) -> RuleResult<Club> {
    let club = load::<Club>(view, &keys::club(id))?;
    Ok(club.ok_or_else(|| ChaincodeError::CorruptState {
        key: String::from_utf8_lossy(&keys::club(id)).into_owned(),
        reason: "referenced club is missing".to_owned(),
    })?)
}

/// A club named in a transaction: must exist.
pub(crate) fn known_club(view: &dyn StateRead, id: &ClubId) -> RuleResult<Club> {
    Ok(load::<Club>(view, &keys::club(id))?.ok_or(ValidationCode::UnknownClub)?)
}

/// A club named in a transaction: must exist and be active.
pub(crate) fn active_club(view: &dyn StateRead, id: &ClubId) -> RuleResult<Club> {
    let club = known_club(view, id)?;
    if club.status != ClubStatus::Active {
        return Err(ValidationCode::ClubNotActive.into());
    }
    Ok(club)
}

/// The policy in force (always present after genesis).
pub(crate) fn policy(view: &dyn StateRead) -> RuleResult<Policy> {
    Ok(load::<Policy>(view, keys::POLICY)?.ok_or_else(|| ChaincodeError::CorruptState {
        key: "gen/policy".to_owned(),
        reason: "policy missing after genesis".to_owned(),
    })?)
}
