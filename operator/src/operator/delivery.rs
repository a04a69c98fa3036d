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
use crate::crd::subscription::{Delivery, Subscription};
use crate::notify::kube_env::KubeEnvironment;
use crate::notify::target::sink_name;
use crate::notify::{Deliverer, DeliveryConfig, DeliveryReport, Outcome};
use crate::store::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The field manager of `status.deliveries`.
pub const DELIVERY_MANAGER: &str = "plimsoll-operator-delivery";
/// The outbox is polled at least this often (retries come due without a signal).
const POLL: Duration = Duration::from_secs(1);

/// The delivery settings from the operator's configuration.
pub fn config(args: &super::config::OperatorArgs) -> DeliveryConfig {
    DeliveryConfig {
        timeout: args.notification_timeout,
        retry_window: args.notification_retry_window,
        base_backoff: args.notification_backoff,
        ..DeliveryConfig::default()
    }
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
    let env = KubeEnvironment::new(ctx.client.clone(), "plimsoll-operator");
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
        let outcome = match r.outcome {
            Outcome::Delivered => "delivered",
            Outcome::Failed { .. } => "failed",
            Outcome::Dead { .. } => "dead",
        };
        ctx.metrics.delivered(sink_name(r.sink), outcome);
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
        let deliveries = records
            .entry((ns.clone(), name.clone()))
            .or_insert_with(|| {
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
