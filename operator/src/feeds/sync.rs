//! Syncing feed sources into the store: load a source, replace its records in one transaction,
//! and record how it went (`feed_sources`), so a stale or failing feed is visible, not silent.
//!
//! A [`Target`] is one stored source. A path, a directory or a URL is one target named by the
//! spec as written (redacted); an `osv:` spec is one target per ecosystem, named `osv:<eco>`.
//!
//! Incremental sync: an `osv:` ecosystem that synced before is brought up to date from its
//! `modified_id.csv` (the records changed since the source's cursor, fetched one by one and
//! upserted, withdrawn ones deleted; `incremental`), falling back to `all.zip` when that cannot
//! work. Every other source is read whole, and the store rewrites only the records whose
//! content changed: re-syncing unchanged data writes no record and reports no package as
//! changed (`Store::changed_since`), so the operator re-matches nothing.
//!
//! Traps:
//! - A source is replaced as a whole, so it is written only when every piece of it loaded: a
//!   corrupt zip in a directory of five fails the source and keeps its previous records (writing
//!   the other four would delete the records of the fifth).
//! - `osv:PyPI,npm` is two sources: a 404 on one ecosystem does not hold back the other, and
//!   the name `osv:npm` does not depend on the mirror it came from (switching to a mirror keeps
//!   the source and its history; the mirror shows in its URL).
//! - A load that yields no live record while the store holds some for the source is a
//!   failure, not an emptying: an emptied mirror directory or a placeholder file is far more
//!   likely than a feed that retracted everything.
//! - Bad records are skipped and counted, never fatal; records filed only under ecosystems the
//!   matcher never asks for (`Ubuntu:Pro:…`, `Hex`) are stored but reported, since they cannot
//!   match anything.

mod incremental;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

pub use incremental::MAX_FETCHES;
use incremental::Step;

use crate::feeds::osv::Record;
use crate::feeds::read::Skipped;
use crate::feeds::source::{self, Loader, OsvExports, SourceSpec};
use crate::matcher::ecosystem::is_queried;
use crate::store::{self, FeedSourceSpec, Store, SyncOutcome, Timestamp};

/// One source as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Stable and free of credentials: the key of the source in the store.
    pub name: String,
    pub spec: SourceSpec,
}

impl Target {
    /// The kind recorded in the store.
    pub fn kind(&self) -> &'static str {
        match &self.spec {
            SourceSpec::Path(_) => "path",
            SourceSpec::Dir(_) => "dir",
            SourceSpec::Url(_) => "url",
            SourceSpec::OsvExports(_) => "osv-exports",
        }
    }

    /// Where the data comes from, redacted: the path, the URL, the ecosystem's `all.zip`.
    pub fn location(&self) -> String {
        match &self.spec {
            SourceSpec::OsvExports(exports) => exports
                .ecosystems()
                .first()
                .map(|e| exports.all_zip_url(e).to_string())
                .unwrap_or_default(),
            spec => spec.to_string(),
        }
    }
}

/// The stored sources a spec stands for: one per ecosystem for `osv:`, else one.
pub fn targets(spec: &SourceSpec) -> Vec<Target> {
    match spec {
        SourceSpec::OsvExports(exports) => exports
            .ecosystems()
            .iter()
            .filter_map(|eco| {
                // Always `Ok`: the base and the name were accepted by `exports` already.
                let single = OsvExports::new(exports.base().clone(), vec![eco.clone()]).ok()?;
                Some(Target {
                    name: format!("osv:{eco}"),
                    spec: SourceSpec::OsvExports(single),
                })
            })
            .collect(),
        spec => vec![Target {
            name: spec.to_string(),
            spec: spec.clone(),
        }],
    }
}

/// How a source was synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncMode {
    /// Everything loaded, the source's records replaced.
    Full,
    /// A full sync where an incremental one was tried first, and why that was not enough.
    FullFallback(String),
    /// Only what changed since the cursor: the ids `modified_id.csv` listed and how many of
    /// them were fetched (the others were held already at that version).
    Incremental {
        since: DateTime<Utc>,
        listed: usize,
        fetched: usize,
    },
}

/// How one source's sync went.
#[derive(Debug)]
pub struct SyncReport {
    pub name: String,
    pub mode: SyncMode,
    /// Records read (withdrawn ones included); for an incremental sync, the records fetched.
    pub records: usize,
    /// Records the feed marks withdrawn (removed from the store, never stored).
    pub withdrawn: usize,
    /// An incremental sync's withdrawn records themselves (empty for a full sync): the store
    /// deletes them, so a client forwarding the increment elsewhere (the feed-sync CronJob)
    /// takes them from here.
    pub withdrawn_records: Vec<Record>,
    /// Bad records left out.
    pub skipped: Vec<Skipped>,
    /// Ecosystems the matcher never queries, with how many live records are filed only
    /// under them or also under them; most records first.
    pub unknown_ecosystems: Vec<(String, usize)>,
    pub result: Result<Synced, SyncFailure>,
}

#[derive(Debug)]
pub struct Synced {
    pub write: SyncOutcome,
    /// Records the store holds for the source now.
    pub stored: u64,
    /// `sha256:` over the sorted ids and modification times of the records held: the feed's
    /// content version ([`content_digest`]).
    pub digest: Option<String>,
    /// The newest `modified` time held: where the next incremental sync starts.
    pub cursor: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub struct SyncFailure {
    /// Redacted: the loaders and the store never print credentials.
    pub error: String,
    /// Records kept from the last successful sync.
    pub kept: u64,
    pub last_success: Option<Timestamp>,
}

/// Syncs one source. A load or write failure is reported in [`SyncReport::result`] and recorded
/// with `feed_sync_failed`; only a store that cannot record anything is an `Err`.
///
/// An `osv:` ecosystem synced successfully before, with a cursor, is synced incrementally
/// (`incremental`); it falls back to a full sync when the listing is missing, too long, or
/// names a record that is not there.
pub async fn sync(
    store: &Store,
    loader: &Loader,
    target: &Target,
    now: Timestamp,
) -> Result<SyncReport, store::Error> {
    let location = target.location();
    store
        .feed_sync_started(
            &FeedSourceSpec {
                name: &target.name,
                kind: target.kind(),
                url: &location,
            },
            now,
        )
        .await?;
    let previous = store.feed_source(&target.name).await?;
    let run = Run {
        store,
        loader,
        target,
        now,
        kept: previous.as_ref().map_or(0, |s| s.record_count),
        last_success: previous.as_ref().and_then(|s| s.last_success_at),
    };
    let cursor = previous
        .as_ref()
        .filter(|s| s.last_success_at.is_some())
        .and_then(|s| s.modified_cursor);
    let mut mode = SyncMode::Full;
    if let SourceSpec::OsvExports(exports) = &target.spec
        && let [ecosystem] = exports.ecosystems()
        && let Some(since) = cursor
    {
        match run.incremental(exports, ecosystem, since).await? {
            Step::Go(report) => return Ok(report),
            Step::Full(reason) => mode = SyncMode::FullFallback(reason),
        }
    }
    run.full(mode).await
}

/// One sync in progress.
struct Run<'a> {
    store: &'a Store,
    loader: &'a Loader,
    target: &'a Target,
    now: Timestamp,
    /// Records held before the sync.
    kept: u64,
    last_success: Option<Timestamp>,
}

impl Run<'_> {
    /// A report on `records` with no result yet.
    fn report(&self, mode: SyncMode, records: &[Record], skipped: Vec<Skipped>) -> SyncReport {
        let withdrawn_records = if matches!(mode, SyncMode::Incremental { .. }) {
            records
                .iter()
                .filter(|r| r.withdrawn.is_some())
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        SyncReport {
            name: self.target.name.clone(),
            mode,
            records: records.len(),
            withdrawn: records.iter().filter(|r| r.withdrawn.is_some()).count(),
            withdrawn_records,
            skipped,
            unknown_ecosystems: unknown_ecosystems(records),
            result: Err(SyncFailure {
                error: String::new(),
                kept: self.kept,
                last_success: self.last_success,
            }),
        }
    }

    /// Records the failure; the stored records stay.
    async fn failed(
        &self,
        mut report: SyncReport,
        error: String,
    ) -> Result<SyncReport, store::Error> {
        self.store
            .feed_sync_failed(&self.target.name, &error, self.now)
            .await?;
        report.result = Err(SyncFailure {
            error,
            kept: self.kept,
            last_success: self.last_success,
        });
        Ok(report)
    }

    /// The report of a write.
    async fn written(
        &self,
        mut report: SyncReport,
        write: Result<SyncOutcome, store::Error>,
    ) -> Result<SyncReport, store::Error> {
        let write = match write {
            Ok(write) => write,
            Err(e) => return self.failed(report, e.to_string()).await,
        };
        let source = self.store.feed_source(&self.target.name).await?;
        report.result = Ok(Synced {
            write,
            stored: source.as_ref().map_or(0, |s| s.record_count),
            digest: source.as_ref().and_then(|s| s.digest.clone()),
            cursor: source.and_then(|s| s.modified_cursor),
        });
        Ok(report)
    }

    /// Loads every piece of the source and replaces its records, or keeps them all.
    async fn full(&self, mode: SyncMode) -> Result<SyncReport, store::Error> {
        let loaded = source::load(&self.target.spec, self.loader).await;
        let mut records: Vec<Record> = Vec::new();
        let mut skipped: Vec<Skipped> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        let pieces = loaded.len();
        for piece in loaded {
            match piece.result {
                Ok((_, outcome)) => {
                    records.extend(outcome.records);
                    skipped.extend(outcome.skipped);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        let report = self.report(mode, &records, skipped);
        let failure = if !errors.is_empty() {
            Some(if pieces > 1 {
                format!(
                    "{} of {pieces} files failed, nothing written: {}",
                    errors.len(),
                    errors.join("; ")
                )
            } else {
                errors.join("; ")
            })
        } else if pieces == 0 {
            Some("no feed files found (.json, .jsonl, .ndjson or .zip)".to_owned())
        } else if records.len() == report.withdrawn && self.kept > 0 {
            Some(format!(
                "the source yielded no records; keeping the {} stored",
                self.kept
            ))
        } else {
            None
        };
        if let Some(error) = failure {
            return self.failed(report, error).await;
        }
        let digest = content_digest(&records);
        let write = self
            .store
            .replace_source(&self.target.name, &records, Some(&digest), self.now)
            .await;
        self.written(report, write).await
    }

    /// Fetches what changed since `since` and upserts it, or says why a full sync is needed.
    async fn incremental(
        &self,
        exports: &OsvExports,
        ecosystem: &str,
        since: DateTime<Utc>,
    ) -> Result<Step<SyncReport>, store::Error> {
        let mode = |listed, fetched| SyncMode::Incremental {
            since,
            listed,
            fetched,
        };
        let listed = match incremental::list(self.loader, exports, ecosystem, since).await {
            Ok(Step::Go(listed)) => listed,
            Ok(Step::Full(reason)) => return Ok(Step::Full(reason)),
            Err(e) => {
                let report = self.report(mode(0, 0), &[], Vec::new());
                return self.failed(report, e.to_string()).await.map(Step::Go);
            }
        };
        let ids: Vec<&str> = listed.iter().map(|m| m.id.as_str()).collect();
        let held = self
            .store
            .advisory_versions(&self.target.name, &ids)
            .await?;
        let listed_count = listed.len();
        let wanted = incremental::to_fetch(listed, &held);
        let mode = mode(listed_count, wanted.len());
        let outcome = match incremental::fetch(self.loader, exports, ecosystem, &wanted).await {
            Ok(Step::Go(outcome)) => outcome,
            Ok(Step::Full(reason)) => return Ok(Step::Full(reason)),
            Err(e) => {
                let report = self.report(mode, &[], Vec::new());
                return self.failed(report, e.to_string()).await.map(Step::Go);
            }
        };
        let report = self.report(mode, &outcome.records, outcome.skipped);
        let write = self
            .store
            .upsert_records(&self.target.name, &outcome.records, self.now)
            .await;
        self.written(report, write).await.map(Step::Go)
    }
}

/// `sha256:` over `id\tmodified\n` of the live records sorted by id, each id once (its last
/// occurrence, as the store keeps it): changes whenever a record is added, removed or
/// modified, without serialising every record a second time. The store computes the same over
/// its rows after an incremental write ([`store::versions_digest`]).
pub fn content_digest(records: &[Record]) -> String {
    let mut last: HashMap<&str, &Record> = HashMap::with_capacity(records.len());
    for r in records {
        last.insert(r.id.as_str(), r);
    }
    store::versions_digest(
        last.into_values()
            .filter(|r| r.withdrawn.is_none())
            .map(|r| (r.id.as_str(), r.modified.as_deref())),
    )
}

/// Ecosystems of live records that the matcher never queries, with record counts.
fn unknown_ecosystems(records: &[Record]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records.iter().filter(|r| r.withdrawn.is_none()) {
        let unknown: BTreeSet<&str> = r
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .map(|p| p.ecosystem.as_str())
            .filter(|e| !is_queried(e))
            .collect();
        for e in unknown {
            *counts.entry(e).or_default() += 1;
        }
    }
    let mut out: Vec<(String, usize)> =
        counts.into_iter().map(|(e, n)| (e.to_owned(), n)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod resync_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::read::ReadLimits;
    use crate::feeds::source::FetchConfig;
    use crate::store::testing::both_backends;

    const PYPI: &str = include_str!("../../tests/data/osv/pypi-pysec-slice.jsonl");
    const NPM: &str = include_str!("../../tests/data/osv/ghsa-npm-lodash.jsonl");

    fn loader() -> Loader {
        let config = FetchConfig {
            use_env_proxy: false,
            ..FetchConfig::default()
        };
        Loader::new(&config, ReadLimits::default()).expect("loader")
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn osv_specs_are_one_target_per_ecosystem() {
        let spec: SourceSpec = "osv:PyPI,Debian@https://u:s3cret@mirror.example/osv"
            .parse()
            .expect("spec");
        let targets = targets(&spec);
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["osv:PyPI", "osv:Debian"]);
        assert_eq!(
            targets[1].location(),
            "https://***@mirror.example/osv/Debian/all.zip"
        );
        assert_eq!(targets[0].kind(), "osv-exports");
        let spec: SourceSpec = "https://u:s3cret@feeds.example/all.zip"
            .parse()
            .expect("url");
        let targets = super::targets(&spec);
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].name, "https://***@feeds.example/all.zip");
        assert_eq!(targets[0].kind(), "url");
    }

    #[test]
    fn digest_follows_ids_and_modified_times_not_order() {
        let mut records: Vec<Record> = PYPI
            .lines()
            .map(|l| Record::from_json(l.as_bytes()).expect("record"))
            .collect();
        let a = content_digest(&records);
        records.reverse();
        assert_eq!(content_digest(&records), a);
        records[0].modified = Some("2030-01-01T00:00:00Z".into());
        assert_ne!(content_digest(&records), a);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64, "{a}");
    }

    #[test]
    fn unknown_ecosystems_are_counted_per_record() {
        let record = |id: &str, ecosystems: &[&str]| {
            let affected: Vec<serde_json::Value> = ecosystems
                .iter()
                .map(|e| serde_json::json!({"package": {"ecosystem": e, "name": "x"}}))
                .collect();
            serde_json::from_value::<Record>(serde_json::json!({"id": id, "affected": affected}))
                .expect("record")
        };
        let records = [
            record("A", &["Hex", "Hex", "npm"]),
            record("B", &["Hex"]),
            record("C", &["Ubuntu:Pro:22.04:LTS"]),
            record("D", &["Debian:12"]),
        ];
        assert_eq!(
            unknown_ecosystems(&records),
            vec![("Hex".into(), 2), ("Ubuntu:Pro:22.04:LTS".into(), 1)]
        );
    }

    both_backends! {
        async fn failed_pieces_keep_the_previous_records(db) {
            let store = db.store().await;
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join("pypi.jsonl"), PYPI).expect("write");
            let target = &targets(&SourceSpec::Dir(dir.path().to_path_buf()))[0];
            let first = sync(&store, &loader(), target, t(1_000)).await.expect("sync");
            let synced = first.result.as_ref().expect("synced");
            assert_eq!((first.records, synced.stored, synced.write.inserted), (6, 6, 6));
            assert!(first.skipped.is_empty() && first.unknown_ecosystems.is_empty());

            // A second file is corrupt: nothing is written, the six records stay.
            std::fs::write(dir.path().join("npm.jsonl"), NPM).expect("write");
            std::fs::write(dir.path().join("broken.zip"), b"PK\x03\x04 not really").expect("write");
            let second = sync(&store, &loader(), target, t(2_000)).await.expect("sync");
            let failure = second.result.as_ref().expect_err("a corrupt zip");
            assert!(failure.error.starts_with("1 of 3 files failed, nothing written: "), "{}", failure.error);
            assert_eq!((failure.kept, failure.last_success), (6, Some(t(1_000))));
            let source = store.feed_source(&target.name).await.expect("get").expect("known");
            assert_eq!(source.record_count, 6);
            assert_eq!(source.last_success_at, Some(t(1_000)));
            assert_eq!(source.last_attempt_at, Some(t(2_000)));
            assert_eq!(source.last_error.as_deref(), Some(failure.error.as_str()));

            // Fixed, plus a bad line: it is skipped and the rest is written.
            std::fs::remove_file(dir.path().join("broken.zip")).expect("rm");
            std::fs::write(dir.path().join("bad.jsonl"), "{\"id\": 7}\n").expect("write");
            let third = sync(&store, &loader(), target, t(3_000)).await.expect("sync");
            let synced = third.result.as_ref().expect("synced");
            assert_eq!((synced.stored, synced.write.inserted, synced.write.unchanged), (9, 3, 6));
            assert_eq!(third.skipped.len(), 1);
            assert!(third.skipped[0].location.ends_with("bad.jsonl:1"), "{:?}", third.skipped);
            let source = store.feed_source(&target.name).await.expect("get").expect("known");
            assert_eq!((source.last_error, &source.digest), (None, &synced.digest));

            // An emptied directory is not believed.
            for f in ["pypi.jsonl", "npm.jsonl", "bad.jsonl"] {
                std::fs::remove_file(dir.path().join(f)).expect("rm");
            }
            std::fs::write(dir.path().join("empty.jsonl"), "").expect("write");
            let emptied = sync(&store, &loader(), target, t(4_000)).await.expect("sync");
            let failure = emptied.result.as_ref().expect_err("empty");
            assert_eq!(failure.error, "the source yielded no records; keeping the 9 stored");
            assert_eq!(store.feed_source(&target.name).await.expect("get").expect("known").record_count, 9);
        }
    }
}
