//! Checks every rendering of the chart must pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Probe, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use plimsoll_e2e::apiserver::admission::pod_security::{self, Level};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::render::{Objects, env, env_value, operator_container, pod_spec, read, repo};

/// The Prometheus Operator's ServiceMonitor, as far as the chart uses it (k8s-openapi has no type
/// for it). Unknown fields are refused.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ServiceMonitor {
    pub(crate) api_version: String,
    pub(crate) kind: String,
    pub(crate) metadata: ObjectMeta,
    pub(crate) spec: ServiceMonitorSpec,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ServiceMonitorSpec {
    pub(crate) selector: LabelSelector,
    pub(crate) namespace_selector: NamespaceSelector,
    pub(crate) endpoints: Vec<Endpoint>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NamespaceSelector {
    pub(crate) match_names: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Endpoint {
    pub(crate) port: String,
    pub(crate) path: String,
    pub(crate) interval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scrape_timeout: Option<String>,
}

/// `object` read as `T` and written back must be `object` again: a field the type does not know
/// (a typo, a wrong nesting) would be dropped, a wrong type refused.
pub(crate) fn round_trips<T: Serialize + DeserializeOwned>(object: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    let mut differences = Vec::new();
    differences_between(object, &back, "", &mut differences);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fields lost or changed by the type: {}",
            differences.join("; ")
        ))
    }
}

/// The paths where `rendered` and `typed` differ, with both values.
pub(crate) fn differences_between(
    rendered: &Value,
    typed: &Value,
    path: &str,
    out: &mut Vec<String>,
) {
    match (rendered, typed) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let (x, y) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                differences_between(x, y, &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences_between(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: rendered {a}, typed {b}")),
        _ => {}
    }
}

pub(crate) fn check_types(objects: &Objects) {
    for o in &objects.0 {
        let api_kind = (
            o["apiVersion"].as_str().unwrap_or(""),
            o["kind"].as_str().unwrap_or(""),
        );
        let result = match api_kind {
            ("apps/v1", "Deployment") => round_trips::<Deployment>(o),
            ("v1", "Service") => round_trips::<Service>(o),
            ("v1", "ServiceAccount") => round_trips::<ServiceAccount>(o),
            ("v1", "PersistentVolumeClaim") => round_trips::<PersistentVolumeClaim>(o),
            ("rbac.authorization.k8s.io/v1", "ClusterRole") => round_trips::<ClusterRole>(o),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
                round_trips::<ClusterRoleBinding>(o)
            }
            ("rbac.authorization.k8s.io/v1", "Role") => round_trips::<Role>(o),
            ("rbac.authorization.k8s.io/v1", "RoleBinding") => round_trips::<RoleBinding>(o),
            ("networking.k8s.io/v1", "Ingress") => round_trips::<Ingress>(o),
            ("networking.k8s.io/v1", "NetworkPolicy") => round_trips::<NetworkPolicy>(o),
            ("policy/v1", "PodDisruptionBudget") => round_trips::<PodDisruptionBudget>(o),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
                round_trips::<CustomResourceDefinition>(o)
            }
            ("monitoring.coreos.com/v1", "ServiceMonitor") => round_trips::<ServiceMonitor>(o),
            (api, kind) => Err(format!(
                "unexpected object {api} {kind}: add its type to check_types"
            )),
        };
        if let Err(why) = result {
            panic!(
                "{} {:?} does not read as its Kubernetes type: {why}",
                api_kind.1, o["metadata"]["name"]
            );
        }
        if api_kind.1 != "CustomResourceDefinition"
            && !api_kind.1.starts_with("Cluster")
            && o["metadata"].get("namespace").is_none()
        {
            panic!(
                "{} {:?} has no namespace: the plain manifests need it",
                api_kind.1, o["metadata"]["name"]
            );
        }
    }
}

/// Restricted Pod Security (with the simulator's read-only root rule), no fixed UID, a memory
/// emptyDir-backed `/tmp`, probes and resources.
pub(crate) fn check_pods(objects: &Objects) {
    for kind in objects.kinds() {
        assert!(
            !matches!(
                kind.as_str(),
                "Pod" | "Job" | "CronJob" | "StatefulSet" | "DaemonSet" | "ReplicaSet"
            ),
            "the chart renders a {kind}: only the Deployment has pods (the operator creates Jobs and CronJobs)"
        );
    }
    let deployment = objects.deployment();
    let spec_value = &objects.of_kind("Deployment")[0]["spec"]["template"]["spec"];
    let violations = pod_security::violations(spec_value, Level::Restricted, true);
    assert!(
        violations.is_empty(),
        "the operator pod violates Pod Security restricted: {violations:?}"
    );
    let spec = pod_spec(&deployment);
    let container = operator_container(&deployment);
    let psc = spec.security_context.clone().unwrap_or_default();
    let csc = container.security_context.clone().unwrap_or_default();
    assert_eq!(
        (psc.run_as_user, csc.run_as_user),
        (None, None),
        "no fixed UID: OpenShift's restricted SCC assigns one"
    );
    assert_eq!(csc.read_only_root_filesystem, Some(true));

    let mounts: BTreeMap<&str, &str> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.mount_path.as_str(), m.name.as_str()))
        .collect();
    let volume = |name: &str| {
        spec.volumes
            .iter()
            .flatten()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("volume {name} is mounted but not declared"))
    };
    let tmp = mounts.get("/tmp").expect("/tmp is mounted");
    assert!(
        volume(tmp).empty_dir.is_some(),
        "/tmp is an emptyDir (the root filesystem is read-only)"
    );
    for (path, name) in &mounts {
        let v = volume(name);
        assert!(
            v.empty_dir.is_some() || v.persistent_volume_claim.is_some(),
            "{path} is neither an emptyDir nor the store's PVC"
        );
    }

    let probe_path = |p: &Option<Probe>| {
        let get = p
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .expect("an HTTP probe");
        assert_eq!(get.port, IntOrString::String("http".into()));
        get.path.clone().unwrap_or_default()
    };
    assert_eq!(probe_path(&container.liveness_probe), "/healthz");
    assert_eq!(probe_path(&container.startup_probe), "/healthz");
    assert_eq!(probe_path(&container.readiness_probe), "/readyz");
    let port = container
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some("http"))
        .expect("a port named http");
    assert_eq!(port.container_port, 8080);

    let resources = container.resources.as_ref().expect("resources");
    for (what, list) in [
        ("requests", &resources.requests),
        ("limits", &resources.limits),
    ] {
        let list = list
            .as_ref()
            .unwrap_or_else(|| panic!("no resource {what}"));
        assert!(
            list.contains_key("cpu") && list.contains_key("memory"),
            "resource {what} name cpu and memory: {list:?}"
        );
    }
}

pub(crate) fn rules(objects: &Objects, kind: &str) -> Vec<(String, PolicyRule)> {
    objects
        .of_kind(kind)
        .into_iter()
        .flat_map(|o| {
            let name = format!(
                "{kind} {}/{}",
                o["metadata"]["namespace"].as_str().unwrap_or("-"),
                o["metadata"]["name"].as_str().unwrap_or("")
            );
            let rules: Vec<PolicyRule> =
                serde_json::from_value(o["rules"].clone()).expect("rules are PolicyRules");
            rules.into_iter().map(move |r| (name.clone(), r))
        })
        .collect()
}

/// No wildcard anywhere; Secrets are never read without `resourceNames`.
pub(crate) fn check_rbac(objects: &Objects) {
    let mut all = rules(objects, "ClusterRole");
    all.extend(rules(objects, "Role"));
    assert!(!all.is_empty(), "the chart renders RBAC");
    for (owner, rule) in &all {
        let groups = rule.api_groups.clone().unwrap_or_default();
        let resources = rule.resources.clone().unwrap_or_default();
        assert!(
            !groups
                .iter()
                .chain(&resources)
                .chain(&rule.verbs)
                .any(|s| s == "*"),
            "{owner}: wildcard in {rule:?}"
        );
        let secrets =
            groups.iter().any(String::is_empty) && resources.iter().any(|r| r == "secrets");
        let reads = rule
            .verbs
            .iter()
            .any(|v| matches!(v.as_str(), "get" | "list" | "watch"));
        if secrets && reads {
            assert!(
                rule.resource_names.as_ref().is_some_and(|n| !n.is_empty()),
                "{owner} reads Secrets without resourceNames: {rule:?}"
            );
            assert!(
                !rule.verbs.iter().any(|v| v == "list" || v == "watch"),
                "{owner} lists or watches Secrets (resourceNames do not limit list/watch): {rule:?}"
            );
        }
    }
}

/// The chart's ClusterRole, exactly as operator/docs/configuration.md ("RBAC the operator
/// needs") asks.
pub(crate) fn expected_cluster_rules() -> Value {
    json!([
        {"apiGroups": ["plimsoll.dev"], "resources": ["imagescans", "policybundles", "subscriptions"],
         "verbs": ["get", "list", "watch", "patch", "update", "create", "delete"]},
        {"apiGroups": ["plimsoll.dev"],
         "resources": ["imagescans/status", "policybundles/status", "subscriptions/status"],
         "verbs": ["get", "patch", "update"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": ["batch"], "resources": ["cronjobs"],
         "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["wgpolicyk8s.io"], "resources": ["policyreports"],
         "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"]},
    ])
}

/// The CRD files of a directory, parsed, by file name.
pub(crate) fn crd_files(dir: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let value: Value = serde_saphyr::from_str(&read(&path))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.insert(name, value);
        }
    }
    out
}

pub(crate) fn check_crds(objects: &Objects) {
    let expected: BTreeMap<String, Value> = crd_files(&repo().join("crds"))
        .into_values()
        .map(|v| (v["metadata"]["name"].as_str().unwrap_or("").to_owned(), v))
        .collect();
    let rendered: BTreeMap<String, Value> = objects
        .of_kind("CustomResourceDefinition")
        .into_iter()
        .map(|v| {
            (
                v["metadata"]["name"].as_str().unwrap_or("").to_owned(),
                v.clone(),
            )
        })
        .collect();
    assert_eq!(
        rendered.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the chart's CRDs are those of crds/"
    );
    for (name, crd) in &expected {
        let mut differences = Vec::new();
        differences_between(&rendered[name], crd, "", &mut differences);
        assert!(
            differences.is_empty(),
            "the chart renders CRD {name} differently from crds/: {}",
            differences.join("; ")
        );
    }
}

/// The environment names operator/docs/configuration.md documents (its table's Environment
/// column; `PLIMSOLL_X_REQUEST` / `_LIMIT` means `PLIMSOLL_X_LIMIT` too).
pub(crate) fn documented_env() -> BTreeSet<String> {
    let doc = read(&repo().join("operator/docs/configuration.md"));
    let mut names = BTreeSet::new();
    for line in doc.lines().filter(|l| l.starts_with('|')) {
        let Some(column) = line.split('|').nth(2) else {
            continue;
        };
        let mut previous = String::new();
        for token in column.split('`').skip(1).step_by(2) {
            let name = match token.strip_prefix('_') {
                Some(suffix) => match previous.rfind('_') {
                    Some(cut) => format!("{}_{suffix}", &previous[..cut]),
                    None => continue,
                },
                None => token.to_owned(),
            };
            if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                names.insert(name.clone());
                previous = name;
            }
        }
    }
    names
}

/// Every variable the chart sets is documented by the operator, and the required ones are set.
pub(crate) fn check_env(objects: &Objects, release: &str, namespace: &str) {
    let deployment = objects.deployment();
    let env = env(&deployment);
    let documented = documented_env();
    assert!(
        documented.contains("PLIMSOLL_DB") && documented.contains("PLIMSOLL_ANALYZER_CPU_LIMIT"),
        "operator/docs/configuration.md's table no longer reads as expected: {documented:?}"
    );
    // The operator's own variables (extraEnv may add others, such as HTTPS_PROXY).
    for name in env
        .keys()
        .filter(|n| n.starts_with("PLIMSOLL_") || n.starts_with("POD_"))
    {
        assert!(
            documented.contains(name),
            "the chart sets {name}, which operator/docs/configuration.md does not document"
        );
    }
    for name in [
        "PLIMSOLL_DB",
        "PLIMSOLL_INGEST_URL",
        "POD_NAMESPACE",
        "POD_NAME",
        "PLIMSOLL_LEADER_ELECTION",
        "PLIMSOLL_ANALYZER_IMAGE",
        "PLIMSOLL_CRONJOB_IMAGE",
    ] {
        assert!(env.contains_key(name), "the chart does not set {name}");
    }
    for (name, path) in [
        ("POD_NAMESPACE", "metadata.namespace"),
        ("POD_NAME", "metadata.name"),
    ] {
        let field = env[name]
            .value_from
            .as_ref()
            .and_then(|f| f.field_ref.as_ref())
            .map(|f| f.field_path.as_str());
        assert_eq!(field, Some(path), "{name} comes from the downward API");
    }
    let service: Service = objects.one("Service");
    let service_name = service
        .metadata
        .name
        .clone()
        .expect("the Service has a name");
    assert_eq!(
        env_value(&deployment, "PLIMSOLL_INGEST_URL").as_deref(),
        Some(format!("http://{service_name}.{namespace}.svc:8080").as_str()),
        "analyzer Jobs reach the operator through its Service"
    );
    assert!(
        service_name.starts_with(release),
        "objects are named after the release: {service_name}"
    );
    let ports = service.spec.and_then(|s| s.ports).unwrap_or_default();
    assert_eq!(ports.len(), 1);
    assert_eq!(
        (ports[0].name.as_deref(), ports[0].port),
        (Some("http"), 8080),
        "the Service's one port is 8080 named http"
    );
    assert_eq!(
        pod_spec(&deployment).enable_service_links,
        Some(false),
        "service links would add PLIMSOLL_* variables the operator did not ask for"
    );
}

pub(crate) fn check_all(objects: &Objects, release: &str, namespace: &str) {
    check_types(objects);
    check_pods(objects);
    check_rbac(objects);
    check_crds(objects);
    check_env(objects, release, namespace);
    let cluster_role = objects
        .of_kind("ClusterRole")
        .into_iter()
        .next()
        .expect("a ClusterRole");
    assert_eq!(
        cluster_role["rules"],
        expected_cluster_rules(),
        "the ClusterRole is exactly operator/docs/configuration.md's"
    );
}
