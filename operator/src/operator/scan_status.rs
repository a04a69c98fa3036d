//! An ImageScan's status from what the controller learned, sans-IO: phase, the four
//! conditions with reasons, and the bounded verdict.
//!
//! Traps:
//! - Transition times move only when a condition's status changes ([`set_condition`]), so a
//!   status computed again from the same facts equals the old one and is not written.
//! - Everything copied from the evaluation is cut to the schema's bounds (the top rows, their
//!   messages): the status must never be refused for size.

use crate::crd::conditions::{Condition, ConditionStatus, set_condition};
use crate::crd::image_scan::{
    MAX_CHECK_OUTPUT_LEN, MAX_TOP_ROWS, Phase, VerdictRow, VulnerabilityCounts, condition_type,
    short_digest,
};
use crate::crd::policy_bundle::Action as CrdAction;
use crate::crd::schema::truncate;
use crate::crd::{ImageScanStatus, image_scan};
use crate::policy::{Action, Verdict};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Where the analysis of the scan's image stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Analysis {
    /// `spec.suspend`: nothing changes.
    Suspended,
    /// The reference cannot be parsed.
    InvalidReference(String),
    /// Waiting for an analyzer slot.
    Queued { job: String },
    /// An analyzer Job runs (the digest is known once it resolved the tag).
    Running { job: String, digest: Option<String> },
    /// The Job ended without an analysis. `reason` is a status reason word.
    Failed {
        job: Option<String>,
        digest: Option<String>,
        reason: String,
        message: String,
    },
    /// The analysis of `digest` is stored.
    Stored {
        job: Option<String>,
        digest: String,
        analyzer_version: String,
        analyzed_at: Time,
    },
}

/// The referenced PolicyBundle.
#[derive(Debug, Clone, PartialEq)]
pub enum Bundle {
    Missing {
        name: String,
    },
    Invalid {
        name: String,
        errors: usize,
        first: String,
    },
    Valid,
}

/// A fresh evaluation, or the one already in the status (kept as is).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub verdict: image_scan::Verdict,
    pub counts: VulnerabilityCounts,
    pub evaluated_at: Time,
    pub feeds_updated_at: Option<Time>,
}

/// Reasons that say the image itself could not be resolved (the `Resolved` condition fails).
fn resolution_failure(reason: &str) -> bool {
    matches!(
        reason,
        "InvalidImageReference" | "RegistryAuthFailed" | "ImageNotFound"
    )
}

/// The status for these facts, starting from the previous one (for transition times).
pub fn compute(
    previous: Option<&ImageScanStatus>,
    generation: Option<i64>,
    analysis: &Analysis,
    bundle: &Bundle,
    evaluation: Option<Evaluation>,
    now: &Time,
) -> ImageScanStatus {
    let mut s = previous.cloned().unwrap_or_default();
    if *analysis == Analysis::Suspended {
        return s;
    }
    let cond = |t: &str, st: ConditionStatus, reason: &str, msg: &str| {
        Condition::new(t, st, reason, msg, now.clone(), generation)
    };
    use ConditionStatus::{False, True, Unknown};
    let mut conditions = std::mem::take(&mut s.conditions);
    let mut set = |c: Condition| {
        set_condition(&mut conditions, c);
    };
    // Resolved and Analyzed.
    let (phase, blocker): (Phase, Option<(String, String)>) = match analysis {
        // Returned early above.
        Analysis::Suspended => (s.phase.unwrap_or(Phase::Pending), None),
        Analysis::InvalidReference(message) => {
            set(cond(
                condition_type::RESOLVED,
                False,
                "InvalidImageReference",
                message,
            ));
            set(cond(
                condition_type::ANALYZED,
                False,
                "InvalidImageReference",
                "",
            ));
            s.job_name = None;
            (
                Phase::Failed,
                Some(("InvalidImageReference".into(), message.clone())),
            )
        }
        Analysis::Queued { job } => {
            set(cond(
                condition_type::RESOLVED,
                Unknown,
                "Queued",
                "waiting for an analyzer slot",
            ));
            set(cond(
                condition_type::ANALYZED,
                Unknown,
                "Queued",
                "waiting for an analyzer slot",
            ));
            s.job_name = Some(job.clone());
            (
                Phase::Queued,
                Some(("Queued".into(), "waiting for an analyzer slot".into())),
            )
        }
        Analysis::Running { job, digest } => {
            match digest {
                Some(d) => {
                    set(cond(condition_type::RESOLVED, True, "Resolved", d));
                    s.short_digest = Some(short_digest(d));
                    s.digest = Some(d.clone());
                }
                None => set(cond(condition_type::RESOLVED, Unknown, "Analyzing", "")),
            }
            let msg = format!("analyzer Job {job} is running");
            set(cond(condition_type::ANALYZED, Unknown, "Analyzing", &msg));
            s.job_name = Some(job.clone());
            (Phase::Analyzing, Some(("Analyzing".into(), msg)))
        }
        Analysis::Failed {
            job,
            digest,
            reason,
            message,
        } => {
            if resolution_failure(reason) {
                set(cond(condition_type::RESOLVED, False, reason, message));
            } else if let Some(d) = digest {
                set(cond(condition_type::RESOLVED, True, "Resolved", d));
            }
            set(cond(condition_type::ANALYZED, False, reason, message));
            s.job_name.clone_from(job);
            (Phase::Failed, Some((reason.clone(), message.clone())))
        }
        Analysis::Stored {
            job,
            digest,
            analyzer_version,
            analyzed_at,
        } => {
            set(cond(condition_type::RESOLVED, True, "Resolved", digest));
            set(cond(condition_type::ANALYZED, True, "Analyzed", ""));
            if s.digest.as_deref() != Some(digest) {
                s.digest = Some(digest.clone());
                s.short_digest = Some(short_digest(digest));
            }
            s.analyzer_version = Some(truncate(analyzer_version, 64));
            s.last_analyzed_at = Some(analyzed_at.clone());
            if job.is_some() {
                s.job_name.clone_from(job);
            }
            (Phase::Evaluating, None)
        }
    };
    // Evaluated and Ready.
    let bundle_problem = match bundle {
        Bundle::Missing { name } => Some((
            "PolicyBundleNotFound".to_owned(),
            format!("PolicyBundle {name} does not exist in this namespace"),
        )),
        Bundle::Invalid {
            name,
            errors,
            first,
        } => Some((
            "PolicyBundleInvalid".to_owned(),
            format!("PolicyBundle {name} has {errors} validation error(s); the first: {first}"),
        )),
        Bundle::Valid => None,
    };
    let phase = match (&bundle_problem, &blocker, evaluation) {
        (Some((reason, message)), _, _) => {
            set(cond(condition_type::EVALUATED, False, reason, message));
            set(cond(condition_type::READY, False, reason, message));
            Phase::Failed.max_with(phase)
        }
        (None, Some((reason, message)), _) => {
            set(cond(
                condition_type::EVALUATED,
                Unknown,
                "WaitingForAnalysis",
                "",
            ));
            let st = if phase == Phase::Failed {
                False
            } else {
                Unknown
            };
            set(cond(condition_type::READY, st, reason, message));
            phase
        }
        (None, None, Some(e)) => {
            let msg = format!(
                "{} with {} STOP and {} WARN rows",
                e.verdict.final_action.as_str(),
                e.verdict.stop_count,
                e.verdict.warn_count
            );
            set(cond(condition_type::EVALUATED, True, "Evaluated", &msg));
            set(cond(condition_type::READY, True, "Ready", &msg));
            s.vulnerabilities = Some(e.counts);
            s.verdict = Some(e.verdict);
            s.last_evaluated_at = Some(e.evaluated_at);
            s.feeds_updated_at = e.feeds_updated_at;
            Phase::Ready
        }
        (None, None, None) => {
            set(cond(condition_type::EVALUATED, Unknown, "Evaluating", ""));
            set(cond(condition_type::READY, Unknown, "Evaluating", ""));
            Phase::Evaluating
        }
    };
    s.conditions = conditions;
    s.phase = Some(phase);
    s.observed_generation = generation;
    s
}

trait MaxWith {
    fn max_with(self, other: Phase) -> Phase;
}

impl MaxWith for Phase {
    /// A bundle problem fails the scan, but an analysis still in flight keeps its phase (the
    /// verdict follows as soon as the bundle is fixed).
    fn max_with(self, other: Phase) -> Phase {
        match other {
            Phase::Queued | Phase::Analyzing => other,
            _ => self,
        }
    }
}

/// The status form of a verdict: counts and the first rows, STOP before WARN, cut to size.
pub fn crd_verdict(v: &Verdict) -> image_scan::Verdict {
    let mut rows: Vec<&crate::policy::Row> = v
        .rows
        .iter()
        .filter(|r| r.whitelisted.is_none() && r.action != Action::Go)
        .collect();
    rows.sort_by_key(|r| match r.action {
        Action::Stop => 0,
        Action::Warn => 1,
        Action::Go => 2,
    });
    let top_rows = rows
        .into_iter()
        .take(MAX_TOP_ROWS)
        .map(|r| VerdictRow {
            gate: truncate(&r.gate, 64),
            trigger: truncate(&r.trigger, 64),
            trigger_id: truncate(&r.trigger_id, 256),
            action: crd_action(r.action),
            check_output: truncate(&r.check_output, MAX_CHECK_OUTPUT_LEN),
            policy_id: truncate(&r.policy_id, 128),
            rule_id: truncate(r.rule_id.as_deref().unwrap_or(""), 128),
        })
        .collect();
    image_scan::Verdict {
        final_action: crd_action(v.final_action),
        reason: truncate(&serde_reason(v), 256),
        bundle_id: truncate(&v.bundle_id, 256),
        bundle_digest: truncate(&v.bundle_digest, 71),
        stop_count: u32::try_from(v.count(Action::Stop)).unwrap_or(u32::MAX),
        warn_count: u32::try_from(v.count(Action::Warn)).unwrap_or(u32::MAX),
        top_rows,
    }
}

fn serde_reason(v: &Verdict) -> String {
    serde_json::to_value(v.reason)
        .ok()
        .and_then(|x| x.as_str().map(str::to_owned))
        .unwrap_or_else(|| "policy_evaluation".to_owned())
}

pub fn crd_action(a: Action) -> CrdAction {
    match a {
        Action::Stop => CrdAction::Stop,
        Action::Warn => CrdAction::Warn,
        Action::Go => CrdAction::Go,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::conditions::find;

    fn t(s: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000 + s).expect("time"))
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn reason(s: &ImageScanStatus, t: &str) -> (ConditionStatus, String) {
        let c = find(&s.conditions, t).expect(t);
        (c.status, c.reason.clone())
    }

    fn evaluation(action: CrdAction) -> Evaluation {
        Evaluation {
            verdict: image_scan::Verdict {
                final_action: action,
                reason: "policy_evaluation".into(),
                bundle_id: "b".into(),
                bundle_digest: "sha256:00".into(),
                stop_count: 1,
                warn_count: 0,
                top_rows: vec![],
            },
            counts: VulnerabilityCounts {
                critical: 2,
                ..Default::default()
            },
            evaluated_at: t(9),
            feeds_updated_at: None,
        }
    }

    #[test]
    fn each_stage_has_its_phase_and_reasons() {
        use ConditionStatus::{False, True, Unknown};
        let stored = Analysis::Stored {
            job: Some("j".into()),
            digest: D.into(),
            analyzer_version: "0.1.0".into(),
            analyzed_at: t(5),
        };
        let failed = |r: &str| Analysis::Failed {
            job: Some("j".into()),
            digest: None,
            reason: r.into(),
            message: "m".into(),
        };
        let missing = Bundle::Missing {
            name: "default".into(),
        };
        let invalid = Bundle::Invalid {
            name: "default".into(),
            errors: 2,
            first: "policies[0]: unknown gate".into(),
        };
        /// Facts, then the phase and (status, reason) of Resolved, Analyzed, Evaluated, Ready.
        type Case = (
            Analysis,
            Bundle,
            Option<Evaluation>,
            Phase,
            [(ConditionStatus, &'static str); 4],
        );
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            (Analysis::Queued { job: "j".into() }, Bundle::Valid, None, Phase::Queued,
             [(Unknown, "Queued"), (Unknown, "Queued"), (Unknown, "WaitingForAnalysis"), (Unknown, "Queued")]),
            (Analysis::Running { job: "j".into(), digest: None }, Bundle::Valid, None, Phase::Analyzing,
             [(Unknown, "Analyzing"), (Unknown, "Analyzing"), (Unknown, "WaitingForAnalysis"), (Unknown, "Analyzing")]),
            (Analysis::InvalidReference("bad".into()), Bundle::Valid, None, Phase::Failed,
             [(False, "InvalidImageReference"), (False, "InvalidImageReference"), (Unknown, "WaitingForAnalysis"), (False, "InvalidImageReference")]),
            (failed("ImageNotFound"), Bundle::Valid, None, Phase::Failed,
             [(False, "ImageNotFound"), (False, "ImageNotFound"), (Unknown, "WaitingForAnalysis"), (False, "ImageNotFound")]),
            (failed("OOMKilled"), Bundle::Valid, None, Phase::Failed,
             [(Unknown, "Pending"), (False, "OOMKilled"), (Unknown, "WaitingForAnalysis"), (False, "OOMKilled")]),
            (stored.clone(), Bundle::Valid, Some(evaluation(CrdAction::Stop)), Phase::Ready,
             [(True, "Resolved"), (True, "Analyzed"), (True, "Evaluated"), (True, "Ready")]),
            (stored.clone(), missing, None, Phase::Failed,
             [(True, "Resolved"), (True, "Analyzed"), (False, "PolicyBundleNotFound"), (False, "PolicyBundleNotFound")]),
            (stored, invalid.clone(), None, Phase::Failed,
             [(True, "Resolved"), (True, "Analyzed"), (False, "PolicyBundleInvalid"), (False, "PolicyBundleInvalid")]),
            (Analysis::Running { job: "j".into(), digest: Some(D.into()) }, invalid, None, Phase::Analyzing,
             [(True, "Resolved"), (Unknown, "Analyzing"), (False, "PolicyBundleInvalid"), (False, "PolicyBundleInvalid")]),
        ];
        for (analysis, bundle, eval, phase, want) in cases {
            let s = compute(None, Some(3), &analysis, &bundle, eval, &t(10));
            assert_eq!(s.phase, Some(phase), "{analysis:?} {bundle:?}");
            assert_eq!(s.observed_generation, Some(3));
            for (ty, (st, r)) in [
                condition_type::RESOLVED,
                condition_type::ANALYZED,
                condition_type::EVALUATED,
                condition_type::READY,
            ]
            .into_iter()
            .zip(want)
            {
                if r == "Pending" {
                    assert!(
                        find(&s.conditions, ty).is_none(),
                        "{ty} not set for {analysis:?}"
                    );
                    continue;
                }
                assert_eq!(
                    reason(&s, ty),
                    (st, r.to_owned()),
                    "{ty} for {analysis:?} {bundle:?}"
                );
            }
        }
    }

    #[test]
    fn same_facts_same_status_and_times_move_on_transitions_only() {
        let a = Analysis::Running {
            job: "j".into(),
            digest: None,
        };
        let first = compute(None, Some(1), &a, &Bundle::Valid, None, &t(1));
        let again = compute(Some(&first), Some(1), &a, &Bundle::Valid, None, &t(2));
        assert_eq!(first, again, "nothing changed: no write");
        let stored = Analysis::Stored {
            job: Some("j".into()),
            digest: D.into(),
            analyzer_version: "0.1.0".into(),
            analyzed_at: t(3),
        };
        let ready = compute(
            Some(&again),
            Some(1),
            &stored,
            &Bundle::Valid,
            Some(evaluation(CrdAction::Go)),
            &t(4),
        );
        let c = find(&ready.conditions, condition_type::READY).expect("ready");
        assert_eq!(c.last_transition_time, t(4));
        assert_eq!(ready.short_digest.as_deref(), Some("sha256:0123456789ab"));
        assert_eq!(ready.vulnerabilities.map(|v| v.critical), Some(2));
        // Suspended: the last verdict stays.
        let suspended = compute(
            Some(&ready),
            Some(2),
            &Analysis::Suspended,
            &Bundle::Valid,
            None,
            &t(5),
        );
        assert_eq!(suspended, ready);
    }
}
