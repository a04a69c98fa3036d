//! CustomResourceDefinitions: what a CRD object makes the server serve, its validation, and the
//! status the (instant) CRD controller writes (`NamesAccepted`, `Established`).
//!
//! Traps: the CRD's name must be `<plural>.<group>`; exactly one version is the storage
//! version; every version of apiextensions.k8s.io/v1 needs a schema; `group`, `names.plural`
//! and `scope` are immutable; versions share one storage (conversion strategy `None`).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::apiserver::error::Cause;
use crate::apiserver::resources::{Origin, ResourceType};
use crate::apiserver::validation::cel::CelRules;
use crate::apiserver::validation::schema;

/// One served version of a custom resource, with its compiled checks.
pub struct CustomVersion {
    pub crd_name: String,
    /// The `openAPIV3Schema` as written in the CRD.
    pub schema: Value,
    pub validator: jsonschema::Validator,
    pub cel: Option<CelRules>,
    pub selectable_fields: Vec<String>,
}

impl std::fmt::Debug for CustomVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomVersion")
            .field("crd_name", &self.crd_name)
            .finish_non_exhaustive()
    }
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    crate::apiserver::meta::path(v, path)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The resource types a CRD serves, or the causes that make it invalid.
pub fn served_types(crd: &Value) -> Result<Vec<Arc<ResourceType>>, Vec<Cause>> {
    let mut causes = Vec::new();
    let group = s(crd, "spec.group");
    let plural = s(crd, "spec.names.plural");
    let kind = s(crd, "spec.names.kind");
    let scope = s(crd, "spec.scope");
    let name = crate::apiserver::meta::name(crd);
    if group.is_empty() {
        causes.push(Cause::required("spec.group"));
    } else if !group.contains('.') || !crate::apiserver::meta::is_dns_subdomain(group) {
        causes.push(Cause::invalid(
            "spec.group",
            format!("Invalid value: {group:?}: should be a domain with at least one dot"),
        ));
    }
    if plural.is_empty() {
        causes.push(Cause::required("spec.names.plural"));
    } else if !crate::apiserver::meta::is_dns_label(plural) {
        causes.push(Cause::invalid(
            "spec.names.plural",
            format!("Invalid value: {plural:?}: a lowercase RFC 1123 label"),
        ));
    }
    if kind.is_empty() {
        causes.push(Cause::required("spec.names.kind"));
    }
    if !matches!(scope, "Namespaced" | "Cluster") {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.scope",
            format!("Unsupported value: {scope:?}: supported values: \"Cluster\", \"Namespaced\""),
        ));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::invalid(
            "metadata.name",
            format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let versions = crate::apiserver::meta::path(crd, "spec.versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause::required("spec.versions"));
    }
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if !versions.is_empty() && storage != 1 {
        causes.push(Cause::invalid(
            "spec.versions",
            format!(
                "Invalid value: {storage}: must have exactly one version marked as storage version"
            ),
        ));
    }
    let names = &crd["spec"]["names"];
    let singular = Some(s(crd, "spec.names.singular"))
        .filter(|x| !x.is_empty())
        .map_or_else(|| kind.to_ascii_lowercase(), str::to_owned);
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut types = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let vname = v.get("name").and_then(Value::as_str).unwrap_or("");
        if vname.is_empty() || !crate::apiserver::meta::is_dns_label(vname) {
            causes.push(Cause::invalid(
                format!("spec.versions[{i}].name"),
                format!("Invalid value: {vname:?}"),
            ));
            continue;
        }
        let Some(raw_schema) =
            crate::apiserver::meta::path(v, "schema.openAPIV3Schema").filter(|x| x.is_object())
        else {
            causes.push(Cause::required(format!(
                "spec.versions[{i}].schema.openAPIV3Schema"
            )));
            continue;
        };
        if raw_schema.get("type").and_then(Value::as_str) != Some("object") {
            causes.push(Cause::required(format!(
                "spec.versions[{i}].schema.openAPIV3Schema.type"
            )));
            continue;
        }
        let validator = match schema::compile(raw_schema) {
            Ok(x) => x,
            Err(e) => {
                causes.push(Cause::invalid(
                    format!("spec.versions[{i}].schema.openAPIV3Schema"),
                    e,
                ));
                continue;
            }
        };
        let api_version = format!("{group}/{vname}");
        let cel = match CelRules::compile(raw_schema, &api_version, group, kind) {
            Ok(x) => x,
            Err(errors) => {
                for e in errors {
                    causes.push(Cause::invalid(
                        format!("spec.versions[{i}].schema.openAPIV3Schema"),
                        format!("x-kubernetes-validations: compilation failed: {e}"),
                    ));
                }
                continue;
            }
        };
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let selectable_fields = v
            .get("selectableFields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.get("jsonPath")?.as_str())
                    .map(|p| p.trim_start_matches('.').to_owned())
                    .collect()
            })
            .unwrap_or_default();
        types.push(Arc::new(ResourceType {
            group: group.to_owned(),
            version: vname.to_owned(),
            plural: plural.to_owned(),
            singular: singular.clone(),
            kind: kind.to_owned(),
            namespaced: scope == "Namespaced",
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status_subresource: crate::apiserver::meta::path(v, "subresources.status")
                .is_some_and(Value::is_object),
            generation: true,
            default_orphan: false,
            log_subresource: false,
            strategic_merge: false,
            origin: Origin::Custom(Arc::new(CustomVersion {
                crd_name: name.to_owned(),
                schema: raw_schema.clone(),
                validator,
                cel,
                selectable_fields,
            })),
        }));
    }
    if causes.is_empty() {
        Ok(types)
    } else {
        Err(causes)
    }
}

/// Causes for changing what cannot change on update.
pub fn immutable_changes(old: &Value, new: &Value) -> Vec<Cause> {
    ["spec.group", "spec.names.plural", "spec.scope"]
        .iter()
        .filter(|p| s(old, p) != s(new, p))
        .map(|p| Cause::invalid(*p, "Invalid value: field is immutable"))
        .collect()
}

/// The status the CRD controller converges to at once: names accepted, established, and the
/// storage version recorded.
pub fn established_status(crd: &Value, now: &str) -> Value {
    let mut stored: Vec<Value> = crate::apiserver::meta::path(crd, "status.storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(storage) = crate::apiserver::meta::path(crd, "spec.versions")
        .and_then(Value::as_array)
        .and_then(|vs| {
            vs.iter()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        })
        .and_then(|v| v.get("name"))
        && !stored.contains(storage)
    {
        stored.push(storage.clone());
    }
    let condition = |t: &str, reason: &str, message: &str| json!({"type": t, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    json!({
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": crd["spec"]["names"].clone(),
        "storedVersions": stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}},
                    {"name": "v1beta1", "served": false, "storage": false,
                     "schema": {"openAPIV3Schema": {"type": "object"}}}
                ]
            }
        })
    }

    #[test]
    fn served_versions_become_resource_types() {
        let types = served_types(&crd()).expect("valid");
        assert_eq!(types.len(), 1);
        let t = &types[0];
        assert_eq!(t.api_version(), "example.com/v1");
        assert!(t.namespaced && t.status_subresource && t.generation);
        assert_eq!(t.short_names, ["wd"]);
    }

    #[test]
    fn invalid_crds_name_every_problem() {
        let mut c = crd();
        c["metadata"]["name"] = json!("wrong");
        c["spec"]["versions"][0]["storage"] = json!(false);
        c["spec"]["scope"] = json!("Galaxy");
        let causes = served_types(&c).expect_err("invalid");
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["spec.scope", "metadata.name", "spec.versions"]);
    }

    #[test]
    fn status_is_established() {
        let st = established_status(&crd(), "2024-01-01T00:00:00Z");
        assert_eq!(st["conditions"][1]["type"], "Established");
        assert_eq!(st["storedVersions"], json!(["v1"]));
    }
}
