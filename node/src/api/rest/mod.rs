//! The staff REST API under `/v1` (axum, JSON, OpenAPI at `/openapi.json`).
//!
//! - [`auth`]: password and identity-key logins, bearer tokens, the
//!   [`auth::Caller`] extractor; [`limits`]: per-role rate limits.
//! - [`keystore`]: the club's identity keys the node signs staff actions with.
//! - [`error`] and [`extract`]: one JSON error type; extractors that answer
//!   bad input with it.
//! - Resources: [`members`] (profiles off-chain, records on-chain, CSV
//!   import), [`visits`], [`agreements`] (and introductions), [`governance`],
//!   [`ledger`] (signed transactions, blocks, clubs, network status),
//!   [`staff`] (accounts and the audit log).
//!
//! Reads that must be current (a member's record, the visit check, a
//! proposal's live tally) come from the node's own state; listings and
//! searches come from the SQL index, which may lag by a few blocks. Writes
//! are signed with a keystore key of this node's club holding the role the
//! endpoint needs, submitted, and answered once committed (201) or, past
//! `api.commit_timeout_ms`, as pending (202) with the transaction id.

pub mod agreements;
pub mod auth;
pub mod error;
pub mod extract;
pub mod governance;
pub mod keystore;
pub mod ledger;
pub mod limits;
pub mod members;
pub mod require;
pub mod staff;
pub mod visits;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use reciprocity_chaincode::{ClubId, Role, TxId};
use reciprocity_proto::v1 as pb;
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::auth::Caller;
use self::error::{ApiError, ApiResult, ErrorKind};
use crate::clock::now_ms;
use crate::config::ApiSettings;
use crate::index::IndexStore;
use crate::service::node::NodeHandle;
use crate::service::submit::Submitted;

/// Shared state of the REST handlers.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<ApiInner>,
}

struct ApiInner {
    node: NodeHandle,
    club: ClubId,
    settings: ApiSettings,
    keystore: keystore::Keystore,
    sessions: auth::Sessions,
    challenges: auth::Challenges,
    limits: limits::RateLimits,
    imports: crate::service::import::Imports,
    /// Password checks running at once (Argon2id takes ~19 MiB and tens of
    /// ms each): one per core; more wait up to `PASSWORD_CHECK_WAIT_MS`.
    password_checks: tokio::sync::Semaphore,
}

/// How long a login waits for a free password-check slot before "busy".
const PASSWORD_CHECK_WAIT_MS: u64 = 2_000;

/// A committed (or still pending) write.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TxReceipt {
    /// The transaction id (64 hex digits).
    pub tx_id: String,
    /// `committed`, or `pending` when the commit took longer than
    /// `api.commit_timeout_ms` (poll `GET /v1/transactions/{tx_id}`).
    pub status: String,
    /// Block height, when committed.
    pub height: Option<u64>,
}

impl ApiState {
    /// The state for `node`, loading the keystore from `api.keystore_dir`.
    pub fn new(node: NodeHandle) -> Result<ApiState, String> {
        let settings = node.config().api.clone();
        let club = ClubId::parse(&node.config().club)
            .ok_or_else(|| format!("club {:?} is not a club id", node.config().club))?;
        let keystore = keystore::Keystore::load(&settings.keystore_dir)?;
        Ok(ApiState {
            inner: Arc::new(ApiInner {
                club,
                keystore,
                sessions: auth::Sessions::new(
                    Duration::from_millis(settings.token_ttl_ms),
                    settings.sessions_max,
                ),
                challenges: auth::Challenges::new(
                    Duration::from_millis(settings.challenge_ttl_ms),
                    settings.challenges_max,
                ),
                limits: limits::RateLimits::new(&settings),
                imports: crate::service::import::Imports::new(settings.imports_kept_max),
                password_checks: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
                ),
                settings,
                node,
            }),
        })
    }

    /// Verifies a password against a PHC hash off the async workers, at
    /// most one check per core at a time (bounded memory and CPU under a
    /// flood of logins); 503 when no slot frees up in time.
    pub async fn verify_password_bounded(&self, password: String, hash: String) -> ApiResult<bool> {
        let wait = Duration::from_millis(PASSWORD_CHECK_WAIT_MS);
        let permit = tokio::time::timeout(wait, self.inner.password_checks.acquire())
            .await
            .map_err(|_| ApiError::unavailable("busy: too many logins at once; retry shortly"))?
            .map_err(|e| ApiError::internal(&e))?;
        let matches = tokio::task::spawn_blocking(move || {
            crate::records::staff::verify_password(&password, &hash)
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
        drop(permit);
        Ok(matches)
    }

    /// 403 unless the caller holds one of `roles`; spends its budget in the
    /// limiter of the first of them it holds.
    pub fn authorize_one_of(&self, caller: &Caller, roles: &[Role]) -> ApiResult<()> {
        match roles.iter().find(|r| caller.roles.contains(**r)) {
            Some(role) => self.authorize(caller, Some(*role)),
            None => Err(ApiError::forbidden(format!(
                "this endpoint needs one of the roles {}; {} has {}",
                roles.iter().map(|r| r.name()).collect::<Vec<_>>().join(", "),
                caller.principal,
                caller.role_names().join(", ")
            ))),
        }
    }

    /// The API's settings (`[api]` in node.toml).
    pub fn settings(&self) -> &ApiSettings {
        &self.inner.settings
    }

    /// This node's club.
    pub fn club(&self) -> &ClubId {
        &self.inner.club
    }

    /// The node.
    pub fn node(&self) -> &NodeHandle {
        &self.inner.node
    }

    /// The index database, or 503 while it is not connected.
    pub fn store(&self) -> ApiResult<IndexStore> {
        self.inner.node.index_store().ok_or_else(|| {
            if self.inner.node.config().index_url.is_none() {
                ApiError::unavailable(
                    "this node has no index_url: the REST API needs the SQL index",
                )
            } else {
                ApiError::unavailable("the index database is not connected yet; retry shortly")
            }
        })
    }

    /// The club's records (staff, member profiles, audit log), in the
    /// index's database.
    pub fn records(&self) -> ApiResult<crate::records::Records> {
        self.store().map(crate::records::Records::new)
    }

    /// Checks that `caller` holds `role` (any role when `None`) and spends
    /// one request of its rate budget.
    pub fn authorize(&self, caller: &Caller, role: Option<Role>) -> ApiResult<()> {
        let limiter_role = match role {
            Some(role) => {
                if !caller.roles.contains(role) {
                    return Err(ApiError::forbidden(format!(
                        "this endpoint needs the {} role; {} has {}",
                        role.name(),
                        caller.principal,
                        caller.role_names().join(", ")
                    )));
                }
                role
            }
            None => self
                .inner
                .limits
                .most_generous(caller.roles.iter())
                .expect("a caller has at least one role"),
        };
        self.inner.limits.check(limiter_role, &caller.principal)
    }

    /// 403 unless `club` is the caller's.
    pub fn own_club(&self, caller: &Caller, club: &ClubId, what: &str) -> ApiResult<()> {
        if &caller.club != club {
            return Err(ApiError::forbidden(format!(
                "{what} belongs to club {club}; {} acts for {}",
                caller.principal, caller.club
            )));
        }
        Ok(())
    }

    /// A page size within `api.page_size_max` (default 50).
    pub fn page_size(&self, requested: Option<u32>) -> ApiResult<u32> {
        let max = self.inner.settings.page_size_max;
        match requested {
            None => Ok(50.min(max)),
            Some(0) => Err(ApiError::bad_request("limit must be at least 1")),
            Some(n) if n > max => Err(ApiError::bad_request(format!(
                "limit must be at most {max} (api.page_size_max)"
            ))),
            Some(n) => Ok(n),
        }
    }

    /// Signs `body` with a keystore key of the caller's club holding `role`,
    /// submits it and waits for the commit; audits the outcome.
    pub async fn act(
        &self,
        caller: &Caller,
        role: Role,
        action: &str,
        target: Option<&str>,
        body: pb::tx_payload::Body,
    ) -> ApiResult<(StatusCode, TxReceipt)> {
        let key = self.signer(caller, role)?;
        let tx = reciprocity_sdk::tx::TxBuilder::new(self.inner.node.ledger().chain_id(), now_ms())
            .sign(&key, body);
        let tx_id = reciprocity_chaincode::tx_id(&tx.payload).to_hex();
        let (state, principal) = (self.clone(), caller.principal.clone());
        let (action, target) = (action.to_owned(), target.map(str::to_owned));
        // In its own task: a client that hangs up does not cancel the
        // audit entry of what it set in motion.
        tokio::spawn(async move {
            let result = state.submit(tx).await;
            let outcome = result.as_ref().map_or_else(|e| e.code.clone(), |_| "ok".to_owned());
            state.audit(&principal, &action, target.as_deref(), &outcome, Some(&tx_id)).await;
            result
        })
        .await
        .map_err(|e| ApiError::internal(&e))?
    }

    /// The keystore key that signs the caller's actions needing `role`.
    pub fn signer(&self, caller: &Caller, role: Role) -> ApiResult<reciprocity_sdk::keys::Keypair> {
        if caller.club != self.inner.club {
            return Err(ApiError::forbidden(format!(
                "this node signs for club {} only; {} acts for {}: submit a transaction signed by its own key (POST /v1/transactions)",
                self.inner.club, caller.principal, caller.club
            )));
        }
        let view = self.inner.node.ledger().state();
        let key = self.inner.keystore.signer_for(&view, &self.inner.club, role)?.ok_or_else(|| {
            ApiError::unavailable(format!(
                "the node's keystore holds no active {} key of club {}: enroll one and put it in api.keystore_dir",
                role.name(),
                self.inner.club
            ))
        })?;
        Ok(key.clone())
    }

    /// Submits a signed transaction and waits up to `api.commit_timeout_ms`;
    /// a transaction this node already holds or committed answers as such.
    /// One the ledger would refuse now is answered at once with its code
    /// and not submitted ([`NodeHandle::precheck`]).
    pub async fn submit(&self, tx: pb::SignedTx) -> ApiResult<(StatusCode, TxReceipt)> {
        let timeout = Duration::from_millis(self.inner.settings.commit_timeout_ms);
        let (tx_id, submitted) = self.inner.node.submit_checked(tx, timeout).await?;
        receipt(tx_id, submitted)
    }

    /// Appends to the audit log; a failure is logged with the entry (the
    /// action itself already happened).
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        outcome: &str,
        tx_id: Option<&str>,
    ) {
        let club = self.inner.club.to_string();
        let result = match self.records() {
            Ok(records) => {
                let entry = crate::records::audit::NewAuditEntry {
                    at_ms: now_ms(),
                    actor,
                    club_id: &club,
                    action,
                    target,
                    outcome,
                    tx_id,
                };
                records.audit_append(&entry).await
            }
            Err(_) => Err(crate::index::IndexError::Database("not connected".to_owned())),
        };
        if let Err(error) = result {
            tracing::error!(%error, actor, action, target, outcome, tx_id, "audit entry not written");
        }
    }
}

/// Whether a failed submission certainly left nothing on the ledger (a
/// refusal by rule, size or a full mempool); `unavailable` and internal
/// errors may hide a transaction that still commits.
pub fn certainly_not_committed(error: &ApiError) -> bool {
    !matches!(error.kind, ErrorKind::Unavailable | ErrorKind::Internal)
}

/// The next page's offset, when a full page came back (none on overflow).
pub fn next_offset(offset: u32, limit: u32, returned: usize) -> Option<u32> {
    (returned == limit as usize).then(|| offset.checked_add(limit)).flatten()
}

/// The answer to a submission that ended as `submitted`.
pub fn receipt(tx_id: TxId, submitted: Submitted) -> ApiResult<(StatusCode, TxReceipt)> {
    match submitted {
        Submitted::Committed(location) => {
            let code = reciprocity_chaincode::ValidationCode::from_number(location.code)
                .unwrap_or(reciprocity_chaincode::ValidationCode::MalformedPayload);
            if !code.is_ok() {
                return Err(ApiError::refused(
                    code,
                    &format!(
                        "transaction {tx_id} committed at height {} with this code",
                        location.height
                    ),
                ));
            }
            Ok((
                StatusCode::CREATED,
                TxReceipt {
                    tx_id: tx_id.to_hex(),
                    status: "committed".to_owned(),
                    height: Some(location.height),
                },
            ))
        }
        Submitted::Accepted | Submitted::TimedOut => Ok((
            StatusCode::ACCEPTED,
            TxReceipt { tx_id: tx_id.to_hex(), status: "pending".to_owned(), height: None },
        )),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Reciprocity node REST API", description = "Staff API of a club's node: members, visits, agreements, governance, ledger."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Logins and tokens"),
        (name = "members", description = "The club's members: profiles off-chain, records on-chain"),
        (name = "visits", description = "Front-desk checks and visits"),
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

/// The `/v1` routes, their body limits, and (through `split_for_parts`)
/// the OpenAPI document generated from their annotations.
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
async fn run_to_completion(
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
        .routes(routes!(members::import_members))
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
        .routes(routes!(members::import_progress))
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
        .routes(routes!(agreements::issue_introduction, agreements::list_introductions))
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
