//! Argument definitions only; resolving them into settings happens in each command.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Plimsoll inspects container images and enforces policy on them.
#[derive(Debug, Parser)]
#[command(name = "plimsoll", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List everything in an image: packages, files, secrets, image facts.
    Sbom(SbomArgs),
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

/// Where and how to read an image.
#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// The image: a registry reference (`alpine`, `registry:5000/app:1.2`, `repo@sha256:...`),
    /// `oci-dir:PATH[:TAG]`, `oci-archive:PATH` or `docker-archive:PATH`.
    pub image: String,
    /// Platform to pick from a multi-platform image.
    #[arg(long, env = "PLIMSOLL_PLATFORM", default_value = "linux/amd64")]
    pub platform: String,
    /// Secret pattern `NAME=REGEX`, added to the five defaults (repeatable).
    #[arg(long = "secret-pattern", value_name = "NAME=REGEX")]
    pub secret_patterns: Vec<String>,
    /// Content pattern `NAME=REGEX` for the policy engine's content checks (repeatable).
    #[arg(long = "content-pattern", value_name = "NAME=REGEX")]
    pub content_patterns: Vec<String>,
    /// Regular files up to this size are searched for patterns and retrieved.
    #[arg(long, value_name = "BYTES", default_value_t = 10_000)]
    pub max_file_size: u64,
    /// File whose content goes into the analysis (repeatable; default /etc/passwd).
    #[arg(long = "retrieve-file", value_name = "PATH")]
    pub retrieve_files: Vec<String>,
    /// The Dockerfile the image was built from, if you have it.
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<std::path::PathBuf>,
    /// Registry host to reach over plain HTTP (repeatable).
    #[arg(
        long = "insecure-registry",
        value_name = "HOST[:PORT]",
        env = "PLIMSOLL_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub insecure_registries: Vec<String>,
    /// Docker config.json with registry credentials (the format of a
    /// kubernetes.io/dockerconfigjson Secret). Default: $DOCKER_CONFIG/config.json.
    #[arg(long, value_name = "FILE", env = "PLIMSOLL_REGISTRY_AUTH_FILE")]
    pub registry_auth_file: Option<std::path::PathBuf>,
    /// Registry user name (with --password).
    #[arg(long, env = "PLIMSOLL_REGISTRY_USERNAME")]
    pub username: Option<String>,
    /// Registry password or token (with --username).
    #[arg(long, env = "PLIMSOLL_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
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
