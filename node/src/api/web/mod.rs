//! The staff web app, served by the node on `http_listen` beside `/v1`:
//! the app at `/`, sign-in at `/login`, the assets at `/assets/`.
//!
//! Server-rendered pages (askama templates in `node/web/templates/`,
//! compiled into the binary) progressively enhanced by a vendored htmx
//! (`hx-boost`: links and forms swap the page without a reload) and one
//! script of ours ([`assets`]). Every page works without script; nothing
//! is fetched from elsewhere, at build time or at run time.
//!
//! - [`session`]: the cookies (the sessions, their shift and idle limits
//!   and CSRF tokens are [`super::rest::web_sessions`], beside the bearer
//!   tokens).
//! - [`guard`]: what every request passes: the CSRF check on every
//!   state-changing request, the security headers (a strict
//!   Content-Security-Policy: `script-src 'self'`, no inline script or
//!   style), no caching of pages.
//! - [`page`]: the [`page::Signed`] extractor (who is signed in, with the
//!   role the page needs, or a redirect to sign-in or a refusal), the
//!   layout's data and the error pages.
//! - Pages: [`login`] (sign-in, sign-out, home), [`admin`] (agreements:
//!   offers compared with the terms in force, accept, suspend, resume,
//!   terminate, propose and amend), [`desk`] (the front
//!   desk), [`registrar`] (members, cards, the CSV import), [`governor`]
//!   (proposals, votes, the live tally), [`staff`] (staff accounts and the
//!   club's card keys), [`operator`] (the node's status, for the club's
//!   admins).
//!
//! Pages call the same operations as the REST handlers
//! ([`super::rest::ApiState`]: `act` signs and submits, the visit check
//! reads the node's own state, listings read the index), never the REST
//! API over HTTP. Bounds: the same as `/v1`'s (`api.requests_in_flight_max`
//! at once, a limit of the app's own; `api.request_timeout_ms` each; every
//! handler run to completion); a form body is at most `api.body_bytes_max`;
//! sign-ins share the REST API's login budgets; at most
//! `web.sessions_max` sign-ins, `SESSIONS_PER_PERSON_MAX` per person.

pub mod admin;
pub mod assets;
pub mod desk;
pub mod governor;
pub mod guard;
pub mod login;
pub mod operator;
pub mod page;
pub mod registrar;
pub mod session;
pub mod staff;

use axum::Router;
use axum::routing::{get, post};

use super::rest::ApiState;

/// The web app's routes, bounded as `/v1` is: at most
/// `api.requests_in_flight_max` served at once (a limit of their own), each
/// answered 503 past `api.request_timeout_ms` (a form body read included),
/// every handler run to completion.
pub fn router(state: ApiState) -> Router {
    let settings = state.settings();
    let timeout = std::time::Duration::from_millis(settings.request_timeout_ms);
    let in_flight = tower::limit::GlobalConcurrencyLimitLayer::new(settings.requests_in_flight_max);
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::form).post(login::sign_in))
        .route("/logout", post(login::sign_out))
        .route("/desk", get(desk::page))
        .route("/desk/check", post(desk::check))
        .route("/desk/visits", post(desk::record))
        .route("/desk/visits/{visit_id}/void", post(desk::void))
        .route("/members", get(registrar::members).post(registrar::register))
        .route("/members/new", get(registrar::new_member))
        .route(
            "/members/import",
            get(registrar::import_form)
                .post(registrar::import)
                .layer(axum::extract::DefaultBodyLimit::max(settings.import_bytes_max)),
        )
        .route("/members/imports/{job_id}", get(registrar::import_job))
        .route("/members/imports/{job_id}/progress", get(registrar::import_progress))
        .route("/members/{member_id}", get(registrar::member).post(registrar::update))
        .route("/members/{member_id}/card", post(registrar::issue_card))
        .route("/members/{member_id}/introductions", post(registrar::introduce))
        .route("/members/{member_id}/card/{format}", get(registrar::card_file))
        .route("/proposals", get(governor::proposals).post(governor::create))
        .route("/proposals/new", get(governor::new_proposal))
        .route("/proposals/{proposal_id}", get(governor::proposal))
        .route("/proposals/{proposal_id}/tally", get(governor::tally))
        .route("/proposals/{proposal_id}/vote", post(governor::vote))
        .route("/agreements", get(admin::agreements))
        .route("/agreements/{club}", get(admin::agreement))
        .route("/agreements/{club}/offer", get(admin::offer_form).post(admin::offer))
        .route("/agreements/{club}/accept", post(admin::accept))
        .route("/agreements/{club}/{action}", post(admin::side))
        .route("/staff", get(staff::page).post(staff::create))
        .route("/staff/card-keys", post(staff::rotate))
        .route("/staff/card-keys/{key_id}/revoke", post(staff::revoke))
        .route("/staff/accounts/{username}", post(staff::update))
        .route("/node", get(operator::page))
        .route("/node/status", get(operator::status))
        .route("/assets/{name}", get(assets::asset))
        .layer(axum::middleware::from_fn(super::rest::run_to_completion))
        // A form's body is bounded whether its token came in a field or a
        // header (the import's own limit is set on its route).
        .layer(axum::extract::DefaultBodyLimit::max(settings.body_bytes_max))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::csrf))
        .layer(axum::middleware::from_fn(guard::page_headers))
        .layer(in_flight)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .with_state(state)
}
