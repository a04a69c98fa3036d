//! From what happened to an ImageScan to notifications in the outbox: which Subscriptions
//! select the scan and want the event, one outbox entry per sink, each with an idempotency key
//! derived from the event itself.
//!
//! Traps:
//! - Keys are computed from what the event is (the scan's uid, the digests, the previous state),
//!   never from the time it was noticed: a reconcile or feed re-match that runs again after a
//!   crash queues the same keys, which the outbox ignores, so nothing is sent twice.
//! - Outbox entries hold no secrets: sinks name Secrets, read at delivery time.
//! - A Subscription selects ImageScans of its own namespace only.

use super::context::Context;
use crate::crd::ImageScan;
use crate::crd::subscription::{EventType, Subscription};
use crate::notify::event::event_name;
use crate::notify::target::sink_name;
use crate::notify::{ImageInfo, Notification, ObjectName, OutboxPayload, SinkTarget};
use crate::store::{NewNotification, Timestamp};
use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};

/// Whether the Subscription selects the scan (same namespace; named, labelled or matching a
/// pattern).
pub fn selects(sub: &Subscription, scan: &ImageScan) -> bool {
    if sub.namespace() != scan.namespace() {
        return false;
    }
    let images = &sub.spec.images;
    let name = scan.name_any();
    if images.scan_refs.contains(&name) {
        return true;
    }
    if let Some(selector) = &images.selector
        && let Ok(selector) = Selector::try_from(selector.clone())
        && selector.matches(scan.labels())
    {
        return true;
    }
    images
        .patterns
        .iter()
        .any(|p| pattern_matches(p, &scan.spec.image))
}

/// `registry/repository:tag` globs: `*` within a path segment (no `/`), `**` across segments.
/// The image matches as written or normalised (`nginx:1` is `docker.io/library/nginx:1`).
pub fn pattern_matches(pattern: &str, image: &str) -> bool {
    if glob(pattern.as_bytes(), image.as_bytes()) {
        return true;
    }
    match plimsoll_analyzer::source::RegistryRef::parse(image) {
        Ok(r) => {
            let mut full = format!("{}/{}", r.registry, r.repository);
            if let Some(tag) = &r.tag {
                full.push(':');
                full.push_str(tag);
            }
            if let Some(digest) = &r.digest {
                full.push('@');
                full.push_str(digest);
            }
            full != image && glob(pattern.as_bytes(), full.as_bytes())
        }
        Err(_) => false,
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        [b'*', rest @ ..] => {
            // Within one path segment: never consume a '/'.
            let end = s.iter().position(|&c| c == b'/').unwrap_or(s.len());
            (0..=end).any(|i| glob(rest, &s[i..]))
        }
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// A notification of `event` about `image`, to be completed by the caller; its id and
/// Subscription are set per sink by [`entries`].
pub fn notification(event: EventType, image: ImageInfo) -> Notification {
    Notification {
        image,
        ..Notification::new(event)
    }
}

/// One queued entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub sink: String,
    pub payload: serde_json::Value,
}

/// The outbox entries for `event` about `scan`: one per sink of every Subscription that selects
/// the scan and wants the event. `base_key` identifies the event; `build` makes the notification
/// for one Subscription (its `id` and `subscription` are filled in here). `want` filters
/// further (e.g. a `fix_available` severity threshold).
pub fn entries<'a>(
    subs: impl IntoIterator<Item = &'a Subscription>,
    scan: &ImageScan,
    event: EventType,
    base_key: &str,
    build: impl Fn(&Subscription) -> Option<Notification>,
) -> Vec<Entry> {
    let mut out = Vec::new();
    for sub in subs {
        if !sub.spec.events.contains(&event) || !selects(sub, scan) {
            continue;
        }
        let Some(mut n) = build(sub) else {
            continue;
        };
        for target in SinkTarget::for_subscription(sub) {
            let key = format!(
                "{}/{}/{}/{}/{}",
                event_name(event),
                base_key,
                target.namespace,
                target.subscription,
                sink_name(target.sink)
            );
            n.id.clone_from(&key);
            n.subscription = ObjectName::new(&target.namespace, &target.subscription);
            let payload = OutboxPayload {
                notification: n.clone().bounded(),
                target,
            };
            let sink = payload.target.key();
            match serde_json::to_value(&payload) {
                Ok(payload) => out.push(Entry { key, sink, payload }),
                Err(e) => tracing::error!(error = %e, "cannot encode a notification"),
            }
        }
    }
    out
}

/// How long a queue waits for the Subscription watch's first list.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("the watch has not listed the objects yet; notifications are decided later")]
    NotReady,
}

/// Waits (a while) until a watch cache has had its first list.
pub async fn listed<K>(cache: &kube::runtime::reflector::Store<K>) -> Result<(), QueueError>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    match tokio::time::timeout(READY_WAIT, cache.wait_until_ready()).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(QueueError::NotReady),
    }
}

/// Queues [`entries`] for the Subscriptions the watch sees and wakes the deliverer. Returns how
/// many new entries were queued (entries already queued under the same key are not counted).
pub async fn queue(
    ctx: &Context,
    scan: &ImageScan,
    event: EventType,
    base_key: &str,
    build: impl Fn(&Subscription) -> Option<Notification>,
) -> Result<usize, QueueError> {
    let Some(cache) = ctx.subscriptions.get() else {
        return Ok(0);
    };
    // Right after a start the watch may not have listed the Subscriptions yet: deciding on an
    // empty cache would drop the notification.
    listed(cache).await?;
    let subs = cache.state();
    let entries = entries(
        subs.iter().map(|s| s.as_ref()),
        scan,
        event,
        base_key,
        build,
    );
    let now = Timestamp::now();
    let mut created = 0;
    for e in &entries {
        let n = NewNotification {
            idempotency_key: &e.key,
            sink: &e.sink,
            payload: &e.payload,
        };
        if ctx.store.enqueue(&n, now).await?.created {
            created += 1;
        }
    }
    if created > 0 {
        ctx.metrics.notifications_queued(event_name(event), created);
        ctx.outbox_wake.notify_one();
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            (
                "registry.example.com/team/*:release-*",
                "registry.example.com/team/web:release-1",
                true,
            ),
            (
                "registry.example.com/team/*:release-*",
                "registry.example.com/team/a/web:release-1",
                false,
            ),
            (
                "registry.example.com/**:release-*",
                "registry.example.com/team/a/web:release-1",
                true,
            ),
            (
                "registry.example.com/team/web:*",
                "registry.example.com/team/web:1.2",
                true,
            ),
            (
                "registry.example.com/team/web:*",
                "registry.example.com/team/webapp:1.2",
                false,
            ),
            ("docker.io/library/nginx:*", "nginx:1.25", true),
            ("nginx:*", "nginx:1.25", true),
            ("nginx:1.25", "nginx:1.26", false),
            ("**", "anything/at/all:x", true),
            ("", "x", false),
        ];
        for (p, s, want) in cases {
            assert_eq!(pattern_matches(p, s), want, "{p} vs {s}");
        }
    }

    fn sub(yaml: &str) -> Subscription {
        serde_saphyr::from_str(yaml).expect("subscription")
    }

    fn scan(name: &str, ns: &str, labels: &str, image: &str) -> ImageScan {
        serde_saphyr::from_str(&format!(
            "apiVersion: plimsoll.dev/v1alpha1\nkind: ImageScan\nmetadata: {{name: {name}, namespace: {ns}, uid: u-{name}, labels: {{{labels}}}}}\nspec: {{image: '{image}', policyBundleRef: {{name: default}}}}\n"
        ))
        .expect("scan")
    }

    const SUB: &str = "apiVersion: plimsoll.dev/v1alpha1\nkind: Subscription\nmetadata: {name: team, namespace: shop}\nspec:\n  images:\n    scanRefs: [web]\n    selector: {matchLabels: {tier: backend}}\n    patterns: ['registry.example.com/shop/*:release-*']\n  events: [vuln_update, policy_eval]\n  sinks:\n    webhook: {urlSecretRef: {name: hook, key: url}}\n    slack: {webhookSecretRef: {name: slack, key: url}}\n    kubernetesEvents: {enabled: true}\n";

    #[test]
    fn selection_by_name_label_pattern_and_namespace() {
        let s = sub(SUB);
        let cases = [
            (scan("web", "shop", "", "nginx:1"), true),
            (scan("api", "shop", "tier: backend", "nginx:1"), true),
            (scan("api", "shop", "tier: frontend", "nginx:1"), false),
            (
                scan("x", "shop", "", "registry.example.com/shop/cart:release-3"),
                true,
            ),
            (
                scan("x", "shop", "", "registry.example.com/shop/cart:dev"),
                false,
            ),
            (scan("web", "other", "tier: backend", "nginx:1"), false),
        ];
        for (scan, want) in cases {
            assert_eq!(selects(&s, &scan), want, "{:?}", scan.metadata);
        }
    }

    #[test]
    fn one_entry_per_sink_with_event_derived_keys() {
        let s = sub(SUB);
        let web = scan("web", "shop", "", "nginx:1");
        let build = |_: &Subscription| {
            Some(notification(
                EventType::VulnUpdate,
                ImageInfo::from_scan(&web),
            ))
        };
        let queued = entries([&s], &web, EventType::VulnUpdate, "sha256:abc/k1", build);
        let keys: Vec<&str> = queued.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "vuln_update/sha256:abc/k1/shop/team/webhook",
                "vuln_update/sha256:abc/k1/shop/team/slack",
                "vuln_update/sha256:abc/k1/shop/team/kubernetesEvents"
            ]
        );
        for e in &queued {
            assert_eq!(e.payload["notification"]["id"], e.key.as_str());
            assert_eq!(e.payload["notification"]["subscription"]["name"], "team");
            let text = e.payload.to_string();
            assert!(!text.contains("http"), "no URL in the outbox: {text}");
        }
        // Not subscribed to this event, or not selected: nothing.
        assert!(entries([&s], &web, EventType::TagUpdate, "k", build).is_empty());
        let other = scan("other", "shop", "", "nginx:1");
        assert!(entries([&s], &other, EventType::VulnUpdate, "k", build).is_empty());
    }
}
