//! What an outbox entry holds: the notification and the sink it goes to, as the Subscription
//! configured it when the event happened.
//!
//! Trap: no secret goes into the outbox. The sink is stored as the CRD's own types, which name
//! Secrets (`urlSecretRef`, `hmacSecretRef`, header `secretKeyRef`) rather than holding their
//! values; the deliverer reads the Secrets at each attempt, so a rotated URL or key is used by
//! the next retry.

use super::event::Notification;
use crate::crd::Subscription;
use crate::crd::subscription::{SinkKind, SlackSink, WebhookSink};
use serde::{Deserialize, Serialize};

/// One sink of one Subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkTarget {
    pub namespace: String,
    pub subscription: String,
    pub sink: SinkKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackSink>,
}

/// The wire name of a sink kind, as [`SinkTarget::key`] and reports use it.
pub fn sink_name(kind: SinkKind) -> &'static str {
    match kind {
        SinkKind::Webhook => "webhook",
        SinkKind::Slack => "slack",
        SinkKind::KubernetesEvents => "kubernetesEvents",
    }
}

impl SinkTarget {
    /// `webhook:ns/name`, `slack:ns/name` or `kubernetesEvents:ns/name`: the outbox's `sink`
    /// column, the unit of rate limiting and of the Subscription's delivery records.
    pub fn key(&self) -> String {
        format!(
            "{}:{}/{}",
            sink_name(self.sink),
            self.namespace,
            self.subscription
        )
    }

    /// The (kind, namespace, subscription) of a [`SinkTarget::key`].
    pub fn parse_key(key: &str) -> Option<(SinkKind, String, String)> {
        let (kind, rest) = key.split_once(':')?;
        let (ns, name) = rest.split_once('/')?;
        let kind = [
            SinkKind::Webhook,
            SinkKind::Slack,
            SinkKind::KubernetesEvents,
        ]
        .into_iter()
        .find(|k| sink_name(*k) == kind)?;
        (!ns.is_empty() && !name.is_empty()).then(|| (kind, ns.to_owned(), name.to_owned()))
    }

    /// One target per sink the Subscription configures (Kubernetes Events only when enabled).
    pub fn for_subscription(sub: &Subscription) -> Vec<SinkTarget> {
        let namespace = sub.metadata.namespace.clone().unwrap_or_default();
        let subscription = sub.metadata.name.clone().unwrap_or_default();
        let base = |sink| SinkTarget {
            namespace: namespace.clone(),
            subscription: subscription.clone(),
            sink,
            webhook: None,
            slack: None,
        };
        let sinks = &sub.spec.sinks;
        let mut out = Vec::new();
        if let Some(w) = &sinks.webhook {
            out.push(SinkTarget {
                webhook: Some(w.clone()),
                ..base(SinkKind::Webhook)
            });
        }
        if let Some(s) = &sinks.slack {
            out.push(SinkTarget {
                slack: Some(s.clone()),
                ..base(SinkKind::Slack)
            });
        }
        if sinks.kubernetes_events.is_some_and(|k| k.enabled) {
            out.push(base(SinkKind::KubernetesEvents));
        }
        out
    }
}

/// The JSON payload of an outbox entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxPayload {
    pub notification: Notification,
    pub target: SinkTarget,
}

impl OutboxPayload {
    /// The outbox's idempotency key: the notification's id and the sink, so the same event
    /// is one entry per sink, and enqueuing it again changes nothing.
    pub fn idempotency_key(&self) -> String {
        format!("{}/{}", self.notification.id, self.target.key())
    }

    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    pub fn from_value(v: &serde_json::Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::testing::example;
    use crate::notify::samples::sample;

    #[test]
    fn keys_round_trip() {
        for (kind, key) in [
            (SinkKind::Webhook, "webhook:team/alerts"),
            (SinkKind::Slack, "slack:team/alerts"),
            (SinkKind::KubernetesEvents, "kubernetesEvents:team/alerts"),
        ] {
            let t = SinkTarget {
                namespace: "team".into(),
                subscription: "alerts".into(),
                sink: kind,
                webhook: None,
                slack: None,
            };
            assert_eq!(t.key(), key);
            assert_eq!(
                SinkTarget::parse_key(key),
                Some((kind, "team".into(), "alerts".into()))
            );
        }
        for bad in ["webhook", "fax:a/b", "slack:a", "slack:/b", "slack:a/"] {
            assert_eq!(SinkTarget::parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn targets_of_the_example_subscription_hold_no_secret() {
        let (_, mut sub) = example::<Subscription>("subscription.yaml");
        sub.metadata.namespace = Some("team".into());
        let targets = SinkTarget::for_subscription(&sub);
        let kinds: Vec<SinkKind> = targets.iter().map(|t| t.sink).collect();
        assert!(kinds.contains(&SinkKind::Webhook), "{kinds:?}");
        for t in &targets {
            let p = OutboxPayload {
                notification: sample(crate::crd::subscription::EventType::PolicyEval),
                target: t.clone(),
            };
            let v = p.to_value().expect("serializes");
            assert_eq!(OutboxPayload::from_value(&v).expect("reads back"), p);
            let target = v["target"].to_string();
            assert!(!target.contains("http"), "no URL in the outbox: {target}");
            assert!(
                !v.to_string().contains("change-me"),
                "no HMAC key in the outbox"
            );
            assert!(p.idempotency_key().ends_with(&t.key()));
        }
    }
}
