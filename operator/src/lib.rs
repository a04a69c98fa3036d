//! Plimsoll: the operator and the `plimsoll` CLI.
//!
//! - `cli`: argument definitions (`cli/args.rs`) and one module per command.
//! - `matcher`: vulnerability matching; `matcher/version` orders versions per ecosystem.

pub mod cli;
pub mod matcher;
