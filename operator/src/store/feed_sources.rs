//! Feed sources: one row per configured source, so `plimsoll feeds` and the operator can say
//! when each was last tried, when it last worked, how many records it holds and why it failed
//! (Anchore's feed syncs were opaque: users could not tell a stale feed from a fresh one).
//!
//! A sync is: [`Store::feed_sync_started`], then either `replace_source` / `upsert_records`
//! (which record the success in the same transaction as the data) or
//! [`Store::feed_sync_failed`].

use chrono::{DateTime, Utc};

use super::{Error, Result, Store, Timestamp, query_err, redact_url, with_pool};

/// What the caller knows about a source before syncing it.
#[derive(Debug, Clone, Copy)]
pub struct FeedSourceSpec<'a> {
    pub name: &'a str,
    /// `osv-zip`, `osv-dir`, `alpine-secdb`, ... (the feeds module's names).
    pub kind: &'a str,
    /// Stored redacted ([`redact_url`]).
    pub url: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSource {
    pub name: String,
    pub kind: String,
    /// Redacted.
    pub url: String,
    pub last_attempt_at: Option<Timestamp>,
    pub last_success_at: Option<Timestamp>,
    pub record_count: u64,
    pub digest: Option<String>,
    pub last_error: Option<String>,
    /// The newest `modified` time of the records the source's writes have held (set with the
    /// records, in the same transaction): where an incremental sync starts. `None` when nothing
    /// was written yet or no record carried a `modified` time.
    pub modified_cursor: Option<DateTime<Utc>>,
}

/// Longest `last_error` kept: an error chain, not a response body.
const MAX_ERROR_LEN: usize = 2_000;

pub(crate) fn truncate_error(error: &str) -> String {
    if error.len() <= MAX_ERROR_LEN {
        return error.to_owned();
    }
    let mut end = MAX_ERROR_LEN;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &error[..end])
}

type FeedSourceRow = (
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A cursor as stored and shown: RFC 3339 in UTC, every fractional digit kept.
pub fn format_cursor(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

pub(crate) fn parse_cursor(op: &'static str, text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| Error::decode(op, "feed source cursor", e))
}

fn from_row(op: &'static str, r: FeedSourceRow) -> Result<FeedSource> {
    Ok(FeedSource {
        name: r.0,
        kind: r.1,
        url: r.2,
        last_attempt_at: r.3.map(Timestamp::from_unix_millis),
        last_success_at: r.4.map(Timestamp::from_unix_millis),
        record_count: u64::try_from(r.5).unwrap_or(0),
        digest: r.6,
        last_error: r.7,
        modified_cursor: r.8.map(|c| parse_cursor(op, &c)).transpose()?,
    })
}

impl Store {
    /// Registers the source (or updates its kind and URL) and records the attempt.
    pub async fn feed_sync_started(&self, spec: &FeedSourceSpec<'_>, now: Timestamp) -> Result<()> {
        const OP: &str = "feed_sync_started";
        let url = redact_url(spec.url);
        with_pool!(self, |pool, _d| {
            sqlx::query(
                "INSERT INTO feed_sources (name, kind, url, last_attempt_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url, \
                 last_attempt_at = excluded.last_attempt_at",
            )
            .bind(spec.name)
            .bind(spec.kind)
            .bind(&url)
            .bind(now.unix_millis())
            .execute(pool)
            .await
            .map_err(query_err(OP))?;
        });
        Ok(())
    }

    /// Registers the source as last synced at `now` up to `cursor`, holding no records: a
    /// scratch store (the feed-sync CronJob's) then syncs an `osv:` source incrementally from
    /// where another store (the operator's) stands, and holds only what changed since.
    pub async fn seed_feed_cursor(
        &self,
        spec: &FeedSourceSpec<'_>,
        cursor: DateTime<Utc>,
        now: Timestamp,
    ) -> Result<()> {
        const OP: &str = "seed_feed_cursor";
        let url = redact_url(spec.url);
        with_pool!(self, |pool, _d| {
            sqlx::query(
                "INSERT INTO feed_sources (name, kind, url, last_attempt_at, last_success_at, \
                 modified_cursor) VALUES ($1, $2, $3, $4, $4, $5) \
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url, \
                 last_attempt_at = excluded.last_attempt_at, \
                 last_success_at = excluded.last_success_at, \
                 modified_cursor = excluded.modified_cursor",
            )
            .bind(spec.name)
            .bind(spec.kind)
            .bind(&url)
            .bind(now.unix_millis())
            .bind(format_cursor(cursor))
            .execute(pool)
            .await
            .map_err(query_err(OP))?;
        });
        Ok(())
    }

    /// Records why the sync failed. The source's data is left as it was. `error` must not hold
    /// secrets (pass redacted URLs); it is truncated to a couple of thousand bytes.
    pub async fn feed_sync_failed(&self, name: &str, error: &str, now: Timestamp) -> Result<()> {
        const OP: &str = "feed_sync_failed";
        let error = truncate_error(error);
        let updated = with_pool!(self, |pool, _d| {
            sqlx::query(
                "UPDATE feed_sources SET last_error = $2, last_attempt_at = $3 WHERE name = $1",
            )
            .bind(name)
            .bind(&error)
            .bind(now.unix_millis())
            .execute(pool)
            .await
            .map_err(query_err(OP))?
            .rows_affected()
        });
        if updated == 0 {
            return Err(super::Error::UnknownSource {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    pub async fn feed_sources(&self) -> Result<Vec<FeedSource>> {
        const OP: &str = "feed_sources";
        const SQL: &str = "SELECT name, kind, url, last_attempt_at, last_success_at, \
                           record_count, digest, last_error, modified_cursor FROM feed_sources \
                           ORDER BY name";
        let rows: Vec<FeedSourceRow> = with_pool!(self, |pool, _d| {
            sqlx::query_as(SQL)
                .fetch_all(pool)
                .await
                .map_err(query_err(OP))?
        });
        rows.into_iter().map(|r| from_row(OP, r)).collect()
    }

    pub async fn feed_source(&self, name: &str) -> Result<Option<FeedSource>> {
        const OP: &str = "feed_source";
        let row: Option<FeedSourceRow> = with_pool!(self, |pool, _d| {
            sqlx::query_as(
                "SELECT name, kind, url, last_attempt_at, last_success_at, record_count, \
                 digest, last_error, modified_cursor FROM feed_sources WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await
            .map_err(query_err(OP))?
        });
        row.map(|r| from_row(OP, r)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::both_backends;
    use crate::store::{Error, Timestamp};

    #[test]
    fn truncates_long_errors_on_a_char_boundary() {
        let long = "é".repeat(MAX_ERROR_LEN);
        let t = truncate_error(&long);
        assert!(t.len() <= MAX_ERROR_LEN + '…'.len_utf8());
        assert!(t.ends_with('…'));
        assert_eq!(truncate_error("short"), "short");
    }

    both_backends! {
        async fn feed_source_lifecycle(db) {
            let store = db.store().await;
            let t1 = Timestamp::from_unix_millis(1_000);
            let spec = FeedSourceSpec {
                name: "debian",
                kind: "osv-zip",
                url: "https://u:hunter2@mirror.example/Debian/all.zip",
            };
            store.feed_sync_started(&spec, t1).await.expect("started");
            store
                .feed_sync_failed("debian", "HTTP 503 from mirror", Timestamp::from_unix_millis(2_000))
                .await
                .expect("failed");
            let s = store.feed_source("debian").await.expect("get").expect("exists");
            assert_eq!(s.url, "https://u:REDACTED@mirror.example/Debian/all.zip");
            assert_eq!(s.last_attempt_at, Some(Timestamp::from_unix_millis(2_000)));
            assert_eq!(s.last_success_at, None);
            assert_eq!(s.last_error.as_deref(), Some("HTTP 503 from mirror"));
            assert_eq!(s.record_count, 0);
            assert_eq!(s.modified_cursor, None, "nothing written yet");
            let err = store
                .feed_sync_failed("nope", "x", t1)
                .await
                .expect_err("unknown source");
            assert!(matches!(err, Error::UnknownSource { .. }), "{err}");
            assert_eq!(store.feed_sources().await.expect("list").len(), 1);

            let cursor = DateTime::parse_from_rfc3339("2024-10-10T12:00:00.5Z").expect("time").to_utc();
            store.seed_feed_cursor(&spec, cursor, Timestamp::from_unix_millis(3_000)).await.expect("seed");
            let s = store.feed_source("debian").await.expect("get").expect("exists");
            assert_eq!(s.modified_cursor, Some(cursor));
            assert_eq!(s.last_success_at, Some(Timestamp::from_unix_millis(3_000)));
            assert_eq!(s.record_count, 0);
        }
    }
}
