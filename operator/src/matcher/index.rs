//! The in-memory vulnerability index: every affected entry of every advisory, keyed by
//! (ecosystem, name), with each advisory's severity worked out and its versions parsed (by the
//! ecosystem's scheme, [`super::ranges::prepare`]) once at build time.
//!
//! The matcher looks packages up here rather than in SQL one package at a time (Grype's way,
//! and why it takes hours on large SBOMs): the index is built once from the store, and a
//! lookup is a hash probe.

use super::ecosystem::{index_name, scheme_for_ecosystem};
use super::ranges::{PreparedAffected, prepare};
use crate::feeds::osv::Record;
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
    /// `id` and `aliases` interned, sorted and deduplicated: what hits are merged on.
    pub(crate) keys: Box<[u32]>,
}

/// One advisory's word on one package, parsed for matching.
#[derive(Debug, Clone)]
pub struct Entry {
    pub advisory: usize,
    /// The `affected` entry, its versions parsed by the ecosystem's scheme.
    pub affected: PreparedAffected,
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
    /// Ecosystem, then name: two probes with borrowed strings, no key to allocate.
    by_key: HashMap<String, HashMap<String, Vec<Entry>>>,
    /// Interned advisory ids and aliases.
    interned: HashMap<String, u32>,
    entries: usize,
    unsupported: usize,
}

impl VulnIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn intern(&mut self, id: &str) -> u32 {
        if let Some(&k) = self.interned.get(id) {
            return k;
        }
        // More than 4 billion distinct ids cannot fit in memory first.
        let k = u32::try_from(self.interned.len()).unwrap_or(u32::MAX);
        self.interned.insert(id.to_owned(), k);
        k
    }

    /// Adds a record from `source`. Withdrawn records are left out, and so are entries of
    /// ecosystems the matcher never queries (counted in [`Self::unsupported`]).
    pub fn insert(&mut self, source: &str, record: &Record) {
        if record.withdrawn.is_some() {
            return;
        }
        let (aliases, related) = same_flaw_ids(record);
        let mut keys: Vec<u32> = std::iter::once(&record.id)
            .chain(&aliases)
            .map(|id| self.intern(id))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let advisory = self.advisories.len();
        self.advisories.push(Advisory {
            id: record.id.clone(),
            aliases,
            related,
            summary: record.summary.clone(),
            published: record.published.clone(),
            modified: record.modified.clone(),
            source: source.to_owned(),
            keys: keys.into_boxed_slice(),
        });
        for affected in &record.affected {
            let Some(pkg) = &affected.package else {
                continue;
            };
            let Some(scheme) = scheme_for_ecosystem(&pkg.ecosystem) else {
                self.unsupported += 1;
                continue;
            };
            let severity = from_osv_affected(record, affected, ScoreSource::Vendor).info;
            let fix_state = affected
                .database_specific
                .as_ref()
                .and_then(|d| d.get("fix_state"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            if !self.by_key.contains_key(pkg.ecosystem.as_str()) {
                self.by_key.insert(pkg.ecosystem.clone(), HashMap::new());
            }
            let Some(names) = self.by_key.get_mut(pkg.ecosystem.as_str()) else {
                continue;
            };
            names
                .entry(index_name(&pkg.ecosystem, &pkg.name))
                .or_default()
                .push(Entry {
                    advisory,
                    affected: prepare(affected, scheme),
                    severity,
                    fix_state,
                });
            self.entries += 1;
        }
    }

    pub fn lookup(&self, ecosystem: &str, name: &str) -> &[Entry] {
        self.by_key
            .get(ecosystem)
            .and_then(|names| names.get(name))
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

    /// Affected entries left out: their ecosystem is not one the matcher queries.
    pub fn unsupported(&self) -> usize {
        self.unsupported
    }
}
