//! The vulnerability table: one row per match, most severe first, then a count per severity
//! and the matcher's notes.

use crate::cli::table::{clean, write_aligned};
use crate::matcher::FixState;
use crate::severity::Severity;
use crate::vulns::{VulnReport, format_rfc3339};
use std::borrow::Cow;
use std::fmt::Write as _;

pub(super) fn render(report: &VulnReport) -> String {
    let mut out = String::new();
    if report.matches.is_empty() {
        out.push_str("No vulnerabilities found.\n");
    } else {
        let mut rows: Vec<[Cow<'_, str>; 6]> = vec![[
            "VULNERABILITY".into(),
            "PACKAGE".into(),
            "VERSION".into(),
            "FIXED IN".into(),
            "SEVERITY".into(),
            "FIRST SEEN".into(),
        ]];
        for m in &report.matches {
            let f = &m.found;
            let fixed: Cow<'_, str> = match f.fix_state {
                FixState::Fixed => clean(&f.fixed_versions.join(", ")).into_owned().into(),
                FixState::WontFix => "won't fix".into(),
                FixState::NotFixed => "".into(),
            };
            let first_seen = format_rfc3339(m.first_seen);
            rows.push([
                clean(&f.vuln_id),
                clean(&f.package.name),
                clean(&f.package.version),
                fixed,
                f.severity.as_str().into(),
                first_seen
                    .get(..10)
                    .unwrap_or(&first_seen)
                    .to_owned()
                    .into(),
            ]);
        }
        write_aligned(&mut out, &rows);
        out.push('\n');
        let fixable = report
            .matches
            .iter()
            .filter(|m| m.found.fix_state == FixState::Fixed)
            .count();
        let counts: Vec<String> = Severity::ALL
            .iter()
            .rev()
            .filter_map(|s| {
                let n = report
                    .matches
                    .iter()
                    .filter(|m| m.found.severity == *s)
                    .count();
                (n > 0).then(|| format!("{n} {s}"))
            })
            .collect();
        let _ = writeln!(
            out,
            "{} {} ({fixable} fixable): {}",
            report.matches.len(),
            if report.matches.len() == 1 {
                "vulnerability"
            } else {
                "vulnerabilities"
            },
            counts.join(", ")
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {}: {}", clean(&note.purl), clean(&note.message));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::vulns::test_report::report;

    #[test]
    fn table_rows_summary_and_notes() {
        let text = render(&report());
        assert_eq!(
            text,
            "\
VULNERABILITY   PACKAGE    VERSION          FIXED IN         SEVERITY  FIRST SEEN
CVE-2020-8203   lodash     4.17.15          4.17.20          High      2026-01-01
CVE-2021-23337  lodash     4.17.15          4.17.21          High      2026-01-01
CVE-2024-28757  libexpat1  2.5.0-1+deb12u2  2.5.0-1+deb12u4  High      2026-01-01
CVE-2025-59375  libexpat1  2.5.0-1+deb12u2  2.5.0-1+deb12u4  High      2026-01-01
CVE-2026-50219  libexpat1  2.5.0-1+deb12u2  2.5.0-1+deb12u3  High      2026-01-01
CVE-2026-56131  libexpat1  2.5.0-1+deb12u2  2.5.0-1+deb12u3  High      2026-01-01
CVE-2018-18074  requests   2.19.1           2.20.0           Unknown   2026-01-01
CVE-2023-32681  requests   2.19.1           2.31.0           Unknown   2026-01-01

8 vulnerabilities (8 fixable): 6 High, 2 Unknown
note: pkg:apk/alpine/musl@1.2.4-r2: apk packages on debian 12.11 have no vulnerability feed
"
        );
        let mut empty = report();
        empty.matches.clear();
        empty.notes.clear();
        assert_eq!(render(&empty), "No vulnerabilities found.\n");
    }
}
