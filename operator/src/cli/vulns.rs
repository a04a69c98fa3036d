//! `plimsoll vulns IMAGE | --analysis FILE`: analyze the image (or read an Analysis document),
//! match it against the store, record first-seen times, and render the report as a table,
//! JSON or SARIF.
//!
//! Exit codes: 0 done; 1 a shown match is at or above `--fail-on`; 2 bad image reference or
//! `--analysis` file; 3 the scan or the store failed. An empty store is a warning, not an
//! error: the report is empty and says why.

mod sarif;
mod table;

use super::args::{SeverityArg, VulnsArgs, VulnsFormat};
use super::{CommandError, Ctx, ExitStatus, Output, db, sbom};
use crate::matcher::FixState;
use crate::severity::Severity;
use crate::vulns::{self, VulnReport};
use plimsoll_analyzer::model::Analysis;
use std::path::Path;

/// Largest `--analysis` document read (the store refuses larger ones too).
const MAX_ANALYSIS_BYTES: u64 = 1 << 30;

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Unknown => Severity::Unknown,
            SeverityArg::Negligible => Severity::Negligible,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }
    }
}

pub async fn run(args: &VulnsArgs, ctx: &Ctx) -> Result<Output, CommandError> {
    let analysis = match &args.analysis {
        Some(path) => read_analysis(path)?,
        None if args.image.image.trim().is_empty() => {
            return Err(CommandError::Usage(anyhow::anyhow!(
                "give an IMAGE or --analysis FILE"
            )));
        }
        None => sbom::analyze(&args.image).await?,
    };
    if analysis.image.manifest_digest.trim().is_empty() {
        return Err(CommandError::Usage(anyhow::anyhow!(
            "the analysis names no image manifest digest"
        )));
    }
    let store = db::open(args.store.db.as_deref(), ctx).await?;
    let scan_err = |e: crate::store::Error| CommandError::Scan(e.into());
    let mut warnings = Vec::new();
    let sources = store.feed_sources().await.map_err(scan_err)?;
    if sources.iter().all(|s| s.record_count == 0) {
        warnings.push("no feed data: run `plimsoll feeds sync`".to_owned());
    }
    for s in sources.iter().filter(|s| s.last_error.is_some()) {
        warnings.push(format!(
            "feed source {} failed its last sync; its {} records are from {}",
            super::table::clean(&s.name),
            s.record_count,
            s.last_success_at
                .map_or_else(|| "no sync".to_owned(), vulns::format_rfc3339)
        ));
    }
    let now = ctx.now();
    let report = vulns::scan(&store, &analysis, now)
        .await
        .map_err(scan_err)?;
    store.close().await;
    let report = if args.only_fixed {
        report.filtered(|m| m.found.fix_state == FixState::Fixed)
    } else {
        report
    };
    let status = match args.fail_on.map(Severity::from) {
        Some(threshold) if report.matches.iter().any(|m| m.found.severity >= threshold) => {
            ExitStatus::PolicyFailure
        }
        _ => ExitStatus::Success,
    };
    let stdout = render(&report, args.output).map_err(|e| CommandError::Scan(e.into()))?;
    Ok(Output {
        stdout,
        warnings,
        status,
    })
}

pub(super) fn read_analysis(path: &Path) -> Result<Analysis, CommandError> {
    let usage = |what: String| CommandError::Usage(anyhow::anyhow!("--analysis {what}"));
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| usage(format!("{shown}: {e}")))?;
    if meta.len() > MAX_ANALYSIS_BYTES {
        return Err(usage(format!(
            "{shown}: {} bytes, over the limit of {MAX_ANALYSIS_BYTES}",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| usage(format!("{shown}: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| usage(format!("{shown}: not an Analysis document: {e}")))
}

fn render(report: &VulnReport, format: VulnsFormat) -> Result<Vec<u8>, serde_json::Error> {
    Ok(match format {
        VulnsFormat::Table => table::render(report).into_bytes(),
        VulnsFormat::Json => {
            let mut bytes = serde_json::to_vec_pretty(report)?;
            bytes.push(b'\n');
            bytes
        }
        VulnsFormat::Sarif => {
            let mut bytes =
                serde_json::to_vec_pretty(&sarif::render(report, env!("CARGO_PKG_VERSION")))?;
            bytes.push(b'\n');
            bytes
        }
    })
}

#[cfg(test)]
pub(crate) mod test_report {
    //! A report over real records (the CLI test slices) and the demo image's packages, with
    //! pinned times, for the renderers' tests.

    use crate::feeds::osv::Record;
    use crate::matcher::match_packages;
    use crate::store::Timestamp;
    use crate::vulns::{ReportedImage, ReportedMatch, VulnReport, index_from};
    use plimsoll_analyzer::model::{Distro, Package, PackageKind, SourcePackage};

    pub(crate) fn report() -> VulnReport {
        let mut records: Vec<(String, Record)> = Vec::new();
        for (source, text) in [
            (
                "pypi",
                include_str!("../../tests/data/osv/pypi-pysec-slice.jsonl"),
            ),
            (
                "npm",
                include_str!("../../tests/data/osv/ghsa-npm-lodash.jsonl"),
            ),
            (
                "debian",
                include_str!("../../tests/data/osv/debian12-changelogs-slice.jsonl"),
            ),
        ] {
            for line in text.lines() {
                let record = Record::from_json(line.as_bytes()).expect("real record");
                records.push((source.to_owned(), record));
            }
        }
        let mut expat = Package::new(PackageKind::Deb, "libexpat1", "2.5.0-1+deb12u2");
        expat.source = Some(SourcePackage {
            name: "expat".into(),
            version: None,
        });
        expat.locations = vec!["/var/lib/dpkg/status".into()];
        expat.purl =
            "pkg:deb/debian/libexpat1@2.5.0-1+deb12u2?arch=amd64&distro=debian-12&upstream=expat"
                .into();
        let mut requests = Package::new(PackageKind::Python, "requests", "2.19.1");
        requests.locations =
            vec!["/usr/lib/python3/dist-packages/requests-2.19.1.dist-info/METADATA".into()];
        requests.purl = "pkg:pypi/requests@2.19.1".into();
        let mut lodash = Package::new(PackageKind::Npm, "lodash", "4.17.15");
        lodash.locations = vec!["/app/node_modules/lodash/package.json".into()];
        lodash.purl = "pkg:npm/lodash@4.17.15".into();
        let mut musl = Package::new(PackageKind::Apk, "musl", "1.2.4-r2");
        musl.purl = "pkg:apk/alpine/musl@1.2.4-r2".into();
        let distro = Distro {
            id: "debian".into(),
            version_id: Some("12.11".into()),
            ..Distro::default()
        };
        let packages = [expat, requests, lodash, musl];
        let found = match_packages(&packages, Some(&distro), &index_from(records));
        let first_seen = Timestamp::from_unix_millis(1_767_225_600_000); // 2026-01-01
        VulnReport {
            image: ReportedImage {
                reference: "oci-dir:examples/demo-image/layout".into(),
                manifest_digest:
                    "sha256:efed8e23746406b2ebda515eb262eb74c8a5c4911ccfc89d010b614b4a12e7a5".into(),
                distro: Some("debian 12.11".into()),
            },
            matches: found
                .matches
                .into_iter()
                .enumerate()
                .map(|(i, m)| ReportedMatch {
                    found: m,
                    first_seen,
                    fix_first_seen: (i % 2 == 0)
                        .then(|| first_seen.plus(std::time::Duration::from_secs(86_400))),
                })
                .collect(),
            notes: found.notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_files_that_are_not_analyses_are_usage_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, br#"{"packages": []}"#).expect("write");
        for path in [bad, dir.path().join("missing.json")] {
            match read_analysis(&path) {
                Err(CommandError::Usage(e)) => {
                    assert!(e.to_string().starts_with("--analysis "), "{e}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn json_is_the_report_with_times() {
        let report = test_report::report();
        let json: serde_json::Value =
            serde_json::from_slice(&render(&report, VulnsFormat::Json).expect("json"))
                .expect("JSON");
        assert_eq!(json["image"]["distro"], "debian 12.11");
        let first = &json["matches"][0];
        assert_eq!(first["firstSeen"], "2026-01-01T00:00:00Z");
        assert_eq!(first["fixFirstSeen"], "2026-01-02T00:00:00Z");
        assert!(first["vulnId"].is_string() && first["package"]["purl"].is_string());
        assert!(json["matches"][1]["fixFirstSeen"].is_null());
        assert_eq!(
            json["notes"].as_array().map(Vec::len),
            Some(1),
            "musl on Debian"
        );
    }
}
