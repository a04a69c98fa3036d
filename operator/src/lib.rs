//! Plimsoll: the operator and the `plimsoll` CLI.
//!
//! - `cli`: argument definitions (`cli/args.rs`) and one module per command.
//! - `feeds`: the OSV model, feed formats and sources.
//! - `store`: SQLite / PostgreSQL persistence (advisories, analyses, match times, history,
//!   notification outbox).

pub mod cli;
pub mod feeds;
pub mod store;
