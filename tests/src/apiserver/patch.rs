//! PATCH bodies other than server-side apply: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902) and a strategic merge patch good enough for built-ins.
//!
//! Strategic merge patch here is merge patch plus: lists with a known merge key (containers,
//! volumes, env by `name`, volumeMounts by `mountPath`, ports by `containerPort`, conditions by
//! `type`, ownerReferences by `uid`) merge item by item; `$patch: delete` removes an item;
//! `$patch: replace` replaces a map or list; `finalizers` merges as a set of strings and
//! `$deleteFromPrimitiveList/finalizers` removes from it; `$setElementOrder/*` and
//! `$retainKeys` are ignored. Real SMP knows every field's strategy from the Go types; lists
//! not listed here are replaced whole (the default strategy for most of them anyway).

use serde_json::{Map, Value};

use crate::apiserver::error::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Strategic,
    Apply,
}

impl PatchKind {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/merge-patch+json" => Some(Self::Merge),
            "application/json-patch+json" => Some(Self::Json),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml"
            | "application/apply-patch+json"
            | "application/apply-patch+cbor" => Some(Self::Apply),
            _ => None,
        }
    }
}

pub fn merge(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Applies an RFC 6902 patch atomically: all operations or none. `Malformed` is a body that is
/// not a JSON patch (400); `Failed` a failed `test` or a missing path (422, as the real server).
///
/// Trap: like the Go library behind kube-apiserver, `test` with a `null` value passes when the
/// path does not exist; kube-runtime's finalizer helper relies on it
/// (`test /metadata/finalizers null`, then `add`).
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), JsonPatchError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| JsonPatchError::Malformed(e.to_string()))?;
    let mut work = target.clone();
    for op in ops.0 {
        if let json_patch::PatchOperation::Test(t) = &op
            && t.value.is_null()
            && work.pointer(t.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(&mut work, &[op]).map_err(|e| JsonPatchError::Failed(e.to_string()))?;
    }
    *target = work;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum JsonPatchError {
    Malformed(String),
    Failed(String),
}

/// The merge key of a list field (`parents` are the enclosing field names, outermost first).
pub fn merge_key(parents: &[&str], field: &str) -> Option<&'static str> {
    let parent = parents.last().copied().unwrap_or("");
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "hostAliases" => {
            if field == "hostAliases" {
                "ip"
            } else {
                "name"
            }
        }
        "volumeMounts" | "volumeDevices" => "mountPath",
        "ports" if parent == "spec" && parents.len() == 1 => "port", // Service
        "ports" => "containerPort",
        "conditions" => "type",
        "ownerReferences" => "uid",
        _ => return None,
    })
}

/// Lists of strings merged as sets by strategic merge patch.
pub fn is_primitive_set(field: &str) -> bool {
    field == "finalizers"
}

pub fn strategic(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    strategic_at(target, patch, &mut Vec::new(), 0)
}

fn strategic_at(
    target: &mut Value,
    patch: &Value,
    parents: &mut Vec<String>,
    depth: usize,
) -> Result<(), ApiError> {
    if depth > 64 {
        return Err(ApiError::bad_request("patch nested too deeply"));
    }
    let Some(pmap) = patch.as_object() else {
        *target = patch.clone();
        return Ok(());
    };
    match pmap.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut m = pmap.clone();
            m.remove("$patch");
            *target = Value::Object(m);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return Ok(());
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown patch directive {other:?}"
            )));
        }
        None => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(tmap) = target else {
        return Ok(());
    };
    for (k, v) in pmap {
        if k.starts_with("$setElementOrder/") || k == "$retainKeys" {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(remove)) = (tmap.get_mut(field), v.as_array()) {
                list.retain(|x| !remove.contains(x));
            }
            continue;
        }
        if v.is_null() {
            tmap.remove(k);
            continue;
        }
        let parent_refs: Vec<&str> = parents.iter().map(String::as_str).collect();
        match v {
            Value::Object(_) => {
                let slot = tmap.entry(k.clone()).or_insert(Value::Null);
                parents.push(k.clone());
                let r = strategic_at(slot, v, parents, depth + 1);
                parents.pop();
                r?;
            }
            Value::Array(items) => {
                if let Some(key) = merge_key(&parent_refs, k) {
                    let slot = tmap
                        .entry(k.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if !slot.is_array() {
                        *slot = Value::Array(Vec::new());
                    }
                    parents.push(k.clone());
                    let r = merge_keyed_list(slot, items, key, parents, depth);
                    parents.pop();
                    r?;
                } else if is_primitive_set(k) {
                    let slot = tmap
                        .entry(k.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = slot {
                        for x in items {
                            if !list.contains(x) {
                                list.push(x.clone());
                            }
                        }
                    }
                } else {
                    let cleaned: Vec<Value> = items
                        .iter()
                        .filter(|i| i.get("$patch").is_none())
                        .cloned()
                        .collect();
                    tmap.insert(k.clone(), Value::Array(cleaned));
                }
            }
            _ => {
                tmap.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

fn merge_keyed_list(
    slot: &mut Value,
    items: &[Value],
    key: &str,
    parents: &mut Vec<String>,
    depth: usize,
) -> Result<(), ApiError> {
    let Value::Array(list) = slot else {
        return Ok(());
    };
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *list = items
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .cloned()
            .collect();
        return Ok(());
    }
    for item in items {
        let Some(id) = item.get(key) else {
            return Err(ApiError::bad_request(format!(
                "map: {item} does not contain declared merge key: {key}"
            )));
        };
        let pos = list.iter().position(|x| x.get(key) == Some(id));
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(p) = pos {
                list.remove(p);
            }
            continue;
        }
        match pos {
            Some(p) => strategic_at(&mut list[p], item, parents, depth + 1)?,
            None => {
                let mut fresh = Value::Object(Map::new());
                strategic_at(&mut fresh, item, parents, depth + 1)?;
                list.push(fresh);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types() {
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml"),
            Some(PatchKind::Apply)
        );
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json; charset=utf-8"),
            Some(PatchKind::Merge)
        );
        assert_eq!(PatchKind::from_content_type("application/json"), None);
    }

    #[test]
    fn merge_patch_removes_nulls() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge(&mut t, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(t, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
    }

    #[test]
    fn json_patch_test_failure_leaves_object_alone() {
        let mut t = json!({"metadata": {"finalizers": ["a"]}});
        let p = json!([{"op": "test", "path": "/metadata/finalizers", "value": ["b"]}, {"op": "remove", "path": "/metadata/finalizers/0"}]);
        assert!(matches!(
            json_patch(&mut t, &p),
            Err(JsonPatchError::Failed(_))
        ));
        assert_eq!(t, json!({"metadata": {"finalizers": ["a"]}}));
        let p = json!([{"op": "test", "path": "/metadata/finalizers", "value": ["a"]}, {"op": "remove", "path": "/metadata/finalizers/0"}]);
        json_patch(&mut t, &p).expect("applies");
        assert_eq!(t, json!({"metadata": {"finalizers": []}}));
    }

    #[test]
    fn json_patch_test_null_matches_a_missing_path() {
        let mut t = json!({"metadata": {"name": "x"}});
        let p = json!([{"op": "test", "path": "/metadata/finalizers", "value": null}, {"op": "add", "path": "/metadata/finalizers", "value": ["a/b"]}]);
        json_patch(&mut t, &p).expect("applies");
        assert_eq!(t["metadata"]["finalizers"], json!(["a/b"]));
        assert!(
            matches!(json_patch(&mut t, &p), Err(JsonPatchError::Failed(_))),
            "present now: the test fails"
        );
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let mut t = json!({"spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]}, {"name": "b", "image": "y"}]}});
        let p = json!({"spec": {"containers": [
            {"name": "a", "image": "x2", "env": [{"name": "B", "value": "2"}]},
            {"name": "b", "$patch": "delete"},
            {"name": "c", "image": "z"}
        ]}});
        strategic(&mut t, &p).expect("applies");
        assert_eq!(
            t,
            json!({"spec": {"containers": [
                {"name": "a", "image": "x2", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                {"name": "c", "image": "z"}
            ]}})
        );
    }

    #[test]
    fn strategic_finalizers_are_a_set() {
        let mut t = json!({"metadata": {"finalizers": ["a", "b"]}});
        strategic(&mut t, &json!({"metadata": {"finalizers": ["b", "c"]}})).expect("applies");
        assert_eq!(t["metadata"]["finalizers"], json!(["a", "b", "c"]));
        strategic(
            &mut t,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        )
        .expect("applies");
        assert_eq!(t["metadata"]["finalizers"], json!(["b", "c"]));
    }

    #[test]
    fn strategic_requires_merge_keys() {
        let mut t = json!({"spec": {"containers": []}});
        assert!(strategic(&mut t, &json!({"spec": {"containers": [{"image": "x"}]}})).is_err());
    }
}
