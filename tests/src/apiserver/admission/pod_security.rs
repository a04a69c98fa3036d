//! Pod Security Standards ("baseline" and "restricted", as of Kubernetes 1.33) checked on a
//! pod spec, with the real admission plugin's wording so failures read the same.
//!
//! Traps: `runAsNonRoot` and `seccompProfile` may be set on the pod *or* on every container;
//! `capabilities.drop` must contain `ALL` (any case) and `add` only `NET_BIND_SERVICE`;
//! init and ephemeral containers are checked too. The simulator adds one rule of its own at the
//! restricted level, on by default and switched off with `--allow-writable-root`:
//! `readOnlyRootFilesystem: true` on every container (Plimsoll's Jobs promise it; Pod Security
//! does not require it).

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "privileged" => Some(Self::Privileged),
            "baseline" => Some(Self::Baseline),
            "restricted" => Some(Self::Restricted),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Privileged => "privileged",
            Self::Baseline => "baseline",
            Self::Restricted => "restricted",
        }
    }
}

const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The violations of `spec` at `level`, in the order the real plugin lists them.
pub fn violations(spec: &Value, level: Level, require_read_only_root: bool) -> Vec<String> {
    let mut out = Vec::new();
    if level == Level::Privileged {
        return out;
    }
    let containers: Vec<&Value> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten()
        .collect();
    let cname = |c: &Value| c["name"].as_str().unwrap_or("").to_owned();
    let csc = |c: &Value, f: &str| c.get("securityContext").and_then(|s| s.get(f)).cloned();
    let psc = |f: &str| spec.get("securityContext").and_then(|s| s.get(f)).cloned();
    let quoted = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let plural = |names: &[String]| {
        if names.len() == 1 {
            "container"
        } else {
            "containers"
        }
    };

    // --- baseline ---
    let host: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .iter()
        .filter(|k| spec.get(**k).and_then(Value::as_bool) == Some(true))
        .map(|k| format!("{k}=true"))
        .collect();
    if !host.is_empty() {
        out.push(format!("host namespaces ({})", host.join(", ")));
    }
    let privileged: Vec<String> = containers
        .iter()
        .filter(|c| csc(c, "privileged").and_then(|v| v.as_bool()) == Some(true))
        .map(|c| cname(c))
        .collect();
    if !privileged.is_empty() {
        out.push(format!(
            "privileged ({} {} must not set securityContext.privileged=true)",
            plural(&privileged),
            quoted(&privileged)
        ));
    }
    let caps_add = |c: &Value| -> Vec<String> {
        c.get("securityContext")
            .and_then(|s| s.get("capabilities"))
            .and_then(|s| s.get("add"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let bad_baseline_caps: Vec<String> = containers
        .iter()
        .flat_map(|c| {
            caps_add(c)
                .into_iter()
                .filter(|cap| !BASELINE_CAPS.contains(&cap.as_str()))
                .map(move |cap| (cname(c), cap))
        })
        .map(|(n, cap)| {
            format!("container {n:?} must not include {cap:?} in securityContext.capabilities.add")
        })
        .collect();
    if !bad_baseline_caps.is_empty() {
        out.push(format!(
            "non-default capabilities ({})",
            bad_baseline_caps.join("; ")
        ));
    }
    let volumes: Vec<&Value> = spec
        .get("volumes")
        .and_then(Value::as_array)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let host_path: Vec<String> = volumes
        .iter()
        .filter(|v| v.get("hostPath").is_some())
        .map(|v| v["name"].as_str().unwrap_or("").to_owned())
        .collect();
    if !host_path.is_empty() {
        out.push(format!(
            "hostPath volumes ({} {})",
            if host_path.len() == 1 {
                "volume"
            } else {
                "volumes"
            },
            quoted(&host_path)
        ));
    }
    let host_ports: Vec<String> = containers
        .iter()
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(move |p| {
                    p.get("hostPort")
                        .and_then(Value::as_i64)
                        .filter(|h| *h != 0)
                        .map(|h| format!("container {:?} uses hostPort {h}", cname(c)))
                })
        })
        .collect();
    if !host_ports.is_empty() {
        out.push(format!("hostPort ({})", host_ports.join(", ")));
    }
    let seccomp_type =
        |v: Option<Value>| v.and_then(|s| s.get("type").and_then(Value::as_str).map(str::to_owned));
    let unconfined_pod = seccomp_type(psc("seccompProfile")).as_deref() == Some("Unconfined");
    let unconfined: Vec<String> = containers
        .iter()
        .filter(|c| seccomp_type(csc(c, "seccompProfile")).as_deref() == Some("Unconfined"))
        .map(|c| cname(c))
        .collect();
    if unconfined_pod || !unconfined.is_empty() {
        let who = if unconfined_pod {
            "pod".to_owned()
        } else {
            format!("{} {}", plural(&unconfined), quoted(&unconfined))
        };
        out.push(format!("seccompProfile ({who} must not set securityContext.seccompProfile.type to \"Unconfined\")"));
    }
    if level == Level::Baseline {
        return out;
    }

    // --- restricted ---
    let restricted_volumes: Vec<String> = volumes
        .iter()
        .filter_map(|v| {
            let name = v["name"].as_str().unwrap_or("");
            let kind = v.as_object()?.keys().find(|k| *k != "name")?;
            (!RESTRICTED_VOLUMES.contains(&kind.as_str()))
                .then(|| format!("volume {name:?} uses restricted volume type {kind:?}"))
        })
        .collect();
    if !restricted_volumes.is_empty() {
        out.push(format!(
            "restricted volume types ({})",
            restricted_volumes.join(", ")
        ));
    }
    let escalation: Vec<String> = containers
        .iter()
        .filter(|c| csc(c, "allowPrivilegeEscalation").and_then(|v| v.as_bool()) != Some(false))
        .map(|c| cname(c))
        .collect();
    if !escalation.is_empty() {
        out.push(format!(
            "allowPrivilegeEscalation != false ({} {} must set securityContext.allowPrivilegeEscalation=false)",
            plural(&escalation),
            quoted(&escalation)
        ));
    }
    let mut caps = Vec::new();
    let no_drop_all: Vec<String> = containers
        .iter()
        .filter(|c| {
            !c.get("securityContext")
                .and_then(|s| s.get("capabilities"))
                .and_then(|s| s.get("drop"))
                .and_then(Value::as_array)
                .is_some_and(|d| {
                    d.iter()
                        .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case("ALL")))
                })
        })
        .map(|c| cname(c))
        .collect();
    if !no_drop_all.is_empty() {
        caps.push(format!(
            "{} {} must set securityContext.capabilities.drop=[\"ALL\"]",
            plural(&no_drop_all),
            quoted(&no_drop_all)
        ));
    }
    for c in &containers {
        for cap in caps_add(c)
            .into_iter()
            .filter(|cap| cap != "NET_BIND_SERVICE")
        {
            caps.push(format!(
                "container {:?} must not include {cap:?} in securityContext.capabilities.add",
                cname(c)
            ));
        }
    }
    if !caps.is_empty() {
        out.push(format!("unrestricted capabilities ({})", caps.join("; ")));
    }
    let pod_non_root = psc("runAsNonRoot").and_then(|v| v.as_bool());
    let non_root_missing: Vec<String> = containers
        .iter()
        .filter(|c| match csc(c, "runAsNonRoot").and_then(|v| v.as_bool()) {
            Some(b) => !b,
            None => pod_non_root != Some(true),
        })
        .map(|c| cname(c))
        .collect();
    if !non_root_missing.is_empty() {
        out.push(format!(
            "runAsNonRoot != true (pod or {} {} must set securityContext.runAsNonRoot=true)",
            plural(&non_root_missing),
            quoted(&non_root_missing)
        ));
    }
    let root_user: Vec<String> = containers
        .iter()
        .filter(|c| csc(c, "runAsUser").and_then(|v| v.as_i64()) == Some(0))
        .map(|c| cname(c))
        .collect();
    if psc("runAsUser").and_then(|v| v.as_i64()) == Some(0) {
        out.push("runAsUser=0 (pod must not set runAsUser=0)".to_owned());
    } else if !root_user.is_empty() {
        out.push(format!(
            "runAsUser=0 ({} {} must not set runAsUser=0)",
            plural(&root_user),
            quoted(&root_user)
        ));
    }
    let pod_seccomp_ok = matches!(
        seccomp_type(psc("seccompProfile")).as_deref(),
        Some("RuntimeDefault" | "Localhost")
    );
    let seccomp_missing: Vec<String> = containers
        .iter()
        .filter(
            |c| match seccomp_type(csc(c, "seccompProfile")).as_deref() {
                Some("RuntimeDefault" | "Localhost") => false,
                Some(_) => true,
                None => !pod_seccomp_ok,
            },
        )
        .map(|c| cname(c))
        .collect();
    if !seccomp_missing.is_empty() {
        out.push(format!(
            "seccompProfile (pod or {} {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
            plural(&seccomp_missing),
            quoted(&seccomp_missing)
        ));
    }
    if require_read_only_root {
        let writable: Vec<String> = containers
            .iter()
            .filter(|c| csc(c, "readOnlyRootFilesystem").and_then(|v| v.as_bool()) != Some(true))
            .map(|c| cname(c))
            .collect();
        if !writable.is_empty() {
            out.push(format!(
                "readOnlyRootFilesystem != true ({} {} must set securityContext.readOnlyRootFilesystem=true; simulator policy)",
                plural(&writable),
                quoted(&writable)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn restricted_spec() -> Value {
        json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": "i", "securityContext": {
                "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "s", "secret": {"secretName": "x"}}]
        })
    }

    #[test]
    fn a_restricted_spec_passes() {
        assert_eq!(
            violations(&restricted_spec(), Level::Restricted, true),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_empty_security_context_lists_every_restricted_violation() {
        let spec = json!({"containers": [{"name": "c", "image": "i"}]});
        assert_eq!(
            violations(&spec, Level::Restricted, false),
            [
                "allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false)",
                "unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"])",
                "runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true)",
                "seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
            ]
        );
        assert!(violations(&spec, Level::Baseline, false).is_empty());
        assert!(violations(&spec, Level::Privileged, true).is_empty());
    }

    #[test]
    fn baseline_violations() {
        let mut spec = restricted_spec();
        spec["hostNetwork"] = json!(true);
        spec["containers"][0]["securityContext"]["privileged"] = json!(true);
        spec["volumes"] = json!([{"name": "h", "hostPath": {"path": "/"}}]);
        let v = violations(&spec, Level::Baseline, false);
        assert_eq!(
            v,
            [
                "host namespaces (hostNetwork=true)",
                "privileged (container \"c\" must not set securityContext.privileged=true)",
                "hostPath volumes (volume \"h\")",
            ]
        );
        let v = violations(&spec, Level::Restricted, false);
        assert!(
            v.contains(
                &"restricted volume types (volume \"h\" uses restricted volume type \"hostPath\")"
                    .to_owned()
            ),
            "{v:?}"
        );
    }

    #[test]
    fn read_only_root_is_a_simulator_option() {
        let mut spec = restricted_spec();
        spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = json!(false);
        assert!(violations(&spec, Level::Restricted, false).is_empty());
        assert_eq!(violations(&spec, Level::Restricted, true).len(), 1);
    }
}
