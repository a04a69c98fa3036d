//! `plimsoll cron feed-sync` and `plimsoll cron watch`: what the operator's CronJobs run
//! (`operator/docs/ingest-protocol.md`, "CronJobs").
//!
//! feed-sync asks the operator which sources it holds (`GET /ingest/v1/feeds`), syncs each
//! configured source with the code of `plimsoll feeds sync` into a scratch SQLite store, then
//! pushes it (`PUT /ingest/v1/feeds/{source}`): the changes since the operator's cursor for an
//! `osv:` source it holds (the scratch store is seeded with that cursor, so the sync fetches
//! only what `modified_id.csv` lists), "unchanged" when a full sync gives the digest the
//! operator holds (nothing uploaded), the whole source otherwise, or the failure of the sync.
//! One line per source on stdout; exit 3 when any source failed, after trying them all.
//!
//! Traps:
//! - The scratch store lives under `$TMPDIR` (the pod's emptyDir: the root filesystem is
//!   read-only) and is removed at the end.
//! - Requests are retried on connection errors, 5xx and 429 with backoff and jitter (the
//!   analyzer's policy): a CronJob that starts while the operator restarts waits for it. A 401
//!   is retried only when the token file changed meanwhile (the Secret is rewritten each time
//!   a replica takes the lead); other 4xx are final.
//! - An increment carries the withdrawn records the sync saw (the scratch store deletes them):
//!   the operator must delete them too.

use super::args::{CronFeedSyncArgs, CronWatchArgs, FeedsSyncArgs, IngestArgs, StoreArgs};
use super::feeds::targets;
use super::{CommandError, Ctx, ExitStatus, Output};
use crate::feeds::push::{
    self, Encoder, FEEDS_PATH, FORMAT_VERSION, Header, Mode, PushResponse, SourceInfo, SourceState,
    SourcesResponse,
};
use crate::feeds::read::ReadLimits;
use crate::feeds::source::{FetchConfig, Loader, SourceSpec, split_spec_list};
use crate::feeds::sync::{self, SyncMode, SyncReport, Target};
use crate::operator::feed_ingest::{WATCH_PATH, WatchResponse};
use crate::store::{FeedSourceSpec, Store, StoreOptions, format_cursor};
use anyhow::{Context as _, anyhow, bail};
use axum::body::Bytes;
use futures_util::StreamExt as _;
use plimsoll_analyzer::ingest::client::{RetryPolicy, parse_retry_after, retryable_status};
use reqwest::header::{self, HeaderValue};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

const USER_AGENT: &str = concat!("plimsoll-cron/", env!("CARGO_PKG_VERSION"));
/// Error bodies are read up to this many bytes.
const ERROR_BODY_LIMIT: usize = 4096;

/// `plimsoll cron watch`.
pub async fn watch(args: &CronWatchArgs) -> Result<Output, CommandError> {
    let client = IngestClient::new(&args.ingest).map_err(CommandError::Usage)?;
    let answer = client
        .send("POST", WATCH_PATH, None, None)
        .await
        .map_err(CommandError::Scan)?;
    let parsed: WatchResponse = serde_json::from_slice(&answer)
        .with_context(|| format!("POST {WATCH_PATH}: not a watch answer"))
        .map_err(CommandError::Scan)?;
    if !parsed.accepted {
        return Err(CommandError::Scan(anyhow!(
            "POST {WATCH_PATH}: the operator did not accept the request"
        )));
    }
    let mut stdout = answer.to_vec();
    stdout.push(b'\n');
    Ok(Output {
        stdout,
        warnings: Vec::new(),
        status: ExitStatus::Success,
    })
}

/// `plimsoll cron feed-sync`.
pub async fn feed_sync(args: &CronFeedSyncArgs, ctx: &Ctx) -> Result<Output, CommandError> {
    let client = IngestClient::new(&args.ingest).map_err(CommandError::Usage)?;
    let sources: Vec<String> = args
        .sources
        .iter()
        .flat_map(|s| split_spec_list(s))
        .collect();
    let targets = targets(&FeedsSyncArgs {
        sources,
        mirror: args.mirror.clone().filter(|m| !m.trim().is_empty()),
        store: StoreArgs { db: None },
    })?;
    let held = client.sources().await.map_err(CommandError::Scan)?;
    let scratch = Scratch::create(args.work_dir.as_deref()).map_err(CommandError::Scan)?;
    let result = sync_and_push(&client, &targets, &held, &scratch, args.full, ctx).await;
    scratch.remove();
    result
}

async fn sync_and_push(
    client: &IngestClient,
    targets: &[Target],
    held: &HashMap<String, SourceState>,
    scratch: &Scratch,
    full: bool,
    ctx: &Ctx,
) -> Result<Output, CommandError> {
    let store = Store::connect_with(
        &scratch
            .db()
            .parse()
            .map_err(|e: crate::store::Error| CommandError::Scan(e.into()))?,
        &StoreOptions::default(),
    )
    .await
    .context("opening the scratch store")
    .map_err(CommandError::Scan)?;
    let loader = Loader::new(&FetchConfig::default(), ReadLimits::default())
        .map_err(|e| CommandError::Scan(e.into()))?;
    let mut stdout = String::new();
    let mut warnings = Vec::new();
    let mut failed = 0usize;
    for target in targets {
        let line = match one_source(client, &store, &loader, target, held, full, ctx).await {
            Ok((line, ok, more)) => {
                if !ok {
                    failed += 1;
                }
                warnings.extend(more);
                line
            }
            Err(e) => {
                failed += 1;
                format!("{}: FAILED: {e:#}", target.name)
            }
        };
        let _ = writeln!(stdout, "{line}");
    }
    store.close().await;
    Ok(super::feeds::sources_output(
        stdout,
        warnings,
        failed,
        targets.len(),
        "synced and pushed",
    ))
}

/// Syncs and pushes one source: its summary line, whether it worked, warnings.
async fn one_source(
    client: &IngestClient,
    store: &Store,
    loader: &Loader,
    target: &Target,
    held: &HashMap<String, SourceState>,
    full: bool,
    ctx: &Ctx,
) -> anyhow::Result<(String, bool, Vec<String>)> {
    let now = ctx.now();
    let location = target.location();
    let state = held.get(&target.name);
    // An `osv:` source the operator holds is synced from the operator's cursor.
    let since = state
        .filter(|_| !full && matches!(target.spec, SourceSpec::OsvExports(_)))
        .filter(|s| s.last_success_at.is_some())
        .and_then(|s| s.cursor.as_deref())
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|c| c.to_utc());
    if let Some(cursor) = since {
        store
            .seed_feed_cursor(
                &FeedSourceSpec {
                    name: &target.name,
                    kind: target.kind(),
                    url: &location,
                },
                cursor,
                now,
            )
            .await
            .context("seeding the scratch store")?;
    }
    let report = sync::sync(store, loader, target, now)
        .await
        .context("the scratch store failed")?;
    let warnings: Vec<String> = report
        .skipped
        .iter()
        .take(5)
        .map(|s| format!("{}: skipped {}: {}", target.name, s.location, s.reason))
        .collect();
    let mut line = synced_text(&report);
    let source = SourceInfo {
        name: target.name.clone(),
        kind: target.kind().to_owned(),
        url: crate::store::redact_url(&location),
    };
    let (header, send_records) = match plan(&report, state, source, since) {
        Ok(planned) => planned,
        Err(e) => return Ok((format!("{line}; not pushed: {e}"), false, warnings)),
    };
    let failed_sync = header.mode == Mode::Failed;
    let body = encode(store, &target.name, &header, &report, send_records).await?;
    let answer = client.push(&target.name, body).await;
    match answer {
        Ok(a) => {
            let _ = write!(line, "; {}", pushed_text(header.mode, &a));
            Ok((line, !failed_sync, warnings))
        }
        Err(e) => {
            let _ = write!(line, "; push FAILED: {e:#}");
            Ok((line, false, warnings))
        }
    }
}

/// The push for a sync's report: its header, and whether the scratch store's records go with
/// it.
fn plan(
    report: &SyncReport,
    held: Option<&SourceState>,
    source: SourceInfo,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<(Header, bool)> {
    let mut header = Header {
        version: FORMAT_VERSION,
        source,
        mode: Mode::Full,
        digest: None,
        cursor: None,
        since: None,
        records: 0,
        error: None,
    };
    let synced = match &report.result {
        Err(f) => {
            header.mode = Mode::Failed;
            header.error = Some(f.error.clone());
            return Ok((header, false));
        }
        Ok(synced) => synced,
    };
    header.cursor = synced.cursor.map(format_cursor);
    if let SyncMode::Incremental { .. } = report.mode {
        let since = since.ok_or_else(|| anyhow!("an incremental sync without a cursor"))?;
        header.mode = Mode::Incremental;
        header.since = Some(format_cursor(since));
        header.records = synced.stored + report.withdrawn_records.len() as u64;
        return Ok((header, true));
    }
    let digest = synced
        .digest
        .clone()
        .ok_or_else(|| anyhow!("the scratch store kept no digest"))?;
    let unchanged = held.is_some_and(|h| {
        h.last_success_at.is_some() && h.digest.as_deref() == Some(digest.as_str())
    });
    header.digest = Some(digest);
    if unchanged {
        header.mode = Mode::Unchanged;
        return Ok((header, false));
    }
    header.records = synced.stored;
    Ok((header, true))
}

/// The compressed push: the header, the scratch store's records of the source, and for an
/// increment the withdrawn records.
async fn encode(
    store: &Store,
    name: &str,
    header: &Header,
    report: &SyncReport,
    with_records: bool,
) -> anyhow::Result<Bytes> {
    let mut enc = Encoder::new(header)?;
    if with_records {
        let mut rows = store.source_record_json(name);
        while let Some(json) = rows.next().await {
            enc.record_json(&json.context("reading the scratch store")?)?;
        }
        if header.mode == Mode::Incremental {
            for r in &report.withdrawn_records {
                enc.record(r)?;
            }
        }
    }
    Ok(Bytes::from(enc.finish()?))
}

/// `NAME: synced 2661 records`, `NAME: synced the changes since T: 3 listed, 2 fetched`, or
/// `NAME: FAILED: why` (about this pod's sync; the push follows).
fn synced_text(report: &SyncReport) -> String {
    let name = &report.name;
    let mut line = match (&report.result, &report.mode) {
        (Err(f), _) => return format!("{name}: FAILED: {}", f.error),
        (
            Ok(_),
            SyncMode::Incremental {
                since,
                listed,
                fetched,
            },
        ) => format!(
            "{name}: synced the changes since {}: {listed} listed, {fetched} fetched",
            format_cursor(*since)
        ),
        (Ok(s), SyncMode::Full) => format!("{name}: synced {} records", s.stored),
        (Ok(s), SyncMode::FullFallback(why)) => {
            format!("{name}: synced {} records (whole: {why})", s.stored)
        }
    };
    if report.withdrawn > 0 {
        let _ = write!(line, ", {} withdrawn", report.withdrawn);
    }
    if !report.skipped.is_empty() {
        let _ = write!(line, ", {} bad records skipped", report.skipped.len());
    }
    line
}

fn pushed_text(mode: Mode, a: &PushResponse) -> String {
    match mode {
        Mode::Failed => "failure recorded by the operator".to_owned(),
        Mode::Unchanged => format!(
            "unchanged, not uploaded; the operator holds {} records",
            a.records
        ),
        Mode::Full | Mode::Incremental => format!(
            "pushed{}: {} new, {} updated, {} removed, {} unchanged; the operator holds {} records",
            if mode == Mode::Incremental {
                " (increment)"
            } else {
                ""
            },
            a.inserted,
            a.updated,
            a.removed + a.withdrawn,
            a.unchanged,
            a.records
        ),
    }
}

/// A scratch directory for the store, removed at the end.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn create(parent: Option<&Path>) -> anyhow::Result<Self> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| anyhow!("no randomness: {e}"))?;
        let dir = parent.join(format!("plimsoll-feed-sync-{}", hex::encode(random)));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the scratch directory {}", dir.display()))?;
        Ok(Self { dir })
    }

    fn db(&self) -> String {
        self.dir.join("feeds.db").display().to_string()
    }

    fn remove(&self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(error = %e, dir = %self.dir.display(), "removing the scratch store");
        }
    }
}

/// Where the token comes from.
#[derive(Clone)]
enum Token {
    Inline(String),
    File(PathBuf),
}

impl Token {
    fn read(&self) -> anyhow::Result<String> {
        let token = match self {
            Self::Inline(t) => t.clone(),
            Self::File(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the token file {}", path.display()))?,
        };
        let token = token.trim().to_owned();
        if token.is_empty() {
            bail!("the ingest token is empty");
        }
        Ok(token)
    }
}

/// The operator's ingest API, for the CronJobs.
struct IngestClient {
    http: reqwest::Client,
    /// Without a trailing `/`.
    base: reqwest::Url,
    token: Token,
    retry: RetryPolicy,
}

impl IngestClient {
    fn new(args: &IngestArgs) -> anyhow::Result<Self> {
        let raw = args.ingest_url.trim().trim_end_matches('/');
        let base = reqwest::Url::parse(raw)
            .with_context(|| format!("--ingest-url {:?} is not a URL", args.ingest_url))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            bail!("--ingest-url {raw:?} must be an http(s) URL");
        }
        let token = match (&args.token, &args.token_file) {
            (Some(t), _) if !t.trim().is_empty() => Token::Inline(t.clone()),
            (_, Some(f)) => Token::File(f.clone()),
            _ => {
                bail!("no ingest token: set PLIMSOLL_INGEST_TOKEN_FILE (or --token-file, --token)")
            }
        };
        token.read()?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            // The operator parses and writes a whole source before it answers.
            .read_timeout(Duration::from_secs(600))
            .build()
            .context("setting up the HTTP client")?;
        Ok(Self {
            http,
            base,
            token,
            retry: RetryPolicy {
                attempts: args.tries.max(1),
                ..RetryPolicy::default()
            },
        })
    }

    fn url(&self, path: &str, segment: Option<&str>) -> anyhow::Result<reqwest::Url> {
        let mut url = self.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| anyhow!("--ingest-url cannot take a path"))?;
            segments.pop_if_empty();
            segments.extend(path.split('/').filter(|s| !s.is_empty()));
            if let Some(s) = segment {
                // One segment, percent-encoded: source names hold `/` and `:`.
                segments.push(s);
            }
        }
        Ok(url)
    }

    /// The sources the operator holds, by name.
    async fn sources(&self) -> anyhow::Result<HashMap<String, SourceState>> {
        let body = self.send("GET", FEEDS_PATH, None, None).await?;
        let answer: SourcesResponse = serde_json::from_slice(&body)
            .with_context(|| format!("GET {FEEDS_PATH}: not a list of sources"))?;
        Ok(answer
            .sources
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect())
    }

    async fn push(&self, name: &str, body: Bytes) -> anyhow::Result<PushResponse> {
        let answer = self.send("PUT", FEEDS_PATH, Some(name), Some(body)).await?;
        serde_json::from_slice(&answer).context("the push answer is not a push result")
    }

    /// One request with retries; the body of the successful answer.
    async fn send(
        &self,
        method: &str,
        path: &str,
        segment: Option<&str>,
        body: Option<Bytes>,
    ) -> anyhow::Result<Bytes> {
        let url = self.url(path, segment)?;
        let shown = format!("{method} {url}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.token.read()?;
            let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| anyhow!("the ingest token is not a valid HTTP header value"))?;
            auth.set_sensitive(true);
            let mut request = match method {
                "GET" => self.http.get(url.clone()),
                "PUT" => self.http.put(url.clone()),
                _ => self.http.post(url.clone()),
            }
            .header(header::AUTHORIZATION, auth)
            .header(header::ACCEPT, "application/json");
            if let Some(b) = &body {
                request = request
                    .header(header::CONTENT_TYPE, push::CONTENT_TYPE)
                    .header(header::CONTENT_ENCODING, "zstd")
                    .body(b.clone());
            }
            let (error, retry_after, retryable) = match request.send().await {
                Err(e) => (describe(&e.without_url()), None, true),
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(b) => return Ok(b),
                    Err(e) => (describe(&e.without_url()), None, true),
                },
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    let text = error_text(response).await;
                    // A new leader rewrote the token Secret: the mounted file follows.
                    let rotated = status == 401
                        && matches!(self.token, Token::File(_))
                        && self.token.read().is_ok_and(|t| t != token);
                    (
                        format!("HTTP {status}: {text}"),
                        retry_after,
                        retryable_status(status) || rotated,
                    )
                }
            };
            if !retryable || attempt >= self.retry.attempts {
                let tries = if attempt > 1 {
                    format!(" (after {attempt} tries)")
                } else {
                    String::new()
                };
                bail!("{shown}: {error}{tries}");
            }
            let delay = self.retry.delay(attempt, retry_after);
            tracing::warn!(request = %shown, %error, attempt, ?delay, "retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// The `error` of a `{"error": ...}` answer, else the start of the body.
async fn error_text(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    if let Ok(e) = serde_json::from_slice::<plimsoll_analyzer::ingest::ErrorBody>(&body) {
        return e.error;
    }
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    if text.is_empty() {
        "no message".to_owned()
    } else {
        text.chars().take(300).collect()
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
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

    fn ingest(url: &str, token: Option<&str>, file: Option<&Path>) -> IngestArgs {
        IngestArgs {
            ingest_url: url.to_owned(),
            token: token.map(str::to_owned),
            token_file: file.map(Path::to_path_buf),
            tries: 3,
        }
    }

    #[test]
    fn urls_and_tokens_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").expect("write");
        let c = IngestClient::new(&ingest("http://op.ns.svc:8080/", None, Some(&file)))
            .expect("client");
        assert_eq!(c.token.read().expect("token"), "from-file");
        let u = c.url(FEEDS_PATH, Some("/srv/feeds a")).expect("url");
        assert_eq!(
            u.as_str(),
            "http://op.ns.svc:8080/ingest/v1/feeds/%2Fsrv%2Ffeeds%20a"
        );
        let c = IngestClient::new(&ingest("http://op/prefix", Some("inline"), Some(&file)))
            .expect("client");
        assert_eq!(c.token.read().expect("token"), "inline", "--token wins");
        assert_eq!(
            c.url(WATCH_PATH, None).expect("url").as_str(),
            "http://op/prefix/ingest/v1/watch"
        );
        for (args, want) in [
            (ingest("ftp://op", Some("t"), None), "http(s)"),
            (ingest("not a url", Some("t"), None), "not a URL"),
            (ingest("http://op", None, None), "no ingest token"),
            (
                ingest("http://op", None, Some(&dir.path().join("absent"))),
                "reading the token file",
            ),
        ] {
            let e = IngestClient::new(&args).err().expect("refused");
            assert!(format!("{e:#}").contains(want), "{e:#}");
        }
        std::fs::write(&file, "  \n").expect("write");
        let e = IngestClient::new(&ingest("http://op", None, Some(&file)))
            .err()
            .expect("empty");
        assert!(format!("{e:#}").contains("empty"), "{e:#}");
    }

    /// A server answering each connection with the next canned response.
    async fn canned(
        answers: Vec<(u16, &'static str)>,
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            for (status, body) in answers {
                let (mut conn, _) = listener.accept().await.expect("accept");
                let mut buf = vec![0u8; 65536];
                let n = conn.read(&mut buf).await.expect("read");
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.push(request.lines().next().unwrap_or_default().to_owned());
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nretry-after: 0\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                conn.write_all(reply.as_bytes()).await.expect("write");
            }
            seen
        });
        (url, task)
    }

    #[tokio::test]
    async fn watch_retries_5xx_and_reports_4xx() {
        let (url, server) = canned(vec![
            (503, r#"{"error": "the CronJob token is not set up yet"}"#),
            (502, "bad gateway"),
            (202, r#"{"accepted": true}"#),
        ])
        .await;
        let out = watch(&CronWatchArgs {
            ingest: ingest(&url, Some("t"), None),
        })
        .await
        .expect("accepted after two retries");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "{\"accepted\": true}\n"
        );
        assert_eq!(server.await.expect("server").len(), 3);

        let (url, server) = canned(vec![(401, r#"{"error": "unknown token"}"#)]).await;
        let e = watch(&CronWatchArgs {
            ingest: ingest(&url, Some("t"), None),
        })
        .await
        .expect_err("401 is final");
        assert_eq!(
            e.to_string(),
            format!("POST {url}/ingest/v1/watch: HTTP 401: unknown token")
        );
        assert_eq!(
            server.await.expect("server"),
            ["POST /ingest/v1/watch HTTP/1.1"]
        );

        // Nobody listening: retried, then a clear failure.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let e = watch(&CronWatchArgs {
            ingest: ingest(&format!("http://127.0.0.1:{port}"), Some("t"), None),
        })
        .await
        .expect_err("refused");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("POST http://127.0.0.1:{port}/ingest/v1/watch: "))
                && text.ends_with("(after 3 tries)"),
            "{text}"
        );
        assert!(matches!(e, CommandError::Scan(_)));
    }
}
