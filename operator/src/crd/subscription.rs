//! `Subscription`: which images, which events, and where to send them.
//!
//! Traps of the domain:
//! - OpenShift's OLM also has a kind `Subscription` (`subscriptions.operators.coreos.com`,
//!   short names `sub`, `subs`), and Trivy Operator uses `vuln`. `kubectl get subscriptions`
//!   picks one group by discovery order, so users must say `subscriptions.plimsoll.dev` or
//!   use our short name `psub`.
//! - Webhook URLs carry tokens, so they come from Secrets and never appear in the spec, the
//!   status (`lastError` is written without the URL) or Events.
//! - Anchore users complain that webhooks fail silently: every sink has a delivery record in
//!   the status (last success, last error, consecutive failures, notifications given up on).

use super::conditions::{self, Condition};
use super::schema;
use crate::severity::Severity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most ImageScans named in `images.scanRefs`.
pub const MAX_SCAN_REFS: usize = 256;
/// Most `registry/repository:tag` patterns.
pub const MAX_PATTERNS: usize = 64;
/// Longest pattern.
pub const MAX_PATTERN_LEN: usize = 512;
/// Most extra webhook headers.
pub const MAX_HEADERS: usize = 16;
/// Longest delivery error kept in the status.
pub const MAX_ERROR_LEN: usize = 1024;

/// Condition types of a Subscription.
pub mod condition_type {
    /// The sinks' Secrets exist and hold the keys named.
    pub const READY: &str = "Ready";
}

/// Send notifications about some images to a webhook, Slack or Kubernetes Events.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "plimsoll.dev",
    version = "v1alpha1",
    kind = "Subscription",
    namespaced,
    status = "SubscriptionStatus",
    derive = "PartialEq",
    shortname = "psub",
    category = "plimsoll",
    doc = "Notify a webhook, Slack or Kubernetes Events about images. OLM also has a kind Subscription: use `kubectl get subscriptions.plimsoll.dev` or `psub`.",
    printcolumn(name = "Events", type_ = "string", json_path = ".spec.events"),
    printcolumn(name = "Scans", type_ = "integer", json_path = ".status.matchedScans"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionSpec {
    /// Which images: named ImageScans, ImageScans by label, or image patterns (the operator
    /// then creates and owns an ImageScan for each image it sees).
    pub images: ImageSelection,
    /// What to notify about.
    #[schemars(
        length(min = 1, max = 5),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub events: Vec<EventType>,
    /// Where to send notifications.
    pub sinks: Sinks,
    /// For `fix_available`: only fixes of vulnerabilities at least this severe. All when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::severity")]
    pub min_severity: Option<Severity>,
}

/// A set of images, as the union of three selections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(has(self.scanRefs) && size(self.scanRefs) > 0) || has(self.selector) || (has(self.patterns) && size(self.patterns) > 0)",
    "message": "select images with scanRefs, selector or patterns",
}]))]
pub struct ImageSelection {
    /// Names of ImageScans in this namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = MAX_SCAN_REFS),
        inner(length(min = 1, max = 253), regex(pattern = "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))
    )]
    pub scan_refs: Vec<String>,
    /// ImageScans in this namespace with these labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// `registry/repository:tag` globs (`*` within a path segment, `**` across), e.g.
    /// `registry.example.com/team/*:release-*`, matched against the images of the namespace's
    /// ImageScans. A pattern without wildcards (`registry.example.com/team/web:release-1`) makes
    /// the operator create and own an ImageScan for that image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = MAX_PATTERNS),
        inner(length(min = 1, max = MAX_PATTERN_LEN), regex(pattern = r"^\S+$"))
    )]
    pub patterns: Vec<String>,
    /// The PolicyBundle of the ImageScans the operator creates for patterns without wildcards
    /// (`default` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_bundle_ref: Option<super::image_scan::LocalObjectReference>,
}

/// Anchore's notification types.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A watched tag now points to a new digest.
    TagUpdate,
    /// The verdict changed (e.g. GO to STOP).
    PolicyEval,
    /// The image's vulnerabilities changed after a feed update.
    VulnUpdate,
    /// A (new) analysis of the image completed.
    AnalysisUpdate,
    /// A fixed version became available for a vulnerability in the image.
    FixAvailable,
}

/// The destinations; at least one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.webhook) || has(self.slack) || (has(self.kubernetesEvents) && self.kubernetesEvents.enabled)",
    "message": "configure at least one sink: webhook, slack or kubernetesEvents",
}]))]
pub struct Sinks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackSink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_events: Option<KubernetesEventsSink>,
}

/// An HTTP(S) POST of each notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSink {
    /// The Secret key holding the URL.
    pub url_secret_ref: SecretKeySelector,
    /// The Secret key holding an HMAC-SHA256 key; each request is then signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_secret_ref: Option<SecretKeySelector>,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_HEADERS))]
    pub headers: Vec<Header>,
    /// Body format: `json` (Plimsoll's event document) or `anchore` (Anchore's webhook
    /// payload, for receivers written for Anchore). `json` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::no_null_in_enum)]
    pub format: Option<WebhookFormat>,
}

/// A webhook request header, with its value inline or from a Secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.value) != has(self.secretKeyRef)",
    "message": "set exactly one of value or secretKeyRef",
}]))]
pub struct Header {
    /// The header name (an HTTP token).
    #[schemars(
        length(min = 1, max = 256),
        regex(pattern = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    )]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub value: Option<String>,
    /// For values that are secrets, e.g. an `Authorization` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
}

/// Webhook body formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    #[default]
    Json,
    Anchore,
}

/// A Slack incoming webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlackSink {
    /// The Secret key holding the incoming-webhook URL.
    pub webhook_secret_ref: SecretKeySelector,
}

/// Kubernetes Events on the ImageScan concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KubernetesEventsSink {
    pub enabled: bool,
}

/// A key of a Secret in this namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeySelector {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key within the Secret's data.
    #[schemars(length(min = 1, max = 253), regex(pattern = "^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// How notifications are getting through.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// `Ready`: the sinks' Secrets exist and hold the keys named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions::list_schema")]
    pub conditions: Vec<Condition>,
    /// ImageScans currently selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::count")]
    pub matched_scans: Option<u32>,
    /// One record per configured sink.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 3),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["sink"])
    )]
    pub deliveries: Vec<Delivery>,
}

/// The delivery record of one sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub sink: SinkKind,
    /// The last successful delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivered_at: Option<Time>,
    /// The last attempt, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<Time>,
    /// The last failure, without the URL or any secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_ERROR_LEN))]
    pub last_error: Option<String>,
    /// Failed attempts since the last success.
    #[schemars(schema_with = "schema::count")]
    pub failures: u32,
    /// Notifications given up on after all retries (kept in the operator's outbox).
    #[schemars(schema_with = "schema::count")]
    pub dead_letters: u32,
}

/// The sinks, as delivery records name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SinkKind {
    Webhook,
    Slack,
    KubernetesEvents,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::testing::{
        assert_cel_rejects, assert_schema_accepts, assert_schema_rejects, example,
    };

    #[test]
    fn example_round_trips() {
        let (value, sub) = example::<Subscription>("subscription.yaml");
        assert!(sub.spec.events.contains(&EventType::FixAvailable));
        assert_eq!(sub.spec.min_severity, Some(Severity::High));
        assert_schema_accepts::<Subscription>(&value);
        let again: Subscription =
            serde_json::from_value(serde_json::to_value(&sub).expect("serializes"))
                .expect("deserializes");
        assert_eq!(again, sub);
    }

    #[test]
    fn needs_some_images() {
        let (mut value, _) = example::<Subscription>("subscription.yaml");
        value["spec"]["images"] = serde_json::json!({});
        assert_cel_rejects::<Subscription>(&value, "select images");
        value["spec"]["images"] = serde_json::json!({"scanRefs": [], "patterns": []});
        assert_cel_rejects::<Subscription>(&value, "select images");
        value["spec"]["images"] = serde_json::json!({"selector": {}});
        assert_schema_accepts::<Subscription>(&value);
    }

    #[test]
    fn needs_a_sink() {
        let (mut value, _) = example::<Subscription>("subscription.yaml");
        value["spec"]["sinks"] = serde_json::json!({});
        assert_cel_rejects::<Subscription>(&value, "at least one sink");
        value["spec"]["sinks"] = serde_json::json!({"kubernetesEvents": {"enabled": false}});
        assert_cel_rejects::<Subscription>(&value, "at least one sink");
        value["spec"]["sinks"] = serde_json::json!({"kubernetesEvents": {"enabled": true}});
        assert_schema_accepts::<Subscription>(&value);
        value["spec"]["sinks"] =
            serde_json::json!({"slack": {"webhookSecretRef": {"name": "slack", "key": "url"}}});
        assert_schema_accepts::<Subscription>(&value);
    }

    #[test]
    fn header_value_xor_secret() {
        let (mut value, _) = example::<Subscription>("subscription.yaml");
        let secret = serde_json::json!({"name": "hook", "key": "token"});
        value["spec"]["sinks"]["webhook"]["headers"] =
            serde_json::json!([{"name": "Authorization", "value": "x", "secretKeyRef": secret}]);
        assert_cel_rejects::<Subscription>(&value, "exactly one of value or secretKeyRef");
        value["spec"]["sinks"]["webhook"]["headers"] = serde_json::json!([{"name": "X-Team"}]);
        assert_cel_rejects::<Subscription>(&value, "exactly one of value or secretKeyRef");
        value["spec"]["sinks"]["webhook"]["headers"] =
            serde_json::json!([{"name": "Bad Header", "value": "x"}]);
        assert_schema_rejects::<Subscription>(&value, "header name with a space");
    }

    #[test]
    fn events_and_severity_are_closed_sets() {
        let (value, _) = example::<Subscription>("subscription.yaml");
        let mut v = value.clone();
        v["spec"]["events"] = serde_json::json!(["tag_update", "image_deleted"]);
        assert_schema_rejects::<Subscription>(&v, "unknown event");
        let mut v = value.clone();
        v["spec"]["events"] = serde_json::json!([]);
        assert_schema_rejects::<Subscription>(&v, "no events");
        let mut v = value.clone();
        v["spec"]["minSeverity"] = "high".into();
        assert_schema_rejects::<Subscription>(&v, "lower-case severity");
    }

    #[test]
    fn status_round_trips() {
        let t = Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("time"));
        let status = SubscriptionStatus {
            observed_generation: Some(1),
            conditions: Vec::new(),
            matched_scans: Some(3),
            deliveries: vec![Delivery {
                sink: SinkKind::Webhook,
                last_delivered_at: Some(t.clone()),
                last_attempt_at: Some(t),
                last_error: Some("HTTP 503 from receiver".into()),
                failures: 2,
                dead_letters: 0,
            }],
        };
        let (mut value, mut sub) = example::<Subscription>("subscription.yaml");
        value["status"] = serde_json::to_value(&status).expect("serializes");
        assert_schema_accepts::<Subscription>(&value);
        sub.status = Some(status);
        let yaml = serde_saphyr::to_string(&sub).expect("yaml");
        assert_eq!(
            serde_saphyr::from_str::<Subscription>(&yaml).expect("reads back"),
            sub
        );
    }
}
