//! Alpine secdb (`https://secdb.alpinelinux.org/v3.x/main.json`) to OSV records.
//!
//! A document is one branch and repository: `{"distroversion": "v3.10", "reponame": "main",
//! "packages": [{"pkg": {"name": "openssl", "secfixes": {"1.1.1d-r0": ["CVE-2019-1547"]}}}]}`.
//! `secfixes` maps the first package version that fixes an issue to the issues it fixes, and
//! `name` is the origin (source) package, which the matcher reaches through the apk `o:` field.
//!
//! Output: one record per issue and document, id `ALPINE-<CVE>` as Alpine's own OSV feed names
//! them, `upstream: [CVE, …]`, and one `affected` entry per package, ecosystem `Alpine:v3.10`,
//! each fix an `ECOSYSTEM` range `introduced 0` / `fixed <version>`. The same id comes out of
//! every branch's document: [`merge`] joins them into one record, as Alpine's feed has.
//!
//! Traps, measured on the 2020 secdb (v3.3–v3.11) and the format samples:
//! - Version `"0"` means the issue does **not** affect Alpine's package (the Berkeley DB CVEs
//!   listed under `db`'s `0` are Oracle DB's, `coreutils`'s CVE-2016-2781 is not applicable);
//!   it is not a fix at version 0 (osv.dev once turned it into `fixed: "0"`, so every version
//!   matched). It yields no range; when the same issue also has a real fix, the fix wins.
//! - Entries are not bare ids: `CVE-2016-9932 XSA-200` (both kept, CVE first), `XSA-207`
//!   alone, `CVE-2018-14468 (FrameRelay)` (comment dropped), `CVE-2017-17434-1`,
//!   `CVE-2017-8073.patch` (suffix dropped), `CVE_2019-2426` and `CVE 2018-16859` (read as
//!   CVE ids),
//!   `CVE-????-?????  XSA-295` (the XSA id), `ZBX-11023`, `wnpa-sec-2017-18`.
//! - One issue can be fixed at two versions of one package (wireshark `2.2.10-r0` and
//!   `2.4.2-r0`: backports on two upstream lines). Both become ranges; the matcher's union of
//!   ranges makes the higher fix decide, the safe reading without an apk version order here.
//! - The same id may be listed twice under one version; `packages` may be `null` (v3.3
//!   community) and a version's list `null` (heimdal `7.4.0-r0` in v3.6).
//! - Versions are not always apk-shaped (`1.3.0`, `4.10-1-r1`, `0.8.21.r2`): kept verbatim.
//! - Secdb-shaped feeds of other distributions (MinimOS, SecureOS) carry no `distroversion`:
//!   [`parse_as`] takes their ecosystem explicitly.
//!
//! The legacy secdb repository also kept YAML; the service serves JSON only, so YAML is not read.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::feeds::convert::{range_from_zero, source_purl};
use crate::feeds::osv::{Affected, Package, Record, Reference};
use crate::feeds::read::ReadOutcome;

/// Which distribution a secdb document speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// OSV ecosystem of every `affected` entry, e.g. `Alpine:v3.10`.
    pub ecosystem: String,
    /// Record ids are `<id_prefix>-<issue id>`.
    pub id_prefix: String,
    /// The purl namespace (`pkg:apk/<namespace>/<name>`).
    pub purl_namespace: String,
    /// Advisory page of a CVE, `<prefix><CVE>`; `None` adds no reference.
    pub advisory_url_prefix: Option<String>,
}

impl Target {
    /// Alpine's branch, from `distroversion` (`v3.10` or `edge`).
    pub fn alpine(distroversion: &str) -> Option<Self> {
        let valid = distroversion == "edge"
            || distroversion.strip_prefix('v').is_some_and(|v| {
                let mut parts = v.split('.');
                let numeric = |p: Option<&str>| {
                    p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                };
                numeric(parts.next()) && numeric(parts.next()) && parts.next().is_none()
            });
        valid.then(|| Self {
            ecosystem: format!("Alpine:{distroversion}"),
            id_prefix: "ALPINE".to_owned(),
            purl_namespace: "alpine".to_owned(),
            advisory_url_prefix: Some("https://security.alpinelinux.org/vuln/".to_owned()),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{location}: not an Alpine secdb document: {source}")]
    Json {
        location: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{location}: secdb `distroversion` is {found:?}, expected `v<major>.<minor>` or `edge`"
    )]
    Distroversion {
        location: String,
        found: Option<String>,
    },
}

#[derive(Deserialize)]
struct RawDocument<'a> {
    #[serde(default)]
    distroversion: Option<String>,
    #[serde(default, borrow)]
    packages: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct RawEntry {
    pkg: RawPackage,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    #[serde(default)]
    secfixes: Option<BTreeMap<String, Option<Vec<serde_json::Value>>>>,
}

/// An Alpine secdb document; the branch comes from its `distroversion`.
pub fn parse(bytes: &[u8], location: &str) -> Result<ReadOutcome, Error> {
    let document = parse_document(bytes, location)?;
    let Some(target) = document.distroversion.as_deref().and_then(Target::alpine) else {
        return Err(Error::Distroversion {
            location: location.to_owned(),
            found: document.distroversion,
        });
    };
    Ok(convert(&document, location, &target))
}

/// A secdb-shaped document of any distribution, converted for `target`.
pub fn parse_as(bytes: &[u8], location: &str, target: &Target) -> Result<ReadOutcome, Error> {
    let document = parse_document(bytes, location)?;
    Ok(convert(&document, location, target))
}

fn parse_document<'a>(bytes: &'a [u8], location: &str) -> Result<RawDocument<'a>, Error> {
    serde_json::from_slice(bytes).map_err(|source| Error::Json {
        location: location.to_owned(),
        source,
    })
}

/// Per issue: its ids (primary first), and per package the fixing versions.
#[derive(Default)]
struct Issue {
    ids: Vec<String>,
    fixes: BTreeMap<String, Vec<String>>,
}

fn convert(document: &RawDocument<'_>, location: &str, target: &Target) -> ReadOutcome {
    let mut out = ReadOutcome::default();
    let mut issues: BTreeMap<String, Issue> = BTreeMap::new();
    for (index, raw) in document.packages.iter().flatten().enumerate() {
        let entry: RawEntry = match serde_json::from_str(raw.get()) {
            Ok(entry) => entry,
            Err(e) => {
                out.skip(format!("{location}: packages[{index}]"), e);
                continue;
            }
        };
        let name = entry.pkg.name;
        if name.trim().is_empty() || name.contains(char::is_whitespace) {
            out.skip(format!("{location}: packages[{index}]"), "bad package name");
            continue;
        }
        for (version, listed) in entry.pkg.secfixes.into_iter().flatten() {
            let here = format!("{location}: {name} {version}");
            if version.is_empty() || version.contains(char::is_whitespace) {
                out.skip(here, "bad version");
                continue;
            }
            let Some(listed) = listed else {
                out.skip(here, "no issue listed (null)");
                continue;
            };
            for item in listed {
                let Some(text) = item.as_str() else {
                    out.skip(here.clone(), format!("issue is not a string: {item}"));
                    continue;
                };
                let ids = issue_ids(text);
                let Some(primary) = ids.first().cloned() else {
                    out.skip(here.clone(), format!("no vulnerability id in {text:?}"));
                    continue;
                };
                let issue = issues.entry(primary).or_default();
                for id in ids {
                    if !issue.ids.contains(&id) {
                        issue.ids.push(id);
                    }
                }
                let fixes = issue.fixes.entry(name.clone()).or_default();
                if version != "0" && !fixes.contains(&version) {
                    fixes.push(version.clone());
                }
            }
        }
    }
    for (primary, issue) in issues {
        let affected: Vec<Affected> = issue
            .fixes
            .into_iter()
            .filter(|(_, versions)| !versions.is_empty())
            .map(|(name, versions)| Affected {
                package: Some(Package {
                    ecosystem: target.ecosystem.clone(),
                    purl: Some(source_purl("apk", &target.purl_namespace, &name)),
                    name,
                }),
                severity: vec![],
                ranges: versions.iter().map(|v| range_from_zero(Some(v))).collect(),
                versions: vec![],
                ecosystem_specific: None,
                database_specific: None,
            })
            .collect();
        // Only "not affected" (`0`) entries: nothing to match.
        if affected.is_empty() {
            continue;
        }
        let references = match &target.advisory_url_prefix {
            Some(prefix) if primary.starts_with("CVE-") => vec![Reference {
                kind: Some("ADVISORY".to_owned()),
                url: format!("{prefix}{primary}"),
            }],
            _ => vec![],
        };
        out.records.push(Record {
            schema_version: None,
            id: format!("{}-{primary}", target.id_prefix),
            modified: None,
            published: None,
            withdrawn: None,
            aliases: vec![],
            related: vec![],
            upstream: issue.ids,
            summary: None,
            details: None,
            severity: vec![],
            affected,
            references,
            database_specific: None,
        });
    }
    out
}

/// Joins records that share an id (one per branch document) into one, keeping the first
/// record's fields and the order ids were first seen; `affected`, `upstream` and `references`
/// are concatenated without duplicates.
pub fn merge(records: impl IntoIterator<Item = Record>) -> Vec<Record> {
    let mut merged: Vec<Record> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for record in records {
        let Some(&at) = index.get(&record.id) else {
            index.insert(record.id.clone(), merged.len());
            merged.push(record);
            continue;
        };
        let into = &mut merged[at];
        for id in record.upstream {
            if !into.upstream.contains(&id) {
                into.upstream.push(id);
            }
        }
        for reference in record.references {
            if !into.references.contains(&reference) {
                into.references.push(reference);
            }
        }
        for affected in record.affected {
            if !into.affected.contains(&affected) {
                into.affected.push(affected);
            }
        }
    }
    merged
}

/// The ids named by one secfixes entry, the primary first: the first CVE if there is one,
/// else the first other id (`XSA-207`). Comments in parentheses end the list.
fn issue_ids(entry: &str) -> Vec<String> {
    let mut cves = Vec::new();
    let mut others = Vec::new();
    let mut tokens = entry.split_whitespace().peekable();
    while let Some(token) = tokens.next() {
        if token.starts_with('(') {
            break;
        }
        let token = token.trim_end_matches([',', ';', ':']);
        // `CVE 2018-16859`: the id split by a space.
        let joined = match tokens.peek() {
            Some(next) if token.eq_ignore_ascii_case("CVE") => {
                let joined = normalise_cve(&format!("CVE-{next}"));
                if joined.is_some() {
                    tokens.next();
                }
                joined
            }
            _ => None,
        };
        if let Some(cve) = joined.or_else(|| normalise_cve(token)) {
            if !cves.contains(&cve) {
                cves.push(cve);
            }
        } else if is_other_id(token) && !others.iter().any(|o| o == token) {
            others.push(token.to_owned());
        }
    }
    cves.extend(others);
    cves
}

/// `CVE-YYYY-NNNN…`, also from `CVE_YYYY-…` and with a trailing `-1` or `.patch` dropped.
fn normalise_cve(token: &str) -> Option<String> {
    let head = token.get(..4)?;
    if !head.eq_ignore_ascii_case("CVE-") && !head.eq_ignore_ascii_case("CVE_") {
        return None;
    }
    let rest = &token[4..];
    let (year, rest) = rest.split_at_checked(4)?;
    if !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number_len = rest
        .strip_prefix('-')?
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if number_len < 4 {
        return None;
    }
    Some(format!("CVE-{year}-{}", &rest[1..=number_len]))
}

/// Another database's id: letters, then `-`-separated alphanumeric parts (`XSA-200`,
/// `TALOS-2017-0488`, `wnpa-sec-2017-18`).
fn is_other_id(token: &str) -> bool {
    let mut parts = token.split('-');
    let prefix_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let mut rest = 0;
    let rest_ok = parts.all(|p| {
        rest += 1;
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    prefix_ok && rest_ok && rest > 0 && !token.to_ascii_uppercase().starts_with("CVE-")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::feeds::read::{Format, ReadLimits, read_document};
    use crate::feeds::test_data;

    const SLICE: &str = include_str!("testdata/alpine-secdb-v3.10-main-slice.json");

    #[test]
    fn real_packages_convert_exactly() {
        let out = parse(SLICE.as_bytes(), "v3.10-main.json").expect("parse");
        assert_eq!(out.skipped, vec![]);
        let ids: Vec<&str> = out.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ALPINE-CVE-2016-8859",
                "ALPINE-CVE-2017-15873",
                "ALPINE-CVE-2017-15874",
                "ALPINE-CVE-2017-16544",
                "ALPINE-CVE-2018-20679",
                "ALPINE-CVE-2019-14697",
                "ALPINE-CVE-2019-5747",
                "ALPINE-CVE-2019-9511",
                "ALPINE-CVE-2019-9513",
            ]
        );
        let by_id = |id: &str| {
            out.records
                .iter()
                .find(|r| r.id == id)
                .map(|r| serde_json::to_value(r).expect("json"))
        };
        // busybox lists CVE-2019-5747 under two versions: two ranges.
        assert_eq!(
            by_id("ALPINE-CVE-2019-5747"),
            Some(json!({
                "schema_version": null, "id": "ALPINE-CVE-2019-5747", "modified": null,
                "published": null, "withdrawn": null, "aliases": [], "related": [],
                "upstream": ["CVE-2019-5747"], "summary": null, "details": null,
                "severity": [],
                "affected": [{
                    "package": {"ecosystem": "Alpine:v3.10", "name": "busybox",
                                "purl": "pkg:apk/alpine/busybox?arch=source"},
                    "severity": [],
                    "ranges": [
                        {"type": "ECOSYSTEM", "repo": null, "database_specific": null,
                         "events": [{"introduced": "0"}, {"fixed": "1.29.3-r10"}]},
                        {"type": "ECOSYSTEM", "repo": null, "database_specific": null,
                         "events": [{"introduced": "0"}, {"fixed": "1.30.1-r2"}]}
                    ],
                    "versions": [], "ecosystem_specific": null, "database_specific": null
                }],
                "references": [{"type": "ADVISORY",
                                "url": "https://security.alpinelinux.org/vuln/CVE-2019-5747"}],
                "database_specific": null
            }))
        );
        // nghttp2 fixed CVE-2019-9511 at 1.39.2-r0.
        let nghttp2 = out
            .records
            .iter()
            .find(|r| r.id == "ALPINE-CVE-2019-9511")
            .expect("nghttp2 record");
        assert_eq!(nghttp2.affected.len(), 1);
        let affected = &nghttp2.affected[0];
        assert_eq!(
            affected.package.as_ref().map(|p| p.name.as_str()),
            Some("nghttp2")
        );
        assert_eq!(
            affected.ranges[0].events[1].fixed.as_deref(),
            Some("1.39.2-r0")
        );
        // musl's two fixes are two issues, one range each.
        let musl = by_id("ALPINE-CVE-2016-8859").expect("musl record");
        assert_eq!(
            musl["affected"][0]["ranges"][0]["events"],
            json!([{"introduced": "0"}, {"fixed": "1.1.15-r4"}])
        );
    }

    #[test]
    fn version_zero_alone_yields_no_record() {
        // The real `db` entry of v3.8 main: Oracle Berkeley DB CVEs that do not affect the
        // BSD-licensed db 5.3 Alpine ships.
        let doc = json!({"distroversion": "v3.8", "reponame": "main", "packages": [
            {"pkg": {"name": "db", "secfixes": {"0": [
                "CVE-2016-0682", "CVE-2016-0689", "CVE-2016-0692", "CVE-2016-0694", "CVE-2016-3418"
            ]}}}
        ]});
        let out = parse(doc.to_string().as_bytes(), "v3.8-main.json").expect("parse");
        assert_eq!(out.records, vec![]);
        assert_eq!(out.skipped, vec![]);
    }

    #[test]
    fn issue_ids_of_real_secfixes_entries() {
        let cases: &[(&str, &[&str])] = &[
            ("CVE-2019-5747", &["CVE-2019-5747"]),
            ("CVE-2016-9932 XSA-200", &["CVE-2016-9932", "XSA-200"]),
            ("XSA-207", &["XSA-207"]),
            ("CVE-2018-3639   XSA-263", &["CVE-2018-3639", "XSA-263"]),
            ("CVE-????-?????  XSA-295", &["XSA-295"]),
            (
                "CVE-2017-12122 TALOS-2017-0488",
                &["CVE-2017-12122", "TALOS-2017-0488"],
            ),
            ("CVE-2018-14468 (FrameRelay)", &["CVE-2018-14468"]),
            (
                "CVE-2018-10103 (SMB - partially fixed, but SMB printing disabled)",
                &["CVE-2018-10103"],
            ),
            ("CVE-2017-17434-1", &["CVE-2017-17434"]),
            ("CVE-2017-8073.patch", &["CVE-2017-8073"]),
            ("CVE_2019-2426", &["CVE-2019-2426"]),
            ("CVE 2018-16859", &["CVE-2018-16859"]),
            ("CVE words", &[]),
            ("ZBX-11023", &["ZBX-11023"]),
            ("wnpa-sec-2017-18", &["wnpa-sec-2017-18"]),
            ("(comment only)", &[]),
            ("", &[]),
            ("CVE-2019", &[]),
            ("just words", &[]),
        ];
        for (entry, expected) in cases {
            assert_eq!(issue_ids(entry), *expected, "{entry:?}");
        }
    }

    #[test]
    fn odd_documents() {
        let doc = json!({"distroversion": "v3.6", "reponame": "main", "packages": [
            {"pkg": {"name": "heimdal", "secfixes": {"7.4.0-r0": null, "7.5.0-r0": ["CVE-2018-16860", 7]}}},
            {"pkg": {"secfixes": {}}},
            {"pkg": {"name": "xen", "secfixes": {"4.9.0-r1": ["XSA-207", "(nothing)"]}}},
        ]});
        let out = parse(doc.to_string().as_bytes(), "v3.6-main.json").expect("parse");
        let ids: Vec<&str> = out.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["ALPINE-CVE-2018-16860", "ALPINE-XSA-207"]);
        assert_eq!(
            out.records[1].references,
            vec![],
            "no advisory page for XSA ids"
        );
        let skipped: Vec<(&str, &str)> = out
            .skipped
            .iter()
            .map(|s| (s.location.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert_eq!(
            skipped[0],
            ("v3.6-main.json: heimdal 7.4.0-r0", "no issue listed (null)")
        );
        assert_eq!(
            skipped[1],
            (
                "v3.6-main.json: heimdal 7.5.0-r0",
                "issue is not a string: 7"
            )
        );
        assert_eq!(skipped[2].0, "v3.6-main.json: packages[1]");
        assert_eq!(skipped[3].1, "no vulnerability id in \"(nothing)\"");

        let null_packages =
            br#"{"distroversion": "v3.3", "reponame": "community", "packages": null}"#;
        assert_eq!(
            parse(null_packages, "x").expect("parse"),
            ReadOutcome::default()
        );
        assert!(matches!(
            parse(br#"{"reponame": "os", "packages": []}"#, "minimos.json"),
            Err(Error::Distroversion { found: None, .. })
        ));
        assert!(matches!(
            parse(br#"{"distroversion": "3.10", "packages": []}"#, "x"),
            Err(Error::Distroversion { .. })
        ));
        assert!(matches!(parse(b"[1]", "x"), Err(Error::Json { .. })));
    }

    #[test]
    fn secdb_shaped_feeds_of_other_distributions() {
        let Some(bytes) = test_data::read("formats/alpine/secdb-json-style.minimos.sample.json")
        else {
            return;
        };
        let target = Target {
            ecosystem: "MinimOS".to_owned(),
            id_prefix: "MINI".to_owned(),
            purl_namespace: "minimos".to_owned(),
            advisory_url_prefix: None,
        };
        let out = parse_as(&bytes, "minimos.json", &target).expect("parse");
        assert_eq!(out.skipped, vec![]);
        let curl = out
            .records
            .iter()
            .find(|r| r.id == "MINI-CVE-2022-42916")
            .expect("curl record");
        assert_eq!(
            serde_json::to_value(&curl.affected[0]).expect("json")["package"],
            json!({"ecosystem": "MinimOS", "name": "curl", "purl": "pkg:apk/minimos/curl?arch=source"})
        );
        assert!(
            !out.records.iter().any(|r| r.id == "MINI-CVE-2016-2781"),
            "coreutils is listed under 0: not affected"
        );
    }

    #[test]
    fn branches_merge_into_one_record_per_issue() {
        let mut all = Vec::new();
        for file in ["v3.10-main.json", "v3.11-main.json"] {
            let Some(bytes) = test_data::read(&format!("alpine/legacy-secdb-2020/{file}")) else {
                return;
            };
            all.extend(parse(&bytes, file).expect("parse").records);
        }
        let merged = merge(all);
        let record = merged
            .iter()
            .find(|r| r.id == "ALPINE-CVE-2019-5747")
            .expect("busybox record");
        let ecosystems: Vec<&str> = record
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref().map(|p| p.ecosystem.as_str()))
            .collect();
        assert_eq!(ecosystems, ["Alpine:v3.10", "Alpine:v3.11"]);
        assert_eq!(record.upstream, ["CVE-2019-5747"]);
        let ids: std::collections::BTreeSet<&str> = merged.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), merged.len(), "ids are unique after merge");
    }

    /// Every legacy secdb file: counts measured independently (Python, on the same files).
    #[test]
    fn whole_legacy_secdb() {
        if test_data::read("alpine/legacy-secdb-2020/README.upstream.md").is_none() {
            return;
        }
        let Some(dir) = test_data::dir() else { return };
        let mut files: Vec<_> = std::fs::read_dir(dir.join("alpine/legacy-secdb-2020"))
            .expect("secdb dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        assert_eq!(files.len(), 18);
        let mut records = Vec::new();
        let mut skipped = Vec::new();
        for path in &files {
            let bytes = std::fs::read(path).expect("read");
            let name = path.display().to_string();
            let (format, out) =
                read_document(&name, &bytes, &ReadLimits::default()).expect("parse");
            assert_eq!(format, Format::AlpineSecdb);
            records.extend(out.records);
            skipped.extend(out.skipped);
        }
        // The one `null` list (heimdal in v3.6) and nothing else.
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(
            skipped[0]
                .location
                .ends_with("v3.6-main.json: heimdal 7.4.0-r0")
        );
        let ranges: usize = records
            .iter()
            .flat_map(|r| &r.affected)
            .map(|a| a.ranges.len())
            .sum();
        let merged = merge(records);
        assert_eq!((merged.len(), ranges), (EXPECTED_ISSUES, EXPECTED_RANGES));
    }

    /// Counted by a separate Python script over the same 18 files, with the same reading of
    /// entries (ids per the rules above, `0` and `null` dropped): distinct primary ids with a
    /// fix, and distinct (file, issue, package, version) fixes.
    const EXPECTED_ISSUES: usize = 2469;
    const EXPECTED_RANGES: usize = 11997;
}
