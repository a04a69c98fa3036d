//! Syncing the same source again, on real PyPI records (`shared/vulndata/osv/pypi-pysec.jsonl`):
//! an OSV export mirror served over HTTP from a directory the test changes between syncs, and
//! every local layout (directory, JSON lines, zip, JSON array).

use std::io::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use plimsoll_analyzer::model::{Package, PackageKind};

use super::*;
use crate::feeds::read::ReadLimits;
use crate::feeds::source::FetchConfig;
use crate::feeds::source::test_server::TestServer;
use crate::feeds::test_data;
use crate::matcher::match_packages;
use crate::store::PackageRef;
use crate::store::testing::both_backends;

/// Five PyPI records of five packages. Newest `modified` first: adyen (2023-01-24), admesh,
/// aim, accesscontrol, aiohttp-session.
const IDS: [&str; 5] = [
    "PYSEC-2023-1",
    "PYSEC-2022-182",
    "PYSEC-2021-839",
    "PYSEC-2021-335",
    "PYSEC-2018-35",
];
const ADYEN: usize = 0;
const ADMESH: usize = 1;
const AIM: usize = 2;
const ACCESSCONTROL: usize = 3;
const AIOHTTP_SESSION: usize = 4;

/// An affected version of each record's package, for matching.
const INSTALLED: [(&str, &str); 5] = [
    ("adyen", "2.2.0"),
    ("admesh", "0.96"),
    ("aim", "2.0.19"),
    ("accesscontrol", "4.0"),
    ("aiohttp-session", "0.1.0"),
];

/// The records of [`IDS`], in that order, or `None` when the corpus is absent (outside CI).
fn real_records() -> Option<Vec<Record>> {
    let jsonl = test_data::read("osv/pypi-pysec.jsonl")?;
    let all: Vec<Record> = jsonl
        .split(|&b| b == b'\n')
        .filter(|line| IDS.iter().any(|id| contains(line, id)))
        .map(|line| Record::from_json(line).expect("a real record"))
        .collect();
    let records: Vec<Record> = IDS
        .iter()
        .map(|id| {
            all.iter()
                .find(|r| r.id == *id)
                .cloned()
                .unwrap_or_else(|| panic!("{id} is in pypi-pysec.jsonl"))
        })
        .collect();
    Some(records)
}

fn contains(line: &[u8], id: &str) -> bool {
    let quoted = format!("\"id\": \"{id}\"");
    line.windows(quoted.len()).any(|w| w == quoted.as_bytes())
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").to_utc()
}

/// 2025-01-01 plus `hours`: after every `modified` time used here.
fn t(hours: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_735_689_600_000 + hours * 3_600_000)
}

fn loader() -> Loader {
    let config = FetchConfig {
        use_env_proxy: false,
        connect_timeout: std::time::Duration::from_secs(10),
        read_timeout: std::time::Duration::from_secs(10),
        timeout: std::time::Duration::from_secs(30),
        ..FetchConfig::default()
    };
    Loader::new(&config, ReadLimits::default()).expect("loader")
}

/// The record as a new upstream version: the last `fixed` of its `ECOSYSTEM` range moved and a
/// newer `modified`.
fn changed(record: &Record, modified: &str, fixed: &str) -> Record {
    let mut r = record.clone();
    r.modified = Some(modified.to_owned());
    let event = r
        .affected
        .iter_mut()
        .flat_map(|a| a.ranges.iter_mut())
        .filter(|range| range.kind == "ECOSYSTEM")
        .flat_map(|range| range.events.iter_mut())
        .filter(|e| e.fixed.is_some())
        .last()
        .expect("a fixed event");
    event.fixed = Some(fixed.to_owned());
    r
}

fn withdrawn(record: &Record, when: &str) -> Record {
    let mut r = record.clone();
    r.modified = Some(when.to_owned());
    r.withdrawn = Some(when.to_owned());
    r
}

fn json(record: &Record) -> Vec<u8> {
    serde_json::to_vec(record).expect("serialise")
}

fn zip_of(records: &[Record]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for r in records {
        writer
            .start_file(
                format!("{}.json", r.id),
                zip::write::SimpleFileOptions::default(),
            )
            .expect("entry");
        writer.write_all(&json(r)).expect("write");
    }
    writer.finish().expect("zip").into_inner()
}

/// `modified_id.csv` as OSV writes it: one line per record, newest first.
fn csv_of(records: &[Record]) -> String {
    let mut lines: Vec<(DateTime<Utc>, &str)> = records
        .iter()
        .map(|r| (at(r.modified.as_deref().expect("modified")), r.id.as_str()))
        .collect();
    lines.sort_by(|a, b| b.cmp(a));
    lines
        .iter()
        .map(|(m, id)| {
            format!(
                "{},{id}\n",
                m.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            )
        })
        .collect()
}

/// The OSV export layout of one ecosystem: `all.zip`, `modified_id.csv`, `<ID>.json`.
fn write_mirror(ecosystem_dir: &Path, records: &[Record]) {
    std::fs::create_dir_all(ecosystem_dir).expect("mkdir");
    std::fs::write(ecosystem_dir.join("all.zip"), zip_of(records)).expect("write");
    std::fs::write(ecosystem_dir.join("modified_id.csv"), csv_of(records)).expect("write");
    for r in records {
        std::fs::write(ecosystem_dir.join(format!("{}.json", r.id)), json(r)).expect("write");
    }
}

/// The paths requested after the first `skip` requests, sorted (records are fetched
/// concurrently).
fn requested(server: &TestServer, skip: usize) -> Vec<String> {
    let mut paths: Vec<String> = server.requests()[skip..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    paths.sort();
    paths
}

fn pypi(index: usize) -> PackageRef {
    PackageRef::new("PyPI", INSTALLED[index].0)
}

/// Advisory id and fixed versions of every match of the installed packages.
async fn matches(store: &Store) -> Vec<(String, Vec<String>)> {
    let packages: Vec<Package> = INSTALLED
        .iter()
        .map(|(name, version)| Package::new(PackageKind::Python, *name, *version))
        .collect();
    let refs: Vec<PackageRef> = (0..INSTALLED.len()).map(pypi).collect();
    let index = crate::vulns::candidate_index(store, &refs)
        .await
        .expect("candidates");
    let mut found: Vec<(String, Vec<String>)> = match_packages(&packages, None, &index)
        .matches
        .into_iter()
        .flat_map(|m| {
            let fixed = m.fixed_versions.clone();
            m.advisories.into_iter().map(move |a| (a, fixed.clone()))
        })
        .collect();
    found.sort();
    found
}

/// `(inserted, updated, unchanged, removed, withdrawn)`.
fn counts(synced: &Synced) -> (usize, usize, usize, usize, usize) {
    let w = &synced.write;
    (w.inserted, w.updated, w.unchanged, w.removed, w.withdrawn)
}

both_backends! {
    async fn osv_exports_sync_incrementally_from_the_cursor(db) {
        let Some(original) = real_records() else { return };
        let store = db.store().await;
        let mirror = tempfile::tempdir().expect("tempdir");
        let pypi_dir = mirror.path().join("osv/PyPI");
        let server = TestServer::serve_dir(mirror.path());
        let base = format!("http://{}/osv", server.addr());
        let spec: SourceSpec = format!("osv:PyPI@{base}").parse().expect("spec");
        let target = &targets(&spec)[0];
        let csv_url = format!("{base}/PyPI/modified_id.csv");
        let path = |file: &str| format!("/osv/PyPI/{file}");

        // 1. Never synced: the whole all.zip, and the cursor is its newest record.
        write_mirror(&pypi_dir, &original);
        let first = sync(&store, &loader(), target, t(0)).await.expect("sync");
        assert_eq!(first.mode, SyncMode::Full);
        let synced = first.result.as_ref().expect("synced");
        assert_eq!((counts(synced), synced.stored), ((5, 0, 0, 0, 0), 5));
        let cursor = at("2023-01-24T00:00:00Z");
        assert_eq!(synced.cursor, Some(cursor));
        assert_eq!(requested(&server, 0), [path("all.zip")]);
        let before = matches(&store).await;
        assert_eq!(before.len(), 5, "each installed version is affected: {before:?}");

        // 2. aim changed and admesh withdrawn upstream: the listing since the cursor names
        // them and adyen (at the cursor, held already), so only the two are fetched.
        let mut current = original.clone();
        current[AIM] = changed(&original[AIM], "2024-11-01T00:00:00.25Z", "3.0.0");
        current[ADMESH] = withdrawn(&original[ADMESH], "2024-11-02T00:00:00Z");
        write_mirror(&pypi_dir, &current);
        let seen = server.requests().len();
        let second = sync(&store, &loader(), target, t(1)).await.expect("sync");
        assert_eq!(
            second.mode,
            SyncMode::Incremental { since: cursor, listed: 3, fetched: 2 }
        );
        assert_eq!(
            requested(&server, seen),
            [path("PYSEC-2021-839.json"), path("PYSEC-2022-182.json"), path("modified_id.csv")]
        );
        let synced = second.result.as_ref().expect("synced");
        assert_eq!((counts(synced), synced.stored), ((0, 1, 0, 0, 1), 4));
        assert_eq!((second.records, second.withdrawn), (2, 1));
        assert_eq!(synced.cursor, Some(at("2024-11-02T00:00:00Z")));
        assert_eq!(synced.write.touched, vec![pypi(ADMESH), pypi(AIM)]);
        assert_eq!(store.changed_since(t(0)).await.expect("changes"), vec![pypi(ADMESH), pypi(AIM)]);
        assert_eq!(
            synced.digest.as_deref(),
            Some(content_digest(&current).as_str()),
            "the digest a full sync of the same data gives"
        );
        let aim = store.advisories_by_id(&[IDS[AIM]]).await.expect("by id");
        assert_eq!(aim, vec![(target.name.clone(), current[AIM].clone())]);
        assert!(store.advisories_by_id(&[IDS[ADMESH]]).await.expect("by id").is_empty());
        let after = matches(&store).await;
        let expected: Vec<(String, Vec<String>)> = before
            .iter()
            .filter(|(id, _)| id != IDS[ADMESH])
            .map(|(id, fixed)| {
                let fixed = if id == IDS[AIM] { vec!["3.0.0".to_owned()] } else { fixed.clone() };
                (id.clone(), fixed)
            })
            .collect();
        assert_eq!(after, expected, "admesh no longer matches; aim has its new fix");

        // 3. A listed record missing from the mirror: the whole all.zip instead. admesh sits at
        // the cursor and is not held (withdrawn), so it is fetched again.
        current[AIOHTTP_SESSION] =
            changed(&original[AIOHTTP_SESSION], "2024-11-03T00:00:00Z", "2.8.0");
        write_mirror(&pypi_dir, &current);
        std::fs::remove_file(pypi_dir.join("PYSEC-2018-35.json")).expect("rm");
        let seen = server.requests().len();
        let third = sync(&store, &loader(), target, t(2)).await.expect("sync");
        assert_eq!(
            third.mode,
            SyncMode::FullFallback("PYSEC-2018-35.json is listed but missing (HTTP status 404)".into())
        );
        assert_eq!(
            requested(&server, seen),
            [
                path("PYSEC-2018-35.json"),
                path("PYSEC-2022-182.json"),
                path("all.zip"),
                path("modified_id.csv")
            ]
        );
        let synced = third.result.as_ref().expect("synced");
        assert_eq!((counts(synced), synced.stored), ((0, 1, 3, 0, 0), 4));
        assert_eq!(store.changed_since(t(1)).await.expect("changes"), vec![pypi(AIOHTTP_SESSION)]);

        // 4. No modified_id.csv (a mirror of all.zip only): a full sync, which changes nothing.
        std::fs::remove_file(pypi_dir.join("modified_id.csv")).expect("rm");
        let seen = server.requests().len();
        let fourth = sync(&store, &loader(), target, t(3)).await.expect("sync");
        assert_eq!(
            fourth.mode,
            SyncMode::FullFallback("no modified_id.csv (HTTP status 404)".into())
        );
        assert_eq!(requested(&server, seen), [path("all.zip"), path("modified_id.csv")]);
        let synced = fourth.result.as_ref().expect("synced");
        assert_eq!(counts(synced), (0, 0, 4, 0, 0));
        assert!(store.changed_since(t(2)).await.expect("changes").is_empty());
        let cursor = at("2024-11-03T00:00:00Z");
        assert_eq!(synced.cursor, Some(cursor));

        // 5. A bad line among those read fails the sync, names the line and keeps the data.
        let kept = store.advisories_by_id(&[IDS[ACCESSCONTROL]]).await.expect("by id");
        current[ACCESSCONTROL] =
            changed(&original[ACCESSCONTROL], "2024-11-04T00:00:00Z", "4.4");
        write_mirror(&pypi_dir, &current);
        std::fs::write(
            pypi_dir.join("modified_id.csv"),
            format!("2024-11-04T00:00:00Z,{}\nyesterday,{}\n", IDS[ACCESSCONTROL], IDS[ADYEN]),
        )
        .expect("write");
        let seen = server.requests().len();
        let fifth = sync(&store, &loader(), target, t(4)).await.expect("sync");
        let failure = fifth.result.as_ref().expect_err("a bad line");
        assert_eq!(failure.error, format!("{csv_url}:2: bad RFC 3339 timestamp"));
        assert_eq!((failure.kept, failure.last_success), (4, Some(t(3))));
        assert_eq!(requested(&server, seen), [path("modified_id.csv")]);
        assert_eq!(store.advisories_by_id(&[IDS[ACCESSCONTROL]]).await.expect("by id"), kept);
        assert!(store.changed_since(t(3)).await.expect("changes").is_empty());
        let source = store.feed_source(&target.name).await.expect("get").expect("known");
        assert_eq!(source.last_error.as_deref(), Some(failure.error.as_str()));
        assert_eq!((source.record_count, source.modified_cursor), (4, Some(cursor)));

        // 6. More changes listed than are worth fetching one by one: all.zip.
        let mut csv: String = (0..=MAX_FETCHES)
            .map(|i| format!("2024-11-05T00:00:00Z,PYSEC-9999-{i}\n"))
            .collect();
        csv.push_str(&csv_of(&current));
        std::fs::write(pypi_dir.join("modified_id.csv"), csv).expect("write");
        let seen = server.requests().len();
        let sixth = sync(&store, &loader(), target, t(5)).await.expect("sync");
        assert_eq!(
            sixth.mode,
            SyncMode::FullFallback("more than 5000 records changed since 2024-11-03T00:00:00Z".into())
        );
        assert_eq!(requested(&server, seen), [path("all.zip"), path("modified_id.csv")]);
        let synced = sixth.result.as_ref().expect("synced");
        assert_eq!(counts(synced), (0, 1, 3, 0, 0));
        assert_eq!(store.changed_since(t(4)).await.expect("changes"), vec![pypi(ACCESSCONTROL)]);
        let source = store.feed_source(&target.name).await.expect("get").expect("known");
        assert_eq!((source.last_error, source.last_success_at), (None, Some(t(5))));
    }

    async fn unchanged_resyncs_write_nothing_and_withdrawals_drop_out(db) {
        let Some(original) = real_records() else { return };
        let store = db.store().await;
        type Layout = fn(&Path, &[Record]) -> SourceSpec;
        let layouts: [(&str, Layout); 4] = [
            ("directory of records", |dir, records| {
                for r in records {
                    std::fs::write(dir.join(format!("{}.json", r.id)), json(r)).expect("write");
                }
                SourceSpec::Dir(dir.to_path_buf())
            }),
            ("JSON lines", |dir, records| {
                let lines: Vec<String> = records
                    .iter()
                    .map(|r| String::from_utf8(json(r)).expect("UTF-8"))
                    .collect();
                std::fs::write(dir.join("pypi.jsonl"), lines.join("\n")).expect("write");
                SourceSpec::Path(dir.join("pypi.jsonl"))
            }),
            ("zip", |dir, records| {
                std::fs::write(dir.join("all.zip"), zip_of(records)).expect("write");
                SourceSpec::Path(dir.join("all.zip"))
            }),
            ("JSON array", |dir, records| {
                std::fs::write(dir.join("pypi.json"), serde_json::to_vec(records).expect("json"))
                    .expect("write");
                SourceSpec::Path(dir.join("pypi.json"))
            }),
        ];
        let mut upstream = original.clone();
        upstream[AIM] = changed(&original[AIM], "2024-11-01T00:00:00Z", "3.0.0");
        upstream[ADMESH] = withdrawn(&original[ADMESH], "2024-11-02T00:00:00Z");
        for (k, (layout, write)) in layouts.iter().enumerate() {
            // Each layout is its own source, synced at its own times.
            let hour = |h: i64| t(10 * i64::try_from(k).expect("small") + h);
            let dir = tempfile::tempdir().expect("tempdir");
            let target = &targets(&write(dir.path(), &original))[0];
            let sync_at = |h: i64| {
                let (store, now) = (store.clone(), hour(h));
                async move { sync(&store, &loader(), target, now).await.expect("sync") }
            };
            let first = sync_at(0).await;
            let synced = first.result.as_ref().expect(layout);
            assert_eq!(counts(synced), (5, 0, 0, 0, 0), "{layout}");
            assert_eq!(synced.cursor, Some(at("2023-01-24T00:00:00Z")), "{layout}");

            let again = sync_at(1).await;
            let synced = again.result.as_ref().expect(layout);
            assert_eq!(counts(synced), (0, 0, 5, 0, 0), "{layout}: nothing rewritten");
            assert!(synced.write.touched.is_empty(), "{layout}");
            assert!(store.changed_since(hour(0)).await.expect("changes").is_empty(), "{layout}");

            write(dir.path(), &upstream);
            let third = sync_at(2).await;
            let synced = third.result.as_ref().expect(layout);
            assert_eq!((counts(synced), synced.stored), ((0, 1, 3, 0, 1), 4), "{layout}");
            assert_eq!(
                store.changed_since(hour(1)).await.expect("changes"),
                vec![pypi(ADMESH), pypi(AIM)],
                "{layout}"
            );
            assert_eq!(synced.cursor, Some(at("2024-11-02T00:00:00Z")), "{layout}");
            let held: Vec<String> = store
                .advisories_by_id(&IDS)
                .await
                .expect("by id")
                .into_iter()
                .filter(|(source, _)| *source == target.name)
                .map(|(_, r)| r.id)
                .collect();
            assert!(!held.iter().any(|id| id == IDS[ADMESH]), "{layout}: {held:?}");
            assert_eq!(held.len(), 4, "{layout}");

            let fourth = sync_at(3).await;
            let synced = fourth.result.as_ref().expect(layout);
            assert_eq!(counts(synced), (0, 0, 4, 0, 0), "{layout}: a withdrawal counts once");
            assert!(store.changed_since(hour(2)).await.expect("changes").is_empty(), "{layout}");
        }
        let matched: BTreeSet<String> =
            matches(&store).await.into_iter().map(|(id, _)| id).collect();
        let live: BTreeSet<String> = IDS
            .iter()
            .filter(|id| **id != IDS[ADMESH])
            .map(|id| (*id).to_owned())
            .collect();
        assert_eq!(matched, live, "the withdrawn record matches from no source");
    }
}
