//! `plimsoll feeds sync` and `plimsoll feeds list`.
//!
//! Sync prints one line per source (records, what changed, what was skipped, or why it failed
//! and what was kept) and exits 3 when any source failed; the others are still applied.
//! Relative paths are made absolute so that a source keeps its name whatever the working
//! directory.

use super::args::{FeedsListArgs, FeedsSyncArgs, ListFormat};
use super::table::{clean, shorten, write_aligned};
use super::{CommandError, Ctx, ExitStatus, Output, db};
use crate::feeds::read::ReadLimits;
use crate::feeds::source::{FetchConfig, Loader, OsvExports, RedactedUrl, SourceSpec};
use crate::feeds::sync::{self, SyncMode, SyncReport, Target};
use crate::store::{FeedSource, Timestamp, format_cursor};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Write as _;

/// The OSV export ecosystems synced by default: every one the matcher queries. The umbrella
/// exports (`Debian/all.zip`) hold every release (`Debian:12`, `Debian:11`, …).
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "Debian",
    "Go",
    "Maven",
    "npm",
    "NuGet",
    "Packagist",
    "PyPI",
    "Rocky Linux",
    "RubyGems",
    "Ubuntu",
    "crates.io",
];

/// Skipped records listed per source before the rest are counted.
const SKIPPED_SHOWN: usize = 5;

/// The sources to sync: `--source` specs (default: the OSV exports), with `--mirror` as the
/// base of `osv:` specs that name none, and paths made absolute. Errors are usage errors.
pub fn targets(args: &FeedsSyncArgs) -> Result<Vec<Target>, CommandError> {
    let usage = |e: anyhow::Error| CommandError::Usage(e);
    let mirror: Option<RedactedUrl> = args
        .mirror
        .as_deref()
        .map(|m| {
            m.trim()
                .parse()
                .map_err(|e| usage(anyhow::anyhow!("--mirror: {e}")))
        })
        .transpose()?;
    let mut specs: Vec<SourceSpec> = Vec::new();
    if args.sources.is_empty() {
        let ecosystems = DEFAULT_ECOSYSTEMS.iter().map(|e| (*e).to_owned()).collect();
        let exports = OsvExports::public(ecosystems).map_err(|e| usage(e.into()))?;
        specs.push(SourceSpec::OsvExports(exports));
    }
    for s in &args.sources {
        let spec: SourceSpec = s
            .parse()
            .map_err(|e| usage(anyhow::anyhow!("--source {s:?}: {e}")))?;
        specs.push(spec);
    }
    let mut out: Vec<Target> = Vec::new();
    for spec in specs {
        let spec = match (spec, &mirror) {
            (SourceSpec::OsvExports(e), Some(base)) if e.is_public() => SourceSpec::OsvExports(
                OsvExports::new(base.clone(), e.ecosystems().to_vec())
                    .map_err(|e| usage(anyhow::anyhow!("--mirror: {e}")))?,
            ),
            (SourceSpec::Path(p), _) => SourceSpec::Path(absolute(p)),
            (SourceSpec::Dir(p), _) => SourceSpec::Dir(absolute(p)),
            (spec, _) => spec,
        };
        for target in sync::targets(&spec) {
            if !out.iter().any(|t| t.name == target.name) {
                out.push(target);
            }
        }
    }
    Ok(out)
}

fn absolute(path: std::path::PathBuf) -> std::path::PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

pub async fn sync(args: &FeedsSyncArgs, ctx: &Ctx) -> Result<Output, CommandError> {
    let targets = targets(args)?;
    let store = db::open(args.store.db.as_deref(), ctx).await?;
    let loader = Loader::new(&FetchConfig::default(), ReadLimits::default())
        .map_err(|e| CommandError::Scan(e.into()))?;
    let mut stdout = String::new();
    let mut warnings = Vec::new();
    let mut failed = 0usize;
    for target in &targets {
        let now = ctx.now();
        match sync::sync(&store, &loader, target, now).await {
            Ok(report) => {
                if report.result.is_err() {
                    failed += 1;
                }
                let _ = writeln!(stdout, "{}", summary_line(&report, now));
                warnings.extend(report_warnings(&report));
            }
            Err(e) => {
                failed += 1;
                let _ = writeln!(stdout, "{}: FAILED: {e}", clean(&target.name));
            }
        }
    }
    store.close().await;
    Ok(sources_output(
        stdout,
        warnings,
        failed,
        targets.len(),
        "synced",
    ))
}

/// The output of a run over feed sources: the per-source lines, then `N of M sources <done>`;
/// a failure of any source is the exit status.
pub(crate) fn sources_output(
    mut stdout: String,
    warnings: Vec<String>,
    failed: usize,
    total: usize,
    done: &str,
) -> Output {
    let _ = writeln!(stdout, "{} of {total} sources {done}", total - failed);
    Output {
        stdout: stdout.into_bytes(),
        warnings,
        status: if failed == 0 {
            ExitStatus::Success
        } else {
            ExitStatus::ScanFailure
        },
    }
}

/// `NAME: 2661 records (3 new, 1 updated, 0 removed), 10 withdrawn, 1 skipped` or
/// `NAME: FAILED: error; kept 2661 records from 3h ago`, then how it was synced when that was
/// not a plain full sync: `; incremental since TIME: 3 listed, 2 fetched` (no counts on a
/// failure) or `; full sync: why not incremental`.
pub fn summary_line(report: &SyncReport, now: Timestamp) -> String {
    let mut line = outcome_text(report, now);
    match &report.mode {
        SyncMode::Full => {}
        SyncMode::FullFallback(reason) => {
            let _ = write!(line, "; full sync: {}", clean(reason));
        }
        SyncMode::Incremental {
            since,
            listed,
            fetched,
        } => {
            let _ = write!(line, "; incremental since {}", format_cursor(*since));
            if report.result.is_ok() {
                let _ = write!(line, ": {listed} listed, {fetched} fetched");
            }
        }
    }
    line
}

fn outcome_text(report: &SyncReport, now: Timestamp) -> String {
    let name = clean(&report.name);
    match &report.result {
        Ok(s) => {
            let mut line = format!(
                "{name}: {} records ({} new, {} updated, {} removed, {} unchanged)",
                s.stored,
                s.write.inserted,
                s.write.updated,
                s.write.removed + s.write.withdrawn,
                s.write.unchanged
            );
            if report.withdrawn > 0 {
                let _ = write!(line, ", {} withdrawn", report.withdrawn);
            }
            if !report.skipped.is_empty() {
                let _ = write!(line, ", {} skipped", report.skipped.len());
            }
            line
        }
        Err(f) => {
            let kept = match f.last_success {
                Some(at) => format!("kept {} records from {} ago", f.kept, age(now, at)),
                None => "nothing stored yet".to_owned(),
            };
            format!("{name}: FAILED: {}; {kept}", clean(&f.error))
        }
    }
}

fn report_warnings(report: &SyncReport) -> Vec<String> {
    let name = clean(&report.name);
    let mut out: Vec<String> = report
        .skipped
        .iter()
        .take(SKIPPED_SHOWN)
        .map(|s| {
            format!(
                "{name}: skipped {}: {}",
                clean(&s.location),
                clean(&s.reason)
            )
        })
        .collect();
    if report.skipped.len() > SKIPPED_SHOWN {
        out.push(format!(
            "{name}: … and {} more records skipped",
            report.skipped.len() - SKIPPED_SHOWN
        ));
    }
    if !report.unknown_ecosystems.is_empty() {
        let shown: Vec<String> = report
            .unknown_ecosystems
            .iter()
            .take(5)
            .map(|(e, n)| format!("{} ({n})", clean(e)))
            .collect();
        let more = report.unknown_ecosystems.len().saturating_sub(5);
        out.push(format!(
            "{name}: records under ecosystems Plimsoll does not match, stored but never \
             matched: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    out
}

/// One source in `feeds list -o json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ListedSource<'a> {
    name: &'a str,
    kind: &'a str,
    url: &'a str,
    records: u64,
    last_attempt_at: Option<String>,
    last_success_at: Option<String>,
    /// Seconds since the last success.
    age_seconds: Option<i64>,
    digest: Option<&'a str>,
    last_error: Option<&'a str>,
    /// The newest `modified` time of the source's records: where the next incremental sync
    /// starts.
    last_modified: Option<String>,
}

pub async fn list(args: &FeedsListArgs, ctx: &Ctx) -> Result<Output, CommandError> {
    let store = db::open(args.store.db.as_deref(), ctx).await?;
    let sources = store
        .feed_sources()
        .await
        .map_err(|e| CommandError::Scan(e.into()))?;
    store.close().await;
    let mut warnings = Vec::new();
    if sources.is_empty() {
        warnings.push("no feed data: run `plimsoll feeds sync`".to_owned());
    }
    let stdout =
        render_list(&sources, args.output, ctx.now()).map_err(|e| CommandError::Scan(e.into()))?;
    Ok(Output {
        stdout,
        warnings,
        status: ExitStatus::Success,
    })
}

fn render_list(
    sources: &[FeedSource],
    format: ListFormat,
    now: Timestamp,
) -> Result<Vec<u8>, serde_json::Error> {
    match format {
        ListFormat::Json => {
            let listed: Vec<ListedSource<'_>> = sources
                .iter()
                .map(|s| ListedSource {
                    name: &s.name,
                    kind: &s.kind,
                    url: &s.url,
                    records: s.record_count,
                    last_attempt_at: s.last_attempt_at.map(crate::vulns::format_rfc3339),
                    last_success_at: s.last_success_at.map(crate::vulns::format_rfc3339),
                    age_seconds: s
                        .last_success_at
                        .map(|at| (now.unix_millis() - at.unix_millis()).max(0) / 1000),
                    digest: s.digest.as_deref(),
                    last_error: s.last_error.as_deref(),
                    last_modified: s.modified_cursor.map(format_cursor),
                })
                .collect();
            let mut bytes = serde_json::to_vec_pretty(&listed)?;
            bytes.push(b'\n');
            Ok(bytes)
        }
        ListFormat::Table => {
            if sources.is_empty() {
                return Ok(Vec::new());
            }
            let mut rows: Vec<[Cow<'_, str>; 6]> = vec![[
                "NAME".into(),
                "RECORDS".into(),
                "LAST SUCCESS".into(),
                "AGE".into(),
                "LAST MODIFIED".into(),
                "LAST ERROR".into(),
            ]];
            for s in sources {
                rows.push([
                    clean(&s.name),
                    s.record_count.to_string().into(),
                    s.last_success_at
                        .map_or("never".into(), crate::vulns::format_rfc3339)
                        .into(),
                    s.last_success_at
                        .map_or("-".into(), |at| age(now, at))
                        .into(),
                    s.modified_cursor
                        .map_or("-".into(), |t| {
                            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        })
                        .into(),
                    s.last_error.as_deref().map_or(Cow::Borrowed("-"), |e| {
                        Cow::Owned(clean(&shorten(e, 100)).into_owned())
                    }),
                ]);
            }
            let mut out = String::new();
            write_aligned(&mut out, &rows);
            Ok(out.into_bytes())
        }
    }
}

/// A short age: `45s`, `12m`, `3h`, `5d` (hours up to two days).
pub fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = (now.unix_millis() - then.unix_millis()).max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 48 * 3_600 => format!("{}h", s / 3_600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::StoreArgs;
    use crate::feeds::read::Skipped;
    use crate::feeds::sync::{SyncFailure, Synced};
    use crate::store::SyncOutcome;

    fn sync_args(sources: &[&str], mirror: Option<&str>) -> FeedsSyncArgs {
        FeedsSyncArgs {
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
            mirror: mirror.map(str::to_owned),
            store: StoreArgs { db: None },
        }
    }

    fn names(args: &FeedsSyncArgs) -> Vec<(String, String)> {
        targets(args)
            .expect("targets")
            .into_iter()
            .map(|t| {
                let location = t.location();
                (t.name, location)
            })
            .collect()
    }

    #[test]
    fn default_sources_mirrors_and_paths() {
        let default = names(&sync_args(&[], None));
        assert_eq!(default.len(), DEFAULT_ECOSYSTEMS.len());
        assert_eq!(
            default[2],
            (
                "osv:Debian".into(),
                "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip".into()
            )
        );
        let mirrored = names(&sync_args(
            &[],
            Some("https://u:s3cret@mirror.example/osv/"),
        ));
        assert_eq!(
            mirrored[8],
            (
                "osv:PyPI".into(),
                "https://***@mirror.example/osv/PyPI/all.zip".into()
            ),
            "same name, mirror URL redacted"
        );
        let explicit = names(&sync_args(
            &[
                "osv:npm@https://own.example/",
                "osv:npm",
                "osv:Go",
                "relative/feeds",
            ],
            Some("https://mirror.example/"),
        ));
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            explicit,
            [
                ("osv:npm".into(), "https://own.example/npm/all.zip".into()),
                ("osv:Go".into(), "https://mirror.example/Go/all.zip".into()),
                (
                    cwd.join("relative/feeds").display().to_string(),
                    cwd.join("relative/feeds").display().to_string()
                ),
            ],
            "a spec's own base wins; the second osv:npm is the same source"
        );
        for (bad, want) in [
            (sync_args(&["ftp://x/y"], None), "--source \"ftp://x/y\": "),
            (sync_args(&[], Some("ftp://m/")), "--mirror: "),
            (sync_args(&[], Some("not a url")), "--mirror: "),
        ] {
            match targets(&bad) {
                Err(CommandError::Usage(e)) => {
                    assert!(e.to_string().starts_with(want), "{e}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    fn ok_report() -> SyncReport {
        SyncReport {
            name: "osv:PyPI".into(),
            mode: SyncMode::Full,
            records: 12,
            withdrawn: 1,
            withdrawn_records: vec![],
            skipped: (0..7)
                .map(|i| Skipped {
                    location: format!("all.zip!X-{i}.json"),
                    reason: "missing field `id`".into(),
                })
                .collect(),
            unknown_ecosystems: vec![("Hex".into(), 3)],
            result: Ok(Synced {
                write: SyncOutcome {
                    inserted: 2,
                    updated: 1,
                    unchanged: 8,
                    removed: 1,
                    withdrawn: 1,
                    touched: vec![],
                },
                stored: 11,
                digest: Some("sha256:x".into()),
                cursor: None,
            }),
        }
    }

    fn failed_report() -> SyncReport {
        SyncReport {
            name: "osv:npm".into(),
            mode: SyncMode::Full,
            records: 0,
            withdrawn: 0,
            withdrawn_records: vec![],
            skipped: vec![],
            unknown_ecosystems: vec![],
            result: Err(SyncFailure {
                error: "https://m/npm/all.zip: HTTP status 404\u{1b}".into(),
                kept: 40,
                last_success: Some(Timestamp::from_unix_millis(7 * 3_600_000)),
            }),
        }
    }

    #[test]
    fn summary_lines_and_warnings() {
        let now = Timestamp::from_unix_millis(10 * 3_600_000);
        let ok = ok_report();
        assert_eq!(
            summary_line(&ok, now),
            "osv:PyPI: 11 records (2 new, 1 updated, 2 removed, 8 unchanged), 1 withdrawn, \
             7 skipped"
        );
        let warnings = report_warnings(&ok);
        assert_eq!(warnings.len(), 7);
        assert_eq!(
            warnings[0],
            "osv:PyPI: skipped all.zip!X-0.json: missing field `id`"
        );
        assert_eq!(warnings[5], "osv:PyPI: … and 2 more records skipped");
        assert_eq!(
            warnings[6],
            "osv:PyPI: records under ecosystems Plimsoll does not match, stored but never \
             matched: Hex (3)"
        );
        let failed = failed_report();
        assert_eq!(
            summary_line(&failed, now),
            "osv:npm: FAILED: https://m/npm/all.zip: HTTP status 404\\u{1b}; kept 40 records \
             from 3h ago"
        );
        let since = chrono::DateTime::parse_from_rfc3339("2024-10-10T12:00:00.5Z")
            .expect("time")
            .to_utc();
        let modes = [
            (
                SyncMode::Incremental {
                    since,
                    listed: 3,
                    fetched: 2,
                },
                "; incremental since 2024-10-10T12:00:00.500Z: 3 listed, 2 fetched",
                "; incremental since 2024-10-10T12:00:00.500Z",
            ),
            (
                SyncMode::FullFallback("no modified_id.csv (HTTP status 404)".into()),
                "; full sync: no modified_id.csv (HTTP status 404)",
                "; full sync: no modified_id.csv (HTTP status 404)",
            ),
        ];
        for (mode, ok_suffix, failed_suffix) in modes {
            let report = SyncReport {
                mode,
                ..ok_report()
            };
            assert_eq!(
                summary_line(&report, now),
                format!(
                    "osv:PyPI: 11 records (2 new, 1 updated, 2 removed, 8 unchanged), 1 \
                     withdrawn, 7 skipped{ok_suffix}"
                )
            );
            let failed = SyncReport {
                mode: report.mode.clone(),
                ..failed_report()
            };
            assert_eq!(
                summary_line(&failed, now),
                format!(
                    "osv:npm: FAILED: https://m/npm/all.zip: HTTP status 404\\u{{1b}}; kept 40 \
                     records from 3h ago{failed_suffix}"
                )
            );
        }
    }

    #[test]
    fn ages() {
        let t = Timestamp::from_unix_millis;
        let cases = [
            (0, "0s"),
            (59_999, "59s"),
            (60_000, "1m"),
            (3_599_000, "59m"),
            (3_600_000, "1h"),
            (47 * 3_600_000, "47h"),
            (48 * 3_600_000, "2d"),
            (-5_000, "0s"),
        ];
        for (ms, want) in cases {
            assert_eq!(age(t(1_000_000_000 + ms), t(1_000_000_000)), want, "{ms}");
        }
    }

    #[test]
    fn list_renders_table_and_json() {
        let now = Timestamp::from_unix_millis(1_700_000_000_000 + 3 * 3_600_000);
        let sources = vec![
            FeedSource {
                name: "osv:PyPI".into(),
                kind: "osv-exports".into(),
                url: "https://osv.example/PyPI/all.zip".into(),
                last_attempt_at: Some(Timestamp::from_unix_millis(1_700_000_000_000)),
                last_success_at: Some(Timestamp::from_unix_millis(1_700_000_000_000)),
                record_count: 2661,
                digest: Some("sha256:ab".into()),
                last_error: None,
                modified_cursor: Some(
                    chrono::DateTime::parse_from_rfc3339("2024-10-10T12:00:00.123456Z")
                        .expect("time")
                        .to_utc(),
                ),
            },
            FeedSource {
                name: "osv:npm".into(),
                kind: "osv-exports".into(),
                url: "https://osv.example/npm/all.zip".into(),
                last_attempt_at: Some(Timestamp::from_unix_millis(1_700_000_000_000)),
                last_success_at: None,
                record_count: 0,
                digest: None,
                last_error: Some("HTTP status 404".into()),
                modified_cursor: None,
            },
        ];
        let table =
            String::from_utf8(render_list(&sources, ListFormat::Table, now).expect("table"))
                .expect("UTF-8");
        assert_eq!(
            table,
            "NAME      RECORDS  LAST SUCCESS          AGE  LAST MODIFIED         LAST ERROR\n\
             osv:PyPI  2661     2023-11-14T22:13:20Z  3h   2024-10-10T12:00:00Z  -\n\
             osv:npm   0        never                 -    -                     HTTP status 404\n"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&render_list(&sources, ListFormat::Json, now).expect("json"))
                .expect("JSON");
        assert_eq!(json[0]["records"], 2661);
        assert_eq!(json[0]["ageSeconds"], 3 * 3_600);
        assert_eq!(json[0]["lastSuccessAt"], "2023-11-14T22:13:20Z");
        assert_eq!(json[1]["lastError"], "HTTP status 404");
        assert_eq!(json[0]["lastModified"], "2024-10-10T12:00:00.123456Z");
        assert!(json[1]["lastModified"].is_null());
        assert!(json[1]["lastSuccessAt"].is_null());
    }
}
