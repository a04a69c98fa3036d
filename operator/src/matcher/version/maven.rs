//! Maven version ordering: `org.apache.maven.artifact.versioning.ComparableVersion` as in the
//! Maven 3.9 line (the Maven that resolves most builds today, and the order OSV and GHSA use).
//!
//! - The lowercased string is cut at `.`, at `-` and at every switch between digits and
//!   non-digits into numbers and qualifiers. A `-` and a digit/letter switch open a nested list,
//!   so `1-1` is `[1, [1]]` while `1.1` is `[1, 1]`: a number after `.` beats one after `-`
//!   (`1-1 < 1.1`), and `1.0.0.X1 < 1.0.0-X2` because `.X` is read as `-X` for a qualifier X.
//! - Qualifiers: `alpha` = `a` < `beta` = `b` < `milestone` = `m` < `rc` = `cr` < `snapshot`
//!   < `""` = `ga` = `final` = `release` < `sp` < any other qualifier (those in string order).
//!   `a`, `b` and `m` mean alpha/beta/milestone only when a digit follows (`1a1 == 1-alpha-1`
//!   but `1a == 1-a`, an unknown qualifier).
//! - Trailing "null" items (0, "", ga/final/release, empty lists) are dropped in every list,
//!   innermost first, and so are null items before a trailing sub-list:
//!   `1 == 1.0 == 1.0.0 == 1-0 == 1.ga == 1-final`, `1.0-alpha == 1-alpha`.
//! - At the same place a number beats a list, which beats a qualifier: `1-sp < 1-1 < 1.1`.
//!   A missing item compares like a null one: `1-rc < 1 < 1-sp`, `1 < 1-1`.
//! - Numbers have no size limit; leading zeros do not count.
//! - Deviations (documented, all outside real versions): only ASCII digits count as digits
//!   (Maven 3.9 also takes other Unicode digits, Maven 4 does not); unknown qualifiers compare by
//!   code point, Java by UTF-16 unit; control characters and whitespace are rejected rather than
//!   read as qualifiers.

use super::{ErrorKind, Number, Scheme, VersionError, check_len};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Known qualifiers in order; the empty qualifier (a release) is index 5.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_INDEX: usize = 5;

#[derive(Debug, Clone)]
enum Item {
    Int(Number),
    /// A qualifier after alias resolution (`ga` -> "", `cr` -> "rc", `a1` -> "alpha").
    Str(Box<str>),
    List(Vec<Item>),
}

/// A qualifier's place: known ones by index, then unknown ones by their text.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum QualifierKey<'a> {
    Known(usize),
    Unknown(&'a str),
}

fn qualifier_key(q: &str) -> QualifierKey<'_> {
    QUALIFIERS
        .iter()
        .position(|k| *k == q)
        .map_or(QualifierKey::Unknown(q), QualifierKey::Known)
}

fn string_item(value: &str, followed_by_digit: bool) -> Item {
    let value = match (value, followed_by_digit) {
        ("a", true) => "alpha",
        ("b", true) => "beta",
        ("m", true) => "milestone",
        ("ga" | "final" | "release", _) => "",
        ("cr", _) => "rc",
        (v, _) => v,
    };
    Item::Str(value.into())
}

fn parse_item(is_digit: bool, text: &str) -> Item {
    if is_digit {
        Item::Int(Number::new(text))
    } else {
        string_item(text, false)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(n) => n.is_zero(),
            Item::Str(s) => qualifier_key(s) == QualifierKey::Known(RELEASE_INDEX),
            Item::List(items) => items.is_empty(),
        }
    }
}

/// Drops trailing null items, and null items before a trailing sub-list.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// `l.compareTo(r)` of Maven's items, `None` being Java's `null` (a missing item).
fn cmp_item(l: &Item, r: Option<&Item>) -> Ordering {
    use Item::{Int, List, Str};
    match (l, r) {
        (Int(a), None) => {
            if a.is_zero() {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        (Int(a), Some(Int(b))) => a.cmp(b),
        (Int(_), Some(Str(_) | List(_))) => Ordering::Greater,
        (Str(a), None) => qualifier_key(a).cmp(&QualifierKey::Known(RELEASE_INDEX)),
        (Str(_), Some(Int(_) | List(_))) => Ordering::Less,
        (Str(a), Some(Str(b))) => qualifier_key(a).cmp(&qualifier_key(b)),
        (List(items), None) => items
            .iter()
            .map(|item| cmp_item(item, None))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal),
        (List(_), Some(Int(_))) => Ordering::Less,
        (List(_), Some(Str(_))) => Ordering::Greater,
        (List(a), Some(List(b))) => cmp_lists(a, b),
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let result = match (a.get(i), b.get(i)) {
            (Some(l), r) => cmp_item(l, r),
            (None, Some(r)) => cmp_item(r, None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if result.is_ne() {
            return result;
        }
    }
    Ordering::Equal
}

/// A parsed Maven version.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    original: Box<str>,
    items: Vec<Item>,
}

impl MavenVersion {
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
        let lower = s.to_lowercase();
        // Every `-` or digit/letter switch opens a list nested as the last item of the current
        // one and nothing is added to an outer list afterwards, so the lists form a chain.
        let mut chain: Vec<Vec<Item>> = vec![Vec::new()];
        let mut is_digit = false;
        let mut start = 0;
        for (i, c) in lower.char_indices() {
            let current = chain.len() - 1;
            match c {
                '.' | '-' => {
                    let item = if i == start {
                        Item::Int(Number::new(""))
                    } else {
                        parse_item(is_digit, &lower[start..i])
                    };
                    chain[current].push(item);
                    start = i + 1;
                    if c == '-' {
                        chain.push(Vec::new());
                    }
                }
                '0'..='9' => {
                    if !is_digit && i > start {
                        if !chain[current].is_empty() {
                            chain.push(Vec::new());
                        }
                        let last = chain.len() - 1;
                        chain[last].push(string_item(&lower[start..i], true));
                        start = i;
                        chain.push(Vec::new());
                    }
                    is_digit = true;
                }
                _ => {
                    if is_digit && i > start {
                        chain[current].push(parse_item(true, &lower[start..i]));
                        start = i;
                        chain.push(Vec::new());
                    }
                    is_digit = false;
                }
            }
        }
        if lower.len() > start {
            // `1.0.0.X1 < 1.0.0-X2`: a trailing qualifier after `.` is read as after `-`.
            if !is_digit && chain.last().is_some_and(|l| !l.is_empty()) {
                chain.push(Vec::new());
            }
            if let Some(last) = chain.last_mut() {
                last.push(parse_item(is_digit, &lower[start..]));
            }
        }
        // Normalize innermost first, as Maven pops its stack.
        let mut inner: Option<Vec<Item>> = None;
        while let Some(mut list) = chain.pop() {
            if let Some(child) = inner.take() {
                list.push(Item::List(child));
            }
            normalize(&mut list);
            inner = Some(list);
        }
        Ok(Self {
            original: s.into(),
            items: inner.unwrap_or_default(),
        })
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Equal as Maven compares: `1 == 1.0 == 1-ga == 1.0.FINAL`.
impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

impl fmt::Display for MavenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl FromStr for MavenVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_kind(s).map_err(|kind| VersionError::new(Scheme::Maven, s, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_ascending, check_invalid, check_pairs};
    use super::*;

    /// Renders the item tree like Maven's `ListItem.toListString`, to pin the parse.
    fn tree(s: &str) -> String {
        fn render(items: &[Item]) -> String {
            let parts: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Item::Int(n) if n.is_zero() => "0".to_owned(),
                    Item::Int(n) => n.0.to_string(),
                    Item::Str(q) => q.to_string(),
                    Item::List(l) => render(l),
                })
                .collect();
            format!("[{}]", parts.join(", "))
        }
        render(&s.parse::<MavenVersion>().expect("valid").items)
    }

    #[test]
    fn parse_trees() {
        assert_eq!(tree("1.0alpha1"), "[1, [alpha, [1]]]");
        assert_eq!(
            tree("1-1.foo-bar1baz-.1"),
            "[1, [1, foo, [bar, [1, [baz, [0, 1]]]]]]"
        );
        assert_eq!(tree("1.0.0-SNAPSHOT"), "[1, [snapshot]]");
        assert_eq!(tree("2.0.0.RC1"), "[2, [rc, [1]]]");
        assert_eq!(tree("1-0.alpha"), "[1, [[alpha]]]");
        assert_eq!(tree("1.ga"), "[1]");
    }

    /// ComparableVersionTest.VERSIONS_QUALIFIER (Maven 3.9), in ascending order.
    #[test]
    fn qualifier_order() {
        check_ascending(
            Scheme::Maven,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
    }

    /// ComparableVersionTest.VERSIONS_NUMBER (Maven 3.9), in ascending order.
    #[test]
    fn number_order() {
        check_ascending(
            Scheme::Maven,
            &[
                "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
                "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2",
                "11.m11", "11", "11.a", "11b", "11c", "11m",
            ],
        );
    }

    #[test]
    fn comparable_version_test_pairs() {
        check_pairs(
            Scheme::Maven,
            &[
                // testVersionsEqual
                ("1", '=', "1.0"),
                ("1", '=', "1.0.0"),
                ("1.0", '=', "1.0.0"),
                ("1", '=', "1-0"),
                ("1", '=', "1.0-0"),
                ("1.0", '=', "1.0-0"),
                ("1a", '=', "1-a"),
                ("1a", '=', "1.0-a"),
                ("1a", '=', "1.0.0-a"),
                ("1.0a", '=', "1-a"),
                ("1.0.0a", '=', "1-a"),
                ("1x", '=', "1-x"),
                ("1x", '=', "1.0-x"),
                ("1.0.0x", '=', "1-x"),
                ("1ga", '=', "1"),
                ("1release", '=', "1"),
                ("1final", '=', "1"),
                ("1cr", '=', "1rc"),
                ("1a1", '=', "1-alpha-1"),
                ("1b2", '=', "1-beta-2"),
                ("1m3", '=', "1-milestone-3"),
                ("1X", '=', "1x"),
                ("1A", '=', "1a"),
                ("1GA", '=', "1"),
                ("1RELeaSE", '=', "1"),
                ("1FinaL", '=', "1"),
                ("1cR", '=', "1rC"),
                ("1m3", '=', "1MileStone3"),
                (
                    "1-abcdefghijklmnopqrstuvwxyz",
                    '=',
                    "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                ),
                // testVersionComparing
                ("1", '<', "2"),
                ("1.5", '<', "2"),
                ("1", '<', "2.5"),
                ("1.0", '<', "1.1"),
                ("1.0.0", '<', "1.1"),
                ("1.0.1", '<', "1.1"),
                ("1.1", '<', "1.2.0"),
                ("1.0-alpha-1", '<', "1.0"),
                ("1.0-alpha-1", '<', "1.0-alpha-2"),
                ("1.0-alpha-1", '<', "1.0-beta-1"),
                ("1.0-beta-1", '<', "1.0-SNAPSHOT"),
                ("1.0-SNAPSHOT", '<', "1.0"),
                ("1.0-alpha-1-SNAPSHOT", '<', "1.0-alpha-1"),
                ("1.0", '<', "1.0-1"),
                ("1.0-1", '<', "1.0-2"),
                ("1.0.0", '<', "1.0-1"),
                ("2.0-1", '<', "2.0.1"),
                ("2.0.1-klm", '<', "2.0.1-lmn"),
                ("2.0.1", '<', "2.0.1-xyz"),
                ("2.0.1", '<', "2.0.1-123"),
                ("2.0.1-xyz", '<', "2.0.1-123"),
                // MNG-5568
                ("6.1.0rc3", '<', "6.1.0"),
                ("6.1.0rc3", '<', "6.1H.5-beta"),
                ("6.1.0", '<', "6.1H.5-beta"),
                // MNG-6572
                ("20190126.230843", '<', "1234567890.12345"),
                ("1234567890.12345", '<', "123456789012345.1H.5-beta"),
                (
                    "123456789012345.1H.5-beta",
                    '<',
                    "12345678901234567890.1H.5-beta",
                ),
                ("20190126.230843", '<', "12345678901234567890.1H.5-beta"),
                // MNG-6964
                ("1-0.alpha", '<', "1"),
                ("1-0.beta", '<', "1"),
                ("1-0.alpha", '<', "1-0.beta"),
                // Leading zeros
                ("0000000000000000001", '=', "1"),
                ("01", '=', "1"),
                ("0000000000000000000", '=', "0"),
                ("00", '=', "0"),
                // Common real versions
                ("2.12.7.1", '>', "2.12.7"),
                ("2.13.4.2", '<', "2.14.0-rc1"),
                ("2.14.0-rc1", '<', "2.14.0"),
                ("5.3.18.RELEASE", '=', "5.3.18"),
                ("5.3.18.RELEASE", '<', "5.3.19"),
                ("31.1-jre", '>', "31.1-android"),
                ("32.0.0-jre", '>', "31.1-jre"),
                ("9.4.51.v20230217", '>', "9.4.50.v20221201"),
                ("1.2.3-SNAPSHOT", '<', "1.2.3"),
                ("1.2.3.Final", '=', "1.2.3"),
                ("1.2.3.CR1", '<', "1.2.3.Final"),
                ("1.2.3.Beta1", '<', "1.2.3.CR1"),
                ("1.2.3-M1", '<', "1.2.3-RC1"),
                ("1.2.3-SP1", '>', "1.2.3"),
            ],
        );
    }

    /// MNG-7644: `1.0.0.X1 < 1.0.0-X2`, and `2-X == 2.0.X == 2.0.0.X`, for any qualifier X.
    #[test]
    fn mng_7644() {
        for x in [
            "abc",
            "alpha",
            "a",
            "beta",
            "b",
            "def",
            "milestone",
            "m",
            "RC",
        ] {
            check_pairs(
                Scheme::Maven,
                &[
                    (&format!("1.0.0.{x}1"), '<', &format!("1.0.0-{x}2")),
                    (&format!("2-{x}"), '=', &format!("2.0.{x}")),
                    (&format!("2-{x}"), '=', &format!("2.0.0.{x}")),
                    (&format!("2.0.{x}"), '=', &format!("2.0.0.{x}")),
                ],
            );
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = "1-".repeat(128);
        let deeper = format!("{}1", "1-".repeat(127));
        assert_eq!(deep.len(), 256);
        check_pairs(Scheme::Maven, &[(&deep, '=', &deeper)]);
    }

    #[test]
    fn invalid_versions() {
        check_invalid(
            Scheme::Maven,
            &[
                ("", ErrorKind::Empty),
                ("1.0 final", ErrorKind::InvalidCharacter { at: 3, ch: ' ' }),
                (
                    "1.0\u{0}",
                    ErrorKind::InvalidCharacter { at: 3, ch: '\u{0}' },
                ),
                ("\n1", ErrorKind::InvalidCharacter { at: 0, ch: '\n' }),
            ],
        );
    }
}
