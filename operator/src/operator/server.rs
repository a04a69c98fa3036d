//! The operator's HTTP server (axum): the ingest API analyzer Jobs talk to
//! (`operator/docs/ingest-protocol.md`), a read API over the store, `/metrics`, `/healthz`,
//! `/readyz`.
//!
//! Traps:
//! - Tokens are compared by their SHA-256 through the store; a token is never logged.
//! - The body cap applies twice: to the bytes received and to what they decompress to (a
//!   small zstd body can expand to gigabytes).
//! - An upload must be the Analysis of the digest the Job resolved; a retry of the same body is
//!   answered as a success, a different body on a used token is refused (409).

use super::context::Context;
use super::metrics::Snapshot;
use crate::crd::image_scan::Phase;
use crate::store::{Finish, JobOutcome, Timestamp};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use plimsoll_analyzer::ingest::{
    ANALYSIS_PATH, CHECK_PATH, CheckRequest, CheckResponse, ErrorBody, FAILURE_PATH, FailureReport,
    UploadResponse,
};
use plimsoll_analyzer::model::Analysis;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How many times larger than the upload cap a decompressed Analysis may be.
const EXPANSION: u64 = 8;

#[derive(Clone)]
pub struct AppState {
    pub ctx: Arc<Context>,
    /// The controllers are running (or this replica follows a leader and serves reads).
    pub ready: Arc<AtomicBool>,
}

pub fn router(state: AppState) -> Router {
    let limit = usize::try_from(state.ctx.config.max_upload_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route(CHECK_PATH, post(check))
        .route(
            ANALYSIS_PATH,
            post(upload).layer(DefaultBodyLimit::max(limit)),
        )
        .route(FAILURE_PATH, post(failure))
        .route("/api/v1/images/{digest}", get(image))
        .route(
            "/api/v1/images/{digest}/vulnerabilities",
            get(vulnerabilities),
        )
        .route("/api/v1/images/{digest}/sbom", get(sbom))
        .route(
            "/api/v1/namespaces/{namespace}/imagescans/{name}/evaluation",
            get(evaluation),
        )
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(super::feed_ingest::routes())
        .with_state(state)
}

/// An error answered as `{"error": ...}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl From<crate::store::Error> for ApiError {
    fn from(e: crate::store::Error) -> Self {
        tracing::warn!(error = %e, "store error in a request");
        Self(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unavailable: {e}"),
        )
    }
}

fn err(code: StatusCode, msg: impl Into<String>) -> ApiError {
    ApiError(code, msg.into())
}

/// The request's `Authorization: Bearer` token, if it has a non-empty one.
pub(super) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The Job behind the request's bearer token.
async fn authenticate(
    ctx: &Context,
    headers: &HeaderMap,
) -> Result<crate::store::AnalyzerJob, ApiError> {
    let token = bearer_token(headers)
        .ok_or_else(|| err(StatusCode::UNAUTHORIZED, "missing bearer token"))?;
    ctx.store
        .analyzer_job_by_token(&super::analyzer_job::token_hash(token))
        .await?
        .ok_or_else(|| err(StatusCode::UNAUTHORIZED, "unknown token"))
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| err(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

fn valid_digest(d: &str) -> bool {
    d.split_once(':').is_some_and(|(alg, hex)| {
        matches!(alg, "sha256" | "sha512")
            && !hex.is_empty()
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

async fn check(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CheckResponse>, ApiError> {
    let r = check_inner(&s.ctx, &headers, &body).await;
    s.ctx.metrics.ingest("check", status_of(&r), body.len());
    r.map(Json)
}

fn status_of<T>(r: &Result<T, ApiError>) -> u16 {
    r.as_ref().map_or_else(|e| e.0.as_u16(), |_| 200)
}

async fn check_inner(
    ctx: &Context,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<CheckResponse, ApiError> {
    let job = authenticate(ctx, headers).await?;
    let req: CheckRequest = json_body(body)?;
    if !valid_digest(&req.digest) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            format!("`{}` is not a digest", req.digest),
        ));
    }
    match job.outcome {
        Some(JobOutcome::Analyzed | JobOutcome::Skipped)
            if job.digest.as_deref() == Some(&req.digest) =>
        {
            return Ok(CheckResponse::Skip);
        }
        Some(_) => return Err(err(StatusCode::CONFLICT, "this token was already used")),
        None => {}
    }
    ctx.store
        .analyzer_job_resolved(&job.namespace, &job.job_name, &req.digest)
        .await?;
    let known = ctx.store.analysis_info(&req.digest).await?;
    if !job.force && known.is_some_and(|i| i.analyzer_version == req.analyzer_version) {
        let f = Finish {
            outcome: JobOutcome::Skipped,
            digest: Some(&req.digest),
            reason: None,
            message: None,
            upload_sha256: None,
        };
        ctx.store
            .finish_analyzer_job(&job.namespace, &job.job_name, &f, Timestamp::now())
            .await?;
        ctx.metrics.job_finished("skipped");
        ctx.wake_job(&job.namespace, &job.job_name);
        return Ok(CheckResponse::Skip);
    }
    let holder = format!("{}/{}", job.namespace, job.job_name);
    if ctx.claim(&req.digest, &holder, Instant::now()).is_err() {
        // Wake the scans so the status shows the digest while they wait.
        ctx.wake_job(&job.namespace, &job.job_name);
        return Ok(CheckResponse::Wait {
            retry_after_seconds: 5,
        });
    }
    ctx.wake_job(&job.namespace, &job.job_name);
    Ok(CheckResponse::Analyze)
}

async fn upload(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<UploadResponse>, ApiError> {
    let r = upload_inner(&s.ctx, &headers, &body).await;
    s.ctx.metrics.ingest("analysis", status_of(&r), body.len());
    r.map(Json)
}

/// The body decompressed per `Content-Encoding`, at most `cap` bytes.
fn decompress(headers: &HeaderMap, body: &[u8], cap: u64) -> Result<Vec<u8>, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let mut out = Vec::new();
    let read = |r: &mut dyn Read, out: &mut Vec<u8>| {
        r.take(cap.saturating_add(1)).read_to_end(out).map_err(|e| {
            err(
                StatusCode::BAD_REQUEST,
                format!("the {encoding} body does not decompress: {e}"),
            )
        })
    };
    match encoding.as_str() {
        "identity" | "" => out.extend_from_slice(body),
        "zstd" => {
            let mut d = zstd::stream::read::Decoder::new(body)
                .map_err(|e| err(StatusCode::BAD_REQUEST, format!("bad zstd body: {e}")))?;
            read(&mut d, &mut out)?;
        }
        "gzip" => {
            let mut d = flate2::read::GzDecoder::new(body);
            read(&mut d, &mut out)?;
        }
        other => {
            return Err(err(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Encoding `{other}` is not zstd, gzip or identity"),
            ));
        }
    }
    if out.len() as u64 > cap {
        return Err(err(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the analysis decompresses to more than {cap} bytes"),
        ));
    }
    Ok(out)
}

async fn upload_inner(
    ctx: &Context,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<UploadResponse, ApiError> {
    let job = authenticate(ctx, headers).await?;
    let cap = ctx.config.max_upload_bytes.saturating_mul(EXPANSION);
    let json = decompress(headers, body, cap)?;
    let sha = hex::encode(Sha256::digest(&json));
    if let Some(outcome) = job.outcome {
        return if outcome == JobOutcome::Analyzed && job.upload_sha256.as_deref() == Some(&sha) {
            Ok(UploadResponse {
                digest: job.digest.unwrap_or_default(),
                stored: true,
            })
        } else {
            Err(err(StatusCode::CONFLICT, "this token was already used"))
        };
    }
    let analysis: Analysis = serde_json::from_slice(&json).map_err(|e| {
        err(
            StatusCode::BAD_REQUEST,
            format!("not an Analysis document: {e}"),
        )
    })?;
    let digest = analysis.image.manifest_digest.clone();
    if !valid_digest(&digest) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "the analysis names no manifest digest",
        ));
    }
    if let Some(resolved) = &job.digest
        && *resolved != digest
    {
        return Err(err(
            StatusCode::BAD_REQUEST,
            format!("the analysis is of {digest}, but the Job resolved {resolved}"),
        ));
    }
    let refs = crate::vulns::package_refs(&analysis);
    let now = Timestamp::now();
    ctx.store.put_analysis(&analysis, &refs, now).await?;
    let f = Finish {
        outcome: JobOutcome::Analyzed,
        digest: Some(&digest),
        reason: None,
        message: None,
        upload_sha256: Some(&sha),
    };
    let first = ctx
        .store
        .finish_analyzer_job(&job.namespace, &job.job_name, &f, now)
        .await?;
    if !first {
        // A concurrent request with the same token won the race.
        let again = ctx
            .store
            .analyzer_job(&job.namespace, &job.job_name)
            .await?;
        if again.and_then(|j| j.upload_sha256).as_deref() != Some(&sha) {
            return Err(err(StatusCode::CONFLICT, "this token was already used"));
        }
    } else {
        ctx.metrics.job_finished("analyzed");
    }
    ctx.release_claim(&digest);
    ctx.wake_job(&job.namespace, &job.job_name);
    tracing::info!(digest = %digest, job = %job.job_name, namespace = %job.namespace, packages = analysis.packages.len(), "analysis stored");
    Ok(UploadResponse {
        digest,
        stored: true,
    })
}

async fn failure(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let r = failure_inner(&s.ctx, &headers, &body).await;
    s.ctx
        .metrics
        .ingest("failure", status_of(&r).min(204), body.len());
    r.map(|()| StatusCode::NO_CONTENT)
}

/// The reasons an analyzer may report; anything else is recorded as `AnalysisFailed`.
const REASONS: &[&str] = &[
    "InvalidImageReference",
    "RegistryAuthFailed",
    "ImageNotFound",
    "RegistryError",
    "CorruptImage",
    "AnalysisFailed",
];

async fn failure_inner(ctx: &Context, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let job = authenticate(ctx, headers).await?;
    let report: FailureReport = json_body(body)?;
    let reason = if REASONS.contains(&report.reason.as_str()) {
        report.reason.as_str()
    } else {
        "AnalysisFailed"
    };
    if job.outcome.is_some() {
        return if job.outcome == Some(JobOutcome::Failed) && job.reason.as_deref() == Some(reason) {
            Ok(())
        } else {
            Err(err(StatusCode::CONFLICT, "this token was already used"))
        };
    }
    if !report.is_definitive() {
        // The Job retries a transient failure; only its last word counts, and the Job's own
        // failure (BackoffLimitExceeded) ends the scan if none succeeds.
        tracing::info!(job = %job.job_name, namespace = %job.namespace, reason, "transient analyzer failure");
        return Ok(());
    }
    let message = crate::crd::schema::truncate(&report.message, 1000);
    let f = Finish {
        outcome: JobOutcome::Failed,
        digest: report.digest.as_deref().filter(|d| valid_digest(d)),
        reason: Some(reason),
        message: Some(&message),
        upload_sha256: None,
    };
    ctx.store
        .finish_analyzer_job(&job.namespace, &job.job_name, &f, Timestamp::now())
        .await?;
    ctx.metrics.job_finished(reason);
    if let Some(d) = &report.digest {
        ctx.release_claim(d);
    }
    ctx.wake_job(&job.namespace, &job.job_name);
    Ok(())
}

fn checked_digest(d: &str) -> Result<(), ApiError> {
    if valid_digest(d) {
        Ok(())
    } else {
        Err(err(
            StatusCode::BAD_REQUEST,
            format!("`{d}` is not a digest"),
        ))
    }
}

/// The stored analysis of `digest`: 400 for a malformed digest, 404 when none is stored.
async fn stored_analysis(
    ctx: &Context,
    digest: &str,
) -> Result<crate::store::StoredAnalysis, ApiError> {
    checked_digest(digest)?;
    ctx.store
        .get_analysis(digest)
        .await?
        .ok_or_else(|| err(StatusCode::NOT_FOUND, format!("no analysis of {digest}")))
}

async fn image(
    State(s): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    checked_digest(&digest)?;
    let info = s
        .ctx
        .store
        .analysis_info(&digest)
        .await?
        .ok_or_else(|| err(StatusCode::NOT_FOUND, format!("no analysis of {digest}")))?;
    let history = s.ctx.store.evaluations_for(&digest, 20).await?;
    Ok(Json(serde_json::json!({
        "digest": info.image_digest,
        "analyzerVersion": info.analyzer_version,
        "analyzedAt": crate::vulns::format_rfc3339(info.created_at),
        "evaluations": history.iter().map(|e| serde_json::json!({
            "bundleDigest": e.bundle_digest,
            "finalAction": e.final_action.as_str(),
            "evaluatedAt": crate::vulns::format_rfc3339(e.evaluated_at),
        })).collect::<Vec<_>>(),
    })))
}

async fn vulnerabilities(
    State(s): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let stored = stored_analysis(&s.ctx, &digest).await?;
    let report = crate::vulns::match_analysis(&s.ctx.store, &stored.analysis).await?;
    let times = s.ctx.store.matches_for(&digest).await?;
    let matches: Vec<serde_json::Value> = report
        .matches
        .iter()
        .map(|m| {
            let t = times
                .iter()
                .find(|t| t.key.vuln_id == m.vuln_id && t.key.package_key == m.package_key());
            let mut v = serde_json::to_value(m).unwrap_or_default();
            if let (Some(t), Some(obj)) = (t, v.as_object_mut()) {
                obj.insert(
                    "firstSeen".into(),
                    crate::vulns::format_rfc3339(t.first_seen).into(),
                );
                if let Some(f) = t.fix_first_seen {
                    obj.insert(
                        "fixFirstSeen".into(),
                        crate::vulns::format_rfc3339(f).into(),
                    );
                }
            }
            v
        })
        .collect();
    Ok(Json(serde_json::json!({
        "digest": digest,
        "matches": matches,
        "notes": report.notes,
    })))
}

#[derive(serde::Deserialize)]
struct SbomQuery {
    format: Option<String>,
}

async fn sbom(
    State(s): State<AppState>,
    Path(digest): Path<String>,
    Query(q): Query<SbomQuery>,
) -> Result<Response, ApiError> {
    let stored = stored_analysis(&s.ctx, &digest).await?;
    let rctx = plimsoll_analyzer::output::RenderCtx {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        created: plimsoll_analyzer::output::Timestamp::from_unix_seconds(
            u64::try_from(stored.created_at.unix_millis() / 1000).unwrap_or(0),
        ),
        seed: digest.clone(),
    };
    let (bytes, content_type) = match q.format.as_deref().unwrap_or("cyclonedx") {
        "cyclonedx" => (
            plimsoll_analyzer::output::cyclonedx::render(&stored.analysis, &rctx),
            "application/vnd.cyclonedx+json",
        ),
        "spdx" => (
            plimsoll_analyzer::output::spdx::render(&stored.analysis, &rctx),
            "application/spdx+json",
        ),
        other => {
            return Err(err(
                StatusCode::BAD_REQUEST,
                format!("format `{other}` is not cyclonedx or spdx"),
            ));
        }
    };
    let bytes = bytes.map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

async fn evaluation(
    State(s): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let scans = s
        .ctx
        .scans
        .get()
        .ok_or_else(|| err(StatusCode::SERVICE_UNAVAILABLE, "not started yet"))?;
    let scan = scans
        .get(&kube::runtime::reflector::ObjectRef::new(&name).within(&namespace))
        .ok_or_else(|| {
            err(
                StatusCode::NOT_FOUND,
                format!("no ImageScan {namespace}/{name}"),
            )
        })?;
    let status = scan.status.clone().unwrap_or_default();
    let (Some(digest), Some(verdict)) = (status.digest, status.verdict) else {
        return Err(err(
            StatusCode::NOT_FOUND,
            format!("ImageScan {namespace}/{name} has no verdict yet"),
        ));
    };
    let e = s
        .ctx
        .store
        .latest_evaluation(&digest, &verdict.bundle_digest)
        .await?
        .ok_or_else(|| err(StatusCode::NOT_FOUND, "no stored evaluation"))?;
    Ok(Json(e.result))
}

async fn metrics(State(s): State<AppState>) -> Result<Response, ApiError> {
    let snapshot = snapshot(&s.ctx);
    let text = s
        .ctx
        .metrics
        .render(&snapshot)
        .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

fn snapshot(ctx: &Context) -> Snapshot {
    let mut snap = Snapshot::default();
    if let Ok(mut slots) = ctx.slots.lock() {
        snap.running_jobs = slots.running(Instant::now());
        snap.queue_depth = slots.queued();
    }
    let Some(scans) = ctx.scans.get() else {
        return snap;
    };
    let mut phases = std::collections::BTreeMap::<String, usize>::new();
    let mut verdicts = std::collections::BTreeMap::<String, usize>::new();
    let mut sev = [0u64; 6];
    for scan in scans.state() {
        let Some(st) = &scan.status else { continue };
        let phase = st.phase.map_or("Pending", |p| match p {
            Phase::Pending => "Pending",
            Phase::Queued => "Queued",
            Phase::Analyzing => "Analyzing",
            Phase::Evaluating => "Evaluating",
            Phase::Ready => "Ready",
            Phase::Failed => "Failed",
        });
        *phases.entry(phase.to_owned()).or_default() += 1;
        if let Some(v) = &st.verdict {
            *verdicts
                .entry(v.final_action.as_str().to_owned())
                .or_default() += 1;
        }
        if let Some(c) = st.vulnerabilities {
            for (slot, n) in
                sev.iter_mut()
                    .zip([c.critical, c.high, c.medium, c.low, c.negligible, c.unknown])
            {
                *slot += u64::from(n);
            }
        }
    }
    snap.scans_by_phase = phases.into_iter().collect();
    snap.verdicts = verdicts.into_iter().collect();
    snap.findings_by_severity = ["critical", "high", "medium", "low", "negligible", "unknown"]
        .iter()
        .zip(sev)
        .map(|(s, n)| ((*s).to_owned(), n))
        .collect();
    snap
}

async fn readyz(State(s): State<AppState>) -> Response {
    if s.ready.load(Ordering::Relaxed) {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_checked() {
        assert!(valid_digest(&format!("sha256:{}", "ab".repeat(32))));
        for bad in [
            "",
            "sha256:",
            "md5:abc",
            "sha256:ABC",
            "sha256:xyz",
            "../etc",
        ] {
            assert!(!valid_digest(bad), "{bad}");
        }
    }

    #[test]
    fn bodies_decompress_within_the_cap() {
        let json = br#"{"a":1}"#.repeat(100);
        let zst = zstd::encode_all(&json[..], 3).expect("zstd");
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, "zstd".parse().expect("header"));
        assert_eq!(decompress(&headers, &zst, 10_000).expect("fits"), json);
        let too_big = decompress(&headers, &zst, 100).expect_err("over the cap");
        assert_eq!(too_big.0, StatusCode::PAYLOAD_TOO_LARGE);
        let corrupt = decompress(&headers, &zst[..zst.len() / 2], 10_000).expect_err("truncated");
        assert_eq!(corrupt.0, StatusCode::BAD_REQUEST);
        headers.insert(header::CONTENT_ENCODING, "br".parse().expect("header"));
        assert_eq!(
            decompress(&headers, &zst, 10_000).expect_err("brotli").0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &json).expect("gzip");
        let gz = gz.finish().expect("gzip");
        headers.insert(header::CONTENT_ENCODING, "gzip".parse().expect("header"));
        assert_eq!(decompress(&headers, &gz, 10_000).expect("fits"), json);
    }
}
