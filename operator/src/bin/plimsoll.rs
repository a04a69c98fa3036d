//! `plimsoll`: the CLI. Parses arguments, runs one command, maps the result to an exit code.

use clap::Parser;
use plimsoll::cli::ExitStatus;
use plimsoll::cli::args::{Cli, Command};
use plimsoll::cli::crds;
use plimsoll::cli::sbom::{self, CommandError};
use std::io::Write as _;

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
        Command::Sbom(args) => sbom::run(args)
            .await
            .and_then(|bytes| write_out(args.file.as_deref(), &bytes)),
        Command::Crds(args) => crds::run(args).and_then(|stdout| match stdout {
            Some(bytes) => write_out(None, &bytes),
            None => Ok(()),
        }),
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

fn write_out(file: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), CommandError> {
    let r = match file {
        Some(path) => std::fs::write(path, bytes)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(bytes)
            .map_err(anyhow::Error::from),
    };
    r.map_err(CommandError::Scan)
}
