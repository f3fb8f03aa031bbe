//! The `/v1` router: every resource's handlers mounted with their body
//! limits, the bounds around them (at most `api.requests_in_flight_max`
//! served at once, each answered 503 past `api.request_timeout_ms`, every
//! handler run to completion) and the OpenAPI document generated from the
//! handlers' annotations, with the answers every operation can give.

use axum::http::StatusCode;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::{ApiState, agreements, auth, cards, governance, ledger, members, staff, visits};
use crate::config::ApiSettings;

#[derive(OpenApi)]
#[openapi(
    info(title = "Reciprocity node REST API", description = "Staff API of a club's node: members, visits, agreements, governance, ledger."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Logins and tokens"),
        (name = "members", description = "The club's members: profiles off-chain, records on-chain"),
        (name = "visits", description = "Front-desk checks and visits"),
        (name = "cards", description = "Member cards with a signed QR code, and the club's card keys"),
        (name = "agreements", description = "Bilateral agreements and introductions"),
        (name = "governance", description = "Proposals and votes"),
        (name = "ledger", description = "Signed transactions, blocks, clubs, network"),
        (name = "staff", description = "Staff accounts and the audit log"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Bounds of the `/v1` routes.
struct RouteBounds {
    body_bytes_max: usize,
    import_bytes_max: usize,
    request_timeout: std::time::Duration,
    requests_in_flight_max: usize,
}

impl RouteBounds {
    fn of(settings: &ApiSettings) -> RouteBounds {
        RouteBounds {
            body_bytes_max: settings.body_bytes_max,
            import_bytes_max: settings.import_bytes_max,
            request_timeout: std::time::Duration::from_millis(settings.request_timeout_ms),
            requests_in_flight_max: settings.requests_in_flight_max,
        }
    }
}

/// Runs the handler in a task of its own, so that once started it runs to
/// completion: a timeout or a client that hangs up ends the answer, never a
/// half-done write (a profile stored and its registration not submitted, a
/// revert not made).
pub(crate) async fn run_to_completion(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(error) => axum::response::IntoResponse::into_response(ApiError::internal(&format!(
            "the handler failed: {error}"
        ))),
    }
}

/// The `/v1` routes: at most `requests_in_flight_max` served at once, each
/// answered 503 `request_timeout` past `request_timeout` (waiting for a turn
/// included), but for the CSV import, whose body and rows may take longer;
/// every handler runs to completion ([`run_to_completion`]).
fn routes(bounds: &RouteBounds) -> OpenApiRouter<ApiState> {
    let in_flight = tower::limit::GlobalConcurrencyLimitLayer::new(bounds.requests_in_flight_max);
    let import = OpenApiRouter::new()
        .routes(routes!(members::imports::import_members))
        .layer(axum::extract::DefaultBodyLimit::max(bounds.import_bytes_max));
    let import = bounded(import, in_flight.clone(), None);
    let main = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::challenge))
        .routes(routes!(auth::key_login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(members::register_member, members::search_members))
        .routes(routes!(members::get_member, members::update_member))
        .routes(routes!(members::imports::import_progress))
        .routes(routes!(cards::issue_card, cards::get_card))
        .routes(routes!(cards::list_card_keys, cards::rotate_card_key))
        .routes(routes!(cards::revoke_card_key))
        .routes(routes!(visits::check_visit))
        .routes(routes!(visits::record_visit, visits::list_visits))
        .routes(routes!(visits::void_visit))
        .routes(routes!(agreements::propose_agreement, agreements::list_agreements))
        .routes(routes!(agreements::get_agreement))
        .routes(routes!(agreements::accept_agreement))
        .routes(routes!(agreements::amend_agreement))
        .routes(routes!(agreements::suspend_agreement))
        .routes(routes!(agreements::resume_agreement))
        .routes(routes!(agreements::terminate_agreement))
        .routes(routes!(
            agreements::introductions::issue_introduction,
            agreements::introductions::list_introductions
        ))
        .routes(routes!(governance::create_proposal, governance::list_proposals))
        .routes(routes!(governance::get_proposal))
        .routes(routes!(governance::cast_vote))
        .routes(routes!(ledger::submit_transaction))
        .routes(routes!(ledger::transaction_status))
        .routes(routes!(ledger::list_blocks))
        .routes(routes!(ledger::get_block))
        .routes(routes!(ledger::list_clubs))
        .routes(routes!(ledger::network_status))
        .routes(routes!(staff::create_staff, staff::list_staff))
        .routes(routes!(staff::update_staff))
        .routes(routes!(staff::audit_log))
        .layer(axum::extract::DefaultBodyLimit::max(bounds.body_bytes_max));
    bounded(main, in_flight, Some(bounds.request_timeout)).merge(import)
}

/// `router` with its handlers run to completion, at most as many at once as
/// `in_flight` allows (shared by every router given the same layer), and,
/// with a `timeout`, answered 503 past it (the wait for a turn included).
fn bounded<S: Clone + Send + Sync + 'static>(
    router: OpenApiRouter<S>,
    in_flight: tower::limit::GlobalConcurrencyLimitLayer,
    timeout: Option<std::time::Duration>,
) -> OpenApiRouter<S> {
    let router = router.layer(axum::middleware::from_fn(run_to_completion)).layer(in_flight);
    match timeout {
        Some(timeout) => router.layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        )),
        None => router,
    }
}

/// The `/v1` routes and the OpenAPI document generated from them.
pub fn router(state: ApiState) -> (axum::Router, utoipa::openapi::OpenApi) {
    let bounds = RouteBounds::of(&state.inner.settings);
    let (router, mut api) = routes(&bounds).with_state(state).split_for_parts();
    add_standard_responses(&mut api);
    (router, api)
}

/// The `/v1` part of the OpenAPI document (no node needed).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, mut api) = routes(&RouteBounds::of(&ApiSettings::default())).split_for_parts();
    add_standard_responses(&mut api);
    api
}

/// Declares, on every operation that does not say otherwise, the answers
/// any request can get: 401/403/429 for an authenticated endpoint, 400 for
/// a bad path, query or body, 413/415 for a body too large or of the wrong
/// type, 503 (busy, no leader, index not connected; `Retry-After`) and 500.
/// Every one carries the [`error::ErrorBody`].
pub fn add_standard_responses(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{RefOr, ResponseBuilder};
    let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for item in api.paths.paths.values_mut() {
        let operations =
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_body = operation.request_body.is_some();
            let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let mut standard = Vec::new();
            if secured {
                standard.push(("401", "No valid bearer token"));
                standard.push(("403", "The caller's roles or club do not allow this"));
                standard.push((
                    "429",
                    "Over the caller's rate budget; retry after `Retry-After` seconds",
                ));
            }
            if has_body || has_params {
                standard.push(("400", "Malformed request (the message names the problem)"));
            }
            if has_body {
                standard.push(("413", "The body is larger than this endpoint accepts"));
                standard.push(("415", "The body is not of the media type this endpoint takes"));
            }
            standard.push((
                "503",
                "Busy, no leader reachable, or the index not connected; retry after `Retry-After` seconds",
            ));
            standard.push(("500", "Internal error (the node's log has the details)"));
            for (status, description) in standard {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;
    use utoipa_axum::router::OpenApiRouter;

    use super::bounded;

    fn get(path: &str) -> Request<Body> {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_request_past_its_timeout_is_answered_503_and_its_handler_still_finishes() {
        let finished = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&finished);
        let slow = OpenApiRouter::<()>::new().route(
            "/slow",
            axum::routing::get(move || async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                done.store(true, Ordering::SeqCst);
                "done"
            }),
        );
        let limit = tower::limit::GlobalConcurrencyLimitLayer::new(8);
        let (router, _) = bounded(slow, limit, Some(Duration::from_millis(50))).split_for_parts();
        let answer = router.oneshot(get("/slow")).await.unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        for _ in 0..100 {
            if finished.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the handler was cancelled with its request");
    }

    #[tokio::test]
    async fn a_request_waiting_for_a_turn_past_its_timeout_is_answered_503() {
        let release = Arc::new(tokio::sync::Notify::new());
        let held = Arc::clone(&release);
        let hold = OpenApiRouter::<()>::new().route(
            "/hold",
            axum::routing::get(move || async move {
                held.notified().await;
                "released"
            }),
        );
        let quick =
            OpenApiRouter::<()>::new().route("/quick", axum::routing::get(|| async { "quick" }));
        // One turn, shared by both routers (as the import shares the API's).
        let limit = tower::limit::GlobalConcurrencyLimitLayer::new(1);
        let (holding, _) =
            bounded(hold, limit.clone(), Some(Duration::from_secs(30))).split_for_parts();
        let (waiting, _) =
            bounded(quick, limit, Some(Duration::from_millis(200))).split_for_parts();
        let first = tokio::spawn(holding.oneshot(get("/hold")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A handler that answers at once, but only after a turn: too late.
        let second = waiting.clone().oneshot(get("/quick")).await.unwrap();
        assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
        release.notify_waiters();
        assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
        let third = waiting.oneshot(get("/quick")).await.unwrap();
        assert_eq!(third.status(), StatusCode::OK, "the turn is free again");
    }
}
