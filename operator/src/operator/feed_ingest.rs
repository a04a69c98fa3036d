//! The ingest API of the operator's CronJobs (`operator/docs/ingest-protocol.md`): feed pushes
//! from `plimsoll cron feed-sync` (`PUT /ingest/v1/feeds/{source}`), the sources it syncs
//! against (`GET /ingest/v1/feeds`), and the watch CronJob's request to check every followed
//! tag (`POST /ingest/v1/watch`).
//!
//! Traps:
//! - One token for both CronJobs, created when this replica took the lead; only its SHA-256 is
//!   kept, compared in constant time. Until it is set (a follower, or a leader still writing the
//!   Secret), requests get 503 with `Retry-After`.
//! - A push is decoded and checked whole (every line) before anything is written, off the async
//!   executor; a refused push writes no record, but its failure is recorded on the source so
//!   `plimsoll feeds list` and the statuses show it.
//! - The body cap applies to the bytes received (counted while reading, whatever
//!   `Content-Length` says) and, 8 times larger, to what they decompress to.
//! - An increment is applied only on top of what it was listed from: if the operator's cursor
//!   is older than the push's `since`, records in between would be missing (409: push it whole).

use super::analyzer_job::token_hash;
use super::context::Context;
use super::server::AppState;
use crate::feeds::push::{
    self, FEEDS_PATH, Header, Mode, Push, PushError, PushResponse, SourceState, SourcesResponse,
};
use crate::store::{FeedSourceSpec, SyncOutcome, Timestamp, format_cursor};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::StreamExt as _;
use plimsoll_analyzer::ingest::ErrorBody;

/// `POST`: check every followed tag now.
pub const WATCH_PATH: &str = "/ingest/v1/watch";
/// How many times the push cap a push may decompress to.
const EXPANSION: u64 = 8;
/// Seconds a client is asked to wait while no CronJob token is set.
const RETRY_AFTER_NO_TOKEN: &str = "10";

/// The answer of `POST /ingest/v1/watch`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WatchResponse {
    pub accepted: bool,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(FEEDS_PATH, get(list))
        .route(
            "/ingest/v1/feeds/{source}",
            // The cap is the configuration's, applied while reading (`read_capped`).
            put(push_feed).layer(DefaultBodyLimit::disable()),
        )
        .route(WATCH_PATH, post(watch))
}

/// An error answered as `{"error": ...}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_NO_TOKEN),
            );
        }
        response
    }
}

impl From<crate::store::Error> for ApiError {
    fn from(e: crate::store::Error) -> Self {
        tracing::warn!(error = %e, "store error in a CronJob request");
        err(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unavailable: {e}"),
        )
    }
}

fn err(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        message: message.into(),
    }
}

/// Equal bytes, in time that depends on the length only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the CronJob token of the request against this replica's copy of its hash, else the
/// store's (a follower, or a leader whose token a newer leader replaced).
async fn authenticate(ctx: &Context, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = super::server::bearer_token(headers);
    let local = ctx.cronjob_token_sha256.read().ok().and_then(|h| h.clone());
    if let (Some(t), Some(h)) = (token, &local)
        && constant_time_eq(token_hash(t).as_bytes(), h.as_bytes())
    {
        return Ok(());
    }
    let stored = ctx
        .store
        .service_token(super::cronjobs::TOKEN_NAME)
        .await?
        .or(local)
        .ok_or_else(|| {
            err(
                StatusCode::SERVICE_UNAVAILABLE,
                "the CronJob token is not set up yet (no replica leads yet, or it just started): retry",
            )
        })?;
    let token = token.ok_or_else(|| err(StatusCode::UNAUTHORIZED, "missing bearer token"))?;
    if constant_time_eq(token_hash(token).as_bytes(), stored.as_bytes()) {
        Ok(())
    } else {
        Err(err(StatusCode::UNAUTHORIZED, "unknown token"))
    }
}

fn status_of<T>(r: &Result<T, ApiError>, ok: StatusCode) -> u16 {
    r.as_ref()
        .map_or_else(|e| e.status.as_u16(), |_| ok.as_u16())
}

async fn watch(State(s): State<AppState>, headers: HeaderMap) -> Response {
    // The round is started in the store, so any replica can take the request; the leader
    // wakes the scans at once if it is this one, else within a minute (its freshness task).
    let r = match authenticate(&s.ctx, &headers).await {
        Ok(()) => super::freshness::start_watch_round(&s.ctx)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    s.ctx
        .metrics
        .ingest("watch", status_of(&r, StatusCode::ACCEPTED), 0);
    match r {
        Ok(round) => {
            tracing::info!(
                round,
                "the watch CronJob asked for a check of every followed tag"
            );
            (StatusCode::ACCEPTED, Json(WatchResponse { accepted: true })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn list(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let r = list_inner(&s.ctx, &headers).await;
    s.ctx
        .metrics
        .ingest("feeds-list", status_of(&r, StatusCode::OK), 0);
    match r {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn list_inner(ctx: &Context, headers: &HeaderMap) -> Result<SourcesResponse, ApiError> {
    authenticate(ctx, headers).await?;
    let sources = ctx.store.feed_sources().await?;
    Ok(SourcesResponse {
        sources: sources
            .into_iter()
            .map(|s| SourceState {
                name: s.name,
                kind: s.kind,
                url: s.url,
                records: s.record_count,
                digest: s.digest,
                cursor: s.modified_cursor.map(format_cursor),
                last_success_at: s.last_success_at.map(crate::vulns::format_rfc3339),
                last_attempt_at: s.last_attempt_at.map(crate::vulns::format_rfc3339),
                last_error: s.last_error,
            })
            .collect(),
    })
}

async fn push_feed(
    State(s): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut received = 0usize;
    let r = push_inner(&s.ctx, &source, &headers, body, &mut received).await;
    s.ctx
        .metrics
        .ingest("feeds", status_of(&r, StatusCode::OK), received);
    match r {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The body, or 413 as soon as it passes `cap` bytes.
async fn read_capped(
    headers: &HeaderMap,
    body: Body,
    cap: u64,
    received: &mut usize,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        err(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the push is larger than {cap} bytes (--max-feed-push-bytes)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            err(
                StatusCode::BAD_REQUEST,
                format!("reading the body failed: {e}"),
            )
        })?;
        *received += chunk.len();
        if (out.len() + chunk.len()) as u64 > cap {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn content_encoding(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase()
}

async fn push_inner(
    ctx: &Context,
    source: &str,
    headers: &HeaderMap,
    body: Body,
    received: &mut usize,
) -> Result<PushResponse, ApiError> {
    authenticate(ctx, headers).await?;
    let cap = ctx.config.max_feed_push_bytes;
    let bytes = read_capped(headers, body, cap, received).await?;
    let encoding = content_encoding(headers);
    let max_decompressed = cap.saturating_mul(EXPANSION);
    let decoded = tokio::task::spawn_blocking(move || {
        let decoded = push::decode(&encoding, &bytes, max_decompressed);
        let peeked = decoded
            .is_err()
            .then(|| push::peek_header(&encoding, &bytes))
            .flatten();
        (decoded, peeked)
    })
    .await
    .map_err(|e| {
        err(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("decoding the push failed: {e}"),
        )
    })?;
    let now = Timestamp::now();
    let push = match decoded {
        (Ok(push), _) => push,
        (Err(e), peeked) => {
            let status = match e {
                PushError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                PushError::Encoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                _ => StatusCode::BAD_REQUEST,
            };
            let message = format!("feed push refused, nothing written: {e}");
            let header = peeked.filter(|h| h.source.name == source);
            refused(ctx, source, header.as_ref(), &message, now).await?;
            return Err(err(status, message));
        }
    };
    if push.header.source.name != source {
        let message = format!(
            "feed push refused, nothing written: the header names source {:?}, the URL {source:?}",
            push.header.source.name
        );
        refused(ctx, source, None, &message, now).await?;
        return Err(err(StatusCode::BAD_REQUEST, message));
    }
    apply(ctx, push, now).await
}

/// Records a refused push on its source: registered from the header when it parsed, else only
/// if the operator knows the source already (garbage does not create sources).
async fn refused(
    ctx: &Context,
    source: &str,
    header: Option<&Header>,
    message: &str,
    now: Timestamp,
) -> Result<(), ApiError> {
    tracing::warn!(source, error = message, "feed push refused");
    if let Some(h) = header {
        ctx.store.feed_sync_started(&spec(h), now).await?;
    } else if ctx.store.feed_source(source).await?.is_none() {
        return Ok(());
    }
    ctx.store.feed_sync_failed(source, message, now).await?;
    Ok(())
}

fn spec(h: &Header) -> FeedSourceSpec<'_> {
    FeedSourceSpec {
        name: &h.source.name,
        kind: &h.source.kind,
        url: &h.source.url,
    }
}

/// Writes a checked push: one transaction, or its failure recorded.
async fn apply(ctx: &Context, push: Push, now: Timestamp) -> Result<PushResponse, ApiError> {
    let Push { header, records } = push;
    let name = header.source.name.as_str();
    let previous = ctx.store.feed_source(name).await?;
    ctx.store.feed_sync_started(&spec(&header), now).await?;
    let refuse = |status: StatusCode, message: String| async move {
        ctx.store.feed_sync_failed(name, &message, now).await?;
        tracing::warn!(source = name, error = %message, "feed push refused");
        Err::<PushResponse, ApiError>(err(status, message))
    };
    let held = previous.as_ref().map_or(0, |s| s.record_count);
    let write = match header.mode {
        Mode::Failed => {
            let error = crate::crd::schema::truncate(header.error.as_deref().unwrap_or(""), 1000);
            ctx.store
                .feed_sync_failed(name, &format!("feed sync failed: {error}"), now)
                .await?;
            tracing::warn!(source = name, error = %error, "the feed-sync CronJob reports a failed source");
            Ok(SyncOutcome::default())
        }
        Mode::Full => {
            let live = records.iter().filter(|r| r.withdrawn.is_none()).count();
            if live == 0 && held > 0 {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("the push holds no records; keeping the {held} stored"),
                )
                .await;
            }
            ctx.store
                .replace_source(name, &records, header.digest.as_deref(), now)
                .await
        }
        Mode::Incremental => {
            let since = header
                .since
                .as_deref()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.to_utc());
            let base = previous
                .as_ref()
                .filter(|p| p.last_success_at.is_some())
                .and_then(|p| p.modified_cursor);
            match (base, since) {
                (Some(base), Some(since)) if base >= since => {
                    ctx.store.upsert_records(name, &records, now).await
                }
                (base, _) => {
                    let held = base.map_or("nothing".to_owned(), |b| {
                        format!("records up to {}", format_cursor(b))
                    });
                    return refuse(
                        StatusCode::CONFLICT,
                        format!(
                            "the increment lists changes since {}, but the operator holds {held}: \
                             push the source whole",
                            header.since.as_deref().unwrap_or("?")
                        ),
                    )
                    .await;
                }
            }
        }
        Mode::Unchanged => {
            let stored = previous
                .as_ref()
                .filter(|p| p.last_success_at.is_some())
                .and_then(|p| p.digest.clone());
            if stored.is_none() || stored != header.digest {
                return refuse(
                    StatusCode::CONFLICT,
                    format!(
                        "the operator holds digest {} for the source, not {}: push it whole",
                        stored.as_deref().unwrap_or("none"),
                        header.digest.as_deref().unwrap_or("none")
                    ),
                )
                .await;
            }
            // Nothing to write: records the success (and the source's freshness).
            ctx.store.upsert_records(name, &[], now).await
        }
    };
    let write = match write {
        Ok(write) => write,
        Err(e) => {
            let message = format!("writing the pushed records failed: {e}");
            ctx.store.feed_sync_failed(name, &message, now).await?;
            return Err(e.into());
        }
    };
    if !write.touched.is_empty() {
        ctx.feeds_changed.notify_one();
    }
    let after = ctx.store.feed_source(name).await?;
    tracing::info!(
        source = name,
        mode = ?header.mode,
        inserted = write.inserted,
        updated = write.updated,
        removed = write.removed,
        withdrawn = write.withdrawn,
        touched = write.touched.len(),
        "feed push applied"
    );
    Ok(PushResponse {
        source: name.to_owned(),
        inserted: write.inserted,
        updated: write.updated,
        unchanged: write.unchanged,
        removed: write.removed,
        withdrawn: write.withdrawn,
        touched_packages: write.touched.len(),
        records: after.as_ref().map_or(0, |s| s.record_count),
        digest: after.as_ref().and_then(|s| s.digest.clone()),
        cursor: after.and_then(|s| s.modified_cursor).map(format_cursor),
    })
}

#[cfg(test)]
mod tests;
