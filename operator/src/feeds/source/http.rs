//! Downloading one feed file over HTTP(S): rustls, timeouts, a size cap, status checks.
//!
//! Traps:
//! - `reqwest::Error` prints the URL it failed on, credentials included: every error is
//!   stripped with `without_url()` and carries a [`RedactedUrl`] instead.
//! - A server may declare no length (chunked) or a false one: the cap is checked against the
//!   declared length first and then against the bytes actually received.
//! - A body cut short (connection closed before `Content-Length` bytes, a chunked body without
//!   its last chunk) is an error, never a short file: hyper reports it while reading.
//! - `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` are honoured by default (clusters often need them);
//!   tests turn that off so that a proxy in the environment cannot take loopback traffic.

use std::time::Duration;

use super::redacted_url::RedactedUrl;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Whole request, body included: a large export over a slow link needs minutes.
    pub timeout: Duration,
    /// Largest body accepted (the biggest OSV `all.zip` is a few hundred MB).
    pub max_bytes: u64,
    pub use_env_proxy: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(30 * 60),
            max_bytes: 2 << 30,
            use_env_proxy: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("{url}: HTTP status {status}")]
    Status { url: RedactedUrl, status: u16 },
    #[error("{url}: timed out")]
    Timeout { url: RedactedUrl },
    #[error("{url}: request failed: {source}")]
    Request {
        url: RedactedUrl,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: body incomplete (connection closed early or corrupt transfer): {source}")]
    Body {
        url: RedactedUrl,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: body larger than {limit} bytes; refused")]
    TooLarge { url: RedactedUrl, limit: u64 },
}

/// An HTTP client for feed files; cheap to clone.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_bytes: u64,
}

impl Fetcher {
    pub fn new(config: &FetchConfig) -> Result<Self, FetchError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("plimsoll/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::limited(5));
        if !config.use_env_proxy {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::Client(e.without_url()))?;
        Ok(Self {
            client,
            max_bytes: config.max_bytes,
        })
    }

    /// The body of a `GET`, whole, or the reason there is none.
    pub async fn get(&self, url: &RedactedUrl) -> Result<Vec<u8>, FetchError> {
        let request_error = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::Timeout { url: url.clone() }
            } else {
                FetchError::Request {
                    url: url.clone(),
                    source: e.without_url(),
                }
            }
        };
        let mut response = self
            .client
            .get(url.expose().clone())
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.clone(),
                status: status.as_u16(),
            });
        }
        let too_large = || FetchError::TooLarge {
            url: url.clone(),
            limit: self.max_bytes,
        };
        let declared = response.content_length();
        if declared.is_some_and(|len| len > self.max_bytes) {
            return Err(too_large());
        }
        // Declared lengths are not trusted for allocation beyond a modest start.
        let start = declared.unwrap_or(0).min(16 << 20);
        let mut body = Vec::with_capacity(usize::try_from(start).unwrap_or(0));
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(FetchError::Timeout { url: url.clone() }),
                Err(e) => {
                    return Err(FetchError::Body {
                        url: url.clone(),
                        source: e.without_url(),
                    });
                }
            };
            if (body.len() + chunk.len()) as u64 > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
