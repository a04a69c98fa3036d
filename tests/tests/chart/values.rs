//! values.yaml, coalesced as Helm does, and values.schema.json.

use std::path::Path;

use serde_json::Value;

use super::render::{chart_dir, read};

pub(crate) fn yaml_file(path: &Path) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Helm's coalescing: maps merge, anything else replaces, null deletes.
pub(crate) fn coalesce(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(existing) =
                    b.get_mut(k).filter(|e| e.is_object() && v.is_object())
                {
                    coalesce(existing, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

pub(crate) fn schema_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(&chart_dir().join("values.schema.json")))
        .expect("values.schema.json is JSON");
    assert!(
        jsonschema::draft7::meta::is_valid(&schema),
        "values.schema.json is not a valid draft-07 schema"
    );
    jsonschema::draft7::new(&schema).expect("values.schema.json compiles")
}

pub(crate) fn default_values() -> Value {
    yaml_file(&chart_dir().join("values.yaml"))
}

/// Schema errors of the defaults overlaid with `overlay`, as "path: message".
pub(crate) fn schema_errors(validator: &jsonschema::Validator, overlay: &Value) -> Vec<String> {
    let mut values = default_values();
    coalesce(&mut values, overlay);
    validator
        .iter_errors(&values)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}
