//! Gate `licenses`: licenses of every package in the image (OS and language packages).
//!
//! Traps: a package's license is often an expression (`MIT OR Apache-2.0`,
//! `GPL-2.0+ WITH exceptions`) or a distribution's free text; `blacklist_exact_match` compares
//! each license as written and each identifier of it (operators and parentheses dropped), so
//! `GPL-3.0-only` matches `GPL-3.0-only OR MIT`, but never a substring of an identifier;
//! `blacklist_partial_match` is a plain substring match (`GPL` matches `LGPL-2.1`), as Anchore.
//! Like Anchore, each trigger fires once, listing every offending package.

use super::Output;
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc};

pub const DOC: GateDoc = GateDoc {
    name: "licenses",
    description: "License checks against the licenses of the packages found in the image.",
    triggers: &[
        TriggerDoc::new(
            "blacklist_exact_match",
            "Triggers if any package is distributed under one of the licenses (exact identifier match).",
            &[ParamDoc::new(
                "licenses",
                ParamKind::StringList,
                "GPL-3.0-only,AGPL-3.0-or-later",
                "License names to blacklist exactly.",
            )
            .required()],
        ),
        TriggerDoc::new(
            "blacklist_partial_match",
            "Triggers if any package's license contains one of the strings.",
            &[ParamDoc::new(
                "licenses",
                ParamKind::StringList,
                "GPL,BSD",
                "Strings to look for in license names.",
            )
            .required()],
        ),
    ],
};

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Exact(Vec<String>),
    Partial(Vec<String>),
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    let list = p.list("licenses")?.to_vec();
    match trigger.name {
        "blacklist_exact_match" => Some(Check::Exact(list)),
        "blacklist_partial_match" => Some(Check::Partial(list)),
        _ => None,
    }
}

/// The license as written and its identifiers, without operators and parentheses.
fn identifiers(license: &str) -> impl Iterator<Item = &str> {
    std::iter::once(license.trim()).chain(
        license
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .filter(|t| !t.is_empty())
            .filter(|t| !matches!(t.to_ascii_uppercase().as_str(), "AND" | "OR" | "WITH")),
    )
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    let mut hits: Vec<String> = Vec::new();
    for pkg in &facts.input.analysis.packages {
        for license in &pkg.licenses {
            let matched = match check {
                Check::Exact(list) => identifiers(license).any(|id| list.iter().any(|l| l == id)),
                Check::Partial(list) => list.iter().any(|l| license.contains(l.as_str())),
            };
            if matched {
                let hit = format!("{}({license})", pkg.name);
                if !hits.contains(&hit) {
                    hits.push(hit);
                }
            }
        }
    }
    if hits.is_empty() {
        return;
    }
    let (tag, kind) = match check {
        Check::Exact(_) => ("LICFULLMATCH", "exact"),
        Check::Partial(_) => ("LICSUBMATCH", "partial"),
    };
    out.fire(format!(
        "{tag} Packages are installed that have blacklisted licenses ({kind} match): {}",
        hits.join(", ")
    ));
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Scenario, fired_in, rule_errors};
    use plimsoll_analyzer::model::{Package, PackageKind};

    fn scenario() -> Scenario {
        let mut s = Scenario::new();
        let mut a = Package::new(PackageKind::Deb, "libssl3", "3.0.15-1~deb12u1");
        a.licenses = vec!["Apache-2.0".into(), "GPL-1+".into()];
        let mut b = Package::new(PackageKind::Npm, "left-pad", "1.3.0");
        b.licenses = vec!["(MIT OR GPL-3.0-only)".into()];
        let mut c = Package::new(PackageKind::Python, "chardet", "5.2.0");
        c.licenses = vec!["LGPL-2.1-or-later".into()];
        s.analysis.packages.extend([a, b, c]);
        s
    }

    #[test]
    fn exact_and_partial() {
        let s = scenario();
        let lic =
            |trigger: &str, list: &str| fired_in("licenses", trigger, &[("licenses", list)], &s);
        assert_eq!(
            lic("blacklist_exact_match", "GPL-3.0-only, GPL-1+"),
            vec![
                "LICFULLMATCH Packages are installed that have blacklisted licenses (exact match): libssl3(GPL-1+), left-pad((MIT OR GPL-3.0-only))"
            ]
        );
        assert!(
            lic("blacklist_exact_match", "GPL").is_empty(),
            "no substrings"
        );
        assert!(
            lic("blacklist_exact_match", "OR").is_empty(),
            "operators are not licenses"
        );
        assert_eq!(
            lic("blacklist_partial_match", "GPL"),
            vec![
                "LICSUBMATCH Packages are installed that have blacklisted licenses (partial match): libssl3(GPL-1+), left-pad((MIT OR GPL-3.0-only)), chardet(LGPL-2.1-or-later)"
            ]
        );
        assert!(lic("blacklist_partial_match", "BSD").is_empty());
        assert_eq!(
            rule_errors("licenses", "blacklist_exact_match", &[]),
            vec!["missing-param r.params"]
        );
    }
}
