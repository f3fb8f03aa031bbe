//! Letters of introduction: a registrar issues one for a member of the
//! club to a host club for a span of days; anyone of the club lists them.

use axum::extract::State;
use axum::http::StatusCode;
use reciprocity_chaincode::{MemberId, Role};
use reciprocity_sdk::dates;
use reciprocity_sdk::tx::body;
use serde::{Deserialize, Serialize};

use crate::api::rest::error::{ApiError, ApiResult, ErrorBody, quote};
use crate::api::rest::extract::{ApiJson, ApiQuery};
use crate::api::rest::require::{AnyRole, Registrar, Require};
use crate::api::rest::{ApiState, TxReceipt};
use crate::index::read::IntroductionRow;

use super::Page;
use super::terms::{counterparty, date};

/// A letter of introduction to issue.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntroductionRequest {
    /// A member of the caller's club.
    pub member_id: String,
    /// The club the member is introduced to.
    pub host_club: String,
    /// First date covered, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last date covered, `YYYY-MM-DD`.
    pub valid_until: String,
}

/// Issues a letter of introduction for a member of the caller's club.
#[utoipa::path(post, path = "/v1/introductions", tag = "agreements", security(("bearer" = ["registrar"])),
    request_body = IntroductionRequest,
    responses(
        (status = 201, description = "Issued", body = TxReceipt),
        (status = 403, description = "Not a registrar, or another club's member", body = ErrorBody),
        (status = 409, description = "Refused", body = ErrorBody)))]
pub async fn issue_introduction(
    caller: Require<Registrar>,
    State(state): State<ApiState>,
    ApiJson(request): ApiJson<IntroductionRequest>,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    let (status, receipt) = introduce_as(&state, &caller, &request).await?;
    Ok((status, axum::Json(receipt)))
}

/// Issues a letter of introduction for a member of `caller`'s club. Shared
/// by REST and the web app.
pub(crate) async fn introduce_as(
    state: &ApiState,
    caller: &crate::api::rest::auth::Caller,
    request: &IntroductionRequest,
) -> ApiResult<(StatusCode, TxReceipt)> {
    let member = MemberId::from_hex(&request.member_id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "member_id {} is not 32 hex digits",
            quote(&request.member_id)
        ))
    })?;
    let host = counterparty(&request.host_club)?;
    let from = date("valid_from", &request.valid_from)?;
    let until = date("valid_until", &request.valid_until)?;
    // The chaincode's own bounds, checked before anything reaches the ledger.
    let days_max = reciprocity_chaincode::decode::limits::INTRODUCTION_DAYS_MAX;
    if from > until || until - from >= days_max || host == caller.club {
        return Err(ApiError::refused(
            reciprocity_chaincode::ValidationCode::InvalidIntroduction,
            &format!(
                "from must not be after until, cover at most {days_max} days, and name another club"
            ),
        ));
    }
    let record = {
        let view = state.node().ledger().state();
        reciprocity_chaincode::query::member(&view, &member)?
    };
    if let Some(record) = record {
        state.own_club(caller, &record.home_club, &format!("member {}", request.member_id))?;
    }
    state
        .act(
            caller,
            Role::Registrar,
            "introduction.issue",
            Some(&request.member_id),
            body::issue_introduction(&member, host.as_str(), from, until),
        )
        .await
}

/// A letter of introduction.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntroductionView {
    /// The member (32 hex digits).
    pub member_id: String,
    /// The club the member is introduced to.
    pub host_club: String,
    /// The issuing (home) club.
    pub home_club: String,
    /// First date covered, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last date covered, `YYYY-MM-DD`.
    pub valid_until: String,
    /// Height of the issuing transaction.
    pub height: u64,
}

fn introduction_of(row: IntroductionRow) -> ApiResult<IntroductionView> {
    let day = |d: i64| {
        u32::try_from(d)
            .map(dates::format_day)
            .map_err(|_| ApiError::internal(&format!("index introduction day {d} out of range")))
    };
    Ok(IntroductionView {
        valid_from: day(row.valid_from_day)?,
        valid_until: day(row.valid_until_day)?,
        height: u64::try_from(row.height).unwrap_or(0),
        member_id: row.member_id,
        host_club: row.host_club,
        home_club: row.home_club,
    })
}

/// A page of introductions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntroductionPage {
    /// Introductions issued by or to the caller's club, newest first.
    pub introductions: Vec<IntroductionView>,
    /// Offset of the next page, when there may be one.
    pub next_offset: Option<u32>,
}

/// Lists introductions issued by or to the caller's club.
#[utoipa::path(get, path = "/v1/introductions", tag = "agreements", security(("bearer" = [])),
    params(Page),
    responses((status = 200, description = "A page of introductions", body = IntroductionPage)))]
pub async fn list_introductions(
    caller: Require<AnyRole>,
    State(state): State<ApiState>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<axum::Json<IntroductionPage>> {
    let limit = state.page_size(page.limit)?;
    let offset = page.offset.unwrap_or(0);
    let rows = state.store()?.introductions_of(caller.club.as_str(), limit, offset).await?;
    let next_offset = crate::api::rest::next_offset(offset, limit, rows.len());
    let introductions = rows.into_iter().map(introduction_of).collect::<ApiResult<_>>()?;
    Ok(axum::Json(IntroductionPage { introductions, next_offset }))
}
