//! From a package found in an image to the (OSV ecosystem, name, version) keys its advisories
//! are filed under, and the version scheme that orders them.
//!
//! Traps: Debian and Ubuntu feeds are keyed by the *source* package (`openssl`, not `libssl3`)
//! with the binary's version; the Debian ecosystem takes the major release only (`Debian:12`
//! for 12.7); Ubuntu LTS releases are `Ubuntu:22.04:LTS`; Alpine feeds are keyed by the
//! origin package and the minor release (`Alpine:v3.19` for 3.19.1); AlmaLinux and Rocky list
//! binary rpm names with full EVR (`1:3.5.1-4.el10_1`); PyPI names compare after PEP 503
//! normalisation; Maven names are `group:artifact`; the Go toolchain is the module `stdlib`
//! with versions without the `go` prefix.

use super::version::Scheme;
use plimsoll_analyzer::model::{Distro, Package, PackageKind};

/// One key to look up in the index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub scheme: Scheme,
    /// True when the name is the source package rather than the package itself.
    pub by_source: bool,
}

/// Why a package has no query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unmatchable {
    #[error("{kind} packages on {distro} have no vulnerability feed")]
    UnknownDistro { kind: PackageKind, distro: String },
    #[error("{0} packages are not matched yet")]
    UnsupportedKind(PackageKind),
}

/// The version scheme of an OSV ecosystem, as the matcher queries it: `None` for ecosystems it
/// never queries. The one place this is decided, so the index (which parses feed versions
/// ahead) and the queries agree.
pub fn scheme_for_ecosystem(ecosystem: &str) -> Option<Scheme> {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    Some(match base {
        "Debian" | "Ubuntu" => Scheme::Dpkg,
        "Alpine" => Scheme::Apk,
        "AlmaLinux" | "Rocky Linux" => Scheme::Rpm,
        "PyPI" => Scheme::Pep440,
        "npm" | "crates.io" | "NuGet" | "Packagist" => Scheme::Semver,
        "Go" => Scheme::Go,
        "Maven" => Scheme::Maven,
        "RubyGems" => Scheme::Gem,
        _ => return None,
    })
}

/// PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_pypi(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// The name an ecosystem's index key uses: PyPI names normalised, others as written.
pub fn index_name(ecosystem: &str, name: &str) -> String {
    if ecosystem == "PyPI" {
        normalize_pypi(name)
    } else {
        name.to_owned()
    }
}

/// Whether [`queries_for`] can ever produce this ecosystem. Records filed only under other
/// ecosystems (`Ubuntu:Pro:22.04:LTS`, `Red Hat`, `Hex`, the `Debian` umbrella name) are stored
/// but never match; feed syncs report them.
pub fn is_queried(ecosystem: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let dotted = |s: &str| {
        s.split_once('.')
            .is_some_and(|(a, b)| digits(a) && digits(b))
    };
    match ecosystem {
        "PyPI" | "npm" | "crates.io" | "RubyGems" | "NuGet" | "Packagist" | "Go" | "Maven" => true,
        _ => match ecosystem.split_once(':') {
            Some(("Debian" | "AlmaLinux" | "Rocky Linux", release)) => digits(release),
            Some(("Alpine", release)) => release.strip_prefix('v').is_some_and(dotted),
            Some(("Ubuntu", release)) => dotted(release.strip_suffix(":LTS").unwrap_or(release)),
            _ => false,
        },
    }
}

fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

fn major_minor(v: &str) -> String {
    let mut it = v.split('.');
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        (Some(a), None) => a.to_owned(),
        _ => v.to_owned(),
    }
}

/// The distro ecosystems an OS package is filed under (several for Ubuntu LTS).
fn os_ecosystems(kind: PackageKind, distro: Option<&Distro>) -> Result<Vec<String>, Unmatchable> {
    let unknown = || Unmatchable::UnknownDistro {
        kind,
        distro: distro.map_or_else(
            || "an unknown distro".to_owned(),
            |d| format!("{} {}", d.id, d.version_id.as_deref().unwrap_or("")),
        ),
    };
    let d = distro.ok_or_else(unknown)?;
    let v = d.version_id.as_deref().ok_or_else(unknown)?;
    Ok(match (kind, d.id.as_str()) {
        (PackageKind::Deb, "debian") => vec![format!("Debian:{}", major(v))],
        (PackageKind::Deb, "ubuntu") => {
            let lts = v.ends_with(".04") && major(v).parse::<u32>().is_ok_and(|y| y % 2 == 0);
            let mut e = vec![format!("Ubuntu:{v}")];
            if lts {
                e.push(format!("Ubuntu:{v}:LTS"));
            }
            e
        }
        (PackageKind::Apk, "alpine") => vec![format!("Alpine:v{}", major_minor(v))],
        (PackageKind::Rpm, "almalinux") => vec![format!("AlmaLinux:{}", major(v))],
        (PackageKind::Rpm, "rocky") => vec![format!("Rocky Linux:{}", major(v))],
        _ => return Err(unknown()),
    })
}

/// The source rpm's package name: `openssl-3.0.7-27.el9.src.rpm` -> `openssl`.
fn srpm_name(srpm: &str) -> Option<&str> {
    let base = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, _release) = base.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    Some(name)
}

/// Every key the package's advisories may be filed under.
pub fn queries_for(pkg: &Package, distro: Option<&Distro>) -> Result<Vec<Query>, Unmatchable> {
    let q = |ecosystem: &str, name: &str, version: &str, scheme: Scheme, by_source: bool| {
        debug_assert_eq!(scheme_for_ecosystem(ecosystem), Some(scheme), "{ecosystem}");
        Query {
            ecosystem: ecosystem.to_owned(),
            name: index_name(ecosystem, name),
            version: version.to_owned(),
            scheme,
            by_source,
        }
    };
    let mut out = Vec::new();
    match pkg.kind {
        PackageKind::Deb => {
            for eco in os_ecosystems(pkg.kind, distro)? {
                if let Some(src) = &pkg.source {
                    out.push(q(&eco, &src.name, &pkg.version, Scheme::Dpkg, true));
                }
                if pkg.source.as_ref().is_none_or(|s| s.name != pkg.name) {
                    out.push(q(&eco, &pkg.name, &pkg.version, Scheme::Dpkg, false));
                }
            }
        }
        PackageKind::Apk => {
            for eco in os_ecosystems(pkg.kind, distro)? {
                let origin = pkg
                    .source
                    .as_ref()
                    .map_or(pkg.name.as_str(), |s| s.name.as_str());
                out.push(q(
                    &eco,
                    origin,
                    &pkg.version,
                    Scheme::Apk,
                    origin != pkg.name,
                ));
                if origin != pkg.name {
                    out.push(q(&eco, &pkg.name, &pkg.version, Scheme::Apk, false));
                }
            }
        }
        PackageKind::Rpm => {
            for eco in os_ecosystems(pkg.kind, distro)? {
                out.push(q(&eco, &pkg.name, &pkg.version, Scheme::Rpm, false));
                if let Some(src) = pkg.source.as_ref().and_then(|s| srpm_name(&s.name))
                    && src != pkg.name
                {
                    out.push(q(&eco, src, &pkg.version, Scheme::Rpm, true));
                }
            }
        }
        PackageKind::Python => out.push(q("PyPI", &pkg.name, &pkg.version, Scheme::Pep440, false)),
        PackageKind::Npm => out.push(q("npm", &pkg.name, &pkg.version, Scheme::Semver, false)),
        PackageKind::RustCrate => out.push(q(
            "crates.io",
            &pkg.name,
            &pkg.version,
            Scheme::Semver,
            false,
        )),
        PackageKind::Gem => out.push(q("RubyGems", &pkg.name, &pkg.version, Scheme::Gem, false)),
        PackageKind::Dotnet => out.push(q("NuGet", &pkg.name, &pkg.version, Scheme::Semver, false)),
        PackageKind::Composer => {
            out.push(q(
                "Packagist",
                &pkg.name,
                pkg.version.trim_start_matches('v'),
                Scheme::Semver,
                false,
            ));
        }
        PackageKind::GoModule => {
            if pkg.version == "(devel)" || pkg.version.is_empty() {
                return Ok(out);
            }
            let version = if pkg.name == "stdlib" {
                pkg.version.trim_start_matches("go").to_owned()
            } else {
                pkg.version.clone()
            };
            out.push(q("Go", &pkg.name, &version, Scheme::Go, false));
        }
        PackageKind::Java => {
            let Some(group) = pkg.namespace.as_deref().filter(|g| !g.is_empty()) else {
                return Ok(out);
            };
            out.push(q(
                "Maven",
                &format!("{group}:{}", pkg.name),
                &pkg.version,
                Scheme::Maven,
                false,
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plimsoll_analyzer::model::SourcePackage;

    fn distro(id: &str, v: &str) -> Distro {
        Distro {
            id: id.into(),
            version_id: Some(v.into()),
            ..Distro::default()
        }
    }

    fn keys(pkg: &Package, d: Option<&Distro>) -> Vec<(String, String, String)> {
        queries_for(pkg, d)
            .expect("queries")
            .into_iter()
            .map(|q| {
                // The index parses feed versions with the ecosystem's scheme: they must agree.
                assert_eq!(scheme_for_ecosystem(&q.ecosystem), Some(q.scheme), "{q:?}");
                (q.ecosystem, q.name, q.version)
            })
            .collect()
    }

    #[test]
    fn os_packages_by_source_and_binary() {
        let mut ssl = Package::new(PackageKind::Deb, "libssl3", "3.0.17-1~deb12u2");
        ssl.source = Some(SourcePackage {
            name: "openssl".into(),
            version: None,
        });
        assert_eq!(
            keys(&ssl, Some(&distro("debian", "12.11"))),
            vec![
                (
                    "Debian:12".into(),
                    "openssl".into(),
                    "3.0.17-1~deb12u2".into()
                ),
                (
                    "Debian:12".into(),
                    "libssl3".into(),
                    "3.0.17-1~deb12u2".into()
                ),
            ]
        );
        let ubuntu = keys(&ssl, Some(&distro("ubuntu", "22.04")));
        assert_eq!(
            ubuntu.iter().map(|k| k.0.as_str()).collect::<Vec<_>>(),
            [
                "Ubuntu:22.04",
                "Ubuntu:22.04",
                "Ubuntu:22.04:LTS",
                "Ubuntu:22.04:LTS"
            ]
        );
        let mut musl = Package::new(PackageKind::Apk, "musl-utils", "1.2.4-r2");
        musl.source = Some(SourcePackage {
            name: "musl".into(),
            version: None,
        });
        assert_eq!(
            keys(&musl, Some(&distro("alpine", "3.19.1")))[0].0,
            "Alpine:v3.19"
        );
        let mut rpm = Package::new(PackageKind::Rpm, "openssl-libs", "1:3.0.7-24.el9");
        rpm.source = Some(SourcePackage {
            name: "openssl-3.0.7-24.el9.src.rpm".into(),
            version: None,
        });
        assert_eq!(
            keys(&rpm, Some(&distro("almalinux", "9.4"))),
            vec![
                (
                    "AlmaLinux:9".into(),
                    "openssl-libs".into(),
                    "1:3.0.7-24.el9".into()
                ),
                (
                    "AlmaLinux:9".into(),
                    "openssl".into(),
                    "1:3.0.7-24.el9".into()
                ),
            ]
        );
        assert!(matches!(
            queries_for(&ssl, None),
            Err(Unmatchable::UnknownDistro { .. })
        ));
        assert!(matches!(
            queries_for(&rpm, Some(&distro("rhel", "9"))),
            Err(Unmatchable::UnknownDistro { .. })
        ));
    }

    #[test]
    fn queried_ecosystems() {
        let yes = [
            "PyPI",
            "npm",
            "Go",
            "Maven",
            "Debian:12",
            "Ubuntu:22.04",
            "Ubuntu:22.04:LTS",
            "Alpine:v3.19",
            "AlmaLinux:9",
            "Rocky Linux:8",
            "crates.io",
            "Packagist",
        ];
        let no = [
            "Debian",
            "Alpine",
            "Alpine:3.19",
            "Ubuntu:Pro:22.04:LTS",
            "Red Hat",
            "Hex",
            "pypi",
            "Debian:12.1",
            "AlmaLinux:",
            "GIT",
            "",
        ];
        for e in yes {
            assert!(is_queried(e), "{e}");
        }
        for e in no {
            assert!(!is_queried(e), "{e}");
        }
        // Every ecosystem `queries_for` produces passes.
        let mut ssl = Package::new(PackageKind::Deb, "libssl3", "3.0.17-1~deb12u2");
        ssl.source = Some(SourcePackage {
            name: "openssl".into(),
            version: None,
        });
        let apk = Package::new(PackageKind::Apk, "musl", "1.2.4-r2");
        let rpm = Package::new(PackageKind::Rpm, "bash", "5.1.8-9.el9");
        let cases = [
            (&ssl, distro("debian", "12.11")),
            (&ssl, distro("ubuntu", "24.04")),
            (&ssl, distro("ubuntu", "24.10")),
            (&apk, distro("alpine", "3.20.3")),
            (&rpm, distro("almalinux", "9.4")),
            (&rpm, distro("rocky", "8.10")),
        ];
        for (pkg, d) in cases {
            for q in queries_for(pkg, Some(&d)).expect("queries") {
                assert!(is_queried(&q.ecosystem), "{}", q.ecosystem);
            }
        }
    }

    #[test]
    fn language_packages() {
        assert_eq!(normalize_pypi("Jinja2"), "jinja2");
        assert_eq!(normalize_pypi("python_dateutil"), "python-dateutil");
        assert_eq!(normalize_pypi("zope..interface"), "zope-interface");
        let p = Package::new(PackageKind::Python, "Django", "2.2");
        assert_eq!(
            keys(&p, None),
            vec![("PyPI".into(), "django".into(), "2.2".into())]
        );
        let go = Package::new(PackageKind::GoModule, "stdlib", "go1.19.8");
        assert_eq!(
            keys(&go, None),
            vec![("Go".into(), "stdlib".into(), "1.19.8".into())]
        );
        let devel = Package::new(PackageKind::GoModule, "example.com/app", "(devel)");
        assert!(keys(&devel, None).is_empty());
        let mut jar = Package::new(PackageKind::Java, "commons-text", "1.9");
        jar.namespace = Some("org.apache.commons".into());
        assert_eq!(keys(&jar, None)[0].1, "org.apache.commons:commons-text");
    }

    #[test]
    fn every_query_uses_its_ecosystems_scheme() {
        // `keys` asserts that the query's scheme is `scheme_for_ecosystem`'s, which the index
        // parses feed versions with.
        let mut jar = Package::new(PackageKind::Java, "commons-text", "1.9");
        jar.namespace = Some("org.apache.commons".into());
        let rocky = Package::new(PackageKind::Rpm, "bash", "5.1.8-9.el9");
        let apk = Package::new(PackageKind::Apk, "musl", "1.2.4-r2");
        for (pkg, distro) in [
            (Package::new(PackageKind::Gem, "rack", "2.2.3"), None),
            (
                Package::new(PackageKind::Dotnet, "Newtonsoft.Json", "12.0.1"),
                None,
            ),
            (
                Package::new(PackageKind::Composer, "laravel/framework", "v8.0.0"),
                None,
            ),
            (Package::new(PackageKind::Npm, "lodash", "4.17.15"), None),
            (
                Package::new(PackageKind::RustCrate, "smallvec", "1.6.0"),
                None,
            ),
            (jar, None),
            (rocky, Some(distro("rocky", "9.3"))),
            (apk, Some(distro("alpine", "3.19.1"))),
        ] {
            assert_eq!(keys(&pkg, distro.as_ref()).len(), 1, "{pkg:?}");
        }
        assert_eq!(scheme_for_ecosystem("Ubuntu:22.04:LTS"), Some(Scheme::Dpkg));
        assert_eq!(scheme_for_ecosystem("Hex"), None);
    }
}
