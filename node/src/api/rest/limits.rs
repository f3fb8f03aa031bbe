//! Per-role rate limits (GCRA, via `governor`): each caller has its own
//! budget in the limiter of the role the endpoint needs (or its most
//! generous role for endpoints any role may call); logins have a budget per
//! username or key. Over budget → 429 with `Retry-After`.

use std::num::NonZeroU32;

use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use reciprocity_chaincode::Role;

use super::error::ApiError;
use crate::config::ApiSettings;

/// Above this many tracked callers, idle ones are forgotten.
const TRACKED_KEYS_MAX: usize = 10_000;

/// The limiters.
pub struct RateLimits {
    by_role: [(Role, u32, DefaultKeyedRateLimiter<String>); 4],
    logins: DefaultKeyedRateLimiter<String>,
    logins_per_ip: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").finish_non_exhaustive()
    }
}

fn per_second(rate: u32) -> Quota {
    let rate = NonZeroU32::new(rate.max(1)).expect("rate is at least 1");
    let burst = NonZeroU32::new(rate.get().saturating_mul(2)).expect("burst is at least 2");
    Quota::per_second(rate).allow_burst(burst)
}

impl RateLimits {
    /// Limiters with the settings' budgets.
    pub fn new(settings: &ApiSettings) -> RateLimits {
        let make = |role, rate| (role, rate, RateLimiter::keyed(per_second(rate)));
        let logins = NonZeroU32::new(settings.logins_per_minute.max(1)).expect("at least 1");
        RateLimits {
            by_role: [
                make(Role::Admin, settings.admin_requests_per_s),
                make(Role::Registrar, settings.registrar_requests_per_s),
                make(Role::FrontDesk, settings.front_desk_requests_per_s),
                make(Role::Governor, settings.governor_requests_per_s),
            ],
            logins: RateLimiter::keyed(Quota::per_minute(logins)),
            logins_per_ip: RateLimiter::keyed(Quota::per_minute(
                logins.saturating_mul(NonZeroU32::new(10).expect("10 is not 0")),
            )),
            clock: DefaultClock::default(),
        }
    }

    fn refuse(&self, not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
        let wait = not_until.wait_time_from(self.clock.now());
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError {
            retry_after_s: Some(seconds.max(1)),
            kind: super::error::ErrorKind::Busy,
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; retry in {} ms", wait.as_millis().max(1)),
            )
        }
    }

    /// Spends one request of `principal` in the limiter of `role`.
    pub fn check(&self, role: Role, principal: &str) -> Result<(), ApiError> {
        let (_, _, limiter) =
            self.by_role.iter().find(|(r, _, _)| *r == role).expect("a limiter per role");
        if limiter.len() > TRACKED_KEYS_MAX {
            limiter.retain_recent();
        }
        limiter.check_key(&principal.to_owned()).map_err(|n| self.refuse(&n))
    }

    /// The role among `roles` with the most generous budget.
    pub fn most_generous(&self, roles: impl Iterator<Item = Role>) -> Option<Role> {
        roles.max_by_key(|role| {
            self.by_role.iter().find(|(r, _, _)| r == role).map_or(0, |(_, rate, _)| *rate)
        })
    }

    /// Spends one login attempt of `name` from `ip`: budgets per (address,
    /// name), so that nobody locks another address out of an account, and
    /// per address, ten times larger, for attempts over many names.
    pub fn check_login(&self, ip: &str, name: &str) -> Result<(), ApiError> {
        for limiter in [&self.logins, &self.logins_per_ip] {
            if limiter.len() > TRACKED_KEYS_MAX {
                limiter.retain_recent();
            }
        }
        self.logins_per_ip.check_key(&ip.to_owned()).map_err(|n| self.refuse(&n))?;
        self.logins.check_key(&format!("{ip}|{name}")).map_err(|n| self.refuse(&n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_over_its_role_budget_is_told_when_to_retry() {
        let settings = ApiSettings { governor_requests_per_s: 1, ..ApiSettings::default() };
        let limits = RateLimits::new(&settings);
        // Burst of twice the rate, then refused.
        limits.check(Role::Governor, "staff:g").unwrap();
        limits.check(Role::Governor, "staff:g").unwrap();
        let refused = limits.check(Role::Governor, "staff:g").unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after_s, Some(1));
        // Another caller has its own budget.
        limits.check(Role::Governor, "staff:h").unwrap();
    }

    #[test]
    fn login_budgets_are_per_address_and_name() {
        let settings = ApiSettings { logins_per_minute: 1, ..ApiSettings::default() };
        let limits = RateLimits::new(&settings);
        limits.check_login("10.0.0.1", "staff:admin").unwrap();
        let refused = limits.check_login("10.0.0.1", "staff:admin").unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        // Another address is not locked out of the same account.
        limits.check_login("10.0.0.2", "staff:admin").unwrap();
        // One address trying many names runs out too.
        let tried =
            (0..20).filter(|i| limits.check_login("10.0.0.3", &format!("staff:u{i}")).is_ok());
        assert_eq!(tried.count(), 10);
    }

    #[test]
    fn endpoints_open_to_any_role_use_the_most_generous_budget() {
        let limits = RateLimits::new(&ApiSettings::default());
        let role = limits.most_generous([Role::Admin, Role::FrontDesk].into_iter());
        assert_eq!(role, Some(Role::FrontDesk));
    }
}
