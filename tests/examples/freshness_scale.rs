//! Freshness benchmark (issue 6): 1,000 ImageScans over 100 stored images, then a feed push
//! (the real feed-sync CronJob, run by hand) that adds two real PyPI advisories for a package
//! every image holds.
//!
//! Reports: how many stored analyses were matched again (the images, not the scans: one per
//! digest); the time from the push to all 1,000 statuses showing the new counts, against the
//! floor of the same run (the time the 1,000 scans took to reach their first verdict from the
//! same stored analyses); the notifications of a Subscription over 100 of the scans: how long
//! until all were delivered, and the most requests the webhook saw in any one second (the
//! per-sink rate limit, default 10/s).
//!
//! Run (needs the loopback registry, `tests/start-registries.sh DIR && . DIR/env`):
//!   cargo build --release -p plimsoll --bin plimsoll-operator --bin plimsoll \
//!       -p plimsoll-analyzer --bin plimsoll-analyzer
//!   PLIMSOLL_E2E_NO_BUILD=1 cargo run --release -p plimsoll-e2e --example freshness_scale

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark's report"
)]

#[path = "../../analyzer/tests/support/mod.rs"]
mod support;

#[allow(dead_code, reason = "shared with the end-to-end tests")]
#[path = "../tests/operator/harness.rs"]
mod harness;

#[allow(dead_code, reason = "shared with the end-to-end tests")]
#[path = "../tests/operator/receiver.rs"]
mod receiver;

use harness::{Cluster, Operator, cronjob, default_bundle, push_small_image, repo, run_manually};
use kube::api::Api;
use std::time::{Duration, Instant};

const IMAGES: usize = 100;
const SCANS: usize = 1000;
/// Scans selected by the Subscription (one per image).
const SUBSCRIBED: usize = 100;
const LIMIT: Duration = Duration::from_secs(900);

fn records(ids: &[&str]) -> String {
    let text =
        std::fs::read_to_string(repo().join("operator/tests/data/osv/pypi-pysec-slice.jsonl"))
            .expect("PyPI slice");
    text.lines()
        .filter(|l| {
            ids.iter()
                .any(|id| l.contains(&format!("\"id\": \"{id}\"")))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Scans of `ns` for which `done` holds.
async fn count(cluster: &Cluster, ns: &str, done: impl Fn(&serde_json::Value) -> bool) -> usize {
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        ns,
        &kube::api::ApiResource::erase::<plimsoll::crd::ImageScan>(&()),
    );
    let list = api.list(&Default::default()).await.expect("list scans");
    list.items
        .iter()
        .filter(|o| done(&o.data["status"]))
        .count()
}

fn total(status: &serde_json::Value) -> u64 {
    let v = &status["vulnerabilities"];
    ["critical", "high", "medium", "low", "negligible", "unknown"]
        .iter()
        .filter_map(|k| v[*k].as_u64())
        .sum()
}

async fn metric(op: &Operator, name: &str) -> f64 {
    op.metrics()
        .await
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let reg = std::env::var("PLIMSOLL_TEST_REGISTRY")
        .expect("PLIMSOLL_TEST_REGISTRY (run tests/start-registries.sh)");
    let cluster = Cluster::start().await;
    let db = cluster.dir.path().join("op.db").display().to_string();
    // Not under /tmp: the simulator rewrites paths under a pod's /tmp mount.
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(std::path::Path::to_path_buf))
        .expect("the example's directory");
    let feed = tempfile::tempdir_in(exe_dir).expect("feed dir");
    std::fs::write(feed.path().join("pypi.jsonl"), records(&["PYSEC-2020-341"])).expect("feed");
    let feed_arg = feed.path().display().to_string();
    let op = Operator::start(
        &cluster,
        &db,
        &[
            ("PLIMSOLL_LOG", "warn"),
            ("PLIMSOLL_FEED_SOURCES", &feed_arg),
        ],
    )
    .await;
    run_manually(
        &cluster,
        &op,
        &cronjob(&cluster, "plimsoll-feed-sync").await,
        "sync-1",
    )
    .await;

    let hook = receiver::Receiver::start().await;
    cluster.namespace("bench").await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("bench", &default_bundle("default")).await;
    let _: k8s_openapi::api::core::v1::Secret = cluster
        .apply(
            "bench",
            &serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hook"},
                "stringData": {"url": format!("{}/hook", hook.url)}}),
        )
        .await;
    let _: plimsoll::crd::Subscription = cluster
        .apply(
            "bench",
            &serde_json::json!({"apiVersion": "plimsoll.dev/v1alpha1", "kind": "Subscription",
                "metadata": {"name": "team"},
                "spec": {"images": {"selector": {"matchLabels": {"team": "a"}}},
                         "events": ["vuln_update"],
                         "sinks": {"webhook": {"urlSecretRef": {"name": "hook", "key": "url"}}}}}),
        )
        .await;
    let repo_name = support::registry::unique_repo("fresh-bench");
    let mut digests = Vec::with_capacity(IMAGES);
    for i in 0..IMAGES {
        digests.push(push_small_image(&reg, &repo_name, &format!("v{i}"), 60_000 + i).await);
    }
    // Warm-up: one scan per image runs its analyzer Job (not measured).
    let scan = |i: usize| {
        let labels = if i < SUBSCRIBED {
            serde_json::json!({"team": "a"})
        } else {
            serde_json::json!({})
        };
        serde_json::json!({"apiVersion": "plimsoll.dev/v1alpha1", "kind": "ImageScan",
            "metadata": {"name": format!("s{i}"), "labels": labels},
            "spec": {"image": format!("{reg}/{repo_name}@{}", digests[i % IMAGES]),
                     "policyBundleRef": {"name": "default"}}})
    };
    for i in 0..IMAGES {
        let _: plimsoll::crd::ImageScan = cluster.apply("bench", &scan(i)).await;
    }
    let warm = Instant::now();
    while count(&cluster, "bench", |s| s["phase"] == "Ready").await < IMAGES {
        assert!(warm.elapsed() < LIMIT, "warm-up did not finish");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The floor: the other 900 scans' first verdicts, from stored analyses.
    let first = Instant::now();
    for i in IMAGES..SCANS {
        let _: plimsoll::crd::ImageScan = cluster.apply("bench", &scan(i)).await;
    }
    while count(&cluster, "bench", |s| s["phase"] == "Ready").await < SCANS {
        assert!(first.elapsed() < LIMIT, "not all Ready");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let first_verdicts = first.elapsed();
    assert_eq!(count(&cluster, "bench", |s| total(s) == 0).await, SCANS);
    let rematched_before = metric(&op, "plimsoll_feed_rematches_total").await;

    // The feed gains PYSEC-2018-28 and PYSEC-2023-74 (requests 2.19.1 in every image).
    std::fs::write(
        feed.path().join("pypi.jsonl"),
        records(&["PYSEC-2020-341", "PYSEC-2018-28", "PYSEC-2023-74"]),
    )
    .expect("feed");
    let pushed = Instant::now();
    run_manually(
        &cluster,
        &op,
        &cronjob(&cluster, "plimsoll-feed-sync").await,
        "sync-2",
    )
    .await;
    let push_took = pushed.elapsed();
    while count(&cluster, "bench", |s| total(s) == 2).await < SCANS {
        assert!(pushed.elapsed() < LIMIT, "statuses not refreshed");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let refreshed = pushed.elapsed();
    let got = hook
        .wait_for("the notifications", LIMIT, &String::new, |r| {
            r.len() >= SUBSCRIBED
        })
        .await;
    let notified = pushed.elapsed();
    let rematched = metric(&op, "plimsoll_feed_rematches_total").await - rematched_before;
    let peak = got
        .iter()
        .map(|a| {
            got.iter()
                .filter(|b| b.at >= a.at && b.at < a.at + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = hook.requests();

    println!(
        "{SCANS} ImageScans over {IMAGES} stored images; a feed push adding 2 advisories to a package of every image:"
    );
    println!(
        "  first verdicts of 900 scans (floor):   {:.2} s",
        first_verdicts.as_secs_f64()
    );
    println!(
        "  feed-sync Job (sync + push):           {:.2} s",
        push_took.as_secs_f64()
    );
    println!(
        "  push to all 1,000 statuses refreshed:  {:.2} s  ({:.2}x the floor for 1.11x the scans)",
        refreshed.as_secs_f64(),
        refreshed.as_secs_f64() / first_verdicts.as_secs_f64()
    );
    println!("  stored analyses matched again:         {rematched} (one per image, none per scan)");
    println!(
        "  {SUBSCRIBED} vuln_update notifications delivered: {:.2} s after the push; {} requests in all, at most {peak} in one second",
        notified.as_secs_f64(),
        all.len()
    );
}
