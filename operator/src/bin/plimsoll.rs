//! `plimsoll`: the CLI. Parses arguments, runs one command, maps the result to an exit code.

use clap::Parser;
use plimsoll::cli::args::{Cli, Command, CronCommand, FeedsCommand, NotifyCommand, PolicyCommand};
use plimsoll::cli::{
    CommandError, Ctx, ExitStatus, Output, crds, cron, feeds, notify, policy, sbom, vulns,
};
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
    let ctx = Ctx::from_env(|name| std::env::var_os(name));
    let result = match &cli.command {
        // `sbom` streams its own output (a large image's JSON is never held whole).
        Command::Sbom(args) => sbom::run(args).await.map(|()| Output {
            stdout: Vec::new(),
            warnings: Vec::new(),
            status: ExitStatus::Success,
        }),
        Command::Vulns(args) => vulns::run(args, &ctx).await,
        Command::Feeds(FeedsCommand::Sync(args)) => feeds::sync(args, &ctx).await,
        Command::Feeds(FeedsCommand::List(args)) => feeds::list(args, &ctx).await,
        Command::Crds(args) => crds::run(args).map(|stdout| Output {
            stdout: stdout.unwrap_or_default(),
            warnings: Vec::new(),
            status: ExitStatus::Success,
        }),
        Command::Scan(args) => policy::scan(args, &ctx).await,
        Command::Evaluate(args) => policy::evaluate(args, &ctx).await,
        Command::Policy(PolicyCommand::Validate(args)) => policy::validate(args),
        Command::Policy(PolicyCommand::Describe(args)) => policy::describe(args),
        Command::Cron(CronCommand::FeedSync(args)) => cron::feed_sync(args, &ctx).await,
        Command::Cron(CronCommand::Watch(args)) => cron::watch(args).await,
        Command::Notify(NotifyCommand::Test(args)) => notify::test(args, &ctx).await,
    };
    #[allow(clippy::print_stderr)]
    match result {
        Ok(output) => {
            for warning in &output.warnings {
                eprintln!("warning: {warning}");
            }
            match write_out(None, &output.stdout) {
                Ok(()) => output.status.into(),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitStatus::ScanFailure.into()
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                CommandError::Usage(_) => ExitStatus::UsageError.into(),
                CommandError::Scan(_) => ExitStatus::ScanFailure.into(),
            }
        }
    }
}

/// Writes to the file, or to stdout; a closed stdout (`| head`) is not an error.
fn write_out(file: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), CommandError> {
    let r = match file {
        Some(path) => std::fs::write(path, bytes)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display())),
        None => match std::io::stdout().write_all(bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.map_err(anyhow::Error::from),
        },
    };
    r.map_err(CommandError::Scan)
}
