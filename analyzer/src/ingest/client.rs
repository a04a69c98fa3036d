//! The HTTP client of the analyzer Job: ask the operator whether a digest needs an analysis,
//! upload the analysis (JSON, zstd-compressed), report a failure.
//!
//! Connection errors, timeouts, 5xx and 429 are retried with exponential backoff and jitter
//! (8 tries over about a minute by default), honouring `Retry-After`; a 4xx is never retried (it will not get
//! better). Every request is idempotent on the operator's side, so retrying after a lost
//! answer is safe. The token never appears in errors, logs or `Debug` output.

use super::{
    ANALYSIS_PATH, CHECK_PATH, CheckRequest, CheckResponse, ErrorBody, FAILURE_PATH, FailureReport,
    UploadResponse,
};
use crate::model::Analysis;
use crate::source::Secret;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderValue};
use std::time::Duration;

const USER_AGENT: &str = concat!("plimsoll-analyzer/", env!("CARGO_PKG_VERSION"));
/// Error bodies are read up to this many bytes.
const ERROR_BODY_LIMIT: usize = 4096;
/// zstd level of uploads: fast, and analyses (JSON, repetitive paths) shrink ~10x anyway.
const ZSTD_LEVEL: i32 = 3;

/// How often and how patiently to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request, the first included.
    pub attempts: u32,
    /// First retry delay; doubled on each try, with jitter, up to `max_backoff`.
    pub backoff: Duration,
    /// Longest delay between tries, `Retry-After` included.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Eight tries over about a minute: long enough to ride out an operator restart (a
    /// rescheduled pod), short enough that a Job never waits on a dead endpoint for long.
    fn default() -> Self {
        Self {
            attempts: 8,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay before try `attempt + 1` after try `attempt` (1-based) failed: what
    /// `Retry-After` asked for, else exponential backoff with jitter (half to all of the
    /// step); never more than `max_backoff`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d.min(self.max_backoff);
        }
        let step = self
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max_backoff);
        step.mul_f64(0.5 + crate::source::registry::jitter() / 2.0)
    }
}

/// Whether an answer with this status is worth another try: 5xx and 429 (and 408, a server
/// that gave up waiting for the request). Never another 4xx.
pub fn retryable_status(status: u16) -> bool {
    status == 429 || status == 408 || (500..600).contains(&status)
}

/// Whether a request that got no answer is worth another try: connection refused or reset,
/// timeouts, a body cut short. Not a request that could not even be built.
fn retryable_transport(e: &reqwest::Error) -> bool {
    !e.is_builder() && !e.is_redirect()
}

/// `Retry-After` in seconds (what the operator sends); an HTTP date is ignored (the backoff
/// applies instead).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid ingest URL {url:?}: {message}")]
    InvalidUrl { url: String, message: String },
    #[error("the ingest token is empty or not a valid HTTP header value")]
    InvalidToken,
    #[error("setting up the HTTP client: {0}")]
    Setup(String),
    /// No answer (after `attempts` tries).
    #[error("POST {url}: {message}{}", tries(*.attempts))]
    Transport {
        url: String,
        message: String,
        attempts: u32,
    },
    /// An error answer; `message` is the server's `{"error": ...}` text (or the start of the
    /// body when it is not that).
    #[error("POST {url}: {status}: {message}{}", tries(*.attempts))]
    Status {
        url: String,
        status: u16,
        message: String,
        attempts: u32,
    },
    /// A success status with a body that is not what the protocol says.
    #[error("POST {url}: unexpected answer: {message}")]
    BadResponse { url: String, message: String },
    #[error("encoding the analysis: {0}")]
    Encode(String),
}

impl ClientError {
    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn tries(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} tries)")
    } else {
        String::new()
    }
}

/// A client of one operator's ingest API, with one Job's token.
#[derive(Clone)]
pub struct IngestClient {
    http: reqwest::Client,
    /// Without a trailing `/`.
    base: String,
    authorization: HeaderValue,
    retry: RetryPolicy,
}

impl std::fmt::Debug for IngestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestClient")
            .field("base", &self.base)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// One try's failure.
enum Failure {
    Transient {
        error: ClientError,
        retry_after: Option<Duration>,
    },
    Fatal(ClientError),
}

impl IngestClient {
    /// A client of the ingest API at `base_url` (`http://plimsoll.plimsoll.svc:8080`), sending
    /// `token` as `Authorization: Bearer`.
    pub fn new(base_url: &str, token: &Secret) -> Result<Self, ClientError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        let invalid = |message: &str| ClientError::InvalidUrl {
            url: base_url.to_owned(),
            message: message.to_owned(),
        };
        let url = reqwest::Url::parse(&base).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("a query or fragment is not allowed"));
        }
        let token = token.expose().trim();
        if token.is_empty() {
            return Err(ClientError::InvalidToken);
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ClientError::InvalidToken)?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Self {
            http,
            base,
            authorization,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST /ingest/v1/check`: does the operator still need an analysis of this digest?
    pub async fn check(&self, request: &CheckRequest) -> Result<CheckResponse, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Encode(e.to_string()))?;
        let (url, answer) = self.post(CHECK_PATH, Bytes::from(body), None).await?;
        serde_json::from_slice(&answer).map_err(|e| ClientError::BadResponse {
            url,
            message: format!("not a check response: {e}"),
        })
    }

    /// `POST /ingest/v1/analysis`: uploads the analysis as zstd-compressed JSON. Fails with
    /// [`ClientError::BadResponse`] when the operator acknowledges another digest.
    pub async fn upload(&self, analysis: &Analysis) -> Result<UploadResponse, ClientError> {
        let body = encode_analysis(analysis).await?;
        tracing::debug!(bytes = body.len(), "uploading the analysis (zstd)");
        let (url, answer) = self.post(ANALYSIS_PATH, body, Some("zstd")).await?;
        let response: UploadResponse =
            serde_json::from_slice(&answer).map_err(|e| ClientError::BadResponse {
                url: url.clone(),
                message: format!("not an upload response: {e}"),
            })?;
        if response.digest != analysis.image.manifest_digest {
            return Err(ClientError::BadResponse {
                url,
                message: format!(
                    "the operator acknowledged {} for an analysis of {}",
                    response.digest, analysis.image.manifest_digest
                ),
            });
        }
        Ok(response)
    }

    /// `POST /ingest/v1/failure`: the analysis cannot be done, and why.
    pub async fn report_failure(&self, report: &FailureReport) -> Result<(), ClientError> {
        let body = serde_json::to_vec(report).map_err(|e| ClientError::Encode(e.to_string()))?;
        self.post(FAILURE_PATH, Bytes::from(body), None).await?;
        Ok(())
    }

    /// POSTs `body` (JSON, optionally compressed) with retries; returns the URL and the body
    /// of the successful answer.
    async fn post(
        &self,
        path: &str,
        body: Bytes,
        content_encoding: Option<&'static str>,
    ) -> Result<(String, Bytes), ClientError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .try_post(&url, body.clone(), content_encoding, attempt)
                .await
            {
                Ok(answer) => return Ok((url, answer)),
                Err(Failure::Transient { error, retry_after }) if attempt < self.retry.attempts => {
                    let delay = self.retry.delay(attempt, retry_after);
                    tracing::warn!(%error, attempt, ?delay, "ingest request failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(Failure::Transient { error, .. } | Failure::Fatal(error)) => return Err(error),
            }
        }
    }

    async fn try_post(
        &self,
        url: &str,
        body: Bytes,
        content_encoding: Option<&'static str>,
        attempt: u32,
    ) -> Result<Bytes, Failure> {
        let mut request = self
            .http
            .post(url)
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(body);
        if let Some(encoding) = content_encoding {
            request = request.header(header::CONTENT_ENCODING, encoding);
        }
        let transport = |e: reqwest::Error| {
            let e = e.without_url();
            let error = ClientError::Transport {
                url: url.to_owned(),
                message: describe_reqwest(&e),
                attempts: attempt,
            };
            if retryable_transport(&e) {
                Failure::Transient {
                    error,
                    retry_after: None,
                }
            } else {
                Failure::Fatal(error)
            }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if status.is_success() {
            return response.bytes().await.map_err(transport);
        }
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_limited(response, ERROR_BODY_LIMIT).await;
        let error = ClientError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
            message: error_message(status, &body),
            attempts: attempt,
        };
        if retryable_status(status.as_u16()) {
            Err(Failure::Transient { error, retry_after })
        } else {
            Err(Failure::Fatal(error))
        }
    }
}

/// The analysis as zstd-compressed JSON, compressed off the async runtime.
async fn encode_analysis(analysis: &Analysis) -> Result<Bytes, ClientError> {
    let json = serde_json::to_vec(analysis).map_err(|e| ClientError::Encode(e.to_string()))?;
    tokio::task::spawn_blocking(move || zstd::bulk::compress(&json, ZSTD_LEVEL))
        .await
        .map_err(|e| ClientError::Encode(format!("the compression task failed: {e}")))?
        .map(Bytes::from)
        .map_err(|e| ClientError::Encode(format!("zstd: {e}")))
}

/// Up to `limit` bytes of an error answer's body (what arrived, if the connection fails).
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    out.truncate(limit);
    out
}

/// The `error` of a `{"error": ...}` body, else the body's start, else the status's reason.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) {
        return error;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        status.canonical_reason().unwrap_or("no message").to_owned()
    } else {
        text.chars().take(300).collect()
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        format!("timed out: {e}")
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_5xx_and_429_never_other_4xx() {
        for s in [429, 408, 500, 502, 503, 504, 599] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 204, 301, 400, 401, 403, 404, 409, 413, 415, 422, 600] {
            assert!(!retryable_status(s), "{s}");
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn backoff_grows_with_jitter_caps_and_honours_retry_after() {
        let policy = RetryPolicy {
            attempts: 4,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        for attempt in 1..=10 {
            let d = policy.delay(attempt, None);
            let step = Duration::from_millis(100 << (attempt - 1)).min(Duration::from_secs(1));
            assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d:?}");
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn error_messages_prefer_the_servers_error_text() {
        let m = |status: u16, body: &str| {
            error_message(
                StatusCode::from_u16(status).expect("status"),
                body.as_bytes(),
            )
        };
        assert_eq!(m(401, r#"{"error":"unknown token"}"#), "unknown token");
        assert_eq!(
            m(502, "<html>bad gateway</html>\n"),
            "<html>bad gateway</html>"
        );
        assert_eq!(m(503, ""), "Service Unavailable");
        assert_eq!(m(400, &"x".repeat(1000)).len(), 300);
    }

    #[test]
    fn errors_name_url_status_and_tries() {
        let e = ClientError::Status {
            url: "http://op:8080/ingest/v1/check".into(),
            status: 503,
            message: "store unavailable".into(),
            attempts: 4,
        };
        assert_eq!(
            e.to_string(),
            "POST http://op:8080/ingest/v1/check: 503: store unavailable (after 4 tries)"
        );
        assert_eq!(e.status(), Some(503));
        let e = ClientError::Status {
            url: "http://op:8080/ingest/v1/check".into(),
            status: 401,
            message: "unknown token".into(),
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "POST http://op:8080/ingest/v1/check: 401: unknown token"
        );
    }

    #[tokio::test]
    async fn connection_errors_are_retried_then_reported() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let client = IngestClient::new(&format!("http://127.0.0.1:{port}"), &Secret::new("t"))
            .expect("client")
            .with_retry(RetryPolicy {
                attempts: 3,
                backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
            });
        let err = client
            .report_failure(&FailureReport {
                reason: "ImageNotFound".into(),
                message: "x".into(),
                digest: None,
            })
            .await
            .expect_err("nothing listens");
        assert!(
            matches!(&err, ClientError::Transport { attempts: 3, url, .. } if url.ends_with(FAILURE_PATH)),
            "{err:?}"
        );
    }

    #[test]
    fn urls_and_tokens_are_checked_and_the_token_never_shows() {
        let token = Secret::new("hunter2-token");
        let c = IngestClient::new("http://op.example:8080/", &token).expect("client");
        assert_eq!(c.base_url(), "http://op.example:8080");
        assert!(!format!("{c:?}").contains("hunter2"));
        for bad in ["op.example:8080", "ftp://op.example", "http://op/?x=1", ""] {
            assert!(
                matches!(
                    IngestClient::new(bad, &token),
                    Err(ClientError::InvalidUrl { .. })
                ),
                "{bad}"
            );
        }
        for bad in ["", "  ", "a\nb"] {
            assert!(
                matches!(
                    IngestClient::new("http://op", &Secret::new(bad)),
                    Err(ClientError::InvalidToken)
                ),
                "{bad:?}"
            );
        }
    }
}
