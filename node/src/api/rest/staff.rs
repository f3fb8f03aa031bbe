//! Staff accounts of this node's club (admins manage them) and the audit
//! log. Passwords are stored as Argon2id hashes and never returned.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, quote};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::require::{Admin, Require};
use crate::records::audit::AuditEntry;
use crate::records::staff::{
    StaffAccount, check_password_strength, check_username, create_account, hash_password,
    parse_roles, roles_text,
};

/// A staff account as shown (no password hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffView {
    /// Login name.
    pub username: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Creation time (Unix ms).
    pub created_at_ms: i64,
}

fn view_of(account: &StaffAccount) -> StaffView {
    StaffView {
        username: account.username.clone(),
        roles: account.roles.split(',').map(str::to_owned).collect(),
        disabled: account.disabled,
        created_at_ms: account.created_at_ms,
    }
}

/// A new staff account.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// Login name: 1-64 of `a-z 0-9 . _ -`.
    pub username: String,
    /// Password (12-256 characters).
    pub password: String,
    /// Roles: `admin`, `registrar`, `front_desk`, `governor`.
    pub roles: Vec<String>,
}

/// Creates a staff account of this club.
#[utoipa::path(post, path = "/v1/staff", tag = "staff", security(("bearer" = ["admin"])),
    request_body = NewStaff,
    responses(
        (status = 201, description = "Created", body = StaffView),
        (status = 400, description = "Invalid username, password or roles", body = ErrorBody),
        (status = 403, description = "Not an admin of this club", body = ErrorBody),
        (status = 409, description = "Username taken", body = ErrorBody)))]
pub async fn create_staff(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiJson(request): ApiJson<NewStaff>,
) -> ApiResult<(StatusCode, axum::Json<StaffView>)> {
    let account = create_as(&state, &caller, &request).await?;
    Ok((StatusCode::CREATED, axum::Json(account)))
}

/// Creates a staff account of this club. Shared by REST and the web app.
pub(crate) async fn create_as(
    state: &ApiState,
    caller: &Caller,
    request: &NewStaff,
) -> ApiResult<StaffView> {
    state.own_club(caller, state.club(), "this node's staff")?;
    check_username(&request.username).map_err(ApiError::bad_request)?;
    check_password_strength(&request.password).map_err(ApiError::bad_request)?;
    parse_roles(&request.roles).map_err(ApiError::bad_request)?;
    let records = state.records()?;
    let created = create_account(&records, &request.username, &request.password, &request.roles)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if !created {
        return Err(ApiError::conflict(
            "username_taken",
            format!("username {:?} is taken", request.username),
        ));
    }
    state.audit(&caller.principal, "staff.create", Some(&request.username), "ok", None).await;
    let account = records
        .staff_get(&request.username)
        .await?
        .ok_or_else(|| ApiError::internal(&"account vanished after creation"))?;
    Ok(view_of(&account))
}

/// This club's staff accounts, by username. Shared by REST and the web app.
pub(crate) async fn list_as(state: &ApiState, caller: &Caller) -> ApiResult<Vec<StaffView>> {
    state.own_club(caller, state.club(), "this node's staff")?;
    Ok(state.records()?.staff_list().await?.iter().map(view_of).collect())
}

/// The staff list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffList {
    /// Accounts, by username.
    pub staff: Vec<StaffView>,
}

/// Lists this club's staff accounts.
#[utoipa::path(get, path = "/v1/staff", tag = "staff", security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Accounts", body = StaffList),
        (status = 403, description = "Not an admin of this club", body = ErrorBody)))]
pub async fn list_staff(
    caller: Require<Admin>,
    State(state): State<ApiState>,
) -> ApiResult<axum::Json<StaffList>> {
    Ok(axum::Json(StaffList { staff: list_as(&state, &caller).await? }))
}

/// Changes to an account; absent fields stay.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffUpdate {
    /// New roles.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// Disable (or re-enable) the account.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// New password.
    #[serde(default)]
    pub password: Option<String>,
}

/// Changes an account's roles, password or disabled flag; its live tokens end.
#[utoipa::path(patch, path = "/v1/staff/{username}", tag = "staff", security(("bearer" = ["admin"])),
    params(("username" = String, Path, description = "Login name")),
    request_body = StaffUpdate,
    responses(
        (status = 200, description = "Updated", body = StaffView),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 403, description = "Not an admin of this club", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody)))]
pub async fn update_staff(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiPath(username): ApiPath<String>,
    ApiJson(update): ApiJson<StaffUpdate>,
) -> ApiResult<axum::Json<StaffView>> {
    update_as(&state, &caller, &username, &update).await.map(axum::Json)
}

/// Changes an account's roles, password or disabled flag; its live tokens
/// and web sign-ins end. Shared by REST and the web app.
pub(crate) async fn update_as(
    state: &ApiState,
    caller: &Caller,
    username: &str,
    update: &StaffUpdate,
) -> ApiResult<StaffView> {
    state.own_club(caller, state.club(), "this node's staff")?;
    let records = state.records()?;
    let account = records
        .staff_get(username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no staff account {}", quote(username))))?;
    let roles = match &update.roles {
        Some(names) => roles_text(parse_roles(names).map_err(ApiError::bad_request)?),
        None => account.roles.clone(),
    };
    let hash = match update.password.clone() {
        Some(password) => {
            check_password_strength(&password).map_err(ApiError::bad_request)?;
            Some(
                tokio::task::spawn_blocking(move || hash_password(&password))
                    .await
                    .map_err(|e| ApiError::internal(&e))?
                    .map_err(|e| ApiError::internal(&e))?,
            )
        }
        None => None,
    };
    let disabled = update.disabled.unwrap_or(account.disabled);
    // The club keeps an admin who can sign in: no change may leave it none.
    let is_admin =
        |roles: &str, disabled: bool| !disabled && roles.split(',').any(|r| r == "admin");
    if is_admin(&account.roles, account.disabled) && !is_admin(&roles, disabled) {
        let others = records
            .staff_list()
            .await?
            .iter()
            .filter(|a| a.username != username && is_admin(&a.roles, a.disabled))
            .count();
        if others == 0 {
            return Err(ApiError::conflict(
                "last_admin",
                format!(
                    "{username} is the club's last enabled admin: give another account the admin role first"
                ),
            ));
        }
    }
    records.staff_update(username, &roles, disabled, hash.as_deref()).await?;
    state.end_sessions_of(&format!("staff:{username}"));
    state.audit(&caller.principal, "staff.update", Some(username), "ok", None).await;
    let account = records
        .staff_get(username)
        .await?
        .ok_or_else(|| ApiError::not_found("account vanished"))?;
    Ok(view_of(&account))
}

/// Audit log page.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditPage {
    /// Entries with a smaller id than this (for the next page).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: Option<u32>,
}

/// Audit entries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
}

/// The audit log of this node's API, newest first.
#[utoipa::path(get, path = "/v1/audit", tag = "staff", security(("bearer" = ["admin"])),
    params(AuditPage),
    responses(
        (status = 200, description = "Entries", body = AuditList),
        (status = 403, description = "Not an admin of this club", body = ErrorBody)))]
pub async fn audit_log(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiQuery(page): ApiQuery<AuditPage>,
) -> ApiResult<axum::Json<AuditList>> {
    state.own_club(&caller, state.club(), "this node's audit log")?;
    let limit = state.page_size(page.limit)?;
    let entries = state.records()?.audit_list(page.before_id, limit).await?;
    Ok(axum::Json(AuditList { entries }))
}
