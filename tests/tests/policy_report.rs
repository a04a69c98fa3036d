//! PolicyReports (`operator::policy_report`) against the simulator, in process: presence by
//! discovery before and after the CRD is installed, server-side apply (create, update, no-op),
//! the CRD's schema accepting what the operator writes and refusing what it must not, garbage
//! collection with the owning ImageScan, and a 404 once the CRD is gone.
//!
//! The CRD is `testdata/wgpolicyk8s.io_policyreports.yaml` (written for these tests, with the
//! published CRD's enums and types). The verdicts are real: example bundles evaluated against
//! the policy engine's fixture analysis and matches (`operator/src/policy/testdata`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config, ResourceExt as _};
use plimsoll::crd::ImageScan;
use plimsoll::matcher::Match;
use plimsoll::operator::policy_report::{
    self, Availability, Outcome, PolicyReport, Presence, RECHECK, TOTAL_ANNOTATION, apply,
    crd_present, report,
};
use plimsoll::policy::{EvalInput, FormatHint, ImageRef, MatchTimes, Verdict, load_bundle};
use plimsoll_analyzer::model::Analysis;
use plimsoll_e2e::{Simulator, SimulatorConfig};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const NS: &str = "team";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

async fn start() -> (Simulator, Client) {
    let sim = Simulator::start(SimulatorConfig {
        workloads: false,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts");
    let kubeconfig = Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    let client = Client::try_from(config).expect("client");
    (sim, client)
}

async fn create_crd(client: &Client, path: &Path) {
    let crd: CustomResourceDefinition =
        serde_saphyr::from_str(&std::fs::read_to_string(path).expect("read CRD")).expect("CRD");
    Api::<CustomResourceDefinition>::all(client.clone())
        .create(&PostParams::default(), &crd)
        .await
        .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
}

fn policy_report_crd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/wgpolicyk8s.io_policyreports.yaml")
}

/// A verdict of an example bundle on the policy engine's fixture, with its matches.
fn verdict(bundle: &str) -> (Verdict, Vec<Match>) {
    let testdata = repo().join("operator/src/policy/testdata");
    let read = |name: &str| std::fs::read_to_string(testdata.join(name)).expect("fixture");
    let analysis: Analysis = serde_json::from_str(&read("analysis.json")).expect("analysis");
    let matches: Vec<Match> = serde_json::from_str(&read("matches.json")).expect("matches");
    let bytes = std::fs::read(repo().join("examples/policies").join(bundle)).expect("bundle");
    let bundle = load_bundle(&bytes, FormatHint::Auto).expect("bundle loads");
    let now = chrono::DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
        .expect("time")
        .to_utc();
    let forty_days_ago = now - chrono::TimeDelta::days(40);
    let times: Vec<MatchTimes> = matches
        .iter()
        .map(|_| MatchTimes {
            first_seen: Some(forty_days_ago),
            fix_first_seen: Some(forty_days_ago),
        })
        .collect();
    let image = ImageRef::from_analysis(&analysis);
    let input = EvalInput {
        analysis: &analysis,
        matches: &matches,
        match_times: &times,
        feed_sync: Some(now),
        image: &image,
        now,
    };
    (plimsoll::policy::evaluate(&bundle, &input), matches)
}

fn reports(client: &Client) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), NS, &policy_report::api_resource())
}

/// The stored object's report fields, as the operator wrote them.
fn body(o: &DynamicObject) -> Value {
    json!({"scope": o.data["scope"], "summary": o.data["summary"], "results": o.data["results"]})
}

fn written(r: &PolicyReport) -> Value {
    let v = serde_json::to_value(r).expect("json");
    json!({"scope": v["scope"], "summary": v["summary"], "results": v["results"]})
}

fn api_error(e: &kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.message.clone()),
        other => panic!("not an API error: {other:?}"),
    }
}

#[tokio::test]
async fn reports_follow_the_crd_and_the_scan() {
    let (_sim, client) = start().await;
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).expect("ns");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace");

    // No CRD: off, and the check is remembered for a while.
    assert!(!crd_present(&client).await.expect("discovery"));
    let availability = Availability::default();
    let t0 = Instant::now();
    assert_eq!(
        availability.check(&client, t0).await,
        Presence {
            present: false,
            turned_on: false
        }
    );

    create_crd(&client, &repo().join("crds/imagescans.plimsoll.dev.yaml")).await;
    create_crd(&client, &policy_report_crd()).await;
    assert!(crd_present(&client).await.expect("discovery"));
    assert!(
        !availability.present(&client, t0 + RECHECK / 2).await,
        "cached until the next check is due"
    );
    assert_eq!(
        availability.check(&client, t0 + RECHECK).await,
        Presence {
            present: true,
            turned_on: true
        },
        "scans evaluated while reports were off need theirs"
    );
    assert_eq!(
        availability.check(&client, t0 + RECHECK).await,
        Presence {
            present: true,
            turned_on: false
        }
    );

    // The ImageScan that owns the report.
    let scans: Api<ImageScan> = Api::namespaced(client.clone(), NS);
    let scan: ImageScan = serde_json::from_value(json!({
        "apiVersion": "plimsoll.dev/v1alpha1", "kind": "ImageScan",
        "metadata": {"name": "app"},
        "spec": {"image": "registry.example.com/team/app:1.4.2", "policyBundleRef": {"name": "default"}},
    }))
    .expect("scan");
    let scan = scans
        .create(&PostParams::default(), &scan)
        .await
        .expect("create scan");

    // Create.
    let (v, matches) = verdict("bod-19-02.json");
    let first = report(&scan, &v.image_digest, &v, &matches, v.evaluated_at).expect("report");
    assert!(first.results.iter().any(|r| r.result == Outcome::Fail));
    apply(&client, NS, &first).await.expect("apply");
    let api = reports(&client);
    let stored = api.get("plimsoll-app").await.expect("stored");
    assert_eq!(
        body(&stored),
        written(&first),
        "the schema kept every field"
    );
    let owner = &stored.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("ImageScan", "app", Some(true))
    );
    assert_eq!(Some(owner.uid.clone()), scan.metadata.uid);
    assert_eq!(
        stored.labels().get("app.kubernetes.io/managed-by"),
        Some(&"plimsoll-operator".to_owned())
    );
    assert_eq!(
        stored.annotations().get(TOTAL_ANNOTATION),
        Some(&first.results.len().to_string())
    );
    let rv = stored.resource_version();

    // The same report again: nothing written.
    apply(&client, NS, &first).await.expect("apply again");
    assert_eq!(
        api.get("plimsoll-app")
            .await
            .expect("stored")
            .resource_version(),
        rv
    );

    // Another verdict: replaced, results and summary both.
    let (v2, matches2) = verdict("cis-docker-1.13.json");
    let second = report(&scan, &v2.image_digest, &v2, &matches2, v2.evaluated_at).expect("report");
    assert_ne!(written(&second), written(&first));
    apply(&client, NS, &second).await.expect("apply changed");
    let stored = api.get("plimsoll-app").await.expect("stored");
    assert_ne!(stored.resource_version(), rv);
    assert_eq!(body(&stored), written(&second));

    // The schema refuses what a report must not hold.
    let mut bad = serde_json::to_value(&second).expect("json");
    bad["results"][0]["result"] = json!("maybe");
    bad["results"][0]["severity"] = json!("urgent");
    bad["summary"]["fail"] = json!("many");
    let e = api
        .patch(
            "plimsoll-app",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&bad),
        )
        .await
        .expect_err("invalid report");
    let (code, message) = api_error(&e);
    assert_eq!(code, 422, "{message}");
    for field in ["results[0].result", "results[0].severity", "summary.fail"] {
        assert!(message.contains(field), "{field} in {message}");
    }

    // The scan goes, its report with it.
    let uid = stored.uid().expect("uid");
    scans
        .delete("app", &DeleteParams::background())
        .await
        .expect("delete scan");
    tokio::time::timeout(
        WAIT,
        await_condition(api.clone(), "plimsoll-app", conditions::is_deleted(&uid)),
    )
    .await
    .expect("garbage-collected in time")
    .expect("watch");

    // The CRD goes: discovery says so, and a write is a 404 that says "absent".
    Api::<CustomResourceDefinition>::all(client.clone())
        .delete(policy_report::CRD_NAME, &DeleteParams::default())
        .await
        .expect("delete CRD");
    assert!(!crd_present(&client).await.expect("discovery"));
    let e = apply(&client, NS, &second).await.expect_err("no CRD");
    assert!(e.is_absent(), "{e}");
    availability.forget();
    assert!(!availability.present(&client, t0 + RECHECK).await);
}
