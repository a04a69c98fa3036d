//! Exact version ordering, one module per scheme, no IO.
//!
//! - `dpkg`: Debian and Ubuntu (`epoch:upstream-revision`, `~` before everything).
//! - `rpm`: Red Hat, SUSE, Amazon, Oracle, Photon (`rpmvercmp`, `~` and `^`, EVR).
//! - `apk`: Alpine and Wolfi (apk-tools tokens: `_alpha` ... `_p`, `-rN`).
//! - `pep440`: PyPI (epochs, pre/post/dev, local versions, normalisation).
//! - `semver`: npm, crates.io, GHSA, NuGet-style strings (SemVer 2.0 §11, lenient `v1.0`); the
//!   same module also holds Go module versions (`v1.2.3`, pseudo-versions, `+incompatible`).
//! - `maven`: Maven `ComparableVersion` (3.9 line).
//! - `gem`: RubyGems `Gem::Version`.
//!
//! Traps shared by every scheme:
//! - Equality is the scheme's, not the string's: `1.0` equals `1.0.0` in PEP 440, Maven and
//!   RubyGems, `1.0` equals `1.00` in dpkg and rpm, but not in apk.
//! - Numbers are compared as numbers of any length (digit strings, never parsed into a machine
//!   integer that could overflow), except where the reference implementation itself rejects large
//!   numbers (dpkg epochs, SemVer components).
//! - Input is bounded: a version longer than [`MAX_VERSION_LEN`] bytes is rejected before any work,
//!   so parsing and comparing are linear in at most that many bytes, and nothing panics.
//! - An empty version is rejected by every scheme (RubyGems would read it as `0`, but an empty
//!   version in a feed or a package database is a data error, not version zero).
//! - rpm's comparison of versions where only one side has a release is not a total order
//!   (`1.0` equals both `1.0-1` and `1.0-2`), so [`ParsedVersion::cmp_same`] and
//!   [`Scheme::compare`] use rpm's range semantics while [`rpm::RpmVersion`]'s `Ord` is a total
//!   refinement of it, safe for sorting.

pub mod apk;
pub mod dpkg;
pub mod gem;
pub mod maven;
pub mod pep440;
pub mod rpm;
pub mod semver;

use std::cmp::Ordering;
use std::fmt;

/// Longest version string accepted, in bytes. Real versions are far shorter (the longest in
/// Debian's archive is under 100 bytes); Maven bounds its own parser at the same length.
pub const MAX_VERSION_LEN: usize = 256;

/// How much of a rejected input an error keeps, in characters.
const ERROR_INPUT_CHARS: usize = 64;

/// A version ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Dpkg,
    Rpm,
    Apk,
    Pep440,
    Semver,
    Go,
    Maven,
    Gem,
}

impl Scheme {
    /// Every scheme, in declaration order.
    pub const ALL: [Scheme; 8] = [
        Scheme::Dpkg,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Maven,
        Scheme::Gem,
    ];

    /// Short lowercase name, used in errors.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Pep440 => "pep440",
            Scheme::Semver => "semver",
            Scheme::Go => "go",
            Scheme::Maven => "maven",
            Scheme::Gem => "gem",
        }
    }

    /// Parses `s` once, for many comparisons.
    pub fn parse(self, s: &str) -> Result<ParsedVersion, VersionError> {
        let parsed = match self {
            Scheme::Dpkg => dpkg::DpkgVersion::parse_kind(s).map(ParsedVersion::Dpkg),
            Scheme::Rpm => rpm::RpmVersion::parse_kind(s).map(ParsedVersion::Rpm),
            Scheme::Apk => apk::ApkVersion::parse_kind(s).map(ParsedVersion::Apk),
            Scheme::Pep440 => pep440::Pep440Version::parse_kind(s).map(ParsedVersion::Pep440),
            Scheme::Semver => semver::SemverVersion::parse_kind(s).map(ParsedVersion::Semver),
            Scheme::Go => semver::GoVersion::parse_kind(s).map(ParsedVersion::Go),
            Scheme::Maven => maven::MavenVersion::parse_kind(s).map(ParsedVersion::Maven),
            Scheme::Gem => gem::GemVersion::parse_kind(s).map(ParsedVersion::Gem),
        };
        parsed.map_err(|kind| VersionError::new(self, s, kind))
    }

    /// Compares two version strings of this scheme. For rpm, a release present on only one side
    /// is ignored, as rpm does when it matches a dependency range.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let a = self.parse(a)?;
        let b = self.parse(b)?;
        // Both were parsed by `self`, so `cmp_same` always answers; Equal is unreachable.
        Ok(a.cmp_same(&b).unwrap_or(Ordering::Equal))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A version parsed by one scheme. Two versions of different schemes do not compare.
///
/// `==` is the equality of each scheme's `Ord` (for rpm the total order, where `1.0 != 1.0-1`);
/// [`ParsedVersion::cmp_same`] is what matching should use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedVersion {
    Dpkg(dpkg::DpkgVersion),
    Rpm(rpm::RpmVersion),
    Apk(apk::ApkVersion),
    Pep440(pep440::Pep440Version),
    Semver(semver::SemverVersion),
    Go(semver::GoVersion),
    Maven(maven::MavenVersion),
    Gem(gem::GemVersion),
}

impl ParsedVersion {
    /// The scheme that parsed this version.
    pub fn scheme(&self) -> Scheme {
        match self {
            ParsedVersion::Dpkg(_) => Scheme::Dpkg,
            ParsedVersion::Rpm(_) => Scheme::Rpm,
            ParsedVersion::Apk(_) => Scheme::Apk,
            ParsedVersion::Pep440(_) => Scheme::Pep440,
            ParsedVersion::Semver(_) => Scheme::Semver,
            ParsedVersion::Go(_) => Scheme::Go,
            ParsedVersion::Maven(_) => Scheme::Maven,
            ParsedVersion::Gem(_) => Scheme::Gem,
        }
    }

    /// Compares with a version of the same scheme; `None` across schemes. For rpm this is
    /// [`rpm::RpmVersion::range_cmp`] (a release on one side only is ignored).
    pub fn cmp_same(&self, other: &ParsedVersion) -> Option<Ordering> {
        use ParsedVersion as P;
        match (self, other) {
            (P::Dpkg(a), P::Dpkg(b)) => Some(a.cmp(b)),
            (P::Rpm(a), P::Rpm(b)) => Some(a.range_cmp(b)),
            (P::Apk(a), P::Apk(b)) => Some(a.cmp(b)),
            (P::Pep440(a), P::Pep440(b)) => Some(a.cmp(b)),
            (P::Semver(a), P::Semver(b)) => Some(a.cmp(b)),
            (P::Go(a), P::Go(b)) => Some(a.cmp(b)),
            (P::Maven(a), P::Maven(b)) => Some(a.cmp(b)),
            (P::Gem(a), P::Gem(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl fmt::Display for ParsedVersion {
    /// The version as it was given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParsedVersion::Dpkg(v) => v.fmt(f),
            ParsedVersion::Rpm(v) => v.fmt(f),
            ParsedVersion::Apk(v) => v.fmt(f),
            ParsedVersion::Pep440(v) => v.fmt(f),
            ParsedVersion::Semver(v) => v.fmt(f),
            ParsedVersion::Go(v) => v.fmt(f),
            ParsedVersion::Maven(v) => v.fmt(f),
            ParsedVersion::Gem(v) => v.fmt(f),
        }
    }
}

/// A version string a scheme could not parse: which scheme, which string, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {} version {:?}: {}", .0.scheme, .0.input, .0.kind)]
pub struct VersionError(Box<ErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorInner {
    scheme: Scheme,
    /// The input, cut to [`ERROR_INPUT_CHARS`] characters (with `…`) so errors stay small.
    input: String,
    kind: ErrorKind,
}

impl VersionError {
    fn new(scheme: Scheme, input: &str, kind: ErrorKind) -> Self {
        let input = match input.char_indices().nth(ERROR_INPUT_CHARS) {
            Some((cut, _)) => format!("{}…", &input[..cut]),
            None => input.to_owned(),
        };
        Self(Box::new(ErrorInner {
            scheme,
            input,
            kind,
        }))
    }

    pub fn scheme(&self) -> Scheme {
        self.0.scheme
    }

    /// The rejected input (at most 64 characters of it, then `…`).
    pub fn input(&self) -> &str {
        &self.0.input
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
}

/// Why a version string was rejected. Offsets are byte offsets into the input as given.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("empty version")]
    Empty,
    #[error("{len} bytes long, more than the {MAX_VERSION_LEN} allowed")]
    TooLong { len: usize },
    #[error("character {ch:?} at byte {at} is not allowed")]
    InvalidCharacter { at: usize, ch: char },
    #[error("expected {expected} at byte {at}")]
    Unexpected { at: usize, expected: &'static str },
    #[error("empty epoch before ':'")]
    EmptyEpoch,
    #[error("epoch is not a non-negative number")]
    InvalidEpoch,
    #[error("number at byte {at} is too large")]
    NumberTooLarge { at: usize },
    #[error("number at byte {at} has a leading zero")]
    LeadingZero { at: usize },
    #[error("empty version part")]
    EmptyVersion,
    #[error("empty release after '-'")]
    EmptyRelease,
    #[error("invalid pre-release identifiers at byte {at}")]
    InvalidPrerelease { at: usize },
    #[error("invalid build metadata at byte {at}")]
    InvalidBuild { at: usize },
}

/// Rejects over-long input before any other work.
fn check_len(s: &str) -> Result<(), ErrorKind> {
    if s.len() > MAX_VERSION_LEN {
        return Err(ErrorKind::TooLong { len: s.len() });
    }
    Ok(())
}

/// Compares two runs of ASCII digits as unbounded non-negative numbers (an empty run is zero).
fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    fn strip(s: &[u8]) -> &[u8] {
        let zeros = s.iter().take_while(|&&c| c == b'0').count();
        &s[zeros..]
    }
    let (a, b) = (strip(a), strip(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A run of ASCII digits kept as text with its leading zeros removed ("" is zero), so any length
/// compares exactly and cheaply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Number(Box<str>);

impl Number {
    fn new(digits: &str) -> Self {
        Number(digits.trim_start_matches('0').into())
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod test_support {
    //! Table helpers shared by the scheme tests.

    use super::{ErrorKind, Scheme};
    use std::cmp::Ordering;

    /// Checks `a op b` and `b op' a` through `Scheme::compare` and through parsed values.
    pub(super) fn check_pairs(scheme: Scheme, pairs: &[(&str, char, &str)]) {
        for &(a, op, b) in pairs {
            let want = match op {
                '<' => Ordering::Less,
                '=' => Ordering::Equal,
                '>' => Ordering::Greater,
                _ => panic!("bad op {op:?} in table"),
            };
            let got = scheme
                .compare(a, b)
                .unwrap_or_else(|e| panic!("{scheme}: {a:?} vs {b:?}: {e}"));
            assert_eq!(got, want, "{scheme}: {a:?} {op} {b:?}");
            let back = scheme
                .compare(b, a)
                .expect("parsed one way, must parse the other");
            assert_eq!(back, want.reverse(), "{scheme}: {b:?} vs {a:?} (reversed)");
            let pa = scheme.parse(a).expect("compared, so parses");
            let pb = scheme.parse(b).expect("compared, so parses");
            assert_eq!(
                pa.cmp_same(&pb),
                Some(want),
                "{scheme}: parsed {a:?} {op} {b:?}"
            );
        }
    }

    /// Checks that every element is less than every later one (and equal to itself).
    pub(super) fn check_ascending(scheme: Scheme, list: &[&str]) {
        let parsed: Vec<_> = list
            .iter()
            .map(|s| {
                scheme
                    .parse(s)
                    .unwrap_or_else(|e| panic!("{scheme}: {s:?}: {e}"))
            })
            .collect();
        for (i, a) in parsed.iter().enumerate() {
            assert_eq!(
                a.cmp_same(a),
                Some(Ordering::Equal),
                "{scheme}: {}",
                list[i]
            );
            for (j, b) in parsed.iter().enumerate().skip(i + 1) {
                assert_eq!(
                    a.cmp_same(b),
                    Some(Ordering::Less),
                    "{scheme}: {} < {}",
                    list[i],
                    list[j]
                );
                assert_eq!(
                    b.cmp_same(a),
                    Some(Ordering::Greater),
                    "{scheme}: {} > {}",
                    list[j],
                    list[i]
                );
            }
        }
    }

    /// Checks that each input is rejected with exactly this kind.
    pub(super) fn check_invalid(scheme: Scheme, cases: &[(&str, ErrorKind)]) {
        for (input, kind) in cases {
            match scheme.parse(input) {
                Ok(v) => panic!("{scheme}: {input:?} parsed as {v:?}"),
                Err(e) => {
                    assert_eq!(e.kind(), *kind, "{scheme}: {input:?}: {e}");
                    assert_eq!(e.scheme(), scheme);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_rejects_empty_and_overlong_input() {
        let long = "1".repeat(MAX_VERSION_LEN + 1);
        for scheme in Scheme::ALL {
            assert_eq!(
                scheme.parse("").map_err(|e| e.kind()),
                Err(ErrorKind::Empty),
                "{scheme}"
            );
            let err = scheme.parse(&long).expect_err("over the limit");
            assert_eq!(err.kind(), ErrorKind::TooLong { len: 257 }, "{scheme}");
            assert_eq!(err.input().chars().count(), ERROR_INPUT_CHARS + 1);
            assert!(err.input().ends_with('…'));
        }
    }

    #[test]
    fn versions_of_different_schemes_do_not_compare() {
        let deb = Scheme::Dpkg.parse("1.0").expect("valid");
        let rpm = Scheme::Rpm.parse("1.0").expect("valid");
        let semver = Scheme::Semver.parse("1.0.0").expect("valid");
        let go = Scheme::Go.parse("v1.0.0").expect("valid");
        assert_eq!(deb.cmp_same(&rpm), None);
        assert_eq!(semver.cmp_same(&go), None);
        assert_eq!(deb.cmp_same(&deb), Some(Ordering::Equal));
        assert_eq!(go.scheme(), Scheme::Go);
    }

    #[test]
    fn error_names_scheme_input_and_reason() {
        let err = Scheme::Dpkg.compare("1.0", "a:1").expect_err("bad epoch");
        assert_eq!(err.scheme(), Scheme::Dpkg);
        assert_eq!(err.input(), "a:1");
        assert_eq!(err.kind(), ErrorKind::InvalidEpoch);
        assert_eq!(
            err.to_string(),
            "invalid dpkg version \"a:1\": epoch is not a non-negative number"
        );
    }

    #[test]
    fn parsed_version_displays_its_input() {
        let v = Scheme::Maven.parse("1.0-SNAPSHOT").expect("valid");
        assert_eq!(v.to_string(), "1.0-SNAPSHOT");
    }

    #[test]
    fn digit_runs_compare_as_unbounded_numbers() {
        assert_eq!(cmp_digits(b"0010", b"9"), Ordering::Greater);
        assert_eq!(cmp_digits(b"", b"000"), Ordering::Equal);
        assert_eq!(
            cmp_digits(
                b"123456789012345678901234567890",
                b"123456789012345678901234567891"
            ),
            Ordering::Less
        );
        assert!(Number::new("000").is_zero());
        assert_eq!(Number::new("07").cmp(&Number::new("7")), Ordering::Equal);
    }
}
