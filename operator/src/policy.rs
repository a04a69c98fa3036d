//! The policy engine: Anchore policy bundles (format `1_0`) validated and evaluated, sans-IO.
//!
//! - `document`: a bundle file (JSON or YAML) as a tree of positioned nodes, with size limits.
//! - `bundle`: the bundle as written ([`RawBundle`]), and its reading from a document.
//! - `validate`: [`RawBundle`] to [`ValidBundle`], every problem reported at once.
//! - `diagnostics`: the diagnostic codes (one enum, kebab-case names) and [`Diagnostic`].
//! - `params`: trigger parameters, their types and documentation.
//! - `pattern`: regexes (linear time, size-limited) and `*`/`regexp:` wildcards.
//! - `mapping`: which mapping or image rule selects an image.
//! - `whitelist`: which whitelist item exempts a result row.
//! - `input`: what an evaluation reads ([`EvalInput`]).
//! - `facts`: views of the input shared by rules, computed once per evaluation.
//! - `gates`: one module per gate: documentation, parameters, validation, evaluation.
//! - `evaluate`: a bundle against an image: the [`Verdict`].
//!
//! The three entry points: [`load_bundle`] (bytes to a valid bundle or every diagnostic),
//! [`evaluate`] and [`describe`] (every gate, trigger and parameter, for
//! `plimsoll policy describe`).
//!
//! Differences from Anchore, each deliberate and documented where it lives: regexes use Rust
//! syntax (no look-around; linear time), `max_days_since_creation` counts from the first
//! detection kept by the store, `retrieved_files.content_regex` matches lines, feed-backed
//! npm/gem triggers never fire (no such feed), `malware.scan_not_run` always fires (no
//! scanner), and beyond Anchore: `vulnerabilities.count`, `metadata.label`, port ranges in
//! `dockerfile.exposed_ports`, and the bundle-level `no_mapping_action`.

pub mod bundle;
pub mod diagnostics;
pub mod document;
pub mod evaluate;
mod facts;
pub mod gates;
pub mod input;
pub mod mapping;
pub mod params;
pub mod pattern;
#[cfg(test)]
mod testing;
pub mod validate;
pub mod whitelist;

pub use bundle::RawBundle;
pub use diagnostics::{Code, Diagnostic, Severity};
pub use document::FormatHint;
pub use evaluate::{Reason, Row, Verdict};
pub use input::{EvalInput, ImageRef, MatchTimes};
pub use params::GateDoc;
pub use validate::{Action, ValidBundle, validate};

use diagnostics::Diagnostics;

/// Reads and validates a bundle file. On failure, every diagnostic (errors and warnings), each
/// with its path and, from the file, its line and column; on success, warnings are on the
/// bundle ([`ValidBundle::warnings`]).
pub fn load_bundle(bytes: &[u8], format: FormatHint) -> Result<ValidBundle, Vec<Diagnostic>> {
    let root = document::parse(bytes, format).map_err(|d| vec![d])?;
    let mut d = Diagnostics::default();
    let (raw, broken) = bundle::from_document(&root, &mut d);
    let result = validate(&raw);
    let mut all: Vec<Diagnostic> = d.into_vec();
    let (valid, more) = match result {
        Ok(mut v) => {
            let warnings = std::mem::take(&mut v.warnings);
            (Some(v), warnings)
        }
        Err(diags) => (None, diags),
    };
    // A malformed element was already reported; what validation says about the empty
    // stand-in (missing id, ...) would only repeat it.
    all.extend(more.into_iter().filter(|x| {
        !broken
            .iter()
            .any(|b| x.path == *b || x.path.starts_with(&format!("{b}.")) || x.path.starts_with(&format!("{b}[")))
    }));
    for x in &mut all {
        if x.line.is_none() {
            let pos = root.locate(&x.path);
            x.line = Some(pos.line);
            x.column = Some(pos.column);
        }
    }
    let has_errors = all.iter().any(Diagnostic::is_error);
    match valid {
        Some(mut v) if !has_errors => {
            v.warnings = all;
            Ok(v)
        }
        _ => Err(all),
    }
}

/// Evaluates a bundle against one image.
pub fn evaluate(bundle: &ValidBundle, input: &EvalInput<'_>) -> Verdict {
    evaluate::evaluate(bundle, input)
}

/// Every gate with its triggers and their parameters.
pub fn describe() -> &'static [GateDoc] {
    gates::GATES
}
