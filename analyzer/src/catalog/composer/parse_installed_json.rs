//! Composer's record of what it installed, `vendor/composer/installed.json`.
//!
//! Traps:
//! - Two shapes: Composer 1 writes a top-level array of packages, Composer 2 an object
//!   `{"packages": [...], "dev": true, "dev-package-names": [...]}`.
//! - Versions are written as tagged (`v5.4.0` for Symfony, `2.1.0` for Monolog); `dev-main`
//!   branches have no number at all. We keep them as written, as Syft does.
//! - `license` is normally an array of SPDX ids but a string is accepted too.
//! - `require-dev` packages are in the same list; only `dev-package-names` tells them apart.

use serde_json::Value;

/// Warnings past this many in one file are counted, not listed.
const MAX_WARNINGS: usize = 50;
/// One installed package.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComposerPackage {
    /// `vendor/name`.
    pub name: String,
    pub version: String,
    pub licenses: Vec<String>,
    /// Installed for development only (`require-dev`), per `dev-package-names`.
    pub dev: bool,
    pub description: Option<String>,
    pub homepage: Option<String>,
}

/// The packages of one installed.json, and a warning per entry we could not read. Invalid
/// JSON or an unknown top-level shape is an error.
pub fn parse_installed_json(content: &[u8]) -> Result<(Vec<ComposerPackage>, Vec<String>), String> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let root: Value =
        serde_json::from_slice(content).map_err(|e| format!("not a valid installed.json: {e}"))?;
    let (entries, dev_names): (&[Value], Vec<&str>) = match &root {
        Value::Array(entries) => (entries, Vec::new()),
        Value::Object(o) => {
            let entries = o
                .get("packages")
                .and_then(Value::as_array)
                .ok_or("no \"packages\" array")?;
            let dev_names = o
                .get("dev-package-names")
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (entries, dev_names)
        }
        _ => return Err("neither a package array (Composer 1) nor an object (Composer 2)".into()),
    };
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let text = |k: &str| {
            entry
                .get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let Some(name) = text("name") else {
            warnings.push(format!("package {i}: no \"name\" string; skipped"));
            continue;
        };
        let Some(version) = text("version") else {
            warnings.push(format!(
                "package {i} ({name}): no \"version\" string; skipped"
            ));
            continue;
        };
        let licenses = match entry.get("license") {
            Some(Value::String(s)) => vec![s.trim().to_owned()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_owned())
                .collect(),
            _ => Vec::new(),
        };
        out.push(ComposerPackage {
            dev: dev_names.contains(&name.as_str()),
            licenses: licenses.into_iter().filter(|l| !l.is_empty()).collect(),
            description: text("description"),
            homepage: text("homepage"),
            name,
            version,
        });
    }
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - MAX_WARNINGS;
        warnings.truncate(MAX_WARNINGS);
        warnings.push(format!("{more} more warnings not shown"));
    }
    Ok((out, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_with_missing_fields_are_warnings() {
        let json = br#"{"packages": [
            {"name": "a/a", "version": "1.0.0", "license": "MIT"},
            {"version": "1.0.0"},
            {"name": "b/b"},
            {"name": "c/c", "version": 3},
            "d/d",
            {"name": "e/e", "version": "dev-main", "license": ["", 7, "GPL-2.0-or-later"]}
        ], "dev-package-names": ["e/e", 5]}"#;
        let (packages, warnings) = parse_installed_json(json).expect("valid JSON");
        let got: Vec<(&str, &str, Vec<&str>, bool)> = packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.licenses.iter().map(String::as_str).collect(),
                    p.dev,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a/a", "1.0.0", vec!["MIT"], false),
                ("e/e", "dev-main", vec!["GPL-2.0-or-later"], true),
            ]
        );
        assert_eq!(
            warnings,
            vec![
                "package 1: no \"name\" string; skipped",
                "package 2 (b/b): no \"version\" string; skipped",
                "package 3 (c/c): no \"version\" string; skipped",
                "package 4: no \"name\" string; skipped",
            ]
        );
    }

    #[test]
    fn malformed_files_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (
                br#"{"packages": [{"name": "a/a""#,
                "not a valid installed.json: ",
            ),
            (b"\x1f\x8b\x08\x00binary", "not a valid installed.json: "),
            (b"", "not a valid installed.json: "),
            (br#"{"packages": {}}"#, "no \"packages\" array"),
            (br#"{}"#, "no \"packages\" array"),
            (b"\"text\"", "neither a package array"),
        ];
        for (content, want) in cases {
            let got = parse_installed_json(content);
            assert!(
                matches!(&got, Err(e) if e.starts_with(want)),
                "{}: {got:?}",
                String::from_utf8_lossy(content)
            );
        }
    }

    #[test]
    fn warnings_are_capped() {
        let json = format!("[{}{{}}]", "{},".repeat(199));
        let (packages, warnings) = parse_installed_json(json.as_bytes()).expect("valid JSON");
        assert!(packages.is_empty());
        assert_eq!(warnings.len(), MAX_WARNINGS + 1);
        assert_eq!(warnings[MAX_WARNINGS], "150 more warnings not shown");
    }
}
