//! RPM version ordering (`rpmvercmp` and EVR comparison).
//!
//! An EVR is `[epoch:]version[-release]`:
//! - The epoch is the run of digits at the very start when a `:` follows it (`:1.0` has epoch 0,
//!   as rpm's parser says); otherwise there is no epoch and any `:` is part of the version. A
//!   missing epoch compares as 0.
//! - The release is everything after the LAST `-`.
//! - `rpmvercmp` splits each string into alphabetic and numeric segments; every other character
//!   is a separator and is skipped, so `1.0 == 1_0 == 1+0` and `a+ == a_`. Non-ASCII bytes are
//!   separators too. Numeric segments compare as numbers of any length (`10.0001 == 10.1`), a
//!   numeric segment is newer than an alphabetic one (`6.0.rc1 > 6.0`, `1.0a < 1.0.1`),
//!   alphabetic segments compare like `strcmp`.
//! - `~` sorts before everything, the end of the string included (`1.0~rc1 < 1.0`).
//!   `^` sorts after the end of the string but before any segment (`1.0 < 1.0^git1 < 1.01`).
//! - When one string runs out of segments and the other has one left, the longer one is newer:
//!   `2.0 < 2.0.1`, `2.0.1 < 2.0.1a`.
//! - rpm's range matching (`rpmdsCompare`) compares a release only when both sides have one:
//!   `1.0` matches `1.0-1` and `1.0-2` alike. That relation is not transitive, so it is
//!   [`RpmVersion::range_cmp`]; `Ord` refines it into a total order where a missing release sorts
//!   before any release, which is also how rpm 4.18 orders its Lua `rpm.ver` objects.
//! - Control characters and whitespace are rejected (rpm never trims); empty versions and empty
//!   releases (`1.0-`) are rejected.

use super::{ErrorKind, Scheme, VersionError, check_len, cmp_digits};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A parsed RPM `[epoch:]version[-release]`.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    original: Box<str>,
    /// Digits; `None` when the EVR has no epoch.
    epoch: Option<Box<str>>,
    version: Box<str>,
    release: Option<Box<str>>,
}

impl RpmVersion {
    /// The epoch as written (digits, "" for `:1.0`), `None` when absent.
    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    pub(super) fn parse_kind(s: &str) -> Result<Self, ErrorKind> {
        check_len(s)?;
        if s.is_empty() {
            return Err(ErrorKind::Empty);
        }
        if let Some((at, ch)) = s
            .char_indices()
            .find(|&(_, c)| c.is_control() || c.is_whitespace())
        {
            return Err(ErrorKind::InvalidCharacter { at, ch });
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match s[digits..].strip_prefix(':') {
            Some(rest) => (Some(&s[..digits]), rest),
            None => (None, s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release)),
            None => (rest, None),
        };
        if version.is_empty() {
            return Err(ErrorKind::EmptyVersion);
        }
        if release.is_some_and(str::is_empty) {
            return Err(ErrorKind::EmptyRelease);
        }
        Ok(Self {
            original: s.into(),
            epoch: epoch.map(Into::into),
            version: version.into(),
            release: release.map(Into::into),
        })
    }

    fn cmp_epoch_version(&self, other: &Self) -> Ordering {
        fn epoch(v: &RpmVersion) -> &[u8] {
            v.epoch.as_deref().unwrap_or("").as_bytes()
        }
        cmp_digits(epoch(self), epoch(other)).then_with(|| rpmvercmp(&self.version, &other.version))
    }

    /// rpm's comparison for matching a range: epoch (missing is 0), version, then the release
    /// only when both sides have one. Not transitive across versions with and without release;
    /// use it to compare a package against a bound, not to sort.
    pub fn range_cmp(&self, other: &Self) -> Ordering {
        self.cmp_epoch_version(other)
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                _ => Ordering::Equal,
            })
    }
}

/// One unit of `rpmvercmp`'s walk. Declaration order is the order between kinds, with the end
/// of the string between `~` and `^`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Tilde,
    End,
    Caret,
    Alpha,
    Numeric,
}

/// Next segment of `s` from byte `*pos`, skipping separators.
fn next_segment<'a>(s: &'a [u8], pos: &mut usize) -> (Kind, &'a [u8]) {
    while *pos < s.len() && !s[*pos].is_ascii_alphanumeric() && !matches!(s[*pos], b'~' | b'^') {
        *pos += 1;
    }
    let start = *pos;
    let Some(&c) = s.get(start) else {
        return (Kind::End, &[]);
    };
    let (kind, is_part): (Kind, fn(&u8) -> bool) = match c {
        b'~' => {
            *pos += 1;
            return (Kind::Tilde, &[]);
        }
        b'^' => {
            *pos += 1;
            return (Kind::Caret, &[]);
        }
        c if c.is_ascii_digit() => (Kind::Numeric, u8::is_ascii_digit),
        _ => (Kind::Alpha, u8::is_ascii_alphabetic),
    };
    while s.get(*pos).is_some_and(is_part) {
        *pos += 1;
    }
    (kind, &s[start..*pos])
}

/// rpm's `rpmvercmp`, as a walk over segments so that it is visibly a total order.
fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        let (ka, sa) = next_segment(a, &mut i);
        let (kb, sb) = next_segment(b, &mut j);
        let step = ka.cmp(&kb).then_with(|| match ka {
            Kind::Numeric => cmp_digits(sa, sb),
            Kind::Alpha => sa.cmp(sb),
            Kind::Tilde | Kind::End | Kind::Caret => Ordering::Equal,
        });
        if step != Ordering::Equal || ka == Kind::End {
            return step;
        }
    }
}

impl Ord for RpmVersion {
    /// A total order: [`RpmVersion::range_cmp`], with a missing release before any release.
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_epoch_version(other)
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

impl fmt::Display for RpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl FromStr for RpmVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_kind(s).map_err(|kind| VersionError::new(Scheme::Rpm, s, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_ascending, check_invalid, check_pairs};
    use super::*;

    /// rpm's tests/rpmvercmp.at, every case (its `dnl` oddities excluded).
    #[test]
    fn rpmvercmp_test_suite() {
        check_pairs(
            Scheme::Rpm,
            &[
                ("1.0", '=', "1.0"),
                ("1.0", '<', "2.0"),
                ("2.0.1", '=', "2.0.1"),
                ("2.0", '<', "2.0.1"),
                ("2.0.1a", '=', "2.0.1a"),
                ("2.0.1a", '>', "2.0.1"),
                ("5.5p1", '=', "5.5p1"),
                ("5.5p1", '<', "5.5p2"),
                ("5.5p10", '=', "5.5p10"),
                ("5.5p1", '<', "5.5p10"),
                ("10xyz", '<', "10.1xyz"),
                ("xyz10", '=', "xyz10"),
                ("xyz10", '<', "xyz10.1"),
                ("xyz.4", '=', "xyz.4"),
                ("xyz.4", '<', "8"),
                ("xyz.4", '<', "2"),
                ("5.5p2", '<', "5.6p1"),
                ("5.6p1", '<', "6.5p1"),
                ("6.0.rc1", '>', "6.0"),
                ("10b2", '>', "10a1"),
                ("10a2", '<', "10b2"),
                ("1.0aa", '=', "1.0aa"),
                ("1.0a", '<', "1.0aa"),
                ("10.0001", '=', "10.0001"),
                ("10.0001", '=', "10.1"),
                ("10.0001", '<', "10.0039"),
                ("4.999.9", '<', "5.0"),
                ("20101121", '=', "20101121"),
                ("20101121", '<', "20101122"),
                ("2_0", '=', "2_0"),
                ("2.0", '=', "2_0"),
                ("a", '=', "a"),
                ("a+", '=', "a+"),
                ("a+", '=', "a_"),
                ("+a", '=', "+a"),
                ("+a", '=', "_a"),
                ("+_", '=', "+_"),
                ("_+", '=', "+_"),
                ("+", '=', "_"),
                ("1.0~rc1", '=', "1.0~rc1"),
                ("1.0~rc1", '<', "1.0"),
                ("1.0~rc1", '<', "1.0~rc2"),
                ("1.0~rc1~git123", '=', "1.0~rc1~git123"),
                ("1.0~rc1~git123", '<', "1.0~rc1"),
                ("1.0^", '=', "1.0^"),
                ("1.0^", '>', "1.0"),
                ("1.0^git1", '=', "1.0^git1"),
                ("1.0^git1", '>', "1.0"),
                ("1.0^git1", '<', "1.0^git2"),
                ("1.0^git1", '<', "1.01"),
                ("1.0^20160101", '=', "1.0^20160101"),
                ("1.0^20160101", '<', "1.0.1"),
                ("1.0^20160101^git1", '=', "1.0^20160101^git1"),
                ("1.0^20160102", '>', "1.0^20160101^git1"),
                ("1.0~rc1^git1", '=', "1.0~rc1^git1"),
                ("1.0~rc1^git1", '>', "1.0~rc1"),
                ("1.0^git1~pre", '=', "1.0^git1~pre"),
                ("1.0^git1", '>', "1.0^git1~pre"),
            ],
        );
    }

    #[test]
    fn evr_pairs() {
        check_pairs(
            Scheme::Rpm,
            &[
                ("1:1.0-1", '>', "2.0-1"),
                ("0:1.0-1", '=', "1.0-1"),
                (":1.0-1", '=', "0:1.0-1"),
                ("1:1.0", '>', "1.0"),
                ("10:1.0", '>', "9:2.0"),
                ("1.0-1", '<', "1.0-2"),
                ("1.0-2", '<', "1.0-10"),
                ("1.0-1.el8", '<', "1.0-1.el9"),
                ("1.0-1.el8", '<', "1.0-1.el8_4"),
                ("2.28-151.el8", '<', "2.28-164.el8"),
                ("1.1.1k-5.el8_5", '<', "1.1.1k-6.el8_5"),
                ("1.1.1k-7.el8_6", '>', "1.1.1g-15.el8_3"),
                ("3.6.8-45.el8", '<', "3.6.8-51.el8_8.2"),
                ("7.61.1-22.el8", '<', "7.61.1-22.el8_6.3"),
                ("1.0-1.fc38", '<', "1.0.1-1.fc38"),
                ("1.0~rc1-1", '<', "1.0-1"),
                ("1.2.3-1.amzn2", '=', "1.2.3-1.amzn2"),
                ("2.17-326.el7_9", '>', "2.17-325.el7_9"),
                ("1.0-1a", '>', "1.0-1"),
                ("a:1.0", '=', "a:1.0"),
                // A release on one side only is ignored, as in rpm's range matching.
                ("1.0", '=', "1.0-1"),
                ("1.0", '=', "1.0-99.el9"),
                ("1:1.0", '=', "1:1.0-3"),
                ("1.0", '<', "1.0.1-1"),
                ("1.1", '>', "1.0-1"),
            ],
        );
    }

    #[test]
    fn tilde_and_caret_order() {
        check_ascending(
            Scheme::Rpm,
            &[
                "1.0~~", "1.0~rc1", "1.0~rc2", "1.0", "1.0^", "1.0^git1", "1.0^git2", "1.0a",
                "1.0.1", "1.01.1", "1:0.1",
            ],
        );
    }

    #[test]
    fn ord_is_total_where_range_cmp_is_not() {
        let bare: RpmVersion = "1.0".parse().expect("valid");
        let r1: RpmVersion = "1.0-1".parse().expect("valid");
        let r2: RpmVersion = "1.0-2".parse().expect("valid");
        assert_eq!(bare.range_cmp(&r1), Ordering::Equal);
        assert_eq!(bare.range_cmp(&r2), Ordering::Equal);
        assert_eq!(r1.range_cmp(&r2), Ordering::Less);
        let mut sorted = vec![r2.clone(), bare.clone(), r1.clone()];
        sorted.sort();
        assert_eq!(sorted, vec![bare, r1, r2]);
    }

    #[test]
    fn evr_is_split_like_rpm() {
        let v: RpmVersion = "2:1.0-1:2-3.el9".parse().expect("valid");
        assert_eq!(
            (v.epoch(), v.version(), v.release()),
            (Some("2"), "1.0-1:2", Some("3.el9"))
        );
        let v: RpmVersion = ":1.0".parse().expect("valid");
        assert_eq!(
            (v.epoch(), v.version(), v.release()),
            (Some(""), "1.0", None)
        );
        let v: RpmVersion = "x1:2".parse().expect("valid");
        assert_eq!((v.epoch(), v.version(), v.release()), (None, "x1:2", None));
    }

    #[test]
    fn invalid_versions() {
        check_invalid(
            Scheme::Rpm,
            &[
                ("", ErrorKind::Empty),
                ("1.0-", ErrorKind::EmptyRelease),
                ("-1", ErrorKind::EmptyVersion),
                ("1:-1", ErrorKind::EmptyVersion),
                ("1:", ErrorKind::EmptyVersion),
                ("1.0 1", ErrorKind::InvalidCharacter { at: 3, ch: ' ' }),
                (" 1.0", ErrorKind::InvalidCharacter { at: 0, ch: ' ' }),
                ("1.0\n", ErrorKind::InvalidCharacter { at: 3, ch: '\n' }),
            ],
        );
    }
}
