//! The PolicyBundle controller: validate, write `Valid` / `Ready`, rule count, digest and every
//! error with its path. ImageScans that use a bundle watch it themselves (see
//! [`super::run`]), so an edit re-evaluates them.

use super::context::Context;
use super::image_scan::{Error, MANAGER};
use crate::crd::PolicyBundle;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn reconcile(bundle: Arc<PolicyBundle>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&bundle, &ctx).await;
    ctx.metrics
        .reconciled("policybundle", started.elapsed(), result.is_err());
    result
}

async fn reconcile_inner(bundle: &PolicyBundle, ctx: &Context) -> Result<Action, Error> {
    let ns = bundle.namespace().ok_or(Error::Missing("namespace"))?;
    let (digest, checked) = ctx.bundles.check(bundle);
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status = super::bundles::status(bundle, &digest, &checked, &now);
    if bundle.status.as_ref() == Some(&status) {
        return Ok(Action::await_change());
    }
    let api: Api<PolicyBundle> = Api::namespaced(ctx.client.clone(), &ns);
    let patch = serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1",
        "kind": "PolicyBundle",
        "status": status,
    });
    api.patch_status(
        &bundle.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    let was_valid = bundle.status.as_ref().and_then(|s| s.valid);
    if was_valid != status.valid {
        let (type_, reason, note) = if status.valid == Some(true) {
            (
                EventType::Normal,
                "Valid",
                format!("{} rules", status.rule_count.unwrap_or(0)),
            )
        } else {
            let first = status
                .errors
                .first()
                .map(|e| format!("{}: {}", e.path, e.message))
                .unwrap_or_default();
            (
                EventType::Warning,
                "ValidationFailed",
                format!(
                    "{} error(s); the first: {first}",
                    status.error_count.unwrap_or(0)
                ),
            )
        };
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(crate::crd::schema::truncate(&note, 1000)),
            action: "Validate".into(),
            secondary: None,
        };
        if let Err(e) = ctx.recorder.publish(&ev, &bundle.object_ref(&())).await {
            tracing::debug!(error = %e, "event not recorded");
        }
    }
    Ok(Action::await_change())
}

pub fn error_policy(bundle: Arc<PolicyBundle>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(bundle = %bundle.name_any(), error = %error, "reconcile failed");
    Action::requeue(super::image_scan::backoff(3).max(Duration::from_secs(5)))
}
