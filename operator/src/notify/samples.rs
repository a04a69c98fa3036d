//! Sample notifications of every event type, for the format and delivery tests.

use super::event::{
    ImageInfo, Notification, ObjectName, TagChange, VerdictChange, VulnDiff, VulnEntry, VulnUpdate,
    advisory_url,
};
use crate::crd::image_scan::VulnerabilityCounts;
use crate::crd::subscription::EventType;
use crate::severity::Severity;
use chrono::{DateTime, Utc};

pub(crate) const DIGEST: &str =
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

pub(crate) const ALL_EVENTS: [EventType; 5] = [
    EventType::TagUpdate,
    EventType::PolicyEval,
    EventType::VulnUpdate,
    EventType::AnalysisUpdate,
    EventType::FixAvailable,
];

pub(crate) fn vuln(
    id: &str,
    pkg: &str,
    version: &str,
    sev: Severity,
    fix: Option<&str>,
) -> VulnEntry {
    VulnEntry {
        vuln_id: id.into(),
        package: pkg.into(),
        version: version.into(),
        package_type: "deb".into(),
        package_key: format!("pkg:deb/debian/{pkg}@{version}?distro=debian-12|"),
        severity: sev,
        fixed_in: fix.map(Into::into),
        url: advisory_url(id),
    }
}

/// A realistic notification of `event` about `registry.example/team/app:1.2`.
pub(crate) fn sample(event: EventType) -> Notification {
    let created_at: DateTime<Utc> = DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default();
    let mut n = Notification {
        id: super::event::idempotency_id(&[super::event::event_name(event), DIGEST]),
        created_at,
        subscription: ObjectName::new("team", "app-alerts"),
        image: ImageInfo {
            reference: "registry.example/team/app:1.2".into(),
            digest: Some(DIGEST.into()),
            scan: Some(ObjectName::new("team", "app")),
        },
        ..Notification::new(event)
    };
    let openssl = vuln(
        "CVE-2024-0001",
        "openssl",
        "3.0.11-1~deb12u1",
        Severity::High,
        Some("3.0.13-1~deb12u1"),
    );
    let zlib = vuln(
        "CVE-2023-45853",
        "zlib1g",
        "1:1.2.13.dfsg-1",
        Severity::Critical,
        None,
    );
    n.counts = Some(VulnerabilityCounts {
        critical: 1,
        high: 3,
        medium: 7,
        low: 12,
        negligible: 20,
        unknown: 0,
        fixable: 4,
    });
    n.top_findings = vec![zlib.clone(), openssl.clone()];
    n.verdict = Some(VerdictChange {
        final_action: "STOP".into(),
        previous_final_action: None,
        bundle: Some("anchore-default".into()),
        reason: Some("policy_evaluation".into()),
    });
    match event {
        EventType::PolicyEval => {
            n.verdict = Some(VerdictChange {
                previous_final_action: Some("GO".into()),
                ..n.verdict.unwrap_or_default()
            });
        }
        EventType::VulnUpdate => {
            let mut before = zlib.clone();
            before.severity = Severity::Medium;
            n.diff = Some(VulnDiff {
                added: vec![openssl.clone()],
                updated: vec![VulnUpdate {
                    before,
                    after: zlib.clone(),
                }],
                removed: vec![vuln(
                    "GHSA-xxxx-yyyy-zzzz",
                    "libexpat1",
                    "2.5.0-1",
                    Severity::Low,
                    None,
                )],
                truncated: false,
            });
        }
        EventType::FixAvailable => n.fixes = vec![openssl.clone()],
        EventType::TagUpdate => {
            n.tag = Some(TagChange {
                previous_digest: Some(
                    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
                        .into(),
                ),
                digest: DIGEST.into(),
            });
        }
        EventType::AnalysisUpdate => {}
    }
    n
}
