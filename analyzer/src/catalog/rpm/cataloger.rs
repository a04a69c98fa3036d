use super::parse_header::{RpmHeader, parse_header};
use super::{BlobSink, DbError, bdb, ndb, sqlite};
use crate::catalog::{Cataloger, FileRef, Parsed};
use crate::model::{FileDigest, Package, PackageFile, PackageKind, SourcePackage};

const DB_DIRS: [&str; 2] = ["/var/lib/rpm/", "/usr/lib/sysimage/rpm/"];
const DB_FILES: [&str; 3] = ["rpmdb.sqlite", "Packages", "Packages.db"];

/// Imported OpenPGP keys are stored as headers named `gpg-pubkey`; they are not packages.
const PUBKEY: &str = "gpg-pubkey";

#[derive(Debug, Clone, Copy, Default)]
pub struct RpmCataloger;

impl Cataloger for RpmCataloger {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn claims(&self, file: &FileRef<'_>) -> bool {
        DB_DIRS.iter().any(|dir| {
            file.path
                .strip_prefix(dir)
                .is_some_and(|name| DB_FILES.contains(&name))
        })
    }

    /// rpm databases of full distributions reach a few hundred MiB.
    fn max_size(&self) -> u64 {
        512 << 20
    }

    fn parse(&self, _file: &FileRef<'_>, content: &[u8]) -> Parsed {
        let mut sink = ToPackages::default();
        // The format is told by content: names have been reused across formats.
        let read = if sqlite::is_sqlite(content) {
            sqlite::read(content, &mut sink)
        } else if ndb::is_ndb(content) {
            ndb::read(content, &mut sink)
        } else if bdb::is_bdb_hash(content) {
            bdb::read(content, &mut sink)
        } else {
            Err(DbError::UnknownFormat)
        };
        if let Err(e) = read {
            sink.parsed.warnings.push(e.to_string());
        }
        sink.parsed
    }
}

#[derive(Default)]
struct ToPackages {
    parsed: Parsed,
}

impl BlobSink for ToPackages {
    fn blob(&mut self, key: u32, blob: &[u8]) {
        match parse_header(blob) {
            Ok(h) if h.name == PUBKEY => {}
            Ok(h) => self.parsed.packages.push(to_package(h)),
            Err(e) => self.parsed.warnings.push(format!("record {key}: {e}")),
        }
    }

    fn warn(&mut self, message: String) {
        self.parsed.warnings.push(message);
    }
}

fn to_package(h: RpmHeader) -> Package {
    let mut p = Package::new(PackageKind::Rpm, h.name.clone(), h.evr());
    p.epoch = h.epoch;
    p.arch = h.arch;
    p.source = h.source_rpm.map(|name| SourcePackage {
        name,
        version: None,
    });
    p.licenses = h.license.into_iter().collect();
    if let Some(v) = h.vendor {
        p.metadata.insert("vendor".into(), v);
    }
    if let Some(s) = h.size {
        p.metadata.insert("size".into(), s.to_string());
    }
    let algorithm = h.digest_algorithm.name();
    p.files = h
        .files
        .into_iter()
        .map(|f| {
            let digest = match (f.is_regular(), algorithm, f.digest) {
                (true, Some(algorithm), Some(value)) => Some(FileDigest {
                    algorithm: algorithm.to_owned(),
                    value,
                }),
                _ => None,
            };
            PackageFile {
                path: f.path,
                digest,
            }
        })
        .collect();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rpm::test_support::gunzip;

    fn parse(path: &'static str, content: &[u8]) -> Parsed {
        RpmCataloger.parse(
            &FileRef {
                path,
                mode: 0o644,
                size: content.len() as u64,
            },
            content,
        )
    }

    #[test]
    fn claims_the_three_databases_in_both_places() {
        let table = [
            ("/var/lib/rpm/rpmdb.sqlite", true),
            ("/var/lib/rpm/Packages", true),
            ("/var/lib/rpm/Packages.db", true),
            ("/usr/lib/sysimage/rpm/rpmdb.sqlite", true),
            ("/usr/lib/sysimage/rpm/Packages", true),
            ("/usr/lib/sysimage/rpm/Packages.db", true),
            ("/var/lib/rpm/rpmdb.sqlite-wal", false),
            ("/var/lib/rpm/rpmdb.sqlite-shm", false),
            ("/var/lib/rpm/Index.db", false),
            ("/var/lib/rpm/Name", false),
            ("/var/lib/rpm/__db.001", false),
            ("/var/lib/rpm/sub/Packages", false),
            ("/var/lib/rpmold/Packages", false),
            ("/usr/lib/sysimage/rpm", false),
            ("/opt/var/lib/rpm/Packages", false),
            ("/var/lib/dpkg/status", false),
        ];
        for (path, want) in table {
            let f = FileRef {
                path,
                mode: 0o644,
                size: 1,
            };
            assert_eq!(RpmCataloger.claims(&f), want, "{path}");
        }
    }

    /// What the tests compare of one package.
    #[derive(Debug, PartialEq)]
    struct Summary {
        name: String,
        version: String,
        epoch: Option<u32>,
        arch: Option<String>,
        source: Option<String>,
        licenses: Vec<String>,
        files: usize,
    }

    fn summaries(parsed: &Parsed) -> Vec<Summary> {
        let mut s: Vec<Summary> = parsed
            .packages
            .iter()
            .map(|p| Summary {
                name: p.name.clone(),
                version: p.version.clone(),
                epoch: p.epoch,
                arch: p.arch.clone(),
                source: p.source.as_ref().map(|s| s.name.clone()),
                licenses: p.licenses.clone(),
                files: p.files.len(),
            })
            .collect();
        s.sort_by(|a, b| a.name.cmp(&b.name));
        s
    }

    fn summary(
        name: &str,
        version: &str,
        epoch: Option<u32>,
        arch: &str,
        source: &str,
        license: &str,
        files: usize,
    ) -> Summary {
        Summary {
            name: name.into(),
            version: version.into(),
            epoch,
            arch: Some(arch.into()),
            source: Some(source.into()),
            licenses: vec![license.into()],
            files,
        }
    }

    fn legacy_md5() -> Summary {
        summary(
            "legacy-md5",
            "0.9-3.el7",
            None,
            "noarch",
            "legacy-md5-0.9-3.el7.src.rpm",
            "GPLv2+",
            1,
        )
    }

    fn three_packages() -> Vec<Summary> {
        vec![
            summary(
                "openssl",
                "1:3.0.7-24.el9",
                Some(1),
                "x86_64",
                "openssl-3.0.7-24.el9.src.rpm",
                "Apache-2.0",
                1,
            ),
            summary(
                "openssl-libs",
                "1:3.0.7-24.el9",
                Some(1),
                "x86_64",
                "openssl-3.0.7-24.el9.src.rpm",
                "Apache-2.0",
                6,
            ),
            summary(
                "plimsoll-fixture",
                "1.0-1",
                None,
                "noarch",
                "plimsoll-fixture-1.0-1.src.rpm",
                "MIT and BSD",
                4,
            ),
        ]
    }

    fn digest_of<'a>(parsed: &'a Parsed, package: &str, path: &str) -> Option<&'a FileDigest> {
        parsed
            .packages
            .iter()
            .find(|p| p.name == package)?
            .files
            .iter()
            .find(|f| f.path == path)?
            .digest
            .as_ref()
    }

    fn sha256(value: &str) -> Option<FileDigest> {
        Some(FileDigest {
            algorithm: "sha256".into(),
            value: value.into(),
        })
    }

    /// Every format holds the same real packages (legacy-md5 was erased from the ndb one).
    fn assert_fixture_packages(parsed: &Parsed, with_legacy: bool) {
        assert_eq!(parsed.warnings, Vec::<String>::new());
        let mut want = three_packages();
        if with_legacy {
            want.insert(0, legacy_md5());
        }
        assert_eq!(summaries(parsed), want);
        assert_eq!(
            digest_of(parsed, "openssl-libs", "/usr/lib64/libssl.so.3.0.7").cloned(),
            sha256("0917537b4be58e0c1130f274d3bddce91ef330dd1b79436fb8a59cc9cb87c934")
        );
        // The empty file has the digest of nothing; links and directories have none.
        assert_eq!(
            digest_of(
                parsed,
                "plimsoll-fixture",
                "/usr/share/plimsoll-fixture/empty"
            )
            .cloned(),
            sha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            digest_of(
                parsed,
                "plimsoll-fixture",
                "/usr/share/plimsoll-fixture/link"
            ),
            None
        );
        assert_eq!(digest_of(parsed, "openssl-libs", "/etc/pki/tls"), None);
        if with_legacy {
            assert_eq!(
                digest_of(parsed, "legacy-md5", "/usr/share/legacy/file.txt").cloned(),
                Some(FileDigest {
                    algorithm: "md5".into(),
                    value: "169ab89ce8908eabce9ec3b6c5350b3a".into(),
                })
            );
        }
        let libs = parsed
            .packages
            .iter()
            .find(|p| p.name == "openssl-libs")
            .expect("openssl-libs");
        assert_eq!(
            libs.metadata.get("vendor").map(String::as_str),
            Some("Plimsoll Fixtures")
        );
        assert_eq!(libs.metadata.get("size").map(String::as_str), Some("77"));
    }

    #[test]
    fn sqlite_database() {
        let db = gunzip(include_bytes!("testdata/sqlite/rpmdb.sqlite.gz"));
        assert_fixture_packages(&parse("/var/lib/rpm/rpmdb.sqlite", &db), true);
    }

    #[test]
    fn berkeley_db_little_endian() {
        let db = include_bytes!("testdata/bdb-le/Packages");
        assert_fixture_packages(&parse("/var/lib/rpm/Packages", db), true);
    }

    #[test]
    fn berkeley_db_big_endian_small_pages() {
        let db = include_bytes!("testdata/bdb-be-512/Packages");
        assert_fixture_packages(&parse("/var/lib/rpm/Packages", db), true);
    }

    #[test]
    fn ndb_database() {
        let db = include_bytes!("testdata/ndb/Packages.db");
        assert_fixture_packages(&parse("/usr/lib/sysimage/rpm/Packages.db", db), false);
    }

    #[test]
    fn purl_carries_the_source_rpm_and_epoch() {
        let db = gunzip(include_bytes!("testdata/sqlite/rpmdb.sqlite.gz"));
        let parsed = parse("/var/lib/rpm/rpmdb.sqlite", &db);
        let libs = parsed
            .packages
            .iter()
            .find(|p| p.name == "openssl-libs")
            .expect("openssl-libs");
        assert_eq!(
            crate::model::purl_for(libs, None),
            "pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&epoch=1&upstream=openssl-3.0.7-24.el9.src.rpm"
        );
    }

    #[test]
    fn a_malformed_record_is_a_warning_and_the_rest_is_kept() {
        // Break the header of one record inside the little-endian BDB fixture.
        let mut db = include_bytes!("testdata/bdb-le/Packages").to_vec();
        let page = (1..db.len() / 4096)
            .find(|p| {
                let page = &db[p * 4096..(p + 1) * 4096];
                page[25] == 7 && page.windows(17).any(|w| w == b"plimsoll-fixture\0")
            })
            .expect("the overflow page of plimsoll-fixture");
        // Replace the header's `il` with a huge count.
        db[page * 4096 + 26..page * 4096 + 30].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
        let parsed = parse("/var/lib/rpm/Packages", &db);
        assert_eq!(parsed.packages.len(), 3, "{:?}", parsed.warnings);
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert!(
            parsed.warnings[0].starts_with("record ")
                && parsed.warnings[0].contains("index entries"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn unknown_content_is_one_warning() {
        for content in [&b""[..], b"not a database", &[0u8; 4096]] {
            let parsed = parse("/var/lib/rpm/Packages", content);
            assert_eq!(parsed.packages, Vec::new());
            assert_eq!(
                parsed.warnings,
                vec!["not a known rpm database format (sqlite, Berkeley DB hash, ndb)".to_owned()]
            );
        }
    }

    #[test]
    fn randomly_corrupted_databases_never_panic() {
        // A fixed xorshift sequence, so a failure can be replayed.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let sqlite = gunzip(include_bytes!("testdata/sqlite/rpmdb.sqlite.gz"));
        let fixtures: [&[u8]; 4] = [
            &sqlite,
            include_bytes!("testdata/bdb-le/Packages"),
            include_bytes!("testdata/bdb-be-512/Packages"),
            include_bytes!("testdata/ndb/Packages.db"),
        ];
        for fixture in fixtures {
            for _ in 0..150 {
                let mut db = fixture.to_vec();
                for _ in 0..1 + next() % 8 {
                    let at = (next() % db.len() as u64) as usize;
                    db[at] = next() as u8;
                }
                let parsed = parse("/var/lib/rpm/Packages", &db);
                for p in &parsed.packages {
                    assert!(!p.name.is_empty() && !p.version.is_empty(), "{p:?}");
                }
            }
        }
    }

    #[test]
    fn found_by_the_layer_walk_with_distro_purls() {
        use crate::content::ContentScanner;
        use crate::layers::{WalkCtx, squash, walk_layer};
        use crate::model::Distro;
        use crate::settings::{ContentSettings, Limits};

        let db = gunzip(include_bytes!("testdata/sqlite/rpmdb.sqlite.gz"));
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(db.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            db.as_slice(),
        )
        .expect("tar entry");
        let layer = tar.into_inner().expect("tar");

        let catalogers = crate::catalog::all();
        let content = ContentScanner::new(&ContentSettings::default());
        let limits = Limits::default();
        let ctx = WalkCtx {
            layer: 0,
            expected_digest: None,
            catalogers: &catalogers,
            content: &content,
            limits: &limits,
            digests: crate::settings::FileDigests::default(),
            keep: &|_| false,
        };
        let scan = walk_layer(layer.as_slice(), &ctx).expect("walk");
        let layers = [scan];
        let fs = squash(&layers);
        let alma = Distro {
            id: "almalinux".into(),
            version_id: Some("9.4".into()),
            ..Distro::default()
        };
        let (packages, warnings) = crate::catalog::assemble(&layers, &fs, Some(&alma));
        assert_eq!(warnings, Vec::new());
        let purls: Vec<&str> = packages.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            purls,
            vec![
                "pkg:rpm/almalinux/legacy-md5@0.9-3.el7?arch=noarch&distro=almalinux-9.4&upstream=legacy-md5-0.9-3.el7.src.rpm",
                "pkg:rpm/almalinux/openssl@3.0.7-24.el9?arch=x86_64&distro=almalinux-9.4&epoch=1&upstream=openssl-3.0.7-24.el9.src.rpm",
                "pkg:rpm/almalinux/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=almalinux-9.4&epoch=1&upstream=openssl-3.0.7-24.el9.src.rpm",
                "pkg:rpm/almalinux/plimsoll-fixture@1.0-1?arch=noarch&distro=almalinux-9.4&upstream=plimsoll-fixture-1.0-1.src.rpm",
            ]
        );
        assert_eq!(
            packages[0].locations,
            vec!["/usr/lib/sysimage/rpm/rpmdb.sqlite"]
        );
    }
}
