//! Rust executables built with `cargo auditable`: the crate graph is embedded as
//! zlib-compressed JSON in a `.dep-v0` section (ELF, PE; `__DATA,.dep-v0` in Mach-O).
//!
//! Traps:
//! - The JSON is small compressed but is input: inflation is capped before parsing.
//! - `kind` is omitted for runtime crates and `"build"` for build-time-only crates (build
//!   scripts, proc macros), which are not in the binary; like Syft we report runtime crates
//!   only. The root crate (`"root": true`) is the program itself and is reported.
//! - Binaries without the section (nearly all) must cost only a header parse.

mod cataloger;
mod package;
mod parse_dep_info;

pub use cataloger::RustAuditCataloger;
