//! Packages against the index: every query of every package, every affected entry under it,
//! then one match per (package, vulnerability) however many advisories name it.
//!
//! One vulnerability, many ids: a Debian record `DEBIAN-CVE-2024-1` with upstream
//! `CVE-2024-1`, a GHSA with alias `CVE-2024-1` and a PYSEC with aliases of both all describe
//! one flaw. Hits on the same package whose id sets overlap are merged (transitively), and the
//! merged match is named by its CVE id when it has one, so one vulnerability shows once.
//! `related` ids are not merged on, except in errata (see `index::same_flaw_ids`): GO-2024-3106
//! relates the CVE of an older, different gob flaw.
//!
//! Matches come out most severe first, then by vulnerability id and package. Speed (10 000
//! packages against 500 000 entries, `examples/match_bench.rs`): no parsing at match time
//! (the index holds parsed entries), ids merged as interned integers, hits and groups in flat
//! buffers, and the output sorted as small keys before the matches are written.

use super::ecosystem::{Query, Unmatchable, queries_for};
use super::index::{Advisory, Entry, VulnIndex};
use crate::severity::Severity;
use crate::severity::normalize::CvssScore;
use plimsoll_analyzer::model::{Distro, Package, PackageKind};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixState {
    /// A fixed version exists.
    Fixed,
    /// Affected, no fix published yet.
    NotFixed,
    /// The vendor decided not to fix it (Debian `no-dsa`/ignored and the like).
    WontFix,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedPackage {
    pub name: String,
    pub version: String,
    pub kind: PackageKind,
    pub purl: String,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Match {
    /// The CVE id when the vulnerability has one, else the advisory id.
    pub vuln_id: String,
    /// Every other id, sorted.
    pub aliases: Vec<String>,
    /// The advisories merged into this match.
    pub advisories: Vec<String>,
    pub package: MatchedPackage,
    pub ecosystem: String,
    /// The name the advisory lists (the source package for Debian).
    pub matched_name: String,
    pub severity: Severity,
    pub cvss: Vec<CvssScore>,
    pub fixed_versions: Vec<String>,
    pub fix_state: FixState,
    pub summary: Option<String>,
}

impl Match {
    /// The key first-seen times are kept under: stable across recomputation.
    pub fn package_key(&self) -> String {
        format!(
            "{}|{}",
            self.package.purl,
            self.package.location.as_deref().unwrap_or("")
        )
    }
}

/// Why a package was not (fully) matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchNote {
    pub purl: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchReport {
    pub matches: Vec<Match>,
    /// Packages that could not be matched, and feed versions that could not be read.
    pub notes: Vec<MatchNote>,
}

struct Hit<'a> {
    /// Order of the hit among the package's hits, which follows the order of its queries: on
    /// a severity tie the earlier hit names the match (for rpm, the binary package's own name,
    /// which AlmaLinux and Rocky advisories list, before the source rpm's).
    seq: usize,
    advisory: &'a Advisory,
    entry: &'a Entry,
    ecosystem: &'a str,
    matched_name: &'a str,
    /// This hit's fix versions, in the report-wide buffer of fixes.
    fixed: std::ops::Range<usize>,
}

impl Hit<'_> {
    fn wont_fix(&self) -> bool {
        matches!(
            self.entry.fix_state.as_deref(),
            Some("wont-fix" | "no-dsa" | "ignored" | "end-of-life")
        )
    }
}

/// One future match: a package and its merged hits (a range of `Pass::order`).
struct Group {
    package: usize,
    members: std::ops::Range<usize>,
}

/// Everything the first pass finds, in flat buffers: no allocation per hit or per group.
#[derive(Default)]
struct Pass<'a> {
    hits: Vec<Hit<'a>>,
    fixed: Vec<&'a str>,
    /// Indices into `hits`, group after group.
    order: Vec<usize>,
    groups: Vec<Group>,
    // Scratch for merging one package's hits.
    pairs: Vec<(u32, usize)>,
    parent: Vec<usize>,
    by_root: Vec<(usize, usize)>,
}

/// Matches every package of an image.
///
/// Two passes: the first evaluates every entry and merges hits into groups, in flat buffers;
/// the second writes exactly as many matches as there are groups.
pub fn match_packages(
    packages: &[Package],
    distro: Option<&Distro>,
    index: &VulnIndex,
) -> MatchReport {
    let mut report = MatchReport::default();
    let queries: Vec<Vec<Query>> = packages
        .iter()
        .map(|pkg| match queries_for(pkg, distro) {
            Ok(q) => q,
            Err(e @ Unmatchable::UnknownDistro { .. })
            | Err(e @ Unmatchable::UnsupportedKind(_)) => {
                report.notes.push(MatchNote {
                    purl: pkg.purl.clone(),
                    message: e.to_string(),
                });
                Vec::new()
            }
        })
        .collect();
    let mut pass = Pass::default();
    for (package, (pkg, queries)) in packages.iter().zip(&queries).enumerate() {
        let first = pass.hits.len();
        for q in queries {
            let entries = index.lookup(&q.ecosystem, &q.name);
            if entries.is_empty() {
                continue;
            }
            let installed = match q.scheme.parse(&q.version) {
                Ok(v) => v,
                Err(e) => {
                    report.notes.push(MatchNote {
                        purl: pkg.purl.clone(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            for entry in entries {
                if entry.affected.scheme() != q.scheme {
                    // The index parses by `scheme_for_ecosystem`, as `queries_for` does.
                    continue;
                }
                let fixes = pass.fixed.len();
                let Some(unparsable) = entry.affected.evaluate_into(&installed, &mut pass.fixed)
                else {
                    continue;
                };
                let advisory = index.advisory(entry.advisory);
                for bad in unparsable {
                    report.notes.push(MatchNote {
                        purl: pkg.purl.clone(),
                        message: format!(
                            "{}: {} version {bad:?} in {} is not readable; event skipped",
                            advisory.id, q.scheme, q.ecosystem
                        ),
                    });
                }
                pass.hits.push(Hit {
                    seq: pass.hits.len() - first,
                    advisory,
                    entry,
                    ecosystem: &q.ecosystem,
                    matched_name: &q.name,
                    fixed: fixes..pass.fixed.len(),
                });
            }
        }
        pass.merge(package, first);
    }
    // Sorted before the matches are written (most severe first, then by id and package), so
    // the sort moves small keys, not matches.
    let mut ids: Vec<&str> = Vec::new();
    let mut keys: Vec<(Severity, &str, &Package, usize)> = pass
        .groups
        .iter()
        .enumerate()
        .map(|(n, g)| {
            let hits = pass.order[g.members.clone()].iter().map(|&i| &pass.hits[i]);
            let severity =
                best_hit(hits.clone()).map_or(Severity::Unknown, |h| h.entry.severity.severity);
            (severity, group_id(hits, &mut ids), &packages[g.package], n)
        })
        .collect();
    keys.sort_unstable_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.cmp(b.1))
            .then_with(|| a.2.name.cmp(&b.2.name))
            .then_with(|| a.2.version.cmp(&b.2.version))
            .then_with(|| a.2.purl.cmp(&b.2.purl))
            .then_with(|| a.2.locations.first().cmp(&b.2.locations.first()))
            .then(a.3.cmp(&b.3))
    });
    report.matches.reserve_exact(keys.len());
    for (_, _, pkg, n) in keys {
        let g = &pass.groups[n];
        let hits = pass.order[g.members.clone()].iter().map(|&i| &pass.hits[i]);
        report
            .matches
            .push(to_match(pkg, hits, &pass.fixed, &mut ids));
    }
    report
}

/// The most severe hit of a group; the first one on a tie (`max_by` would keep the last).
fn best_hit<'h, 'a>(group: impl Iterator<Item = &'h Hit<'a>>) -> Option<&'h Hit<'a>>
where
    'a: 'h,
{
    group.max_by(|a, b| {
        a.entry
            .severity
            .severity
            .cmp(&b.entry.severity.severity)
            .then(b.seq.cmp(&a.seq))
    })
}

/// Every id of the group into `ids`, sorted and deduplicated; returns the group's name, the
/// first CVE id in that order (else GHSA id, else first id).
fn group_id<'h, 'a>(group: impl Iterator<Item = &'h Hit<'a>>, ids: &mut Vec<&'a str>) -> &'a str
where
    'a: 'h,
{
    ids.clear();
    ids.extend(
        group
            .flat_map(|h| std::iter::once(&h.advisory.id).chain(&h.advisory.aliases))
            .map(String::as_str),
    );
    ids.sort_unstable();
    ids.dedup();
    let pick = |prefix: &str| ids.iter().copied().find(|id| id.starts_with(prefix));
    pick("CVE-")
        .or_else(|| pick("GHSA-"))
        .or_else(|| ids.first().copied())
        .unwrap_or("")
}

impl Pass<'_> {
    /// Groups the hits of one package (`hits[first..]`) whose advisories share an id,
    /// transitively (union-find over the interned ids): groups in the order of their first
    /// hit, each in hit order.
    fn merge(&mut self, package: usize, first: usize) {
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let hits = &self.hits[first..];
        if hits.is_empty() {
            return;
        }
        self.pairs.clear();
        self.parent.clear();
        self.parent.extend(0..hits.len());
        for (i, h) in hits.iter().enumerate() {
            self.pairs.extend(h.advisory.keys.iter().map(|&k| (k, i)));
        }
        self.pairs.sort_unstable();
        for w in self.pairs.windows(2) {
            if w[0].0 == w[1].0 {
                let (a, b) = (
                    root(&mut self.parent, w[0].1),
                    root(&mut self.parent, w[1].1),
                );
                // The earlier hit stays the root: a group's root is its first hit.
                self.parent[a.max(b)] = a.min(b);
            }
        }
        self.by_root.clear();
        for i in 0..hits.len() {
            let r = root(&mut self.parent, i);
            self.by_root.push((r, i));
        }
        self.by_root.sort_unstable();
        let mut start = self.order.len();
        for (n, &(r, i)) in self.by_root.iter().enumerate() {
            self.order.push(first + i);
            let last = self.by_root.get(n + 1).is_none_or(|next| next.0 != r);
            if last {
                self.groups.push(Group {
                    package,
                    members: start..self.order.len(),
                });
                start = self.order.len();
            }
        }
    }
}

fn to_match<'a, 'h>(
    pkg: &Package,
    group: impl Iterator<Item = &'h Hit<'a>> + Clone,
    fixes: &[&str],
    ids: &mut Vec<&'a str>,
) -> Match
where
    'a: 'h,
{
    let vuln_id = group_id(group.clone(), ids);
    let mut fixed: Vec<String> = Vec::new();
    for f in group.clone().flat_map(|h| &fixes[h.fixed.clone()]) {
        if !fixed.iter().any(|x| x == f) {
            fixed.push((*f).to_owned());
        }
    }
    let best = best_hit(group.clone());
    let fix_state = if !fixed.is_empty() {
        FixState::Fixed
    } else if group.clone().any(|h| h.wont_fix()) {
        FixState::WontFix
    } else {
        FixState::NotFixed
    };
    let mut advisories: Vec<String> = group.clone().map(|h| h.advisory.id.clone()).collect();
    advisories.sort_unstable();
    advisories.dedup();
    Match {
        aliases: ids
            .iter()
            .filter(|id| **id != vuln_id)
            .map(|s| (*s).to_owned())
            .collect(),
        vuln_id: vuln_id.to_owned(),
        advisories,
        package: MatchedPackage {
            name: pkg.name.clone(),
            version: pkg.version.clone(),
            kind: pkg.kind,
            purl: pkg.purl.clone(),
            location: pkg.locations.first().cloned(),
        },
        ecosystem: best.map(|h| h.ecosystem.to_owned()).unwrap_or_default(),
        matched_name: best.map(|h| h.matched_name.to_owned()).unwrap_or_default(),
        severity: best.map_or(Severity::Unknown, |h| h.entry.severity.severity),
        cvss: best
            .map(|h| h.entry.severity.cvss.clone())
            .unwrap_or_default(),
        fixed_versions: fixed,
        fix_state,
        summary: group
            .clone()
            .find_map(|h| h.advisory.summary.as_deref().map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::osv::Record;
    use plimsoll_analyzer::model::SourcePackage;

    fn record(id: &str, ids: serde_json::Value, eco: &str, name: &str, fixed: &str) -> Record {
        let mut r = serde_json::json!({
            "id": id,
            "affected": [{
                "package": {"ecosystem": eco, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }],
        });
        if let (Some(obj), Some(extra)) = (r.as_object_mut(), ids.as_object()) {
            obj.extend(extra.clone());
        }
        serde_json::from_value(r).expect("test record")
    }

    fn index(records: &[Record]) -> VulnIndex {
        let mut index = VulnIndex::new();
        for r in records {
            index.insert("test", r);
        }
        index
    }

    fn summary(report: &MatchReport) -> Vec<(String, Vec<String>, Vec<String>)> {
        report
            .matches
            .iter()
            .map(|m| (m.vuln_id.clone(), m.advisories.clone(), m.aliases.clone()))
            .collect()
    }

    #[test]
    fn advisories_sharing_an_id_are_one_match_transitively() {
        let index = index(&[
            record(
                "PYSEC-2018-28",
                serde_json::json!({"aliases": ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"]}),
                "PyPI",
                "requests",
                "2.20.0",
            ),
            // Shares only the GHSA id with the PYSEC record, and is named by it.
            record(
                "GHSA-x84v-xcm2-53pg",
                serde_json::json!({"aliases": ["CVE-2018-18074"]}),
                "PyPI",
                "Requests",
                "2.20.1",
            ),
            // Reaches the group only through the GHSA record's id.
            record(
                "OTHER-1",
                serde_json::json!({"aliases": ["GHSA-x84v-xcm2-53pg"]}),
                "PyPI",
                "requests",
                "2.20.0",
            ),
            record(
                "PYSEC-2023-74",
                serde_json::json!({"aliases": ["CVE-2023-32681"]}),
                "PyPI",
                "requests",
                "2.31.0",
            ),
        ]);
        let pkg = Package::new(PackageKind::Python, "requests", "2.19.1");
        let report = match_packages(&[pkg], None, &index);
        assert_eq!(
            summary(&report),
            vec![
                (
                    "CVE-2018-18074".to_owned(),
                    vec![
                        "GHSA-x84v-xcm2-53pg".to_owned(),
                        "OTHER-1".into(),
                        "PYSEC-2018-28".into()
                    ],
                    vec![
                        "GHSA-x84v-xcm2-53pg".to_owned(),
                        "OTHER-1".into(),
                        "PYSEC-2018-28".into()
                    ],
                ),
                (
                    "CVE-2023-32681".to_owned(),
                    vec!["PYSEC-2023-74".to_owned()],
                    vec!["PYSEC-2023-74".to_owned()],
                ),
            ]
        );
        assert_eq!(report.matches[0].fixed_versions, ["2.20.0", "2.20.1"]);
        assert_eq!(report.matches[0].fix_state, FixState::Fixed);
    }

    #[test]
    fn related_ids_name_other_flaws_except_in_errata() {
        // Real shapes: GO-2024-3106 (CVE-2024-34156) relates GO-2022-0526's CVE-2022-30635.
        let index = index(&[
            record(
                "GO-2022-0526",
                serde_json::json!({"aliases": ["CVE-2022-30635"]}),
                "Go",
                "stdlib",
                "1.18.4",
            ),
            record(
                "GO-2024-3106",
                serde_json::json!({"aliases": ["CVE-2024-34156"], "related": ["CVE-2022-30635"]}),
                "Go",
                "stdlib",
                "1.22.7",
            ),
            // An erratum: the CVEs it fixes sit in `related` only.
            record(
                "ALSA-2024:0310",
                serde_json::json!({"related": ["CVE-2023-5363"]}),
                "AlmaLinux:9",
                "openssl-libs",
                "1:3.0.7-25.el9_3",
            ),
        ]);
        let go = Package::new(PackageKind::GoModule, "stdlib", "go1.17.5");
        assert_eq!(
            summary(&match_packages(&[go], None, &index)),
            vec![
                (
                    "CVE-2022-30635".to_owned(),
                    vec!["GO-2022-0526".to_owned()],
                    vec!["GO-2022-0526".to_owned()],
                ),
                (
                    "CVE-2024-34156".to_owned(),
                    vec!["GO-2024-3106".to_owned()],
                    vec!["GO-2024-3106".to_owned()],
                ),
            ]
        );
        let newer = Package::new(PackageKind::GoModule, "stdlib", "go1.20.0");
        assert_eq!(
            match_packages(&[newer], None, &index).matches[0].vuln_id,
            "CVE-2024-34156",
            "not named by the CVE it only relates"
        );

        let mut rpm = Package::new(PackageKind::Rpm, "openssl-libs", "1:3.0.7-24.el9");
        rpm.source = Some(SourcePackage {
            name: "openssl-3.0.7-24.el9.src.rpm".into(),
            version: None,
        });
        let alma = plimsoll_analyzer::model::Distro {
            id: "almalinux".into(),
            version_id: Some("9.4".into()),
            ..Default::default()
        };
        let report = match_packages(&[rpm], Some(&alma), &index);
        assert_eq!(
            summary(&report),
            vec![(
                "CVE-2023-5363".to_owned(),
                vec!["ALSA-2024:0310".to_owned()],
                vec!["ALSA-2024:0310".to_owned()],
            )]
        );
    }

    #[test]
    fn one_advisory_on_binary_and_source_names_the_binary() {
        // AlmaLinux lists every binary rpm of an update, so the source rpm's name hits too.
        let mut r = record(
            "ALSA-2024:2447",
            serde_json::json!({"related": ["CVE-2023-3446", "CVE-2023-2975"]}),
            "AlmaLinux:9",
            "openssl-libs",
            "1:3.0.7-27.el9",
        );
        let mut source_entry = r.affected[0].clone();
        if let Some(p) = source_entry.package.as_mut() {
            p.name = "openssl".into();
        }
        r.affected.insert(0, source_entry);
        let index = index(&[r]);
        let mut rpm = Package::new(PackageKind::Rpm, "openssl-libs", "1:3.0.7-24.el9");
        rpm.source = Some(SourcePackage {
            name: "openssl-3.0.7-24.el9.src.rpm".into(),
            version: None,
        });
        let alma = plimsoll_analyzer::model::Distro {
            id: "almalinux".into(),
            version_id: Some("9".into()),
            ..Default::default()
        };
        let report = match_packages(&[rpm], Some(&alma), &index);
        assert_eq!(report.matches.len(), 1, "{report:#?}");
        let m = &report.matches[0];
        assert_eq!(m.vuln_id, "CVE-2023-2975");
        assert_eq!(m.aliases, ["ALSA-2024:2447", "CVE-2023-3446"]);
        assert_eq!(m.matched_name, "openssl-libs");
        assert_eq!(m.fixed_versions, ["1:3.0.7-27.el9"]);
    }
}
