//! `/metrics`: Prometheus counters kept as things happen, and gauges (queue depth, running
//! Jobs, scans by phase, verdicts, findings by severity) computed from the caches at scrape
//! time, so they are never stale and cost nothing between scrapes.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

type Labels = Vec<(String, String)>;

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The operator's metrics.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<Labels, Counter>,
    reconcile_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    jobs_started: Counter,
    jobs_finished: Family<Labels, Counter>,
    uploads: Family<Labels, Counter>,
    upload_bytes: Counter,
    evaluations: Counter,
    evaluation_seconds: Histogram,
    queue_depth: Gauge,
    running_jobs: Gauge,
    scans: Family<Labels, Gauge>,
    verdicts: Family<Labels, Gauge>,
    findings: Family<Labels, Gauge>,
    notifications_queued: Family<Labels, Counter>,
    deliveries: Family<Labels, Counter>,
    rematched: Counter,
}

/// What the gauges show, read from the caches at scrape time.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub queue_depth: usize,
    pub running_jobs: usize,
    pub scans_by_phase: Vec<(String, usize)>,
    pub verdicts: Vec<(String, usize)>,
    pub findings_by_severity: Vec<(String, u64)>,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("plimsoll");
        let m = Self {
            reconciles: Family::default(),
            reconcile_seconds: Family::new_with_constructor(duration_histogram),
            jobs_started: Counter::default(),
            jobs_finished: Family::default(),
            uploads: Family::default(),
            upload_bytes: Counter::default(),
            evaluations: Counter::default(),
            evaluation_seconds: duration_histogram(),
            queue_depth: Gauge::default(),
            running_jobs: Gauge::default(),
            scans: Family::default(),
            verdicts: Family::default(),
            findings: Family::default(),
            notifications_queued: Family::default(),
            deliveries: Family::default(),
            rematched: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "reconciles",
            "Reconciles by kind and result",
            m.reconciles.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            m.reconcile_seconds.clone(),
        );
        registry.register(
            "analyzer_jobs_started",
            "Analyzer Jobs created",
            m.jobs_started.clone(),
        );
        registry.register(
            "analyzer_jobs_finished",
            "Analyzer Jobs finished, by outcome",
            m.jobs_finished.clone(),
        );
        registry.register(
            "uploads",
            "Ingest requests by endpoint and result",
            m.uploads.clone(),
        );
        registry.register(
            "upload_bytes",
            "Bytes of analyses received (as sent)",
            m.upload_bytes.clone(),
        );
        registry.register(
            "evaluations",
            "Policy evaluations run",
            m.evaluations.clone(),
        );
        registry.register(
            "evaluation_duration_seconds",
            "Matching and policy evaluation of one image",
            m.evaluation_seconds.clone(),
        );
        registry.register(
            "scan_queue_depth",
            "ImageScans waiting for an analyzer slot",
            m.queue_depth.clone(),
        );
        registry.register(
            "analyzer_jobs_running",
            "Analyzer Jobs counted against the cap",
            m.running_jobs.clone(),
        );
        registry.register("imagescans", "ImageScans by phase", m.scans.clone());
        registry.register("verdicts", "ImageScans by final action", m.verdicts.clone());
        registry.register(
            "findings",
            "Vulnerability matches over all ImageScans, by severity",
            m.findings.clone(),
        );
        registry.register(
            "notifications_queued",
            "Notifications written to the outbox, by event",
            m.notifications_queued.clone(),
        );
        registry.register(
            "notification_deliveries",
            "Delivery attempts, by sink kind and outcome (delivered, failed, dead)",
            m.deliveries.clone(),
        );
        registry.register(
            "feed_rematches",
            "Stored analyses matched again after a feed change",
            m.rematched.clone(),
        );
        Self { registry, ..m }
    }

    pub fn reconciled(&self, kind: &str, took: Duration, failed: bool) {
        let result = if failed { "error" } else { "ok" };
        self.reconciles
            .get_or_create(&labels(&[("kind", kind), ("result", result)]))
            .inc();
        self.reconcile_seconds
            .get_or_create(&labels(&[("kind", kind)]))
            .observe(took.as_secs_f64());
    }

    pub fn job_started(&self) {
        self.jobs_started.inc();
    }

    pub fn job_finished(&self, outcome: &str) {
        self.jobs_finished
            .get_or_create(&labels(&[("outcome", outcome)]))
            .inc();
    }

    pub fn ingest(&self, endpoint: &str, status: u16, bytes: usize) {
        self.uploads
            .get_or_create(&labels(&[
                ("endpoint", endpoint),
                ("code", &status.to_string()),
            ]))
            .inc();
        self.upload_bytes
            .inc_by(u64::try_from(bytes).unwrap_or(u64::MAX));
    }

    pub fn notifications_queued(&self, event: &str, n: usize) {
        self.notifications_queued
            .get_or_create(&labels(&[("event", event)]))
            .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    pub fn delivered(&self, sink: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&labels(&[("sink", sink), ("outcome", outcome)]))
            .inc();
    }

    pub fn rematched(&self) {
        self.rematched.inc();
    }

    pub fn evaluated(&self, took: Duration) {
        self.evaluations.inc();
        self.evaluation_seconds.observe(took.as_secs_f64());
    }

    /// The exposition text, with the gauges set from `snapshot`.
    pub fn render(&self, snapshot: &Snapshot) -> Result<String, std::fmt::Error> {
        self.queue_depth.set(count(snapshot.queue_depth));
        self.running_jobs.set(count(snapshot.running_jobs));
        self.scans.clear();
        for (phase, n) in &snapshot.scans_by_phase {
            self.scans
                .get_or_create(&labels(&[("phase", phase)]))
                .set(count(*n));
        }
        self.verdicts.clear();
        for (action, n) in &snapshot.verdicts {
            self.verdicts
                .get_or_create(&labels(&[("final_action", action)]))
                .set(count(*n));
        }
        self.findings.clear();
        for (severity, n) in &snapshot.findings_by_severity {
            self.findings
                .get_or_create(&labels(&[("severity", severity)]))
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_counters_and_gauges() {
        let m = Metrics::new();
        m.reconciled("imagescan", Duration::from_millis(3), false);
        m.job_started();
        m.ingest("analysis", 200, 1234);
        let text = m
            .render(&Snapshot {
                queue_depth: 7,
                running_jobs: 4,
                scans_by_phase: vec![("Ready".into(), 3)],
                verdicts: vec![("STOP".into(), 2)],
                findings_by_severity: vec![("critical".into(), 5)],
            })
            .expect("renders");
        for want in [
            "plimsoll_reconciles_total{kind=\"imagescan\",result=\"ok\"} 1",
            "plimsoll_analyzer_jobs_started_total 1",
            "plimsoll_scan_queue_depth 7",
            "plimsoll_analyzer_jobs_running 4",
            "plimsoll_imagescans{phase=\"Ready\"} 3",
            "plimsoll_verdicts{final_action=\"STOP\"} 2",
            "plimsoll_findings{severity=\"critical\"} 5",
            "plimsoll_upload_bytes_total 1234",
            "# EOF",
        ] {
            assert!(text.contains(want), "missing {want} in\n{text}");
        }
    }
}
