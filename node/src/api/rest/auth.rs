//! Authentication and authorization of the REST API.
//!
//! - Staff accounts log in with a password (`POST /v1/auth/login`; Argon2id
//!   hashes in the index database) and get a short-lived bearer token.
//! - CLI and SDK users log in with an identity key: `POST /v1/auth/challenge`
//!   hands out a random challenge, `POST /v1/auth/key-login` takes its
//!   Ed25519 signature (see `reciprocity_sdk::auth`). The token carries the
//!   identity's on-chain club and roles, re-checked on every request.
//! - Tokens live in memory (hashed), expire after `api.token_ttl_ms`, and
//!   die with the process: a restart means logging in again.
//! - Every handler names the roles it serves in its signature
//!   (`Require<Registrar>`, [`super::require`]): the extractor checks them
//!   and spends the caller's rate budget; [`Caller`] itself is not an
//!   extractor, so a handler cannot forget.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use reciprocity_chaincode::{ClubId, PublicKey, Roles};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ApiState;
use super::error::{ApiError, ApiResult, ErrorBody, quote};
use super::extract::ApiJson;
use super::require::{AnyRole, Require};
use crate::records::staff::hash_password;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `staff:<username>` or `key:<public key hex>`.
    pub principal: String,
    /// The club it acts for.
    pub club: ClubId,
    /// What it may do.
    pub roles: Roles,
    /// The identity key of a key login.
    pub key: Option<PublicKey>,
}

impl Caller {
    /// Role names, e.g. `["registrar", "front_desk"]`.
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.name().to_owned()).collect()
    }
}

fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

struct Session {
    caller: Caller,
    expires_at: Instant,
}

/// Live bearer tokens, by SHA-256 of the token.
pub struct Sessions {
    live: Mutex<HashMap<[u8; 32], Session>>,
    ttl: Duration,
    max: usize,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("ttl", &self.ttl).field("max", &self.max).finish()
    }
}

impl Sessions {
    /// Tokens living `ttl`, at most `max` at once.
    pub fn new(ttl: Duration, max: usize) -> Sessions {
        Sessions { live: Mutex::new(HashMap::new()), ttl, max }
    }

    /// A new token for `caller`.
    pub fn open(&self, caller: Caller) -> ApiResult<String> {
        let bytes = reciprocity_sdk::random_bytes::<32>().map_err(|e| ApiError::internal(&e))?;
        let token = format!("rcp_{}", hex::encode(bytes));
        let now = Instant::now();
        let mut live = self.live.lock().expect("sessions lock");
        if live.len() >= self.max {
            live.retain(|_, s| s.expires_at > now);
        }
        if live.len() >= self.max {
            return Err(ApiError::unavailable(format!(
                "busy: api.sessions_max = {} tokens are live; retry later",
                self.max
            )));
        }
        live.insert(token_digest(&token), Session { caller, expires_at: now + self.ttl });
        Ok(token)
    }

    /// The caller of a live token.
    pub fn caller(&self, token: &str) -> Option<Caller> {
        let digest = token_digest(token);
        let mut live = self.live.lock().expect("sessions lock");
        match live.get(&digest) {
            Some(session) if session.expires_at > Instant::now() => Some(session.caller.clone()),
            Some(_) => {
                live.remove(&digest);
                None
            }
            None => None,
        }
    }

    /// Ends a token.
    pub fn close(&self, token: &str) {
        self.live.lock().expect("sessions lock").remove(&token_digest(token));
    }

    /// Ends every token of `principal` (a disabled or changed account).
    pub fn close_all_of(&self, principal: &str) {
        self.live.lock().expect("sessions lock").retain(|_, s| s.caller.principal != principal);
    }

    /// Token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// Outstanding key-login challenges.
pub struct Challenges {
    open: Mutex<HashMap<[u8; 32], (PublicKey, Instant)>>,
    ttl: Duration,
    max: usize,
}

impl std::fmt::Debug for Challenges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenges").field("ttl", &self.ttl).finish()
    }
}

impl Challenges {
    /// Challenges living `ttl`, at most `max` outstanding.
    pub fn new(ttl: Duration, max: usize) -> Challenges {
        Challenges { open: Mutex::new(HashMap::new()), ttl, max }
    }

    fn issue(&self, key: PublicKey) -> ApiResult<[u8; 32]> {
        let challenge =
            reciprocity_sdk::random_bytes::<32>().map_err(|e| ApiError::internal(&e))?;
        let now = Instant::now();
        let mut open = self.open.lock().expect("challenges lock");
        if open.len() >= self.max {
            open.retain(|_, (_, expires)| *expires > now);
        }
        if open.len() >= self.max {
            return Err(ApiError::unavailable(
                "busy: too many outstanding challenges; retry later",
            ));
        }
        open.insert(challenge, (key, now + self.ttl));
        Ok(challenge)
    }

    /// Takes (once) a challenge issued to `key` and not expired.
    fn redeem(&self, challenge: &[u8; 32], key: &PublicKey) -> bool {
        let mut open = self.open.lock().expect("challenges lock");
        match open.remove(challenge) {
            Some((issued_to, expires)) => &issued_to == key && expires > Instant::now(),
            None => false,
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The caller behind the request's bearer token (401 without a valid one).
/// Handlers get it through [`super::require::Require`], which also checks
/// its roles.
pub(super) fn authenticate(parts: &Parts, state: &ApiState) -> ApiResult<Caller> {
    let Some(token) = bearer(parts) else {
        return Err(ApiError::unauthorized(
            "this endpoint needs `Authorization: Bearer <token>` (POST /v1/auth/login)",
        ));
    };
    let caller =
        state.inner.sessions.caller(token).ok_or_else(|| {
            ApiError::unauthorized("the token is unknown or expired; log in again")
        })?;
    // A key login stands only while the ledger keeps the identity
    // active, and acts with the roles the ledger gives it now.
    let mut caller = caller;
    if let Some(key) = &caller.key {
        let view = state.inner.node.ledger().state();
        match reciprocity_chaincode::query::identity(&view, key)? {
            Some(identity) if identity.is_active() && identity.club_id == caller.club => {
                caller.roles = identity.roles;
            }
            _ => {
                state.inner.sessions.close(token);
                return Err(ApiError::unauthorized(
                    "the identity behind this token is no longer active",
                ));
            }
        }
    }
    Ok(caller)
}

/// Password login.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Staff username.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A bearer token and what it may do.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in_s: u64,
    /// `staff:<username>` or `key:<public key>`.
    pub principal: String,
    /// The club it acts for.
    pub club: String,
    /// Its roles.
    pub roles: Vec<String>,
}

fn token_response(state: &ApiState, caller: Caller) -> ApiResult<TokenResponse> {
    let principal = caller.principal.clone();
    let club = caller.club.to_string();
    let roles = caller.role_names();
    let token = state.inner.sessions.open(caller)?;
    Ok(TokenResponse {
        token,
        token_type: "Bearer".to_owned(),
        expires_in_s: state.inner.sessions.ttl().as_secs(),
        principal,
        club,
        roles,
    })
}

/// The caller's address (for login budgets), or `unknown` when the server
/// runs without connection info.
#[derive(Debug, Clone)]
pub struct PeerIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string());
        Ok(PeerIp(ip))
    }
}

/// A dummy hash verified for unknown usernames, so that timing does not
/// tell which usernames exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password, only for timing").unwrap_or_default())
}

/// Checks a staff member's username and password (within the login
/// budgets, one password check per core, the same time for unknown names)
/// and audits a refusal: the caller a token or web session acts as. The
/// caller audits the success once its token or session is open. Shared by
/// `POST /v1/auth/login` and the web app's sign-in.
pub async fn password_login(
    state: &ApiState,
    ip: &str,
    username: &str,
    password: String,
) -> ApiResult<Caller> {
    // Checked before anything logs or audits the name (a password typed
    // into the username field must not reach the logs).
    if crate::records::staff::check_username(username).is_err() {
        return Err(ApiError::unauthorized(
            "wrong username or password, or the account is disabled",
        ));
    }
    if password.len() > 1024 {
        return Err(ApiError::bad_request("password is too long"));
    }
    state.inner.limits.check_login(ip, &format!("staff:{username}"))?;
    let records = state.records()?;
    let account = records.staff_get(username).await?;
    let hash =
        account.as_ref().map_or_else(|| dummy_hash().to_owned(), |a| a.password_hash.clone());
    let matches = state.verify_password_bounded(password, hash).await?;
    let principal = format!("staff:{username}");
    let account = match account {
        Some(account) if matches && !account.disabled => account,
        _ => {
            tracing::info!(%principal, "login refused");
            state.audit(&principal, "auth.login", None, "unauthorized", None).await;
            return Err(ApiError::unauthorized(
                "wrong username or password, or the account is disabled",
            ));
        }
    };
    let roles = account
        .role_set()
        .map_err(|e| ApiError::internal(&format!("stored roles of {principal}: {e}")))?;
    Ok(Caller { principal, club: state.club().clone(), roles, key: None })
}

/// Logs a staff member in with username and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody)))]
pub async fn login(
    State(state): State<ApiState>,
    PeerIp(ip): PeerIp,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<axum::Json<TokenResponse>> {
    let caller = password_login(&state, &ip, &request.username, request.password).await?;
    let principal = caller.principal.clone();
    let response = token_response(&state, caller)?;
    state.audit(&principal, "auth.login", None, "ok", None).await;
    Ok(axum::Json(response))
}

/// Asks for a key-login challenge.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// The identity's public key (64 hex digits).
    pub public_key: String,
}

/// A challenge to sign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChallengeResponse {
    /// 64 hex digits; sign `reciprocity/auth/v1\n<chain id>\n<challenge hex>`.
    pub challenge: String,
    /// The chain id that goes into the signed message.
    pub chain_id: String,
    /// Seconds it stays valid.
    pub expires_in_s: u64,
}

fn parse_key(text: &str) -> ApiResult<PublicKey> {
    PublicKey::from_hex(text).ok_or_else(|| {
        ApiError::bad_request(format!("public_key {} is not 64 hex digits", quote(text)))
    })
}

/// Starts a key login.
#[utoipa::path(post, path = "/v1/auth/challenge", tag = "auth", request_body = ChallengeRequest,
    responses(
        (status = 200, description = "Challenge issued", body = ChallengeResponse),
        (status = 400, description = "Malformed key", body = ErrorBody)))]
pub async fn challenge(
    State(state): State<ApiState>,
    PeerIp(ip): PeerIp,
    ApiJson(request): ApiJson<ChallengeRequest>,
) -> ApiResult<axum::Json<ChallengeResponse>> {
    let key = parse_key(&request.public_key)?;
    state.inner.limits.check_login(&ip, &format!("key:{key}"))?;
    // Challenges only for keys that could log in: the table stays small.
    let active = {
        let view = state.inner.node.ledger().state();
        reciprocity_chaincode::query::identity(&view, &key)?.is_some_and(|i| i.is_active())
    };
    if !active {
        return Err(ApiError::unauthorized("the key is not an active identity on the ledger"));
    }
    let challenge = state.inner.challenges.issue(key)?;
    Ok(axum::Json(ChallengeResponse {
        challenge: hex::encode(challenge),
        chain_id: state.inner.node.ledger().chain_id().to_owned(),
        expires_in_s: state.inner.challenges.ttl.as_secs(),
    }))
}

/// Completes a key login.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyLoginRequest {
    /// The identity's public key (64 hex digits).
    pub public_key: String,
    /// The challenge (64 hex digits).
    pub challenge: String,
    /// Ed25519 signature of the challenge message (128 hex digits).
    pub signature: String,
}

/// Logs an identity in by its signature of a challenge.
#[utoipa::path(post, path = "/v1/auth/key-login", tag = "auth", request_body = KeyLoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Bad signature, unknown challenge or inactive identity", body = ErrorBody)))]
pub async fn key_login(
    State(state): State<ApiState>,
    PeerIp(ip): PeerIp,
    ApiJson(request): ApiJson<KeyLoginRequest>,
) -> ApiResult<axum::Json<TokenResponse>> {
    let key = parse_key(&request.public_key)?;
    let challenge: [u8; 32] = hex::decode(&request.challenge)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("challenge is not 64 hex digits"))?;
    let signature: [u8; 64] = hex::decode(&request.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("signature is not 128 hex digits"))?;
    let principal = format!("key:{key}");
    state.inner.limits.check_login(&ip, &principal)?;
    let chain_id = state.inner.node.ledger().chain_id().to_owned();
    let message = reciprocity_sdk::auth::challenge_message(&chain_id, &challenge);
    let signed = reciprocity_sdk::auth::verify(&key, &message, &signature);
    if !state.inner.challenges.redeem(&challenge, &key) || !signed {
        state.audit(&principal, "auth.key_login", None, "unauthorized", None).await;
        return Err(ApiError::unauthorized(
            "the challenge is unknown, expired or not signed by this key",
        ));
    }
    let view = state.inner.node.ledger().state();
    let identity = reciprocity_chaincode::query::identity(&view, &key)?
        .filter(reciprocity_chaincode::Identity::is_active)
        .ok_or_else(|| ApiError::unauthorized("the key is not an active identity on the ledger"))?;
    let caller = Caller {
        principal: principal.clone(),
        club: identity.club_id,
        roles: identity.roles,
        key: Some(key),
    };
    let response = token_response(&state, caller)?;
    state.audit(&principal, "auth.key_login", None, "ok", None).await;
    Ok(axum::Json(response))
}

/// Ends the caller's token.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No valid token", body = ErrorBody)))]
pub async fn logout(
    _caller: Require<AnyRole>,
    State(state): State<ApiState>,
    parts: axum::http::HeaderMap,
) -> impl IntoResponse {
    if let Some(token) = parts
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim())
    {
        state.inner.sessions.close(token);
    }
    StatusCode::NO_CONTENT
}

/// The caller as the API sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    /// `staff:<username>` or `key:<public key>`.
    pub principal: String,
    /// The club it acts for.
    pub club: String,
    /// Its roles.
    pub roles: Vec<String>,
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 401, description = "No valid token", body = ErrorBody)))]
pub async fn me(
    caller: Require<AnyRole>,
    State(_state): State<ApiState>,
) -> ApiResult<axum::Json<MeResponse>> {
    Ok(axum::Json(MeResponse {
        principal: caller.principal.clone(),
        club: caller.club.to_string(),
        roles: caller.role_names(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_and_closed_tokens_name_no_caller() {
        let caller = Caller {
            principal: "staff:a".into(),
            club: ClubId::parse("alpha").unwrap(),
            roles: Roles::all(),
            key: None,
        };
        let sessions = Sessions::new(Duration::from_secs(60), 2);
        let token = sessions.open(caller.clone()).unwrap();
        assert_eq!(sessions.caller(&token), Some(caller.clone()));
        sessions.close(&token);
        assert_eq!(sessions.caller(&token), None);
        let short = Sessions::new(Duration::ZERO, 2);
        let token = short.open(caller).unwrap();
        assert_eq!(short.caller(&token), None);
    }
}
