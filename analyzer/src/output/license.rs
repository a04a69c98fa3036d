//! Which of a package's license strings are SPDX license expressions.
//!
//! Catalogers record licenses as the package says them: `MIT`, `GPL-2+` (Debian copyright),
//! `ASL 2.0` (old Fedora spec files), `MIT OR Apache-2.0` (Cargo), `SEE LICENSE IN LICENSE`
//! (npm). SBOM formats want valid SPDX identifiers or expressions, so each string is classified
//! here, and the renderers write invalid ones as names (CycloneDX) or `LicenseRef-`s (SPDX).
//!
//! Traps:
//! - Only exact, case-sensitive identifiers of the SPDX license list count. We do not guess
//!   (`apache` -> `Apache-2.0`): the `spdx` crate's imprecise-name table maps by prefix and would
//!   turn `BSD-4-Clause-UC`-like or `gpl-whatever` strings into a different license. Fixing up
//!   names belongs to the cataloger that knows the ecosystem's conventions.
//! - Deprecated identifiers (`GPL-2.0`, `GPL-2.0+`) are still on the list and valid in SPDX 2.3
//!   documents and CycloneDX's id enum, so they are accepted.
//! - `LicenseRef-x` and `DocumentRef-y:LicenseRef-x` parse, but refer to texts that this
//!   document would have to carry (SPDX) or to another document: such strings are treated as
//!   names, which the SPDX renderer turns into a `LicenseRef-` it declares itself.

/// One license string of a package, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum License<'a> {
    /// A single identifier of the SPDX license list, written exactly as the list has it.
    Id(&'a str),
    /// A valid expression of several terms (`MIT OR Apache-2.0`, `MIT+`,
    /// `Apache-2.0 WITH LLVM-exception`).
    Expression(&'a str),
    /// Anything else.
    Name(&'a str),
}

/// The SPDX specification's syntax with exact identifiers, deprecated ones included.
pub(crate) const PARSE_MODE: spdx::ParseMode = spdx::ParseMode {
    allow_deprecated: true,
    // `GPL-2.0+` is itself a (deprecated) identifier on the list.
    allow_postfix_plus_on_gpl: true,
    ..spdx::ParseMode::STRICT
};

impl<'a> License<'a> {
    pub(crate) fn classify(raw: &'a str) -> Self {
        let s = raw.trim();
        let Ok(expr) = spdx::Expression::parse_mode(s, PARSE_MODE) else {
            return Self::Name(s);
        };
        let mut reqs = expr.requirements();
        let mut single_plain_id = None;
        let mut count = 0usize;
        for r in &mut reqs {
            count += 1;
            match &r.req.license {
                spdx::LicenseItem::Spdx { id, or_later } => {
                    if !*or_later && r.req.addition.is_none() {
                        single_plain_id = Some(id.name);
                    }
                }
                spdx::LicenseItem::Other(_) => return Self::Name(s),
            }
            if let Some(spdx::AdditionItem::Other(_)) = &r.req.addition {
                return Self::Name(s);
            }
        }
        match single_plain_id {
            Some(name) if count == 1 && name == s => Self::Id(s),
            _ => Self::Expression(s),
        }
    }

    /// The string itself, trimmed.
    pub(crate) fn as_str(&self) -> &'a str {
        match self {
            Self::Id(s) | Self::Expression(s) | Self::Name(s) => s,
        }
    }
}

/// A package's license strings, trimmed, without empty ones and without repeats, in their
/// original order.
pub(crate) fn classify_all(raw: &[String]) -> Vec<License<'_>> {
    let mut out: Vec<License<'_>> = Vec::new();
    for s in raw {
        if s.trim().is_empty() || out.iter().any(|l| l.as_str() == s.trim()) {
            continue;
        }
        out.push(License::classify(s));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_license_strings() {
        let cases = [
            ("MIT", License::Id("MIT")),
            ("  Apache-2.0 ", License::Id("Apache-2.0")),
            ("GPL-2.0", License::Id("GPL-2.0")),
            ("GPL-2.0-or-later", License::Id("GPL-2.0-or-later")),
            (
                "MIT OR Apache-2.0",
                License::Expression("MIT OR Apache-2.0"),
            ),
            ("(MIT)", License::Expression("(MIT)")),
            ("MIT+", License::Expression("MIT+")),
            (
                "Apache-2.0 WITH LLVM-exception",
                License::Expression("Apache-2.0 WITH LLVM-exception"),
            ),
            ("GPL-2.0+", License::Expression("GPL-2.0+")),
            ("mit", License::Name("mit")),
            ("GPL-2+", License::Name("GPL-2+")),
            ("ASL 2.0", License::Name("ASL 2.0")),
            ("BSD", License::Name("BSD")),
            ("MIT AND", License::Name("MIT AND")),
            ("LicenseRef-foo", License::Name("LicenseRef-foo")),
            (
                "MIT OR LicenseRef-foo",
                License::Name("MIT OR LicenseRef-foo"),
            ),
            (
                "DocumentRef-x:LicenseRef-y",
                License::Name("DocumentRef-x:LicenseRef-y"),
            ),
            (
                "SEE LICENSE IN LICENSE",
                License::Name("SEE LICENSE IN LICENSE"),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(License::classify(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn classify_all_drops_empty_and_repeated_strings() {
        let raw = ["MIT", " ", "MIT ", "ASL 2.0", ""].map(String::from);
        assert_eq!(
            classify_all(&raw),
            [License::Id("MIT"), License::Name("ASL 2.0")]
        );
    }
}
