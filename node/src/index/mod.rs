//! The off-chain SQL index: a projection of committed blocks into
//! PostgreSQL (production) or SQLite (the embedded default).
//!
//! - [`projection`]: block → SQL statements, pure (no database).
//! - [`store`]: the pool, migrations (`migrations/<backend>/`), and writing a
//!   batch of blocks with the checkpoint in one SQL transaction — exactly
//!   once, resumable after a crash.
//! - [`follower`]: the task that keeps the index up to the ledger, retrying
//!   with backoff while the database is down, and the full rebuild.
//!
//! - [`read`]: the listings the REST API serves from the projection.
//!
//! The index is derived data: ordering and the front-desk checks never wait
//! for it, and it can be dropped and rebuilt from the ledger at any time.
//! The club's own records (staff accounts, member profiles, the audit log)
//! share its database but are not derived: they live in [`crate::records`],
//! and a rebuild leaves them alone.

pub mod follower;
pub mod projection;
pub mod read;
pub mod store;

pub use store::IndexStore;

/// What can go wrong in the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The database is unreachable or failed (worth retrying).
    #[error("index database: {0}")]
    Database(String),
    /// The database refused a statement (a constraint or schema problem:
    /// retrying the same block fails the same way).
    #[error("index database refused a statement: {0}")]
    Refused(String),
    /// `index_url` is neither `sqlite://…` nor `postgres://…`.
    #[error("index_url {0:?} is neither sqlite://PATH nor postgres://…")]
    Url(String),
    /// A block could not be turned into rows (corrupt event).
    #[error("cannot project: {0}")]
    Projection(String),
    /// Blocks were offered past the checkpoint with a hole.
    #[error("index checkpoint is {checkpoint}; block {next} would leave a gap")]
    Gap {
        /// The last projected height.
        checkpoint: u64,
        /// The height offered.
        next: u64,
    },
    /// The ledger could not be read.
    #[error("ledger: {0}")]
    Ledger(String),
}

impl IndexError {
    /// Whether retrying the same block cannot succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, IndexError::Refused(_) | IndexError::Projection(_) | IndexError::Gap { .. })
    }
}

/// How far the index got, shared with status, `/readyz` and metrics.
#[derive(Debug, Default)]
pub struct IndexProgress {
    /// The checkpoint: the last projected height.
    pub projected_height: std::sync::atomic::AtomicU64,
    /// A block the index cannot project (0 when none).
    pub stuck_height: std::sync::atomic::AtomicU64,
    /// The index database, once the follower has connected (the REST API
    /// shares its pool).
    pub connected: std::sync::OnceLock<IndexStore>,
}

/// Result alias of the index.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;
