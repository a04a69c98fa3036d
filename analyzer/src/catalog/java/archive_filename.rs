//! Name and version from an archive's file name: `commons-text-1.9.jar` is `commons-text` 1.9.
//!
//! Traps: names contain dashes and digits (`log4j-1.2-api-2.17.1.jar` is `log4j-1.2-api`
//! 2.17.1), versions contain dashes (`guava-31.1-jre`, `spring-core-5.3.0-SNAPSHOT`), and
//! Debian installs unversioned names (`commons-text.jar`).

/// Version qualifiers that may stand between two numeric parts of one version (`1.0-rc-2`).
const QUALIFIERS: &[&str] = &[
    "alpha",
    "beta",
    "rc",
    "cr",
    "m",
    "milestone",
    "sp",
    "b",
    "build",
    "snapshot",
    "release",
    "final",
    "ga",
];

/// `(name, version)`; the version is empty when the name carries none.
pub(crate) fn split_archive_filename(file_name: &str) -> (&str, &str) {
    let stem = match file_name.rfind('.') {
        Some(dot) if dot > 0 => &file_name[..dot],
        _ => file_name,
    };
    let segments: Vec<(usize, &str)> = segment_starts(stem);
    // A version starts at a `-<digit>` segment; take the first one after which no name-like
    // segment (letters, not a known qualifier) is followed by another `-<digit>` segment.
    for (i, &(start, seg)) in segments.iter().enumerate().skip(1) {
        if !starts_with_digit(seg) || start < 2 {
            continue;
        }
        let name_like_later = segments[i + 1..].windows(2).any(|w| {
            let (prev, next) = (w[0].1, w[1].1);
            starts_with_digit(next)
                && !starts_with_digit(prev)
                && !QUALIFIERS.iter().any(|q| prev.eq_ignore_ascii_case(q))
        });
        if !name_like_later {
            return (&stem[..start - 1], &stem[start..]);
        }
    }
    (stem, "")
}

fn segment_starts(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for seg in s.split('-') {
        out.push((start, seg));
        start += seg.len() + 1;
    }
    out
}

fn starts_with_digit(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        let cases = [
            ("commons-text-1.9.jar", ("commons-text", "1.9")),
            ("commons-text.jar", ("commons-text", "")),
            ("log4j-1.2-api-2.17.1.jar", ("log4j-1.2-api", "2.17.1")),
            ("guava-31.1-jre.jar", ("guava", "31.1-jre")),
            (
                "spring-core-5.3.0-SNAPSHOT.jar",
                ("spring-core", "5.3.0-SNAPSHOT"),
            ),
            ("foo-1.0-rc-2.jar", ("foo", "1.0-rc-2")),
            ("jsr305-0.1~+svn49.jar", ("jsr305", "0.1~+svn49")),
            ("aopalliance-1.0.jar", ("aopalliance", "1.0")),
            ("app.war", ("app", "")),
            ("-1.0.jar", ("-1.0", "")),
            ("x--1.jar", ("x-", "1")),
            ("noext", ("noext", "")),
            ("ünï-2.0.jar", ("ünï", "2.0")),
        ];
        for (file, want) in cases {
            assert_eq!(split_archive_filename(file), want, "{file}");
        }
    }
}
