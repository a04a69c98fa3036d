//! The vulnerabilities of one analysis, from the store: the packages' (ecosystem, name) keys
//! looked up in SQL, only the advisories found there loaded into a small [`VulnIndex`], the
//! matcher run on it, and each match's first-seen times recorded.
//!
//! Why candidates and not the whole feed: the CLI matches one image of a few hundred packages
//! against feeds of half a million affected rows; one batched lookup on the indexed
//! (ecosystem, name) columns reads a few hundred rows instead of all of them. The operator,
//! matching many images, can keep a full index; both must say the same, which
//! `tests::sql_candidates_give_the_full_index_report` checks on real feeds.
//!
//! Traps:
//! - The matcher breaks ties by insertion order (which advisory's severity wins among equals,
//!   the order of fixed versions, the first summary). [`index_from`] inserts in (source, id)
//!   order, so the report does not depend on how the records were fetched.
//! - A record found under one key is loaded whole, with its other packages and from every
//!   source holding the same id: harmless, lookups only ever probe the analysis's own keys.
//! - Every match is recorded, not only those a report shows (`--only-fixed`): a match missing
//!   from [`Store::record_matches`] is marked resolved.

use crate::feeds::osv::Record;
use crate::matcher::ecosystem::queries_for;
use crate::matcher::matching::MatchNote;
use crate::matcher::{FixState, Match, MatchReport, VulnIndex, match_packages};
use crate::store::{self, MatchKey, ObservedMatch, PackageRef, Store, Timestamp};
use plimsoll_analyzer::model::Analysis;
use serde::Serialize;
use std::collections::BTreeSet;

/// Every (ecosystem, name) key the analysis's packages are looked up under, sorted, once each.
pub fn package_refs(analysis: &Analysis) -> Vec<PackageRef> {
    let keys: BTreeSet<PackageRef> = analysis
        .packages
        .iter()
        .filter_map(|p| queries_for(p, analysis.distro.as_ref()).ok())
        .flatten()
        .map(|q| PackageRef::new(q.ecosystem, q.name))
        .collect();
    keys.into_iter().collect()
}

/// An index of `(source, record)` pairs, inserted in (source, id) order.
pub fn index_from(mut records: Vec<(String, Record)>) -> VulnIndex {
    records.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
    let mut index = VulnIndex::new();
    for (source, record) in &records {
        index.insert(source, record);
    }
    index
}

/// The index of every stored advisory with an affected entry under one of `packages`.
pub async fn candidate_index(store: &Store, packages: &[PackageRef]) -> store::Result<VulnIndex> {
    let rows = store.affected_for(packages).await?;
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.advisory_id.as_str()).collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let records = store.advisories_by_id(&ids).await?;
    Ok(index_from(records))
}

/// Matches the analysis against the store (no writes).
pub async fn match_analysis(store: &Store, analysis: &Analysis) -> store::Result<MatchReport> {
    let index = candidate_index(store, &package_refs(analysis)).await?;
    Ok(match_packages(
        &analysis.packages,
        analysis.distro.as_ref(),
        &index,
    ))
}

/// What a vulnerability report shows: the image, each match with its times, the notes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnReport {
    pub image: ReportedImage,
    pub matches: Vec<ReportedMatch>,
    /// Packages that could not be matched, and feed versions that could not be read.
    pub notes: Vec<MatchNote>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedImage {
    pub reference: String,
    pub manifest_digest: String,
    /// `debian 12.11`, when the image names its distro.
    pub distro: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedMatch {
    #[serde(flatten)]
    pub found: Match,
    /// When this image was first seen with this match (RFC 3339 in JSON).
    #[serde(serialize_with = "rfc3339")]
    pub first_seen: Timestamp,
    /// When a fix was first seen for it, if ever.
    #[serde(serialize_with = "rfc3339_opt")]
    pub fix_first_seen: Option<Timestamp>,
}

impl VulnReport {
    /// A report without the matches `keep` rejects (times and notes unchanged).
    pub fn filtered(mut self, keep: impl Fn(&ReportedMatch) -> bool) -> Self {
        self.matches.retain(|m| keep(m));
        self
    }
}

/// Stores the analysis (with its package keys), matches it against the store and records the
/// matches' times at `now`.
pub async fn scan(store: &Store, analysis: &Analysis, now: Timestamp) -> store::Result<VulnReport> {
    let refs = package_refs(analysis);
    store.put_analysis(analysis, &refs, now).await?;
    match_and_record(store, analysis, &refs, now).await
}

/// Matches an analysis (already stored) against the store and records the matches' times at
/// `now`; `refs` are its [`package_refs`].
pub async fn match_and_record(
    store: &Store,
    analysis: &Analysis,
    refs: &[PackageRef],
    now: Timestamp,
) -> store::Result<VulnReport> {
    let index = candidate_index(store, refs).await?;
    let report = match_packages(&analysis.packages, analysis.distro.as_ref(), &index);
    let observed: Vec<ObservedMatch> = report
        .matches
        .iter()
        .map(|m| ObservedMatch {
            key: MatchKey::new(&m.vuln_id, m.package_key()),
            fixable: m.fix_state == FixState::Fixed,
        })
        .collect();
    let digest = analysis.image.manifest_digest.as_str();
    let times = store.record_matches(digest, &observed, now).await?;
    let matches = report
        .matches
        .into_iter()
        .zip(times)
        .map(|(found, t)| ReportedMatch {
            found,
            first_seen: t.first_seen,
            fix_first_seen: t.fix_first_seen,
        })
        .collect();
    Ok(VulnReport {
        image: ReportedImage {
            reference: analysis.image.reference.clone(),
            manifest_digest: digest.to_owned(),
            distro: analysis.distro.as_ref().map(|d| match &d.version_id {
                Some(v) => format!("{} {v}", d.id),
                None => d.id.clone(),
            }),
        },
        matches,
        notes: report.notes,
    })
}

/// RFC 3339 in UTC with seconds (`2026-01-01T00:00:00Z`); out-of-range times print as millis.
pub fn format_rfc3339(t: Timestamp) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(t.unix_millis()).map_or_else(
        || t.unix_millis().to_string(),
        |d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

fn rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*t))
}

fn rfc3339_opt<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_rfc3339(*t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FeedSourceSpec;
    use crate::store::testing::both_backends;
    use plimsoll_analyzer::model::{Distro, Package, PackageKind, SourcePackage};
    use std::collections::HashMap;

    const PYPI: &str = include_str!("../tests/data/osv/pypi-pysec-slice.jsonl");
    const NPM: &str = include_str!("../tests/data/osv/ghsa-npm-lodash.jsonl");
    const DEBIAN: &str = include_str!("../tests/data/osv/debian12-changelogs-slice.jsonl");

    fn records(jsonl: &str) -> Vec<Record> {
        jsonl
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| Record::from_json(l.as_bytes()).ok())
            .collect()
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn debian12() -> Distro {
        Distro {
            id: "debian".into(),
            version_id: Some("12.11".into()),
            ..Distro::default()
        }
    }

    fn deb(name: &str, source: &str, version: &str) -> Package {
        let mut p = Package::new(PackageKind::Deb, name, version);
        p.source = Some(SourcePackage {
            name: source.into(),
            version: None,
        });
        p
    }

    /// The demo image's packages (`examples/demo-image`), one spelled as pip may spell it.
    fn demo_analysis() -> Analysis {
        let mut a: Analysis = serde_json::from_value(serde_json::json!({
            "schemaVersion": "1.0",
            "analyzer": {"name": "plimsoll-analyzer", "version": "0.0.0"},
            "image": {"reference": "demo", "manifestDigest": "sha256:demo", "manifestMediaType": "",
                      "configDigest": "", "os": "linux", "architecture": "amd64",
                      "compressedSize": 0, "uncompressedSize": 0, "layers": [],
                      "config": {"user": null, "exposedPorts": [], "env": [], "entrypoint": [],
                                 "cmd": [], "healthcheck": null, "labels": {}, "workingDir": null,
                                 "volumes": [], "stopSignal": null},
                      "history": []},
            "distro": null, "packages": [], "files": [], "secrets": [], "contentMatches": [],
            "retrievedFiles": [], "warnings": []
        }))
        .expect("a minimal analysis");
        a.distro = Some(debian12());
        a.packages = vec![
            deb("libexpat1", "expat", "2.5.0-1+deb12u2"),
            deb("libssl3", "openssl", "3.0.17-1~deb12u2"),
            deb("libpam0g", "pam", "1.5.2-6+deb12u2"),
            Package::new(PackageKind::Python, "Requests", "2.19.1"),
            Package::new(PackageKind::Python, "jw_util", "2.0"),
            Package::new(PackageKind::Npm, "lodash", "4.17.15"),
            Package::new(PackageKind::Npm, "left-pad", "1.0.0"),
            Package::new(PackageKind::Apk, "musl", "1.2.4-r2"),
        ];
        a
    }

    async fn put(store: &Store, source: &str, records: &[Record]) {
        store
            .feed_sync_started(
                &FeedSourceSpec {
                    name: source,
                    kind: "path",
                    url: "/feeds",
                },
                t(1),
            )
            .await
            .expect("register");
        store
            .replace_source(source, records, None, t(1))
            .await
            .expect("replace");
    }

    /// The in-memory side: every record of every source, as the store keeps them (the last
    /// occurrence of an id per source; withdrawn records are skipped by the index itself).
    fn full_index(sources: &[(&str, &[Record])]) -> VulnIndex {
        let mut all: HashMap<(String, String), Record> = HashMap::new();
        for (source, records) in sources {
            for r in *records {
                all.insert((source.to_string(), r.id.clone()), r.clone());
            }
        }
        index_from(all.into_iter().map(|((s, _), r)| (s, r)).collect())
    }

    both_backends! {
        async fn sql_candidates_give_the_full_index_report(db) {
            let store = db.store().await;
            let (pypi, npm, debian) = (records(PYPI), records(NPM), records(DEBIAN));
            // The PyPI records again from another source under the GHSA spelling of the name,
            // so ids repeat across sources and names need normalising.
            let ghsa: Vec<Record> = pypi
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    for a in &mut r.affected {
                        if let Some(p) = a.package.as_mut().filter(|p| p.name == "requests") {
                            p.name = "Requests".into();
                        }
                    }
                    r
                })
                .collect();
            let sources: Vec<(&str, &[Record])> =
                vec![("pypi", &pypi), ("npm", &npm), ("debian", &debian), ("ghsa", &ghsa)];
            for (name, records) in &sources {
                put(&store, name, records).await;
            }
            let analysis = demo_analysis();
            let by_sql = match_analysis(&store, &analysis).await.expect("match");
            let in_memory =
                match_packages(&analysis.packages, analysis.distro.as_ref(), &full_index(&sources));
            assert_eq!(by_sql, in_memory);

            let mut found: Vec<(&str, &str)> = by_sql
                .matches
                .iter()
                .map(|m| (m.package.name.as_str(), m.vuln_id.as_str()))
                .collect();
            found.sort_unstable();
            assert_eq!(
                found,
                [
                    ("Requests", "CVE-2018-18074"),
                    ("Requests", "CVE-2023-32681"),
                    ("jw_util", "CVE-2020-13388"),
                    ("libexpat1", "CVE-2024-28757"),
                    ("libexpat1", "CVE-2025-59375"),
                    ("libexpat1", "CVE-2026-50219"),
                    ("libexpat1", "CVE-2026-56131"),
                    ("libpam0g", "CVE-2024-22365"),
                    ("libssl3", "CVE-2025-9230"),
                    ("libssl3", "CVE-2025-9232"),
                    ("lodash", "CVE-2020-8203"),
                    ("lodash", "CVE-2021-23337"),
                ]
            );
            let requests = by_sql.matches.iter().find(|m| m.vuln_id == "CVE-2018-18074").expect("match");
            assert_eq!(requests.advisories, ["PYSEC-2018-28"], "one advisory id, two sources");
            assert_eq!(by_sql.notes.len(), 1, "musl on Debian: {:?}", by_sql.notes);
        }

        async fn sql_candidates_give_the_full_index_report_on_whole_feeds(db) {
            // Whole real feeds, and an image holding a version of every package they name.
            let mut sources: Vec<(&str, Vec<Record>)> = Vec::new();
            for (name, file) in [
                ("pypi", "osv/pypi-pysec.jsonl"),
                ("go", "osv/go-vulndb.jsonl"),
                ("rustsec", "osv/rustsec.jsonl"),
                ("debian", "osv/debian12-from-changelogs.jsonl"),
                ("ghsa", "osv/ghsa-npm-sample.jsonl"),
            ] {
                let Some(bytes) = crate::feeds::test_data::read(file) else { return };
                let text = String::from_utf8(bytes).expect("UTF-8");
                sources.push((name, records(&text)));
            }
            let store = db.store().await;
            for (name, records) in &sources {
                put(&store, name, records).await;
            }
            let mut analysis = demo_analysis();
            analysis.packages = image_from_feeds(&sources);
            assert!(analysis.packages.len() > 2_500, "{}", analysis.packages.len());
            let sources: Vec<(&str, &[Record])> =
                sources.iter().map(|(n, r)| (*n, r.as_slice())).collect();
            let by_sql = match_analysis(&store, &analysis).await.expect("match");
            let in_memory =
                match_packages(&analysis.packages, analysis.distro.as_ref(), &full_index(&sources));
            // 6 311 matches and 130 notes when written.
            assert!(by_sql.matches.len() > 5_000, "{}", by_sql.matches.len());
            assert_eq!(by_sql.matches.len(), in_memory.matches.len());
            assert_eq!(by_sql, in_memory);
        }

        async fn scan_records_first_seen_times_that_stay(db) {
            let store = db.store().await;
            put(&store, "npm", &records(NPM)).await;
            let analysis = demo_analysis();
            let first = scan(&store, &analysis, t(1_000)).await.expect("scan");
            assert_eq!(first.matches.len(), 2);
            assert!(first.matches.iter().all(|m| m.first_seen == t(1_000)
                && m.fix_first_seen == Some(t(1_000))));
            let again = scan(&store, &analysis, t(5_000)).await.expect("scan again");
            assert!(again.matches.iter().all(|m| m.first_seen == t(1_000)));
            assert_eq!(store.analysis_info("sha256:demo").await.expect("info").map(|i| i.image_digest),
                Some("sha256:demo".to_owned()));
            let json = serde_json::to_value(&again).expect("JSON");
            assert_eq!(json["matches"][0]["firstSeen"], "1970-01-01T00:00:01Z");
            assert_eq!(json["matches"][0]["package"]["name"], "lodash");
            assert_eq!(json["image"]["distro"], "debian 12.11");
        }
    }

    /// One package per (ecosystem, name) of the feeds, at a version the feed names (its
    /// explicit `versions`, else an `introduced` or `fixed` event), so that some match and
    /// some do not.
    fn image_from_feeds(sources: &[(&str, Vec<Record>)]) -> Vec<Package> {
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        let mut packages = Vec::new();
        for (_, records) in sources {
            for r in records {
                for a in &r.affected {
                    let Some(p) = &a.package else { continue };
                    if !seen.insert((p.ecosystem.clone(), p.name.clone())) {
                        continue;
                    }
                    let events = a.ranges.iter().flat_map(|r| &r.events);
                    let version = if packages.len() % 2 == 0 {
                        a.versions.first().cloned()
                    } else {
                        None
                    }
                    .or_else(|| events.clone().find_map(|e| e.fixed.clone()))
                    .or_else(|| events.clone().find_map(|e| e.introduced.clone()))
                    .filter(|v| v != "0");
                    let Some(version) = version else { continue };
                    let package = match p.ecosystem.as_str() {
                        "PyPI" => Package::new(PackageKind::Python, &p.name, &version),
                        "Go" => Package::new(PackageKind::GoModule, &p.name, &version),
                        "crates.io" => Package::new(PackageKind::RustCrate, &p.name, &version),
                        "npm" => Package::new(PackageKind::Npm, &p.name, &version),
                        "Debian:12" => deb(&format!("lib{}", p.name), &p.name, &version),
                        _ => continue,
                    };
                    packages.push(package);
                }
            }
        }
        packages
    }
}
