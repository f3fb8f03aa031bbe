//! Member cards and the club's card-issuing keys: an admin rotates or
//! revokes the card key; a registrar issues a card (its serial recorded on
//! the ledger; older cards of the member stop admitting) and prints it as
//! PDF, PNG or SVG. The credential in the QR code is signed here, by this
//! node's copy of the card key the ledger's record of the card names.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use reciprocity_chaincode::{CardKeyId, MemberId, Role, query};
use reciprocity_sdk::dates;
use reciprocity_sdk::tx::body;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult, ErrorBody, quote};
use super::extract::{ApiPath, ApiQuery};
use super::members::parse_member_id;
use super::require::{Admin, AnyRole, Registrar, Require};
use super::{ApiState, TxReceipt};
use crate::api::views::{CardKeyView, MemberCardView};
use crate::cards::face::{self, CardFace};

/// A card just issued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedCard {
    /// The card as the ledger records it (absent while the commit is pending).
    pub card: Option<MemberCardView>,
    /// The credential its QR code carries (absent while pending).
    pub credential: Option<String>,
    /// The `IssueCard` transaction.
    pub transaction: TxReceipt,
}

/// How a card is printed.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CardFormat {
    /// A one-page PDF of ID-1 size (85.6 × 54 mm).
    #[default]
    Pdf,
    /// A PNG, 1011 pixels wide (300 dpi), for a phone's wallet.
    Png,
    /// The SVG the others are drawn from.
    Svg,
    /// The credential text alone (what the QR code carries).
    Text,
}

/// The format of a printed card.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CardQuery {
    /// `pdf` (default), `png`, `svg` or `text`.
    pub format: Option<CardFormat>,
}

/// Parses a card key id (16 hex digits).
fn parse_key_id(text: &str) -> ApiResult<CardKeyId> {
    CardKeyId::from_hex(text).ok_or_else(|| {
        ApiError::bad_request(format!("card key id {} is not 16 hex digits", quote(text)))
    })
}

/// The member, if it is of `club`: 404 otherwise.
fn own_member(state: &ApiState, member: &MemberId) -> ApiResult<reciprocity_chaincode::Member> {
    let view = state.node().ledger().state();
    query::member(&view, member)?.filter(|m| &m.home_club == state.club()).ok_or_else(|| {
        ApiError::not_found(format!("no member {} in club {}", member.to_hex(), state.club()))
    })
}

/// Issues a new card: records it on the ledger (serial one more than the
/// last) and returns its credential; older cards of the member are refused
/// at the door from the commit on. Shared by REST and the web app.
pub(crate) async fn issue_as(
    state: &ApiState,
    caller: &super::auth::Caller,
    member: &MemberId,
) -> ApiResult<(StatusCode, IssuedCard)> {
    own_member(state, member)?;
    let key_id = {
        let view = state.node().ledger().state();
        let current = query::current_card_key(&view, state.club())?.ok_or_else(|| {
            ApiError::conflict(
                "no_card_key",
                format!(
                    "club {} has no card key yet: an admin makes one (POST /v1/card-keys)",
                    state.club()
                ),
            )
        })?;
        current.key_id
    };
    if state.card_keys().key(&key_id).is_none() {
        return Err(ApiError::unavailable(format!(
            "this node does not hold the club's current card key {key_id}: put its file in api.card_keys_dir, or have an admin make a new one (POST /v1/card-keys)"
        )));
    }
    let body = body::issue_card(member, &key_id);
    let (status, receipt) =
        state.act(caller, Role::Registrar, "card.issue", Some(&member.to_hex()), body).await?;
    let card = {
        let view = state.node().ledger().state();
        query::member_card(&view, member)?
    };
    let committed = receipt.status == "committed";
    let card = card.filter(|_| committed);
    let credential = match &card {
        Some(card) => Some(credential_of(state, card)?),
        None => None,
    };
    Ok((
        status,
        IssuedCard {
            card: card.as_ref().map(MemberCardView::of),
            credential,
            transaction: receipt,
        },
    ))
}

/// The credential of a recorded card, signed by this node's copy of the key
/// the record names (the same text each time: Ed25519 is deterministic).
fn credential_of(state: &ApiState, card: &reciprocity_chaincode::MemberCard) -> ApiResult<String> {
    let key = state.card_keys().key(&card.card_key_id).ok_or_else(|| {
        ApiError::unavailable(format!(
            "this node does not hold card key {} that signs this card: put its file in api.card_keys_dir, or issue a new card",
            card.card_key_id
        ))
    })?;
    Ok(reciprocity_sdk::card::sign(&card.claims(), &key))
}

/// The member's current card, drawn in `format`. Shared by REST and the web app.
pub(crate) async fn print(
    state: &ApiState,
    member: &MemberId,
    format: CardFormat,
) -> ApiResult<Response> {
    own_member(state, member)?;
    let (card, club_name) = {
        let view = state.node().ledger().state();
        let card = query::member_card(&view, member)?.ok_or_else(|| {
            ApiError::not_found(format!(
                "no card was issued to member {} yet: issue one (POST /v1/members/{}/card)",
                member.to_hex(),
                member.to_hex()
            ))
        })?;
        let club = query::club(&view, state.club())?;
        (card, club.map_or_else(|| state.club().to_string(), |c| c.spec.name))
    };
    let credential = credential_of(state, &card)?;
    if format == CardFormat::Text {
        return Ok(([(header::CACHE_CONTROL, "no-store")], credential).into_response());
    }
    let profile = state.records()?.profile_get(&member.to_hex()).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "member {} has no profile on this node (name and number): it cannot be printed",
            member.to_hex()
        ))
    })?;
    let offset = {
        let view = state.node().ledger().state();
        query::club(&view, state.club())?.map_or(0, |c| c.spec.utc_offset_minutes)
    };
    let face = CardFace {
        club_name,
        member_name: profile.full_name,
        member_number: profile.member_number.clone(),
        tier: card.tier.clone(),
        valid_until: dates::format_day(card.valid_until_day),
        serial: card.serial,
        issued_on: dates::format_day(reciprocity_chaincode::calendar::local_day(
            card.issued_at_ms,
            offset,
        )),
        credential,
    };
    let file_stem: String = profile
        .member_number
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    // Drawing takes a few milliseconds of CPU: off the async workers.
    let (bytes, content_type, extension) = tokio::task::spawn_blocking(move || {
        let drawn = match format {
            CardFormat::Png => face::png(&face).map(|b| (b, "image/png", "png")),
            CardFormat::Svg => face::svg(&face).map(|s| (s.into_bytes(), "image/svg+xml", "svg")),
            _ => face::pdf(&face).map(|b| (b, "application/pdf", "pdf")),
        };
        drawn.map_err(|e| ApiError::internal(&e))
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    let disposition = format!("inline; filename=\"card-{file_stem}-{}.{extension}\"", card.serial);
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// Issues a new card to a member of the caller's club.
#[utoipa::path(post, path = "/v1/members/{member_id}/card", tag = "cards", security(("bearer" = ["registrar"])),
    params(("member_id" = String, Path, description = "Member id, 32 hex digits")),
    responses(
        (status = 201, description = "Issued and committed", body = IssuedCard),
        (status = 202, description = "Submitted; the commit is pending", body = IssuedCard),
        (status = 404, description = "No such member in the caller's club", body = ErrorBody),
        (status = 409, description = "The club has no card key, or the ledger refused (member not active...)", body = ErrorBody)))]
pub async fn issue_card(
    caller: Require<Registrar>,
    State(state): State<ApiState>,
    ApiPath(member_id): ApiPath<String>,
) -> ApiResult<(StatusCode, axum::Json<IssuedCard>)> {
    let member = parse_member_id(&member_id)?;
    let (status, issued) = issue_as(&state, &caller, &member).await?;
    Ok((status, axum::Json(issued)))
}

/// The member's current card as PDF (default), PNG, SVG or the credential text.
#[utoipa::path(get, path = "/v1/members/{member_id}/card", tag = "cards", security(("bearer" = ["registrar"])),
    params(("member_id" = String, Path, description = "Member id, 32 hex digits"), CardQuery),
    responses(
        (status = 200, description = "The card", content(
            (Vec<u8> = "application/pdf"), (Vec<u8> = "image/png"), (String = "image/svg+xml"), (String = "text/plain"))),
        (status = 404, description = "No such member, or no card issued yet", body = ErrorBody)))]
pub async fn get_card(
    _caller: Require<Registrar>,
    State(state): State<ApiState>,
    ApiPath(member_id): ApiPath<String>,
    ApiQuery(card_query): ApiQuery<CardQuery>,
) -> ApiResult<Response> {
    let member = parse_member_id(&member_id)?;
    print(&state, &member, card_query.format.unwrap_or_default()).await
}

/// The club's card keys, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CardKeyList {
    /// The keys.
    pub keys: Vec<CardKeyView>,
}

/// The card keys of the caller's club (current, retired, revoked).
#[utoipa::path(get, path = "/v1/card-keys", tag = "cards", security(("bearer" = [])),
    responses((status = 200, description = "The keys", body = CardKeyList)))]
pub async fn list_card_keys(
    _caller: Require<AnyRole>,
    State(state): State<ApiState>,
) -> ApiResult<axum::Json<CardKeyList>> {
    let view = state.node().ledger().state();
    let mut keys = query::card_keys_of(&view, state.club())?;
    keys.sort_by_key(|k| std::cmp::Reverse(k.enrolled_height));
    Ok(axum::Json(CardKeyList { keys: keys.iter().map(CardKeyView::of).collect() }))
}

/// Makes a new card key on this node and enrolls it: the club's current
/// key is retired (its cards stay valid until their valid-until).
#[utoipa::path(post, path = "/v1/card-keys", tag = "cards", security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "Enrolled", body = CardKeyView),
        (status = 202, description = "Submitted; the commit is pending", body = TxReceipt)))]
pub async fn rotate_card_key(
    caller: Require<Admin>,
    State(state): State<ApiState>,
) -> ApiResult<Response> {
    let (status, key_id, receipt) = rotate_as(&state, &caller).await?;
    let view = state.node().ledger().state();
    match query::card_key(&view, &key_id)? {
        Some(record) if receipt.status == "committed" => {
            Ok((status, axum::Json(CardKeyView::of(&record))).into_response())
        }
        _ => Ok((status, axum::Json(receipt)).into_response()),
    }
}

/// Makes a new card key on this node and enrolls it, retiring the current
/// one. Shared by REST and the web app.
pub(crate) async fn rotate_as(
    state: &ApiState,
    caller: &super::auth::Caller,
) -> ApiResult<(StatusCode, CardKeyId, TxReceipt)> {
    // Admin and keystore checked before a key file is written.
    state.signer(caller, Role::Admin)?;
    let key = state.card_keys().generate().map_err(|e| ApiError::internal(&e))?;
    let key_id = CardKeyId::of(&key.public_key());
    let body = body::enroll_card_key(&key, state.node().ledger().chain_id(), state.club());
    let (status, receipt) =
        state.act(caller, Role::Admin, "card_key.enroll", Some(&key_id.to_hex()), body).await?;
    Ok((status, key_id, receipt))
}

/// Revokes one of the club's card keys (compromised): every card it signed
/// is refused at the door from the commit on.
#[utoipa::path(post, path = "/v1/card-keys/{key_id}/revoke", tag = "cards", security(("bearer" = ["admin"])),
    params(("key_id" = String, Path, description = "Card key id, 16 hex digits")),
    responses(
        (status = 201, description = "Revoked", body = TxReceipt),
        (status = 404, description = "No such card key of the caller's club", body = ErrorBody)))]
pub async fn revoke_card_key(
    caller: Require<Admin>,
    State(state): State<ApiState>,
    ApiPath(key_id): ApiPath<String>,
) -> ApiResult<(StatusCode, axum::Json<TxReceipt>)> {
    let id = parse_key_id(&key_id)?;
    let (status, receipt) = revoke_as(&state, &caller, &id).await?;
    Ok((status, axum::Json(receipt)))
}

/// Revokes the club's card key `id`. Shared by REST and the web app.
pub(crate) async fn revoke_as(
    state: &ApiState,
    caller: &super::auth::Caller,
    id: &CardKeyId,
) -> ApiResult<(StatusCode, TxReceipt)> {
    let record = {
        let view = state.node().ledger().state();
        query::card_key(&view, id)?.filter(|k| &k.club_id == state.club())
    }
    .ok_or_else(|| ApiError::not_found(format!("club {} has no card key {id}", state.club())))?;
    let body = body::revoke_card_key(&record.public_key);
    state.act(caller, Role::Admin, "card_key.revoke", Some(&id.to_hex()), body).await
}
