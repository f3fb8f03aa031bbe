//! Bilateral agreements: offer (propose or amend), accept by terms hash,
//! suspend and resume per side, terminate with notice.

use super::{RuleResult, TxCtx, active_club, authorize, known_club};
use crate::ValidationCode;
use crate::calendar::{self, DAY_MS};
use crate::decode::limits::UTC_OFFSET_MINUTES_ABS_MAX;
use crate::event::Event;
use crate::keys;
use crate::model::{Agreement, Club, ClubId, Offer, Role, Termination, Terms, TermsVersion};
use crate::state::{load, save};
use crate::store::Overlay;

fn pair(a: &ClubId, b: &ClubId) -> (ClubId, ClubId) {
    if a <= b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) }
}

/// The signer's club (as admin) and the named counterparty, which must differ.
fn parties(
    overlay: &Overlay<'_>,
    cx: &TxCtx<'_>,
    counterparty: &ClubId,
    counterparty_must_be_active: bool,
) -> RuleResult<(Club, Club)> {
    let (_, own) = authorize(overlay, &cx.signer, Role::Admin)?;
    if &own.spec.club_id == counterparty {
        return Err(ValidationCode::AgreementWithSelf.into());
    }
    let other = if counterparty_must_be_active {
        active_club(overlay, counterparty)?
    } else {
        known_club(overlay, counterparty)?
    };
    Ok((own, other))
}

fn agreement_event(kind: &str, agreement: &Agreement, by: &ClubId) -> Event {
    Event::new(kind)
        .with("club_a", &agreement.clubs.0)
        .with("club_b", &agreement.clubs.1)
        .with("by", by)
}

/// An agreement that has been accepted and is not terminated at block time.
fn in_force(
    overlay: &Overlay<'_>,
    cx: &TxCtx<'_>,
    a: &ClubId,
    b: &ClubId,
) -> RuleResult<Agreement> {
    let agreement: Agreement =
        load(overlay, &keys::agreement(a, b))?.ok_or(ValidationCode::NoAgreement)?;
    if agreement.versions.is_empty() {
        return Err(ValidationCode::NoAgreement.into());
    }
    if agreement.is_terminated_at(cx.block.timestamp_ms) {
        return Err(ValidationCode::AgreementTerminated.into());
    }
    Ok(agreement)
}

pub(crate) fn offer(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    counterparty: &ClubId,
    terms: Terms,
    terms_hash: [u8; 32],
    is_amendment: bool,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (own, _) = parties(overlay, cx, counterparty, true)?;
    let own_id = own.spec.club_id;
    let now_ms = cx.block.timestamp_ms;
    let existing: Option<Agreement> = load(overlay, &keys::agreement(&own_id, counterparty))?;
    let offer = Offer {
        offered_by: own_id.clone(),
        terms,
        terms_hash,
        is_amendment,
        offered_height: cx.block.height,
    };
    let agreement = if is_amendment {
        let mut agreement = in_force(overlay, cx, &own_id, counterparty)?;
        if agreement.termination.is_some() {
            return Err(ValidationCode::AgreementTerminating.into());
        }
        agreement.pending = Some(offer);
        agreement
    } else {
        match existing {
            Some(a) if !a.versions.is_empty() && !a.is_terminated_at(now_ms) => {
                return Err(ValidationCode::AgreementExists.into());
            }
            // A counter-offer replaces the pending one.
            Some(mut a) if a.versions.is_empty() => {
                a.pending = Some(offer);
                a
            }
            // No agreement, or only a terminated one: start afresh.
            _ => Agreement {
                clubs: pair(&own_id, counterparty),
                versions: Vec::new(),
                pending: Some(offer),
                suspended_by: Vec::new(),
                termination: None,
                next_version: 1,
            },
        }
    };
    let kind = if is_amendment { "agreement.amendment_offered" } else { "agreement.offered" };
    events.push(
        agreement_event(kind, &agreement, &own_id).with("terms_hash", hex::encode(terms_hash)),
    );
    overlay.put(keys::club_agreement(&own_id, counterparty), Vec::new());
    overlay.put(keys::club_agreement(counterparty, &own_id), Vec::new());
    save(overlay, keys::agreement(&own_id, counterparty), &agreement);
    Ok(())
}

pub(crate) fn accept(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    counterparty: &ClubId,
    terms_hash: [u8; 32],
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (own, _) = parties(overlay, cx, counterparty, true)?;
    let own_id = own.spec.club_id;
    let mut agreement: Agreement = load(overlay, &keys::agreement(&own_id, counterparty))?
        .ok_or(ValidationCode::NoPendingOffer)?;
    let offer = agreement.pending.take().ok_or(ValidationCode::NoPendingOffer)?;
    if offer.offered_by == own_id {
        return Err(ValidationCode::CannotAcceptOwnOffer.into());
    }
    if offer.terms_hash != terms_hash {
        return Err(ValidationCode::TermsHashMismatch.into());
    }
    if offer.is_amendment {
        if agreement.is_terminated_at(cx.block.timestamp_ms) {
            return Err(ValidationCode::AgreementTerminated.into());
        }
        if agreement.termination.is_some() {
            return Err(ValidationCode::AgreementTerminating.into());
        }
    }
    let version = agreement.next_version;
    agreement.next_version += 1;
    // Accepted terms apply from their start day on: they replace every
    // version that would start on or after it.
    let starts = offer.terms.valid_from_day;
    agreement.versions.retain(|v| v.terms.valid_from_day < starts);
    agreement.versions.push(TermsVersion {
        version,
        terms: offer.terms,
        terms_hash,
        offered_by: offer.offered_by,
        accepted_height: cx.block.height,
    });
    agreement.versions.sort_by_key(|v| (v.terms.valid_from_day, v.version));
    prune_superseded(&mut agreement, cx.block.timestamp_ms);
    let kind = if offer.is_amendment { "agreement.amended" } else { "agreement.accepted" };
    events.push(
        agreement_event(kind, &agreement, &own_id)
            .with("version", version)
            .with("terms_hash", hex::encode(terms_hash)),
    );
    save(overlay, keys::agreement(&own_id, counterparty), &agreement);
    Ok(())
}

/// Drops versions that can never apply again: those followed by a version
/// that has started everywhere on Earth.
fn prune_superseded(agreement: &mut Agreement, now_ms: u64) {
    let earliest_day_anywhere = calendar::local_day(now_ms, -UTC_OFFSET_MINUTES_ABS_MAX);
    let started =
        agreement.versions.iter().rposition(|v| v.terms.valid_from_day <= earliest_day_anywhere);
    if let Some(index) = started {
        agreement.versions.drain(..index);
    }
    assert!(!agreement.versions.is_empty(), "agreement: pruning left no version");
}

pub(crate) fn suspend(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    counterparty: &ClubId,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (own, _) = parties(overlay, cx, counterparty, false)?;
    let own_id = own.spec.club_id;
    let mut agreement = in_force(overlay, cx, &own_id, counterparty)?;
    match agreement.suspended_by.binary_search(&own_id) {
        Ok(_) => return Err(ValidationCode::AgreementAlreadySuspended.into()),
        Err(at) => agreement.suspended_by.insert(at, own_id.clone()),
    }
    events.push(agreement_event("agreement.suspended", &agreement, &own_id));
    save(overlay, keys::agreement(&own_id, counterparty), &agreement);
    Ok(())
}

pub(crate) fn resume(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    counterparty: &ClubId,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (own, _) = parties(overlay, cx, counterparty, false)?;
    let own_id = own.spec.club_id;
    let mut agreement = in_force(overlay, cx, &own_id, counterparty)?;
    match agreement.suspended_by.binary_search(&own_id) {
        Ok(at) => agreement.suspended_by.remove(at),
        Err(_) => return Err(ValidationCode::AgreementNotSuspended.into()),
    };
    events.push(agreement_event("agreement.resumed", &agreement, &own_id));
    save(overlay, keys::agreement(&own_id, counterparty), &agreement);
    Ok(())
}

pub(crate) fn terminate(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    counterparty: &ClubId,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (own, _) = parties(overlay, cx, counterparty, false)?;
    let own_id = own.spec.club_id;
    let mut agreement = in_force(overlay, cx, &own_id, counterparty)?;
    if agreement.termination.is_some() {
        return Err(ValidationCode::AgreementTerminating.into());
    }
    let today = calendar::local_day(cx.block.timestamp_ms, own.spec.utc_offset_minutes);
    // The notice of the terms in effect; before any has started, of the first.
    let notice_days = agreement
        .version_on(today)
        .or(agreement.versions.first())
        .expect("agreement in force has a version")
        .terms
        .notice_days;
    let effective_at_ms = cx.block.timestamp_ms + u64::from(notice_days) * DAY_MS;
    agreement.termination = Some(Termination { by: own_id.clone(), effective_at_ms });
    agreement.pending = None;
    events.push(
        agreement_event("agreement.terminated", &agreement, &own_id)
            .with("effective_at_ms", effective_at_ms),
    );
    save(overlay, keys::agreement(&own_id, counterparty), &agreement);
    Ok(())
}
