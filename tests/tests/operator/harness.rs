//! The cluster of an end-to-end test: the simulator (in process), the real `plimsoll-operator`
//! binary (a child process, through a kubeconfig, as in a cluster), the real
//! `plimsoll-analyzer` binary as the analyzer Jobs' program, and the loopback test registry.

#![allow(
    clippy::print_stderr,
    unreachable_pub,
    reason = "test diagnostics; a test-only module"
)]

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use plimsoll::crd::{ImageScan, PolicyBundle};
use plimsoll_e2e::kubelet::images::ImageMap;
use plimsoll_e2e::{Simulator, SimulatorConfig};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The analyzer image the operator is configured with; the simulator maps it to the binary.
pub const ANALYZER_IMAGE: &str = "ghcr.io/plimsoll/analyzer:e2e";
/// The CronJobs' image (the operator image, running the `plimsoll` CLI); mapped to `plimsoll`.
pub const CRONJOB_IMAGE: &str = "ghcr.io/plimsoll/operator:e2e";

/// `target/<profile>/NAME`, built on demand when `cargo test` did not build it (a run of this
/// crate alone does not build other packages' binaries).
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let dir = std::env::current_exe()
        .expect("test executable")
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf();
    let path = dir.join(name);
    let stale = |p: &Path| {
        // A binary older than this test executable may predate the sources it was built from.
        let exe = std::env::current_exe()
            .ok()
            .and_then(|e| e.metadata().ok()?.modified().ok());
        let bin = p.metadata().ok().and_then(|m| m.modified().ok());
        match (exe, bin) {
            (Some(e), Some(b)) => b < e && std::env::var_os("PLIMSOLL_E2E_NO_BUILD").is_none(),
            _ => true,
        }
    };
    if stale(&path) {
        BUILT.get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args([
                    "build",
                    "-p",
                    "plimsoll",
                    "--bin",
                    "plimsoll-operator",
                    "--bin",
                    "plimsoll",
                    "-p",
                    "plimsoll-analyzer",
                    "--bin",
                    "plimsoll-analyzer",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo build");
            assert!(status.success(), "building the binaries failed");
        });
    }
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

/// A registry from the environment (`tests/start-registries.sh`), or `None` (skip) outside CI.
pub fn registry(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "{var} is not set but CI=true: start tests/start-registries.sh"
            );
            eprintln!("SKIPPED: {var} is not set (run tests/start-registries.sh)");
            None
        }
    }
}

pub struct Cluster {
    /// Kept alive for the test's duration.
    pub _sim: Simulator,
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    /// The latest operator's log, shown when a wait fails.
    pub op_log: std::sync::Mutex<Option<PathBuf>>,
}

impl Cluster {
    pub async fn start() -> Self {
        let images = ImageMap::new()
            .with(ANALYZER_IMAGE, binary("plimsoll-analyzer"))
            .with(CRONJOB_IMAGE, binary("plimsoll"));
        let sim = Simulator::start(SimulatorConfig {
            images,
            allow_host_commands: false,
            ..SimulatorConfig::default()
        })
        .await
        .expect("simulator starts");
        let kubeconfig_yaml = Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig");
        let config = Config::from_custom_kubeconfig(kubeconfig_yaml, &KubeConfigOptions::default())
            .await
            .expect("config");
        let client = Client::try_from(config).expect("client");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
        let cluster = Self {
            _sim: sim,
            client,
            dir,
            kubeconfig,
            op_log: std::sync::Mutex::new(None),
        };
        cluster.install_crds().await;
        cluster
    }

    /// `kubectl apply -f crds/`.
    async fn install_crds(&self) {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("crds"))
            .expect("crds/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        assert_eq!(files.len(), 3, "three CRDs");
        for f in files {
            let crd: CustomResourceDefinition =
                serde_saphyr::from_str(&std::fs::read_to_string(&f).expect("read CRD"))
                    .expect("CRD YAML");
            api.create(&PostParams::default(), &crd)
                .await
                .unwrap_or_else(|e| panic!("creating {}: {e}", f.display()));
        }
    }

    pub async fn namespace(&self, name: &str) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("ns");
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("namespace {name}: {e}"),
        }
    }

    /// Server-side applies a YAML or JSON object.
    pub async fn apply<K>(&self, ns: &str, obj: &serde_json::Value) -> K
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned
            + serde::Serialize,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let name = obj["metadata"]["name"].as_str().expect("a name");
        api.patch(name, &PatchParams::apply("e2e-test"), &Patch::Apply(obj))
            .await
            .unwrap_or_else(|e| panic!("applying {name}: {e}"))
    }

    pub fn scans(&self, ns: &str) -> Api<ImageScan> {
        Api::namespaced(self.client.clone(), ns)
    }

    pub fn bundles(&self, ns: &str) -> Api<PolicyBundle> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Analyzer Jobs in every namespace.
    pub async fn analyzer_jobs(&self) -> Vec<Job> {
        let api: Api<Job> = Api::all(self.client.clone());
        api.list(&ListParams::default().labels("app.kubernetes.io/component=analyzer"))
            .await
            .expect("list Jobs")
            .items
    }

    /// Polls `name` until `done` holds, or panics after `timeout` with the last state.
    pub async fn wait_scan(
        &self,
        ns: &str,
        name: &str,
        timeout: Duration,
        done: impl Fn(&ImageScan) -> bool,
    ) -> ImageScan {
        let api = self.scans(ns);
        let start = Instant::now();
        loop {
            let last = api.get_opt(name).await.expect("get ImageScan");
            if let Some(s) = &last
                && done(s)
            {
                return s.clone();
            }
            if start.elapsed() > timeout {
                let log = self
                    .op_log
                    .lock()
                    .ok()
                    .and_then(|l| l.clone())
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                panic!(
                    "ImageScan {ns}/{name} not there after {timeout:?}: {}\noperator log (last lines first):\n{}",
                    serde_json::to_string_pretty(&last.map(|s| s.status)).unwrap_or_default(),
                    tail.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Phase and Ready reason of a scan, for assertions.
pub fn phase(s: &ImageScan) -> Option<String> {
    s.status
        .as_ref()
        .and_then(|st| st.phase)
        .map(|p| format!("{p:?}"))
}

pub fn condition(s: &ImageScan, type_: &str) -> Option<(String, String, String)> {
    let st = s.status.as_ref()?;
    let c = st.conditions.iter().find(|c| c.type_ == type_)?;
    Some((
        format!("{:?}", c.status),
        c.reason.clone(),
        c.message.clone(),
    ))
}

/// Ready or Failed: the scan has settled.
pub fn settled(s: &ImageScan) -> bool {
    matches!(phase(s).as_deref(), Some("Ready" | "Failed"))
        && s.status.as_ref().and_then(|st| st.observed_generation) == s.metadata.generation
}

/// A running operator process.
pub struct Operator {
    child: Child,
    pub url: String,
    pub port: u16,
    pub log: PathBuf,
}

impl Operator {
    /// Starts the operator on a free port with a store at `db`; `extra` are more environment
    /// variables (`PLIMSOLL_MAX_CONCURRENT_JOBS`...).
    pub async fn start(cluster: &Cluster, db: &str, extra: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(cluster, db, port, extra).await
    }

    /// Starts the operator on `port`: a restarted operator keeps its address, as a Service
    /// keeps its name, so Jobs started before the restart still reach it.
    pub async fn start_on(cluster: &Cluster, db: &str, port: u16, extra: &[(&str, &str)]) -> Self {
        let url = format!("http://127.0.0.1:{port}");
        let log = cluster.dir.path().join(format!("operator-{port}.log"));
        let insecure: Vec<String> = ["PLIMSOLL_TEST_REGISTRY", "PLIMSOLL_TEST_REGISTRY_AUTH"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .collect();
        let mut cmd = Command::new(binary("plimsoll-operator"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", cluster.dir.path())
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("PLIMSOLL_DB", db)
            .env("PLIMSOLL_LISTEN", format!("127.0.0.1:{port}"))
            .env("PLIMSOLL_INGEST_URL", &url)
            .env("PLIMSOLL_ANALYZER_IMAGE", ANALYZER_IMAGE)
            .env("PLIMSOLL_CRONJOB_IMAGE", CRONJOB_IMAGE)
            // A scheduled feed sync stays on this machine: the bundled real OSV slices.
            .env(
                "PLIMSOLL_FEED_SOURCES",
                repo().join("operator/tests/data/osv"),
            )
            .env("PLIMSOLL_ANALYZER_INSECURE_REGISTRIES", insecure.join(","))
            .env("PLIMSOLL_LOG", "info,plimsoll=debug,kube_runtime=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start plimsoll-operator");
        if let Ok(mut l) = cluster.op_log.lock() {
            *l = Some(log.clone());
        }
        let op = Self {
            child,
            url,
            port,
            log,
        };
        op.wait_ready().await;
        op
    }

    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", self.url)).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the operator did not become ready:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    #[allow(
        dead_code,
        reason = "the scale benchmark (tests/examples/operator_scale.rs) uses it"
    )]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash or an OOM kill would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `/metrics` as text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.url))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `plimsoll feeds sync` of the bundled test slices of real OSV records into `db`.
pub fn seed_feeds(db: &str, home: &Path) {
    let out = Command::new(binary("plimsoll"))
        .args(["feeds", "sync", "--source"])
        .arg(repo().join("operator/tests/data/osv"))
        .args(["--db", db])
        .env("HOME", home)
        .env("PLIMSOLL_LOG", "error")
        .output()
        .expect("run plimsoll feeds sync");
    assert!(
        out.status.success(),
        "feeds sync: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pushes an OCI layout directory's image to `registry/repo:tag`; returns the manifest digest.
pub async fn push_layout(
    layout: &Path,
    registry: &str,
    repo: &str,
    tag: &str,
    auth: Option<(&str, &str)>,
) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("index JSON");
    let m = &index["manifests"][0];
    let digest = m["digest"].as_str().expect("manifest digest").to_owned();
    let media_type = m["mediaType"].as_str().expect("media type").to_owned();
    let blob = |d: &str| {
        let (alg, hex) = d.split_once(':').expect("digest");
        std::fs::read(layout.join("blobs").join(alg).join(hex)).expect("blob")
    };
    let manifest_bytes = blob(&digest);
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes).expect("manifest");
    let mut pusher = super::support::registry::Pusher::new(registry);
    if let Some((u, p)) = auth {
        pusher = pusher.with_basic_auth(u, p);
    }
    let mut digests = vec![
        manifest["config"]["digest"]
            .as_str()
            .expect("config")
            .to_owned(),
    ];
    for l in manifest["layers"].as_array().expect("layers") {
        digests.push(l["digest"].as_str().expect("layer digest").to_owned());
    }
    for d in &digests {
        let status = pusher.blob_as(repo, d, &blob(d)).await;
        assert!(status.is_success(), "pushing {d}: {status}");
    }
    pusher
        .manifest(repo, tag, &media_type, &manifest_bytes)
        .await
}

/// A small image with one distinct file (so each has its own digest) and a Python package.
pub async fn push_small_image(registry: &str, repo: &str, tag: &str, n: usize) -> String {
    use super::support::image::{Compression, Image, Layer};
    use super::support::registry::Flavor;
    let layer = Layer::new()
        .file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        .file(&format!("srv/id-{n}"), format!("image {n}\n"))
        .file(
            "usr/lib/python3/dist-packages/requests-2.19.1.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.19.1\n",
        )
        .build(Compression::Gzip);
    let image = Image::new(vec![layer]);
    super::support::registry::Pusher::new(registry)
        .image(repo, tag, &image, Flavor::Oci)
        .await
}

/// The default policy bundle (Anchore's default) as a PolicyBundle object.
pub fn default_bundle(name: &str) -> serde_json::Value {
    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("examples/policies/anchore-default.json"))
            .expect("default bundle"),
    )
    .expect("bundle JSON");
    serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1",
        "kind": "PolicyBundle",
        "metadata": {"name": name},
        "spec": spec,
    })
}

pub fn image_scan(name: &str, image: &str, bundle: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1",
        "kind": "ImageScan",
        "metadata": {"name": name},
        "spec": {"image": image, "policyBundleRef": {"name": bundle}},
    })
}

/// `kubectl create job NAME --from=cronjob/CJ` in the operator's namespace (`default`), then waits for it to finish; panics with the
/// pod's log when it fails.
pub async fn run_manually(
    cluster: &Cluster,
    op: &Operator,
    cronjob: &CronJob,
    name: &str,
) -> String {
    let value = serde_json::to_value(cronjob).expect("CronJob JSON");
    let job: Job =
        serde_json::from_value(plimsoll_e2e::jobs::job_from_cronjob(&value, name)).expect("Job");
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), "default");
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create the manual Job");
    let start = Instant::now();
    let outcome = loop {
        let j = jobs.get(name).await.expect("get Job");
        let done = j
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| {
                cs.iter()
                    .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
                    .map(|c| c.type_.clone())
            });
        if let Some(done) = done {
            break done;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "Job {name} did not finish: {:?}\n{}",
            j.status,
            op.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let listed = pods
        .list(&ListParams::default().labels(&format!("job-name={name}")))
        .await
        .expect("list pods");
    let mut log = String::new();
    for p in &listed.items {
        let pod_name = p.metadata.name.clone().unwrap_or_default();
        log.push_str(
            &pods
                .logs(&pod_name, &LogParams::default())
                .await
                .unwrap_or_default(),
        );
    }
    assert_eq!(
        outcome,
        "Complete",
        "Job {name}: pod log:\n{log}\noperator log:\n{}",
        op.logs()
    );
    log
}

/// The operator's CronJob `name` (in `default`), once it has created it.
pub async fn cronjob(cluster: &Cluster, name: &str) -> CronJob {
    let api: Api<CronJob> = Api::namespaced(cluster.client.clone(), "default");
    let start = Instant::now();
    loop {
        if let Ok(Some(cj)) = api.get_opt(name).await {
            return cj;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "the operator did not create CronJob {name}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
