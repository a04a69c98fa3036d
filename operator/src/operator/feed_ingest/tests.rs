//! The CronJobs' endpoints over real HTTP on 127.0.0.1, with a real SQLite store and real OSV
//! records (`operator/tests/data/osv`, `store/testdata`).

use super::*;
use crate::feeds::osv::Record;
use crate::feeds::push::{Encoder, FORMAT_VERSION, SourceInfo};
use crate::feeds::sync::content_digest;
use crate::operator::config::OperatorArgs;
use crate::store::{PackageRef, Store};
use clap::Parser;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

const PYPI: &str = include_str!("../../../tests/data/osv/pypi-pysec-slice.jsonl");
const NPM: &str = include_str!("../../../tests/data/osv/ghsa-npm-lodash.jsonl");
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn parse(text: &str) -> Vec<Record> {
    text.lines()
        .map(|l| Record::from_json(l.as_bytes()).expect("real record"))
        .collect()
}

fn rustsec(name: &str) -> Record {
    let text = match name {
        "atty" => include_str!("../../store/testdata/rustsec-2021-0145.json"),
        "dirs-withdrawn" => include_str!("../../store/testdata/rustsec-2020-0053-withdrawn.json"),
        other => panic!("no fixture {other}"),
    };
    Record::from_json(text.as_bytes()).expect("real record")
}

struct Server {
    ctx: Arc<Context>,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&dir.path().join("op.db").display().to_string())
        .await
        .expect("store");
    let mut args = vec!["plimsoll-operator", "--ingest-url", "http://127.0.0.1:1"];
    args.extend_from_slice(extra);
    let config = OperatorArgs::try_parse_from(args).expect("config");
    let client = kube::Client::try_from(kube::Config::new(
        "http://127.0.0.1:1".parse().expect("url"),
    ))
    .expect("client (never used)");
    let recorder = kube::runtime::events::Recorder::new(
        client.clone(),
        kube::runtime::events::Reporter {
            controller: "test".into(),
            instance: None,
        },
    );
    let (wake, _) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Arc::new(Context {
        client,
        store,
        config,
        bundles: Default::default(),
        slots: Mutex::new(crate::operator::slots::Slots::new(4)),
        jobs: kube::runtime::reflector::store().0,
        bundle_cache: kube::runtime::reflector::store().0,
        scans: OnceLock::new(),
        wake,
        recorder,
        metrics: crate::operator::metrics::Metrics::new(),
        claims: Mutex::new(Default::default()),
        errors: Mutex::new(Default::default()),
        feeds_changed: tokio::sync::Notify::new(),
        cronjob_token_sha256: RwLock::new(Some(token_hash(TOKEN))),
        watch_round: std::sync::atomic::AtomicU64::new(0),
        subscriptions: OnceLock::new(),
        outbox_wake: tokio::sync::Notify::new(),
        policy_reports: crate::operator::policy_report::Availability::default(),
    });
    let app = crate::operator::server::router(AppState {
        ctx: ctx.clone(),
        ready: Arc::new(AtomicBool::new(true)),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        ctx,
        base,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

fn header(name: &str, mode: Mode, records: &[Record]) -> Header {
    Header {
        version: FORMAT_VERSION,
        source: SourceInfo {
            name: name.into(),
            kind: "dir".into(),
            url: name.into(),
        },
        mode,
        digest: matches!(mode, Mode::Full | Mode::Unchanged).then(|| content_digest(records)),
        cursor: None,
        since: None,
        records: if matches!(mode, Mode::Full | Mode::Incremental) {
            records.len() as u64
        } else {
            0
        },
        error: None,
    }
}

fn encode(h: &Header, records: &[Record]) -> Vec<u8> {
    let mut enc = Encoder::new(h).expect("encoder");
    for r in records
        .iter()
        .take(usize::try_from(h.records).expect("count"))
    {
        enc.record(r).expect("record");
    }
    enc.finish().expect("finish")
}

impl Server {
    fn feed_url(&self, source: &str) -> reqwest::Url {
        let mut url: reqwest::Url = format!("{}{FEEDS_PATH}", self.base).parse().expect("url");
        url.path_segments_mut().expect("base").push(source);
        url
    }

    async fn put(&self, source: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
        let r = self
            .http
            .put(self.feed_url(source))
            .bearer_auth(TOKEN)
            .header("content-encoding", "zstd")
            .header("content-type", push::CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .expect("PUT");
        let status = r.status().as_u16();
        (status, r.json().await.expect("JSON answer"))
    }

    async fn sources(&self) -> Vec<SourceState> {
        let r: SourcesResponse = self
            .http
            .get(format!("{}{FEEDS_PATH}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("sources");
        r.sources
    }

    /// Whether `feeds_changed` was signalled (consumes the signal).
    async fn feeds_changed(&self) -> bool {
        tokio::time::timeout(Duration::from_millis(50), self.ctx.feeds_changed.notified())
            .await
            .is_ok()
    }
}

fn pkg(e: &str, n: &str) -> PackageRef {
    PackageRef::new(e, n)
}

#[tokio::test]
async fn a_push_writes_the_records_and_only_its_packages_change() {
    let s = start(&[]).await;
    let pypi = parse(PYPI);
    let before = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let source = "/srv/feeds/pypi";
    let (status, answer) = s
        .put(source, encode(&header(source, Mode::Full, &pypi), &pypi))
        .await;
    assert_eq!(status, 200, "{answer}");
    let answer: PushResponse = serde_json::from_value(answer).expect("push answer");
    assert_eq!((answer.inserted, answer.records), (6, 6));
    assert_eq!(
        answer.digest.as_deref(),
        Some(content_digest(&pypi).as_str())
    );
    assert!(s.feeds_changed().await, "the freshness task is woken");
    assert_eq!(
        s.ctx.store.changed_since(before).await.expect("changes"),
        vec![pkg("PyPI", "jw-util"), pkg("PyPI", "requests")],
        "exactly the packages of the pushed records"
    );
    let ids: Vec<&str> = pypi.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        s.ctx
            .store
            .advisories_by_id(&ids)
            .await
            .expect("by id")
            .len(),
        6
    );

    // Another source: its own packages only.
    let npm = parse(NPM);
    let mid = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (status, _) = s
        .put(
            "osv:npm",
            encode(&header("osv:npm", Mode::Full, &npm), &npm),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        s.ctx.store.changed_since(mid).await.expect("changes"),
        vec![
            pkg("npm", "lodash"),
            pkg("npm", "lodash-amd"),
            pkg("npm", "lodash-es"),
            pkg("npm", "lodash.defaultsdeep")
        ],
        "the GHSA records of lodash name its forks too"
    );

    let listed = s.sources().await;
    let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["/srv/feeds/pypi", "osv:npm"]);
    let p = &listed[0];
    assert_eq!((p.kind.as_str(), p.records), ("dir", 6));
    assert_eq!(p.digest.as_deref(), Some(content_digest(&pypi).as_str()));
    assert!(p.cursor.is_some() && p.last_success_at.is_some() && p.last_error.is_none());

    // The same content again: nothing rewritten, nothing touched, nobody woken.
    let again = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let _ = s.feeds_changed().await;
    let (status, answer) = s
        .put(source, encode(&header(source, Mode::Full, &pypi), &pypi))
        .await;
    assert_eq!(status, 200);
    let answer: PushResponse = serde_json::from_value(answer).expect("push answer");
    assert_eq!(
        (
            answer.inserted,
            answer.updated,
            answer.unchanged,
            answer.removed
        ),
        (0, 0, 6, 0)
    );
    assert_eq!(answer.touched_packages, 0);
    assert!(
        s.ctx
            .store
            .changed_since(again)
            .await
            .expect("changes")
            .is_empty()
    );
    assert!(!s.feeds_changed().await);

    // "Checked, unchanged" records the success without a body of records.
    let (status, answer) = s
        .put(source, encode(&header(source, Mode::Unchanged, &pypi), &[]))
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = s
        .put(source, encode(&header(source, Mode::Unchanged, &npm), &[]))
        .await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("push it whole")),
        "{answer}"
    );
}

#[tokio::test]
async fn a_corrupt_push_is_refused_whole_and_the_old_records_stay() {
    let s = start(&[]).await;
    let pypi = parse(PYPI);
    let name = "osv:PyPI";
    let (status, _) = s
        .put(name, encode(&header(name, Mode::Full, &pypi), &pypi))
        .await;
    assert_eq!(status, 200);
    let _ = s.feeds_changed().await;
    let first = s
        .ctx
        .store
        .feed_source(name)
        .await
        .expect("get")
        .expect("known");
    let after_first = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;

    // New content whose fourth line is broken: the three records before it must not land.
    let mut changed = pypi.clone();
    for r in &mut changed {
        r.modified = Some("2030-01-01T00:00:00Z".into());
    }
    let h = header(name, Mode::Full, &changed);
    let mut text = serde_json::to_string(&h).expect("header") + "\n";
    for (i, r) in changed.iter().enumerate() {
        if i == 2 {
            text.push_str("{\"id\": \"PYSEC-broken\", \"affected\": [}\n");
        } else {
            text.push_str(&serde_json::to_string(r).expect("record"));
            text.push('\n');
        }
    }
    let (status, answer) = s
        .put(name, zstd::encode_all(text.as_bytes(), 3).expect("zstd"))
        .await;
    assert_eq!(status, 400, "{answer}");
    let error = answer["error"].as_str().expect("error").to_owned();
    assert!(
        error.starts_with("feed push refused, nothing written: line 4: "),
        "{error}"
    );

    // Truncated zstd: refused too.
    let good = encode(&h, &changed);
    let (status, answer) = s.put(name, good[..good.len() / 2].to_vec()).await;
    assert_eq!(status, 400, "{answer}");

    // Nothing moved but the failure, which `feeds list` shows.
    let now = s
        .ctx
        .store
        .feed_source(name)
        .await
        .expect("get")
        .expect("known");
    assert_eq!(now.record_count, 6);
    assert_eq!(now.digest, first.digest);
    assert_eq!(now.last_success_at, first.last_success_at);
    assert!(
        now.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("feed push refused, nothing written: ")),
        "{now:?}"
    );
    assert!(
        s.ctx
            .store
            .changed_since(after_first)
            .await
            .expect("changes")
            .is_empty()
    );
    assert!(!s.feeds_changed().await);
    let stored = s
        .ctx
        .store
        .advisories_by_id(&["PYSEC-2018-28"])
        .await
        .expect("by id");
    assert_eq!(
        stored[0].1,
        pypi.iter()
            .find(|r| r.id == "PYSEC-2018-28")
            .cloned()
            .expect("x")
    );

    // An empty full push is not believed either.
    let (status, answer) = s
        .put(name, encode(&header(name, Mode::Full, &[]), &[]))
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("keeping the 6 stored"))
    );

    // A corrupt push of a source never seen before is recorded against it from its header.
    let fresh = "osv:Go";
    let mut h = header(fresh, Mode::Full, &pypi);
    h.records = 99;
    let (status, _) = s.put(fresh, encode_unchecked(&h, &pypi)).await;
    assert_eq!(status, 400);
    let go = s
        .ctx
        .store
        .feed_source(fresh)
        .await
        .expect("get")
        .expect("registered");
    assert_eq!((go.record_count, go.last_success_at), (0, None));
    assert!(
        go.last_error
            .is_some_and(|e| e.contains("declares 99 records"))
    );

    // The sync itself failed: recorded, data kept.
    let mut failed = header(name, Mode::Failed, &[]);
    failed.error = Some("https://osv.example/PyPI/all.zip: HTTP status 503".into());
    let (status, _) = s.put(name, encode(&failed, &[])).await;
    assert_eq!(status, 200);
    let now = s
        .ctx
        .store
        .feed_source(name)
        .await
        .expect("get")
        .expect("known");
    assert_eq!(now.record_count, 6);
    assert_eq!(
        now.last_error.as_deref(),
        Some("feed sync failed: https://osv.example/PyPI/all.zip: HTTP status 503")
    );
}

/// A push body whose header may lie about the count.
fn encode_unchecked(h: &Header, records: &[Record]) -> Vec<u8> {
    let mut text = serde_json::to_string(h).expect("header") + "\n";
    for r in records {
        text.push_str(&serde_json::to_string(r).expect("record"));
        text.push('\n');
    }
    zstd::encode_all(text.as_bytes(), 3).expect("zstd")
}

#[tokio::test]
async fn increments_apply_withdrawals_on_top_of_what_the_operator_holds() {
    let s = start(&[]).await;
    let name = "osv:crates.io";
    let mut live = rustsec("dirs-withdrawn");
    live.withdrawn = None;
    live.modified = Some("2024-01-01T00:00:00Z".into());
    let mut atty = rustsec("atty");
    atty.modified = Some("2024-02-01T00:00:00Z".into());
    let full = vec![live, atty];
    let (status, _) = s
        .put(name, encode(&header(name, Mode::Full, &full), &full))
        .await;
    assert_eq!(status, 200);
    let cursor = s.sources().await[0].cursor.clone().expect("cursor");
    assert_eq!(cursor, "2024-02-01T00:00:00Z");
    let before = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;

    let withdrawn = vec![rustsec("dirs-withdrawn")];
    let mut h = header(name, Mode::Incremental, &withdrawn);
    h.since = Some(cursor.clone());
    let (status, answer) = s.put(name, encode(&h, &withdrawn)).await;
    assert_eq!(status, 200, "{answer}");
    let answer: PushResponse = serde_json::from_value(answer).expect("answer");
    assert_eq!((answer.withdrawn, answer.records), (1, 1));
    assert_eq!(
        s.ctx.store.changed_since(before).await.expect("changes"),
        vec![pkg("crates.io", "dirs")]
    );
    assert!(
        s.ctx
            .store
            .advisories_by_id(&["RUSTSEC-2020-0053"])
            .await
            .expect("by id")
            .is_empty()
    );

    // An increment listed from later than what the operator holds would leave a gap.
    let later = s.sources().await[0].cursor.clone().expect("cursor");
    let mut h = header(name, Mode::Incremental, &[]);
    h.since = Some("2099-01-01T00:00:00Z".into());
    let (status, answer) = s.put(name, encode(&h, &[])).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| e.contains(&later)),
        "{answer}"
    );
    // And so would one for a source the operator never had.
    let mut h = header("osv:Hex", Mode::Incremental, &[]);
    h.since = Some(cursor);
    let (status, _) = s.put("osv:Hex", encode(&h, &[])).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn tokens_caps_and_names_are_checked() {
    let s = start(&["--max-feed-push-bytes", "2000"]).await;
    let pypi = parse(PYPI);
    let name = "osv:PyPI";
    let body = encode(&header(name, Mode::Full, &pypi), &pypi);
    for (token, status) in [(Some("wrong"), 401), (None, 401)] {
        let mut r = s.http.put(s.feed_url(name)).body(body.clone());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.expect("PUT");
        assert_eq!(r.status().as_u16(), status);
        let r = s.http.get(format!("{}{FEEDS_PATH}", s.base));
        let r = match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        };
        assert_eq!(r.send().await.expect("GET").status().as_u16(), 401);
        let r = s
            .http
            .post(format!("{}{WATCH_PATH}", s.base))
            .bearer_auth("wrong");
        assert_eq!(r.send().await.expect("POST").status().as_u16(), 401);
    }
    assert!(
        s.ctx.store.feed_source(name).await.expect("get").is_none(),
        "nothing recorded for an unauthenticated push"
    );

    // Over the compressed cap (2000 bytes): 413 before decoding.
    use sha2::Digest as _;
    let big: Vec<Record> = (0..60)
        .map(|i| {
            let mut r = pypi[0].clone();
            r.id = format!("PYSEC-TEST-{i}");
            r.details = Some(hex::encode(sha2::Sha256::digest(format!("{i}"))).repeat(4));
            r
        })
        .collect();
    let (status, answer) = s
        .put(name, encode(&header(name, Mode::Full, &big), &big))
        .await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("larger than 2000 bytes")),
        "{answer}"
    );
    // Under it compressed, over 8x decompressed.
    let mut padded = pypi[0].clone();
    padded.details = Some("x".repeat(20_000));
    let one = vec![padded];
    let small = encode(&header(name, Mode::Full, &one), &one);
    assert!(small.len() < 2000, "{}", small.len());
    let (status, answer) = s.put(name, small).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("more than 16000 bytes")),
        "{answer}"
    );

    // The header must name the source of the URL.
    let (status, answer) = s
        .put(
            "osv:npm",
            encode(&header(name, Mode::Full, &pypi[..1]), &pypi[..1]),
        )
        .await;
    assert_eq!(status, 400, "{answer}");

    // The watch request.
    let r = s
        .http
        .post(format!("{}{WATCH_PATH}", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 202);
    let answer: WatchResponse = r.json().await.expect("JSON");
    assert!(answer.accepted);
    assert_eq!(
        s.ctx
            .store
            .cursor(crate::operator::freshness::WATCH_ROUND)
            .await
            .expect("round"),
        Some(1),
        "a watch round is started in the store"
    );

    // No token set (a follower): 503 with Retry-After, whatever the request carries.
    if let Ok(mut h) = s.ctx.cronjob_token_sha256.write() {
        *h = None;
    }
    let r = s
        .http
        .post(format!("{}{WATCH_PATH}", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("10")
    );
    // A follower: the leader recorded the token's hash in the shared store.
    s.ctx
        .store
        .set_service_token(crate::operator::cronjobs::TOKEN_NAME, &token_hash(TOKEN))
        .await
        .expect("record the hash");
    let post = |token: &'static str| {
        s.http
            .post(format!("{}{WATCH_PATH}", s.base))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(post(TOKEN).await.expect("POST").status().as_u16(), 202);
    assert_eq!(
        post("not-the-token").await.expect("POST").status().as_u16(),
        401
    );
    assert_eq!(
        s.ctx
            .store
            .cursor(crate::operator::freshness::WATCH_ROUND)
            .await
            .expect("round"),
        Some(2)
    );
}

#[test]
fn tokens_compare_in_constant_time_shape() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(constant_time_eq(b"", b""));
}

/// The OSV export layout of one ecosystem (`all.zip`, `modified_id.csv`, `<ID>.json`), as the
/// CronJob's sync reads it from a mirror.
fn write_mirror(dir: &std::path::Path, records: &[Record]) {
    use std::io::Write as _;
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for r in records {
        zip.start_file(
            format!("{}.json", r.id),
            zip::write::SimpleFileOptions::default(),
        )
        .expect("entry");
        zip.write_all(&serde_json::to_vec(r).expect("json"))
            .expect("write");
        std::fs::write(
            dir.join(format!("{}.json", r.id)),
            serde_json::to_vec(r).expect("json"),
        )
        .expect("write");
    }
    std::fs::write(dir.join("all.zip"), zip.finish().expect("zip").into_inner()).expect("write");
    let mut lines: Vec<(chrono::DateTime<chrono::Utc>, &str)> = records
        .iter()
        .map(|r| {
            let m = r.modified.as_deref().expect("modified");
            (
                chrono::DateTime::parse_from_rfc3339(m)
                    .expect("time")
                    .to_utc(),
                r.id.as_str(),
            )
        })
        .collect();
    lines.sort_by(|a, b| b.cmp(a));
    let csv: String = lines
        .iter()
        .map(|(m, id)| format!("{},{id}\n", format_cursor(*m)))
        .collect();
    std::fs::write(dir.join("modified_id.csv"), csv).expect("write");
}

async fn run_feed_sync(s: &Server, sources: &[String], work: &std::path::Path) -> (bool, String) {
    let args = crate::cli::args::CronFeedSyncArgs {
        ingest: crate::cli::args::IngestArgs {
            ingest_url: s.base.clone(),
            token: Some(TOKEN.into()),
            token_file: None,
            tries: 2,
        },
        sources: sources.to_vec(),
        mirror: None,
        work_dir: Some(work.to_path_buf()),
        full: false,
    };
    let ctx = crate::cli::Ctx {
        cache_dir: None,
        clock: std::time::SystemTime::now,
    };
    let out = crate::cli::cron::feed_sync(&args, &ctx)
        .await
        .expect("feed-sync runs");
    (
        out.status == crate::cli::ExitStatus::Success,
        String::from_utf8(out.stdout).expect("UTF-8"),
    )
}

#[tokio::test]
async fn the_cronjob_command_pushes_whole_then_increments_then_nothing() {
    let s = start(&[]).await;
    let mirror = tempfile::tempdir().expect("mirror");
    let work = tempfile::tempdir().expect("work");
    let pypi_dir = mirror.path().join("PyPI");
    let mut records = parse(PYPI);
    write_mirror(&pypi_dir, &records);
    let server = crate::feeds::source::test_server::TestServer::serve_dir(mirror.path());
    let spec = format!("osv:PyPI@http://{}", server.addr());

    // 1. The operator holds nothing: the whole source.
    let (ok, out) = run_feed_sync(&s, std::slice::from_ref(&spec), work.path()).await;
    assert!(ok, "{out}");
    assert!(
        out.starts_with("osv:PyPI: synced 6 records; pushed: 6 new"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_dir(work.path()).expect("work dir").count(),
        0,
        "the scratch store is removed"
    );
    let held = s
        .ctx
        .store
        .feed_source("osv:PyPI")
        .await
        .expect("get")
        .expect("pushed");
    assert_eq!((held.record_count, held.kind.as_str()), (6, "osv-exports"));
    let cursor = held.modified_cursor.expect("cursor");

    // 2. Nothing changed: an increment from the operator's cursor (only the records at it are
    // fetched again), nothing written, nobody woken.
    let _ = s.feeds_changed().await;
    let (ok, out) = run_feed_sync(&s, std::slice::from_ref(&spec), work.path()).await;
    assert!(ok, "{out}");
    assert!(
        out.starts_with(&format!(
            "osv:PyPI: synced the changes since {}: 1 listed, 1 fetched; pushed (increment): 0 new, 0 updated, 0 removed, 1 unchanged",
            format_cursor(cursor)
        )),
        "{out}"
    );
    assert!(!s.feeds_changed().await);
    let fetched: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        fetched.iter().filter(|p| p.ends_with("all.zip")).count(),
        1,
        "{fetched:?}"
    );

    // 3. One record changes, another is withdrawn: both reach the operator as an increment
    // (with the record at the old cursor, listed again).
    let before = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let later = "2031-01-01T00:00:00Z".to_owned();
    let changed = records
        .iter()
        .position(|r| r.id == "PYSEC-2018-28")
        .expect("x");
    records[changed].modified = Some(later.clone());
    records[changed].summary = Some("changed upstream".into());
    let gone = records
        .iter()
        .position(|r| r.id == "PYSEC-2020-341")
        .expect("jw.util");
    records[gone].modified = Some(later.clone());
    records[gone].withdrawn = Some(later.clone());
    write_mirror(&pypi_dir, &records);
    let (ok, out) = run_feed_sync(&s, std::slice::from_ref(&spec), work.path()).await;
    assert!(ok, "{out}");
    assert!(out.contains("3 listed, 3 fetched, 1 withdrawn; pushed (increment): 0 new, 1 updated, 1 removed, 1 unchanged"), "{out}");
    assert!(s.feeds_changed().await);
    assert_eq!(
        s.ctx.store.changed_since(before).await.expect("changes"),
        vec![pkg("PyPI", "jw-util"), pkg("PyPI", "requests")]
    );
    let held = s
        .ctx
        .store
        .feed_source("osv:PyPI")
        .await
        .expect("get")
        .expect("held");
    assert_eq!(held.record_count, 5);
    let stored = s
        .ctx
        .store
        .advisories_by_id(&["PYSEC-2018-28"])
        .await
        .expect("by id");
    assert_eq!(stored[0].1.summary.as_deref(), Some("changed upstream"));

    // 4. A local directory: whole, then "unchanged" without an upload, then a failure that
    // keeps the operator's records.
    let feeds = tempfile::tempdir().expect("feeds");
    std::fs::write(feeds.path().join("npm.jsonl"), NPM).expect("write");
    let dir_spec = feeds.path().display().to_string();
    let (ok, out) = run_feed_sync(&s, std::slice::from_ref(&dir_spec), work.path()).await;
    assert!(
        ok && out.contains("synced 3 records; pushed: 3 new"),
        "{out}"
    );
    let (ok, out) = run_feed_sync(&s, std::slice::from_ref(&dir_spec), work.path()).await;
    assert!(
        ok && out.contains("synced 3 records; unchanged, not uploaded"),
        "{out}"
    );
    std::fs::write(feeds.path().join("broken.zip"), b"PK\x03\x04 not really").expect("write");
    let (ok, out) = run_feed_sync(&s, std::slice::from_ref(&dir_spec), work.path()).await;
    assert!(!ok, "a failed source fails the run: {out}");
    assert!(
        out.contains("FAILED") && out.contains("failure recorded by the operator"),
        "{out}"
    );
    let held = s
        .ctx
        .store
        .feed_source(&dir_spec)
        .await
        .expect("get")
        .expect("held");
    assert_eq!(held.record_count, 3);
    assert!(
        held.last_error
            .is_some_and(|e| e.starts_with("feed sync failed: "))
    );
}
