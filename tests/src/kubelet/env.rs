//! A container's environment, resolved the way the kubelet does (pure: objects come through a
//! lookup closure).
//!
//! Traps: `envFrom` comes first and `env` overrides it; `$(VAR)` in values, `command` and
//! `args` expands to a variable defined *earlier* (unknown references stay as written, `$$`
//! escapes); Secret values are base64 in `data`; a missing Secret/ConfigMap or key is a
//! `CreateContainerConfigError` unless `optional: true`.

use base64::Engine as _;
use serde_json::Value;

/// Looks up `("Secret" | "ConfigMap", name)` in the pod's namespace.
pub type Lookup<'a> = dyn Fn(&str, &str) -> Option<Value> + 'a;

fn data_value(kind: &str, obj: &Value, key: &str) -> Option<String> {
    if kind == "Secret" {
        let b64 = obj["data"][key].as_str()?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        obj["data"][key].as_str().map(str::to_owned)
    }
}

fn key_ref(
    reference: &Value,
    kind: &str,
    ns: &str,
    lookup: &Lookup<'_>,
) -> Result<Option<String>, String> {
    let name = reference["name"].as_str().unwrap_or("");
    let key = reference["key"].as_str().unwrap_or("");
    let optional = reference["optional"].as_bool().unwrap_or(false);
    let lower = if kind == "Secret" {
        "secret"
    } else {
        "configmap"
    };
    match lookup(kind, name) {
        None if optional => Ok(None),
        None => Err(format!("{lower} {name:?} not found")),
        Some(obj) => match data_value(kind, &obj, key) {
            Some(v) => Ok(Some(v)),
            None if optional => Ok(None),
            None => Err(format!("couldn't find key {key} in {kind} {ns}/{name}")),
        },
    }
}

fn field_ref(pod: &Value, path: &str) -> Option<String> {
    let label = |field: &str| -> Option<String> {
        let inner = path
            .strip_prefix(&format!("metadata.{field}['"))?
            .strip_suffix("']")?;
        pod["metadata"][field][inner].as_str().map(str::to_owned)
    };
    match path {
        "metadata.name" | "metadata.namespace" | "metadata.uid" => {
            pod["metadata"][&path[9..]].as_str().map(str::to_owned)
        }
        "spec.nodeName" | "spec.serviceAccountName" => {
            pod["spec"][&path[5..]].as_str().map(str::to_owned)
        }
        "status.hostIP" | "status.podIP" => Some("127.0.0.1".to_owned()),
        "status.podIPs" | "status.hostIPs" => Some("127.0.0.1".to_owned()),
        "metadata.labels" | "metadata.annotations" => {
            pod["metadata"][&path[9..]].as_object().map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        _ if path.starts_with("metadata.labels[") => label("labels"),
        _ if path.starts_with("metadata.annotations[") => label("annotations"),
        _ => None,
    }
}

/// The environment variables the container declares, in order, or the reason it cannot start.
pub fn declared(
    pod: &Value,
    container: &Value,
    lookup: &Lookup<'_>,
) -> Result<Vec<(String, String)>, String> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
    let mut env: Vec<(String, String)> = Vec::new();
    let set = |env: &mut Vec<(String, String)>, k: String, v: String| {
        env.retain(|(kk, _)| *kk != k);
        env.push((k, v));
    };
    for from in container["envFrom"].as_array().into_iter().flatten() {
        let prefix = from["prefix"].as_str().unwrap_or("");
        for (kind, field) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
            let Some(r) = from.get(field) else { continue };
            let name = r["name"].as_str().unwrap_or("");
            match lookup(kind, name) {
                Some(obj) => {
                    let keys: Vec<String> = obj["data"]
                        .as_object()
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default();
                    for k in keys {
                        if let Some(v) = data_value(kind, &obj, &k) {
                            set(&mut env, format!("{prefix}{k}"), v);
                        }
                    }
                }
                None if r["optional"].as_bool().unwrap_or(false) => {}
                None => {
                    return Err(format!(
                        "{} {name:?} not found",
                        if kind == "Secret" {
                            "secret"
                        } else {
                            "configmap"
                        }
                    ));
                }
            }
        }
    }
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or("").to_owned();
        if let Some(v) = e.get("value").and_then(Value::as_str) {
            let expanded = expand(v, &env);
            set(&mut env, name, expanded);
            continue;
        }
        let from = &e["valueFrom"];
        let value = if let Some(r) = from.get("secretKeyRef") {
            key_ref(r, "Secret", ns, lookup)?
        } else if let Some(r) = from.get("configMapKeyRef") {
            key_ref(r, "ConfigMap", ns, lookup)?
        } else if let Some(r) = from.get("fieldRef") {
            Some(field_ref(pod, r["fieldPath"].as_str().unwrap_or("")).unwrap_or_default())
        } else if let Some(r) = from.get("resourceFieldRef") {
            let res = r["resource"].as_str().unwrap_or("");
            let (section, what) = res.split_once('.').unwrap_or(("limits", res));
            Some(
                container["resources"][section][what]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| {
                        container["resources"][section][what]
                            .as_i64()
                            .map(|n| n.to_string())
                    })
                    .unwrap_or_else(|| "0".to_owned()),
            )
        } else {
            Some(String::new())
        };
        if let Some(v) = value {
            set(&mut env, name, v);
        }
    }
    Ok(env)
}

/// Expands `$(VAR)` with the variables defined so far; `$$` is a literal `$`.
pub fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match env.iter().rev().find(|(k, _)| k == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(kind: &str, name: &str) -> Option<Value> {
        match (kind, name) {
            ("Secret", "creds") => Some(json!({"data": {"token": "czNjcjN0"}})),
            ("ConfigMap", "cfg") => Some(json!({"data": {"LEVEL": "debug", "MODE": "fast"}})),
            _ => None,
        }
    }

    #[test]
    fn resolves_env_sources_in_order() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns", "labels": {"app": "a"}}, "spec": {"nodeName": "n"}});
        let c = json!({
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
            "env": [
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "URL", "value": "http://$(POD):$(PORT)/$$x"},
                {"name": "CFG_MODE", "value": "slow"},
                {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "missing", "key": "k", "optional": true}}}
            ]
        });
        let env = declared(&pod, &c, &lookup).expect("resolves");
        let get = |k: &str| env.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str());
        assert_eq!(get("CFG_LEVEL"), Some("debug"));
        assert_eq!(get("CFG_MODE"), Some("slow"));
        assert_eq!(get("TOKEN"), Some("s3cr3t"));
        assert_eq!(get("POD"), Some("p"));
        assert_eq!(get("APP"), Some("a"));
        assert_eq!(get("URL"), Some("http://p:$(PORT)/$x"));
        assert_eq!(get("OPT"), None);
    }

    #[test]
    fn missing_references_block_the_container() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"}});
        let c = json!({"env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}]});
        assert_eq!(
            declared(&pod, &c, &lookup),
            Err("secret \"nope\" not found".to_owned())
        );
        let c = json!({"env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}}]});
        assert_eq!(
            declared(&pod, &c, &lookup),
            Err("couldn't find key k in Secret ns/creds".to_owned())
        );
    }
}
