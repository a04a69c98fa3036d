//! The dpkg status database: RFC 822-style stanzas separated by blank lines, continuation
//! lines start with a space. See deb-status(5).
//!
//! Traps: `Source:` may carry the source version in parentheses when it differs from the
//! binary version (binNMUs, gcc's runtime libraries); `Status: deinstall ok config-files`
//! packages are gone but their stanza stays; `Conffiles:` lines carry an md5 per path.

use crate::model::{FileDigest, PackageFile};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusRecord {
    pub package: String,
    pub version: String,
    pub architecture: Option<String>,
    /// Source package name and, when it differs, its version.
    pub source: Option<(String, Option<String>)>,
    pub status: Option<String>,
    pub maintainer: Option<String>,
    pub installed_size: Option<String>,
    pub conffiles: Vec<PackageFile>,
}

impl StatusRecord {
    /// Distroless `status.d` stanzas have no Status field: they are installed.
    pub fn is_installed(&self) -> bool {
        match &self.status {
            None => true,
            Some(s) => {
                let words: Vec<&str> = s.split_whitespace().collect();
                let want_ok = words
                    .first()
                    .is_none_or(|w| *w != "deinstall" && *w != "purge");
                let state = words.get(2).copied().unwrap_or("installed");
                want_ok && !matches!(state, "not-installed" | "config-files")
            }
        }
    }
}

/// Parses every stanza; a stanza without `Package` or `Version` becomes a warning.
pub fn parse_status(text: &str) -> (Vec<StatusRecord>, Vec<String>) {
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    for (n, stanza) in split_stanzas(text).enumerate() {
        match parse_stanza(stanza) {
            Ok(r) => records.push(r),
            Err(why) => warnings.push(format!("stanza {}: {why}", n + 1)),
        }
    }
    (records, warnings)
}

fn split_stanzas(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n")
        .map(|s| s.trim_matches('\n'))
        .filter(|s| !s.trim().is_empty())
}

fn parse_stanza(stanza: &str) -> Result<StatusRecord, String> {
    let mut r = StatusRecord::default();
    let mut current: Option<&str> = None;
    for line in stanza.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if current == Some("Conffiles") {
                let mut parts = line.split_whitespace();
                if let (Some(path), Some(sum)) = (parts.next(), parts.next()) {
                    r.conffiles.push(PackageFile {
                        path: path.to_owned(),
                        digest: (sum.len() == 32).then(|| FileDigest {
                            algorithm: "md5".into(),
                            value: sum.to_owned(),
                        }),
                    });
                }
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("line {line:?} is not a `Field: value` line"));
        };
        let value = value.trim();
        current = Some(key);
        match key {
            "Package" => r.package = value.to_owned(),
            "Version" => r.version = value.to_owned(),
            "Architecture" => r.architecture = Some(value.to_owned()),
            "Status" => r.status = Some(value.to_owned()),
            "Maintainer" => r.maintainer = Some(value.to_owned()),
            "Installed-Size" => r.installed_size = Some(value.to_owned()),
            "Source" => {
                r.source = Some(match value.split_once('(') {
                    Some((name, ver)) => (
                        name.trim().to_owned(),
                        Some(ver.trim_end_matches(')').trim().to_owned()),
                    ),
                    None => (value.to_owned(), None),
                });
            }
            _ => {}
        }
    }
    if r.package.is_empty() {
        return Err("no Package field".into());
    }
    if r.version.is_empty() {
        return Err(format!("package {} has no Version field", r.package));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_values() {
        let rec = |s: Option<&str>| StatusRecord {
            status: s.map(str::to_owned),
            ..StatusRecord::default()
        };
        assert!(rec(None).is_installed());
        assert!(rec(Some("install ok installed")).is_installed());
        assert!(rec(Some("hold ok installed")).is_installed());
        assert!(!rec(Some("deinstall ok config-files")).is_installed());
        assert!(!rec(Some("install ok not-installed")).is_installed());
        assert!(!rec(Some("purge ok not-installed")).is_installed());
    }

    #[test]
    fn conffiles_and_continuations() {
        let text = "Package: base-files\nStatus: install ok installed\nVersion: 12.4\nConffiles:\n /etc/debian_version 0123456789abcdef0123456789abcdef\n /etc/issue abc obsolete\nDescription: x\n more text\n";
        let (recs, warns) = parse_status(text);
        assert!(warns.is_empty());
        assert_eq!(recs[0].conffiles.len(), 2);
        assert_eq!(
            recs[0].conffiles[0]
                .digest
                .as_ref()
                .map(|d| d.value.as_str()),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(recs[0].conffiles[1].digest, None);
    }
}
