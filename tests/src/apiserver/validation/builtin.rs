//! The built-in resources' own rules, limited to what a controller creating Jobs, CronJobs,
//! Pods and CRDs can get wrong: container names and images, restart policies, Job template
//! immutability, CronJob schedules, CRD structure, ConfigMap and Secret data shapes.

use serde_json::Value;

use crate::apiserver::error::Cause;
use crate::apiserver::meta;
use crate::apiserver::resources::{Origin, ResourceType};

pub fn validate(rt: &ResourceType, obj: &Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    if !matches!(rt.origin, Origin::Builtin) {
        return;
    }
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => pod_spec(
            obj.get("spec"),
            "spec",
            &["Always", "OnFailure", "Never"],
            causes,
        ),
        ("batch", "jobs") => {
            job_spec(obj.get("spec"), "spec", causes);
            if let Some(old) = old {
                for f in ["template", "selector", "completions", "completionMode"] {
                    let (a, b) = (&old["spec"][f], &obj["spec"][f]);
                    // Kubernetes lets a suspended Job that never started change its template;
                    // here only labels and annotations added by the server are tolerated.
                    if a != b && !(f == "template" && templates_equal_but_metadata(a, b)) {
                        causes.push(Cause::invalid(
                            format!("spec.{f}"),
                            "Invalid value: field is immutable",
                        ));
                    }
                }
            }
        }
        ("batch", "cronjobs") => {
            match obj["spec"]["schedule"].as_str() {
                None | Some("") => causes.push(Cause::required("spec.schedule")),
                Some(s) => {
                    if let Err(e) = crate::cronjobs::schedule::parse(s) {
                        causes.push(Cause::invalid(
                            "spec.schedule",
                            format!("Invalid value: {s:?}: {e}"),
                        ));
                    }
                }
            }
            if let Some(p) = obj["spec"]["concurrencyPolicy"].as_str()
                && !matches!(p, "Allow" | "Forbid" | "Replace")
            {
                causes.push(Cause::new(
                        "FieldValueNotSupported",
                        "spec.concurrencyPolicy",
                        format!("Unsupported value: {p:?}: supported values: \"Allow\", \"Forbid\", \"Replace\""),
                    ));
            }
            job_spec(
                obj["spec"]["jobTemplate"].get("spec"),
                "spec.jobTemplate.spec",
                causes,
            );
        }
        ("", "configmaps") => {
            for field in ["data"] {
                if let Some(data) = obj.get(field).and_then(Value::as_object) {
                    for (k, v) in data {
                        if !v.is_string() {
                            causes.push(Cause::invalid(
                                format!("{field}.{k}"),
                                "Invalid value: must be a string",
                            ));
                        }
                    }
                }
            }
        }
        ("", "secrets") => {
            if let Some(data) = obj.get("data").and_then(Value::as_object) {
                use base64::Engine as _;
                for (k, v) in data {
                    let ok = v.as_str().is_some_and(|s| {
                        base64::engine::general_purpose::STANDARD.decode(s).is_ok()
                    });
                    if !ok {
                        causes.push(Cause::invalid(
                            format!("data.{k}"),
                            "Invalid value: must be base64",
                        ));
                    }
                }
            }
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            if let Err(c) = crate::apiserver::crd::served_types(obj) {
                causes.extend(c);
            }
            if let Some(old) = old {
                causes.extend(crate::apiserver::crd::immutable_changes(old, obj));
            }
        }
        _ => {}
    }
}

fn templates_equal_but_metadata(a: &Value, b: &Value) -> bool {
    a.get("spec") == b.get("spec")
}

fn job_spec(spec: Option<&Value>, at: &str, causes: &mut Vec<Cause>) {
    let Some(spec) = spec.filter(|s| s.is_object()) else {
        causes.push(Cause::required(at));
        return;
    };
    for f in [
        "backoffLimit",
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ] {
        if let Some(v) = spec.get(f).filter(|v| !v.is_null()) {
            let min = if f == "activeDeadlineSeconds" { 1 } else { 0 };
            if v.as_i64().is_none_or(|n| n < min) {
                causes.push(Cause::invalid(
                    format!("{at}.{f}"),
                    format!("Invalid value: {v}: must be greater than or equal to {min}"),
                ));
            }
        }
    }
    pod_spec(
        spec["template"].get("spec"),
        &format!("{at}.template.spec"),
        &["OnFailure", "Never"],
        causes,
    );
}

fn pod_spec(spec: Option<&Value>, at: &str, restart_policies: &[&str], causes: &mut Vec<Cause>) {
    let Some(spec) = spec.filter(|s| s.is_object()) else {
        causes.push(Cause::required(at));
        return;
    };
    match spec.get("containers").and_then(Value::as_array) {
        Some(c) if !c.is_empty() => containers(c, &format!("{at}.containers"), causes),
        _ => causes.push(Cause::required(format!("{at}.containers"))),
    }
    if let Some(init) = spec.get("initContainers").and_then(Value::as_array) {
        containers(init, &format!("{at}.initContainers"), causes);
    }
    let policy = spec
        .get("restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("Always");
    if !restart_policies.contains(&policy) {
        let supported = restart_policies
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        causes.push(Cause::new(
            "FieldValueNotSupported",
            format!("{at}.restartPolicy"),
            format!("Unsupported value: {policy:?}: supported values: {supported}"),
        ));
    }
}

fn containers(list: &[Value], at: &str, causes: &mut Vec<Cause>) {
    let mut names: Vec<&str> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            causes.push(Cause::required(format!("{at}[{i}].name")));
        } else if !meta::is_dns_label(name) {
            causes.push(Cause::invalid(
                format!("{at}[{i}].name"),
                format!("Invalid value: {name:?}: must be a DNS label"),
            ));
        } else if names.contains(&name) {
            causes.push(Cause::new(
                "FieldValueDuplicate",
                format!("{at}[{i}].name"),
                format!("Duplicate value: {name:?}"),
            ));
        }
        names.push(name);
        if c.get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            causes.push(Cause::required(format!("{at}[{i}].image")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::resources::Registry;
    use serde_json::json;

    fn fields(group: &str, plural: &str, obj: &Value, old: Option<&Value>) -> Vec<String> {
        let r = Registry::with_builtins();
        let rt = r.any_version(group, plural).expect("served");
        let mut causes = Vec::new();
        validate(&rt, obj, old, &mut causes);
        causes.into_iter().map(|c| c.field).collect()
    }

    #[test]
    fn job_rules() {
        let job = json!({"spec": {"backoffLimit": -1, "template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "c"}]}}}});
        assert_eq!(
            fields("batch", "jobs", &job, None),
            [
                "spec.backoffLimit",
                "spec.template.spec.containers[0].image",
                "spec.template.spec.restartPolicy"
            ]
        );
        let ok = json!({"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}});
        assert!(fields("batch", "jobs", &ok, None).is_empty());
        let mut changed = ok.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("j");
        assert_eq!(
            fields("batch", "jobs", &changed, Some(&ok)),
            ["spec.template"]
        );
    }

    #[test]
    fn cronjob_schedule_is_checked() {
        let cj = json!({"spec": {"schedule": "* * * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}}});
        assert_eq!(fields("batch", "cronjobs", &cj, None), ["spec.schedule"]);
    }

    #[test]
    fn pod_rules() {
        let pod = json!({"spec": {"containers": [{"name": "a", "image": "i"}, {"name": "a", "image": "i"}]}});
        assert_eq!(fields("", "pods", &pod, None), ["spec.containers[1].name"]);
        assert_eq!(fields("", "pods", &json!({}), None), ["spec"]);
    }
}
