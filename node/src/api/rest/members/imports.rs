//! The member import's handlers: a CSV of members (checked whole first,
//! refused with every bad row named, or stored and submitted as a job) and
//! the job's progress. The job itself runs in `service::import`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reciprocity_chaincode::Role;
use reciprocity_sdk::tx::{TxBuilder, body};
use serde::Serialize;

use super::csv_import::{CsvRefusal, csv_content_type, parse_csv};
use super::profile_of;
use crate::api::rest::ApiState;
use crate::api::rest::error::{ApiError, ApiResult, ErrorBody, ErrorDetail, count_of, quote};
use crate::api::rest::extract::ApiPath;
use crate::api::rest::require::{Registrar, Require};
use crate::clock::now_ms;
use crate::records::profiles::MemberProfile;
use crate::service::import::{
    ImportJob, ImportProgress, ImportRow, ImportRun, RowError, run_import,
};
use crate::service::sweeper::orphan_after_ms;

/// An import refused as a whole: nothing was imported.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportRefused {
    /// `invalid_rows`.
    pub error: ErrorDetail,
    /// Every row in error.
    pub rows: Vec<RowError>,
}

fn refused_rows(rows: Vec<RowError>) -> Response {
    let body = ImportRefused {
        error: ErrorDetail {
            code: "invalid_rows".to_owned(),
            message: format!(
                "{} invalid; nothing was imported",
                count_of(rows.len(), "row is", "rows are")
            ),
        },
        rows,
    };
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// Imports members from CSV (`Content-Type: text/csv`, UTF-8): columns
/// `member_number`, `full_name`, `tier`, `valid_until` (required), `email`,
/// `phone`, `date_of_birth`, `notes`, in any order, with a header line.
/// A file may hold at most `api.import_bytes_max` bytes (16 MiB by
/// default; larger answers 413) and `api.import_rows_max` rows (100,000 by
/// default). Every row is checked first; if any is invalid nothing is
/// imported (422 with every row's error). Otherwise the profiles are stored
/// in one SQL transaction and the registrations submitted; the answer is a
/// job whose progress `GET /v1/members/imports/{job_id}` shows.
#[utoipa::path(post, path = "/v1/members/import", tag = "members", security(("bearer" = ["registrar"])),
    request_body(content = String, content_type = "text/csv",
        description = "The member list: a header line, then one member per line (at most api.import_bytes_max bytes, 16 MiB by default, and api.import_rows_max rows, 100,000 by default)"),
    responses(
        (status = 202, description = "Import started", body = ImportProgress),
        (status = 400, description = "Not a CSV of the expected columns, or more rows than api.import_rows_max", body = ErrorBody),
        (status = 413, description = "Larger than api.import_bytes_max", body = ErrorBody),
        (status = 415, description = "Not declared text/csv (UTF-8)", body = ErrorBody),
        (status = 422, description = "Invalid rows; nothing imported", body = ImportRefused)))]
pub async fn import_members(
    caller: Require<Registrar>,
    State(state): State<ApiState>,
    request: Request,
) -> ApiResult<Response> {
    csv_content_type(request.headers())?;
    let key = state.signer(&caller, Role::Registrar)?;
    let bytes_max = state.inner.settings.import_bytes_max;
    let bytes = axum::body::to_bytes(request.into_body(), bytes_max)
        .await
        .map_err(|_| ApiError::body_too_large("api.import_bytes_max", bytes_max))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the CSV is not UTF-8: {e}")))?;
    match import_as(&state, &caller, key, text).await? {
        ImportStart::Started(progress) => {
            Ok((StatusCode::ACCEPTED, axum::Json(progress)).into_response())
        }
        ImportStart::Refused(rows) => Ok(refused_rows(rows)),
    }
}

/// How an import began.
#[derive(Debug)]
pub(crate) enum ImportStart {
    /// The job runs; its progress so far.
    Started(ImportProgress),
    /// Rows in error: nothing was imported.
    Refused(Vec<RowError>),
}

/// Checks the CSV `text` whole and, when every row is good, stores the
/// profiles and starts the job that submits the registrations, signed by
/// `key`. Shared by REST and the web app.
pub(crate) async fn import_as(
    state: &ApiState,
    caller: &crate::api::rest::auth::Caller,
    key: reciprocity_sdk::keys::Keypair,
    text: &str,
) -> ApiResult<ImportStart> {
    let rows = match parse_csv(text, state.inner.settings.import_rows_max) {
        Ok(rows) => rows,
        Err(CsvRefusal::Rows(row_errors)) => return Ok(ImportStart::Refused(row_errors)),
        Err(CsvRefusal::File(error)) => return Err(error),
    };
    let store = state.records()?;
    let club = state.club().to_string();
    let numbers: Vec<String> = rows.iter().map(|(_, r, _)| r.member_number.clone()).collect();
    let taken = store.member_numbers_taken(&club, &numbers).await?;
    if !taken.is_empty() {
        let errors = rows
            .iter()
            .filter(|(_, r, _)| taken.contains(&r.member_number))
            .map(|(line, r, _)| RowError {
                line: *line,
                member_number: Some(r.member_number.clone()),
                message: format!(
                    "member_number {:?} is already used in this club",
                    r.member_number
                ),
            })
            .collect();
        return Ok(ImportStart::Refused(errors));
    }
    let mut planned = Vec::with_capacity(rows.len());
    for (line, request, until) in rows {
        let member_id = reciprocity_sdk::random_member_id().map_err(|e| ApiError::internal(&e))?;
        planned.push((line, member_id, request, until));
    }
    let profiles: Vec<MemberProfile> =
        planned.iter().map(|(_, id, request, _)| profile_of(&club, id, request)).collect();
    // Signed now, so that every row's transaction expires by one deadline:
    // past it, a row the node never saw commit is an orphan (see the sweeper).
    let created_ms = now_ms();
    let builder = TxBuilder::new(state.node().ledger().chain_id(), created_ms);
    // Up to `api.import_rows_max` signatures: off the async workers.
    let signed: Vec<ImportRow> = tokio::task::spawn_blocking(move || {
        planned
            .into_iter()
            .map(|(line, id, request, until)| {
                let tx = builder.sign(&key, body::register_member(&id, &request.tier, until));
                ImportRow { line, member_id: id, member_number: request.member_number, tx }
            })
            .collect()
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    store.profiles_insert(&profiles, Some(orphan_after_ms(created_ms))).await.map_err(|error| {
        match error {
            crate::index::IndexError::Refused(_) => ApiError::conflict(
                "member_number_taken",
                "a membership number of the file was taken meanwhile; nothing was imported",
            ),
            other => other.into(),
        }
    })?;
    let job_id =
        hex::encode(reciprocity_sdk::random_bytes::<8>().map_err(|e| ApiError::internal(&e))?);
    let job = ImportJob::new(job_id.clone(), club.clone(), signed.len());
    if let Err(busy) = state.inner.imports.start(Arc::clone(&job)) {
        let ids: Vec<String> = profiles.iter().map(|p| p.member_id.clone()).collect();
        store.profiles_delete(&ids).await?;
        return Err(ApiError::unavailable(busy));
    }
    state.audit(&caller.principal, "member.import", Some(&job_id), "ok", None).await;
    tracing::info!(job_id, rows = signed.len(), principal = %caller.principal, "member import started");
    let run = ImportRun {
        node: state.node().clone(),
        records: store,
        in_flight: state.inner.settings.import_in_flight_max,
        commit_timeout: std::time::Duration::from_millis(state.inner.settings.commit_timeout_ms),
        deadline_ms: orphan_after_ms(created_ms),
    };
    let progress = job.progress();
    tokio::spawn(run_import(run, job, signed));
    Ok(ImportStart::Started(progress))
}

/// Progress of an import started by this club.
#[utoipa::path(get, path = "/v1/members/imports/{job_id}", tag = "members", security(("bearer" = ["registrar"])),
    params(("job_id" = String, Path, description = "Import job id")),
    responses(
        (status = 200, description = "Progress", body = ImportProgress),
        (status = 404, description = "No such import", body = ErrorBody)))]
pub async fn import_progress(
    caller: Require<Registrar>,
    State(state): State<ApiState>,
    ApiPath(job_id): ApiPath<String>,
) -> ApiResult<axum::Json<ImportProgress>> {
    progress_of(&state, &caller.club, &job_id).map(axum::Json)
}

/// The progress of `club`'s import `job_id`. Shared by REST and the web app.
pub(crate) fn progress_of(
    state: &ApiState,
    club: &reciprocity_chaincode::ClubId,
    job_id: &str,
) -> ApiResult<ImportProgress> {
    let job = state
        .inner
        .imports
        .get(job_id)
        .filter(|j| j.club() == club.as_str())
        .ok_or_else(|| ApiError::not_found(format!("no import {}", quote(job_id))))?;
    Ok(job.progress())
}
