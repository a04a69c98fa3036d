//! SARIF 2.1.0 (OASIS), the format code scanning dashboards (GitHub, GitLab, Azure DevOps)
//! read: one rule per vulnerability id, one result per match.
//!
//! Traps:
//! - GitHub ranks security alerts by the rule's `security-severity` property (a CVSS-like
//!   number as a string: ≥ 9.0 critical, ≥ 7.0 high, ≥ 4.0 medium, > 0 low), not by `level`.
//!   It is the CVSS base score when one agrees with the match's severity (a vendor may rate a
//!   9.8 as High), else a value inside the severity's band; Unknown gets none.
//! - A rule is shared by every package with that vulnerability, so it carries the highest
//!   severity among them; each result carries its own `level`.
//! - `artifactLocation.uri` is a URI reference: the path inside the image, relative (no
//!   leading `/`) and percent-encoded.
//! - Results need a stable identity across runs for dashboards to track them:
//!   `partialFingerprints` holds the vulnerability and the package instance key.

use crate::matcher::FixState;
use crate::severity::{CvssRating, Severity};
use crate::vulns::{ReportedMatch, VulnReport, format_rfc3339};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub(super) fn render(report: &VulnReport, tool_version: &str) -> Value {
    // Rules sorted by id; each with the matches that use it.
    let mut by_rule: BTreeMap<&str, Vec<&ReportedMatch>> = BTreeMap::new();
    for m in &report.matches {
        by_rule.entry(&m.found.vuln_id).or_default().push(m);
    }
    let index: BTreeMap<&str, usize> = by_rule.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Value> = by_rule
        .iter()
        .map(|(id, matches)| rule(id, matches))
        .collect();
    let results: Vec<Value> = report
        .matches
        .iter()
        .map(|m| result(m, index.get(m.found.vuln_id.as_str()).copied().unwrap_or(0)))
        .collect();
    let notifications: Vec<Value> = report
        .notes
        .iter()
        .map(|n| {
            json!({
                "level": "note",
                "message": {"text": format!("{}: {}", n.purl, n.message)},
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "plimsoll",
                "version": tool_version,
                "semanticVersion": tool_version,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "properties": {
                "image": report.image.reference,
                "manifestDigest": report.image.manifest_digest,
            },
            "results": results,
        }],
    })
}

fn rule(id: &str, matches: &[&ReportedMatch]) -> Value {
    let worst = matches
        .iter()
        .copied()
        .max_by_key(|m| m.found.severity)
        .map(|m| &m.found);
    let severity = worst.map_or(Severity::Unknown, |m| m.severity);
    let summary = matches.iter().find_map(|m| m.found.summary.as_deref());
    let aliases: Vec<&str> = matches
        .first()
        .map(|m| m.found.aliases.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut help = format!("{id} ({severity})");
    if !aliases.is_empty() {
        help.push_str(&format!(", also known as {}", aliases.join(", ")));
    }
    help.push('.');
    let mut properties = json!({
        "tags": ["security", "vulnerability", severity.as_str()],
        "severity": severity.as_str(),
    });
    let score = matches
        .iter()
        .filter_map(|m| security_severity(&m.found))
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        });
    if let (Some(score), Some(props)) = (score, properties.as_object_mut()) {
        props.insert("security-severity".into(), json!(format!("{score:.1}")));
    }
    json!({
        "id": id,
        "shortDescription": {"text": summary.unwrap_or(id)},
        "helpUri": format!("https://osv.dev/vulnerability/{id}"),
        "help": {"text": help},
        "defaultConfiguration": {"level": level(severity)},
        "properties": properties,
    })
}

fn result(m: &ReportedMatch, rule_index: usize) -> Value {
    let f = &m.found;
    let fix = match f.fix_state {
        FixState::Fixed => format!("fixed in {}", f.fixed_versions.join(", ")),
        FixState::NotFixed => "no fix yet".to_owned(),
        FixState::WontFix => "the vendor will not fix it".to_owned(),
    };
    let text = format!(
        "{} {} is affected by {} ({}); {fix}.",
        f.package.name, f.package.version, f.vuln_id, f.severity
    );
    let mut location = json!({
        "logicalLocations": [{"fullyQualifiedName": f.package.purl, "kind": "package"}],
    });
    if let (Some(path), Some(loc)) = (&f.package.location, location.as_object_mut()) {
        loc.insert(
            "physicalLocation".into(),
            json!({"artifactLocation": {"uri": uri_reference(path)}}),
        );
    }
    json!({
        "ruleId": f.vuln_id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"plimsollMatch/v1": format!("{}|{}", f.vuln_id, f.package_key())},
        "properties": {
            "purl": f.package.purl,
            "installedVersion": f.package.version,
            "fixedVersions": f.fixed_versions,
            "fixState": f.fix_state,
            "advisories": f.advisories,
            "firstSeen": format_rfc3339(m.first_seen),
            "fixFirstSeen": m.fix_first_seen.map(format_rfc3339),
        },
    })
}

/// SARIF `level`: Critical and High are errors, Medium and Unknown warnings, the rest notes.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Unknown => "warning",
        Severity::Low | Severity::Negligible => "note",
    }
}

/// The match's CVSS base score if one falls in its severity's band, else a value inside the
/// band; `None` for Unknown.
fn security_severity(m: &crate::matcher::Match) -> Option<f64> {
    let agreeing = m
        .cvss
        .iter()
        .map(|c| c.base)
        .filter(|b| CvssRating::from_score(*b).severity() == m.severity)
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        });
    agreeing.or(match m.severity {
        Severity::Critical => Some(9.5),
        Severity::High => Some(8.0),
        Severity::Medium => Some(5.5),
        Severity::Low => Some(2.0),
        Severity::Negligible => Some(0.0),
        Severity::Unknown => None,
    })
}

/// A path in the image as a relative URI reference: no leading `/`, and every byte outside
/// RFC 3986's path characters percent-encoded.
fn uri_reference(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::vulns::test_report::report;

    #[test]
    fn sarif_snapshot() {
        insta::assert_json_snapshot!(render(&report(), "0.0.0-test"));
    }

    #[test]
    fn uri_references() {
        assert_eq!(
            uri_reference("/app/node_modules/a b/%x/é.json"),
            "app/node_modules/a%20b/%25x/%C3%A9.json"
        );
        assert_eq!(
            uri_reference("/a.jar:BOOT-INF/lib/b.jar"),
            "a.jar:BOOT-INF/lib/b.jar"
        );
    }

    #[test]
    fn severity_to_level_and_security_severity() {
        let mut m = report().matches.remove(0).found;
        assert_eq!(m.severity, Severity::High);
        // GHSA-p6mc-m468-83gw: CVSS 3.1 base 7.4, rated High.
        assert_eq!(security_severity(&m), Some(7.4));
        m.severity = Severity::Critical;
        assert_eq!(
            security_severity(&m),
            Some(9.5),
            "the score disagrees: the band"
        );
        m.severity = Severity::Unknown;
        assert_eq!(security_severity(&m), None);
        let levels: Vec<&str> = Severity::ALL.iter().map(|s| level(*s)).collect();
        assert_eq!(
            levels,
            ["warning", "note", "note", "warning", "error", "error"]
        );
    }
}
