//! SemVer 2.0 ordering (§11) for npm, crates.io, GHSA-style strings, and Go module versions.
//!
//! - Precedence: major, minor, patch numerically, then the pre-release: a version with one is
//!   older (`1.0.0-rc.1 < 1.0.0`); identifiers compare one by one, numeric ones as numbers and
//!   before alphanumeric ones, alphanumeric ones in ASCII order (`-rc.10 > -rc.9`, but
//!   `-rc10 < -rc9`, and `-A < -a`), and more identifiers win when all before are equal.
//!   Pre-release identifiers are validated and ordered by the `semver` crate.
//! - Build metadata (`+build.5`, Go's `+incompatible`) is validated and ignored:
//!   `1.0.0+a == 1.0.0+b == 1.0.0`.
//! - Lenient where feeds are: a leading `v`/`V` and missing minor/patch (`1.0 == 1.0.0`,
//!   `v2 == 2.0.0`, `1.2-beta == 1.2.0-beta`). Still strict where the spec is: no leading zeros
//!   (`01.0.0`, `1.0.0-01`), no empty identifiers (`1.0.0-`, `1.0.0-a..b`), no fourth component,
//!   no whitespace.
//! - Go (`golang.org/x/mod/semver`): `v1.2.3`, with the `v` optional because OSV writes Go
//!   versions without it. `v1` and `v1.2` are shorthands for `v1.0.0` and `v1.2.0` only without
//!   pre-release or build (`v1.2-pre` is invalid). Pseudo-versions are ordinary pre-releases and
//!   sort as such: `v0.0.0-20191109021931-daa7c04131f5 < v0.1.0`,
//!   `v1.2.3 < v1.2.4-0.20191109021931-daa7c04131f5 < v1.2.4`.
//! - Core numbers have no size limit (Go compares them as digit strings too).

use super::{ErrorKind, Number, Scheme, VersionError, check_len};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

const EXPECTED_NUMBER: &str = "a number";
const EXPECTED_TAIL: &str = "'.', '-', '+' or the end";
const EXPECTED_TAIL_FULL: &str = "'-', '+' or the end";
const EXPECTED_GO_PATCH: &str =
    "'.' and a patch number (Go's short forms take no pre-release or build)";

/// A parsed SemVer version (build metadata dropped: it never affects precedence).
#[derive(Debug, Clone)]
pub struct SemverVersion {
    original: Box<str>,
    major: Number,
    minor: Number,
    patch: Number,
    pre: ::semver::Prerelease,
}

/// A parsed Go module version; orders as SemVer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoVersion(SemverVersion);

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    Lenient,
    Go,
}

impl SemverVersion {
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The pre-release identifiers, `""` when none.
    pub fn prerelease(&self) -> &str {
        self.pre.as_str()
    }

    pub(super) fn parse_kind(s: &str) -> Result<Self, ErrorKind> {
        parse(s, Dialect::Lenient)
    }
}

impl GoVersion {
    pub fn is_prerelease(&self) -> bool {
        self.0.is_prerelease()
    }

    pub(super) fn parse_kind(s: &str) -> Result<Self, ErrorKind> {
        parse(s, Dialect::Go).map(GoVersion)
    }
}

fn parse(s: &str, dialect: Dialect) -> Result<SemverVersion, ErrorKind> {
    check_len(s)?;
    if s.is_empty() {
        return Err(ErrorKind::Empty);
    }
    if let Some((at, ch)) = s.char_indices().find(|&(_, c)| !c.is_ascii_graphic()) {
        return Err(ErrorKind::InvalidCharacter { at, ch });
    }
    let b = s.as_bytes();
    let mut pos = match (b[0], dialect) {
        (b'v', _) | (b'V', Dialect::Lenient) => 1,
        _ => 0,
    };
    let mut core = Vec::with_capacity(3);
    loop {
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if start == pos {
            return Err(ErrorKind::Unexpected {
                at: start,
                expected: EXPECTED_NUMBER,
            });
        }
        if b[start] == b'0' && pos - start > 1 {
            return Err(ErrorKind::LeadingZero { at: start });
        }
        core.push(Number::new(&s[start..pos]));
        if core.len() == 3 || b.get(pos) != Some(&b'.') {
            break;
        }
        pos += 1;
    }
    let short = core.len() < 3;
    let tail_ok = match b.get(pos) {
        None => true,
        Some(b'-' | b'+') => !(short && dialect == Dialect::Go),
        Some(_) => false,
    };
    if !tail_ok {
        let expected = match (short, dialect) {
            (true, Dialect::Go) => EXPECTED_GO_PATCH,
            (true, Dialect::Lenient) => EXPECTED_TAIL,
            (false, _) => EXPECTED_TAIL_FULL,
        };
        return Err(ErrorKind::Unexpected { at: pos, expected });
    }
    let rest = &s[pos..];
    let (pre_text, build) = match rest.split_once('+') {
        Some((pre, build)) => (pre, Some((pos + pre.len() + 1, build))),
        None => (rest, None),
    };
    let pre = match pre_text.strip_prefix('-') {
        Some(text) => match ::semver::Prerelease::new(text) {
            Ok(pre) if !text.is_empty() => pre,
            _ => return Err(ErrorKind::InvalidPrerelease { at: pos + 1 }),
        },
        None => ::semver::Prerelease::EMPTY,
    };
    if let Some((at, build)) = build
        && (build.is_empty() || ::semver::BuildMetadata::new(build).is_err())
    {
        return Err(ErrorKind::InvalidBuild { at });
    }
    let mut core = core.into_iter();
    let mut component = || core.next().unwrap_or_else(|| Number::new(""));
    Ok(SemverVersion {
        original: s.into(),
        major: component(),
        minor: component(),
        patch: component(),
        pre,
    })
}

impl Ord for SemverVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then_with(|| self.minor.cmp(&other.minor))
            .then_with(|| self.patch.cmp(&other.patch))
            .then_with(|| self.pre.cmp(&other.pre))
    }
}

impl PartialOrd for SemverVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Equal in precedence: `v1.0 == 1.0.0+build`.
impl PartialEq for SemverVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemverVersion {}

impl fmt::Display for SemverVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for SemverVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_kind(s).map_err(|kind| VersionError::new(Scheme::Semver, s, kind))
    }
}

impl FromStr for GoVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_kind(s).map_err(|kind| VersionError::new(Scheme::Go, s, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_ascending, check_invalid, check_pairs};
    use super::*;

    #[test]
    fn semver_org_precedence_examples() {
        // semver.org §11.2 and §11.4.
        check_ascending(Scheme::Semver, &["1.0.0", "2.0.0", "2.1.0", "2.1.1"]);
        check_ascending(
            Scheme::Semver,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
        );
    }

    #[test]
    fn semver_pairs() {
        check_pairs(
            Scheme::Semver,
            &[
                // Build metadata never counts (§10).
                ("1.0.0+build.1", '=', "1.0.0+build.2"),
                ("1.0.0+build", '=', "1.0.0"),
                ("1.0.0-rc.1+build.1", '=', "1.0.0-rc.1"),
                ("1.0.0-rc.1+build.1", '<', "1.0.0"),
                ("1.3.7+build.11.e0f985a", '=', "1.3.7+build.2.b8f12d7"),
                // Leniency for feeds.
                ("1.0", '=', "1.0.0"),
                ("1", '=', "1.0.0"),
                ("v1.0.0", '=', "1.0.0"),
                ("V2", '=', "2.0.0"),
                ("1.2-beta", '=', "1.2.0-beta"),
                ("v1.2.3-rc.1+b", '=', "1.2.3-rc.1"),
                // Identifier rules.
                ("1.0.0-1", '<', "1.0.0-a"),
                ("1.0.0-2", '<', "1.0.0-10"),
                ("1.0.0-a10", '<', "1.0.0-a9"),
                ("1.0.0-rc.9", '<', "1.0.0-rc.10"),
                ("1.0.0-alpha-1", '<', "1.0.0-alpha-2"),
                ("1.0.0-0", '<', "1.0.0-0.0"),
                ("1.0.0-A", '<', "1.0.0-a"),
                ("1.0.0-0", '<', "1.0.0--"),
                ("1.0.0-x.7.z.92", '<', "1.0.0-x.7.z.93"),
                ("1.0.0-x-y-z.--", '>', "1.0.0-x-y-z.-"),
                ("0.0.0", '<', "0.0.1-0"),
                (
                    "1.0.0-99999999999999999999",
                    '<',
                    "1.0.0-100000000000000000000",
                ),
                // Core numbers.
                ("1.9.0", '<', "1.10.0"),
                ("1.0.10", '>', "1.0.9"),
                ("18446744073709551616.0.0", '>', "18446744073709551615.0.0"),
                ("2.0.0-alpha", '>', "1.99.99"),
                // Real npm, crates.io and GHSA versions.
                ("4.17.20", '<', "4.17.21"),
                ("0.1.0", '<', "0.10.0"),
                ("1.0.0-beta.3", '<', "1.0.0"),
                ("5.0.0-rc.0", '<', "5.0.0-rc.1"),
                ("7.0.0-next.0", '<', "7.0.0"),
                ("0.0.0-insiders.20240101", '<', "0.0.0-insiders.20240102"),
            ],
        );
    }

    #[test]
    fn go_pairs() {
        check_pairs(
            Scheme::Go,
            &[
                ("v1.2.3", '=', "1.2.3"),
                ("v1.2.3+incompatible", '=', "v1.2.3"),
                ("v2.0.0+incompatible", '>', "v1.9.9"),
                ("v1", '=', "v1.0.0"),
                ("v1.2", '=', "v1.2.0"),
                (
                    "v0.0.0-20191109021931-daa7c04131f5",
                    '<',
                    "v0.0.0-20200101000000-aaaaaaaaaaaa",
                ),
                ("v0.0.0-20191109021931-daa7c04131f5", '<', "v0.0.1"),
                ("v0.0.0-20191109021931-daa7c04131f5", '>', "v0.0.0-2019"),
                ("v1.2.3", '<', "v1.2.4-0.20191109021931-daa7c04131f5"),
                ("v1.2.4-0.20191109021931-daa7c04131f5", '<', "v1.2.4"),
                (
                    "v1.2.4-pre",
                    '<',
                    "v1.2.4-pre.0.20191109021931-daa7c04131f5",
                ),
                (
                    "v1.2.4-pre.0.20191109021931-daa7c04131f5",
                    '<',
                    "v1.2.4-pre.1",
                ),
                ("v0.3.1-0.20230104180900-2d6a6d8e9a5f", '<', "v0.3.1"),
                ("v1.10.0", '>', "v1.9.0"),
                ("0.4.0", '<', "v0.4.1"),
                // Real module versions from Go advisories.
                ("v0.17.0", '<', "v0.23.0"),
                ("0.7.0", '<', "0.17.0"),
                ("v1.51.0", '<', "v1.56.3"),
                ("v1.56.3", '<', "v1.57.1"),
                (
                    "v0.0.0-20220722155217-630584e8d5aa",
                    '<',
                    "v0.0.0-20220722155237-a158d28d115b",
                ),
                ("v0.0.0-20210921155107-089bfa567519", '<', "v0.1.0"),
                ("v2.1.0+incompatible", '<', "v2.1.1+incompatible"),
                ("v17.0.0+incompatible", '>', "v2.1.1+incompatible"),
                ("v1.6.1-0.20231017193806-35c6da9f4d52", '>', "v1.6.0"),
                ("v1.6.1-0.20231017193806-35c6da9f4d52", '<', "v1.6.1-rc.1"),
                ("v3.0.0-rc.1", '<', "v3.0.0"),
                ("v1.2.3", '=', "v1.2.3+meta"),
            ],
        );
    }

    #[test]
    fn invalid_versions() {
        check_invalid(
            Scheme::Semver,
            &[
                ("", ErrorKind::Empty),
                (
                    "1.0.0.0",
                    ErrorKind::Unexpected {
                        at: 5,
                        expected: EXPECTED_TAIL_FULL,
                    },
                ),
                ("01.0.0", ErrorKind::LeadingZero { at: 0 }),
                ("1.01.0", ErrorKind::LeadingZero { at: 2 }),
                ("v1.0.00", ErrorKind::LeadingZero { at: 5 }),
                ("1.0.0-", ErrorKind::InvalidPrerelease { at: 6 }),
                ("1.0.0-01", ErrorKind::InvalidPrerelease { at: 6 }),
                ("1.0.0-a..b", ErrorKind::InvalidPrerelease { at: 6 }),
                ("1.0.0-a_b", ErrorKind::InvalidPrerelease { at: 6 }),
                ("1.0.0+", ErrorKind::InvalidBuild { at: 6 }),
                ("1.0.0-rc+a+b", ErrorKind::InvalidBuild { at: 9 }),
                ("1.0.0+a..b", ErrorKind::InvalidBuild { at: 6 }),
                (" 1.0.0", ErrorKind::InvalidCharacter { at: 0, ch: ' ' }),
                ("1.0.0 ", ErrorKind::InvalidCharacter { at: 5, ch: ' ' }),
                (
                    "a.b.c",
                    ErrorKind::Unexpected {
                        at: 0,
                        expected: EXPECTED_NUMBER,
                    },
                ),
                (
                    "1.x",
                    ErrorKind::Unexpected {
                        at: 2,
                        expected: EXPECTED_NUMBER,
                    },
                ),
                (
                    "1.",
                    ErrorKind::Unexpected {
                        at: 2,
                        expected: EXPECTED_NUMBER,
                    },
                ),
                (
                    "1.0rc1",
                    ErrorKind::Unexpected {
                        at: 3,
                        expected: EXPECTED_TAIL,
                    },
                ),
                (
                    "vv1",
                    ErrorKind::Unexpected {
                        at: 1,
                        expected: EXPECTED_NUMBER,
                    },
                ),
            ],
        );
        check_invalid(
            Scheme::Go,
            &[
                (
                    "v1.2-pre",
                    ErrorKind::Unexpected {
                        at: 4,
                        expected: EXPECTED_GO_PATCH,
                    },
                ),
                (
                    "v1+incompatible",
                    ErrorKind::Unexpected {
                        at: 2,
                        expected: EXPECTED_GO_PATCH,
                    },
                ),
                ("v01.0.0", ErrorKind::LeadingZero { at: 1 }),
                (
                    "V1.0.0",
                    ErrorKind::Unexpected {
                        at: 0,
                        expected: EXPECTED_NUMBER,
                    },
                ),
                ("v1.0.0-", ErrorKind::InvalidPrerelease { at: 7 }),
            ],
        );
    }
}
