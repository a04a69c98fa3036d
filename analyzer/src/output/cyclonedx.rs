//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>).
//!
//! Why our own serde structs and not the `cyclonedx-bom` crate: its newest release (0.8.x)
//! models spec versions 1.3 to 1.5 only (`SpecVersion` has no 1.6), and it brings XML, `time`,
//! `uuid` with random v4 serials, a purl parser and more for a document of which we emit a
//! small, fixed subset. The structs below cover exactly that subset, and a test validates the
//! output against the official 1.6 JSON schema.
//!
//! What we emit, in Syft's shape so tools that read Syft's BOMs read ours: `metadata.component`
//! is the image (`type: container`, name = repository, version = manifest digest), one
//! `operating-system` component for the distro, and one `library` component per package.
//!
//! Traps:
//! - `licenses` is either a list of `{license: {id | name}}` or exactly one `{expression}`,
//!   never both (schema `oneOf`). A package with several strings of which one is a compound
//!   expression gets one `AND`-joined expression when every string is valid, otherwise every
//!   string as a `license.name`.
//! - `license.id` must be on the SPDX list the schema was built from; anything else is a name.
//! - `bom-ref` must be unique in the document. Two packages can have the same purl (the same
//!   jar twice), so the ref is the purl plus a `package-id` hash of the locations, as Syft does.
//! - `serialNumber` must match `urn:uuid:` + a UUID of version 1 to 5: ours is a version 5 UUID
//!   of the seed and manifest digest (stable for tests, unique per document in production).
//! - In 1.6, `metadata.tools` is an object (`{components: [...]}`); the array form is deprecated.

use super::license::{License, classify_all};
use super::{Error, RenderCtx, UniqueIds, image_name, image_purl, package_key, sorted_packages};
use crate::model::{Analysis, Distro, Package};
use serde::Serialize;

pub const SPEC_VERSION: &str = "1.6";

/// Renders the analysis as a CycloneDX 1.6 JSON document.
pub fn render(analysis: &Analysis, ctx: &RenderCtx) -> Result<Vec<u8>, Error> {
    super::to_json(&bom(analysis, ctx), "CycloneDX")
}

fn bom<'a>(analysis: &'a Analysis, ctx: &RenderCtx) -> Bom<'a> {
    let mut ids = UniqueIds::default();
    let image = image_component(analysis, &mut ids);
    let mut components = Vec::with_capacity(analysis.packages.len() + 1);
    if let Some(distro) = &analysis.distro {
        components.push(os_component(distro, &mut ids));
    }
    for pkg in sorted_packages(analysis) {
        components.push(package_component(pkg, &mut ids));
    }
    Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: SPEC_VERSION,
        serial_number: format!(
            "urn:uuid:{}",
            super::uuid_v5(&ctx.seed, &analysis.image.manifest_digest)
        ),
        version: 1,
        metadata: Metadata {
            timestamp: ctx.created.to_string(),
            tools: Tools {
                components: vec![
                    tool("plimsoll", ctx.tool_version.clone()),
                    tool(&analysis.analyzer.name, analysis.analyzer.version.clone()),
                ],
            },
            component: image,
        },
        components,
    }
}

fn tool(name: &str, version: String) -> Component<'static> {
    Component {
        kind: ComponentType::Application,
        name: name.to_owned(),
        version: Some(version),
        ..Component::default()
    }
}

fn image_component<'a>(analysis: &'a Analysis, ids: &mut UniqueIds) -> Component<'a> {
    let image = &analysis.image;
    let purl = image_purl(analysis);
    let bom_ref = ids.claim(
        purl.clone()
            .unwrap_or_else(|| format!("image:{}", image_name(analysis))),
    );
    let mut props = Properties::default();
    props.push("plimsoll:image:reference", &image.reference);
    props.push_opt("plimsoll:image:tag", image.tag.as_deref());
    props.push(
        "plimsoll:image:manifestMediaType",
        &image.manifest_media_type,
    );
    props.push_opt("plimsoll:image:indexDigest", image.index_digest.as_deref());
    props.push("plimsoll:image:configDigest", &image.config_digest);
    props.push("plimsoll:image:os", &image.os);
    props.push("plimsoll:image:architecture", &image.architecture);
    props.push_opt("plimsoll:image:variant", image.variant.as_deref());
    props.push_opt("plimsoll:image:created", image.created.as_deref());
    for layer in &image.layers {
        props.push(
            &format!("plimsoll:image:layer:{}:digest", layer.index),
            &layer.digest,
        );
        props.push(
            &format!("plimsoll:image:layer:{}:diffID", layer.index),
            &layer.diff_id,
        );
    }
    for (k, v) in &image.config.labels {
        props.push(&format!("plimsoll:image:label:{k}"), v);
    }
    let hashes = image
        .manifest_digest
        .strip_prefix("sha256:")
        .map(|hex| Hash {
            alg: "SHA-256",
            content: hex.to_owned(),
        })
        .into_iter()
        .collect();
    Component {
        bom_ref: Some(bom_ref),
        kind: ComponentType::Container,
        name: image_name(analysis).to_owned(),
        version: Some(image.manifest_digest.clone()).filter(|d| !d.is_empty()),
        hashes,
        purl,
        properties: props.0,
        ..Component::default()
    }
}

fn os_component(distro: &Distro, ids: &mut UniqueIds) -> Component<'static> {
    let bom_ref = match &distro.version_id {
        Some(v) => format!("os:{}@{v}", distro.id),
        None => format!("os:{}", distro.id),
    };
    let mut props = Properties::default();
    props.push("plimsoll:distro:id", &distro.id);
    props.push_opt("plimsoll:distro:versionID", distro.version_id.as_deref());
    props.push_opt(
        "plimsoll:distro:versionCodename",
        distro.version_codename.as_deref(),
    );
    if !distro.id_like.is_empty() {
        props.push("plimsoll:distro:idLike", &distro.id_like.join(" "));
    }
    Component {
        bom_ref: Some(ids.claim(bom_ref)),
        kind: ComponentType::OperatingSystem,
        name: distro.id.clone(),
        version: distro.version_id.clone(),
        description: distro.pretty_name.clone(),
        cpe: distro.cpe_name.clone(),
        properties: props.0,
        ..Component::default()
    }
}

fn package_component<'a>(pkg: &'a Package, ids: &mut UniqueIds) -> Component<'a> {
    let key = package_key(pkg);
    let bom_ref = if pkg.purl.is_empty() {
        format!("{}:{}@{}?package-id={key}", pkg.kind, pkg.name, pkg.version)
    } else if pkg.purl.contains('?') {
        format!("{}&package-id={key}", pkg.purl)
    } else {
        format!("{}?package-id={key}", pkg.purl)
    };
    let mut props = Properties::default();
    props.push("plimsoll:package:type", pkg.kind.as_str());
    props.push(
        "plimsoll:layer:introduced",
        &pkg.introduced_layer.to_string(),
    );
    props.push("plimsoll:layer:record", &pkg.record_layer.to_string());
    for (i, location) in pkg.locations.iter().enumerate() {
        props.push(&format!("plimsoll:location:{i}"), location);
    }
    props.push_opt("plimsoll:package:arch", pkg.arch.as_deref());
    props.push_opt(
        "plimsoll:package:epoch",
        pkg.epoch.map(|e| e.to_string()).as_deref(),
    );
    if let Some(src) = &pkg.source {
        props.push("plimsoll:package:source", &src.name);
        props.push_opt("plimsoll:package:sourceVersion", src.version.as_deref());
    }
    for (k, v) in &pkg.metadata {
        props.push(&format!("plimsoll:metadata:{k}"), v);
    }
    Component {
        bom_ref: Some(ids.claim(bom_ref)),
        kind: ComponentType::Library,
        group: pkg.namespace.as_deref().filter(|_| !pkg.name.contains('/')),
        name: pkg.name.clone(),
        version: Some(pkg.version.clone()).filter(|v| !v.is_empty()),
        licenses: licenses(&pkg.licenses),
        purl: Some(pkg.purl.clone()).filter(|p| !p.is_empty()),
        properties: props.0,
        ..Component::default()
    }
}

/// See the module's traps for the `oneOf` this satisfies.
fn licenses(raw: &[String]) -> Vec<LicenseChoice> {
    let licenses = classify_all(raw);
    let has_expression = licenses.iter().any(|l| matches!(l, License::Expression(_)));
    let all_valid = licenses.iter().all(|l| !matches!(l, License::Name(_)));
    if has_expression && all_valid {
        let joined = licenses
            .iter()
            .map(|l| match l {
                License::Expression(e) if licenses.len() > 1 => format!("({e})"),
                l => l.as_str().to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        return vec![LicenseChoice::Expression { expression: joined }];
    }
    licenses
        .iter()
        .map(|l| LicenseChoice::License {
            license: match l {
                License::Id(id) => LicenseObject::Id {
                    id: (*id).to_owned(),
                },
                other => LicenseObject::Name {
                    name: other.as_str().to_owned(),
                },
            },
        })
        .collect()
}

/// Properties in the order they were pushed; empty values are left out (the schema allows
/// them, but they say nothing).
#[derive(Default)]
struct Properties(Vec<Property>);

impl Properties {
    fn push(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.0.push(Property {
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
    }

    fn push_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.push(name, v);
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<Component<'a>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools,
    component: Component<'a>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component<'static>>,
}

#[derive(Serialize, Default)]
struct Component<'a> {
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(rename = "type")]
    kind: ComponentType,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpe: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize, Default, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum ComponentType {
    #[default]
    Library,
    Application,
    Container,
    OperatingSystem,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License { license: LicenseObject },
    Expression { expression: String },
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseObject {
    Id { id: String },
    Name { name: String },
}

#[derive(Serialize)]
struct Property {
    name: String,
    value: String,
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

    fn components(bom: &Value) -> &Vec<Value> {
        bom["components"].as_array().expect("components array")
    }

    #[test]
    fn snapshot() {
        insta::assert_json_snapshot!(rendered(&fixture::analysis()));
    }

    #[test]
    fn has_format_version_and_serial() {
        let bom = rendered(&fixture::analysis());
        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert_eq!(bom["specVersion"], "1.6");
        assert_eq!(bom["version"], 1);
        assert_eq!(bom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
        let serial = bom["serialNumber"].as_str().expect("serial");
        assert!(serial.starts_with("urn:uuid:"), "{serial}");
        let mut other = ctx();
        other.seed = "another".into();
        let again: Value =
            serde_json::from_slice(&render(&fixture::analysis(), &other).expect("render"))
                .expect("json");
        assert_ne!(again["serialNumber"], bom["serialNumber"]);
    }

    #[test]
    fn every_bom_ref_is_unique() {
        let mut a = fixture::analysis();
        // Exact duplicates, same locations too: only the counter can tell them apart.
        let dup = a.packages[0].clone();
        a.packages.push(dup);
        let bom = rendered(&a);
        let mut refs = vec![
            bom["metadata"]["component"]["bom-ref"]
                .as_str()
                .expect("image ref"),
        ];
        refs.extend(
            components(&bom)
                .iter()
                .map(|c| c["bom-ref"].as_str().expect("bom-ref")),
        );
        assert_eq!(refs.len(), a.packages.len() + 2, "image + os + packages");
        let unique: HashSet<&str> = refs.iter().copied().collect();
        assert_eq!(unique.len(), refs.len(), "{refs:#?}");
    }

    #[test]
    fn image_is_the_metadata_component() {
        let bom = rendered(&fixture::analysis());
        let image = &bom["metadata"]["component"];
        assert_eq!(image["type"], "container");
        assert_eq!(image["name"], "registry.example.com/team/app");
        assert_eq!(image["version"], format!("sha256:{}", "1".repeat(64)));
        let os: Vec<&Value> = components(&bom)
            .iter()
            .filter(|c| c["type"] == "operating-system")
            .collect();
        assert_eq!(os.len(), 1);
        assert_eq!(os[0]["name"], "debian");
        assert_eq!(os[0]["version"], "12");
    }

    fn package<'a>(bom: &'a Value, purl_prefix: &str) -> &'a Value {
        components(bom)
            .iter()
            .find(|c| {
                c["purl"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(purl_prefix))
            })
            .expect("package present")
    }

    fn property<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
        component["properties"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)?["value"]
            .as_str()
    }

    #[test]
    fn packages_carry_layers_locations_and_source() {
        let bom = rendered(&fixture::analysis());
        let rpm = package(&bom, "pkg:rpm/");
        assert_eq!(rpm["type"], "library");
        assert_eq!(property(rpm, "plimsoll:package:type"), Some("rpm"));
        assert_eq!(property(rpm, "plimsoll:layer:introduced"), Some("1"));
        assert_eq!(property(rpm, "plimsoll:layer:record"), Some("2"));
        assert_eq!(
            property(rpm, "plimsoll:location:0"),
            Some("/var/lib/rpm/rpmdb.sqlite")
        );
        assert_eq!(property(rpm, "plimsoll:package:epoch"), Some("1"));
        assert_eq!(property(rpm, "plimsoll:package:source"), Some("openssl"));
        assert_eq!(
            property(rpm, "plimsoll:package:sourceVersion"),
            Some("3.0.7-27.el9")
        );
        let java = package(&bom, "pkg:maven/");
        assert_eq!(java["group"], "com.fasterxml.jackson.core");
        assert_eq!(java["name"], "jackson-databind");
    }

    #[test]
    fn licenses_are_ids_names_or_one_expression() {
        let cases: &[(&[&str], Value)] = &[
            (&[], Value::Null),
            (&["MIT"], serde_json::json!([{"license": {"id": "MIT"}}])),
            (
                &["MIT", "ASL 2.0"],
                serde_json::json!([{"license": {"id": "MIT"}}, {"license": {"name": "ASL 2.0"}}]),
            ),
            (
                &["MIT OR Apache-2.0"],
                serde_json::json!([{"expression": "MIT OR Apache-2.0"}]),
            ),
            (
                &["BSD-3-Clause", "MIT OR Apache-2.0"],
                serde_json::json!([{"expression": "BSD-3-Clause AND (MIT OR Apache-2.0)"}]),
            ),
            (
                &["GPL-3+", "MIT OR Apache-2.0"],
                serde_json::json!([{"license": {"name": "GPL-3+"}}, {"license": {"name": "MIT OR Apache-2.0"}}]),
            ),
        ];
        for (raw, want) in cases {
            let raw: Vec<String> = raw.iter().map(|s| (*s).to_owned()).collect();
            let got = serde_json::to_value(licenses(&raw)).expect("json");
            let want = if want.is_null() {
                serde_json::json!([])
            } else {
                want.clone()
            };
            assert_eq!(got, want, "{raw:?}");
        }
    }

    #[test]
    fn expressions_we_write_parse_as_spdx() {
        let bom = rendered(&fixture::analysis());
        let mut seen = 0;
        for c in components(&bom) {
            for l in c["licenses"].as_array().into_iter().flatten() {
                if let Some(e) = l["expression"].as_str() {
                    seen += 1;
                    spdx::Expression::parse_mode(e, crate::output::license::PARSE_MODE)
                        .expect("valid expression");
                }
            }
        }
        assert!(seen > 0, "the fixture has expressions");
    }

    /// The official schema, shipped by the `cyclonedx-python-lib` package (see
    /// `testdata/cyclonedx/README.md`), with the two schemas it references.
    fn schema_validator() -> jsonschema::Validator {
        let parse = |s: &str| -> Value { serde_json::from_str(s).expect("schema is JSON") };
        let bom = parse(include_str!(
            "testdata/cyclonedx/bom-1.6.SNAPSHOT.schema.json"
        ));
        let registry = jsonschema::Registry::new()
            .add(
                "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json",
                parse(include_str!("testdata/cyclonedx/spdx.SNAPSHOT.schema.json")),
            )
            .and_then(|r| {
                r.add(
                    "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json",
                    parse(include_str!(
                        "testdata/cyclonedx/jsf-0.82.SNAPSHOT.schema.json"
                    )),
                )
            })
            .and_then(|r| r.prepare())
            .expect("registry");
        jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .with_registry(&registry)
            .build(&bom)
            .expect("schema compiles")
    }

    #[test]
    fn validates_against_the_official_schema() {
        let validator = schema_validator();
        let mut a = fixture::analysis();
        a.distro = None;
        for analysis in [fixture::analysis(), a] {
            let bom = rendered(&analysis);
            let errors: Vec<String> = validator
                .iter_errors(&bom)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
        }
    }

    #[test]
    fn the_schema_check_can_fail() {
        let validator = schema_validator();
        let mut bom = rendered(&fixture::analysis());
        bom["components"][1]["licenses"] =
            serde_json::json!([{"license": {"id": "Not-A-License"}}]);
        assert!(!validator.is_valid(&bom));
    }
}
