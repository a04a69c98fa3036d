//! Plimsoll: the operator and the `plimsoll` CLI.
//!
//! - `cli`: argument definitions (`cli/args.rs`) and one module per command.

pub mod cli;
