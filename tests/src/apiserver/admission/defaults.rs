//! Defaulting of built-ins, the part clients observe: a Job gets its selector and the
//! `controller-uid`/`job-name` labels on its pod template, counts and limits; a CronJob its
//! policies; a Pod its restart policy, service account and pull policies; a Secret turns
//! `stringData` into base64 `data`; a Namespace gets its `kubernetes.io/metadata.name` label.
//! All functions are idempotent (they also run on updates).

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::apiserver::meta;

fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_owned(), value);
    }
}

fn obj_at<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    let Value::Object(m) = v else {
        unreachable!("made an object above")
    };
    let slot = m.entry(key).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    let Value::Object(inner) = slot else {
        unreachable!("made an object above")
    };
    inner
}

pub fn apply(group: &str, resource: &str, obj: &mut Value) {
    match (group, resource) {
        ("", "pods") => pod_spec(obj_at(obj, "spec")),
        ("batch", "jobs") => job(obj),
        ("batch", "cronjobs") => {
            let spec = obj_at(obj, "spec");
            default(spec, "concurrencyPolicy", json!("Allow"));
            default(spec, "suspend", json!(false));
            default(spec, "successfulJobsHistoryLimit", json!(3));
            default(spec, "failedJobsHistoryLimit", json!(1));
            if let Some(tpl) = spec
                .get_mut("jobTemplate")
                .and_then(|t| t.get_mut("spec"))
                .and_then(Value::as_object_mut)
            {
                job_spec(tpl);
            }
        }
        ("", "secrets") => secret(obj),
        ("", "namespaces") => {
            let name = meta::name(obj).to_owned();
            if let Value::Object(labels) = meta::metadata_mut(obj)
                .entry("labels")
                .or_insert_with(|| json!({}))
            {
                labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            let spec = obj_at(obj, "spec");
            default(spec, "finalizers", json!(["kubernetes"]));
        }
        ("", "serviceaccounts") | ("", "configmaps") => {}
        _ => {}
    }
}

fn pod_spec(spec: &mut Map<String, Value>) {
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "schedulerName", json!("default-scheduler"));
    default(spec, "serviceAccountName", json!("default"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "securityContext", json!({}));
    for key in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(key) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                let image = c.get("image").and_then(Value::as_str).unwrap_or("");
                let latest = image.ends_with(":latest")
                    || !image.rsplit('/').next().unwrap_or("").contains([':', '@']);
                default(
                    c,
                    "imagePullPolicy",
                    json!(if latest { "Always" } else { "IfNotPresent" }),
                );
                default(c, "terminationMessagePath", json!("/dev/termination-log"));
                default(c, "terminationMessagePolicy", json!("File"));
                default(c, "resources", json!({}));
            }
        }
    }
}

fn job_spec(spec: &mut Map<String, Value>) {
    default(spec, "parallelism", json!(1));
    let indexed = spec.get("completionMode").and_then(Value::as_str) == Some("Indexed");
    if !indexed {
        default(spec, "completions", json!(1));
    }
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "backoffLimit", json!(6));
    default(spec, "suspend", json!(false));
    default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    if let Some(tpl_spec) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec(tpl_spec);
    }
}

fn job(obj: &mut Value) {
    let uid = meta::uid(obj).to_owned();
    let name = meta::name(obj).to_owned();
    let spec = obj_at(obj, "spec");
    job_spec(spec);
    if uid.is_empty() {
        return;
    }
    let labels = json!({
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    });
    default(
        spec,
        "selector",
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    let tpl = spec.entry("template").or_insert_with(|| json!({}));
    let tpl_meta = obj_at(tpl, "metadata");
    let tpl_labels = tpl_meta.entry("labels").or_insert_with(|| json!({}));
    if let (Value::Object(l), Value::Object(add)) = (tpl_labels, labels) {
        for (k, v) in add {
            l.entry(k).or_insert(v);
        }
    }
}

fn secret(obj: &mut Value) {
    let Value::Object(m) = obj else { return };
    default(m, "type", json!("Opaque"));
    if let Some(Value::Object(string_data)) = m.remove("stringData") {
        let data = m.entry("data").or_insert_with(|| json!({}));
        if let Value::Object(data) = data {
            for (k, v) in string_data {
                let s = v.as_str().unwrap_or("");
                data.insert(
                    k,
                    json!(base64::engine::general_purpose::STANDARD.encode(s)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_gets_selector_and_template_labels() {
        let mut j = json!({"metadata": {"name": "j", "uid": "u"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i:1"}]}}}});
        apply("batch", "jobs", &mut j);
        assert_eq!(
            j["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            "u"
        );
        assert_eq!(j["spec"]["template"]["metadata"]["labels"]["job-name"], "j");
        assert_eq!(j["spec"]["backoffLimit"], 6);
        assert_eq!(j["spec"]["completions"], 1);
        assert_eq!(
            j["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        let again = {
            let mut k = j.clone();
            apply("batch", "jobs", &mut k);
            k
        };
        assert_eq!(again, j, "idempotent");
    }

    #[test]
    fn secret_string_data_becomes_data() {
        let mut s = json!({"metadata": {"name": "s"}, "stringData": {"token": "abc"}});
        apply("", "secrets", &mut s);
        assert_eq!(
            s,
            json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"token": "YWJj"}})
        );
    }

    #[test]
    fn namespace_name_label() {
        let mut n = json!({"metadata": {"name": "team"}});
        apply("", "namespaces", &mut n);
        assert_eq!(
            n["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team"
        );
    }
}
