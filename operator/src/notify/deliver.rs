//! Delivery: due outbox entries to webhooks, Slack and Kubernetes Events, with retries.
//!
//! One round ([`Deliverer::run_once`]): take the due entries, group them per sink (the
//! outbox's `sink` column, [`SinkTarget::key`]), spend each sink's rate-limit tokens (a Slack
//! sink sends up to `slack_batch_max` notifications as one message per token), send, then
//! mark each entry delivered, failed with its next attempt time, or dead. Sinks are served
//! concurrently (at most `concurrent_sinks` at a time); the entries of one sink in order.
//!
//! Guarantees and traps:
//! - At-least-once: an entry is marked delivered after the receiver's 2xx. A crash between
//!   the two, or a receiver that processed a request but answered too late (timeout), means
//!   the notification is sent again, with the same `id` / `Idempotency-Key`.
//! - Retry: timeouts, connection failures, 408, 429, 5xx and Secrets that cannot be read now
//!   (API server down) are retried with exponential backoff and full jitter, `Retry-After`
//!   honoured on 429 and 503, until `retry_window` after the event; then the entry is dead.
//! - No retry (dead at once): a redirect (not followed: the signature and headers would go to
//!   another URL), any other 4xx (the receiver said no; retrying would be a storm), and bad
//!   configuration (a URL that is not http(s), a missing Secret or key, a bad header).
//! - When a sink fails with a retryable error, its other due entries are not sent in this
//!   round: they are marked failed with the same cause and their own backoff, so a down
//!   receiver gets one request per round, not one per queued notification.
//! - Entries beyond a sink's rate limit are left untouched and due: the next round sends them.
//!   A sink with more due entries than `due_limit` can delay other sinks' entries by rounds.
//! - Secrets are read at each attempt and never stored. Errors (in the outbox, the reports,
//!   the Subscription status) never contain the URL: tokens live in webhook URLs. reqwest
//!   errors are taken `without_url`, and every message is scrubbed of the URL and its parts.

use super::anchore;
use super::backoff::{Backoff, Decision, parse_retry_after, random_u64};
use super::environment::{EnvError, Environment};
use super::event::Notification;
use super::json;
use super::rate::RateLimiter;
use super::sign;
use super::slack;
use super::target::{OutboxPayload, SinkTarget};
use crate::crd::subscription::{
    SecretKeySelector, SinkKind, SlackSink, WebhookFormat, WebhookSink,
};
use crate::store::{self, OutboxEntry, Store, Timestamp};
use futures_util::StreamExt as _;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use std::time::{Duration, SystemTime};
use url::Url;

/// The header carrying [`Notification::id`].
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// The header carrying the event type (`policy_eval`).
pub const EVENT_HEADER: &str = "Plimsoll-Event";

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// The whole request, connection to last byte.
    pub timeout: Duration,
    /// Retries stop this long after the event was queued.
    pub retry_window: Duration,
    /// The cap of the first retry's delay, doubling per attempt (full jitter below it).
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Requests per second per webhook sink (0: no limit).
    pub webhook_per_second: f64,
    /// Messages per second per Slack sink: Slack allows about one per incoming webhook.
    pub slack_per_second: f64,
    /// Events per second per KubernetesEvents sink.
    pub events_per_second: f64,
    /// Most notifications in one Slack message.
    pub slack_batch_max: usize,
    /// Most due entries taken per round.
    pub due_limit: u32,
    /// Sinks served at the same time in a round.
    pub concurrent_sinks: usize,
    /// Honour `HTTPS_PROXY` / `NO_PROXY`.
    pub use_env_proxy: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry_window: Duration::from_secs(24 * 3600),
            base_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(3600),
            webhook_per_second: 10.0,
            slack_per_second: 1.0,
            events_per_second: 10.0,
            slack_batch_max: 20,
            due_limit: 500,
            concurrent_sinks: 16,
            use_env_proxy: true,
        }
    }
}

impl DeliveryConfig {
    pub fn backoff(&self) -> Backoff {
        Backoff {
            base: self.base_backoff,
            max: self.max_backoff,
            window: self.retry_window,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Will be retried at `retry_at`.
    Failed {
        error: String,
        retry_at: Timestamp,
    },
    /// Given up on: kept in the outbox as a dead letter.
    Dead {
        error: String,
    },
}

impl Outcome {
    /// `delivered`, `failed` or `dead`: a metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed { .. } => "failed",
            Self::Dead { .. } => "dead",
        }
    }
}

/// What happened to one notification in a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub namespace: String,
    pub subscription: String,
    pub sink: SinkKind,
    pub at: Timestamp,
    pub outcome: Outcome,
    pub notification_id: String,
}

impl DeliveryReport {
    /// `webhook`, `slack` or `kubernetesEvents`: a metric label.
    pub fn sink_name(&self) -> &'static str {
        super::target::sink_name(self.sink)
    }
}

/// Why a notification was not delivered. Messages name the Secret, key or header at fault,
/// never a URL or a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The sink's configuration is wrong (a URL that is not http(s), a missing Secret or key, a
    /// bad header): retrying cannot help.
    #[error("{0}")]
    Config(String),
    /// The receiver refused it: a redirect, or a 4xx other than 408 and 429.
    #[error("{0}")]
    Rejected(String),
    /// Worth retrying: a timeout, a connection failure, 408, 429, 5xx, a Secret that could not
    /// be read.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        !matches!(self, Self::Transient { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn transient(message: impl Into<String>) -> Self {
        Self::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<EnvError> for SendError {
    fn from(e: EnvError) -> Self {
        Self::transient(e.0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("building the HTTP client: {0}")]
pub struct ClientError(String);

pub struct Deliverer {
    http: reqwest::Client,
    config: DeliveryConfig,
    limiter: RateLimiter,
    /// For [`Deliverer::send_now`]'s signature timestamp; rounds take `now` as a parameter.
    clock: fn() -> SystemTime,
}

struct Item {
    entry: OutboxEntry,
    payload: OutboxPayload,
}

/// What happened to an item in a round.
enum Sent {
    Ok,
    Failed(SendError),
    /// Not attempted: an earlier request to the same sink failed with this retryable error.
    Deferred(SendError),
}

impl Deliverer {
    pub fn new(config: DeliveryConfig) -> Result<Self, ClientError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("plimsoll/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none());
        if !config.use_env_proxy {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| ClientError(e.without_url().to_string()))?;
        Ok(Self {
            http,
            config,
            limiter: RateLimiter::default(),
            clock: SystemTime::now,
        })
    }

    /// The clock [`Deliverer::send_now`] signs with (tests pin it).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    /// One round of delivery at `now`; see the module documentation.
    pub async fn run_once<E: Environment>(
        &mut self,
        store: &Store,
        env: &E,
        now: Timestamp,
    ) -> Result<Vec<DeliveryReport>, store::Error> {
        let entries = store.due(now, self.config.due_limit).await?;
        let mut reports = Vec::new();
        let mut groups: Vec<(String, Vec<Item>)> = Vec::new();
        for entry in entries {
            let payload = match OutboxPayload::from_value(&entry.payload) {
                Ok(p) => p,
                Err(e) => {
                    let error = format!("the outbox entry cannot be read ({e}); dropped");
                    if store.mark_dead(entry.id, &error, now).await?
                        && let Some((sink, namespace, subscription)) =
                            SinkTarget::parse_key(&entry.sink)
                    {
                        reports.push(DeliveryReport {
                            namespace,
                            subscription,
                            sink,
                            at: now,
                            outcome: Outcome::Dead { error },
                            notification_id: entry.idempotency_key.clone(),
                        });
                    }
                    continue;
                }
            };
            let item = Item { entry, payload };
            match groups.iter_mut().find(|(k, _)| *k == item.entry.sink) {
                Some((_, items)) => items.push(item),
                None => groups.push((item.entry.sink.clone(), vec![item])),
            }
        }
        let plans: Vec<Vec<Vec<Item>>> = groups
            .into_iter()
            .map(|(key, items)| self.plan(&key, items, now))
            .collect();
        let this = &*self;
        let results: Vec<Vec<(Item, Sent)>> = futures_util::stream::iter(
            plans
                .into_iter()
                .map(|units| this.run_sink(units, env, now)),
        )
        .buffer_unordered(self.config.concurrent_sinks.max(1))
        .collect()
        .await;
        for (item, sent) in results.into_iter().flatten() {
            if let Some(r) = self.record(store, item, sent, now).await? {
                reports.push(r);
            }
        }
        Ok(reports)
    }

    /// Splits a sink's due items into requests within its rate limit: one item each, or
    /// Slack batches of consecutive items with the same target. Items left out stay due.
    fn plan(&mut self, key: &str, items: Vec<Item>, now: Timestamp) -> Vec<Vec<Item>> {
        let Some(kind) = items.first().map(|i| i.payload.target.sink) else {
            return Vec::new();
        };
        let (rate, batch) = match kind {
            SinkKind::Webhook => (self.config.webhook_per_second, 1),
            SinkKind::Slack => (
                self.config.slack_per_second,
                self.config.slack_batch_max.max(1),
            ),
            SinkKind::KubernetesEvents => (self.config.events_per_second, 1),
        };
        let mut units: Vec<Vec<Item>> = Vec::new();
        let mut items = items.into_iter().peekable();
        while let Some(first) = items.next() {
            let mut unit = vec![first];
            while unit.len() < batch
                && items
                    .peek()
                    .is_some_and(|n| n.payload.target == unit[0].payload.target)
            {
                unit.extend(items.next());
            }
            if !self.limiter.try_take(key, rate, now) {
                break;
            }
            units.push(unit);
        }
        units
    }

    /// Sends a sink's requests in order; after a retryable failure, defers the rest.
    async fn run_sink<E: Environment>(
        &self,
        units: Vec<Vec<Item>>,
        env: &E,
        now: Timestamp,
    ) -> Vec<(Item, Sent)> {
        let mut out = Vec::new();
        let mut blocked: Option<SendError> = None;
        for unit in units {
            if let Some(e) = &blocked {
                out.extend(unit.into_iter().map(|i| (i, Sent::Deferred(e.clone()))));
                continue;
            }
            let notifications: Vec<Notification> = unit
                .iter()
                .map(|i| i.payload.notification.clone())
                .collect();
            let target = &unit[0].payload.target;
            let unix = now.unix_millis().div_euclid(1000);
            match self.send(target, &notifications, env, unix, now).await {
                Ok(()) => out.extend(unit.into_iter().map(|i| (i, Sent::Ok))),
                Err(e) => {
                    if !e.is_permanent() {
                        blocked = Some(e.clone());
                    }
                    out.extend(unit.into_iter().map(|i| (i, Sent::Failed(e.clone()))));
                }
            }
        }
        out
    }

    /// Marks the entry and says what happened, or None when nothing is worth reporting (a
    /// deferred entry that stays pending, an entry someone else marked meanwhile).
    async fn record(
        &self,
        store: &Store,
        item: Item,
        sent: Sent,
        now: Timestamp,
    ) -> Result<Option<DeliveryReport>, store::Error> {
        let Item { entry, payload } = item;
        let report = |outcome| DeliveryReport {
            namespace: payload.target.namespace.clone(),
            subscription: payload.target.subscription.clone(),
            sink: payload.target.sink,
            at: now,
            outcome,
            notification_id: payload.notification.id.clone(),
        };
        let (error, deferred) = match sent {
            Sent::Ok => {
                return Ok(store
                    .mark_delivered(entry.id, now)
                    .await?
                    .then(|| report(Outcome::Delivered)));
            }
            Sent::Failed(e) if e.is_permanent() => {
                let error = e.to_string();
                return Ok(store
                    .mark_dead(entry.id, &error, now)
                    .await?
                    .then(|| report(Outcome::Dead { error })));
            }
            Sent::Failed(e) => (e, false),
            Sent::Deferred(e) => (e, true),
        };
        let message = if deferred {
            format!("not sent: an earlier request to this sink failed: {error}")
        } else {
            error.to_string()
        };
        let decision = self.config.backoff().decide(
            entry.created_at,
            now,
            entry.attempts,
            error.retry_after(),
            random_u64(),
        );
        Ok(match decision {
            Decision::GiveUp => {
                let error = format!(
                    "gave up {} after the event: {message}",
                    human(self.config.retry_window)
                );
                store
                    .mark_dead(entry.id, &error, now)
                    .await?
                    .then(|| report(Outcome::Dead { error }))
            }
            Decision::Retry { at } => {
                let marked = store.mark_failed(entry.id, &message, at).await?;
                (marked && !deferred).then(|| {
                    report(Outcome::Failed {
                        error: message,
                        retry_at: at,
                    })
                })
            }
        })
    }

    /// Sends one notification to one sink now, without the outbox (`plimsoll notify test`).
    pub async fn send_now<E: Environment>(
        &self,
        target: &SinkTarget,
        n: &Notification,
        env: &E,
    ) -> Result<(), SendError> {
        let now = Timestamp::from_system_time((self.clock)());
        let unix = now.unix_millis().div_euclid(1000);
        self.send(target, std::slice::from_ref(n), env, unix, now)
            .await
    }

    /// One request: `notifications` has one element, or several for a Slack batch.
    async fn send<E: Environment>(
        &self,
        target: &SinkTarget,
        notifications: &[Notification],
        env: &E,
        unix: i64,
        now: Timestamp,
    ) -> Result<(), SendError> {
        let missing = |what: &str| {
            SendError::Config(format!(
                "the {what} sink of Subscription {}/{} has no configuration",
                target.namespace, target.subscription
            ))
        };
        match target.sink {
            SinkKind::Webhook => {
                let hook = target.webhook.as_ref().ok_or_else(|| missing("webhook"))?;
                for n in notifications {
                    self.send_webhook(&target.namespace, hook, n, env, unix, now)
                        .await?;
                }
                Ok(())
            }
            SinkKind::Slack => {
                let s = target.slack.as_ref().ok_or_else(|| missing("Slack"))?;
                self.send_slack(&target.namespace, s, notifications, env, now)
                    .await
            }
            SinkKind::KubernetesEvents => {
                for n in notifications {
                    env.publish_event(n).await?;
                }
                Ok(())
            }
        }
    }

    async fn send_webhook<E: Environment>(
        &self,
        namespace: &str,
        hook: &WebhookSink,
        n: &Notification,
        env: &E,
        unix: i64,
        now: Timestamp,
    ) -> Result<(), SendError> {
        let raw = secret(env, namespace, &hook.url_secret_ref, "webhook URL").await?;
        let url = parse_url(&raw, namespace, &hook.url_secret_ref)?;
        let body = match hook.format.unwrap_or_default() {
            WebhookFormat::Json => json::body(n),
            WebhookFormat::Anchore => serde_json::to_vec(&anchore::envelope(n)),
        }
        .map_err(|e| SendError::Config(format!("the notification cannot be serialised: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        // Header names are case-insensitive; `from_static` wants them in lower case.
        headers.insert(
            HeaderName::from_static("idempotency-key"),
            header_value(&n.id, "the notification id")?,
        );
        headers.insert(
            HeaderName::from_static("plimsoll-event"),
            HeaderValue::from_static(n.event_name()),
        );
        for h in &hook.headers {
            let (name, value) = custom_header(env, namespace, h).await?;
            headers.insert(name, value);
        }
        if let Some(sel) = &hook.hmac_secret_ref {
            let key = secret(env, namespace, sel, "HMAC key").await?;
            let sig = sign::header_value(key.trim().as_bytes(), unix, &body);
            headers.insert(
                HeaderName::from_static("plimsoll-signature"),
                header_value(&sig, "the signature")?,
            );
        }
        self.post(&url, &raw, headers, body, "the receiver", now)
            .await
    }

    async fn send_slack<E: Environment>(
        &self,
        namespace: &str,
        s: &SlackSink,
        notifications: &[Notification],
        env: &E,
        now: Timestamp,
    ) -> Result<(), SendError> {
        let raw = secret(env, namespace, &s.webhook_secret_ref, "Slack webhook URL").await?;
        let url = parse_url(&raw, namespace, &s.webhook_secret_ref)?;
        let body = serde_json::to_vec(&slack::slack_batch(notifications)).map_err(|e| {
            SendError::Config(format!("the Slack message cannot be serialised: {e}"))
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.post(&url, &raw, headers, body, "Slack", now).await
    }

    async fn post(
        &self,
        url: &Url,
        raw: &str,
        headers: HeaderMap,
        body: Vec<u8>,
        who: &str,
        now: Timestamp,
    ) -> Result<(), SendError> {
        let scrub = |e: SendError| redact(e, url, raw);
        let resp = match self
            .http
            .post(url.clone())
            .headers(headers)
            .body(body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Err(scrub(self.transport_error(e, who))),
        };
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        let hint = body_hint(resp).await;
        let message = match hint {
            Some(h) => format!("HTTP {status} from {who}: {h}"),
            None => format!("HTTP {status} from {who}"),
        };
        Err(scrub(match status {
            408 => SendError::transient(message),
            429 | 503 => SendError::Transient {
                message,
                retry_after,
            },
            300..=399 => SendError::Rejected(format!(
                "{message} (redirects are not followed: put the final URL in the Secret)"
            )),
            400..=499 => SendError::Rejected(message),
            _ => SendError::transient(message),
        }))
    }

    fn transport_error(&self, e: reqwest::Error, who: &str) -> SendError {
        if e.is_timeout() {
            return SendError::transient(format!(
                "no answer from {who} within {}",
                human(self.config.timeout)
            ));
        }
        let what = if e.is_connect() {
            format!("cannot connect to {who}")
        } else {
            format!("the request to {who} failed")
        };
        SendError::transient(format!("{what}: {}", chain(&e.without_url())))
    }
}

/// A Secret value, or why not: missing is a configuration error, unreadable is retried.
async fn secret<E: Environment>(
    env: &E,
    namespace: &str,
    sel: &SecretKeySelector,
    what: &str,
) -> Result<String, SendError> {
    match env.secret(namespace, &sel.name, &sel.key).await {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(SendError::Config(format!(
            "{what}: Secret {namespace}/{} does not exist or has no key {:?}",
            sel.name, sel.key
        ))),
        Err(e) => Err(SendError::transient(format!("{what}: {e}"))),
    }
}

/// An http(s) URL with a host. The error names the Secret, never the value.
fn parse_url(raw: &str, namespace: &str, sel: &SecretKeySelector) -> Result<Url, SendError> {
    let at = format!("Secret {namespace}/{} key {:?}", sel.name, sel.key);
    let url = Url::parse(raw.trim())
        .map_err(|e| SendError::Config(format!("the value of {at} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(SendError::Config(format!(
            "the value of {at} is not an http(s) URL"
        )));
    }
    Ok(url)
}

/// Headers the deliverer sets itself, or that only the HTTP client may set.
fn reserved(name: &HeaderName) -> bool {
    let n = name.as_str();
    matches!(
        n,
        "host" | "content-length" | "content-type" | "transfer-encoding" | "connection"
    ) || n == "idempotency-key"
        || n.starts_with("plimsoll-")
}

async fn custom_header<E: Environment>(
    env: &E,
    namespace: &str,
    h: &crate::crd::subscription::Header,
) -> Result<(HeaderName, HeaderValue), SendError> {
    let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| {
        SendError::Config(format!("header {:?} is not a valid header name", h.name))
    })?;
    if reserved(&name) {
        return Err(SendError::Config(format!(
            "header {:?} is set by Plimsoll and cannot be overridden",
            h.name
        )));
    }
    let value = match (&h.value, &h.secret_key_ref) {
        (Some(v), None) => v.clone(),
        (None, Some(sel)) => secret(env, namespace, sel, &format!("header {:?}", h.name))
            .await?
            .trim()
            .to_owned(),
        _ => {
            return Err(SendError::Config(format!(
                "header {:?} needs exactly one of value or secretKeyRef",
                h.name
            )));
        }
    };
    let mut value = HeaderValue::from_str(&value).map_err(|_| {
        SendError::Config(format!(
            "header {:?}: the value is not a valid HTTP header value",
            h.name
        ))
    })?;
    if h.secret_key_ref.is_some() {
        value.set_sensitive(true);
    }
    Ok((name, value))
}

fn header_value(v: &str, what: &str) -> Result<HeaderValue, SendError> {
    HeaderValue::from_str(v)
        .map_err(|_| SendError::Config(format!("{what} is not a valid HTTP header value")))
}

/// A short, harmless error word from the response body (Slack answers `invalid_blocks`,
/// `no_service`...), or None.
async fn body_hint(mut resp: reqwest::Response) -> Option<String> {
    let mut buf = Vec::new();
    while buf.len() < 256 {
        match resp.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c),
            _ => break,
        }
    }
    let text = std::str::from_utf8(&buf).ok()?.trim();
    let harmless = !text.is_empty()
        && text.len() <= 100
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '.' | ':' | '-'));
    harmless.then(|| text.to_owned())
}

/// An error and its sources, `: `-separated, without the layers that say nothing
/// (reqwest's "error sending request", hyper's "client error (Connect)").
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        let noise = text == "error sending request" || text.starts_with("client error (");
        if !noise && !parts.iter().any(|p| p.ends_with(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// Removes the URL and the parts of it that carry tokens from an error message.
fn redact(e: SendError, url: &Url, raw: &str) -> SendError {
    let scrub = |m: String| {
        let mut m = m;
        let mut secrets: Vec<String> = vec![raw.trim().to_owned(), url.as_str().to_owned()];
        if url.path().len() > 1 {
            secrets.push(url.path().to_owned());
        }
        secrets.extend(url.query().map(str::to_owned));
        // A receiver may echo a token alone: path segments and query values that could be
        // one (long enough) go too.
        secrets.extend(url.path_segments().into_iter().flatten().map(str::to_owned));
        secrets.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
        secrets.extend(url.password().map(str::to_owned));
        if !url.username().is_empty() {
            secrets.push(url.username().to_owned());
        }
        // Longest first, so a whole URL goes before its parts.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            if s.len() >= 6 {
                m = m.replace(&s, "<redacted>");
            }
        }
        m
    };
    match e {
        SendError::Config(m) => SendError::Config(scrub(m)),
        SendError::Rejected(m) => SendError::Rejected(scrub(m)),
        SendError::Transient {
            message,
            retry_after,
        } => SendError::Transient {
            message: scrub(message),
            retry_after,
        },
    }
}

/// `24h`, `90s`, `300ms`.
fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests;
