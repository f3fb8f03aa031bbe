//! What every page shares: who is signed in ([`Signed`], which also checks
//! the page's role), the layout's data ([`Chrome`]: the person, the club,
//! the pages their roles open, the club's local time), rendering, and the
//! pages that say something went wrong.

use std::marker::PhantomData;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use reciprocity_chaincode::Role;
use sha2::{Digest, Sha256};

use super::assets::{self, AssetNames};
use super::session::{SESSION_COOKIE, cookie_value};
use crate::api::rest::ApiState;
use crate::api::rest::auth::Caller;
use crate::api::rest::error::ApiError;
use crate::api::rest::require::{Admin, FrontDesk, Governor, Registrar, RoleRule};
use crate::api::rest::web_sessions::SessionView;
use crate::clock::now_ms;

/// A page of the app, for the navigation and the home page.
#[derive(Debug)]
pub struct PageLink {
    /// Where it is.
    pub href: &'static str,
    /// Its name in the navigation.
    pub label: &'static str,
    /// What it is for, in a few words.
    pub purpose: &'static str,
    /// The roles that open it (any one).
    pub roles: &'static [Role],
}

/// Every page of the app, in navigation order.
pub const PAGES: [PageLink; 6] = [
    PageLink {
        href: "/desk",
        label: "Front desk",
        purpose: "Check visitors, record and void visits",
        roles: FrontDesk::ROLES,
    },
    PageLink {
        href: "/members",
        label: "Members",
        purpose: "Register, search and update members; print cards; import a list",
        roles: Registrar::ROLES,
    },
    PageLink {
        href: "/proposals",
        label: "Proposals",
        purpose: "Open proposals, cast the club's vote, follow the tally",
        roles: Governor::ROLES,
    },
    PageLink {
        href: "/agreements",
        label: "Agreements",
        purpose: "Agreements with each club: offers, terms in force, suspension, termination",
        roles: Admin::ROLES,
    },
    PageLink {
        href: "/staff",
        label: "Staff",
        purpose: "Staff accounts and roles; the club's card-issuing keys",
        roles: Admin::ROLES,
    },
    PageLink {
        href: "/node",
        label: "Node",
        purpose: "The node's height, leader, peers, index and last blocks, live",
        roles: Admin::ROLES,
    },
];

/// The pages `caller`'s roles open.
pub fn pages_of(caller: &Caller) -> impl Iterator<Item = &'static PageLink> + '_ {
    PAGES.iter().filter(|page| page.roles.iter().any(|role| caller.roles.contains(*role)))
}

/// A navigation entry.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Where it goes.
    pub href: &'static str,
    /// Its label.
    pub label: &'static str,
    /// What it is for.
    pub purpose: &'static str,
    /// Whether it is the page shown.
    pub current: bool,
}

/// The layout's data: header, navigation, footer.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The signed-in person (`desk1`).
    pub user: String,
    /// This node's club id.
    pub club_id: String,
    /// The club's name on the ledger.
    pub club_name: String,
    /// The person's roles, in words.
    pub roles: String,
    /// The session's CSRF token (forms and htmx carry it).
    pub csrf: String,
    /// The pages the person's roles open.
    pub links: Vec<NavLink>,
    /// Now in the club's local time (`2026-12-07 14:05`).
    pub local_now: String,
    /// The club's UTC offset (`UTC+01:00`).
    pub utc_offset: String,
    /// When the sign-in ends, local time.
    pub shift_ends: String,
    /// Minutes unused after which it ends sooner (`web.session_idle_ms`).
    pub idle_minutes: u64,
}

/// The club's name and UTC offset (minutes) on the ledger; the id and UTC
/// when the ledger does not know the club yet.
pub fn club_facts(state: &ApiState) -> (String, i32) {
    let view = state.node().ledger().state();
    match reciprocity_chaincode::query::club(&view, state.club()) {
        Ok(Some(club)) => (club.spec.name, club.spec.utc_offset_minutes),
        _ => (state.club().to_string(), 0),
    }
}

/// `at_ms` in a club's local time: (`YYYY-MM-DD`, `HH:MM`).
pub fn local_date_time(at_ms: u64, utc_offset_minutes: i32) -> (String, String) {
    let local_ms = i128::from(at_ms) + i128::from(utc_offset_minutes) * 60_000;
    let day_ms = 86_400_000_i128;
    let day = local_ms.div_euclid(day_ms);
    let minute_of_day = local_ms.rem_euclid(day_ms) / 60_000;
    let date =
        u32::try_from(day).map_or_else(|_| "?".to_owned(), reciprocity_sdk::dates::format_day);
    (date, format!("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60))
}

/// `UTC+01:00`, `UTC-05:30`, `UTC`.
pub fn utc_offset_text(minutes: i32) -> String {
    if minutes == 0 {
        return "UTC".to_owned();
    }
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

/// Role names in words: `front desk, registrar`.
pub fn roles_text(caller: &Caller) -> String {
    caller.roles.iter().map(|r| r.name().replace('_', " ")).collect::<Vec<_>>().join(", ")
}

impl Chrome {
    /// The layout for `session` on the page at `path`.
    pub fn of(state: &ApiState, session: &SessionView, path: &str) -> Chrome {
        let (club_name, offset) = club_facts(state);
        let now = now_ms();
        let (date, time) = local_date_time(now, offset);
        let (end_date, end_time) =
            local_date_time(now.saturating_add(session.shift_left_ms), offset);
        let caller = &session.caller;
        Chrome {
            user: caller.principal.strip_prefix("staff:").unwrap_or(&caller.principal).to_owned(),
            club_id: state.club().to_string(),
            club_name,
            roles: roles_text(caller),
            csrf: session.csrf.clone(),
            links: pages_of(caller)
                .map(|page| NavLink {
                    href: page.href,
                    label: page.label,
                    purpose: page.purpose,
                    current: path == page.href || path.starts_with(&format!("{}/", page.href)),
                })
                .collect(),
            local_now: format!("{date} {time}"),
            utc_offset: utc_offset_text(offset),
            shift_ends: if end_date == date { end_time } else { format!("{end_date} {end_time}") },
            idle_minutes: state.node().config().web.session_idle_ms / 60_000,
        }
    }
}

/// A rendered page, or a plain error page when the template fails.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "page not rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered; see the node's log",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    assets: &'static AssetNames,
    chrome: Chrome,
    heading: &'a str,
    message: &'a str,
}

#[derive(Template)]
#[template(path = "plain.html")]
struct PlainPage<'a> {
    assets: &'static AssetNames,
    heading: &'a str,
    message: &'a str,
}

/// A page saying what went wrong, in the layout of the signed-in person.
pub fn problem_page(
    state: &ApiState,
    session: &SessionView,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Response {
    let chrome = Chrome::of(state, session, "");
    render(status, &ProblemPage { assets: assets::names(), chrome, heading, message })
}

/// A page saying what went wrong, for someone not signed in.
pub fn problem_page_plain(status: StatusCode, heading: &str, message: &str) -> Response {
    render(status, &PlainPage { assets: assets::names(), heading, message })
}

/// An API error (a refusal by the rules, a busy index...) as a page.
pub fn api_error_page(state: &ApiState, session: &SessionView, error: &ApiError) -> Response {
    let heading = match error.status.as_u16() {
        403 => "Not allowed",
        404 => "Not found",
        409 => "Refused",
        429 => "Too many requests",
        503 => "Not available right now",
        500.. => "Something went wrong",
        _ => "That did not work",
    };
    problem_page(state, session, error.status, heading, &error.message)
}

/// Where a request that needs a session goes without one: the sign-in page,
/// then back here. htmx requests get `HX-Redirect` (a full page load).
fn to_sign_in(parts: &Parts) -> Response {
    let here = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let target = if parts.method == axum::http::Method::GET && here != "/" {
        format!(
            "/login?next={}",
            form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>()
        )
    } else {
        "/login".to_owned()
    };
    if parts.headers.contains_key("hx-request") {
        let mut response = StatusCode::OK.into_response();
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert("hx-redirect", value);
        }
        return response;
    }
    Redirect::to(&target).into_response()
}

/// What a session remembers of the account it was opened for: a digest of
/// its password hash (a changed password gives another).
pub fn account_fingerprint(password_hash: &str) -> [u8; 32] {
    Sha256::digest(password_hash.as_bytes()).into()
}

/// Whether the staff account `session` was opened for still exists, is
/// enabled, has the same password and the roles the session acts with.
async fn account_stands(state: &ApiState, session: &SessionView) -> Result<bool, ApiError> {
    let caller = &session.caller;
    let Some(username) = caller.principal.strip_prefix("staff:") else { return Ok(false) };
    let Some(account) = state.records()?.staff_get(username).await? else { return Ok(false) };
    let stored = account.role_set().ok();
    Ok(!account.disabled
        && stored == Some(caller.roles)
        && account_fingerprint(&account.password_hash) == session.account)
}

/// The signed-in person, holding one of rule `R`'s roles (any role when it
/// names none), with one request of their rate budget spent. Without a
/// session: a redirect to sign-in. With another role: 403, saying whose
/// page it is.
pub struct Signed<R> {
    /// The session.
    pub session: SessionView,
    rule: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Signed<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Signed").field(&self.session.caller.principal).finish()
    }
}

impl<R> Signed<R> {
    /// Who is signed in.
    pub fn caller(&self) -> &Caller {
        &self.session.caller
    }
}

impl<R: RoleRule> FromRequestParts<ApiState> for Signed<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let Some((id, session)) = cookie_value(&parts.headers, SESSION_COOKIE)
            .and_then(|id| Some((id, state.web_sessions().touch(id)?)))
        else {
            return Err(to_sign_in(parts));
        };
        // A sign-in lasts a shift: it stands only while the account does,
        // with the password and roles it had (an account changed anywhere,
        // `recip staff` in another process included, ends it at the next
        // request).
        match account_stands(state, &session).await {
            Ok(true) => {}
            Ok(false) => {
                state.web_sessions().close(id);
                return Err(to_sign_in(parts));
            }
            Err(error) => return Err(api_error_page(state, &session, &error)),
        }
        let allowed = if R::ROLES.is_empty() {
            state.authorize(&session.caller, None)
        } else {
            state.authorize_one_of(&session.caller, R::ROLES)
        };
        match allowed {
            Ok(()) => Ok(Signed { session, rule: PhantomData }),
            Err(error) if error.status == StatusCode::FORBIDDEN => {
                let needed =
                    R::ROLES.iter().map(|r| r.name().replace('_', " ")).collect::<Vec<_>>();
                let message = format!(
                    "This page is for the {}. You are signed in as {} with the roles {}.",
                    needed.join(" or "),
                    session.caller.principal.trim_start_matches("staff:"),
                    roles_text(&session.caller)
                );
                Err(problem_page(state, &session, StatusCode::FORBIDDEN, "Not your page", &message))
            }
            Err(error) => Err(api_error_page(state, &session, &error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_follows_the_clubs_offset_across_midnight() {
        // 2026-12-07T23:30Z
        let at = 1_796_679_000_000 - 1_796_679_000_000 % 86_400_000 + 23 * 3_600_000 + 30 * 60_000;
        let (date, time) = local_date_time(at, 0);
        let (next_date, next_time) = local_date_time(at, 60);
        assert_eq!(time, "23:30");
        assert_eq!(next_time, "00:30");
        assert_ne!(date, next_date);
        assert_eq!(local_date_time(at, -330).1, "18:00");
    }

    #[test]
    fn offsets_read_as_people_write_them() {
        assert_eq!(utc_offset_text(0), "UTC");
        assert_eq!(utc_offset_text(60), "UTC+01:00");
        assert_eq!(utc_offset_text(-330), "UTC-05:30");
    }
}
