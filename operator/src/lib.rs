//! Plimsoll: the operator and the `plimsoll` CLI.
//!
//! - `cli`: argument definitions (`cli/args.rs`) and one module per command.
//! - `crd`: the custom resources (ImageScan, PolicyBundle, Subscription) and their CRDs.
//! - `feeds`: the OSV model, feed formats and sources.
//! - `matcher`: vulnerability matching; `matcher/version` orders versions per ecosystem.
//! - `severity`: CVSS v2/v3/v4 scoring and vendor severities on Anchore's scale.
//! - `store`: SQLite / PostgreSQL persistence (advisories, analyses, match times, history,
//!   notification outbox).

pub mod cli;
pub mod crd;
pub mod feeds;
pub mod matcher;
pub mod severity;
pub mod store;
