//! The analyzer Job's job mode end to end: the real `plimsoll-analyzer` binary, a real image
//! pushed to the loopback test registry (`PLIMSOLL_TEST_REGISTRY`, basic auth at
//! `PLIMSOLL_TEST_REGISTRY_AUTH`), and a scripted fake of the operator's ingest API
//! (`operator/docs/ingest-protocol.md`) that records every request with its body.

mod support;

use base64::Engine as _;
use plimsoll_analyzer::ingest::{
    ANALYSIS_PATH, CHECK_PATH, CheckRequest, CheckResponse, FAILURE_PATH, FailureReport,
    UploadResponse,
};
use plimsoll_analyzer::model::Analysis;
use std::collections::VecDeque;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::fake_http::{FakeServer, Reply, Request};
use support::image::{Compression, Image, Layer};
use support::registry::{
    AUTH_PASSWORD, AUTH_USER, Flavor, Pusher, auth_registry, open_registry, unique_repo,
};

const TOKEN: &str = "job-token-5f1e9c";
const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// One answer of the fake operator to an upload.
#[derive(Debug, Clone, Copy)]
enum UploadAnswer {
    /// Decompress, parse, store, answer 200.
    Store,
    /// 503 `{"error": "store unavailable"}`, with `Retry-After` when given.
    Unavailable(Option<u32>),
}

/// What the fake operator answers, in order; the last answer of a script repeats.
struct Script {
    token: &'static str,
    checks: Vec<CheckResponse>,
    uploads: Vec<UploadAnswer>,
}

/// The fake operator: answers by script, keeps the analyses it stored.
struct Operator {
    server: FakeServer,
    stored: std::sync::Arc<Mutex<Vec<Analysis>>>,
}

fn next<T: Copy>(queue: &Mutex<VecDeque<T>>) -> T {
    let mut q = queue.lock().expect("script lock");
    if q.len() > 1 {
        q.pop_front().expect("checked length")
    } else {
        *q.front().expect("a non-empty script")
    }
}

fn json_reply(status: u16, value: &impl serde::Serialize) -> Reply {
    Reply::status(status, serde_json::to_vec(value).expect("serializes"))
}

fn error_reply(status: u16, message: &str) -> Reply {
    json_reply(status, &serde_json::json!({ "error": message }))
}

/// The Analysis of an upload body, honouring `Content-Encoding` (zstd or none).
fn decode_upload(req: &Request) -> Result<Analysis, String> {
    let json = match req.header("content-encoding") {
        Some("zstd") => zstd::decode_all(req.body.as_slice()).map_err(|e| e.to_string())?,
        None => req.body.clone(),
        Some(other) => return Err(format!("unexpected encoding {other}")),
    };
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

impl Operator {
    fn start(script: Script) -> Self {
        let checks = Mutex::new(VecDeque::from(script.checks));
        let uploads = Mutex::new(VecDeque::from(script.uploads));
        let stored = std::sync::Arc::new(Mutex::new(Vec::new()));
        let kept = stored.clone();
        let expected = format!("Bearer {}", script.token);
        let server = FakeServer::start(move |req| {
            if req.header("authorization") != Some(expected.as_str()) {
                return error_reply(401, "missing or unknown token");
            }
            match (req.method.as_str(), req.path.as_str()) {
                ("POST", CHECK_PATH) => match serde_json::from_slice::<CheckRequest>(&req.body) {
                    Ok(_) => json_reply(200, &next(&checks)),
                    Err(e) => error_reply(400, &format!("bad check: {e}")),
                },
                ("POST", ANALYSIS_PATH) => match next(&uploads) {
                    UploadAnswer::Unavailable(retry_after) => {
                        let reply = error_reply(503, "store unavailable");
                        match retry_after {
                            Some(s) => reply.with_header("Retry-After", &s.to_string()),
                            None => reply,
                        }
                    }
                    UploadAnswer::Store => match decode_upload(req) {
                        Ok(analysis) => {
                            let answer = UploadResponse {
                                digest: analysis.image.manifest_digest.clone(),
                                stored: true,
                            };
                            kept.lock().expect("store lock").push(analysis);
                            json_reply(200, &answer)
                        }
                        Err(e) => error_reply(400, &e),
                    },
                },
                ("POST", FAILURE_PATH) => {
                    match serde_json::from_slice::<FailureReport>(&req.body) {
                        Ok(_) => Reply::Full {
                            status: 204,
                            headers: vec![],
                            body: vec![],
                        },
                        Err(e) => error_reply(400, &format!("bad failure report: {e}")),
                    }
                }
                _ => error_reply(404, "no such endpoint"),
            }
        });
        Self { server, stored }
    }

    fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    fn requests(&self, path: &str) -> Vec<Request> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    fn checks(&self) -> Vec<CheckRequest> {
        self.requests(CHECK_PATH)
            .iter()
            .map(|r| serde_json::from_slice(&r.body).expect("a check request"))
            .collect()
    }

    fn failures(&self) -> Vec<FailureReport> {
        self.requests(FAILURE_PATH)
            .iter()
            .map(|r| serde_json::from_slice(&r.body).expect("a failure report"))
            .collect()
    }

    fn stored(&self) -> Vec<Analysis> {
        self.stored.lock().expect("store lock").clone()
    }

    /// Every request carried the Job's token.
    fn assert_all_authorized(&self) {
        for r in self.server.requests() {
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {TOKEN}").as_str()),
                "{} {}",
                r.method,
                r.path
            );
        }
    }
}

fn script(checks: Vec<CheckResponse>, uploads: Vec<UploadAnswer>) -> Script {
    Script {
        token: TOKEN,
        checks,
        uploads,
    }
}

/// A small Debian-looking image pushed to `host`; returns its reference and manifest digest.
async fn push_image(host: &str, pusher: Pusher) -> (String, String) {
    let layer = Layer::new()
        .file("etc/os-release", OS_RELEASE)
        .file("etc/debian_version", "12.11\n")
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        .build(Compression::Gzip);
    let app = Layer::new()
        .file("app/run.sh", "#!/bin/sh\necho hello\n")
        .build(Compression::Zstd);
    let repo = unique_repo("job");
    let digest = pusher
        .image(&repo, "1.0", &Image::new(vec![layer, app]), Flavor::Oci)
        .await;
    (format!("{host}/{repo}:1.0"), digest)
}

/// The analyzer binary in job mode against `operator`, the token in the environment.
fn analyzer(operator: &Operator, reference: &str, insecure: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plimsoll-analyzer"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PLIMSOLL_") {
            cmd.env_remove(name);
        }
    }
    cmd.arg(reference)
        .env("PLIMSOLL_INGEST_URL", operator.url())
        .env("PLIMSOLL_INGEST_TOKEN", TOKEN)
        .env("PLIMSOLL_INSECURE_REGISTRIES", insecure.join(","))
        .env("PLIMSOLL_LOG", "info")
        .env("HOME", "/nonexistent")
        .env_remove("DOCKER_CONFIG");
    cmd
}

fn run(mut cmd: Command) -> (Output, String) {
    let out = cmd.output().expect("runs the analyzer");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains(TOKEN), "the token leaked: {stderr}");
    (out, stderr)
}

#[tokio::test]
async fn analyze_uploads_a_zstd_analysis_with_the_token() {
    let Some(host) = open_registry() else { return };
    let (reference, digest) = push_image(&host, Pusher::new(&host)).await;
    let operator = Operator::start(script(
        vec![CheckResponse::Analyze],
        vec![UploadAnswer::Store],
    ));
    // The token from a file this time (the Job mounts its Secret).
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("writes the token");
    let mut cmd = analyzer(&operator, &reference, &[&host]);
    cmd.env_remove("PLIMSOLL_INGEST_TOKEN")
        .env("PLIMSOLL_INGEST_TOKEN_FILE", &token_file);
    let (out, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "job mode writes nothing to stdout");

    assert_eq!(
        operator.checks(),
        vec![CheckRequest {
            reference: reference.clone(),
            digest: digest.clone(),
            analyzer_version: env!("CARGO_PKG_VERSION").into(),
        }]
    );
    let uploads = operator.requests(ANALYSIS_PATH);
    assert_eq!(uploads.len(), 1);
    let upload = &uploads[0];
    assert_eq!(upload.header("content-encoding"), Some("zstd"));
    assert_eq!(upload.header("content-type"), Some("application/json"));
    assert_eq!(&upload.body[..4], &[0x28, 0xb5, 0x2f, 0xfd], "zstd magic");
    let analysis = decode_upload(upload).expect("an Analysis");
    assert_eq!(analysis.image.manifest_digest, digest);
    assert_eq!(analysis.image.reference, reference);
    assert_eq!(analysis.image.layers.len(), 2);
    assert_eq!(
        analysis.distro.as_ref().map(|d| d.id.as_str()),
        Some("debian")
    );
    assert!(analysis.files.iter().any(|f| f.path == "/app/run.sh"));
    assert!(upload.body.len() < serde_json::to_vec(&analysis).expect("serializes").len());
    assert_eq!(operator.stored().len(), 1);
    assert!(operator.failures().is_empty());
    operator.assert_all_authorized();
}

#[tokio::test]
async fn skip_ends_the_job_without_an_upload() {
    let Some(host) = open_registry() else { return };
    let (reference, digest) = push_image(&host, Pusher::new(&host)).await;
    let operator = Operator::start(script(vec![CheckResponse::Skip], vec![UploadAnswer::Store]));
    let (out, stderr) = run(analyzer(&operator, &reference, &[&host]));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(operator.checks().len(), 1);
    assert_eq!(operator.checks()[0].digest, digest);
    assert!(operator.requests(ANALYSIS_PATH).is_empty());
    assert!(operator.failures().is_empty());
    assert!(stderr.contains(&digest), "{stderr}");
}

#[tokio::test]
async fn wait_then_analyze() {
    let Some(host) = open_registry() else { return };
    let (reference, digest) = push_image(&host, Pusher::new(&host)).await;
    let operator = Operator::start(script(
        vec![
            CheckResponse::Wait {
                retry_after_seconds: 1,
            },
            CheckResponse::Analyze,
        ],
        vec![UploadAnswer::Store],
    ));
    let started = Instant::now();
    let (out, stderr) = run(analyzer(&operator, &reference, &[&host]));
    assert!(out.status.success(), "{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(operator.checks().len(), 2);
    let stored = operator.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].image.manifest_digest, digest);
    operator.assert_all_authorized();
}

#[tokio::test]
async fn waiting_is_bounded_by_the_wait_timeout() {
    let Some(host) = open_registry() else { return };
    let (reference, _) = push_image(&host, Pusher::new(&host)).await;
    let operator = Operator::start(script(
        vec![CheckResponse::Wait {
            retry_after_seconds: 1,
        }],
        vec![UploadAnswer::Store],
    ));
    let mut cmd = analyzer(&operator, &reference, &[&host]);
    cmd.args(["--wait-timeout", "2s"]);
    let started = Instant::now();
    let (out, stderr) = run(cmd);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--wait-timeout"), "{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(
        (2..=4).contains(&operator.checks().len()),
        "{}",
        operator.checks().len()
    );
    assert!(operator.requests(ANALYSIS_PATH).is_empty());
    assert!(operator.failures().is_empty());
}

#[tokio::test]
async fn a_missing_image_is_reported_as_a_definitive_failure() {
    let Some(host) = open_registry() else { return };
    let reference = format!("{host}/{}:absent", unique_repo("never-pushed"));
    let operator = Operator::start(script(
        vec![CheckResponse::Analyze],
        vec![UploadAnswer::Store],
    ));
    let (out, stderr) = run(analyzer(&operator, &reference, &[&host]));
    assert!(out.status.success(), "{stderr}");
    let failures = operator.failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].reason, "ImageNotFound");
    assert!(
        failures[0].message.contains("not found"),
        "{:?}",
        failures[0]
    );
    assert_eq!(failures[0].digest, None);
    assert!(operator.checks().is_empty());
    assert!(operator.requests(ANALYSIS_PATH).is_empty());
    assert!(stderr.contains("ImageNotFound"), "{stderr}");
    operator.assert_all_authorized();
}

#[test]
fn an_invalid_reference_is_reported_as_a_definitive_failure() {
    let operator = Operator::start(script(
        vec![CheckResponse::Analyze],
        vec![UploadAnswer::Store],
    ));
    let (out, stderr) = run(analyzer(&operator, "not a reference", &[]));
    assert!(out.status.success(), "{stderr}");
    let failures = operator.failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].reason, "InvalidImageReference");
    assert!(operator.checks().is_empty());
}

#[test]
fn an_unreachable_registry_is_reported_and_the_job_fails() {
    // Nothing listens on the port: connection refused, retried, then `RegistryError`, which
    // a later try of the Job may not meet.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let registry = format!("127.0.0.1:{port}");
    let operator = Operator::start(script(
        vec![CheckResponse::Analyze],
        vec![UploadAnswer::Store],
    ));
    let (out, stderr) = run(analyzer(
        &operator,
        &format!("{registry}/app:1"),
        &[&registry],
    ));
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let failures = operator.failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].reason, "RegistryError");
    assert!(failures[0].message.contains(&registry), "{:?}", failures[0]);
    assert!(operator.checks().is_empty());
}

#[tokio::test]
async fn unavailable_store_is_retried_until_the_upload_lands_once() {
    let Some(host) = open_registry() else { return };
    let (reference, digest) = push_image(&host, Pusher::new(&host)).await;
    let operator = Operator::start(script(
        vec![CheckResponse::Analyze],
        vec![
            UploadAnswer::Unavailable(Some(1)),
            UploadAnswer::Unavailable(None),
            UploadAnswer::Store,
        ],
    ));
    let started = Instant::now();
    let (out, stderr) = run(analyzer(&operator, &reference, &[&host]));
    assert!(out.status.success(), "{stderr}");
    // Retry-After: 1 was honoured (the first backoff step alone is at most 0.5 s).
    assert!(started.elapsed() >= Duration::from_secs(1));
    let uploads = operator.requests(ANALYSIS_PATH);
    assert_eq!(uploads.len(), 3);
    assert!(uploads.windows(2).all(|w| w[0].body == w[1].body));
    let stored = operator.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].image.manifest_digest, digest);
    assert!(stderr.contains("503"), "the retries are logged: {stderr}");
    operator.assert_all_authorized();
}

#[tokio::test]
async fn a_refused_token_fails_at_once_with_a_clear_error() {
    let Some(host) = open_registry() else { return };
    let (reference, _) = push_image(&host, Pusher::new(&host)).await;
    let operator = Operator::start(Script {
        token: "another-jobs-token",
        checks: vec![CheckResponse::Analyze],
        uploads: vec![UploadAnswer::Store],
    });
    let (out, stderr) = run(analyzer(&operator, &reference, &[&host]));
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(
        operator.requests(CHECK_PATH).len(),
        1,
        "a 401 is not retried"
    );
    assert!(operator.requests(ANALYSIS_PATH).is_empty());
    let want = format!(
        "POST {}{CHECK_PATH}: 401: missing or unknown token",
        operator.url()
    );
    assert!(stderr.contains(&want), "{stderr}");
    assert!(!stderr.contains("tries"), "{stderr}");
}

/// A docker config.json with one basic-auth entry.
fn auth_file(dir: &std::path::Path, name: &str, host: &str, user: &str, password: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let path = dir.join(name);
    std::fs::write(
        &path,
        serde_json::to_vec(&serde_json::json!({"auths": {host: {"auth": auth}}}))
            .expect("serializes"),
    )
    .expect("writes the auth file");
    path.display().to_string()
}

#[tokio::test]
async fn several_pull_secrets_the_first_naming_the_registry_wins() {
    let Some(host) = auth_registry() else { return };
    let (reference, digest) = push_image(
        &host,
        Pusher::new(&host).with_basic_auth(AUTH_USER, AUTH_PASSWORD),
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let unrelated = auth_file(dir.path(), "a.json", "other.example", "x", "y");
    let right = auth_file(dir.path(), "b.json", &host, AUTH_USER, AUTH_PASSWORD);
    let wrong = auth_file(dir.path(), "c.json", &host, AUTH_USER, "wrong");

    // An unrelated secret first, then the registry's: its credentials are used.
    let operator = Operator::start(script(
        vec![CheckResponse::Analyze],
        vec![UploadAnswer::Store],
    ));
    let mut cmd = analyzer(&operator, &reference, &[&host]);
    cmd.env(
        "PLIMSOLL_REGISTRY_AUTH_FILE",
        format!("{unrelated},{right},{wrong}"),
    );
    let (out, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    let stored = operator.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].image.manifest_digest, digest);

    // A wrong secret for the registry first: it wins, the login fails, the failure is
    // definitive.
    let operator = Operator::start(script(
        vec![CheckResponse::Analyze],
        vec![UploadAnswer::Store],
    ));
    let mut cmd = analyzer(&operator, &reference, &[&host]);
    cmd.env("PLIMSOLL_REGISTRY_AUTH_FILE", format!("{wrong},{right}"));
    let (out, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    let failures = operator.failures();
    assert_eq!(failures.len(), 1, "{stderr}");
    assert_eq!(failures[0].reason, "RegistryAuthFailed");
    assert!(operator.stored().is_empty());
}
