//! A webhook receiver on 127.0.0.1 for notification tests: records every request (path,
//! headers, body) and answers as the test scripts it (200, a status, or never).

#![allow(unreachable_pub, reason = "a test-only module")]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ok,
    Status(u16),
    /// Never answers (the sender must time out).
    Hang,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    pub raw: Vec<u8>,
    /// What the receiver answered (0 when it hung).
    pub answered: u16,
    /// When it arrived.
    #[allow(dead_code, reason = "read by the freshness benchmark")]
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    requests: Mutex<Vec<Received>>,
    mode: Mutex<Option<Mode>>,
}

pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mode = inner
        .mode
        .lock()
        .map(|m| m.unwrap_or(Mode::Ok))
        .unwrap_or(Mode::Ok);
    let answered = match mode {
        Mode::Ok => 200,
        Mode::Status(s) => s,
        Mode::Hang => 0,
    };
    let received = Received {
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        raw: body.to_vec(),
        answered,
        at: std::time::Instant::now(),
    };
    if let Ok(mut r) = inner.requests.lock() {
        r.push(received);
    }
    if mode == Mode::Hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, inner, task }
    }

    pub fn set_mode(&self, mode: Mode) {
        if let Ok(mut m) = self.inner.mode.lock() {
            *m = Some(mode);
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Received> {
        self.inner
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Waits until `pred` holds for the requests; returns them.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        diagnostics: &dyn Fn() -> String,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let r = self.requests();
            if pred(&r) {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; received: {:#?}\n{}",
                r.iter()
                    .map(|r| (&r.path, r.answered, r.body.to_string()))
                    .collect::<Vec<_>>(),
                diagnostics()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}
