//! CRD structural schemas (OpenAPI v3 with Kubernetes extensions): pruning, and conversion to a
//! JSON Schema (draft 4, whose boolean `exclusiveMinimum` matches OpenAPI 3.0) for validation.
//!
//! Traps:
//! - Unknown fields are not an error: the server *prunes* them (drops them silently) unless
//!   `x-kubernetes-preserve-unknown-fields: true`; `apiVersion`, `kind` and `metadata` survive
//!   at the root and in `x-kubernetes-embedded-resource` objects.
//! - `nullable: true` admits `null` (also in an `enum`); without it `null` fails the type check.
//! - `x-kubernetes-int-or-string: true` means integer or string whatever `type` says.
//! - `x-kubernetes-list-type: set` forbids duplicates; `map` forbids duplicate keys
//!   (`x-kubernetes-list-map-keys`), checked here rather than by the JSON Schema.
//! - The root `metadata` schema is ignored: the server validates ObjectMeta itself.
//! - `format` is not checked (the real server checks a few, e.g. `date-time`, `int32`).

use serde_json::{Map, Value, json};

use crate::apiserver::error::Cause;

/// Removes fields the schema does not declare (in place).
pub fn prune(value: &mut Value, schema: &Value) {
    prune_node(value, schema, true, 0);
}

fn prune_node(value: &mut Value, schema: &Value, keep_object_meta: bool, depth: usize) {
    if depth > 64 {
        return;
    }
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let embedded = schema
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            if let Some(props) = props {
                if !preserve {
                    map.retain(|k, _| {
                        props.contains_key(k)
                            || ((keep_object_meta || embedded)
                                && matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
                    });
                }
                for (k, v) in map.iter_mut() {
                    if let Some(sub) = props.get(k)
                        && !(keep_object_meta && k == "metadata")
                    {
                        prune_node(v, sub, false, depth + 1);
                    }
                }
            } else if let Some(additional) = additional {
                for v in map.values_mut() {
                    prune_node(v, additional, false, depth + 1);
                }
            } else if !preserve
                && !embedded
                && schema.get("type").and_then(Value::as_str) == Some("object")
            {
                // `type: object` with neither properties nor additionalProperties nor
                // preserve-unknown-fields: an empty object.
                if !keep_object_meta {
                    map.clear();
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for v in items {
                    prune_node(v, item_schema, false, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The JSON Schema (draft 4) equivalent of a structural schema.
pub fn to_json_schema(schema: &Value) -> Value {
    convert(schema, true, 0)
}

fn convert(schema: &Value, root: bool, depth: usize) -> Value {
    let Some(node) = schema.as_object() else {
        return json!({});
    };
    if depth > 64 {
        return json!({});
    }
    let mut out = Map::new();
    for (k, v) in node {
        match k.as_str() {
            "properties" => {
                let props = v
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(name, sub)| {
                                if root && name == "metadata" {
                                    (name.clone(), json!({"type": "object"}))
                                } else {
                                    (name.clone(), convert(sub, false, depth + 1))
                                }
                            })
                            .collect::<Map<_, _>>()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" | "not" if v.is_object() => {
                out.insert(k.clone(), convert(v, false, depth + 1));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let subs = v
                    .as_array()
                    .map(|a| a.iter().map(|s| convert(s, false, depth + 1)).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(subs));
            }
            "type"
            | "required"
            | "enum"
            | "minimum"
            | "maximum"
            | "exclusiveMinimum"
            | "exclusiveMaximum"
            | "minLength"
            | "maxLength"
            | "pattern"
            | "minItems"
            | "maxItems"
            | "uniqueItems"
            | "minProperties"
            | "maxProperties"
            | "multipleOf"
            | "additionalProperties" => {
                out.insert(k.clone(), v.clone());
            }
            _ => {} // description, default, format, example, x-kubernetes-*: not validated here
        }
    }
    if flag(node, "x-kubernetes-int-or-string") {
        out.remove("type");
        out.entry("anyOf")
            .or_insert_with(|| json!([{"type": "integer"}, {"type": "string"}]));
    }
    if flag(node, "nullable") {
        if let Some(Value::String(t)) = out.get("type").cloned() {
            out.insert("type".into(), json!([t, "null"]));
        }
        if let Some(Value::Array(e)) = out.get_mut("enum") {
            e.push(Value::Null);
        }
        if let Some(Value::Array(any)) = out.get_mut("anyOf") {
            any.push(json!({"type": "null"}));
        }
    }
    if node.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set") {
        out.insert("uniqueItems".into(), json!(true));
    }
    Value::Object(out)
}

fn flag(node: &Map<String, Value>, key: &str) -> bool {
    node.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Duplicate keys in `x-kubernetes-list-type: map` lists, which JSON Schema cannot express.
pub fn list_map_duplicates(value: &Value, schema: &Value, path: &str, out: &mut Vec<Cause>) {
    list_map_walk(value, schema, path, out, 0);
}

fn list_map_walk(value: &Value, schema: &Value, path: &str, out: &mut Vec<Cause>, depth: usize) {
    if depth > 64 {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map {
                let sub = props.and_then(|p| p.get(k)).or(additional);
                if let Some(sub) = sub {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    list_map_walk(v, sub, &p, out, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map") {
                let keys: Vec<&str> = schema
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|k| k.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut seen: Vec<Vec<&Value>> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let id: Vec<&Value> = keys
                        .iter()
                        .map(|k| item.get(*k).unwrap_or(&Value::Null))
                        .collect();
                    if seen.contains(&id) {
                        out.push(Cause::new(
                            "FieldValueDuplicate",
                            format!("{path}[{i}]"),
                            format!(
                                "Duplicate value: {}",
                                json!(
                                    keys.iter()
                                        .zip(&id)
                                        .map(|(k, v)| (k.to_string(), (*v).clone()))
                                        .collect::<Map<_, _>>()
                                )
                            ),
                        ));
                    } else {
                        seen.push(id);
                    }
                }
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    list_map_walk(v, item_schema, &format!("{path}[{i}]"), out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Compiles the converted schema.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::draft4::options()
        .build(&to_json_schema(schema))
        .map_err(|e| e.to_string())
}

/// Every schema violation of `instance`, as `Invalid` causes with Kubernetes field paths.
pub fn violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<Cause> {
    let mut causes: Vec<Cause> = Vec::new();
    for err in validator.iter_errors(instance) {
        let mut field = String::new();
        for seg in err.instance_path().segments() {
            match seg {
                jsonschema::paths::LocationSegment::Index(i) => field.push_str(&format!("[{i}]")),
                jsonschema::paths::LocationSegment::Property(p) => {
                    if !field.is_empty() {
                        field.push('.');
                    }
                    field.push_str(&p);
                }
            }
        }
        let cause = match err.kind() {
            jsonschema::error::ValidationErrorKind::Required { property } => {
                let prop = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_owned);
                let f = if field.is_empty() {
                    prop
                } else {
                    format!("{field}.{prop}")
                };
                Cause::required(f)
            }
            jsonschema::error::ValidationErrorKind::Enum { options } => {
                let supported = options
                    .as_array()
                    .map(|o| {
                        o.iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                Cause::new(
                    "FieldValueNotSupported",
                    field.clone(),
                    format!(
                        "Unsupported value: {}: supported values: {supported}",
                        err.instance()
                    ),
                )
            }
            _ => {
                let shown = if field.is_empty() {
                    "<root>"
                } else {
                    field.as_str()
                };
                Cause::invalid(
                    field.clone(),
                    format!(
                        "Invalid value: {}: {shown} in body {}",
                        short(err.instance()),
                        reword(&err.to_string())
                    ),
                )
            }
        };
        if !causes.contains(&cause) {
            causes.push(cause);
        }
    }
    causes
}

/// A value shown in a message, cut to a readable size.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        let mut end = 77;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

/// jsonschema says `3 is not of type "string"`; Kubernetes says `must be of type string`.
fn reword(message: &str) -> String {
    if let Some((_, t)) = message.split_once(" is not of type ") {
        return format!("must be of type {}", t.replace('"', ""));
    }
    if let Some((_, rest)) = message.split_once(" is ") {
        return format!("should be {rest}");
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "minLength": 1},
                        "port": {"x-kubernetes-int-or-string": true},
                        "mode": {"type": "string", "enum": ["a", "b"], "nullable": true},
                        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                        "ports": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}
                        },
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}}
                    }
                },
                "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
            }
        })
    }

    #[test]
    fn prunes_unknown_fields_but_keeps_object_meta_and_preserved() {
        let mut v = json!({
            "apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a", "labels": {"x": "y"}},
            "spec": {"image": "i", "bogus": 1, "extra": {"anything": {"deep": true}}, "ports": [{"name": "a", "junk": 1}]},
            "status": {"phase": "P", "unknown": 2},
            "top": 3
        });
        prune(&mut v, &schema());
        assert_eq!(
            v,
            json!({
                "apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a", "labels": {"x": "y"}},
                "spec": {"image": "i", "extra": {"anything": {"deep": true}}, "ports": [{"name": "a"}]},
                "status": {"phase": "P"}
            })
        );
    }

    #[test]
    fn violations_name_the_field() {
        let v = compile(&schema()).expect("compiles");
        let causes = violations(
            &v,
            &json!({"spec": {"port": 1.5, "mode": "c", "tags": ["a", "a"]}}),
        );
        let fields: Vec<(&str, &str)> = causes
            .iter()
            .map(|c| (c.field.as_str(), c.reason.as_str()))
            .collect();
        assert!(
            fields.contains(&("spec.image", "FieldValueRequired")),
            "{causes:?}"
        );
        assert!(
            fields.contains(&("spec.mode", "FieldValueNotSupported")),
            "{causes:?}"
        );
        assert!(fields.iter().any(|(f, _)| *f == "spec.port"), "{causes:?}");
        assert!(fields.iter().any(|(f, _)| *f == "spec.tags"), "{causes:?}");
    }

    #[test]
    fn nullable_and_int_or_string_accept_their_values() {
        let v = compile(&schema()).expect("compiles");
        for spec in [
            json!({"image": "i", "port": 80}),
            json!({"image": "i", "port": "http"}),
            json!({"image": "i", "mode": null}),
            json!({"image": "i", "mode": "a", "labels": {"k": "v"}}),
        ] {
            let causes = violations(&v, &json!({"spec": spec}));
            assert!(causes.is_empty(), "{spec}: {causes:?}");
        }
        let causes = violations(&v, &json!({"spec": {"image": "i", "labels": {"k": 1}}}));
        assert_eq!(
            causes.first().map(|c| c.field.as_str()),
            Some("spec.labels.k")
        );
        assert!(
            causes[0].message.contains("must be of type string"),
            "{causes:?}"
        );
    }

    #[test]
    fn list_map_keys_must_be_unique() {
        let mut causes = Vec::new();
        let v = json!({"spec": {"ports": [{"name": "a"}, {"name": "b"}, {"name": "a"}]}});
        list_map_duplicates(&v, &schema(), "", &mut causes);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.ports[2]");
    }
}
