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
