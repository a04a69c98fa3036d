//! Python version ordering (PEP 440, as the `packaging` library implements it).
//!
//! Written here rather than taken from `pep440_rs`: that crate's last release (0.7.3) is a
//! frozen copy of uv's parser, and uv's maintained `uv-pep440` needs a newer Rust than ours.
//! PEP 440's ordering is small enough to own, and owning it lets us keep numbers unbounded and
//! errors in our own kinds.
//!
//! `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, case-insensitive, with these traps:
//! - Normalisation: a leading `v`, surrounding whitespace, `-`/`_`/`.` separators (or none)
//!   before pre/post/dev parts, `alpha`/`beta`/`c`/`pre`/`preview` spellings, `1.0-1` (post
//!   release 1), `r`/`rev` for post, and a missing number meaning 0: `1.0a == 1.0.alpha0`,
//!   `1.0-1 == 1.0.post1`, `1.0c1 == 1.0rc1`.
//! - Trailing zeros of the release do not count: `1.0a1 == 1.0.0a1`, `1 == 1.0.0`.
//! - Order within one release: `.devN` (alone) < `aN` < `bN` < `rcN` < release < `.postN`, and a
//!   `.devN` sorts just before the same version without it: `1.0a1.dev1 < 1.0a1`,
//!   `1.0.post1.dev1 < 1.0.post1`. So `1.0.dev0 < 1.0a1 < 1.0 < 1.0.post1 < 1.0.1.dev0`.
//! - The epoch beats everything: `1!0.1 > 2024.1`.
//! - A local version (`+ubuntu1`) sorts after the same public version; its segments compare
//!   numerically when all digits, else as lowercase strings, and numbers beat strings.
//! - Numbers have no size limit (Python integers); leading zeros do not count.

use super::{ErrorKind, Number, Scheme, VersionError, check_len};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PreKind {
    Alpha,
    Beta,
    Rc,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    /// Declared first: strings sort before numbers.
    Text(Box<str>),
    Number(Number),
}

/// A parsed PEP 440 version.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    original: Box<str>,
    epoch: Number,
    /// Trailing zeros removed.
    release: Vec<Number>,
    pre: Option<(PreKind, Number)>,
    post: Option<Number>,
    dev: Option<Number>,
    local: Option<Vec<LocalSegment>>,
}

/// Where a pre-release part sorts; declaration order is the order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    /// A dev release of the final version (`1.0.dev1`) sorts before its pre-releases.
    DevOfFinal,
    Pre(PreKind, &'a Number),
    Final,
}

/// Where a dev part sorts: a dev release before the same version without one.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum DevKey<'a> {
    Dev(&'a Number),
    None,
}

const EXPECTED_TAIL: &str = "a pre, post or dev release, a local version or the end";

impl Pep440Version {
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    pub(super) fn parse_kind(s: &str) -> Result<Self, ErrorKind> {
        check_len(s)?;
        let trimmed = s.trim_start();
        let offset = s.len() - trimmed.len();
        let text = trimmed.trim_end();
        if text.is_empty() {
            return Err(ErrorKind::Empty);
        }
        if let Some((at, ch)) = text.char_indices().find(|&(_, c)| !c.is_ascii_graphic()) {
            return Err(ErrorKind::InvalidCharacter {
                at: offset + at,
                ch,
            });
        }
        let mut p = Parser {
            b: text.as_bytes(),
            pos: 0,
            offset,
        };
        if matches!(p.peek(), Some(b'v' | b'V')) {
            p.pos += 1;
        }
        let mut epoch = Number::new("");
        let first = p.digits().ok_or_else(|| p.unexpected("a release number"))?;
        let first = if p.eat(b'!') {
            epoch = first;
            p.digits().ok_or_else(|| p.unexpected("a release number"))?
        } else {
            first
        };
        let mut release = vec![first];
        while p.peek() == Some(b'.') && p.b.get(p.pos + 1).is_some_and(u8::is_ascii_digit) {
            p.pos += 1;
            release.extend(p.digits());
        }
        while release.last().is_some_and(Number::is_zero) {
            release.pop();
        }
        let pre = p.pre();
        let post = p.post();
        let dev = p.labelled(&["dev"]).map(|(_, n)| n);
        let local = if p.eat(b'+') { Some(p.local()?) } else { None };
        if p.pos != p.b.len() {
            return Err(p.unexpected(EXPECTED_TAIL));
        }
        Ok(Self {
            original: s.into(),
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    fn pre_key(&self) -> PreKey<'_> {
        match (&self.pre, &self.post, &self.dev) {
            (Some((kind, n)), _, _) => PreKey::Pre(*kind, n),
            (None, None, Some(_)) => PreKey::DevOfFinal,
            (None, _, _) => PreKey::Final,
        }
    }

    fn dev_key(&self) -> DevKey<'_> {
        self.dev.as_ref().map_or(DevKey::None, DevKey::Dev)
    }
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    /// Bytes trimmed from the front of the input, for error offsets.
    offset: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn eat_separator(&mut self) {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.pos += 1;
        }
    }

    fn digits(&mut self) -> Option<Number> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let run = std::str::from_utf8(&self.b[start..self.pos]).unwrap_or_default();
        (!run.is_empty()).then(|| Number::new(run))
    }

    /// `[-_.]?label[-_.]?N?` for the first label that matches; restores the position if none.
    fn labelled(&mut self, labels: &[&str]) -> Option<(usize, Number)> {
        let start = self.pos;
        self.eat_separator();
        let rest = &self.b[self.pos..];
        let Some(index) = labels.iter().position(|l| {
            rest.len() >= l.len() && rest[..l.len()].eq_ignore_ascii_case(l.as_bytes())
        }) else {
            self.pos = start;
            return None;
        };
        self.pos += labels[index].len();
        self.eat_separator();
        Some((index, self.digits().unwrap_or_else(|| Number::new(""))))
    }

    fn pre(&mut self) -> Option<(PreKind, Number)> {
        // Longer spellings first: a shorter one that is a prefix could never lead to a match.
        const LABELS: [(&str, PreKind); 8] = [
            ("alpha", PreKind::Alpha),
            ("a", PreKind::Alpha),
            ("beta", PreKind::Beta),
            ("b", PreKind::Beta),
            ("preview", PreKind::Rc),
            ("pre", PreKind::Rc),
            ("rc", PreKind::Rc),
            ("c", PreKind::Rc),
        ];
        let names = LABELS.map(|(l, _)| l);
        self.labelled(&names).map(|(i, n)| (LABELS[i].1, n))
    }

    fn post(&mut self) -> Option<Number> {
        if self.peek() == Some(b'-') && self.b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
            return self.digits();
        }
        self.labelled(&["post", "rev", "r"]).map(|(_, n)| n)
    }

    fn local(&mut self) -> Result<Vec<LocalSegment>, ErrorKind> {
        let mut segments = Vec::new();
        loop {
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            let run = std::str::from_utf8(&self.b[start..self.pos]).unwrap_or_default();
            if run.is_empty() {
                return Err(self.unexpected("a local version segment"));
            }
            segments.push(if run.bytes().all(|c| c.is_ascii_digit()) {
                LocalSegment::Number(Number::new(run))
            } else {
                LocalSegment::Text(run.to_ascii_lowercase().into())
            });
            if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
                self.pos += 1;
            } else {
                return Ok(segments);
            }
        }
    }

    fn unexpected(&self, expected: &'static str) -> ErrorKind {
        ErrorKind::Unexpected {
            at: self.offset + self.pos,
            expected,
        }
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.release.cmp(&other.release))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| self.post.cmp(&other.post))
            .then_with(|| self.dev_key().cmp(&other.dev_key()))
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Equal as PEP 440 compares: `1.0 == 1.0.0 == v1.0`, `1.0c1 == 1.0rc1`.
impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl FromStr for Pep440Version {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_kind(s).map_err(|kind| VersionError::new(Scheme::Pep440, s, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_ascending, check_invalid, check_pairs};
    use super::*;

    /// packaging's tests/test_version.py `VERSIONS`, which it keeps in sorting order.
    const PACKAGING_VERSIONS: &[&str] = &[
        "1.0.dev0",
        "1.0.dev456",
        "1.0.dev456+local",
        "1.0a0",
        "1.0a0.post0.dev0",
        "1.0a0.post0",
        "1.0a1.dev1",
        "1.0a1.dev1+local",
        "1.0a1",
        "1.0a1+local",
        "1.0b0",
        "1.0b1.dev456",
        "1.0b2",
        "1.0b2.post345.dev456",
        "1.0b2.post345",
        "1.0b2-346",
        "1.0rc0",
        "1.0rc1.dev1",
        "1.0c1",
        "1.0rc2",
        "1.0",
        "1.0.post0.dev0",
        "1.0.post0",
        "1.0.post456.dev34",
        "1.0.post456",
        "1.0.post456+local",
        "1.0.1.dev1",
        "1.0.1a1",
        "1.0.1",
        "1.0.1+local",
        "1.0.1.post1",
        "1.1.dev1",
        "1.2+a",
        "1.2+abc",
        "1.2+abcdef",
        "1.2+def",
        "1.2+0",
        "1.2+1",
        "1.2+1.abc",
        "1.2+1.1",
        "1.2+1.1.0",
        "1.2+2",
        "1.2+123",
        "1.2+123456",
        "1.2.r32+123456",
        "1.2.rev33+123456",
    ];

    #[test]
    fn packaging_versions_ascend_within_and_across_epochs() {
        let with_epoch: Vec<String> = PACKAGING_VERSIONS
            .iter()
            .map(|v| format!("1!{v}"))
            .collect();
        let mut all: Vec<&str> = PACKAGING_VERSIONS.to_vec();
        all.extend(with_epoch.iter().map(String::as_str));
        check_ascending(Scheme::Pep440, &all);
    }

    #[test]
    fn normalised_spellings_are_equal() {
        check_pairs(
            Scheme::Pep440,
            &[
                // packaging's test_normalized_versions
                ("1.0dev", '=', "1.0.dev0"),
                ("1.0-dev1", '=', "1.0.dev1"),
                ("1.0.DEV", '=', "1.0.dev0"),
                ("1.0a", '=', "1.0a0"),
                ("1.0.a1", '=', "1.0a1"),
                ("1.0-alpha1", '=', "1.0a1"),
                ("1.0.ALPHA", '=', "1.0a0"),
                ("1.0-b1", '=', "1.0b1"),
                ("1.0beta", '=', "1.0b0"),
                ("1.0.BETA1", '=', "1.0b1"),
                ("1.0c", '=', "1.0rc0"),
                ("1.0-C1", '=', "1.0rc1"),
                ("1.0.RC", '=', "1.0rc0"),
                ("1.0post", '=', "1.0.post0"),
                ("1.0-post1", '=', "1.0.post1"),
                ("1.0r", '=', "1.0.post0"),
                ("1.0rev", '=', "1.0.post0"),
                ("1.0.r1", '=', "1.0.post1"),
                ("1.0-5", '=', "1.0.post5"),
                ("1.0-r5", '=', "1.0.post5"),
                ("1.0-rev5", '=', "1.0.post5"),
                ("1.0+AbC", '=', "1.0+abc"),
                ("1.01", '=', "1.1"),
                ("1.0a05", '=', "1.0a5"),
                ("1.0c056", '=', "1.0rc56"),
                ("1.0.post000", '=', "1.0.post0"),
                ("1.1.dev09000", '=', "1.1.dev9000"),
                ("00!1.2", '=', "1.2"),
                ("0100!0.0", '=', "100!0.0"),
                ("v1.0", '=', "1.0"),
                ("   v1.0\t\n", '=', "1.0"),
                ("0!1.0.2", '=', "1.0.2"),
                // Further spellings and the brief's examples.
                ("1.0a1", '=', "1.0.0a1"),
                ("1", '=', "1.0.0"),
                ("1.0-1", '=', "1.0.post1"),
                ("1.0preview2", '=', "1.0rc2"),
                ("1.0.pre", '=', "1.0rc0"),
                ("1.0_a_1", '=', "1.0a1"),
                ("1.0.post.dev", '=', "1.0.post0.dev0"),
                ("V1.0", '=', "1.0"),
                ("1.0+ubuntu-1", '=', "1.0+ubuntu.1"),
                ("1.0+01", '=', "1.0+1"),
                // Orderings the list above does not spell out.
                ("1.0.dev0", '<', "1.0a1"),
                ("1.0a1", '<', "1.0"),
                ("1.0", '<', "1.0.post1"),
                ("1.0.post1", '<', "1.0.1.dev0"),
                ("1!0.1", '>', "2024.1"),
                ("1.0", '<', "1.0+local"),
                ("1.0+1", '>', "1.0+zzz"),
                ("1.0a1.post1", '<', "1.0a2.dev0"),
                ("2.0", '>', "1.99999999999999999999999999"),
                ("1.10", '>', "1.9"),
                ("3.11.0rc1", '<', "3.11.0"),
                ("23.1.1", '<', "23.2"),
            ],
        );
    }

    #[test]
    fn invalid_versions() {
        let tail = |at| ErrorKind::Unexpected {
            at,
            expected: EXPECTED_TAIL,
        };
        let release = |at| ErrorKind::Unexpected {
            at,
            expected: "a release number",
        };
        let local = |at| ErrorKind::Unexpected {
            at,
            expected: "a local version segment",
        };
        check_invalid(
            Scheme::Pep440,
            &[
                ("", ErrorKind::Empty),
                (" \t", ErrorKind::Empty),
                (
                    "french toast",
                    ErrorKind::InvalidCharacter { at: 6, ch: ' ' },
                ),
                ("lolwat", release(0)),
                ("1.0+a+", tail(5)),
                ("1.0++", local(4)),
                ("1.0+_foobar", local(4)),
                ("1.0+foo&asd", tail(7)),
                ("1.0+1+1", tail(5)),
                ("1.0+", local(4)),
                ("1. 0", ErrorKind::InvalidCharacter { at: 2, ch: ' ' }),
                ("1.0 a1", ErrorKind::InvalidCharacter { at: 3, ch: ' ' }),
                (
                    "٠١٢.٣٤٥.٦٧٨٩",
                    ErrorKind::InvalidCharacter { at: 0, ch: '٠' },
                ),
                (".", release(0)),
                ("..", release(0)),
                ("1..0", tail(1)),
                ("1.0.", tail(3)),
                (".1.0", release(0)),
                ("1..2.3", tail(1)),
                (
                    "1.0+\u{130}",
                    ErrorKind::InvalidCharacter {
                        at: 4,
                        ch: '\u{130}',
                    },
                ),
                ("1!", release(2)),
                ("1.0a1b1", tail(5)),
                ("1.0.post1.post2", tail(9)),
                ("  x", release(2)),
            ],
        );
    }

    #[test]
    fn prerelease_flag() {
        let v = |s: &str| s.parse::<Pep440Version>().expect("valid");
        assert!(v("1.0a1").is_prerelease());
        assert!(v("1.0.dev1").is_prerelease());
        assert!(!v("1.0.post1").is_prerelease());
        assert!(!v("1.0+local").is_prerelease());
    }
}
