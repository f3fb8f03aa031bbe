//! The staff REST API under `/v1` (axum, JSON, OpenAPI at `/openapi.json`).
//!
//! - [`auth`]: password and identity-key logins, bearer tokens, the
//!   [`auth::Caller`] extractor; [`limits`]: per-role rate limits;
//!   [`web_sessions`]: the web app's sign-ins, which `ApiState` keeps
//!   beside the tokens (the web app, [`super::web`], shares this state).
//! - [`keystore`]: the club's identity keys the node signs staff actions with.
//! - [`error`] and [`extract`]: one JSON error type; extractors that answer
//!   bad input with it.
//! - `routes`: the router mounting every handler, the bounds around `/v1`
//!   (requests in flight, timeout, run to completion) and the OpenAPI
//!   document with the answers every operation can give.
//! - [`require`]: the authorization rule each handler names.
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
pub mod cards;
pub mod error;
pub mod extract;
pub mod governance;
pub mod keystore;
pub mod ledger;
pub mod limits;
pub mod members;
pub mod require;
mod routes;
pub mod staff;
pub mod visits;
pub mod web_sessions;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use reciprocity_chaincode::{ClubId, Role, TxId};
use reciprocity_proto::v1 as pb;
use serde::Serialize;

use self::auth::Caller;
use self::error::{ApiError, ApiResult, ErrorKind};
use crate::clock::now_ms;
use crate::config::ApiSettings;
use crate::index::IndexStore;
use crate::service::node::NodeHandle;
use crate::service::submit::Submitted;

pub(crate) use routes::run_to_completion;
pub use routes::{add_standard_responses, openapi_document, router};

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
    card_keys: crate::cards::keyring::CardKeyring,
    sessions: auth::Sessions,
    web_sessions: web_sessions::WebSessions,
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
        let card_keys = crate::cards::keyring::CardKeyring::load(&settings.card_keys_dir)?;
        let web = node.config().web.clone();
        Ok(ApiState {
            inner: Arc::new(ApiInner {
                club,
                keystore,
                card_keys,
                sessions: auth::Sessions::new(
                    Duration::from_millis(settings.token_ttl_ms),
                    settings.sessions_max,
                ),
                web_sessions: web_sessions::WebSessions::new(
                    Duration::from_millis(web.session_shift_ms),
                    Duration::from_millis(web.session_idle_ms),
                    web.sessions_max,
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

    /// The club's card-issuing keys held by this node.
    pub fn card_keys(&self) -> &crate::cards::keyring::CardKeyring {
        &self.inner.card_keys
    }

    /// The web app's sign-ins.
    pub fn web_sessions(&self) -> &web_sessions::WebSessions {
        &self.inner.web_sessions
    }

    /// Ends every bearer token and web sign-in of `principal` (an account
    /// disabled, or its roles or password changed).
    pub fn end_sessions_of(&self, principal: &str) {
        self.inner.sessions.close_all_of(principal);
        self.inner.web_sessions.close_all_of(principal);
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
