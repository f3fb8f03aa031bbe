//! Sign-in, sign-out and the home page.
//!
//! Sign-in takes the same staff accounts, password checks, login budgets
//! and audit entries as `POST /v1/auth/login`
//! ([`crate::api::rest::auth::password_login`]) and opens a web session
//! ([`super::session`]) instead of a bearer token. The form is protected by
//! its own CSRF cookie (there is no session yet); `next` only ever points
//! inside the app.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::assets::{self, AssetNames};
use super::page::{
    Chrome, NavLink, Signed, account_fingerprint, club_facts, problem_page_plain, render,
};
use super::session::{LOGIN_COOKIE, SESSION_COOKIE, cookie, cookie_value, removed_cookie};
use crate::api::rest::ApiState;
use crate::api::rest::auth::{Caller, PeerIp, password_login};
use crate::api::rest::error::ApiError;
use crate::api::rest::require::AnyRole;
use crate::api::rest::web_sessions::{OpenError, random_token};

/// How long the sign-in form's CSRF cookie lasts.
const LOGIN_FORM_TTL_S: u64 = 3_600;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    assets: &'static AssetNames,
    club_id: String,
    club_name: String,
    csrf: &'a str,
    next: &'a str,
    username: &'a str,
    problem: Option<&'a str>,
}

/// Where to go after sign-in: a path of this app, never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        // Printable ASCII only: browsers drop tabs and newlines from URLs
        // (`/\t/evil` would become `//evil`), and a header cannot hold them.
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.chars().all(|c| c.is_ascii_graphic())
                && !path.starts_with("/login") =>
        {
            path
        }
        _ => "/",
    }
}

fn with_cookie(mut response: Response, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /login` query.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// Where to go once signed in.
    pub next: Option<String>,
}

fn login_page(
    state: &ApiState,
    status: StatusCode,
    csrf: &str,
    next: &str,
    username: &str,
    problem: Option<&str>,
) -> Response {
    let (club_name, _) = club_facts(state);
    let page = LoginPage {
        assets: assets::names(),
        club_id: state.club().to_string(),
        club_name,
        csrf,
        next,
        username,
        problem,
    };
    let secure = state.node().config().web.secure_cookie;
    with_cookie(render(status, &page), &cookie(LOGIN_COOKIE, csrf, secure, Some(LOGIN_FORM_TTL_S)))
}

/// The sign-in form (`GET /login`).
pub async fn form(
    State(state): State<ApiState>,
    Query(query): Query<LoginQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    let ours = |t: &&str| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit());
    let csrf = match cookie_value(&headers, LOGIN_COOKIE).filter(ours) {
        Some(token) => token.to_owned(),
        None => match random_token() {
            Ok(token) => token,
            Err(error) => {
                tracing::error!(%error, "sign-in form");
                return problem_page_plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sign-in is not available",
                    "The node could not make a sign-in form; see its log.",
                );
            }
        },
    };
    login_page(&state, StatusCode::OK, &csrf, safe_next(query.next.as_deref()), "", None)
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    /// The form's CSRF token (checked by the guard against the cookie).
    #[serde(default)]
    pub csrf: Option<String>,
    /// Staff username.
    pub username: String,
    /// Password.
    pub password: String,
    /// Where to go once signed in.
    #[serde(default)]
    pub next: Option<String>,
}

/// Signs in (`POST /login`): a session cookie and a redirect to `next`, or
/// the form again with what was wrong.
pub async fn sign_in(
    State(state): State<ApiState>,
    PeerIp(ip): PeerIp,
    headers: axum::http::HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_owned();
    // The guard checked the form against this cookie.
    let csrf = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default().to_owned();
    let username = if crate::records::staff::check_username(&form.username).is_ok() {
        form.username.as_str()
    } else {
        ""
    };
    let opened = match password_login(&state, &ip, &form.username, form.password).await {
        Ok(caller) => open_session(&state, caller, username).await,
        Err(error) => Err(error),
    };
    let (principal, id) = match opened {
        Ok(opened) => opened,
        Err(error) => {
            return login_page(&state, error.status, &csrf, &next, username, Some(&error.message));
        }
    };
    tracing::info!(%principal, "signed in to the web app");
    state.audit(&principal, "auth.login", None, "ok", None).await;
    // A session this browser still held ends: one sign-in per cookie.
    if let Some(old) = cookie_value(&headers, SESSION_COOKIE) {
        state.web_sessions().close(old);
    }
    let secure = state.node().config().web.secure_cookie;
    let shift_s = state.node().config().web.session_shift_ms / 1_000;
    let response = Redirect::to(&next).into_response();
    let response = with_cookie(response, &cookie(SESSION_COOKIE, &id, secure, Some(shift_s)));
    with_cookie(response, &removed_cookie(LOGIN_COOKIE, secure))
}

/// Opens a web session for `caller` (staff account `username`): its
/// principal and cookie value.
async fn open_session(
    state: &ApiState,
    caller: Caller,
    username: &str,
) -> Result<(String, String), ApiError> {
    let account = state
        .records()?
        .staff_get(username)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account was removed while signing in"))?;
    let principal = caller.principal.clone();
    match state.web_sessions().open(caller, account_fingerprint(&account.password_hash)) {
        Ok((id, _csrf)) => Ok((principal, id)),
        Err(error @ OpenError::Full(_)) => Err(ApiError::unavailable(error.to_string())),
        Err(error @ OpenError::Random(_)) => Err(ApiError::internal(&error)),
    }
}

/// Signs out (`POST /logout`): the session ends and its cookie goes.
pub async fn sign_out(State(state): State<ApiState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(id) = cookie_value(&headers, SESSION_COOKIE) {
        if let Some(session) = state.web_sessions().touch(id) {
            state.audit(&session.caller.principal, "auth.logout", None, "ok", None).await;
        }
        state.web_sessions().close(id);
    }
    let secure = state.node().config().web.secure_cookie;
    with_cookie(Redirect::to("/login").into_response(), &removed_cookie(SESSION_COOKIE, secure))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    assets: &'static AssetNames,
    chrome: Chrome,
}

/// The home page (`GET /`): straight to the one page a role opens, or the
/// list of them.
pub async fn home(signed: Signed<AnyRole>, State(state): State<ApiState>) -> Response {
    let chrome = Chrome::of(&state, &signed.session, "/");
    if let [only] = chrome.links.as_slice() {
        let NavLink { href, .. } = only;
        return Redirect::to(href).into_response();
    }
    render(StatusCode::OK, &HomePage { assets: assets::names(), chrome })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_app() {
        assert_eq!(safe_next(Some("/desk?member=ab")), "/desk?member=ab");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/login")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/desk\r\nSet-Cookie: x")), "/");
        assert_eq!(safe_next(Some("/d\u{e9}sk")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
