//! The admin's staff and card-key pages: the club's staff accounts
//! (create, change roles, disable or enable, reset the password — the
//! account's sign-ins end at once) and the club's card-issuing keys
//! (rotate: a new key on this node, the current one retired; revoke a
//! compromised one). Writes go through the REST handlers' own
//! `staff::create_as`, `update_as`, `cards::rotate_as` and `revoke_as`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reciprocity_chaincode::{CardKeyId, query};
use serde::Deserialize;

use super::assets::{self, AssetNames};
use super::page::{Chrome, Signed, api_error_page, render};
use crate::api::rest::ApiState;
use crate::api::rest::cards::{revoke_as, rotate_as};
use crate::api::rest::require::Admin;
use crate::api::rest::staff::{NewStaff, StaffUpdate, StaffView, create_as, list_as, update_as};
use crate::api::views::CardKeyView;

/// A role's name and its words.
const ROLES: [(&str, &str); 4] = [
    ("admin", "admin"),
    ("registrar", "registrar"),
    ("front_desk", "front desk"),
    ("governor", "governor"),
];

/// An account as the page shows it, with a check box per role.
#[derive(Debug, Clone)]
pub struct StaffRow {
    /// Login name.
    pub username: String,
    /// Its roles in words.
    pub roles_text: String,
    /// Whether disabled.
    pub disabled: bool,
    /// (role name, words, held) for each role.
    pub roles: Vec<(&'static str, &'static str, bool)>,
    /// The roles as shown, comma separated (sent back with the form).
    pub shown_roles: String,
    /// The username, encoded for a path.
    pub path: String,
}

impl StaffRow {
    fn of(account: &StaffView) -> StaffRow {
        StaffRow {
            username: account.username.clone(),
            roles_text: account.roles.join(", ").replace('_', " "),
            disabled: account.disabled,
            roles: ROLES
                .iter()
                .map(|(name, words)| (*name, *words, account.roles.iter().any(|r| r == name)))
                .collect(),
            shown_roles: account.roles.join(","),
            path: form_urlencoded::byte_serialize(account.username.as_bytes()).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    assets: &'static AssetNames,
    chrome: Chrome,
    staff: Vec<StaffRow>,
    roles: [(&'static str, &'static str); 4],
    keys: Vec<CardKeyView>,
    keys_held: Vec<bool>,
    notice: Option<String>,
    problem: Option<String>,
}

/// `GET /staff` query: what just happened.
#[derive(Debug, Default, Deserialize)]
pub struct StaffNotice {
    /// What was done.
    pub done: Option<String>,
    /// To whom.
    pub who: Option<String>,
}

async fn staff_page(
    state: &ApiState,
    signed: &Signed<Admin>,
    status: StatusCode,
    notice: Option<String>,
    problem: Option<String>,
) -> Response {
    let staff = match list_as(state, signed.caller()).await {
        Ok(staff) => staff,
        Err(error) => return api_error_page(state, &signed.session, &error),
    };
    let keys = {
        let view = state.node().ledger().state();
        query::card_keys_of(&view, state.club())
    };
    let mut keys = match keys {
        Ok(keys) => keys,
        Err(error) => return api_error_page(state, &signed.session, &error.into()),
    };
    keys.sort_by_key(|k| std::cmp::Reverse(k.enrolled_height));
    let keys_held = keys.iter().map(|k| state.card_keys().key(&k.key_id).is_some()).collect();
    let page = StaffPage {
        assets: assets::names(),
        chrome: Chrome::of(state, &signed.session, "/staff"),
        staff: staff.iter().map(StaffRow::of).collect(),
        roles: ROLES,
        keys: keys.iter().map(CardKeyView::of).collect(),
        keys_held,
        notice,
        problem,
    };
    render(status, &page)
}

/// Staff accounts and card keys (`GET /staff`).
pub async fn page(
    signed: Signed<Admin>,
    State(state): State<ApiState>,
    Query(done): Query<StaffNotice>,
) -> Response {
    let who =
        done.who.filter(|w| crate::records::staff::check_username(w).is_ok()).unwrap_or_default();
    let notice = done.done.as_deref().and_then(|done| match done {
        "created" => Some(format!("Account {who} created.")),
        "updated" => Some(format!("Account {who} changed; its sign-ins have ended.")),
        "rotated" => Some("New card key enrolled: new cards are signed with it; cards signed by the old key stay valid until their valid-until.".to_owned()),
        "revoked" => Some("Card key revoked: every card it signed is refused from now on.".to_owned()),
        "pending" => Some("Submitted; not committed yet: reload in a moment to see it on the ledger.".to_owned()),
        _ => None,
    });
    staff_page(&state, &signed, StatusCode::OK, notice, None).await
}

fn form_list(body: &str, name: &str) -> Vec<String> {
    form_urlencoded::parse(body.as_bytes())
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .collect()
}

fn form_value(body: &str, name: &str) -> String {
    form_urlencoded::parse(body.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Creates an account (`POST /staff`).
pub async fn create(
    signed: Signed<Admin>,
    State(state): State<ApiState>,
    body: String,
) -> Response {
    let request = NewStaff {
        username: form_value(&body, "username").trim().to_owned(),
        password: form_value(&body, "password"),
        roles: form_list(&body, "role"),
    };
    match create_as(&state, signed.caller(), &request).await {
        Ok(account) => Redirect::to(&format!(
            "/staff?done=created&who={}",
            form_urlencoded::byte_serialize(account.username.as_bytes()).collect::<String>()
        ))
        .into_response(),
        Err(error) => {
            let problem = Some(format!("No account was created. {}", error.message));
            staff_page(&state, &signed, error.status, None, problem).await
        }
    }
}

/// Changes an account (`POST /staff/accounts/{username}`): roles, disabled,
/// a new password — only what differs from what the form showed.
pub async fn update(
    signed: Signed<Admin>,
    State(state): State<ApiState>,
    Path(username): Path<String>,
    body: String,
) -> Response {
    let password = form_value(&body, "password");
    // Only what was changed on the form, compared with what it showed: a
    // stale page does not undo another admin's change.
    let mut roles = form_list(&body, "role");
    roles.sort();
    let mut shown_roles: Vec<String> = form_value(&body, "shown_roles")
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    shown_roles.sort();
    let disabled = form_value(&body, "disabled") == "1";
    let shown_disabled = form_value(&body, "shown_disabled") == "1";
    let update = StaffUpdate {
        roles: (roles != shown_roles).then_some(roles),
        disabled: (disabled != shown_disabled).then_some(disabled),
        password: (!password.is_empty()).then_some(password),
    };
    if update.roles.is_none() && update.disabled.is_none() && update.password.is_none() {
        let notice = Some(format!("Nothing changed for {username}."));
        return staff_page(&state, &signed, StatusCode::OK, notice, None).await;
    }
    match update_as(&state, signed.caller(), &username, &update).await {
        Ok(account) => Redirect::to(&format!(
            "/staff?done=updated&who={}",
            form_urlencoded::byte_serialize(account.username.as_bytes()).collect::<String>()
        ))
        .into_response(),
        Err(error) => {
            let problem = Some(format!("Account {username} was not changed. {}", error.message));
            staff_page(&state, &signed, error.status, None, problem).await
        }
    }
}

/// Rotates the club's card key (`POST /staff/card-keys`).
pub async fn rotate(signed: Signed<Admin>, State(state): State<ApiState>) -> Response {
    match rotate_as(&state, signed.caller()).await {
        Ok((StatusCode::ACCEPTED, _, _)) => Redirect::to("/staff?done=pending").into_response(),
        Ok(_) => Redirect::to("/staff?done=rotated").into_response(),
        Err(error) => {
            let problem = Some(format!("No new card key. {}", error.message));
            staff_page(&state, &signed, error.status, None, problem).await
        }
    }
}

/// The revoke form's confirmation.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    /// Must be `revoke`.
    #[serde(default)]
    pub confirm: String,
}

/// Revokes a card key (`POST /staff/card-keys/{key_id}/revoke`), once
/// confirmed: every card it signed stops admitting.
pub async fn revoke(
    signed: Signed<Admin>,
    State(state): State<ApiState>,
    Path(key_id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    if form.confirm.trim() != "revoke" {
        let problem =
            Some("Type “revoke” to confirm: every card the key signed will be refused.".to_owned());
        return staff_page(&state, &signed, StatusCode::BAD_REQUEST, None, problem).await;
    }
    let Some(id) = CardKeyId::from_hex(&key_id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match revoke_as(&state, signed.caller(), &id).await {
        Ok((StatusCode::ACCEPTED, _)) => Redirect::to("/staff?done=pending").into_response(),
        Ok(_) => Redirect::to("/staff?done=revoked").into_response(),
        Err(error) => {
            let problem = Some(format!("The key was not revoked. {}", error.message));
            staff_page(&state, &signed, error.status, None, problem).await
        }
    }
}
