//! The HTTP side of the node (axum): `GET /healthz` (the process answers),
//! `GET /readyz` (ledger, consensus and index ready, with the reasons when
//! not) and `GET /metrics` (Prometheus text). The REST API for staff
//! arrives on the same server.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::service::node::NodeHandle;

/// The HTTP routes.
pub fn router(node: NodeHandle) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(node)
}

async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(json!({ "status": "ok" }))).into_response()
}

fn internal(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "internal error");
    let body =
        json!({ "error": { "code": "internal", "message": "internal error; see the node's log" } });
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

/// Ready when the ledger holds genesis, a leader is known (this node leads
/// with a majority, or follows one), the node's club is active, and the
/// index (if any) is within `index.ready_lag_blocks_max`.
async fn readyz(State(node): State<NodeHandle>) -> Response {
    let status = match node.status() {
        Ok(status) => status,
        Err(error) => return internal(&error),
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
    let body = json!({
        "ready": problems.is_empty(),
        "problems": problems,
        "height": status.height,
        "role": status.role,
        "leader_club": status.leader_club,
        "index_lag_blocks": status.index_lag_blocks,
    });
    let code = if problems.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, axum::Json(body)).into_response()
}

async fn metrics(State(node): State<NodeHandle>) -> Response {
    match node.render_metrics() {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(error) => internal(&error),
    }
}

/// Serves HTTP on `addr` until `shutdown` resolves.
pub async fn serve(
    node: NodeHandle,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    let api = |e: &dyn std::fmt::Display| crate::NodeError::Api(format!("HTTP on {addr}: {e}"));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| api(&e))?;
    tracing::info!(%addr, "HTTP listening");
    axum::serve(listener, router(node)).with_graceful_shutdown(shutdown).await.map_err(|e| api(&e))
}
