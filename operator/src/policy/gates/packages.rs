//! Gate `packages`: the distribution's packages (deb, apk, rpm), as Anchore's "distro package
//! checks"; language packages have their own gates (`npms`, `ruby_gems`) and the
//! `vulnerabilities` gate.
//!
//! Traps:
//! - `required_package` with `version_match_type=minimum` compares with the distribution's own
//!   ordering (dpkg epochs and `~`, rpm EVR, apk suffixes), never as strings: `1:1.0` is newer
//!   than `2.0` in dpkg. `exact` accepts versions the scheme calls equal (`1.0` and `1.00` in
//!   dpkg).
//! - `verify` compares the digests the package database recorded (dpkg: md5, rpm: sha256 or
//!   md5, apk: sha1) with the analysis's file digests of the same algorithm. A file the package
//!   lists but the image lacks is `missing`; a digest the analysis did not compute cannot be
//!   compared, and the evaluation notes it instead of passing silently. `only_directories`
//!   matches whole path components (`/usr` does not cover `/usrlocal`).

use super::Output;
use crate::matcher::version::Scheme;
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc};
use plimsoll_analyzer::model::{FileKind, Package, PackageKind};
use std::cmp::Ordering;

pub const DOC: GateDoc = GateDoc {
    name: "packages",
    description: "Distribution package checks: required and blacklisted packages, and package file integrity.",
    triggers: &[
        TriggerDoc::new(
            "required_package",
            "Triggers if the package is not installed, or not at the given version (exact) or at least it (minimum).",
            &[
                ParamDoc::new(
                    "name",
                    ParamKind::String,
                    "libssl3",
                    "Name of the package that must be installed.",
                )
                .required(),
                ParamDoc::new(
                    "version",
                    ParamKind::String,
                    "3.0.15-1~deb12u1",
                    "Version the package must have.",
                ),
                ParamDoc::new(
                    "version_match_type",
                    ParamKind::Enum(&["exact", "minimum"]),
                    "exact",
                    "Whether version is the exact version or the minimum one.",
                )
                .default("exact"),
            ],
        ),
        TriggerDoc::new(
            "verify",
            "Triggers for each packaged file that is changed or missing compared with the package database's records.",
            &[
                ParamDoc::new(
                    "only_packages",
                    ParamKind::StringList,
                    "libssl3,openssl",
                    "Only verify these packages.",
                ),
                ParamDoc::new(
                    "only_directories",
                    ParamKind::StringList,
                    "/usr,/etc",
                    "Only verify files under these directories.",
                ),
                ParamDoc::new(
                    "check",
                    ParamKind::Enum(&["changed", "missing"]),
                    "changed",
                    "Only report this kind of difference (default: both).",
                ),
            ],
        ),
        TriggerDoc::new(
            "blacklist",
            "Triggers for each installed package with the name (and version, if given).",
            &[
                ParamDoc::new(
                    "name",
                    ParamKind::String,
                    "openssh-server",
                    "Package name to blacklist.",
                )
                .required(),
                ParamDoc::new(
                    "version",
                    ParamKind::String,
                    "1:9.2p1-2",
                    "Only this version.",
                ),
            ],
        ),
    ],
};

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    RequiredPackage {
        name: String,
        version: Option<String>,
        minimum: bool,
    },
    Verify {
        packages: Vec<String>,
        directories: Vec<String>,
        changed: bool,
        missing: bool,
    },
    Blacklist {
        name: String,
        version: Option<String>,
    },
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    let text = |p: &Params<'_>, n: &str| p.str(n).map(|s| s.trim().to_owned());
    match trigger.name {
        "required_package" => Some(Check::RequiredPackage {
            name: text(p, "name")?,
            version: text(p, "version"),
            minimum: p.word("version_match_type") == Some("minimum"),
        }),
        "verify" => {
            let check = p.word("check");
            Some(Check::Verify {
                packages: p
                    .list("only_packages")
                    .map(<[String]>::to_vec)
                    .unwrap_or_default(),
                directories: p
                    .list("only_directories")
                    .map(<[String]>::to_vec)
                    .unwrap_or_default(),
                changed: check != Some("missing"),
                missing: check != Some("changed"),
            })
        }
        "blacklist" => Some(Check::Blacklist {
            name: text(p, "name")?,
            version: text(p, "version"),
        }),
        _ => None,
    }
}

fn scheme(kind: PackageKind) -> Option<Scheme> {
    match kind {
        PackageKind::Deb => Some(Scheme::Dpkg),
        PackageKind::Rpm => Some(Scheme::Rpm),
        PackageKind::Apk => Some(Scheme::Apk),
        _ => None,
    }
}

fn os_packages<'a>(facts: &Facts<'a>) -> impl Iterator<Item = &'a Package> {
    facts
        .input
        .analysis
        .packages
        .iter()
        .filter(|p| p.kind.is_os())
}

fn under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    match check {
        Check::RequiredPackage {
            name,
            version,
            minimum,
        } => {
            let installed: Vec<&Package> = os_packages(facts).filter(|p| &p.name == name).collect();
            let Some(wanted) = version else {
                if installed.is_empty() {
                    out.fire(format!(
                        "Required input package ({name}) is not present in container image"
                    ));
                }
                return;
            };
            if installed.is_empty() {
                out.fire(format!(
                    "Required input package ({name},{wanted}) is not present in container image"
                ));
                return;
            }
            let mut failing = Vec::new();
            for p in &installed {
                let order = scheme(p.kind).and_then(|s| s.compare(&p.version, wanted).ok());
                let ok = match (order, minimum) {
                    (Some(o), false) => o == Ordering::Equal,
                    (Some(o), true) => o != Ordering::Less,
                    (None, false) => p.version == *wanted,
                    (None, true) => {
                        out.note(format!(
                            "packages.required_package cannot order {} version {:?} against {wanted:?}",
                            p.name, p.version
                        ));
                        true
                    }
                };
                if ok {
                    return;
                }
                failing.push(*p);
            }
            for p in failing {
                out.fire(if *minimum {
                    format!(
                        "Required min-version input package ({name}) is present ({}), but is lower version than what is specified in policy ({wanted})",
                        p.version
                    )
                } else {
                    format!(
                        "Required input package ({name}) is present ({}), but not at the version specified in policy ({wanted})",
                        p.version
                    )
                });
            }
        }
        Check::Verify {
            packages,
            directories,
            changed,
            missing,
        } => {
            for pkg in os_packages(facts) {
                if !packages.is_empty() && !packages.contains(&pkg.name) {
                    continue;
                }
                for pf in &pkg.files {
                    if !directories.is_empty() && !directories.iter().any(|d| under(&pf.path, d)) {
                        continue;
                    }
                    let status = match facts.file(&pf.path) {
                        None => "missing",
                        Some(f) if f.kind != FileKind::File => continue,
                        Some(f) => {
                            let Some(recorded) = &pf.digest else {
                                continue;
                            };
                            let found = match recorded.algorithm.as_str() {
                                "md5" => f.md5.as_deref(),
                                "sha256" => f.sha256.as_deref(),
                                _ => None,
                            };
                            match found {
                                None => {
                                    out.note(format!(
                                        "packages.verify cannot compare {} digests: the analysis has none (analyze with --file-digests sha256,md5)",
                                        recorded.algorithm
                                    ));
                                    continue;
                                }
                                Some(d) if d.eq_ignore_ascii_case(&recorded.value) => continue,
                                Some(_) => "changed",
                            }
                        }
                    };
                    if (status == "changed" && !changed) || (status == "missing" && !missing) {
                        continue;
                    }
                    out.fire(format!(
                        "VERIFY check against package db for package '{}' failed on entry '{}' with status: '{status}'",
                        pkg.name, pf.path
                    ));
                }
            }
        }
        Check::Blacklist { name, version } => {
            for p in os_packages(facts) {
                if &p.name != name {
                    continue;
                }
                match version {
                    Some(v) if *v == p.version => {
                        out.fire(format!("Package is blacklisted: {}-{}", p.name, p.version));
                    }
                    Some(_) => {}
                    None => out.fire(format!("Package is blacklisted: {}", p.name)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::under;
    use crate::policy::testing::{Scenario, fired, fired_in, rule_errors};
    use plimsoll_analyzer::model::{Package, PackageKind};

    #[test]
    fn required_package_uses_the_distro_ordering() {
        let rp = |params: &[(&str, &str)]| fired("packages", "required_package", params);
        assert!(rp(&[("name", "base-passwd")]).is_empty());
        assert!(rp(&[("name", "base-passwd"), ("version", "3.6.1")]).is_empty());
        assert!(
            rp(&[
                ("name", "base-passwd"),
                ("version", "3.6.1"),
                ("version_match_type", "minimum")
            ])
            .is_empty()
        );
        assert!(
            rp(&[
                ("name", "base-passwd"),
                ("version", "3.6.1~rc1"),
                ("version_match_type", "minimum")
            ])
            .is_empty(),
            "~ sorts before"
        );
        assert_eq!(
            rp(&[
                ("name", "base-passwd"),
                ("version", "3.6.10"),
                ("version_match_type", "minimum")
            ]),
            vec![
                "Required min-version input package (base-passwd) is present (3.6.1), but is lower version than what is specified in policy (3.6.10)"
            ]
        );
        assert_eq!(
            rp(&[("name", "base-passwd"), ("version", "0:3.6.1")]),
            Vec::<String>::new(),
            "an explicit zero epoch is the same version"
        );
        assert_eq!(
            rp(&[("name", "base-passwd"), ("version", "3.6.2")]),
            vec![
                "Required input package (base-passwd) is present (3.6.1), but not at the version specified in policy (3.6.2)"
            ]
        );
        assert_eq!(
            rp(&[("name", "ca-certificates")]),
            vec!["Required input package (ca-certificates) is not present in container image"]
        );
        assert_eq!(
            rp(&[("name", "ca-certificates"), ("version", "1")]),
            vec!["Required input package (ca-certificates,1) is not present in container image"]
        );
        let mut s = Scenario::new();
        s.analysis
            .packages
            .push(Package::new(PackageKind::Npm, "ca-certificates", "1.0.0"));
        assert_eq!(
            fired_in(
                "packages",
                "required_package",
                &[("name", "ca-certificates")],
                &s
            )
            .len(),
            1,
            "only OS packages count"
        );
        assert_eq!(
            rule_errors(
                "packages",
                "required_package",
                &[("version", "1"), ("version_match_type", "newest")]
            ),
            vec![
                "param-wrong-type r.params[1].value",
                "missing-param r.params"
            ]
        );
    }

    #[test]
    fn verify_against_the_package_database() {
        let v = |params: &[(&str, &str)]| fired("packages", "verify", params);
        assert_eq!(
            v(&[("only_directories", "/usr/share/base-passwd")]),
            vec![
                "VERIFY check against package db for package 'base-passwd' failed on entry '/usr/share/base-passwd/group.master' with status: 'changed'"
            ]
        );
        let all = v(&[]);
        assert_eq!(all.iter().filter(|m| m.ends_with("'changed'")).count(), 1);
        assert!(all.iter().filter(|m| m.ends_with("'missing'")).count() > 10);
        assert!(
            all.iter()
                .any(|m| m.contains("/usr/share/doc/base-passwd/README"))
        );
        assert_eq!(v(&[("check", "changed")]).len(), 1);
        assert_eq!(v(&[("check", "missing")]).len(), all.len() - 1);
        assert!(v(&[("only_packages", "libc6")]).is_empty());
        assert!(v(&[("only_directories", "/usr/sbin")]).is_empty());
        // Without md5 digests in the analysis nothing can be compared, and that is said.
        let mut s = Scenario::new();
        s.analysis.files.iter_mut().for_each(|f| f.md5 = None);
        let out = crate::policy::testing::run("packages", "verify", &[("check", "changed")], &s);
        assert!(out.fired.is_empty());
        assert_eq!(out.notes.len(), 1);
    }

    #[test]
    fn blacklist() {
        assert_eq!(
            fired("packages", "blacklist", &[("name", "base-passwd")]),
            vec!["Package is blacklisted: base-passwd"]
        );
        assert_eq!(
            fired(
                "packages",
                "blacklist",
                &[("name", "base-passwd"), ("version", "3.6.1")]
            ),
            vec!["Package is blacklisted: base-passwd-3.6.1"]
        );
        assert!(
            fired(
                "packages",
                "blacklist",
                &[("name", "base-passwd"), ("version", "3.6")]
            )
            .is_empty()
        );
        assert_eq!(
            rule_errors("packages", "blacklist", &[("name", "")]),
            vec!["missing-param r.params[0]"]
        );
    }

    #[test]
    fn directories_match_whole_components() {
        assert!(under("/usr/bin/x", "/usr"));
        assert!(under("/usr/bin/x", "/usr/"));
        assert!(!under("/usrlocal/x", "/usr"));
        assert!(under("/x", "/"));
    }
}
