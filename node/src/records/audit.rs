//! The audit log: who did what through the APIs, with the outcome and the
//! transaction submitted. Append-only; read newest first.

use serde::Serialize;

use super::{Records, Result, db, to_i64};
use crate::index::store::with_pool;

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Sequence number (assigned by the database).
    pub id: i64,
    /// When (Unix ms).
    pub at_ms: i64,
    /// Who: `staff:<username>` or `key:<public key hex>`.
    pub actor: String,
    /// The actor's club.
    pub club_id: String,
    /// What, e.g. `visit.record`.
    pub action: String,
    /// On what (a member id, a counterparty, a proposal id...).
    pub target: Option<String>,
    /// `ok`, or the error code returned.
    pub outcome: String,
    /// The transaction submitted, if any.
    pub tx_id: Option<String>,
}

/// An audit entry to append.
#[derive(Debug, Clone, Copy)]
pub struct NewAuditEntry<'a> {
    /// When (Unix ms).
    pub at_ms: u64,
    /// Who: `staff:<username>` or `key:<public key hex>`.
    pub actor: &'a str,
    /// This node's club.
    pub club_id: &'a str,
    /// What, e.g. `visit.record`.
    pub action: &'a str,
    /// On what.
    pub target: Option<&'a str>,
    /// `ok` or the error code.
    pub outcome: &'a str,
    /// The transaction submitted, if any.
    pub tx_id: Option<&'a str>,
}

impl Records {
    /// Appends to the audit log.
    pub async fn audit_append(&self, entry: &NewAuditEntry<'_>) -> Result<()> {
        let sql = "INSERT INTO audit_log (at_ms, actor, club_id, action, target, outcome, tx_id) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        with_pool!(&self.store, pool => sqlx::query(sql)
            .bind(to_i64(entry.at_ms))
            .bind(entry.actor)
            .bind(entry.club_id)
            .bind(entry.action)
            .bind(entry.target)
            .bind(entry.outcome)
            .bind(entry.tx_id)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(db)
    }

    /// The newest audit entries (before `before_id` when given), newest first.
    pub async fn audit_list(&self, before_id: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        let sql = "SELECT id, at_ms, actor, club_id, action, target, outcome, tx_id FROM audit_log \
                   WHERE id < $1 ORDER BY id DESC LIMIT $2";
        with_pool!(&self.store, pool => sqlx::query_as(sql)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)
        .map_err(db)
    }
}
