//! The Subscription controller: checks that the sinks' Secrets exist and hold what they must
//! (`Ready`), and counts the ImageScans selected. Delivery records (`status.deliveries`) are
//! written by the delivery task ([`super::delivery`]) under its own field manager, so the two
//! writers never undo each other.
//!
//! Traps:
//! - The operator may `get` only the Secrets the chart lists (no list/watch): a Secret created
//!   later is seen at the next check (every few minutes) or on an edit of the Subscription.
//! - Messages name the Secret and key, never the URL or any value.

use super::context::Context;
use super::image_scan::{Error, MANAGER};
use crate::crd::conditions::{Condition, ConditionStatus, set_condition};
use crate::crd::subscription::{
    SecretKeySelector, Subscription, SubscriptionStatus, condition_type,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the Secrets are checked again without a change to the Subscription.
const RECHECK: Duration = Duration::from_secs(300);

pub async fn reconcile(sub: Arc<Subscription>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&sub, &ctx).await;
    ctx.metrics
        .reconciled("subscription", started.elapsed(), result.is_err());
    result
}

/// What a sink's Secret lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretCheck {
    Ok,
    Missing(String),
    Invalid(String),
}

async fn reconcile_inner(sub: &Subscription, ctx: &Context) -> Result<Action, Error> {
    let ns = sub.namespace().ok_or(Error::Missing("namespace"))?;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let mut problems = Vec::new();
    for (what, sel, url) in secret_refs(sub) {
        match check_secret(&secrets, sel, url).await? {
            SecretCheck::Ok => {}
            SecretCheck::Missing(m) | SecretCheck::Invalid(m) => {
                problems.push(format!("{what}: {m}"))
            }
        }
    }
    sync_owned_scans(sub, &ns, ctx).await?;
    let matched = ctx.scans.get().map_or(0, |cache| {
        cache
            .state()
            .iter()
            .filter(|s| super::notifications::selects(sub, s))
            .count()
    });
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status = status(sub, &problems, matched, now);
    let old = sub.status.clone().unwrap_or_default();
    let unchanged = old.conditions == status.conditions
        && old.matched_scans == status.matched_scans
        && old.observed_generation == status.observed_generation;
    if !unchanged {
        let api: Api<Subscription> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = serde_json::json!({
            "apiVersion": "plimsoll.dev/v1alpha1",
            "kind": "Subscription",
            "status": {
                "observedGeneration": status.observed_generation,
                "conditions": status.conditions,
                "matchedScans": status.matched_scans,
            },
        });
        api.patch_status(
            &sub.name_any(),
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    }
    Ok(Action::requeue(RECHECK))
}

pub fn error_policy(sub: Arc<Subscription>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(subscription = %sub.name_any(), namespace = ?sub.namespace(), error = %error, "reconcile failed");
    Action::requeue(super::image_scan::backoff(3).max(Duration::from_secs(5)))
}

/// The label naming the Subscription that owns an ImageScan.
pub const OWNER_LABEL: &str = "plimsoll.dev/subscription";

/// The ImageScans a Subscription's patterns without wildcards ask for: (name, image).
pub fn wanted_scans(sub: &Subscription) -> Vec<(String, String)> {
    let name = sub.name_any();
    let mut out: Vec<(String, String)> = sub
        .spec
        .images
        .patterns
        .iter()
        .filter(|p| !p.contains('*'))
        .map(|p| {
            let id = crate::notify::idempotency_id(&[p]);
            let hex = id.trim_start_matches("plimsoll-");
            // `<subscription>-<8 hex>`, within the 253 characters of a name.
            let prefix: String = name.chars().take(243).collect();
            (format!("{prefix}-{}", &hex[..8]), p.clone())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Creates the ImageScans `wanted_scans` names (owned by the Subscription, so they go with it)
/// and deletes owned ones no longer wanted.
async fn sync_owned_scans(sub: &Subscription, ns: &str, ctx: &Context) -> Result<(), Error> {
    let Some(uid) = sub.uid() else {
        return Ok(());
    };
    let wanted = wanted_scans(sub);
    let api: Api<crate::crd::ImageScan> = Api::namespaced(ctx.client.clone(), ns);
    let bundle = sub
        .spec
        .images
        .policy_bundle_ref
        .as_ref()
        .map_or("default", |r| r.name.as_str());
    let owned: Vec<Arc<crate::crd::ImageScan>> = ctx.scans.get().map_or_else(Vec::new, |c| {
        c.state()
            .into_iter()
            .filter(|s| {
                s.namespace().as_deref() == Some(ns)
                    && s.owner_references().iter().any(|o| o.uid == uid)
            })
            .collect()
    });
    for (name, image) in &wanted {
        let current = owned.iter().find(|s| s.name_any() == *name);
        if current
            .is_some_and(|s| s.spec.image == *image && s.spec.policy_bundle_ref.name == bundle)
        {
            continue;
        }
        let scan = serde_json::json!({
            "apiVersion": "plimsoll.dev/v1alpha1",
            "kind": "ImageScan",
            "metadata": {
                "name": name,
                "labels": {
                    OWNER_LABEL: sub.name_any(),
                    "app.kubernetes.io/managed-by": MANAGER,
                },
                "ownerReferences": [{
                    "apiVersion": "plimsoll.dev/v1alpha1",
                    "kind": "Subscription",
                    "name": sub.name_any(),
                    "uid": uid,
                    "controller": true,
                }],
            },
            "spec": {"image": image, "policyBundleRef": {"name": bundle}},
        });
        api.patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&scan),
        )
        .await?;
    }
    for s in &owned {
        let name = s.name_any();
        if !wanted.iter().any(|(w, _)| *w == name) {
            match api
                .delete(&name, &kube::api::DeleteParams::background())
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// The status this controller owns (conditions, count, generation); deliveries are kept.
pub fn status(
    sub: &Subscription,
    problems: &[String],
    matched: usize,
    now: Time,
) -> SubscriptionStatus {
    let mut s = sub.status.clone().unwrap_or_default();
    let generation = sub.metadata.generation;
    let (st, reason, message) = if problems.is_empty() {
        (
            ConditionStatus::True,
            "SinksReady",
            "every sink's Secret is present".to_owned(),
        )
    } else {
        (ConditionStatus::False, "SecretProblem", problems.join("; "))
    };
    set_condition(
        &mut s.conditions,
        Condition::new(condition_type::READY, st, reason, &message, now, generation),
    );
    s.observed_generation = generation;
    s.matched_scans = Some(u32::try_from(matched).unwrap_or(u32::MAX));
    s
}

/// Every Secret key the sinks name: (what it is for, the key, whether it must be a URL).
pub fn secret_refs(sub: &Subscription) -> Vec<(String, &SecretKeySelector, bool)> {
    let sinks = &sub.spec.sinks;
    let mut out = Vec::new();
    if let Some(w) = &sinks.webhook {
        out.push(("webhook URL".to_owned(), &w.url_secret_ref, true));
        if let Some(h) = &w.hmac_secret_ref {
            out.push(("webhook HMAC key".to_owned(), h, false));
        }
        for h in &w.headers {
            if let Some(r) = &h.secret_key_ref {
                out.push((format!("webhook header {}", h.name), r, false));
            }
        }
    }
    if let Some(s) = &sinks.slack {
        out.push(("Slack webhook URL".to_owned(), &s.webhook_secret_ref, true));
    }
    out
}

async fn check_secret(
    api: &Api<Secret>,
    sel: &SecretKeySelector,
    url: bool,
) -> Result<SecretCheck, Error> {
    let secret = match api.get_opt(&sel.name).await {
        Ok(s) => s,
        Err(kube::Error::Api(e)) if e.code == 403 => {
            return Ok(SecretCheck::Missing(format!(
                "the operator may not read Secret {} (list it in the chart's notifications.secrets)",
                sel.name
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(secret) = secret else {
        return Ok(SecretCheck::Missing(format!(
            "Secret {} not found",
            sel.name
        )));
    };
    let value = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&sel.key))
        .map(|b| String::from_utf8_lossy(&b.0).trim().to_owned());
    Ok(match value {
        None => SecretCheck::Missing(format!("Secret {} has no key {}", sel.name, sel.key)),
        Some(v) if v.is_empty() => {
            SecretCheck::Invalid(format!("Secret {} key {} is empty", sel.name, sel.key))
        }
        Some(v) if url && !is_http_url(&v) => SecretCheck::Invalid(format!(
            "Secret {} key {} does not hold an http(s) URL",
            sel.name, sel.key
        )),
        Some(_) => SecretCheck::Ok,
    })
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_patterns_become_owned_scans() {
        let sub: Subscription = serde_saphyr::from_str(
            "apiVersion: plimsoll.dev/v1alpha1\nkind: Subscription\nmetadata: {name: team, namespace: n}\nspec:\n  images:\n    patterns: ['registry.example.com/a/web:1', 'registry.example.com/a/*:release-*', 'registry.example.com/a/web:1', 'nginx:1.25']\n  events: [tag_update]\n  sinks: {kubernetesEvents: {enabled: true}}\n",
        )
        .expect("sub");
        let wanted = wanted_scans(&sub);
        let images: Vec<&str> = wanted.iter().map(|(_, i)| i.as_str()).collect();
        let mut sorted = images.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["nginx:1.25", "registry.example.com/a/web:1"]);
        assert_eq!(
            wanted.len(),
            2,
            "duplicates and wildcards are not scans: {wanted:?}"
        );
        for (name, _) in &wanted {
            assert!(name.starts_with("team-") && name.len() == 13, "{name}");
        }
        // Stable names: the same pattern is the same scan.
        assert_eq!(wanted_scans(&sub), wanted);
    }

    #[test]
    fn urls() {
        for (s, ok) in [
            ("https://hooks.slack.com/services/T/B/x", true),
            ("http://127.0.0.1:8080/hook", true),
            ("hooks.slack.com/services", false),
            ("ftp://example.com/", false),
            ("not a url", false),
        ] {
            assert_eq!(is_http_url(s), ok, "{s}");
        }
    }

    #[test]
    fn status_ready_or_names_the_problem() {
        let sub: Subscription = serde_saphyr::from_str(
            "apiVersion: plimsoll.dev/v1alpha1\nkind: Subscription\nmetadata: {name: s, namespace: n, generation: 3}\nspec:\n  images: {scanRefs: [web]}\n  events: [vuln_update]\n  sinks:\n    webhook:\n      urlSecretRef: {name: hook, key: url}\n      hmacSecretRef: {name: hook, key: hmac}\n      headers: [{name: Authorization, secretKeyRef: {name: tok, key: t}}]\n    slack: {webhookSecretRef: {name: slack, key: url}}\n",
        )
        .expect("sub");
        let refs: Vec<(String, String, bool)> = secret_refs(&sub)
            .into_iter()
            .map(|(w, s, u)| (w, format!("{}/{}", s.name, s.key), u))
            .collect();
        assert_eq!(refs.len(), 4);
        assert_eq!(
            refs[3],
            ("Slack webhook URL".into(), "slack/url".into(), true)
        );
        let now = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        let s = status(&sub, &[], 2, now.clone());
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(s.matched_scans, Some(2));
        assert_eq!(s.conditions[0].status, ConditionStatus::True);
        let s = status(&sub, &["webhook URL: Secret hook not found".into()], 0, now);
        assert_eq!(s.conditions[0].status, ConditionStatus::False);
        assert!(s.conditions[0].message.contains("Secret hook not found"));
    }
}
