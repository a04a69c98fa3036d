//! Packages against the index: every query of every package, every affected entry under it,
//! then one match per (package, vulnerability) however many advisories name it.
//!
//! One vulnerability, many ids: a Debian record `DEBIAN-CVE-2024-1` with upstream
//! `CVE-2024-1`, a GHSA with alias `CVE-2024-1` and a PYSEC with aliases of both all describe
//! one flaw. Hits on the same package whose id sets overlap are merged (transitively), and the
//! merged match is named by its CVE id when it has one, so one vulnerability shows once.

use super::ecosystem::{Unmatchable, queries_for};
use super::index::VulnIndex;
use super::ranges::evaluate;
use crate::severity::Severity;
use crate::severity::normalize::CvssScore;
use plimsoll_analyzer::model::{Distro, Package, PackageKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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
    ids: BTreeSet<&'a str>,
    advisory_id: &'a str,
    ecosystem: &'a str,
    matched_name: &'a str,
    severity: Severity,
    cvss: &'a [CvssScore],
    fixed: Vec<String>,
    wont_fix: bool,
    summary: Option<&'a str>,
}

/// Matches every package of an image.
pub fn match_packages(
    packages: &[Package],
    distro: Option<&Distro>,
    index: &VulnIndex,
) -> MatchReport {
    let mut report = MatchReport::default();
    for pkg in packages {
        let queries = match queries_for(pkg, distro) {
            Ok(q) => q,
            Err(e @ Unmatchable::UnknownDistro { .. })
            | Err(e @ Unmatchable::UnsupportedKind(_)) => {
                report.notes.push(MatchNote {
                    purl: pkg.purl.clone(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let mut hits: Vec<Hit<'_>> = Vec::new();
        for q in &queries {
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
                let Some(hit) = evaluate(&entry.affected, q.scheme, &installed, &q.version) else {
                    continue;
                };
                let adv = index.advisory(entry.advisory);
                for bad in &hit.unparsable {
                    report.notes.push(MatchNote {
                        purl: pkg.purl.clone(),
                        message: format!(
                            "{}: {} version {bad:?} in {} is not readable; event skipped",
                            adv.id, q.scheme, q.ecosystem
                        ),
                    });
                }
                let mut ids: BTreeSet<&str> = adv.aliases.iter().map(String::as_str).collect();
                ids.insert(&adv.id);
                hits.push(Hit {
                    ids,
                    advisory_id: &adv.id,
                    ecosystem: &q.ecosystem,
                    matched_name: &q.name,
                    severity: entry.severity.severity,
                    cvss: &entry.severity.cvss,
                    fixed: hit.fixed,
                    wont_fix: matches!(
                        entry.fix_state.as_deref(),
                        Some("wont-fix" | "no-dsa" | "ignored" | "end-of-life")
                    ),
                    summary: adv.summary.as_deref(),
                });
            }
        }
        for group in merge_overlapping(hits) {
            report.matches.push(to_match(pkg, group));
        }
    }
    report.matches.sort_by(|a, b| {
        (b.severity, &a.vuln_id, &a.package.name, &a.package.version).cmp(&(
            a.severity,
            &b.vuln_id,
            &b.package.name,
            &b.package.version,
        ))
    });
    report
}

/// Groups hits whose id sets overlap, transitively.
fn merge_overlapping(hits: Vec<Hit<'_>>) -> Vec<Vec<Hit<'_>>> {
    let mut groups: Vec<(BTreeSet<&str>, Vec<Hit<'_>>)> = Vec::new();
    for hit in hits {
        let mut ids = hit.ids.clone();
        let mut members = vec![hit];
        // Absorb every existing group that shares an id.
        let mut i = 0;
        while i < groups.len() {
            if groups[i].0.iter().any(|id| ids.contains(id)) {
                let (g_ids, g_members) = groups.swap_remove(i);
                ids.extend(g_ids);
                members.extend(g_members);
            } else {
                i += 1;
            }
        }
        groups.push((ids, members));
    }
    groups.into_iter().map(|(_, m)| m).collect()
}

fn canonical_id<'a>(ids: &BTreeSet<&'a str>) -> &'a str {
    let pick = |prefix: &str| ids.iter().copied().find(|id| id.starts_with(prefix));
    pick("CVE-")
        .or_else(|| pick("GHSA-"))
        .or_else(|| ids.iter().copied().next())
        .unwrap_or("")
}

fn to_match(pkg: &Package, group: Vec<Hit<'_>>) -> Match {
    let ids: BTreeSet<&str> = group.iter().flat_map(|h| h.ids.iter().copied()).collect();
    let vuln_id = canonical_id(&ids).to_owned();
    let mut fixed: Vec<String> = Vec::new();
    for f in group.iter().flat_map(|h| &h.fixed) {
        if !fixed.contains(f) {
            fixed.push(f.clone());
        }
    }
    let best = group.iter().max_by_key(|h| h.severity);
    let fix_state = if !fixed.is_empty() {
        FixState::Fixed
    } else if group.iter().any(|h| h.wont_fix) {
        FixState::WontFix
    } else {
        FixState::NotFixed
    };
    let mut advisories: Vec<String> = group.iter().map(|h| h.advisory_id.to_owned()).collect();
    advisories.sort();
    advisories.dedup();
    Match {
        aliases: ids
            .iter()
            .filter(|id| **id != vuln_id)
            .map(|s| (*s).to_owned())
            .collect(),
        vuln_id,
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
        severity: best.map_or(Severity::Unknown, |h| h.severity),
        cvss: best.map(|h| h.cvss.to_vec()).unwrap_or_default(),
        fixed_versions: fixed,
        fix_state,
        summary: group.iter().find_map(|h| h.summary.map(str::to_owned)),
    }
}
