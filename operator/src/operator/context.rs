//! What every reconcile and request handler shares: the client, the store, the configuration,
//! the caches fed by the watches, the slot counter, and the channel that wakes scans.

use super::bundles::BundleCache;
use super::config::OperatorArgs;
use super::metrics::Metrics;
use super::slots::Slots;
use crate::crd::{ImageScan, PolicyBundle, Subscription};
use crate::store::Store;
use k8s_openapi::api::batch::v1::Job;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store as Cache};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

/// How long a digest claimed by one analyzer Job keeps others waiting.
pub const CLAIM_TTL: Duration = Duration::from_secs(20 * 60);

pub struct Context {
    pub client: kube::Client,
    pub store: Store,
    pub config: OperatorArgs,
    pub bundles: BundleCache,
    pub slots: Mutex<Slots>,
    /// Analyzer Jobs, as the watch sees them.
    pub jobs: Cache<Job>,
    /// PolicyBundles, as the watch sees them.
    pub bundle_cache: Cache<PolicyBundle>,
    /// ImageScans, set once the controller exists.
    pub scans: OnceLock<Cache<ImageScan>>,
    /// Reconcile these scans now.
    pub wake: UnboundedSender<ObjectRef<ImageScan>>,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// Digest -> (namespace/Job analyzing it, since when).
    pub claims: Mutex<HashMap<String, (String, Instant)>>,
    /// Consecutive reconcile errors per scan, for the backoff.
    pub errors: Mutex<HashMap<ObjectRef<ImageScan>, u32>>,
    /// Signalled after feed records were written (a feed push): the freshness task re-matches
    /// the stored analyses the change touches. The store's change log is the durable record;
    /// this only wakes the task early.
    pub feeds_changed: Notify,
    /// SHA-256 (hex) of the token the operator's CronJobs present to the ingest API, as this
    /// replica made it when it took the lead (the store holds the current one for all replicas).
    pub cronjob_token_sha256: RwLock<Option<String>>,
    /// The current tag-watch round (the store's `watch_round` cursor); part of analyzer Job keys.
    pub watch_round: AtomicU64,
    /// Subscriptions, set once their controller exists.
    pub subscriptions: OnceLock<Cache<Subscription>>,
    /// Signalled after notifications were queued: the deliverer runs at once.
    pub outbox_wake: Notify,
    /// Whether the `wgpolicyk8s.io` PolicyReport CRD is served (then one report per ImageScan).
    pub policy_reports: super::policy_report::Availability,
}

impl Context {
    /// The analyzer Job key of a scan in the current watch round
    /// (and, with `rescanInterval`, the current interval).
    pub fn job_key(&self, scan: &ImageScan) -> super::analyzer_job::JobKey {
        let key = super::analyzer_job::JobKey::of(
            scan,
            &self.config.default_platform,
            self.watch_round.load(Ordering::Relaxed),
        );
        match scan.spec.rescan_every() {
            Some(Ok(every)) => key.in_interval(every, std::time::SystemTime::now()),
            _ => key,
        }
    }

    /// Wakes the scans whose analyzer Job is `job_name` in `namespace`.
    pub fn wake_job(&self, namespace: &str, job_name: &str) {
        let Some(scans) = self.scans.get() else {
            return;
        };
        for scan in scans.state() {
            if scan.metadata.namespace.as_deref() == Some(namespace)
                && self.job_key(&scan).job_name() == job_name
            {
                let _ = self.wake.send(ObjectRef::from_obj(scan.as_ref()));
            }
        }
    }

    /// Claims `digest` for `job` unless another Job holds a live claim; returns the holder.
    pub fn claim(&self, digest: &str, job: &str, now: Instant) -> Result<(), String> {
        let Ok(mut claims) = self.claims.lock() else {
            return Ok(());
        };
        claims.retain(|_, (_, at)| now.saturating_duration_since(*at) < CLAIM_TTL);
        match claims.get(digest) {
            Some((holder, _)) if holder != job => Err(holder.clone()),
            _ => {
                claims.insert(digest.to_owned(), (job.to_owned(), now));
                Ok(())
            }
        }
    }

    pub fn release_claim(&self, digest: &str) {
        if let Ok(mut claims) = self.claims.lock() {
            claims.remove(digest);
        }
    }
}
