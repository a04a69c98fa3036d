//! `PolicyBundle`: an Anchore policy bundle (format `1_0`) as a namespaced custom resource.
//!
//! The spec is the bundle JSON itself, field for field, so a bundle exported from Anchore pastes
//! unchanged under `spec:`. Field names are Anchore's (`whitelisted_images`, `policy_ids`,
//! `trigger_id`, `expires_on`), not Kubernetes' camelCase.
//!
//! Traps of the domain:
//! - Gate, trigger and parameter names are free strings here. The policy engine knows the
//!   gates and validates every rule (all errors at once, with paths, into the status); an enum
//!   in the schema would reject a whole bundle at `kubectl apply` one error at a time, and
//!   would have to change with every gate.
//! - Mappings name their policies with `policy_ids` or, in older bundles, the single
//!   `policy_id`. Anchore lets `policy_id` silently override `policy_ids`; we reject a mapping
//!   with both (a CEL rule), since one of them would be ignored without a word.
//! - Anchore exports carry bookkeeping fields (`created_at`, `last_modified`). kubectl's strict
//!   field validation rejects unknown fields, so they are declared (and ignored).
//! - Parameter values are strings even when they mean numbers (`"value": "2"`), as in Anchore.
//! - `status.digest` is the sha256 of the canonical JSON of the spec (keys sorted, no
//!   whitespace), so re-applying the same bundle in another field order keeps its digest.

use super::conditions::{self, Condition};
use super::schema;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Longest identifier (bundle, policy, rule, whitelist, mapping ids; usually UUIDs).
pub const MAX_ID_LEN: usize = 256;
/// Longest name.
pub const MAX_NAME_LEN: usize = 1024;
/// Longest free-text comment.
pub const MAX_COMMENT_LEN: usize = 8192;
/// Longest gate, trigger or parameter name.
pub const MAX_KEYWORD_LEN: usize = 128;
/// Longest parameter value (regular expressions and comma-separated lists live here).
pub const MAX_PARAM_VALUE_LEN: usize = 16384;
/// Longest registry, repository, image tag/digest pattern or whitelist `trigger_id`.
pub const MAX_PATTERN_LEN: usize = 1024;
/// Most policies, whitelists or mappings in one bundle.
pub const MAX_SECTIONS: usize = 256;
/// Most rules in one policy.
pub const MAX_RULES: usize = 2048;
/// Most parameters of one rule.
pub const MAX_PARAMS: usize = 64;
/// Most items in one whitelist (large CVE whitelists exist).
pub const MAX_WHITELIST_ITEMS: usize = 10000;
/// Most entries in `whitelisted_images` or `blacklisted_images`.
pub const MAX_IMAGE_RULES: usize = 1024;
/// Most ids in a mapping's `policy_ids` or `whitelist_ids`.
pub const MAX_ID_REFS: usize = 64;
/// Most validation errors listed in the status; `errorCount` has the total.
pub const MAX_STATUS_ERRORS: usize = 50;
/// Longest validation error message in the status.
pub const MAX_ERROR_MESSAGE_LEN: usize = 256;

/// Condition types of a PolicyBundle.
pub mod condition_type {
    /// The bundle passed validation (the reason says what failed when `False`).
    pub const VALID: &str = "Valid";
    /// The bundle is valid and stored; scans that reference it can be evaluated.
    pub const READY: &str = "Ready";
}

/// An Anchore policy bundle, format 1_0: policies of gate/trigger rules, whitelists, and
/// mappings from images to policies.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "plimsoll.dev",
    version = "v1alpha1",
    kind = "PolicyBundle",
    namespaced,
    status = "PolicyBundleStatus",
    derive = "PartialEq",
    shortname = "pbundle",
    category = "plimsoll",
    doc = "An Anchore policy bundle (format 1_0). The spec is the bundle JSON, unchanged.",
    printcolumn(name = "Valid", type_ = "boolean", json_path = ".status.valid"),
    printcolumn(name = "Rules", type_ = "integer", json_path = ".status.ruleCount"),
    printcolumn(
        name = "Bundle",
        type_ = "string",
        json_path = ".spec.name",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct PolicyBundleSpec {
    /// The bundle's id (Anchore uses a UUID).
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub id: String,
    /// The bundle format; only `1_0` exists.
    pub version: FormatVersion,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_NAME_LEN))]
    pub name: Option<String>,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_COMMENT_LEN))]
    pub comment: Option<String>,
    /// Named sets of rules; mappings choose which ones apply to an image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_SECTIONS))]
    pub policies: Vec<Policy>,
    /// Named sets of exceptions (rule matches to disregard).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_SECTIONS))]
    pub whitelists: Vec<Whitelist>,
    /// Image selectors, evaluated in order: the first that matches the image chooses its
    /// policies and whitelists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_SECTIONS))]
    pub mappings: Vec<Mapping>,
    /// Images that always pass (unless also blacklisted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_IMAGE_RULES))]
    pub whitelisted_images: Vec<ImageSelectionRule>,
    /// Images that always fail (STOP), whatever the policies say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_IMAGE_RULES))]
    pub blacklisted_images: Vec<ImageSelectionRule>,
    /// Anchore export bookkeeping (seconds since the epoch); ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// Anchore export bookkeeping (seconds since the epoch); ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<i64>,
}

/// Anchore's policy format version; `1_0` is the only one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum FormatVersion {
    #[default]
    #[serde(rename = "1_0")]
    V1_0,
}

/// What a matching rule asks for. Ordered as Anchore combines them: the final action of an
/// evaluation is the smallest (STOP < WARN < GO).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Stop,
    Warn,
    Go,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Stop => "STOP",
            Action::Warn => "WARN",
            Action::Go => "GO",
        }
    }
}

/// A named set of rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Policy {
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_NAME_LEN))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_COMMENT_LEN))]
    pub comment: Option<String>,
    pub version: FormatVersion,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_RULES))]
    pub rules: Vec<Rule>,
}

/// One check: when `gate`'s `trigger` fires with these `params`, the result row gets `action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_ID_LEN))]
    pub id: Option<String>,
    /// Gate name, e.g. `vulnerabilities`, `dockerfile`.
    #[schemars(length(min = 1, max = MAX_KEYWORD_LEN))]
    pub gate: String,
    /// Trigger name within the gate, e.g. `package`, `exposed_ports`.
    #[schemars(length(min = 1, max = MAX_KEYWORD_LEN))]
    pub trigger: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_PARAMS))]
    pub params: Vec<Param>,
}

/// A trigger parameter; the value is a string even for numbers and lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Param {
    #[schemars(length(min = 1, max = MAX_KEYWORD_LEN))]
    pub name: String,
    #[schemars(length(max = MAX_PARAM_VALUE_LEN))]
    pub value: String,
}

/// A named set of exceptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Whitelist {
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_NAME_LEN))]
    pub name: Option<String>,
    pub version: FormatVersion,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_COMMENT_LEN))]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_WHITELIST_ITEMS))]
    pub items: Vec<WhitelistItem>,
}

/// One exception: result rows of `gate` whose trigger id matches `trigger_id` (`*` and
/// `regexp:` patterns allowed) are disregarded until `expires_on`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WhitelistItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_ID_LEN))]
    pub id: Option<String>,
    #[schemars(length(min = 1, max = MAX_KEYWORD_LEN))]
    pub gate: String,
    /// e.g. `CVE-2019-1234+openssl`, `CVE-2019-*`.
    #[schemars(length(min = 1, max = MAX_PATTERN_LEN))]
    pub trigger_id: String,
    /// RFC 3339 time after which the exception no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub expires_on: Option<String>,
}

/// Chooses the policies and whitelists for the images it matches.
///
/// "Exactly one of `policy_id` and `policy_ids`" is not a CEL rule: kube-cel, which the API
/// simulator evaluates rules with, does not see fields whose names hold underscores
/// (`has(self.policy_ids)` is false for a present list), so such a rule refused every valid
/// bundle there, and it could not be checked against a real API server here. The operator's
/// validation reports both mistakes (`both-policy-id-and-policy-ids`, `missing-policy-id`) in
/// the bundle's status with their paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Mapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_ID_LEN))]
    pub id: Option<String>,
    #[schemars(length(max = MAX_NAME_LEN))]
    pub name: String,
    /// Registry pattern, e.g. `docker.io`, `*`.
    #[schemars(length(min = 1, max = MAX_PATTERN_LEN))]
    pub registry: String,
    /// Repository pattern, e.g. `library/nginx`, `library/*`, `*`.
    #[schemars(length(min = 1, max = MAX_PATTERN_LEN))]
    pub repository: String,
    pub image: ImageRef,
    /// The single policy of older bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_ID_LEN))]
    pub policy_id: Option<String>,
    /// Policies evaluated in order, all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_ID_REFS), inner(length(min = 1, max = MAX_ID_LEN)))]
    pub policy_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_ID_REFS), inner(length(min = 1, max = MAX_ID_LEN)))]
    pub whitelist_ids: Vec<String>,
}

/// An entry of `whitelisted_images` / `blacklisted_images`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImageSelectionRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_ID_LEN))]
    pub id: Option<String>,
    #[schemars(length(max = MAX_NAME_LEN))]
    pub name: String,
    #[schemars(length(min = 1, max = MAX_PATTERN_LEN))]
    pub registry: String,
    #[schemars(length(min = 1, max = MAX_PATTERN_LEN))]
    pub repository: String,
    pub image: ImageRef,
}

/// How a mapping picks images within the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImageRef {
    #[serde(rename = "type")]
    pub type_: ImageRefType,
    /// Tag pattern (`*`, `v1.*`), digest (`sha256:...`) or image id.
    #[schemars(length(min = 1, max = MAX_PATTERN_LEN))]
    pub value: String,
}

/// What `value` is compared with: the tag, the digest or the image id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageRefType {
    Tag,
    Digest,
    Id,
}

/// What the operator found when it validated the bundle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBundleStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// Whether the bundle passed validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    /// Rules over all policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::count")]
    pub rule_count: Option<u32>,
    /// `sha256:<hex>` of the canonical JSON of the spec; evaluations record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 71), regex(pattern = "^sha256:[0-9a-f]{64}$"))]
    pub digest: Option<String>,
    /// The first validation errors, in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_STATUS_ERRORS))]
    pub errors: Vec<BundleError>,
    /// All validation errors, including those not listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::count")]
    pub error_count: Option<u32>,
    /// `Valid` and `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions::list_schema")]
    pub conditions: Vec<Condition>,
}

/// One validation error, with where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BundleError {
    /// Stable kebab-case code, e.g. `unknown-trigger`, `param-wrong-type`.
    #[schemars(length(min = 1, max = 64), regex(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"))]
    pub code: String,
    /// Where in the spec, e.g. `policies[0].rules[3].params[1]`.
    #[schemars(length(max = 256))]
    pub path: String,
    /// What is wrong, cut to 256 characters.
    #[schemars(length(max = MAX_ERROR_MESSAGE_LEN))]
    pub message: String,
}

impl PolicyBundleSpec {
    /// Rules over all policies.
    pub fn rule_count(&self) -> usize {
        self.policies.iter().map(|p| p.rules.len()).sum()
    }

    /// `sha256:<hex>` of the canonical JSON of the spec (object keys sorted, no whitespace).
    pub fn digest(&self) -> Result<String, serde_json::Error> {
        let value = serde_json::to_value(self)?;
        let mut canonical = String::new();
        write_canonical(&value, &mut canonical)?;
        Ok(format!(
            "sha256:{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        ))
    }
}

/// Canonical JSON: object keys in byte order whatever the map type, no whitespace; scalars as
/// serde_json writes them.
fn write_canonical(value: &serde_json::Value, out: &mut String) -> Result<(), serde_json::Error> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k)?);
                out.push(':');
                write_canonical(v, out)?;
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out)?;
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::testing::{assert_schema_accepts, assert_schema_rejects, example};

    /// A bundle written by Anchore's own CLI (anchore 1.1.7 on PyPI), pasted as it is: old gate
    /// names, export bookkeeping fields, compact JSON.
    const ANCHORE_CLI_BUNDLE: &str = include_str!("testdata/anchore-1.1.7-default-bundle.json");

    #[test]
    fn anchore_json_bundle_pastes_under_spec() {
        let spec: PolicyBundleSpec =
            serde_json::from_str(ANCHORE_CLI_BUNDLE).expect("Anchore bundle deserialises");
        assert_eq!(spec.id, "2170857d-b660-4b56-a1a7-06550bf02eb2");
        assert_eq!(spec.rule_count(), 17);
        assert_eq!(
            spec.mappings[0].policy_id.as_deref(),
            Some("7dcbe180-2914-4723-89d4-20b6657f66eb")
        );
        assert_eq!(spec.created_at, Some(1493583553));
        let expose = &spec.policies[0].rules[4];
        assert_eq!(
            (expose.gate.as_str(), expose.trigger.as_str()),
            ("DOCKERFILECHECK", "EXPOSE")
        );
        assert_eq!(expose.action, Action::Stop);
        assert_eq!(expose.params[0].value, "22");

        // The same JSON under `spec:` of a custom resource passes the CRD's schema and CEL rules.
        let raw: serde_json::Value = serde_json::from_str(ANCHORE_CLI_BUNDLE).expect("json");
        let cr = serde_json::json!({
            "apiVersion": "plimsoll.dev/v1alpha1",
            "kind": "PolicyBundle",
            "metadata": {"name": "anchore-cli-default"},
            "spec": raw,
        });
        assert_schema_accepts::<PolicyBundle>(&cr);
        // And nothing is lost: what we write back is what was pasted, but for empty lists,
        // which are left out (absent and empty mean the same and hash the same).
        let mut written = serde_json::to_value(&spec).expect("serializes");
        let mut pasted = raw;
        strip_empty_arrays(&mut written);
        strip_empty_arrays(&mut pasted);
        assert_eq!(written, pasted);
    }

    fn strip_empty_arrays(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.retain(|_, v| !v.as_array().is_some_and(Vec::is_empty));
                map.values_mut().for_each(strip_empty_arrays);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip_empty_arrays),
            _ => {}
        }
    }

    #[test]
    fn example_round_trips() {
        let (value, bundle) = example::<PolicyBundle>("policybundle-default.yaml");
        assert_eq!(bundle.spec.version, FormatVersion::V1_0);
        assert!(bundle.spec.rule_count() > 0);
        assert_schema_accepts::<PolicyBundle>(&value);
        let again: PolicyBundle =
            serde_json::from_value(serde_json::to_value(&bundle).expect("serializes"))
                .expect("deserializes");
        assert_eq!(again, bundle);
    }

    #[test]
    fn mapping_needs_exactly_one_of_policy_id_and_policy_ids() {
        let (value, _) = example::<PolicyBundle>("policybundle-default.yaml");
        let codes = |v: &serde_json::Value| -> Vec<String> {
            assert_schema_accepts::<PolicyBundle>(v);
            let bundle: PolicyBundle = serde_json::from_value(v.clone()).expect("bundle");
            match crate::operator::bundles::validate(&bundle) {
                crate::operator::bundles::Checked::Valid(_) => Vec::new(),
                crate::operator::bundles::Checked::Invalid(d) => d
                    .iter()
                    .map(|d| format!("{} {}", d.code.as_str(), d.path))
                    .collect(),
            }
        };
        assert_eq!(codes(&value), Vec::<String>::new());
        let mut both = value.clone();
        both["spec"]["mappings"][0]["policy_id"] = "48e6f7d6-1765-11e8-b5f9-8b6f228548b6".into();
        assert!(
            codes(&both)
                .iter()
                .any(|c| c.starts_with("both-policy-id-and-policy-ids mappings[0]")),
            "{:?}",
            codes(&both)
        );
        let mut neither = value.clone();
        if let Some(m) = neither["spec"]["mappings"][0].as_object_mut() {
            m.remove("policy_ids");
        }
        assert!(
            codes(&neither)
                .iter()
                .any(|c| c.starts_with("missing-policy-id mappings[0]")),
            "{:?}",
            codes(&neither)
        );
    }

    #[test]
    fn digest_ignores_key_order_and_whitespace() {
        let spec: PolicyBundleSpec = serde_json::from_str(ANCHORE_CLI_BUNDLE).expect("bundle");
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(ANCHORE_CLI_BUNDLE).expect("json"),
        )
        .expect("pretty");
        let again: PolicyBundleSpec = serde_json::from_str(&pretty).expect("bundle");
        let d = spec.digest().expect("digest");
        assert_eq!(d, again.digest().expect("digest"));
        assert!(d.starts_with("sha256:") && d.len() == 71, "{d}");
        let mut changed = spec.clone();
        changed.policies[0].rules[4].params[0].value = "2222".into();
        assert_ne!(d, changed.digest().expect("digest"));
    }

    #[test]
    fn whitelist_items_and_image_lists_deserialise() {
        let spec = serde_json::json!({
            "id": "b1", "version": "1_0",
            "whitelists": [{"id": "w1", "version": "1_0", "items": [
                {"id": "i1", "gate": "vulnerabilities", "trigger_id": "CVE-2019-1234+*",
                 "expires_on": "2030-01-01T00:00:00Z"},
                {"gate": "vulnerabilities", "trigger_id": "regexp:CVE-2020-.*"}
            ]}],
            "whitelisted_images": [{"name": "trusted", "registry": "docker.io",
                "repository": "library/*", "image": {"type": "tag", "value": "*"}}],
            "blacklisted_images": [{"id": "x", "name": "bad", "registry": "*",
                "repository": "evil/*", "image": {"type": "id", "value": "0123abcd"}}]
        });
        let parsed: PolicyBundleSpec = serde_json::from_value(spec.clone()).expect("bundle");
        let items = &parsed.whitelists[0].items;
        assert_eq!(items[0].expires_on.as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(items[1].id, None);
        assert_eq!(parsed.whitelisted_images[0].image.type_, ImageRefType::Tag);
        assert_eq!(parsed.blacklisted_images[0].image.type_, ImageRefType::Id);
        let mut cr = serde_json::json!({
            "apiVersion": "plimsoll.dev/v1alpha1", "kind": "PolicyBundle",
            "metadata": {"name": "b"}, "spec": spec,
        });
        assert_schema_accepts::<PolicyBundle>(&cr);
        cr["spec"]["blacklisted_images"][0]["image"]["type"] = "name".into();
        assert_schema_rejects::<PolicyBundle>(&cr, "image type name");
        cr["spec"]["blacklisted_images"][0]["image"]["type"] = "id".into();
        cr["spec"]["version"] = "2_0".into();
        assert_schema_rejects::<PolicyBundle>(&cr, "version 2_0");
        cr["spec"]["version"] = "1_0".into();
        cr["spec"]["whitelists"][0]["items"][0]["gate"] = "".into();
        assert_schema_rejects::<PolicyBundle>(&cr, "empty gate");
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = serde_json::json!({"b": [{"z": 1, "a": "x"}], "a": {"d": true, "c": null}});
        let mut out = String::new();
        write_canonical(&v, &mut out).expect("writes");
        assert_eq!(out, r#"{"a":{"c":null,"d":true},"b":[{"a":"x","z":1}]}"#);
    }

    #[test]
    fn actions_order_as_anchore_combines_them() {
        let worst = [Action::Go, Action::Warn, Action::Stop, Action::Go]
            .into_iter()
            .min();
        assert_eq!(worst, Some(Action::Stop));
        assert!(Action::Warn < Action::Go);
    }
}
