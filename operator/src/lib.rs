//! Plimsoll: the operator and the `plimsoll` CLI.
//!
//! - `cli`: argument definitions (`cli/args.rs`) and one module per command.
//! - `crd`: the custom resources (ImageScan, PolicyBundle, Subscription) and their CRDs.
//! - `evaluation`: one image judged against the store (matches, verdict, counts); shared by
//!   the CLI and the operator.
//! - `feeds`: the OSV model, feed formats and sources.
//! - `operator`: the in-cluster operator: controllers, analyzer Jobs, the HTTP server.
//! - `matcher`: vulnerability matching; `matcher/version` orders versions per ecosystem.
//! - `notify`: notifications: the event document, JSON / Anchore / Slack formats, signing,
//!   delivery from the outbox with retries, rate limits and dead letters.
//! - `policy`: Anchore-compatible policy bundles: validation with diagnostics, evaluation to a
//!   verdict, the gate reference.
//! - `severity`: CVSS v2/v3/v4 scoring and vendor severities on Anchore's scale.
//! - `store`: SQLite / PostgreSQL persistence (advisories, analyses, match times, history,
//!   notification outbox).
//! - `vulns`: an analysis matched against the store (SQL candidates, then the matcher), with
//!   first-seen times recorded.

pub mod cli;
pub mod crd;
pub mod evaluation;
pub mod feeds;
pub mod matcher;
pub mod notify;
pub mod operator;
pub mod policy;
pub mod severity;
pub mod store;
pub mod vulns;
