//! Field ownership for server-side apply: field sets, their `fieldsV1` encoding, and which
//! lists are atomic, sets, or maps keyed by some fields.
//!
//! A field set holds *leaf* paths (scalars, atomic lists, empty maps) plus the items of
//! keyed lists (`k:{"name":"c"}`) and of set lists (`v:"x"`). `fieldsV1` is the same tree as
//! nested JSON: `f:<field>`, `k:<canonical key JSON>`, `v:<value JSON>`, with `".": {}` marking
//! a member that also has members below it, and `{}` a member leaf.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    Field(String),
    /// Canonical JSON of the key fields of a keyed-list item.
    Key(String),
    /// JSON of a set-list item.
    Value(String),
}

pub type FieldPath = Vec<PathElement>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(pub BTreeSet<FieldPath>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// Where list types come from: a CRD schema, or the built-in table (the strategic merge keys).
#[derive(Clone, Copy, Debug)]
pub enum Shapes<'a> {
    Builtin,
    Schema(&'a Value),
}

impl Shapes<'_> {
    /// The list type of the list at `fields` (field names from the root, list items skipped).
    pub fn list_type(&self, fields: &[&str]) -> ListType {
        match self {
            Shapes::Builtin => {
                let Some((last, parents)) = fields.split_last() else {
                    return ListType::Atomic;
                };
                if let Some(key) = crate::apiserver::patch::merge_key(
                    &parents[parents.len().saturating_sub(1)..],
                    last,
                ) {
                    ListType::Map(vec![key.to_owned()])
                } else if crate::apiserver::patch::is_primitive_set(last) {
                    ListType::Set
                } else {
                    ListType::Atomic
                }
            }
            Shapes::Schema(schema) => {
                if fields == ["metadata", "finalizers"] {
                    return ListType::Set;
                }
                if fields == ["metadata", "ownerReferences"] {
                    return ListType::Map(vec!["uid".to_owned()]);
                }
                let Some(node) = schema_node(schema, fields) else {
                    return ListType::Atomic;
                };
                match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
                    Some("set") => ListType::Set,
                    Some("map") => ListType::Map(
                        node.get("x-kubernetes-list-map-keys")
                            .and_then(Value::as_array)
                            .map(|k| {
                                k.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                    _ => ListType::Atomic,
                }
            }
        }
    }
}

/// The schema node of the field at `fields`, stepping into `items` for arrays and
/// `additionalProperties` for maps.
fn schema_node<'a>(schema: &'a Value, fields: &[&str]) -> Option<&'a Value> {
    let mut node = schema;
    for f in fields {
        while node.get("type").and_then(Value::as_str) == Some("array") {
            node = node.get("items")?;
        }
        node = node
            .get("properties")
            .and_then(|p| p.get(*f))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?;
    }
    Some(node)
}

/// Paths nobody owns: identity and server-maintained metadata.
fn ignored(path: &FieldPath) -> bool {
    match path.as_slice() {
        [PathElement::Field(f), ..] if f == "apiVersion" || f == "kind" => true,
        [PathElement::Field(m), PathElement::Field(f), ..] if m == "metadata" => matches!(
            f.as_str(),
            "name"
                | "namespace"
                | "uid"
                | "resourceVersion"
                | "generation"
                | "creationTimestamp"
                | "managedFields"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "selfLink"
        ),
        _ => false,
    }
}

/// The field set a value specifies.
pub fn fields_of(value: &Value, shapes: Shapes<'_>) -> FieldSet {
    let mut out = BTreeSet::new();
    let mut path = Vec::new();
    let mut names = Vec::new();
    walk(value, shapes, &mut path, &mut names, &mut out, 0);
    out.retain(|p| !p.is_empty() && !ignored(p));
    FieldSet(out)
}

fn walk(
    v: &Value,
    shapes: Shapes<'_>,
    path: &mut FieldPath,
    names: &mut Vec<String>,
    out: &mut BTreeSet<FieldPath>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(PathElement::Field(k.clone()));
                names.push(k.clone());
                walk(child, shapes, path, names, out, depth + 1);
                names.pop();
                path.pop();
            }
        }
        Value::Array(items) if !path.is_empty() => {
            let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
            match shapes.list_type(&name_refs) {
                ListType::Map(keys) if !keys.is_empty() => {
                    for item in items {
                        path.push(PathElement::Key(key_of(item, &keys)));
                        out.insert(path.clone());
                        if let Value::Object(m) = item {
                            for (k, child) in m {
                                path.push(PathElement::Field(k.clone()));
                                names.push(k.clone());
                                walk(child, shapes, path, names, out, depth + 1);
                                names.pop();
                                path.pop();
                            }
                        }
                        path.pop();
                    }
                }
                ListType::Set => {
                    for item in items {
                        path.push(PathElement::Value(item.to_string()));
                        out.insert(path.clone());
                        path.pop();
                    }
                }
                _ => {
                    out.insert(path.clone());
                }
            }
        }
        _ => {
            out.insert(path.clone());
        }
    }
}

/// Canonical JSON of an item's key fields (sorted keys: serde_json maps are ordered).
pub fn key_of(item: &Value, keys: &[String]) -> String {
    let m: Map<String, Value> = keys
        .iter()
        .map(|k| (k.clone(), item.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    Value::Object(m).to_string()
}

/// The value at `path`.
pub fn get_at<'a>(v: &'a Value, path: &[PathElement]) -> Option<&'a Value> {
    let mut cur = v;
    for pe in path {
        cur = match pe {
            PathElement::Field(f) => cur.get(f)?,
            PathElement::Key(k) => {
                let key: Map<String, Value> = serde_json::from_str(k).ok()?;
                cur.as_array()?.iter().find(|item| {
                    key.iter()
                        .all(|(kk, kv)| item.get(kk).unwrap_or(&Value::Null) == kv)
                })?
            }
            PathElement::Value(x) => {
                let want: Value = serde_json::from_str(x).ok()?;
                cur.as_array()?.iter().find(|item| **item == want)?
            }
        };
    }
    Some(cur)
}

/// Removes what `path` designates (a field, a keyed item, a set item); then drops maps and
/// lists left empty along the way.
pub fn remove_at(v: &mut Value, path: &[PathElement]) {
    remove_inner(v, path);
}

fn remove_inner(v: &mut Value, path: &[PathElement]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    match first {
        PathElement::Field(f) => {
            let Some(map) = v.as_object_mut() else {
                return false;
            };
            if rest.is_empty() {
                map.remove(f);
            } else if let Some(child) = map.get_mut(f)
                && remove_inner(child, rest)
            {
                map.remove(f);
            }
            map.is_empty()
        }
        PathElement::Key(k) => {
            let Ok(key) = serde_json::from_str::<Map<String, Value>>(k) else {
                return false;
            };
            let Some(list) = v.as_array_mut() else {
                return false;
            };
            let Some(pos) = list.iter().position(|item| {
                key.iter()
                    .all(|(kk, kv)| item.get(kk).unwrap_or(&Value::Null) == kv)
            }) else {
                return false;
            };
            if rest.is_empty() {
                list.remove(pos);
            } else if let Some(item) = list.get_mut(pos) {
                remove_inner(item, rest);
            }
            list.is_empty()
        }
        PathElement::Value(x) => {
            let Ok(want) = serde_json::from_str::<Value>(x) else {
                return false;
            };
            let Some(list) = v.as_array_mut() else {
                return false;
            };
            list.retain(|item| *item != want);
            list.is_empty()
        }
    }
}

impl FieldSet {
    pub fn contains(&self, p: &FieldPath) -> bool {
        self.0.contains(p)
    }

    /// Whether some member is `p` or lies below it.
    pub fn has_at_or_below(&self, p: &FieldPath) -> bool {
        self.0
            .range(p.clone()..)
            .next()
            .is_some_and(|m| m.starts_with(p))
    }

    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for p in &self.0 {
            let mut node = &mut root;
            for pe in p {
                let key = match pe {
                    PathElement::Field(f) => format!("f:{f}"),
                    PathElement::Key(k) => format!("k:{k}"),
                    PathElement::Value(x) => format!("v:{x}"),
                };
                let child = node.entry(key).or_insert_with(|| json!({}));
                if !child.is_object() {
                    *child = json!({});
                }
                let Value::Object(m) = child else {
                    unreachable!("made an object above")
                };
                node = m;
            }
            node.insert(".".into(), json!({}));
        }
        // A member leaf is written `{}`, not `{".": {}}`.
        fn tidy(m: &mut Map<String, Value>) {
            for v in m.values_mut() {
                if let Value::Object(child) = v {
                    tidy(child);
                    if child.len() == 1 && child.contains_key(".") {
                        child.clear();
                    }
                }
            }
        }
        tidy(&mut root);
        Value::Object(root)
    }

    pub fn from_fields_v1(v: &Value) -> Self {
        let mut out = BTreeSet::new();
        let mut path = Vec::new();
        decode(v, &mut path, &mut out, 0);
        Self(out)
    }
}

fn decode(v: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>, depth: usize) {
    let Some(m) = v.as_object() else { return };
    if depth > 64 {
        return;
    }
    if !path.is_empty() && (m.is_empty() || m.contains_key(".")) {
        out.insert(path.clone());
    }
    for (k, child) in m {
        let pe = if let Some(f) = k.strip_prefix("f:") {
            PathElement::Field(f.to_owned())
        } else if let Some(x) = k.strip_prefix("k:") {
            PathElement::Key(x.to_owned())
        } else if let Some(x) = k.strip_prefix("v:") {
            PathElement::Value(x.to_owned())
        } else {
            continue;
        };
        path.push(pe);
        decode(child, path, out, depth + 1);
        path.pop();
    }
}

/// `.spec.containers[name="c"].image` for messages.
pub fn display(path: &FieldPath) -> String {
    let mut s = String::new();
    for pe in path {
        match pe {
            PathElement::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            PathElement::Key(k) => {
                let inner = serde_json::from_str::<Map<String, Value>>(k)
                    .map(|m| {
                        m.iter()
                            .map(|(a, b)| format!("{a}={b}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_else(|_| k.clone());
                s.push_str(&format!("[{inner}]"));
            }
            PathElement::Value(x) => s.push_str(&format!("[={x}]")),
        }
    }
    s
}

/// One `metadata.managedFields` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub subresource: String,
    pub api_version: String,
    pub time: String,
    pub fields: FieldSet,
}

pub fn entries(obj: &Value) -> Vec<Entry> {
    crate::apiserver::meta::metadata(obj)
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| Entry {
                    manager: e["manager"].as_str().unwrap_or("").to_owned(),
                    operation: e["operation"].as_str().unwrap_or("Update").to_owned(),
                    subresource: e["subresource"].as_str().unwrap_or("").to_owned(),
                    api_version: e["apiVersion"].as_str().unwrap_or("").to_owned(),
                    time: e["time"].as_str().unwrap_or("").to_owned(),
                    fields: FieldSet::from_fields_v1(&e["fieldsV1"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn set_entries(obj: &mut Value, list: &[Entry]) {
    let arr: Vec<Value> = list
        .iter()
        .filter(|e| !e.fields.0.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": e.fields.to_fields_v1(),
            });
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    let meta = crate::apiserver::meta::metadata_mut(obj);
    if arr.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(arr));
    }
}

/// Records a non-apply write by `manager`: it takes ownership of every field it changed;
/// fields that disappeared leave every owner.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: &str,
    api_version: &str,
    now: &str,
    shapes: Shapes<'_>,
) {
    let mut list = old.map(entries).unwrap_or_default();
    let new_fields = fields_of(new, shapes);
    let old_fields = old.map(|o| fields_of(o, shapes)).unwrap_or_default();
    let changed: Vec<&FieldPath> = new_fields
        .0
        .iter()
        .filter(|p| old.is_none_or(|o| get_at(o, p) != get_at(new, p)))
        .collect();
    for e in &mut list {
        e.fields
            .0
            .retain(|p| new_fields.contains(p) || !old_fields.contains(p));
        if !(e.manager == manager && e.operation == "Update" && e.subresource == subresource) {
            for p in &changed {
                e.fields.0.remove(*p);
            }
        }
    }
    if !changed.is_empty() {
        match list.iter_mut().find(|e| {
            e.manager == manager && e.operation == "Update" && e.subresource == subresource
        }) {
            Some(e) => {
                e.fields.0.extend(changed.into_iter().cloned());
                e.time = now.to_owned();
                e.api_version = api_version.to_owned();
            }
            None => list.push(Entry {
                manager: manager.to_owned(),
                operation: "Update".to_owned(),
                subresource: subresource.to_owned(),
                api_version: api_version.to_owned(),
                time: now.to_owned(),
                fields: FieldSet(changed.into_iter().cloned().collect()),
            }),
        }
    }
    set_entries(new, &list);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_v1_round_trip() {
        let v = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}, "finalizers": ["x/y"]},
            "spec": {"containers": [{"name": "c", "image": "i", "args": ["1"]}]}});
        let fs = fields_of(&v, Shapes::Builtin);
        let encoded = fs.to_fields_v1();
        assert_eq!(
            encoded,
            json!({
                "f:metadata": {"f:labels": {"f:a": {}}, "f:finalizers": {"v:\"x/y\"": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:args": {}, "f:image": {}, "f:name": {}}}}
            })
        );
        assert_eq!(FieldSet::from_fields_v1(&encoded), fs);
    }

    #[test]
    fn remove_keyed_item_and_empty_parents() {
        let mut v = json!({"spec": {"containers": [{"name": "c", "image": "i"}], "x": {"y": 1}}});
        remove_at(
            &mut v,
            &[
                PathElement::Field("spec".into()),
                PathElement::Field("x".into()),
                PathElement::Field("y".into()),
            ],
        );
        assert_eq!(
            v,
            json!({"spec": {"containers": [{"name": "c", "image": "i"}]}})
        );
        let key = PathElement::Key(key_of(&json!({"name": "c"}), &["name".to_owned()]));
        assert_eq!(
            get_at(
                &v,
                &[
                    PathElement::Field("spec".into()),
                    PathElement::Field("containers".into()),
                    key.clone()
                ]
            )
            .map(|c| c["image"].clone()),
            Some(json!("i"))
        );
        remove_at(
            &mut v,
            &[
                PathElement::Field("spec".into()),
                PathElement::Field("containers".into()),
                key,
            ],
        );
        assert_eq!(v, json!({}));
    }

    #[test]
    fn updates_take_ownership_of_changed_fields() {
        let mut a = json!({"metadata": {"name": "x"}, "data": {"k": "1", "j": "1"}});
        record_update(None, &mut a, "alice", "", "v1", "t0", Shapes::Builtin);
        let mut b = a.clone();
        b["data"]["k"] = json!("2");
        record_update(Some(&a), &mut b, "bob", "", "v1", "t1", Shapes::Builtin);
        let e = entries(&b);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].manager, "alice");
        assert_eq!(
            display(e[0].fields.0.iter().next().expect("one field")),
            ".data.j"
        );
        assert_eq!(
            display(e[1].fields.0.iter().next().expect("one field")),
            ".data.k"
        );
    }

    #[test]
    fn schema_list_types() {
        let schema = json!({"type": "object", "properties": {"status": {"type": "object", "properties": {
            "conditions": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"], "items": {"type": "object"}}}}}});
        let s = Shapes::Schema(&schema);
        assert_eq!(
            s.list_type(&["status", "conditions"]),
            ListType::Map(vec!["type".to_owned()])
        );
        assert_eq!(s.list_type(&["status", "other"]), ListType::Atomic);
        assert_eq!(s.list_type(&["metadata", "finalizers"]), ListType::Set);
    }
}
