//! Authorization is structural: a handler names the roles it serves in its
//! signature, `Require<Registrar>`, and the extractor authenticates the
//! bearer token, checks the roles and spends one request of the caller's
//! rate budget before the handler runs. [`Caller`] is not an extractor, so a
//! handler without a declared rule does not compile. Each rule's roles are
//! also the scopes of the operation's `bearer` security requirement in the
//! OpenAPI document, and a test walks the document to prove a 403 for every
//! other role on every route.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use reciprocity_chaincode::Role;

use super::ApiState;
use super::auth::{Caller, authenticate};
use super::error::ApiError;

/// Which roles may call an endpoint (none listed: any role).
pub trait RoleRule: Send + Sync + 'static {
    /// The roles, any one of which suffices.
    const ROLES: &'static [Role];
}

macro_rules! role_rule {
    ($(#[$doc:meta])* $name:ident => [$($role:ident),*]) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl RoleRule for $name {
            const ROLES: &'static [Role] = &[$(Role::$role),*];
        }
    };
}

role_rule!(
    /// The club's admins (staff, agreements).
    Admin => [Admin]
);
role_rule!(
    /// The club's registrars (members).
    Registrar => [Registrar]
);
role_rule!(
    /// Registrars and admins (members' personal data).
    RegistrarOrAdmin => [Registrar, Admin]
);
role_rule!(
    /// The front desk (visits).
    FrontDesk => [FrontDesk]
);
role_rule!(
    /// The club's governors (votes, proposals).
    Governor => [Governor]
);
role_rule!(
    /// Any role of the club (reading what the club may see).
    AnyRole => []
);

/// A caller allowed by rule `R`, its rate budget spent.
pub struct Require<R> {
    caller: Caller,
    rule: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Require<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Require").field(&self.caller.principal).finish()
    }
}

impl<R> std::ops::Deref for Require<R> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<R: RoleRule> FromRequestParts<ApiState> for Require<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let caller = authenticate(parts, state)?;
        if R::ROLES.is_empty() {
            state.authorize(&caller, None)?;
        } else {
            state.authorize_one_of(&caller, R::ROLES)?;
        }
        Ok(Require { caller, rule: PhantomData })
    }
}
