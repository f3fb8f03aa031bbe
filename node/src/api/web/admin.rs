//! The admin's agreement pages: every other club with the agreement's
//! state; an agreement's page with the terms in force and a pending offer
//! side by side, the differences marked; accept, suspend, resume and
//! terminate (the date it takes effect shown first); the form to propose
//! or amend terms. Writes go through the REST handlers' own
//! `agreements::offer_as`, `accept_as` and `side_as`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reciprocity_chaincode::{Agreement, AgreementStatus, ClubId, ClubStatus, Terms, query};
use reciprocity_sdk::dates;
use serde::Deserialize;

use super::assets::{self, AssetNames};
use super::page::{Chrome, Signed, api_error_page, club_facts, local_date_time, render};
use crate::api::rest::ApiState;
use crate::api::rest::agreements::terms::counterparty;
use crate::api::rest::agreements::{Blackout, Side, TermsInput, accept_as, offer_as, side_as};
use crate::api::rest::error::ApiError;
use crate::api::rest::require::Admin;
use crate::api::views::{money_text, settlement_words};
use crate::clock::now_ms;

/// A club in the agreements list.
#[derive(Debug, Clone)]
pub struct ClubLine {
    /// Club id (link target).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The agreement's state in words.
    pub state: String,
    /// Whether an offer awaits this club's answer.
    pub offer_waiting: bool,
}

#[derive(Template)]
#[template(path = "agreements.html")]
struct AgreementsPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    clubs: Vec<ClubLine>,
}

fn status_words(status: AgreementStatus) -> &'static str {
    match status {
        AgreementStatus::Proposed => "offered, not yet accepted",
        AgreementStatus::NotYetInEffect => "accepted, not yet in effect",
        AgreementStatus::Active => "in force",
        AgreementStatus::Suspended => "suspended",
        AgreementStatus::Terminating => "in force, under notice of termination",
        AgreementStatus::Terminated => "terminated",
        AgreementStatus::Expired => "expired",
    }
}

fn today() -> u32 {
    dates::day_of_ms(now_ms())
}

/// The agreements (`GET /agreements`): every other club of the network.
pub async fn agreements(signed: Signed<Admin>, State(state): State<ApiState>) -> Response {
    let own = state.club().clone();
    let lines: Result<Vec<ClubLine>, ApiError> = (|| {
        let view = state.node().ledger().state();
        let mut lines = Vec::new();
        for club in query::clubs(&view)? {
            let id = club.spec.club_id.clone();
            if id == own || club.status == ClubStatus::Removed {
                continue;
            }
            let agreement = query::agreement(&view, &own, &id)?;
            let (state_text, offer_waiting) = match &agreement {
                None => ("no agreement".to_owned(), false),
                Some(a) => {
                    let mut text = status_words(a.status_at(now_ms(), today())).to_owned();
                    let waiting = a.pending.as_ref().is_some_and(|o| o.offered_by != own);
                    if let Some(offer) = &a.pending {
                        let what = if offer.is_amendment { "amendment" } else { "offer" };
                        if waiting {
                            text.push_str(&format!("; an {what} from {id} awaits your answer"));
                        } else {
                            text.push_str(&format!("; your {what} awaits {id}'s answer"));
                        }
                    }
                    (text, waiting)
                }
            };
            let name = if club.status == ClubStatus::Suspended {
                format!("{} (club suspended)", club.spec.name)
            } else {
                club.spec.name
            };
            lines.push(ClubLine { id: id.to_string(), name, state: state_text, offer_waiting });
        }
        Ok(lines)
    })();
    match lines {
        Ok(clubs) => {
            let chrome = Chrome::of(&state, &signed.session, "/agreements");
            render(StatusCode::OK, &AgreementsPage { assets: assets::names(), chrome, clubs })
        }
        Err(error) => api_error_page(&state, &signed.session, &error),
    }
}

/// One line of the terms compared.
#[derive(Debug, Clone)]
pub struct TermsRow {
    /// What the line is.
    pub label: &'static str,
    /// In the terms in force (empty when none).
    pub current: String,
    /// In the offer (empty when none).
    pub offered: String,
    /// Whether they differ (both present).
    pub changed: bool,
}

/// Terms, line by line, in words.
fn terms_lines(terms: &Terms) -> Vec<(&'static str, String)> {
    let fee = if terms.visit_fee_minor == 0 {
        "none".to_owned()
    } else {
        format!(
            "{}, {}",
            money_text(terms.visit_fee_minor, &terms.fee_currency),
            settlement_words(crate::api::views::settlement_name(terms.fee_settlement))
        )
    };
    let blackouts = if terms.blackouts.is_empty() {
        "none".to_owned()
    } else {
        terms
            .blackouts
            .iter()
            .map(|b| {
                format!("{} to {}", dates::format_day(b.first_day), dates::format_day(b.last_day))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        ("Tiers covered", terms.tiers_covered.join(", ")),
        ("Visit-days per month", terms.visit_days_per_month_max.to_string()),
        ("Visit-days per year", terms.visit_days_per_year_max.to_string()),
        ("Guests per visit", terms.guests_per_visit_max.to_string()),
        ("Fee per visit", fee),
        ("Valid from", dates::format_day(terms.valid_from_day)),
        (
            "Valid until",
            terms.valid_until_day.map_or_else(|| "no end date".to_owned(), dates::format_day),
        ),
        ("Blackouts", blackouts),
        ("Notice to terminate", crate::words::count_of(terms.notice_days as usize, "day", "days")),
        (
            "Letter of introduction",
            if terms.introduction_required { "required" } else { "not required" }.to_owned(),
        ),
    ]
}

/// The terms in force and the offer, side by side.
fn compare(current: Option<&Terms>, offered: Option<&Terms>) -> Vec<TermsRow> {
    let current = current.map(terms_lines);
    let offered = offered.map(terms_lines);
    let count = current.as_ref().or(offered.as_ref()).map_or(0, Vec::len);
    (0..count)
        .map(|i| {
            let c = current.as_ref().map(|l| l[i].1.clone());
            let o = offered.as_ref().map(|l| l[i].1.clone());
            let label = current.as_ref().or(offered.as_ref()).map_or("", |l| l[i].0);
            TermsRow {
                label,
                changed: matches!((&c, &o), (Some(c), Some(o)) if c != o),
                current: c.unwrap_or_default(),
                offered: o.unwrap_or_default(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "agreement.html")]
struct AgreementPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    other_id: String,
    other_name: String,
    status: String,
    has_current: bool,
    current_version: String,
    has_offer: bool,
    offer_from_other: bool,
    offer_is_amendment: bool,
    offer_hash: String,
    rows: Vec<TermsRow>,
    changes: usize,
    suspended_by_us: bool,
    suspended_by_other: bool,
    can_suspend: bool,
    can_terminate: bool,
    termination_date: String,
    terminating_on: Option<String>,
    notice: Option<String>,
    problem: Option<String>,
}

/// `GET /agreements/{club}` query: what just happened.
#[derive(Debug, Default, Deserialize)]
pub struct AgreementNotice {
    /// What was done: `offered`, `accepted`, `suspended`, `resumed`, `terminated`.
    pub done: Option<String>,
}

fn agreement_page(
    state: &ApiState,
    signed: &Signed<Admin>,
    other: &ClubId,
    status: StatusCode,
    notice: Option<String>,
    problem: Option<String>,
) -> Response {
    let own = state.club().clone();
    let (_, offset) = club_facts(state);
    let loaded: Result<(Option<Agreement>, String), ApiError> = (|| {
        let view = state.node().ledger().state();
        let club = query::club(&view, other)?
            .ok_or_else(|| ApiError::not_found(format!("No club {other} in the network.")))?;
        Ok((query::agreement(&view, &own, other)?, club.spec.name))
    })();
    let (agreement, other_name) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return api_error_page(state, &signed.session, &error),
    };
    let day = today();
    let current = agreement.as_ref().and_then(|a| a.version_on(day).or(a.versions.last()));
    let offer = agreement.as_ref().and_then(|a| a.pending.as_ref());
    let rows = compare(current.map(|v| &v.terms), offer.map(|o| &o.terms));
    let agreement_status = agreement.as_ref().map(|a| a.status_at(now_ms(), day));
    let in_force = matches!(
        agreement_status,
        Some(
            AgreementStatus::Active | AgreementStatus::Suspended | AgreementStatus::NotYetInEffect
        )
    );
    let suspended_by_us = agreement.as_ref().is_some_and(|a| a.suspended_by.contains(&own));
    let notice_days = current.map_or(0, |v| v.terms.notice_days);
    let page = AgreementPage {
        assets: assets::names(),
        chrome: Chrome::of(state, &signed.session, "/agreements"),
        other_id: other.to_string(),
        other_name,
        status: agreement_status.map_or("no agreement", status_words).to_owned(),
        has_current: current.is_some(),
        current_version: current.map_or_else(String::new, |v| v.version.to_string()),
        has_offer: offer.is_some(),
        offer_from_other: offer.is_some_and(|o| &o.offered_by == other),
        offer_is_amendment: offer.is_some_and(|o| o.is_amendment),
        offer_hash: offer.map_or_else(String::new, |o| hex::encode(o.terms_hash)),
        changes: rows.iter().filter(|r| r.changed).count(),
        rows,
        suspended_by_us,
        suspended_by_other: agreement.as_ref().is_some_and(|a| a.suspended_by.contains(other)),
        can_suspend: in_force && !suspended_by_us,
        can_terminate: in_force,
        termination_date: local_date_time(now_ms() + u64::from(notice_days) * 86_400_000, offset).0,
        terminating_on: agreement
            .as_ref()
            .and_then(|a| a.termination.as_ref())
            .map(|t| local_date_time(t.effective_at_ms, offset).0),
        notice,
        problem,
    };
    render(status, &page)
}

/// An agreement's page (`GET /agreements/{club}`).
pub async fn agreement(
    signed: Signed<Admin>,
    State(state): State<ApiState>,
    Path(other): Path<String>,
    Query(done): Query<AgreementNotice>,
) -> Response {
    let other = match counterparty(&other) {
        Ok(other) => other,
        Err(error) => return api_error_page(&state, &signed.session, &error),
    };
    let notice = done.done.as_deref().and_then(|done| match done {
        "offered" => Some(format!("Terms offered: {other}'s admin can accept them now.")),
        "accepted" => Some("Accepted: the terms are on the ledger.".to_owned()),
        "suspended" => Some("Suspended on your side: visits stop until you resume.".to_owned()),
        "resumed" => Some("Resumed on your side.".to_owned()),
        "terminated" => {
            Some("Terminated with notice: the agreement ends on the date shown.".to_owned())
        }
        "pending" => Some(
            "Submitted; not committed yet: reload in a moment to see it on the ledger.".to_owned(),
        ),
        _ => None,
    });
    agreement_page(&state, &signed, &other, StatusCode::OK, notice, None)
}

/// The terms form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TermsForm {
    /// Tiers, comma separated.
    #[serde(default)]
    pub tiers: String,
    /// Visit-days per month.
    #[serde(default)]
    pub per_month: String,
    /// Visit-days per year.
    #[serde(default)]
    pub per_year: String,
    /// Guests per visit.
    #[serde(default)]
    pub guests: String,
    /// Fee per visit in the currency's main unit (`25.00`).
    #[serde(default)]
    pub fee: String,
    /// Currency.
    #[serde(default)]
    pub currency: String,
    /// `on_site` or `billed_to_home_club`.
    #[serde(default)]
    pub settlement: String,
    /// First date.
    #[serde(default)]
    pub valid_from: String,
    /// Last date (empty: none).
    #[serde(default)]
    pub valid_until: String,
    /// Blackouts, one `YYYY-MM-DD to YYYY-MM-DD` per line.
    #[serde(default)]
    pub blackouts: String,
    /// Notice days.
    #[serde(default)]
    pub notice_days: String,
    /// `on` when an introduction is required.
    #[serde(default)]
    pub introduction: Option<String>,
}

impl TermsForm {
    fn of(terms: &TermsInput) -> TermsForm {
        TermsForm {
            tiers: terms.tiers_covered.join(", "),
            per_month: terms.visit_days_per_month_max.to_string(),
            per_year: terms.visit_days_per_year_max.to_string(),
            guests: terms.guests_per_visit_max.to_string(),
            fee: crate::api::views::money_input(terms.visit_fee_minor, &terms.fee_currency),
            currency: terms.fee_currency.clone(),
            settlement: terms.fee_settlement.clone().unwrap_or_else(|| "on_site".to_owned()),
            valid_from: terms.valid_from.clone(),
            valid_until: terms.valid_until.clone().unwrap_or_default(),
            blackouts: terms
                .blackouts
                .iter()
                .map(|b| format!("{} to {}", b.from, b.to))
                .collect::<Vec<_>>()
                .join("\n"),
            notice_days: terms.notice_days.to_string(),
            introduction: terms.introduction_required.then(|| "on".to_owned()),
        }
    }

    fn defaults() -> TermsForm {
        TermsForm {
            tiers: "full".to_owned(),
            per_month: "4".to_owned(),
            per_year: "24".to_owned(),
            guests: "1".to_owned(),
            fee: "0.00".to_owned(),
            currency: "EUR".to_owned(),
            settlement: "on_site".to_owned(),
            valid_from: dates::format_day(today()),
            notice_days: "30".to_owned(),
            ..TermsForm::default()
        }
    }

    /// The terms the form describes, or the first field in error.
    fn terms(&self) -> Result<TermsInput, String> {
        let number = |label: &str, text: &str| -> Result<u32, String> {
            text.trim().parse().map_err(|_| format!("{label} {text:?} is not a whole number"))
        };
        let currency = self.currency.trim().to_ascii_uppercase();
        let fee_minor = crate::api::views::parse_money(&self.fee, &currency).ok_or_else(|| {
            format!("the fee {:?} is not an amount in {currency} such as 25.00", self.fee.trim())
        })?;
        let blackouts = self
            .blackouts
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (from, to) = line.split_once(" to ").ok_or_else(|| {
                    format!("the blackout {line:?} is not “YYYY-MM-DD to YYYY-MM-DD”")
                })?;
                Ok(Blackout { from: from.trim().to_owned(), to: to.trim().to_owned() })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(TermsInput {
            tiers_covered: self
                .tiers
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            visit_days_per_month_max: number("visit-days per month", &self.per_month)?,
            visit_days_per_year_max: number("visit-days per year", &self.per_year)?,
            guests_per_visit_max: number("guests per visit", &self.guests)?,
            visit_fee_minor: fee_minor,
            fee_currency: currency,
            fee_settlement: Some(self.settlement.clone()),
            valid_from: self.valid_from.trim().to_owned(),
            valid_until: Some(self.valid_until.trim().to_owned()).filter(|d| !d.is_empty()),
            blackouts,
            notice_days: number("notice days", &self.notice_days)?,
            introduction_required: self.introduction.is_some(),
        })
    }
}

#[derive(Template)]
#[template(path = "agreement_offer.html")]
struct OfferPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    other_id: String,
    amend: bool,
    form: TermsForm,
    problem: Option<String>,
}

fn offer_page(
    state: &ApiState,
    signed: &Signed<Admin>,
    other: &ClubId,
    status: StatusCode,
    form: Option<TermsForm>,
    problem: Option<String>,
) -> Response {
    let agreement = {
        let view = state.node().ledger().state();
        query::agreement(&view, state.club(), other).ok().flatten()
    };
    let current = agreement.as_ref().and_then(|a| a.version_on(today()).or(a.versions.last()));
    let amend = current.is_some();
    let form = form.unwrap_or_else(|| {
        current.map_or_else(TermsForm::defaults, |v| TermsForm::of(&TermsInput::of(&v.terms)))
    });
    let page = OfferPage {
        assets: assets::names(),
        chrome: Chrome::of(state, &signed.session, "/agreements"),
        other_id: other.to_string(),
        amend,
        form,
        problem,
    };
    render(status, &page)
}

/// The terms form (`GET /agreements/{club}/offer`): to propose, or to
/// amend the terms in force (filled in with them).
pub async fn offer_form(
    signed: Signed<Admin>,
    State(state): State<ApiState>,
    Path(other): Path<String>,
) -> Response {
    match counterparty(&other) {
        Ok(other) => offer_page(&state, &signed, &other, StatusCode::OK, None, None),
        Err(error) => api_error_page(&state, &signed.session, &error),
    }
}

/// Offers the form's terms (`POST /agreements/{club}/offer`).
pub async fn offer(
    signed: Signed<Admin>,
    State(state): State<ApiState>,
    Path(other): Path<String>,
    Form(form): Form<TermsForm>,
) -> Response {
    let other = match counterparty(&other) {
        Ok(other) => other,
        Err(error) => return api_error_page(&state, &signed.session, &error),
    };
    let terms = match form.terms() {
        Ok(terms) => terms,
        Err(problem) => {
            let problem = Some(format!("Nothing was offered: {problem}."));
            return offer_page(
                &state,
                &signed,
                &other,
                StatusCode::BAD_REQUEST,
                Some(form),
                problem,
            );
        }
    };
    let amend = {
        let view = state.node().ledger().state();
        query::agreement(&view, state.club(), &other)
            .ok()
            .flatten()
            .is_some_and(|a| !a.versions.is_empty())
    };
    match offer_as(&state, signed.caller(), &other, &terms, amend).await {
        Ok((StatusCode::ACCEPTED, _)) => {
            Redirect::to(&format!("/agreements/{other}?done=pending")).into_response()
        }
        Ok(_) => Redirect::to(&format!("/agreements/{other}?done=offered")).into_response(),
        Err(error) => {
            let problem = Some(format!("Nothing was offered. {}", error.message));
            let status =
                if error.status.is_server_error() { error.status } else { StatusCode::BAD_REQUEST };
            offer_page(&state, &signed, &other, status, Some(form), problem)
        }
    }
}

/// The accept form's field.
#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    /// The hash of the terms shown.
    #[serde(default)]
    pub terms_hash: String,
}

/// Accepts the offer shown, by its hash (`POST /agreements/{club}/accept`).
pub async fn accept(
    signed: Signed<Admin>,
    State(state): State<ApiState>,
    Path(other): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Response {
    let other = match counterparty(&other) {
        Ok(other) => other,
        Err(error) => return api_error_page(&state, &signed.session, &error),
    };
    match accept_as(&state, signed.caller(), &other, &form.terms_hash).await {
        Ok((StatusCode::ACCEPTED, _)) => {
            Redirect::to(&format!("/agreements/{other}?done=pending")).into_response()
        }
        Ok(_) => Redirect::to(&format!("/agreements/{other}?done=accepted")).into_response(),
        Err(error) => {
            let problem = Some(format!("Not accepted. {}", error.message));
            agreement_page(&state, &signed, &other, StatusCode::CONFLICT, None, problem)
        }
    }
}

/// Suspends, resumes or terminates (`POST /agreements/{club}/{action}`); a
/// termination needs its confirmation box ticked.
pub async fn side(
    signed: Signed<Admin>,
    State(state): State<ApiState>,
    Path((other, action)): Path<(String, String)>,
    body: String,
) -> Response {
    let other = match counterparty(&other) {
        Ok(other) => other,
        Err(error) => return api_error_page(&state, &signed.session, &error),
    };
    let confirmed =
        form_urlencoded::parse(body.as_bytes()).any(|(k, v)| k == "confirm" && v == "on");
    if action == "terminate" && !confirmed {
        let problem = Some(
            "Not terminated: tick the box that confirms the termination and its date.".to_owned(),
        );
        return agreement_page(&state, &signed, &other, StatusCode::BAD_REQUEST, None, problem);
    }
    let (side, done) = match action.as_str() {
        "suspend" => (Side::Suspend, "suspended"),
        "resume" => (Side::Resume, "resumed"),
        "terminate" => (Side::Terminate, "terminated"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match side_as(&state, signed.caller(), &other, side).await {
        Ok((StatusCode::ACCEPTED, _)) => {
            Redirect::to(&format!("/agreements/{other}?done=pending")).into_response()
        }
        Ok(_) => Redirect::to(&format!("/agreements/{other}?done={done}")).into_response(),
        Err(error) => {
            let problem = Some(format!("Not done. {}", error.message));
            agreement_page(&state, &signed, &other, StatusCode::CONFLICT, None, problem)
        }
    }
}
