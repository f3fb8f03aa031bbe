//! Web sessions of the staff web app ([`crate::api::web`]): who is signed
//! in, until when, and the CSRF token their forms carry. Kept here, beside
//! the bearer tokens, because [`super::ApiState`] owns both and a disabled
//! account ends both ([`super::ApiState::end_sessions_of`]).
//!
//! - A session is found by its cookie value, 32 random bytes; the node
//!   keeps only their SHA-256, with the caller, the CSRF token, when the
//!   session started and when it was last used.
//! - It lasts a shift (`web.session_shift_ms` from sign-in) and ends sooner
//!   when unused for `web.session_idle_ms`. Sessions live in memory: a
//!   restarted node signs everyone out, as it does REST tokens.
//! - At most `web.sessions_max` live at once (expired ones are dropped to
//!   make room; past that, sign-in answers "busy"), and at most
//!   [`SESSIONS_PER_PERSON_MAX`] per person: a person's next sign-in ends
//!   their least recently used one, so no single account can fill the
//!   table.
//! - Each session remembers a fingerprint of the account it was opened for
//!   (its password hash), so that a password changed anywhere ends it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::auth::Caller;

/// Most sign-ins of one person at once (desks, tablets, a phone).
pub const SESSIONS_PER_PERSON_MAX: usize = 8;

/// A live session as a request sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// Who is signed in.
    pub caller: Caller,
    /// The token the session's forms carry.
    pub csrf: String,
    /// When the shift ends, in ms from now (the page shows it).
    pub shift_left_ms: u64,
    /// The account's fingerprint when the session was opened.
    pub account: [u8; 32],
}

struct Session {
    caller: Caller,
    account: [u8; 32],
    csrf: String,
    ends_at: Instant,
    last_used: Instant,
}

/// The live web sessions of this node.
pub struct WebSessions {
    live: Mutex<HashMap<[u8; 32], Session>>,
    shift: Duration,
    idle: Duration,
    max: usize,
}

impl std::fmt::Debug for WebSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSessions")
            .field("shift", &self.shift)
            .field("idle", &self.idle)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// `web.sessions_max` sessions are live.
    #[error("busy: web.sessions_max = {0} sessions are signed in; try again later")]
    Full(usize),
    /// The system's random source failed.
    #[error("no randomness for a session id: {0}")]
    Random(String),
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// 32 random bytes as 64 hex digits.
pub fn random_token() -> Result<String, OpenError> {
    reciprocity_sdk::random_bytes::<32>()
        .map(hex::encode)
        .map_err(|e| OpenError::Random(e.to_string()))
}

/// Whether two tokens are equal, in time that does not depend on where
/// they differ.
pub fn tokens_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl WebSessions {
    /// Sessions lasting `shift` at most, ending after `idle` unused, at most
    /// `max` at once.
    pub fn new(shift: Duration, idle: Duration, max: usize) -> WebSessions {
        WebSessions { live: Mutex::new(HashMap::new()), shift, idle, max }
    }

    /// Opens a session for `caller`, whose account has fingerprint
    /// `account`: the cookie value and the CSRF token.
    pub fn open(&self, caller: Caller, account: [u8; 32]) -> Result<(String, String), OpenError> {
        let id = random_token()?;
        let csrf = random_token()?;
        let now = Instant::now();
        let mut live = self.live.lock().expect("web sessions lock");
        let own: Vec<([u8; 32], Instant)> = live
            .iter()
            .filter(|(_, s)| s.caller.principal == caller.principal)
            .map(|(key, s)| (*key, s.last_used))
            .collect();
        if own.len() >= SESSIONS_PER_PERSON_MAX
            && let Some((oldest, _)) = own.iter().min_by_key(|(_, used)| *used)
        {
            live.remove(oldest);
        }
        if live.len() >= self.max {
            live.retain(|_, s| s.ends_at > now && now.duration_since(s.last_used) < self.idle);
        }
        if live.len() >= self.max {
            return Err(OpenError::Full(self.max));
        }
        let session = Session {
            caller,
            account,
            csrf: csrf.clone(),
            ends_at: now + self.shift,
            last_used: now,
        };
        live.insert(digest(&id), session);
        Ok((id, csrf))
    }

    /// The live session behind cookie value `id`, marked as used now; an
    /// expired or idle one is ended.
    pub fn touch(&self, id: &str) -> Option<SessionView> {
        let key = digest(id);
        let now = Instant::now();
        let mut live = self.live.lock().expect("web sessions lock");
        let session = live.get_mut(&key)?;
        if session.ends_at <= now || now.duration_since(session.last_used) >= self.idle {
            live.remove(&key);
            return None;
        }
        session.last_used = now;
        let shift_left_ms =
            u64::try_from(session.ends_at.duration_since(now).as_millis()).unwrap_or(u64::MAX);
        Some(SessionView {
            caller: session.caller.clone(),
            csrf: session.csrf.clone(),
            shift_left_ms,
            account: session.account,
        })
    }

    /// Ends the session behind cookie value `id` (sign-out).
    pub fn close(&self, id: &str) {
        self.live.lock().expect("web sessions lock").remove(&digest(id));
    }

    /// Ends every session of `principal` (a disabled or changed account).
    pub fn close_all_of(&self, principal: &str) {
        self.live.lock().expect("web sessions lock").retain(|_, s| s.caller.principal != principal);
    }

    /// Sessions live now (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.live.lock().expect("web sessions lock").len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use reciprocity_chaincode::{ClubId, Role, Roles};

    use super::*;

    fn caller(name: &str) -> Caller {
        Caller {
            principal: format!("staff:{name}"),
            club: ClubId::parse("harbour").expect("club id"),
            roles: Roles::from_roles(&[Role::FrontDesk]).expect("roles"),
            key: None,
        }
    }

    impl WebSessions {
        fn open_as(&self, caller: Caller) -> Result<(String, String), OpenError> {
            self.open(caller, [7; 32])
        }
    }

    #[test]
    fn one_person_signing_in_again_and_again_ends_their_own_oldest_session() {
        let web = sessions(60_000, 60_000, 100);
        let first = web.open_as(caller("desk")).expect("opens").0;
        for _ in 0..SESSIONS_PER_PERSON_MAX {
            web.open_as(caller("desk")).expect("opens");
        }
        assert!(web.touch(&first).is_none(), "the oldest went");
        assert_eq!(web.len(), SESSIONS_PER_PERSON_MAX);
        web.open_as(caller("other")).expect("another person is not refused");
    }

    fn sessions(shift_ms: u64, idle_ms: u64, max: usize) -> WebSessions {
        WebSessions::new(Duration::from_millis(shift_ms), Duration::from_millis(idle_ms), max)
    }

    #[test]
    fn an_open_session_is_found_by_its_cookie_with_its_csrf_token() {
        let web = sessions(60_000, 60_000, 10);
        let (id, csrf) = web.open_as(caller("desk")).expect("opens");
        let view = web.touch(&id).expect("live");
        assert_eq!(view.caller.principal, "staff:desk");
        assert_eq!(view.csrf, csrf);
        assert_ne!(id, csrf);
        assert!(web.touch(&format!("{id}0")).is_none());
    }

    #[test]
    fn a_session_ends_after_its_shift_or_when_idle() {
        let web = sessions(0, 60_000, 10);
        let (id, _) = web.open_as(caller("desk")).expect("opens");
        assert!(web.touch(&id).is_none(), "shift over");
        let web = sessions(60_000, 0, 10);
        let (id, _) = web.open_as(caller("desk")).expect("opens");
        assert!(web.touch(&id).is_none(), "idle");
        assert!(web.is_empty(), "ended sessions are dropped");
    }

    #[test]
    fn closing_ends_one_session_and_closing_a_principal_ends_all_of_its() {
        let web = sessions(60_000, 60_000, 10);
        let (a, _) = web.open_as(caller("desk")).expect("opens");
        let (b, _) = web.open_as(caller("desk")).expect("opens");
        let (c, _) = web.open_as(caller("other")).expect("opens");
        web.close(&a);
        assert!(web.touch(&a).is_none());
        assert!(web.touch(&b).is_some());
        web.close_all_of("staff:desk");
        assert!(web.touch(&b).is_none());
        assert!(web.touch(&c).is_some());
    }

    #[test]
    fn sign_in_beyond_the_bound_is_refused_once_no_session_has_expired() {
        let web = sessions(60_000, 60_000, 2);
        web.open_as(caller("a")).expect("opens");
        web.open_as(caller("b")).expect("opens");
        assert!(matches!(web.open_as(caller("c")), Err(OpenError::Full(2))));
        let web = sessions(0, 60_000, 1);
        web.open_as(caller("a")).expect("opens");
        web.open_as(caller("b")).expect("an expired session makes room");
    }

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
    }
}
