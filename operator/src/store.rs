//! The store: what Plimsoll must remember across restarts, in SQLite (the embedded default: the
//! CLI cache, a single-replica operator on a PVC) or PostgreSQL (several replicas, large fleets).
//!
//! - `url`: [`DbUrl`], what [`Store::connect`] accepts, printed with the password redacted.
//! - `migrations`: the schema, one SQL file per version and dialect, embedded in the binary.
//! - `feed_sources`: per feed source, when it was last synced, how it went, how many records.
//! - `advisories`: OSV records by source, the `affected` rows for lookups by package, and
//!   which packages a write touched.
//! - `analyses`: Analysis documents by image digest, and the packages each one holds.
//! - `matches`: first-seen and fix-first-seen times of each (image, vulnerability, package).
//! - `evaluations`: the append-only history of policy verdicts.
//! - `outbox`: notifications waiting for delivery.
//!
//! Traps:
//! - Time is always a parameter (`now`): the store never reads the clock, so tests and the
//!   re-matching logic decide what "now" is.
//! - SQLite allows one writer at a time. Write transactions start with `BEGIN IMMEDIATE` so that
//!   two writers queue on the busy timeout instead of failing with `SQLITE_BUSY` when a reader
//!   transaction tries to upgrade.
//! - `first_seen_at` is written once and never reset, whatever the recomputation or restart
//!   (Anchore resets its "fix first seen" on every report: anchore-engine issue #1395).
//! - Both dialects take `$1` placeholders; SQL that differs lives in a `match` on the pool.
//!
//! # Why an enum over two pools and not `sqlx::Any`
//! `Any` would let one code path serve both backends, but: it needs a process-wide driver
//! registration (`install_default_drivers`), global state we avoid; it binds only scalars, so
//! PostgreSQL's `= ANY($1)` / `UNNEST($1::text[])` batched lookups are out of reach; it copies
//! every row into `AnyValue`, a cost paid 500 000 times by `load_affected`; and it hides the
//! typed `SqliteConnectOptions` (WAL, busy timeout, foreign keys) behind a URL. The enum costs a
//! `match` per operation; the `with_pool!` macro below expands one body for both arms when the
//! SQL is the same, and each arm is checked by the compiler against its own driver.

mod advisories;
mod analyses;
mod analyzer_jobs;
mod error;
mod evaluations;
mod feed_sources;
mod freshness;
mod matches;
mod migrations;
mod outbox;
mod url;

#[cfg(test)]
pub(crate) mod testing;

pub use advisories::{AffectedRow, SyncOutcome, versions_digest};
pub use analyses::{AnalysisInfo, PutOutcome, StoredAnalysis};
pub use analyzer_jobs::{AnalyzerJob, Finish, JobOutcome};
pub use error::Error;
pub use evaluations::{Evaluation, FinalAction, NewEvaluation, UnknownFinalAction};
pub use feed_sources::{FeedSource, FeedSourceSpec, format_cursor};
pub use freshness::VulnSnapshot;
pub use matches::{MatchKey, MatchTimes, ObservedMatch, StoredMatch};
pub use outbox::{Enqueued, NewNotification, OutboxEntry};
pub use url::{Backend, DbUrl, redact_url};

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs `$body` against whichever pool the store holds, with `$pool` bound to the concrete
/// `sqlx::Pool<DB>` and `$dialect` to the matching [`Dialect`]. The body is compiled once per
/// backend, so it can use any SQL both dialects accept.
macro_rules! with_pool {
    ($store:expr, |$pool:ident, $dialect:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => {
                let $dialect = $crate::store::Dialect::Sqlite;
                let _ = $dialect;
                $body
            }
            $crate::store::Pool::Postgres($pool) => {
                let $dialect = $crate::store::Dialect::Postgres;
                let _ = $dialect;
                $body
            }
        }
    };
}
pub(crate) use with_pool;

/// Milliseconds since the Unix epoch, UTC. Chosen over a date-time crate so both backends store
/// a plain 64-bit integer that sorts and compares the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// The current time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Saturates outside ±292 million years.
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => Self(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => Self(i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms)),
        }
    }

    /// `self` plus `d`, saturating.
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }
}

/// A package as vulnerability feeds name it: an OSV ecosystem (`Debian:12`, `PyPI`, `npm`) and
/// a name in that ecosystem. The store keeps and compares names as the matcher's index names
/// (`matcher::ecosystem::index_name`: PyPI names PEP 503 normalised, others as written).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PackageRef {
    pub ecosystem: String,
    pub name: String,
}

impl PackageRef {
    pub fn new(ecosystem: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            ecosystem: ecosystem.into(),
            name: name.into(),
        }
    }
}

/// Where the CLI keeps its SQLite store, given the user's cache directory
/// (`~/.cache` or `$XDG_CACHE_HOME`, resolved by the caller).
pub fn default_sqlite_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join("plimsoll").join("plimsoll.db")
}

/// Pool settings. The defaults suit the CLI and a single operator replica.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// SQLite: WAL lets readers run beside the one writer, so a few connections help reads.
    pub sqlite_max_connections: u32,
    pub postgres_max_connections: u32,
    /// How long a SQLite writer waits for the write lock.
    pub busy_timeout: Duration,
    /// How long a caller waits for a pooled connection; connecting retries until then (so
    /// an operator that starts before its database waits instead of failing at once).
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            sqlite_max_connections: 4,
            postgres_max_connections: 10,
            busy_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The statement that opens a write transaction.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle on the store. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    url: DbUrl,
}

impl Store {
    /// Connects to `url` (a file path, a `sqlite:` URL or a `postgres://` URL) and brings the
    /// schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        let url: DbUrl = url.parse()?;
        Self::connect_with(&url, &StoreOptions::default()).await
    }

    pub async fn connect_with(url: &DbUrl, options: &StoreOptions) -> Result<Self> {
        let pool = match url.backend() {
            Backend::Sqlite => Pool::Sqlite(connect_sqlite(url, options).await?),
            Backend::Postgres => Pool::Postgres(connect_postgres(url, options).await?),
        };
        let store = Self {
            pool,
            url: url.clone(),
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations not applied yet. Idempotent; [`Store::connect`] calls it.
    /// On PostgreSQL an advisory lock serialises replicas that start together.
    pub async fn migrate(&self) -> Result<()> {
        let err = |source| Error::Migrate {
            url: self.url.to_string(),
            source,
        };
        match &self.pool {
            Pool::Sqlite(p) => migrations::migrator(Backend::Sqlite)
                .run(p)
                .await
                .map_err(err),
            Pool::Postgres(p) => migrations::migrator(Backend::Postgres)
                .run(p)
                .await
                .map_err(err),
        }
    }

    /// Waits for the connections to close. Further calls fail.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

async fn connect_sqlite(url: &DbUrl, options: &StoreOptions) -> Result<SqlitePool> {
    let mut connect = url.sqlite_options()?;
    let in_memory = url.is_sqlite_memory();
    if !in_memory {
        let parent = connect
            .get_filename()
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf);
        if let Some(parent) = parent {
            tokio::fs::create_dir_all(&parent)
                .await
                .map_err(|source| Error::CreateDir {
                    path: parent,
                    source,
                })?;
        }
        connect = connect
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across application crashes in WAL mode; a power loss may lose
            // the last transactions, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal);
    }
    connect = connect
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(options.busy_timeout);
    // An in-memory database lives and dies with its one connection.
    let pool = if in_memory {
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(options.sqlite_max_connections.max(1))
    };
    pool.acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(|source| Error::Connect {
            url: url.to_string(),
            source,
        })
}

async fn connect_postgres(url: &DbUrl, options: &StoreOptions) -> Result<PgPool> {
    let connect = url.postgres_options()?;
    PgPoolOptions::new()
        .max_connections(options.postgres_max_connections.max(1))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(|source| Error::Connect {
            url: url.to_string(),
            source,
        })
}

/// Maps a driver error to [`Error::Query`] naming the operation.
pub(crate) fn query_err(op: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| Error::Query { op, source }
}

/// Hex sha256, for content digests.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A query builder for the pool's database (lets type inference pick the backend inside
/// `with_pool!`).
pub(crate) fn builder<DB: sqlx::Database>(
    _pool: &sqlx::Pool<DB>,
    init: &str,
) -> sqlx::QueryBuilder<DB> {
    sqlx::QueryBuilder::new(init)
}

/// SQLite: `{head} (VALUES (?, ?), …) AS k {tail}` over (ecosystem, name) pairs, `tail`
/// being `CROSS JOIN <table> ON … = k.column1 AND … = k.column2`. The CROSS JOIN makes SQLite
/// loop over the pairs and search the (ecosystem, name) index; the natural
/// `(ecosystem, name) IN (VALUES …)` makes it scan the whole table (a test checks the plan).
pub(crate) fn sqlite_pairs_query(
    pool: &SqlitePool,
    head: &str,
    pairs: &[&PackageRef],
    tail: &str,
) -> sqlx::QueryBuilder<sqlx::Sqlite> {
    let mut qb = builder(pool, head);
    qb.push(" (");
    qb.push_values(pairs, |mut row, p| {
        row.push_bind(p.ecosystem.as_str())
            .push_bind(p.name.as_str());
    });
    qb.push(") AS k ").push(tail);
    qb
}

/// Bound parameters per statement in multi-row statements: below SQLite's 32 766 and
/// PostgreSQL's 65 535, large enough that a 500 000-row write is a few hundred statements.
pub(crate) const MAX_PARAMS: usize = 6_000;

#[cfg(test)]
mod tests {
    use super::*;
    use testing::both_backends;

    #[test]
    fn timestamps_from_system_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(
            Timestamp::from_system_time(t),
            Timestamp::from_unix_millis(1_700_000_000_123)
        );
        let before = SystemTime::UNIX_EPOCH - Duration::from_millis(5);
        assert_eq!(Timestamp::from_system_time(before).unix_millis(), -5);
        assert_eq!(
            Timestamp::from_unix_millis(i64::MAX - 1)
                .plus(Duration::from_secs(1))
                .unix_millis(),
            i64::MAX
        );
    }

    #[test]
    fn default_sqlite_path_is_under_the_cache() {
        assert_eq!(
            default_sqlite_path(Path::new("/home/u/.cache")),
            PathBuf::from("/home/u/.cache/plimsoll/plimsoll.db")
        );
    }

    both_backends! {
        async fn migrations_are_idempotent(db) {
            let store = db.store().await;
            store.migrate().await.expect("second run");
            store.close().await;
            let store = db.store().await;
            store.migrate().await.expect("after reconnect");
            let applied: i64 = with_pool!(store, |pool, _d| {
                sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                    .fetch_one(pool)
                    .await
                    .expect("count")
            });
            assert_eq!(applied, migrations::MIGRATIONS.len() as i64, "every migration applied once");
        }
    }

    #[tokio::test]
    async fn sqlite_is_created_with_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = default_sqlite_path(dir.path());
        let store = Store::connect(&path.to_string_lossy())
            .await
            .expect("connect");
        assert!(path.exists());
        assert_eq!(store.backend(), Backend::Sqlite);
        let Pool::Sqlite(pool) = &store.pool else {
            panic!("a path is SQLite")
        };
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .expect("journal_mode");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(pool)
            .await
            .expect("foreign_keys");
        assert_eq!((mode.as_str(), fk), ("wal", 1));
        // Also through a `sqlite:` URL, and in memory.
        let url = format!("sqlite://{}", dir.path().join("other.db").display());
        Store::connect(&url).await.expect("sqlite URL");
        assert!(dir.path().join("other.db").exists());
        let memory = Store::connect("sqlite::memory:").await.expect("memory");
        memory.migrate().await.expect("memory migrate");
    }

    #[tokio::test]
    async fn connection_errors_name_the_redacted_url() {
        let url: DbUrl = "postgres://u:hunter2@127.0.0.1:1/x"
            .parse()
            .expect("valid URL");
        let options = StoreOptions {
            acquire_timeout: Duration::from_millis(300),
            ..StoreOptions::default()
        };
        let err = Store::connect_with(&url, &options)
            .await
            .expect_err("nothing listens on port 1");
        assert!(matches!(err, Error::Connect { .. }), "{err}");
        assert_eq!(err.label(), "connect");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("u:REDACTED@127.0.0.1:1"), "{text}");
        let err = Store::connect("mysql://x").await.expect_err("unsupported");
        assert!(matches!(err, Error::InvalidUrl { .. }), "{err}");
    }
}
