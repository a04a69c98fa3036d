//! What an analyzer Job looks like, sans-IO: its name (one Job per image, platform and rescan
//! request in a namespace, however many ImageScans share it), the Job and the Secret holding
//! its upload token.
//!
//! Traps:
//! - The pod must pass Pod Security "restricted" and OpenShift's restricted SCC: no `runAsUser`
//!   (the SCC assigns one), `runAsNonRoot`, no privilege escalation, every capability dropped,
//!   `RuntimeDefault` seccomp, read-only root filesystem with an emptyDir `/tmp`, no
//!   service-account token (the analyzer never talks to the API server).
//! - Pull secrets are mounted, never read by the operator: each `kubernetes.io/dockerconfigjson`
//!   Secret lands as `config.json` in its own directory, and the analyzer gets the list.
//! - The token Secret is owned by the Job, so it goes when the Job's TTL deletes the Job.

use super::config::OperatorArgs;
use crate::crd::ImageScan;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, KeyToPath,
    PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile, Secret,
    SecretKeySelector, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Label selecting every analyzer Job (and pod) the operator created.
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
pub const COMPONENT: &str = "analyzer";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "plimsoll-operator";
/// The annotation on the Job naming the image it analyzes.
pub const IMAGE_ANNOTATION: &str = "plimsoll.dev/image";
/// Changing this annotation on an ImageScan forces a fresh analysis.
pub const RESCAN_ANNOTATION: &str = "plimsoll.dev/rescan";
/// The key of the token in the Job's Secret.
pub const TOKEN_KEY: &str = "token";
/// Where pull secrets are mounted (one directory per Secret).
const PULL_SECRETS_DIR: &str = "/var/run/plimsoll/pull-secrets";

/// The label selector for analyzer Jobs.
pub fn selector() -> String {
    format!("{COMPONENT_LABEL}={COMPONENT},{MANAGED_BY_LABEL}={MANAGED_BY}")
}

/// What one analyzer Job analyzes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobKey {
    pub namespace: String,
    pub image: String,
    pub platform: String,
    /// The ImageScan's `plimsoll.dev/rescan` annotation, if any.
    pub rescan: Option<String>,
    /// Sorted pull secret names (a scan with other credentials needs its own Job).
    pub pull_secrets: Vec<String>,
    /// The tag-watch round a tag reference is checked in (0 before any watch run; always 0 for
    /// a digest reference, which cannot move). A new round means a new Job, which resolves the
    /// tag again and analyzes only a digest the store does not have.
    pub watch_round: u64,
    /// For a tag reference with `rescanInterval`: which interval we are in (time since the
    /// epoch divided by the interval), so each interval re-checks the tag with a new Job.
    pub interval_epoch: u64,
}

impl JobKey {
    pub fn of(scan: &ImageScan, default_platform: &str, watch_round: u64) -> Self {
        let mut pull_secrets: Vec<String> = scan
            .spec
            .image_pull_secrets
            .iter()
            .map(|s| s.name.clone())
            .collect();
        pull_secrets.sort();
        pull_secrets.dedup();
        Self {
            namespace: scan.metadata.namespace.clone().unwrap_or_default(),
            image: scan.spec.image.clone(),
            platform: scan
                .spec
                .platform
                .clone()
                .unwrap_or_else(|| default_platform.to_owned()),
            rescan: scan
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(RESCAN_ANNOTATION))
                .cloned(),
            pull_secrets,
            watch_round: if follows_tag(&scan.spec.image) {
                watch_round
            } else {
                0
            },
            interval_epoch: 0,
        }
    }

    /// The key in the interval `now` falls in, for a scan with a `rescanInterval` of `every`.
    pub fn in_interval(mut self, every: std::time::Duration, now: std::time::SystemTime) -> Self {
        if follows_tag(&self.image) && !every.is_zero() {
            let since = now
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            self.interval_epoch =
                u64::try_from(since / every.as_millis().max(1)).unwrap_or(u64::MAX);
        }
        self
    }

    /// Whether this Job re-checks a tag analyzed before (a watch round or a rescan interval).
    pub fn rechecks(&self) -> bool {
        self.watch_round > 0 || self.interval_epoch > 0
    }

    /// `plimsoll-analyze-<16 hex digits>`: a hash of everything that makes the Job.
    pub fn job_name(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.namespace.as_str(),
            self.image.as_str(),
            self.platform.as_str(),
            self.rescan.as_deref().unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for s in &self.pull_secrets {
            h.update(s.as_bytes());
            h.update([0]);
        }
        // Round 0 hashes nothing, so names from before the first watch run stay the same.
        if self.watch_round > 0 {
            h.update(b"watch");
            h.update(self.watch_round.to_be_bytes());
        }
        if self.interval_epoch > 0 {
            h.update(b"interval");
            h.update(self.interval_epoch.to_be_bytes());
        }
        let hex = hex::encode(h.finalize());
        format!("plimsoll-analyze-{}", &hex[..16])
    }
}

/// Whether a reference names a tag (which can move) rather than a digest.
pub fn follows_tag(reference: &str) -> bool {
    !reference.contains('@')
}

/// A new upload token: 32 random bytes, hex.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "plimsoll".to_owned()),
        (COMPONENT_LABEL.to_owned(), COMPONENT.to_owned()),
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
    ])
}

pub(crate) fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.into()),
        ..Default::default()
    }
}

/// The analyzer Job for `key`.
pub fn job(key: &JobKey, config: &OperatorArgs) -> Job {
    let name = key.job_name();
    let mut env_vars = vec![
        env(
            "PLIMSOLL_INGEST_URL",
            config.ingest_url.as_str().trim_end_matches('/'),
        ),
        EnvVar {
            name: "PLIMSOLL_INGEST_TOKEN".into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: name.clone(),
                    key: TOKEN_KEY.into(),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        env("PLIMSOLL_PLATFORM", key.platform.clone()),
        env("TMPDIR", "/tmp"),
        env("PLIMSOLL_LOG", "info"),
    ];
    if !config.analyzer_insecure_registries.is_empty() {
        env_vars.push(env(
            "PLIMSOLL_INSECURE_REGISTRIES",
            config.analyzer_insecure_registries.join(","),
        ));
    }
    let mut volumes = vec![Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(config.analyzer_scratch_size.clone()),
            ..Default::default()
        }),
        ..Default::default()
    }];
    let mut mounts = vec![VolumeMount {
        name: "tmp".into(),
        mount_path: "/tmp".into(),
        ..Default::default()
    }];
    let mut auth_files = Vec::new();
    for (i, secret) in key.pull_secrets.iter().enumerate() {
        let volume = format!("pull-secret-{i}");
        let dir = format!("{PULL_SECRETS_DIR}/{i}");
        volumes.push(Volume {
            name: volume.clone(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.clone()),
                items: Some(vec![KeyToPath {
                    key: ".dockerconfigjson".into(),
                    path: "config.json".into(),
                    mode: None,
                }]),
                optional: Some(false),
                default_mode: Some(0o440),
            }),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            name: volume,
            mount_path: dir.clone(),
            read_only: Some(true),
            ..Default::default()
        });
        auth_files.push(format!("{dir}/config.json"));
    }
    if !auth_files.is_empty() {
        env_vars.push(env("PLIMSOLL_REGISTRY_AUTH_FILE", auth_files.join(",")));
    }
    let resources = resources(config);
    let container = Container {
        name: "analyzer".into(),
        image: Some(config.analyzer_image.clone()),
        image_pull_policy: Some(config.analyzer_image_pull_policy.clone()),
        args: Some(vec![key.image.clone()]),
        env: Some(env_vars),
        resources: Some(resources),
        volume_mounts: Some(mounts),
        security_context: Some(restricted_container()),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Default::default()
    };
    let pod = PodSpec {
        restart_policy: Some("Never".into()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        security_context: Some(restricted_pod()),
        node_selector: (!config.analyzer_node_selector.0.is_empty())
            .then(|| config.analyzer_node_selector.0.clone()),
        tolerations: (!config.analyzer_tolerations.0.is_empty())
            .then(|| config.analyzer_tolerations.0.clone()),
        containers: vec![container],
        volumes: Some(volumes),
        ..Default::default()
    };
    Job {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(key.namespace.clone()),
            labels: Some(labels()),
            annotations: Some(BTreeMap::from([(
                IMAGE_ANNOTATION.to_owned(),
                key.image.clone(),
            )])),
            ..Default::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(i32::from(config.job_backoff_limit)),
            active_deadline_seconds: Some(secs(config.job_deadline)),
            ttl_seconds_after_finished: Some(
                i32::try_from(config.job_ttl.as_secs()).unwrap_or(i32::MAX),
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels()),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// Requests and limits of the operator's pods (`--analyzer-*`); the scratch size bounds their
/// ephemeral storage.
pub(crate) fn resources(config: &OperatorArgs) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), config.analyzer_cpu_request.clone()),
            ("memory".to_owned(), config.analyzer_memory_request.clone()),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".to_owned(), config.analyzer_cpu_limit.clone()),
            ("memory".to_owned(), config.analyzer_memory_limit.clone()),
            (
                "ephemeral-storage".to_owned(),
                config.analyzer_scratch_size.clone(),
            ),
        ])),
        ..Default::default()
    }
}

/// The Secret holding the Job's token, owned by the Job.
pub fn token_secret(job: &Job, token: &str) -> Secret {
    let owner = OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: job.metadata.name.clone().unwrap_or_default(),
        uid: job.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        // Not `blockOwnerDeletion`: with OpenShift's owner-reference admission it needs
        // `update` on `jobs/finalizers`, and nothing needs the Job's deletion to wait.
        block_owner_deletion: None,
    };
    Secret {
        metadata: ObjectMeta {
            name: job.metadata.name.clone(),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels()),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        string_data: Some(BTreeMap::from([(TOKEN_KEY.to_owned(), token.to_owned())])),
        ..Default::default()
    }
}

/// The container security context of every pod the operator creates (analyzer Jobs, the
/// CronJobs): Pod Security "restricted" and OpenShift's restricted SCC, no fixed UID.
pub(crate) fn restricted_container() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        seccomp_profile: Some(runtime_default()),
        ..Default::default()
    }
}

/// The pod security context that goes with [`restricted_container`].
pub(crate) fn restricted_pod() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        seccomp_profile: Some(runtime_default()),
        ..Default::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        localhost_profile: None,
    }
}

pub(crate) fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(extra: &[&str]) -> OperatorArgs {
        let mut args = vec![
            "plimsoll-operator",
            "--ingest-url",
            "http://op.ns.svc:8080/",
        ];
        args.extend_from_slice(extra);
        OperatorArgs::try_parse_from(args).expect("config")
    }

    fn scan(yaml: &str) -> ImageScan {
        serde_saphyr::from_str(yaml).expect("scan")
    }

    const SCAN: &str = "apiVersion: plimsoll.dev/v1alpha1\nkind: ImageScan\nmetadata: {name: web, namespace: shop}\nspec:\n  image: registry.example/shop/web:1.2\n  policyBundleRef: {name: default}\n  imagePullSecrets: [{name: regcred}, {name: other}]\n";

    #[test]
    fn one_job_per_image_platform_rescan_and_credentials() {
        let a = scan(SCAN);
        let key = JobKey::of(&a, "linux/amd64", 0);
        assert_eq!(key.pull_secrets, ["other", "regcred"], "sorted");
        let name = key.job_name();
        assert!(
            name.starts_with("plimsoll-analyze-") && name.len() == 33,
            "{name}"
        );
        // Another scan of the same image with the same secrets shares the Job.
        let mut b = a.clone();
        b.metadata.name = Some("web-2".into());
        b.spec.image_pull_secrets.reverse();
        assert_eq!(JobKey::of(&b, "linux/amd64", 0).job_name(), name);
        // Anything that changes what is analyzed, or how, is another Job.
        let mut c = a.clone();
        c.spec.platform = Some("linux/arm64".into());
        let mut d = a.clone();
        d.metadata.annotations = Some(BTreeMap::from([(RESCAN_ANNOTATION.into(), "1".into())]));
        let mut e = a.clone();
        e.metadata.namespace = Some("other".into());
        let mut f = a.clone();
        f.spec.image_pull_secrets.pop();
        for other in [c, d, e, f] {
            assert_ne!(JobKey::of(&other, "linux/amd64", 0).job_name(), name);
        }
        // A watch round re-checks a tag with a new Job; a digest reference never moves.
        assert_ne!(JobKey::of(&a, "linux/amd64", 1).job_name(), name);
        let mut pinned = a.clone();
        pinned.spec.image = "registry.example/shop/web@sha256:0123".into();
        assert_eq!(
            JobKey::of(&pinned, "linux/amd64", 7).job_name(),
            JobKey::of(&pinned, "linux/amd64", 0).job_name()
        );
        // A rescan interval: the same Job within an interval, a new one in the next.
        let hour = std::time::Duration::from_secs(3600);
        let t = |s: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        let at = |s| JobKey::of(&a, "linux/amd64", 0).in_interval(hour, t(s));
        assert_eq!(at(7200).job_name(), at(10_799).job_name());
        assert_ne!(at(7200).job_name(), at(10_800).job_name());
        assert!(at(7200).rechecks() && !JobKey::of(&a, "linux/amd64", 0).rechecks());
        let pinned_key = JobKey::of(&pinned, "linux/amd64", 0).in_interval(hour, t(7200));
        assert!(!pinned_key.rechecks());
    }

    #[test]
    fn the_pod_meets_the_restricted_profile() {
        let job = job(&JobKey::of(&scan(SCAN), "linux/amd64", 0), &config(&[]));
        let spec = job.spec.as_ref().expect("spec");
        let pod = spec.template.spec.as_ref().expect("pod");
        assert_eq!(pod.automount_service_account_token, Some(false));
        let psc = pod.security_context.as_ref().expect("pod security context");
        assert_eq!(psc.run_as_non_root, Some(true));
        assert_eq!(psc.run_as_user, None, "no fixed UID: OpenShift assigns one");
        let c = &pod.containers[0];
        let sc = c
            .security_context
            .as_ref()
            .expect("container security context");
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.run_as_user, None);
        assert_eq!(
            sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
            Some(vec!["ALL".to_owned()])
        );
        assert_eq!(
            sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
            Some("RuntimeDefault")
        );
        assert_eq!(spec.active_deadline_seconds, Some(1800));
        assert_eq!(spec.ttl_seconds_after_finished, Some(3600));
        assert_eq!(spec.backoff_limit, Some(2));
        let limits = c
            .resources
            .as_ref()
            .and_then(|r| r.limits.clone())
            .expect("limits");
        assert!(limits.contains_key("memory") && limits.contains_key("cpu"));
    }

    #[test]
    fn pull_secrets_are_mounted_and_listed() {
        let job = job(
            &JobKey::of(&scan(SCAN), "linux/amd64", 0),
            &config(&["--analyzer-insecure-registries", "127.0.0.1:5000"]),
        );
        let pod = job.spec.and_then(|s| s.template.spec).expect("pod");
        let c = &pod.containers[0];
        let env: BTreeMap<String, Option<String>> = c
            .env
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.name, e.value))
            .collect();
        assert_eq!(
            env.get("PLIMSOLL_REGISTRY_AUTH_FILE")
                .cloned()
                .flatten()
                .as_deref(),
            Some(
                "/var/run/plimsoll/pull-secrets/0/config.json,/var/run/plimsoll/pull-secrets/1/config.json"
            )
        );
        assert_eq!(
            env.get("PLIMSOLL_INGEST_URL").cloned().flatten().as_deref(),
            Some("http://op.ns.svc:8080")
        );
        assert_eq!(
            env.get("PLIMSOLL_INSECURE_REGISTRIES")
                .cloned()
                .flatten()
                .as_deref(),
            Some("127.0.0.1:5000")
        );
        assert_eq!(
            env.get("PLIMSOLL_INGEST_TOKEN"),
            Some(&None),
            "from the Secret, not inline"
        );
        let secrets: Vec<String> = pod
            .volumes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.secret.and_then(|s| s.secret_name))
            .collect();
        assert_eq!(secrets, ["other", "regcred"]);
        assert_eq!(
            c.args.as_deref(),
            Some(&["registry.example/shop/web:1.2".to_owned()][..])
        );
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let a = new_token().expect("token");
        let b = new_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        let mut j = job(&JobKey::of(&scan(SCAN), "linux/amd64", 0), &config(&[]));
        j.metadata.uid = Some("uid-1".into());
        let s = token_secret(&j, &a);
        let owner = &s.metadata.owner_references.expect("owner")[0];
        assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("Job", "uid-1"));
        assert_eq!(
            s.string_data.and_then(|d| d.get(TOKEN_KEY).cloned()),
            Some(a)
        );
    }
}
