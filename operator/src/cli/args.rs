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
    /// Print the CustomResourceDefinitions (ImageScan, PolicyBundle, Subscription) as YAML.
    ///
    /// Without `--out`, all of them go to stdout as one multi-document stream
    /// (`plimsoll crds | kubectl apply -f -`). With `--out DIR`, each goes to its own file,
    /// `DIR/<plural>.plimsoll.dev.yaml`.
    Crds(CrdsArgs),
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

#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Write one file per CRD into this directory (created if missing) instead of stdout.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub out: Option<std::path::PathBuf>,
}
