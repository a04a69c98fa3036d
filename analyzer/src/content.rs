//! Content search: secret patterns (Anchore's five defaults plus the user's), content
//! patterns for the policy engine's `content_regex_match`, and redaction of secrets found in
//! the image config and history.
//!
//! Patterns run line by line, like Anchore's analyzer, and report pattern names and line
//! numbers only: the matched text never leaves this module. The `regex` crate runs in linear
//! time, so a hostile pattern or file cannot make a scan hang. Anchore's defaults use
//! look-arounds, which `regex` does not have; the versions here say the same with explicit
//! boundaries.

use regex::bytes::Regex;

/// A `NAME=REGEX` pattern.
#[derive(Debug, Clone)]
pub struct NamedPattern {
    pub name: String,
    pub regex: Regex,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PatternError {
    #[error("pattern {0:?} is not NAME=REGEX")]
    NotNamed(String),
    #[error("pattern name {0:?} must be letters, digits, '_' or '-'")]
    BadName(String),
    #[error("pattern {name}: invalid regular expression: {message}")]
    BadRegex { name: String, message: String },
}

impl NamedPattern {
    pub fn new(name: &str, regex: &str) -> Result<Self, PatternError> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(PatternError::BadName(name.to_owned()));
        }
        let regex = regex::bytes::RegexBuilder::new(regex)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| PatternError::BadRegex {
                name: name.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Self {
            name: name.to_owned(),
            regex,
        })
    }
}

impl std::str::FromStr for NamedPattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, regex) = s
            .split_once('=')
            .ok_or_else(|| PatternError::NotNamed(s.to_owned()))?;
        Self::new(name, regex)
    }
}

/// Anchore's default secret patterns, without look-arounds.
pub fn default_secret_patterns() -> Vec<NamedPattern> {
    const DEFAULTS: &[(&str, &str)] = &[
        (
            "AWS_ACCESS_KEY",
            r"(?i)aws_access_key_id *=+ *(?:.*[^A-Z0-9])?[A-Z0-9]{20}(?:[^A-Z0-9]|$)",
        ),
        (
            "AWS_SECRET_KEY",
            r"(?i)aws_secret_access_key *=+ *(?:.*[^A-Za-z0-9/+=])?[A-Za-z0-9/+=]{40}(?:[^A-Za-z0-9/+=]|$)",
        ),
        ("PRIV_KEY", r"(?i)-+BEGIN(.*)PRIVATE KEY-+"),
        ("DOCKER_AUTH", r#"(?i)"auth": *".+""#),
        (
            "API_KEY",
            r"(?i)api(?:-|_)key *=+ *(?:.*[^A-Z0-9])?[A-Z0-9]{20,60}(?:[^A-Z0-9]|$)",
        ),
    ];
    DEFAULTS
        .iter()
        .filter_map(|(n, r)| NamedPattern::new(n, r).ok())
        .collect()
}

/// Runs the configured patterns over file contents and config strings.
#[derive(Debug, Clone)]
pub struct ContentScanner {
    secrets: PatternGroup,
    content: PatternGroup,
    max_file_size: u64,
}

/// Patterns plus a one-pass prefilter over whole files: most files match nothing, and one
/// `RegexSet` pass over the buffer is far cheaper than every pattern on every line. A pattern
/// matching a line also matches the whole buffer in multi-line CRLF mode (`^`/`$` are line
/// anchors there), so the prefilter never hides a hit; patterns using `\A`/`\z` (text
/// anchors) bypass it.
#[derive(Debug, Clone)]
struct PatternGroup {
    patterns: Vec<NamedPattern>,
    prefilter: Option<regex::bytes::RegexSet>,
    bypass: Vec<usize>,
}

impl PatternGroup {
    fn new(patterns: Vec<NamedPattern>) -> Self {
        let bypass: Vec<usize> = patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| p.regex.as_str().contains("\\A") || p.regex.as_str().contains("\\z"))
            .map(|(i, _)| i)
            .collect();
        let prefilter = regex::bytes::RegexSetBuilder::new(
            patterns
                .iter()
                .map(|p| format!("(?mR:{})", p.regex.as_str())),
        )
        .size_limit(1 << 24)
        .build()
        .ok();
        Self {
            patterns,
            prefilter,
            bypass,
        }
    }

    fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    fn search(&self, content: &[u8]) -> Vec<(String, Vec<u32>)> {
        match &self.prefilter {
            Some(set) => {
                let hits = set.matches(content);
                if !hits.matched_any() && self.bypass.is_empty() {
                    return Vec::new();
                }
                let candidates = self
                    .patterns
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| hits.matched(*i) || self.bypass.contains(i));
                search(candidates.map(|(_, p)| p), content)
            }
            None => search(self.patterns.iter(), content),
        }
    }
}

impl ContentScanner {
    pub fn new(settings: &crate::settings::ContentSettings) -> Self {
        Self {
            secrets: PatternGroup::new(settings.secret_patterns.clone()),
            content: PatternGroup::new(settings.content_patterns.clone()),
            max_file_size: settings.max_file_size,
        }
    }

    /// Whether a regular file of this size is searched.
    pub fn wants(&self, size: u64) -> bool {
        size <= self.max_file_size && !(self.secrets.is_empty() && self.content.is_empty())
    }

    pub fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    pub fn secrets_in(&self, content: &[u8]) -> Vec<(String, Vec<u32>)> {
        self.secrets.search(content)
    }

    pub fn content_in(&self, content: &[u8]) -> Vec<(String, Vec<u32>)> {
        self.content.search(content)
    }

    /// Names of the secret patterns that match `text` (an env entry, a history line).
    pub fn secret_names_in(&self, text: &str) -> Vec<String> {
        self.secrets
            .patterns
            .iter()
            .filter(|p| p.regex.is_match(text.as_bytes()))
            .map(|p| p.name.clone())
            .collect()
    }
}

fn search<'a>(
    patterns: impl Iterator<Item = &'a NamedPattern>,
    content: &[u8],
) -> Vec<(String, Vec<u32>)> {
    let mut out = Vec::new();
    for p in patterns {
        let lines: Vec<u32> = content
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                p.regex.is_match(line)
            })
            .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX))
            .collect();
        if !lines.is_empty() {
            out.push((p.name.clone(), lines));
        }
    }
    out
}

/// Environment variable names that hold secrets whatever their value looks like.
fn secret_like_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `NAME=VALUE` with the value replaced when the name or a secret pattern says it is a secret.
pub fn redact_env(entry: &str, scanner: &ContentScanner) -> String {
    match entry.split_once('=') {
        Some((name, _)) if secret_like_name(name) || !scanner.secret_names_in(entry).is_empty() => {
            format!("{name}=[REDACTED]")
        }
        _ => entry.to_owned(),
    }
}

/// A history line with every `NAME=VALUE` whose name is secret-like, and every secret pattern
/// match, replaced.
pub fn redact_text(text: &str, scanner: &ContentScanner) -> String {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match word.split_once('=') {
            Some((name, value))
                if !value.is_empty() && secret_like_name(name.trim_start_matches("--")) =>
            {
                out.push(format!("{name}=[REDACTED]"));
            }
            _ => out.push(word.to_owned()),
        }
    }
    let mut joined = out.join(" ");
    for p in &scanner.secrets.patterns {
        let replaced = p.regex.replace_all(joined.as_bytes(), &b"[REDACTED]"[..]);
        joined = String::from_utf8_lossy(&replaced).into_owned();
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ContentSettings;

    fn scanner() -> ContentScanner {
        let mut s = ContentSettings::default();
        s.secret_patterns
            .push("ALPINE_NULL_ROOT=^root:::0:::::$".parse().expect("pattern"));
        ContentScanner::new(&s)
    }

    #[test]
    fn default_patterns_all_compile() {
        let names: Vec<String> = default_secret_patterns()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(
            names,
            [
                "AWS_ACCESS_KEY",
                "AWS_SECRET_KEY",
                "PRIV_KEY",
                "DOCKER_AUTH",
                "API_KEY"
            ]
        );
    }

    #[test]
    fn finds_each_default_with_line_numbers() {
        let file = b"# creds\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n-----BEGIN RSA PRIVATE KEY-----\n{\"auths\":{\"r\":{\"auth\": \"dXNlcjpwYXNz\"}}}\nAPI_KEY=0123456789ABCDEF0123456789\nroot:::0:::::\n";
        let hits = scanner().secrets_in(file);
        let got: Vec<(&str, &[u32])> = hits
            .iter()
            .map(|(n, l)| (n.as_str(), l.as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("AWS_ACCESS_KEY", &[2u32][..]),
                ("AWS_SECRET_KEY", &[3][..]),
                ("PRIV_KEY", &[4][..]),
                ("DOCKER_AUTH", &[5][..]),
                ("API_KEY", &[6][..]),
                ("ALPINE_NULL_ROOT", &[7][..]),
            ]
        );
    }

    #[test]
    fn prefilter_keeps_per_line_semantics() {
        let settings = ContentSettings {
            secret_patterns: vec![
                "ROOT=^root:::0:::::$".parse().expect("pattern"),
                "FIRST=\\Aroot".parse().expect("pattern"),
            ],
            ..ContentSettings::default()
        };
        let s = ContentScanner::new(&settings);
        // CRLF line ends, the hit on line 2, and a per-line `\A` that the whole-buffer
        // prefilter would miss.
        let hits = s.secrets_in(b"daemon:*:1:1\r\nroot:::0:::::\r\n");
        assert_eq!(
            hits,
            vec![("ROOT".to_owned(), vec![2]), ("FIRST".to_owned(), vec![2])]
        );
        assert!(s.secrets_in(b"nothing here\n").is_empty());
    }

    #[test]
    fn no_false_hits_on_ordinary_text() {
        let file = b"root:x:0:0:root:/root:/bin/bash\naws_access_key_id = short\nthe api key is documented elsewhere\n";
        assert!(scanner().secrets_in(file).is_empty());
    }

    #[test]
    fn bad_patterns_are_clear_errors() {
        assert_eq!(
            "nameless".parse::<NamedPattern>().err(),
            Some(PatternError::NotNamed("nameless".into()))
        );
        assert!(matches!(
            "X=(".parse::<NamedPattern>(),
            Err(PatternError::BadRegex { .. })
        ));
        assert_eq!(
            "a b=x".parse::<NamedPattern>().err(),
            Some(PatternError::BadName("a b".into()))
        );
    }

    #[test]
    fn redacts_env_and_history() {
        let s = scanner();
        assert_eq!(
            redact_env(
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                &s
            ),
            "AWS_SECRET_ACCESS_KEY=[REDACTED]"
        );
        assert_eq!(redact_env("PATH=/usr/bin", &s), "PATH=/usr/bin");
        let h = redact_text("/bin/sh -c #(nop) ENV DB_PASSWORD=hunter2 LANG=C", &s);
        assert_eq!(h, "/bin/sh -c #(nop) ENV DB_PASSWORD=[REDACTED] LANG=C");
        assert!(
            !redact_text(
                "ENV aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                &s
            )
            .contains("wJalr")
        );
    }
}
