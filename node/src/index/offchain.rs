//! Off-chain data of the REST API, in the index database but never derived
//! from the ledger: staff accounts, the club's member profiles (personal
//! data that never enters a transaction) and the audit log. An index
//! rebuild empties only the projection tables and leaves these alone.

use serde::Serialize;

use super::store::{IndexStore, with_pool};
use super::{IndexError, Result};

#[allow(clippy::needless_pass_by_value)] // used as `map_err(db)`
fn db(error: sqlx::Error) -> IndexError {
    match error {
        // Only a uniqueness conflict is the caller's doing; locks, deadlocks
        // and timeouts are the database's and worth a retry.
        sqlx::Error::Database(refusal) if refusal.is_unique_violation() => {
            IndexError::Refused(refusal.to_string())
        }
        other => IndexError::Database(other.to_string()),
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A staff account of this node's club.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffAccount {
    /// Login name.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role names, comma-separated (`admin,registrar,front_desk,governor`).
    pub roles: String,
    /// A disabled account cannot log in.
    pub disabled: bool,
    /// Creation time (Unix ms).
    pub created_at_ms: i64,
}

/// A member's personal data, kept only by the home club's node.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberProfile {
    /// The on-chain member id (32 hex digits).
    pub member_id: String,
    /// The home club (this node's club).
    pub home_club: String,
    /// The club's own membership number, unique within the club.
    pub member_number: String,
    /// Full name.
    pub full_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// Free-form notes.
    pub notes: Option<String>,
    /// Creation time (Unix ms).
    pub created_at_ms: i64,
    /// Last change (Unix ms).
    pub updated_at_ms: i64,
}

/// A profile joined with the member's projected on-chain record (absent
/// while the index has not reached the registering block).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberListing {
    /// The profile.
    #[sqlx(flatten)]
    pub profile: MemberProfile,
    /// Tier on the ledger.
    pub tier: Option<String>,
    /// Status on the ledger (`Active`, `Suspended`, `Expired`, `Resigned`).
    pub status: Option<String>,
    /// Validity on the ledger (day number).
    pub valid_until_day: Option<i64>,
}

/// Filters of a member search; every present filter must match.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    /// Exact membership number.
    pub member_number: Option<String>,
    /// Status on the ledger.
    pub status: Option<String>,
    /// Rows to return.
    pub limit: u32,
    /// Rows to skip.
    pub offset: u32,
}

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

/// Escapes `%`, `_` and `\` so user text matches itself in `LIKE … ESCAPE '\'`.
pub fn like_pattern_containing(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The folded form of a name that search compares against.
pub fn fold_name(name: &str) -> String {
    name.trim().to_lowercase()
}

const PROFILE_COLUMNS: &str = "p.member_id, p.home_club, p.member_number, p.full_name, p.email, p.phone, p.date_of_birth, p.notes, p.created_at_ms, p.updated_at_ms";

impl IndexStore {
    /// Creates a staff account; `false` when the username is taken.
    pub async fn staff_insert(&self, account: &StaffAccount) -> Result<bool> {
        let sql = "INSERT INTO staff_accounts (username, password_hash, roles, disabled, created_at_ms) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING";
        let inserted = with_pool!(self, pool => sqlx::query(sql)
            .bind(&account.username)
            .bind(&account.password_hash)
            .bind(&account.roles)
            .bind(account.disabled)
            .bind(account.created_at_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db)?;
        Ok(inserted == 1)
    }

    /// A staff account by username.
    pub async fn staff_get(&self, username: &str) -> Result<Option<StaffAccount>> {
        let sql = "SELECT username, password_hash, roles, disabled, created_at_ms FROM staff_accounts WHERE username = $1";
        with_pool!(self, pool => sqlx::query_as(sql).bind(username).fetch_optional(pool).await)
            .map_err(db)
    }

    /// Every staff account, by username.
    pub async fn staff_list(&self) -> Result<Vec<StaffAccount>> {
        let sql = "SELECT username, password_hash, roles, disabled, created_at_ms FROM staff_accounts ORDER BY username";
        with_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await).map_err(db)
    }

    /// Changes an account's roles, disabled flag and (when given) password
    /// hash; `false` when there is no such account.
    pub async fn staff_update(
        &self,
        username: &str,
        roles: &str,
        disabled: bool,
        password_hash: Option<&str>,
    ) -> Result<bool> {
        let sql = "UPDATE staff_accounts SET roles = $1, disabled = $2, \
                   password_hash = COALESCE($3, password_hash) WHERE username = $4";
        let updated = with_pool!(self, pool => sqlx::query(sql)
            .bind(roles)
            .bind(disabled)
            .bind(password_hash)
            .bind(username)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db)?;
        Ok(updated == 1)
    }

    /// Inserts profiles in one SQL transaction: all or none. A taken
    /// member id or membership number is refused ([`IndexError::Refused`]).
    ///
    /// `pending_until_ms`: past it, a profile whose member is not on the
    /// ledger is an orphan ([`IndexStore::profiles_pending_past`]); `None`
    /// for a member known to be registered.
    pub async fn profiles_insert(
        &self,
        profiles: &[MemberProfile],
        pending_until_ms: Option<u64>,
    ) -> Result<()> {
        let sql = "INSERT INTO member_profiles (member_id, home_club, member_number, full_name, name_folded, email, phone, date_of_birth, notes, created_at_ms, updated_at_ms, pending_until_ms) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
        let pending = pending_until_ms.map(to_i64);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db)?;
            for p in profiles {
                sqlx::query(sql)
                    .bind(&p.member_id)
                    .bind(&p.home_club)
                    .bind(&p.member_number)
                    .bind(&p.full_name)
                    .bind(fold_name(&p.full_name))
                    .bind(&p.email)
                    .bind(&p.phone)
                    .bind(&p.date_of_birth)
                    .bind(&p.notes)
                    .bind(p.created_at_ms)
                    .bind(p.updated_at_ms)
                    .bind(pending)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            tx.commit().await.map_err(db)
        })
    }

    /// Marks profiles as registered on the ledger (no longer pending), in one
    /// SQL transaction.
    pub async fn profiles_mark_registered(&self, member_ids: &[String]) -> Result<()> {
        let sql = "UPDATE member_profiles SET pending_until_ms = NULL WHERE member_id = $1";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db)?;
            for id in member_ids {
                sqlx::query(sql).bind(id).execute(&mut *tx).await.map_err(db)?;
            }
            tx.commit().await.map_err(db)
        })
    }

    /// Up to `limit` profiles still pending past `now_ms` (their
    /// registration either committed unseen or can no longer commit).
    pub async fn profiles_pending_past(&self, now_ms: u64, limit: u32) -> Result<Vec<String>> {
        let sql = "SELECT member_id FROM member_profiles WHERE pending_until_ms IS NOT NULL AND pending_until_ms < $1 \
                   ORDER BY pending_until_ms LIMIT $2";
        with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(to_i64(now_ms))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)
        .map_err(db)
    }

    /// Deletes profiles (whose on-chain registration was refused).
    pub async fn profiles_delete(&self, member_ids: &[String]) -> Result<()> {
        let sql = "DELETE FROM member_profiles WHERE member_id = $1";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(db)?;
            for id in member_ids {
                sqlx::query(sql).bind(id).execute(&mut *tx).await.map_err(db)?;
            }
            tx.commit().await.map_err(db)
        })
    }

    /// A profile by member id.
    pub async fn profile_get(&self, member_id: &str) -> Result<Option<MemberProfile>> {
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM member_profiles p WHERE p.member_id = $1");
        let sql = sqlx::AssertSqlSafe(sql);
        with_pool!(self, pool => sqlx::query_as(sql).bind(member_id).fetch_optional(pool).await)
            .map_err(db)
    }

    /// Replaces a profile's personal fields; `false` when there is none.
    pub async fn profile_update(&self, profile: &MemberProfile) -> Result<bool> {
        let sql = "UPDATE member_profiles SET member_number = $1, full_name = $2, name_folded = $3, email = $4, \
                   phone = $5, date_of_birth = $6, notes = $7, updated_at_ms = $8 WHERE member_id = $9";
        let updated = with_pool!(self, pool => sqlx::query(sql)
            .bind(&profile.member_number)
            .bind(&profile.full_name)
            .bind(fold_name(&profile.full_name))
            .bind(&profile.email)
            .bind(&profile.phone)
            .bind(&profile.date_of_birth)
            .bind(&profile.notes)
            .bind(profile.updated_at_ms)
            .bind(&profile.member_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db)?;
        Ok(updated == 1)
    }

    /// The membership numbers among `numbers` already used in `club`
    /// (asked 500 at a time).
    pub async fn member_numbers_taken(
        &self,
        club: &str,
        numbers: &[String],
    ) -> Result<Vec<String>> {
        let mut taken = Vec::new();
        for chunk in numbers.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT member_number FROM member_profiles WHERE home_club = $1 AND member_number IN ({})",
                placeholders.join(", ")
            );
            let found: Vec<String> = with_pool!(self, pool => {
                let mut select = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(club);
                for number in chunk {
                    select = select.bind(number.clone());
                }
                select.fetch_all(pool).await
            })
            .map_err(db)?;
            taken.extend(found);
        }
        Ok(taken)
    }

    /// Profiles of `club` matching `query`, by name then number, joined
    /// with their projected ledger record.
    ///
    /// Only the filters given appear in the SQL (user text is always a bound
    /// parameter), so a number search uses the unique index and a name search
    /// walks `(home_club, name_folded)` in order and stops after a page; the
    /// ledger record is joined for the page's rows only, unless the status
    /// filters on it.
    pub async fn member_search(
        &self,
        club: &str,
        query: &MemberQuery,
    ) -> Result<Vec<MemberListing>> {
        let mut args: Vec<String> = vec![club.to_owned()];
        let mut conditions = vec!["p.home_club = $1".to_owned()];
        if let Some(number) = &query.member_number {
            args.push(number.clone());
            conditions.push(format!("p.member_number = ${}", args.len()));
        }
        if let Some(name) = &query.name {
            args.push(like_pattern_containing(&fold_name(name)));
            conditions.push(format!("p.name_folded LIKE ${} ESCAPE '\\'", args.len()));
        }
        let page = format!("LIMIT ${} OFFSET ${}", args.len() + 1, args.len() + 2);
        let sql = match &query.status {
            None => format!(
                "SELECT {PROFILE_COLUMNS}, m.tier, m.status, m.valid_until_day FROM \
                 (SELECT * FROM member_profiles p WHERE {} ORDER BY p.name_folded, p.member_number {page}) p \
                 LEFT JOIN members m ON m.member_id = p.member_id ORDER BY p.name_folded, p.member_number",
                conditions.join(" AND ")
            ),
            Some(status) => {
                args.push(status.clone());
                conditions.push(format!("m.status = ${}", args.len()));
                let page = format!("LIMIT ${} OFFSET ${}", args.len() + 1, args.len() + 2);
                format!(
                    "SELECT {PROFILE_COLUMNS}, m.tier, m.status, m.valid_until_day \
                     FROM member_profiles p JOIN members m ON m.member_id = p.member_id \
                     WHERE {} ORDER BY p.name_folded, p.member_number {page}",
                    conditions.join(" AND ")
                )
            }
        };
        with_pool!(self, pool => {
            let mut select = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for arg in &args {
                select = select.bind(arg.clone());
            }
            select
                .bind(i64::from(query.limit))
                .bind(i64::from(query.offset))
                .fetch_all(pool)
                .await
        })
        .map_err(db)
    }

    /// Appends to the audit log.
    pub async fn audit_append(&self, entry: &NewAuditEntry<'_>) -> Result<()> {
        let sql = "INSERT INTO audit_log (at_ms, actor, club_id, action, target, outcome, tx_id) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        with_pool!(self, pool => sqlx::query(sql)
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
        with_pool!(self, pool => sqlx::query_as(sql)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)
        .map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_metacharacters() {
        assert_eq!(like_pattern_containing("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
        assert_eq!(like_pattern_containing("o'brien"), "%o'brien%");
    }

    #[test]
    fn names_fold_to_trimmed_lower_case() {
        assert_eq!(fold_name("  Ada LOVELACE "), "ada lovelace");
    }
}
