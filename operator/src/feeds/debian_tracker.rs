//! The Debian security tracker JSON (`https://security-tracker.debian.org/tracker/data/json`)
//! to OSV records.
//!
//! Shape: `{"<source package>": {"CVE-…": {"description", "debianbug", "scope", "releases":
//! {"bookworm": {"status", "repositories", "fixed_version", "urgency", "nodsa",
//! "nodsa_reason"}}}}}`. Output: one record per issue, id `DEBIAN-<CVE>` (as Debian's own OSV
//! names them), `upstream: [CVE]`, and one `affected` entry per (source package, release), with
//! ecosystem `Debian:<number>`, the urgency in `ecosystem_specific.urgency` and the fix state in
//! `database_specific.fix_state` ([`FixState`]), which the matcher reports.
//!
//! Traps:
//! - `resolved` with `fixed_version: "0"` means the release was never affected: no entry.
//! - `open` has no fix: the range is `introduced 0` alone, and the fix state says why. The
//!   tracker's `<no-dsa>` sets `nodsa` (the reason text), with `nodsa_reason` `ignored`
//!   (won't be fixed), `postponed` (will come with a later update) or empty (minor issue, may
//!   come in a point release). Urgency `end-of-life` means the package is no longer supported
//!   in that release. All of them stay affected; only the state differs.
//! - `undetermined`: nobody has checked yet. Kept as affected (`introduced 0`) with state
//!   `undetermined`, so the matcher can choose to report it as uncertain.
//! - Urgency carries `**` when it was taken from NVD's score and not reviewed by Debian
//!   (`low**`), or is `not yet assigned`, `unimportant` or `end-of-life`: kept verbatim.
//! - Keys are codenames: mapped to Debian numbers (jessie 8 … forky 14, duke 15); `sid` has no
//!   number and no stable versions to match, so it is left out; an unknown codename (a release
//!   named after this code was written) is reported once with its count.
//! - An issue with no release data has `"releases": []`, an empty array, not an object.
//! - The whole file is ~100 MB: issues are deserialised one at a time from borrowed raw JSON,
//!   never as one `serde_json::Value` tree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::feeds::convert::{range_from_zero, source_purl};
use crate::feeds::osv::{Affected, Package, Record, Reference};
use crate::feeds::read::ReadOutcome;

/// Why an affected release has, or has no, fix. Serialised in `database_specific.fix_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixState {
    /// Fixed in `fixed_version`.
    Fixed,
    /// Affected, no fix yet, none ruled out.
    NoFixYet,
    /// `<no-dsa>` with reason `ignored`: Debian will not fix it in this release.
    WontFix,
    /// `<no-dsa>` with reason `postponed`: a fix will come with a later update.
    Postponed,
    /// `<no-dsa>` without reason: minor issue, no security advisory; may be fixed in a point
    /// release.
    NoDsa,
    /// The package is no longer supported in this release.
    EndOfLife,
    /// Not yet known whether the release is affected.
    Undetermined,
}

/// Debian's release number for a codename; `None` for `sid` and unknown names.
pub fn release_number(codename: &str) -> Option<u32> {
    Some(match codename {
        "squeeze" => 6,
        "wheezy" => 7,
        "jessie" => 8,
        "stretch" => 9,
        "buster" => 10,
        "bullseye" => 11,
        "bookworm" => 12,
        "trixie" => 13,
        "forky" => 14,
        "duke" => 15,
        _ => return None,
    })
}

/// Codenames without a number that are left out on purpose (not reported as unknown).
const UNNUMBERED: &[&str] = &["sid", "experimental"];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{location}: not a Debian security tracker document: {source}")]
    Json {
        location: String,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct RawIssue<'a> {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    debianbug: Option<serde_json::Value>,
    #[serde(default, borrow)]
    releases: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawRelease {
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa: Option<serde_json::Value>,
    #[serde(default)]
    nodsa_reason: Option<String>,
}

struct IssueRecord {
    description: Option<String>,
    bug: Option<u64>,
    affected: Vec<Affected>,
}

/// A whole tracker document.
pub fn parse(bytes: &[u8], location: &str) -> Result<ReadOutcome, Error> {
    let packages: BTreeMap<String, &RawValue> =
        serde_json::from_slice(bytes).map_err(|source| Error::Json {
            location: location.to_owned(),
            source,
        })?;
    let mut out = ReadOutcome::default();
    let mut issues: BTreeMap<String, IssueRecord> = BTreeMap::new();
    let mut unknown_releases: BTreeMap<String, usize> = BTreeMap::new();
    for (package, raw_issues) in packages {
        if package.is_empty() || package.contains(char::is_whitespace) {
            out.skip(
                format!("{location}: {package:?}"),
                "bad source package name",
            );
            continue;
        }
        let package_issues: BTreeMap<String, &RawValue> =
            match serde_json::from_str(raw_issues.get()) {
                Ok(issues) => issues,
                Err(e) => {
                    out.skip(format!("{location}: {package}"), e);
                    continue;
                }
            };
        for (issue_id, raw_issue) in package_issues {
            let here = format!("{location}: {package} {issue_id}");
            if issue_id.is_empty() || issue_id.contains(char::is_whitespace) {
                out.skip(here, "bad issue id");
                continue;
            }
            let issue: RawIssue<'_> = match serde_json::from_str(raw_issue.get()) {
                Ok(issue) => issue,
                Err(e) => {
                    out.skip(here, e);
                    continue;
                }
            };
            let releases = match releases_of(issue.releases) {
                Ok(releases) => releases,
                Err(reason) => {
                    out.skip(here, reason);
                    continue;
                }
            };
            let mut affected = Vec::new();
            for (codename, raw_release) in releases {
                let Some(number) = release_number(&codename) else {
                    if !UNNUMBERED.contains(&codename.as_str()) {
                        *unknown_releases.entry(codename).or_default() += 1;
                    }
                    continue;
                };
                let release: RawRelease = match serde_json::from_str(raw_release.get()) {
                    Ok(release) => release,
                    Err(e) => {
                        out.skip(format!("{here} {codename}"), e);
                        continue;
                    }
                };
                match release_affected(&package, &codename, number, &release) {
                    Ok(Some(entry)) => affected.push((number, entry)),
                    Ok(None) => {}
                    Err(reason) => out.skip(format!("{here} {codename}"), reason),
                }
            }
            affected.sort_by_key(|(number, _)| *number);
            let record = issues.entry(issue_id).or_insert_with(|| IssueRecord {
                description: None,
                bug: None,
                affected: Vec::new(),
            });
            if record.description.is_none() {
                record.description = issue.description.filter(|d| !d.trim().is_empty());
            }
            if record.bug.is_none() {
                record.bug = issue.debianbug.as_ref().and_then(serde_json::Value::as_u64);
            }
            record.affected.extend(affected.into_iter().map(|(_, a)| a));
        }
    }
    for (codename, count) in unknown_releases {
        out.skip(
            format!("{location}: release {codename}"),
            format!("unknown Debian release codename; {count} entries left out"),
        );
    }
    out.records = issues
        .into_iter()
        .filter(|(_, issue)| !issue.affected.is_empty())
        .map(|(id, issue)| to_record(id, issue))
        .collect();
    Ok(out)
}

/// `releases` is an object, or an empty array when the tracker has no release data.
fn releases_of(raw: Option<&RawValue>) -> Result<BTreeMap<String, &RawValue>, String> {
    let Some(raw) = raw else {
        return Ok(BTreeMap::new());
    };
    if raw.get().starts_with('[') {
        let items: Vec<serde::de::IgnoredAny> =
            serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
        return if items.is_empty() {
            Ok(BTreeMap::new())
        } else {
            Err("`releases` is a non-empty array, expected an object".to_owned())
        };
    }
    serde_json::from_str(raw.get()).map_err(|e| format!("`releases`: {e}"))
}

/// One release's entry, or `None` when the release is not affected.
fn release_affected(
    package: &str,
    codename: &str,
    number: u32,
    release: &RawRelease,
) -> Result<Option<Affected>, String> {
    let fixed_version = release
        .fixed_version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let nodsa = match &release.nodsa {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => Some(text.clone()),
        Some(other) => Some(other.to_string()),
    };
    let nodsa_reason = release.nodsa_reason.as_deref().filter(|r| !r.is_empty());
    let (state, fixed) = match release.status.as_str() {
        "resolved" => match fixed_version {
            Some("0") => return Ok(None),
            Some(version) => (FixState::Fixed, Some(version)),
            None => return Err("status `resolved` without a `fixed_version`".to_owned()),
        },
        "open" => {
            let state = match nodsa_reason {
                Some("ignored") => FixState::WontFix,
                Some("postponed") => FixState::Postponed,
                _ if nodsa.is_some() || nodsa_reason.is_some() => FixState::NoDsa,
                _ if release.urgency.as_deref() == Some("end-of-life") => FixState::EndOfLife,
                _ => FixState::NoFixYet,
            };
            (state, None)
        }
        "undetermined" => (FixState::Undetermined, None),
        other => return Err(format!("unknown status {other:?}")),
    };
    if fixed.is_some_and(|v| v.contains(char::is_whitespace)) {
        return Err(format!("bad fixed_version {fixed:?}"));
    }
    let mut database_specific = serde_json::Map::new();
    database_specific.insert("fix_state".to_owned(), serde_json::json!(state));
    database_specific.insert("release".to_owned(), codename.into());
    if let Some(nodsa) = nodsa {
        database_specific.insert("nodsa".to_owned(), nodsa.into());
    }
    if let Some(reason) = nodsa_reason {
        database_specific.insert("nodsa_reason".to_owned(), reason.into());
    }
    Ok(Some(Affected {
        package: Some(Package {
            ecosystem: format!("Debian:{number}"),
            name: package.to_owned(),
            purl: Some(source_purl("deb", "debian", package)),
        }),
        severity: vec![],
        ranges: vec![range_from_zero(fixed)],
        versions: vec![],
        ecosystem_specific: release
            .urgency
            .as_ref()
            .map(|urgency| serde_json::json!({ "urgency": urgency })),
        database_specific: Some(serde_json::Value::Object(database_specific)),
    }))
}

fn to_record(issue_id: String, issue: IssueRecord) -> Record {
    let mut references = vec![Reference {
        kind: Some("ADVISORY".to_owned()),
        url: format!("https://security-tracker.debian.org/tracker/{issue_id}"),
    }];
    if let Some(bug) = issue.bug {
        references.push(Reference {
            kind: Some("REPORT".to_owned()),
            url: format!("https://bugs.debian.org/{bug}"),
        });
    }
    Record {
        schema_version: None,
        id: format!("DEBIAN-{issue_id}"),
        modified: None,
        published: None,
        withdrawn: None,
        aliases: vec![],
        related: vec![],
        upstream: if issue_id.starts_with("CVE-") {
            vec![issue_id]
        } else {
            vec![]
        },
        summary: None,
        details: issue.description,
        severity: vec![],
        affected: issue.affected,
        references,
        database_specific: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const SAMPLE: &str = include_str!("testdata/debian-tracker-sample.json");

    fn affected(ecosystem: &str, name: &str, events: Value, urgency: &str, state: Value) -> Value {
        json!({
            "package": {"ecosystem": ecosystem, "name": name,
                        "purl": format!("pkg:deb/debian/{name}?arch=source")},
            "severity": [],
            "ranges": [{"type": "ECOSYSTEM", "repo": null, "events": events,
                        "database_specific": null}],
            "versions": [],
            "ecosystem_specific": {"urgency": urgency},
            "database_specific": state,
        })
    }

    fn record(id: &str, details: Option<&str>, bug: Option<u64>, affected: Vec<Value>) -> Value {
        let mut references = vec![json!({"type": "ADVISORY",
            "url": format!("https://security-tracker.debian.org/tracker/{id}")})];
        if let Some(bug) = bug {
            references
                .push(json!({"type": "REPORT", "url": format!("https://bugs.debian.org/{bug}")}));
        }
        json!({
            "schema_version": null, "id": format!("DEBIAN-{id}"), "modified": null,
            "published": null, "withdrawn": null, "aliases": [], "related": [],
            "upstream": [id], "summary": null, "details": details, "severity": [],
            "affected": affected, "references": references, "database_specific": null,
        })
    }

    fn fixed(version: &str) -> Value {
        json!([{"introduced": "0"}, {"fixed": version}])
    }

    fn state(state: &str, release: &str) -> Value {
        json!({"fix_state": state, "release": release})
    }

    #[test]
    fn sample_converts_exactly() {
        let out = parse(SAMPLE.as_bytes(), "json").expect("parse");
        assert_eq!(out.skipped, vec![]);
        let got = serde_json::to_value(&out.records).expect("json");
        let prototype = "Unspecified vulnerability in Prototype JavaScript framework (prototypejs) \
            before 1.6.0.2 allows attackers to make \"cross-site ajax requests\" via unknown vectors.";
        let txt2man = "A certain Debian patch for txt2man 1.5.5, as used in txt2man 1.5.5-2, \
            1.5.5-4, and others, allows local users to overwrite arbitrary files via a symlink \
            attack on /tmp/2222.";
        let backupninja = "The handler code for backupninja 0.8 and earlier creates temporary \
            files with predictable filenames, which allows local users to modify arbitrary files \
            via a symlink attack.";
        let sope = "In Alinto SOPE SOGo 2.0.2 through 5.12.2, sope-core/NGExtensions/NGHashMap.m \
            allows a NULL pointer dereference and SOGo crash via a request in which a parameter \
            in the query string is a duplicate of a parameter in the POST body.";
        let open = json!([{"introduced": "0"}]);
        let expected = json!([
            record(
                "CVE-2005-3111",
                Some(backupninja),
                None,
                vec![
                    affected(
                        "Debian:8",
                        "backupninja",
                        fixed("0.8-2"),
                        "medium",
                        state("fixed", "jessie")
                    ),
                    affected(
                        "Debian:9",
                        "backupninja",
                        fixed("0.8-2"),
                        "medium",
                        state("fixed", "stretch")
                    ),
                    affected(
                        "Debian:10",
                        "backupninja",
                        fixed("0.8-2"),
                        "medium",
                        state("fixed", "buster")
                    ),
                ]
            ),
            // CVE-2007-2383: `fixed_version: "0"` everywhere, never affected: no record.
            record(
                "CVE-2008-7220",
                Some(prototype),
                Some(555217),
                vec![
                    affected(
                        "Debian:8",
                        "prototypejs",
                        fixed("1.6.0.2-1"),
                        "high**",
                        state("fixed", "jessie")
                    ),
                    affected(
                        "Debian:9",
                        "prototypejs",
                        fixed("1.6.0.2-1"),
                        "high**",
                        state("fixed", "stretch")
                    ),
                    affected(
                        "Debian:10",
                        "prototypejs",
                        fixed("1.6.0.2-1"),
                        "high**",
                        state("fixed", "buster")
                    ),
                ]
            ),
            record(
                "CVE-2013-1444",
                Some(txt2man),
                Some(724614),
                vec![
                    affected(
                        "Debian:8",
                        "txt2man",
                        fixed("1.5.5-4.1"),
                        "low**",
                        state("fixed", "jessie")
                    ),
                    affected(
                        "Debian:9",
                        "txt2man",
                        fixed("1.5.5-4.1"),
                        "low**",
                        state("fixed", "stretch")
                    ),
                    affected(
                        "Debian:10",
                        "txt2man",
                        fixed("1.5.5-4.1"),
                        "low**",
                        state("fixed", "buster")
                    ),
                ]
            ),
            // CVE-2022-0358 (chromium-browser) has `"releases": []`: no record.
            record(
                "CVE-2022-0456",
                None,
                None,
                vec![
                    affected(
                        "Debian:9",
                        "chromium",
                        open.clone(),
                        "end-of-life",
                        state("end-of-life", "stretch")
                    ),
                    affected(
                        "Debian:10",
                        "chromium",
                        open.clone(),
                        "end-of-life",
                        state("end-of-life", "buster")
                    ),
                    affected(
                        "Debian:11",
                        "chromium",
                        fixed("98.0.4758.80-1~deb11u1"),
                        "not yet assigned",
                        state("fixed", "bullseye")
                    ),
                    affected(
                        "Debian:12",
                        "chromium",
                        fixed("98.0.4758.80-1"),
                        "not yet assigned",
                        state("fixed", "bookworm")
                    ),
                ]
            ),
            record(
                "CVE-2025-53603",
                Some(sope),
                Some(1108798),
                vec![
                    affected(
                        "Debian:11",
                        "sope",
                        fixed("5.0.1-2+deb11u1"),
                        "not yet assigned",
                        state("fixed", "bullseye")
                    ),
                    affected(
                        "Debian:12",
                        "sope",
                        fixed("5.8.0-1+deb12u1"),
                        "not yet assigned",
                        state("fixed", "bookworm")
                    ),
                    affected(
                        "Debian:13",
                        "sope",
                        fixed("5.12.1-2"),
                        "not yet assigned",
                        state("fixed", "trixie")
                    ),
                ]
            ),
        ]);
        assert_eq!(got, expected);
    }

    #[test]
    fn fix_states_of_open_and_undetermined_entries() {
        let release = |entry: Value| {
            let doc = json!({"zlib": {"CVE-2023-45853": {"releases": {"bookworm": entry}}}});
            let out = parse(doc.to_string().as_bytes(), "json").expect("parse");
            assert_eq!(out.skipped, vec![]);
            out.records
                .first()
                .map(|r| serde_json::to_value(&r.affected[0]).expect("json"))
        };
        let cases: &[(Value, &str)] = &[
            (json!({"status": "open", "urgency": "low"}), "no-fix-yet"),
            (
                json!({"status": "open", "urgency": "unimportant", "nodsa": "contrib/minizip not built", "nodsa_reason": "ignored"}),
                "wont-fix",
            ),
            (
                json!({"status": "open", "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": "postponed"}),
                "postponed",
            ),
            (
                json!({"status": "open", "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": ""}),
                "no-dsa",
            ),
            (
                json!({"status": "open", "urgency": "end-of-life"}),
                "end-of-life",
            ),
            (
                json!({"status": "undetermined", "urgency": "not yet assigned"}),
                "undetermined",
            ),
        ];
        for (entry, expected) in cases {
            let got = release(entry.clone()).expect("an affected entry");
            assert_eq!(got["database_specific"]["fix_state"], *expected, "{entry}");
            assert_eq!(
                got["ranges"][0]["events"],
                json!([{"introduced": "0"}]),
                "{entry}"
            );
            assert_eq!(got["ecosystem_specific"]["urgency"], entry["urgency"]);
            if let Some(nodsa) = entry.get("nodsa") {
                assert_eq!(&got["database_specific"]["nodsa"], nodsa);
            }
        }
        assert_eq!(
            release(json!({"status": "resolved", "fixed_version": "0", "urgency": "unimportant"})),
            None,
            "not affected"
        );
    }

    #[test]
    fn bad_entries_are_skipped_and_unknown_releases_counted() {
        let doc = json!({
            "pkg": {
                "CVE-2024-0001": {"releases": {
                    "bookworm": {"status": "resolved"},
                    "trixie": {"status": "weird"},
                    "forky": {"fixed_version": "1.0-1"},
                    "sid": {"status": "open"},
                    "zeta": {"status": "open"},
                    "bullseye": {"status": "resolved", "fixed_version": "1.0-1~deb11u1"}
                }},
                "CVE-2024-0002": {"releases": [{"status": "open"}]},
                "CVE-2024-0003": "not an object",
                "TEMP-0000000-1A2B3C": {"releases": {"zeta": {"status": "open"}}}
            },
            "broken": [],
        });
        let out = parse(doc.to_string().as_bytes(), "json").expect("parse");
        let ids: Vec<&str> = out.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["DEBIAN-CVE-2024-0001"]);
        assert_eq!(out.records[0].affected.len(), 1, "bullseye only");
        let skipped: Vec<&str> = out.skipped.iter().map(|s| s.location.as_str()).collect();
        assert_eq!(
            skipped,
            [
                "json: broken",
                "json: pkg CVE-2024-0001 bookworm",
                "json: pkg CVE-2024-0001 forky",
                "json: pkg CVE-2024-0001 trixie",
                "json: pkg CVE-2024-0002",
                "json: pkg CVE-2024-0003",
                "json: release zeta",
            ]
        );
        assert_eq!(
            out.skipped[6].reason,
            "unknown Debian release codename; 2 entries left out"
        );
        assert!(matches!(parse(b"[]", "json"), Err(Error::Json { .. })));
        assert!(matches!(
            parse(b"{\"a\": ", "json"),
            Err(Error::Json { .. })
        ));
    }

    #[test]
    fn temp_ids_have_no_upstream() {
        let doc = json!({"pkg": {"TEMP-0000000-1A2B3C": {"releases": {
            "bookworm": {"status": "open", "urgency": "unimportant"}}}}});
        let out = parse(doc.to_string().as_bytes(), "json").expect("parse");
        assert_eq!(out.records[0].id, "DEBIAN-TEMP-0000000-1A2B3C");
        assert_eq!(out.records[0].upstream, Vec::<String>::new());
    }

    #[test]
    fn one_issue_in_two_packages_is_one_record() {
        let doc = json!({
            "openssl": {"CVE-2019-1543": {"releases": {"buster": {"status": "resolved", "fixed_version": "1.1.1c-1", "urgency": "low"}}}},
            "openssl1.0": {"CVE-2019-1543": {"releases": {"stretch": {"status": "open", "urgency": "low"}}}}
        });
        let out = parse(doc.to_string().as_bytes(), "json").expect("parse");
        assert_eq!(out.records.len(), 1);
        let names: Vec<&str> = out.records[0]
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref().map(|p| p.name.as_str()))
            .collect();
        assert_eq!(names, ["openssl", "openssl1.0"]);
    }
}
