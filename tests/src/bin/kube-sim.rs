//! `kube-sim`: a Kubernetes API server simulator for end-to-end tests.
//!
//! Prints the server URL on the first line of stdout, writes a kubeconfig when asked, and
//! serves until interrupted (SIGINT or SIGTERM).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use plimsoll_e2e::apiserver::admission::pod_security::Level;
use plimsoll_e2e::kubelet::images::ImageMap;
use plimsoll_e2e::{Simulator, SimulatorConfig};

/// A Kubernetes API server simulator (plain HTTP on loopback) with a fake kubelet that runs
/// pods as local processes. See tests/SIMULATOR.md.
#[derive(Parser, Debug)]
#[command(name = "kube-sim", version)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig for the simulator to this path.
    #[arg(long, value_name = "PATH")]
    kubeconfig_out: Option<PathBuf>,
    /// Bearer token clients must present (default: random).
    #[arg(long, env = "KUBE_SIM_TOKEN", default_value = "")]
    token: String,
    /// Map images to local binaries: PATTERN=PATH, `*` matches anything (repeatable).
    #[arg(long = "image", value_name = "PATTERN=PATH", value_parser = ImageMap::parse_entry)]
    images: Vec<(String, PathBuf)>,
    /// Refuse to run pods whose image is not mapped, even if their command exists here.
    #[arg(long)]
    no_host_commands: bool,
    /// Pod Security level enforced in namespaces without a `pod-security.kubernetes.io/enforce` label.
    #[arg(long, default_value = "restricted", value_parser = ["privileged", "baseline", "restricted"])]
    pod_security: String,
    /// Do not require readOnlyRootFilesystem at the restricted level.
    #[arg(long)]
    allow_writable_root: bool,
    /// Exit code reported as OOMKilled (negative: none).
    #[arg(long, default_value_t = 137, allow_negative_numbers = true)]
    oom_exit_code: i32,
    /// Watch events kept for resuming watches (older resourceVersions get 410 Gone).
    #[arg(long, default_value_t = 10_000)]
    watch_history: usize,
    /// Run the CronJob controller's clock this many times faster (60: a minute per second).
    #[arg(long, default_value_t = 1)]
    cron_speed: u32,
    /// First delay before a Job replaces a failed pod, in milliseconds.
    #[arg(long, default_value_t = 200)]
    job_backoff_ms: u64,
    /// Directory for pod volumes and logs (default: a temporary directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Serve the API only: no kubelet, no Job or CronJob controllers.
    #[arg(long)]
    no_workloads: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut images = ImageMap::new();
    for (pattern, path) in args.images {
        images.push(pattern, path);
    }
    let cfg = SimulatorConfig {
        listen: args.listen,
        token: args.token,
        images,
        allow_host_commands: !args.no_host_commands,
        pod_security: Level::parse(&args.pod_security).unwrap_or(Level::Restricted),
        require_read_only_root: !args.allow_writable_root,
        oom_exit_code: (args.oom_exit_code >= 0).then_some(args.oom_exit_code),
        watch_history: args.watch_history,
        cron_speed: args.cron_speed,
        job_backoff: Duration::from_millis(args.job_backoff_ms),
        work_dir: args.work_dir,
        workloads: !args.no_workloads,
        ..SimulatorConfig::default()
    };
    let sim = Simulator::start(cfg)
        .await
        .context("starting the simulator")?;
    if let Some(path) = &args.kubeconfig_out {
        sim.write_kubeconfig(path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    #[allow(clippy::print_stdout)]
    {
        println!("{}", sim.url());
    }
    use std::io::Write as _;
    std::io::stdout().flush().context("flushing stdout")?;
    tracing::info!(url = sim.url(), "kube-sim serving");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(sim);
    Ok(())
}
