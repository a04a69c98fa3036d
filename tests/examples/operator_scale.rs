//! Operator scale benchmark (issue 5): 1,000 ImageScans over 100 distinct images, against the
//! API simulator, with the analyses already stored (the scans name their images by digest, so
//! no analyzer Job runs: what is measured is the operator's own work — watches, reconciles,
//! matching, policy evaluation, status writes).
//!
//! Reports: the time from the first create to all 1,000 Ready, against the floor of the same
//! run (the time the simulator takes to accept the 1,000 creates); the operator's peak RSS
//! (VmHWM); API requests the operator made per ImageScan.
//!
//! Run (needs the loopback registry, `tests/start-registries.sh DIR && . DIR/env`):
//!   cargo build --release -p plimsoll --bin plimsoll-operator --bin plimsoll \
//!       -p plimsoll-analyzer --bin plimsoll-analyzer
//!   PLIMSOLL_E2E_NO_BUILD=1 cargo run --release -p plimsoll-e2e --example operator_scale

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

use harness::{Cluster, Operator, default_bundle, push_small_image, seed_feeds};
use std::time::{Duration, Instant};

const IMAGES: usize = 100;
const SCANS: usize = 1000;
const UA: &str = "plimsoll-bench";

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn ready_count(http: &reqwest::Client, url: &str, token: &str, ns: &str) -> usize {
    let list: serde_json::Value = http
        .get(format!(
            "{url}/apis/plimsoll.dev/v1alpha1/namespaces/{ns}/imagescans"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("list JSON");
    list["items"].as_array().map_or(0, |items| {
        items
            .iter()
            .filter(|i| i["status"]["phase"] == "Ready")
            .count()
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let reg = std::env::var("PLIMSOLL_TEST_REGISTRY")
        .expect("PLIMSOLL_TEST_REGISTRY (run tests/start-registries.sh)");
    let cluster = Cluster::start().await;
    let url = cluster._sim.url().to_owned();
    let token = cluster._sim.token().to_owned();
    let db = cluster.dir.path().join("op.db").display().to_string();
    seed_feeds(&db, cluster.dir.path());
    let op = Operator::start(&cluster, &db, &[("PLIMSOLL_LOG", "warn")]).await;
    let repo = support::registry::unique_repo("bench");
    let mut digests = Vec::with_capacity(IMAGES);
    for i in 0..IMAGES {
        digests.push(push_small_image(&reg, &repo, &format!("v{i}"), 50_000 + i).await);
    }
    let http = reqwest::Client::builder()
        .user_agent(UA)
        .build()
        .expect("client");
    for ns in ["warm", "bench"] {
        cluster.namespace(ns).await;
        let _: plimsoll::crd::PolicyBundle = cluster.apply(ns, &default_bundle("default")).await;
    }
    // Warm-up: analyze the 100 images (analyzer Jobs run here, not in the measurement).
    let post = |ns: &'static str, name: String, image: String| {
        let http = http.clone();
        let url = url.clone();
        let token = token.clone();
        async move {
            let body = serde_json::json!({
                "apiVersion": "plimsoll.dev/v1alpha1", "kind": "ImageScan",
                "metadata": {"name": name},
                "spec": {"image": image, "policyBundleRef": {"name": "default"}},
            });
            let r = http
                .post(format!(
                    "{url}/apis/plimsoll.dev/v1alpha1/namespaces/{ns}/imagescans"
                ))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("create");
            assert!(r.status().is_success(), "create: {}", r.status());
        }
    };
    for (i, d) in digests.iter().enumerate() {
        post("warm", format!("w{i}"), format!("{reg}/{repo}@{d}")).await;
    }
    let warm = Instant::now();
    while ready_count(&http, &url, &token, "warm").await < IMAGES {
        assert!(
            warm.elapsed() < Duration::from_secs(900),
            "warm-up did not finish"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let warm_took = warm.elapsed();
    let before = cluster._sim.server().request_counts();

    let started = Instant::now();
    for i in 0..SCANS {
        let d = &digests[i % IMAGES];
        post("bench", format!("s{i}"), format!("{reg}/{repo}@{d}")).await;
    }
    let created = started.elapsed();
    while ready_count(&http, &url, &token, "bench").await < SCANS {
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "not all Ready after 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let all_ready = started.elapsed();
    let after = cluster._sim.server().request_counts();
    let op_requests = after.get("").copied().unwrap_or(0) - before.get("").copied().unwrap_or(0);
    let rss = vm_hwm_kib(op.pid()).unwrap_or(0);
    println!(
        "warm-up (100 analyses by Jobs): {:.1} s",
        warm_took.as_secs_f64()
    );
    println!("{SCANS} ImageScans over {IMAGES} stored images:");
    println!(
        "  creates accepted (floor):   {:.2} s",
        created.as_secs_f64()
    );
    println!(
        "  all Ready:                  {:.2} s  ({:.2}x the floor)",
        all_ready.as_secs_f64(),
        all_ready.as_secs_f64() / created.as_secs_f64()
    );
    println!(
        "  operator peak RSS (VmHWM):  {:.1} MiB",
        rss as f64 / 1024.0
    );
    println!(
        "  operator API requests:      {op_requests} ({:.2} per ImageScan)",
        op_requests as f64 / SCANS as f64
    );
}
