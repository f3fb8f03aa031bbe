//! The front desk: one field for a member id or a card's code (typed,
//! pasted, from a scanner that types, or from the camera), the answer in
//! large type, "record visit", and today's visits with "void" while the
//! rules still allow it.
//!
//! The check reads the node's own state (never the lagging index), as
//! `POST /v1/visits/check` does; recording and voiding go through
//! [`ApiState::act`], as `POST /v1/visits` does: signed with the club's
//! front-desk key, submitted, answered once committed. Today's list comes
//! from the index, each visit's time and state from the ledger.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reciprocity_chaincode::{MemberId, TxId};
use serde::Deserialize;

use super::assets::{self, AssetNames};
use super::page::{Chrome, Signed, api_error_page, club_facts, local_date_time, render};
use crate::api::rest::ApiState;
use crate::api::rest::error::{ApiError, ApiResult};
use crate::api::rest::require::FrontDesk;
use crate::api::rest::visits::{CheckResponse, check_card_now, check_now, record_as, void_as};
use crate::api::views::{money_text, settlement_words};
use crate::clock::now_ms;
use crate::index::read::{VisitQuery, VisitSide};

/// Visits shown in today's list at most (newest first).
const TODAY_VISITS_MAX: u32 = 200;

/// How long after recording a visit may be voided (the chaincode's rule).
const VOID_WINDOW_MS: u64 = reciprocity_chaincode::calendar::DAY_MS;

/// Most guests the form takes (the terms allow fewer).
const GUESTS_MAX: u32 = 99;

/// What the check form holds.
#[derive(Debug, Clone, Default)]
pub struct CheckForm {
    /// The member id or card code as typed.
    pub member: String,
    /// Guests.
    pub guests: u32,
}

/// The allowance, in the answer.
#[derive(Debug, Clone)]
pub struct AllowanceText {
    /// Visit-days left this month.
    pub month: u32,
    /// Visit-days left this year.
    pub year: u32,
    /// Whether today already counts.
    pub today_counted: bool,
}

/// The terms, in the answer.
#[derive(Debug, Clone)]
pub struct TermsText {
    /// Guests allowed.
    pub guests_max: u32,
    /// `EUR 25.00, paid on site`.
    pub fee: String,
    /// Whether a letter of introduction is needed, and whether there is one.
    pub introduction: String,
}

/// The answer to a check, as the page shows it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Whether the visit may be recorded.
    pub eligible: bool,
    /// The reason in words.
    pub reason: String,
    /// The member id.
    pub member_id: String,
    /// `Alpine Club (alpine)`.
    pub home_club: Option<String>,
    /// The member's tier.
    pub tier: Option<String>,
    /// The ledger's last day of validity.
    pub valid_until: Option<String>,
    /// The allowance, when it means something.
    pub allowance: Option<AllowanceText>,
    /// The terms in effect.
    pub terms: Option<TermsText>,
    /// The card presented, in words, when the check was of a card's code.
    pub card: Option<String>,
    /// The host's local date.
    pub local_date: String,
    /// The ledger height the answer rests on.
    pub height: u64,
}

/// A visit in today's list.
#[derive(Debug, Clone)]
pub struct TodayVisit {
    /// The visit id.
    pub visit_id: String,
    /// Local time of recording (`14:05`).
    pub time: String,
    /// The visitor.
    pub member_id: String,
    /// The visitor's home club.
    pub home_club: String,
    /// Guests.
    pub guests: u32,
    /// The fee.
    pub fee: String,
    /// Whether it was voided.
    pub voided: bool,
    /// Whether it may still be voided.
    pub voidable: bool,
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    form: CheckForm,
    answer: Option<Answer>,
    notice: Option<String>,
    problem: Option<String>,
    today_date: String,
    today: Vec<TodayVisit>,
}

/// `GET /desk` query: a check, or what just happened.
#[derive(Debug, Default, Deserialize)]
pub struct DeskQuery {
    /// Member id or card code to check.
    pub member: Option<String>,
    /// Guests (as typed).
    pub guests: Option<String>,
    /// A visit just recorded.
    pub recorded: Option<String>,
    /// A visit submitted but not yet committed.
    pub pending: Option<String>,
    /// A visit just voided.
    pub voided: Option<String>,
}

/// The member a typed or scanned text names.
fn member_of(text: &str) -> Result<MemberId, String> {
    let text = text.trim();
    MemberId::from_hex(&text.to_ascii_lowercase()).ok_or_else(|| {
        format!(
            "{} is not a member id: a member id is 32 hex digits (0-9, a-f), as printed on the card",
            crate::words::quote(text)
        )
    })
}

fn guests_of(text: Option<&str>) -> Result<u32, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(0),
        Some(t) => match t.parse::<u32>() {
            Ok(n) if n <= GUESTS_MAX => Ok(n),
            _ => Err(format!(
                "guests must be a whole number from 0 to {GUESTS_MAX}; got {}",
                crate::words::quote(t)
            )),
        },
    }
}

fn answer_of(state: &ApiState, member: Option<&MemberId>, check: CheckResponse) -> Answer {
    let view = state.node().ledger().state();
    let home_club = check.home_club.as_deref().map(|home| {
        let name = reciprocity_chaincode::ClubId::parse(home)
            .and_then(|id| reciprocity_chaincode::query::club(&view, &id).ok().flatten())
            .map_or_else(|| home.to_owned(), |club| club.spec.name);
        if name == home { home.to_owned() } else { format!("{name} ({home})") }
    });
    Answer {
        eligible: check.eligible,
        reason: check.reason,
        member_id: member.map(MemberId::to_hex).unwrap_or_default(),
        home_club,
        tier: check.tier,
        valid_until: check.valid_until,
        allowance: check.allowance.map(|a| AllowanceText {
            month: a.month_days_remaining,
            year: a.year_days_remaining,
            today_counted: a.today_already_counted,
        }),
        terms: check.terms.map(|t| TermsText {
            guests_max: t.guests_max,
            fee: if t.fee_minor == 0 {
                "none".to_owned()
            } else {
                format!(
                    "{}, {}",
                    money_text(t.fee_minor, &t.fee_currency),
                    settlement_words(&t.fee_settlement)
                )
            },
            introduction: match (t.introduction_required, t.introduction_present) {
                (false, _) => "not needed".to_owned(),
                (true, true) => "needed, and a letter is on the ledger".to_owned(),
                (true, false) => "needed, and there is none for today".to_owned(),
            },
        }),
        // A refused card's reason is the answer's; the line says what the card is.
        card: check.card.and_then(|card| {
            let shown = format!(
                "no. {}, valid until {}",
                card.serial?,
                card.valid_until.as_deref().unwrap_or("?")
            );
            Some(if card.accepted {
                format!("{shown}: signature and serial verified on the ledger")
            } else {
                format!("{shown} (refused)")
            })
        }),
        local_date: check.local_date,
        height: check.height,
    }
}

/// Today's visits at this club, and yesterday's that may still be voided,
/// newest first; `recorded` (a visit just recorded) is listed from the
/// ledger if the index has not caught up with it yet.
async fn today_visits(
    state: &ApiState,
    offset_minutes: i32,
    recorded: Option<TxId>,
) -> ApiResult<(String, Vec<TodayVisit>)> {
    let now = now_ms();
    let (today_text, _) = local_date_time(now, offset_minutes);
    let today = reciprocity_sdk::dates::parse_day(&today_text)
        .map_err(|e| ApiError::internal(&format!("today's date {today_text}: {e}")))?;
    let query = VisitQuery {
        member_id: None,
        club: state.club().to_string(),
        side: VisitSide::Host,
        from_day: Some(i64::from(today.saturating_sub(1))),
        to_day: Some(i64::from(today)),
        include_voided: true,
        limit: TODAY_VISITS_MAX,
        offset: 0,
    };
    let mut ids: Vec<TxId> = state
        .store()?
        .visits(&query)
        .await?
        .iter()
        .filter_map(|row| TxId::from_hex(&row.visit_id))
        .collect();
    if let Some(id) = recorded
        && !ids.contains(&id)
    {
        ids.insert(0, id);
    }
    let view = state.node().ledger().state();
    let mut visits = Vec::with_capacity(ids.len());
    for id in ids {
        // The ledger is the truth for the time and for a void the index
        // has not caught up with.
        let Some(visit) = reciprocity_chaincode::query::visit(&view, &id)? else { continue };
        if visit.host_club != *state.club() {
            continue;
        }
        let voided = visit.voided.is_some();
        let voidable = !voided && now <= visit.at_ms.saturating_add(VOID_WINDOW_MS);
        if visit.local_day != today && !voidable {
            continue;
        }
        let (date, time) = local_date_time(visit.at_ms, offset_minutes);
        visits.push(TodayVisit {
            visit_id: id.to_hex(),
            time: if visit.local_day == today { time } else { format!("{date} {time}") },
            member_id: visit.member_id.to_hex(),
            home_club: visit.home_club.to_string(),
            guests: visit.guests,
            fee: if visit.fee_minor == 0 {
                "none".to_owned()
            } else {
                money_text(visit.fee_minor, &visit.fee_currency)
            },
            voided,
            voidable,
        });
    }
    Ok((today_text, visits))
}

/// What one rendering of the desk page shows besides today's list.
#[derive(Debug)]
struct DeskView {
    status: StatusCode,
    form: CheckForm,
    answer: Option<Answer>,
    notice: Option<String>,
    problem: Option<String>,
    /// A visit just recorded, listed from the ledger while the index lags.
    recorded: Option<TxId>,
}

impl DeskView {
    fn ok(form: CheckForm) -> DeskView {
        DeskView {
            status: StatusCode::OK,
            form,
            answer: None,
            notice: None,
            problem: None,
            recorded: None,
        }
    }

    fn problem(status: StatusCode, form: CheckForm, problem: String) -> DeskView {
        DeskView { status, problem: Some(problem), ..DeskView::ok(form) }
    }
}

async fn desk_page(state: &ApiState, signed: &Signed<FrontDesk>, view: DeskView) -> Response {
    let (_, offset) = club_facts(state);
    let (today_date, today) = match today_visits(state, offset, view.recorded).await {
        Ok(today) => today,
        Err(error) => return api_error_page(state, &signed.session, &error),
    };
    let chrome = Chrome::of(state, &signed.session, "/desk");
    let page = DeskPage {
        assets: assets::names(),
        chrome,
        form: view.form,
        answer: view.answer,
        notice: view.notice,
        problem: view.problem,
        today_date,
        today,
    };
    render(view.status, &page)
}

fn visit_notice(state: &ApiState, id: &TxId, what: &str) -> Option<String> {
    let view = state.node().ledger().state();
    let visit = reciprocity_chaincode::query::visit(&view, id).ok()??;
    let guests = match visit.guests {
        0 => String::new(),
        1 => " with 1 guest".to_owned(),
        n => format!(" with {n} guests"),
    };
    Some(format!("{what}: member {}{guests}.", visit.member_id.to_hex()))
}

/// A visit id from the query, when it is one.
fn visit_id_of(text: Option<&String>) -> Option<TxId> {
    text.and_then(|t| TxId::from_hex(t))
}

/// The check form's fields (`POST /desk/check`).
#[derive(Debug, Default, Deserialize)]
pub struct CheckFields {
    /// Member id or card code.
    #[serde(default)]
    pub member: Option<String>,
    /// Guests (as typed).
    #[serde(default)]
    pub guests: Option<String>,
}

/// A check posted by the form (`POST /desk/check`): a card's code stays out
/// of the address bar, the browser's history and any `next=` link.
pub async fn check(
    signed: Signed<FrontDesk>,
    State(state): State<ApiState>,
    Form(fields): Form<CheckFields>,
) -> Response {
    let query = DeskQuery { member: fields.member, guests: fields.guests, ..DeskQuery::default() };
    desk_with(signed, state, query).await
}

/// The front-desk page (`GET /desk`), with the answer when it asks a check.
pub async fn page(
    signed: Signed<FrontDesk>,
    State(state): State<ApiState>,
    Query(query): Query<DeskQuery>,
) -> Response {
    desk_with(signed, state, query).await
}

async fn desk_with(signed: Signed<FrontDesk>, state: ApiState, query: DeskQuery) -> Response {
    let recorded = visit_id_of(query.recorded.as_ref());
    let notice = if let Some(id) = &recorded {
        visit_notice(&state, id, "Visit recorded")
    } else if let Some(id) = visit_id_of(query.voided.as_ref()) {
        visit_notice(&state, &id, "Visit voided")
    } else {
        visit_id_of(query.pending.as_ref()).map(|id| {
            format!(
                "Visit {} was submitted and is not committed yet; it appears below once it is.",
                id.to_hex()
            )
        })
    };
    let mut view = DeskView { notice, recorded, ..DeskView::ok(CheckForm::default()) };
    let Some(text) = query.member.as_deref().filter(|t| !t.trim().is_empty()) else {
        return desk_page(&state, &signed, view).await;
    };
    view.form.member = text.trim().to_owned();
    if reciprocity_sdk::card::looks_like_card(text) {
        let guests = match guests_of(query.guests.as_deref()) {
            Ok(guests) => guests,
            Err(problem) => {
                view.status = StatusCode::BAD_REQUEST;
                view.problem = Some(problem);
                return desk_page(&state, &signed, view).await;
            }
        };
        view.form.guests = guests;
        return match check_card_now(&state, &signed.caller().club, text, guests) {
            Ok(check) => {
                let member = check
                    .card
                    .as_ref()
                    .and_then(|c| c.member_id.as_deref())
                    .and_then(MemberId::from_hex);
                // The field is left empty, ready for the next scan: a
                // refused card's member id is not offered for a check by
                // id, which would not verify the card.
                view.form.member = String::new();
                view.answer = Some(answer_of(&state, member.as_ref(), check));
                desk_page(&state, &signed, view).await
            }
            Err(error) => api_error_page(&state, &signed.session, &error),
        };
    }
    let checked =
        member_of(text).and_then(|member| Ok((member, guests_of(query.guests.as_deref())?)));
    let (member, guests) = match checked {
        Ok(pair) => pair,
        Err(problem) => {
            view.status = StatusCode::BAD_REQUEST;
            view.problem = Some(problem);
            return desk_page(&state, &signed, view).await;
        }
    };
    view.form.guests = guests;
    match check_now(&state, &signed.caller().club, &member, guests) {
        Ok(check) => {
            let mut answer = answer_of(&state, Some(&member), check);
            let card = {
                let ledger = state.node().ledger().state();
                reciprocity_chaincode::query::member_card(&ledger, &member).ok().flatten()
            };
            if let Some(card) = card {
                answer.card = Some(format!(
                    "not checked: checked by member id; the member's card is no. {} — scan it to verify it",
                    card.serial
                ));
            }
            view.answer = Some(answer);
            desk_page(&state, &signed, view).await
        }
        Err(error) => api_error_page(&state, &signed.session, &error),
    }
}

/// The record form's fields.
#[derive(Debug, Deserialize)]
pub struct RecordForm {
    /// The member id.
    pub member: String,
    /// Guests.
    #[serde(default)]
    pub guests: Option<String>,
}

/// Records a visit (`POST /desk/visits`), then shows today's list; a
/// refusal shows the page again with the reason and a fresh check.
pub async fn record(
    signed: Signed<FrontDesk>,
    State(state): State<ApiState>,
    Form(form): Form<RecordForm>,
) -> Response {
    let parsed = member_of(&form.member).and_then(|m| Ok((m, guests_of(form.guests.as_deref())?)));
    let (member, guests) = match parsed {
        Ok(pair) => pair,
        Err(problem) => {
            let form = CheckForm { member: form.member.trim().to_owned(), guests: 0 };
            let view = DeskView::problem(StatusCode::BAD_REQUEST, form, problem);
            return desk_page(&state, &signed, view).await;
        }
    };
    match record_as(&state, signed.caller(), &member, guests).await {
        Ok((status, receipt)) if status == StatusCode::CREATED => {
            Redirect::to(&format!("/desk?recorded={}", receipt.tx_id)).into_response()
        }
        Ok((_, receipt)) => {
            Redirect::to(&format!("/desk?pending={}", receipt.tx_id)).into_response()
        }
        Err(error) => {
            let form = CheckForm { member: member.to_hex(), guests };
            let problem = format!("The visit was not recorded. {}", error.message);
            let mut view = DeskView::problem(error.status, form, problem);
            view.answer = check_now(&state, &signed.caller().club, &member, guests)
                .ok()
                .map(|check| answer_of(&state, Some(&member), check));
            desk_page(&state, &signed, view).await
        }
    }
}

/// Voids a visit of this club (`POST /desk/visits/{visit_id}/void`).
pub async fn void(
    signed: Signed<FrontDesk>,
    State(state): State<ApiState>,
    Path(visit_id): Path<String>,
) -> Response {
    match void_as(&state, signed.caller(), &visit_id).await {
        // `void_as` took the id as 64 hex digits.
        Ok(_) => Redirect::to(&format!("/desk?voided={visit_id}")).into_response(),
        Err(error) => {
            let problem = format!("The visit was not voided. {}", error.message);
            let view = DeskView::problem(error.status, CheckForm::default(), problem);
            desk_page(&state, &signed, view).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_id_is_read_whatever_its_case_and_spacing() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(member_of(&format!("  {}\n", id.to_uppercase())).expect("id").to_hex(), id);
        let refusal = member_of("12345").expect_err("too short");
        assert!(refusal.contains("32 hex digits"), "{refusal}");
    }

    #[test]
    fn guests_are_a_small_whole_number() {
        assert_eq!(guests_of(None), Ok(0));
        assert_eq!(guests_of(Some(" 2 ")), Ok(2));
        assert!(guests_of(Some("-1")).is_err());
        assert!(guests_of(Some("100")).is_err());
        assert!(guests_of(Some("two")).expect_err("words").contains("whole number"));
    }
}
