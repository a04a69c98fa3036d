//! What the server does to an object on create, update and delete, as pure functions:
//! server-owned metadata, the status/spec split of the status subresource, `generation`,
//! finalizers and `deletionTimestamp`.
//!
//! Traps: `generation` starts at 1 and moves only when something outside `metadata` and
//! `status` changes; with a status subresource the main endpoint ignores `status` and
//! `/status` ignores everything else; an object being deleted accepts no new finalizer, and
//! disappears with the write that removes its last finalizer; an update that changes nothing
//! writes nothing (no new resourceVersion, no watch event).

use serde_json::{Map, Value, json};

use crate::apiserver::error::{ApiError, Cause, Subject};
use crate::apiserver::meta;
use crate::apiserver::resources::ResourceType;

/// Server-set fields for a new object.
pub fn prepare_create(rt: &ResourceType, obj: &mut Value, namespace: &str, uid: &str, now: &str) {
    if let Value::Object(m) = obj {
        m.insert("apiVersion".into(), json!(rt.api_version()));
        m.insert("kind".into(), json!(rt.kind));
        if rt.status_subresource && !rt.is("apiextensions.k8s.io", "customresourcedefinitions") {
            m.remove("status");
        }
    }
    let meta = meta::metadata_mut(obj);
    if rt.namespaced {
        meta.insert("namespace".into(), json!(namespace));
    } else {
        meta.remove("namespace");
    }
    meta.insert("uid".into(), json!(uid));
    meta.insert("creationTimestamp".into(), json!(now));
    for f in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
    ] {
        meta.remove(f);
    }
    if rt.generation {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
}

/// Which part of the object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The main endpoint.
    Main,
    /// `/status`.
    Status,
}

/// The object as stored after an update of `part` from `old` to `new`.
pub fn prepare_update(
    rt: &ResourceType,
    old: &Value,
    new: Value,
    part: Part,
) -> Result<Value, ApiError> {
    let mut out = match part {
        Part::Status => {
            // Only `status` changes through /status (plus the rest as it was).
            let mut out = old.clone();
            match new.get("status") {
                Some(s) => out["status"] = s.clone(),
                None => {
                    if let Value::Object(m) = &mut out {
                        m.remove("status");
                    }
                }
            }
            out
        }
        Part::Main => {
            let mut out = new;
            if rt.status_subresource
                && let Value::Object(m) = &mut out
            {
                match old.get("status") {
                    Some(s) => {
                        m.insert("status".into(), s.clone());
                    }
                    None => {
                        m.remove("status");
                    }
                }
            }
            out
        }
    };
    if let Value::Object(m) = &mut out {
        m.insert("apiVersion".into(), json!(rt.api_version()));
        m.insert("kind".into(), json!(rt.kind));
    }
    // Server-owned metadata is kept from the stored object.
    let old_meta = meta::metadata(old).cloned().unwrap_or_default();
    let meta_out = meta::metadata_mut(&mut out);
    for f in [
        "uid",
        "creationTimestamp",
        "namespace",
        "name",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match old_meta.get(f) {
            Some(v) => {
                meta_out.insert(f.into(), v.clone());
            }
            None => {
                meta_out.remove(f);
            }
        }
    }
    if meta::is_deleting(old) {
        let before = meta::finalizers(old);
        let added: Vec<String> = meta::finalizers(&out)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            return Err(ApiError::invalid(
                Subject {
                    group: &rt.group,
                    kind: &rt.kind,
                    name: meta::name(old),
                },
                vec![Cause::forbidden(
                    "metadata.finalizers",
                    format!(
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                    ),
                )],
            ));
        }
    }
    if rt.generation && spec_changed(old, &out) {
        let next = meta::generation(old).max(1) + 1;
        meta::metadata_mut(&mut out).insert("generation".into(), json!(next));
    }
    Ok(out)
}

/// Whether anything but `metadata` and `status` differs.
fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    strip(old) != strip(new)
}

/// Whether two versions of an object differ in anything a client would notice (the
/// resourceVersion and managedFields timestamps aside).
pub fn differs(old: &Value, new: &Value) -> bool {
    let norm = |v: &Value| {
        let mut v = v.clone();
        let m = meta::metadata_mut(&mut v);
        m.remove("resourceVersion");
        if let Some(Value::Array(entries)) = m.get_mut("managedFields") {
            for e in entries {
                if let Value::Object(e) = e {
                    e.remove("time");
                }
            }
        }
        v
    };
    norm(old) != norm(new)
}

/// `DeleteOptions.propagationPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

impl Propagation {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "Orphan" => Ok(Self::Orphan),
            "Background" => Ok(Self::Background),
            "Foreground" => Ok(Self::Foreground),
            other => Err(ApiError::bad_request(format!(
                "unknown propagationPolicy {other:?}"
            ))),
        }
    }
}

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// What a DELETE does to a stored object.
#[derive(Debug, PartialEq)]
pub enum DeleteDecision {
    /// Gone now.
    Remove,
    /// Kept with `deletionTimestamp` (and these finalizers) until they are removed.
    Mark(Value),
    /// Already being deleted: nothing changes.
    AlreadyDeleting,
}

pub fn decide_delete(
    obj: &Value,
    propagation: Propagation,
    now: &str,
    grace_seconds: Option<i64>,
) -> DeleteDecision {
    let mut finalizers = meta::finalizers(obj);
    if meta::is_deleting(obj) {
        return DeleteDecision::AlreadyDeleting;
    }
    let extra = match propagation {
        Propagation::Orphan => Some(ORPHAN),
        Propagation::Foreground => Some(FOREGROUND),
        Propagation::Background => None,
    };
    if let Some(f) = extra
        && !finalizers.iter().any(|x| x == f)
    {
        finalizers.push(f.to_owned());
    }
    // `orphan` and `foregroundDeletion` only matter when something depends on the object; the
    // GC removes them, so they always go through the marked state, like the real server.
    if finalizers.is_empty() && grace_seconds.is_none_or(|g| g == 0) {
        return DeleteDecision::Remove;
    }
    let mut out = obj.clone();
    meta::set_finalizers(&mut out, &finalizers);
    let m = meta::metadata_mut(&mut out);
    m.insert("deletionTimestamp".into(), json!(now));
    m.insert(
        "deletionGracePeriodSeconds".into(),
        json!(grace_seconds.unwrap_or(0)),
    );
    DeleteDecision::Mark(out)
}

/// Whether a stored object being deleted has nothing left holding it.
/// Namespaces also wait for their `spec.finalizers` (the namespace controller's `kubernetes`).
pub fn ready_to_remove(obj: &Value) -> bool {
    meta::is_deleting(obj)
        && meta::finalizers(obj).is_empty()
        && obj["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(0)
            == 0
        && !(obj["kind"] == "Namespace"
            && obj["spec"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::resources::Registry;

    fn rt(group: &str, plural: &str) -> std::sync::Arc<ResourceType> {
        Registry::with_builtins()
            .any_version(group, plural)
            .expect("served")
    }

    #[test]
    fn create_sets_server_fields_and_drops_status() {
        let jobs = rt("batch", "jobs");
        let mut o = json!({"metadata": {"name": "j", "resourceVersion": "9"}, "spec": {}, "status": {"succeeded": 1}});
        prepare_create(&jobs, &mut o, "ns", "u-1", "2024-01-01T00:00:00Z");
        assert_eq!(o["apiVersion"], "batch/v1");
        assert_eq!(o["kind"], "Job");
        assert_eq!(o["metadata"]["generation"], 1);
        assert_eq!(o["metadata"]["namespace"], "ns");
        assert!(o.get("status").is_none());
        assert!(o["metadata"].get("resourceVersion").is_none());
    }

    #[test]
    fn generation_moves_on_spec_changes_only() {
        let jobs = rt("batch", "jobs");
        let old = json!({"metadata": {"name": "j", "generation": 1, "uid": "u"}, "spec": {"a": 1}, "status": {"x": 1}});
        let labels_only = json!({"metadata": {"name": "j", "labels": {"l": "v"}}, "spec": {"a": 1}, "status": {"x": 2}});
        let out = prepare_update(&jobs, &old, labels_only, Part::Main).expect("valid");
        assert_eq!(out["metadata"]["generation"], 1);
        assert_eq!(
            out["status"],
            json!({"x": 1}),
            "main endpoint ignores status"
        );
        assert_eq!(out["metadata"]["uid"], "u");
        let spec = json!({"metadata": {"name": "j"}, "spec": {"a": 2}});
        assert_eq!(
            prepare_update(&jobs, &old, spec, Part::Main).expect("valid")["metadata"]["generation"],
            2
        );
        let status = json!({"metadata": {"name": "j"}, "spec": {"a": 3}, "status": {"x": 5}});
        let out = prepare_update(&jobs, &old, status, Part::Status).expect("valid");
        assert_eq!(out["spec"], json!({"a": 1}), "/status ignores spec");
        assert_eq!(out["status"], json!({"x": 5}));
        assert_eq!(out["metadata"]["generation"], 1);
    }

    #[test]
    fn deleting_objects_take_no_new_finalizers() {
        let cms = rt("", "configmaps");
        let old =
            json!({"metadata": {"name": "c", "deletionTimestamp": "t", "finalizers": ["a/b"]}});
        let new = json!({"metadata": {"name": "c", "finalizers": ["a/b", "c/d"]}});
        let e = prepare_update(&cms, &old, new, Part::Main).expect_err("forbidden");
        assert_eq!(e.code, 422);
        let new = json!({"metadata": {"name": "c", "finalizers": []}});
        let out = prepare_update(&cms, &old, new, Part::Main).expect("removal is fine");
        assert!(ready_to_remove(&out));
    }

    #[test]
    fn delete_decisions() {
        let plain = json!({"metadata": {"name": "c"}});
        assert_eq!(
            decide_delete(&plain, Propagation::Background, "t", None),
            DeleteDecision::Remove
        );
        let held = json!({"metadata": {"name": "c", "finalizers": ["a/b"]}});
        let DeleteDecision::Mark(m) = decide_delete(&held, Propagation::Background, "t", None)
        else {
            panic!("kept while a finalizer remains")
        };
        assert_eq!(m["metadata"]["deletionTimestamp"], "t");
        assert_eq!(
            decide_delete(&m, Propagation::Background, "t2", None),
            DeleteDecision::AlreadyDeleting
        );
        let DeleteDecision::Mark(f) = decide_delete(&plain, Propagation::Foreground, "t", None)
        else {
            panic!("foreground marks")
        };
        assert_eq!(meta::finalizers(&f), [FOREGROUND]);
    }

    #[test]
    fn no_op_updates_are_detected() {
        let a = json!({"metadata": {"resourceVersion": "1", "managedFields": [{"manager": "m", "time": "t1"}]}, "data": {}});
        let b = json!({"metadata": {"resourceVersion": "2", "managedFields": [{"manager": "m", "time": "t2"}]}, "data": {}});
        assert!(!differs(&a, &b));
        let c = json!({"metadata": {"resourceVersion": "2"}, "data": {"k": "v"}});
        assert!(differs(&a, &c));
    }
}
