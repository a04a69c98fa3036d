//! Archive records to packages: one per `pom.properties`, else one from the manifest and the
//! file name.

use super::archive::ArchiveRecord;
use super::archive_filename::split_archive_filename;
use super::parse_manifest::Manifest;
use crate::model::{Package, PackageKind};

/// Packages for one archive's record; `warnings` gets pom files that name no artifact.
pub(crate) fn packages_for(record: &ArchiveRecord, warnings: &mut Vec<String>) -> Vec<Package> {
    let (file_artifact, file_version) = split_archive_filename(&record.file_name);
    let mut out: Vec<Package> = Vec::new();
    let valid: Vec<_> = record
        .poms
        .iter()
        .filter(|pom| {
            let ok = !pom.artifact_id.is_empty() && !pom.version.is_empty();
            if !ok {
                warnings.push(format!(
                    "{}: pom.properties without artifactId or version ({:?}:{:?}:{:?})",
                    record.virtual_path, pom.group_id, pom.artifact_id, pom.version
                ));
            }
            ok
        })
        .collect();
    // The archive's "own" artifact gets the archive's virtual path and the manifest's
    // licences; artifacts shaded into it get `PATH:GROUP:ARTIFACT`.
    let own = match valid.as_slice() {
        [only] => Some(*only),
        many => many
            .iter()
            .copied()
            .find(|p| p.artifact_id == file_artifact),
    };
    for pom in &valid {
        let is_own = own.is_some_and(|o| std::ptr::eq(o, *pom));
        let mut p = Package::new(PackageKind::Java, &pom.artifact_id, &pom.version);
        if !pom.group_id.is_empty() {
            p.namespace = Some(pom.group_id.clone());
        }
        let virtual_path = if is_own {
            record.virtual_path.clone()
        } else {
            format!(
                "{}:{}:{}",
                record.virtual_path, pom.group_id, pom.artifact_id
            )
        };
        if is_own {
            p.licenses = manifest_licenses(record.manifest.as_ref());
        }
        finish(&mut p, record, virtual_path);
        if !out.iter().any(|q| same(q, &p)) {
            out.push(p);
        }
    }
    if !out.is_empty() {
        return out;
    }

    let manifest = record.manifest.as_ref();
    let header = |names: &[&str]| names.iter().find_map(|n| manifest.and_then(|m| m.get(n)));
    let (name, version) = if !file_version.is_empty() {
        (file_artifact.to_owned(), file_version.to_owned())
    } else {
        // The file name names the artifact (`jrt-fs.jar`); manifest titles are often prose
        // ("Java Runtime Environment") and only stand in when the file name says nothing.
        let name = Some(file_artifact.to_owned())
            .filter(|n| !n.is_empty())
            .or_else(|| {
                header(&[
                    "Bundle-SymbolicName",
                    "Implementation-Title",
                    "Specification-Title",
                ])
                // `Bundle-SymbolicName: org.x.y;singleton:=true`
                .map(|n| n.split(';').next().unwrap_or(n).trim().to_owned())
            })
            .unwrap_or_default();
        let version = header(&[
            "Implementation-Version",
            "Bundle-Version",
            "Specification-Version",
        ])
        .unwrap_or_default()
        .to_owned();
        (name, version)
    };
    if name.is_empty() {
        return out;
    }
    let mut p = Package::new(PackageKind::Java, name, version);
    // The only manifest header that states a Maven group id outright (older Maven archivers).
    p.namespace = header(&["Implementation-Vendor-Id"]).map(str::to_owned);
    p.licenses = manifest_licenses(manifest);
    finish(&mut p, record, record.virtual_path.clone());
    out.push(p);
    out
}

fn finish(p: &mut Package, record: &ArchiveRecord, virtual_path: String) {
    p.locations = vec![record.virtual_path.clone()];
    p.metadata.insert("virtualPath".into(), virtual_path);
}

fn same(a: &Package, b: &Package) -> bool {
    (&a.namespace, &a.name, &a.version, &a.locations)
        == (&b.namespace, &b.name, &b.version, &b.locations)
}

/// OSGi `Bundle-License`: `LICENSE (; PARAM)* (, LICENSE (; PARAM)*)*`, where a licence is an
/// SPDX expression or a URL. Many bundles write prose instead ("The Apache License, Version
/// 2.0"), whose comma is not a separator: split only when every part is one token.
fn manifest_licenses(manifest: Option<&Manifest>) -> Vec<String> {
    let Some(value) = manifest.and_then(|m| m.get("Bundle-License")) else {
        return Vec::new();
    };
    let strip_params = |s: &str| s.split(';').next().unwrap_or(s).trim().to_owned();
    let parts: Vec<String> = value.split(',').map(strip_params).collect();
    if parts.len() > 1 && parts.iter().all(|p| !p.is_empty() && !p.contains(' ')) {
        return parts;
    }
    let whole = strip_params(value);
    if whole.is_empty() {
        Vec::new()
    } else {
        vec![whole]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::java::parse_manifest::parse_manifest;
    use crate::catalog::java::parse_pom_properties::PomProperties;

    fn record(file: &str, poms: Vec<PomProperties>, manifest: Option<&str>) -> ArchiveRecord {
        ArchiveRecord {
            virtual_path: format!("/app/{file}"),
            file_name: file.into(),
            poms,
            manifest: manifest.map(|m| parse_manifest(m).0),
        }
    }

    fn pom(g: &str, a: &str, v: &str) -> PomProperties {
        PomProperties {
            group_id: g.into(),
            artifact_id: a.into(),
            version: v.into(),
        }
    }

    #[test]
    fn bundle_license_forms() {
        let cases = [
            (
                "Bundle-License: Apache-2.0;link=\"x\", MIT\n",
                vec!["Apache-2.0", "MIT"],
            ),
            (
                "Bundle-License: The Apache License, Version 2.0\n",
                vec!["The Apache License, Version 2.0"],
            ),
            (
                "Bundle-License: https://www.apache.org/licenses/LICENSE-2.0.txt\n",
                vec!["https://www.apache.org/licenses/LICENSE-2.0.txt"],
            ),
            ("Other: x\n", vec![]),
        ];
        for (m, want) in cases {
            let (manifest, _) = parse_manifest(m);
            assert_eq!(manifest_licenses(Some(&manifest)), want, "{m}");
        }
    }

    #[test]
    fn shaded_poms_get_suffixed_virtual_paths() {
        let r = record(
            "app-1.0.jar",
            vec![
                pom("com.example", "app", "1.0"),
                pom("org.lib", "lib", "2.0"),
                pom("org.lib", "", "2.0"),
            ],
            Some("Bundle-License: MIT\n"),
        );
        let mut warnings = Vec::new();
        let got: Vec<_> = packages_for(&r, &mut warnings)
            .into_iter()
            .map(|p| (p.name, p.metadata["virtualPath"].clone(), p.licenses))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "app".to_owned(),
                    "/app/app-1.0.jar".to_owned(),
                    vec!["MIT".to_owned()]
                ),
                (
                    "lib".to_owned(),
                    "/app/app-1.0.jar:org.lib:lib".to_owned(),
                    vec![]
                ),
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn file_name_then_manifest_when_the_file_name_has_no_version() {
        let r = record(
            "plugin.jar",
            vec![],
            Some(
                "Bundle-SymbolicName: org.x.plugin;singleton:=true\nBundle-Version: 3.1\nImplementation-Vendor-Id: org.x\n",
            ),
        );
        let p = &packages_for(&r, &mut Vec::new())[0];
        assert_eq!((p.name.as_str(), p.version.as_str()), ("plugin", "3.1"));
        assert_eq!(p.namespace.as_deref(), Some("org.x"));

        let bare = record("plugin.jar", vec![], None);
        let p = &packages_for(&bare, &mut Vec::new())[0];
        assert_eq!((p.name.as_str(), p.version.as_str()), ("plugin", ""));
    }
}
