//! Validation on create and update: ObjectMeta for everything, a few built-in rules the
//! operator could trip over, and custom resources against their CRD (schema and CEL).
//!
//! Custom resources are first pruned and defaulted ([`prepare_custom`]), then validated, in
//! the order the real server uses.

pub mod builtin;
pub mod cel;
pub mod schema;

use serde_json::Value;

use crate::apiserver::error::Cause;
use crate::apiserver::meta;
use crate::apiserver::resources::ResourceType;

/// Pruning and defaulting of a custom resource (no-op for built-ins).
pub fn prepare_custom(rt: &ResourceType, obj: &mut Value) {
    if let Some(custom) = rt.custom() {
        schema::prune(obj, &custom.schema);
        *obj = kube_cel::apply_defaults(&custom.schema, obj);
    }
}

/// Every problem with `obj` (empty when valid). `old` is the stored object on update.
pub fn validate(rt: &ResourceType, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = validate_meta(rt, obj);
    builtin::validate(rt, obj, old, &mut causes);
    if let Some(custom) = rt.custom() {
        causes.extend(schema::violations(&custom.validator, obj));
        schema::list_map_duplicates(obj, &custom.schema, "", &mut causes);
        if causes.is_empty()
            && let Some(rules) = &custom.cel
        {
            causes.extend(rules.violations(obj, old));
        }
    }
    causes
}

fn validate_meta(rt: &ResourceType, obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = meta::name(obj);
    let name_ok = match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => meta::is_dns_label(name),
        // RBAC names and Events are path segments, not DNS names (`system:controller:x`).
        ("rbac.authorization.k8s.io", _) | (_, "events") => {
            !name.is_empty() && !name.contains(['/', '%']) && name != "." && name != ".."
        }
        _ => meta::is_dns_subdomain(name),
    };
    if name.is_empty() {
        causes.push(Cause::required("metadata.name"));
    } else if !name_ok {
        causes.push(Cause::invalid(
            "metadata.name",
            format!("Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"),
        ));
    }
    if let Some(labels) = meta::labels(obj) {
        for (k, v) in labels {
            let value_ok = v.as_str().is_some_and(label_value_ok);
            if !label_key_ok(k) {
                causes.push(Cause::invalid("metadata.labels", format!("Invalid value: {k:?}: name part must consist of alphanumeric characters, '-', '_' or '.'")));
            } else if !value_ok {
                causes.push(Cause::invalid(format!("metadata.labels.{k}"), format!("Invalid value: {v}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.' (at most 63)")));
            }
        }
    }
    if let Some(annotations) = meta::metadata(obj).and_then(|m| m.get("annotations")) {
        match annotations.as_object() {
            Some(a) if a.values().all(Value::is_string) => {
                let total: usize = a
                    .iter()
                    .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
                    .sum();
                if total > 256 * 1024 {
                    causes.push(Cause::new(
                        "FieldValueTooLong",
                        "metadata.annotations",
                        "Too long: must have at most 262144 bytes",
                    ));
                }
            }
            _ => causes.push(Cause::invalid(
                "metadata.annotations",
                "Invalid value: annotations must be a map of strings",
            )),
        }
    }
    if let Some(refs) = meta::metadata(obj)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
    {
        for (i, r) in refs.iter().enumerate() {
            for f in ["apiVersion", "kind", "name", "uid"] {
                if r.get(f).and_then(Value::as_str).is_none_or(str::is_empty) {
                    causes.push(Cause::required(format!(
                        "metadata.ownerReferences[{i}].{f}"
                    )));
                }
            }
        }
        let controllers = refs
            .iter()
            .filter(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
            .count();
        if controllers > 1 {
            causes.push(Cause::invalid(
                "metadata.ownerReferences",
                "Invalid value: Only one reference can have Controller set to true",
            ));
        }
    }
    for (i, f) in meta::finalizers(obj).iter().enumerate() {
        if !f.contains('/') && !matches!(f.as_str(), "kubernetes" | "orphan" | "foregroundDeletion")
        {
            causes.push(Cause::invalid(
                format!("metadata.finalizers[{i}]"),
                format!("Invalid value: {f:?}: name is neither a standard finalizer name nor is it fully qualified"),
            ));
        }
    }
    causes
}

fn label_key_ok(k: &str) -> bool {
    let name = match k.rsplit_once('/') {
        Some((prefix, name)) if meta::is_dns_subdomain(prefix) => name,
        Some(_) => return false,
        None => k,
    };
    !name.is_empty() && label_value_ok(name)
}

fn label_value_ok(v: &str) -> bool {
    let b = v.as_bytes();
    v.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && (b.is_empty()
            || (b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::resources::Registry;
    use serde_json::json;

    #[test]
    fn metadata_rules() {
        let r = Registry::with_builtins();
        let cm = r.find("", "v1", "configmaps").expect("served");
        let ok = json!({"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x", "e": ""}, "finalizers": ["example.com/f"]}});
        assert!(validate(&cm, &ok, None).is_empty());
        let bad = json!({"metadata": {"name": "A_b", "labels": {"k": "bad value"}, "finalizers": ["nope"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "n"}]}});
        let fields: Vec<String> = validate(&cm, &bad, None)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            [
                "metadata.name",
                "metadata.labels.k",
                "metadata.ownerReferences[0].uid",
                "metadata.finalizers[0]"
            ]
        );
    }
}
