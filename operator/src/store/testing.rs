//! Runs every store test on both backends: SQLite in a temporary directory, PostgreSQL in a
//! fresh schema created for the test and dropped after it (even when the test panics). A
//! schema, not a database: `CREATE DATABASE` costs half a second, a schema a millisecond.
//!
//! PostgreSQL is `$PLIMSOLL_TEST_POSTGRES`, else `postgres://postgres@127.0.0.1:5432/test`
//! (trust auth). When it cannot be reached the PostgreSQL half fails under `CI=true` and is
//! skipped with a notice elsewhere.

use super::{Backend, Store};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One test's database. Clone it to reconnect (a new pool on the same data).
#[derive(Clone)]
pub(crate) struct TestDb {
    url: String,
    _dir: Option<Arc<tempfile::TempDir>>,
}

impl TestDb {
    pub(crate) async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .expect("connect to the test store")
    }
}

/// Generates `mod NAME { sqlite(), postgres() }` tests from one body that receives a
/// [`TestDb`] as `$db`.
macro_rules! both_backends {
    ($(async fn $name:ident($db:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test]
                async fn sqlite() {
                    $crate::store::testing::run(
                        $crate::store::Backend::Sqlite,
                        |$db: $crate::store::testing::TestDb| async move $body,
                    )
                    .await;
                }

                #[tokio::test]
                async fn postgres() {
                    $crate::store::testing::run(
                        $crate::store::Backend::Postgres,
                        |$db: $crate::store::testing::TestDb| async move $body,
                    )
                    .await;
                }
            }
        )*
    };
}
pub(crate) use both_backends;

pub(crate) async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = dir.path().join("store.db").to_string_lossy().into_owned();
            test(TestDb {
                url,
                _dir: Some(Arc::new(dir)),
            })
            .await;
        }
        Backend::Postgres => run_postgres(test).await,
    }
}

async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let base = std::env::var("PLIMSOLL_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
    let mut admin = match PgConnection::connect(&base).await {
        Ok(c) => c,
        Err(e) => {
            let shown = super::redact_url(&base);
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {shown} is unreachable under CI=true: {e}");
            }
            #[allow(clippy::print_stderr, reason = "the skip notice of a test")]
            {
                eprintln!("NOTICE: PostgreSQL at {shown} is unreachable ({e}): test skipped");
            }
            return;
        }
    };
    let name = unique_schema_name();
    // `name` is letters, digits and underscores we generated: safe to splice.
    admin
        .execute(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .await
        .expect("create the test schema");
    let mut url = url::Url::parse(&base).expect("PostgreSQL test URL");
    url.query_pairs_mut()
        .append_pair("options", &format!("-c search_path={name}"));
    let db = TestDb {
        url: url.to_string(),
        _dir: None,
    };
    let outcome = tokio::spawn(test(db)).await;
    admin
        .execute(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE"
        )))
        .await
        .expect("drop the test schema");
    let _ = admin.close().await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task cancelled: {e}");
    }
}

fn unique_schema_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "plimsoll_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A synthetic OSV record: one `affected` entry per package, `introduced 0` / `fixed`.
pub(crate) fn osv(id: &str, packages: &[(&str, &str)], fixed: &str) -> crate::feeds::osv::Record {
    let affected: Vec<serde_json::Value> = packages
        .iter()
        .map(|(ecosystem, name)| {
            serde_json::json!({
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "id": id,
        "modified": "2025-01-01T00:00:00Z",
        "affected": affected,
    }))
    .expect("synthetic OSV record")
}

/// Real records: `feeds/testdata/` and `store/testdata/` (see their READMEs).
pub(crate) fn fixture(name: &str) -> crate::feeds::osv::Record {
    let text = match name {
        "debian" => include_str!("../feeds/testdata/debian-cve-2005-4890.json"),
        "alma" => include_str!("../feeds/testdata/alsa-2025-10073.json"),
        "atty" => include_str!("testdata/rustsec-2021-0145.json"),
        "dirs-withdrawn" => include_str!("testdata/rustsec-2020-0053-withdrawn.json"),
        other => panic!("no fixture {other}"),
    };
    crate::feeds::osv::Record::from_json(text.as_bytes()).expect("fixture parses")
}

/// Registers a feed source the way a sync does.
pub(crate) async fn register(store: &Store, name: &str) {
    store
        .feed_sync_started(
            &super::FeedSourceSpec {
                name,
                kind: "osv-dir",
                url: "/srv/feeds",
            },
            super::Timestamp::from_unix_millis(1),
        )
        .await
        .expect("register the feed source");
}
