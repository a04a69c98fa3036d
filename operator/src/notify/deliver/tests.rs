//! The deliverer against a real SQLite outbox and a scriptable receiver on 127.0.0.1: what
//! the receiver gets, what the outbox records, what the reports say. Time is the `now` each
//! round is given; only the HTTP timeout test waits (300 ms).

use super::*;
use crate::crd::subscription::{EventType, Header};
use crate::notify::event::Notification;
use crate::notify::samples::sample;
use crate::store::NewNotification;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap as AxHeaders, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const T0: i64 = 1_750_000_000_000;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + secs * 1000)
}

// ---------------------------------------------------------------- the receiver

#[derive(Clone)]
enum Reply {
    Status(u16),
    /// A status with `Retry-After`.
    Later(u16, &'static str),
    /// Reads the request, never answers.
    Hang,
    /// A status with a body.
    Body(u16, &'static str),
}

#[derive(Debug, Clone)]
struct Received {
    headers: AxHeaders,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
}

struct Receiver {
    addr: SocketAddr,
    script: Arc<Script>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(s): State<Arc<Script>>, headers: AxHeaders, body: Bytes) -> Response {
    s.received.lock().expect("lock").push(Received {
        headers,
        body: body.to_vec(),
    });
    let reply = s.replies.lock().expect("lock").pop_front();
    match reply.unwrap_or(Reply::Status(200)) {
        Reply::Status(c) => StatusCode::from_u16(c).expect("status").into_response(),
        Reply::Later(c, after) => (
            StatusCode::from_u16(c).expect("status"),
            [("retry-after", after)],
            "slow_down",
        )
            .into_response(),
        Reply::Body(c, body) => (StatusCode::from_u16(c).expect("status"), body).into_response(),
        Reply::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
    }
}

impl Receiver {
    /// On a free port, or on `addr` (a receiver coming back up).
    async fn start(addr: Option<SocketAddr>, replies: Vec<Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind(addr.unwrap_or(([127, 0, 0, 1], 0).into()))
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let script = Arc::new(Script {
            replies: Mutex::new(replies.into()),
            received: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&script));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, script, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.script.received.lock().expect("lock").clone()
    }
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

// ---------------------------------------------------------------- the environment

#[derive(Default)]
struct FakeEnv {
    secrets: Mutex<HashMap<(String, String, String), String>>,
    events: Mutex<Vec<Notification>>,
    /// The API server is down: every read fails.
    broken: Mutex<bool>,
}

impl FakeEnv {
    fn with(secrets: &[(&str, &str, &str)]) -> Self {
        let env = Self::default();
        for (name, key, value) in secrets {
            env.set(name, key, value);
        }
        env
    }

    fn set(&self, name: &str, key: &str, value: &str) {
        self.secrets
            .lock()
            .expect("lock")
            .insert(("team".into(), name.into(), key.into()), value.into());
    }
}

impl Environment for FakeEnv {
    async fn secret(&self, ns: &str, name: &str, key: &str) -> Result<Option<String>, EnvError> {
        if *self.broken.lock().expect("lock") {
            return Err(EnvError(format!(
                "reading Secret {ns}/{name}: connection refused"
            )));
        }
        Ok(self
            .secrets
            .lock()
            .expect("lock")
            .get(&(ns.into(), name.into(), key.into()))
            .cloned())
    }

    async fn publish_event(&self, n: &Notification) -> Result<(), EnvError> {
        self.events.lock().expect("lock").push(n.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------- fixtures

fn config() -> DeliveryConfig {
    DeliveryConfig {
        timeout: Duration::from_millis(300),
        base_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(3600),
        use_env_proxy: false,
        ..DeliveryConfig::default()
    }
}

fn sel(name: &str, key: &str) -> SecretKeySelector {
    SecretKeySelector {
        name: name.into(),
        key: key.into(),
    }
}

fn webhook(format: Option<WebhookFormat>) -> SinkTarget {
    SinkTarget {
        namespace: "team".into(),
        subscription: "alerts".into(),
        sink: SinkKind::Webhook,
        webhook: Some(WebhookSink {
            url_secret_ref: sel("hook", "url"),
            hmac_secret_ref: Some(sel("hook", "hmac")),
            headers: vec![
                Header {
                    name: "X-Team".into(),
                    value: Some("payments".into()),
                    secret_key_ref: None,
                },
                Header {
                    name: "Authorization".into(),
                    value: None,
                    secret_key_ref: Some(sel("hook", "token")),
                },
            ],
            format,
        }),
        slack: None,
    }
}

fn slack_target() -> SinkTarget {
    SinkTarget {
        namespace: "team".into(),
        subscription: "alerts".into(),
        sink: SinkKind::Slack,
        webhook: None,
        slack: Some(SlackSink {
            webhook_secret_ref: sel("slack", "url"),
        }),
    }
}

fn env_for(r: &Receiver) -> FakeEnv {
    FakeEnv::with(&[
        ("hook", "url", &format!("{}\n", r.url("/hooks/T0KEN"))),
        ("hook", "hmac", "whsec-key\n"),
        ("hook", "token", "Bearer s3cret\n"),
        ("slack", "url", &r.url("/services/T000/B000/XXXX")),
    ])
}

struct Db {
    store: Store,
    _dir: tempfile::TempDir,
}

async fn db() -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = Store::connect(&path.to_string_lossy())
        .await
        .expect("SQLite store");
    Db { store, _dir: dir }
}

/// Queues `n` for `target` at `when`; returns the outbox id.
async fn enqueue(store: &Store, n: &Notification, target: &SinkTarget, when: Timestamp) -> i64 {
    let p = OutboxPayload {
        notification: n.clone(),
        target: target.clone(),
    };
    let value = p.to_value().expect("payload");
    store
        .enqueue(
            &NewNotification {
                idempotency_key: &p.idempotency_key(),
                sink: &target.key(),
                payload: &value,
            },
            when,
        )
        .await
        .expect("enqueue")
        .id
}

fn numbered(event: EventType, i: usize) -> Notification {
    let mut n = sample(event);
    n.id = format!("{}-{i}", n.id);
    n.image.reference = format!("registry.example/team/app-{i}:1");
    n
}

fn retry_at(r: &DeliveryReport) -> Timestamp {
    match &r.outcome {
        Outcome::Failed { retry_at, .. } => *retry_at,
        other => panic!("not a failure: {other:?}"),
    }
}

fn error_of(r: &DeliveryReport) -> &str {
    match &r.outcome {
        Outcome::Failed { error, .. } | Outcome::Dead { error } => error,
        Outcome::Delivered => panic!("delivered"),
    }
}

// ---------------------------------------------------------------- the tests

#[tokio::test]
async fn delivered_once_signed_with_headers() {
    let db = db().await;
    let r = Receiver::start(None, vec![]).await;
    let env = env_for(&r);
    let mut d = Deliverer::new(config()).expect("client");
    let n = sample(EventType::PolicyEval);
    let id = enqueue(&db.store, &n, &webhook(None), at(0)).await;

    let reports = d.run_once(&db.store, &env, at(1)).await.expect("round");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, Outcome::Delivered);
    assert_eq!(
        (
            reports[0].namespace.as_str(),
            reports[0].subscription.as_str(),
            reports[0].sink
        ),
        ("team", "alerts", SinkKind::Webhook)
    );
    assert_eq!(reports[0].notification_id, n.id);
    let got = r.received();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    // The body is the notification document.
    let back: Notification = serde_json::from_slice(&req.body).expect("a notification");
    assert_eq!(back, n);
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("idempotency-key"), Some(n.id.as_str()));
    assert_eq!(req.header("plimsoll-event"), Some("policy_eval"));
    assert_eq!(req.header("x-team"), Some("payments"));
    assert_eq!(
        req.header("authorization"),
        Some("Bearer s3cret"),
        "trimmed"
    );
    // The signature verifies with the key, at the round's time, and not with another key.
    let sig = req.header("plimsoll-signature").expect("signed");
    let now = at(1).unix_millis() / 1000;
    assert_eq!(sign::verify(b"whsec-key", sig, &req.body, now, 300), Ok(()));
    assert!(sign::verify(b"other", sig, &req.body, now, 300).is_err());

    // Delivered means done: later rounds send nothing.
    assert!(
        d.run_once(&db.store, &env, at(3600))
            .await
            .expect("round")
            .is_empty()
    );
    assert_eq!(r.received().len(), 1);
    let e = db
        .store
        .outbox_entry(id)
        .await
        .expect("get")
        .expect("entry");
    assert_eq!((e.delivered_at, e.attempts), (Some(at(1)), 1));
}

#[tokio::test]
async fn anchore_format_and_no_signature_without_a_key() {
    let db = db().await;
    let r = Receiver::start(None, vec![]).await;
    let env = env_for(&r);
    let mut target = webhook(Some(WebhookFormat::Anchore));
    if let Some(w) = &mut target.webhook {
        w.hmac_secret_ref = None;
        w.headers.clear();
    }
    let n = sample(EventType::VulnUpdate);
    enqueue(&db.store, &n, &target, at(0)).await;
    let mut d = Deliverer::new(config()).expect("client");
    d.run_once(&db.store, &env, at(0)).await.expect("round");
    let got = r.received();
    assert_eq!(got.len(), 1);
    let body = got[0].json();
    assert_eq!(body["data"]["notification_type"], "vuln_update");
    assert_eq!(
        body["data"]["notification_payload"]["notificationId"],
        n.id.as_str()
    );
    assert!(got[0].header("plimsoll-signature").is_none());
}

#[tokio::test]
async fn retried_after_5xx_then_delivered_once() {
    let db = db().await;
    let r = Receiver::start(None, vec![Reply::Status(500), Reply::Status(502)]).await;
    let env = env_for(&r);
    let mut d = Deliverer::new(config()).expect("client");
    let id = enqueue(
        &db.store,
        &sample(EventType::VulnUpdate),
        &webhook(None),
        at(0),
    )
    .await;

    let first = d.run_once(&db.store, &env, at(0)).await.expect("round");
    assert_eq!(error_of(&first[0]), "HTTP 500 from the receiver");
    let next = retry_at(&first[0]);
    assert!(
        next >= at(0) && next <= at(1),
        "first retry within the base backoff: {next:?}"
    );
    let second = d.run_once(&db.store, &env, next).await.expect("round");
    assert_eq!(error_of(&second[0]), "HTTP 502 from the receiver");
    let next = retry_at(&second[0]);
    assert!(
        next <= at(0).plus(Duration::from_secs(3)),
        "second within 2 × base"
    );
    let third = d.run_once(&db.store, &env, next).await.expect("round");
    assert_eq!(third[0].outcome, Outcome::Delivered);
    for later in [60, 3600, 90_000] {
        assert!(
            d.run_once(&db.store, &env, at(later))
                .await
                .expect("round")
                .is_empty()
        );
    }
    let got = r.received();
    assert_eq!(got.len(), 3, "two failures, one success, then nothing");
    let ids: Vec<_> = got
        .iter()
        .map(|g| g.header("idempotency-key").map(str::to_owned))
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "the same key each time"
    );
    let e = db
        .store
        .outbox_entry(id)
        .await
        .expect("get")
        .expect("entry");
    assert_eq!(
        (e.attempts, e.delivered_at.is_some(), e.last_error),
        (3, true, None)
    );
}

#[tokio::test]
async fn client_errors_are_dead_letters_without_retries() {
    for (status, dead) in [
        (400, true),
        (404, true),
        (410, true),
        (301, true),
        (408, false),
        (429, false),
    ] {
        let db = db().await;
        let r = Receiver::start(None, vec![Reply::Status(status)]).await;
        let env = env_for(&r);
        let mut d = Deliverer::new(config()).expect("client");
        let id = enqueue(
            &db.store,
            &sample(EventType::PolicyEval),
            &webhook(None),
            at(0),
        )
        .await;
        let reports = d.run_once(&db.store, &env, at(0)).await.expect("round");
        assert_eq!(
            matches!(reports[0].outcome, Outcome::Dead { .. }),
            dead,
            "{status}: {reports:?}"
        );
        assert!(error_of(&reports[0]).starts_with(&format!("HTTP {status} from the receiver")));
        // A dead letter is never sent again.
        d.run_once(&db.store, &env, at(7200)).await.expect("round");
        assert_eq!(r.received().len(), if dead { 1 } else { 2 }, "{status}");
        let e = db
            .store
            .outbox_entry(id)
            .await
            .expect("get")
            .expect("entry");
        assert_eq!(e.dead_at.is_some(), dead, "{status}");
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let db = db().await;
    let r = Receiver::start(
        None,
        vec![Reply::Later(429, "120"), Reply::Later(503, "30")],
    )
    .await;
    let env = env_for(&r);
    let mut d = Deliverer::new(config()).expect("client");
    enqueue(
        &db.store,
        &sample(EventType::PolicyEval),
        &webhook(None),
        at(0),
    )
    .await;
    let reports = d.run_once(&db.store, &env, at(0)).await.expect("round");
    assert_eq!(
        error_of(&reports[0]),
        "HTTP 429 from the receiver: slow_down"
    );
    let next = retry_at(&reports[0]);
    assert!(next >= at(120) && next <= at(121), "{next:?}");
    assert!(
        d.run_once(&db.store, &env, at(119))
            .await
            .expect("round")
            .is_empty(),
        "not before"
    );
    let reports = d.run_once(&db.store, &env, next).await.expect("round");
    let next2 = retry_at(&reports[0]);
    assert!(
        next2 >= next.plus(Duration::from_secs(30)),
        "503 Retry-After too"
    );
    let reports = d.run_once(&db.store, &env, next2).await.expect("round");
    assert_eq!(reports[0].outcome, Outcome::Delivered);
    assert_eq!(r.received().len(), 3);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_and_is_retried() {
    let db = db().await;
    let r = Receiver::start(None, vec![Reply::Hang]).await;
    let env = env_for(&r);
    let mut d = Deliverer::new(config()).expect("client");
    enqueue(
        &db.store,
        &sample(EventType::PolicyEval),
        &webhook(None),
        at(0),
    )
    .await;
    let started = std::time::Instant::now();
    let reports = d.run_once(&db.store, &env, at(0)).await.expect("round");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the timeout bounds the round"
    );
    assert_eq!(
        error_of(&reports[0]),
        "no answer from the receiver within 300ms"
    );
    let reports = d
        .run_once(&db.store, &env, retry_at(&reports[0]))
        .await
        .expect("round");
    assert_eq!(reports[0].outcome, Outcome::Delivered);
    // The receiver may have seen it twice: same key, so it can drop the second.
    let got = r.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].header("idempotency-key"),
        got[1].header("idempotency-key")
    );
}

#[tokio::test]
async fn receiver_down_then_up_is_delivered_once_after_recovery() {
    let db = db().await;
    let addr = closed_port();
    let env = FakeEnv::with(&[
        ("hook", "url", &format!("http://{addr}/hooks/T0KEN")),
        ("hook", "hmac", "k"),
        ("hook", "token", "t"),
    ]);
    let mut d = Deliverer::new(config()).expect("client");
    // Three queued notifications: one connection attempt per round while it is down.
    let ids = [
        enqueue(
            &db.store,
            &numbered(EventType::PolicyEval, 1),
            &webhook(None),
            at(0),
        )
        .await,
        enqueue(
            &db.store,
            &numbered(EventType::PolicyEval, 2),
            &webhook(None),
            at(0),
        )
        .await,
        enqueue(
            &db.store,
            &numbered(EventType::PolicyEval, 3),
            &webhook(None),
            at(0),
        )
        .await,
    ];
    let reports = d.run_once(&db.store, &env, at(0)).await.expect("round");
    assert_eq!(
        reports.len(),
        1,
        "the deferred ones are not reported: {reports:?}"
    );
    assert!(
        error_of(&reports[0]).starts_with("cannot connect to the receiver"),
        "{reports:?}"
    );
    for id in ids {
        let e = db
            .store
            .outbox_entry(id)
            .await
            .expect("get")
            .expect("entry");
        assert_eq!(e.attempts, 1);
        assert!(e.next_attempt_at <= at(1));
        assert!(e.last_error.is_some_and(|m| m.contains("cannot connect")));
    }
    let r = Receiver::start(Some(addr), vec![]).await;
    let reports = d.run_once(&db.store, &env, at(2)).await.expect("round");
    assert_eq!(reports.len(), 3);
    assert!(reports.iter().all(|r| r.outcome == Outcome::Delivered));
    assert!(
        d.run_once(&db.store, &env, at(60))
            .await
            .expect("round")
            .is_empty()
    );
    let mut keys: Vec<String> = r
        .received()
        .iter()
        .filter_map(|g| g.header("idempotency-key").map(str::to_owned))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(
        (r.received().len(), keys.len()),
        (3, 3),
        "each exactly once"
    );
}

#[tokio::test]
async fn slack_entries_are_batched_within_limits_and_rate() {
    let db = db().await;
    let r = Receiver::start(None, vec![]).await;
    let env = env_for(&r);
    let mut d = Deliverer::new(config()).expect("client");
    for i in 0..30 {
        enqueue(
            &db.store,
            &numbered(EventType::VulnUpdate, i),
            &slack_target(),
            at(0),
        )
        .await;
    }
    let reports = d.run_once(&db.store, &env, at(0)).await.expect("round");
    assert_eq!(reports.len(), 20, "one batch of slack_batch_max");
    assert!(reports.iter().all(|r| r.outcome == Outcome::Delivered));
    assert_eq!(r.received().len(), 1, "one message");
    // Slack allows one message per second: nothing more in the same second.
    assert!(
        d.run_once(&db.store, &env, at(0))
            .await
            .expect("round")
            .is_empty()
    );
    let reports = d.run_once(&db.store, &env, at(1)).await.expect("round");
    assert_eq!(reports.len(), 10);
    let got = r.received();
    assert_eq!(got.len(), 2);
    for (req, count) in got.iter().zip([20, 10]) {
        let m = req.json();
        assert_eq!(crate::notify::slack::violations(&m), Vec::<String>::new());
        assert_eq!(
            m["blocks"][0]["text"]["text"],
            format!("Plimsoll: {count} notifications")
        );
        assert!(req.header("plimsoll-signature").is_none());
    }
    assert!(
        d.run_once(&db.store, &env, at(60))
            .await
            .expect("round")
            .is_empty()
    );
}

#[tokio::test]
async fn webhooks_are_rate_limited_per_sink() {
    let db = db().await;
    let r = Receiver::start(None, vec![]).await;
    let env = env_for(&r);
    let mut d = Deliverer::new(config()).expect("client");
    for i in 0..15 {
        enqueue(
            &db.store,
            &numbered(EventType::PolicyEval, i),
            &webhook(None),
            at(0),
        )
        .await;
    }
    assert_eq!(
        d.run_once(&db.store, &env, at(0))
            .await
            .expect("round")
            .len(),
        10
    );
    assert_eq!(
        d.run_once(&db.store, &env, at(1))
            .await
            .expect("round")
            .len(),
        5
    );
    assert_eq!(r.received().len(), 15);
}

#[tokio::test]
async fn bad_configuration_is_a_dead_letter_that_names_the_secret() {
    let db = db().await;
    let r = Receiver::start(None, vec![]).await;
    type Breaker = Box<dyn Fn(&FakeEnv)>;
    let cases: Vec<(Breaker, &str)> = vec![
        (
            Box::new(|e| {
                e.secrets.lock().expect("lock").clear();
            }),
            "webhook URL: Secret team/hook does not exist or has no key \"url\"",
        ),
        (
            Box::new(|e| e.set("hook", "url", "not a url")),
            "the value of Secret team/hook key \"url\" is not a URL (relative URL without a base)",
        ),
        (
            Box::new(|e| e.set("hook", "url", "ftp://user:pw@files.example/T0KEN")),
            "the value of Secret team/hook key \"url\" is not an http(s) URL",
        ),
        (
            Box::new(|e| {
                e.secrets.lock().expect("lock").remove(&(
                    "team".into(),
                    "hook".into(),
                    "hmac".into(),
                ));
            }),
            "HMAC key: Secret team/hook does not exist or has no key \"hmac\"",
        ),
        (
            Box::new(|e| e.set("hook", "token", "Bearer\u{7}bell")),
            "header \"Authorization\": the value is not a valid HTTP header value",
        ),
    ];
    let mut d = Deliverer::new(config()).expect("client");
    for (i, (break_it, want)) in cases.into_iter().enumerate() {
        let env = env_for(&r);
        break_it(&env);
        let id = enqueue(
            &db.store,
            &numbered(EventType::PolicyEval, i),
            &webhook(None),
            at(0),
        )
        .await;
        let reports = d
            .run_once(&db.store, &env, at(i64::try_from(i).expect("small") * 10))
            .await
            .expect("round");
        assert_eq!(reports.len(), 1, "{want}");
        assert_eq!(reports[0].outcome, Outcome::Dead { error: want.into() });
        let e = db
            .store
            .outbox_entry(id)
            .await
            .expect("get")
            .expect("entry");
        assert_eq!(e.last_error.as_deref(), Some(want));
        assert!(e.dead_at.is_some());
    }
    assert!(r.received().is_empty(), "nothing was sent");
    // A reserved header is a configuration error too.
    let mut target = webhook(None);
    if let Some(w) = &mut target.webhook {
        w.headers.push(Header {
            name: "Plimsoll-Signature".into(),
            value: Some("forged".into()),
            secret_key_ref: None,
        });
    }
    let env = env_for(&r);
    let err = d
        .send_now(&target, &sample(EventType::PolicyEval), &env)
        .await
        .expect_err("reserved");
    assert_eq!(
        err,
        SendError::Config(
            "header \"Plimsoll-Signature\" is set by Plimsoll and cannot be overridden".into()
        )
    );
}

#[tokio::test]
async fn secrets_that_cannot_be_read_now_are_retried() {
    let db = db().await;
    let r = Receiver::start(None, vec![]).await;
    let env = env_for(&r);
    *env.broken.lock().expect("lock") = true;
    let mut d = Deliverer::new(config()).expect("client");
    enqueue(
        &db.store,
        &sample(EventType::PolicyEval),
        &webhook(None),
        at(0),
    )
    .await;
    let reports = d.run_once(&db.store, &env, at(0)).await.expect("round");
    assert_eq!(
        error_of(&reports[0]),
        "webhook URL: reading Secret team/hook: connection refused"
    );
    *env.broken.lock().expect("lock") = false;
    let reports = d
        .run_once(&db.store, &env, retry_at(&reports[0]))
        .await
        .expect("round");
    assert_eq!(reports[0].outcome, Outcome::Delivered);
}

#[tokio::test]
async fn no_url_in_any_stored_or_reported_error() {
    let db = db().await;
    let down = closed_port();
    let r = Receiver::start(
        None,
        vec![
            Reply::Status(400),
            Reply::Status(503),
            Reply::Body(400, "bad T0KEN42x"),
        ],
    )
    .await;
    let mut d = Deliverer::new(config()).expect("client");
    let urls = [
        format!("http://{down}/hooks/T0KEN42x?sig=QUERYSECRET"),
        r.url("/hooks/T0KEN42x?sig=QUERYSECRET"),
        r.url("/hooks/T0KEN42x?sig=QUERYSECRET"),
        "http://user:PASSWORD@[::1/T0KEN".to_owned(),
        "https://user:PASSWORD@no-such-host.invalid/T0KEN?sig=QUERYSECRET".to_owned(),
    ];
    let mut errors = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let env = env_for(&r);
        env.set("hook", "url", url);
        let n = numbered(EventType::PolicyEval, i);
        let id = enqueue(&db.store, &n, &webhook(None), at(0)).await;
        let reports = d
            .run_once(&db.store, &env, at(i64::try_from(i).expect("small") * 10))
            .await
            .expect("round");
        errors.extend(
            reports
                .iter()
                .filter(|r| r.outcome != Outcome::Delivered)
                .map(|r| error_of(r).to_owned()),
        );
        let e = db
            .store
            .outbox_entry(id)
            .await
            .expect("get")
            .expect("entry");
        errors.extend(e.last_error);
        let env_err = d.send_now(&webhook(None), &n, &env).await;
        errors.extend(env_err.err().map(|e| e.to_string()));
    }
    assert!(errors.len() >= 10, "{errors:#?}");
    for want in [
        "cannot connect to the receiver: tcp connect error: Connection refused (os error 111)",
        "HTTP 400 from the receiver: bad <redacted>",
    ] {
        assert!(errors.iter().any(|e| e == want), "{want}: {errors:#?}");
    }
    for e in &errors {
        for secret in ["T0KEN42x", "QUERYSECRET", "PASSWORD", "/hooks"] {
            assert!(!e.contains(secret), "{secret} leaked in {e:?}");
        }
    }
}

#[tokio::test]
async fn gives_up_after_the_retry_window() {
    let db = db().await;
    let r = Receiver::start(None, vec![Reply::Status(500)]).await;
    let env = env_for(&r);
    let mut d = Deliverer::new(config()).expect("client");
    let id = enqueue(
        &db.store,
        &sample(EventType::PolicyEval),
        &webhook(None),
        at(0),
    )
    .await;
    // The operator was down for a day: one last attempt, then the dead letter.
    let reports = d
        .run_once(&db.store, &env, at(24 * 3600 + 5))
        .await
        .expect("round");
    assert_eq!(
        reports[0].outcome,
        Outcome::Dead {
            error: "gave up 24h after the event: HTTP 500 from the receiver".into()
        }
    );
    assert_eq!(r.received().len(), 1);
    assert!(
        db.store
            .outbox_entry(id)
            .await
            .expect("get")
            .expect("entry")
            .dead_at
            .is_some()
    );
    // Within the window, the last retry is scheduled at its end, not after.
    let id = enqueue(
        &db.store,
        &numbered(EventType::PolicyEval, 2),
        &webhook(None),
        at(0),
    )
    .await;
    let mut d = Deliverer::new(DeliveryConfig {
        base_backoff: Duration::from_secs(7200),
        ..config()
    })
    .expect("client");
    let r2 = Receiver::start(None, vec![Reply::Status(500); 3]).await;
    let env = env_for(&r2);
    let reports = d
        .run_once(&db.store, &env, at(24 * 3600 - 1))
        .await
        .expect("round");
    assert!(retry_at(&reports[0]) <= at(24 * 3600));
    let e = db
        .store
        .outbox_entry(id)
        .await
        .expect("get")
        .expect("entry");
    assert!(e.dead_at.is_none());
}

#[tokio::test]
async fn kubernetes_events_go_through_the_environment() {
    let db = db().await;
    let env = FakeEnv::default();
    let target = SinkTarget {
        namespace: "team".into(),
        subscription: "alerts".into(),
        sink: SinkKind::KubernetesEvents,
        webhook: None,
        slack: None,
    };
    let n = sample(EventType::FixAvailable);
    enqueue(&db.store, &n, &target, at(0)).await;
    let mut d = Deliverer::new(config()).expect("client");
    let reports = d.run_once(&db.store, &env, at(0)).await.expect("round");
    assert_eq!(reports[0].outcome, Outcome::Delivered);
    assert_eq!(reports[0].sink, SinkKind::KubernetesEvents);
    assert_eq!(env.events.lock().expect("lock").as_slice(), [n]);
}

#[tokio::test]
async fn unreadable_outbox_entries_are_dead_letters() {
    let db = db().await;
    let bad = serde_json::json!({"notification": "?"});
    let id = db
        .store
        .enqueue(
            &NewNotification {
                idempotency_key: "k",
                sink: "webhook:team/alerts",
                payload: &bad,
            },
            at(0),
        )
        .await
        .expect("enqueue")
        .id;
    let mut d = Deliverer::new(config()).expect("client");
    let reports = d
        .run_once(&db.store, &FakeEnv::default(), at(0))
        .await
        .expect("round");
    assert_eq!(
        (reports[0].sink, reports[0].subscription.as_str()),
        (SinkKind::Webhook, "alerts")
    );
    assert!(error_of(&reports[0]).starts_with("the outbox entry cannot be read"));
    assert!(
        db.store
            .outbox_entry(id)
            .await
            .expect("get")
            .expect("entry")
            .dead_at
            .is_some()
    );
}

#[tokio::test]
async fn send_now_signs_with_its_clock() {
    let r = Receiver::start(None, vec![]).await;
    let env = env_for(&r);
    fn clock() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }
    let d = Deliverer::new(config()).expect("client").with_clock(clock);
    let mut n = sample(EventType::TagUpdate);
    n.test = true;
    d.send_now(&webhook(None), &n, &env).await.expect("sent");
    d.send_now(&slack_target(), &n, &env).await.expect("sent");
    let got = r.received();
    assert_eq!(got.len(), 2);
    let sig = got[0].header("plimsoll-signature").expect("signed");
    assert!(sig.starts_with("t=1700000000,"));
    assert_eq!(
        sign::verify(b"whsec-key", sig, &got[0].body, 1_700_000_000, 0),
        Ok(())
    );
    assert_eq!(
        crate::notify::slack::violations(&got[1].json()),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_sink_that_is_down_does_not_hold_up_the_others() {
    let db = db().await;
    let r = Receiver::start(None, vec![]).await;
    let env = env_for(&r);
    env.set("hook", "url", &format!("http://{}/hooks/x", closed_port()));
    let mut d = Deliverer::new(config()).expect("client");
    enqueue(
        &db.store,
        &numbered(EventType::PolicyEval, 1),
        &webhook(None),
        at(0),
    )
    .await;
    enqueue(
        &db.store,
        &numbered(EventType::PolicyEval, 2),
        &slack_target(),
        at(0),
    )
    .await;
    let reports = d.run_once(&db.store, &env, at(0)).await.expect("round");
    let by_sink = |k: SinkKind| {
        reports
            .iter()
            .find(|r| r.sink == k)
            .map(|r| r.outcome.clone())
    };
    assert!(
        matches!(by_sink(SinkKind::Webhook), Some(Outcome::Failed { .. })),
        "{reports:?}"
    );
    assert_eq!(by_sink(SinkKind::Slack), Some(Outcome::Delivered));
    assert_eq!(r.received().len(), 1);
}
