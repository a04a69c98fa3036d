//! The program inside each analyzer Job: analyze one image, write the Analysis JSON.
//! Every flag has a `PLIMSOLL_*` environment variable, which is how the Job configures it;
//! pull secrets arrive as mounted `config.json` files (`PLIMSOLL_REGISTRY_AUTH_FILE`,
//! comma-separated).
//!
//! Job mode (`PLIMSOLL_INGEST_URL` set): resolve the image, ask the operator whether the
//! digest still needs an analysis (`operator/docs/ingest-protocol.md`), analyze and upload
//! it, or report why it cannot be analyzed. Exit codes: 0 when the Job is done (uploaded,
//! skipped, or a definitive failure reported), 3 otherwise (the Job's backoff retries it).

use anyhow::Context as _;
use clap::Parser;
use plimsoll_analyzer::cli::{ImageArgs, parse_duration, settings_from};
use plimsoll_analyzer::ingest::{CheckRequest, CheckResponse, FailureReport, IngestClient};
use plimsoll_analyzer::scan::{NoProgress, ScanError, analyze_resolved, scan};
use plimsoll_analyzer::source::{ImageSource, Secret};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Analyze a container image and write its Analysis (JSON), or in job mode (with
/// --ingest-url) upload it to the Plimsoll operator.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    image: ImageArgs,
    /// Where to write the Analysis; `-` for stdout. Not used in job mode.
    #[arg(long, short, env = "PLIMSOLL_OUTPUT", default_value = "-")]
    output: String,
    /// Job mode: the operator's ingest API (`http://plimsoll.plimsoll.svc:8080`); the
    /// analysis is uploaded there instead of written.
    #[arg(long, value_name = "URL", env = "PLIMSOLL_INGEST_URL")]
    ingest_url: Option<String>,
    /// File holding the Job's ingest token. Without it the token is read from the
    /// PLIMSOLL_INGEST_TOKEN environment variable (never a flag: argv is public).
    #[arg(long, value_name = "FILE", env = "PLIMSOLL_INGEST_TOKEN_FILE")]
    ingest_token_file: Option<PathBuf>,
    /// Job mode: how long to keep asking while another Job analyzes the same digest
    /// (`90s`, `25m`, `1h`).
    #[arg(
        long,
        value_name = "DURATION",
        env = "PLIMSOLL_WAIT_TIMEOUT",
        default_value = "25m",
        value_parser = parse_duration
    )]
    wait_timeout: Duration,
}

/// How a run ended well.
#[derive(Debug)]
enum Outcome {
    /// The analysis was written to `--output`.
    Written,
    /// Job mode: uploaded and stored.
    Uploaded { digest: String },
    /// Job mode: the operator already holds this digest's analysis.
    Skipped { digest: String },
    /// Job mode: the analysis cannot be done; the operator was told.
    Reported(FailureReport),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLIMSOLL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    finish(run(Args::parse()).await)
}

/// Says how the run ended (stderr) and picks the exit code.
#[allow(clippy::print_stderr)]
fn finish(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(Outcome::Written) => ExitCode::SUCCESS,
        Ok(Outcome::Uploaded { digest }) => {
            eprintln!("uploaded the analysis of {digest}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Skipped { digest }) => {
            eprintln!("the operator already holds an analysis of {digest}; nothing to do");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Reported(report)) => {
            let (what, code) = if report.is_definitive() {
                ("retrying cannot help", ExitCode::SUCCESS)
            } else {
                ("the Job may retry", ExitCode::from(3))
            };
            eprintln!(
                "error: {}: {} (reported to the operator; {what})",
                report.reason, report.message
            );
            code
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<Outcome> {
    if let Some(url) = &args.ingest_url {
        let token = ingest_token(
            args.ingest_token_file.as_deref(),
            std::env::var("PLIMSOLL_INGEST_TOKEN").ok(),
        )?;
        let client = IngestClient::new(url, &token).context("--ingest-url")?;
        return job(&args, &client).await;
    }
    let (source, settings) = settings_from(&args.image)?;
    let analysis = scan(&source, &args.image.image, &settings, Arc::new(NoProgress)).await?;
    let json = serde_json::to_vec(&analysis)?;
    if args.output == "-" {
        std::io::stdout()
            .write_all(&json)
            .context("writing the analysis")?;
    } else {
        std::fs::write(&args.output, json).with_context(|| format!("writing {}", args.output))?;
    }
    Ok(Outcome::Written)
}

/// The Job's token: the file's content when there is a file, else the variable's.
fn ingest_token(file: Option<&Path>, env: Option<String>) -> anyhow::Result<Secret> {
    let token = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the ingest token file {}", path.display()))?,
        None => env.context(
            "job mode (--ingest-url) needs a token: --ingest-token-file or PLIMSOLL_INGEST_TOKEN",
        )?,
    };
    let token = token.trim();
    anyhow::ensure!(!token.is_empty(), "the ingest token is empty");
    Ok(Secret::new(token))
}

/// Resolve, check (waiting while another Job works on the digest), analyze, upload; or
/// report the failure.
async fn job(args: &Args, client: &IngestClient) -> anyhow::Result<Outcome> {
    let reference = args.image.image.as_str();
    let source: ImageSource = match reference.parse() {
        Ok(s) => s,
        Err(e) => return report(client, &ScanError::from(e), None).await,
    };
    let (_, settings) = settings_from(&args.image)?;
    let resolved = match source.resolve(&settings).await {
        Ok(r) => r,
        Err(e) => return report(client, &ScanError::from(e), None).await,
    };
    let digest = resolved.manifest_digest.clone();
    tracing::info!(reference, %digest, "resolved");

    let request = CheckRequest {
        reference: reference.to_owned(),
        digest: digest.clone(),
        analyzer_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let deadline = Instant::now() + args.wait_timeout;
    loop {
        let answer = client
            .check(&request)
            .await
            .with_context(|| format!("asking the operator about {digest}"))?;
        match answer {
            CheckResponse::Analyze => break,
            CheckResponse::Skip => return Ok(Outcome::Skipped { digest }),
            CheckResponse::Wait {
                retry_after_seconds,
            } => {
                let now = Instant::now();
                anyhow::ensure!(
                    now < deadline,
                    "another Job was still analyzing {digest} after {:?} (--wait-timeout)",
                    args.wait_timeout
                );
                let delay =
                    Duration::from_secs(u64::from(retry_after_seconds.max(1))).min(deadline - now);
                tracing::info!(%digest, ?delay, "another Job is analyzing this digest; waiting");
                tokio::time::sleep(delay).await;
            }
        }
    }

    let analysis = match analyze_resolved(
        &source,
        &resolved,
        reference,
        &settings,
        Arc::new(NoProgress),
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return report(client, &e, Some(digest)).await,
    };
    let answer = client
        .upload(&analysis)
        .await
        .with_context(|| format!("uploading the analysis of {digest}"))?;
    anyhow::ensure!(
        answer.stored,
        "the operator answered the upload of {digest} with stored: false"
    );
    Ok(Outcome::Uploaded { digest })
}

/// Tells the operator why the analysis cannot be done.
async fn report(
    client: &IngestClient,
    error: &ScanError,
    digest: Option<String>,
) -> anyhow::Result<Outcome> {
    let report = FailureReport {
        reason: error.label().to_owned(),
        message: error.to_string(),
        digest,
    };
    client
        .report_failure(&report)
        .await
        .with_context(|| format!("reporting a failure ({}: {error})", report.reason))?;
    Ok(Outcome::Reported(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_from_file_else_environment() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").expect("write");
        let t = ingest_token(Some(&file), Some("from-env".into())).expect("token");
        assert_eq!(t.expose(), "from-file");
        let t = ingest_token(None, Some(" from-env ".into())).expect("token");
        assert_eq!(t.expose(), "from-env");
        assert!(ingest_token(None, None).is_err());
        assert!(ingest_token(None, Some("  ".into())).is_err());
        assert!(ingest_token(Some(&dir.path().join("missing")), Some("x".into())).is_err());
    }

    #[test]
    fn flags_parse() {
        let args = Args::try_parse_from([
            "plimsoll-analyzer",
            "alpine",
            "--ingest-url",
            "http://op:8080",
            "--wait-timeout",
            "90s",
        ])
        .expect("parses");
        assert_eq!(args.wait_timeout, Duration::from_secs(90));
        assert_eq!(args.ingest_url.as_deref(), Some("http://op:8080"));
        assert!(
            Args::try_parse_from(["plimsoll-analyzer", "alpine", "--wait-timeout", "5"]).is_err()
        );
    }
}
