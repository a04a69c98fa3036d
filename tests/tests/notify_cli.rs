//! `plimsoll notify test` end to end: the real CLI binary, through a kubeconfig, against the
//! simulator (CRDs installed from `crds/`), sending to a webhook receiver on 127.0.0.1. Checks
//! what the receiver got (signed, schema-valid, marked as a test), the Kubernetes Event, and the
//! errors and exit codes of a missing Secret and a missing Subscription.

#![allow(clippy::print_stderr, reason = "test diagnostics")]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use plimsoll::crd::Subscription;
use plimsoll_e2e::{Simulator, SimulatorConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NS: &str = "team";
const HMAC_KEY: &str = "whsec-e2e";

/// `target/<profile>/plimsoll`, built when missing or older than this test (a run of this
/// crate alone does not build other packages' binaries).
fn plimsoll_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let path = dir.join("plimsoll");
    let modified = |p: &Path| p.metadata().ok().and_then(|m| m.modified().ok());
    let stale = match (modified(&exe), modified(&path)) {
        (Some(e), Some(b)) => b < e && std::env::var_os("PLIMSOLL_E2E_NO_BUILD").is_none(),
        _ => true,
    };
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if stale && BUILT.get().is_none() {
        BUILT.get_or_init(|| ());
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "plimsoll", "--bin", "plimsoll"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building plimsoll failed");
    }
    assert!(path.exists(), "{} is missing", path.display());
    path
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> &'static str {
    inbox.0.lock().expect("lock").push((headers, body));
    "ok"
}

struct World {
    _sim: Simulator,
    client: Client,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl World {
    async fn start() -> Self {
        let sim = Simulator::start(SimulatorConfig {
            workloads: false,
            ..SimulatorConfig::default()
        })
        .await
        .expect("simulator starts");
        let config = Config::from_custom_kubeconfig(
            Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig"),
            &KubeConfigOptions::default(),
        )
        .await
        .expect("config");
        let client = Client::try_from(config).expect("client");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for entry in std::fs::read_dir(repo().join("crds")).expect("crds/") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|x| x == "yaml") {
                let crd: CustomResourceDefinition =
                    serde_saphyr::from_str(&std::fs::read_to_string(&path).expect("read CRD"))
                        .expect("CRD YAML");
                crds.create(&PostParams::default(), &crd)
                    .await
                    .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
            }
        }
        let ns: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": NS}})).expect("ns");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("namespace");
        Self {
            _sim: sim,
            client,
            _dir: dir,
            kubeconfig,
        }
    }

    async fn create<K>(&self, obj: serde_json::Value)
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned
            + serde::Serialize,
        K::DynamicType: Default,
    {
        let obj: K = serde_json::from_value(obj).expect("object");
        Api::<K>::namespaced(self.client.clone(), NS)
            .create(&PostParams::default(), &obj)
            .await
            .expect("create");
    }

    /// Runs `plimsoll ARGS` against the simulator: (exit code, stdout, stderr).
    async fn plimsoll(&self, args: &[&str]) -> (i32, String, String) {
        let out = tokio::process::Command::new(plimsoll_binary())
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("https_proxy")
            .env_remove("http_proxy")
            .stdin(Stdio::null())
            .output();
        let out = tokio::time::timeout(Duration::from_secs(60), out)
            .await
            .expect("plimsoll finishes")
            .expect("plimsoll runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        eprintln!("plimsoll {args:?}: {:?}\n{stdout}{stderr}", out.status);
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }
}

fn subscription(name: &str, url_secret: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "images": {"patterns": ["registry.example/team/*:release-*"]},
            "events": ["policy_eval", "fix_available"],
            "sinks": {
                "webhook": {
                    "urlSecretRef": {"name": url_secret, "key": "url"},
                    "hmacSecretRef": {"name": "hook", "key": "hmac"},
                    "headers": [{"name": "X-Team", "value": "payments"}],
                },
                "kubernetesEvents": {"enabled": true},
            },
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_sends_a_signed_schema_valid_notification() {
    let world = World::start().await;
    let inbox = Inbox::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .fallback(receive)
        .with_state(inbox.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    world
        .create::<Secret>(serde_json::json!({
            "metadata": {"name": "hook", "namespace": NS},
            "data": {
                "url": base64(&format!("http://{addr}/hooks/rebuild")),
                "hmac": base64(HMAC_KEY),
            },
        }))
        .await;
    world
        .create::<Subscription>(subscription("release-alerts", "hook"))
        .await;
    world
        .create::<Subscription>(subscription("broken", "missing-hook"))
        .await;

    // Every sink accepts the test notification.
    let (code, stdout, _) = world
        .plimsoll(&["notify", "test", "release-alerts", "-n", NS])
        .await;
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout, "webhook: ok\nkubernetesEvents: ok\n");
    let got = inbox.0.lock().expect("lock").clone();
    assert_eq!(got.len(), 1, "one request");
    let (headers, body) = &got[0];
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    // Signed with the Secret's key, recently.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let now = i64::try_from(now).expect("now");
    plimsoll::notify::sign::verify(
        HMAC_KEY.as_bytes(),
        header("plimsoll-signature"),
        body,
        now,
        300,
    )
    .expect("the signature verifies");
    // Valid against the published schema, marked as a test, of the first subscribed event.
    let doc: serde_json::Value = serde_json::from_slice(body).expect("JSON body");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("operator/docs/notification.schema.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{doc:#}");
    assert_eq!(doc["test"], true);
    assert_eq!(doc["event"], "policy_eval");
    assert_eq!(
        doc["subscription"],
        serde_json::json!({"namespace": NS, "name": "release-alerts"})
    );
    assert_eq!(
        doc["image"]["reference"],
        "registry.example/team/*:release-*"
    );
    assert_eq!(header("idempotency-key"), doc["id"].as_str().unwrap_or("?"));
    assert_eq!(header("plimsoll-event"), "policy_eval");
    assert_eq!(header("x-team"), "payments");
    // The Kubernetes Event, on the Subscription (there is no ImageScan).
    let events: Api<Event> = Api::namespaced(world.client.clone(), NS);
    let events = events.list(&ListParams::default()).await.expect("events");
    let ours: Vec<&Event> = events
        .items
        .iter()
        .filter(|e| {
            e.regarding
                .as_ref()
                .is_some_and(|r| r.name.as_deref() == Some("release-alerts"))
        })
        .collect();
    assert_eq!(ours.len(), 1, "{:#?}", events.items);
    assert_eq!(ours[0].reason.as_deref(), Some("PolicyVerdictChanged"));
    assert!(
        ours[0]
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("[test] policy_eval"))
    );

    // A missing Secret: a clear error naming it, exit 3, nothing sent.
    let (code, stdout, _) = world
        .plimsoll(&["notify", "test", "broken", "-n", NS])
        .await;
    assert_eq!(code, 3);
    assert!(
        stdout.contains(
            "webhook: failed: webhook URL: Secret team/missing-hook does not exist or has no key \"url\""
        ),
        "{stdout}"
    );
    assert!(stdout.contains("kubernetesEvents: ok"), "{stdout}");
    assert_eq!(inbox.0.lock().expect("lock").len(), 1);

    // No such Subscription: a usage error.
    let (code, _, stderr) = world.plimsoll(&["notify", "test", "nope", "-n", NS]).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("Subscription team/nope not found"),
        "{stderr}"
    );
    server.abort();
}

fn base64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
