//! Governance: proposals, votes, closing (decided early or at the end time)
//! and deterministic execution of passed proposals in the same block.
//!
//! Electorate: the clubs active when the proposal is created, minus the club
//! a suspension or removal is about. One vote per club; a later vote by any of
//! the club's governors replaces the earlier one while the vote is open.
//!
//! Passing: turnout × 10 000 ≥ quorum_bp × electorate, and
//! yes × 10 000 > threshold_bp × (yes + no). Removals use the removal threshold.
//!
//! Closing early: after every vote, the proposal closes as soon as no choice
//! of the clubs that have not voted yet can change the outcome.

use super::genesis::{admit, check_admissible};
use super::{RuleResult, TxCtx, authorize, known_club, policy};
use crate::ValidationCode;
use crate::event::Event;
use crate::keys;
use crate::model::{
    CloseReason, Club, ClubId, ClubStatus, Proposal, ProposalAction, ProposalStatus, Role, Tally,
    TxId, VoteChoice,
};
use crate::state::{load, save};
use crate::store::{Overlay, StateRead};

/// Whether a final tally passes.
pub fn passes(tally: Tally, quorum_bp: u32, threshold_bp: u32) -> bool {
    let turnout = u64::from(tally.yes + tally.no + tally.abstain);
    let quorum_met = turnout * 10_000 >= u64::from(quorum_bp) * u64::from(tally.electorate);
    let decisive = u64::from(tally.yes + tally.no);
    let threshold_met = u64::from(tally.yes) * 10_000 > u64::from(threshold_bp) * decisive;
    quorum_met && threshold_met
}

/// `Some(outcome)` when no choice of the clubs that have not voted can change it.
pub fn decided(tally: Tally, quorum_bp: u32, threshold_bp: u32) -> Option<bool> {
    let rest = tally.not_voted();
    // All remaining yes is the best case for passing.
    let best = Tally { yes: tally.yes + rest, ..tally };
    if !passes(best, quorum_bp, threshold_bp) {
        return Some(false);
    }
    // Failing is possible by staying away (turnout) or by voting no (threshold).
    let worst_turnout = tally;
    let worst_share = Tally { no: tally.no + rest, ..tally };
    let can_fail = !passes(worst_turnout, quorum_bp, threshold_bp)
        || !passes(worst_share, quorum_bp, threshold_bp);
    if !can_fail {
        return Some(true);
    }
    None
}

/// Checks that `action` can be carried out on the current state.
fn check_action(view: &dyn StateRead, action: &ProposalAction) -> RuleResult<()> {
    match action {
        ProposalAction::AdmitClub(spec) => check_admissible(view, spec),
        ProposalAction::SuspendClub(id) => expect_status(view, id, &[ClubStatus::Active]),
        ProposalAction::ReinstateClub(id) => expect_status(view, id, &[ClubStatus::Suspended]),
        ProposalAction::RemoveClub(id) => {
            expect_status(view, id, &[ClubStatus::Active, ClubStatus::Suspended])
        }
        ProposalAction::ChangePolicy(_) | ProposalAction::Resolution(_) => Ok(()),
    }
}

fn expect_status(view: &dyn StateRead, id: &ClubId, allowed: &[ClubStatus]) -> RuleResult<()> {
    let club = known_club(view, id)?;
    if !allowed.contains(&club.status) {
        return Err(ValidationCode::ClubStateConflict.into());
    }
    Ok(())
}

/// Every club, in id order.
pub(crate) fn all_clubs(view: &dyn StateRead) -> crate::Result<Vec<Club>> {
    const PAGE: usize = 256;
    let mut clubs = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = view.scan(keys::CLUB_PREFIX, after.as_deref(), PAGE)?;
        let full = page.len() == PAGE;
        for (key, value) in page {
            clubs.push(crate::state::decode::<Club>(&key, &value)?);
            after = Some(key);
        }
        if !full {
            return Ok(clubs);
        }
    }
}

pub(crate) fn create(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    voting_period_ms: u64,
    action: ProposalAction,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Governor)?;
    let policy = policy(overlay)?;
    if !(policy.voting_period_ms_min..=policy.voting_period_ms_max).contains(&voting_period_ms) {
        return Err(ValidationCode::VotingPeriodOutOfBounds.into());
    }
    check_action(overlay, &action)?;
    let excluded = action.excluded_voter();
    let electorate: Vec<ClubId> = all_clubs(overlay)?
        .into_iter()
        .filter(|c| c.status == ClubStatus::Active && Some(&c.spec.club_id) != excluded)
        .map(|c| c.spec.club_id)
        .collect();
    if electorate.is_empty() {
        return Err(ValidationCode::InvalidProposal.into());
    }
    let threshold_bp = match action {
        ProposalAction::RemoveClub(_) => policy.removal_threshold_bp,
        _ => policy.threshold_bp,
    };
    let ends_at_ms = cx.block.timestamp_ms + voting_period_ms;
    let proposal = Proposal {
        proposal_id: cx.tx_id,
        proposer_club: club.spec.club_id,
        action,
        created_at_ms: cx.block.timestamp_ms,
        ends_at_ms,
        electorate,
        votes: Vec::new(),
        quorum_bp: policy.quorum_bp,
        threshold_bp,
        status: ProposalStatus::Open,
        closed: None,
        execution_failure: None,
    };
    events.push(
        Event::new("proposal.created")
            .with("proposal_id", cx.tx_id)
            .with("proposer_club", &proposal.proposer_club)
            .with("action", proposal.action.kind())
            .with("ends_at_ms", ends_at_ms)
            .with("electorate", proposal.electorate.len()),
    );
    overlay.put(keys::proposal_open(ends_at_ms, &cx.tx_id), Vec::new());
    save(overlay, keys::proposal(&cx.tx_id), &proposal);
    Ok(())
}

pub(crate) fn vote(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    proposal_id: TxId,
    choice: VoteChoice,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::Governor)?;
    let club_id = club.spec.club_id;
    let mut proposal: Proposal =
        load(overlay, &keys::proposal(&proposal_id))?.ok_or(ValidationCode::UnknownProposal)?;
    if proposal.status != ProposalStatus::Open || cx.block.timestamp_ms >= proposal.ends_at_ms {
        return Err(ValidationCode::ProposalClosed.into());
    }
    if proposal.electorate.binary_search(&club_id).is_err() {
        return Err(ValidationCode::NotInElectorate.into());
    }
    let replaced = match proposal.votes.binary_search_by(|(c, _)| c.cmp(&club_id)) {
        Ok(at) => {
            proposal.votes[at].1 = choice;
            true
        }
        Err(at) => {
            proposal.votes.insert(at, (club_id.clone(), choice));
            false
        }
    };
    let tally = proposal.tally();
    events.push(
        Event::new("vote.cast")
            .with("proposal_id", proposal_id)
            .with("club_id", &club_id)
            .with("choice", format!("{choice:?}"))
            .with("replaced", replaced)
            .with("yes", tally.yes)
            .with("no", tally.no)
            .with("abstain", tally.abstain),
    );
    if decided(tally, proposal.quorum_bp, proposal.threshold_bp).is_some() {
        close(
            overlay,
            cx.block.timestamp_ms,
            cx.block.height,
            &mut proposal,
            CloseReason::Decided,
            events,
        )?;
    }
    save(overlay, keys::proposal(&proposal_id), &proposal);
    Ok(())
}

/// Closes `proposal` (the caller saves it) and executes it if it passed.
pub(crate) fn close(
    overlay: &mut Overlay<'_>,
    now_ms: u64,
    height: u64,
    proposal: &mut Proposal,
    reason: CloseReason,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    assert_eq!(proposal.status, ProposalStatus::Open, "governance: closing a closed proposal");
    let tally = proposal.tally();
    let passed = passes(tally, proposal.quorum_bp, proposal.threshold_bp);
    proposal.status = if passed { ProposalStatus::Passed } else { ProposalStatus::Rejected };
    proposal.closed = Some((now_ms, reason));
    overlay.delete(keys::proposal_open(proposal.ends_at_ms, &proposal.proposal_id));
    events.push(
        Event::new("proposal.closed")
            .with("proposal_id", proposal.proposal_id)
            .with("action", proposal.action.kind())
            .with("outcome", if passed { "passed" } else { "rejected" })
            .with("reason", format!("{reason:?}"))
            .with("yes", tally.yes)
            .with("no", tally.no)
            .with("abstain", tally.abstain)
            .with("electorate", tally.electorate),
    );
    if passed {
        match check_action(overlay, &proposal.action) {
            Ok(()) => execute(overlay, height, proposal, events)?,
            Err(super::Reject::Invalid(code)) => {
                proposal.execution_failure = Some(code);
                events.push(
                    Event::new("proposal.execution_failed")
                        .with("proposal_id", proposal.proposal_id)
                        .with("code", code.name()),
                );
            }
            Err(fatal) => return Err(fatal),
        }
    }
    Ok(())
}

fn set_status(overlay: &mut Overlay<'_>, id: &ClubId, status: ClubStatus) -> RuleResult<()> {
    let mut club = known_club(overlay, id)?;
    club.status = status;
    save(overlay, keys::club(id), &club);
    Ok(())
}

/// Carries out a passed proposal; `check_action` has passed.
fn execute(
    overlay: &mut Overlay<'_>,
    height: u64,
    proposal: &Proposal,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let id = proposal.proposal_id;
    match &proposal.action {
        ProposalAction::AdmitClub(spec) => admit(overlay, height, spec.clone(), events)?,
        ProposalAction::SuspendClub(club) => {
            set_status(overlay, club, ClubStatus::Suspended)?;
            events.push(Event::new("club.suspended").with("club_id", club).with("proposal_id", id));
        }
        ProposalAction::ReinstateClub(club) => {
            set_status(overlay, club, ClubStatus::Active)?;
            events
                .push(Event::new("club.reinstated").with("club_id", club).with("proposal_id", id));
        }
        ProposalAction::RemoveClub(club) => {
            set_status(overlay, club, ClubStatus::Removed)?;
            events.push(Event::new("club.removed").with("club_id", club).with("proposal_id", id));
        }
        ProposalAction::ChangePolicy(new_policy) => {
            save(overlay, keys::POLICY.to_vec(), new_policy);
            events.push(Event::new("policy.changed").with("proposal_id", id));
        }
        ProposalAction::Resolution(_) => {
            events.push(Event::new("resolution.adopted").with("proposal_id", id));
        }
    }
    Ok(())
}

/// Most proposals closed at their end time per block. Any beyond wait for
/// the next block; they take no votes meanwhile (voting checks the end time).
pub const PROPOSALS_CLOSED_PER_BLOCK_MAX: usize = 256;

/// Closes open proposals whose end time is at or before `now_ms`, oldest first.
pub(crate) fn close_due(
    overlay: &mut Overlay<'_>,
    now_ms: u64,
    height: u64,
    events: &mut Vec<Event>,
) -> crate::Result<()> {
    let due: Vec<TxId> = crate::store::leading_keys_while(
        overlay,
        keys::PROPOSAL_OPEN_PREFIX,
        PROPOSALS_CLOSED_PER_BLOCK_MAX,
        |key| {
            keys::number_after(keys::PROPOSAL_OPEN_PREFIX, key)
                .expect("propopen key has an end time")
                <= now_ms
        },
    )?
    .into_iter()
    .map(|key| keys::trailing_tx_id(&key).expect("propopen key has a proposal id"))
    .collect();
    for id in due {
        let mut proposal: Proposal = load(overlay, &keys::proposal(&id))?
            .expect("open-proposal index points at a stored proposal");
        match close(overlay, now_ms, height, &mut proposal, CloseReason::EndTimeReached, events) {
            Ok(()) => {}
            Err(super::Reject::Fatal(e)) => return Err(e),
            Err(super::Reject::Invalid(code)) => {
                unreachable!("closing records execution failures itself, got {code}")
            }
        }
        save(overlay, keys::proposal(&id), &proposal);
        overlay.commit_tx();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(yes: u32, no: u32, abstain: u32, electorate: u32) -> Tally {
        Tally { yes, no, abstain, electorate }
    }

    #[test]
    fn passing_needs_quorum_and_strictly_more_than_the_threshold() {
        let check =
            |tally, expected| assert_eq!(passes(tally, 5_000, 5_000), expected, "{tally:?}");
        check(t(2, 1, 0, 3), true);
        check(t(1, 1, 0, 3), false); // a tie does not exceed 50%
        check(t(1, 0, 0, 3), false); // turnout 1/3 < 50%
        check(t(1, 0, 1, 4), true); // turnout 2/4 meets 50%
        check(t(0, 0, 3, 3), false); // no yes at all
    }

    #[test]
    fn decided_early_only_when_the_remaining_votes_cannot_change_the_outcome() {
        let check =
            |tally, expected| assert_eq!(decided(tally, 5_000, 5_000), expected, "{tally:?}");
        check(t(2, 0, 0, 3), Some(true));
        check(t(1, 0, 0, 3), None);
        check(t(0, 2, 0, 3), Some(false));
        check(t(1, 1, 0, 3), None);
        check(t(0, 0, 0, 3), None);
        check(t(1, 1, 1, 3), Some(false));
    }
}
