//! The Subscription's delivery records from delivery reports, sans-IO: one record per sink
//! with the last success, the last attempt, the last error, the failures since the last
//! success and the dead letters (Anchore users' complaint: webhooks that fail silently).

use super::deliver::{DeliveryReport, Outcome};
use crate::crd::subscription::{Delivery, MAX_ERROR_LEN, SinkKind};
use crate::store::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

fn time(t: Timestamp) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::from_millisecond(t.unix_millis())
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

fn later(current: &mut Option<Time>, t: &Time) {
    if current.as_ref().is_none_or(|c| c.0 <= t.0) {
        *current = Some(t.clone());
    }
}

fn order(k: SinkKind) -> u8 {
    match k {
        SinkKind::Webhook => 0,
        SinkKind::Slack => 1,
        SinkKind::KubernetesEvents => 2,
    }
}

/// The reports of one Subscription.
pub fn reports_for<'a>(
    reports: &'a [DeliveryReport],
    namespace: &str,
    subscription: &str,
) -> Vec<&'a DeliveryReport> {
    reports
        .iter()
        .filter(|r| r.namespace == namespace && r.subscription == subscription)
        .collect()
}

/// Folds `reports` (of one Subscription) into its delivery records, oldest report first. A
/// success resets `failures`; `lastError` keeps the last failure (compare its time with
/// `lastDeliveredAt`).
pub fn apply_reports(deliveries: &mut Vec<Delivery>, reports: &[&DeliveryReport]) {
    let mut sorted: Vec<&DeliveryReport> = reports.to_vec();
    sorted.sort_by_key(|r| r.at);
    for r in sorted {
        let i = match deliveries.iter().position(|d| d.sink == r.sink) {
            Some(i) => i,
            None => {
                deliveries.push(Delivery {
                    sink: r.sink,
                    last_delivered_at: None,
                    last_attempt_at: None,
                    last_error: None,
                    failures: 0,
                    dead_letters: 0,
                });
                deliveries.len() - 1
            }
        };
        let d = &mut deliveries[i];
        let at = time(r.at);
        later(&mut d.last_attempt_at, &at);
        match &r.outcome {
            Outcome::Delivered => {
                later(&mut d.last_delivered_at, &at);
                d.failures = 0;
            }
            Outcome::Failed { error, .. } => {
                d.failures = d.failures.saturating_add(1);
                d.last_error = Some(crate::crd::schema::truncate(error, MAX_ERROR_LEN));
            }
            Outcome::Dead { error } => {
                d.failures = d.failures.saturating_add(1);
                d.dead_letters = d.dead_letters.saturating_add(1);
                d.last_error = Some(crate::crd::schema::truncate(error, MAX_ERROR_LEN));
            }
        }
    }
    deliveries.sort_by_key(|d| order(d.sink));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sink: SinkKind, at: i64, outcome: Outcome) -> DeliveryReport {
        DeliveryReport {
            namespace: "team".into(),
            subscription: "alerts".into(),
            sink,
            at: Timestamp::from_unix_millis(at),
            outcome,
            notification_id: "id".into(),
        }
    }

    fn failed(e: &str) -> Outcome {
        Outcome::Failed {
            error: e.into(),
            retry_at: Timestamp::from_unix_millis(0),
        }
    }

    #[test]
    fn records_per_sink() {
        let reports = [
            report(SinkKind::Slack, 3_000, Outcome::Delivered),
            report(
                SinkKind::Webhook,
                1_000,
                failed("HTTP 503 from the receiver"),
            ),
            report(SinkKind::Webhook, 2_000, failed("no answer within 10s")),
            report(
                SinkKind::Webhook,
                2_500,
                Outcome::Dead {
                    error: "HTTP 400 from the receiver".into(),
                },
            ),
        ];
        let refs: Vec<&DeliveryReport> = reports.iter().collect();
        let mut d = Vec::new();
        apply_reports(&mut d, &refs);
        assert_eq!(
            d.iter().map(|x| x.sink).collect::<Vec<_>>(),
            [SinkKind::Webhook, SinkKind::Slack]
        );
        let w = &d[0];
        assert_eq!((w.failures, w.dead_letters), (3, 1));
        assert_eq!(w.last_error.as_deref(), Some("HTTP 400 from the receiver"));
        assert_eq!(
            w.last_attempt_at,
            Some(time(Timestamp::from_unix_millis(2_500)))
        );
        assert_eq!(w.last_delivered_at, None);
        let s = &d[1];
        assert_eq!(
            (s.failures, s.last_delivered_at.clone()),
            (0, Some(time(Timestamp::from_unix_millis(3_000))))
        );

        // A later success resets the failures, keeps the dead letters and the last error.
        let later = [report(SinkKind::Webhook, 4_000, Outcome::Delivered)];
        apply_reports(&mut d, &later.iter().collect::<Vec<_>>());
        assert_eq!((d[0].failures, d[0].dead_letters), (0, 1));
        assert_eq!(
            d[0].last_delivered_at,
            Some(time(Timestamp::from_unix_millis(4_000)))
        );
        assert!(d[0].last_error.is_some());
        // An older report does not move the times back.
        let old = [report(SinkKind::Webhook, 500, failed("old"))];
        apply_reports(&mut d, &old.iter().collect::<Vec<_>>());
        assert_eq!(
            d[0].last_attempt_at,
            Some(time(Timestamp::from_unix_millis(4_000)))
        );
    }

    #[test]
    fn long_errors_are_cut() {
        let r = [report(SinkKind::Webhook, 1, failed(&"x".repeat(5000)))];
        let mut d = Vec::new();
        apply_reports(&mut d, &r.iter().collect::<Vec<_>>());
        assert!(
            d[0].last_error
                .as_deref()
                .is_some_and(|e| e.chars().count() <= MAX_ERROR_LEN)
        );
        assert_eq!(reports_for(&r, "team", "alerts").len(), 1);
        assert!(reports_for(&r, "team", "other").is_empty());
    }
}
