use super::parse_installed::{ApkRecord, parse_installed};
use crate::catalog::{Cataloger, FileRef, Parsed};
use crate::model::{Package, PackageKind, SourcePackage};

const INSTALLED: &[&str] = &["/lib/apk/db/installed", "/usr/lib/apk/db/installed"];

#[derive(Debug, Clone, Copy, Default)]
pub struct ApkCataloger;

impl Cataloger for ApkCataloger {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn claims(&self, file: &FileRef<'_>) -> bool {
        INSTALLED.contains(&file.path)
    }

    fn parse(&self, _file: &FileRef<'_>, content: &[u8]) -> Parsed {
        let text = String::from_utf8_lossy(content);
        let (records, warnings) = parse_installed(&text);
        Parsed {
            packages: records.into_iter().map(to_package).collect(),
            owned_files: Vec::new(),
            warnings,
        }
    }
}

fn to_package(r: ApkRecord) -> Package {
    let mut p = Package::new(PackageKind::Apk, &r.package, &r.version);
    p.licenses = r.licenses();
    p.arch = r.arch;
    p.source = r.origin.map(|name| SourcePackage {
        name,
        version: None,
    });
    for (key, value) in [
        ("maintainer", r.maintainer),
        ("description", r.description),
        ("installedSize", r.installed_size),
    ] {
        if let Some(v) = value {
            p.metadata.insert(key.into(), v);
        }
    }
    p.files = r.files;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileRef<'_> {
        FileRef {
            path,
            mode: 0o644,
            size: 0,
        }
    }

    fn parse(content: &[u8]) -> Parsed {
        ApkCataloger.parse(&file(INSTALLED[0]), content)
    }

    #[test]
    fn claims_only_the_installed_database() {
        let cases = [
            ("/lib/apk/db/installed", true),
            ("/usr/lib/apk/db/installed", true),
            ("/lib/apk/db/installed.old", false),
            ("/lib/apk/db/triggers", false),
            ("/lib/apk/db/scripts.tar", false),
            ("/var/lib/apk/db/installed", false),
            ("/home/x/lib/apk/db/installed", false),
        ];
        for (path, want) in cases {
            assert_eq!(ApkCataloger.claims(&file(path)), want, "{path}");
        }
    }

    #[test]
    fn installed_database_to_packages() {
        let parsed = parse(include_bytes!("testdata/installed"));
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        // name, version, arch, origin, licenses
        type Row<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Vec<&'a str>,
        );
        let got: Vec<Row<'_>> = parsed
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.arch.as_deref(),
                    p.source.as_ref().map(|s| s.name.as_str()),
                    p.licenses.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        let x86 = Some("x86_64");
        assert_eq!(
            got,
            vec![
                (
                    "alpine-baselayout-data",
                    "3.4.3-r2",
                    x86,
                    Some("alpine-baselayout"),
                    vec!["GPL-2.0-only"]
                ),
                (
                    "musl",
                    "1.2.4_git20230717-r4",
                    x86,
                    Some("musl"),
                    vec!["MIT"]
                ),
                (
                    "busybox",
                    "1.36.1-r15",
                    x86,
                    Some("busybox"),
                    vec!["GPL-2.0-only"]
                ),
                (
                    "libcrypto3",
                    "3.1.4-r5",
                    x86,
                    Some("openssl"),
                    vec!["Apache-2.0"]
                ),
                (
                    "ssl_client",
                    "1.36.1-r15",
                    x86,
                    Some("busybox"),
                    vec!["GPL-2.0-only"]
                ),
                ("zlib", "1.3.1-r0", x86, Some("zlib"), vec!["Zlib"]),
                (
                    "scanelf",
                    "1.3.7-r2",
                    x86,
                    Some("pax-utils"),
                    vec!["GPL-2.0-only"]
                ),
                (
                    "ca-certificates-bundle",
                    "20240226-r0",
                    x86,
                    Some("ca-certificates"),
                    vec!["MPL-2.0 AND MIT"]
                ),
            ]
        );
        let musl = &parsed.packages[1];
        assert_eq!(
            musl.metadata.get("maintainer").map(String::as_str),
            Some("Timo Teräs <timo.teras@iki.fi>")
        );
        assert_eq!(
            musl.metadata.get("description").map(String::as_str),
            Some("the musl c library (libc) implementation")
        );
        let alpine = crate::model::Distro {
            id: "alpine".into(),
            version_id: Some("3.19.1".into()),
            ..crate::model::Distro::default()
        };
        assert_eq!(
            crate::model::purl_for(musl, Some(&alpine)),
            "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1&upstream=musl"
        );
        let files: Vec<(&str, &str, &str)> = musl
            .files
            .iter()
            .map(|f| {
                let d = f.digest.as_ref().expect("every musl file has a Z: line");
                (f.path.as_str(), d.algorithm.as_str(), d.value.as_str())
            })
            .collect();
        assert_eq!(
            files,
            vec![
                (
                    "/lib/ld-musl-x86_64.so.1",
                    "sha1",
                    "dd56f736c79557256f0bfd90d204b07cd9032a93"
                ),
                (
                    "/lib/libc.musl-x86_64.so.1",
                    "sha1",
                    "61493158f3b1ca8799989c6010f95784360dff48"
                ),
            ]
        );
        let busybox_paths: Vec<&str> = parsed.packages[2]
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(
            busybox_paths,
            vec![
                "/bin/busybox",
                "/bin/sh",
                "/etc/busybox-paths.d/busybox",
                "/etc/logrotate.d/acpid",
                "/usr/share/udhcpc/default.script"
            ]
        );
    }

    /// A `p:` (provides) line of a megabyte, as big Alpine packages (e.g. those providing
    /// hundreds of `so:` and `cmd:` names) produce; a reader with a line limit drops them.
    #[test]
    fn very_large_entries() {
        let provides: String = (0..60_000)
            .map(|i| format!("cmd:tool{i:05}=1.0-r0 "))
            .collect();
        assert!(provides.len() > 1 << 20);
        let text = format!(
            "P:big\nV:1.0-r0\nA:x86_64\np:{provides}\nD:{provides}\nL:MIT\nF:usr/bin\nR:tool\nZ:Q1hvfkN/qlp/zhXR3cuerq6jd2Z7g=\n\nP:after\nV:2.0-r0\n"
        );
        let parsed = parse(text.as_bytes());
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let got: Vec<(&str, &str, usize)> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.files.len()))
            .collect();
        assert_eq!(got, vec![("big", "1.0-r0", 1), ("after", "2.0-r0", 0)]);
        assert_eq!(parsed.packages[0].licenses, vec!["MIT"]);
    }

    #[test]
    fn corrupt_database_keeps_the_good_records() {
        let parsed = parse(include_bytes!("testdata/corrupt/installed"));
        let got: Vec<(&str, &str, usize)> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.files.len()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("musl", "1.2.4_git20230717-r4", 1),
                ("zlib", "1.3.1-r0", 0),
                ("busybox", "1.36.1-r15", 1),
            ]
        );
        // The bad checksum costs the digest, not the file.
        assert_eq!(parsed.packages[0].files[0].digest, None);
        assert!(parsed.packages[2].files[0].digest.is_some());
        assert_eq!(parsed.packages[0].licenses, vec!["MIT"]);
        let w = &parsed.warnings;
        assert_eq!(w.len(), 8, "{w:#?}");
        assert!(
            w[0].starts_with("line 5: \"this line has no key\""),
            "{}",
            w[0]
        );
        assert!(w[1].starts_with("line 10: checksum"), "{}", w[1]);
        assert_eq!(
            w[2],
            "record at line 12: package no-version-here has no V: (version) field; skipped"
        );
        // The garbage record: two lines (`\r\n` inside the PNG magic ends a line), no P:.
        assert!(w[3].starts_with("line 16: "), "{}", w[3]);
        assert!(w[4].starts_with("line 17: "), "{}", w[4]);
        assert_eq!(
            w[5],
            "record at line 16: no P: (package name) field; skipped"
        );
        assert_eq!(
            w[6],
            "record at line 19: no P: (package name) field; skipped"
        );
        assert!(
            w[7].starts_with("line 25: package busybox starts before the record of zlib ended"),
            "{}",
            w[7]
        );
    }

    #[test]
    fn binary_garbage_and_empty_input_never_panic() {
        let mut garbage = Vec::new();
        let mut x: u32 = 0x1234_5678;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            garbage.push(x as u8);
        }
        let parsed = parse(&garbage);
        assert!(parsed.packages.is_empty());
        assert!(!parsed.warnings.is_empty());
        assert!(parse(b"").is_empty());
        assert!(parse(b"\n\n\n").is_empty());
    }
}
