//! Times the store's hot paths on both backends with a feed-sized table: filling N `affected`
//! rows through `replace_source`, re-syncing the same feed (nothing changed), streaming every
//! row with `load_affected` (the matcher's in-memory index) and looking packages up with
//! `affected_for` (the per-package SQL strategy).
//!
//! ```sh
//! cargo run --release -p plimsoll --example store_load -- [ROWS] [POSTGRES_URL]
//! ```
//!
//! ROWS defaults to 500 000; PostgreSQL defaults to `$PLIMSOLL_TEST_POSTGRES`, else
//! `postgres://postgres@127.0.0.1:5432/test`, and runs in a schema created and dropped here.
//! SQLite runs in a temporary directory. Not run by the tests.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use futures_util::TryStreamExt as _;
use plimsoll::feeds::osv::Record;
use plimsoll::store::{FeedSourceSpec, PackageRef, Store, Timestamp};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::time::Instant;

/// `affected` entries per record: OSV records name one to a few packages.
const PER_RECORD: usize = 2;
/// Distinct package names: about what the Debian + PyPI + npm feeds name together.
const PACKAGES: usize = 60_000;

fn records(rows: usize) -> Vec<Record> {
    (0..rows / PER_RECORD)
        .map(|i| {
            let affected: Vec<serde_json::Value> = (0..PER_RECORD)
                .map(|j| {
                    let ecosystem = ["Debian:12", "PyPI", "npm"][(i + j) % 3];
                    let name = format!("package-{}", (i * 7 + j * 13) % PACKAGES);
                    serde_json::json!({
                        "package": {"ecosystem": ecosystem, "name": name},
                        "ranges": [{"type": "ECOSYSTEM", "events": [
                            {"introduced": "0"}, {"fixed": format!("{}.{}.{}-1", i % 9, j, i % 97)}
                        ]}],
                        "versions": [format!("{}.0.0", i % 9), format!("{}.0.1", i % 9)],
                        "ecosystem_specific": {"urgency": "low"},
                    })
                })
                .collect();
            serde_json::from_value(serde_json::json!({
                "id": format!("BENCH-{i:07}"),
                "modified": "2025-06-01T00:00:00Z",
                "aliases": [format!("CVE-2025-{:05}", i % 100_000)],
                "summary": "a generated record of realistic shape",
                "affected": affected,
            }))
            .expect("generated OSV record")
        })
        .collect()
}

async fn bench(label: &str, url: &str, records: &[Record]) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let now = Timestamp::from_unix_millis(1_750_000_000_000);
    store
        .feed_sync_started(
            &FeedSourceSpec {
                name: "bench",
                kind: "generated",
                url: "-",
            },
            now,
        )
        .await?;

    let t = Instant::now();
    let out = store.replace_source("bench", records, None, now).await?;
    let fill = t.elapsed();

    let t = Instant::now();
    let again = store.replace_source("bench", records, None, now).await?;
    let resync = t.elapsed();
    assert_eq!(again.unchanged, records.len());

    let t = Instant::now();
    let mut rows = 0usize;
    let mut stream = store.load_affected();
    while let Some(row) = stream.try_next().await? {
        rows += usize::from(!row.affected.ranges.is_empty());
    }
    drop(stream);
    let load = t.elapsed();

    // An image's worth of packages: 1 000 lookups, one `affected_for` call.
    let wanted: Vec<PackageRef> = (0..1_000)
        .map(|i| {
            PackageRef::new(
                ["Debian:12", "PyPI", "npm"][i % 3],
                format!("package-{}", i * 59 % PACKAGES),
            )
        })
        .collect();
    let t = Instant::now();
    let found = store.affected_for(&wanted).await?;
    let lookup = t.elapsed();

    println!(
        "{label:>8}: fill {} rows ({} records) {:>7.2?} | unchanged re-sync {:>7.2?} | \
         load_affected {rows} rows {:>7.2?} ({:.0} rows/s) | affected_for 1000 packages -> {} rows {:>7.2?}",
        records.len() * PER_RECORD,
        out.inserted,
        fill,
        resync,
        load,
        rows as f64 / load.as_secs_f64(),
        found.len(),
        lookup,
    );
    store.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().map_or(Ok(500_000), |a| a.parse())?;
    let postgres = args
        .next()
        .or_else(|| std::env::var("PLIMSOLL_TEST_POSTGRES").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());

    let t = Instant::now();
    let records = records(rows);
    println!(
        "generated {} records ({} affected rows) in {:.2?}",
        records.len(),
        records.len() * PER_RECORD,
        t.elapsed()
    );

    let dir = tempfile::tempdir()?;
    let sqlite = dir.path().join("bench.db");
    bench("sqlite", &sqlite.to_string_lossy(), &records).await?;
    println!(
        "  sqlite file: {:.1} MB (+ WAL {:.1} MB)",
        file_mb(&sqlite),
        file_mb(&dir.path().join("bench.db-wal"))
    );

    let mut admin = PgConnection::connect(&postgres).await?;
    let schema = format!("plimsoll_bench_{}", std::process::id());
    admin
        .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await?;
    let mut url = url::Url::parse(&postgres)?;
    url.query_pairs_mut()
        .append_pair("options", &format!("-c search_path={schema}"));
    let result = bench("postgres", url.as_str(), &records).await;
    if result.is_ok() {
        let size: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT CAST(SUM(pg_total_relation_size(c.oid)) AS BIGINT) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = '{schema}' AND c.relkind = 'r'"
        )))
        .fetch_one(&mut admin)
        .await?;
        println!("  postgres tables: {:.1} MB", size as f64 / 1e6);
    }
    admin
        .execute(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await?;
    result
}

fn file_mb(path: &std::path::Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}
