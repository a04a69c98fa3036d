//! The notification document and the vulnerability diffs it carries, sans-IO.
//!
//! A [`Notification`] is what every sink receives, rendered per format: the `json` webhook body
//! is the document itself (`operator/docs/notification.schema.json`), the `anchore` format and
//! Slack messages are built from it. It also travels through the outbox, so it holds no secret.
//!
//! Traps:
//! - One vulnerability shows once per package instance: entries are keyed by
//!   `(vuln_id, package_key)`, the key the store keeps first-seen times under
//!   ([`crate::matcher::Match::package_key`]: purl plus location), so the same package installed
//!   twice (two `node_modules`) is two entries, and a version bump of one package keeps its key
//!   only when its purl does not carry the version (purls do: a bump is removed + added).
//! - Payloads stay bounded: a feed that adds 20 000 matches to one image still sends at most
//!   [`MAX_LIST`] entries per list, with `truncated` set; the full data is in the operator.
//! - `id` is the idempotency key: the same event enqueued twice, or delivered twice after a
//!   crash between sending and marking, carries the same `id`, and receivers drop duplicates.

use crate::crd::image_scan::VulnerabilityCounts;
use crate::crd::subscription::EventType;
use crate::matcher::{FixState, Match};
use crate::severity::Severity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// Most entries per list (`diff.added`, `diff.updated`, `diff.removed`, `fixes`).
pub const MAX_LIST: usize = 500;
/// Most entries of `topFindings`.
pub const MAX_TOP_FINDINGS: usize = 5;

/// One vulnerability match of an image, as notifications report it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnEntry {
    pub vuln_id: String,
    pub package: String,
    pub version: String,
    pub package_type: String,
    /// Stable key of the package instance (purl + location).
    pub package_key: String,
    pub severity: Severity,
    /// The fixed versions, comma-separated; absent while there is no fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_in: Option<String>,
    /// Where to read about the vulnerability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl VulnEntry {
    pub fn from_match(m: &Match) -> Self {
        let fixed_in = match m.fix_state {
            FixState::Fixed if !m.fixed_versions.is_empty() => Some(m.fixed_versions.join(", ")),
            _ => None,
        };
        Self {
            vuln_id: m.vuln_id.clone(),
            package: m.package.name.clone(),
            version: m.package.version.clone(),
            package_type: m.package.kind.as_str().to_owned(),
            package_key: m.package_key(),
            severity: m.severity,
            fixed_in,
            url: advisory_url(&m.vuln_id),
        }
    }

    fn key(&self) -> (&str, &str) {
        (&self.vuln_id, &self.package_key)
    }
}

/// A public page for a vulnerability id: NVD for CVEs, GitHub for GHSAs, OSV for the rest.
/// None for ids with characters that have no business in a URL (feeds are input).
pub fn advisory_url(id: &str) -> Option<String> {
    let safe = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if !safe {
        return None;
    }
    Some(if id.starts_with("CVE-") {
        format!("https://nvd.nist.gov/vuln/detail/{id}")
    } else if id.starts_with("GHSA-") {
        format!("https://github.com/advisories/{id}")
    } else {
        format!("https://osv.dev/vulnerability/{id}")
    })
}

/// The same vulnerability and package before and after a feed change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnUpdate {
    pub before: VulnEntry,
    pub after: VulnEntry,
}

/// What a re-match changed in an image's vulnerabilities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnDiff {
    pub added: Vec<VulnEntry>,
    pub updated: Vec<VulnUpdate>,
    pub removed: Vec<VulnEntry>,
    /// A list was cut to [`MAX_LIST`] entries (the most severe kept).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl VulnDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }

    /// Cuts each list to `max` entries, keeping the most severe; sets `truncated` if any was cut.
    pub fn cap(&mut self, max: usize) {
        let by_severity = |a: &VulnEntry, b: &VulnEntry| b.severity.cmp(&a.severity);
        for list in [&mut self.added, &mut self.removed] {
            if list.len() > max {
                list.sort_by(by_severity);
                list.truncate(max);
                list.sort();
                self.truncated = true;
            }
        }
        if self.updated.len() > max {
            self.updated.sort_by(|a, b| by_severity(&a.after, &b.after));
            self.updated.truncate(max);
            self.updated.sort_by(|a, b| a.after.cmp(&b.after));
            self.truncated = true;
        }
    }
}

fn index(entries: &[VulnEntry]) -> BTreeMap<(&str, &str), &VulnEntry> {
    entries.iter().map(|e| (e.key(), e)).collect()
}

/// Keyed by `(vuln_id, package_key)`; `updated` = same key, different severity, fix or version.
/// Sorted output. Duplicate keys in an input count once (the last wins).
pub fn diff(old: &[VulnEntry], new: &[VulnEntry]) -> VulnDiff {
    let old = index(old);
    let new = index(new);
    let mut out = VulnDiff::default();
    for (key, after) in &new {
        match old.get(key) {
            None => out.added.push((*after).clone()),
            Some(before)
                if before.severity != after.severity
                    || before.fixed_in != after.fixed_in
                    || before.version != after.version =>
            {
                out.updated.push(VulnUpdate {
                    before: (*before).clone(),
                    after: (*after).clone(),
                });
            }
            Some(_) => {}
        }
    }
    for (key, before) in &old {
        if !new.contains_key(key) {
            out.removed.push((*before).clone());
        }
    }
    out.added.sort();
    out.removed.sort();
    out.updated.sort_by(|a, b| a.after.cmp(&b.after));
    out
}

/// Matches of `new` that have a fix while the same key in `old` had none (or was absent from
/// `old`, only when `include_new` is true), at or above `min` severity (all when None). Sorted.
pub fn fixes_available(
    old: &[VulnEntry],
    new: &[VulnEntry],
    min: Option<Severity>,
    include_new: bool,
) -> Vec<VulnEntry> {
    let old = index(old);
    let mut out: Vec<VulnEntry> = index(new)
        .into_iter()
        .filter(|(_, e)| e.fixed_in.is_some() && min.is_none_or(|m| e.severity >= m))
        .filter(|(key, _)| match old.get(key) {
            Some(before) => before.fixed_in.is_none(),
            None => include_new,
        })
        .map(|(_, e)| e.clone())
        .collect();
    out.sort();
    out
}

/// The `max` worst entries: most severe first, fixable before unfixable, then by id.
pub fn top_findings(entries: &[VulnEntry], max: usize) -> Vec<VulnEntry> {
    let mut out: Vec<VulnEntry> = entries.to_vec();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| b.fixed_in.is_some().cmp(&a.fixed_in.is_some()))
            .then_with(|| a.cmp(b))
    });
    out.dedup_by(|a, b| a.key() == b.key());
    out.truncate(max);
    out
}

/// A stable idempotency id from the parts that identify an event (event type, image digest,
/// what changed...): the same parts give the same id, whoever computes it and however often.
/// `plimsoll-` and 32 hex digits of a SHA-256 over the parts, length-prefixed so that
/// `["ab", "c"]` and `["a", "bc"]` differ.
pub fn idempotency_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    format!("plimsoll-{}", hex::encode(&digest[..16]))
}

/// A namespaced object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectName {
    pub namespace: String,
    pub name: String,
}

impl ObjectName {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for ObjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The image a notification is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    /// The image reference as the ImageScan names it (`registry/repo:tag` or `@sha256:…`).
    pub reference: String,
    /// The manifest digest analyzed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The ImageScan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ObjectName>,
}

impl ImageInfo {
    /// The image of an ImageScan: its spec's reference, the digest analyzed, its name.
    pub fn from_scan(scan: &crate::crd::ImageScan) -> Self {
        Self {
            reference: scan.spec.image.clone(),
            digest: scan.status.as_ref().and_then(|s| s.digest.clone()),
            scan: Some(ObjectName::new(
                scan.metadata.namespace.clone().unwrap_or_default(),
                scan.metadata.name.clone().unwrap_or_default(),
            )),
        }
    }
}

/// The verdict, and the one before it when it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerdictChange {
    /// `STOP`, `WARN` or `GO`.
    pub final_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_final_action: Option<String>,
    /// The policy bundle's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl VerdictChange {
    /// From an ImageScan status verdict, with the final action before it when it changed.
    pub fn from_verdict(
        v: &crate::crd::image_scan::Verdict,
        previous: Option<crate::crd::policy_bundle::Action>,
    ) -> Self {
        Self {
            final_action: v.final_action.as_str().to_owned(),
            previous_final_action: previous.map(|a| a.as_str().to_owned()),
            bundle: (!v.bundle_id.is_empty()).then(|| v.bundle_id.clone()),
            reason: (!v.reason.is_empty()).then(|| v.reason.clone()),
        }
    }
}

/// A followed tag that moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_digest: Option<String>,
    pub digest: String,
}

/// One event for one subscription: the `json` webhook body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The idempotency key: receivers drop a notification whose id they have seen. Also sent
    /// as the `Idempotency-Key` header.
    pub id: String,
    /// `tag_update`, `policy_eval`, `vuln_update`, `analysis_update` or `fix_available`.
    pub event: EventType,
    pub created_at: DateTime<Utc>,
    /// Sent by `plimsoll notify test`: nothing happened to the image.
    pub test: bool,
    pub subscription: ObjectName,
    pub image: ImageInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<VulnerabilityCounts>,
    /// `vuln_update`: what the feed change did to the image's vulnerabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<VulnDiff>,
    /// `fix_available`: vulnerabilities that now have a fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<VulnEntry>,
    /// `fixes` was cut to [`MAX_LIST`] entries.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixes_truncated: bool,
    /// `tag_update`: the old and new digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<TagChange>,
    /// At most [`MAX_TOP_FINDINGS`], worst first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_findings: Vec<VulnEntry>,
}

impl Notification {
    /// A notification of `event` created now, with everything else empty: fill in the rest
    /// with struct update syntax (`Notification { image, ..Notification::new(event) }`). The
    /// router sets `id` and `subscription` per Subscription and sink.
    pub fn new(event: EventType) -> Self {
        Self {
            id: String::new(),
            event,
            created_at: DateTime::<Utc>::from(std::time::SystemTime::now()),
            test: false,
            subscription: ObjectName::default(),
            image: ImageInfo::default(),
            verdict: None,
            counts: None,
            diff: None,
            fixes: Vec::new(),
            fixes_truncated: false,
            tag: None,
            top_findings: Vec::new(),
        }
    }

    /// A realistic notification of `event`, for tests elsewhere in the crate.
    #[cfg(test)]
    pub(crate) fn test_example(event: EventType) -> Self {
        super::samples::sample(event)
    }

    /// Applies the size caps: [`MAX_LIST`] per list, [`MAX_TOP_FINDINGS`] top findings.
    pub fn bounded(mut self) -> Self {
        if let Some(d) = &mut self.diff {
            d.cap(MAX_LIST);
        }
        if self.fixes.len() > MAX_LIST {
            self.fixes = top_findings(&self.fixes, MAX_LIST);
            self.fixes.sort();
            self.fixes_truncated = true;
        }
        if self.top_findings.len() > MAX_TOP_FINDINGS {
            self.top_findings = top_findings(&self.top_findings, MAX_TOP_FINDINGS);
        }
        self
    }

    /// The event as its wire name (`policy_eval`).
    pub fn event_name(&self) -> &'static str {
        event_name(self.event)
    }
}

/// The notification `plimsoll notify test` sends: `test: true`, a fresh id, the image as the
/// caller knows it (with its current verdict and counts when there is an ImageScan), no
/// event content.
pub fn test_notification(
    subscription: ObjectName,
    event: EventType,
    image: ImageInfo,
    created_at: DateTime<Utc>,
) -> Notification {
    let stamp = created_at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let id = idempotency_id(&["test", &subscription.namespace, &subscription.name, &stamp]);
    Notification {
        id,
        created_at,
        test: true,
        subscription,
        image,
        ..Notification::new(event)
    }
}

/// The wire name of an event type.
pub fn event_name(e: EventType) -> &'static str {
    match e {
        EventType::TagUpdate => "tag_update",
        EventType::PolicyEval => "policy_eval",
        EventType::VulnUpdate => "vuln_update",
        EventType::AnalysisUpdate => "analysis_update",
        EventType::FixAvailable => "fix_available",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(id: &str, pkg: &str, sev: Severity, fix: Option<&str>) -> VulnEntry {
        VulnEntry {
            vuln_id: id.into(),
            package: pkg.into(),
            version: "1.0".into(),
            package_type: "deb".into(),
            package_key: format!("pkg:deb/debian/{pkg}@1.0|"),
            severity: sev,
            fixed_in: fix.map(Into::into),
            url: advisory_url(id),
        }
    }

    #[test]
    fn from_match_uses_the_store_key_and_fix_state() {
        let m: Match = serde_json::from_value(serde_json::json!({
            "vulnId": "CVE-2024-1",
            "aliases": [], "advisories": ["DEBIAN-CVE-2024-1"],
            "package": {"name": "openssl", "version": "3.0.1", "kind": "deb",
                        "purl": "pkg:deb/debian/openssl@3.0.1", "location": null},
            "ecosystem": "Debian:12", "matchedName": "openssl",
            "severity": "High", "cvss": [], "fixedVersions": ["3.0.2", "3.1.0"],
            "fixState": "fixed", "summary": null,
        }))
        .expect("match");
        let e = VulnEntry::from_match(&m);
        assert_eq!(e.package_key, m.package_key());
        assert_eq!(e.fixed_in.as_deref(), Some("3.0.2, 3.1.0"));
        assert_eq!(e.package_type, "deb");
        assert_eq!(
            e.url.as_deref(),
            Some("https://nvd.nist.gov/vuln/detail/CVE-2024-1")
        );
        let mut wont = m.clone();
        wont.fix_state = FixState::WontFix;
        assert_eq!(VulnEntry::from_match(&wont).fixed_in, None);
    }

    #[test]
    fn advisory_urls() {
        let cases = [
            (
                "CVE-2024-1",
                Some("https://nvd.nist.gov/vuln/detail/CVE-2024-1"),
            ),
            (
                "GHSA-aaaa-bbbb-cccc",
                Some("https://github.com/advisories/GHSA-aaaa-bbbb-cccc"),
            ),
            (
                "DLA-1234-1",
                Some("https://osv.dev/vulnerability/DLA-1234-1"),
            ),
            ("x/../y", None),
            ("a b", None),
            ("", None),
        ];
        for (id, want) in cases {
            assert_eq!(advisory_url(id).as_deref(), want, "{id}");
        }
    }

    #[test]
    fn diff_by_key() {
        use Severity::*;
        let old = vec![
            entry("CVE-1", "a", High, None),
            entry("CVE-2", "b", Low, None),
            entry("CVE-3", "c", Medium, None),
        ];
        let mut new = vec![
            entry("CVE-1", "a", High, None),     // same
            entry("CVE-2", "b", Critical, None), // severity changed
            entry("CVE-4", "d", Low, None),      // added
        ];
        // Same id, another package instance: a separate entry.
        let mut other = entry("CVE-1", "a", High, None);
        other.package_key = "pkg:deb/debian/a@1.0|/opt/a".into();
        new.push(other.clone());
        let d = diff(&old, &new);
        assert_eq!(d.added, vec![other, entry("CVE-4", "d", Low, None)]);
        assert_eq!(d.removed, vec![entry("CVE-3", "c", Medium, None)]);
        assert_eq!(d.updated.len(), 1);
        assert_eq!(d.updated[0].before.severity, Low);
        assert_eq!(d.updated[0].after.severity, Critical);
        assert!(!d.is_empty());
        assert!(
            diff(&old, &old).is_empty(),
            "nothing changed, nothing to say"
        );
        // A fix appearing is an update.
        let fixed = vec![entry("CVE-3", "c", Medium, Some("2.0"))];
        let d = diff(&old[2..], &fixed);
        assert_eq!((d.added.len(), d.updated.len(), d.removed.len()), (0, 1, 0));
    }

    #[test]
    fn fixes_available_threshold_and_new_entries() {
        use Severity::*;
        let old = vec![
            entry("CVE-1", "a", High, None),
            entry("CVE-2", "b", Low, None),
            entry("CVE-3", "c", Critical, Some("1.1")),
        ];
        let new = vec![
            entry("CVE-1", "a", High, Some("1.2")),     // fix appeared
            entry("CVE-2", "b", Low, Some("1.3")),      // fix appeared, below threshold
            entry("CVE-3", "c", Critical, Some("1.1")), // already had one
            entry("CVE-4", "d", Critical, Some("2.0")), // new match with a fix
            entry("CVE-5", "e", Critical, None),        // new, no fix
        ];
        let ids = |v: Vec<VulnEntry>| v.into_iter().map(|e| e.vuln_id).collect::<Vec<_>>();
        assert_eq!(
            ids(fixes_available(&old, &new, Some(Medium), false)),
            ["CVE-1"]
        );
        assert_eq!(
            ids(fixes_available(&old, &new, Some(Medium), true)),
            ["CVE-1", "CVE-4"]
        );
        assert_eq!(
            ids(fixes_available(&old, &new, None, false)),
            ["CVE-1", "CVE-2"]
        );
        assert!(fixes_available(&new, &new, None, true).is_empty());
    }

    #[test]
    fn caps_keep_the_worst() {
        let many: Vec<VulnEntry> = (0..MAX_LIST + 10)
            .map(|i| {
                let sev = if i == MAX_LIST + 5 {
                    Severity::Critical
                } else {
                    Severity::Low
                };
                entry(&format!("CVE-{i:05}"), "p", sev, None)
            })
            .collect();
        let mut n = Notification::new(EventType::VulnUpdate);
        n.diff = Some(VulnDiff {
            added: many.clone(),
            ..VulnDiff::default()
        });
        n.fixes = many.clone();
        n.top_findings = many;
        let n = n.bounded();
        let d = n.diff.as_ref().expect("diff");
        assert_eq!(d.added.len(), MAX_LIST);
        assert!(d.truncated);
        assert!(d.added.iter().any(|e| e.severity == Severity::Critical));
        assert!(d.added.windows(2).all(|w| w[0] <= w[1]), "sorted");
        assert_eq!((n.fixes.len(), n.fixes_truncated), (MAX_LIST, true));
        assert_eq!(n.top_findings.len(), MAX_TOP_FINDINGS);
        assert_eq!(n.top_findings[0].severity, Severity::Critical);
    }

    #[test]
    fn idempotency_ids_are_stable_and_unambiguous() {
        let a = idempotency_id(&["vuln_update", "sha256:ab", "ns/sub"]);
        assert_eq!(a, idempotency_id(&["vuln_update", "sha256:ab", "ns/sub"]));
        assert_ne!(idempotency_id(&["ab", "c"]), idempotency_id(&["a", "bc"]));
        assert!(a.starts_with("plimsoll-") && a.len() == "plimsoll-".len() + 32);
    }

    #[test]
    fn new_notifications_are_empty_but_for_the_event() {
        let n = Notification::new(EventType::TagUpdate);
        assert_eq!(
            (n.event, n.id.as_str(), n.test),
            (EventType::TagUpdate, "", false)
        );
        assert!(n.diff.is_none() && n.fixes.is_empty() && n.top_findings.is_empty());
        let ex = Notification::test_example(EventType::PolicyEval);
        assert_eq!(ex.event_name(), "policy_eval");
        assert!(ex.verdict.is_some());
    }

    #[test]
    fn wire_names() {
        for e in [
            EventType::TagUpdate,
            EventType::PolicyEval,
            EventType::VulnUpdate,
            EventType::AnalysisUpdate,
            EventType::FixAvailable,
        ] {
            assert_eq!(
                serde_json::to_value(e).expect("serializes"),
                serde_json::Value::from(event_name(e))
            );
        }
    }
}
