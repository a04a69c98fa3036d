//! Server-side apply (`PATCH` with `application/apply-patch+yaml`), what kube's `Patch::Apply`
//! and `kubectl apply --server-side` send.
//!
//! Implemented: create-if-missing; the applied configuration merged into the live object
//! (maps recursively, keyed lists item by item, set lists as unions, everything else
//! replaced); per-manager ownership in `metadata.managedFields` (`operation: Apply`);
//! fields a manager applied before and omits now are removed unless another manager owns
//! them; conflicts (409, one cause per field) when a field owned by another manager would
//! change value, unless `force=true`, which takes the field over.
//!
//! Simplified: ownership is by leaf path (an atomic list counts as one leaf), conflicts are only
//! detected on leaves (not between an atomic parent and another manager's leaves below it);
//! no version conversion of field sets; `null` in an applied configuration removes the field.

use serde_json::{Map, Value};

use crate::apiserver::error::Cause;
use crate::apiserver::managed_fields::{self as mf, Entry, FieldPath, FieldSet, ListType, Shapes};

pub struct ApplyRequest<'a> {
    pub applied: &'a Value,
    pub manager: &'a str,
    pub force: bool,
    /// `""` or `"status"`.
    pub subresource: &'a str,
    pub api_version: &'a str,
    pub now: &'a str,
    pub shapes: Shapes<'a>,
}

/// The object after applying `req.applied` to `live` (`None`: the object is created), or the
/// conflicts.
pub fn apply(live: Option<&Value>, req: &ApplyRequest<'_>) -> Result<Value, Vec<Cause>> {
    let mut obj = live.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    let mut list = live.map(mf::entries).unwrap_or_default();
    let new_set = mf::fields_of(req.applied, req.shapes);
    let mine = |e: &Entry| {
        e.manager == req.manager && e.operation == "Apply" && e.subresource == req.subresource
    };

    // Conflicts: fields another manager owns whose value would change.
    let mut conflicts = Vec::new();
    for p in &new_set.0 {
        let changes = live.is_some_and(|l| mf::get_at(l, p) != mf::get_at(req.applied, p));
        if !changes {
            continue;
        }
        for e in list
            .iter_mut()
            .filter(|e| !(e.manager == req.manager && e.subresource == req.subresource))
        {
            if e.fields.contains(p) {
                if req.force {
                    e.fields.0.remove(p);
                } else {
                    conflicts.push(Cause::new(
                        "FieldManagerConflict",
                        mf::display(p),
                        format!(
                            "conflict with {:?} using {}: {}",
                            e.manager,
                            e.api_version,
                            mf::display(p)
                        ),
                    ));
                }
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    // Removal: what this manager applied before and no longer applies, when nobody else owns it.
    let previous: FieldSet = list
        .iter()
        .find(|e| mine(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others: Vec<&Entry> = list.iter().filter(|e| !mine(e)).collect();
    let mut removed: Vec<&FieldPath> = previous
        .0
        .iter()
        .filter(|p| {
            !new_set.has_at_or_below(p) && !others.iter().any(|e| e.fields.has_at_or_below(p))
        })
        .collect();
    // Deepest first, so removing an item does not hide the paths below it.
    removed.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in removed {
        mf::remove_at(&mut obj, p);
    }

    merge_applied(&mut obj, req.applied, req.shapes, &mut Vec::new(), 0);

    match list.iter_mut().find(|e| mine(e)) {
        Some(e) => {
            e.fields = new_set;
            e.time = req.now.to_owned();
            e.api_version = req.api_version.to_owned();
        }
        None => list.push(Entry {
            manager: req.manager.to_owned(),
            operation: "Apply".to_owned(),
            subresource: req.subresource.to_owned(),
            api_version: req.api_version.to_owned(),
            time: req.now.to_owned(),
            fields: new_set,
        }),
    }
    mf::set_entries(&mut obj, &list);
    Ok(obj)
}

fn merge_applied(
    target: &mut Value,
    applied: &Value,
    shapes: Shapes<'_>,
    names: &mut Vec<String>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    let Value::Object(amap) = applied else {
        *target = applied.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(tmap) = target else { return };
    for (k, v) in amap {
        if names.is_empty() && k == "metadata" {
            // Identity and server-owned metadata are never taken from the applied object.
            let mut m = v.clone();
            if let Value::Object(mm) = &mut m {
                for f in [
                    "uid",
                    "resourceVersion",
                    "generation",
                    "creationTimestamp",
                    "managedFields",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                ] {
                    mm.remove(f);
                }
            }
            names.push(k.clone());
            merge_applied(
                tmap.entry(k.clone()).or_insert(Value::Null),
                &m,
                shapes,
                names,
                depth + 1,
            );
            names.pop();
            continue;
        }
        match v {
            Value::Null => {
                tmap.remove(k);
            }
            Value::Object(_) => {
                names.push(k.clone());
                merge_applied(
                    tmap.entry(k.clone()).or_insert(Value::Null),
                    v,
                    shapes,
                    names,
                    depth + 1,
                );
                names.pop();
            }
            Value::Array(items) => {
                names.push(k.clone());
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let lt = shapes.list_type(&refs);
                let slot = tmap
                    .entry(k.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                match (lt, slot.as_array_mut()) {
                    (ListType::Map(keys), Some(list)) if !keys.is_empty() => {
                        for item in items {
                            let id = mf::key_of(item, &keys);
                            match list.iter_mut().find(|x| mf::key_of(x, &keys) == id) {
                                Some(existing) => {
                                    merge_applied(existing, item, shapes, names, depth + 1)
                                }
                                None => list.push(item.clone()),
                            }
                        }
                    }
                    (ListType::Set, Some(list)) => {
                        for item in items {
                            if !list.contains(item) {
                                list.push(item.clone());
                            }
                        }
                    }
                    _ => *slot = v.clone(),
                }
                names.pop();
            }
            _ => {
                tmap.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req<'a>(applied: &'a Value, manager: &'a str, force: bool) -> ApplyRequest<'a> {
        ApplyRequest {
            applied,
            manager,
            force,
            subresource: "",
            api_version: "v1",
            now: "t",
            shapes: Shapes::Builtin,
        }
    }

    #[test]
    fn apply_creates_then_is_idempotent() {
        let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"k": "v"}});
        let first = apply(None, &req(&cfg, "op", false)).expect("applies");
        let second = apply(Some(&first), &req(&cfg, "op", false)).expect("applies");
        assert_eq!(first, second);
        assert_eq!(second["data"], json!({"k": "v"}));
        assert_eq!(second["metadata"]["managedFields"][0]["operation"], "Apply");
    }

    #[test]
    fn omitted_fields_are_removed_unless_shared() {
        let a1 = json!({"data": {"k": "v", "old": "x", "shared": "s"}});
        let live = apply(None, &req(&a1, "a", false)).expect("applies");
        let b = json!({"data": {"shared": "s"}});
        let live = apply(Some(&live), &req(&b, "b", false)).expect("same value: no conflict");
        let a2 = json!({"data": {"k": "v2"}});
        let live = apply(Some(&live), &req(&a2, "a", false)).expect("applies");
        assert_eq!(live["data"], json!({"k": "v2", "shared": "s"}));
    }

    #[test]
    fn conflicts_unless_forced() {
        let live = apply(None, &req(&json!({"data": {"k": "1"}}), "a", false)).expect("applies");
        let err = apply(Some(&live), &req(&json!({"data": {"k": "2"}}), "b", false))
            .expect_err("conflict");
        assert_eq!(err[0].field, ".data.k");
        assert_eq!(err[0].message, "conflict with \"a\" using v1: .data.k");
        let forced =
            apply(Some(&live), &req(&json!({"data": {"k": "2"}}), "b", true)).expect("forced");
        assert_eq!(forced["data"]["k"], "2");
        let owners: Vec<&str> = forced["metadata"]["managedFields"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["manager"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(owners, ["b"]);
    }

    #[test]
    fn keyed_lists_merge_by_key() {
        let live = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}});
        let out = apply(
            Some(&live),
            &req(
                &json!({"spec": {"containers": [{"name": "b", "image": "3"}]}}),
                "m",
                false,
            ),
        )
        .expect("applies");
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "a", "image": "1"}, {"name": "b", "image": "3"}])
        );
    }
}
