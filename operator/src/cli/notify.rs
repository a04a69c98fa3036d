//! `plimsoll notify test SUBSCRIPTION`: one test notification to each sink of a Subscription,
//! sent now with the user's credentials, so that a wrong URL, a missing Secret or a receiver
//! that rejects the payload shows up before a real event is lost to it.
//!
//! The image is the Subscription's first named ImageScan when it exists (with its current
//! verdict and counts), else its first pattern: the receiver sees a realistic document, marked
//! `"test": true` (Anchore format: annotation `plimsoll.dev/test`).

use super::args::NotifyTestArgs;
use super::{CommandError, Ctx, ExitStatus, Output};
use crate::crd::{ImageScan, Subscription};
use crate::notify::event::test_notification;
use crate::notify::kube_env::KubeEnvironment;
use crate::notify::target::sink_name;
use crate::notify::{Deliverer, DeliveryConfig, ImageInfo, ObjectName, SinkTarget, VerdictChange};
use anyhow::anyhow;
use kube::api::Api;
use std::fmt::Write as _;

pub async fn test(args: &NotifyTestArgs, ctx: &Ctx) -> Result<Output, CommandError> {
    let client = kube::Client::try_default().await.map_err(|e| {
        CommandError::Scan(anyhow!(
            "connecting to the cluster (KUBECONFIG or in-cluster configuration): {e}"
        ))
    })?;
    let ns = args
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let name = &args.subscription;
    let subs: Api<Subscription> = Api::namespaced(client.clone(), &ns);
    let sub = match subs.get_opt(name).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(CommandError::Usage(anyhow!(
                "Subscription {ns}/{name} not found (kubectl get subscriptions.plimsoll.dev -n {ns})"
            )));
        }
        Err(e) => {
            return Err(CommandError::Scan(anyhow!(
                "reading Subscription {ns}/{name}: {e}"
            )));
        }
    };
    let targets = SinkTarget::for_subscription(&sub);
    if targets.is_empty() {
        return Err(CommandError::Usage(anyhow!(
            "Subscription {ns}/{name} configures no sink"
        )));
    }
    let Some(event) = sub.spec.events.first().copied() else {
        return Err(CommandError::Usage(anyhow!(
            "Subscription {ns}/{name} subscribes to no event"
        )));
    };
    let mut warnings = Vec::new();
    let (image, verdict, counts) = image_of(&client, &ns, &sub, &mut warnings).await;
    let mut n = test_notification(
        ObjectName::new(ns.clone(), name.clone()),
        event,
        image,
        chrono::DateTime::<chrono::Utc>::from((ctx.clock)()),
    );
    n.verdict = verdict;
    n.counts = counts;
    let deliverer = Deliverer::new(DeliveryConfig::default())
        .map_err(|e| CommandError::Scan(e.into()))?
        .with_clock(ctx.clock);
    let env = KubeEnvironment::new(client, "plimsoll-cli");
    let mut out = String::new();
    let mut failed = false;
    for t in &targets {
        let sink = sink_name(t.sink);
        match deliverer.send_now(t, &n, &env).await {
            Ok(()) => {
                let _ = writeln!(out, "{sink}: ok");
            }
            Err(e) => {
                failed = true;
                let _ = writeln!(out, "{sink}: failed: {e}");
            }
        }
    }
    Ok(Output {
        stdout: out.into_bytes(),
        warnings,
        status: if failed {
            ExitStatus::ScanFailure
        } else {
            ExitStatus::Success
        },
    })
}

/// The image the test notification is about: the first named ImageScan, else the first
/// pattern, else a placeholder.
async fn image_of(
    client: &kube::Client,
    ns: &str,
    sub: &Subscription,
    warnings: &mut Vec<String>,
) -> (
    ImageInfo,
    Option<VerdictChange>,
    Option<crate::crd::image_scan::VulnerabilityCounts>,
) {
    let images = &sub.spec.images;
    if let Some(scan) = images.scan_refs.first() {
        let api: Api<ImageScan> = Api::namespaced(client.clone(), ns);
        match api.get_opt(scan).await {
            Ok(Some(s)) => {
                let status = s.status.as_ref();
                let verdict = status
                    .and_then(|st| st.verdict.as_ref())
                    .map(|v| VerdictChange::from_verdict(v, None));
                let counts = status.and_then(|st| st.vulnerabilities);
                return (ImageInfo::from_scan(&s), verdict, counts);
            }
            Ok(None) => warnings.push(format!("ImageScan {ns}/{scan} not found")),
            Err(e) => warnings.push(format!("reading ImageScan {ns}/{scan}: {e}")),
        }
    }
    let reference = images
        .patterns
        .first()
        .cloned()
        .unwrap_or_else(|| "example.invalid/plimsoll/test:latest".to_owned());
    (
        ImageInfo {
            reference,
            digest: None,
            scan: None,
        },
        None,
        None,
    )
}
