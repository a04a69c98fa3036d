//! Test helpers: read the examples under `examples/` and check objects the way the apiserver
//! would, with the CRD's OpenAPI schema (lengths, patterns, enums, required fields, via
//! `jsonschema`) and its CEL rules (via `kube-cel`, the apiserver's CEL semantics).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `examples/<file>` (at the repository's top) as JSON.
pub(crate) fn read_example(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// An example as JSON and as the typed resource.
pub(crate) fn example<K: DeserializeOwned>(file: &str) -> (Value, K) {
    let value = read_example(file);
    let typed = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{file} does not deserialize: {e}"));
    (value, typed)
}

/// The CRD's `openAPIV3Schema` as JSON.
pub(crate) fn openapi_schema(crd: &CustomResourceDefinition) -> Value {
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("derived CRDs have a schema");
    serde_json::to_value(schema).expect("schema serializes")
}

/// Schema problems (as text) of `object`, OpenAPI part then CEL part.
pub(crate) fn validate(schema: &Value, object: &Value) -> Result<(), String> {
    let validator = jsonschema::validator_for(schema).map_err(|e| format!("bad schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(object)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if !errors.is_empty() {
        return Err(format!("schema: {}", errors.join("; ")));
    }
    cel(schema, object)
}

fn cel(schema: &Value, object: &Value) -> Result<(), String> {
    let schema = kube_cel_escaping(schema);
    kube_cel::validate(&schema, object, None).map_err(|errors| {
        let all: Vec<String> = errors
            .as_slice()
            .iter()
            .map(|e| format!("{}: {} ({})", e.field_path, e.message, e.rule))
            .collect();
        format!("cel: {}", all.join("; "))
    })
}

#[track_caller]
pub(crate) fn assert_schema_accepts<K: CustomResourceExt>(object: &Value) {
    if let Err(e) = validate(&openapi_schema(&K::crd()), object) {
        panic!("{} rejects the object: {e}\n{object:#}", K::crd_name());
    }
}

/// The OpenAPI part (not CEL) must reject `object`; `why` names the case in the message.
#[track_caller]
pub(crate) fn assert_schema_rejects<K: CustomResourceExt>(object: &Value, why: &str) {
    let schema = openapi_schema(&K::crd());
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    assert!(
        !validator.is_valid(object),
        "{} accepts {why:?}",
        K::crd_name()
    );
}

/// CEL must reject `object` with a message containing `message`, while the OpenAPI part
/// accepts it (so the test pins the rule, not some other bound).
#[track_caller]
pub(crate) fn assert_cel_rejects<K: CustomResourceExt>(object: &Value, message: &str) {
    let schema = openapi_schema(&K::crd());
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(object)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "OpenAPI schema already rejects it: {errors:?}"
    );
    match cel(&schema, object) {
        Ok(()) => panic!(
            "{}: CEL accepts the object, expected {message:?}",
            K::crd_name()
        ),
        Err(e) => assert!(e.contains(message), "expected {message:?}, got {e}"),
    }
}

/// kube-cel 0.8 escapes every `_` in a property name to `__`, where the apiserver escapes only
/// `__` (to `__underscores__`): `self.policy_id` is `self.policy_id` in a cluster but
/// `self.policy__id` in kube-cel. Until that is fixed upstream, the rules are rewritten for
/// kube-cel here; the CRD keeps the apiserver's spelling.
fn kube_cel_escaping(schema: &Value) -> Value {
    let mut schema = schema.clone();
    rewrite_rules(&mut schema);
    schema
}

fn rewrite_rules(node: &mut Value) {
    let Some(obj) = node.as_object_mut() else {
        return;
    };
    let mut names: Vec<String> = obj
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.keys()
                .filter(|k| k.contains('_') && !k.contains("__"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    if let Some(rules) = obj
        .get_mut("x-kubernetes-validations")
        .and_then(Value::as_array_mut)
    {
        for rule in rules {
            if let Some(text) = rule.get("rule").and_then(Value::as_str) {
                let rewritten = names.iter().fold(text.to_owned(), |t, n| {
                    replace_field(&t, n, &n.replace('_', "__"))
                });
                rule["rule"] = rewritten.into();
            }
        }
    }
    for key in ["properties"] {
        if let Some(props) = obj.get_mut(key).and_then(Value::as_object_mut) {
            props.values_mut().for_each(rewrite_rules);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = obj.get_mut(key) {
            rewrite_rules(sub);
        }
    }
}

/// `.name` replaced by `.escaped` where `name` is a whole identifier.
fn replace_field(text: &str, name: &str, escaped: &str) -> String {
    let needle = format!(".{name}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let end = at + needle.len();
        let whole = !rest[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        out.push('.');
        out.push_str(if whole { escaped } else { name });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn rewrites_only_whole_field_names() {
    assert_eq!(
        replace_field(
            "has(self.policy_id) && self.policy_ids[0] != self.policy_id",
            "policy_id",
            "policy__id"
        ),
        "has(self.policy__id) && self.policy_ids[0] != self.policy__id"
    );
}
