//! OSV records by feed source, and one `affected` row per (record, package) for lookups.
//!
//! Writes are per source and atomic: [`Store::replace_source`] swaps a source's whole record
//! set in one transaction (a sync that fails half-way leaves the previous data untouched), and
//! [`Store::upsert_records`] applies an incremental batch. A record whose content digest did
//! not change is not rewritten, so a daily full re-sync of an unchanged feed touches nothing.
//! Every write records which (ecosystem, name) pairs it touched, returned to the caller and kept
//! in `package_changes` ([`Store::changed_since`]) so the operator re-matches only the analyses
//! holding those packages, even after a restart between the sync and the re-match.
//!
//! Every write also moves the source's cursor (`feed_sources.modified_cursor`, in the same
//! transaction): the newest `modified` time of the records applied, withdrawals included. A
//! full replacement sets it to the batch's newest (the data may have gone back in time); an
//! upsert only moves it forward. An incremental sync reads it to know where to start.
//!
//! Traps: withdrawn records are deleted, never stored; an id appearing twice in one batch
//! keeps its last occurrence; `affected[]` entries without a package (GIT-only ranges) are kept
//! in the record but get no lookup row. A `modified` time more than a day after `now` is
//! ignored for the cursor: one record dated 2999 would otherwise hide every later change from
//! incremental syncs. An upsert that changed something recomputes the source's digest from the
//! stored rows ([`versions_digest`]), so it is the digest a full sync of the same data gives.
//!
//! Names in lookup rows are the matcher's index names ([`index_name`]: PyPI names PEP 503
//! normalised, others as written), and [`Store::affected_for`] normalises the names it is asked
//! for the same way: GHSA writes `Jinja2` where PyPA writes `jinja2`, and an image holds
//! `Jinja2` or `jinja2` depending on the installer. The record itself keeps the feed's
//! spelling.

use super::feed_sources::{format_cursor, parse_cursor};
use super::{
    Error, MAX_PARAMS, PackageRef, Result, Store, Timestamp, builder, query_err, sha256_hex,
    sqlite_pairs_query, with_pool,
};
use crate::feeds::osv::{Affected, Record};
use crate::matcher::ecosystem::index_name;
use chrono::{DateTime, Utc};
use futures_util::stream::{BoxStream, StreamExt};
use sha2::Digest as _;
use std::collections::{BTreeSet, HashMap, HashSet};

/// One `affected[]` entry of a stored record, for the matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedRow {
    pub source: String,
    pub advisory_id: String,
    pub package: PackageRef,
    /// The whole OSV entry: ranges, explicit versions, ecosystem- and database-specific data.
    pub affected: Affected,
}

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Stored records absent from a full replacement.
    pub removed: usize,
    /// Stored records the feed now marks withdrawn.
    pub withdrawn: usize,
    /// Packages whose advisories changed (before or after the write), sorted.
    pub touched: Vec<PackageRef>,
}

struct Prepared {
    id: String,
    modified: Option<String>,
    json: String,
    digest: String,
    affected: Vec<PreparedAffected>,
}

/// A batch ready to write.
struct Batch {
    /// Last occurrence of each live id.
    keep: Vec<Prepared>,
    /// Ids the batch withdraws.
    withdrawn: Vec<String>,
    /// The newest `modified` of the records applied (withdrawn ones included), `now` + a day
    /// at most.
    newest: Option<DateTime<Utc>>,
}

/// Cursor candidates later than `now` plus this are ignored.
const CURSOR_FUTURE_SLACK_MS: i64 = 24 * 3_600_000;

struct PreparedAffected {
    ordinal: i64,
    package: PackageRef,
    json: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Replace,
    Upsert,
}

/// Serialises the batch outside the transaction: the records to store (last occurrence of each
/// id wins), the ids the batch withdraws and the newest `modified` time.
fn prepare(op: &'static str, records: &[Record], now: Timestamp) -> Result<Batch> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        last.insert(r.id.as_str(), i);
    }
    let latest_allowed = now.unix_millis().saturating_add(CURSOR_FUTURE_SLACK_MS);
    let mut keep = Vec::with_capacity(last.len());
    let mut withdrawn = Vec::new();
    let mut newest: Option<DateTime<Utc>> = None;
    for (i, r) in records.iter().enumerate() {
        if last.get(r.id.as_str()) != Some(&i) {
            continue;
        }
        let modified = r
            .modified
            .as_deref()
            .and_then(|m| DateTime::parse_from_rfc3339(m.trim()).ok())
            .map(|m| m.to_utc())
            .filter(|m| m.timestamp_millis() <= latest_allowed);
        newest = newest.max(modified);
        if r.withdrawn.is_some() {
            withdrawn.push(r.id.clone());
            continue;
        }
        let json = serde_json::to_string(r).map_err(|e| Error::encode(op, "OSV record", e))?;
        let mut affected = Vec::new();
        for (ordinal, a) in r.affected.iter().enumerate() {
            let Some(pkg) = &a.package else { continue };
            if pkg.ecosystem.trim().is_empty() || pkg.name.trim().is_empty() {
                continue;
            }
            affected.push(PreparedAffected {
                ordinal: i64::try_from(ordinal).unwrap_or(i64::MAX),
                package: PackageRef::new(&pkg.ecosystem, index_name(&pkg.ecosystem, &pkg.name)),
                json: serde_json::to_string(a)
                    .map_err(|e| Error::encode(op, "OSV affected entry", e))?,
            });
        }
        keep.push(Prepared {
            id: r.id.clone(),
            modified: r.modified.clone(),
            digest: sha256_hex(json.as_bytes()),
            json,
            affected,
        });
    }
    Ok(Batch {
        keep,
        withdrawn,
        newest,
    })
}

/// `sha256:` over `id\tmodified\n` of a source's live records sorted by id (an absent
/// `modified` is empty): the feed's content version, the same whether the store was filled by
/// one full sync or by increments.
pub fn versions_digest<'a>(
    versions: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> String {
    let mut lines: Vec<(&str, &str)> = versions
        .into_iter()
        .map(|(id, modified)| (id, modified.unwrap_or("")))
        .collect();
    lines.sort_unstable();
    let mut hasher = sha2::Sha256::new();
    for (id, modified) in lines {
        hasher.update(id.as_bytes());
        hasher.update(b"\t");
        hasher.update(modified.as_bytes());
        hasher.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

type AffectedSqlRow = (String, String, String, String, String);

fn decode_affected(op: &'static str, r: AffectedSqlRow) -> Result<AffectedRow> {
    let affected: Affected =
        serde_json::from_str(&r.4).map_err(|e| Error::decode(op, "OSV affected entry", e))?;
    Ok(AffectedRow {
        source: r.0,
        advisory_id: r.1,
        package: PackageRef {
            ecosystem: r.2,
            name: r.3,
        },
        affected,
    })
}

/// The packages under their index names, each once.
fn dedup_packages(packages: &[PackageRef]) -> Vec<PackageRef> {
    let set: BTreeSet<PackageRef> = packages
        .iter()
        .map(|p| PackageRef::new(&p.ecosystem, index_name(&p.ecosystem, &p.name)))
        .collect();
    set.into_iter().collect()
}

/// SQLite `affected_for`, around the `VALUES` list of pairs.
const AFFECTED_FOR_HEAD: &str =
    "SELECT a.source, a.advisory_id, a.ecosystem, a.name, a.affected FROM";
const AFFECTED_FOR_TAIL: &str =
    "CROSS JOIN affected a ON a.ecosystem = k.column1 AND a.name = k.column2";

impl Store {
    /// Replaces every record of `source` with `records`, in one transaction. On error nothing
    /// changed. An empty `records` empties the source: the caller decides whether a download
    /// that yields nothing is believable. `digest` identifies the feed content (kept when `None`); `now` is stamped as
    /// the source's last success and the touched packages' change time.
    pub async fn replace_source(
        &self,
        source: &str,
        records: &[Record],
        digest: Option<&str>,
        now: Timestamp,
    ) -> Result<SyncOutcome> {
        self.write_source(
            "replace_source",
            Mode::Replace,
            source,
            records,
            digest,
            now,
        )
        .await
    }

    /// Inserts or updates `records` of `source` (incremental sync); records not in the batch
    /// stay. Withdrawn records in the batch are deleted. One transaction.
    pub async fn upsert_records(
        &self,
        source: &str,
        records: &[Record],
        now: Timestamp,
    ) -> Result<SyncOutcome> {
        self.write_source("upsert_records", Mode::Upsert, source, records, None, now)
            .await
    }

    async fn write_source(
        &self,
        op: &'static str,
        mode: Mode,
        source: &str,
        records: &[Record],
        digest: Option<&str>,
        now: Timestamp,
    ) -> Result<SyncOutcome> {
        let Batch {
            keep: prepared,
            withdrawn: withdrawn_ids,
            newest,
        } = prepare(op, records, now)?;
        let mut out = SyncOutcome::default();
        let touched = with_pool!(self, |pool, d| {
            let mut tx = pool
                .begin_with(d.begin_write())
                .await
                .map_err(query_err(op))?;

            let known: Option<Option<String>> =
                sqlx::query_scalar("SELECT modified_cursor FROM feed_sources WHERE name = $1")
                    .bind(source)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(query_err(op))?;
            let Some(stored_cursor) = known else {
                return Err(Error::UnknownSource {
                    name: source.to_owned(),
                });
            };
            let cursor = match mode {
                Mode::Replace => newest,
                Mode::Upsert => {
                    let stored = stored_cursor
                        .as_deref()
                        .map(|c| parse_cursor(op, c))
                        .transpose()?;
                    stored.max(newest)
                }
            };

            // The stored digests this batch is compared against.
            let mut existing: HashMap<String, String> = HashMap::new();
            match mode {
                Mode::Replace => {
                    let rows: Vec<(String, String)> = sqlx::query_as(
                        "SELECT id, content_digest FROM advisories WHERE source = $1",
                    )
                    .bind(source)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(query_err(op))?;
                    existing.extend(rows);
                }
                Mode::Upsert => {
                    let ids: Vec<&str> = prepared
                        .iter()
                        .map(|p| p.id.as_str())
                        .chain(withdrawn_ids.iter().map(String::as_str))
                        .collect();
                    for chunk in ids.chunks(MAX_PARAMS - 1) {
                        let mut qb = builder(
                            pool,
                            "SELECT id, content_digest FROM advisories WHERE source = ",
                        );
                        qb.push_bind(source).push(" AND id IN (");
                        let mut list = qb.separated(", ");
                        for id in chunk {
                            list.push_bind(*id);
                        }
                        qb.push(")");
                        let rows: Vec<(String, String)> = qb
                            .build_query_as()
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(query_err(op))?;
                        existing.extend(rows);
                    }
                }
            }

            let mut to_delete: Vec<&str> = Vec::new();
            let mut to_insert: Vec<&Prepared> = Vec::new();
            for p in &prepared {
                match existing.get(&p.id) {
                    None => {
                        out.inserted += 1;
                        to_insert.push(p);
                    }
                    Some(stored) if *stored == p.digest => out.unchanged += 1,
                    Some(_) => {
                        out.updated += 1;
                        to_delete.push(&p.id);
                        to_insert.push(p);
                    }
                }
            }
            for id in &withdrawn_ids {
                if existing.contains_key(id) {
                    out.withdrawn += 1;
                    to_delete.push(id);
                }
            }
            if mode == Mode::Replace {
                let in_batch: HashSet<&str> = prepared
                    .iter()
                    .map(|p| p.id.as_str())
                    .chain(withdrawn_ids.iter().map(String::as_str))
                    .collect();
                for id in existing.keys() {
                    if !in_batch.contains(id.as_str()) {
                        out.removed += 1;
                        to_delete.push(id);
                    }
                }
            }

            let mut touched: BTreeSet<PackageRef> = BTreeSet::new();
            for chunk in to_delete.chunks(MAX_PARAMS - 1) {
                let mut qb = builder(
                    pool,
                    "SELECT DISTINCT ecosystem, name FROM affected WHERE source = ",
                );
                qb.push_bind(source).push(" AND advisory_id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                qb.push(")");
                let rows: Vec<(String, String)> = qb
                    .build_query_as()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(query_err(op))?;
                touched.extend(rows.into_iter().map(|(e, n)| PackageRef::new(e, n)));

                // `affected` rows go with their advisory (ON DELETE CASCADE).
                let mut qb = builder(pool, "DELETE FROM advisories WHERE source = ");
                qb.push_bind(source).push(" AND id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await.map_err(query_err(op))?;
            }

            for chunk in to_insert.chunks(MAX_PARAMS / 6) {
                let mut qb = builder(
                    pool,
                    "INSERT INTO advisories \
                     (source, id, modified, content_digest, record, updated_at) ",
                );
                qb.push_values(chunk, |mut row, p| {
                    row.push_bind(source)
                        .push_bind(p.id.as_str())
                        .push_bind(p.modified.as_deref())
                        .push_bind(p.digest.as_str())
                        .push_bind(p.json.as_str())
                        .push_bind(now.unix_millis());
                });
                qb.build().execute(&mut *tx).await.map_err(query_err(op))?;
            }

            let rows: Vec<(&str, &PreparedAffected)> = to_insert
                .iter()
                .flat_map(|p| p.affected.iter().map(move |a| (p.id.as_str(), a)))
                .collect();
            for chunk in rows.chunks(MAX_PARAMS / 6) {
                let mut qb = builder(
                    pool,
                    "INSERT INTO affected \
                     (source, advisory_id, ordinal, ecosystem, name, affected) ",
                );
                qb.push_values(chunk, |mut row, (id, a)| {
                    row.push_bind(source)
                        .push_bind(*id)
                        .push_bind(a.ordinal)
                        .push_bind(a.package.ecosystem.as_str())
                        .push_bind(a.package.name.as_str())
                        .push_bind(a.json.as_str());
                });
                qb.build().execute(&mut *tx).await.map_err(query_err(op))?;
            }
            touched.extend(rows.iter().map(|(_, a)| a.package.clone()));

            let touched: Vec<PackageRef> = touched.into_iter().collect();
            for chunk in touched.chunks(MAX_PARAMS / 3) {
                let mut qb = builder(
                    pool,
                    "INSERT INTO package_changes (ecosystem, name, changed_at) ",
                );
                qb.push_values(chunk, |mut row, p| {
                    row.push_bind(p.ecosystem.as_str())
                        .push_bind(p.name.as_str())
                        .push_bind(now.unix_millis());
                });
                qb.push(
                    " ON CONFLICT (ecosystem, name) DO UPDATE SET changed_at = \
                     CASE WHEN excluded.changed_at > package_changes.changed_at \
                     THEN excluded.changed_at ELSE package_changes.changed_at END",
                );
                qb.build().execute(&mut *tx).await.map_err(query_err(op))?;
            }

            let changed = out.inserted + out.updated + out.withdrawn > 0;
            let recomputed = if mode == Mode::Upsert && changed {
                let rows: Vec<(String, Option<String>)> =
                    sqlx::query_as("SELECT id, modified FROM advisories WHERE source = $1")
                        .bind(source)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(query_err(op))?;
                Some(versions_digest(
                    rows.iter().map(|(id, m)| (id.as_str(), m.as_deref())),
                ))
            } else {
                None
            };
            sqlx::query(
                "UPDATE feed_sources SET last_success_at = $2, last_error = NULL, \
                 digest = COALESCE($3, digest), modified_cursor = $4, \
                 record_count = (SELECT COUNT(*) FROM advisories WHERE source = $1) \
                 WHERE name = $1",
            )
            .bind(source)
            .bind(now.unix_millis())
            .bind(recomputed.as_deref().or(digest))
            .bind(cursor.map(format_cursor))
            .execute(&mut *tx)
            .await
            .map_err(query_err(op))?;

            tx.commit().await.map_err(query_err(op))?;
            touched
        });
        out.touched = touched;
        Ok(out)
    }

    /// Every `affected` row, streamed (to build the matcher's in-memory index).
    pub fn load_affected(&self) -> BoxStream<'_, Result<AffectedRow>> {
        const OP: &str = "load_affected";
        const SQL: &str = "SELECT source, advisory_id, ecosystem, name, affected FROM affected";
        let rows: BoxStream<'_, Result<AffectedSqlRow, sqlx::Error>> =
            with_pool!(self, |pool, _d| sqlx::query_as(SQL).fetch(pool));
        rows.map(|r| decode_affected(OP, r.map_err(query_err(OP))?))
            .boxed()
    }

    /// The `affected` rows of these packages, looked up by SQL (batched: one statement per few
    /// thousand packages on SQLite, one in all on PostgreSQL). Names are compared as index
    /// names: asking for PyPI `Jinja2` or `jinja2` finds the same rows, and rows carry the
    /// index name.
    pub async fn affected_for(&self, packages: &[PackageRef]) -> Result<Vec<AffectedRow>> {
        const OP: &str = "affected_for";
        let packages = dedup_packages(packages);
        let packages: Vec<&PackageRef> = packages.iter().collect();
        let mut rows: Vec<AffectedSqlRow> = Vec::new();
        match &self.pool {
            super::Pool::Sqlite(pool) => {
                for chunk in packages.chunks(MAX_PARAMS / 2) {
                    let mut qb =
                        sqlite_pairs_query(pool, AFFECTED_FOR_HEAD, chunk, AFFECTED_FOR_TAIL);
                    rows.extend(
                        qb.build_query_as()
                            .fetch_all(pool)
                            .await
                            .map_err(query_err(OP))?,
                    );
                }
            }
            super::Pool::Postgres(pool) => {
                let (ecosystems, names): (Vec<&str>, Vec<&str>) = packages
                    .iter()
                    .map(|p| (p.ecosystem.as_str(), p.name.as_str()))
                    .unzip();
                rows = sqlx::query_as(
                    "SELECT a.source, a.advisory_id, a.ecosystem, a.name, a.affected \
                     FROM affected a \
                     JOIN UNNEST($1::text[], $2::text[]) AS k(ecosystem, name) \
                     ON a.ecosystem = k.ecosystem AND a.name = k.name",
                )
                .bind(ecosystems)
                .bind(names)
                .fetch_all(pool)
                .await
                .map_err(query_err(OP))?;
            }
        }
        rows.into_iter().map(|r| decode_affected(OP, r)).collect()
    }

    /// Packages whose advisories changed strictly after `since`, sorted.
    pub async fn changed_since(&self, since: Timestamp) -> Result<Vec<PackageRef>> {
        const OP: &str = "changed_since";
        let rows: Vec<(String, String)> = with_pool!(self, |pool, _d| {
            sqlx::query_as("SELECT ecosystem, name FROM package_changes WHERE changed_at > $1")
                .bind(since.unix_millis())
                .fetch_all(pool)
                .await
                .map_err(query_err(OP))?
        });
        // Sorted here, not by ORDER BY: PostgreSQL's collation may order text differently.
        let mut packages: Vec<PackageRef> = rows
            .into_iter()
            .map(|(e, n)| PackageRef::new(e, n))
            .collect();
        packages.sort();
        Ok(packages)
    }

    /// The stored `modified` time of each of these ids that `source` holds (absent ids are left
    /// out): what an incremental sync compares a listing against before fetching a record.
    pub async fn advisory_versions(
        &self,
        source: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, Option<String>>> {
        const OP: &str = "advisory_versions";
        let mut out = HashMap::with_capacity(ids.len());
        with_pool!(self, |pool, _d| {
            for chunk in ids.chunks(MAX_PARAMS - 1) {
                let mut qb = builder(pool, "SELECT id, modified FROM advisories WHERE source = ");
                qb.push_bind(source).push(" AND id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                qb.push(")");
                let rows: Vec<(String, Option<String>)> = qb
                    .build_query_as()
                    .fetch_all(pool)
                    .await
                    .map_err(query_err(OP))?;
                out.extend(rows);
            }
        });
        Ok(out)
    }

    /// The JSON of every record `source` holds, streamed in id order (the feed-sync CronJob
    /// pushes a synced source to the operator from its local store this way, without holding
    /// the records twice).
    pub fn source_record_json<'a>(&'a self, source: &'a str) -> BoxStream<'a, Result<String>> {
        const OP: &str = "source_record_json";
        const SQL: &str = "SELECT record FROM advisories WHERE source = $1 ORDER BY id";
        let rows: BoxStream<'a, Result<String, sqlx::Error>> =
            with_pool!(self, |pool, _d| sqlx::query_scalar(SQL)
                .bind(source)
                .fetch(pool));
        rows.map(|r| r.map_err(query_err(OP))).boxed()
    }

    /// The stored records with these ids, from every source, as `(source, record)` sorted by
    /// source.
    pub async fn advisories_by_id(&self, ids: &[&str]) -> Result<Vec<(String, Record)>> {
        const OP: &str = "advisories_by_id";
        let mut rows: Vec<(String, String)> = Vec::new();
        with_pool!(self, |pool, _d| {
            for chunk in ids.chunks(MAX_PARAMS) {
                let mut qb = builder(pool, "SELECT source, record FROM advisories WHERE id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                qb.push(")");
                rows.extend(
                    qb.build_query_as::<(String, String)>()
                        .fetch_all(pool)
                        .await
                        .map_err(query_err(OP))?,
                );
            }
        });
        rows.sort();
        rows.into_iter()
            .map(|(source, json)| {
                let record =
                    serde_json::from_str(&json).map_err(|e| Error::decode(OP, "OSV record", e))?;
                Ok((source, record))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::format_cursor;
    use crate::store::testing::{both_backends, fixture, osv, register};
    use futures_util::TryStreamExt as _;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn pkg(e: &str, n: &str) -> PackageRef {
        PackageRef::new(e, n)
    }

    async fn all_affected(store: &Store) -> Vec<(String, String, PackageRef)> {
        let mut rows: Vec<_> = store
            .load_affected()
            .map_ok(|r| (r.source, r.advisory_id, r.package))
            .try_collect()
            .await
            .expect("load_affected");
        rows.sort();
        rows
    }

    both_backends! {
        async fn stores_real_records_and_skips_unchanged_ones(db) {
            let store = db.store().await;
            register(&store, "mixed").await;
            let records = [fixture("debian"), fixture("alma"), fixture("atty")];
            let out = store
                .replace_source("mixed", &records, Some("sha256:feed1"), t(100))
                .await
                .expect("replace");
            assert_eq!((out.inserted, out.updated, out.unchanged, out.removed), (3, 0, 0, 0));
            assert_eq!(
                out.touched,
                vec![pkg("AlmaLinux:10", "firefox"), pkg("Debian:12", "sudo"), pkg("crates.io", "atty")]
            );

            let sudo = store.affected_for(&[pkg("Debian:12", "sudo")]).await.expect("lookup");
            assert_eq!(sudo.len(), 1);
            assert_eq!(sudo[0].advisory_id, "DEBIAN-CVE-2005-4890");
            assert_eq!(sudo[0].affected, records[0].affected[0], "ranges round-trip");
            assert!(store.affected_for(&[pkg("Debian:12", "nope")]).await.expect("lookup").is_empty());
            assert!(store.affected_for(&[]).await.expect("lookup").is_empty());

            let stored = store.advisories_by_id(&["ALSA-2025:10073"]).await.expect("by id");
            assert_eq!(stored, vec![("mixed".to_owned(), records[1].clone())]);

            let source = store.feed_source("mixed").await.expect("get").expect("registered");
            assert_eq!(source.record_count, 3);
            assert_eq!(source.digest.as_deref(), Some("sha256:feed1"));
            assert_eq!(source.last_success_at, Some(t(100)));

            // The same feed again: nothing rewritten, nothing touched.
            let again = store
                .replace_source("mixed", &records, None, t(200))
                .await
                .expect("replace again");
            assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 3));
            assert!(again.touched.is_empty());
            assert!(store.changed_since(t(100)).await.expect("changes").is_empty());
            let source = store.feed_source("mixed").await.expect("get").expect("registered");
            assert_eq!(source.digest.as_deref(), Some("sha256:feed1"), "kept when not given");
        }

        async fn replace_source_is_atomic(db) {
            let store = db.store().await;
            register(&store, "npm").await;
            let before = [osv("GHSA-a", &[("npm", "left-pad")], "1.0.1"), osv("GHSA-b", &[("npm", "lodash")], "4.17.21")];
            store.replace_source("npm", &before, Some("d1"), t(100)).await.expect("first sync");
            let rows_before = all_affected(&store).await;

            // GHSA-a changes, GHSA-b disappears (deleted early in the transaction), and a
            // record with an empty id violates `CHECK (id <> '')` on insert.
            let mut broken = osv("", &[("npm", "evil")], "1");
            broken.id = String::new();
            let after = [osv("GHSA-a", &[("npm", "left-pad")], "1.0.2"), broken];
            let err = store
                .replace_source("npm", &after, Some("d2"), t(200))
                .await
                .expect_err("constraint violation");
            assert!(matches!(err, Error::Query { op: "replace_source", .. }), "{err}");
            store.feed_sync_failed("npm", &err.to_string(), t(200)).await.expect("record failure");

            assert_eq!(all_affected(&store).await, rows_before);
            let a = store.advisories_by_id(&["GHSA-a", "GHSA-b"]).await.expect("by id");
            assert_eq!(a.iter().map(|(_, r)| r).collect::<Vec<_>>(), before.iter().collect::<Vec<_>>());
            let source = store.feed_source("npm").await.expect("get").expect("registered");
            assert_eq!((source.record_count, source.digest.as_deref()), (2, Some("d1")));
            assert_eq!(source.last_success_at, Some(t(100)));
            assert_eq!(source.last_error.as_deref(), Some("store operation `replace_source` failed"));
            assert!(store.changed_since(t(100)).await.expect("changes").is_empty());
        }

        async fn withdrawn_records_are_removed(db) {
            let store = db.store().await;
            register(&store, "rustsec").await;
            // The record as it was before RustSec withdrew it.
            let mut live = fixture("dirs-withdrawn");
            live.withdrawn = None;
            store
                .upsert_records("rustsec", &[live, fixture("atty")], t(100))
                .await
                .expect("upsert");
            assert_eq!(store.affected_for(&[pkg("crates.io", "dirs")]).await.expect("lookup").len(), 1);

            let out = store
                .upsert_records("rustsec", &[fixture("dirs-withdrawn")], t(200))
                .await
                .expect("upsert withdrawn");
            assert_eq!((out.withdrawn, out.inserted, out.updated), (1, 0, 0));
            assert_eq!(out.touched, vec![pkg("crates.io", "dirs")]);
            assert!(store.affected_for(&[pkg("crates.io", "dirs")]).await.expect("lookup").is_empty());
            assert!(store.advisories_by_id(&["RUSTSEC-2020-0053"]).await.expect("by id").is_empty());
            assert_eq!(store.affected_for(&[pkg("crates.io", "atty")]).await.expect("lookup").len(), 1);
            assert_eq!(store.changed_since(t(100)).await.expect("changes"), vec![pkg("crates.io", "dirs")]);
            let source = store.feed_source("rustsec").await.expect("get").expect("registered");
            assert_eq!(source.record_count, 1);

            // A full replacement carrying a withdrawn record does not store it either.
            let out = store
                .replace_source("rustsec", &[fixture("dirs-withdrawn"), fixture("atty")], None, t(300))
                .await
                .expect("replace");
            assert_eq!((out.inserted, out.unchanged, out.withdrawn, out.removed), (0, 1, 0, 0));
            assert!(store.advisories_by_id(&["RUSTSEC-2020-0053"]).await.expect("by id").is_empty());
        }

        async fn writes_report_old_and_new_packages(db) {
            let store = db.store().await;
            register(&store, "pypi").await;
            register(&store, "npm").await;
            store
                .replace_source("pypi", &[osv("PYSEC-1", &[("PyPI", "requests")], "2.0"), osv("PYSEC-2", &[("PyPI", "flask")], "1.0")], None, t(100))
                .await
                .expect("pypi");
            // The same id from another source is another row (GHSA ids span exports).
            store
                .replace_source("npm", &[osv("PYSEC-1", &[("npm", "requests")], "1.0")], None, t(100))
                .await
                .expect("npm");
            // PYSEC-1 moves from requests to urllib3; PYSEC-2 leaves the feed.
            let out = store
                .replace_source("pypi", &[osv("PYSEC-1", &[("PyPI", "urllib3")], "2.0")], None, t(200))
                .await
                .expect("replace");
            assert_eq!((out.updated, out.removed), (1, 1));
            let expected = vec![pkg("PyPI", "flask"), pkg("PyPI", "requests"), pkg("PyPI", "urllib3")];
            assert_eq!(out.touched, expected);
            assert_eq!(store.changed_since(t(150)).await.expect("changes"), expected);
            assert_eq!(store.changed_since(t(200)).await.expect("changes"), vec![]);
            assert_eq!(store.changed_since(t(0)).await.expect("changes").len(), 4);
            let npm = store.affected_for(&[pkg("npm", "requests"), pkg("npm", "requests")]).await.expect("lookup");
            assert_eq!(npm.len(), 1, "other sources untouched, duplicates asked once");
        }

        async fn pypi_names_are_stored_and_looked_up_as_index_names(db) {
            let store = db.store().await;
            register(&store, "pypi").await;
            // GHSA spells PyPI names as the project does; PyPA's PYSEC records use `jw.util`.
            let jw_util = include_str!("../../tests/data/osv/pypi-pysec-slice.jsonl")
                .lines()
                .find(|l| l.contains("\"jw.util\""))
                .expect("the jw.util record is in the slice");
            let jw_util = Record::from_json(jw_util.as_bytes()).expect("real record");
            let records = [
                osv("GHSA-jinja", &[("PyPI", "Jinja2")], "2.10.1"),
                jw_util.clone(),
                osv("GHSA-npm", &[("npm", "JSONStream")], "1.0.0"),
            ];
            let out = store.replace_source("pypi", &records, None, t(100)).await.expect("replace");
            assert_eq!(
                out.touched,
                vec![pkg("PyPI", "jinja2"), pkg("PyPI", "jw-util"), pkg("npm", "JSONStream")]
            );
            for (asked, found) in [("jinja2", true), ("Jinja2", true), ("JINJA2", true), ("jinja_2", false)] {
                let rows = store.affected_for(&[pkg("PyPI", asked)]).await.expect("lookup");
                let rows: Vec<(&str, &PackageRef)> =
                    rows.iter().map(|r| (r.advisory_id.as_str(), &r.package)).collect();
                let jinja2 = pkg("PyPI", "jinja2");
                let expected = if found { vec![("GHSA-jinja", &jinja2)] } else { vec![] };
                assert_eq!(rows, expected, "{asked}");
            }
            let rows = store
                .affected_for(&[pkg("PyPI", "jw.util"), pkg("PyPI", "JW_Util")])
                .await
                .expect("lookup");
            assert_eq!(rows.len(), 1, "both spellings are one package");
            assert_eq!(rows[0].advisory_id, "PYSEC-2020-341");
            // Other ecosystems compare names as written (npm names are case-sensitive).
            assert!(store.affected_for(&[pkg("npm", "jsonstream")]).await.expect("lookup").is_empty());
            assert_eq!(store.affected_for(&[pkg("npm", "JSONStream")]).await.expect("lookup").len(), 1);
            // The stored record keeps the feed's spelling.
            let stored = store.advisories_by_id(&["GHSA-jinja", "PYSEC-2020-341"]).await.expect("by id");
            let mut names: Vec<&str> = stored
                .iter()
                .filter_map(|(_, r)| r.affected[0].package.as_ref().map(|p| p.name.as_str()))
                .collect();
            names.sort_unstable();
            assert_eq!(names, ["Jinja2", "jw.util"]);
        }

        async fn the_cursor_follows_the_records_written(db) {
            let store = db.store().await;
            register(&store, "npm").await;
            // 2025-01-01: the cursor ignores times more than a day after it.
            let now = t(1_735_689_600_000);
            let record = |id: &str, modified: Option<&str>, gone: bool| {
                let mut r = osv(id, &[("npm", id)], "1.0.0");
                r.modified = modified.map(str::to_owned);
                r.withdrawn = gone.then(|| "2024-06-01T00:00:00Z".to_owned());
                r
            };
            let cases: Vec<(&str, Mode, Vec<Record>, Option<&str>)> = vec![
                (
                    "a replace takes the batch's newest, in UTC, fractions kept",
                    Mode::Replace,
                    vec![
                        record("A", Some("2024-01-01T00:00:00Z"), false),
                        record("B", Some("2024-03-01T00:00:00.5+01:00"), false),
                        record("C", None, false),
                    ],
                    Some("2024-02-29T23:00:00.500Z"),
                ),
                (
                    "an upsert never moves it back",
                    Mode::Upsert,
                    vec![record("D", Some("2023-01-01T00:00:00Z"), false)],
                    Some("2024-02-29T23:00:00.500Z"),
                ),
                (
                    "a withdrawal counts",
                    Mode::Upsert,
                    vec![record("A", Some("2024-06-01T00:00:00Z"), true)],
                    Some("2024-06-01T00:00:00Z"),
                ),
                (
                    "far-future and unreadable times are ignored",
                    Mode::Upsert,
                    vec![
                        record("E", Some("2999-01-01T00:00:00Z"), false),
                        record("F", Some("2025-01-02T00:00:01Z"), false),
                        record("G", Some("yesterday"), false),
                    ],
                    Some("2024-06-01T00:00:00Z"),
                ),
                (
                    "up to a day after now is believed",
                    Mode::Upsert,
                    vec![record("H", Some("2025-01-02T00:00:00Z"), false)],
                    Some("2025-01-02T00:00:00Z"),
                ),
                (
                    "a replace follows the data back in time",
                    Mode::Replace,
                    vec![record("A", Some("2024-01-01T00:00:00Z"), false)],
                    Some("2024-01-01T00:00:00Z"),
                ),
                ("no time at all clears it", Mode::Replace, vec![record("C", None, false)], None),
            ];
            for (what, mode, records, expected) in cases {
                match mode {
                    Mode::Replace => store.replace_source("npm", &records, None, now).await,
                    Mode::Upsert => store.upsert_records("npm", &records, now).await,
                }
                .expect(what);
                let source = store.feed_source("npm").await.expect("get").expect("registered");
                assert_eq!(source.modified_cursor.map(format_cursor).as_deref(), expected, "{what}");
            }
        }

        async fn upserts_recompute_the_digest_and_versions_are_looked_up(db) {
            let store = db.store().await;
            register(&store, "npm").await;
            register(&store, "other").await;
            let a = osv("GHSA-a", &[("npm", "left-pad")], "1.0.1");
            let mut b = osv("GHSA-b", &[("npm", "lodash")], "4.17.21");
            b.modified = None;
            store.replace_source("npm", &[a.clone(), b.clone()], Some("sha256:given"), t(1)).await.expect("replace");
            store.replace_source("other", &[osv("GHSA-c", &[("npm", "x")], "1")], None, t(1)).await.expect("other");

            let versions = store
                .advisory_versions("npm", &["GHSA-a", "GHSA-b", "GHSA-c", "GHSA-absent"])
                .await
                .expect("versions");
            let expected: HashMap<String, Option<String>> = [
                ("GHSA-a".to_owned(), Some("2025-01-01T00:00:00Z".to_owned())),
                ("GHSA-b".to_owned(), None),
            ]
            .into_iter()
            .collect();
            assert_eq!(versions, expected, "only this source's ids, absent ones left out");
            assert!(store.advisory_versions("npm", &[]).await.expect("none").is_empty());

            // Nothing changed: the digest given by the last full sync stays.
            store.upsert_records("npm", std::slice::from_ref(&a), t(2)).await.expect("upsert");
            let digest = || async {
                store.feed_source("npm").await.expect("get").expect("registered").digest
            };
            assert_eq!(digest().await.as_deref(), Some("sha256:given"));

            // A change: the digest of the rows held, whatever wrote them.
            let mut newer = a.clone();
            newer.modified = Some("2025-02-01T00:00:00Z".into());
            store.upsert_records("npm", &[newer], t(3)).await.expect("upsert");
            let held = versions_digest([("GHSA-b", None), ("GHSA-a", Some("2025-02-01T00:00:00Z"))]);
            assert_eq!(digest().await, Some(held.clone()));
            assert_ne!(held, versions_digest([("GHSA-b", None), ("GHSA-a", Some("2025-01-01T00:00:00Z"))]));
        }

        async fn batches_keep_the_last_occurrence_of_an_id(db) {
            let store = db.store().await;
            register(&store, "npm").await;
            let out = store
                .upsert_records("npm", &[osv("GHSA-x", &[("npm", "a")], "1"), osv("GHSA-x", &[("npm", "b")], "2")], t(1))
                .await
                .expect("upsert");
            assert_eq!(out.inserted, 1);
            assert_eq!(all_affected(&store).await, vec![("npm".into(), "GHSA-x".into(), pkg("npm", "b"))]);
            let err = store.upsert_records("unregistered", &[], t(1)).await.expect_err("unknown");
            assert!(matches!(err, Error::UnknownSource { .. }), "{err}");
        }

        async fn load_affected_streams_10k_rows(db) {
            let store = db.store().await;
            register(&store, "gen").await;
            // 5 000 records, 2 packages each: 10 000 rows over 1 000 packages.
            let records: Vec<_> = (0..5_000)
                .map(|i| {
                    let a = format!("pkg-{}", i % 1_000);
                    let b = format!("pkg-{}", (i + 1) % 1_000);
                    osv(&format!("GEN-{i}"), &[("npm", &a), ("npm", &b)], "9.9.9")
                })
                .collect();
            let out = store.replace_source("gen", &records, None, t(1)).await.expect("fill");
            assert_eq!((out.inserted, out.touched.len()), (5_000, 1_000));
            let loaded: Vec<AffectedRow> = store.load_affected().try_collect().await.expect("load");
            assert_eq!(loaded.len(), 10_000);
            assert!(loaded.iter().all(|r| r.affected.ranges[0].events[1].fixed.as_deref() == Some("9.9.9")));

            // The SQL lookup agrees with filtering the loaded rows.
            let wanted = [pkg("npm", "pkg-7"), pkg("npm", "pkg-999"), pkg("npm", "absent")];
            let mut by_sql: Vec<(String, PackageRef)> = store
                .affected_for(&wanted)
                .await
                .expect("lookup")
                .into_iter()
                .map(|r| (r.advisory_id, r.package))
                .collect();
            let mut by_scan: Vec<(String, PackageRef)> = loaded
                .into_iter()
                .filter(|r| wanted.contains(&r.package))
                .map(|r| (r.advisory_id, r.package))
                .collect();
            by_sql.sort();
            by_scan.sort();
            assert_eq!(by_sql.len(), 20);
            assert_eq!(by_sql, by_scan);

            // SQLite must search the (ecosystem, name) index, not scan the table.
            if let crate::store::Pool::Sqlite(pool) = &store.pool {
                let wanted: Vec<&PackageRef> = wanted.iter().collect();
                let head = format!("EXPLAIN QUERY PLAN {AFFECTED_FOR_HEAD}");
                let plan: Vec<(i64, i64, i64, String)> =
                    sqlite_pairs_query(pool, &head, &wanted, AFFECTED_FOR_TAIL)
                        .build_query_as()
                        .fetch_all(pool)
                        .await
                        .expect("query plan");
                let plan: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
                assert!(
                    plan.iter().any(|l| l.contains("USING INDEX affected_by_package"))
                        && !plan.iter().any(|l| l.starts_with("SCAN a")),
                    "{plan:?}"
                );
            }
        }
    }
}
