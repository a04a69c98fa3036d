//! Schema pieces the derive cannot produce right by itself, and the string bound helper the
//! controllers use before writing a status.
//!
//! Traps of the domain (why these exist):
//! - schemars writes `format: uint32` / `uint64` for unsigned integers. Kubernetes knows only
//!   its own list of formats (`int32`, `int64`, `date-time`, ...) and warns on every apply for
//!   the others, so counts use [`count`] (`int64`, `minimum: 0`).
//! - `maxLength` counts Unicode code points, not bytes (the apiserver uses
//!   `utf8.RuneCountInString`), so [`truncate`] cuts by `char`, never in the middle of one.

use crate::severity::Severity;
use schemars::{Schema, SchemaGenerator, json_schema};

/// A non-negative counter (`u32` in Rust) as Kubernetes understands it.
pub(crate) fn count(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "format": "int64", "minimum": 0 })
}

/// A Go-style duration (`90s`, `1h30m`, `24h`), what `kubectl` users write elsewhere. Go
/// accepts both micro signs (U+00B5 and U+03BC) for microseconds.
pub(crate) fn duration(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "maxLength": 32,
        "pattern": "^([0-9]+(\\.[0-9]+)?(ns|us|\u{b5}s|\u{3bc}s|ms|s|m|h))+$",
    })
}

/// One of Anchore's severities, spelled as the store and the policy engine print them.
pub(crate) fn severity(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    json_schema!({ "type": "string", "enum": names })
}

/// For `Option<UnitEnum>` fields: schemars lists `null` among the `enum` values of an optional
/// enum whose variants carry no doc comments; `nullable: true` already says it, and an `enum`
/// value that is not of the schema's type is not structural.
pub(crate) fn no_null_in_enum(schema: &mut Schema) {
    if let Some(serde_json::Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
}

/// `s` cut to at most `max` characters; a cut string ends with `…` so readers know.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some(_) if max == 0 => String::new(),
        Some(_) => {
            let keep = s.char_indices().nth(max - 1).map_or(s.len(), |(i, _)| i);
            let mut out = String::with_capacity(keep + '…'.len_utf8());
            out.push_str(&s[..keep]);
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_chars_not_bytes() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééé", 3), "ééé");
        assert_eq!(truncate("éééé", 3), "éé…");
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(truncate("", 0), "");
        assert_eq!(truncate("a", 1), "a");
        assert_eq!(truncate("ab", 1), "…");
    }
}
