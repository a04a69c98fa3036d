use super::parse_info::{parse_list, parse_md5sums};
use super::parse_status::{StatusRecord, parse_status};
use crate::catalog::{Cataloger, FileRef, OwnedFiles, Parsed};
use crate::model::{Package, PackageKind, SourcePackage};

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d/";
const INFO: &str = "/var/lib/dpkg/info/";

#[derive(Debug, Clone, Copy, Default)]
pub struct DpkgCataloger;

impl Cataloger for DpkgCataloger {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn claims(&self, file: &FileRef<'_>) -> bool {
        let p = file.path;
        p == STATUS
            || (p.starts_with(STATUS_D) && !p[STATUS_D.len()..].contains('/'))
            || (p.starts_with(INFO) && (p.ends_with(".list") || p.ends_with(".md5sums")))
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Parsed {
        let text = String::from_utf8_lossy(content);
        let p = file.path;
        if let Some(name) = p
            .strip_prefix(STATUS_D)
            .and_then(|n| n.strip_suffix(".md5sums"))
        {
            return owned(name, parse_md5sums(&text));
        }
        if let Some(rest) = p.strip_prefix(INFO) {
            if let Some(name) = rest.strip_suffix(".list") {
                return owned(name, parse_list(&text));
            }
            if let Some(name) = rest.strip_suffix(".md5sums") {
                return owned(name, parse_md5sums(&text));
            }
        }
        let (records, warnings) = parse_status(&text);
        Parsed {
            packages: records
                .into_iter()
                .filter(StatusRecord::is_installed)
                .map(to_package)
                .collect(),
            owned_files: Vec::new(),
            warnings,
        }
    }
}

/// `info/` file names are `NAME` or `NAME:ARCH` (multi-arch same packages).
fn owned(file_stem: &str, files: Vec<crate::model::PackageFile>) -> Parsed {
    let (package, arch) = match file_stem.split_once(':') {
        Some((n, a)) => (n.to_owned(), Some(a.to_owned())),
        None => (file_stem.to_owned(), None),
    };
    Parsed {
        owned_files: vec![OwnedFiles {
            kind: PackageKind::Deb,
            package,
            arch,
            files,
        }],
        ..Parsed::default()
    }
}

fn to_package(r: StatusRecord) -> Package {
    let mut p = Package::new(PackageKind::Deb, r.package, r.version);
    p.arch = r.architecture;
    if let Some((name, version)) = r.source {
        p.source = Some(SourcePackage { name, version });
    }
    if let Some(m) = r.maintainer {
        p.metadata.insert("maintainer".into(), m);
    }
    if let Some(s) = r.installed_size {
        p.metadata.insert("installedSize".into(), s);
    }
    p.files = r.conffiles;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_only_dpkg_files() {
        let c = DpkgCataloger;
        let f = |p: &'static str| FileRef {
            path: p,
            mode: 0o644,
            size: 10,
        };
        assert!(c.claims(&f("/var/lib/dpkg/status")));
        assert!(c.claims(&f("/var/lib/dpkg/status.d/base")));
        assert!(c.claims(&f("/var/lib/dpkg/info/libc6:amd64.list")));
        assert!(c.claims(&f("/var/lib/dpkg/info/bash.md5sums")));
        assert!(!c.claims(&f("/var/lib/dpkg/status-old")));
        assert!(!c.claims(&f("/var/lib/dpkg/info/bash.postinst")));
        assert!(!c.claims(&f("/var/lib/dpkg/status.d/x/y")));
    }

    #[test]
    fn status_file_to_packages_with_source_and_no_deinstalled() {
        let text = include_str!("testdata/status");
        let parsed = DpkgCataloger.parse(
            &FileRef {
                path: STATUS,
                mode: 0o644,
                size: 0,
            },
            text.as_bytes(),
        );
        let got: Vec<(&str, &str, Option<&str>, Option<&str>)> = parsed
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.source.as_ref().map(|s| s.name.as_str()),
                    p.source.as_ref().and_then(|s| s.version.as_deref()),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("libssl3", "3.0.17-1~deb12u2", Some("openssl"), None),
                (
                    "libgcc-s1",
                    "12.2.0-14+deb12u1",
                    Some("gcc-12"),
                    Some("12.2.0-14+deb12u1")
                ),
                ("base-files", "12.4+deb12u11", None, None),
            ]
        );
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    }

    #[test]
    fn info_lists_become_owned_files() {
        let parsed = DpkgCataloger.parse(
            &FileRef {
                path: "/var/lib/dpkg/info/libc6:amd64.md5sums",
                mode: 0o644,
                size: 0,
            },
            b"0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n",
        );
        let o = &parsed.owned_files[0];
        assert_eq!(
            (o.package.as_str(), o.arch.as_deref()),
            ("libc6", Some("amd64"))
        );
        assert_eq!(o.files[0].path, "/lib/x86_64-linux-gnu/libc.so.6");
        assert_eq!(
            o.files[0].digest.as_ref().map(|d| d.algorithm.as_str()),
            Some("md5")
        );
    }
}
