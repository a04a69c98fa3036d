//! Freshness and notifications end to end: feed pushes by the feed-sync CronJob re-match stored
//! analyses and notify, the watch CronJob finds moved tags, deliveries survive a receiver outage
//! and an operator restart. A webhook receiver on 127.0.0.1 stands for the team's endpoints.

use super::harness::{
    self, Cluster, Operator, image_scan, phase, push_small_image, registry, repo, settled,
};
use super::receiver::{Mode, Received, Receiver};
use super::{LONG, db_in, support};
use kube::api::Api;
use plimsoll::crd::Subscription;
use std::path::Path;
use std::time::Duration;

/// The PyPI slice of real OSV records (operator/tests/data/osv), by id.
fn pypi_record(id: &str) -> serde_json::Value {
    let text =
        std::fs::read_to_string(repo().join("operator/tests/data/osv/pypi-pysec-slice.jsonl"))
            .expect("PyPI slice");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("record"))
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} is in the slice"))
}

/// Writes `records` as the feed directory's only file.
fn write_feed(dir: &Path, records: &[serde_json::Value]) {
    std::fs::create_dir_all(dir).expect("feed dir");
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join("pypi.jsonl"), text).expect("write feed");
}

/// STOP on any vulnerability with a fix; nothing else.
fn fixable_bundle(name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1",
        "kind": "PolicyBundle",
        "metadata": {"name": name},
        "spec": {
            "id": "e2e-fixable", "version": "1_0", "name": "fixable",
            "policies": [{"id": "p", "name": "p", "version": "1_0", "rules": [{
                "id": "fixable-stop", "gate": "vulnerabilities", "trigger": "package", "action": "STOP",
                "params": [
                    {"name": "package_type", "value": "all"},
                    {"name": "severity_comparison", "value": ">="},
                    {"name": "severity", "value": "unknown"},
                    {"name": "fix_available", "value": "true"}
                ]}]}],
            "whitelists": [],
            "mappings": [{"id": "m", "name": "all", "registry": "*", "repository": "*",
                          "image": {"type": "tag", "value": "*"}, "policy_id": "p", "whitelist_ids": []}],
        },
    })
}

async fn secret(cluster: &Cluster, ns: &str, name: &str, data: &[(&str, &str)]) {
    let string_data: serde_json::Map<String, serde_json::Value> = data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
        .collect();
    let _: k8s_openapi::api::core::v1::Secret = cluster
        .apply(
            ns,
            &serde_json::json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name}, "stringData": string_data}),
        )
        .await;
}

fn subscription(
    name: &str,
    scans: &[&str],
    events: &[&str],
    sinks: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": name},
        "spec": {"images": {"scanRefs": scans}, "events": events, "sinks": sinks},
    })
}

/// `kubectl create job NAME --from=cronjob/CRONJOB` in the operator's namespace, once the
/// operator has created the CronJob; waits for the Job to complete.
async fn run_cronjob(cluster: &Cluster, op: &Operator, cronjob: &str, name: &str) {
    let cj = harness::cronjob(cluster, cronjob).await;
    harness::run_manually(cluster, op, &cj, name).await;
}

/// The operator log's last lines, for a failed wait.
fn tail(op: &Operator) -> String {
    let log = op.logs();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

fn events_of<'a>(received: &'a [Received], event: &str) -> Vec<&'a Received> {
    received
        .iter()
        .filter(|r| {
            r.path == "/hook" && r.body["event"] == event && (200..300).contains(&r.answered)
        })
        .collect()
}

fn ids(diff: &serde_json::Value, list: &str) -> Vec<String> {
    let mut v: Vec<String> = diff[list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let e = if list == "updated" { &e["after"] } else { e };
            e["vulnId"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    v.sort();
    v
}

/// The cluster, an operator whose feed-sync CronJob reads `feed_dir`, a namespace with the
/// fixable bundle, a webhook Subscription for scan `web`, and the scan of a small image (requests
/// 2.19.1) pushed to `tag`.
struct Setup {
    cluster: Cluster,
    op: Operator,
    hook: Receiver,
    feed_dir: std::path::PathBuf,
    _feed_root: tempfile::TempDir,
    image: String,
    reg: String,
    repo_name: String,
}

async fn setup(events: &[&str], initial_feed: &[serde_json::Value]) -> Option<Setup> {
    let reg = registry("PLIMSOLL_TEST_REGISTRY")?;
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    // Not under /tmp: the simulator rewrites paths under a pod's /tmp mount into the pod.
    let feed_root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("feed dir");
    let feed_dir = feed_root.path().join("feed");
    write_feed(&feed_dir, initial_feed);
    let feed_arg = feed_dir.display().to_string();
    let op = Operator::start(&cluster, &db, &[("PLIMSOLL_FEED_SOURCES", &feed_arg)]).await;
    run_cronjob(&cluster, &op, "plimsoll-feed-sync", "sync-1").await;
    let hook = Receiver::start().await;
    cluster.namespace("shop").await;
    secret(
        &cluster,
        "shop",
        "hook",
        &[
            ("url", &format!("{}/hook", hook.url)),
            ("hmac", "s3cret"),
            ("slack", &format!("{}/slack", hook.url)),
        ],
    )
    .await;
    let _: plimsoll::crd::PolicyBundle = cluster.apply("shop", &fixable_bundle("fixable")).await;
    let sinks = serde_json::json!({"webhook": {
        "urlSecretRef": {"name": "hook", "key": "url"},
        "hmacSecretRef": {"name": "hook", "key": "hmac"},
        "headers": [{"name": "X-Team", "value": "shop"}],
    }, "slack": {"webhookSecretRef": {"name": "hook", "key": "slack"}}});
    let _: Subscription = cluster
        .apply("shop", &subscription("team", &["web"], events, sinks))
        .await;
    let repo_name = support::registry::unique_repo("e2e-fresh");
    push_small_image(&reg, &repo_name, "1", 1).await;
    let image = format!("{reg}/{repo_name}:1");
    let _: plimsoll::crd::ImageScan = cluster
        .apply("shop", &image_scan("web", &image, "fixable"))
        .await;
    let scan = cluster.wait_scan("shop", "web", LONG, settled).await;
    assert_eq!(
        phase(&scan).as_deref(),
        Some("Ready"),
        "{:?}\n{}",
        scan.status,
        op.logs()
    );
    Some(Setup {
        cluster,
        op,
        hook,
        feed_dir,
        _feed_root: feed_root,
        image,
        reg,
        repo_name,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_push_re_matches_and_notifies_with_the_diff() {
    // First feed: only a record for another package; the image has no matches and passes.
    let Some(s) = setup(
        &[
            "analysis_update",
            "vuln_update",
            "policy_eval",
            "fix_available",
        ],
        &[pypi_record("PYSEC-2020-341")],
    )
    .await
    else {
        return;
    };
    let scan = s.cluster.scans("shop").get("web").await.expect("scan");
    let st = scan.status.clone().expect("status");
    assert_eq!(
        st.verdict.as_ref().map(|v| v.final_action.as_str()),
        Some("GO"),
        "{st:?}"
    );
    let first = s
        .hook
        .wait_for("analysis_update", LONG, &|| tail(&s.op), |r| {
            !events_of(r, "analysis_update").is_empty()
        })
        .await;
    let a = events_of(&first, "analysis_update")[0].clone();
    assert_eq!(
        a.body["image"]["digest"],
        st.digest.clone().unwrap_or_default().as_str()
    );
    assert_eq!(a.header("X-Team"), Some("shop"));
    let sig = a
        .header("Plimsoll-Signature")
        .unwrap_or_else(|| panic!("signed: {:?}", a.headers));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    plimsoll::notify::sign::verify(b"s3cret", sig, &a.raw, now, 600)
        .expect("the signature verifies");
    assert_eq!(a.header("Idempotency-Key"), a.body["id"].as_str());

    // The feed gains the two advisories that affect requests 2.19.1 (both with fixes).
    write_feed(
        &s.feed_dir,
        &[
            pypi_record("PYSEC-2020-341"),
            pypi_record("PYSEC-2018-28"),
            pypi_record("PYSEC-2023-74"),
        ],
    );
    run_cronjob(&s.cluster, &s.op, "plimsoll-feed-sync", "sync-2").await;
    let scan = s
        .cluster
        .wait_scan("shop", "web", LONG, |sc| {
            sc.status
                .as_ref()
                .and_then(|st| st.verdict.as_ref())
                .is_some_and(|v| v.final_action.as_str() == "STOP")
        })
        .await;
    let counts = scan
        .status
        .as_ref()
        .and_then(|st| st.vulnerabilities)
        .expect("counts");
    assert_eq!(counts.fixable, 2, "{counts:?}");
    let got = s
        .hook
        .wait_for(
            "vuln_update, policy_eval, fix_available",
            LONG,
            &|| tail(&s.op),
            |r| {
                !events_of(r, "vuln_update").is_empty()
                    && !events_of(r, "policy_eval").is_empty()
                    && !events_of(r, "fix_available").is_empty()
            },
        )
        .await;
    let vu = events_of(&got, "vuln_update");
    assert_eq!(vu.len(), 1, "one vuln_update");
    // Reported by their CVE aliases, as the matcher names them.
    assert_eq!(
        ids(&vu[0].body["diff"], "added"),
        ["CVE-2018-18074", "CVE-2023-32681"]
    );
    assert!(ids(&vu[0].body["diff"], "removed").is_empty());
    let pe = events_of(&got, "policy_eval");
    assert_eq!(pe.len(), 1);
    assert_eq!(pe[0].body["verdict"]["finalAction"], "STOP");
    assert_eq!(pe[0].body["verdict"]["previousFinalAction"], "GO");
    let fa = events_of(&got, "fix_available");
    assert_eq!(fa.len(), 1);
    assert_eq!(fa[0].body["fixes"].as_array().map(Vec::len), Some(2));

    // Slack got the same events as readable messages within Slack's documented limits.
    let slack = s
        .hook
        .wait_for("Slack messages", LONG, &|| tail(&s.op), |r| {
            r.iter()
                .filter(|r| r.path == "/slack")
                .any(|r| r.body.to_string().contains("STOP"))
        })
        .await;
    for m in slack.iter().filter(|r| r.path == "/slack") {
        let problems = plimsoll::notify::slack::violations(&m.body);
        assert!(problems.is_empty(), "{problems:?}: {}", m.body);
        assert!(
            m.body["text"].as_str().is_some_and(|t| !t.is_empty()),
            "a text fallback: {}",
            m.body
        );
        assert!(
            m.body.to_string().contains(&s.repo_name),
            "names the image: {}",
            m.body
        );
    }

    // The same feed again changes nothing and notifies nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = s.hook.requests().len();
    run_cronjob(&s.cluster, &s.op, "plimsoll-feed-sync", "sync-3").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = s.hook.requests();
    assert_eq!(
        after.len(),
        before,
        "nothing new after an unchanged push: {after:#?}"
    );
    // Every webhook delivery carries its idempotency key; none was sent twice.
    let mut keys: Vec<String> = after
        .iter()
        .filter(|r| r.path == "/hook")
        .map(|r| r.body["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "no duplicates");
    let _ = &got;
    let _ = (&s.image, &s.reg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_appearing_calls_the_rebuild_webhook_once() {
    // PYSEC-2018-28 as first published without a fixed version (the record minus its `fixed`
    // events), then the real record.
    let mut unfixed = pypi_record("PYSEC-2018-28");
    for a in unfixed["affected"].as_array_mut().into_iter().flatten() {
        for r in a["ranges"].as_array_mut().into_iter().flatten() {
            if let Some(events) = r["events"].as_array_mut() {
                events.retain(|e| e.get("fixed").is_none());
            }
        }
        if let Some(o) = a.as_object_mut() {
            o.remove("versions");
        }
    }
    // As first published: an older modification time (feeds identify versions by it).
    unfixed["modified"] = serde_json::Value::from("2018-10-10T00:00:00Z");
    let Some(s) = setup(&["fix_available"], &[unfixed]).await else {
        return;
    };
    let scan = s.cluster.scans("shop").get("web").await.expect("scan");
    let counts = scan
        .status
        .as_ref()
        .and_then(|st| st.vulnerabilities)
        .expect("counts");
    assert_eq!(counts.fixable, 0, "{counts:?}");
    write_feed(&s.feed_dir, &[pypi_record("PYSEC-2018-28")]);
    run_cronjob(&s.cluster, &s.op, "plimsoll-feed-sync", "sync-2").await;
    let got = s
        .hook
        .wait_for("fix_available", LONG, &|| tail(&s.op), |r| {
            !events_of(r, "fix_available").is_empty()
        })
        .await;
    let fa = events_of(&got, "fix_available");
    assert_eq!(fa[0].body["fixes"][0]["vulnId"], "CVE-2018-18074");
    assert_eq!(fa[0].body["fixes"][0]["fixedIn"], "2.20.0");
    run_cronjob(&s.cluster, &s.op, "plimsoll-feed-sync", "sync-3").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        events_of(&s.hook.requests(), "fix_available").len(),
        1,
        "called once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_tag_is_found_by_the_watch_cronjob() {
    let Some(s) = setup(&["tag_update"], &[pypi_record("PYSEC-2018-28")]).await else {
        return;
    };
    let before = s.cluster.scans("shop").get("web").await.expect("scan");
    let old = before.status.and_then(|st| st.digest).expect("digest");
    // Same tag, new content.
    let new = push_small_image(&s.reg, &s.repo_name, "1", 2).await;
    assert_ne!(old, new);
    run_cronjob(&s.cluster, &s.op, "plimsoll-watch", "watch-1").await;
    let scan = s
        .cluster
        .wait_scan("shop", "web", LONG, |sc| {
            sc.status.as_ref().and_then(|st| st.digest.as_deref()) == Some(new.as_str())
                && settled(sc)
        })
        .await;
    assert_eq!(phase(&scan).as_deref(), Some("Ready"));
    let got = s
        .hook
        .wait_for("tag_update", LONG, &|| tail(&s.op), |r| {
            !events_of(r, "tag_update").is_empty()
        })
        .await;
    let tu = events_of(&got, "tag_update");
    assert_eq!(tu.len(), 1);
    assert_eq!(tu[0].body["tag"]["previousDigest"], old.as_str());
    assert_eq!(tu[0].body["tag"]["digest"], new.as_str());
    // A second round with the tag unchanged: no new analysis, no notification.
    run_cronjob(&s.cluster, &s.op, "plimsoll-watch", "watch-2").await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(events_of(&s.hook.requests(), "tag_update").len(), 1);
    let _ = &s.image;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_survive_a_receiver_outage_and_an_operator_restart() {
    let Some(reg) = registry("PLIMSOLL_TEST_REGISTRY") else {
        return;
    };
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    harness::seed_feeds(&db, cluster.dir.path());
    let opts = [("PLIMSOLL_NOTIFICATION_BACKOFF", "200ms")];
    let op = Operator::start(&cluster, &db, &opts).await;
    let hook = Receiver::start().await;
    hook.set_mode(Mode::Status(503));
    cluster.namespace("ops").await;
    secret(
        &cluster,
        "ops",
        "hook",
        &[("url", &format!("{}/hook", hook.url))],
    )
    .await;
    secret(&cluster, "ops", "bad", &[("url", "not a url")]).await;
    let _: plimsoll::crd::PolicyBundle = cluster
        .apply("ops", &harness::default_bundle("default"))
        .await;
    let sinks = serde_json::json!({"webhook": {"urlSecretRef": {"name": "hook", "key": "url"}}});
    let _: Subscription = cluster
        .apply(
            "ops",
            &subscription("team", &["web"], &["analysis_update"], sinks),
        )
        .await;
    // Bad configurations are visible in the status, naming the Secret, never the URL.
    let bad = serde_json::json!({"webhook": {"urlSecretRef": {"name": "bad", "key": "url"}}});
    let _: Subscription = cluster
        .apply(
            "ops",
            &subscription("bad-url", &["web"], &["analysis_update"], bad),
        )
        .await;
    let missing =
        serde_json::json!({"slack": {"webhookSecretRef": {"name": "nope", "key": "url"}}});
    let _: Subscription = cluster
        .apply(
            "ops",
            &subscription("missing", &["web"], &["analysis_update"], missing),
        )
        .await;
    let subs: Api<Subscription> = Api::namespaced(cluster.client.clone(), "ops");
    for (name, want) in [
        ("bad-url", "Secret bad key url does not hold an http(s) URL"),
        ("missing", "Secret nope not found"),
    ] {
        let msg = tokio::time::timeout(LONG, async {
            loop {
                let s = subs.get(name).await.expect("subscription");
                let c = s
                    .status
                    .as_ref()
                    .and_then(|st| st.conditions.iter().find(|c| c.type_ == "Ready").cloned());
                if let Some(c) =
                    c.filter(|c| c.status == plimsoll::crd::conditions::ConditionStatus::False)
                {
                    return c.message;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{name} becomes not Ready"));
        assert!(msg.contains(want), "{name}: {msg}");
    }

    let repo_name = support::registry::unique_repo("e2e-outage");
    push_small_image(&reg, &repo_name, "1", 3).await;
    let _: plimsoll::crd::ImageScan = cluster
        .apply(
            "ops",
            &image_scan("web", &format!("{reg}/{repo_name}:1"), "default"),
        )
        .await;
    cluster.wait_scan("ops", "web", LONG, settled).await;
    // Refused at least once while "down"; the failure is in the Subscription's status.
    hook.wait_for("a refused attempt", LONG, &|| tail(&op), |r| {
        r.iter().any(|r| r.answered == 503)
    })
    .await;
    let failing = tokio::time::timeout(LONG, async {
        loop {
            let s = subs.get("team").await.expect("subscription");
            if let Some(d) = s
                .status
                .as_ref()
                .and_then(|st| st.deliveries.first().cloned())
                .filter(|d| d.failures > 0)
            {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await
    .expect("the failure is recorded");
    let err = failing.last_error.unwrap_or_default();
    assert!(err.contains("503"), "{err}");
    assert!(!err.contains(&hook.url), "no URL in the status: {err}");

    // The operator dies with the notification still queued; the receiver recovers meanwhile.
    let mut op = op;
    op.kill();
    hook.set_mode(Mode::Ok);
    let op = Operator::start_on(&cluster, &db, op.port, &opts).await;
    let got = hook
        .wait_for("the delivery after recovery", LONG, &|| tail(&op), |r| {
            r.iter().any(|r| r.answered == 200)
        })
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let ok: Vec<Received> = hook
        .requests()
        .into_iter()
        .filter(|r| r.answered == 200)
        .collect();
    assert_eq!(ok.len(), 1, "delivered once: {ok:#?}\n{}", op.logs());
    assert_eq!(ok[0].body["event"], "analysis_update");
    let key = ok[0].body["id"].as_str().unwrap_or_default().to_owned();
    assert!(
        got.iter()
            .filter(|r| r.answered == 503)
            .all(|r| r.body["id"] == key.as_str()),
        "retries carry the same key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_without_wildcards_gets_an_owned_scan() {
    let Some(reg) = registry("PLIMSOLL_TEST_REGISTRY") else {
        return;
    };
    let cluster = Cluster::start().await;
    let db = db_in(&cluster, "op.db");
    harness::seed_feeds(&db, cluster.dir.path());
    let op = Operator::start(&cluster, &db, &[]).await;
    let hook = Receiver::start().await;
    cluster.namespace("web").await;
    secret(
        &cluster,
        "web",
        "hook",
        &[("url", &format!("{}/hook", hook.url))],
    )
    .await;
    let _: plimsoll::crd::PolicyBundle = cluster
        .apply("web", &harness::default_bundle("default"))
        .await;
    let repo_name = support::registry::unique_repo("e2e-pattern");
    let digest = push_small_image(&reg, &repo_name, "1", 4).await;
    let image = format!("{reg}/{repo_name}:1");
    let sub = serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": "follow"},
        "spec": {
            "images": {"patterns": [image]},
            "events": ["analysis_update"],
            "sinks": {
                "webhook": {"urlSecretRef": {"name": "hook", "key": "url"}},
                "kubernetesEvents": {"enabled": true},
            },
        },
    });
    let sub: Subscription = cluster.apply("web", &sub).await;
    // The operator creates the scan, owned by the Subscription, and it reaches a verdict.
    let scans = cluster.scans("web");
    let owned = tokio::time::timeout(LONG, async {
        loop {
            let list = scans.list(&Default::default()).await.expect("list scans");
            if let Some(s) = list.items.into_iter().find(|s| s.spec.image == image) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no ImageScan for the pattern\n{}", tail(&op)));
    let name = owned.metadata.name.clone().expect("name");
    assert!(name.starts_with("follow-"), "{name}");
    let owner = &owned.metadata.owner_references.clone().unwrap_or_default()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Subscription", Some(true))
    );
    assert_eq!(Some(owner.uid.as_str()), sub.metadata.uid.as_deref());
    let scan = cluster.wait_scan("web", &name, LONG, settled).await;
    assert_eq!(
        scan.status.and_then(|s| s.digest).as_deref(),
        Some(digest.as_str())
    );
    let got = hook
        .wait_for("analysis_update", LONG, &|| tail(&op), |r| {
            !events_of(r, "analysis_update").is_empty()
        })
        .await;
    assert_eq!(
        events_of(&got, "analysis_update")[0].body["image"]["scan"]["name"],
        name.as_str()
    );
    // The Kubernetes Events sink: an Event on the scan.
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(cluster.client.clone(), "web");
    tokio::time::timeout(LONG, async {
        loop {
            let list = events.list(&Default::default()).await.expect("events");
            if list.items.iter().any(|e| {
                e.reason.as_deref() == Some("AnalysisUpdated")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name.as_str())
            }) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no AnalysisUpdated Event on {name}\n{}", tail(&op)));
    // The pattern goes: so does the scan.
    let mut without = serde_json::to_value(&sub).expect("json");
    without["spec"]["images"] = serde_json::json!({"scanRefs": ["other"]});
    without["metadata"] = serde_json::json!({"name": "follow"});
    without.as_object_mut().map(|o| o.remove("status"));
    let _: Subscription = cluster.apply("web", &without).await;
    tokio::time::timeout(LONG, async {
        while scans.get_opt(&name).await.expect("get").is_some() {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the owned scan was not deleted\n{}", tail(&op)));
}
