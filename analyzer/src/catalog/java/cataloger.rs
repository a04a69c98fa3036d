use super::archive::{ARCHIVE_SUFFIXES, Limits, walk_archive};
use super::package::packages_for;
use crate::catalog::{Cataloger, FileRef, Parsed};

/// Java archives anywhere in the image.
#[derive(Debug, Clone, Copy, Default)]
pub struct JavaCataloger {
    pub limits: Limits,
}

impl Cataloger for JavaCataloger {
    fn name(&self) -> &'static str {
        "java"
    }

    fn claims(&self, file: &FileRef<'_>) -> bool {
        let name = file.path.rsplit('/').next().unwrap_or(file.path);
        let Some(dot) = name.rfind('.') else {
            return false;
        };
        let ext = &name[dot..];
        dot > 0 && ARCHIVE_SUFFIXES.iter().any(|s| ext.eq_ignore_ascii_case(s))
    }

    fn max_size(&self) -> u64 {
        256 << 20
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Parsed {
        let (records, mut warnings) = walk_archive(file.path, content, &self.limits);
        let mut packages = Vec::new();
        for record in &records {
            packages.extend(packages_for(record, &mut warnings));
        }
        Parsed {
            packages,
            owned_files: Vec::new(),
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Package;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn file(path: &str) -> FileRef<'_> {
        FileRef {
            path,
            mode: 0o644,
            size: 0,
        }
    }

    /// `(name, namespace, version, location, licences)`.
    type Row = (String, Option<String>, String, String, Vec<String>);

    fn summary(parsed: &Parsed) -> Vec<Row> {
        parsed
            .packages
            .iter()
            .map(|p: &Package| {
                (
                    p.name.clone(),
                    p.namespace.clone(),
                    p.version.clone(),
                    p.locations.join(","),
                    p.licenses.clone(),
                )
            })
            .collect()
    }

    fn row(name: &str, ns: Option<&str>, version: &str, loc: &str, licenses: &[&str]) -> Row {
        (
            name.into(),
            ns.map(Into::into),
            version.into(),
            loc.into(),
            licenses.iter().map(|l| (*l).to_owned()).collect(),
        )
    }

    /// A zip of `(name, bytes)` entries, deflated.
    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            w.start_file(*name, SimpleFileOptions::default())
                .expect("start zip entry");
            w.write_all(bytes).expect("write zip entry");
        }
        w.finish().expect("finish zip").into_inner()
    }

    const COMMONS_CLI: &[u8] = include_bytes!("testdata/commons-cli.jar");
    const OPENTEST4J: &[u8] = include_bytes!("testdata/opentest4j-1.2.0.jar");
    const APIGUARDIAN: &[u8] = include_bytes!("testdata/apiguardian-api-1.1.2.jar");
    const AOPALLIANCE: &[u8] = include_bytes!("testdata/aopalliance-1.0.jar");

    #[test]
    fn claims_archive_extensions_only() {
        let c = JavaCataloger::default();
        for p in [
            "/a/b.jar",
            "/a/B.WAR",
            "/x.ear",
            "/var/jenkins/plugins/git.jpi",
            "/p.hpi",
        ] {
            assert!(c.claims(&file(p)), "{p}");
        }
        for p in [
            "/a/b.jar.sha1",
            "/a/jar",
            "/a/.jar",
            "/a/b.zip",
            "/a/b.jarx",
        ] {
            assert!(!c.claims(&file(p)), "{p}");
        }
    }

    #[test]
    fn real_debian_jars() {
        let c = JavaCataloger::default();
        let cases: [(&str, &[u8], _); 4] = [
            (
                "/usr/share/java/commons-cli.jar",
                COMMONS_CLI,
                row(
                    "commons-cli",
                    Some("commons-cli"),
                    "1.5.0",
                    "/usr/share/java/commons-cli.jar",
                    &[],
                ),
            ),
            (
                "/usr/share/java/opentest4j-1.2.0.jar",
                OPENTEST4J,
                row(
                    "opentest4j",
                    None,
                    "1.2.0",
                    "/usr/share/java/opentest4j-1.2.0.jar",
                    &["The Apache License, Version 2.0"],
                ),
            ),
            (
                // Debian's unversioned symlink name: the file names it, the manifest
                // gives the version (as Syft does).
                "/usr/share/java/apiguardian.jar",
                APIGUARDIAN,
                row(
                    "apiguardian",
                    None,
                    "1.1.2",
                    "/usr/share/java/apiguardian.jar",
                    &[],
                ),
            ),
            (
                // An Ant-built jar whose manifest names nothing: the file name does.
                "/usr/share/java/aopalliance-1.0.jar",
                AOPALLIANCE,
                row(
                    "aopalliance",
                    None,
                    "1.0",
                    "/usr/share/java/aopalliance-1.0.jar",
                    &[],
                ),
            ),
        ];
        for (path, bytes, want) in cases {
            let parsed = c.parse(&file(path), bytes);
            assert_eq!(summary(&parsed), vec![want], "{path}");
            assert!(parsed.warnings.is_empty(), "{path}: {:?}", parsed.warnings);
            assert_eq!(parsed.packages[0].metadata["virtualPath"], path);
        }
    }

    #[test]
    fn war_with_nested_real_jars() {
        let war = zip_of(&[
            ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\n\r\n"),
            (
                "META-INF/maven/com.example/shop/pom.properties",
                b"groupId=com.example\nartifactId=shop\nversion=2.3.4\n",
            ),
            (
                "WEB-INF/classes/com/example/Shop.class",
                b"\xca\xfe\xba\xbe",
            ),
            ("WEB-INF/lib/", b""),
            ("WEB-INF/lib/commons-cli-1.5.0.jar", COMMONS_CLI),
            ("WEB-INF/lib/opentest4j-1.2.0.jar", OPENTEST4J),
        ]);
        let parsed = JavaCataloger::default().parse(&file("/app/shop.war"), &war);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(
            summary(&parsed),
            vec![
                row("shop", Some("com.example"), "2.3.4", "/app/shop.war", &[]),
                row(
                    "commons-cli",
                    Some("commons-cli"),
                    "1.5.0",
                    "/app/shop.war:WEB-INF/lib/commons-cli-1.5.0.jar",
                    &[]
                ),
                row(
                    "opentest4j",
                    None,
                    "1.2.0",
                    "/app/shop.war:WEB-INF/lib/opentest4j-1.2.0.jar",
                    &["The Apache License, Version 2.0"]
                ),
            ]
        );
        let purls: Vec<String> = parsed
            .packages
            .iter()
            .map(|p| crate::model::purl_for(p, None))
            .collect();
        assert_eq!(purls[1], "pkg:maven/commons-cli/commons-cli@1.5.0");
    }

    #[test]
    fn ear_of_fat_jar_nests_three_levels() {
        let boot = zip_of(&[
            (
                "META-INF/maven/com.example/svc/pom.properties",
                b"groupId=com.example\nartifactId=svc\nversion=1.0\n",
            ),
            ("BOOT-INF/lib/apiguardian-api-1.1.2.jar", APIGUARDIAN),
        ]);
        let ear = zip_of(&[("svc-1.0.jar", &boot)]);
        let parsed = JavaCataloger::default().parse(&file("/opt/app.ear"), &ear);
        assert_eq!(
            summary(&parsed),
            vec![
                // The ear itself has no metadata: its file name has no version either.
                row("app", None, "", "/opt/app.ear", &[]),
                row(
                    "svc",
                    Some("com.example"),
                    "1.0",
                    "/opt/app.ear:svc-1.0.jar",
                    &[]
                ),
                row(
                    "apiguardian-api",
                    None,
                    "1.1.2",
                    "/opt/app.ear:svc-1.0.jar:BOOT-INF/lib/apiguardian-api-1.1.2.jar",
                    &[]
                ),
            ]
        );
    }

    #[test]
    fn nesting_stops_at_the_depth_limit() {
        let mut inner = COMMONS_CLI.to_vec();
        for _ in 0..6 {
            inner = zip_of(&[("lib/x-1.0.jar", &inner)]);
        }
        let parsed = JavaCataloger::default().parse(&file("/deep.jar"), &inner);
        // The top archive plus four nested levels.
        assert_eq!(parsed.packages.len(), 5, "{:?}", summary(&parsed));
        assert!(
            parsed
                .warnings
                .iter()
                .any(|w| w.contains("deeper than 4 levels")),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn zip_bomb_stops_at_the_inflation_budget() {
        // 16 MiB of zeros deflate to ~16 KiB; ten nested copies would inflate to 160 MiB.
        let zeros = vec![0u8; 16 << 20];
        let bomb_entry = zip_of(&[("zeros.jar", &zeros)]);
        let entries: Vec<(String, &[u8])> = (0..10)
            .map(|i| (format!("lib/b{i}-1.0.jar"), bomb_entry.as_slice()))
            .collect();
        let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, b)| (n.as_str(), *b)).collect();
        let bomb = zip_of(&refs);
        assert!(bomb.len() < 1 << 20, "the bomb is small: {}", bomb.len());

        let budget = JavaCataloger {
            limits: Limits {
                max_inflated: 40 << 20,
                ..Limits::default()
            },
        };
        let parsed = budget.parse(&file("/bomb.jar"), &bomb);
        let budget_warnings: Vec<&String> = parsed
            .warnings
            .iter()
            .filter(|w| {
                w.ends_with("inflates to more than 41943040 bytes in all; the rest is not read")
            })
            .collect();
        assert_eq!(budget_warnings.len(), 1, "{:?}", parsed.warnings);
        // Only the nested archives read before the budget ran out were catalogued.
        let nested = parsed
            .packages
            .iter()
            .filter(|p| p.locations[0] != "/bomb.jar")
            .count();
        assert!((1..10).contains(&nested), "{:?}", summary(&parsed));

        let per_entry = JavaCataloger {
            limits: Limits {
                max_nested_archive: 1 << 20,
                ..Limits::default()
            },
        };
        let parsed = per_entry.parse(&file("/bomb.jar"), &bomb);
        let too_large: Vec<&String> = parsed
            .warnings
            .iter()
            .filter(|w| w.ends_with(":zeros.jar: inflates to more than 1048576 bytes; not read"))
            .collect();
        assert_eq!(too_large.len(), 10, "{:?}", parsed.warnings);
        assert_eq!(
            too_large[0],
            "/bomb.jar:lib/b0-1.0.jar:zeros.jar: inflates to more than 1048576 bytes; not read"
        );
        let nested = parsed
            .packages
            .iter()
            .filter(|p| p.locations[0] != "/bomb.jar")
            .count();
        assert_eq!(nested, 10);
    }

    #[test]
    fn corrupt_archives_warn_and_keep_the_rest() {
        let c = JavaCataloger::default();
        let parsed = c.parse(&file("/a/not-a-zip-1.0.jar"), b"this is not a zip at all");
        assert!(parsed.packages.is_empty());
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);

        // A truncated jar.
        let parsed = c.parse(
            &file("/a/commons-cli.jar"),
            &COMMONS_CLI[..COMMONS_CLI.len() / 2],
        );
        assert!(parsed.packages.is_empty());
        assert!(!parsed.warnings.is_empty());

        // A war whose nested jar is garbage and whose pom entry's data is corrupted.
        let mut war = zip_of(&[
            (
                "META-INF/maven/g/a/pom.properties",
                b"groupId=g\nartifactId=a\nversion=1\n",
            ),
            ("WEB-INF/lib/broken-1.0.jar", b"PK\x03\x04garbage"),
            ("WEB-INF/lib/commons-cli-1.5.0.jar", COMMONS_CLI),
        ]);
        // Flip a byte inside the first entry's deflated data (after the 30-byte local header
        // and the name).
        war[30 + "META-INF/maven/g/a/pom.properties".len() + 2] ^= 0xff;
        let parsed = c.parse(&file("/app/x.war"), &war);
        let names: Vec<&str> = parsed.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["x", "commons-cli"], "{:?}", parsed.warnings);
        assert!(
            parsed
                .warnings
                .iter()
                .any(|w| w.starts_with("/app/x.war:META-INF/maven/g/a/pom.properties: ")),
            "{:?}",
            parsed.warnings
        );
        assert!(
            parsed.warnings.iter().any(|w| w
                .starts_with("/app/x.war:WEB-INF/lib/broken-1.0.jar: not a readable zip archive")),
            "{:?}",
            parsed.warnings
        );
    }
}
