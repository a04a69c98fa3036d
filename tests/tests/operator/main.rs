//! End-to-end tests of the operator: the real `plimsoll-operator` binary against the Kubernetes
//! API simulator (see `tests/SIMULATOR.md` for what it does and does not prove), analyzer Jobs
//! run as local processes of the real `plimsoll-analyzer`, real images in the loopback test
//! registry (`tests/start-registries.sh`), real OSV records (`operator/tests/data/osv`).

#[path = "../../../analyzer/tests/support/mod.rs"]
mod support;

mod cronjobs;
mod freshness;
mod harness;
mod receiver;

use harness::{
    Cluster, Operator, condition, default_bundle, image_scan, phase, push_layout, push_small_image,
    registry, repo, seed_feeds, settled,
};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(180);

fn db_in(cluster: &Cluster, name: &str) -> String {
    cluster.dir.path().join(name).display().to_string()
}

fn demo_layout() -> std::path::PathBuf {
    repo().join("examples/demo-image/layout")
}

/// The verdict `plimsoll scan` gives for the same image with the same feeds: final action,
/// STOP rows, WARN rows (rows not whitelisted).
fn cli_verdict(image: &str, db: &str, home: &std::path::Path) -> (String, u32, u32) {
    let out = std::process::Command::new(harness::binary("plimsoll"))
        .args(["scan", image, "--policy"])
        .arg(repo().join("examples/policies/anchore-default.json"))
        .args(["--db", db, "-o", "json", "--insecure-registry"])
        .arg(image.split('/').next().unwrap_or_default())
        .env("HOME", home)
        .env("PLIMSOLL_LOG", "error")
        .output()
        .expect("run plimsoll scan");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "plimsoll scan output is not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let rows = v["rows"].as_array().cloned().unwrap_or_default();
    let count = |a: &str| {
        u32::try_from(
            rows.iter()
                .filter(|r| r["action"] == a && r.get("whitelisted").is_none_or(|w| w.is_null()))
                .count(),
        )
        .unwrap_or(u32::MAX)
    };
    (
        v["final_action"].as_str().unwrap_or_default().to_owned(),
        count("STOP"),
        count("WARN"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_and_scans_reach_the_verdict_the_cli_gives() {
    let Some(reg) = registry("PLIMSOLL_TEST_REGISTRY") else {
        return;
    };
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    seed_feeds(&db, cluster.dir.path());
    let op = Operator::start(&cluster, &db, &[]).await;
    let repo_name = support::registry::unique_repo("e2e-demo");
    let digest = push_layout(&demo_layout(), &reg, &repo_name, "1", None).await;
    let image = format!("{reg}/{repo_name}:1");
    cluster.namespace("shop").await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("shop", &default_bundle("default")).await;
    let _: plimsoll::crd::ImageScan = cluster
        .apply("shop", &image_scan("demo", &image, "default"))
        .await;

    let bundle = tokio::time::timeout(LONG, async {
        loop {
            let b = cluster
                .bundles("shop")
                .get("default")
                .await
                .expect("bundle");
            if b.status.as_ref().and_then(|s| s.valid).is_some() {
                return b;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("bundle validated");
    let bs = bundle.status.expect("status");
    assert_eq!(bs.valid, Some(true), "{bs:?}");
    assert!(bs.rule_count.is_some_and(|n| n > 0));
    assert!(
        bs.digest
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:"))
    );

    let scan = cluster.wait_scan("shop", "demo", LONG, settled).await;
    let st = scan.status.clone().expect("status");
    assert_eq!(
        phase(&scan).as_deref(),
        Some("Ready"),
        "{st:?}\n{}",
        op.logs()
    );
    assert_eq!(st.digest.as_deref(), Some(digest.as_str()));
    assert_eq!(st.short_digest.as_deref(), Some(&digest[..19]));
    for c in ["Resolved", "Analyzed", "Evaluated", "Ready"] {
        assert_eq!(
            condition(&scan, c).map(|c| c.0),
            Some("True".to_owned()),
            "{c}: {st:?}"
        );
    }
    // The demo image's matches with the test slices (see operator/tests/cli_vulns.rs): 11
    // vulnerabilities over requests, lodash, libexpat1, libssl3 and libpam0g.
    let counts = st.vulnerabilities.expect("counts");
    let total = counts.critical
        + counts.high
        + counts.medium
        + counts.low
        + counts.negligible
        + counts.unknown;
    assert_eq!(total, 11, "{counts:?}");
    let verdict = st.verdict.clone().expect("verdict");
    let home = tempfile::tempdir().expect("home");
    let cli_db = home.path().join("cli.db").display().to_string();
    seed_feeds(&cli_db, home.path());
    let (action, stops, warns) = cli_verdict(&image, &cli_db, home.path());
    assert_eq!(
        verdict.final_action.as_str(),
        action,
        "the operator and the CLI agree"
    );
    assert_eq!((verdict.stop_count, verdict.warn_count), (stops, warns));
    assert!(verdict.top_rows.len() <= 20);
    assert!(
        st.analyzer_version.is_some()
            && st.last_evaluated_at.is_some()
            && st.feeds_updated_at.is_some()
    );
    let size = serde_json::to_vec(&st).expect("status JSON").len();
    assert!(size < 16 * 1024, "status is {size} bytes");

    // The read API serves what the status summarises.
    let http = reqwest::Client::new();
    let vulns: serde_json::Value = http
        .get(format!("{}/api/v1/images/{digest}/vulnerabilities", op.url))
        .send()
        .await
        .expect("GET vulnerabilities")
        .json()
        .await
        .expect("JSON");
    let ids: BTreeSet<String> = vulns["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| m["vulnId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        ids.contains("CVE-2018-18074") && ids.contains("CVE-2024-22365"),
        "{ids:?}"
    );
    let sbom = http
        .get(format!(
            "{}/api/v1/images/{digest}/sbom?format=cyclonedx",
            op.url
        ))
        .send()
        .await
        .expect("GET sbom");
    assert!(sbom.status().is_success());
    let sbom: serde_json::Value = sbom.json().await.expect("CycloneDX JSON");
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    let eval = http
        .get(format!(
            "{}/api/v1/namespaces/shop/imagescans/demo/evaluation",
            op.url
        ))
        .send()
        .await
        .expect("GET evaluation");
    assert!(eval.status().is_success());
    let metrics = op.metrics().await;
    assert!(
        metrics.contains("plimsoll_imagescans{phase=\"Ready\"} 1"),
        "{metrics}"
    );

    // Editing the bundle re-evaluates: a bundle that whitelists every image gives GO.
    let mut edited = default_bundle("default");
    edited["spec"]["whitelisted_images"] = serde_json::json!([
        {"id": "all", "name": "all", "registry": "*", "repository": "*", "image": {"type": "tag", "value": "*"}}
    ]);
    let _: plimsoll::crd::PolicyBundle = cluster.apply("shop", &edited).await;
    let scan = cluster
        .wait_scan("shop", "demo", LONG, |s| {
            s.status
                .as_ref()
                .and_then(|st| st.verdict.as_ref())
                .is_some_and(|v| v.final_action.as_str() == "GO")
        })
        .await;
    assert_eq!(
        scan.status.and_then(|s| s.verdict).map(|v| v.reason),
        Some("whitelisted".to_owned())
    );
    assert_eq!(
        cluster.analyzer_jobs().await.len(),
        1,
        "re-evaluation pulls nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_bundle_lists_its_errors_and_scans_say_so() {
    let Some(reg) = registry("PLIMSOLL_TEST_REGISTRY") else {
        return;
    };
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    let op = Operator::start(&cluster, &db, &[]).await;
    cluster.namespace("team").await;
    let bad = serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1",
        "kind": "PolicyBundle",
        "metadata": {"name": "broken"},
        "spec": {
            "id": "broken", "version": "1_0",
            "policies": [{"id": "p", "version": "1_0", "rules": [
                {"id": "r1", "gate": "no_such_gate", "trigger": "x", "action": "STOP", "params": []},
                {"id": "r2", "gate": "vulnerabilities", "trigger": "package", "action": "STOP",
                 "params": [{"name": "severity", "value": "dreadful"}]}
            ]}],
            "mappings": [{"id": "m", "name": "all", "registry": "*", "repository": "*",
                          "image": {"type": "tag", "value": "*"}, "policy_ids": ["p"], "whitelist_ids": []}]
        }
    });
    let _: plimsoll::crd::PolicyBundle = cluster.apply("team", &bad).await;
    let repo_name = support::registry::unique_repo("e2e-small");
    push_small_image(&reg, &repo_name, "1", 1).await;
    let image = format!("{reg}/{repo_name}:1");
    let _: plimsoll::crd::ImageScan = cluster
        .apply("team", &image_scan("uses-broken", &image, "broken"))
        .await;
    let _: plimsoll::crd::ImageScan = cluster
        .apply("team", &image_scan("uses-nothing", &image, "absent"))
        .await;

    let scan = cluster
        .wait_scan("team", "uses-broken", LONG, |s| {
            condition(s, "Ready").is_some_and(|c| c.1 == "PolicyBundleInvalid")
                && condition(s, "Analyzed").is_some_and(|c| c.0 == "True")
        })
        .await;
    let msg = condition(&scan, "Ready").expect("Ready").2;
    assert!(msg.contains("policies[0].rules[0]"), "{msg}");
    let none = cluster
        .wait_scan("team", "uses-nothing", LONG, |s| {
            condition(s, "Ready").is_some_and(|c| c.1 == "PolicyBundleNotFound")
        })
        .await;
    assert_eq!(phase(&none).as_deref(), Some("Failed"));
    let b = cluster.bundles("team").get("broken").await.expect("bundle");
    let bs = b.status.expect("status");
    assert_eq!(bs.valid, Some(false));
    let paths: Vec<&str> = bs.errors.iter().map(|e| e.path.as_str()).collect();
    assert!(
        paths.iter().any(|p| p.starts_with("policies[0].rules[0]")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.starts_with("policies[0].rules[1]")),
        "{paths:?}"
    );
    assert_eq!(
        bs.error_count,
        Some(u32::try_from(bs.errors.len()).expect("count"))
    );
    // Both scans share one image: one Job, one analysis.
    assert_eq!(cluster.analyzer_jobs().await.len(), 1, "{}", op.logs());

    // A CR the schema refuses never reaches the operator.
    let api = cluster.scans("team");
    let invalid = serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1", "kind": "ImageScan",
        "metadata": {"name": "bad-platform"},
        "spec": {"image": "x", "policyBundleRef": {"name": "broken"}, "platform": "Linux/AMD64"}
    });
    let err = api
        .patch(
            "bad-platform",
            &kube::api::PatchParams::apply("e2e-test"),
            &kube::api::Patch::Apply(&invalid),
        )
        .await
        .expect_err("refused by the schema");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 422),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_failures_and_pull_secrets() {
    let (Some(reg), Some(auth_reg)) = (
        registry("PLIMSOLL_TEST_REGISTRY"),
        registry("PLIMSOLL_TEST_REGISTRY_AUTH"),
    ) else {
        return;
    };
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    let op = Operator::start(&cluster, &db, &[]).await;
    cluster.namespace("ops").await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("ops", &default_bundle("default")).await;
    let private = support::registry::unique_repo("e2e-private");
    let digest = push_layout(
        &demo_layout(),
        &auth_reg,
        &private,
        "1",
        Some(("plimsoll", "s3cret")),
    )
    .await;
    let secret = |name: &str, password: &str| {
        let auth = base64_encode(&format!("plimsoll:{password}"));
        let config = serde_json::json!({"auths": {auth_reg.clone(): {"auth": auth}}});
        serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name},
            "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": config.to_string()},
        })
    };
    let _: k8s_openapi::api::core::v1::Secret =
        cluster.apply("ops", &secret("good-creds", "s3cret")).await;
    let _: k8s_openapi::api::core::v1::Secret =
        cluster.apply("ops", &secret("bad-creds", "wrong")).await;
    let with_secret = |name: &str, image: &str, secret: Option<&str>| {
        let mut s = image_scan(name, image, "default");
        if let Some(secret) = secret {
            s["spec"]["imagePullSecrets"] = serde_json::json!([{"name": secret}]);
        }
        s
    };
    let private_image = format!("{auth_reg}/{private}:1");
    let cases = [
        with_secret("private-ok", &private_image, Some("good-creds")),
        with_secret("private-wrong", &private_image, Some("bad-creds")),
        with_secret(
            "missing",
            &format!(
                "{reg}/{}:nope",
                support::registry::unique_repo("e2e-absent")
            ),
            None,
        ),
        with_secret("bad-ref", "UPPER/Case::x", None),
    ];
    for c in &cases {
        let _: plimsoll::crd::ImageScan = cluster.apply("ops", c).await;
    }
    let ok = cluster.wait_scan("ops", "private-ok", LONG, settled).await;
    assert_eq!(
        phase(&ok).as_deref(),
        Some("Ready"),
        "{:?}\n{}",
        ok.status,
        op.logs()
    );
    assert_eq!(
        ok.status.and_then(|s| s.digest).as_deref(),
        Some(digest.as_str())
    );
    for (name, reason) in [
        ("private-wrong", "RegistryAuthFailed"),
        ("missing", "ImageNotFound"),
        ("bad-ref", "InvalidImageReference"),
    ] {
        let s = cluster.wait_scan("ops", name, LONG, settled).await;
        assert_eq!(
            phase(&s).as_deref(),
            Some("Failed"),
            "{name}: {:?}",
            s.status
        );
        assert_eq!(
            condition(&s, "Resolved").map(|c| (c.0, c.1)),
            Some(("False".into(), reason.into())),
            "{name}"
        );
        assert_eq!(
            condition(&s, "Ready").map(|c| c.1),
            Some(reason.into()),
            "{name}"
        );
    }
    // The invalid reference never got a Job; the others one each.
    assert_eq!(cluster.analyzer_jobs().await.len(), 3);
    // The operator never read a pull secret: the analyzer pods mounted them.
    assert!(!op.logs().contains("s3cret"));
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_analysis_for_fifty_scans_of_one_image() {
    let Some(reg) = registry("PLIMSOLL_TEST_REGISTRY") else {
        return;
    };
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    let op = Operator::start(&cluster, &db, &[]).await;
    cluster.namespace("many").await;
    cluster.namespace("other").await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("many", &default_bundle("default")).await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("other", &default_bundle("default")).await;
    let repo_name = support::registry::unique_repo("e2e-shared");
    let digest = push_small_image(&reg, &repo_name, "1", 7).await;
    let by_tag = format!("{reg}/{repo_name}:1");
    for i in 0..50 {
        let _: plimsoll::crd::ImageScan = cluster
            .apply("many", &image_scan(&format!("s{i}"), &by_tag, "default"))
            .await;
    }
    // The same digest from another namespace, by digest: its Job finds the analysis stored.
    let by_digest = format!("{reg}/{repo_name}@{digest}");
    for i in 0..50 {
        cluster
            .wait_scan("many", &format!("s{i}"), LONG, settled)
            .await;
    }
    let _: plimsoll::crd::ImageScan = cluster
        .apply("other", &image_scan("pinned", &by_digest, "default"))
        .await;
    let pinned = cluster.wait_scan("other", "pinned", LONG, settled).await;
    assert_eq!(phase(&pinned).as_deref(), Some("Ready"));
    let jobs = cluster.analyzer_jobs().await;
    assert_eq!(
        jobs.len(),
        1,
        "50 scans of one tag share one Job; a stored digest needs none"
    );
    let metrics = op.metrics().await;
    assert!(
        metrics.contains("plimsoll_uploads_total{endpoint=\"analysis\",code=\"200\"} 1"),
        "exactly one upload:\n{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_holds_for_two_hundred_scans() {
    let Some(reg) = registry("PLIMSOLL_TEST_REGISTRY") else {
        return;
    };
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    // Finished Jobs go after 5 s: the in-process simulator's Job controller walks every Job on
    // each tick, and 200 finished Jobs would slow it (not the operator) to a crawl.
    let op = Operator::start(
        &cluster,
        &db,
        &[
            ("PLIMSOLL_MAX_CONCURRENT_JOBS", "4"),
            ("PLIMSOLL_JOB_TTL", "5s"),
        ],
    )
    .await;
    cluster.namespace("fleet").await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("fleet", &default_bundle("default")).await;
    let repo_name = support::registry::unique_repo("e2e-fleet");
    let mut images = Vec::new();
    for i in 0..200 {
        push_small_image(&reg, &repo_name, &format!("v{i}"), 1000 + i).await;
        images.push(format!("{reg}/{repo_name}:v{i}"));
    }
    for (i, image) in images.iter().enumerate() {
        let _: plimsoll::crd::ImageScan = cluster
            .apply("fleet", &image_scan(&format!("app-{i}"), image, "default"))
            .await;
    }
    let started = Instant::now();
    let mut max_active = 0;
    let mut saw_queued = false;
    loop {
        let jobs = cluster.analyzer_jobs().await;
        let active = jobs
            .iter()
            .filter(|j| {
                let conds = j
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.clone())
                    .unwrap_or_default();
                !conds
                    .iter()
                    .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
            })
            .count();
        max_active = max_active.max(active);
        let scans = cluster
            .scans("fleet")
            .list(&Default::default())
            .await
            .expect("list")
            .items;
        saw_queued |= scans.iter().any(|s| phase(s).as_deref() == Some("Queued"));
        let ready = scans
            .iter()
            .filter(|s| phase(s).as_deref() == Some("Ready"))
            .count();
        if ready == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{ready} of 200 Ready after 10 minutes\n{}",
            op.logs()
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n")
        );
        // Each analyzer Job lives for seconds; listing 200 Jobs and 200 scans more often only
        // loads the (debug-built, in-process) simulator the operator talks to.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(max_active <= 4, "{max_active} analyzer Jobs ran at once");
    assert!(max_active >= 2, "the cap was never used ({max_active})");
    assert!(saw_queued, "scans beyond the cap are Queued");
    let metrics = op.metrics().await;
    assert!(
        metrics.contains("plimsoll_analyzer_jobs_started_total 200"),
        "one Job per image:\n{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_operator_finishes_the_scan_without_duplicates() {
    let Some(reg) = registry("PLIMSOLL_TEST_REGISTRY") else {
        return;
    };
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    seed_feeds(&db, cluster.dir.path());
    let mut op = Operator::start(&cluster, &db, &[]).await;
    cluster.namespace("prod").await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("prod", &default_bundle("default")).await;
    let repo_name = support::registry::unique_repo("e2e-restart");
    push_layout(&demo_layout(), &reg, &repo_name, "1", None).await;
    let _: plimsoll::crd::ImageScan = cluster
        .apply(
            "prod",
            &image_scan("web", &format!("{reg}/{repo_name}:1"), "default"),
        )
        .await;
    // Kill the operator as soon as the Job exists, before the analysis is uploaded.
    cluster
        .wait_scan("prod", "web", LONG, |s| {
            phase(s).as_deref() == Some("Analyzing")
        })
        .await;
    op.kill();
    // Down for a while: the analyzer's requests fail and are retried meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let op = Operator::start_on(&cluster, &db, op.port, &[]).await;
    let scan = cluster.wait_scan("prod", "web", LONG, settled).await;
    assert_eq!(
        phase(&scan).as_deref(),
        Some("Ready"),
        "{:?}\n{}",
        scan.status,
        op.logs()
    );
    assert_eq!(cluster.analyzer_jobs().await.len(), 1, "no duplicate Job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_and_a_job_that_never_starts() {
    let Some(reg) = registry("PLIMSOLL_TEST_REGISTRY") else {
        return;
    };
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    // An analyzer image the (fake) kubelet cannot pull: the pod never starts.
    let op = Operator::start(
        &cluster,
        &db,
        &[
            ("PLIMSOLL_ANALYZER_IMAGE", "ghcr.io/plimsoll/missing:1"),
            ("PLIMSOLL_JOB_DEADLINE", "3s"),
        ],
    )
    .await;
    cluster.namespace("edge").await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("edge", &default_bundle("default")).await;
    let repo_name = support::registry::unique_repo("e2e-stuck");
    push_small_image(&reg, &repo_name, "1", 3).await;
    let _: plimsoll::crd::ImageScan = cluster
        .apply(
            "edge",
            &image_scan("stuck", &format!("{reg}/{repo_name}:1"), "default"),
        )
        .await;
    let s = cluster.wait_scan("edge", "stuck", LONG, settled).await;
    assert_eq!(phase(&s).as_deref(), Some("Failed"));
    let analyzed = condition(&s, "Analyzed").expect("Analyzed");
    assert_eq!(
        (analyzed.0.as_str(), analyzed.1.as_str()),
        ("False", "DeadlineExceeded"),
        "{analyzed:?}"
    );

    // The ingest API: no token, an unknown token, then the stuck Job's real token reused.
    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: Vec<u8>| {
        let mut r = http
            .post(format!("{}{path}", op.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let check = serde_json::json!({"reference": "x", "digest": format!("sha256:{}", "a".repeat(64)), "analyzerVersion": "0"});
    let r = post("/ingest/v1/check", None, check.to_string().into_bytes())
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    let r = post(
        "/ingest/v1/check",
        Some("not-a-token"),
        check.to_string().into_bytes(),
    )
    .await
    .expect("request");
    assert_eq!(r.status(), 401);
    let job = cluster
        .analyzer_jobs()
        .await
        .into_iter()
        .next()
        .expect("the stuck Job");
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(cluster.client.clone(), "edge");
    let token_secret = secrets
        .get(&kube::ResourceExt::name_any(&job))
        .await
        .expect("token Secret");
    let token = token_secret
        .data
        .and_then(|d| d.get("token").cloned())
        .map(|b| String::from_utf8(b.0).expect("utf-8"))
        .expect("token");
    // The Job failed (DeadlineExceeded): its token is spent.
    let r = post(
        "/ingest/v1/check",
        Some(&token),
        check.to_string().into_bytes(),
    )
    .await
    .expect("request");
    assert_eq!(r.status(), 409);
    let r = post("/ingest/v1/analysis", Some(&token), b"{not json".to_vec())
        .await
        .expect("request");
    assert_eq!(
        r.status(),
        409,
        "a spent token is refused before the body is read"
    );
    let huge = vec![b' '; 70 << 20];
    let r = post("/ingest/v1/analysis", Some(&token), huge).await;
    assert!(
        r.map_or(true, |r| r.status() == 413),
        "an oversized body is refused"
    );
    // No hot loop: a failed scan is not reconciled again and again.
    let before = op.metrics().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = op.metrics().await;
    let reconciles = |m: &str| {
        m.lines()
            .find(|l| l.starts_with("plimsoll_reconciles_total{kind=\"imagescan\",result=\"ok\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(
        reconciles(&after) <= reconciles(&before) + 2,
        "{before}\n{after}"
    );
}

/// A fresh PostgreSQL schema for one test; `None` (skip) outside CI when PostgreSQL is down.
fn postgres_store(name: &str) -> Option<String> {
    let base = std::env::var("PLIMSOLL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("e2e_{name}_{}", std::process::id());
    let created = std::process::Command::new("psql")
        .arg(&base)
        .args([
            "-q",
            "-c",
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        ])
        .output();
    match created {
        Ok(o) if o.status.success() => Some(format!("{base}?options=-c%20search_path%3D{schema}")),
        other => {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "PostgreSQL at {base} is needed under CI=true: {other:?}"
            );
            #[allow(clippy::print_stderr, reason = "the skip notice")]
            {
                eprintln!("SKIPPED: PostgreSQL is not reachable: {other:?}");
            }
            None
        }
    }
}

fn lease_holder(lease: &k8s_openapi::api::coordination::v1::Lease) -> Option<String> {
    lease.spec.as_ref().and_then(|s| s.holder_identity.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_elect_one_leader_and_fail_over() {
    let Some(reg) = registry("PLIMSOLL_TEST_REGISTRY") else {
        return;
    };
    let Some(db) = postgres_store("leader") else {
        return;
    };
    let cluster = Cluster::start().await;
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::Api::namespaced(cluster.client.clone(), "default");
    let replica = |name: &'static str| {
        [
            ("PLIMSOLL_LEADER_ELECTION", "true"),
            ("POD_NAME", name),
            ("POD_NAMESPACE", "default"),
        ]
    };
    let mut first = Operator::start(&cluster, &db, &replica("replica-a")).await;
    let second = Operator::start(&cluster, &db, &replica("replica-b")).await;
    let lease = leases
        .get("plimsoll-operator")
        .await
        .expect("the Lease exists");
    assert_eq!(
        lease_holder(&lease).as_deref(),
        Some("replica-a"),
        "the first replica leads"
    );
    // The follower serves reads while it waits.
    let r = reqwest::get(format!("{}/readyz", second.url))
        .await
        .expect("follower readyz");
    assert!(r.status().is_success());

    cluster.namespace("ha").await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("ha", &default_bundle("default")).await;
    let repo_name = support::registry::unique_repo("e2e-ha");
    push_small_image(&reg, &repo_name, "1", 11).await;
    push_small_image(&reg, &repo_name, "2", 12).await;
    let _: plimsoll::crd::ImageScan = cluster
        .apply(
            "ha",
            &image_scan("one", &format!("{reg}/{repo_name}:1"), "default"),
        )
        .await;
    let one = cluster.wait_scan("ha", "one", LONG, settled).await;
    assert_eq!(
        phase(&one).as_deref(),
        Some("Ready"),
        "{:?}\n{}",
        one.status,
        first.logs()
    );

    // The leader dies; the follower takes the Lease once it expires and carries on.
    first.kill();
    let took_over = Instant::now();
    loop {
        let lease = leases.get("plimsoll-operator").await.expect("Lease");
        if lease_holder(&lease).as_deref() == Some("replica-b") {
            break;
        }
        assert!(
            took_over.elapsed() < Duration::from_secs(60),
            "the follower did not take over:\n{}",
            second.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _: plimsoll::crd::ImageScan = cluster
        .apply(
            "ha",
            &image_scan("two", &format!("{reg}/{repo_name}:2"), "default"),
        )
        .await;
    let two = cluster.wait_scan("ha", "two", LONG, settled).await;
    assert_eq!(
        phase(&two).as_deref(),
        Some("Ready"),
        "{:?}\n{}",
        two.status,
        second.logs()
    );
}
