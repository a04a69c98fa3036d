//! `*.deps.json` (the .NET dependency manifest):
//! `{"targets": {...}, "libraries": {"Name/Version": {"type": "package", "sha512": ...}}}`.
//!
//! Traps:
//! - Only `libraries` entries of type `package` are NuGet packages; `project` is the
//!   application itself (or a project reference) and `reference` a plain assembly.
//! - The name and version share the key, split at the `/`; NuGet names never contain one.
//! - The `sha512` is `sha512-` + base64 of the `.nupkg`'s hash, not of anything in the image.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Warnings past this many in one file are counted, not listed.
const MAX_WARNINGS: usize = 50;
/// One `libraries` entry of type `package`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DepsLibrary {
    pub name: String,
    pub version: String,
    pub sha512: Option<String>,
    /// `microsoft.csharp/4.7.0`: where the package sits in the NuGet cache.
    pub path: Option<String>,
    pub hash_path: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    libraries: Option<Map<String, Value>>,
}

/// The packages of one deps.json, and a warning per entry we could not read. Invalid JSON is
/// an error.
pub fn parse_deps_json(content: &[u8]) -> Result<(Vec<DepsLibrary>, Vec<String>), String> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let raw: Raw =
        serde_json::from_slice(content).map_err(|e| format!("not a valid deps.json: {e}"))?;
    let libraries = raw.libraries.ok_or("no \"libraries\" object")?;
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (key, entry) in &libraries {
        let Some(entry) = entry.as_object() else {
            warnings.push(format!("library {key:?} is not an object; skipped"));
            continue;
        };
        let field = |k: &str| {
            entry
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        match field("type").as_deref() {
            Some("package") => {}
            Some(_) => continue,
            None => {
                warnings.push(format!("library {key:?} has no \"type\"; skipped"));
                continue;
            }
        }
        let Some((name, version)) = key
            .split_once('/')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        else {
            warnings.push(format!("library key {key:?} is not NAME/VERSION; skipped"));
            continue;
        };
        out.push(DepsLibrary {
            name: name.to_owned(),
            version: version.to_owned(),
            sha512: field("sha512"),
            path: field("path"),
            hash_path: field("hashPath"),
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
    fn entries_other_than_packages_and_bad_entries() {
        let json = br#"{"libraries": {
            "App/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
            "Newtonsoft.Json/13.0.1": {"type": "package", "sha512": "sha512-abc", "path": "newtonsoft.json/13.0.1", "hashPath": "newtonsoft.json.13.0.1.nupkg.sha512"},
            "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {"type": "runtimepack"},
            "System.Text.Json/8.0.0": {"type": "package"},
            "NoVersion": {"type": "package"},
            "/1.0": {"type": "package"},
            "Weird/1.0": "package",
            "Untyped/1.0": {"sha512": "x"},
            "Numeric/1.0": {"type": 1}
        }}"#;
        let (libs, mut warnings) = parse_deps_json(json).expect("valid JSON");
        warnings.sort_unstable();
        let mut got: Vec<(&str, &str, Option<&str>)> = libs
            .iter()
            .map(|l| (l.name.as_str(), l.version.as_str(), l.path.as_deref()))
            .collect();
        got.sort_unstable();
        assert_eq!(
            got,
            vec![
                ("Newtonsoft.Json", "13.0.1", Some("newtonsoft.json/13.0.1")),
                ("System.Text.Json", "8.0.0", None),
            ]
        );
        assert_eq!(
            warnings,
            vec![
                "library \"Numeric/1.0\" has no \"type\"; skipped",
                "library \"Untyped/1.0\" has no \"type\"; skipped",
                "library \"Weird/1.0\" is not an object; skipped",
                "library key \"/1.0\" is not NAME/VERSION; skipped",
                "library key \"NoVersion\" is not NAME/VERSION; skipped",
            ]
        );
    }

    #[test]
    fn malformed_files_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (
                br#"{"libraries": {"A/1": {"type": "package"}"#,
                "not a valid deps.json: ",
            ),
            (b"\x00\x01garbage", "not a valid deps.json: "),
            (b"[]", "not a valid deps.json: "),
            (br#"{"libraries": []}"#, "not a valid deps.json: "),
            (br#"{"targets": {}}"#, "no \"libraries\" object"),
        ];
        for (content, want) in cases {
            let got = parse_deps_json(content);
            assert!(
                matches!(&got, Err(e) if e.starts_with(want)),
                "{}: {got:?}",
                String::from_utf8_lossy(content)
            );
        }
    }
}
