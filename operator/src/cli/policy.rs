//! `plimsoll scan`, `plimsoll evaluate` and `plimsoll policy validate|describe`: the policy
//! engine ([`crate::policy`]) at the command line.
//!
//! `scan` = analyze + match against the store (recording first-seen times, as `vulns` does) +
//! evaluate; `evaluate` does the same from a saved Analysis document. Both render one
//! [`Verdict`] as a table, JSON, SARIF or JUnit XML (`render`).
//!
//! Traps:
//! - The store side (empty store, the feed sync time) is [`crate::evaluation`]'s.
//! - Exit codes: 1 only for the final action (STOP, or WARN with `--fail-on warn`); a bundle
//!   that does not load is a usage error (2) and is reported with every diagnostic.

pub mod render;

use super::args::{
    EvaluateArgs, FailOn, ListFormat, PolicyDescribeArgs, PolicyOptions, PolicyValidateArgs,
    ScanArgs,
};
use super::{CommandError, Ctx, ExitStatus, Output, db, sbom};
use crate::matcher::Match;
use crate::policy::{
    self, Action, Diagnostic, EvalInput, FormatHint, GateDoc, ImageRef, MatchTimes, ValidBundle,
    Verdict,
};
use crate::store::Store;
use chrono::{DateTime, Utc};
use plimsoll_analyzer::model::Analysis;
use std::fmt::Write as _;
use std::path::Path;

/// The bundle used when `--policy` is not given.
pub const DEFAULT_BUNDLE: &str = include_str!("../../../examples/policies/anchore-default.json");

/// Largest bundle or matches file read.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// `plimsoll scan IMAGE`.
pub async fn scan(args: &ScanArgs, ctx: &Ctx) -> Result<Output, CommandError> {
    // The bundle first: a bad bundle should not cost a whole image download.
    let bundle = load(args.policy.policy.as_deref())?;
    let analysis = sbom::analyze(&args.image).await?;
    let store = db::open(args.policy.store.db.as_deref(), ctx).await?;
    let result = evaluate_with_store(&bundle, &analysis, &store, ctx).await;
    store.close().await;
    let (verdict, warnings) = result?;
    finish(&verdict, &analysis, &args.policy, warnings)
}

/// `plimsoll evaluate --analysis FILE`.
pub async fn evaluate(args: &EvaluateArgs, ctx: &Ctx) -> Result<Output, CommandError> {
    let bundle = load(args.policy.policy.as_deref())?;
    let analysis = super::vulns::read_analysis(&args.analysis)?;
    if let Some(path) = &args.matches {
        let (matches, times) = read_matches(path)?;
        let image = ImageRef::from_analysis(&analysis);
        let input = EvalInput {
            analysis: &analysis,
            matches: &matches,
            match_times: &times,
            feed_sync: None,
            image: &image,
            now: crate::evaluation::chrono_time(ctx.now()),
        };
        let verdict = policy::evaluate(&bundle, &input);
        let warnings = vec![
            "--matches: the feed sync time is unknown, so the feed counts as never synced"
                .to_owned(),
        ];
        return finish(&verdict, &analysis, &args.policy, warnings);
    }
    let Some(db_arg) = args.policy.store.db.as_deref() else {
        let image = ImageRef::from_analysis(&analysis);
        let input = EvalInput {
            analysis: &analysis,
            matches: &[],
            match_times: &[],
            feed_sync: None,
            image: &image,
            now: crate::evaluation::chrono_time(ctx.now()),
        };
        let verdict = policy::evaluate(&bundle, &input);
        let warnings =
            vec!["no --matches and no --db: evaluated without vulnerability data".to_owned()];
        return finish(&verdict, &analysis, &args.policy, warnings);
    };
    if analysis.image.manifest_digest.trim().is_empty() {
        return Err(CommandError::Usage(anyhow::anyhow!(
            "the analysis names no image manifest digest"
        )));
    }
    let store = db::open(Some(db_arg), ctx).await?;
    let result = evaluate_with_store(&bundle, &analysis, &store, ctx).await;
    store.close().await;
    let (verdict, warnings) = result?;
    finish(&verdict, &analysis, &args.policy, warnings)
}

/// Matches against the store (recording first-seen times) and evaluates.
async fn evaluate_with_store(
    bundle: &ValidBundle,
    analysis: &Analysis,
    store: &Store,
    ctx: &Ctx,
) -> Result<(Verdict, Vec<String>), CommandError> {
    let judged = crate::evaluation::judge(store, bundle, analysis, ctx.now())
        .await
        .map_err(|e| CommandError::Scan(e.into()))?;
    Ok((judged.verdict, judged.warnings))
}

fn finish(
    verdict: &Verdict,
    analysis: &Analysis,
    options: &PolicyOptions,
    mut warnings: Vec<String>,
) -> Result<Output, CommandError> {
    for note in &verdict.notes {
        warnings.push(format!(
            "{}.{}: {}",
            note.gate,
            note.trigger,
            super::table::clean(&note.message)
        ));
    }
    let image = render::ImageInfo::from_analysis(analysis);
    let fail_on_warn = options.fail_on == FailOn::Warn;
    let stdout = render::render(
        verdict,
        &image,
        options.output,
        fail_on_warn,
        env!("CARGO_PKG_VERSION"),
    )
    .map_err(|e| CommandError::Scan(e.into()))?;
    Ok(Output {
        stdout,
        warnings,
        status: exit_status(verdict.final_action, options.fail_on),
    })
}

/// 1 for STOP, and for WARN with `--fail-on warn`; else 0.
pub fn exit_status(action: Action, fail_on: FailOn) -> ExitStatus {
    match (action, fail_on) {
        (Action::Stop, _) | (Action::Warn, FailOn::Warn) => ExitStatus::PolicyFailure,
        _ => ExitStatus::Success,
    }
}

fn read_limited(path: &Path, flag: &str) -> Result<Vec<u8>, CommandError> {
    let usage = |what: String| CommandError::Usage(anyhow::anyhow!("{flag} {what}"));
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| usage(format!("{shown}: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(usage(format!(
            "{shown}: {} bytes, over the limit of {MAX_FILE_BYTES}",
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| usage(format!("{shown}: {e}")))
}

/// The bundle at `path`, or the default bundle; every diagnostic in the error.
fn load(path: Option<&Path>) -> Result<ValidBundle, CommandError> {
    let (bytes, shown) = match path {
        Some(p) => (read_limited(p, "--policy")?, p.display().to_string()),
        None => (
            DEFAULT_BUNDLE.as_bytes().to_vec(),
            "the default bundle".to_owned(),
        ),
    };
    policy::load_bundle(&bytes, format_hint(path)).map_err(|diags| {
        let errors = diags.iter().filter(|d| d.is_error()).count();
        CommandError::Usage(anyhow::anyhow!(
            "{shown} is not a valid bundle ({errors} errors):\n{}",
            render_diagnostics(&diags).trim_end()
        ))
    })
}

fn format_hint(path: Option<&Path>) -> FormatHint {
    match path
        .and_then(Path::extension)
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => FormatHint::Json,
        Some("yaml" | "yml") => FormatHint::Yaml,
        _ => FormatHint::Auto,
    }
}

fn render_diagnostics(diags: &[Diagnostic]) -> String {
    diags.iter().fold(String::new(), |mut out, d| {
        let _ = writeln!(out, "{}", super::table::clean(&d.to_string()));
        out
    })
}

/// Matches from `plimsoll vulns -o json` (`{"matches": [...]}` with first-seen times) or a
/// bare list of matches.
fn read_matches(path: &Path) -> Result<(Vec<Match>, Vec<MatchTimes>), CommandError> {
    let bytes = read_limited(path, "--matches")?;
    let usage =
        |e: String| CommandError::Usage(anyhow::anyhow!("--matches {}: {e}", path.display()));
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| usage(e.to_string()))?;
    let list = match &value {
        serde_json::Value::Array(list) => list,
        serde_json::Value::Object(o) => match o.get("matches") {
            Some(serde_json::Value::Array(list)) => list,
            _ => return Err(usage("no \"matches\" list".to_owned())),
        },
        _ => return Err(usage("neither a report nor a list of matches".to_owned())),
    };
    let time = |v: Option<&serde_json::Value>| {
        v.and_then(serde_json::Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
    };
    let mut matches = Vec::with_capacity(list.len());
    let mut times = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let m: Match =
            serde_json::from_value(item.clone()).map_err(|e| usage(format!("match {i}: {e}")))?;
        matches.push(m);
        times.push(MatchTimes {
            first_seen: time(item.get("firstSeen")),
            fix_first_seen: time(item.get("fixFirstSeen")),
        });
    }
    Ok((matches, times))
}

/// `plimsoll policy validate FILE`.
pub fn validate(args: &PolicyValidateArgs) -> Result<Output, CommandError> {
    let bytes = read_limited(&args.file, "policy validate")?;
    let (diags, valid) = match policy::load_bundle(&bytes, format_hint(Some(&args.file))) {
        Ok(b) => (b.warnings().to_vec(), true),
        Err(d) => (d, false),
    };
    let stdout = match args.output {
        ListFormat::Table => {
            let mut out = render_diagnostics(&diags);
            let errors = diags.iter().filter(|d| d.is_error()).count();
            let _ = writeln!(
                out,
                "{}: {} ({errors} errors, {} warnings)",
                super::table::clean(&args.file.display().to_string()),
                if valid { "valid" } else { "invalid" },
                diags.len() - errors
            );
            out.into_bytes()
        }
        ListFormat::Json => {
            let mut bytes = serde_json::to_vec_pretty(&serde_json::json!({
                "valid": valid,
                "diagnostics": diags,
            }))
            .map_err(|e| CommandError::Scan(e.into()))?;
            bytes.push(b'\n');
            bytes
        }
    };
    Ok(Output {
        stdout,
        warnings: Vec::new(),
        status: if valid {
            ExitStatus::Success
        } else {
            ExitStatus::UsageError
        },
    })
}

/// `plimsoll policy describe [GATE [TRIGGER]]`.
pub fn describe(args: &PolicyDescribeArgs) -> Result<Output, CommandError> {
    let stdout = describe_text(policy::describe(), args)?;
    Ok(Output {
        stdout,
        warnings: Vec::new(),
        status: ExitStatus::Success,
    })
}

fn describe_text(gates: &[GateDoc], args: &PolicyDescribeArgs) -> Result<Vec<u8>, CommandError> {
    let unknown = |what: String| CommandError::Usage(anyhow::anyhow!("{what}"));
    let selected: Vec<&GateDoc> = match &args.gate {
        Some(name) => {
            let g = gates
                .iter()
                .find(|g| g.name.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| {
                    unknown(format!("no gate {name:?}; see `plimsoll policy describe`"))
                })?;
            vec![g]
        }
        None => gates.iter().collect(),
    };
    let trigger_filter = match (&args.trigger, selected.first()) {
        (Some(t), Some(g)) => Some(g.trigger(t).ok_or_else(|| {
            unknown(format!(
                "gate {} has no trigger {t:?}; see `plimsoll policy describe {}`",
                g.name, g.name
            ))
        })?),
        _ => None,
    };
    if args.output == ListFormat::Json {
        let value = match trigger_filter {
            Some(t) => serde_json::to_value(t),
            None => serde_json::to_value(&selected),
        }
        .map_err(|e| CommandError::Scan(e.into()))?;
        let mut bytes =
            serde_json::to_vec_pretty(&value).map_err(|e| CommandError::Scan(e.into()))?;
        bytes.push(b'\n');
        return Ok(bytes);
    }
    let mut out = String::new();
    for g in &selected {
        let _ = writeln!(out, "{}: {}", g.name, g.description);
        for t in g.triggers {
            if trigger_filter.is_some_and(|f| f.name != t.name) {
                continue;
            }
            let _ = writeln!(out, "  {}: {}", t.name, t.description);
            if let Some(why) = t.unavailable {
                let _ = writeln!(out, "    (never fires: {why})");
            }
            for p in t.params {
                let mut flags = vec![if p.required { "required" } else { "optional" }.to_owned()];
                if let Some(d) = p.default {
                    flags.push(format!("default {d}"));
                }
                if !p.aliases.is_empty() {
                    flags.push(format!("alias {}", p.aliases.join(", ")));
                }
                let _ = writeln!(
                    out,
                    "    {} ({}; {}): {} Example: {}",
                    p.name,
                    serde_json::to_value(p.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    flags.join(", "),
                    p.description,
                    p.example
                );
            }
        }
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses() {
        use Action::{Go, Stop, Warn};
        let cases = [
            (Stop, FailOn::Stop, ExitStatus::PolicyFailure),
            (Warn, FailOn::Stop, ExitStatus::Success),
            (Go, FailOn::Stop, ExitStatus::Success),
            (Stop, FailOn::Warn, ExitStatus::PolicyFailure),
            (Warn, FailOn::Warn, ExitStatus::PolicyFailure),
            (Go, FailOn::Warn, ExitStatus::Success),
        ];
        for (action, fail_on, want) in cases {
            assert_eq!(exit_status(action, fail_on), want, "{action} {fail_on:?}");
        }
    }

    #[test]
    fn default_bundle_loads() {
        let b = load(None).expect("default bundle");
        assert_eq!(b.id(), "plimsoll-anchore-default");
    }

    #[test]
    fn describe_one_trigger() {
        let args = PolicyDescribeArgs {
            gate: Some("dockerfile".into()),
            trigger: Some("exposed_ports".into()),
            output: ListFormat::Table,
        };
        let text = String::from_utf8(describe_text(policy::describe(), &args).expect("text"))
            .expect("utf-8");
        assert!(text.starts_with("dockerfile: "), "{text}");
        assert!(text.contains("  exposed_ports: "), "{text}");
        assert!(!text.contains("  effective_user: "), "{text}");
        assert!(text.contains("    ports ("), "{text}");
        let bad = PolicyDescribeArgs {
            gate: Some("nope".into()),
            trigger: None,
            output: ListFormat::Table,
        };
        assert!(matches!(
            describe_text(policy::describe(), &bad),
            Err(CommandError::Usage(_))
        ));
    }
}
