//! Notifications: the event document, its formats, and durable delivery from the outbox.
//!
//! - `event`: [`Notification`], the vulnerability entries and diffs it carries, the
//!   idempotency id.
//! - `json`, `anchore`, `slack`: the formats, pure functions (the `json` schema is
//!   `operator/docs/notification.schema.json`).
//! - `sign`: the `Plimsoll-Signature` HMAC-SHA256 header.
//! - `target`: what an outbox entry holds ([`OutboxPayload`]: the notification and the sink,
//!   with Secret references, never Secret values).
//! - `environment`: the [`Environment`] trait (Secrets, Kubernetes Events); `kube_env` its
//!   kube-client implementation; `kube_event` the Event of a notification.
//! - `backoff`, `rate`: retry schedule and per-sink rate limits, sans-IO.
//! - `deliver`: [`Deliverer`], one round of delivery from the outbox, and a direct send.
//! - `status`: the Subscription's delivery records from delivery reports.
//!
//! Which events are queued, and when, is the operator's business (`operator/`); this module
//! starts at the outbox. Documentation for users: `operator/docs/notifications.md`.

pub mod anchore;
pub mod backoff;
pub mod deliver;
pub mod environment;
pub mod event;
pub mod json;
pub mod kube_env;
pub mod kube_event;
pub mod rate;
#[cfg(test)]
pub(crate) mod samples;
pub mod sign;
pub mod slack;
pub mod status;
pub mod target;

pub use deliver::{
    Deliverer, DeliveryConfig, DeliveryReport, EVENT_HEADER, IDEMPOTENCY_HEADER, Outcome, SendError,
};
pub use environment::{EnvError, Environment};
pub use event::{
    ImageInfo, Notification, ObjectName, TagChange, VerdictChange, VulnDiff, VulnEntry, VulnUpdate,
    diff, fixes_available, idempotency_id,
};
pub use kube_event::summary;
pub use slack::slack_batch;
pub use status::apply_reports;
pub use target::{OutboxPayload, SinkTarget};

/// The worst [`event::MAX_TOP_FINDINGS`] entries, for `topFindings`.
pub fn top_findings(entries: &[VulnEntry]) -> Vec<VulnEntry> {
    event::top_findings(entries, event::MAX_TOP_FINDINGS)
}
