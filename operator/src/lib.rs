//! Plimsoll: the operator and the `plimsoll` CLI.
//!
//! - `cli`: argument definitions (`cli/args.rs`) and one module per command.
//! - `feeds`: the OSV model, feed formats and sources.

pub mod cli;
pub mod feeds;
//! - `matcher`: vulnerability matching; `matcher/version` orders versions per ecosystem.

pub mod matcher;
