//! The registrar's pages: the member list with search (name or number,
//! paged), registering a member, a member's page (standing, tier and
//! validity, the card and its printing, the visit history), and the CSV
//! import with its live progress and per-row errors. Every write goes
//! through the same operations as the REST handlers (`register_as`,
//! `update_as`, `import_as`, `issue_as`, `print`).

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reciprocity_chaincode::{MemberId, Role};
use serde::Deserialize;

use super::assets::{self, AssetNames};
use super::page::{Chrome, Signed, api_error_page, club_facts, local_date_time, render};
use crate::api::rest::ApiState;
use crate::api::rest::cards::{CardFormat, issue_as, print};
use crate::api::rest::members::imports::{ImportStart, import_as, progress_of};
use crate::api::rest::members::{
    RegisterMemberRequest, UpdateMemberRequest, register_as, update_as,
};
use crate::api::rest::require::Registrar;
use crate::api::views::{member_status_name, money_text};
use crate::index::read::{VisitQuery, VisitSide};
use crate::records::profiles::MemberQuery;
use crate::service::import::{ImportProgress, RowError};

/// Members per page of the list.
const MEMBERS_PAGE_SIZE: u32 = 50;
/// Visits shown on a member's page (newest first).
const MEMBER_VISITS_MAX: u32 = 100;
/// Member statuses a registrar can set.
const STATUSES: [&str; 4] = ["active", "suspended", "expired", "resigned"];

/// A member in the list.
#[derive(Debug, Clone)]
pub struct MemberRow {
    /// Member id (link target).
    pub member_id: String,
    /// Membership number.
    pub number: String,
    /// Name.
    pub name: String,
    /// Tier on the ledger, as last indexed.
    pub tier: String,
    /// Status, as last indexed.
    pub status: String,
    /// Validity, as last indexed.
    pub valid_until: String,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    q: String,
    status: String,
    statuses: [&'static str; 4],
    rows: Vec<MemberRow>,
    previous: Option<String>,
    next: Option<String>,
    first_row: u32,
}

/// `GET /members` query.
#[derive(Debug, Default, Deserialize)]
pub struct MembersQuery {
    /// Name (part of it) or exact membership number.
    pub q: Option<String>,
    /// Status filter.
    pub status: Option<String>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

fn search_link(q: &str, status: &str, offset: u32) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    if !status.is_empty() {
        query.append_pair("status", status);
    }
    if offset > 0 {
        query.append_pair("offset", &offset.to_string());
    }
    let query = query.finish();
    if query.is_empty() { "/members".to_owned() } else { format!("/members?{query}") }
}

fn capitalized(status: &str) -> String {
    let mut chars = status.chars();
    chars.next().map_or_else(String::new, |c| c.to_ascii_uppercase().to_string() + chars.as_str())
}

/// The member list (`GET /members`): a name part or an exact number, a
/// status, pages of [`MEMBERS_PAGE_SIZE`].
pub async fn members(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    Query(query): Query<MembersQuery>,
) -> Response {
    let q = query.q.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let status =
        query.status.as_deref().filter(|s| STATUSES.contains(s)).unwrap_or_default().to_owned();
    let offset = query.offset.unwrap_or(0);
    let records = match state.records() {
        Ok(records) => records,
        Err(error) => return api_error_page(&state, &signed.session, &error),
    };
    let club = state.club().to_string();
    let status_filter = (!status.is_empty()).then(|| capitalized(&status));
    // An exact number comes first, then names containing the text.
    let mut found = Vec::new();
    if !q.is_empty() && offset == 0 {
        let by_number = MemberQuery {
            member_number: Some(q.clone()),
            status: status_filter.clone(),
            limit: 1,
            ..MemberQuery::default()
        };
        match records.member_search(&club, &by_number).await {
            Ok(rows) => found.extend(rows),
            Err(error) => return api_error_page(&state, &signed.session, &error.into()),
        }
    }
    let by_name = MemberQuery {
        name: (!q.is_empty()).then(|| q.chars().take(200).collect()),
        status: status_filter,
        limit: MEMBERS_PAGE_SIZE + 1,
        offset,
        ..MemberQuery::default()
    };
    let mut named = match records.member_search(&club, &by_name).await {
        Ok(rows) => rows,
        Err(error) => return api_error_page(&state, &signed.session, &error.into()),
    };
    let more = named.len() > MEMBERS_PAGE_SIZE as usize;
    named.truncate(MEMBERS_PAGE_SIZE as usize);
    for row in named {
        if !found.iter().any(|f| f.profile.member_id == row.profile.member_id) {
            found.push(row);
        }
    }
    let rows = found
        .into_iter()
        .map(|row| MemberRow {
            member_id: row.profile.member_id,
            number: row.profile.member_number,
            name: row.profile.full_name,
            tier: row.tier.unwrap_or_else(|| "—".to_owned()),
            status: row
                .status
                .map_or_else(|| "not yet on the ledger".to_owned(), |s| s.to_lowercase()),
            valid_until: row
                .valid_until_day
                .and_then(|d| u32::try_from(d).ok())
                .map_or_else(|| "—".to_owned(), reciprocity_sdk::dates::format_day),
        })
        .collect();
    let page = MembersPage {
        assets: assets::names(),
        chrome: Chrome::of(&state, &signed.session, "/members"),
        previous: (offset > 0)
            .then(|| search_link(&q, &status, offset.saturating_sub(MEMBERS_PAGE_SIZE))),
        next: more.then(|| search_link(&q, &status, offset + MEMBERS_PAGE_SIZE)),
        first_row: offset + 1,
        q,
        status,
        statuses: STATUSES,
        rows,
    };
    render(StatusCode::OK, &page)
}

/// The registration form's fields, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegisterForm {
    /// Membership number.
    #[serde(default)]
    pub member_number: String,
    /// Full name.
    #[serde(default)]
    pub full_name: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
    /// Date of birth.
    #[serde(default)]
    pub date_of_birth: String,
    /// Tier.
    #[serde(default)]
    pub tier: String,
    /// Valid until.
    #[serde(default)]
    pub valid_until: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
}

#[derive(Template)]
#[template(path = "member_new.html")]
struct NewMemberPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    form: RegisterForm,
    problem: Option<String>,
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The registration form (`GET /members/new`).
pub async fn new_member(signed: Signed<Registrar>, State(state): State<ApiState>) -> Response {
    let chrome = Chrome::of(&state, &signed.session, "/members");
    let form = RegisterForm { tier: "full".to_owned(), ..RegisterForm::default() };
    render(StatusCode::OK, &NewMemberPage { assets: assets::names(), chrome, form, problem: None })
}

/// Registers a member (`POST /members`), then shows the member's page.
pub async fn register(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    Form(form): Form<RegisterForm>,
) -> Response {
    let request = RegisterMemberRequest {
        member_number: form.member_number.trim().to_owned(),
        full_name: form.full_name.trim().to_owned(),
        email: optional(&form.email),
        phone: optional(&form.phone),
        date_of_birth: optional(&form.date_of_birth),
        notes: optional(&form.notes),
        tier: form.tier.trim().to_owned(),
        valid_until: form.valid_until.trim().to_owned(),
    };
    match register_as(&state, signed.caller(), &request).await {
        Ok((StatusCode::ACCEPTED, registered)) => {
            Redirect::to(&format!("/members/{}?pending=1", registered.member.member_id))
                .into_response()
        }
        Ok((_, registered)) => {
            Redirect::to(&format!("/members/{}?registered=1", registered.member.member_id))
                .into_response()
        }
        Err(error) => {
            let chrome = Chrome::of(&state, &signed.session, "/members");
            let problem = Some(format!("The member was not registered. {}", error.message));
            let status =
                if error.status.is_server_error() { error.status } else { StatusCode::BAD_REQUEST };
            render(status, &NewMemberPage { assets: assets::names(), chrome, form, problem })
        }
    }
}

/// A visit in a member's history.
#[derive(Debug, Clone)]
pub struct HistoryVisit {
    /// Local date at the host.
    pub date: String,
    /// The host club.
    pub host: String,
    /// Guests.
    pub guests: i64,
    /// Fee.
    pub fee: String,
    /// Whether voided.
    pub voided: bool,
}

/// A member's card, as the page shows it.
#[derive(Debug, Clone)]
pub struct CardText {
    /// Serial.
    pub serial: u32,
    /// Issue date (local).
    pub issued_on: String,
    /// Valid until.
    pub valid_until: String,
    /// Signing key id.
    pub key_id: String,
}

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    member_id: String,
    number: String,
    name: String,
    email: String,
    phone: String,
    date_of_birth: String,
    notes: String,
    on_ledger: bool,
    tier: String,
    status: String,
    valid_until: String,
    statuses: [&'static str; 4],
    card: Option<CardText>,
    card_key_missing: bool,
    other_clubs: Vec<String>,
    letters: Vec<String>,
    today: String,
    visits: Vec<HistoryVisit>,
    notice: Option<String>,
    problem: Option<String>,
}

/// `GET /members/{id}` query: what just happened.
#[derive(Debug, Default, Deserialize)]
pub struct MemberNotice {
    /// Just registered.
    pub registered: Option<String>,
    /// Just updated.
    pub updated: Option<String>,
    /// A card just issued.
    pub card: Option<String>,
    /// A letter of introduction just issued (the host club).
    pub introduced: Option<String>,
    /// Something submitted but not committed yet.
    pub pending: Option<String>,
}

fn parse_member(text: &str) -> Option<MemberId> {
    MemberId::from_hex(&text.to_ascii_lowercase())
}

async fn member_view(
    state: &ApiState,
    signed: &Signed<Registrar>,
    member: &MemberId,
    status: StatusCode,
    notice: Option<String>,
    problem: Option<String>,
) -> Response {
    let records = match state.records() {
        Ok(records) => records,
        Err(error) => return api_error_page(state, &signed.session, &error),
    };
    let profile = match records.profile_get(&member.to_hex()).await {
        Ok(Some(profile)) if profile.home_club == state.club().as_str() => profile,
        Ok(_) => {
            let error = crate::api::rest::error::ApiError::not_found(format!(
                "No member {} in club {}.",
                member.to_hex(),
                state.club()
            ));
            return api_error_page(state, &signed.session, &error);
        }
        Err(error) => return api_error_page(state, &signed.session, &error.into()),
    };
    let (_, offset) = club_facts(state);
    let (record, card, card_key, other_clubs, letters) = {
        let view = state.node().ledger().state();
        let record = reciprocity_chaincode::query::member(&view, member).ok().flatten();
        let card = reciprocity_chaincode::query::member_card(&view, member).ok().flatten();
        let key =
            reciprocity_chaincode::query::current_card_key(&view, state.club()).ok().flatten();
        let others: Vec<reciprocity_chaincode::ClubId> = reciprocity_chaincode::query::clubs(&view)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.spec.club_id)
            .filter(|id| id != state.club())
            .collect();
        let letters: Vec<String> = others
            .iter()
            .filter_map(|host| {
                let letter = reciprocity_chaincode::query::introduction(&view, host, member)
                    .ok()
                    .flatten()?;
                Some(format!(
                    "to {host}, {} to {}",
                    reciprocity_sdk::dates::format_day(letter.valid_from_day),
                    reciprocity_sdk::dates::format_day(letter.valid_until_day)
                ))
            })
            .collect();
        let other_clubs: Vec<String> = others.iter().map(ToString::to_string).collect();
        (record, card, key, other_clubs, letters)
    };
    let query = VisitQuery {
        member_id: Some(member.to_hex()),
        club: state.club().to_string(),
        side: VisitSide::Home,
        from_day: None,
        to_day: None,
        include_voided: true,
        limit: MEMBER_VISITS_MAX,
        offset: 0,
    };
    let visits = match state.store() {
        Ok(store) => store.visits(&query).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let currency = |host: &str| -> String {
        let view = state.node().ledger().state();
        reciprocity_chaincode::ClubId::parse(host)
            .and_then(|host| {
                reciprocity_chaincode::query::agreement(&view, state.club(), &host).ok().flatten()
            })
            .and_then(|a| a.versions.last().map(|v| v.terms.fee_currency.clone()))
            .unwrap_or_default()
    };
    let visits = visits
        .into_iter()
        .map(|v| HistoryVisit {
            date: u32::try_from(v.local_day)
                .map_or_else(|_| "?".to_owned(), reciprocity_sdk::dates::format_day),
            fee: if v.fee_minor == 0 {
                "none".to_owned()
            } else {
                money_text(u64::try_from(v.fee_minor).unwrap_or_default(), &currency(&v.host_club))
            },
            host: v.host_club,
            guests: v.guests,
            voided: v.voided,
        })
        .collect();
    let page = MemberPage {
        assets: assets::names(),
        chrome: Chrome::of(state, &signed.session, "/members"),
        member_id: member.to_hex(),
        number: profile.member_number,
        name: profile.full_name,
        email: profile.email.unwrap_or_default(),
        phone: profile.phone.unwrap_or_default(),
        date_of_birth: profile.date_of_birth.unwrap_or_default(),
        notes: profile.notes.unwrap_or_default(),
        on_ledger: record.is_some(),
        tier: record.as_ref().map(|r| r.tier.clone()).unwrap_or_default(),
        status: record
            .as_ref()
            .map(|r| member_status_name(r.status).to_owned())
            .unwrap_or_default(),
        valid_until: record
            .as_ref()
            .map(|r| reciprocity_sdk::dates::format_day(r.valid_until_day))
            .unwrap_or_default(),
        statuses: STATUSES,
        card: card.map(|c| CardText {
            serial: c.serial,
            issued_on: local_date_time(c.issued_at_ms, offset).0,
            valid_until: reciprocity_sdk::dates::format_day(c.valid_until_day),
            key_id: c.card_key_id.to_hex(),
        }),
        card_key_missing: card_key.is_none(),
        other_clubs,
        letters,
        today: local_date_time(crate::clock::now_ms(), offset).0,
        visits,
        notice,
        problem,
    };
    render(status, &page)
}

/// A member's page (`GET /members/{id}`).
pub async fn member(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    Path(member_id): Path<String>,
    Query(done): Query<MemberNotice>,
) -> Response {
    let Some(member) = parse_member(&member_id) else {
        let error = crate::api::rest::error::ApiError::not_found(format!(
            "{} is not a member id (32 hex digits).",
            crate::words::quote(&member_id)
        ));
        return api_error_page(&state, &signed.session, &error);
    };
    let notice = if done.pending.is_some() {
        Some("Submitted; not committed yet: reload in a moment to see it on the ledger.".to_owned())
    } else if done.registered.is_some() {
        Some("Member registered on the ledger.".to_owned())
    } else if done.updated.is_some() {
        Some("Saved.".to_owned())
    } else if let Some(host) =
        done.introduced.filter(|h| reciprocity_chaincode::ClubId::parse(h).is_some())
    {
        Some(format!("Letter of introduction to {host} issued on the ledger."))
    } else {
        done.card.filter(|c| c.parse::<u32>().is_ok_and(|n| n > 0)).map(|serial| {
            format!("Card no. {serial} issued: older cards of this member no longer admit. Print it below.")
        })
    };
    member_view(&state, &signed, &member, StatusCode::OK, notice, None).await
}

/// The standing form's fields.
#[derive(Debug, Deserialize)]
pub struct StandingForm {
    /// New status.
    #[serde(default)]
    pub status: String,
    /// New tier.
    #[serde(default)]
    pub tier: String,
    /// New validity.
    #[serde(default)]
    pub valid_until: String,
}

/// Changes a member's status, tier or validity (`POST /members/{id}`):
/// only the fields that differ from the ledger are sent.
pub async fn update(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    Path(member_id): Path<String>,
    Form(form): Form<StandingForm>,
) -> Response {
    let Some(member) = parse_member(&member_id) else {
        return Redirect::to("/members").into_response();
    };
    let record = {
        let view = state.node().ledger().state();
        reciprocity_chaincode::query::member(&view, &member).ok().flatten()
    };
    let Some(record) = record else {
        let problem = "The member is not on the ledger yet; try again in a moment.".to_owned();
        return member_view(&state, &signed, &member, StatusCode::CONFLICT, None, Some(problem))
            .await;
    };
    let differs = |new: &str, old: &str| {
        let new = new.trim();
        (!new.is_empty() && new != old).then(|| new.to_owned())
    };
    let request = UpdateMemberRequest {
        status: differs(&form.status, member_status_name(record.status)),
        tier: differs(&form.tier, &record.tier),
        valid_until: differs(
            &form.valid_until,
            &reciprocity_sdk::dates::format_day(record.valid_until_day),
        ),
        ..UpdateMemberRequest::default()
    };
    if request.status.is_none() && request.tier.is_none() && request.valid_until.is_none() {
        let notice = Some("Nothing changed.".to_owned());
        return member_view(&state, &signed, &member, StatusCode::OK, notice, None).await;
    }
    match update_as(&state, signed.caller(), &member, &request).await {
        Ok(_) => Redirect::to(&format!("/members/{}?updated=1", member.to_hex())).into_response(),
        Err(error) => {
            let problem = Some(format!("Not saved. {}", error.message));
            let status =
                if error.status.is_server_error() { error.status } else { StatusCode::BAD_REQUEST };
            member_view(&state, &signed, &member, status, None, problem).await
        }
    }
}

/// Issues a new card (`POST /members/{id}/card`).
pub async fn issue_card(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    Path(member_id): Path<String>,
) -> Response {
    let Some(member) = parse_member(&member_id) else {
        return Redirect::to("/members").into_response();
    };
    match issue_as(&state, signed.caller(), &member).await {
        Ok((StatusCode::ACCEPTED, _)) => {
            Redirect::to(&format!("/members/{}?pending=1", member.to_hex())).into_response()
        }
        Ok((_, issued)) => {
            let serial = issued.card.map_or(0, |c| c.serial);
            Redirect::to(&format!("/members/{}?card={serial}", member.to_hex())).into_response()
        }
        Err(error) => {
            let problem = Some(format!("No card was issued. {}", error.message));
            let status =
                if error.status.is_server_error() { error.status } else { StatusCode::CONFLICT };
            member_view(&state, &signed, &member, status, None, problem).await
        }
    }
}

/// The introduction form's fields.
#[derive(Debug, Deserialize)]
pub struct IntroductionForm {
    /// The host club.
    #[serde(default)]
    pub host_club: String,
    /// First day.
    #[serde(default)]
    pub valid_from: String,
    /// Last day.
    #[serde(default)]
    pub valid_until: String,
}

/// Issues a letter of introduction (`POST /members/{id}/introductions`).
pub async fn introduce(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    Path(member_id): Path<String>,
    Form(form): Form<IntroductionForm>,
) -> Response {
    let Some(member) = parse_member(&member_id) else {
        return Redirect::to("/members").into_response();
    };
    let request = crate::api::rest::agreements::introductions::IntroductionRequest {
        member_id: member.to_hex(),
        host_club: form.host_club.trim().to_owned(),
        valid_from: form.valid_from.trim().to_owned(),
        valid_until: form.valid_until.trim().to_owned(),
    };
    match crate::api::rest::agreements::introductions::introduce_as(
        &state,
        signed.caller(),
        &request,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!(
            "/members/{}?introduced={}",
            member.to_hex(),
            form_urlencoded::byte_serialize(request.host_club.as_bytes()).collect::<String>()
        ))
        .into_response(),
        Err(error) => {
            let problem = Some(format!("No letter was issued. {}", error.message));
            let status =
                if error.status.is_server_error() { error.status } else { StatusCode::BAD_REQUEST };
            member_view(&state, &signed, &member, status, None, problem).await
        }
    }
}

/// The member's current card as a file (`GET /members/{id}/card/{format}`,
/// `pdf`, `png` or `svg`).
pub async fn card_file(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    Path((member_id, format)): Path<(String, String)>,
) -> Response {
    let format = match format.as_str() {
        "pdf" => CardFormat::Pdf,
        "png" => CardFormat::Png,
        "svg" => CardFormat::Svg,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let Some(member) = parse_member(&member_id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match print(&state, &member, format).await {
        Ok(response) => response,
        Err(error) => api_error_page(&state, &signed.session, &error),
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    rows_max: usize,
    problem: Option<String>,
    errors: Vec<RowError>,
}

/// The import form (`GET /members/import`).
pub async fn import_form(signed: Signed<Registrar>, State(state): State<ApiState>) -> Response {
    let page = ImportPage {
        assets: assets::names(),
        chrome: Chrome::of(&state, &signed.session, "/members"),
        rows_max: state.settings().import_rows_max,
        problem: None,
        errors: Vec::new(),
    };
    render(StatusCode::OK, &page)
}

/// Starts an import (`POST /members/import`, a form with the file): every
/// row checked first; a bad row shows with its line and nothing is
/// imported; otherwise the job's progress page.
pub async fn import(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    mut multipart: Multipart,
) -> Response {
    let refuse = |status: StatusCode, problem: String, errors: Vec<RowError>| {
        let page = ImportPage {
            assets: assets::names(),
            chrome: Chrome::of(&state, &signed.session, "/members"),
            rows_max: state.settings().import_rows_max,
            problem: Some(problem),
            errors,
        };
        render(status, &page)
    };
    let mut text = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => match field.text().await {
                Ok(body) => text = Some(body),
                Err(error) => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        format!("The file could not be read: {error}"),
                        Vec::new(),
                    );
                }
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(error) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("The form could not be read: {error}"),
                    Vec::new(),
                );
            }
        }
    }
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Choose a CSV file to import.".to_owned(),
            Vec::new(),
        );
    };
    let key = match state.signer(signed.caller(), Role::Registrar) {
        Ok(key) => key,
        Err(error) => return api_error_page(&state, &signed.session, &error),
    };
    match import_as(&state, signed.caller(), key, &text).await {
        Ok(ImportStart::Started(progress)) => {
            Redirect::to(&format!("/members/imports/{}", progress.job_id)).into_response()
        }
        Ok(ImportStart::Refused(errors)) => {
            let problem = format!(
                "{}. Nothing was imported: correct the file and import it again.",
                crate::words::count_of(errors.len(), "row is invalid", "rows are invalid")
            );
            refuse(StatusCode::UNPROCESSABLE_ENTITY, problem, errors)
        }
        Err(error) => {
            let status = error.status;
            refuse(status, format!("Nothing was imported. {}", error.message), Vec::new())
        }
    }
}

/// An import's progress, as the page shows it.
#[derive(Debug, Clone)]
pub struct ProgressText {
    /// The job id.
    pub job_id: String,
    /// Whether the job is done.
    pub done: bool,
    /// Rows settled (committed or refused).
    pub settled: usize,
    /// Rows in the file.
    pub total: usize,
    /// Percent settled.
    pub percent: usize,
    /// Rows committed.
    pub committed: usize,
    /// Rows refused.
    pub failed: usize,
    /// Rows still pending.
    pub pending: usize,
    /// The refused rows.
    pub errors: Vec<RowError>,
}

impl ProgressText {
    fn of(progress: ImportProgress) -> ProgressText {
        let settled = progress.rows_committed + progress.rows_failed;
        let total = progress.rows_total.max(1);
        ProgressText {
            job_id: progress.job_id,
            done: progress.status == "done",
            settled,
            total: progress.rows_total,
            percent: settled * 100 / total,
            committed: progress.rows_committed,
            failed: progress.rows_failed,
            pending: progress.rows_pending,
            errors: progress.errors,
        }
    }
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct ImportJobPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    progress: ProgressText,
}

#[derive(Template)]
#[template(path = "import_progress.html")]
struct ImportProgressFragment {
    progress: ProgressText,
}

/// An import's page (`GET /members/imports/{job}`): the progress bar,
/// refreshed live (htmx) or every two seconds (without script).
pub async fn import_job(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    Path(job_id): Path<String>,
) -> Response {
    match progress_of(&state, state.club(), &job_id) {
        Ok(progress) => {
            let page = ImportJobPage {
                assets: assets::names(),
                chrome: Chrome::of(&state, &signed.session, "/members"),
                progress: ProgressText::of(progress),
            };
            render(StatusCode::OK, &page)
        }
        Err(error) => api_error_page(&state, &signed.session, &error),
    }
}

/// The progress fragment htmx polls (`GET /members/imports/{job}/progress`).
pub async fn import_progress(
    signed: Signed<Registrar>,
    State(state): State<ApiState>,
    Path(job_id): Path<String>,
) -> Response {
    match progress_of(&state, state.club(), &job_id) {
        Ok(progress) => {
            render(StatusCode::OK, &ImportProgressFragment { progress: ProgressText::of(progress) })
        }
        Err(error) => api_error_page(&state, &signed.session, &error),
    }
}
