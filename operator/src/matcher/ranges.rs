//! Whether a version falls in an OSV `affected` entry, and which fix ends its range.
//!
//! OSV semantics (schema §affected.ranges): the events of one range, sorted by version, switch
//! "affected" on (`introduced`) and off (`fixed`: at that version; `last_affected`: after
//! it). `introduced: "0"` is below every version. A version is affected when any range or the
//! explicit `versions` list says so. `GIT` ranges name commits, not releases: they cannot be
//! evaluated against an installed version and are skipped (PyPI records carry an ECOSYSTEM
//! range or a `versions` list beside them). `limit` only bounds GIT ranges and is ignored here.
//!
//! Traps: events are not always written in order; a feed's version string the scheme cannot
//! parse must not sink the whole record (the event is skipped and reported); `fixed: "0"`
//! (seen in converted Alpine data) would mean "never affected".
//!
//! Speed: an entry is [`prepare`]d once, when the index is built (every event and listed
//! version parsed, events sorted, the `versions` list sorted for binary search), so matching
//! an installed version is comparisons only, no parsing and no allocation unless it hits.

use super::version::{ParsedVersion, Scheme};
use crate::feeds::osv::{Affected, Event};
use std::cmp::Ordering;

/// The verdict for one affected entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeHit {
    /// The fix versions of the ranges that matched (empty: no fix published).
    pub fixed: Vec<String>,
    /// Event versions the scheme could not parse (skipped).
    pub unparsable: Vec<String>,
}

#[derive(Debug, Clone)]
enum Bound {
    Introduced(Option<ParsedVersion>),
    /// `fixed: "0"`: fixed below every version, so nothing in this range is affected.
    FixedAtZero,
    Fixed(ParsedVersion, Box<str>),
    LastAffected(ParsedVersion),
}

/// One `affected` entry, parsed for one scheme.
#[derive(Debug, Clone)]
pub struct PreparedAffected {
    scheme: Scheme,
    /// ECOSYSTEM and SEMVER ranges, each with its events in version order.
    ranges: Box<[Box<[Bound]>]>,
    /// The `versions` list, parsed, less what the ranges cover; sorted when the scheme's order
    /// is total (all but rpm). A listed version the scheme cannot parse is dropped: no
    /// installed version (which the scheme did parse) can equal it.
    versions: Box<[ParsedVersion]>,
    sorted_versions: bool,
    /// Event versions the scheme could not parse (skipped, reported with each hit).
    unparsable: Box<[Box<str>]>,
}

/// A hit, borrowing from the prepared entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreparedHit<'a> {
    pub fixed: Vec<&'a str>,
    pub unparsable: &'a [Box<str>],
}

/// Parses and sorts an entry's events and versions for `scheme`, once.
pub fn prepare(affected: &Affected, scheme: Scheme) -> PreparedAffected {
    let mut unparsable: Vec<Box<str>> = Vec::new();
    let mut ranges: Vec<Box<[Bound]>> = Vec::new();
    for range in &affected.ranges {
        if !matches!(range.kind.as_str(), "ECOSYSTEM" | "SEMVER") {
            continue;
        }
        let mut bounds: Vec<Bound> = Vec::with_capacity(range.events.len());
        for event in &range.events {
            match parse_event(event, scheme) {
                Ok(Some(b)) => bounds.push(b),
                Ok(None) => {}
                Err(raw) => unparsable.push(raw.into()),
            }
        }
        bounds.sort_by(cmp_bounds);
        ranges.push(bounds.into_boxed_slice());
    }
    // A listed version a range already covers adds nothing: PyPI lists every affected
    // release beside its ECOSYSTEM ranges (141 000 versions in 2 661 records), and keeping
    // only the rest saves most of the index's memory and a search per lookup.
    let mut versions = Vec::new();
    for v in &affected.versions {
        if let Ok(p) = scheme.parse(v)
            && !ranges.iter().any(|r| range_verdict(r, &p).is_some())
        {
            versions.push(p);
        }
    }
    // rpm's range comparison is not a total order (`1.0` equals `1.0-1` and `1.0-2`), so its
    // lists are searched linearly.
    let sorted_versions = scheme != Scheme::Rpm;
    if sorted_versions {
        versions.sort_by(|a, b| a.cmp_same(b).unwrap_or(Ordering::Equal));
    }
    PreparedAffected {
        scheme,
        ranges: ranges.into_boxed_slice(),
        versions: versions.into_boxed_slice(),
        sorted_versions,
        unparsable: unparsable.into_boxed_slice(),
    }
}

impl PreparedAffected {
    /// The scheme the entry was parsed with.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `None` when `installed` (parsed by [`Self::scheme`]) is not affected by this entry.
    pub fn evaluate(&self, installed: &ParsedVersion) -> Option<PreparedHit<'_>> {
        let mut fixed = Vec::new();
        self.evaluate_into(installed, &mut fixed)
            .map(|unparsable| PreparedHit { fixed, unparsable })
    }

    /// [`Self::evaluate`] without allocating: the fixes of the ranges that matched are
    /// appended to `fixed`; on a hit, the event versions that were skipped are returned.
    pub fn evaluate_into<'a>(
        &'a self,
        installed: &ParsedVersion,
        fixed: &mut Vec<&'a str>,
    ) -> Option<&'a [Box<str>]> {
        let start = fixed.len();
        let mut matched = if self.sorted_versions {
            self.versions
                .binary_search_by(|v| v.cmp_same(installed).unwrap_or(Ordering::Less))
                .is_ok()
        } else {
            self.versions
                .iter()
                .any(|v| installed.cmp_same(v) == Some(Ordering::Equal))
        };
        for bounds in &*self.ranges {
            if let Some(fix) = range_verdict(bounds, installed) {
                matched = true;
                if let Some(f) = fix
                    && !fixed[start..].contains(&f)
                {
                    fixed.push(f);
                }
            }
        }
        if matched {
            Some(&self.unparsable)
        } else {
            fixed.truncate(start);
            None
        }
    }
}

/// Whether one range (its bounds in version order) holds `installed`: `None` if not, else the
/// fix that ends the range above it, if one is published.
fn range_verdict<'a>(bounds: &'a [Bound], installed: &ParsedVersion) -> Option<Option<&'a str>> {
    let mut affected_now = false;
    for b in bounds {
        match b {
            Bound::Introduced(None) => affected_now = true,
            Bound::FixedAtZero => affected_now = false,
            Bound::Introduced(Some(v)) => {
                if installed.cmp_same(v).is_some_and(|o| o != Ordering::Less) {
                    affected_now = true;
                }
            }
            Bound::Fixed(v, raw) => match installed.cmp_same(v) {
                // The first fix above the installed version ends its range.
                Some(Ordering::Less) if affected_now => return Some(Some(raw)),
                Some(Ordering::Less) | None => {}
                Some(_) => affected_now = false,
            },
            Bound::LastAffected(v) => {
                if installed.cmp_same(v) == Some(Ordering::Greater) {
                    affected_now = false;
                }
            }
        }
    }
    affected_now.then_some(None)
}

/// `None` when `installed` is not affected by this entry. Parses the entry on every call: the
/// matcher uses [`prepare`] once and [`PreparedAffected::evaluate`] instead.
pub fn evaluate(
    affected: &Affected,
    scheme: Scheme,
    installed: &ParsedVersion,
) -> Option<RangeHit> {
    let prepared = prepare(affected, scheme);
    prepared.evaluate(installed).map(|h| RangeHit {
        fixed: h.fixed.into_iter().map(str::to_owned).collect(),
        unparsable: h.unparsable.iter().map(|s| s.to_string()).collect(),
    })
}

fn parse_event(e: &Event, scheme: Scheme) -> Result<Option<Bound>, String> {
    let parse = |s: &str| scheme.parse(s).map_err(|_| s.to_owned());
    if let Some(v) = &e.introduced {
        return if v == "0" {
            Ok(Some(Bound::Introduced(None)))
        } else {
            parse(v).map(|p| Some(Bound::Introduced(Some(p))))
        };
    }
    if let Some(v) = &e.fixed {
        if v == "0" {
            return Ok(Some(Bound::FixedAtZero));
        }
        return parse(v).map(|p| Some(Bound::Fixed(p, v.as_str().into())));
    }
    if let Some(v) = &e.last_affected {
        return parse(v).map(|p| Some(Bound::LastAffected(p)));
    }
    Ok(None)
}

/// Events in version order; at equal versions `introduced` first, so `introduced: X` with
/// `fixed: X` (an empty range) ends unaffected.
fn bound_key(b: &Bound) -> (Option<&ParsedVersion>, u8) {
    match b {
        Bound::Introduced(v) => (v.as_ref(), 0),
        Bound::FixedAtZero => (None, 2),
        Bound::Fixed(v, _) => (Some(v), 2),
        Bound::LastAffected(v) => (Some(v), 1),
    }
}

fn cmp_bounds(a: &Bound, b: &Bound) -> Ordering {
    let key = bound_key;
    let (va, ka) = key(a);
    let (vb, kb) = key(b);
    let by_version = match (va, vb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp_same(y).unwrap_or(Ordering::Equal),
    };
    by_version.then(ka.cmp(&kb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::osv::Range;

    fn ev(kind: &str, v: &str) -> Event {
        let mut e = Event::default();
        match kind {
            "i" => e.introduced = Some(v.into()),
            "f" => e.fixed = Some(v.into()),
            "l" => e.last_affected = Some(v.into()),
            _ => e.limit = Some(v.into()),
        }
        e
    }

    fn affected(ranges: Vec<Vec<Event>>, versions: &[&str]) -> Affected {
        Affected {
            package: None,
            severity: vec![],
            ranges: ranges
                .into_iter()
                .map(|events| Range {
                    kind: "ECOSYSTEM".into(),
                    repo: None,
                    events,
                    database_specific: None,
                })
                .collect(),
            versions: versions.iter().map(|s| s.to_string()).collect(),
            ecosystem_specific: None,
            database_specific: None,
        }
    }

    fn check(a: &Affected, scheme: Scheme, v: &str) -> Option<Vec<String>> {
        let p = scheme.parse(v).expect("installed parses");
        evaluate(a, scheme, &p).map(|h| h.fixed)
    }

    #[test]
    fn osv_range_semantics() {
        let simple = affected(vec![vec![ev("i", "0"), ev("f", "2.20.0")]], &[]);
        assert_eq!(
            check(&simple, Scheme::Pep440, "2.19.1"),
            Some(vec!["2.20.0".to_owned()])
        );
        assert_eq!(check(&simple, Scheme::Pep440, "2.20.0"), None);
        assert_eq!(
            check(&simple, Scheme::Pep440, "2.20"),
            None,
            "2.20 == 2.20.0 in PEP 440"
        );

        // Several introduced/fixed pairs in one range, out of order.
        let multi = affected(
            vec![vec![
                ev("f", "1.2.5"),
                ev("i", "2.0.0"),
                ev("i", "1.0.0"),
                ev("f", "2.1.1"),
            ]],
            &[],
        );
        assert_eq!(check(&multi, Scheme::Semver, "0.9.0"), None);
        assert_eq!(
            check(&multi, Scheme::Semver, "1.2.4"),
            Some(vec!["1.2.5".to_owned()])
        );
        assert_eq!(check(&multi, Scheme::Semver, "1.5.0"), None);
        assert_eq!(
            check(&multi, Scheme::Semver, "2.1.0"),
            Some(vec!["2.1.1".to_owned()])
        );

        let last = affected(vec![vec![ev("i", "0"), ev("l", "1.4.0")]], &[]);
        assert_eq!(
            check(&last, Scheme::Semver, "1.4.0"),
            Some(vec![]),
            "no fix published"
        );
        assert_eq!(check(&last, Scheme::Semver, "1.4.1"), None);

        let listed = affected(vec![], &["2.10", "2.10.1"]);
        assert_eq!(check(&listed, Scheme::Pep440, "2.10"), Some(vec![]));
        assert_eq!(check(&listed, Scheme::Pep440, "2.11"), None);

        let deb = affected(vec![vec![ev("i", "0"), ev("f", "3.0.17-1~deb12u3")]], &[]);
        assert!(check(&deb, Scheme::Dpkg, "3.0.17-1~deb12u2").is_some());
        assert!(
            check(&deb, Scheme::Dpkg, "3.0.17-1").is_none(),
            "~ sorts before the end"
        );

        let rpm = affected(vec![vec![ev("i", "0"), ev("f", "1:3.0.7-27.el9")]], &[]);
        assert!(check(&rpm, Scheme::Rpm, "1:3.0.7-24.el9").is_some());
        assert!(check(&rpm, Scheme::Rpm, "1:3.0.7-27.el9").is_none());
    }

    #[test]
    fn listed_versions_that_ranges_cover_are_dropped_at_prepare() {
        let mixed = affected(
            vec![vec![ev("i", "0"), ev("f", "2.0")]],
            &["1.0", "1.5.0", "3.0", "not-pep-440!"],
        );
        assert_eq!(
            prepare(&mixed, Scheme::Pep440).versions.len(),
            1,
            "only 3.0 is outside the range"
        );
        assert_eq!(
            check(&mixed, Scheme::Pep440, "1.5"),
            Some(vec!["2.0".to_owned()]),
            "in the range and the list: the range's fix"
        );
        assert_eq!(check(&mixed, Scheme::Pep440, "3.0.0"), Some(vec![]));
        assert_eq!(check(&mixed, Scheme::Pep440, "2.5"), None);
    }

    #[test]
    fn bad_event_versions_are_skipped_not_fatal() {
        let a = affected(vec![vec![ev("i", "0"), ev("f", "not a version!")]], &[]);
        let p = Scheme::Semver.parse("1.0.0").expect("parses");
        let hit = evaluate(&a, Scheme::Semver, &p).expect("still affected from introduced 0");
        assert_eq!(hit.unparsable, vec!["not a version!".to_owned()]);
        let never = affected(vec![vec![ev("i", "0"), ev("f", "0")]], &[]);
        assert_eq!(
            check(&never, Scheme::Apk, "1.2.3-r0"),
            None,
            "fixed at 0: never affected"
        );
    }
}
