//! Regular expressions and wildcards, with Anchore's matching semantics and hard limits.
//!
//! Traps:
//! - Anchore evaluates bundle regexes with Python's `re.match`: anchored at the start, not at
//!   the end (`.*\.pem` matches `/a.pem.bak`). [`Regex::is_match`] keeps that meaning.
//! - Bundles are untrusted input. Python's backtracking engine hangs on `(a+)+$` over a long
//!   input; the `regex` crate runs in time linear in the input and refuses patterns whose
//!   compiled program exceeds [`REGEX_SIZE_LIMIT`], so no bundle can stall an evaluation.
//!   It has no look-around or back-references: such patterns are `bad-regex` at validation,
//!   never a silent mismatch.
//! - Mapping and whitelist patterns are wildcards (`*` matches anything, including `/`), or
//!   regexes when prefixed with `regexp:`; a wildcard must match the whole string.

use std::fmt;

/// Longest pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 4096;
/// Largest compiled program accepted per pattern, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A regex with `re.match` semantics (anchored at the start).
#[derive(Clone)]
pub struct Regex {
    source: String,
    compiled: regex::Regex,
}

impl Regex {
    pub fn new(source: &str) -> Result<Self, String> {
        if source.len() > MAX_PATTERN_LEN {
            return Err(format!(
                "the pattern is {} bytes; at most {MAX_PATTERN_LEN} are accepted",
                source.len()
            ));
        }
        let compiled = regex::RegexBuilder::new(&format!("^(?:{source})"))
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(2 * REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| compact_error(&e))?;
        Ok(Self {
            source: source.to_owned(),
            compiled,
        })
    }

    /// True when the pattern matches at the start of `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled.is_match(text)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regex({:?})", self.source)
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// The regex crate's multi-line message (pattern, caret, reason) as one line: the reason.
fn compact_error(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) => {
            format!("the compiled pattern exceeds the {limit}-byte size limit")
        }
        other => {
            let text = other.to_string();
            let reason = text
                .lines()
                .rev()
                .find(|l| l.trim_start().starts_with("error:"))
                .map_or(text.as_str(), |l| {
                    l.trim_start().trim_start_matches("error:").trim()
                });
            reason.to_owned()
        }
    }
}

/// A mapping or whitelist pattern: exact text, a `*` wildcard, or `regexp:REGEX`.
#[derive(Debug, Clone, PartialEq)]
pub enum Wildcard {
    /// No `*`: the whole string must be equal.
    Exact(String),
    /// `*` alone: anything.
    Any,
    /// One `*`: a prefix and a suffix (`CVE-2023-1+*`, `*+openssl`), matched without a regex:
    /// whitelists hold thousands of these.
    Affix { prefix: String, suffix: String },
    /// A wildcard pattern, compiled to a fully anchored regex.
    Glob { source: String, regex: Regex },
    /// `regexp:` followed by a regex, matched with `re.match` semantics.
    Regexp(Regex),
}

impl Wildcard {
    pub fn new(source: &str) -> Result<Self, String> {
        if let Some(re) = source.trim_start().strip_prefix("regexp:") {
            return Regex::new(re).map(Wildcard::Regexp);
        }
        if source == "*" {
            return Ok(Wildcard::Any);
        }
        match source.matches('*').count() {
            0 => return Ok(Wildcard::Exact(source.to_owned())),
            1 => {
                let (prefix, suffix) = source.split_once('*').unwrap_or((source, ""));
                return Ok(Wildcard::Affix {
                    prefix: prefix.to_owned(),
                    suffix: suffix.to_owned(),
                });
            }
            _ => {}
        }
        let body: Vec<String> = source.split('*').map(regex::escape).collect();
        let regex = Regex::new(&format!("{}$", body.join(".*")))?;
        Ok(Wildcard::Glob {
            source: source.to_owned(),
            regex,
        })
    }

    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Wildcard::Exact(s) => s == text,
            Wildcard::Any => true,
            Wildcard::Affix { prefix, suffix } => {
                text.len() >= prefix.len() + suffix.len()
                    && text.starts_with(prefix.as_str())
                    && text.ends_with(suffix.as_str())
            }
            Wildcard::Glob { regex, .. } | Wildcard::Regexp(regex) => regex.is_match(text),
        }
    }

    /// The exact text, when the pattern is one (for hashed lookups).
    pub fn exact(&self) -> Option<&str> {
        match self {
            Wildcard::Exact(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn regex_is_anchored_at_the_start_only() {
        let r = Regex::new(r".*\.pem").expect("compiles");
        assert!(r.is_match("/etc/ssl/a.pem"));
        assert!(
            r.is_match("/etc/ssl/a.pem.bak"),
            "re.match: not anchored at the end"
        );
        let r = Regex::new("etc").expect("compiles");
        assert!(
            !r.is_match("/etc/passwd"),
            "re.match: anchored at the start"
        );
        let r = Regex::new("a|b").expect("compiles");
        assert!(r.is_match("b"), "alternation stays inside the anchor group");
        assert!(!r.is_match("cb"));
        let r = Regex::new("(?i)abc").expect("inline flags");
        assert!(r.is_match("ABC"));
    }

    #[test]
    fn bad_regexes_say_why_in_one_line() {
        let cases = [
            ("*\\.pem", "repetition operator missing expression"),
            (
                "(?=x)",
                "look-around, including look-ahead and look-behind, is not supported",
            ),
            ("(a", "unclosed group"),
            (r"(\w{100}){100}", "size limit"),
        ];
        for (pattern, reason) in cases {
            let err = Regex::new(pattern).expect_err(pattern);
            assert!(err.contains(reason), "{pattern}: {err}");
            assert!(!err.contains('\n'), "{pattern}: {err}");
        }
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert!(Regex::new(&long).is_err());
    }

    #[test]
    #[allow(clippy::print_stderr)] // the measured time, for whoever reads the test output
    fn catastrophic_pattern_stays_linear() {
        let r = Regex::new("(a+)+$").expect("compiles");
        let input = format!("{}!", "a".repeat(200_000));
        let start = Instant::now();
        assert!(!r.is_match(&input));
        let ok = "a".repeat(200_000);
        assert!(r.is_match(&ok));
        // Linear: 200k characters take milliseconds; a backtracking engine takes forever.
        eprintln!("(a+)+$ over 200k chars twice: {:?}", start.elapsed());
    }

    #[test]
    fn wildcards() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "anything/at:all", true),
            ("docker.io", "docker.io", true),
            ("docker.io", "docker.iox", false),
            ("library/*", "library/alpine", true),
            ("library/*", "team/library/alpine", false),
            ("*/alpine", "library/alpine", true),
            ("3.*", "3.19", true),
            ("3.*", "13.19", false),
            ("a.b", "axb", false),
            ("regexp:^v[0-9]+$", "v12", true),
            ("regexp:^v[0-9]+$", "v12a", false),
            ("regexp:v1", "v1-rc", true),
            ("CVE-2023-*+openssl", "CVE-2023-0001+openssl", true),
            ("CVE-2023-*+openssl", "CVE-2023-0001+openssl-libs", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b*", "xxbxxaxx", false),
        ];
        for (pattern, text, expected) in cases {
            let w = Wildcard::new(pattern).expect(pattern);
            assert_eq!(w.is_match(text), *expected, "{pattern} vs {text}");
        }
        assert!(Wildcard::new("regexp:(").is_err());
        assert_eq!(Wildcard::new("x").expect("exact").exact(), Some("x"));
    }
}
