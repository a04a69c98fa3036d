//! The in-memory vulnerability index: every affected entry of every advisory, keyed by
//! (ecosystem, name), with each advisory's severity worked out once at build time.
//!
//! The matcher looks packages up here rather than in SQL one package at a time (Grype's way,
//! and why it takes hours on large SBOMs): the index is built once from the store, and a
//! lookup is a hash probe.

use super::ecosystem::index_name;
use crate::feeds::osv::{Affected, Record};
use crate::severity::normalize::{ScoreSource, SeverityInfo, from_osv_affected};
use std::collections::HashMap;

/// What a match says about the advisory behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Advisory {
    pub id: String,
    /// The other ids of the same flaw: `aliases` and `upstream`, and `related` for errata
    /// (see [`same_flaw_ids`]). Matches sharing one of these are one vulnerability.
    pub aliases: Vec<String>,
    /// `related` ids that name other flaws (kept for display, never merged on).
    pub related: Vec<String>,
    pub summary: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    /// The feed source it came from.
    pub source: String,
}

/// One advisory's word on one package.
#[derive(Debug, Clone)]
pub struct Entry {
    pub advisory: usize,
    pub affected: Affected,
    pub severity: SeverityInfo,
    /// `database_specific.fix_state` (Debian tracker: `wont-fix`, `no-fix-yet`, ...).
    pub fix_state: Option<String>,
}

/// The ids naming the record's own flaw(s), and the `related` ids naming other flaws.
///
/// OSV's `related` means "a different but related vulnerability": GO-2024-3106
/// (CVE-2024-34156, fixed in Go 1.22.7) relates CVE-2022-30635 (GO-2022-0526, fixed in 1.18.4);
/// merging on it would report the 2024 flaw under the 2022 CVE. Errata are the exception: an
/// AlmaLinux ALSA, Rocky RLSA, Red Hat RHSA or SUSE update has no `aliases` or `upstream` and
/// lists the CVEs it fixes in `related`, so for a record without `aliases` and `upstream`,
/// `related` names its own flaws. (That also reads PyPI's bundled-libwebp records, which
/// relate CVE-2023-4863 only, as that CVE: the flaw they ship.)
fn same_flaw_ids(record: &Record) -> (Vec<String>, Vec<String>) {
    let mut same: Vec<String> = Vec::new();
    let push = |list: &mut Vec<String>, id: &String| {
        if *id != record.id && !list.contains(id) {
            list.push(id.clone());
        }
    };
    for id in record.aliases.iter().chain(&record.upstream) {
        push(&mut same, id);
    }
    let erratum = same.is_empty();
    let mut related = Vec::new();
    for id in &record.related {
        if erratum {
            push(&mut same, id);
        } else if !same.contains(id) {
            push(&mut related, id);
        }
    }
    (same, related)
}

#[derive(Debug, Default)]
pub struct VulnIndex {
    advisories: Vec<Advisory>,
    by_key: HashMap<(String, String), Vec<Entry>>,
    entries: usize,
}

impl VulnIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a record from `source`. Withdrawn records are left out.
    pub fn insert(&mut self, source: &str, record: &Record) {
        if record.withdrawn.is_some() {
            return;
        }
        let (aliases, related) = same_flaw_ids(record);
        let advisory = self.advisories.len();
        self.advisories.push(Advisory {
            id: record.id.clone(),
            aliases,
            related,
            summary: record.summary.clone(),
            published: record.published.clone(),
            modified: record.modified.clone(),
            source: source.to_owned(),
        });
        for affected in &record.affected {
            let Some(pkg) = &affected.package else {
                continue;
            };
            let severity = from_osv_affected(record, affected, ScoreSource::Vendor).info;
            let fix_state = affected
                .database_specific
                .as_ref()
                .and_then(|d| d.get("fix_state"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            self.by_key
                .entry((pkg.ecosystem.clone(), index_name(&pkg.ecosystem, &pkg.name)))
                .or_default()
                .push(Entry {
                    advisory,
                    affected: affected.clone(),
                    severity,
                    fix_state,
                });
            self.entries += 1;
        }
    }

    pub fn lookup(&self, ecosystem: &str, name: &str) -> &[Entry] {
        // Keys are owned strings; a borrowed probe would need a custom hasher-compatible key.
        self.by_key
            .get(&(ecosystem.to_owned(), name.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    pub fn advisory(&self, i: usize) -> &Advisory {
        &self.advisories[i]
    }

    /// Affected entries indexed.
    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    pub fn advisory_count(&self) -> usize {
        self.advisories.len()
    }
}
