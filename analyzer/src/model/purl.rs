//! Package URLs (<https://github.com/package-url/purl-spec>) in the shapes Syft emits, so that
//! tools keyed on Syft's purls (Grype, Dependency-Track) read ours unchanged.
//!
//! Traps: qualifiers are sorted by key; an npm scope is a namespace and its `@` is encoded;
//! a Go module path splits at its last `/` into namespace and name; rpm purls carry the
//! version without the epoch and the epoch as a qualifier, while dpkg versions keep it inline.

use super::{Distro, Package, PackageKind};

/// The purl for a package found on `distro`.
pub fn purl_for(pkg: &Package, distro: Option<&Distro>) -> String {
    let distro_q = distro.map(|d| match &d.version_id {
        // Debian point releases (12.7) are not part of the distro's identity; Syft and the
        // feeds say `debian-12`.
        Some(v) if d.id == "debian" => format!("{}-{}", d.id, v.split('.').next().unwrap_or(v)),
        Some(v) => format!("{}-{}", d.id, v),
        None => d.id.clone(),
    });
    let distro_ns = distro.map(|d| d.id.as_str());
    let mut qualifiers: Vec<(&str, String)> = Vec::new();
    let (ty, namespace, name, version): (&str, Option<String>, &str, String) = match pkg.kind {
        PackageKind::Deb => {
            push_opt(&mut qualifiers, "arch", pkg.arch.clone());
            push_opt(&mut qualifiers, "distro", distro_q);
            if let Some(src) = &pkg.source {
                let up = match &src.version {
                    Some(v) if v != &pkg.version => format!("{}@{}", src.name, v),
                    _ => src.name.clone(),
                };
                qualifiers.push(("upstream", up));
            }
            (
                "deb",
                Some(distro_ns.unwrap_or("debian").to_owned()),
                &pkg.name,
                pkg.version.clone(),
            )
        }
        PackageKind::Apk => {
            push_opt(&mut qualifiers, "arch", pkg.arch.clone());
            push_opt(&mut qualifiers, "distro", distro_q);
            if let Some(src) = &pkg.source {
                qualifiers.push(("upstream", src.name.clone()));
            }
            (
                "apk",
                Some(distro_ns.unwrap_or("alpine").to_owned()),
                &pkg.name,
                pkg.version.clone(),
            )
        }
        PackageKind::Rpm => {
            push_opt(&mut qualifiers, "arch", pkg.arch.clone());
            push_opt(&mut qualifiers, "distro", distro_q);
            push_opt(&mut qualifiers, "epoch", pkg.epoch.map(|e| e.to_string()));
            if let Some(src) = &pkg.source {
                qualifiers.push(("upstream", src.name.clone()));
            }
            let version = match pkg.version.split_once(':') {
                Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => rest.to_owned(),
                _ => pkg.version.clone(),
            };
            (
                "rpm",
                Some(distro_ns.unwrap_or("redhat").to_owned()),
                &pkg.name,
                version,
            )
        }
        PackageKind::Python => ("pypi", None, &pkg.name, pkg.version.clone()),
        PackageKind::Npm => match pkg.name.split_once('/') {
            Some((scope, name)) if scope.starts_with('@') => {
                ("npm", Some(scope.to_owned()), name, pkg.version.clone())
            }
            _ => ("npm", None, &pkg.name, pkg.version.clone()),
        },
        PackageKind::Gem => ("gem", None, &pkg.name, pkg.version.clone()),
        PackageKind::Java => (
            "maven",
            pkg.namespace.clone(),
            &pkg.name,
            pkg.version.clone(),
        ),
        PackageKind::GoModule => match pkg.name.rsplit_once('/') {
            Some((ns, name)) => ("golang", Some(ns.to_owned()), name, pkg.version.clone()),
            None => ("golang", None, &pkg.name, pkg.version.clone()),
        },
        PackageKind::RustCrate => ("cargo", None, &pkg.name, pkg.version.clone()),
        PackageKind::Dotnet => ("nuget", None, &pkg.name, pkg.version.clone()),
        PackageKind::Composer => match pkg.name.split_once('/') {
            Some((vendor, name)) => (
                "composer",
                Some(vendor.to_owned()),
                name,
                pkg.version.clone(),
            ),
            None => ("composer", None, &pkg.name, pkg.version.clone()),
        },
    };

    let mut out = format!("pkg:{ty}/");
    if let Some(ns) = namespace {
        for seg in ns.split('/').filter(|s| !s.is_empty()) {
            out.push_str(&encode(seg, false));
            out.push('/');
        }
    }
    out.push_str(&encode(name, false));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(&version, true));
    }
    qualifiers.sort_by(|a, b| a.0.cmp(b.0));
    let mut sep = '?';
    for (k, v) in qualifiers {
        out.push(sep);
        sep = '&';
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(&v, true));
    }
    out
}

fn push_opt(q: &mut Vec<(&'static str, String)>, key: &'static str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        q.push((key, v));
    }
}

/// Percent-encodes everything but the unreserved characters; in versions and qualifier values
/// `:` and `+` stay as they are, as Syft writes them (`1:2.3-4`, `2.36-9+deb12u4`).
fn encode(s: &str, lenient: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (lenient && matches!(b, b':' | b'+'));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourcePackage;

    fn debian12() -> Distro {
        Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            ..Distro::default()
        }
    }

    #[test]
    fn shapes_match_syft() {
        let mut deb = Package::new(PackageKind::Deb, "libssl3", "3.0.17-1~deb12u2");
        deb.arch = Some("amd64".into());
        deb.source = Some(SourcePackage {
            name: "openssl".into(),
            version: None,
        });
        let mut deb_src_ver = Package::new(PackageKind::Deb, "libgcc-s1", "12.2.0-14");
        deb_src_ver.arch = Some("amd64".into());
        deb_src_ver.source = Some(SourcePackage {
            name: "gcc-12".into(),
            version: Some("12.2.0-14+deb12u1".into()),
        });
        let mut rpm = Package::new(PackageKind::Rpm, "openssl-libs", "1:3.0.7-27.el9");
        rpm.epoch = Some(1);
        rpm.arch = Some("x86_64".into());
        rpm.source = Some(SourcePackage {
            name: "openssl-3.0.7-27.el9.src.rpm".into(),
            version: None,
        });
        let alma = Distro {
            id: "almalinux".into(),
            version_id: Some("9.4".into()),
            ..Distro::default()
        };
        let mut jar = Package::new(PackageKind::Java, "commons-text", "1.9");
        jar.namespace = Some("org.apache.commons".into());
        let cases: Vec<(Package, Option<Distro>, &str)> = vec![
            (
                deb,
                Some(debian12()),
                "pkg:deb/debian/libssl3@3.0.17-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
            ),
            (
                deb_src_ver,
                Some(debian12()),
                "pkg:deb/debian/libgcc-s1@12.2.0-14?arch=amd64&distro=debian-12&upstream=gcc-12%4012.2.0-14+deb12u1",
            ),
            (
                rpm,
                Some(alma),
                "pkg:rpm/almalinux/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=almalinux-9.4&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm",
            ),
            (
                Package::new(PackageKind::Npm, "@babel/core", "7.0.0"),
                None,
                "pkg:npm/%40babel/core@7.0.0",
            ),
            (
                Package::new(PackageKind::GoModule, "github.com/pkg/errors", "v0.9.1"),
                None,
                "pkg:golang/github.com/pkg/errors@v0.9.1",
            ),
            (
                Package::new(PackageKind::Python, "requests", "2.19.1"),
                None,
                "pkg:pypi/requests@2.19.1",
            ),
            (jar, None, "pkg:maven/org.apache.commons/commons-text@1.9"),
            (
                Package::new(PackageKind::Composer, "monolog/monolog", "2.1.0"),
                None,
                "pkg:composer/monolog/monolog@2.1.0",
            ),
        ];
        for (pkg, distro, want) in cases {
            assert_eq!(purl_for(&pkg, distro.as_ref()), want, "{}", pkg.name);
        }
    }
}
