//! The HTTP side of the node (axum): `GET /healthz` (the process answers),
//! `GET /readyz` (ledger, consensus and index ready, with the reasons when
//! not), `GET /metrics` (Prometheus text), the staff REST API under `/v1`
//! ([`super::rest`]), `GET /openapi.json`, the OpenAPI document generated
//! from the handlers, and the staff web app at `/` ([`super::web`]). Every request runs in a `tracing` span and is timed
//! into `recip_http_request_seconds{method,route,status}`. The `/v1` routes
//! are bounded ([`super::rest`]: `api.requests_in_flight_max` at once,
//! `api.request_timeout_ms` each); the probes and metrics are not, so they
//! answer while the API is saturated.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::Instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::rest::error::{ApiError, ErrorBody};
use super::rest::{self, ApiState};
use crate::service::node::NodeHandle;

/// The HTTP routes and the OpenAPI document that describes them; starts the
/// orphaned-profile sweeper the REST API's registrations rely on (call
/// inside the runtime).
pub fn router(node: NodeHandle) -> crate::Result<Router> {
    let state = ApiState::new(node.clone()).map_err(crate::NodeError::Startup)?;
    tokio::spawn(crate::service::sweeper::sweep_orphan_profiles(node.clone()));
    let (v1, mut document) = rest::router(state.clone());
    let (probes, probes_api) = probe_routes().with_state(state.clone()).split_for_parts();
    document.merge(probes_api);
    let document = Arc::new(
        document
            .to_json()
            .map_err(|e| crate::NodeError::Startup(format!("OpenAPI document: {e}")))?,
    );
    let web = super::web::router(state);
    Ok(probes
        .merge(v1)
        .merge(web)
        .layer(axum::Extension(OpenApiJson(document)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(node, observe)))
}

fn probe_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document the node serves at `/openapi.json` (no node
/// needed; the body limits it names are the defaults).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = rest::openapi_document();
    document.merge(probe_routes().split_for_parts().1);
    document
}

#[derive(Clone)]
struct OpenApiJson(Arc<String>);

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; GET /openapi.json lists them",
    )
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; GET /openapi.json lists them")
}

/// Times every request and runs it in a span named after its route.
async fn observe(State(node): State<NodeHandle>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span =
        tracing::debug_span!("http", %method, route = %route, status = tracing::field::Empty);
    let mut response = next.run(request).instrument(span.clone()).await;
    // The timeout layer answers with an empty body: give it the API's.
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let timeout_ms = node.config().api.request_timeout_ms;
        response = ApiError::request_timeout(timeout_ms).into_response();
    }
    let status = response.status();
    span.record("status", status.as_u16());
    node.metrics()
        .http_request_seconds
        .with_label_values(&[method.as_str(), &route, status.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The process answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "probes",
    responses((status = 200, description = "Alive", body = Health)))]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok".to_owned() })
}

/// Readiness and, when not ready, why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Whether the node can serve.
    pub ready: bool,
    /// What is missing, in words.
    pub problems: Vec<String>,
    /// Ledger height.
    pub height: u64,
    /// `leader`, `follower`, `candidate` or `learner`.
    pub role: String,
    /// The leader's club, when known.
    pub leader_club: Option<String>,
    /// Blocks applied but not yet indexed (none without an index).
    pub index_lag_blocks: Option<u64>,
}

/// Ready when the ledger holds genesis, a leader is known (this node leads
/// with a majority, or follows one), the node's club is active, and the
/// index (if any) is within `index.ready_lag_blocks_max`.
#[utoipa::path(get, path = "/readyz", tag = "probes",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready; `problems` says why", body = Readiness)))]
async fn readyz(State(state): State<ApiState>) -> Response {
    let node = state.node();
    let status = match node.status() {
        Ok(status) => status,
        Err(error) => return ApiError::internal(&error).into_response(),
    };
    let mut problems = Vec::new();
    if status.height == 0 {
        problems.push("ledger: the genesis block is not applied yet".to_owned());
    }
    if status.leader.is_none() {
        problems.push("consensus: no leader is known".to_owned());
    }
    if status.height > 0 && !status.club_active {
        problems.push(format!("consensus: club {} is not active on the ledger", status.club));
    }
    if let Some(stuck) = status.index_stuck_height {
        problems.push(format!("index: cannot project block {stuck} (see the node's log)"));
    }
    let lag_max = node.config().index.ready_lag_blocks_max;
    if let Some(lag) = status.index_lag_blocks
        && lag > lag_max
    {
        problems.push(format!(
            "index: {lag} blocks behind (more than ready_lag_blocks_max = {lag_max})"
        ));
    }
    let code = if problems.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = Readiness {
        ready: problems.is_empty(),
        problems,
        height: status.height,
        role: status.role,
        leader_club: status.leader_club,
        index_lag_blocks: status.index_lag_blocks,
    };
    (code, axum::Json(body)).into_response()
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "probes",
    responses(
        (status = 200, description = "Metrics", body = String, content_type = "text/plain"),
        (status = 500, description = "Internal error", body = ErrorBody)))]
async fn metrics(State(state): State<ApiState>) -> Response {
    match state.node().render_metrics() {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(error) => ApiError::internal(&error).into_response(),
    }
}

/// This document: the OpenAPI 3.1 description of every endpoint.
#[utoipa::path(get, path = "/openapi.json", tag = "probes",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
async fn openapi_json(axum::Extension(document): axum::Extension<OpenApiJson>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document.0.as_str().to_owned()).into_response()
}

/// Serves HTTP on `addr` until `shutdown` resolves.
pub async fn serve(
    node: NodeHandle,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    let api = |e: &dyn std::fmt::Display| crate::NodeError::Api(format!("HTTP on {addr}: {e}"));
    let routes = router(node)?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| api(&e))?;
    tracing::info!(%addr, "HTTP listening (web app at /, REST API under /v1, /openapi.json)");
    // The peer address feeds the per-address login budgets.
    let service = routes.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await.map_err(|e| api(&e))
}
