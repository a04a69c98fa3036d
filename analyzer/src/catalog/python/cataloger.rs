use super::parse_metadata::{CoreMetadata, normalize_name, parse_metadata};
use super::parse_record::parse_record;
use crate::catalog::{Cataloger, FileRef, OwnedFiles, Parsed};
use crate::model::{Package, PackageKind};

#[derive(Debug, Clone, Copy, Default)]
pub struct PythonCataloger;

/// What a claimed path holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PythonFile<'a> {
    Metadata,
    /// `RECORD` of the `.dist-info` directory at this path.
    Record {
        dist_info_dir: &'a str,
    },
}

fn classify(path: &str) -> Option<PythonFile<'_>> {
    let (dir, name) = path.rsplit_once('/')?;
    let dir_name = dir.rsplit_once('/').map_or(dir, |(_, n)| n);
    match name {
        "METADATA" if dir_name.ends_with(".dist-info") => Some(PythonFile::Metadata),
        "PKG-INFO" if dir_name.ends_with(".egg-info") => Some(PythonFile::Metadata),
        "PKG-INFO"
            if dir_name == "EGG-INFO" && dir.trim_end_matches("/EGG-INFO").ends_with(".egg") =>
        {
            Some(PythonFile::Metadata)
        }
        "RECORD" if dir_name.ends_with(".dist-info") => {
            Some(PythonFile::Record { dist_info_dir: dir })
        }
        // distutils writes the metadata as a file named like the directory setuptools uses.
        n if n.ends_with(".egg-info") && n.len() > ".egg-info".len() => Some(PythonFile::Metadata),
        _ => None,
    }
}

impl Cataloger for PythonCataloger {
    fn name(&self) -> &'static str {
        "python"
    }

    fn claims(&self, file: &FileRef<'_>) -> bool {
        classify(file.path).is_some()
    }

    fn max_size(&self) -> u64 {
        // A METADATA holds the README; a RECORD lists every file of a package (Django: 350 KB).
        16 << 20
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Parsed {
        let text = String::from_utf8_lossy(content);
        match classify(file.path) {
            Some(PythonFile::Metadata) => match parse_metadata(&text) {
                Ok(m) => Parsed::packages(vec![to_package(m)]),
                Err(why) => Parsed::warning(why),
            },
            Some(PythonFile::Record { dist_info_dir }) => record(dist_info_dir, &text),
            None => Parsed::default(),
        }
    }
}

fn record(dist_info_dir: &str, text: &str) -> Parsed {
    let dir_name = dist_info_dir
        .rsplit_once('/')
        .map_or(dist_info_dir, |(_, n)| n);
    let stem = dir_name.trim_end_matches(".dist-info");
    // `NAME-VERSION`, with `-` inside NAME escaped to `_` by conforming installers; split at
    // the last `-` so an unescaped name still comes out whole.
    let Some((package, _version)) = stem.rsplit_once('-').filter(|(n, _)| !n.is_empty()) else {
        return Parsed::warning(format!(
            "{dir_name:?} is not a NAME-VERSION.dist-info directory; its RECORD is ignored"
        ));
    };
    let (files, bad_digests) = parse_record(text, dist_info_dir);
    let mut warnings = Vec::new();
    if bad_digests > 0 {
        warnings.push(format!(
            "{bad_digests} RECORD rows have an unreadable digest; their files are kept without one"
        ));
    }
    Parsed {
        packages: Vec::new(),
        owned_files: vec![OwnedFiles {
            kind: PackageKind::Python,
            package: package.to_owned(),
            arch: None,
            files,
        }],
        warnings,
    }
}

fn to_package(m: CoreMetadata) -> Package {
    let licenses = m.licenses();
    let mut p = Package::new(PackageKind::Python, m.name, m.version);
    p.licenses = licenses;
    p.metadata
        .insert("normalizedName".into(), normalize_name(&p.name));
    for (key, value) in [("author", m.author), ("summary", m.summary)] {
        if let Some(v) = value {
            p.metadata.insert(key.into(), v);
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "/usr/local/lib/python3.11/site-packages";

    fn file(path: &str) -> FileRef<'_> {
        FileRef {
            path,
            mode: 0o644,
            size: 0,
        }
    }

    fn parse(path: &str, content: &[u8]) -> Parsed {
        let f = file(path);
        assert!(PythonCataloger.claims(&f), "{path} is claimed");
        PythonCataloger.parse(&f, content)
    }

    #[test]
    fn claims_metadata_files_anywhere() {
        let cases = [
            (
                "/usr/local/lib/python3.11/site-packages/requests-2.19.1.dist-info/METADATA",
                true,
            ),
            (
                "/usr/local/lib/python3.11/site-packages/requests-2.19.1.dist-info/RECORD",
                true,
            ),
            (
                "/usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info/PKG-INFO",
                true,
            ),
            (
                "/usr/lib/python3/dist-packages/pycairo-1.20.1.egg-info",
                true,
            ),
            (
                "/opt/venv/lib/python3.9/site-packages/foo-1.0-py3.9.egg/EGG-INFO/PKG-INFO",
                true,
            ),
            (
                "/app/.venv/lib/python3.12/site-packages/x-1.dist-info/METADATA",
                true,
            ),
            (
                "/usr/local/lib/python3.11/site-packages/requests-2.19.1.dist-info/WHEEL",
                false,
            ),
            (
                "/usr/local/lib/python3.11/site-packages/requests-2.19.1.dist-info/top_level.txt",
                false,
            ),
            (
                "/usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info/top_level.txt",
                false,
            ),
            (
                "/usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info/installed-files.txt",
                false,
            ),
            ("/src/six-1.10.0/PKG-INFO", false),
            ("/src/METADATA", false),
            (
                "/usr/local/lib/python3.11/site-packages/requests/METADATA",
                false,
            ),
            ("/opt/EGG-INFO/PKG-INFO", false),
            ("/.egg-info", false),
            ("/srv/RECORD", false),
        ];
        for (path, want) in cases {
            assert_eq!(PythonCataloger.claims(&file(path)), want, "{path}");
        }
    }

    /// name, version, licenses, normalizedName of each real fixture.
    #[test]
    fn real_metadata_files() {
        // path under site-packages, content, name, version, licenses, normalizedName
        type Case = (
            &'static str,
            &'static [u8],
            &'static str,
            &'static str,
            &'static [&'static str],
            &'static str,
        );
        let cases: &[Case] = &[
            (
                "requests-2.19.1.dist-info/METADATA",
                include_bytes!("testdata/requests-2.19.1.dist-info/METADATA"),
                "requests",
                "2.19.1",
                &["Apache 2.0"],
                "requests",
            ),
            (
                "urllib3-1.24.1.dist-info/METADATA",
                include_bytes!("testdata/urllib3-1.24.1.dist-info/METADATA"),
                "urllib3",
                "1.24.1",
                &["MIT"],
                "urllib3",
            ),
            (
                "Jinja2-2.10.dist-info/METADATA",
                include_bytes!("testdata/Jinja2-2.10.dist-info/METADATA"),
                "Jinja2",
                "2.10",
                &["BSD"],
                "jinja2",
            ),
            (
                "Django-2.2.dist-info/METADATA",
                include_bytes!("testdata/Django-2.2.dist-info/METADATA"),
                "Django",
                "2.2",
                &["BSD"],
                "django",
            ),
            (
                "python_dateutil-2.8.2.dist-info/METADATA",
                include_bytes!("testdata/python_dateutil-2.8.2.dist-info/METADATA"),
                "python-dateutil",
                "2.8.2",
                &["Dual License"],
                "python-dateutil",
            ),
            (
                "urllib3-2.5.0.dist-info/METADATA",
                include_bytes!("testdata/urllib3-2.5.0.dist-info/METADATA"),
                "urllib3",
                "2.5.0",
                &["MIT"],
                "urllib3",
            ),
            (
                "urllib3-2.3.0.dist-info/METADATA",
                include_bytes!("testdata/urllib3-2.3.0.dist-info/METADATA"),
                "urllib3",
                "2.3.0",
                &["MIT License"],
                "urllib3",
            ),
            (
                "packaging-25.0.dist-info/METADATA",
                include_bytes!("testdata/packaging-25.0.dist-info/METADATA"),
                "packaging",
                "25.0",
                &["Apache Software License", "BSD License"],
                "packaging",
            ),
            (
                "six.egg-info/PKG-INFO",
                include_bytes!("testdata/six.egg-info/PKG-INFO"),
                "six",
                "1.10.0",
                &["MIT"],
                "six",
            ),
            (
                "python_apt-2.6.0.egg-info/PKG-INFO",
                include_bytes!("testdata/python_apt-2.6.0.egg-info/PKG-INFO"),
                "python-apt",
                "2.6.0",
                &["GNU GPL"],
                "python-apt",
            ),
            (
                "pycairo-1.20.1.egg-info",
                include_bytes!("testdata/pycairo-1.20.1.egg-info"),
                "pycairo",
                "1.20.1",
                &["LGPL-2.1-only OR MPL-1.1"],
                "pycairo",
            ),
        ];
        for (rel, content, name, version, licenses, normalized) in cases {
            let path = format!("{SITE}/{rel}");
            let parsed = parse(&path, content);
            assert!(parsed.warnings.is_empty(), "{rel}: {:?}", parsed.warnings);
            let [p] = parsed.packages.as_slice() else {
                panic!("{rel}: one package expected, got {:?}", parsed.packages);
            };
            assert_eq!(p.kind, PackageKind::Python);
            assert_eq!(
                (p.name.as_str(), p.version.as_str()),
                (*name, *version),
                "{rel}"
            );
            assert_eq!(p.licenses, *licenses, "{rel}");
            assert_eq!(
                p.metadata.get("normalizedName").map(String::as_str),
                Some(*normalized),
                "{rel}"
            );
        }
    }

    #[test]
    fn record_becomes_owned_files_named_by_the_directory() {
        let dir = format!("{SITE}/python_dateutil-2.8.2.dist-info");
        let parsed = parse(
            &format!("{dir}/RECORD"),
            include_bytes!("testdata/python_dateutil-2.8.2.dist-info/RECORD"),
        );
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let [o] = parsed.owned_files.as_slice() else {
            panic!("one owned-files entry expected");
        };
        assert_eq!(
            (o.kind, o.package.as_str(), o.arch.as_deref()),
            (PackageKind::Python, "python_dateutil", None)
        );
        assert_eq!(o.files.len(), 25);
        assert_eq!(o.files[0].path, format!("{SITE}/dateutil/__init__.py"));
        let d = o.files[0].digest.as_ref().expect("first row has a digest");
        assert_eq!(
            (d.algorithm.as_str(), d.value.as_str()),
            (
                "sha256",
                "957125012ab0606c2a96b49649e5f5f49c05e417bdb4d79c0daf5e6e4fb48269"
            )
        );
        let last = o.files.last().expect("25 files");
        assert_eq!(
            (last.path.as_str(), last.digest.as_ref()),
            (format!("{dir}/RECORD").as_str(), None)
        );
    }

    #[test]
    fn record_in_a_badly_named_directory_is_a_warning() {
        let parsed = parse("/site/nodash.dist-info/RECORD", b"a.py,,\n");
        assert!(parsed.owned_files.is_empty());
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    }

    #[test]
    fn malformed_metadata_is_a_warning() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "no Name header"),
            (
                b"Metadata-Version: 2.1\nName: half\n",
                "package half has no Version header",
            ),
            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "no Name header"),
            (&[0xff; 4096], "no Name header"),
        ];
        for (content, want) in cases {
            let parsed = parse(&format!("{SITE}/x-1.dist-info/METADATA"), content);
            assert!(parsed.packages.is_empty());
            assert_eq!(parsed.warnings, vec![(*want).to_owned()]);
        }
    }

    /// Through `assemble`: each METADATA gets the files of the RECORD beside it, although the
    /// RECORD names the package `python_dateutil` and METADATA `python-dateutil`, and two
    /// installs of one package in different site-packages keep their own files.
    #[test]
    fn assemble_attaches_record_files_to_the_package_beside_them() {
        use crate::catalog::assemble;
        use crate::layers::{CatalogHit, LayerScan, squash};
        use crate::model::{FileEntry, FileKind};

        let venv = "/opt/venv/lib/python3.11/site-packages";
        let inputs: Vec<(String, &[u8])> = vec![
            (
                format!("{SITE}/python_dateutil-2.8.2.dist-info/METADATA"),
                include_bytes!("testdata/python_dateutil-2.8.2.dist-info/METADATA"),
            ),
            (
                format!("{SITE}/python_dateutil-2.8.2.dist-info/RECORD"),
                include_bytes!("testdata/python_dateutil-2.8.2.dist-info/RECORD"),
            ),
            (
                format!("{venv}/requests-2.19.1.dist-info/METADATA"),
                include_bytes!("testdata/requests-2.19.1.dist-info/METADATA"),
            ),
            (
                format!("{venv}/requests-2.19.1.dist-info/RECORD"),
                include_bytes!("testdata/requests-2.19.1.dist-info/RECORD"),
            ),
            // The same package again, with a one-file RECORD, in another site-packages.
            (
                format!("{SITE}/requests-2.19.1.dist-info/METADATA"),
                include_bytes!("testdata/requests-2.19.1.dist-info/METADATA"),
            ),
            (
                format!("{SITE}/requests-2.19.1.dist-info/RECORD"),
                b"requests/__init__.py,,\n",
            ),
        ];
        let mut layer = LayerScan::default();
        for (path, content) in &inputs {
            layer.entries.push(FileEntry {
                path: path.clone(),
                kind: FileKind::File,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: content.len() as u64,
                link_target: None,
                layer: 0,
                sha256: None,
                md5: None,
            });
            layer.catalog.push(CatalogHit {
                path: path.clone(),
                cataloger: "python",
                parsed: parse(path, content),
            });
        }
        let fs = squash([&layer]);
        let (packages, warnings) = assemble(std::slice::from_ref(&layer), &fs, None);
        assert!(warnings.is_empty(), "{warnings:?}");
        // Each package's files sit in its own site-packages.
        let got: Vec<(&str, &str, usize, bool)> = packages
            .iter()
            .map(|p| {
                let site = p.locations[0].rsplitn(3, '/').nth(2).unwrap_or_default();
                (
                    p.name.as_str(),
                    p.locations[0].as_str(),
                    p.files.len(),
                    p.files.iter().all(|f| f.path.starts_with(site)),
                )
            })
            .collect();
        let dateutil_meta = format!("{SITE}/python_dateutil-2.8.2.dist-info/METADATA");
        let site_meta = format!("{SITE}/requests-2.19.1.dist-info/METADATA");
        let venv_meta = format!("{venv}/requests-2.19.1.dist-info/METADATA");
        assert_eq!(
            got,
            vec![
                ("python-dateutil", dateutil_meta.as_str(), 25, true),
                ("requests", venv_meta.as_str(), 25, true),
                ("requests", site_meta.as_str(), 1, true),
            ]
        );
        assert_eq!(
            packages[2].files[0].path,
            format!("{SITE}/requests/__init__.py")
        );
        assert_eq!(packages[1].purl, "pkg:pypi/requests@2.19.1");
    }
}
