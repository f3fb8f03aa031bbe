//! Visits: the front-desk check (answered from the node's own state, never
//! the lagging index), recording and voiding, and listings.

use axum::extract::State;
use axum::http::StatusCode;
use reciprocity_chaincode::{ClubId, MemberId, Role, TxId, ValidationCode};
use reciprocity_sdk::dates;
use reciprocity_sdk::tx::body;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, quote};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::members::parse_member_id;
use super::require::{AnyRole, FrontDesk, Require};
use super::{ApiState, TxReceipt};
use crate::api::views::settlement_name;
use crate::clock::now_ms;
use crate::index::read::{VisitQuery, VisitRow, VisitSide};

/// A front-desk check.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The visitor's member id (32 hex digits); give this or `card`.
    #[serde(default)]
    pub member_id: Option<String>,
    /// The text of the member card's QR code (`RC1:...`); give this or
    /// `member_id`. The card is verified against the ledger (card key,
    /// signature, serial, expiry) before the member's standing is checked.
    #[serde(default)]
    pub card: Option<String>,
    /// The visitor's home club, as the card says; checked against the ledger.
    #[serde(default)]
    pub home_club: Option<String>,
    /// Guests the member brings.
    #[serde(default)]
    pub guests: u32,
}

/// Visit-days used and left at this host.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AllowanceView {
    /// Visit-days used this month.
    pub month_days_used: u32,
    /// Visit-days allowed per month.
    pub month_days_max: u32,
    /// Visit-days left this month.
    pub month_days_remaining: u32,
    /// Visit-days used this year.
    pub year_days_used: u32,
    /// Visit-days allowed per year.
    pub year_days_max: u32,
    /// Visit-days left this year.
    pub year_days_remaining: u32,
    /// Whether today already counts as a visit-day (another check-in is free).
    pub today_already_counted: bool,
}

/// The terms that apply to the visit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppliedTerms {
    /// Guests allowed per visit.
    pub guests_max: u32,
    /// Fee per visit, minor units.
    pub fee_minor: u64,
    /// ISO 4217 currency.
    pub fee_currency: String,
    /// `on_site` or `billed_to_home_club`.
    pub fee_settlement: String,
    /// Whether the terms need a letter of introduction for each visit.
    pub introduction_required: bool,
    /// Whether a letter of introduction of the member covers the day checked.
    pub introduction_present: bool,
}

/// Whether the visit would be recorded, and why not.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckResponse {
    /// Whether recording the visit now would succeed.
    pub eligible: bool,
    /// `Ok`, or the first rule broken (validation code name).
    pub code: String,
    /// The code's number.
    pub code_number: u32,
    /// The reason in words.
    pub reason: String,
    /// The member's home club, when the member is known.
    pub home_club: Option<String>,
    /// The member's tier, when the member is known.
    pub tier: Option<String>,
    /// The member's last day of validity on the ledger (`YYYY-MM-DD`), when
    /// the member is known.
    pub valid_until: Option<String>,
    /// The host's local date of the check.
    pub local_date: String,
    /// Allowance under the terms in effect; only where it means something:
    /// when eligible, or refused for the allowance or the number of guests.
    pub allowance: Option<AllowanceView>,
    /// The terms in effect.
    pub terms: Option<AppliedTerms>,
    /// The card presented, when the check was of a card's code.
    pub card: Option<CardView>,
    /// The ledger height the answer is based on.
    pub height: u64,
}

/// A card presented at the door, and the door's verdict on it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CardView {
    /// Whether the card itself is good (signature, key, serial, expiry).
    pub accepted: bool,
    /// Why the card is refused, in words.
    pub refusal: Option<String>,
    /// The member the card names (32 hex digits), when it decodes.
    pub member_id: Option<String>,
    /// The card's serial, when it decodes.
    pub serial: Option<u32>,
    /// The card's own valid-until (`YYYY-MM-DD`), when it decodes; the
    /// answer's `valid_until` is the ledger's.
    pub valid_until: Option<String>,
    /// Id of the card key that signed it (16 hex digits), when it decodes.
    pub key_id: Option<String>,
}

/// The check of the card whose QR code reads `text`, presented at `host`
/// now: the card is verified against this node's ledger, then the member's
/// standing is checked as for any visit. A refused card makes the answer
/// ineligible with code `CardRefused` and the card's reason.
pub(crate) fn check_card_now(
    state: &ApiState,
    host: &ClubId,
    text: &str,
    guests: u32,
) -> ApiResult<CheckResponse> {
    use reciprocity_sdk::card::SignedCard;
    let view = state.node().ledger().state();
    let height = reciprocity_chaincode::chain_position(&view)?.height;
    let at_ms = now_ms();
    let card = match SignedCard::decode(text) {
        Ok(card) => card,
        Err(refusal) => {
            let offset = reciprocity_chaincode::query::club(&view, host)?
                .map_or(0, |c| c.spec.utc_offset_minutes);
            let local_day = reciprocity_chaincode::calendar::local_day(at_ms, offset);
            return Ok(card_refused(
                CheckResponse {
                    eligible: false,
                    code: String::new(),
                    code_number: 0,
                    reason: String::new(),
                    home_club: None,
                    tier: None,
                    valid_until: None,
                    local_date: dates::format_day(local_day),
                    allowance: None,
                    terms: None,
                    card: None,
                    height,
                },
                &refusal,
                CardView {
                    accepted: false,
                    refusal: None,
                    member_id: None,
                    serial: None,
                    valid_until: None,
                    key_id: None,
                },
            ));
        }
    };
    let check = reciprocity_chaincode::query::check_visit(
        &view,
        at_ms,
        host,
        &card.claims.member_id,
        guests,
    )?;
    let local_day = check.local_day;
    let answer = check_response(check, height);
    let shown = CardView {
        accepted: true,
        refusal: None,
        member_id: Some(card.claims.member_id.to_hex()),
        serial: Some(card.claims.serial),
        valid_until: Some(dates::format_day(card.claims.valid_until_day)),
        key_id: Some(card.key_id.to_hex()),
    };
    match crate::cards::door::judge(&view, &card, local_day)? {
        Ok(()) => Ok(CheckResponse { card: Some(shown), ..answer }),
        Err(refusal) => Ok(card_refused(answer, &refusal, shown)),
    }
}

/// `answer` turned into a refusal for the card's reason.
fn card_refused(
    answer: CheckResponse,
    refusal: &reciprocity_sdk::card::CardRefusal,
    card: CardView,
) -> CheckResponse {
    let words = refusal.to_string();
    let mut chars = words.chars();
    let words_capitalized: String =
        chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    CheckResponse {
        eligible: false,
        code: "CardRefused".to_owned(),
        code_number: 0,
        reason: format!("Card refused: {words_capitalized}."),
        allowance: None,
        card: Some(CardView { accepted: false, refusal: Some(words), ..card }),
        ..answer
    }
}

/// The check of `member` visiting `host` now, from the node's own state.
pub(crate) fn check_now(
    state: &ApiState,
    host: &ClubId,
    member: &MemberId,
    guests: u32,
) -> ApiResult<CheckResponse> {
    let view = state.node().ledger().state();
    let height = reciprocity_chaincode::chain_position(&view)?.height;
    let check = reciprocity_chaincode::query::check_visit(&view, now_ms(), host, member, guests)?;
    Ok(check_response(check, height))
}

/// The answer to a check as the APIs write it (REST and the gRPC query).
pub(crate) fn check_response(
    check: reciprocity_chaincode::query::VisitCheck,
    height: u64,
) -> CheckResponse {
    CheckResponse {
        eligible: check.code.is_ok(),
        code: check.code.name().to_owned(),
        code_number: check.code.number(),
        reason: if check.code.is_ok() {
            "Eligible: the visit can be recorded.".to_owned()
        } else {
            check.code.description().to_owned()
        },
        home_club: check.home_club.map(|c| c.to_string()),
        tier: check.tier,
        valid_until: check.valid_until_day.map(dates::format_day),
        local_date: dates::format_day(check.local_day),
        allowance: check.allowance.filter(|_| allowance_applies(check.code)).map(|a| {
            AllowanceView {
                month_days_used: a.month_days_used,
                month_days_max: a.month_days_max,
                month_days_remaining: a.month_days_remaining(),
                year_days_used: a.year_days_used,
                year_days_max: a.year_days_max,
                year_days_remaining: a.year_days_remaining(),
                today_already_counted: a.today_already_counted,
            }
        }),
        terms: check.guests_max.zip(check.fee).map(
            |(guests_max, (fee_minor, currency, settlement))| AppliedTerms {
                guests_max,
                fee_minor,
                fee_currency: currency,
                fee_settlement: settlement_name(settlement).to_owned(),
                introduction_required: check.introduction.is_some_and(|i| i.required),
                introduction_present: check.introduction.is_some_and(|i| i.present),
            },
        ),
        card: None,
        height,
    }
}

/// Whether the allowance means something to the front desk after a check
/// that answered `code`: when the visit may be recorded, or when it is
/// refused for the allowance itself or for something the visitor can
/// change today (fewer guests). A member who is suspended, unknown, or
/// whose clubs have no agreement in force has no allowance to speak of.
pub(super) fn allowance_applies(code: ValidationCode) -> bool {
    matches!(
        code,
        ValidationCode::Ok
            | ValidationCode::MonthlyQuotaExceeded
            | ValidationCode::YearlyQuotaExceeded
            | ValidationCode::TooManyGuests
    )
}

/// Checks whether a member of another club may visit the caller's club now.
#[utoipa::path(post, path = "/v1/visits/check", tag = "visits", security(("bearer" = ["front_desk"])),
    request_body = CheckRequest,
    responses(
        (status = 200, description = "The answer (eligible or the reason)", body = CheckResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 403, description = "Not a front desk", body = ErrorBody)))]
pub async fn check_visit(
    caller: Require<FrontDesk>,
    State(state): State<ApiState>,
    ApiJson(request): ApiJson<CheckRequest>,
) -> ApiResult<axum::Json<CheckResponse>> {
    let mut answer = match (&request.member_id, &request.card) {
        (Some(member), None) => {
            check_now(&state, &caller.club, &parse_member_id(member)?, request.guests)?
        }
        (None, Some(card)) => check_card_now(&state, &caller.club, card, request.guests)?,
        _ => {
            return Err(ApiError::bad_request(
                "give either member_id (32 hex digits) or card (the text of the card's QR code)",
            ));
        }
    };
    // A refused card keeps its own reason.
    let card_refused = answer.card.as_ref().is_some_and(|c| !c.accepted);
    if let Some(claimed) = &request.home_club
        && !card_refused
        && answer.home_club.as_deref().is_some_and(|home| home != claimed)
    {
        answer.eligible = false;
        answer.code = "HomeClubMismatch".to_owned();
        answer.code_number = 0;
        answer.reason = format!(
            "The card names club {claimed}, but the ledger has this member at club {}.",
            answer.home_club.as_deref().unwrap_or("?")
        );
    }
    Ok(axum::Json(answer))
}

/// A visit to record.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordVisitRequest {
    /// The visitor's member id.
    pub member_id: String,
    /// Guests the member brings.
    #[serde(default)]
    pub guests: u32,
}

/// A recorded visit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordedVisit {
    /// The visit id (the recording transaction's id).
    pub visit_id: String,
    /// The transaction.
    pub transaction: TxReceipt,
}

/// Records a visit at the caller's club; answers once committed. A visit
/// the rules refuse is answered 409 with the reason, without submitting.
#[utoipa::path(post, path = "/v1/visits", tag = "visits", security(("bearer" = ["front_desk"])),
    request_body = RecordVisitRequest,
    responses(
        (status = 201, description = "Recorded and committed", body = RecordedVisit),
        (status = 202, description = "Submitted; commit pending", body = RecordedVisit),
        (status = 403, description = "Not a front desk", body = ErrorBody),
        (status = 409, description = "Not eligible (code names the rule)", body = ErrorBody)))]
pub async fn record_visit(
    caller: Require<FrontDesk>,
    State(state): State<ApiState>,
    ApiJson(request): ApiJson<RecordVisitRequest>,
) -> ApiResult<(StatusCode, axum::Json<RecordedVisit>)> {
    let member = parse_member_id(&request.member_id)?;
    let (status, receipt) = record_as(&state, &caller, &member, request.guests).await?;
    Ok((
        status,
        axum::Json(RecordedVisit { visit_id: receipt.tx_id.clone(), transaction: receipt }),
    ))
}

/// Voids a visit recorded by the caller's club (within 24 hours).
#[utoipa::path(post, path = "/v1/visits/{visit_id}/void", tag = "visits", security(("bearer" = ["front_desk"])),
    params(("visit_id" = String, Path, description = "Visit id, 64 hex digits")),
    responses(
        (status = 201, description = "Voided", body = TxReceipt),
        (status = 403, description = "Not a front desk, or another club's visit", body = ErrorBody),
        (status = 404, description = "No such visit", body = ErrorBody),
        (status = 409, description = "Refused (already voided, window passed)", body = ErrorBody)))]
pub async fn void_visit(
    caller: Require<FrontDesk>,
    State(state): State<ApiState>,
    ApiPath(visit_id): ApiPath<String>,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    let (status, receipt) = void_as(&state, &caller, &visit_id).await?;
    Ok((status, axum::Json(receipt)))
}

/// Records a visit of `member` with `guests` at `caller`'s club, signed by
/// the club's front-desk key; answers once committed (the REST handler and
/// the web app's front desk). A visit the rules refuse now is answered at
/// once (`ApiState::submit`'s dry run), with the same code the check gives.
pub(crate) async fn record_as(
    state: &ApiState,
    caller: &Caller,
    member: &MemberId,
    guests: u32,
) -> ApiResult<(StatusCode, TxReceipt)> {
    let target = member.to_hex();
    let body = body::record_visit(member, guests);
    state.act(caller, Role::FrontDesk, "visit.record", Some(&target), body).await
}

/// Voids visit `visit_id` (64 hex digits) of `caller`'s club: 404 when there
/// is no such visit, 403 when another club hosted it (the REST handler and
/// the web app's front desk).
pub(crate) async fn void_as(
    state: &ApiState,
    caller: &Caller,
    visit_id: &str,
) -> ApiResult<(StatusCode, TxReceipt)> {
    let id = TxId::from_hex(visit_id).ok_or_else(|| {
        ApiError::bad_request(format!("visit id {} is not 64 hex digits", quote(visit_id)))
    })?;
    let visit = {
        let view = state.node().ledger().state();
        reciprocity_chaincode::query::visit(&view, &id)?
    }
    .ok_or_else(|| ApiError::not_found(format!("no visit {visit_id}")))?;
    state.own_club(caller, &visit.host_club, &format!("visit {visit_id}"))?;
    state.act(caller, Role::FrontDesk, "visit.void", Some(visit_id), body::void_visit(&id)).await
}

/// Visit listing filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VisitFilters {
    /// `host` (the default: visits at the caller's club), `home` (visits by
    /// the caller's club's members elsewhere) or `all` (both; each row
    /// says its `side`).
    pub side: Option<String>,
    /// Only this member (32 hex digits).
    pub member_id: Option<String>,
    /// From this date (host's calendar), `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Up to this date (host's calendar), `YYYY-MM-DD`.
    pub to: Option<String>,
    /// Include voided visits (default `false`: voided visits are left out).
    pub include_voided: Option<bool>,
    /// Page size (default 50, at most `api.page_size_max`).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// A visit as the caller's club sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VisitView {
    /// The visit id (the recording transaction's id, 64 hex digits).
    pub visit_id: String,
    /// `host` (at the caller's club) or `home` (by a member of the caller's club elsewhere).
    pub side: String,
    /// The club visited.
    pub host_club: String,
    /// The visitor's home club.
    pub home_club: String,
    /// The visitor (member id, 32 hex digits).
    pub member_id: String,
    /// The date of the visit in the host's calendar, `YYYY-MM-DD`.
    pub date: String,
    /// Guests brought.
    pub guests: u32,
    /// Fee in minor units of the terms' currency.
    pub fee_minor: u64,
    /// Block height of the visit.
    pub height: u64,
    /// Whether it was voided.
    pub voided: bool,
}

impl VisitView {
    fn of(row: VisitRow, club: &str) -> ApiResult<VisitView> {
        let corrupt = |field: &str| {
            ApiError::internal(&format!("index visit {}: {field} out of range", row.visit_id))
        };
        let day = u32::try_from(row.local_day).map_err(|_| corrupt("local_day"))?;
        Ok(VisitView {
            side: if row.host_club == club { "host" } else { "home" }.to_owned(),
            date: dates::format_day(day),
            guests: u32::try_from(row.guests).map_err(|_| corrupt("guests"))?,
            fee_minor: u64::try_from(row.fee_minor).map_err(|_| corrupt("fee_minor"))?,
            height: u64::try_from(row.height).map_err(|_| corrupt("height"))?,
            visit_id: row.visit_id,
            host_club: row.host_club,
            home_club: row.home_club,
            member_id: row.member_id,
            voided: row.voided,
        })
    }
}

/// A page of visits.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VisitPage {
    /// Visits, newest first (as indexed).
    pub visits: Vec<VisitView>,
    /// Offset of the next page, when there may be one.
    pub next_offset: Option<u32>,
}

fn optional_day(field: &str, text: Option<&String>) -> ApiResult<Option<i64>> {
    text.map(|t| {
        dates::parse_day(t).map(i64::from).map_err(|_| {
            ApiError::bad_request(format!("{field} {} is not a date YYYY-MM-DD", quote(t)))
        })
    })
    .transpose()
}

/// Lists visits at the caller's club (by default), by its members elsewhere
/// (`side=home`) or both (`side=all`); voided visits only with
/// `include_voided=true`. Served from the index, newest first.
#[utoipa::path(get, path = "/v1/visits", tag = "visits", security(("bearer" = [])),
    params(VisitFilters),
    responses(
        (status = 200, description = "A page of visits", body = VisitPage),
        (status = 400, description = "Bad filter", body = ErrorBody)))]
pub async fn list_visits(
    caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiQuery(filters): ApiQuery<VisitFilters>,
) -> ApiResult<axum::Json<VisitPage>> {
    let limit = state.page_size(filters.limit)?;
    let offset = filters.offset.unwrap_or(0);
    let club = caller.club.to_string();
    let side = match filters.side.as_deref() {
        None | Some("host") => VisitSide::Host,
        Some("home") => VisitSide::Home,
        Some("all") => VisitSide::Either,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "side {} is not host, home or all",
                quote(other)
            )));
        }
    };
    let member_id = filters.member_id.as_deref().map(parse_member_id).transpose()?;
    let query = VisitQuery {
        member_id: member_id.map(|m| m.to_hex()),
        club: club.clone(),
        side,
        from_day: optional_day("from", filters.from.as_ref())?,
        to_day: optional_day("to", filters.to.as_ref())?,
        include_voided: filters.include_voided.unwrap_or(false),
        limit,
        offset,
    };
    let rows = state.store()?.visits(&query).await?;
    let next_offset = super::next_offset(offset, limit, rows.len());
    let visits = rows.into_iter().map(|row| VisitView::of(row, &club)).collect::<ApiResult<_>>()?;
    Ok(axum::Json(VisitPage { visits, next_offset }))
}
