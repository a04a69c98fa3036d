//! The program inside each analyzer Job: analyze one image, write the Analysis JSON.
//! Every flag has a `PLIMSOLL_*` environment variable, which is how the Job configures it;
//! pull secrets arrive as a mounted `config.json` (`PLIMSOLL_REGISTRY_AUTH_FILE`).

use anyhow::Context as _;
use clap::Parser;
use plimsoll_analyzer::cli::{ImageArgs, settings_from};
use plimsoll_analyzer::scan::{NoProgress, scan};
use std::io::Write as _;
use std::sync::Arc;

/// Analyze a container image and write its Analysis (JSON).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    image: ImageArgs,
    /// Where to write the Analysis; `-` for stdout.
    #[arg(long, short, env = "PLIMSOLL_OUTPUT", default_value = "-")]
    output: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLIMSOLL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {e:#}");
            }
            std::process::ExitCode::from(3)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
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
    Ok(())
}
