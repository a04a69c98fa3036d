//! The program inside each analyzer Job: analyze one image, write the Analysis JSON.

use anyhow::Context as _;
use clap::Parser;
use plimsoll_analyzer::scan::{NoProgress, scan};
use plimsoll_analyzer::settings::ScanSettings;
use plimsoll_analyzer::source::ImageSource;
use std::io::Write as _;
use std::sync::Arc;

/// Analyze a container image and write its Analysis (JSON).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Image to analyze: a registry reference, `oci-dir:PATH[:TAG]`, `oci-archive:PATH` or
    /// `docker-archive:PATH`.
    #[arg(env = "PLIMSOLL_IMAGE")]
    image: String,
    /// Platform to pick from a multi-platform image.
    #[arg(long, env = "PLIMSOLL_PLATFORM", default_value = "linux/amd64")]
    platform: String,
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
    let source: ImageSource = args.image.parse()?;
    let settings = ScanSettings {
        platform: args.platform.parse().map_err(anyhow::Error::msg)?,
        ..ScanSettings::default()
    };
    let analysis = scan(&source, &args.image, &settings, Arc::new(NoProgress)).await?;
    let json = serde_json::to_vec_pretty(&analysis)?;
    if args.output == "-" {
        std::io::stdout()
            .write_all(&json)
            .context("writing the analysis")?;
    } else {
        std::fs::write(&args.output, json).with_context(|| format!("writing {}", args.output))?;
    }
    Ok(())
}
