//! `plimsoll`: the CLI. Parses arguments, runs one command, maps the result to an exit code.

use clap::Parser;
use plimsoll::cli::ExitStatus;
use plimsoll::cli::args::{Cli, Command};
use plimsoll::cli::sbom::{self, CommandError};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLIMSOLL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Sbom(args) => sbom::run(args).await,
    };
    match result {
        Ok(()) => ExitStatus::Success.into(),
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {e}");
            }
            match e {
                CommandError::Usage(_) => ExitStatus::UsageError.into(),
                CommandError::Scan(_) => ExitStatus::ScanFailure.into(),
            }
        }
    }
}
