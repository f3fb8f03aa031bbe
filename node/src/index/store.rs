//! The SQL side: a PostgreSQL or SQLite pool, migrations, and projecting
//! batches of blocks in one SQL transaction together with the checkpoint.

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::projection::{Statement, Value};
use super::{IndexError, Result};

/// Every table of the index, in a fixed order (for rebuilds and dumps).
pub const TABLES: [&str; 13] = [
    "index_checkpoint",
    "blocks",
    "transactions",
    "clubs",
    "identities",
    "members",
    "agreements",
    "agreement_versions",
    "agreement_history",
    "introductions",
    "visits",
    "proposals",
    "votes",
];

/// The PostgreSQL advisory lock that serializes index writers.
const INDEX_WRITER_LOCK: i64 = 0x7265_6369_705f_6978; // "recip_ix"

/// Runs `$body` with `$pool` bound to the store's pool, whichever the
/// backend: one query text, written once, for both.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::index::store::IndexStore::Sqlite($pool) => $body,
            $crate::index::store::IndexStore::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// One block's statements, ready to write.
#[derive(Debug, Clone)]
pub struct ProjectedBlock {
    /// Its height.
    pub height: u64,
    /// Transactions in it.
    pub tx_count: u64,
    /// Its state hash, hex (stored with the checkpoint).
    pub state_hash: String,
    /// What to write.
    pub statements: Vec<Statement>,
}

/// The index database.
#[derive(Debug, Clone)]
pub enum IndexStore {
    /// SQLite (embedded default).
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL (production).
    Postgres(sqlx::PgPool),
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(db)`
fn db(error: sqlx::Error) -> IndexError {
    IndexError::Database(error.to_string())
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.clone()),
                Value::Bool(v) => query.bind(*v),
                Value::Null => query.bind(None::<String>),
            };
        }
        query
    }};
}

macro_rules! project_in {
    ($tx:expr, $blocks:expr) => {{
        let mut tx = $tx;
        let checkpoint: Option<i64> =
            sqlx::query_scalar("SELECT height FROM index_checkpoint WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let mut at = checkpoint.map_or(0, |h| u64::try_from(h).unwrap_or(0));
        let mut last_hash = None;
        for block in $blocks {
            if block.height <= at {
                continue; // projected before: exactly once
            }
            if block.height != at + 1 {
                return Err(IndexError::Gap { checkpoint: at, next: block.height });
            }
            for statement in &block.statements {
                bind_all!(sqlx::query(statement.sql), &statement.args)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match e {
                        sqlx::Error::Database(refusal) => {
                            IndexError::Refused(format!("height {}: {refusal}", block.height))
                        }
                        other => IndexError::Database(format!("height {}: {other}", block.height)),
                    })?;
            }
            at = block.height;
            last_hash = Some(block.state_hash.clone());
        }
        if let Some(hash) = last_hash {
            let height = i64::try_from(at).map_err(|_| IndexError::Projection("height overflows".into()))?;
            sqlx::query(
                "INSERT INTO index_checkpoint (id, height, state_hash) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO UPDATE SET height = excluded.height, state_hash = excluded.state_hash",
            )
            .bind(height)
            .bind(hash)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(at)
    }};
}

/// A SQLite transaction holding the database's write lock from its start.
async fn sqlite_writer(
    pool: &sqlx::SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)
}

/// A PostgreSQL transaction holding the index writers' advisory lock until it ends.
async fn postgres_writer(
    pool: &sqlx::PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(INDEX_WRITER_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    Ok(tx)
}

/// One row rendered as text, column by column, the same on both backends
/// (for comparisons and dumps).
fn render<R: Row>(row: &R) -> String
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    (0..row.columns().len())
        .map(|i| {
            if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                return v.map_or("NULL".to_owned(), |v| v.to_string());
            }
            if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                return v.map_or("NULL".to_owned(), |v| v.to_string());
            }
            // Booleans as 1/0 on both backends (SQLite stores them so).
            if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                return v.map_or("NULL".to_owned(), |v| u8::from(v).to_string());
            }
            row.try_get::<Option<String>, _>(i)
                .map(|v| v.unwrap_or_else(|| "NULL".to_owned()))
                .unwrap_or_else(|_| "?".to_owned())
        })
        .collect::<Vec<_>>()
        .join("|")
}

impl IndexStore {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a
    /// SQLite file if missing, and applies the migrations.
    pub async fn connect(url: &str) -> Result<IndexStore> {
        let store = if let Some(path) = url.strip_prefix("sqlite://") {
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                .map_err(db)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(std::time::Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(db)?;
            sqlx::migrate!("../migrations/sqlite")
                .run(&pool)
                .await
                .map_err(|e| IndexError::Database(format!("migrations: {e}")))?;
            IndexStore::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new().max_connections(8).connect(url).await.map_err(db)?;
            sqlx::migrate!("../migrations/postgres")
                .run(&pool)
                .await
                .map_err(|e| IndexError::Database(format!("migrations: {e}")))?;
            IndexStore::Postgres(pool)
        } else {
            return Err(IndexError::Url(url.to_owned()));
        };
        Ok(store)
    }

    /// Makes sure PostgreSQL database `database` exists on the server of
    /// `server_url` (any database of that server in the URL; `postgres` when
    /// none), creating it when missing. `database` must be a plain name
    /// (`a-z`, `0-9`, `_`).
    pub async fn create_postgres_database(server_url: &str, database: &str) -> Result<()> {
        use sqlx::Connection;
        let plain = !database.is_empty()
            && database.len() <= 63
            && database.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !plain {
            return Err(IndexError::Url(format!(
                "database name {database:?}: use 1-63 of a-z, 0-9 and _"
            )));
        }
        let options = sqlx::postgres::PgConnectOptions::from_str(server_url).map_err(db)?;
        let options = match options.get_database() {
            Some(_) => options,
            None => options.database("postgres"),
        };
        let mut connection = sqlx::PgConnection::connect_with(&options).await.map_err(db)?;
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(database)
                .fetch_optional(&mut connection)
                .await
                .map_err(db)?;
        if exists.is_none() {
            // The name is checked above: plain, so safe to splice.
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
                .execute(&mut connection)
                .await
                .map_err(db)?;
        }
        connection.close().await.map_err(db)?;
        Ok(())
    }

    /// Closes the pool's connections (waits for those in use).
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }

    /// The last projected height (0 when nothing is).
    pub async fn checkpoint(&self) -> Result<u64> {
        let sql = "SELECT height FROM index_checkpoint WHERE id = 1";
        let height: Option<i64> = match self {
            IndexStore::Sqlite(pool) => sqlx::query_scalar(sql).fetch_optional(pool).await,
            IndexStore::Postgres(pool) => sqlx::query_scalar(sql).fetch_optional(pool).await,
        }
        .map_err(db)?;
        Ok(height.map_or(0, |h| u64::try_from(h).unwrap_or(0)))
    }

    /// The checkpoint with the state hash (hex) stored with it, if any.
    pub async fn checkpoint_with_hash(&self) -> Result<Option<(u64, String)>> {
        let sql = "SELECT height, state_hash FROM index_checkpoint WHERE id = 1";
        let row: Option<(i64, String)> = match self {
            IndexStore::Sqlite(pool) => sqlx::query_as(sql).fetch_optional(pool).await,
            IndexStore::Postgres(pool) => sqlx::query_as(sql).fetch_optional(pool).await,
        }
        .map_err(db)?;
        Ok(row.map(|(h, hash)| (u64::try_from(h).unwrap_or(0), hash)))
    }

    /// Writes `blocks` (consecutive heights) and moves the checkpoint to the
    /// last, in one SQL transaction. Blocks at or below the checkpoint are
    /// skipped; a gap is refused. Returns the new checkpoint.
    pub async fn project(&self, blocks: &[ProjectedBlock]) -> Result<u64> {
        match self {
            // Writers are serialized, so two followers (or a follower and a
            // rebuild) on one database never interleave between reading
            // and moving the checkpoint: SQLite takes the write lock at
            // BEGIN, PostgreSQL an advisory lock held until commit.
            IndexStore::Sqlite(pool) => project_in!(sqlite_writer(pool).await?, blocks),
            IndexStore::Postgres(pool) => project_in!(postgres_writer(pool).await?, blocks),
        }
    }

    /// Empties every table (the schema stays), for a rebuild, in one SQL
    /// transaction: either everything is gone or nothing is.
    pub async fn clear(&self) -> Result<()> {
        macro_rules! clear_in {
            ($tx:expr) => {{
                let mut tx = $tx;
                for table in TABLES {
                    let sql = sqlx::AssertSqlSafe(format!("DELETE FROM {table}"));
                    sqlx::query(sql).execute(&mut *tx).await.map_err(db)?;
                }
                tx.commit().await.map_err(db)
            }};
        }
        match self {
            IndexStore::Sqlite(pool) => clear_in!(sqlite_writer(pool).await?),
            IndexStore::Postgres(pool) => clear_in!(postgres_writer(pool).await?),
        }
    }

    /// Every row of `table`, rendered and sorted (tests and audits compare these).
    pub async fn dump(&self, table: &str) -> Result<Vec<String>> {
        if !TABLES.contains(&table) {
            return Err(IndexError::Projection(format!("no table {table:?}")));
        }
        let sql = sqlx::AssertSqlSafe(format!("SELECT * FROM {table}"));
        let mut rows: Vec<String> = match self {
            IndexStore::Sqlite(pool) => {
                sqlx::query(sql).fetch_all(pool).await.map_err(db)?.iter().map(render).collect()
            }
            IndexStore::Postgres(pool) => {
                sqlx::query(sql).fetch_all(pool).await.map_err(db)?.iter().map(render).collect()
            }
        };
        rows.sort();
        Ok(rows)
    }
}
