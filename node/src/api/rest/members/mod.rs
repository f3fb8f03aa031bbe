//! Members' handlers: personal data (name, e-mail, phone, date of birth, notes) in the
//! index database of the home club's node only; the on-chain record holds
//! an opaque id, tier, status and validity. Registering writes the profile,
//! then the on-chain record, and removes the profile again if the ledger
//! refuses: no profile without a record is left behind. The CSV import's
//! handlers are in [`imports`].

mod csv_import;
mod fields;
pub mod imports;

use axum::extract::State;
use axum::http::StatusCode;
use reciprocity_chaincode::{MemberId, Role};
use reciprocity_proto::v1 as pb;
use reciprocity_sdk::dates;
use reciprocity_sdk::tx::{TxBuilder, body};
use serde::{Deserialize, Serialize};

use self::fields::{check_len, check_tier, parse_date, present, validate};
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody, quote};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::require::{Registrar, RegistrarOrAdmin, Require};
use super::{ApiState, TxReceipt};
use crate::api::views::member_status_name;
use crate::clock::now_ms;
use crate::records::profiles::{MemberProfile, MemberQuery};
use crate::service::sweeper::orphan_after_ms;

/// Profile fields as entered by a registrar.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterMemberRequest {
    /// The club's own membership number (1-32 of `A-Z a-z 0-9 - _ / .`), unique in the club.
    pub member_number: String,
    /// Full name (1-200 characters).
    pub full_name: String,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number (digits, spaces, `+ - ( )`).
    #[serde(default)]
    pub phone: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Notes (up to 2000 characters).
    #[serde(default)]
    pub notes: Option<String>,
    /// Membership tier (1-32 of `a-z 0-9 - _`), as agreements name tiers.
    pub tier: String,
    /// Last day of validity, `YYYY-MM-DD`.
    pub valid_until: String,
}

/// A member: the profile and the on-chain record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// On-chain id (32 hex digits).
    pub member_id: String,
    /// Home club.
    pub home_club: String,
    /// Membership number.
    pub member_number: String,
    /// Full name.
    pub full_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Date of birth.
    pub date_of_birth: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Tier (on-chain; absent while the record is not committed or indexed).
    pub tier: Option<String>,
    /// `active`, `suspended`, `expired` or `resigned` (on-chain).
    pub status: Option<String>,
    /// Last day of validity (on-chain).
    pub valid_until: Option<String>,
}

/// A registration's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegisteredMember {
    /// The member.
    pub member: MemberView,
    /// The registering transaction.
    pub transaction: TxReceipt,
}

fn profile_of(club: &str, member_id: &MemberId, request: &RegisterMemberRequest) -> MemberProfile {
    let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    MemberProfile {
        member_id: member_id.to_hex(),
        home_club: club.to_owned(),
        member_number: request.member_number.clone(),
        full_name: request.full_name.trim().to_owned(),
        email: present(request.email.as_ref()).map(str::to_owned),
        phone: present(request.phone.as_ref()).map(str::to_owned),
        date_of_birth: present(request.date_of_birth.as_ref()).map(str::to_owned),
        notes: present(request.notes.as_ref()).map(str::to_owned),
        created_at_ms: now,
        updated_at_ms: now,
    }
}

fn view_of(profile: MemberProfile, record: Option<&reciprocity_chaincode::Member>) -> MemberView {
    MemberView {
        member_id: profile.member_id,
        home_club: profile.home_club,
        member_number: profile.member_number,
        full_name: profile.full_name,
        email: profile.email,
        phone: profile.phone,
        date_of_birth: profile.date_of_birth,
        notes: profile.notes,
        tier: record.map(|m| m.tier.clone()),
        status: record.map(|m| member_status_name(m.status).to_owned()),
        valid_until: record.map(|m| dates::format_day(m.valid_until_day)),
    }
}

fn taken_number(number: &str) -> ApiError {
    ApiError::conflict(
        "member_number_taken",
        format!("member_number {number:?} is already used in this club"),
    )
}

/// Registers a member: profile off-chain, record on-chain.
#[utoipa::path(post, path = "/v1/members", tag = "members", security(("bearer" = ["registrar"])),
    request_body = RegisterMemberRequest,
    responses(
        (status = 201, description = "Registered and committed", body = RegisteredMember),
        (status = 202, description = "Registered; commit pending", body = RegisteredMember),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not a registrar of this club", body = ErrorBody),
        (status = 409, description = "Membership number taken, or refused by the ledger", body = ErrorBody)))]
pub async fn register_member(
    caller: Require<Registrar>,
    State(state): State<ApiState>,
    ApiJson(request): ApiJson<RegisterMemberRequest>,
) -> ApiResult<(StatusCode, axum::Json<RegisteredMember>)> {
    let (status, registered) = register_as(&state, &caller, &request).await?;
    Ok((status, axum::Json(registered)))
}

/// Registers a member of `caller`'s club: the profile first, then the
/// on-chain record; the profile is removed again if the ledger refuses.
/// Shared by REST and the web app.
pub(crate) async fn register_as(
    state: &ApiState,
    caller: &Caller,
    request: &RegisterMemberRequest,
) -> ApiResult<(StatusCode, RegisteredMember)> {
    let until = validate(request).map_err(ApiError::bad_request)?;
    let key = state.signer(caller, Role::Registrar)?;
    let store = state.records()?;
    let club = state.club().to_string();
    let member_id = reciprocity_sdk::random_member_id().map_err(|e| ApiError::internal(&e))?;
    let profile = profile_of(&club, &member_id, request);
    let created_ms = now_ms();
    let tx = TxBuilder::new(state.node().ledger().chain_id(), created_ms)
        .sign(&key, body::register_member(&member_id, &request.tier, until));
    if let Err(error) = store
        .profiles_insert(std::slice::from_ref(&profile), Some(orphan_after_ms(created_ms)))
        .await
    {
        return Err(match error {
            crate::index::IndexError::Refused(_) => taken_number(&request.member_number),
            other => other.into(),
        });
    }
    let target = member_id.to_hex();
    let tx_id = reciprocity_chaincode::tx_id(&tx.payload).to_hex();
    // In its own task, so that a client hanging up cannot leave the
    // profile and the ledger out of step half-way.
    let (task_state, task_store, principal) =
        (state.clone(), store.clone(), caller.principal.clone());
    let task_target = target.clone();
    let result = tokio::spawn(async move {
        let result = task_state.submit(tx).await;
        let settled = match &result {
            Ok((StatusCode::CREATED, _)) => {
                task_store.profiles_mark_registered(std::slice::from_ref(&task_target)).await
            }
            // The ledger certainly has no record: the profile goes too.
            Err(error) if super::certainly_not_committed(error) => {
                task_store.profiles_delete(std::slice::from_ref(&task_target)).await
            }
            // Pending, or perhaps committed: the sweeper settles it after expiry.
            _ => Ok(()),
        };
        if let Err(db) = settled {
            tracing::warn!(%db, member_id = %task_target, "registration settled on the ledger, not yet in the profiles (the sweeper will)");
        }
        let outcome = result.as_ref().map_or_else(|e| e.code.clone(), |_| "ok".to_owned());
        task_state.audit(&principal, "member.register", Some(&task_target), &outcome, Some(&tx_id)).await;
        result
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let (status, receipt) = result?;
    let view = state.node().ledger().state();
    let record = reciprocity_chaincode::query::member(&view, &member_id)?;
    Ok((
        status,
        RegisteredMember { member: view_of(profile, record.as_ref()), transaction: receipt },
    ))
}

/// A member id from 32 hex digits, or 400.
pub(super) fn parse_member_id(text: &str) -> ApiResult<MemberId> {
    MemberId::from_hex(text).ok_or_else(|| {
        ApiError::bad_request(format!("member id {} is not 32 hex digits", quote(text)))
    })
}

/// A member of the caller's club, by id.
#[utoipa::path(get, path = "/v1/members/{member_id}", tag = "members", security(("bearer" = ["registrar", "admin"])),
    params(("member_id" = String, Path, description = "Member id, 32 hex digits")),
    responses(
        (status = 200, description = "The member", body = MemberView),
        (status = 403, description = "A member of another club", body = ErrorBody),
        (status = 404, description = "No such member", body = ErrorBody)))]
pub async fn get_member(
    caller: Require<RegistrarOrAdmin>,
    State(state): State<ApiState>,
    ApiPath(member_id): ApiPath<String>,
) -> ApiResult<axum::Json<MemberView>> {
    // Personal data: registrars and admins only.
    let id = parse_member_id(&member_id)?;
    let record = {
        let view = state.node().ledger().state();
        reciprocity_chaincode::query::member(&view, &id)?
    };
    if let Some(record) = &record {
        state.own_club(&caller, &record.home_club, &format!("member {member_id}"))?;
    }
    let profile = state.records()?.profile_get(&id.to_hex()).await?;
    match profile {
        Some(profile) if profile.home_club == caller.club.as_str() => {
            Ok(axum::Json(view_of(profile, record.as_ref())))
        }
        Some(_) => {
            Err(ApiError::forbidden(format!("member {member_id} is not of club {}", caller.club)))
        }
        None => Err(ApiError::not_found(format!("no member {member_id} in club {}", caller.club))),
    }
}

/// Changes to a member: on-chain fields (status, tier, validity) and
/// profile fields; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    /// `active`, `suspended`, `expired` or `resigned`.
    #[serde(default)]
    pub status: Option<String>,
    /// New tier.
    #[serde(default)]
    pub tier: Option<String>,
    /// New last day of validity, `YYYY-MM-DD`.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// New membership number.
    #[serde(default)]
    pub member_number: Option<String>,
    /// New full name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// New e-mail (empty string clears it).
    #[serde(default)]
    pub email: Option<String>,
    /// New phone (empty string clears it).
    #[serde(default)]
    pub phone: Option<String>,
    /// New date of birth (empty string clears it).
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// New notes (empty string clears them).
    #[serde(default)]
    pub notes: Option<String>,
}

/// An update's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpdatedMember {
    /// The member after the change.
    pub member: MemberView,
    /// The on-chain change, when there was one.
    pub transaction: Option<TxReceipt>,
}

fn parse_status(text: &str) -> ApiResult<pb::MemberStatus> {
    match text {
        "active" => Ok(pb::MemberStatus::Active),
        "suspended" => Ok(pb::MemberStatus::Suspended),
        "expired" => Ok(pb::MemberStatus::Expired),
        "resigned" => Ok(pb::MemberStatus::Resigned),
        other => Err(ApiError::bad_request(format!(
            "status {} is not active, suspended, expired or resigned",
            quote(other)
        ))),
    }
}

/// Updates a member of the caller's club.
#[utoipa::path(patch, path = "/v1/members/{member_id}", tag = "members", security(("bearer" = ["registrar"])),
    params(("member_id" = String, Path, description = "Member id, 32 hex digits")),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "Updated", body = UpdatedMember),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 403, description = "Not a registrar, or a member of another club", body = ErrorBody),
        (status = 404, description = "No such member", body = ErrorBody),
        (status = 409, description = "Refused by the ledger", body = ErrorBody)))]
pub async fn update_member(
    caller: Require<Registrar>,
    State(state): State<ApiState>,
    ApiPath(member_id): ApiPath<String>,
    ApiJson(request): ApiJson<UpdateMemberRequest>,
) -> ApiResult<axum::Json<UpdatedMember>> {
    let id = parse_member_id(&member_id)?;
    update_as(&state, &caller, &id, &request).await.map(axum::Json)
}

/// Updates a member of `caller`'s club: the profile first (it can be put
/// back), then the ledger. Shared by REST and the web app.
pub(crate) async fn update_as(
    state: &ApiState,
    caller: &Caller,
    id: &MemberId,
    request: &UpdateMemberRequest,
) -> ApiResult<UpdatedMember> {
    let id = *id;
    let member_id = id.to_hex();
    let store = state.records()?;
    let mut profile = store
        .profile_get(&id.to_hex())
        .await?
        .filter(|p| p.home_club == caller.club.as_str())
        .ok_or_else(|| {
            ApiError::not_found(format!("no member {member_id} in club {}", caller.club))
        })?;
    // Validate everything before changing anything.
    let status = request.status.as_deref().map(parse_status).transpose()?;
    if let Some(tier) = &request.tier {
        check_tier(tier).map_err(ApiError::bad_request)?;
    }
    let until = request
        .valid_until
        .as_deref()
        .map(|d| parse_date("valid_until", d))
        .transpose()
        .map_err(ApiError::bad_request)?;
    let mut edited = RegisterMemberRequest {
        member_number: request
            .member_number
            .clone()
            .unwrap_or_else(|| profile.member_number.clone()),
        full_name: request.full_name.clone().unwrap_or_else(|| profile.full_name.clone()),
        email: request.email.clone().or_else(|| profile.email.clone()),
        phone: request.phone.clone().or_else(|| profile.phone.clone()),
        date_of_birth: request.date_of_birth.clone().or_else(|| profile.date_of_birth.clone()),
        notes: request.notes.clone().or_else(|| profile.notes.clone()),
        tier: "checked".to_owned(),
        valid_until: "2000-01-01".to_owned(),
    };
    validate(&edited).map_err(ApiError::bad_request)?;
    let on_chain = status.is_some() || request.tier.is_some() || until.is_some();
    let profile_changed = request.member_number.is_some()
        || request.full_name.is_some()
        || request.email.is_some()
        || request.phone.is_some()
        || request.date_of_birth.is_some()
        || request.notes.is_some();
    if !on_chain && !profile_changed {
        return Err(ApiError::bad_request("the update names no field"));
    }
    // The profile first (it can be put back), then the ledger; a refused
    // ledger change restores the profile as it was.
    let before = profile.clone();
    if profile_changed {
        edited.tier = String::new();
        let updated = profile_of(&profile.home_club, &id, &edited);
        profile = MemberProfile { created_at_ms: profile.created_at_ms, ..updated };
        if let Err(error) = store.profile_update(&profile).await {
            return Err(match error {
                crate::index::IndexError::Refused(_) => taken_number(&profile.member_number),
                other => other.into(),
            });
        }
        state
            .audit(&caller.principal, "member.update_profile", Some(&id.to_hex()), "ok", None)
            .await;
    }
    let transaction = if on_chain {
        let body = body::update_member(&id, status, request.tier.as_deref(), until);
        match state.act(caller, Role::Registrar, "member.update", Some(&id.to_hex()), body).await {
            Ok((_, receipt)) => Some(receipt),
            Err(error) => {
                if profile_changed {
                    store.profile_update(&before).await?;
                    state
                        .audit(
                            &caller.principal,
                            "member.update_profile",
                            Some(&id.to_hex()),
                            "reverted",
                            None,
                        )
                        .await;
                }
                return Err(error);
            }
        }
    } else {
        None
    };
    let record = {
        let view = state.node().ledger().state();
        reciprocity_chaincode::query::member(&view, &id)?
    };
    Ok(UpdatedMember { member: view_of(profile, record.as_ref()), transaction })
}

/// Search filters and page.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberSearch {
    /// Case-insensitive part of the name.
    pub name: Option<String>,
    /// Exact membership number.
    pub number: Option<String>,
    /// `active`, `suspended`, `expired` or `resigned` (as last indexed).
    pub status: Option<String>,
    /// Page size (default 50, at most `api.page_size_max`).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

/// A page of members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberPage {
    /// The members, by name.
    pub members: Vec<MemberView>,
    /// Offset of the next page, when there may be one.
    pub next_offset: Option<u32>,
}

/// Searches the caller's club's members by name, number or status.
#[utoipa::path(get, path = "/v1/members", tag = "members", security(("bearer" = ["registrar", "admin"])),
    params(MemberSearch),
    responses(
        (status = 200, description = "A page of members", body = MemberPage),
        (status = 400, description = "Bad filter", body = ErrorBody)))]
pub async fn search_members(
    caller: Require<RegistrarOrAdmin>,
    State(state): State<ApiState>,
    ApiQuery(search): ApiQuery<MemberSearch>,
) -> ApiResult<axum::Json<MemberPage>> {
    // Personal data: registrars and admins only.
    if caller.club != *state.club() {
        return Err(ApiError::forbidden(format!(
            "this node holds the members of club {} only",
            state.club()
        )));
    }
    let limit = state.page_size(search.limit)?;
    let offset = search.offset.unwrap_or(0);
    if let Some(name) = &search.name {
        check_len("name", name, 1, 200).map_err(ApiError::bad_request)?;
    }
    let status = search
        .status
        .as_deref()
        .map(|s| {
            parse_status(s).map(|_| {
                let mut chars = s.chars();
                chars.next().map_or_else(String::new, |c| {
                    c.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
        })
        .transpose()?;
    let query = MemberQuery {
        name: search.name.clone(),
        member_number: search.number.clone(),
        status,
        limit,
        offset,
    };
    let rows = state.records()?.member_search(caller.club.as_str(), &query).await?;
    let next = super::next_offset(offset, limit, rows.len());
    let members = rows
        .into_iter()
        .map(|row| {
            let mut view = view_of(row.profile, None);
            view.tier = row.tier;
            view.status = row.status.map(|s| s.to_lowercase());
            view.valid_until =
                row.valid_until_day.and_then(|d| u32::try_from(d).ok()).map(dates::format_day);
            view
        })
        .collect();
    Ok(axum::Json(MemberPage { members, next_offset: next }))
}
