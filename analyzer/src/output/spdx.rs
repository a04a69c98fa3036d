//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>).
//!
//! Why our own serde structs and not the `spdx-rs` crate: its last release (0.5.5) predates
//! current dependencies (thiserror 1, strum 0.24, nom 7, chrono), is mostly a parser of
//! tag-value documents, and would still leave us to build every field by hand. Emitting a
//! fixed subset of the 2.3 JSON form needs a handful of structs. License expressions are checked
//! with the maintained `spdx` crate (see `output/license.rs`).
//!
//! What we emit, in Syft's shape: the document `DESCRIBES` one package for the image
//! (`primaryPackagePurpose: CONTAINER`), which `CONTAINS` one package for the distro
//! (`OPERATING-SYSTEM`) and one per package found.
//!
//! Traps:
//! - `SPDXID`s are `SPDXRef-` followed by letters, digits, `.` and `-` only: package names hold
//!   `@`, `/`, `+`, `~`, `:`, so ids are built from a sanitized name plus the package-key hash.
//! - A `LicenseRef-x` used in an expression must be declared in `hasExtractedLicensingInfos`
//!   with its text, and its `x` has the same character rules. License strings that are not
//!   valid SPDX become such refs (the "text" is the string as the package wrote it).
//! - `created` is `YYYY-MM-DDThh:mm:ssZ` exactly: no fractional seconds, no offset.
//! - `documentNamespace` is a URI without `#` that is unique per document; ours derives from
//!   the seed and the manifest digest.
//! - `filesAnalyzed` defaults to true, which then requires `packageVerificationCode`: we list no
//!   files, so it is false on every package.
//! - 2.3 spells the reference category `PACKAGE-MANAGER`; 2.2 used `PACKAGE_MANAGER`.

use super::license::{License, classify_all};
use super::{Error, RenderCtx, UniqueIds, image_name, image_purl, package_key, sorted_packages};
use crate::model::{Analysis, Distro, Package};
use serde::Serialize;
use std::collections::BTreeMap;

const NOASSERTION: &str = "NOASSERTION";
const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";

/// Renders the analysis as an SPDX 2.3 JSON document.
pub fn render(analysis: &Analysis, ctx: &RenderCtx) -> Result<Vec<u8>, Error> {
    super::to_json(&document(analysis, ctx), "SPDX")
}

fn document(analysis: &Analysis, ctx: &RenderCtx) -> Document {
    let mut ids = UniqueIds::default();
    let mut refs = LicenseRefs::default();
    let name = image_name(analysis);

    let image_id = ids.claim("SPDXRef-DocumentRoot-Image".to_owned());
    let mut packages = vec![image_package(analysis, image_id.clone())];
    let mut relationships = vec![Relationship {
        element: DOCUMENT_ID.to_owned(),
        kind: "DESCRIBES",
        related: image_id.clone(),
    }];
    let contains = |id: &str| Relationship {
        element: image_id.clone(),
        kind: "CONTAINS",
        related: id.to_owned(),
    };
    if let Some(distro) = &analysis.distro {
        let id = ids.claim(format!("SPDXRef-OperatingSystem-{}", sanitize(&distro.id)));
        relationships.push(contains(&id));
        packages.push(os_package(distro, id));
    }
    for pkg in sorted_packages(analysis) {
        let id = ids.claim(format!(
            "SPDXRef-Package-{}-{}-{}",
            pkg.kind,
            sanitize(&pkg.name),
            package_key(pkg)
        ));
        relationships.push(contains(&id));
        packages.push(package(pkg, id, &mut refs));
    }

    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdxid: DOCUMENT_ID,
        name: name.to_owned(),
        document_namespace: format!(
            "https://plimsoll.dev/spdx/image/{}-{}",
            sanitize(name),
            super::uuid_v5(&ctx.seed, &analysis.image.manifest_digest)
        ),
        creation_info: CreationInfo {
            license_list_version: license_list_version(),
            creators: vec![
                format!("Tool: plimsoll-{}", ctx.tool_version),
                format!(
                    "Tool: {}-{}",
                    analysis.analyzer.name, analysis.analyzer.version
                ),
            ],
            created: ctx.created.to_string(),
        },
        packages,
        relationships,
        has_extracted_licensing_infos: refs.into_infos(),
    }
}

/// The `spdx` crate's license list version as SPDX wants it (`M.N`).
fn license_list_version() -> Option<String> {
    let mut parts = spdx::license_version().split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    Some(format!("{major}.{minor}"))
}

fn image_package(analysis: &Analysis, id: String) -> SpdxPackage {
    let image = &analysis.image;
    let checksums = image
        .manifest_digest
        .strip_prefix("sha256:")
        .map(|hex| Checksum {
            algorithm: "SHA256",
            checksum_value: hex.to_owned(),
        })
        .into_iter()
        .collect();
    let mut comment = format!("image {}", image.reference);
    if !image.os.is_empty() {
        comment.push_str(&format!(", platform {}/{}", image.os, image.architecture));
        if let Some(v) = &image.variant {
            comment.push_str(&format!("/{v}"));
        }
    }
    if !image.config_digest.is_empty() {
        comment.push_str(&format!(", config {}", image.config_digest));
    }
    SpdxPackage {
        version_info: Some(image.manifest_digest.clone()).filter(|d| !d.is_empty()),
        checksums,
        external_refs: image_purl(analysis).map(purl_ref).into_iter().collect(),
        primary_package_purpose: Some("CONTAINER"),
        comment: Some(comment),
        ..SpdxPackage::new(id, image_name(analysis).to_owned())
    }
}

fn os_package(distro: &Distro, id: String) -> SpdxPackage {
    SpdxPackage {
        version_info: distro.version_id.clone(),
        primary_package_purpose: Some("OPERATING-SYSTEM"),
        description: distro.pretty_name.clone(),
        ..SpdxPackage::new(id, distro.id.clone())
    }
}

fn package(pkg: &Package, id: String, refs: &mut LicenseRefs) -> SpdxPackage {
    let mut source_info = format!(
        "acquired package info from the {} record at {} (introduced in layer {}, record in layer {})",
        pkg.kind,
        if pkg.locations.is_empty() {
            "an unknown location".to_owned()
        } else {
            pkg.locations.join(", ")
        },
        pkg.introduced_layer,
        pkg.record_layer,
    );
    if let Some(src) = &pkg.source {
        source_info.push_str(&format!("; built from source package {}", src.name));
        if let Some(v) = &src.version {
            source_info.push_str(&format!(" {v}"));
        }
    }
    SpdxPackage {
        version_info: Some(pkg.version.clone()).filter(|v| !v.is_empty()),
        license_declared: declared_license(&pkg.licenses, refs),
        external_refs: Some(pkg.purl.clone())
            .filter(|p| !p.is_empty())
            .map(purl_ref)
            .into_iter()
            .collect(),
        source_info: Some(source_info),
        ..SpdxPackage::new(id, pkg.name.clone())
    }
}

fn purl_ref(purl: String) -> ExternalRef {
    ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_type: "purl",
        reference_locator: purl,
    }
}

/// All license strings `AND`-ed together; strings that are not valid SPDX become declared
/// `LicenseRef-`s. `NOASSERTION` when the package states none.
fn declared_license(raw: &[String], refs: &mut LicenseRefs) -> String {
    let licenses = classify_all(raw);
    if licenses.is_empty() {
        return NOASSERTION.to_owned();
    }
    let single = licenses.len() == 1;
    licenses
        .iter()
        .map(|l| match l {
            License::Id(id) => (*id).to_owned(),
            License::Expression(e) if single => (*e).to_owned(),
            License::Expression(e) => format!("({e})"),
            License::Name(name) => refs.id_for(name),
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The `LicenseRef-`s of a document: one per distinct invalid license string.
#[derive(Default)]
struct LicenseRefs {
    by_text: BTreeMap<String, String>,
    ids: UniqueIds,
}

impl LicenseRefs {
    fn id_for(&mut self, text: &str) -> String {
        if let Some(id) = self.by_text.get(text) {
            return id.clone();
        }
        let id = self.ids.claim(format!("LicenseRef-{}", sanitize(text)));
        self.by_text.insert(text.to_owned(), id.clone());
        id
    }

    fn into_infos(self) -> Vec<ExtractedLicense> {
        let mut infos: Vec<ExtractedLicense> = self
            .by_text
            .into_iter()
            .map(|(text, id)| ExtractedLicense {
                license_id: id,
                name: text.clone(),
                extracted_text: text,
                comment: "The license as the package's metadata states it; not an SPDX \
                          license list identifier or expression.",
            })
            .collect();
        infos.sort_by(|a, b| a.license_id.cmp(&b.license_id));
        infos
    }
}

/// Letters, digits, `.` and `-` kept; every other run of characters becomes one `-`.
/// At most 64 characters (names can be long; the id only has to be readable and unique).
fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.len() >= 64 {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "unnamed".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdxid: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    license_list_version: Option<String>,
    creators: Vec<String>,
    created: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdxid: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
}

impl SpdxPackage {
    fn new(spdxid: String, name: String) -> Self {
        Self {
            spdxid,
            name,
            version_info: None,
            download_location: NOASSERTION,
            files_analyzed: false,
            checksums: Vec::new(),
            source_info: None,
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.to_owned(),
            copyright_text: NOASSERTION,
            description: None,
            comment: None,
            external_refs: Vec::new(),
            primary_package_purpose: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
struct Relationship {
    #[serde(rename = "spdxElementId")]
    element: String,
    #[serde(rename = "relationshipType")]
    kind: &'static str,
    #[serde(rename = "relatedSpdxElement")]
    related: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
    comment: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Timestamp, fixture};
    use serde_json::Value;
    use std::collections::HashSet;

    fn ctx() -> RenderCtx {
        RenderCtx {
            tool_version: "0.0.0-test".into(),
            created: Timestamp::from_unix_seconds(1_700_000_000),
            seed: "test-seed".into(),
        }
    }

    fn rendered(analysis: &Analysis) -> Value {
        let bytes = render(analysis, &ctx()).expect("render");
        serde_json::from_slice(&bytes).expect("output is JSON")
    }

    fn packages(doc: &Value) -> &Vec<Value> {
        doc["packages"].as_array().expect("packages array")
    }

    fn is_valid_spdx_id(id: &str) -> bool {
        id.strip_prefix("SPDXRef-").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
    }

    #[test]
    fn snapshot() {
        insta::assert_json_snapshot!(rendered(&fixture::analysis()));
    }

    #[test]
    fn document_header() {
        let doc = rendered(&fixture::analysis());
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        assert_eq!(doc["dataLicense"], "CC0-1.0");
        assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
        assert_eq!(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
        assert_eq!(
            doc["creationInfo"]["creators"][0],
            "Tool: plimsoll-0.0.0-test"
        );
        let ns = doc["documentNamespace"].as_str().expect("namespace");
        assert!(ns.starts_with("https://") && !ns.contains('#'), "{ns}");
        let mut other = ctx();
        other.seed = "another".into();
        let again: Value =
            serde_json::from_slice(&render(&fixture::analysis(), &other).expect("render"))
                .expect("json");
        assert_ne!(again["documentNamespace"], doc["documentNamespace"]);
        assert_eq!(
            rendered(&fixture::analysis())["documentNamespace"],
            doc["documentNamespace"],
            "same seed, same namespace"
        );
    }

    #[test]
    fn ids_are_valid_unique_and_every_relationship_resolves() {
        let mut a = fixture::analysis();
        let dup = a.packages[0].clone();
        a.packages.push(dup);
        let mut odd = a.packages[0].clone();
        odd.name = "@@@ é/ü+~:".into();
        a.packages.push(odd);
        let doc = rendered(&a);
        let ids: Vec<&str> = packages(&doc)
            .iter()
            .map(|p| p["SPDXID"].as_str().expect("SPDXID"))
            .collect();
        assert_eq!(ids.len(), a.packages.len() + 2, "image + os + packages");
        for id in &ids {
            assert!(is_valid_spdx_id(id), "{id}");
        }
        let mut known: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(known.len(), ids.len(), "unique: {ids:#?}");
        known.insert("SPDXRef-DOCUMENT");
        let rels = doc["relationships"].as_array().expect("relationships");
        assert_eq!(rels.len(), ids.len(), "DESCRIBES + one CONTAINS each");
        for r in rels {
            for side in ["spdxElementId", "relatedSpdxElement"] {
                let id = r[side].as_str().expect("id");
                assert!(known.contains(id), "{id} in {r}");
            }
        }
        let describes: Vec<&Value> = rels
            .iter()
            .filter(|r| r["relationshipType"] == "DESCRIBES")
            .collect();
        assert_eq!(describes.len(), 1);
        assert_eq!(
            describes[0]["relatedSpdxElement"],
            "SPDXRef-DocumentRoot-Image"
        );
    }

    #[test]
    fn declared_licenses_are_valid_expressions_with_declared_refs() {
        let doc = rendered(&fixture::analysis());
        let declared_refs: HashSet<&str> = doc["hasExtractedLicensingInfos"]
            .as_array()
            .expect("extracted licenses")
            .iter()
            .map(|l| l["licenseId"].as_str().expect("licenseId"))
            .collect();
        for p in packages(&doc) {
            let declared = p["licenseDeclared"].as_str().expect("licenseDeclared");
            if declared == NOASSERTION {
                continue;
            }
            let expr = spdx::Expression::parse_mode(declared, crate::output::license::PARSE_MODE)
                .unwrap_or_else(|e| panic!("{declared:?} is not an SPDX expression: {e}"));
            for req in expr.requirements() {
                if let spdx::LicenseItem::Other(r) = &req.req.license {
                    let id = format!("LicenseRef-{}", r.lic_ref);
                    assert!(declared_refs.contains(id.as_str()), "{id} undeclared");
                }
            }
        }
        for id in &declared_refs {
            assert!(
                is_valid_spdx_id(&id.replacen("LicenseRef-", "SPDXRef-", 1)),
                "{id}"
            );
        }
    }

    #[test]
    fn declared_license_table() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "NOASSERTION"),
            (&["MIT"], "MIT"),
            (&["MIT OR Apache-2.0"], "MIT OR Apache-2.0"),
            (
                &["BSD-3-Clause", "MIT OR Apache-2.0"],
                "BSD-3-Clause AND (MIT OR Apache-2.0)",
            ),
            (&["GPL-3+", "GPL-2.0+"], "LicenseRef-GPL-3 AND (GPL-2.0+)"),
            (&["ASL 2.0", "ASL 2.0 "], "LicenseRef-ASL-2.0"),
            (&["ASL_2.0"], "LicenseRef-ASL-2.0-2"),
        ];
        let mut refs = LicenseRefs::default();
        for (raw, want) in cases {
            let raw: Vec<String> = raw.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(declared_license(&raw, &mut refs), *want, "{raw:?}");
        }
        let infos = refs.into_infos();
        let texts: Vec<(&str, &str)> = infos
            .iter()
            .map(|i| (i.license_id.as_str(), i.extracted_text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                ("LicenseRef-ASL-2.0", "ASL 2.0"),
                ("LicenseRef-ASL-2.0-2", "ASL_2.0"),
                ("LicenseRef-GPL-3", "GPL-3+"),
            ]
        );
    }

    #[test]
    fn sanitize_keeps_only_id_characters() {
        assert_eq!(sanitize("@babel/core"), "babel-core");
        assert_eq!(sanitize("libstdc++6"), "libstdc-6");
        assert_eq!(sanitize("1:3.0.7-27.el9"), "1-3.0.7-27.el9");
        assert_eq!(sanitize("///"), "unnamed");
        assert_eq!(sanitize(&"a".repeat(500)).len(), 64);
    }

    #[test]
    fn packages_have_purls_and_source_info() {
        let doc = rendered(&fixture::analysis());
        let image = &packages(&doc)[0];
        assert_eq!(image["primaryPackagePurpose"], "CONTAINER");
        assert_eq!(image["versionInfo"], format!("sha256:{}", "1".repeat(64)));
        let deb = packages(&doc)
            .iter()
            .find(|p| p["name"] == "libssl3")
            .expect("libssl3");
        assert_eq!(deb["downloadLocation"], "NOASSERTION");
        assert_eq!(deb["licenseConcluded"], "NOASSERTION");
        assert_eq!(
            deb["externalRefs"][0]["referenceCategory"],
            "PACKAGE-MANAGER"
        );
        assert_eq!(deb["externalRefs"][0]["referenceType"], "purl");
        assert!(
            deb["externalRefs"][0]["referenceLocator"]
                .as_str()
                .is_some_and(|p| p.starts_with("pkg:deb/debian/libssl3@")),
            "{deb}"
        );
        let source = deb["sourceInfo"].as_str().expect("sourceInfo");
        assert!(source.contains("/var/lib/dpkg/status"), "{source}");
        assert!(source.contains("source package openssl"), "{source}");
    }
}
