//! Debian version ordering (Debian Policy 5.6.12, dpkg's `verrevcmp`).
//!
//! A version is `[epoch:]upstream[-revision]`:
//! - The epoch is everything before the FIRST `:`; the revision is everything after the LAST
//!   `-`. So `0:1:2-3-4` has upstream `1:2-3` and revision `4`; an upstream may hold `:` and `-`
//!   only when an epoch / a revision is present.
//! - A missing epoch is 0 and a missing revision is the empty string, which compares equal to
//!   `0`: `1.0`, `0:1.0` and `1.0-0` are the same version. An empty revision (`1.0-`) is an
//!   error, as in dpkg 1.21.
//! - Upstream and revision are compared with the same algorithm: alternately a run of non-digits
//!   (character by character, where `~` sorts before everything, even the end of the string,
//!   letters sort before non-letters, and the end of the string sorts between `~` and anything
//!   else) and a run of digits (numerically, so `1.10 > 1.9` and `1.01 == 1.1`).
//!   Hence `1.0~rc1 < 1.0 < 1.0a < 1.0+dfsg < 1.0.1`.
//! - dpkg trims surrounding whitespace and rejects embedded whitespace. It only warns when the
//!   upstream version does not start with a digit or has characters outside Policy's set; we
//!   compare those like dpkg does. Non-ASCII bytes are rejected: dpkg's order for them depends on
//!   the platform's `char` signedness.
//! - The epoch is a number up to `i32::MAX`, read like C's `strtol` (so `+1:` and `-0:` are
//!   accepted); larger, negative or non-numeric epochs are errors.

use super::{ErrorKind, Scheme, VersionError, check_len};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A parsed Debian version.
#[derive(Debug, Clone)]
pub struct DpkgVersion {
    original: Box<str>,
    epoch: u32,
    upstream: Box<str>,
    /// Empty when absent.
    revision: Box<str>,
}

impl DpkgVersion {
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The Debian revision; empty when the version has none.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    pub(super) fn parse_kind(s: &str) -> Result<Self, ErrorKind> {
        check_len(s)?;
        // C `isspace` in the C locale.
        let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
        let trimmed = s.trim_start_matches(is_space);
        let offset = s.len() - trimmed.len();
        let trimmed = trimmed.trim_end_matches(is_space);
        if trimmed.is_empty() {
            return Err(ErrorKind::Empty);
        }
        if let Some((at, ch)) = trimmed.char_indices().find(|&(_, c)| !c.is_ascii_graphic()) {
            return Err(ErrorKind::InvalidCharacter {
                at: offset + at,
                ch,
            });
        }
        let (epoch, rest) = match trimmed.split_once(':') {
            Some((epoch, rest)) => (parse_epoch(epoch, offset)?, rest),
            None => (0, trimmed),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        if upstream.is_empty() {
            return Err(ErrorKind::EmptyVersion);
        }
        if revision.is_empty() && rest.ends_with('-') {
            return Err(ErrorKind::EmptyRelease);
        }
        Ok(Self {
            original: s.into(),
            epoch,
            upstream: upstream.into(),
            revision: revision.into(),
        })
    }
}

/// Reads the epoch like dpkg's `strtol` call: an optional sign, then digits; `-0` is 0.
fn parse_epoch(epoch: &str, offset: usize) -> Result<u32, ErrorKind> {
    let (negative, digits) = match epoch.as_bytes().first() {
        Some(b'-') => (true, &epoch[1..]),
        Some(b'+') => (false, &epoch[1..]),
        _ => (false, epoch),
    };
    if digits.is_empty() {
        return Err(ErrorKind::EmptyEpoch);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ErrorKind::InvalidEpoch);
    }
    if negative && digits.bytes().any(|b| b != b'0') {
        return Err(ErrorKind::InvalidEpoch);
    }
    match digits.parse::<u32>() {
        Ok(n) if i32::try_from(n).is_ok() => Ok(n),
        _ => Err(ErrorKind::NumberTooLarge { at: offset }),
    }
}

/// dpkg's weight of one character of a non-digit run; `None` is the end of the string.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit and digit runs.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let is_digit = |s: &[u8], i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            // Equal weights here mean both are the same kind of non-digit, so neither is at its end.
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while is_digit(a, i) && is_digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if is_digit(a, i) {
            return Ordering::Greater;
        }
        if is_digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

impl PartialOrd for DpkgVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Equal as dpkg compares: `1.0 == 0:1.0 == 1.0-0 == 1.00`.
impl PartialEq for DpkgVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DpkgVersion {}

impl fmt::Display for DpkgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl FromStr for DpkgVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_kind(s).map_err(|kind| VersionError::new(Scheme::Dpkg, s, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_ascending, check_invalid, check_pairs};
    use super::*;

    #[test]
    fn policy_and_dpkg_pairs() {
        check_pairs(
            Scheme::Dpkg,
            &[
                // dpkg lib/dpkg/t/t-version.c
                ("0", '=', "0:0"),
                ("0:0-0", '=', "0"),
                ("0-00", '=', "00-0"),
                ("1:2-3", '=', "1:2-3"),
                ("0:0-0", '<', "1:0-0"),
                ("0:a-0", '<', "0:b-0"),
                ("0:0-a", '<', "0:0-b"),
                ("1-1", '<', "2-1"),
                ("1-1", '<', "1-2"),
                ("0:0.0-0.0", '>', "0:0-0"),
                ("0:0-0-0", '=', "0-0-0"),
                ("0:0:0-0", '=', "0:0:0-0"),
                ("0:0-0:0-0", '>', "0:0-0-0"),
                ("  \t0:0-1", '=', "0:0-1"),
                ("0:0-1\t  ", '=', "0:0-1"),
                ("0:09azAZ.-+~:-0", '=', "0:09azAZ.-+~:-0"),
                ("0:0-azAZ09.+~", '=', "0-azAZ09.+~"),
                // Policy 5.6.12: "~~, ~~a, ~, the empty part, a"
                ("1.0~~", '<', "1.0~~a"),
                ("1.0~~a", '<', "1.0~"),
                ("1.0~", '<', "1.0"),
                ("1.0", '<', "1.0a"),
                ("1.0~rc1", '<', "1.0"),
                ("1.0~rc1", '<', "1.0~rc2"),
                ("1.0~rc1-1", '<', "1.0-1"),
                // Letters before non-letters, the end of the string before both.
                ("1.0a", '<', "1.0+"),
                ("1.0a", '<', "1.0.1"),
                ("1.0+dfsg-1", '>', "1.0-1"),
                ("1.0~dfsg-1", '<', "1.0-1"),
                ("1.0", '<', "1.0.0"),
                ("1.0", '<', "1.0-0.1"),
                ("1.0-1", '<', "1.0.1"),
                ("1.0-1", '<', "1.0-1.1"),
                ("1.0-1", '<', "1.0-1ubuntu1"),
                ("1.0-1~bpo11+1", '<', "1.0-1"),
                ("1.0-1", '=', "1.0-01"),
                ("1.0", '=', "1.00"),
                ("1.0", '=', "1.0-0"),
                ("a", '<', "b"),
                ("A", '<', "a"),
                ("Z", '<', "a"),
                // Digit runs are numbers of any length.
                ("1.2.3", '<', "1.2.10"),
                ("2.30-1", '>', "2.3-1"),
                ("1.01", '=', "1.1"),
                (
                    "1.123456789012345678901234567890",
                    '<',
                    "1.123456789012345678901234567891",
                ),
                ("1.99999999999999999999", '<', "1.100000000000000000000"),
                // Epochs win over everything.
                ("1:0.1", '>', "9.9"),
                ("2:1.0", '>', "1:9.9"),
                ("0:1.0", '=', "1.0"),
                ("1:1.0", '>', "1.0"),
                ("+1:1.0", '=', "1:1.0"),
                ("-0:1.0", '=', "1.0"),
                // Real Debian and Ubuntu versions.
                ("7.74.0-1.3+deb11u7", '<', "7.88.1-10+deb12u5"),
                ("2.36-9+deb12u4", '<', "2.36-9+deb12u10"),
                ("1.0-1+deb11u1", '<', "1.0-1+deb12u1"),
                ("3.0.11-1~deb12u2", '<', "3.0.11-1"),
                ("1.2.3-1build1", '>', "1.2.3-1"),
                ("2.4.52-1ubuntu4.6", '<', "2.4.52-1ubuntu4.10"),
                ("1:9.18.19-1~deb12u1", '>', "9.18.28-1~deb12u2"),
                ("4.19.0-21", '<', "4.19.0-21+b1"),
                ("252.22-1~deb12u1", '<', "252.26-1~deb12u2"),
                ("1.1.1n-0+deb11u5", '<', "1.1.1w-0+deb11u1"),
            ],
        );
    }

    #[test]
    fn policy_tilde_list_ascends() {
        check_ascending(
            Scheme::Dpkg,
            &[
                "1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a", "1.0+", "1.0.0", "1.0.1", "1:0.1",
            ],
        );
    }

    #[test]
    fn parts_are_split_like_dpkg() {
        let v: DpkgVersion = "0:0:0-0-0".parse().expect("valid");
        assert_eq!((v.epoch(), v.upstream(), v.revision()), (0, "0:0-0", "0"));
        let v: DpkgVersion = " 7:1.2-3 ".parse().expect("valid");
        assert_eq!((v.epoch(), v.upstream(), v.revision()), (7, "1.2", "3"));
        assert_eq!(v.to_string(), " 7:1.2-3 ");
        let v: DpkgVersion = "1.2".parse().expect("valid");
        assert_eq!((v.epoch(), v.upstream(), v.revision()), (0, "1.2", ""));
        assert_eq!(
            "2147483647:1".parse::<DpkgVersion>().map(|v| v.epoch()),
            Ok(2147483647)
        );
    }

    #[test]
    fn invalid_versions() {
        check_invalid(
            Scheme::Dpkg,
            &[
                ("", ErrorKind::Empty),
                ("  ", ErrorKind::Empty),
                ("0:", ErrorKind::EmptyVersion),
                ("0:0-", ErrorKind::EmptyRelease),
                ("1.0-", ErrorKind::EmptyRelease),
                ("-0", ErrorKind::EmptyVersion),
                ("0:-0", ErrorKind::EmptyVersion),
                (":1.0", ErrorKind::EmptyEpoch),
                ("+:1.0", ErrorKind::EmptyEpoch),
                ("-01:1.0", ErrorKind::InvalidEpoch),
                ("a:0-0", ErrorKind::InvalidEpoch),
                ("A:0-0", ErrorKind::InvalidEpoch),
                ("-1:0-1", ErrorKind::InvalidEpoch),
                (
                    "999999999999999999999999:0-1",
                    ErrorKind::NumberTooLarge { at: 0 },
                ),
                ("2147483648:0", ErrorKind::NumberTooLarge { at: 0 }),
                (" 2147483648:0", ErrorKind::NumberTooLarge { at: 1 }),
                ("0:0 0-1", ErrorKind::InvalidCharacter { at: 3, ch: ' ' }),
                (
                    "1.0\u{e9}",
                    ErrorKind::InvalidCharacter {
                        at: 3,
                        ch: '\u{e9}',
                    },
                ),
                (
                    "1.0\u{1}",
                    ErrorKind::InvalidCharacter { at: 3, ch: '\u{1}' },
                ),
                ("1\t.0", ErrorKind::InvalidCharacter { at: 1, ch: '\t' }),
            ],
        );
    }
}
