//! The apk installed database (`/lib/apk/db/installed`): one record per package, records
//! separated by a blank line, each line `K:value` with a one-letter key (`P` name, `V` version,
//! `A` arch, `o` origin, `L` license, `T` description, `m` maintainer, `I` installed size).
//! Owned files follow the package fields: `F:dir`, then `R:file` lines in that directory, each
//! optionally followed by `a:uid:gid:mode` and `Z:` (its checksum).
//!
//! Traps:
//! - Lines have no length limit: `p:` (provides) and `D:` (depends) lines of big packages run
//!   to megabytes, and a reader with a fixed line buffer silently drops the record.
//! - Checksums are `Q1` + base64 of a SHA-1 (`Q2` + base64 of a SHA-256 in newer apk); they
//!   are not hex.
//! - `F:` paths are relative to the root, with no leading slash.
//! - `L:` is either an SPDX expression (`MPL-2.0 AND MIT`) or, in older packages, a list of
//!   licenses separated by spaces (`MIT BSD GPL2+`).
//! - A hand-edited or truncated database may lose the blank line between two records: a
//!   second `P:` line then starts a new record.

use crate::model::{FileDigest, PackageFile};
use base64::Engine as _;

/// One package record as the database writes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApkRecord {
    pub package: String,
    pub version: String,
    pub arch: Option<String>,
    pub origin: Option<String>,
    pub license: Option<String>,
    pub description: Option<String>,
    pub maintainer: Option<String>,
    pub installed_size: Option<String>,
    pub files: Vec<PackageFile>,
}

impl ApkRecord {
    /// The license field as a list: an SPDX expression stays whole, an old-style list of
    /// names is split on spaces.
    pub fn licenses(&self) -> Vec<String> {
        let Some(l) = self
            .license
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        else {
            return Vec::new();
        };
        let is_expression = l
            .split_whitespace()
            .any(|w| matches!(w, "AND" | "OR" | "WITH"))
            || l.contains('(');
        if is_expression {
            vec![l.to_owned()]
        } else {
            l.split_whitespace().map(str::to_owned).collect()
        }
    }
}

/// Warnings past this many in one file are counted, not listed: a binary file posing as the
/// database would otherwise yield one per garbage "record".
const MAX_WARNINGS: usize = 50;

/// Parses every record; a record without `P` or `V` becomes a warning.
pub fn parse_installed(text: &str) -> (Vec<ApkRecord>, Vec<String>) {
    let mut out = Output::default();
    let mut record = RecordBuilder::default();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() {
            record.finish(&mut out);
            continue;
        }
        let Some((key, value)) = split_field(line) else {
            out.warn(format!(
                "line {line_no}: {:?} is not a `K:value` line; ignored",
                preview(line)
            ));
            record.touch(line_no);
            continue;
        };
        if key == 'P' && !record.rec.package.is_empty() {
            out.warn(format!(
                "line {line_no}: package {} starts before the record of {} ended (missing blank line)",
                value, record.rec.package
            ));
            record.finish(&mut out);
        }
        record.field(key, value, line_no, &mut out);
    }
    record.finish(&mut out);
    if out.dropped > 0 {
        out.warnings
            .push(format!("{} more warnings not shown", out.dropped));
    }
    (out.records, out.warnings)
}

#[derive(Default)]
struct Output {
    records: Vec<ApkRecord>,
    warnings: Vec<String>,
    dropped: usize,
}

impl Output {
    fn warn(&mut self, w: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        } else {
            self.dropped += 1;
        }
    }
}

#[derive(Default)]
struct RecordBuilder {
    rec: ApkRecord,
    /// The directory of the last `F:` line, without leading slash.
    dir: String,
    /// Whether the last file line was an `R:` that a `Z:` may describe.
    last_is_file: bool,
    /// Whether the record has any line at all (garbage included).
    touched: bool,
    first_line: usize,
}

impl RecordBuilder {
    /// Notes that the record has a line (`line_no`), good or not.
    fn touch(&mut self, line_no: usize) {
        if !self.touched {
            self.first_line = line_no;
        }
        self.touched = true;
    }

    fn field(&mut self, key: char, value: &str, line_no: usize, out: &mut Output) {
        self.touch(line_no);
        let value = value.trim_end();
        match key {
            'P' => self.rec.package = value.to_owned(),
            'V' => self.rec.version = value.to_owned(),
            'A' => self.rec.arch = non_empty(value),
            'o' => self.rec.origin = non_empty(value),
            'L' => self.rec.license = non_empty(value),
            'T' => self.rec.description = non_empty(value),
            'm' => self.rec.maintainer = non_empty(value),
            'I' => self.rec.installed_size = non_empty(value),
            'F' => {
                self.dir = value.trim_matches('/').to_owned();
                self.last_is_file = false;
            }
            'R' => {
                let path = if self.dir.is_empty() {
                    format!("/{value}")
                } else {
                    format!("/{}/{value}", self.dir)
                };
                self.rec.files.push(PackageFile { path, digest: None });
                self.last_is_file = true;
            }
            'Z' if self.last_is_file => match decode_checksum(value) {
                Some(d) => {
                    if let Some(f) = self.rec.files.last_mut() {
                        f.digest = Some(d);
                    }
                }
                None => out.warn(format!(
                    "line {line_no}: checksum {:?} is not `Q1`/`Q2` + base64; file kept without digest",
                    preview(value)
                )),
            },
            // `a:` (file owner and mode) belongs to the last `R:`; it doesn't end it.
            'a' => {}
            _ => self.last_is_file = false,
        }
    }

    /// Ends the current record: a complete one is kept, an incomplete one is reported.
    fn finish(&mut self, out: &mut Output) {
        let b = std::mem::take(self);
        if !b.touched {
            return;
        }
        let r = b.rec;
        if r.package.is_empty() {
            out.warn(format!(
                "record at line {}: no P: (package name) field; skipped",
                b.first_line
            ));
        } else if r.version.is_empty() {
            out.warn(format!(
                "record at line {}: package {} has no V: (version) field; skipped",
                b.first_line, r.package
            ));
        } else {
            out.records.push(r);
        }
    }
}

/// `K:value` with a one-character key.
fn split_field(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let key = chars.next()?;
    if !key.is_ascii_alphanumeric() {
        return None;
    }
    chars.as_str().strip_prefix(':').map(|v| (key, v))
}

/// `Q1` + base64(SHA-1) or `Q2` + base64(SHA-256), to a hex digest.
fn decode_checksum(value: &str) -> Option<FileDigest> {
    let (algorithm, len, b64) = if let Some(b) = value.strip_prefix("Q1") {
        ("sha1", 20, b)
    } else if let Some(b) = value.strip_prefix("Q2") {
        ("sha256", 32, b)
    } else {
        return None;
    };
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (raw.len() == len).then(|| FileDigest {
        algorithm: algorithm.into(),
        value: hex::encode(raw),
    })
}

fn non_empty(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// The start of a line for a warning: garbage lines can be megabytes long.
fn preview(line: &str) -> String {
    line.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_decode_to_hex() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (
                "Q1hvfkN/qlp/zhXR3cuerq6jd2Z7g=",
                Some(("sha1", "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8")),
            ),
            (
                "Q2ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=",
                Some((
                    "sha256",
                    "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
                )),
            ),
            // Right prefix, wrong length (an MD5's worth of bytes).
            ("Q1DMF1ucDxtqgxw5niaXcmYQ==", None),
            ("Q1not-base64!!", None),
            ("86f7e437faa5a7fce15d1ddcb9eaeaea377667b8", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = decode_checksum(input);
            let got = got
                .as_ref()
                .map(|d| (d.algorithm.as_str(), d.value.as_str()));
            assert_eq!(got, *want, "{input}");
        }
    }

    #[test]
    fn license_field_shapes() {
        let rec = |l: &str| ApkRecord {
            license: Some(l.to_owned()),
            ..ApkRecord::default()
        };
        assert_eq!(rec("MIT").licenses(), vec!["MIT"]);
        assert_eq!(rec("MIT BSD GPL2+").licenses(), vec!["MIT", "BSD", "GPL2+"]);
        assert_eq!(rec("MPL-2.0 AND MIT").licenses(), vec!["MPL-2.0 AND MIT"]);
        assert_eq!(
            rec("GPL-2.0-or-later WITH Linux-syscall-note").licenses(),
            vec!["GPL-2.0-or-later WITH Linux-syscall-note"]
        );
        assert_eq!(rec("  ").licenses(), Vec::<String>::new());
        assert_eq!(ApkRecord::default().licenses(), Vec::<String>::new());
    }

    #[test]
    fn files_before_any_directory_sit_at_the_root_and_z_needs_an_r() {
        let text = "P:x\nV:1-r0\nR:top\nZ:Q1hvfkN/qlp/zhXR3cuerq6jd2Z7g=\nF:usr/bin/\nZ:Q1hvfkN/qlp/zhXR3cuerq6jd2Z7g=\nR:tool\na:0:0:755\nZ:Q16dcfXufJLW3J6S/9rRe4vUlBj5g=\n";
        let (recs, warns) = parse_installed(text);
        assert!(warns.is_empty(), "{warns:?}");
        let files: Vec<(&str, Option<&str>)> = recs[0]
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.digest.as_ref().map(|d| d.value.as_str())))
            .collect();
        assert_eq!(
            files,
            vec![
                ("/top", Some("86f7e437faa5a7fce15d1ddcb9eaeaea377667b8")),
                (
                    "/usr/bin/tool",
                    Some("e9d71f5ee7c92d6dc9e92ffdad17b8bd49418f98")
                ),
            ]
        );
    }

    #[test]
    fn crlf_and_missing_trailing_newline() {
        let (recs, warns) = parse_installed("P:a\r\nV:1-r0\r\n\r\nP:b\r\nV:2-r0");
        assert!(warns.is_empty(), "{warns:?}");
        let got: Vec<(&str, &str)> = recs
            .iter()
            .map(|r| (r.package.as_str(), r.version.as_str()))
            .collect();
        assert_eq!(got, vec![("a", "1-r0"), ("b", "2-r0")]);
    }

    #[test]
    fn warnings_are_capped() {
        let text = "garbage\n\n".repeat(500);
        let (recs, warns) = parse_installed(&text);
        assert!(recs.is_empty());
        assert_eq!(warns.len(), MAX_WARNINGS + 1);
        assert_eq!(warns[MAX_WARNINGS], "950 more warnings not shown");
    }
}
