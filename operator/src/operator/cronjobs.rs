//! The two CronJobs the operator owns, in its own namespace: `plimsoll-feed-sync` (runs
//! `plimsoll cron feed-sync`: syncs the feeds in its own pod, the only one that needs egress to
//! the feed sources, and pushes them to the ingest API) and `plimsoll-watch` (runs
//! `plimsoll cron watch`: asks the operator to check every followed tag). The builders are
//! sans-IO; [`ensure`] writes them.
//!
//! Traps:
//! - The pods meet Pod Security "restricted" exactly like analyzer pods (the same security
//!   contexts), with a read-only root filesystem: the feed sync's scratch store lives in the
//!   `/tmp` emptyDir.
//! - Labels go on the CronJob, the Job template and the pod template: the chart's NetworkPolicy
//!   admits pods by `app.kubernetes.io/component`, and `kubectl create job --from=cronjob/…`
//!   copies the Job template's labels only.
//! - Nothing in the pod depends on the Job's name, so a manual run works like a scheduled one.
//! - The token: a fresh one each time a replica takes the lead, written to the Secret
//!   `plimsoll-cronjob-token` and mounted as a file (a rotated Secret reaches running pods; an
//!   environment variable would not). The operator may create and delete Secrets but never read
//!   them: the Secret is replaced by delete + create, and only the token's SHA-256 is kept
//!   (`Context::cronjob_token_sha256`).
//! - The CronJobs are server-side applied with force by the field manager `plimsoll-operator`:
//!   a changed schedule, source list or `--suspend-cronjobs` reaches the existing objects, and
//!   fields an older operator set but this one no longer does are removed.

use super::analyzer_job::{
    self, MANAGED_BY, MANAGED_BY_LABEL, env, new_token, restricted_container, restricted_pod, secs,
    token_hash,
};
use super::config::OperatorArgs;
use super::context::Context;
use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, KeyToPath, PodSpec, PodTemplateSpec, Secret,
    SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const FEED_SYNC_NAME: &str = "plimsoll-feed-sync";
pub const WATCH_NAME: &str = "plimsoll-watch";
/// The Secret holding the CronJobs' token, and its key.
pub const TOKEN_SECRET: &str = "plimsoll-cronjob-token";
pub const TOKEN_KEY: &str = analyzer_job::TOKEN_KEY;
/// Where the token Secret is mounted in the CronJobs' pods.
pub const TOKEN_DIR: &str = "/var/run/plimsoll/cronjob-token";
/// The field manager of the operator's server-side applies.
pub const FIELD_MANAGER: &str = "plimsoll-operator";
/// The `plimsoll` CLI in the operator image.
const CLI: &str = "/usr/local/bin/plimsoll";
/// Kept finished Jobs of each kind.
const HISTORY: i32 = 3;
/// A run that could not start within this long after its time is skipped.
const STARTING_DEADLINE: i64 = 600;
const BACKOFF_LIMIT: i32 = 2;
/// Finished Jobs stay a day for `kubectl logs` (the history limits apply before that).
const JOB_TTL: i32 = 86_400;
/// A feed sync downloads and parses every source: generous.
const FEED_SYNC_DEADLINE: Duration = Duration::from_secs(2 * 3600);
const WATCH_DEADLINE: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("creating the CronJobs' token: {0}")]
    Token(getrandom::Error),
    #[error("recording the CronJobs' token: {0}")]
    Store(#[from] crate::store::Error),
    #[error("{0}: it still existed after five deletions")]
    Conflict(String),
    #[error("{what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
}

fn kube_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let what = what.into();
    move |source| Error::Kube { what, source }
}

/// The name of the CronJobs' token hash in the store.
pub const TOKEN_NAME: &str = "cronjobs";

/// `app.kubernetes.io/*` labels of a CronJob, its Jobs and their pods.
pub fn labels(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "plimsoll".to_owned()),
        (
            analyzer_job::COMPONENT_LABEL.to_owned(),
            component.to_owned(),
        ),
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
    ])
}

/// The feed-sync CronJob.
pub fn feed_sync(config: &OperatorArgs) -> CronJob {
    let mut extra = Vec::new();
    if !config.feed_sources.0.is_empty() {
        extra.push(env(
            "PLIMSOLL_FEED_SOURCES",
            config.feed_sources.0.join(","),
        ));
    }
    if let Some(mirror) = &config.feed_mirror_url {
        extra.push(env("PLIMSOLL_FEED_MIRROR_URL", mirror.expose().as_str()));
    }
    cronjob(
        config,
        FEED_SYNC_NAME,
        "feed-sync",
        config.feed_sync_schedule.as_str(),
        FEED_SYNC_DEADLINE,
        extra,
    )
}

/// The watch CronJob.
pub fn watch(config: &OperatorArgs) -> CronJob {
    cronjob(
        config,
        WATCH_NAME,
        "watch",
        config.watch_schedule.as_str(),
        WATCH_DEADLINE,
        Vec::new(),
    )
}

fn cronjob(
    config: &OperatorArgs,
    name: &str,
    component: &str,
    schedule: &str,
    deadline: Duration,
    extra_env: Vec<EnvVar>,
) -> CronJob {
    let mut env_vars = vec![
        env(
            "PLIMSOLL_INGEST_URL",
            config.ingest_url.as_str().trim_end_matches('/'),
        ),
        env(
            "PLIMSOLL_INGEST_TOKEN_FILE",
            format!("{TOKEN_DIR}/{TOKEN_KEY}"),
        ),
        env("TMPDIR", "/tmp"),
        env("HOME", "/tmp"),
        env("PLIMSOLL_LOG", "info"),
    ];
    env_vars.extend(extra_env);
    let container = Container {
        name: component.to_owned(),
        image: Some(config.cronjob_image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec![CLI.to_owned()]),
        args: Some(vec!["cron".to_owned(), component.to_owned()]),
        env: Some(env_vars),
        resources: Some(analyzer_job::resources(config)),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "tmp".into(),
                mount_path: "/tmp".into(),
                ..Default::default()
            },
            VolumeMount {
                name: "token".into(),
                mount_path: TOKEN_DIR.into(),
                read_only: Some(true),
                ..Default::default()
            },
        ]),
        security_context: Some(restricted_container()),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Default::default()
    };
    let pod = PodSpec {
        restart_policy: Some("Never".into()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        security_context: Some(restricted_pod()),
        containers: vec![container],
        volumes: Some(vec![
            Volume {
                name: "tmp".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    size_limit: Some(config.analyzer_scratch_size.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Volume {
                name: "token".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(TOKEN_SECRET.into()),
                    items: Some(vec![KeyToPath {
                        key: TOKEN_KEY.into(),
                        path: TOKEN_KEY.into(),
                        mode: None,
                    }]),
                    optional: Some(false),
                    // Readable by the pod's (arbitrary, non-root) user without an fsGroup.
                    default_mode: Some(0o444),
                }),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    let meta = |name: Option<String>, namespace: Option<String>| ObjectMeta {
        name,
        namespace,
        labels: Some(labels(component)),
        ..Default::default()
    };
    CronJob {
        metadata: meta(Some(name.to_owned()), Some(config.pod_namespace.clone())),
        spec: Some(CronJobSpec {
            schedule: schedule.to_owned(),
            concurrency_policy: Some("Forbid".into()),
            suspend: Some(config.suspend_cronjobs),
            successful_jobs_history_limit: Some(HISTORY),
            failed_jobs_history_limit: Some(HISTORY),
            starting_deadline_seconds: Some(STARTING_DEADLINE),
            job_template: JobTemplateSpec {
                metadata: Some(meta(None, None)),
                spec: Some(JobSpec {
                    backoff_limit: Some(BACKOFF_LIMIT),
                    active_deadline_seconds: Some(secs(deadline)),
                    ttl_seconds_after_finished: Some(JOB_TTL),
                    template: PodTemplateSpec {
                        metadata: Some(meta(None, None)),
                        spec: Some(pod),
                    },
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

/// The Secret holding the CronJobs' token.
pub fn token_secret(config: &OperatorArgs, token: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(TOKEN_SECRET.into()),
            namespace: Some(config.pod_namespace.clone()),
            labels: Some(labels("cronjob-token")),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            TOKEN_KEY.to_owned(),
            ByteString(token.as_bytes().to_vec()),
        )])),
        ..Default::default()
    }
}

/// Creates the token Secret (replacing an older one), remembers the token's hash, and applies
/// both CronJobs. Called when this replica starts to lead.
pub async fn ensure(
    client: &kube::Client,
    config: &OperatorArgs,
    ctx: &Context,
) -> Result<(), Error> {
    let token = new_token().map_err(Error::Token)?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &config.pod_namespace);
    // The store first: a replica that finds the new token in a request checks it there.
    ctx.store
        .set_service_token(TOKEN_NAME, &token_hash(&token))
        .await?;
    replace_secret(&secrets, &token_secret(config, &token)).await?;
    if let Ok(mut hash) = ctx.cronjob_token_sha256.write() {
        *hash = Some(token_hash(&token));
    }
    let cronjobs: Api<CronJob> = Api::namespaced(client.clone(), &config.pod_namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for cj in [feed_sync(config), watch(config)] {
        let name = cj.metadata.name.clone().unwrap_or_default();
        cronjobs
            .patch(&name, &params, &Patch::Apply(&cj))
            .await
            .map_err(kube_err(format!(
                "applying CronJob {}/{name}",
                config.pod_namespace
            )))?;
    }
    tracing::info!(namespace = %config.pod_namespace, suspended = config.suspend_cronjobs, "CronJobs {FEED_SYNC_NAME} and {WATCH_NAME} applied");
    Ok(())
}

/// [`ensure`], retried with backoff (1 s doubling to a minute) until it succeeds: a missing
/// namespace or a transient API error must not stop the operator, only delay its CronJobs.
pub async fn ensure_until_done(client: kube::Client, ctx: Arc<Context>) {
    let mut delay = Duration::from_secs(1);
    loop {
        match ensure(&client, &ctx.config, &ctx).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?delay, "the CronJobs could not be set up");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// Create, or delete and create: the operator cannot read Secrets, so it cannot patch one it
/// does not own the fields of, and a stale token must go.
async fn replace_secret(api: &Api<Secret>, secret: &Secret) -> Result<(), Error> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let what = || format!("writing Secret {name}");
    for _ in 0..5 {
        match api.create(&PostParams::default(), secret).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(kube_err(what())(e)),
                }
            }
            Err(e) => return Err(kube_err(what())(e)),
        }
    }
    Err(Error::Conflict(what()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(extra: &[&str]) -> OperatorArgs {
        let mut args = vec![
            "plimsoll-operator",
            "--ingest-url",
            "http://plimsoll.plimsoll.svc:8080/",
            "--pod-namespace",
            "plimsoll",
        ];
        args.extend_from_slice(extra);
        OperatorArgs::try_parse_from(args).expect("config")
    }

    fn env_of(cj: &CronJob) -> BTreeMap<String, String> {
        pod(cj).containers[0]
            .env
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.name, e.value.unwrap_or_default()))
            .collect()
    }

    fn pod(cj: &CronJob) -> PodSpec {
        cj.spec
            .as_ref()
            .and_then(|s| s.job_template.spec.as_ref())
            .and_then(|j| j.template.spec.clone())
            .expect("pod spec")
    }

    #[test]
    fn both_cronjobs_are_restricted_forbid_concurrency_and_keep_three() {
        let config = config(&[]);
        for (cj, name, component, schedule) in [
            (
                feed_sync(&config),
                FEED_SYNC_NAME,
                "feed-sync",
                "17 */6 * * *",
            ),
            (watch(&config), WATCH_NAME, "watch", "*/30 * * * *"),
        ] {
            assert_eq!(cj.metadata.name.as_deref(), Some(name));
            assert_eq!(cj.metadata.namespace.as_deref(), Some("plimsoll"));
            let spec = cj.spec.as_ref().expect("spec");
            assert_eq!(spec.schedule, schedule);
            assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
            assert_eq!(spec.suspend, Some(false));
            assert_eq!(
                (
                    spec.successful_jobs_history_limit,
                    spec.failed_jobs_history_limit
                ),
                (Some(3), Some(3))
            );
            assert_eq!(spec.starting_deadline_seconds, Some(600));
            let job = spec.job_template.spec.as_ref().expect("job spec");
            assert!(job.active_deadline_seconds.is_some_and(|s| s > 0));
            assert_eq!(job.backoff_limit, Some(2));
            assert_eq!(job.ttl_seconds_after_finished, Some(86_400));
            // The labels the NetworkPolicy selects, on every level.
            for labels in [
                cj.metadata.labels.as_ref(),
                spec.job_template
                    .metadata
                    .as_ref()
                    .and_then(|m| m.labels.as_ref()),
                job.template
                    .metadata
                    .as_ref()
                    .and_then(|m| m.labels.as_ref()),
            ] {
                let labels = labels.expect("labels");
                assert_eq!(labels["app.kubernetes.io/name"], "plimsoll");
                assert_eq!(labels["app.kubernetes.io/component"], component);
                assert_eq!(labels["app.kubernetes.io/managed-by"], "plimsoll-operator");
            }
            let pod = pod(&cj);
            assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
            assert_eq!(pod.automount_service_account_token, Some(false));
            let psc = pod.security_context.as_ref().expect("pod security context");
            assert_eq!((psc.run_as_non_root, psc.run_as_user), (Some(true), None));
            assert_eq!(
                psc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
                Some("RuntimeDefault")
            );
            let c = &pod.containers[0];
            let sc = c
                .security_context
                .as_ref()
                .expect("container security context");
            assert_eq!(sc.allow_privilege_escalation, Some(false));
            assert_eq!(sc.read_only_root_filesystem, Some(true));
            assert_eq!((sc.run_as_non_root, sc.run_as_user), (Some(true), None));
            assert_eq!(
                sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
                Some(vec!["ALL".to_owned()])
            );
            assert_eq!(
                sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
                Some("RuntimeDefault")
            );
            let limits = c
                .resources
                .as_ref()
                .and_then(|r| r.limits.clone())
                .expect("limits");
            assert!(
                ["cpu", "memory", "ephemeral-storage"]
                    .iter()
                    .all(|k| limits.contains_key(*k))
            );
            assert_eq!(
                c.command.as_deref(),
                Some(&["/usr/local/bin/plimsoll".to_owned()][..])
            );
            assert_eq!(
                c.args.as_deref(),
                Some(&["cron".to_owned(), component.to_owned()][..])
            );
            let tmp = pod
                .volumes
                .iter()
                .flatten()
                .find(|v| v.name == "tmp")
                .and_then(|v| v.empty_dir.as_ref())
                .expect("an emptyDir /tmp");
            assert!(tmp.size_limit.is_some());
            let token = pod
                .volumes
                .iter()
                .flatten()
                .find_map(|v| v.secret.as_ref())
                .expect("the token volume");
            assert_eq!(token.secret_name.as_deref(), Some(TOKEN_SECRET));
            let env = env_of(&cj);
            assert_eq!(
                env["PLIMSOLL_INGEST_URL"],
                "http://plimsoll.plimsoll.svc:8080"
            );
            assert_eq!(
                env["PLIMSOLL_INGEST_TOKEN_FILE"],
                "/var/run/plimsoll/cronjob-token/token"
            );
            assert!(
                !serde_json::to_string(&cj)
                    .expect("JSON")
                    .contains("job-name"),
                "nothing depends on the Job's name"
            );
        }
    }

    #[test]
    fn configuration_reaches_the_cronjobs() {
        let plain = env_of(&feed_sync(&config(&[])));
        assert!(
            !plain.contains_key("PLIMSOLL_FEED_SOURCES"),
            "default: the CLI's OSV defaults"
        );
        assert!(!plain.contains_key("PLIMSOLL_FEED_MIRROR_URL"));
        let config = config(&[
            "--feed-sources",
            "osv:PyPI,npm,/data/feeds",
            "--feed-mirror-url",
            "https://u:s3cret@mirror.example/osv",
            "--feed-sync-schedule",
            "@hourly",
            "--watch-schedule",
            "*/5 * * * *",
            "--suspend-cronjobs",
            "true",
            "--cronjob-image",
            "registry.example/plimsoll/operator:dev",
        ]);
        let feed = feed_sync(&config);
        let env = env_of(&feed);
        assert_eq!(env["PLIMSOLL_FEED_SOURCES"], "osv:PyPI,npm,/data/feeds");
        assert_eq!(
            env["PLIMSOLL_FEED_MIRROR_URL"],
            "https://u:s3cret@mirror.example/osv"
        );
        let w = watch(&config);
        assert!(!env_of(&w).contains_key("PLIMSOLL_FEED_SOURCES"));
        for (cj, schedule) in [(&feed, "@hourly"), (&w, "*/5 * * * *")] {
            let spec = cj.spec.as_ref().expect("spec");
            assert_eq!(spec.schedule, schedule);
            assert_eq!(spec.suspend, Some(true));
            assert_eq!(
                pod(cj).containers[0].image.as_deref(),
                Some("registry.example/plimsoll/operator:dev")
            );
        }
        let json = serde_json::to_value(&feed).expect("JSON");
        assert_eq!(
            json["apiVersion"], "batch/v1",
            "server-side apply needs the type"
        );
        assert_eq!(json["kind"], "CronJob");
    }

    #[test]
    fn the_token_secret_holds_the_token_only() {
        let s = token_secret(&config(&[]), "abc123");
        assert_eq!(s.metadata.name.as_deref(), Some(TOKEN_SECRET));
        assert_eq!(s.metadata.namespace.as_deref(), Some("plimsoll"));
        let data = s.data.expect("data");
        assert_eq!(data.keys().collect::<Vec<_>>(), ["token"]);
        assert_eq!(data["token"].0, b"abc123");
    }
}
