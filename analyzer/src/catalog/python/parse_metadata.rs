//! Python core metadata (`METADATA` in a `.dist-info`, `PKG-INFO` in an `.egg-info`, or a
//! single-file `.egg-info`): RFC 822 headers, then an optional body (the long description).
//! See <https://packaging.python.org/specifications/core-metadata/>.
//!
//! Traps:
//! - Header names are case-insensitive, and `Classifier`, `License-File`, `Requires-Dist` repeat.
//! - A header continues on the following lines that start with whitespace: `License:` often
//!   holds a whole license text that way, and old `Description:` headers (metadata 1.x) hold
//!   the long description indented by eight spaces.
//! - The license lives in one of three places, newest first: `License-Expression` (SPDX,
//!   metadata 2.4), `License` (free text: `BSD`, `Apache 2.0`, `Dual License`, or a license's
//!   full text), or `Classifier: License :: OSI Approved :: MIT License` lines.
//! - `UNKNOWN` is what old setuptools wrote for "not given".
//! - The name is written as the author spelled it (`Jinja2`, `python-dateutil`,
//!   `zope.interface`); tools compare names in PEP 503 normal form (`zope-interface`).

/// The fields we use from one metadata file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoreMetadata {
    pub name: String,
    pub version: String,
    pub license_expression: Option<String>,
    pub license: Option<String>,
    pub classifiers: Vec<String>,
    pub author: Option<String>,
    pub summary: Option<String>,
}

impl CoreMetadata {
    /// `License-Expression`, else a one-line `License`, else the license classifiers.
    pub fn licenses(&self) -> Vec<String> {
        if let Some(e) = &self.license_expression {
            return vec![e.clone()];
        }
        // A multi-line License header is the license's text, not its name.
        if let Some(l) = self
            .license
            .as_deref()
            .filter(|l| !l.contains('\n') && !l.eq_ignore_ascii_case("UNKNOWN"))
        {
            return vec![l.to_owned()];
        }
        let mut out: Vec<String> = Vec::new();
        for c in &self.classifiers {
            let parts: Vec<&str> = c.split("::").map(str::trim).collect();
            // `License :: OSI Approved :: MIT License` -> `MIT License`; a bare
            // `License :: OSI Approved` names nothing.
            let (Some(&"License"), Some(&last)) =
                (parts.first(), parts.get(1..).and_then(<[&str]>::last))
            else {
                continue;
            };
            if last.is_empty() || last == "OSI Approved" || out.iter().any(|o| o == last) {
                continue;
            }
            out.push(last.to_owned());
        }
        out
    }
}

/// The PEP 503 normal form: lowercase, each run of `-`, `_`, `.` becomes one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// Parses the headers; a file without `Name` or `Version` is an error.
pub fn parse_metadata(text: &str) -> Result<CoreMetadata, String> {
    let mut m = CoreMetadata::default();
    for (key, value) in headers(text) {
        let value = value.trim();
        let set = |slot: &mut Option<String>| {
            if !value.is_empty() {
                *slot = Some(value.to_owned());
            }
        };
        match key.to_ascii_lowercase().as_str() {
            "name" => value.clone_into(&mut m.name),
            "version" => value.clone_into(&mut m.version),
            "license-expression" => set(&mut m.license_expression),
            "license" => set(&mut m.license),
            "author" => set(&mut m.author),
            "summary" => set(&mut m.summary),
            "classifier" => m.classifiers.push(value.to_owned()),
            _ => {}
        }
    }
    if m.name.is_empty() {
        return Err("no Name header".into());
    }
    if m.version.is_empty() {
        return Err(format!("package {} has no Version header", m.name));
    }
    Ok(m)
}

/// The header block as (name, unfolded value) pairs. It ends at the first blank line, or at
/// the first line that is neither a header nor a continuation (what Python's email parser
/// does with such a defect).
fn headers(text: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        // Continuations first: old `Description:` headers hold blank lines as lines of
        // spaces, and the headers go on after them.
        if line.starts_with([' ', '\t']) {
            match out.last_mut() {
                Some((_, value)) => {
                    value.push('\n');
                    value.push_str(line.trim());
                }
                None => break,
            }
            continue;
        }
        if line.is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else {
            break;
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            break;
        }
        out.push((key, value.to_owned()));
    }
    // A folded value may end in empty continuation lines.
    for (_, v) in &mut out {
        let trimmed = v.trim_end().len();
        v.truncate(trimmed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_normal_form() {
        let cases = [
            ("Jinja2", "jinja2"),
            ("python-dateutil", "python-dateutil"),
            ("zope.interface", "zope-interface"),
            ("typing_extensions", "typing-extensions"),
            ("Foo__Bar-.baz", "foo-bar-baz"),
            ("PyYAML", "pyyaml"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_name(input), want, "{input}");
        }
    }

    #[test]
    fn license_sources_in_order_of_precedence() {
        let meta = |expr: Option<&str>, license: Option<&str>, classifiers: &[&str]| CoreMetadata {
            license_expression: expr.map(str::to_owned),
            license: license.map(str::to_owned),
            classifiers: classifiers.iter().map(|c| (*c).to_owned()).collect(),
            ..CoreMetadata::default()
        };
        let mit = "License :: OSI Approved :: MIT License";
        let cases: Vec<(CoreMetadata, Vec<&str>)> = vec![
            (
                meta(Some("MIT OR Apache-2.0"), Some("MIT"), &[mit]),
                vec!["MIT OR Apache-2.0"],
            ),
            (meta(None, Some("BSD"), &[mit]), vec!["BSD"]),
            (meta(None, Some("UNKNOWN"), &[mit]), vec!["MIT License"]),
            (
                meta(
                    None,
                    Some("Copyright (c) 2020\nPermission is hereby granted"),
                    &[mit],
                ),
                vec!["MIT License"],
            ),
            (
                meta(
                    None,
                    None,
                    &[
                        "Programming Language :: Python",
                        "License :: OSI Approved",
                        "License :: OSI Approved :: Apache Software License",
                        "License :: OSI Approved :: BSD License",
                        "License :: OSI Approved :: BSD License",
                        "License :: Public Domain",
                    ],
                ),
                vec!["Apache Software License", "BSD License", "Public Domain"],
            ),
            (meta(None, None, &[]), vec![]),
        ];
        for (m, want) in cases {
            assert_eq!(m.licenses(), want, "{m:?}");
        }
    }

    #[test]
    fn headers_fold_and_stop_at_the_body() {
        let text = "Metadata-Version: 2.1\nname: demo\nVERSION: 1.0\nLicense: line one\n        line two\n        \nClassifier: A\nClassifier: B\n\nName: not-a-header\n";
        let m = parse_metadata(text).expect("complete metadata");
        assert_eq!((m.name.as_str(), m.version.as_str()), ("demo", "1.0"));
        assert_eq!(m.license.as_deref(), Some("line one\nline two"));
        assert_eq!(m.classifiers, vec!["A", "B"]);
    }

    #[test]
    fn incomplete_or_garbage_input_is_an_error() {
        let cases = [
            ("", "no Name header"),
            ("Version: 1.0\n", "no Name header"),
            ("Name: x\n", "package x has no Version header"),
            ("Name: x\nVersion:   \n", "package x has no Version header"),
            ("\u{0}\u{1}garbage\nName: x\nVersion: 1\n", "no Name header"),
            (
                "  leading continuation\nName: x\nVersion: 1\n",
                "no Name header",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_metadata(text), Err(want.to_owned()), "{text:?}");
        }
    }

    /// metadata 1.x keeps the description in a header whose blank lines are lines of spaces;
    /// the classifiers come after it.
    #[test]
    fn headers_after_an_old_style_description() {
        let m = parse_metadata(include_str!("testdata/pycairo-1.20.1.egg-info"))
            .expect("complete metadata");
        let licenses: Vec<&str> = m
            .classifiers
            .iter()
            .filter(|c| c.starts_with("License ::"))
            .map(String::as_str)
            .collect();
        assert_eq!(
            licenses,
            vec![
                "License :: OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)",
                "License :: OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)",
            ]
        );
        let without_license_header = CoreMetadata { license: None, ..m };
        assert_eq!(
            without_license_header.licenses(),
            vec![
                "GNU Lesser General Public License v2 (LGPLv2)",
                "Mozilla Public License 1.1 (MPL 1.1)"
            ]
        );
    }
}
