//! Alpine (apk-tools) version ordering, as apk-tools 3 lexes and compares versions.
//!
//! Grammar: `digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-rdigits}`, for example
//! `1.2.3b_rc1_p2~1a2b3c-r4`. Anything else is invalid (`1.0bc`, `1.0a1`, `1.0_foo`, `1.0-r`,
//! `1.0-r1-r2`, uppercase letters) and rejected here; apk itself would fall back to comparing
//! what it could lex.
//! - Suffixes: `_alpha < _beta < _pre < _rc <` no suffix `< _cvs < _svn < _git < _hg < _p`.
//!   A pre-release suffix makes a version older than the same version without it
//!   (`1.0_rc1 < 1.0`), a post-release suffix newer (`1.0_p1 > 1.0`).
//! - The revision `-rN` is compared last; a missing revision is older than any revision
//!   (`1.0 < 1.0-r0`): apk does not treat `-r0` as equal to no revision.
//! - When the versions agree up to where one of them ends, the one that goes on is newer unless
//!   what follows is a pre-release suffix: `1.0 < 1.0.1`, `1.0 < 1.0a`, `1.0_rc1 < 1.0`.
//! - Numbers after a dot are compared as numbers, except when either has a leading zero: then
//!   both compare as strings, so `1.02 < 1.1`, `8.2.0 < 8.2.001` and `1.0 != 1.00` (Gentoo's
//!   rule, which apk follows).
//! - Numbers are unbounded here; apk-tools reads them into 64-bit integers and would wrap past
//!   20 digits.
//! - `~hash` (apk-tools 3) is a lowercase hexadecimal commit id, compared as a string.

use super::{ErrorKind, Number, Scheme, VersionError, check_len};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// apk-tools' token types, in its order; a later type ends a version "earlier".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
}

/// Suffix names in order; the value of "no suffix" sits between `rc` and `cvs`.
const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

/// The value of a token, compared only against a token of the same type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    End,
    Number(Number),
    /// A dotted number: compared as a string when either side has a leading zero, which puts
    /// every zero-led number before every other number.
    Dotted(DottedNumber),
    Letter(u8),
    /// 0..=3 pre-release, 5..=9 post-release (4 would be "no suffix").
    Suffix(u8),
    Hash(Box<[u8]>),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum DottedNumber {
    LeadingZero(Box<[u8]>),
    Plain(Number),
}

/// One position of the comparison: `(rank, value)` compared lexicographically reproduces
/// apk-tools' walk, including its rule for versions whose token types differ.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    rank: u8,
    value: Value,
}

impl Key {
    fn new(token: Token, value: Value) -> Self {
        // Where the token types differ, a pre-release suffix loses to everything, otherwise the
        // version whose next token type comes later in apk's enum is the older one.
        let rank = match (&token, &value) {
            (Token::Suffix, Value::Suffix(s)) if usize::from(*s) < PRE_SUFFIXES.len() => 0,
            _ => 10 - token as u8,
        };
        Key { rank, value }
    }
}

/// A parsed apk version.
#[derive(Debug, Clone)]
pub struct ApkVersion {
    original: Box<str>,
    keys: Vec<Key>,
}

impl ApkVersion {
    pub(super) fn parse_kind(s: &str) -> Result<Self, ErrorKind> {
        check_len(s)?;
        if s.is_empty() {
            return Err(ErrorKind::Empty);
        }
        let b = s.as_bytes();
        let mut keys = Vec::new();
        let mut pos = 0;
        let digits = |pos: &mut usize, what: &'static str| -> Result<&[u8], ErrorKind> {
            let start = *pos;
            while b.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            if start == *pos {
                return Err(unexpected(s, start, what));
            }
            Ok(&b[start..*pos])
        };
        let first = digits(&mut pos, "a digit")?;
        keys.push(Key::new(
            Token::InitialDigit,
            Value::Number(Number::new(ascii(first))),
        ));
        let mut token = Token::InitialDigit;
        while let Some(&c) = b.get(pos) {
            let at = pos;
            let (next, value) = match c {
                b'a'..=b'z' if token <= Token::Digit => {
                    pos += 1;
                    (Token::Letter, Value::Letter(c))
                }
                b'.' if token <= Token::Digit => {
                    pos += 1;
                    let n = digits(&mut pos, "a digit after '.'")?;
                    let dotted = if n[0] == b'0' {
                        DottedNumber::LeadingZero(n.into())
                    } else {
                        DottedNumber::Plain(Number::new(ascii(n)))
                    };
                    (Token::Digit, Value::Dotted(dotted))
                }
                b'0'..=b'9' if token == Token::Suffix => {
                    let n = digits(&mut pos, "a digit")?;
                    (Token::SuffixNo, Value::Number(Number::new(ascii(n))))
                }
                b'_' if token <= Token::SuffixNo => {
                    pos += 1;
                    let start = pos;
                    while b.get(pos).is_some_and(u8::is_ascii_lowercase) {
                        pos += 1;
                    }
                    let name = &s[start..pos];
                    let suffix = PRE_SUFFIXES
                        .iter()
                        .position(|p| *p == name)
                        .or_else(|| {
                            POST_SUFFIXES
                                .iter()
                                .position(|p| *p == name)
                                .map(|i| i + PRE_SUFFIXES.len() + 1)
                        })
                        .ok_or_else(|| unexpected(s, start, "a suffix name"))?;
                    (Token::Suffix, Value::Suffix(suffix as u8))
                }
                b'~' if token < Token::CommitHash => {
                    pos += 1;
                    let start = pos;
                    while b
                        .get(pos)
                        .is_some_and(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
                    {
                        pos += 1;
                    }
                    if start == pos {
                        return Err(unexpected(s, start, "a lowercase hex commit id"));
                    }
                    (Token::CommitHash, Value::Hash(b[start..pos].into()))
                }
                b'-' if token < Token::RevisionNo => {
                    if b.get(pos + 1) != Some(&b'r') {
                        return Err(unexpected(s, pos, "'-r'"));
                    }
                    pos += 2;
                    let n = digits(&mut pos, "a revision number")?;
                    (Token::RevisionNo, Value::Number(Number::new(ascii(n))))
                }
                _ => return Err(invalid_at(s, at)),
            };
            keys.push(Key::new(next, value));
            token = next;
        }
        keys.push(Key::new(Token::End, Value::End));
        Ok(Self {
            original: s.into(),
            keys,
        })
    }
}

/// The bytes were checked to be ASCII digits.
fn ascii(digits: &[u8]) -> &str {
    std::str::from_utf8(digits).unwrap_or_default()
}

fn unexpected(s: &str, at: usize, expected: &'static str) -> ErrorKind {
    match s[at..].chars().next() {
        Some(ch) if !ch.is_ascii_graphic() => ErrorKind::InvalidCharacter { at, ch },
        _ => ErrorKind::Unexpected { at, expected },
    }
}

/// The character at `at` cannot come after what precedes it.
fn invalid_at(s: &str, at: usize) -> ErrorKind {
    match s[at..].chars().next() {
        Some(ch) if !ch.is_ascii_graphic() => ErrorKind::InvalidCharacter { at, ch },
        _ => ErrorKind::Unexpected {
            at,
            expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
        },
    }
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.keys.cmp(&other.keys)
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion {}

impl fmt::Display for ApkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl FromStr for ApkVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_kind(s).map_err(|kind| VersionError::new(Scheme::Apk, s, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_ascending, check_invalid, check_pairs};
    use super::*;

    /// From apk-tools' test/unit/version.data (valid lines only; its invalid ones are below).
    #[test]
    fn apk_tools_version_data() {
        check_pairs(
            Scheme::Apk,
            &[
                ("2.34", '>', "0.1.0_alpha"),
                ("0.1.0_alpha", '=', "0.1.0_alpha"),
                ("0.1.0_alpha", '<', "0.1.3_alpha"),
                ("0.1.0_alpha2", '>', "0.1.0_alpha"),
                ("0.1.0_alpha", '<', "2.2.39-r1"),
                ("1.0.4-r3", '<', "1.0.4-r4"),
                ("1.1", '>', "1.1_alpha1"),
                ("1.2.1", '>', "1.2"),
                ("1.3_alpha", '<', "1.3_alpha2"),
                ("0.8_beta1", '<', "0.8_beta2"),
                ("3.10.18-r1", '>', "2.3.0b-r1"),
                ("2.3.0b-r1", '<', "2.3.0b-r2"),
                ("0.12.3", '>', "0.12"),
                ("0.13_beta4", '<', "0.13_beta5"),
                ("1.2.11", '<', "1.2.12.1"),
                ("1.2.12.1", '<', "1.2.13"),
                ("3.1_p16", '<', "3.1_p17"),
                ("3.1_p17", '>', "1.06-r6"),
                ("1.06-r6", '<', "006"),
                ("006", '>', "1.0.0"),
                ("1.2.2-r1", '>', "1.2.2"),
                ("9.3.4-r2", '>', "9.3.4"),
                ("2.59", '<', "20050718-r1"),
                ("3.9.8-r5", '>', "2.01.01_alpha10"),
                ("2.01.01_alpha10", '>', "0.94"),
                ("1.0", '>', "0.99.3.20040818"),
                ("1.39", '>', "1.00_beta2"),
                ("1.00_beta2", '>', "0.9.2"),
                ("7.15.1-r1", '>', "1.02"),
                ("1.02", '<', "1.03-r1"),
                ("4.2.52_p2-r1", '<', "4.2.52_p4-r2"),
                ("1.02.07", '<', "1.02.10-r1"),
                ("2.18.3-r10", '>', "1.05-r18"),
                ("20060720", '>', "3.0.20060720"),
                ("1.4.4-r1", '<', "2.1.9.200602141850"),
                ("2.5.1-r8", '<', "2.5.1a-r1"),
                ("2.0.0_rc3-r1", '>', "1.5"),
                ("0.10.0-r1", '>', "0.10.0"),
                ("0.10.0", '<', "0.10.1_rc1"),
                ("3.0.0-r2", '<', "021109-r3"),
                ("3.9_pre20060124", '>', "0.01"),
                ("0.01", '<', "0.06"),
                ("1.1.7", '<', "6b-r7"),
                ("1.0-r1", '>', "0.15.1b"),
                ("0.15.1b-r2", '>', "0.15.1b"),
                ("2.1_pre20", '<', "2.1_pre26"),
                ("2.10.1", '>', "02.08.01b"),
                ("3.81", '>', "1.6d"),
                ("1.6d", '>', "1.2.07.8"),
                ("1.2.07.8", '<', "1.2.12.04"),
                ("1.2.12.04", '<', "1.2.12.05"),
                ("0.1_pre20060810", '<', "0.1_pre20060817"),
                ("0.59s-r11", '<', "0.65"),
                ("1.60-r12", '<', "110-r8"),
                ("4.20", '>', "0.20070118"),
                ("0.20070118", '<', "0.20070207_rc1"),
                ("3.7_p1", '>', "1.3"),
                ("4.5_p1-r1", '>', "4.5_p1"),
                ("0.9.8c-r1", '<', "0.9.8d"),
                ("1.7", '<', "1.7b"),
                ("1.8.5", '<', "1.8.5_p2"),
                ("2.9.11_pre20051101-r3", '>', "2.9.11_pre20051101"),
                ("2.9.11_pre20051101", '<', "2.9.11_pre20061021-r1"),
                ("1.6.8_p12-r1", '>', "1.6.8_p9-r2"),
                ("0.9.28.1", '>', "0.9.28"),
                ("0.9.28.1", '<', "087-r1"),
                ("104-r11", '>', "104-r9"),
                ("1.2.5_rc2", '>', "0.1"),
                ("2.12r-r4", '<', "2.12r-r5"),
                ("7.0.17", '<', "7.0.174"),
                ("0.3.4_pre20061029", '<', "0.4.0"),
                ("1.3-r0", '<', "1.3.1-r0"),
                ("1.3_pre1-r1", '<', "1.3.2"),
                ("1.0_p10-r0", '>', "1.0_p9-r0"),
                ("0.1.0_alpha_pre2", '<', "0.1.0_alpha"),
                (
                    "1.0.0_pre20191002222144-r0",
                    '<',
                    "1.0.0_pre20210530193627-r0",
                ),
                ("6.0_pre1", '<', "6.0"),
                ("6.1_pre1", '<', "6.1"),
                ("6.0_p1", '>', "6.0"),
                ("6.1_p1", '>', "6.1"),
                ("8.2.0", '<', "8.2.001"),
                ("8.2.0015", '<', "8.2.002"),
                ("1.0~1234", '<', "1.0~2345"),
                ("1.0~1234-r1", '<', "1.0~2345-r0"),
                ("1.0~1234-r1", '>', "1.0~1234-r0"),
            ],
        );
    }

    #[test]
    fn suffix_and_revision_rules() {
        check_pairs(
            Scheme::Apk,
            &[
                ("1.0_alpha", '<', "1.0_beta"),
                ("1.0_beta", '<', "1.0_pre"),
                ("1.0_pre", '<', "1.0_rc"),
                ("1.0_rc", '<', "1.0"),
                ("1.0", '<', "1.0_cvs"),
                ("1.0_cvs", '<', "1.0_svn"),
                ("1.0_svn", '<', "1.0_git"),
                ("1.0_git", '<', "1.0_hg"),
                ("1.0_hg", '<', "1.0_p"),
                ("1.0_rc9", '<', "1.0_rc10"),
                ("1.0_rc1", '<', "1.0.1_alpha"),
                ("1.0", '<', "1.0-r0"),
                ("1.0-r9", '<', "1.0-r10"),
                ("1.0-r99", '<', "1.0a"),
                ("1.0a", '<', "1.0.1"),
                ("1.0z", '<', "1.0.0"),
                ("1.0", '<', "1.00"),
                ("1.1", '>', "1.01"),
                ("1.0", '<', "1.0.0"),
                ("1.0_p1", '<', "1.0.1"),
                ("1.0~abc", '>', "1.0-r0"),
                ("1.0~abc-r0", '>', "1.0-r0"),
                ("1.0~abc", '>', "1.0"),
                ("1.0_rc1~abc", '<', "1.0"),
                ("3.12.1-r0", '<', "3.12.1-r1"),
                ("1.1.1w-r1", '>', "1.1.1t-r3"),
                ("2.40.1-r0", '>', "2.4.10-r0"),
                (
                    "99999999999999999999999.1",
                    '>',
                    "99999999999999999999998.2",
                ),
            ],
        );
        check_ascending(
            Scheme::Apk,
            &[
                "1.0_alpha",
                "1.0_alpha1",
                "1.0_beta",
                "1.0_pre1",
                "1.0_rc1",
                "1.0",
                "1.0-r0",
                "1.0-r1",
                "1.0_git20240101",
                "1.0_p1",
                "1.0a",
                "1.0.1",
            ],
        );
    }

    #[test]
    fn invalid_versions() {
        check_invalid(
            Scheme::Apk,
            &[
                ("", ErrorKind::Empty),
                (
                    "0.1bc",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
                    },
                ),
                (
                    "0.1a1",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
                    },
                ),
                (
                    "0.1a.1",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
                    },
                ),
                (
                    "0.1_pre2~",
                    ErrorKind::Unexpected {
                        at: 9,
                        expected: "a lowercase hex commit id",
                    },
                ),
                (
                    "0.1_pre2~1234xbcd",
                    ErrorKind::Unexpected {
                        at: 13,
                        expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
                    },
                ),
                (
                    "0.1_pre2~1234abcd_pre1",
                    ErrorKind::Unexpected {
                        at: 17,
                        expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
                    },
                ),
                (
                    "0.1_foobar",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: "a suffix name",
                    },
                ),
                (
                    "0.1_foobar1",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: "a suffix name",
                    },
                ),
                (
                    "23_foo",
                    ErrorKind::Unexpected {
                        at: 3,
                        expected: "a suffix name",
                    },
                ),
                (
                    "0.1-pre1.1",
                    ErrorKind::Unexpected {
                        at: 3,
                        expected: "'-r'",
                    },
                ),
                (
                    "0.1-r",
                    ErrorKind::Unexpected {
                        at: 5,
                        expected: "a revision number",
                    },
                ),
                (
                    "0.1-r2_pre1",
                    ErrorKind::Unexpected {
                        at: 6,
                        expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
                    },
                ),
                (
                    "0.1-r2-r3",
                    ErrorKind::Unexpected {
                        at: 6,
                        expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
                    },
                ),
                (
                    "0.1-r2.1",
                    ErrorKind::Unexpected {
                        at: 6,
                        expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
                    },
                ),
                (
                    ".1",
                    ErrorKind::Unexpected {
                        at: 0,
                        expected: "a digit",
                    },
                ),
                (
                    "a",
                    ErrorKind::Unexpected {
                        at: 0,
                        expected: "a digit",
                    },
                ),
                (
                    "_pre1",
                    ErrorKind::Unexpected {
                        at: 0,
                        expected: "a digit",
                    },
                ),
                (
                    "-r1",
                    ErrorKind::Unexpected {
                        at: 0,
                        expected: "a digit",
                    },
                ),
                (
                    "0.1_",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: "a suffix name",
                    },
                ),
                (
                    "0.1_-r0",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: "a suffix name",
                    },
                ),
                (
                    "0.1__alpha",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: "a suffix name",
                    },
                ),
                (
                    "0.1_1_alpha",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: "a suffix name",
                    },
                ),
                (
                    "1.",
                    ErrorKind::Unexpected {
                        at: 2,
                        expected: "a digit after '.'",
                    },
                ),
                (
                    "1.0A",
                    ErrorKind::Unexpected {
                        at: 3,
                        expected: "'.', a letter, '_suffix', '~hash', '-rN' or the end, in that order",
                    },
                ),
                ("1.0 ", ErrorKind::InvalidCharacter { at: 3, ch: ' ' }),
                (
                    "1.0\u{e9}",
                    ErrorKind::InvalidCharacter {
                        at: 3,
                        ch: '\u{e9}',
                    },
                ),
            ],
        );
    }

    #[test]
    fn valid_forms_from_apk_tools() {
        for v in [
            "1.2",
            "0.1_pre2",
            "0.1_pre2~1234abcd",
            "0.1_p1_pre2",
            "0.1_alpha1_pre2",
            "0.1_git20240101_pre1",
        ] {
            assert!(v.parse::<ApkVersion>().is_ok(), "{v}");
        }
    }
}
