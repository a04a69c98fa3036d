//! `META-INF/MANIFEST.MF`: `Name: value` headers, the main section up to the first blank line.
//!
//! Traps: lines wrap at 72 bytes and continue on the next line after exactly one space (which
//! is not part of the value); line ends may be CRLF, LF or CR; header names are
//! case-insensitive; values may be any UTF-8.

/// The main section's headers, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    headers: Vec<(String, String)>,
}

impl Manifest {
    /// The first non-empty value of a header, matched case-insensitively.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the main section. Lines that are neither a header nor a continuation are skipped
/// and reported.
pub(crate) fn parse_manifest(text: &str) -> (Manifest, Vec<String>) {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut warnings = Vec::new();
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    for (n, line) in normalised.split('\n').enumerate() {
        if line.is_empty() {
            if headers.is_empty() {
                continue;
            }
            break;
        }
        if let Some(cont) = line.strip_prefix(' ') {
            match headers.last_mut() {
                Some((_, v)) => v.push_str(cont),
                None => warnings.push(format!(
                    "manifest line {}: continuation without a header",
                    n + 1
                )),
            }
            continue;
        }
        match line.split_once(':') {
            Some((k, v)) if !k.is_empty() && !k.contains(' ') => {
                headers.push((k.to_owned(), v.strip_prefix(' ').unwrap_or(v).to_owned()));
            }
            _ => warnings.push(format!("manifest line {}: not a header", n + 1)),
        }
    }
    for (_, v) in &mut headers {
        let trimmed = v.trim();
        if trimmed.len() != v.len() {
            *v = trimmed.to_owned();
        }
    }
    (Manifest { headers }, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_case_and_sections() {
        let text = "Manifest-Version: 1.0\r\nBundle-License: https://www.apache.org/licenses/LICE\r\n NSE-2.0.txt\r\nimplementation-version: 2.1\r\n\r\nName: org/x/\r\nImplementation-Version: 9\r\n";
        let (m, w) = parse_manifest(text);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            m.get("Bundle-License"),
            Some("https://www.apache.org/licenses/LICENSE-2.0.txt")
        );
        assert_eq!(m.get("Implementation-Version"), Some("2.1"));
        assert_eq!(
            m.get("Name"),
            None,
            "named sections are not the main section"
        );
    }

    #[test]
    fn real_bnd_manifest() {
        let text = include_str!("testdata/opentest4j-MANIFEST.MF");
        let (m, w) = parse_manifest(text);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(m.get("Bundle-SymbolicName"), Some("org.opentest4j"));
        assert_eq!(
            m.get("Require-Capability"),
            Some("osgi.ee;filter:=\"(&(osgi.ee=JavaSE)(version=1.8))\"")
        );
    }

    #[test]
    fn garbage_lines_are_reported() {
        let (m, w) = parse_manifest(" orphan\nnot a header\nA: b\n");
        assert_eq!(m.get("A"), Some("b"));
        assert_eq!(w.len(), 2, "{w:?}");
    }
}
