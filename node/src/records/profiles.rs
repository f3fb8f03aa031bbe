//! Member profiles: the personal data (name, e-mail, phone, date of birth,
//! notes) a home club keeps about its members, off the ledger. The on-chain
//! record holds an opaque id, tier, status and validity.

use super::{Records, Result, db, to_i64};
use crate::index::store::with_pool;

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

impl Records {
    /// Inserts profiles in one SQL transaction: all or none. A taken
    /// member id or membership number is refused ([`RecordsError::Refused`]).
    ///
    /// `pending_until_ms`: past it, a profile whose member is not on the
    /// ledger is an orphan ([`Records::profiles_pending_past`]); `None`
    /// for a member known to be registered.
    pub async fn profiles_insert(
        &self,
        profiles: &[MemberProfile],
        pending_until_ms: Option<u64>,
    ) -> Result<()> {
        let sql = "INSERT INTO member_profiles (member_id, home_club, member_number, full_name, name_folded, email, phone, date_of_birth, notes, created_at_ms, updated_at_ms, pending_until_ms) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
        let pending = pending_until_ms.map(to_i64);
        with_pool!(&self.store, pool => {
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
        with_pool!(&self.store, pool => {
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
        with_pool!(&self.store, pool => sqlx::query_scalar(sql)
            .bind(to_i64(now_ms))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)
        .map_err(db)
    }

    /// Deletes profiles (whose on-chain registration was refused).
    pub async fn profiles_delete(&self, member_ids: &[String]) -> Result<()> {
        let sql = "DELETE FROM member_profiles WHERE member_id = $1";
        with_pool!(&self.store, pool => {
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
        with_pool!(&self.store, pool => sqlx::query_as(sql).bind(member_id).fetch_optional(pool).await)
            .map_err(db)
    }

    /// Replaces a profile's personal fields; `false` when there is none.
    pub async fn profile_update(&self, profile: &MemberProfile) -> Result<bool> {
        let sql = "UPDATE member_profiles SET member_number = $1, full_name = $2, name_folded = $3, email = $4, \
                   phone = $5, date_of_birth = $6, notes = $7, updated_at_ms = $8 WHERE member_id = $9";
        let updated = with_pool!(&self.store, pool => sqlx::query(sql)
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
            let found: Vec<String> = with_pool!(&self.store, pool => {
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
        with_pool!(&self.store, pool => {
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
