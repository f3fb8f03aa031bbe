//! Agreements between the caller's club and another: propose, accept the
//! exact terms by their hash, amend, suspend, resume, terminate, list, get
//! with history. The terms as the API writes them are in [`terms`]; letters
//! of introduction in [`introductions`].

pub mod introductions;
pub mod terms;

use axum::extract::State;
use axum::http::StatusCode;
use reciprocity_chaincode::{Agreement, ClubId, Role};
use reciprocity_proto::v1 as pb;
use reciprocity_sdk::dates;
use reciprocity_sdk::tx::body;
use serde::{Deserialize, Serialize};

use terms::counterparty;
pub use terms::{Blackout, TermsInput};

use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::require::{Admin, AnyRole, Require};
use super::{ApiState, TxReceipt};
use crate::clock::now_ms;
use crate::index::read::{AgreementEventRow, AgreementRow};

/// An offer of terms to another club.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeRequest {
    /// The other club.
    pub counterparty: String,
    /// The terms offered.
    pub terms: TermsInput,
}

/// An offer made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Offered {
    /// The hash the other club accepts (64 hex digits).
    pub terms_hash: String,
    /// The transaction.
    pub transaction: TxReceipt,
}

async fn offer(
    state: &ApiState,
    caller: &Caller,
    other: &ClubId,
    terms: &TermsInput,
    amend: bool,
) -> ApiResult<(StatusCode, axum::Json<Offered>)> {
    let (status, offered) = offer_as(state, caller, other, terms, amend).await?;
    Ok((status, axum::Json(offered)))
}

/// Offers `terms` to `other` (an amendment when `amend`). Shared by REST
/// and the web app.
pub(crate) async fn offer_as(
    state: &ApiState,
    caller: &Caller,
    other: &ClubId,
    terms: &TermsInput,
    amend: bool,
) -> ApiResult<(StatusCode, Offered)> {
    let wire = terms.to_wire()?;
    let encoded = reciprocity_sdk::terms::encode(&wire);
    let terms_hash = hex::encode(reciprocity_sdk::terms::hash(&encoded));
    let body = if amend {
        body::amend_agreement(other.as_str(), &wire)
    } else {
        body::propose_agreement_bytes(other.as_str(), encoded)
    };
    let action = if amend { "agreement.amend" } else { "agreement.propose" };
    let (status, receipt) =
        state.act(caller, Role::Admin, action, Some(other.as_str()), body).await?;
    Ok((status, Offered { terms_hash, transaction: receipt }))
}

/// Offers terms to another club.
#[utoipa::path(post, path = "/v1/agreements", tag = "agreements", security(("bearer" = ["admin"])),
    request_body = ProposeRequest,
    responses(
        (status = 201, description = "Offered", body = Offered),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Refused (an agreement exists...)", body = ErrorBody),
        (status = 422, description = "Invalid terms", body = ErrorBody)))]
pub async fn propose_agreement(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiJson(request): ApiJson<ProposeRequest>,
) -> ApiResult<(StatusCode, axum::Json<Offered>)> {
    let other = counterparty(&request.counterparty)?;
    offer(&state, &caller, &other, &request.terms, false).await
}

/// Offers amended terms for an agreement in force.
#[utoipa::path(post, path = "/v1/agreements/{counterparty}/amend", tag = "agreements", security(("bearer" = ["admin"])),
    params(("counterparty" = String, Path, description = "The other club")),
    request_body = TermsInput,
    responses(
        (status = 201, description = "Amendment offered", body = Offered),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Refused (no agreement...)", body = ErrorBody),
        (status = 422, description = "Invalid terms", body = ErrorBody)))]
pub async fn amend_agreement(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiPath(other): ApiPath<String>,
    ApiJson(terms): ApiJson<TermsInput>,
) -> ApiResult<(StatusCode, axum::Json<Offered>)> {
    let other = counterparty(&other)?;
    offer(&state, &caller, &other, &terms, true).await
}

/// Acceptance of a pending offer.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The hash of the exact terms accepted (64 hex digits).
    pub terms_hash: String,
}

/// Accepts the other club's pending offer, by its terms hash.
#[utoipa::path(post, path = "/v1/agreements/{counterparty}/accept", tag = "agreements", security(("bearer" = ["admin"])),
    params(("counterparty" = String, Path, description = "The club that offered")),
    request_body = AcceptRequest,
    responses(
        (status = 201, description = "Accepted", body = TxReceipt),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Refused (no offer, hash mismatch...)", body = ErrorBody)))]
pub async fn accept_agreement(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiPath(other): ApiPath<String>,
    ApiJson(request): ApiJson<AcceptRequest>,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    let other = counterparty(&other)?;
    let (status, receipt) = accept_as(&state, &caller, &other, &request.terms_hash).await?;
    Ok((status, axum::Json(receipt)))
}

/// Accepts `other`'s pending offer by its terms hash (64 hex digits).
/// Shared by REST and the web app.
pub(crate) async fn accept_as(
    state: &ApiState,
    caller: &Caller,
    other: &ClubId,
    terms_hash: &str,
) -> ApiResult<(StatusCode, TxReceipt)> {
    let hash: [u8; 32] = hex::decode(terms_hash)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("terms_hash is not 64 hex digits"))?;
    state
        .act(
            caller,
            Role::Admin,
            "agreement.accept",
            Some(other.as_str()),
            body::accept_agreement(other.as_str(), hash),
        )
        .await
}

async fn side_action(
    state: &ApiState,
    caller: &Caller,
    other: &str,
    side: Side,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    let other = counterparty(other)?;
    let (status, receipt) = side_as(state, caller, &other, side).await?;
    Ok((status, axum::Json(receipt)))
}

/// One side's action on an agreement in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Suspend it on this side.
    Suspend,
    /// Lift this side's suspension.
    Resume,
    /// Terminate it, with the notice of the terms in effect.
    Terminate,
}

impl Side {
    fn body(self) -> fn(&str) -> pb::tx_payload::Body {
        match self {
            Side::Suspend => body::suspend_agreement,
            Side::Resume => body::resume_agreement,
            Side::Terminate => body::terminate_agreement,
        }
    }

    fn action(self) -> &'static str {
        match self {
            Side::Suspend => "agreement.suspend",
            Side::Resume => "agreement.resume",
            Side::Terminate => "agreement.terminate",
        }
    }
}

/// `side` on the agreement with `other`. Shared by REST and the web app.
pub(crate) async fn side_as(
    state: &ApiState,
    caller: &Caller,
    other: &ClubId,
    side: Side,
) -> ApiResult<(StatusCode, TxReceipt)> {
    let make = side.body();
    state.act(caller, Role::Admin, side.action(), Some(other.as_str()), make(other.as_str())).await
}

/// Suspends the agreement on the caller's side.
#[utoipa::path(post, path = "/v1/agreements/{counterparty}/suspend", tag = "agreements", security(("bearer" = ["admin"])),
    params(("counterparty" = String, Path, description = "The other club")),
    responses(
        (status = 201, description = "Suspended", body = TxReceipt),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Refused", body = ErrorBody)))]
pub async fn suspend_agreement(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiPath(other): ApiPath<String>,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    side_action(&state, &caller, &other, Side::Suspend).await
}

/// Lifts the caller's side's suspension.
#[utoipa::path(post, path = "/v1/agreements/{counterparty}/resume", tag = "agreements", security(("bearer" = ["admin"])),
    params(("counterparty" = String, Path, description = "The other club")),
    responses(
        (status = 201, description = "Resumed", body = TxReceipt),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Refused", body = ErrorBody)))]
pub async fn resume_agreement(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiPath(other): ApiPath<String>,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    side_action(&state, &caller, &other, Side::Resume).await
}

/// Terminates the agreement with the notice of the terms in effect.
#[utoipa::path(post, path = "/v1/agreements/{counterparty}/terminate", tag = "agreements", security(("bearer" = ["admin"])),
    params(("counterparty" = String, Path, description = "The other club")),
    responses(
        (status = 201, description = "Terminating", body = TxReceipt),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Refused", body = ErrorBody)))]
pub async fn terminate_agreement(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiPath(other): ApiPath<String>,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    side_action(&state, &caller, &other, Side::Terminate).await
}

/// A page query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Page size.
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// An agreement of the caller's club in a listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgreementSummary {
    /// The other club.
    pub counterparty: String,
    /// The agreement's status now, as its detail gives it: `proposed`,
    /// `not_yet_in_effect`, `active`, `suspended`, `terminating`,
    /// `terminated` or `expired` (from the node's own state); `unknown`
    /// when the index names an agreement this node's ledger does not hold.
    pub status: String,
    /// The latest accepted version.
    pub current_version: Option<u32>,
    /// Its terms hash (hex).
    pub current_terms_hash: Option<String>,
    /// The pending offer's terms hash (hex).
    pub pending_terms_hash: Option<String>,
    /// The club that made the pending offer.
    pub pending_by: Option<String>,
    /// Clubs suspending it.
    pub suspended_by: Vec<String>,
    /// When a termination takes effect (Unix ms).
    pub terminates_at_ms: Option<u64>,
    /// Height of the last change (as indexed).
    pub updated_height: u64,
}

/// A page of agreements.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgreementPage {
    /// Agreements of the caller's club, by counterparty (as indexed).
    pub agreements: Vec<AgreementSummary>,
    /// Offset of the next page, when there may be one.
    pub next_offset: Option<u32>,
}

fn summary_of(
    row: AgreementRow,
    club: &ClubId,
    view: &dyn reciprocity_chaincode::StateRead,
) -> ApiResult<AgreementSummary> {
    let other = if row.club_a == club.as_str() { &row.club_b } else { &row.club_a };
    let agreement = match ClubId::parse(other) {
        Some(other_id) => reciprocity_chaincode::query::agreement(view, club, &other_id)?,
        None => None,
    };
    let status = match agreement {
        Some(agreement) => {
            status_name(agreement.status_at(now_ms(), dates::day_of_ms(now_ms()))).to_owned()
        }
        // One odd row must not hide the others.
        None => {
            tracing::warn!(club = %club, counterparty = %other, "an indexed agreement is not on this node's ledger (an index kept across a ledger restore? `recip index rebuild` projects it afresh)");
            "unknown".to_owned()
        }
    };
    let mut suspended_by = Vec::new();
    if row.suspended_by_a {
        suspended_by.push(row.club_a.clone());
    }
    if row.suspended_by_b {
        suspended_by.push(row.club_b.clone());
    }
    Ok(AgreementSummary {
        counterparty: other.clone(),
        status,
        current_version: row.current_version.and_then(|v| u32::try_from(v).ok()),
        current_terms_hash: row.current_terms_hash,
        pending_terms_hash: row.pending_terms_hash,
        pending_by: row.pending_by,
        suspended_by,
        terminates_at_ms: row.terminates_at_ms.and_then(|t| u64::try_from(t).ok()),
        updated_height: u64::try_from(row.updated_height).unwrap_or(0),
    })
}

/// Lists the caller's club's agreements.
#[utoipa::path(get, path = "/v1/agreements", tag = "agreements", security(("bearer" = [])),
    params(Page),
    responses((status = 200, description = "A page of agreements", body = AgreementPage)))]
pub async fn list_agreements(
    caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<axum::Json<AgreementPage>> {
    let limit = state.page_size(page.limit)?;
    let offset = page.offset.unwrap_or(0);
    let rows = state.store()?.agreements_of(caller.club.as_str(), limit, offset).await?;
    let next_offset = super::next_offset(offset, limit, rows.len());
    let view = state.node().ledger().snapshot();
    let agreements = rows
        .into_iter()
        .map(|row| summary_of(row, &caller.club, &view))
        .collect::<ApiResult<_>>()?;
    Ok(axum::Json(AgreementPage { agreements, next_offset }))
}

/// One accepted version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    /// Version number.
    pub version: u32,
    /// Terms hash (hex).
    pub terms_hash: String,
    /// The club that offered it.
    pub offered_by: String,
    /// Height of acceptance.
    pub accepted_height: u64,
    /// The terms.
    pub terms: TermsInput,
}

/// A pending offer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OfferView {
    /// The offering club.
    pub offered_by: String,
    /// The hash to accept.
    pub terms_hash: String,
    /// Whether it amends terms in force.
    pub is_amendment: bool,
    /// The terms offered.
    pub terms: TermsInput,
}

/// An agreement as the ledger has it now, with its history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgreementView {
    /// The two clubs, ascending.
    pub clubs: Vec<String>,
    /// `proposed`, `not_yet_in_effect`, `active`, `suspended`, `terminating`, `terminated`, `expired`.
    pub status: String,
    /// Accepted versions still relevant.
    pub versions: Vec<VersionView>,
    /// The pending offer.
    pub pending: Option<OfferView>,
    /// Clubs suspending it.
    pub suspended_by: Vec<String>,
    /// When a termination takes effect (Unix ms), and by whom.
    pub terminates_at_ms: Option<u64>,
    /// The terminating club.
    pub terminated_by: Option<String>,
    /// Every event, in chain order (as indexed).
    pub history: Vec<AgreementEventRow>,
}

fn status_name(status: reciprocity_chaincode::AgreementStatus) -> &'static str {
    use reciprocity_chaincode::AgreementStatus as S;
    match status {
        S::Proposed => "proposed",
        S::NotYetInEffect => "not_yet_in_effect",
        S::Active => "active",
        S::Suspended => "suspended",
        S::Terminating => "terminating",
        S::Terminated => "terminated",
        S::Expired => "expired",
    }
}

/// The view of `agreement` now (`today`: the UTC day), with `history` from the index.
pub(crate) fn view_of(
    agreement: &Agreement,
    today: u32,
    history: Vec<AgreementEventRow>,
) -> AgreementView {
    AgreementView {
        clubs: vec![agreement.clubs.0.to_string(), agreement.clubs.1.to_string()],
        status: status_name(agreement.status_at(now_ms(), today)).to_owned(),
        versions: agreement
            .versions
            .iter()
            .map(|v| VersionView {
                version: v.version,
                terms_hash: hex::encode(v.terms_hash),
                offered_by: v.offered_by.to_string(),
                accepted_height: v.accepted_height,
                terms: TermsInput::of(&v.terms),
            })
            .collect(),
        pending: agreement.pending.as_ref().map(|o| OfferView {
            offered_by: o.offered_by.to_string(),
            terms_hash: hex::encode(o.terms_hash),
            is_amendment: o.is_amendment,
            terms: TermsInput::of(&o.terms),
        }),
        suspended_by: agreement.suspended_by.iter().map(ToString::to_string).collect(),
        terminates_at_ms: agreement.termination.as_ref().map(|t| t.effective_at_ms),
        terminated_by: agreement.termination.as_ref().map(|t| t.by.to_string()),
        history,
    }
}

/// The agreement between the caller's club and another, with its history.
#[utoipa::path(get, path = "/v1/agreements/{counterparty}", tag = "agreements", security(("bearer" = [])),
    params(("counterparty" = String, Path, description = "The other club")),
    responses(
        (status = 200, description = "The agreement", body = AgreementView),
        (status = 404, description = "No agreement or offer", body = ErrorBody)))]
pub async fn get_agreement(
    caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiPath(other): ApiPath<String>,
) -> ApiResult<axum::Json<AgreementView>> {
    let other = counterparty(&other)?;
    let agreement = {
        let view = state.node().ledger().state();
        reciprocity_chaincode::query::agreement(&view, &caller.club, &other)?
    }
    .ok_or_else(|| {
        ApiError::not_found(format!("no agreement or offer between {} and {other}", caller.club))
    })?;
    let history = state.store()?.agreement_history(caller.club.as_str(), other.as_str()).await?;
    Ok(axum::Json(view_of(&agreement, dates::day_of_ms(now_ms()), history)))
}
