//! The Helm chart `charts/plimsoll`, the plain manifests generated from it
//! (`examples/openshift/`) and the Dockerfiles.
//!
//! No helm binary can be installed here, so the chart is rendered with
//! `shared/tools/chart-render` (beside the repository; built on first use with its `build.sh`,
//! or taken from `$PLIMSOLL_CHART_RENDER`). Each value set in `charts/plimsoll/ci/` is rendered and every
//! object is checked: it deserialises into its k8s-openapi type without losing a field, the pod
//! spec passes Pod Security "restricted" (the simulator's checker), RBAC never reads Secrets
//! beyond named ones, the CRDs are `crds/`, the environment is the operator's documented one.
//! chart-render does not validate values, so `values.schema.json` is checked here with a JSON
//! Schema validator, on the value sets and on bad values.
//!
//! - `render`: locating and running chart-render; the rendered objects.
//! - `checks`: what every rendering must pass.
//! - `values`: values.yaml coalesced as Helm does; values.schema.json.
//! - `dockerfile`: what the Dockerfiles build, and the workspace's binary targets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Service, ServiceAccount, Toleration};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{PolicyRule, RoleBinding};
use serde_json::{Value, json};

use checks::{
    ServiceMonitor, check_all, check_pods, check_rbac, check_types, crd_files, documented_env,
    rules,
};
use dockerfile::{dockerfile, workspace_binaries};
use render::{
    Objects, Render, chart_dir, env, env_value, operator_container, pod_spec, read, repo,
    write_atomically,
};
use values::{schema_errors, schema_validator, yaml_file};

#[path = "chart/checks.rs"]
mod checks;
#[path = "chart/dockerfile.rs"]
mod dockerfile;
#[path = "chart/render.rs"]
mod render;
#[path = "chart/values.rs"]
mod values;

// ---------------------------------------------------------------------------------------------
// Value sets
// ---------------------------------------------------------------------------------------------

#[test]
fn default_values_use_sqlite_on_a_pvc_with_one_replica() {
    let objects = Render::new("plimsoll", "plimsoll").objects();
    check_all(&objects, "plimsoll", "plimsoll");
    let d = objects.deployment();
    assert_eq!(d.spec.as_ref().and_then(|s| s.replicas), Some(1));
    assert_eq!(
        d.spec
            .as_ref()
            .and_then(|s| s.strategy.as_ref())
            .and_then(|s| s.type_.as_deref()),
        Some("Recreate"),
        "one SQLite writer: the old pod stops before the new one starts"
    );
    assert_eq!(
        env_value(&d, "PLIMSOLL_DB").as_deref(),
        Some("/var/lib/plimsoll/plimsoll.db")
    );
    assert_eq!(
        env_value(&d, "PLIMSOLL_INGEST_URL").as_deref(),
        Some("http://plimsoll.plimsoll.svc:8080")
    );
    assert_eq!(
        env_value(&d, "PLIMSOLL_LEADER_ELECTION").as_deref(),
        Some("false")
    );
    assert_eq!(
        env_value(&d, "PLIMSOLL_MAX_UPLOAD_BYTES").as_deref(),
        Some("67108864"),
        "large numbers must not turn into 6.7108864e+07"
    );
    let pvc: PersistentVolumeClaim = objects.one("PersistentVolumeClaim");
    let claim = pod_spec(&d)
        .volumes
        .iter()
        .flatten()
        .find_map(|v| v.persistent_volume_claim.as_ref())
        .expect("the store's volume is a PVC");
    assert_eq!(Some(&claim.claim_name), pvc.metadata.name.as_ref());
    let data_mount = operator_container(&d)
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.mount_path == "/var/lib/plimsoll")
        .expect("the SQLite directory is mounted");
    assert_eq!(data_mount.name, "data");
    for absent in [
        "Role",
        "RoleBinding",
        "Ingress",
        "PodDisruptionBudget",
        "ServiceMonitor",
    ] {
        assert_eq!(
            objects.count(absent),
            0,
            "default values render no {absent}"
        );
    }
    assert_eq!(objects.count("NetworkPolicy"), 1);
    assert_eq!(objects.count("CustomResourceDefinition"), 3);
}

#[test]
fn postgres_takes_the_url_from_a_secret_and_needs_no_volume() {
    let objects = Render::new("plimsoll", "security")
        .ci("postgres-values.yaml")
        .objects();
    check_all(&objects, "plimsoll", "security");
    let d = objects.deployment();
    let db = env(&d).remove("PLIMSOLL_DB").expect("PLIMSOLL_DB");
    assert_eq!(db.value, None);
    let secret = db
        .value_from
        .and_then(|v| v.secret_key_ref)
        .expect("PLIMSOLL_DB comes from a Secret");
    assert_eq!(
        (secret.name.as_str(), secret.key.as_str()),
        ("plimsoll-db", "url")
    );
    assert_eq!(objects.count("PersistentVolumeClaim"), 0);
    assert!(
        !operator_container(&d)
            .volume_mounts
            .iter()
            .flatten()
            .any(|m| m.mount_path == "/var/lib/plimsoll"),
        "no store directory with PostgreSQL"
    );
}

#[test]
fn two_replicas_on_postgres_elect_a_leader() {
    let objects = Render::new("scan", "security")
        .ci("ha-values.yaml")
        .objects();
    check_all(&objects, "scan", "security");
    let d = objects.deployment();
    assert_eq!(d.spec.as_ref().and_then(|s| s.replicas), Some(2));
    assert_eq!(
        env_value(&d, "PLIMSOLL_LEADER_ELECTION").as_deref(),
        Some("true")
    );
    assert_eq!(
        env_value(&d, "PLIMSOLL_INGEST_URL").as_deref(),
        Some("http://scan-plimsoll.security.svc:8080")
    );
    assert_eq!(
        d.spec
            .as_ref()
            .and_then(|s| s.strategy.as_ref())
            .and_then(|s| s.type_.as_deref()),
        Some("RollingUpdate")
    );
    let pdb: PodDisruptionBudget = objects.one("PodDisruptionBudget");
    assert_eq!(
        pdb.spec
            .and_then(|s| s.selector)
            .and_then(|s| s.match_labels),
        d.spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.clone()),
        "the PodDisruptionBudget selects the operator's pods"
    );

    // Leases in the release namespace, bound to the operator's ServiceAccount.
    let lease_rules: Vec<_> = rules(&objects, "Role")
        .into_iter()
        .filter(|(_, r)| r.api_groups.as_deref() == Some(&["coordination.k8s.io".to_owned()][..]))
        .collect();
    let verbs: BTreeSet<&str> = lease_rules
        .iter()
        .flat_map(|(_, r)| r.verbs.iter().map(String::as_str))
        .collect();
    assert_eq!(
        verbs,
        BTreeSet::from(["get", "create", "update", "patch"]),
        "{lease_rules:?}"
    );
    assert!(
        lease_rules
            .iter()
            .all(|(owner, _)| owner.contains("security/"))
    );

    // Notification Secrets: one Role per namespace, naming exactly the listed Secrets.
    let secret_roles: BTreeMap<String, Vec<String>> = objects
        .of_kind("Role")
        .into_iter()
        .filter(|r| r["rules"][0]["resources"] == json!(["secrets"]))
        .map(|r| {
            let rule: PolicyRule = serde_json::from_value(r["rules"][0].clone()).expect("rule");
            assert_eq!(rule.verbs, ["get"]);
            (
                r["metadata"]["namespace"].as_str().unwrap_or("").to_owned(),
                rule.resource_names.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        secret_roles,
        BTreeMap::from([
            (
                "team-a".to_owned(),
                vec!["ci-webhook".to_owned(), "slack".to_owned()]
            ),
            ("team-b".to_owned(), vec!["ci-webhook".to_owned()]),
        ])
    );
    let service_account: ServiceAccount = objects.one("ServiceAccount");
    for binding in objects.of_kind("RoleBinding") {
        let binding: RoleBinding = serde_json::from_value(binding.clone()).expect("RoleBinding");
        let subject = &binding.subjects.as_ref().expect("subjects")[0];
        assert_eq!(
            (Some(&subject.name), subject.namespace.as_deref()),
            (service_account.metadata.name.as_ref(), Some("security")),
            "{:?} binds the operator's ServiceAccount",
            binding.metadata.name
        );
        let role = objects.of_kind("Role").into_iter().find(|r| {
            r["metadata"]["name"] == binding.role_ref.name.as_str()
                && r["metadata"]["namespace"] == json!(binding.metadata.namespace)
        });
        assert!(
            role.is_some(),
            "{:?} binds a Role the chart renders",
            binding.metadata.name
        );
    }
}

#[test]
fn more_than_one_replica_on_sqlite_does_not_render() {
    for sets in [
        &["replicaCount=2"][..],
        &["leaderElection.enabled=true"][..],
    ] {
        let mut render = Render::new("plimsoll", "plimsoll");
        for s in sets {
            render = render.set(s);
        }
        let err = render
            .run()
            .expect_err("two writers on one SQLite file must not render");
        assert!(
            err.contains("needs PostgreSQL: set database.existingSecret"),
            "{sets:?}: {err}"
        );
    }
    // The same values with PostgreSQL render.
    Render::new("plimsoll", "plimsoll")
        .ci("postgres-values.yaml")
        .set("replicaCount=3")
        .run()
        .expect("three replicas on PostgreSQL render");
}

#[test]
fn ingress_routes_to_the_http_port_behind_an_alb() {
    let objects = Render::new("plimsoll", "plimsoll")
        .ci("ingress-values.yaml")
        .objects();
    check_all(&objects, "plimsoll", "plimsoll");
    let ingress: Ingress = objects.one("Ingress");
    let annotations = ingress.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations
            .get("alb.ingress.kubernetes.io/target-type")
            .map(String::as_str),
        Some("instance")
    );
    let spec = ingress.spec.expect("Ingress spec");
    assert_eq!(spec.ingress_class_name.as_deref(), Some("alb"));
    let rule = &spec.rules.expect("rules")[0];
    assert_eq!(rule.host.as_deref(), Some("plimsoll.internal.example.com"));
    let backend = rule.http.as_ref().expect("http").paths[0]
        .backend
        .service
        .clone()
        .expect("a Service backend");
    assert_eq!(backend.name, "plimsoll");
    assert_eq!(backend.port.and_then(|p| p.name).as_deref(), Some("http"));
    let service: Service = objects.one("Service");
    let spec = service.spec.expect("Service spec");
    assert_eq!(spec.type_.as_deref(), Some("NodePort"));
    assert_eq!(spec.ports.expect("ports")[0].node_port, Some(30880));
    let policy: NetworkPolicy = objects.one("NetworkPolicy");
    let peers = &policy.spec.expect("spec").ingress.expect("ingress")[0];
    assert!(
        peers
            .from
            .iter()
            .flatten()
            .any(|p| p.ip_block.as_ref().map(|b| b.cidr.as_str()) == Some("10.0.0.0/16")),
        "networkPolicy.extraFrom admits the ALB's subnets"
    );
}

#[test]
fn analyzer_settings_reach_the_operator_environment() {
    let objects = Render::new("plimsoll", "plimsoll")
        .ci("analyzer-values.yaml")
        .objects();
    check_all(&objects, "plimsoll", "plimsoll");
    let d = objects.deployment();
    let expected = [
        ("PLIMSOLL_MAX_CONCURRENT_JOBS", "2"),
        ("PLIMSOLL_JOB_DEADLINE", "1h"),
        ("PLIMSOLL_JOB_TTL", "30m"),
        ("PLIMSOLL_JOB_BACKOFF_LIMIT", "1"),
        ("PLIMSOLL_ANALYZER_CPU_REQUEST", "500m"),
        ("PLIMSOLL_ANALYZER_CPU_LIMIT", "4"),
        ("PLIMSOLL_ANALYZER_MEMORY_REQUEST", "512Mi"),
        ("PLIMSOLL_ANALYZER_MEMORY_LIMIT", "4Gi"),
        ("PLIMSOLL_ANALYZER_SCRATCH_SIZE", "4Gi"),
        (
            "PLIMSOLL_ANALYZER_NODE_SELECTOR",
            "kubernetes.io/arch=amd64,workload=scanning",
        ),
        (
            "PLIMSOLL_ANALYZER_INSECURE_REGISTRIES",
            "registry.local:5000",
        ),
        ("PLIMSOLL_DEFAULT_PLATFORM", "linux/arm64"),
        ("HTTPS_PROXY", "http://proxy.internal.example.com:3128"),
        ("PLIMSOLL_WATCH_NAMESPACE", "ci"),
        (
            "PLIMSOLL_FEED_SOURCES",
            "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip,\
             https://osv-vulnerabilities.storage.googleapis.com/Alpine/all.zip",
        ),
        (
            "PLIMSOLL_FEED_MIRROR_URL",
            "https://osv-mirror.internal.example.com",
        ),
    ];
    for (name, value) in expected {
        assert_eq!(env_value(&d, name).as_deref(), Some(value), "{name}");
    }
    let tolerations: Vec<Toleration> = serde_json::from_str(
        &env_value(&d, "PLIMSOLL_ANALYZER_TOLERATIONS").expect("tolerations are set"),
    )
    .expect("PLIMSOLL_ANALYZER_TOLERATIONS is a JSON array of Tolerations");
    assert_eq!(tolerations.len(), 2);
    assert_eq!(tolerations[0].key.as_deref(), Some("dedicated"));
    assert_eq!(tolerations[0].effect.as_deref(), Some("NoSchedule"));
    assert_eq!(tolerations[1].toleration_seconds, Some(300));

    // persistence.enabled false: the SQLite store on an emptyDir; fsGroup from podSecurityContext.
    assert_eq!(objects.count("PersistentVolumeClaim"), 0);
    let spec = pod_spec(&d);
    let data = spec
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "data")
        .expect("a data volume");
    assert!(data.empty_dir.is_some());
    assert_eq!(
        spec.security_context.as_ref().and_then(|s| s.fs_group),
        Some(65532)
    );
}

#[test]
fn default_values_leave_analyzer_placement_to_the_operator() {
    let d = Render::new("plimsoll", "plimsoll").objects().deployment();
    for name in [
        "PLIMSOLL_ANALYZER_NODE_SELECTOR",
        "PLIMSOLL_ANALYZER_TOLERATIONS",
        "PLIMSOLL_ANALYZER_INSECURE_REGISTRIES",
        "PLIMSOLL_WATCH_NAMESPACE",
        "PLIMSOLL_FEED_SOURCES",
        "PLIMSOLL_FEED_MIRROR_URL",
    ] {
        assert_eq!(env_value(&d, name), None, "{name} is unset by default");
    }
}

#[test]
fn service_monitor_scrapes_metrics_on_the_http_port() {
    let objects = Render::new("plimsoll", "plimsoll")
        .ci("servicemonitor-values.yaml")
        .objects();
    check_all(&objects, "plimsoll", "plimsoll");
    let monitor: ServiceMonitor = objects.one("ServiceMonitor");
    let endpoint = &monitor.spec.endpoints[0];
    assert_eq!(
        (endpoint.port.as_str(), endpoint.path.as_str()),
        ("http", "/metrics")
    );
    assert_eq!(endpoint.interval, "15s");
    assert_eq!(endpoint.scrape_timeout.as_deref(), Some("10s"));
    assert_eq!(monitor.spec.namespace_selector.match_names, ["plimsoll"]);
    let service: Service = objects.one("Service");
    let selector = monitor.spec.selector.match_labels.unwrap_or_default();
    let labels = service.metadata.labels.unwrap_or_default();
    assert!(
        !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v)),
        "the ServiceMonitor selects the Service: {selector:?} vs {labels:?}"
    );
    assert_eq!(
        monitor
            .metadata
            .labels
            .unwrap_or_default()
            .get("release")
            .map(String::as_str),
        Some("kube-prometheus-stack")
    );
}

#[test]
fn network_policy_admits_analyzers_cronjobs_and_the_scraper() {
    let objects = Render::new("plimsoll", "plimsoll").objects();
    let policy: NetworkPolicy = objects.one("NetworkPolicy");
    let spec = policy.spec.expect("spec");
    let d = objects.deployment();
    assert_eq!(
        spec.pod_selector.and_then(|s| s.match_labels),
        d.spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.clone()),
        "the policy selects the operator's pods"
    );
    let rule = &spec.ingress.expect("ingress rules")[0];
    assert_eq!(
        serde_json::to_value(&rule.ports).expect("ports"),
        json!([{"port": "http", "protocol": "TCP"}])
    );
    let peers = serde_json::to_value(&rule.from).expect("peers");
    // The labels operator/docs/configuration.md gives analyzer Jobs, from any namespace.
    assert_eq!(
        peers[0],
        json!({"namespaceSelector": {}, "podSelector": {"matchLabels": {
            "app.kubernetes.io/name": "plimsoll", "app.kubernetes.io/component": "analyzer"}}})
    );
    assert_eq!(
        peers[1]["podSelector"]["matchExpressions"][1]["values"],
        json!(["feed-sync", "watch"])
    );
    assert_eq!(
        peers[2],
        json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}})
    );
    assert_eq!(peers.as_array().map(Vec::len), Some(3));
    let off = Render::new("plimsoll", "plimsoll")
        .set("networkPolicy.enabled=false")
        .objects();
    assert_eq!(off.count("NetworkPolicy"), 0);
}

// ---------------------------------------------------------------------------------------------
// values.yaml and values.schema.json
// ---------------------------------------------------------------------------------------------
#[test]
fn default_and_ci_values_pass_the_schema() {
    let validator = schema_validator();
    let mut sets = vec![("values.yaml".to_owned(), json!({}))];
    for entry in std::fs::read_dir(chart_dir().join("ci")).expect("charts/plimsoll/ci") {
        let path = entry.expect("entry").path();
        sets.push((path.display().to_string(), yaml_file(&path)));
    }
    assert!(
        sets.len() >= 6,
        "the ci value sets are there: {}",
        sets.len()
    );
    for (name, overlay) in sets {
        let errors = schema_errors(&validator, &overlay);
        assert!(
            errors.is_empty(),
            "{name} fails values.schema.json: {errors:#?}"
        );
    }
}

#[test]
fn bad_values_fail_the_schema() {
    let validator = schema_validator();
    let cases = [
        (
            json!({"analyzer": {"maxConcurrentJobs": "many"}}),
            "/analyzer/maxConcurrentJobs",
        ),
        (
            json!({"analyzer": {"maxConcurrentJobs": 0}}),
            "/analyzer/maxConcurrentJobs",
        ),
        (
            json!({"analyzer": {"jobDeadline": "30 minutes"}}),
            "/analyzer/jobDeadline",
        ),
        (
            json!({"analyzer": {"resources": {"limits": {"cpu": "lots"}}}}),
            "/analyzer/resources/limits/cpu",
        ),
        (
            json!({"analyzer": {"resources": {"limit": {"cpu": "1"}}}}),
            "/analyzer/resources",
        ),
        (
            json!({"analyzer": {"tolerations": [{"key": "k", "effects": "NoSchedule"}]}}),
            "/analyzer/tolerations/0",
        ),
        (
            json!({"analyzer": {"nodeSelector": {"workload": 3}}}),
            "/analyzer/nodeSelector/workload",
        ),
        (json!({"replicas": 2}), ""),
        (json!({"replicaCount": 2}), "/database/existingSecret"),
        (
            json!({"leaderElection": {"enabled": true}}),
            "/database/existingSecret",
        ),
        (json!({"replicaCount": "2"}), "/replicaCount"),
        (
            json!({"image": {"pullPolicy": "Sometimes"}}),
            "/image/pullPolicy",
        ),
        (
            json!({"podSecurityContext": {"runAsUser": 1000}}),
            "/podSecurityContext",
        ),
        (
            json!({"notifications": {"secrets": [{"namespace": "team-a"}]}}),
            "/notifications/secrets/0",
        ),
        (
            json!({"feedSync": {"schedule": "every hour"}}),
            "/feedSync/schedule",
        ),
        (
            json!({"persistence": {"size": "five gigs"}}),
            "/persistence/size",
        ),
        (
            json!({"service": {"type": "ExternalName"}}),
            "/service/type",
        ),
        (
            json!({"ingress": {"hosts": [{"host": "x", "paths": [{"path": "api", "pathType": "Prefix"}]}]}}),
            "/ingress/hosts/0/paths/0/path",
        ),
        (
            json!({"networkPolicy": {"extraFrom": [{"ipblock": {"cidr": "10.0.0.0/8"}}]}}),
            "/networkPolicy/extraFrom/0",
        ),
    ];
    for (overlay, path) in cases {
        let errors = schema_errors(&validator, &overlay);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{path}: "))),
            "{overlay} should fail values.schema.json at {path:?}; errors: {errors:#?}"
        );
    }
}

/// Every setting in values.yaml has a comment block right above it opening with `# --` (the
/// helm-docs convention). Any other key is a section: its next line must be a deeper key or
/// comment, and its children are checked. The value of a setting (a map, a list) is data.
#[test]
fn every_value_is_documented() {
    let text = read(&chart_dir().join("values.yaml"));
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_comment = |l: &str| l.trim_start().starts_with('#');
    let is_key = |l: &str| {
        l.trim_start()
            .split_once(':')
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    let mut undocumented = Vec::new();
    let mut skip_below: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        if is_comment(line) || line.trim().is_empty() {
            continue;
        }
        if let Some(depth) = skip_below {
            let list_item = line.trim_start().starts_with('-');
            if indent(line) > depth || (indent(line) == depth && list_item) {
                continue;
            }
            skip_below = None;
        }
        assert!(
            is_key(line),
            "values.yaml line {:?} is not a setting",
            line.trim()
        );
        let block_start = lines[..i]
            .iter()
            .rposition(|l| !is_comment(l))
            .map_or(0, |p| p + 1);
        let documented = block_start < i && lines[block_start].trim_start().starts_with("# --");
        let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
        let section = line.trim_end().ends_with(':')
            && next.is_some_and(|n| indent(n) > indent(line) && (is_key(n) || is_comment(n)));
        if documented {
            skip_below = Some(indent(line));
        } else if !section {
            undocumented.push(line.trim());
            skip_below = Some(indent(line));
        }
    }
    assert!(
        undocumented.is_empty(),
        "values.yaml settings without a comment above them:\n{}",
        undocumented.join("\n")
    );
}

#[test]
fn chart_crds_are_the_committed_crds() {
    let committed = repo().join("crds");
    let chart = chart_dir().join("crds");
    let names = |dir: &Path| crd_files(dir).into_keys().collect::<Vec<_>>();
    let fix = "copy them: cp crds/*.yaml charts/plimsoll/crds/ (or run with PLIMSOLL_REGENERATE=1)";
    if std::env::var_os("PLIMSOLL_REGENERATE").is_some() {
        let wanted = names(&committed);
        for name in names(&chart).iter().filter(|n| !wanted.contains(n)) {
            std::fs::remove_file(chart.join(name)).expect("removing a stale chart CRD");
        }
        for name in &wanted {
            let text = read(&committed.join(name));
            if std::fs::read_to_string(chart.join(name)).ok().as_ref() != Some(&text) {
                write_atomically(&chart.join(name), &text);
            }
        }
    }
    assert_eq!(
        names(&chart),
        names(&committed),
        "charts/plimsoll/crds/ vs crds/: {fix}"
    );
    for name in names(&committed) {
        assert!(
            read(&chart.join(&name)) == read(&committed.join(&name)),
            "charts/plimsoll/crds/{name} differs from crds/{name}: {fix}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// examples/openshift: the chart's default rendering as plain manifests
// ---------------------------------------------------------------------------------------------

const REGENERATE: &str = "PLIMSOLL_REGENERATE=1 cargo test -p plimsoll-e2e --test chart";

/// The default rendering (release and namespace `plimsoll`) split into the CRDs and the rest,
/// each with a header saying where it comes from.
fn openshift_manifests() -> [(&'static str, String); 2] {
    let rendered = Render::new("plimsoll", "plimsoll")
        .run()
        .unwrap_or_else(|e| panic!("the chart does not render with default values: {e}"));
    let (mut crds, mut rest) = (String::new(), String::new());
    for section in rendered.split("---\n# Source: ").filter(|s| !s.is_empty()) {
        let target = if section.starts_with("plimsoll/crds/") {
            &mut crds
        } else {
            &mut rest
        };
        target.push_str("---\n# Source: ");
        target.push_str(section);
    }
    let header = |what: &str| {
        format!(
            "# {what}.\n# Generated from charts/plimsoll with the default values (release and \
             namespace `plimsoll`)\n# by tests/tests/chart.rs; do not edit. Regenerate with\n\
             #   {REGENERATE}\n"
        )
    };
    [
        (
            "crds.yaml",
            header("Plimsoll's CustomResourceDefinitions") + &crds,
        ),
        (
            "plimsoll.yaml",
            header("The Plimsoll operator in namespace plimsoll") + &rest,
        ),
    ]
}

#[test]
fn openshift_manifests_match_the_chart() {
    let dir = repo().join("examples/openshift");
    let regenerate = std::env::var_os("PLIMSOLL_REGENERATE").is_some();
    let mut stale = Vec::new();
    for (name, expected) in openshift_manifests() {
        let path = dir.join(name);
        if regenerate {
            write_atomically(&path, &expected);
        }
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == expected => {}
            Ok(_) => stale.push(format!("examples/openshift/{name} differs from the chart")),
            Err(e) => stale.push(format!("examples/openshift/{name} cannot be read ({e})")),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nregenerate with `{REGENERATE}` and commit",
        stale.join("\n")
    );
}

/// Keys that pin a UID or GID; OpenShift's restricted SCC refuses them outside the namespace's
/// range and assigns its own when they are absent.
fn fixed_ids(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{path}.{k}");
                if matches!(
                    k.as_str(),
                    "runAsUser" | "runAsGroup" | "fsGroup" | "supplementalGroups"
                ) {
                    out.push(here.clone());
                }
                fixed_ids(v, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                fixed_ids(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn openshift_manifests_fix_no_uid_and_pass_restricted() {
    let [(_, crds), (_, operator)] = openshift_manifests();
    let crds = Objects::parse(&crds);
    check_types(&crds);
    assert_eq!(
        crds.kinds(),
        BTreeSet::from(["CustomResourceDefinition".to_owned()])
    );
    let objects = Objects::parse(&operator);
    check_types(&objects);
    check_pods(&objects);
    check_rbac(&objects);
    let mut found = Vec::new();
    for o in &objects.0 {
        fixed_ids(o, o["kind"].as_str().unwrap_or("?"), &mut found);
    }
    assert!(
        found.is_empty(),
        "fixed IDs in the OpenShift manifests: {found:?}"
    );
    assert!(
        objects
            .0
            .iter()
            .all(|o| o["metadata"]["namespace"] == "plimsoll"
                || o["kind"].as_str().is_some_and(|k| k.starts_with("Cluster"))),
        "every namespaced object is in namespace plimsoll"
    );
}

// ---------------------------------------------------------------------------------------------
// Dockerfiles
// ---------------------------------------------------------------------------------------------
#[test]
fn dockerfiles_build_workspace_binaries_into_non_root_images() {
    let binaries = workspace_binaries();
    for (path, package, wanted) in [
        (
            "operator/Dockerfile",
            "plimsoll",
            &["plimsoll-operator", "plimsoll"][..],
        ),
        (
            "analyzer/Dockerfile",
            "plimsoll-analyzer",
            &["plimsoll-analyzer"][..],
        ),
    ] {
        let d = dockerfile(path);
        assert!(
            d.text.contains("FROM rust:1-bookworm AS build")
                && d.text.contains("cargo build --release --locked"),
            "{path}: a rust:1-bookworm build stage running cargo build --release --locked"
        );
        assert_eq!(d.package, package, "{path} builds package {package}");
        assert_eq!(d.built, wanted, "{path} builds {wanted:?}");
        assert_eq!(d.copied, wanted, "{path} ships what it builds");
        let targets = binaries
            .get(package)
            .unwrap_or_else(|| panic!("no workspace package {package}"));
        for bin in wanted {
            assert!(
                targets.contains(*bin),
                "{path} builds {bin}, which is not a binary target of package {package} ({targets:?})"
            );
        }
        assert_eq!(
            d.entrypoint,
            format!("/usr/local/bin/{}", wanted[0]),
            "{path}'s entrypoint"
        );
        assert!(
            d.runtime_base
                .starts_with("gcr.io/distroless/cc-debian12:nonroot")
                || d.runtime_base
                    .starts_with("registry.access.redhat.com/ubi9/ubi-minimal"),
            "{path}: a minimal runtime base, not {}",
            d.runtime_base
        );
        let uid: u32 = d
            .user
            .split(':')
            .next()
            .and_then(|u| u.parse().ok())
            .unwrap_or_else(|| panic!("{path}: USER {} is not numeric", d.user));
        assert_ne!(uid, 0, "{path} runs as root");
    }
    // The chart runs what the operator image ships.
    let d = Render::new("plimsoll", "plimsoll").objects().deployment();
    assert_eq!(
        operator_container(&d).command.as_deref(),
        Some(&["/usr/local/bin/plimsoll-operator".to_owned()][..])
    );
    let ignore = read(&repo().join(".dockerignore"));
    for pattern in [".git", "target"] {
        assert!(
            ignore.lines().any(|l| l.trim() == pattern),
            ".dockerignore leaves {pattern} in the build context"
        );
    }
}

#[test]
fn documented_env_reads_the_table() {
    let names = documented_env();
    for name in [
        "PLIMSOLL_ANALYZER_CPU_REQUEST",
        "PLIMSOLL_ANALYZER_CPU_LIMIT",
        "PLIMSOLL_ANALYZER_MEMORY_LIMIT",
        "POD_NAMESPACE",
        "PLIMSOLL_LOG",
    ] {
        assert!(
            names.contains(name),
            "{name} not read from the table: {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.starts_with('_') || n.is_empty()));
}
