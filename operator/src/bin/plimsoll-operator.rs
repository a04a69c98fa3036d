//! `plimsoll-operator`: the Plimsoll Kubernetes operator. Configuration by flags or
//! `PLIMSOLL_*` environment variables (`operator/docs/configuration.md`).

use clap::Parser;
use plimsoll::operator::config::OperatorArgs;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLIMSOLL_LOG")
                .unwrap_or_else(|_| "info,kube_runtime=warn".into()),
        )
        .init();
    let args = OperatorArgs::parse();
    match plimsoll::operator::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
