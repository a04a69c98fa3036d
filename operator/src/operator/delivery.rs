//! The delivery task: drains the outbox with [`crate::notify::Deliverer`] and records each
//! sink's deliveries in its Subscription's status.
//!
//! Traps:
//! - Only the leader delivers (the outbox does not claim rows).
//! - Delivery records are kept here between writes and patched under their own field manager:
//!   the watch cache lags behind our own patches, so counting from it would lose failures.
//! - Secrets are read at delivery time, so a rotated URL is used at once and the outbox never
//!   holds one.

use super::context::Context;
use crate::crd::ImageScan;
use crate::crd::subscription::{Delivery, Subscription};
use crate::notify::{Deliverer, DeliveryConfig, DeliveryReport, EnvError, Environment, Notification};
use crate::store::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::runtime::reflector::ObjectRef;
use kube::Resource;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The field manager of `status.deliveries`.
pub const DELIVERY_MANAGER: &str = "plimsoll-operator-delivery";
/// The outbox is polled at least this often (retries come due without a signal).
const POLL: Duration = Duration::from_secs(1);

/// Reads Secrets and publishes Events for the deliverer.
pub struct KubeEnvironment {
    pub ctx: Arc<Context>,
}

impl Environment for KubeEnvironment {
    async fn secret(&self, namespace: &str, name: &str, key: &str) -> Result<Option<String>, EnvError> {
        let api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), namespace);
        let secret = api.get_opt(name).await.map_err(|e| EnvError::new(format!("reading Secret {namespace}/{name}: {e}")))?;
        Ok(secret
            .and_then(|s| s.data)
            .and_then(|d| d.get(key).map(|b| String::from_utf8_lossy(&b.0).trim().to_owned())))
    }

    async fn publish_event(&self, n: &Notification) -> Result<(), EnvError> {
        let Some(scan) = &n.image.scan else {
            return Ok(());
        };
        let Some(obj) = self
            .ctx
            .scans
            .get()
            .and_then(|c| c.get(&ObjectRef::<ImageScan>::new(&scan.name).within(&scan.namespace)))
        else {
            return Ok(());
        };
        let ev = Event {
            type_: EventType::Normal,
            reason: event_reason(n).into(),
            note: Some(crate::crd::schema::truncate(&crate::notify::summary(n), 1000)),
            action: "Notify".into(),
            secondary: None,
        };
        self.ctx
            .recorder
            .publish(&ev, &obj.object_ref(&()))
            .await
            .map_err(|e| EnvError::new(format!("publishing an Event: {e}")))
    }
}

fn event_reason(n: &Notification) -> &'static str {
    use crate::crd::subscription::EventType as E;
    match n.event {
        E::TagUpdate => "TagUpdated",
        E::PolicyEval => "PolicyEvalChanged",
        E::VulnUpdate => "VulnerabilitiesChanged",
        E::AnalysisUpdate => "AnalysisUpdated",
        E::FixAvailable => "FixAvailable",
    }
}

/// The delivery settings from the operator's configuration.
pub fn config(_args: &super::config::OperatorArgs) -> DeliveryConfig {
    DeliveryConfig::default()
}

/// Runs until the process ends.
pub async fn run(ctx: Arc<Context>, config: DeliveryConfig) {
    let mut deliverer = match Deliverer::new(config) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the notification HTTP client; notifications stay queued");
            return;
        }
    };
    let env = KubeEnvironment { ctx: ctx.clone() };
    let mut records: HashMap<(String, String), Vec<Delivery>> = HashMap::new();
    loop {
        tokio::select! {
            () = ctx.outbox_wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        let reports = match deliverer.run_once(&ctx.store, &env, Timestamp::now()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "reading the outbox failed; retrying");
                continue;
            }
        };
        if reports.is_empty() {
            continue;
        }
        record(&ctx, &mut records, &reports).await;
    }
}

async fn record(
    ctx: &Context,
    records: &mut HashMap<(String, String), Vec<Delivery>>,
    reports: &[DeliveryReport],
) {
    let mut by_sub: HashMap<(String, String), Vec<&DeliveryReport>> = HashMap::new();
    for r in reports {
        ctx.metrics.delivered(r.sink_name(), r.outcome.label());
        by_sub
            .entry((r.namespace.clone(), r.subscription.clone()))
            .or_default()
            .push(r);
    }
    for ((ns, name), reports) in by_sub {
        let current = ctx
            .subscriptions
            .get()
            .and_then(|c| c.get(&ObjectRef::<Subscription>::new(&name).within(&ns)));
        let Some(current) = current else {
            // Deleted since: its entries are delivered or given up; nothing to record.
            continue;
        };
        let deliveries = records.entry((ns.clone(), name.clone())).or_insert_with(|| {
            current
                .status
                .as_ref()
                .map(|s| s.deliveries.clone())
                .unwrap_or_default()
        });
        crate::notify::apply_reports(deliveries, &reports);
        let api: Api<Subscription> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = serde_json::json!({
            "apiVersion": "plimsoll.dev/v1alpha1",
            "kind": "Subscription",
            "status": { "deliveries": deliveries },
        });
        if let Err(e) = api
            .patch_status(
                &name,
                &PatchParams::apply(DELIVERY_MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await
        {
            tracing::warn!(subscription = %name, namespace = %ns, error = %e, "cannot record deliveries in the status");
        }
    }
}
