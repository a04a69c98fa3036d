//! CRD `x-kubernetes-validations` (CEL) rules, evaluated with `kube-cel` (the `cel` crate plus
//! the Kubernetes CEL libraries), with `oldSelf` bound on updates for transition rules.
//!
//! Traps: rules see the object after pruning and defaulting; a rule that cannot be evaluated
//! (a function `kube-cel` lacks) rejects the object (fail closed) and says so in the message,
//! rather than passing silently. Cost budgets are not enforced.

use serde_json::Value;

use crate::apiserver::error::Cause;

pub struct CelRules {
    compiled: kube_cel::CompiledSchema,
    root: kube_cel::RootContext,
}

impl std::fmt::Debug for CelRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelRules").finish_non_exhaustive()
    }
}

impl CelRules {
    /// `None` when the schema has no rule at all; `Err` lists rules that do not compile.
    pub fn compile(
        schema: &Value,
        api_version: &str,
        group: &str,
        kind: &str,
    ) -> Result<Option<Self>, Vec<String>> {
        if !has_rules(schema, 0) {
            return Ok(None);
        }
        let compiled = kube_cel::compile_schema(schema);
        let mut errors = Vec::new();
        collect_compile_errors(&compiled, &mut errors, 0);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Some(Self {
            compiled,
            root: kube_cel::RootContext {
                api_version: api_version.to_owned(),
                api_group: group.to_owned(),
                kind: kind.to_owned(),
            },
        }))
    }

    pub fn violations(&self, object: &Value, old: Option<&Value>) -> Vec<Cause> {
        let validator = kube_cel::Validator::new();
        match validator.validate_compiled_with_context(
            &self.compiled,
            object,
            old,
            Some(&self.root),
        ) {
            Ok(()) => Vec::new(),
            Err(errors) => errors
                .into_vec()
                .into_iter()
                .map(|e| {
                    let reason = e
                        .reason
                        .clone()
                        .unwrap_or_else(|| "FieldValueInvalid".to_owned());
                    let message = if e.kind == kube_cel::ErrorKind::ValidationFailure {
                        format!("Invalid value: \"object\": {}", e.message)
                    } else {
                        format!("rule {:?} could not be evaluated: {}", e.rule, e.message)
                    };
                    Cause::new(
                        &reason,
                        e.field_path.trim_start_matches('.').to_owned(),
                        message,
                    )
                })
                .collect(),
        }
    }
}

fn has_rules(schema: &Value, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match schema {
        Value::Object(m) => {
            m.get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
                || m.values().any(|v| has_rules(v, depth + 1))
        }
        Value::Array(a) => a.iter().any(|v| has_rules(v, depth + 1)),
        _ => false,
    }
}

fn collect_compile_errors(s: &kube_cel::CompiledSchema, out: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    out.extend(s.compilation_errors().iter().map(|e| e.to_string()));
    for child in s.properties.values() {
        collect_compile_errors(child, out, depth + 1);
    }
    for child in s.items.iter().chain(s.additional_properties.iter()) {
        collect_compile_errors(child, out, depth + 1);
    }
    for child in s.all_of.iter().chain(&s.one_of).chain(&s.any_of) {
        collect_compile_errors(child, out, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-validations": [
                        {"rule": "self.min <= self.max", "message": "min must not exceed max"},
                        {"rule": "self.image == oldSelf.image", "message": "image is immutable"}
                    ],
                    "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}, "image": {"type": "string"}}
                }
            }
        })
    }

    #[test]
    fn rules_and_transition_rules() {
        let rules = CelRules::compile(&schema(), "x/v1", "x", "K")
            .expect("compiles")
            .expect("has rules");
        let ok = json!({"spec": {"min": 1, "max": 2, "image": "a"}});
        assert!(rules.violations(&ok, None).is_empty());
        let bad = json!({"spec": {"min": 3, "max": 2, "image": "a"}});
        let causes = rules.violations(&bad, None);
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].field, "spec");
        assert!(causes[0].message.contains("min must not exceed max"));
        let moved = json!({"spec": {"min": 1, "max": 2, "image": "b"}});
        let causes = rules.violations(&moved, Some(&ok));
        assert!(
            causes
                .iter()
                .any(|c| c.message.contains("image is immutable")),
            "{causes:?}"
        );
    }

    #[test]
    fn no_rules_no_compiler() {
        assert!(
            CelRules::compile(&json!({"type": "object"}), "x/v1", "x", "K")
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn broken_rules_are_reported() {
        let s = json!({"type": "object", "x-kubernetes-validations": [{"rule": "self.(("}]});
        assert!(CelRules::compile(&s, "x/v1", "x", "K").is_err());
    }
}
