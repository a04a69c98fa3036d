//! `package.json` of an installed npm package.
//!
//! Traps:
//! - The license comes in four shapes: an SPDX string (`"MIT"`, `"(MIT OR Apache-2.0)"`), the
//!   old `{ "type": "MIT", "url": ... }` object, an array of strings or objects under
//!   `license`, or a `licenses` array of objects (npm before 1.5).
//! - A scoped name keeps its scope (`@babel/core`).
//! - Files named `package.json` deeper inside a package (`lib/package.json`, test fixtures)
//!   are not package roots; the cataloger decides that from the path, not the content.
//! - Old npm (before 7) added `_from`, `_resolved`, `_integrity` ... keys to installed copies.

use serde::Deserialize;
use serde_json::Value;

/// The fields we use.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PackageJson {
    pub name: String,
    pub version: String,
    pub licenses: Vec<String>,
    pub author: Option<String>,
    pub homepage: Option<String>,
    pub private: bool,
}

#[derive(Deserialize)]
struct Raw {
    name: Option<Value>,
    version: Option<Value>,
    license: Option<Value>,
    licenses: Option<Value>,
    author: Option<Value>,
    homepage: Option<Value>,
    private: Option<Value>,
}

/// Parses one `package.json`; invalid JSON or a missing name or version is an error.
pub fn parse_package_json(content: &[u8]) -> Result<PackageJson, String> {
    // A UTF-8 byte order mark is not JSON, but editors on Windows write it.
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let raw: Raw =
        serde_json::from_slice(content).map_err(|e| format!("not a valid package.json: {e}"))?;
    let name = string(raw.name.as_ref()).ok_or("no \"name\" string")?;
    let version = string(raw.version.as_ref())
        .ok_or_else(|| format!("package {name} has no \"version\" string"))?;
    let mut licenses = Vec::new();
    for v in [&raw.license, &raw.licenses].into_iter().flatten() {
        collect_licenses(v, &mut licenses);
    }
    Ok(PackageJson {
        name,
        version,
        licenses,
        author: raw.author.as_ref().and_then(person),
        homepage: string(raw.homepage.as_ref()),
        private: raw.private == Some(Value::Bool(true)),
    })
}

fn string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `"MIT"`, `{"type": "MIT"}`, or an array of either.
fn collect_licenses(v: &Value, out: &mut Vec<String>) {
    let found = match v {
        Value::String(_) => string(Some(v)),
        Value::Object(o) => string(o.get("type")),
        Value::Array(items) => {
            for item in items {
                // One level only: nested arrays are not a shape anybody writes.
                if !item.is_array() {
                    collect_licenses(item, out);
                }
            }
            None
        }
        _ => None,
    };
    if let Some(l) = found
        && !out.contains(&l)
    {
        out.push(l);
    }
}

/// `"Name <mail> (url)"` or `{"name": ..., "email": ...}`.
fn person(v: &Value) -> Option<String> {
    match v {
        Value::String(_) => string(Some(v)),
        Value::Object(o) => {
            let name = string(o.get("name"))?;
            Some(match string(o.get("email")) {
                Some(e) => format!("{name} <{e}>"),
                None => name,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_shapes() {
        let cases: &[(&str, &[&str])] = &[
            (r#""license": "MIT""#, &["MIT"]),
            (
                r#""license": "(MIT OR Apache-2.0)""#,
                &["(MIT OR Apache-2.0)"],
            ),
            (
                r#""license": {"type": "MIT", "url": "https://example.org/LICENSE"}"#,
                &["MIT"],
            ),
            (r#""license": ["MIT", "Apache2"]"#, &["MIT", "Apache2"]),
            (
                r#""licenses": [{"type": "AFLv2.1"}, {"type": "BSD"}, "BSD"]"#,
                &["AFLv2.1", "BSD"],
            ),
            (
                r#""license": "ISC", "licenses": [{"type": "MIT"}]"#,
                &["ISC", "MIT"],
            ),
            (r#""license": """#, &[]),
            (r#""license": 42"#, &[]),
            (r#""license": {"url": "x"}"#, &[]),
            (r#""license": [["MIT"]]"#, &[]),
            (r#""license": null"#, &[]),
        ];
        for (field, want) in cases {
            let json = format!(r#"{{"name": "x", "version": "1.0.0", {field}}}"#);
            let got = parse_package_json(json.as_bytes()).expect("valid package.json");
            assert_eq!(got.licenses, *want, "{field}");
        }
    }

    #[test]
    fn author_shapes() {
        let cases: &[(&str, Option<&str>)] = &[
            (r#""author": "Jo <jo@x.org>""#, Some("Jo <jo@x.org>")),
            (
                r#""author": {"name": "Jo", "email": "jo@x.org"}"#,
                Some("Jo <jo@x.org>"),
            ),
            (r#""author": {"name": "Jo"}"#, Some("Jo")),
            (r#""author": {"email": "jo@x.org"}"#, None),
            (r#""author": ["Jo"]"#, None),
        ];
        for (field, want) in cases {
            let json = format!(r#"{{"name": "x", "version": "1.0.0", {field}}}"#);
            let got = parse_package_json(json.as_bytes()).expect("valid package.json");
            assert_eq!(got.author.as_deref(), *want, "{field}");
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        let invalid = "not a valid package.json: ";
        let cases: &[(&[u8], &str)] = &[
            (br#"{"name": "x", "version": "1.0.0""#, invalid),
            (b"", invalid),
            (b"\x00\x01\x02\xff", invalid),
            (b"[1, 2]", invalid),
            (b"\"text\"", invalid),
            (br#"{"version": "1.0.0"}"#, "no \"name\" string"),
            (br#"{"name": "x"}"#, "package x has no \"version\" string"),
            (
                br#"{"name": "x", "version": 1}"#,
                "package x has no \"version\" string",
            ),
            (br#"{"name": ["x"], "version": "1"}"#, "no \"name\" string"),
            (br#"{"name": "  ", "version": "1"}"#, "no \"name\" string"),
        ];
        for (content, want) in cases {
            let got = parse_package_json(content);
            // serde_json's own wording after the prefix is not ours to pin.
            assert!(
                matches!(&got, Err(e) if e == want || (*want == invalid && e.starts_with(want))),
                "{}: {got:?}",
                String::from_utf8_lossy(content)
            );
        }
    }

    /// Deep nesting in a field we skip costs nothing; in one we keep it hits serde_json's
    /// recursion limit: an error, not a stack overflow.
    #[test]
    fn deep_nesting_never_overflows_the_stack() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let skipped = format!(r#"{{"name": "x", "version": "1", "files": {deep}}}"#);
        let got = parse_package_json(skipped.as_bytes()).expect("unused field is skipped");
        assert_eq!(got.name, "x");
        let kept = format!(r#"{{"name": "x", "version": "1", "license": {deep}}}"#);
        let got = parse_package_json(kept.as_bytes());
        assert!(
            matches!(&got, Err(e) if e.contains("recursion limit")),
            "{got:?}"
        );
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let got = parse_package_json(b"\xEF\xBB\xBF{\"name\": \"x\", \"version\": \"1\"}")
            .expect("BOM then JSON");
        assert_eq!((got.name.as_str(), got.version.as_str()), ("x", "1"));
    }
}
