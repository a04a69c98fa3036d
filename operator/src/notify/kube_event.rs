//! The Kubernetes Event of a notification (KubernetesEvents sink), sans-IO: type, reason and
//! note. Events are best-effort in Kubernetes (deduplicated, expired after an hour by
//! default): a sink for `kubectl describe imagescan` and event exporters, not an audit log.

use super::event::Notification;
use crate::crd::subscription::EventType;
use std::fmt::Write as _;

/// Longest note: Kubernetes rejects Events whose note exceeds 1 kB.
pub const MAX_NOTE: usize = 1000;

/// `Normal` or `Warning`, in Kubernetes' words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSeverity {
    Normal,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeEvent {
    pub severity: EventSeverity,
    /// PascalCase, at most 128 characters.
    pub reason: &'static str,
    pub note: String,
}

/// One line saying what happened: `policy_eval registry/app:1; verdict STOP (was GO); …`.
pub fn summary(n: &Notification) -> String {
    event(n).note
}

/// The Event of `n`. Warnings: a STOP verdict, new vulnerabilities, a fix to apply.
pub fn event(n: &Notification) -> KubeEvent {
    let stop = n.verdict.as_ref().is_some_and(|v| v.final_action == "STOP");
    let (reason, severity) = match n.event {
        EventType::PolicyEval => ("PolicyVerdictChanged", stop),
        EventType::VulnUpdate => (
            "VulnerabilitiesChanged",
            n.diff.as_ref().is_some_and(|d| !d.added.is_empty()),
        ),
        EventType::FixAvailable => ("FixAvailable", true),
        EventType::TagUpdate => ("TagUpdated", false),
        EventType::AnalysisUpdate => ("AnalysisUpdated", stop),
    };
    let mut note = String::new();
    if n.test {
        note.push_str("[test] ");
    }
    let _ = write!(note, "{} {}", n.event_name(), n.image.reference);
    if let Some(v) = &n.verdict {
        let _ = write!(note, "; verdict {}", v.final_action);
        if let Some(p) = &v.previous_final_action {
            let _ = write!(note, " (was {p})");
        }
    }
    if let Some(c) = &n.counts {
        let _ = write!(
            note,
            "; {} critical, {} high, {} fixable",
            c.critical, c.high, c.fixable
        );
    }
    if let Some(d) = &n.diff {
        let _ = write!(
            note,
            "; {} added, {} updated, {} removed",
            d.added.len(),
            d.updated.len(),
            d.removed.len()
        );
    }
    if !n.fixes.is_empty() {
        let ids: Vec<&str> = n.fixes.iter().take(5).map(|e| e.vuln_id.as_str()).collect();
        let _ = write!(note, "; fixes for {}", ids.join(", "));
        if n.fixes.len() > 5 {
            let _ = write!(note, " and {} more", n.fixes.len() - 5);
        }
    }
    if let Some(t) = &n.tag {
        let _ = write!(note, "; now {}", t.digest);
    }
    let _ = write!(note, "; subscription {}; id {}", n.subscription.name, n.id);
    KubeEvent {
        severity: if severity {
            EventSeverity::Warning
        } else {
            EventSeverity::Normal
        },
        reason,
        note: clip_bytes(note, MAX_NOTE),
    }
}

/// At most `max` bytes, cut at a character boundary, ending with `…` when cut.
fn clip_bytes(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::samples::{ALL_EVENTS, sample};

    #[test]
    fn events_are_short_and_say_what_happened() {
        for e in ALL_EVENTS {
            let ev = event(&sample(e));
            assert!(ev.reason.len() <= 128 && ev.note.len() <= MAX_NOTE);
            assert!(
                ev.note.contains("registry.example/team/app:1.2"),
                "{}",
                ev.note
            );
        }
        let ev = event(&sample(EventType::PolicyEval));
        assert_eq!(ev.severity, EventSeverity::Warning);
        assert!(ev.note.contains("verdict STOP (was GO)"), "{}", ev.note);
        let ev = event(&sample(EventType::TagUpdate));
        assert_eq!(
            (ev.reason, ev.severity),
            ("TagUpdated", EventSeverity::Normal)
        );
        let mut long = sample(EventType::FixAvailable);
        long.image.reference = "é/".repeat(2000);
        let note = event(&long).note;
        assert!(
            note.len() <= MAX_NOTE && note.ends_with('…'),
            "{}",
            note.len()
        );
    }
}
