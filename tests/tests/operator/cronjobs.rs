//! The operator's CronJobs end to end: the real operator creates `plimsoll-feed-sync` and
//! `plimsoll-watch` (restricted pods, Forbid, history limits, suspend honoured), a manual run
//! (`kubectl create job --from=cronjob/…`) of each runs the real `plimsoll cron …` in the
//! simulator and reaches the operator's ingest API with the token from the Secret, and a
//! restart with another configuration updates the CronJobs and rotates the token.

use super::harness::{Cluster, Operator, repo, run_manually};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use std::time::{Duration, Instant};

const NS: &str = "default";
const WAIT: Duration = Duration::from_secs(120);

/// Both CronJobs, once the operator has applied them with `suspend == suspended`.
async fn cronjobs(cluster: &Cluster, op: &Operator, suspended: bool) -> (CronJob, CronJob) {
    let api: Api<CronJob> = Api::namespaced(cluster.client.clone(), NS);
    let start = Instant::now();
    loop {
        let feed = api.get_opt("plimsoll-feed-sync").await.expect("get");
        let watch = api.get_opt("plimsoll-watch").await.expect("get");
        if let (Some(f), Some(w)) = (feed, watch)
            && [&f, &w]
                .iter()
                .all(|c| c.spec.as_ref().and_then(|s| s.suspend) == Some(suspended))
        {
            return (f, w);
        }
        assert!(
            start.elapsed() < WAIT,
            "the CronJobs did not appear (suspend={suspended}):\n{}",
            op.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The token the operator wrote for its CronJobs.
async fn token(cluster: &Cluster) -> String {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), NS);
    let secret = api
        .get("plimsoll-cronjob-token")
        .await
        .expect("the token Secret");
    let data = secret.data.expect("data");
    String::from_utf8(data["token"].0.clone()).expect("UTF-8 token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_owns_restricted_cronjobs_that_push_feeds_and_request_watches() {
    let cluster = Cluster::start().await;
    let db = cluster.dir.path().join("op.db").display().to_string();
    // A directory of real OSV records (the bundled slices of PyPI and GHSA npm). Not under
    // /tmp: the simulator rewrites paths under the pod's mounts (`/tmp` is one) in env values.
    let feeds_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let feeds = feeds_dir.path().join("feeds");
    std::fs::create_dir_all(&feeds).expect("mkdir");
    for f in ["pypi-pysec-slice.jsonl", "ghsa-npm-lodash.jsonl"] {
        std::fs::copy(
            repo().join("operator/tests/data/osv").join(f),
            feeds.join(f),
        )
        .expect("copy");
    }
    let feeds_spec = feeds.display().to_string();
    let mut op = Operator::start(
        &cluster,
        &db,
        &[
            ("PLIMSOLL_FEED_SOURCES", &feeds_spec),
            ("PLIMSOLL_SUSPEND_CRONJOBS", "true"),
        ],
    )
    .await;

    let (feed, watch) = cronjobs(&cluster, &op, true).await;
    for (cj, component) in [(&feed, "feed-sync"), (&watch, "watch")] {
        let spec = cj.spec.as_ref().expect("spec");
        assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
        assert_eq!(spec.successful_jobs_history_limit, Some(3));
        assert_eq!(spec.failed_jobs_history_limit, Some(3));
        let pod_labels = spec
            .job_template
            .spec
            .as_ref()
            .and_then(|j| j.template.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .expect("pod labels");
        assert_eq!(pod_labels["app.kubernetes.io/component"], component);
        let pod = spec
            .job_template
            .spec
            .as_ref()
            .and_then(|j| j.template.spec.clone())
            .expect("pod");
        assert_eq!(pod.automount_service_account_token, Some(false));
        let sc = pod.containers[0]
            .security_context
            .clone()
            .expect("restricted");
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
    }
    assert_eq!(
        feed.spec.as_ref().map(|s| s.schedule.as_str()),
        Some("17 */6 * * *")
    );

    // A manual run of the suspended feed sync: the records reach the operator's store.
    let log = run_manually(&cluster, &op, &feed, "feed-sync-by-hand").await;
    assert!(log.contains("synced 9 records; pushed: 9 new"), "{log}");
    let token = token(&cluster).await;
    let http = reqwest::Client::new();
    let sources: serde_json::Value = http
        .get(format!("{}/ingest/v1/feeds", op.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET feeds")
        .json()
        .await
        .expect("JSON");
    let source = sources["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == feeds_spec.as_str()))
        .unwrap_or_else(|| panic!("the pushed source: {sources}"));
    assert_eq!(source["records"], 9, "{source}");
    assert_eq!(source["kind"], "path");
    assert!(source["lastError"].is_null(), "{source}");
    // Again: nothing changed, nothing uploaded.
    let log = run_manually(&cluster, &op, &feed, "feed-sync-again").await;
    assert!(
        log.contains("synced 9 records; unchanged, not uploaded"),
        "{log}"
    );

    // The watch run reaches the operator.
    let log = run_manually(&cluster, &op, &watch, "watch-by-hand").await;
    assert!(log.contains("{\"accepted\":true}"), "{log}");
    assert!(
        op.logs()
            .contains("the watch CronJob asked for a check of every followed tag"),
        "{}",
        op.logs()
    );

    // A restart with another configuration updates the CronJobs and rotates the token.
    let port = op.port;
    op.kill();
    let op = Operator::start_on(
        &cluster,
        &db,
        port,
        &[
            ("PLIMSOLL_FEED_SOURCES", &feeds_spec),
            ("PLIMSOLL_SUSPEND_CRONJOBS", "false"),
            ("PLIMSOLL_WATCH_SCHEDULE", "@daily"),
        ],
    )
    .await;
    let (_, watch) = cronjobs(&cluster, &op, false).await;
    assert_eq!(
        watch.spec.as_ref().map(|s| s.schedule.as_str()),
        Some("@daily")
    );
    let start = Instant::now();
    let rotated = loop {
        let t = self::token(&cluster).await;
        if t != token {
            break t;
        }
        assert!(start.elapsed() < WAIT, "the token was not rotated");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let status = |t: String| {
        let http = http.clone();
        let url = format!("{}/ingest/v1/watch", op.url);
        async move {
            http.post(url)
                .bearer_auth(t)
                .send()
                .await
                .expect("POST watch")
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(token).await, 401, "the old token is refused");
    assert_eq!(status(rotated).await, 202);
}
