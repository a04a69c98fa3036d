//! RubyGems version ordering: `Gem::Version` as in RubyGems 3.7.
//!
//! - Valid: `digits(.alnum)*(-[alnum-]+(.[alnum-]+)*)?`, surrounded by optional whitespace.
//!   Every `-` becomes `.pre.`, so `1.0.0-beta.1` is `1.0.0.pre.beta.1` and `1.0.0-1` is a
//!   pre-release (`1.0.0.pre.1 < 1.0.0`).
//! - A version is a pre-release when it has any letter. Segments are runs of digits (numbers)
//!   and runs of letters (strings), split at dots and at letter/digit switches: `1.0.a10` is
//!   `[1, 0, "a", 10]`, so `1.2.b1 == 1.2.b.1` and `1.8.2.a10 > 1.8.2.a9`.
//! - Before comparing, trailing zeros go (`1.0 == 1.0.0 == 1`), and in a pre-release the zeros
//!   right before the first letter go too (`0.beta.1 == 0.0.beta.1`, `1.0.0.a.1.0 == 1.a.1`).
//!   RubyGems does this with two regular expressions on the string; this module replays them.
//! - Segments compare pairwise: a string is less than any number (`1.0.a < 1.0`, `5.a <
//!   5.0.0.rc2`), strings compare as byte strings (case matters: `1.A < 1.a`), numbers as
//!   numbers of any size. Past the end of the shorter version, its missing segments count as 0,
//!   so a longer version is older when its next segment is a string (`1.0.a < 1.0`).
//! - RubyGems reads an empty string as `0`; here it is rejected like in every scheme. Newer
//!   RubyGems (after 3.7) stop turning `-beta` into `.pre.beta`, making `1.0.0-beta.1` equal to
//!   `1.0.0.beta.1`; this module follows the released 3.7 behaviour.

use super::{ErrorKind, Number, Scheme, VersionError, check_len};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

const EXPECTED_DIGIT: &str = "a digit";
const EXPECTED_TAIL: &str = "'.' and a segment, '-' and a pre-release, or the end";
const EXPECTED_PRE: &str = "a pre-release segment";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    /// Declared first: strings sort before numbers.
    Text(Box<str>),
    Number(Number),
}

/// A parsed RubyGems version.
#[derive(Debug, Clone)]
pub struct GemVersion {
    original: Box<str>,
    prerelease: bool,
    /// Canonical segments (trailing zeros and zeros before the first letter removed).
    segments: Vec<Segment>,
}

impl GemVersion {
    pub fn is_prerelease(&self) -> bool {
        self.prerelease
    }

    pub(super) fn parse_kind(s: &str) -> Result<Self, ErrorKind> {
        check_len(s)?;
        // Ruby's `\s` and `String#strip`.
        let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
        let trimmed = s.trim_start_matches(is_space);
        let offset = s.len() - trimmed.len();
        let text = trimmed.trim_end_matches(is_space);
        if text.is_empty() {
            return Err(ErrorKind::Empty);
        }
        validate(text).map_err(|(at, expected)| match text[at..].chars().next() {
            Some(ch) if !ch.is_ascii_graphic() => ErrorKind::InvalidCharacter {
                at: offset + at,
                ch,
            },
            _ => ErrorKind::Unexpected {
                at: offset + at,
                expected,
            },
        })?;
        let version = text.replace('-', ".pre.");
        let prerelease = version.bytes().any(|c| c.is_ascii_alphabetic());
        let canonical = canonical_version(&version, prerelease);
        Ok(Self {
            original: s.into(),
            prerelease,
            segments: segments(&canonical),
        })
    }
}

/// Checks `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`; on failure, the byte
/// offset and what was expected there.
fn validate(text: &str) -> Result<(), (usize, &'static str)> {
    let b = text.as_bytes();
    let run = |pos: &mut usize, ok: fn(u8) -> bool| {
        let start = *pos;
        while b.get(*pos).is_some_and(|&c| ok(c)) {
            *pos += 1;
        }
        *pos > start
    };
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    let alnum_dash = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
    let mut pos = 0;
    if !run(&mut pos, |c| c.is_ascii_digit()) {
        return Err((0, EXPECTED_DIGIT));
    }
    while b.get(pos) == Some(&b'.') && b.get(pos + 1).is_some_and(|&c| alnum(c)) {
        pos += 1;
        run(&mut pos, alnum);
    }
    if b.get(pos) == Some(&b'-') {
        pos += 1;
        if !run(&mut pos, alnum_dash) {
            return Err((pos, EXPECTED_PRE));
        }
        while b.get(pos) == Some(&b'.') {
            pos += 1;
            if !run(&mut pos, alnum_dash) {
                return Err((pos, EXPECTED_PRE));
            }
        }
    }
    if pos != b.len() {
        return Err((pos, EXPECTED_TAIL));
    }
    Ok(())
}

/// RubyGems' `canonical_segments` string steps:
/// `sub(/(?<=[a-zA-Z.])[.0]+\z/, "")`, then for pre-releases
/// `sub!(/(?<=\.|\A)[0.]+(?=[a-zA-Z])/, "")`.
fn canonical_version(version: &str, prerelease: bool) -> String {
    let b = version.as_bytes();
    let zero_or_dot = |c: u8| c == b'0' || c == b'.';
    // Start of the longest suffix made only of '.' and '0'.
    let tail = b.len() - b.iter().rev().take_while(|&&c| zero_or_dot(c)).count();
    let cut = (tail.max(1)..b.len())
        .find(|&p| b[p - 1].is_ascii_alphabetic() || b[p - 1] == b'.')
        .unwrap_or(b.len());
    let mut canonical = version[..cut].to_owned();
    if prerelease {
        let b = canonical.as_bytes();
        let hit = (0..b.len()).find_map(|p| {
            if !(p == 0 || b[p - 1] == b'.') || !zero_or_dot(b[p]) {
                return None;
            }
            let end = p + b[p..].iter().take_while(|&&c| zero_or_dot(c)).count();
            b.get(end)
                .is_some_and(u8::is_ascii_alphabetic)
                .then_some((p, end))
        });
        if let Some((start, end)) = hit {
            canonical.replace_range(start..end, "");
        }
    }
    canonical
}

/// `scan(/\d+|[a-z]+/i)`: numbers and letter runs, everything else skipped.
fn segments(canonical: &str) -> Vec<Segment> {
    let b = canonical.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let start = pos;
        if b[pos].is_ascii_digit() {
            while b.get(pos).is_some_and(u8::is_ascii_digit) {
                pos += 1;
            }
            out.push(Segment::Number(Number::new(&canonical[start..pos])));
        } else if b[pos].is_ascii_alphabetic() {
            while b.get(pos).is_some_and(u8::is_ascii_alphabetic) {
                pos += 1;
            }
            out.push(Segment::Text(canonical[start..pos].into()));
        } else {
            pos += 1;
        }
    }
    out
}

impl Ord for GemVersion {
    /// `Gem::Version#<=>`: pairwise, then the longer side's extra segments against zero.
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Segment::Number(Number::new(""));
        let (a, b) = (&self.segments, &other.segments);
        (0..a.len().max(b.len()))
            .map(|i| a.get(i).unwrap_or(&zero).cmp(b.get(i).unwrap_or(&zero)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Equal as `Gem::Version#==`: `1.0 == 1.0.0`, `1.2.b1 == 1.2.b.1`.
impl PartialEq for GemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GemVersion {}

impl fmt::Display for GemVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl FromStr for GemVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_kind(s).map_err(|kind| VersionError::new(Scheme::Gem, s, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_ascending, check_invalid, check_pairs};
    use super::*;

    #[test]
    fn test_gem_version_cases() {
        check_pairs(
            Scheme::Gem,
            &[
                // test_spaceship
                ("1.0", '=', "1.0.0"),
                ("1.0", '>', "1.0.a"),
                ("1.8.2", '>', "0.0.0"),
                ("1.8.2", '>', "1.8.2.a"),
                ("1.8.2.b", '>', "1.8.2.a"),
                ("1.8.2.a", '<', "1.8.2"),
                ("1.8.2.a10", '>', "1.8.2.a9"),
                ("0.beta.1", '=', "0.0.beta.1"),
                ("0.0.beta", '<', "0.0.beta.1"),
                ("0.0.beta", '<', "0.beta.1"),
                ("5.a", '<', "5.0.0.rc2"),
                ("5.x", '>', "5.0.0.rc2"),
                ("1.9.3", '=', "1.9.3"),
                ("1.9.3", '>', "1.9.2.99"),
                ("1.9.3", '<', "1.9.3.1"),
                // test_equals2, test_eql_eh, test_hash
                ("1.2", '=', "1.2"),
                ("1.2", '<', "1.3"),
                ("1.2.b1", '=', "1.2.b.1"),
                ("1.2", '=', "1.2.0"),
                ("1.2.pre.1", '=', "1.2.0.pre.1.0"),
                // test_initialize
                ("1.0 ", '=', "1.0"),
                (" 1.0 ", '=', "1.0"),
                ("1.0\n", '=', "1.0"),
                ("\n1.0\n", '=', "1.0"),
                // test_semver (hyphens become .pre.)
                ("1.0.0-alpha", '<', "1.0.0-alpha.1"),
                ("1.0.0-alpha.1", '<', "1.0.0-beta.2"),
                ("1.0.0-beta.2", '<', "1.0.0-beta.11"),
                ("1.0.0-beta.11", '<', "1.0.0-rc.1"),
                ("1.0.0-rc1", '<', "1.0.0"),
                ("1.0.0-1", '<', "1"),
                ("1.2.3-1", '=', "1.2.3.pre.1"),
                ("1.0.0-beta.1", '>', "1.0.0.beta.1"),
                // test_frozen_version, sort key tests
                ("1.freeze.test", '<', "1"),
                ("1.0.0", '>', "0.0.1.20220404083012"),
                ("0.7.0", '>', "0.6.63000"),
                ("18.0.1", '<', "18.0.2"),
                ("9.8.7.1", '>', "9.8.7"),
                ("2.30.1.250000", '>', "2.30.1"),
                // Segment rules.
                ("1.A", '<', "1.a"),
                ("1.0.a", '<', "1.0.0.b"),
                ("1.a", '=', "1.a.0"),
                ("1.0.0.a.1.0", '=', "1.a.1"),
                ("1.0.a0", '=', "1.a"),
                (
                    "1.99999999999999999999999",
                    '<',
                    "1.100000000000000000000000",
                ),
                ("1.2.3.4.5.6.7", '>', "1.2.3.4.5.6"),
                // Real gem versions.
                ("6.1.7.10", '>', "6.1.7.9"),
                ("7.0.8.1", '<', "7.0.8.4"),
                ("2.7.0.rc1", '<', "2.7.0"),
                ("3.0.0.beta1", '<', "3.0.0.beta2"),
                ("1.13.10", '>', "1.13.9"),
                ("7.1.0.rc2", '>', "7.1.0.beta1"),
            ],
        );
    }

    #[test]
    fn class_doc_prerelease_order() {
        // Gem::Version's class documentation: 0.9 < 1.0.a.2 < 1.0.b1 < 1.0.
        check_ascending(
            Scheme::Gem,
            &["0.9", "1.0.a.2", "1.0.b1", "1.0", "1.0.1.a", "1.0.1"],
        );
    }

    #[test]
    fn canonical_segments_and_prerelease() {
        let segs = |s: &str| {
            s.parse::<GemVersion>()
                .expect("valid")
                .segments
                .iter()
                .map(|seg| match seg {
                    Segment::Text(t) => t.to_string(),
                    Segment::Number(n) if n.is_zero() => "0".to_owned(),
                    Segment::Number(n) => n.0.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(segs("1.0.0"), "1");
        assert_eq!(segs("1.0.0.a.1.0"), "1,a,1");
        assert_eq!(segs("1.2.3-1"), "1,2,3,pre,1");
        assert_eq!(segs("10.0"), "10");
        assert_eq!(segs("100"), "100");
        assert_eq!(segs("1.10"), "1,10");
        let pre = |s: &str| s.parse::<GemVersion>().expect("valid").is_prerelease();
        assert!(pre("1.2.0.a") && pre("2.9.b") && pre("22.1.50.0.d") && pre("1.2.d.42"));
        assert!(pre("1.A") && pre("1-1") && pre("1-a"));
        assert!(!pre("1.2.0") && !pre("2.9") && !pre("22.1.50.0"));
    }

    #[test]
    fn invalid_versions() {
        let cve = "2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.";
        check_invalid(
            Scheme::Gem,
            &[
                ("", ErrorKind::Empty),
                ("   ", ErrorKind::Empty),
                (
                    "junk",
                    ErrorKind::Unexpected {
                        at: 0,
                        expected: EXPECTED_DIGIT,
                    },
                ),
                ("1.0\n2.0", ErrorKind::InvalidCharacter { at: 3, ch: '\n' }),
                (
                    "1..2",
                    ErrorKind::Unexpected {
                        at: 1,
                        expected: EXPECTED_TAIL,
                    },
                ),
                ("1.2 3.4", ErrorKind::InvalidCharacter { at: 3, ch: ' ' }),
                (
                    cve,
                    ErrorKind::Unexpected {
                        at: cve.len() - 1,
                        expected: EXPECTED_TAIL,
                    },
                ),
                (
                    "1-",
                    ErrorKind::Unexpected {
                        at: 2,
                        expected: EXPECTED_PRE,
                    },
                ),
                (
                    "1.0-a.",
                    ErrorKind::Unexpected {
                        at: 6,
                        expected: EXPECTED_PRE,
                    },
                ),
                (
                    "-1",
                    ErrorKind::Unexpected {
                        at: 0,
                        expected: EXPECTED_DIGIT,
                    },
                ),
                (
                    "1_0",
                    ErrorKind::Unexpected {
                        at: 1,
                        expected: EXPECTED_TAIL,
                    },
                ),
                (
                    "1.0-a_b",
                    ErrorKind::Unexpected {
                        at: 5,
                        expected: EXPECTED_TAIL,
                    },
                ),
                (
                    " x",
                    ErrorKind::Unexpected {
                        at: 1,
                        expected: EXPECTED_DIGIT,
                    },
                ),
            ],
        );
    }
}
