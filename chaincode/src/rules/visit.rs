//! Visits: the eligibility assessment (shared with the read-only check), the
//! recording of a visit with its visit-day counters, and voiding.
//!
//! Counting: a visit-day is a day (in the host's UTC offset) with at least one
//! non-voided check-in of the member at that host. `vday` counts check-ins per
//! day; `vmonth`/`vyear` count visit-days, and change only when a day's
//! check-ins go from 0 to 1 or back.

use super::{Reject, RuleResult, TxCtx, authorize};
use crate::ValidationCode;
use crate::calendar::{self, DAY_MS};
use crate::error::ChaincodeError;
use crate::event::Event;
use crate::keys;
use crate::model::{
    Agreement, AgreementStatus, Club, ClubId, ClubStatus, Introduction, Member, MemberId,
    MemberStatus, Role, TermsVersion, TxId, Visit, Voiding,
};
use crate::state::{load, load_count, save, save_count};
use crate::store::{Overlay, StateRead};

/// How much of the allowance a member has used at a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) day_check_ins: u32,
    pub(crate) month_key: u32,
    pub(crate) month_days_used: u32,
    pub(crate) year: u32,
    pub(crate) year_days_used: u32,
}

/// Everything the rules found out about a prospective visit.
#[derive(Debug, Clone)]
pub(crate) struct Assessment {
    pub(crate) code: ValidationCode,
    pub(crate) local_day: u32,
    pub(crate) member: Option<Member>,
    pub(crate) version: Option<TermsVersion>,
    pub(crate) usage: Option<Usage>,
}

fn usage(view: &dyn StateRead, host: &ClubId, member: &MemberId, day: u32) -> RuleResult<Usage> {
    let month_key = calendar::month_key(day);
    let year = calendar::year_of(day);
    Ok(Usage {
        day_check_ins: load_count(view, &keys::visit_day(host, member, day))?,
        month_key,
        month_days_used: load_count(view, &keys::visit_month(host, member, month_key))?,
        year,
        year_days_used: load_count(view, &keys::visit_year(host, member, year))?,
    })
}

/// Runs every visit rule for `member_id` at `host_id` at `at_ms`, without writing.
pub(crate) fn assess(
    view: &dyn StateRead,
    at_ms: u64,
    host_id: &ClubId,
    member_id: &MemberId,
    guests: u32,
) -> Result<Assessment, ChaincodeError> {
    let mut out = Assessment {
        code: ValidationCode::Ok,
        local_day: 0,
        member: None,
        version: None,
        usage: None,
    };
    match assess_into(view, at_ms, host_id, member_id, guests, &mut out) {
        Ok(()) => Ok(out),
        Err(Reject::Invalid(code)) => {
            out.code = code;
            Ok(out)
        }
        Err(Reject::Fatal(e)) => Err(e),
    }
}

fn assess_into(
    view: &dyn StateRead,
    at_ms: u64,
    host_id: &ClubId,
    member_id: &MemberId,
    guests: u32,
    out: &mut Assessment,
) -> RuleResult<()> {
    let host: Club = load(view, &keys::club(host_id))?.ok_or(ValidationCode::UnknownClub)?;
    out.local_day = calendar::local_day(at_ms, host.spec.utc_offset_minutes);
    let day = out.local_day;
    if host.status != ClubStatus::Active {
        return Err(ValidationCode::ClubNotActive.into());
    }
    let member: Member =
        load(view, &keys::member(member_id))?.ok_or(ValidationCode::UnknownMember)?;
    out.member = Some(member.clone());
    if &member.home_club == host_id {
        return Err(ValidationCode::VisitingOwnClub.into());
    }
    let home: Club =
        load(view, &keys::club(&member.home_club))?.ok_or(ValidationCode::UnknownClub)?;
    if home.status != ClubStatus::Active {
        return Err(ValidationCode::ClubNotActive.into());
    }
    let agreement: Agreement = load(view, &keys::agreement(host_id, &member.home_club))?
        .ok_or(ValidationCode::NoAgreement)?;
    let status = agreement.status_at(at_ms, day);
    let version = agreement.version_on(day).cloned();
    out.version = version.clone();
    if version.is_some() {
        out.usage = Some(usage(view, host_id, member_id, day)?);
    }
    match status {
        AgreementStatus::Proposed => return Err(ValidationCode::NoAgreement.into()),
        AgreementStatus::Terminated => return Err(ValidationCode::AgreementTerminated.into()),
        AgreementStatus::NotYetInEffect => {
            return Err(ValidationCode::AgreementNotInEffect.into());
        }
        AgreementStatus::Expired => return Err(ValidationCode::AgreementExpired.into()),
        AgreementStatus::Suspended => return Err(ValidationCode::AgreementSuspended.into()),
        AgreementStatus::Active | AgreementStatus::Terminating => {}
    }
    let terms = &version.as_ref().expect("active agreement has a version in effect").terms;
    if terms.blackouts.iter().any(|range| range.contains(day)) {
        return Err(ValidationCode::Blackout.into());
    }
    if member.status != MemberStatus::Active {
        return Err(ValidationCode::MemberNotActive.into());
    }
    if day > member.valid_until_day {
        return Err(ValidationCode::MemberExpired.into());
    }
    if !terms.tiers_covered.contains(&member.tier) {
        return Err(ValidationCode::TierNotCovered.into());
    }
    if guests > terms.guests_per_visit_max {
        return Err(ValidationCode::TooManyGuests.into());
    }
    if terms.introduction_required {
        let letter: Option<Introduction> = load(view, &keys::introduction(host_id, member_id))?;
        let covered = letter.is_some_and(|l| l.valid_from_day <= day && day <= l.valid_until_day);
        if !covered {
            return Err(ValidationCode::IntroductionRequired.into());
        }
    }
    let used = out.usage.expect("usage read with the version");
    if used.day_check_ins == 0 {
        if used.month_days_used >= terms.visit_days_per_month_max {
            return Err(ValidationCode::MonthlyQuotaExceeded.into());
        }
        if used.year_days_used >= terms.visit_days_per_year_max {
            return Err(ValidationCode::YearlyQuotaExceeded.into());
        }
    }
    Ok(())
}

pub(crate) fn record(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    member_id: MemberId,
    guests: u32,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, host) = authorize(overlay, &cx.signer, Role::FrontDesk)?;
    let host_id = host.spec.club_id;
    let assessment = assess(overlay, cx.block.timestamp_ms, &host_id, &member_id, guests)?;
    if !assessment.code.is_ok() {
        return Err(assessment.code.into());
    }
    let member = assessment.member.expect("valid visit has a member");
    let version = assessment.version.expect("valid visit has terms");
    let used = assessment.usage.expect("valid visit has usage");
    let day = assessment.local_day;
    let new_visit_day = used.day_check_ins == 0;
    save_count(overlay, keys::visit_day(&host_id, &member_id, day), used.day_check_ins + 1);
    if new_visit_day {
        let month = used.month_days_used + 1;
        let year = used.year_days_used + 1;
        assert!(month <= version.terms.visit_days_per_month_max, "visit: month quota overrun");
        assert!(year <= version.terms.visit_days_per_year_max, "visit: year quota overrun");
        save_count(overlay, keys::visit_month(&host_id, &member_id, used.month_key), month);
        save_count(overlay, keys::visit_year(&host_id, &member_id, used.year), year);
    }
    let visit = Visit {
        visit_id: cx.tx_id,
        host_club: host_id.clone(),
        home_club: member.home_club.clone(),
        member_id,
        at_ms: cx.block.timestamp_ms,
        local_day: day,
        guests,
        fee_minor: version.terms.visit_fee_minor,
        fee_currency: version.terms.fee_currency.clone(),
        fee_settlement: version.terms.fee_settlement,
        terms_version: version.version,
        voided: None,
    };
    events.push(
        Event::new("visit.recorded")
            .with("visit_id", cx.tx_id)
            .with("host_club", &host_id)
            .with("home_club", &member.home_club)
            .with("member_id", member_id)
            .with("local_day", day)
            .with("new_visit_day", new_visit_day)
            .with("guests", guests)
            .with("fee_minor", visit.fee_minor)
            .with("fee_currency", &visit.fee_currency)
            .with("terms_version", version.version),
    );
    save(overlay, keys::visit(&cx.tx_id), &visit);
    Ok(())
}

/// A counter that must be positive because a visit counted in it.
fn decrement(overlay: &mut Overlay<'_>, key: Vec<u8>) -> RuleResult<u32> {
    let count = load_count(overlay, &key)?;
    if count == 0 {
        return Err(ChaincodeError::CorruptState {
            key: String::from_utf8_lossy(&key).into_owned(),
            reason: "visit counter is zero while a visit counts in it".to_owned(),
        }
        .into());
    }
    save_count(overlay, key, count - 1);
    Ok(count - 1)
}

pub(crate) fn void(
    overlay: &mut Overlay<'_>,
    cx: &TxCtx<'_>,
    visit_id: TxId,
    events: &mut Vec<Event>,
) -> RuleResult<()> {
    let (_, club) = authorize(overlay, &cx.signer, Role::FrontDesk)?;
    let mut visit: Visit =
        load(overlay, &keys::visit(&visit_id))?.ok_or(ValidationCode::UnknownVisit)?;
    if visit.host_club != club.spec.club_id {
        return Err(ValidationCode::NotHostClub.into());
    }
    if visit.voided.is_some() {
        return Err(ValidationCode::VisitAlreadyVoided.into());
    }
    if cx.block.timestamp_ms > visit.at_ms + DAY_MS {
        return Err(ValidationCode::VoidWindowPassed.into());
    }
    let (host, member, day) = (&visit.host_club, &visit.member_id, visit.local_day);
    let day_left = decrement(overlay, keys::visit_day(host, member, day))?;
    if day_left == 0 {
        decrement(overlay, keys::visit_month(host, member, calendar::month_key(day)))?;
        decrement(overlay, keys::visit_year(host, member, calendar::year_of(day)))?;
    }
    visit.voided = Some(Voiding { at_ms: cx.block.timestamp_ms, tx_id: cx.tx_id });
    events.push(
        Event::new("visit.voided")
            .with("visit_id", visit_id)
            .with("host_club", &visit.host_club)
            .with("member_id", visit.member_id)
            .with("local_day", day)
            .with("visit_day_released", day_left == 0),
    );
    save(overlay, keys::visit(&visit_id), &visit);
    Ok(())
}
