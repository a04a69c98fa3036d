//! Argument definitions only; resolving them into settings happens in each command.

use clap::{Args, Parser, Subcommand, ValueEnum};
pub use plimsoll_analyzer::cli::ImageArgs;

/// Plimsoll inspects container images and enforces policy on them.
#[derive(Debug, Parser)]
#[command(name = "plimsoll", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List everything in an image: packages, files, secrets, image facts.
    Sbom(SbomArgs),
    /// Match an image's packages against the synced vulnerability feeds.
    ///
    /// Exit codes: 0 done, 1 a shown vulnerability is at or above --fail-on, 2 usage or input
    /// error (bad image reference, bad --analysis file), 3 scan, feed or store failure.
    Vulns(VulnsArgs),
    /// Vulnerability feeds: sync them into the store, list what the store holds.
    #[command(subcommand)]
    Feeds(FeedsCommand),
    /// Print the CustomResourceDefinitions (ImageScan, PolicyBundle, Subscription) as YAML.
    /// Without `--out`, all of them go to stdout as one multi-document stream
    /// (`plimsoll crds | kubectl apply -f -`). With `--out DIR`, each goes to its own file,
    /// `DIR/<plural>.plimsoll.dev.yaml`.
    Crds(CrdsArgs),
    /// Analyze an image, match it against the store and evaluate a policy bundle.
    ///
    /// Exit codes: 0 pass (GO, or WARN unless --fail-on warn), 1 STOP (or WARN with
    /// --fail-on warn), 2 usage or input error (bad bundle, bad image reference), 3 scan or
    /// store failure.
    Scan(ScanArgs),
    /// Evaluate a policy bundle against a saved Analysis document (`plimsoll sbom -o json`).
    ///
    /// Exit codes as `scan`.
    Evaluate(EvaluateArgs),
    /// Policy bundles: validate one, describe the gates and triggers.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// What the operator's CronJobs run: sync the feeds and push them to the operator, or ask
    /// it to check every followed tag.
    #[command(subcommand)]
    Cron(CronCommand),
    /// Notifications: send a test notification to a Subscription's sinks.
    #[command(subcommand)]
    Notify(NotifyCommand),
}

#[derive(Debug, Subcommand)]
pub enum CronCommand {
    /// Sync the feed sources here (a scratch store under $TMPDIR) and push each one to the
    /// operator's ingest API: whole, as the changes since the operator's cursor (`osv:`
    /// sources), or as "unchanged" when its digest is the operator's. The
    /// `plimsoll-feed-sync` CronJob.
    ///
    /// Exit codes: 0 every source synced and pushed, 2 bad arguments, 3 a source, a push or the
    /// operator failed (the other sources are still pushed).
    FeedSync(CronFeedSyncArgs),
    /// Ask the operator to check every followed tag for a new digest, and print its answer.
    /// The `plimsoll-watch` CronJob.
    ///
    /// Exit codes: 0 accepted, 2 bad arguments, 3 the operator could not be reached or refused.
    Watch(CronWatchArgs),
}

/// Where the operator is and the token its CronJobs present.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// The operator's ingest URL, e.g. `http://plimsoll.plimsoll.svc:8080`.
    #[arg(long, env = "PLIMSOLL_INGEST_URL", value_name = "URL")]
    pub ingest_url: String,
    /// The CronJob token (wins over --token-file).
    #[arg(
        long,
        env = "PLIMSOLL_INGEST_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// A file holding the token (the mounted Secret), read again before each try.
    #[arg(long, env = "PLIMSOLL_INGEST_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<std::path::PathBuf>,
    /// Tries per request (connection errors, 5xx and 429 are retried with backoff).
    #[arg(long, default_value_t = 8, hide = true)]
    pub tries: u32,
}

#[derive(Debug, Args)]
pub struct CronFeedSyncArgs {
    #[command(flatten)]
    pub ingest: IngestArgs,
    /// Feed sources: `plimsoll feeds sync --source` specs, repeated or comma-separated
    /// (`osv:PyPI,npm` keeps its ecosystems together). Default: the public OSV exports of the
    /// ecosystems Plimsoll matches.
    #[arg(long = "source", env = "PLIMSOLL_FEED_SOURCES", value_name = "SPEC")]
    pub sources: Vec<String>,
    /// Base URL of an OSV exports mirror.
    #[arg(
        long,
        env = "PLIMSOLL_FEED_MIRROR_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub mirror: Option<String>,
    /// Where the scratch store goes (default: the system temporary directory, $TMPDIR).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<std::path::PathBuf>,
    /// Sync and push every source whole, even where an increment would do.
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct CronWatchArgs {
    #[command(flatten)]
    pub ingest: IngestArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerdictFormat {
    /// Anchore's `evaluate check --detail` layout: the verdict, then one line per result.
    Table,
    /// The verdict (Plimsoll's own JSON).
    Json,
    /// SARIF 2.1.0, for code scanning dashboards: one rule per gate:trigger.
    Sarif,
    /// JUnit XML, for CI test reports: one test case per result; STOP fails.
    Junit,
}

/// Which final action fails the command (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Only STOP fails.
    Stop,
    /// STOP and WARN fail.
    Warn,
}

/// What `scan` and `evaluate` share: the bundle, the output, the threshold, the store.
#[derive(Debug, Args)]
pub struct PolicyOptions {
    /// A policy bundle (JSON or YAML). Default: the bundled Anchore default policy
    /// (`examples/policies/anchore-default.json`).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = VerdictFormat::Table)]
    pub output: VerdictFormat,
    /// The final action from which the command exits with 1.
    #[arg(long, value_enum, default_value_t = FailOn::Stop, ignore_case = true)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub policy: PolicyOptions,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The Analysis JSON document to evaluate (`plimsoll sbom -o json`).
    #[arg(long, value_name = "FILE")]
    pub analysis: std::path::PathBuf,
    /// Vulnerability matches: the JSON of `plimsoll vulns -o json` (or a list of matches).
    /// Without it, matches come from the store when `--db` (or `PLIMSOLL_DB`) is given, else
    /// there are none and vulnerability data counts as unavailable.
    #[arg(long, value_name = "FILE")]
    pub matches: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub policy: PolicyOptions,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a bundle: every diagnostic with its code, JSON path and line:column.
    ///
    /// Exit codes: 0 valid (warnings allowed), 2 invalid or unreadable.
    Validate(PolicyValidateArgs),
    /// The gates, triggers and parameters bundles may use.
    Describe(PolicyDescribeArgs),
}

#[derive(Debug, Args)]
pub struct PolicyValidateArgs {
    /// The bundle file (JSON or YAML).
    pub file: std::path::PathBuf,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

#[derive(Debug, Args)]
pub struct PolicyDescribeArgs {
    /// Only this gate.
    pub gate: Option<String>,
    /// Only this trigger of the gate.
    pub trigger: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// The Analysis document (Plimsoll's own JSON).
    Json,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
    /// A table of packages.
    Table,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = SbomFormat::Table)]
    pub output: SbomFormat,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
}

/// The store: where feeds, analyses and first-seen times are kept.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// A SQLite file path, a `sqlite:` URL or a `postgres://` URL. Default:
    /// `~/.cache/plimsoll/plimsoll.db` (under `$XDG_CACHE_HOME` when set); its directory is
    /// created.
    #[arg(
        long,
        env = "PLIMSOLL_DB",
        value_name = "PATH|URL",
        hide_env_values = true
    )]
    pub db: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VulnsFormat {
    /// A table of vulnerabilities with a summary per severity.
    Table,
    /// The match report with first-seen times (Plimsoll's own JSON).
    Json,
    /// SARIF 2.1.0, for code scanning dashboards.
    Sarif,
}

/// A severity threshold, on Anchore's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

/// IMAGE is optional here (`--analysis` replaces it): absent, it is empty. Not an
/// `Option<ImageArgs>`: clap would take a `PLIMSOLL_*` variable of the image flags in the
/// environment as the group being given, and then ask for IMAGE.
#[derive(Debug, Args)]
#[command(
    mut_arg("image", |a| a.required(false).default_value("").hide_default_value(true)),
    group(clap::ArgGroup::new("input").required(true).args(["image", "analysis"])),
)]
pub struct VulnsArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Match this Analysis JSON document (`plimsoll sbom -o json`) instead of an image.
    #[arg(long, value_name = "FILE")]
    pub analysis: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = VulnsFormat::Table)]
    pub output: VulnsFormat,
    /// Exit with 1 when a shown vulnerability is at or above this severity.
    #[arg(long, value_enum, value_name = "SEVERITY", ignore_case = true)]
    pub fail_on: Option<SeverityArg>,
    /// Show only vulnerabilities with a fixed version.
    #[arg(long)]
    pub only_fixed: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Load each feed source and replace its records in the store.
    ///
    /// A source that fails keeps its previous records; the others are still applied. Exit
    /// codes: 0 every source synced, 2 bad arguments, 3 a source or the store failed.
    Sync(FeedsSyncArgs),
    /// Each feed source: records, last successful sync and its age, last error.
    List(FeedsListArgs),
}

#[derive(Debug, Args)]
pub struct FeedsSyncArgs {
    /// A feed source (repeatable): `PATH` (a file or a directory of .json, .jsonl, .zip),
    /// `dir:PATH`, `https://HOST/feed.zip`, or `osv:ECOSYSTEM[,ECOSYSTEM...][@BASE-URL]` (the
    /// OSV exports, `<BASE-URL>/<ECOSYSTEM>/all.zip`). Default: the public OSV exports of
    /// the ecosystems Plimsoll matches.
    #[arg(long = "source", value_name = "SPEC")]
    pub sources: Vec<String>,
    /// Base URL of an OSV exports mirror, for air-gapped clusters: used by the default
    /// sources and by `osv:` sources without their own `@BASE-URL`.
    #[arg(
        long,
        env = "PLIMSOLL_FEEDS_MIRROR",
        value_name = "URL",
        hide_env_values = true
    )]
    pub mirror: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct FeedsListArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a test notification (`"test": true`) to every sink of a Subscription, now.
    ///
    /// Reads the Subscription and the sinks' Secrets from the cluster with your credentials
    /// (KUBECONFIG, or in-cluster), builds a notification of the Subscription's first event
    /// type about its first ImageScan, and sends it to the webhook, Slack and Kubernetes
    /// Events sinks it configures, without the operator's outbox. Prints one line per sink.
    /// Exit codes: 0 every sink accepted it, 2 no such Subscription or no sink, 3 a sink
    /// failed or the cluster could not be read.
    Test(NotifyTestArgs),
}

#[derive(Debug, Args)]
pub struct NotifyTestArgs {
    /// The Subscription's name (`kubectl get subscriptions.plimsoll.dev`).
    pub subscription: String,
    /// Its namespace. Default: the kubeconfig context's namespace.
    #[arg(long, short)]
    pub namespace: Option<String>,
}

#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Write one file per CRD into this directory (created if missing) instead of stdout.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub out: Option<std::path::PathBuf>,
}
