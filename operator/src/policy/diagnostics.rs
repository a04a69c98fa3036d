//! Everything wrong with a bundle, all at once: a stable kebab-case [`Code`], a severity, the
//! JSON path of the offending value (`policies[0].rules[3].params[1].value`) and, when the
//! bundle came from a file, its line and column.
//!
//! Errors make a bundle unusable; warnings are kept on the [`super::ValidBundle`] (an unknown
//! top-level key, a rule that can never fire, a feed-backed trigger without its feed).
//! Every code is listed once in [`Code::ALL`] with a one-line description; the
//! `codes_are_unique` test keeps names unique and documented.

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is. Each [`Code`] has one severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

macro_rules! codes {
    ($($variant:ident = $name:literal, $severity:ident, $description:literal;)+) => {
        /// Every diagnostic code of the policy engine.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $description] $variant,)+
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            /// The stable kebab-case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)+
                }
            }

            /// One line saying what the code means.
            pub fn description(self) -> &'static str {
                match self {
                    $(Code::$variant => $description,)+
                }
            }

            pub fn severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)+
                }
            }
        }
    };
}

codes! {
    SyntaxError = "syntax-error", Error, "The document is not valid JSON or YAML.";
    TooLarge = "too-large", Error, "The document exceeds a size, depth or node limit.";
    WrongType = "wrong-type", Error, "A field holds the wrong kind of value (an object where a string belongs, ...).";
    MissingField = "missing-field", Error, "A required field is absent or empty.";
    UnknownField = "unknown-field", Warning, "A field that the bundle format does not define; it is ignored.";
    DuplicateKey = "duplicate-key", Error, "The same key appears twice in one object.";
    UnsupportedVersion = "unsupported-version", Error, "The bundle, a policy or a whitelist is not version 1_0.";
    DuplicateId = "duplicate-id", Error, "Two policies, whitelists, rules, items or mappings share an id.";
    MissingId = "missing-id", Warning, "A rule, mapping or whitelist item has no id; results cannot name it.";
    UnknownGate = "unknown-gate", Error, "The rule names a gate that does not exist.";
    EolGate = "eol-gate", Error, "The rule names an end-of-life Anchore gate; the message names its successor.";
    UnknownTrigger = "unknown-trigger", Error, "The gate has no trigger of that name.";
    EolTrigger = "eol-trigger", Error, "The trigger reached end of life in Anchore; the message names its successor.";
    UnknownAction = "unknown-action", Error, "The action is not STOP, WARN or GO.";
    UnknownParam = "unknown-param", Error, "The trigger has no parameter of that name.";
    DuplicateParam = "duplicate-param", Error, "A parameter is given twice in one rule.";
    MissingParam = "missing-param", Error, "A parameter the trigger requires (or that another parameter needs) is absent.";
    ParamWrongType = "param-wrong-type", Error, "A parameter value does not have the type the trigger expects.";
    BadRegex = "bad-regex", Error, "A regular expression does not compile (syntax, look-around, size limit).";
    UnknownPolicyId = "unknown-policy-id", Error, "A mapping names a policy id the bundle does not define.";
    UnknownWhitelistId = "unknown-whitelist-id", Error, "A mapping names a whitelist id the bundle does not define.";
    BothPolicyIdAndPolicyIds = "both-policy-id-and-policy-ids", Error, "A mapping sets both policy_id and policy_ids.";
    MissingPolicyId = "missing-policy-id", Error, "A mapping sets neither policy_id nor policy_ids.";
    BadPattern = "bad-pattern", Error, "A registry, repository, tag or trigger-id pattern is not a valid wildcard or regexp: pattern.";
    BadImageSelector = "bad-image-selector", Error, "An image selector's type is not tag, digest or id, or its value is empty.";
    BadTimestamp = "bad-timestamp", Error, "expires_on is not an RFC 3339 timestamp or a YYYY-MM-DD date.";
    UnknownWhitelistGate = "unknown-whitelist-gate", Warning, "A whitelist item names a gate that does not exist, so it can never match.";
    IneffectiveRule = "ineffective-rule", Warning, "The rule's parameters make it unable to fire.";
    FeedUnavailable = "feed-unavailable", Warning, "The trigger needs data Plimsoll does not have (a package feed, a malware scanner); it never fires and evaluations note it.";
    UnusedPolicy = "unused-policy", Warning, "No mapping refers to the policy, so it is never evaluated.";
    UnusedWhitelist = "unused-whitelist", Warning, "No mapping refers to the whitelist, so it never applies.";
    NoMappings = "no-mappings", Warning, "The bundle has no mappings: every image gets the no-mapping action.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One problem of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// JSON path of the value (`policies[0].rules[3].params[1].value`); empty for the root.
    pub path: String,
    pub message: String,
    /// 1-based, when the bundle came from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based, in characters, when the bundle came from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl Diagnostic {
    pub fn new(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.severity(),
            path: path.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `error[unknown-gate] policies[0].rules[1].gate (3:16): gate "foo" does not exist`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}[{}]", self.code)?;
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        if let (Some(line), Some(col)) = (self.line, self.column) {
            write!(f, " ({line}:{col})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Collects diagnostics; validation never stops at the first one.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    list: Vec<Diagnostic>,
    errors: usize,
}

impl Diagnostics {
    pub(crate) fn push(&mut self, code: Code, path: impl Into<String>, message: impl Into<String>) {
        self.push_diagnostic(Diagnostic::new(code, path, message));
    }

    pub(crate) fn push_diagnostic(&mut self, d: Diagnostic) {
        if d.is_error() {
            self.errors += 1;
        }
        self.list.push(d);
    }

    pub(crate) fn error_count(&self) -> usize {
        self.errors
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.errors > 0
    }

    pub(crate) fn into_vec(self) -> Vec<Diagnostic> {
        self.list
    }
}

/// Joins a field name onto a path: `join("policies[0]", "rules")` is `policies[0].rules`.
pub(crate) fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// `index("policies", 3)` is `policies[3]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A value quoted for a message, cut to 80 characters so a hostile bundle cannot make
/// diagnostics huge.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// The closest candidate to `word` by edit distance, when it is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let word = word.to_ascii_lowercase();
    let best = candidates
        .into_iter()
        .map(|c| (edit_distance(&word, c), c))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, c)) if d <= 2.max(word.len() / 4) && word.len() < 64 => {
            format!("; did you mean {c:?}?")
        }
        _ => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique() {
        let names: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len(), "duplicate code name");
        for c in Code::ALL {
            let name = c.as_str();
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{name} is not kebab-case"
            );
            assert!(c.description().ends_with('.'), "{name}: one sentence");
            assert!(!c.description().contains('\n'), "{name}: one line");
        }
        let list: Vec<String> = Code::ALL
            .iter()
            .map(|c| format!("{} ({:?}): {}", c, c.severity(), c.description()))
            .collect();
        insta::assert_snapshot!(list.join("\n"));
    }

    #[test]
    fn display_has_code_path_and_position() {
        let mut d = Diagnostic::new(Code::UnknownGate, "policies[0].rules[1].gate", "no");
        assert_eq!(
            d.to_string(),
            "error[unknown-gate] policies[0].rules[1].gate: no"
        );
        d.line = Some(3);
        d.column = Some(16);
        assert_eq!(
            d.to_string(),
            "error[unknown-gate] policies[0].rules[1].gate (3:16): no"
        );
    }

    #[test]
    fn suggestions() {
        let gates = ["vulnerabilities", "dockerfile", "files"];
        assert_eq!(
            did_you_mean("vulnerabilties", gates),
            "; did you mean \"vulnerabilities\"?"
        );
        assert_eq!(
            did_you_mean("Dockerfle", gates),
            "; did you mean \"dockerfile\"?"
        );
        assert_eq!(did_you_mean("zzz", gates), "");
    }

    #[test]
    fn quotes_are_bounded() {
        let long = "x".repeat(1000);
        assert!(quote(&long).chars().count() < 90);
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }
}
