//! The club's own records of truth, kept by this node only: staff
//! accounts, member profiles (the personal data that never enters a
//! transaction) and the audit log.
//!
//! They live in the same database as the SQL index, but they are not derived
//! from the ledger: `recip index rebuild` empties the projection tables and
//! leaves these alone, and a backup of a club's node must hold them (the
//! ledger can be fetched again from peers; these cannot).
//!
//! - [`staff`]: staff accounts, their roles and passwords (Argon2id).
//! - [`profiles`]: member profiles and the search over them.
//! - [`audit`]: the audit log of what staff and keys did through the APIs.
//!
//! Calls the database through [`crate::index::IndexStore`]'s pool; never the
//! APIs. Used by the REST API, the CLI (`recip staff`, `recip devnet`) and
//! the member services ([`crate::service::import`], [`crate::service::sweeper`]).

pub mod audit;
pub mod profiles;
pub mod staff;

use crate::index::IndexStore;

/// What went wrong with the club's records.
pub type RecordsError = crate::index::IndexError;

/// Result alias of the records.
pub type Result<T, E = RecordsError> = std::result::Result<T, E>;

/// The club's records, in the node's database.
#[derive(Debug, Clone)]
pub struct Records {
    store: IndexStore,
}

impl Records {
    /// The records kept in `store`'s database.
    pub fn new(store: IndexStore) -> Records {
        Records { store }
    }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(db)`
pub(crate) fn db(error: sqlx::Error) -> RecordsError {
    match error {
        // Only a uniqueness conflict is the caller's doing; locks, deadlocks
        // and timeouts are the database's and worth a retry.
        sqlx::Error::Database(refusal) if refusal.is_unique_violation() => {
            RecordsError::Refused(refusal.to_string())
        }
        other => RecordsError::Database(other.to_string()),
    }
}

pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
