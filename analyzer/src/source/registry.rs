//! Images in registries (OCI distribution spec / Docker Registry HTTP API v2).
//!
//! `oci-client` does the two things that are easy to get wrong: reference normalisation
//! (`alpine` is `docker.io/library/alpine:latest`, and Docker Hub answers at `index.docker.io`)
//! and the token dance (anonymous or basic credentials traded at the realm of the
//! `WWW-Authenticate` challenge for a bearer token scoped to the repository). The requests
//! themselves go through our own `reqwest` client, because `oci-client` reads manifest bodies
//! whole, with no size limit, and folds some status codes into errors we could not tell apart.
//! Here every body is read against a limit, every status is mapped, and layer streams resume
//! with `Range` after a dropped connection.
//!
//! Traps:
//! - Registries label manifests by `Content-Type`, sometimes `application/json` or nothing;
//!   then the document's own `mediaType` (or its shape) decides.
//! - Schema 1 manifests (signed JWS, `fsLayers`) are refused: they predate content-addressed
//!   configs and Distribution 3 no longer serves them.
//! - A tag can move between two requests: everything below the first manifest is fetched by
//!   digest and verified. `Docker-Content-Digest` may be missing; the body hash is the truth,
//!   and a header that disagrees with it is an error.
//! - Blob GETs redirect to object storage; reqwest drops `Authorization` on cross-host
//!   redirects, as it must.
//! - Bearer tokens expire (Docker Hub: 5 minutes) while a big image is read: a 401 after a
//!   token was issued re-authenticates once.
//! - Docker Hub answers 401, not 404, for a repository that does not exist or is private.
//! - Error messages name the registry and the status, never a credential.

mod credentials;

pub use credentials::{Credential, Credentials, CredentialsError, Secret, normalize_host};

use super::manifest::{Descriptor, ImageIndex, ImageManifest, MediaTypeClass, select_platform};
use super::{Error, Handle, ResolvedImage, sha256_digest, verify_digest};
use crate::settings::{RegistrySettings, ScanSettings};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt as _;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderValue};
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";
/// Error bodies are read this far, for their message.
const ERROR_BODY_LIMIT: u64 = 16 << 10;
const USER_AGENT: &str = concat!("plimsoll/", env!("CARGO_PKG_VERSION"));

/// A parsed reference and what it means for the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    /// As a user names it: `docker.io`, `registry:5000`.
    pub registry: String,
    /// `library/alpine`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl RegistryRef {
    /// Parses and normalises a reference (`alpine` -> `docker.io/library/alpine:latest`).
    pub fn parse(s: &str) -> Result<Self, Error> {
        let r: Reference = s
            .parse()
            .map_err(|_| Error::InvalidReference(s.to_owned()))?;
        Ok(Self::from_reference(&r))
    }

    fn from_reference(r: &Reference) -> Self {
        Self {
            registry: r.registry().to_owned(),
            repository: r.repository().to_owned(),
            tag: r.tag().map(str::to_owned),
            digest: r.digest().map(str::to_owned),
        }
    }
}

/// A connection to one repository of one registry, shared by `resolve` and every layer.
pub(super) struct Session {
    reference: Reference,
    /// As a user names it, for messages: `docker.io`, `127.0.0.1:5000`.
    registry: String,
    /// `{scheme}://{host}/v2/{repository}`.
    base: String,
    http: reqwest::Client,
    oci: oci_client::Client,
    auth: RegistryAuth,
    /// `None` until the first request; then the header to send, if any, and whether it is a
    /// token the token service issued (which expires and can be asked for again).
    authorization: tokio::sync::Mutex<Option<Authorization>>,
    attempts: u32,
    backoff: Duration,
    max_backoff: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Authorization {
    header: Option<HeaderValue>,
    issued: bool,
}

/// Why one try failed.
enum Failure {
    /// Worth another try (429, 5xx, a timeout or a dropped connection).
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// 401/403: re-authenticate once if we hold a token, then give up.
    Denied {
        status: u16,
        message: String,
    },
    Fatal(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Fatal(e)
    }
}

impl Session {
    pub(super) fn new(reference: &str, settings: &RegistrySettings) -> Result<Self, Error> {
        let parsed: Reference = reference
            .parse()
            .map_err(|_| Error::InvalidReference(reference.to_owned()))?;
        let registry = parsed.registry().to_owned();
        let host = parsed.resolve_registry().to_owned();
        let insecure: Vec<String> = settings
            .insecure_hosts
            .iter()
            .map(|h| normalize_host(h))
            .collect();
        let is_insecure = insecure.contains(&normalize_host(&host)) || insecure.contains(&registry);
        let scheme = if is_insecure { "http" } else { "https" };
        let protocol = if is_insecure {
            oci_client::client::ClientProtocol::HttpsExcept(vec![host.clone()])
        } else {
            oci_client::client::ClientProtocol::Https
        };
        let oci = oci_client::Client::try_from(oci_client::client::ClientConfig {
            protocol,
            connect_timeout: Some(settings.connect_timeout),
            read_timeout: Some(settings.read_timeout),
            user_agent: USER_AGENT,
            ..Default::default()
        })
        .map_err(|e| Error::Registry {
            registry: registry.clone(),
            message: format!("setting up the HTTP client: {e}"),
        })?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .build()
            .map_err(|e| Error::Registry {
                registry: registry.clone(),
                message: format!("setting up the HTTP client: {e}"),
            })?;
        let credential = settings
            .login
            .as_ref()
            .or_else(|| settings.credentials.for_registry(&registry));
        let auth = match credential {
            None => RegistryAuth::Anonymous,
            Some(Credential::Basic { username, password }) => {
                RegistryAuth::Basic(username.clone(), password.expose().to_owned())
            }
            Some(Credential::Bearer(t)) => RegistryAuth::Bearer(t.expose().to_owned()),
        };
        Ok(Self {
            base: format!("{scheme}://{host}/v2/{}", parsed.repository()),
            reference: parsed,
            registry,
            http,
            oci,
            auth,
            authorization: tokio::sync::Mutex::new(None),
            attempts: settings.attempts.max(1),
            backoff: settings.backoff,
            max_backoff: settings.max_backoff,
        })
    }

    fn name(&self) -> String {
        format!("{}/{}", self.registry, self.reference.repository())
    }

    /// The `Authorization` header to send, asking the registry for a token when needed.
    async fn authorization(&self, refresh: bool) -> Result<Authorization, Error> {
        let mut cached = self.authorization.lock().await;
        if !refresh && let Some(a) = cached.as_ref() {
            return Ok(a.clone());
        }
        let fresh = self.authenticate().await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    async fn authenticate(&self) -> Result<Authorization, Error> {
        use oci_client::errors::OciDistributionError as E;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self
                .oci
                .auth(&self.reference, &self.auth, RegistryOperation::Pull)
                .await
            {
                Ok(Some(token)) => {
                    return Ok(Authorization {
                        header: Some(secret_header(&format!("Bearer {token}"))),
                        issued: !matches!(self.auth, RegistryAuth::Bearer(_)),
                    });
                }
                Ok(None) => {
                    let header = match &self.auth {
                        RegistryAuth::Basic(u, p) => Some(basic_header(u, p)),
                        RegistryAuth::Bearer(t) => Some(secret_header(&format!("Bearer {t}"))),
                        RegistryAuth::Anonymous => None,
                    };
                    return Ok(Authorization {
                        header,
                        issued: false,
                    });
                }
                Err(E::AuthenticationFailure(body)) => {
                    return Err(Error::Unauthorized {
                        registry: self.registry.clone(),
                        status: 401,
                        message: format!(
                            "the token service refused the credentials: {}",
                            error_message(body.as_bytes())
                        ),
                    });
                }
                Err(E::RequestError(e)) => self.transport_failure("authenticating".into(), &e),
                Err(other) => Failure::Fatal(Error::Registry {
                    registry: self.registry.clone(),
                    message: format!("authenticating: {other}"),
                }),
            };
            match failure {
                Failure::Transient {
                    message,
                    retry_after,
                } if attempt < self.attempts => {
                    tracing::debug!(registry = %self.registry, %message, attempt, "retrying");
                    tokio::time::sleep(self.delay(attempt, retry_after)).await;
                }
                other => return Err(self.give_up(other, attempt)),
            }
        }
    }

    fn give_up(&self, failure: Failure, attempts: u32) -> Error {
        match failure {
            Failure::Transient { message, .. } => Error::Registry {
                registry: self.registry.clone(),
                message: format!(
                    "{message} (gave up after {attempts} {})",
                    if attempts == 1 { "try" } else { "tries" }
                ),
            },
            Failure::Denied { status, message } => Error::Unauthorized {
                registry: self.registry.clone(),
                status,
                message: if self.auth == RegistryAuth::Anonymous {
                    format!(
                        "{message} (no credentials were given for {})",
                        self.registry
                    )
                } else {
                    message
                },
            },
            Failure::Fatal(e) => e,
        }
    }

    /// Exponential backoff with jitter (half to all of the step), or what `Retry-After` asked
    /// for, never more than `max_backoff`.
    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d.min(self.max_backoff);
        }
        let step = self
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max_backoff);
        step.mul_f64(0.5 + jitter() / 2.0)
    }

    /// Runs `op` with the current authorization, retrying transient failures and
    /// re-authenticating once after a 401/403 when a token was in use.
    ///
    /// `op` is a closure returning a future rather than an async closure: the futures of async
    /// closures cannot be proven `Send` for every lifetime (rustc's higher-ranked `Send`
    /// limitation), which would make every scan future un-spawnable.
    async fn with_retries<T, F, Fut>(&self, mut op: F) -> Result<T, Error>
    where
        F: FnMut(Option<HeaderValue>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        let mut attempt = 0;
        let mut reauthenticated = false;
        let mut refresh = false;
        loop {
            attempt += 1;
            let authorization = self.authorization(refresh).await?;
            refresh = false;
            match op(authorization.header).await {
                Ok(v) => return Ok(v),
                Err(Failure::Denied { .. }) if !reauthenticated && authorization.issued => {
                    reauthenticated = true;
                    refresh = true;
                }
                Err(Failure::Transient {
                    message,
                    retry_after,
                }) if attempt < self.attempts => {
                    tracing::debug!(registry = %self.registry, %message, attempt, "retrying");
                    tokio::time::sleep(self.delay(attempt, retry_after)).await;
                }
                Err(other) => return Err(self.give_up(other, attempt)),
            }
        }
    }

    async fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        range_from: u64,
        authorization: Option<HeaderValue>,
    ) -> Result<reqwest::Response, Failure> {
        let mut req = self.http.get(url);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        if let Some(h) = authorization {
            req = req.header(header::AUTHORIZATION, h);
        }
        if range_from > 0 {
            req = req.header(header::RANGE, format!("bytes={range_from}-"));
        }
        req.send()
            .await
            .map_err(|e| self.transport_failure(format!("GET {url}"), &e))
    }

    /// A failed request: worth retrying, unless TLS itself failed (a wrong certificate or a
    /// plain-HTTP registry does not get better with time).
    fn transport_failure(&self, context: String, e: &reqwest::Error) -> Failure {
        let message = format!("{context}: {}", describe_reqwest(e));
        if message.contains("InvalidContentType") {
            Failure::Fatal(Error::Registry {
                registry: self.registry.clone(),
                message: format!(
                    "{message} (the registry seems to speak plain HTTP; list it as an insecure \
                     registry if that is intended)"
                ),
            })
        } else if message.contains("certificate") {
            Failure::Fatal(Error::Registry {
                registry: self.registry.clone(),
                message,
            })
        } else {
            Failure::Transient {
                message,
                retry_after: None,
            }
        }
    }

    /// Maps a failed response; `what` names the object for a 404.
    async fn failed(&self, resp: reqwest::Response, what: &str) -> Failure {
        let status = resp.status();
        let url = resp.url().to_string();
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = read_body(resp, ERROR_BODY_LIMIT).await.unwrap_or_default();
        let codes = error_codes(&body);
        let message = error_message(&body);
        let not_found = status == StatusCode::NOT_FOUND
            || codes.iter().any(|c| {
                matches!(
                    c.as_str(),
                    "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "BLOB_UNKNOWN" | "NOT_FOUND"
                )
            });
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            Failure::Denied {
                status: status.as_u16(),
                message: format!("{what}: {message}"),
            }
        } else if not_found {
            Failure::Fatal(Error::NotFound(what.to_owned()))
        } else if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
            || codes.iter().any(|c| c == "TOOMANYREQUESTS")
        {
            Failure::Transient {
                message: format!("GET {url}: {status}: {message}"),
                retry_after,
            }
        } else {
            Failure::Fatal(Error::Registry {
                registry: self.registry.clone(),
                message: format!("GET {url}: {status}: {message}"),
            })
        }
    }

    /// Fetches a manifest or index by tag or digest, against `limit`.
    async fn fetch_manifest(
        &self,
        reference: &str,
        limit: u64,
    ) -> Result<(Vec<u8>, Option<String>, Option<String>), Error> {
        let url = format!("{}/manifests/{reference}", self.base);
        let what = format!("manifest {}:{reference}", self.name());
        let (url, what) = (&url, &what);
        self.with_retries(move |authorization| async move {
            let resp = self
                .get(url, Some(MANIFEST_ACCEPT), 0, authorization)
                .await?;
            if !resp.status().is_success() {
                return Err(self.failed(resp, what).await);
            }
            let content_type = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
            let header_digest = resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned());
            let body = read_limited(resp, "manifest", limit).await?;
            Ok((body, content_type, header_digest))
        })
        .await
    }

    /// Fetches a small blob (the config) whole, against `limit`, and verifies its digest.
    async fn fetch_blob(
        &self,
        desc: &Descriptor,
        what: &str,
        limit: u64,
    ) -> Result<Vec<u8>, Error> {
        if desc.size > limit {
            return Err(Error::TooLarge {
                what: what.to_owned(),
                size: desc.size,
                limit,
            });
        }
        let url = format!("{}/blobs/{}", self.base, desc.digest);
        let label = format!("{what} {} in {}", desc.digest, self.name());
        let (url, label) = (&url, &label);
        let bytes = self
            .with_retries(move |authorization| async move {
                let resp = self.get(url, None, 0, authorization).await?;
                if !resp.status().is_success() {
                    return Err(self.failed(resp, label).await);
                }
                read_limited(resp, what, limit).await
            })
            .await?;
        verify_digest(what, &bytes, &desc.digest)?;
        Ok(bytes)
    }

    /// Starts (or resumes at `offset`) a blob download. Returns the response and how many
    /// leading bytes to drop (a server that ignored `Range` sends the whole blob again).
    async fn blob_response(
        &self,
        digest: &str,
        offset: u64,
    ) -> Result<(reqwest::Response, u64), Error> {
        let url = format!("{}/blobs/{digest}", self.base);
        let label = format!("blob {digest} in {}", self.name());
        let (url, label) = (&url, &label);
        self.with_retries(move |authorization| async move {
            let resp = self.get(url, None, offset, authorization).await?;
            match resp.status() {
                StatusCode::OK => Ok((resp, offset)),
                StatusCode::PARTIAL_CONTENT if offset > 0 => Ok((resp, 0)),
                _ => Err(self.failed(resp, label).await),
            }
        })
        .await
    }

    /// Opens a layer blob as a blocking reader. Read it off the async runtime (in
    /// `spawn_blocking`): each read blocks on the runtime that opened it.
    pub(super) async fn open_blob(
        self: &Arc<Self>,
        desc: &Descriptor,
    ) -> Result<Box<dyn Read + Send>, Error> {
        let (resp, skip) = self.blob_response(&desc.digest, 0).await?;
        Ok(Box::new(BlobReader {
            session: self.clone(),
            runtime: tokio::runtime::Handle::current(),
            digest: desc.digest.clone(),
            expected_size: desc.size,
            stream: Some(Box::pin(resp.bytes_stream())),
            chunk: Bytes::new(),
            skip,
            offset: 0,
            resumes_left: self.attempts.saturating_sub(1),
        }))
    }
}

type ByteStream = Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A blob download as a blocking `Read`, resuming with `Range` when the connection drops.
/// The digest is not checked here: the layer walk hashes every byte it reads.
struct BlobReader {
    session: Arc<Session>,
    runtime: tokio::runtime::Handle,
    digest: String,
    /// From the descriptor; 0 when unknown. More bytes than this is an error.
    expected_size: u64,
    stream: Option<ByteStream>,
    chunk: Bytes,
    /// Bytes still to drop from the stream (a resumed download that restarted at 0).
    skip: u64,
    /// Bytes handed out so far.
    offset: u64,
    resumes_left: u32,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.chunk.is_empty() {
                let n = self.chunk.len().min(buf.len());
                buf[..n].copy_from_slice(&self.chunk[..n]);
                self.chunk = self.chunk.slice(n..);
                self.offset += n as u64;
                if self.expected_size > 0 && self.offset > self.expected_size {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "blob {} is larger than its descriptor says ({} bytes)",
                            self.digest, self.expected_size
                        ),
                    ));
                }
                return Ok(n);
            }
            let Some(stream) = self.stream.as_mut() else {
                return Ok(0);
            };
            match self.runtime.block_on(stream.next()) {
                Some(Ok(mut bytes)) => {
                    if self.skip > 0 {
                        let drop = (self.skip as usize).min(bytes.len());
                        bytes = bytes.slice(drop..);
                        self.skip -= drop as u64;
                    }
                    self.chunk = bytes;
                }
                None => {
                    self.stream = None;
                    if self.skip > 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("blob {}: the resumed download was short", self.digest),
                        ));
                    }
                    return Ok(0);
                }
                Some(Err(e)) => {
                    let message = format!("blob {}: {}", self.digest, describe_reqwest(&e));
                    if self.resumes_left == 0 {
                        self.stream = None;
                        return Err(io::Error::other(message));
                    }
                    self.resumes_left -= 1;
                    tracing::debug!(%message, offset = self.offset, "resuming the download");
                    let session = self.session.clone();
                    let (digest, offset) = (self.digest.clone(), self.offset);
                    match self
                        .runtime
                        .block_on(async move { session.blob_response(&digest, offset).await })
                    {
                        Ok((resp, skip)) => {
                            self.stream = Some(Box::pin(resp.bytes_stream()));
                            self.skip = skip;
                        }
                        Err(e) => {
                            self.stream = None;
                            return Err(io::Error::other(format!("{message}; resuming: {e}")));
                        }
                    }
                }
            }
        }
    }
}

/// Resolves a registry reference to one platform's manifest and its config.
pub(super) async fn resolve(
    reference: &str,
    settings: &ScanSettings,
) -> Result<ResolvedImage, Error> {
    let session = Arc::new(Session::new(reference, &settings.registry)?);
    let limits = &settings.limits;
    let by_digest = session.reference.digest().map(str::to_owned);
    let tag = session.reference.tag().map(str::to_owned);
    let mut current = by_digest
        .clone()
        .or_else(|| tag.clone())
        .unwrap_or_else(|| "latest".to_owned());
    let mut expected = by_digest.clone();
    let mut index_digest = None;
    for _ in 0..4 {
        let (body, content_type, header_digest) = session
            .fetch_manifest(&current, limits.max_manifest_bytes)
            .await?;
        let digest = match &expected {
            Some(d) => {
                verify_digest("manifest", &body, d)?;
                d.clone()
            }
            None => sha256_digest(&body),
        };
        if let Some(h) = header_digest.filter(|h| !h.is_empty()) {
            // Only comparable when the algorithms agree.
            if h.split(':').next() == digest.split(':').next() {
                verify_digest("manifest (Docker-Content-Digest)", &body, &h)?;
            }
        }
        let (class, media_type) = classify_manifest(content_type.as_deref(), &body)?;
        match class {
            MediaTypeClass::Index => {
                let index = ImageIndex::parse("image index", &body)?;
                let chosen = select_platform(&index, &settings.platform)?;
                if chosen.size > limits.max_manifest_bytes {
                    return Err(Error::TooLarge {
                        what: "manifest".into(),
                        size: chosen.size,
                        limit: limits.max_manifest_bytes,
                    });
                }
                index_digest = Some(digest);
                current = chosen.digest.clone();
                expected = Some(chosen.digest.clone());
            }
            MediaTypeClass::Manifest => {
                let manifest = ImageManifest::parse("manifest", &body)?;
                let config = session
                    .fetch_blob(&manifest.config, "config", limits.max_config_bytes)
                    .await?;
                return Ok(ResolvedImage {
                    repository: Some(session.name()),
                    tag,
                    manifest_digest: digest,
                    manifest_media_type: media_type,
                    index_digest,
                    config_digest: manifest.config.digest.clone(),
                    config,
                    layers: manifest.layers,
                    handle: Handle::Registry(session.clone()),
                });
            }
        }
    }
    Err(Error::Malformed {
        what: "image index".into(),
        message: "indexes nested too deep".into(),
    })
}

/// What a manifest is: by `Content-Type` when it names a type we know, else by the
/// document's `mediaType`, else (generic or missing content type) by its shape.
fn classify_manifest(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(MediaTypeClass, String), Error> {
    if let Some(ct) = content_type
        && let Some(class) = MediaTypeClass::of(ct)
    {
        return Ok((class, ct.to_owned()));
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        schema_version: Option<serde_json::Value>,
    }
    let probe: Option<Probe> = serde_json::from_slice(body).ok();
    let declared = probe.as_ref().and_then(|p| p.media_type.clone());
    let generic = matches!(
        content_type,
        None | Some("" | "application/json" | "text/plain" | "application/octet-stream")
    );
    let is_schema1 = probe
        .as_ref()
        .and_then(|p| p.schema_version.as_ref())
        .and_then(serde_json::Value::as_u64)
        == Some(1);
    if !is_schema1
        && (generic || declared.is_some())
        && let Some(found) = MediaTypeClass::sniff(body)
    {
        return Ok(found);
    }
    Err(Error::UnsupportedMediaType {
        what: "manifest".into(),
        media_type: declared
            .or(content_type.map(str::to_owned))
            .unwrap_or_else(|| "(none)".into()),
    })
}

/// Reads a whole body, refusing more than `limit` bytes before holding them.
async fn read_limited(
    mut resp: reqwest::Response,
    what: &str,
    limit: u64,
) -> Result<Vec<u8>, Failure> {
    if let Some(len) = resp.content_length()
        && len > limit
    {
        return Err(Failure::Fatal(Error::TooLarge {
            what: what.to_owned(),
            size: len,
            limit,
        }));
    }
    let url = resp.url().to_string();
    let mut buf = Vec::with_capacity(resp.content_length().unwrap_or(0).min(limit) as usize);
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let size = buf.len() as u64 + chunk.len() as u64;
                if size > limit {
                    return Err(Failure::Fatal(Error::TooLarge {
                        what: format!("{what} (at least)"),
                        size,
                        limit,
                    }));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf),
            Err(e) => {
                return Err(Failure::Transient {
                    message: format!("reading {url}: {}", describe_reqwest(&e)),
                    retry_after: None,
                });
            }
        }
    }
}

/// The first `limit` bytes of a body, or nothing on error.
async fn read_body(mut resp: reqwest::Response, limit: u64) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = (limit as usize).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() as u64 >= limit {
            break;
        }
    }
    Some(buf)
}

#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Vec<EnvelopeError>,
}

#[derive(serde::Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn error_codes(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<Envelope>(body)
        .map(|e| e.errors.into_iter().map(|x| x.code).collect())
        .unwrap_or_default()
}

/// A one-line message from an error body: the distribution-spec envelope if there is one,
/// else the text, printable characters only and cut short.
fn error_message(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Envelope>(body) {
        Ok(env) if !env.errors.is_empty() => env
            .errors
            .iter()
            .map(|e| {
                if e.message.is_empty() {
                    e.code.clone()
                } else {
                    format!("{}: {}", e.code, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    let mut clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    clean = clean.trim().to_owned();
    if clean.is_empty() {
        "no details".into()
    } else {
        clean
    }
}

/// A reqwest error with its causes (the top level alone says "error sending request").
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

fn secret_header(value: &str) -> HeaderValue {
    let mut h = HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""));
    h.set_sensitive(true);
    h
}

fn basic_header(user: &str, password: &str) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    secret_header(&format!("Basic {encoded}"))
}

/// A number in [0, 1) that differs from call to call (std's hasher keys are random and
/// advance on every `RandomState::new`), enough to spread retries.
pub(crate) fn jitter() -> f64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let h = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
    use super::*;

    #[test]
    fn normalises_references() {
        let cases = [
            (
                "alpine",
                "docker.io",
                "library/alpine",
                Some("latest"),
                None,
            ),
            (
                "docker.io/library/alpine:3.20",
                "docker.io",
                "library/alpine",
                Some("3.20"),
                None,
            ),
            (
                "index.docker.io/grafana/grafana",
                "docker.io",
                "grafana/grafana",
                Some("latest"),
                None,
            ),
            (
                "127.0.0.1:5000/app:1.2",
                "127.0.0.1:5000",
                "app",
                Some("1.2"),
                None,
            ),
            (
                "localhost/team/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "localhost",
                "team/app",
                None,
                Some("sha256:0000000000000000000000000000000000000000000000000000000000000000"),
            ),
        ];
        for (input, registry, repository, tag, digest) in cases {
            let r = RegistryRef::parse(input).expect(input);
            assert_eq!(r.registry, registry, "{input}");
            assert_eq!(r.repository, repository, "{input}");
            assert_eq!(r.tag.as_deref(), tag, "{input}");
            assert_eq!(r.digest.as_deref(), digest, "{input}");
        }
        for bad in ["Alpine", "a b", "reg:5000/app:bad tag", "app@sha256:xyz"] {
            assert!(
                matches!(RegistryRef::parse(bad), Err(Error::InvalidReference(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn classifies_manifests() {
        let oci = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;
        let bare_index = br#"{"schemaVersion":2,"manifests":[]}"#;
        let schema1 = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        let artifact = br#"{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"}"#;
        let ok = classify_manifest;
        assert_eq!(
            ok(Some(DOCKER_MANIFEST), oci).ok(),
            Some((MediaTypeClass::Manifest, DOCKER_MANIFEST.to_owned()))
        );
        assert_eq!(
            ok(Some("application/json"), oci).ok(),
            Some((MediaTypeClass::Manifest, OCI_MANIFEST.to_owned()))
        );
        assert_eq!(
            ok(None, bare_index).ok(),
            Some((MediaTypeClass::Index, OCI_INDEX.to_owned()))
        );
        assert_eq!(
            ok(Some(DOCKER_LIST), bare_index).ok().map(|x| x.0),
            Some(MediaTypeClass::Index)
        );
        for (ct, body) in [
            (
                Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
                &schema1[..],
            ),
            (Some("application/json"), &schema1[..]),
            (Some("application/vnd.example.thing+json"), &artifact[..]),
            (Some("application/json"), &artifact[..]),
            (Some("text/html"), &b"<html>"[..]),
        ] {
            assert!(
                matches!(
                    classify_manifest(ct, body),
                    Err(Error::UnsupportedMediaType { .. })
                ),
                "{ct:?}"
            );
        }
    }

    #[test]
    fn error_messages_are_short_and_printable() {
        assert_eq!(
            error_message(
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#
            ),
            "UNAUTHORIZED: authentication required"
        );
        assert_eq!(
            error_message(b"bad\r\ngateway\x1b[31m"),
            "bad  gateway [31m"
        );
        assert_eq!(error_message(b""), "no details");
        assert_eq!(error_message(&[b'x'; 1000]).len(), 300);
        assert_eq!(
            error_codes(br#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#),
            vec!["MANIFEST_UNKNOWN".to_owned()]
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let settings = RegistrySettings {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..RegistrySettings::default()
        };
        let s = Session::new("127.0.0.1:1/x:y", &settings).expect("session");
        for attempt in 1..=10 {
            let d = s.delay(attempt, None);
            let step = Duration::from_millis(100 << (attempt - 1)).min(Duration::from_secs(1));
            assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d:?}");
        }
        assert_eq!(
            s.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(1)
        );
        let a: Vec<f64> = (0..8).map(|_| jitter()).collect();
        assert!(a.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(a.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn insecure_hosts_choose_http() {
        let settings = RegistrySettings {
            insecure_hosts: vec!["http://127.0.0.1:5000/".into()],
            ..RegistrySettings::default()
        };
        let s = Session::new("127.0.0.1:5000/a/b:c", &settings).expect("session");
        assert_eq!(s.base, "http://127.0.0.1:5000/v2/a/b");
        let s = Session::new("127.0.0.1:5001/a/b:c", &settings).expect("session");
        assert_eq!(s.base, "https://127.0.0.1:5001/v2/a/b");
        let s = Session::new("alpine", &settings).expect("session");
        assert_eq!(s.base, "https://index.docker.io/v2/library/alpine");
    }

    #[test]
    fn explicit_login_wins_and_never_prints() {
        let mut credentials = Credentials::default();
        credentials.insert(
            "127.0.0.1:5001",
            Credential::Basic {
                username: "file".into(),
                password: Secret::new("from-file"),
            },
        );
        let mut settings = RegistrySettings {
            credentials,
            ..RegistrySettings::default()
        };
        let s = Session::new("127.0.0.1:5001/a:b", &settings).expect("session");
        assert_eq!(
            s.auth,
            RegistryAuth::Basic("file".into(), "from-file".into())
        );
        settings.login = Some(Credential::Basic {
            username: "flag".into(),
            password: Secret::new("hunter2"),
        });
        let s = Session::new("127.0.0.1:5001/a:b", &settings).expect("session");
        assert_eq!(s.auth, RegistryAuth::Basic("flag".into(), "hunter2".into()));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", basic_header("flag", "hunter2")).contains("aHVudGVy"));
    }
}
