//! Status conditions in the shape of Kubernetes' `metav1.Condition`, with tighter bounds.
//!
//! Traps of the domain:
//! - `lastTransitionTime` moves only when `status` changes. Rewriting it on every reconcile
//!   (or when only the reason or message changes) makes `kubectl wait` and alerting on
//!   "condition False for 10m" useless. [`set_condition`] keeps it.
//! - The list is a `listType: map` keyed by `type`, so server-side apply merges conditions by
//!   type instead of replacing the whole list (two field managers can own different types).
//!   The key must be required, and each type appears once.
//! - k8s-openapi has a `Condition` type, but its schema carries no bounds; ours caps the
//!   message (the full story lives in the operator's store) so the status stays small.

use super::schema;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most condition types a status may hold (each kind uses four or fewer today).
pub const MAX_CONDITIONS: usize = 8;
/// Longest condition type, e.g. `Evaluated`.
pub const MAX_TYPE_LEN: usize = 64;
/// Longest reason, a CamelCase word such as `ImagePullFailed`.
pub const MAX_REASON_LEN: usize = 128;
/// Longest human-readable message; longer ones are cut with [`schema::truncate`].
pub const MAX_MESSAGE_LEN: usize = 1024;

/// One aspect of the object's state, as `kubectl describe` and `kubectl wait` read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, in CamelCase (`Resolved`, `Analyzed`, `Evaluated`, `Ready`).
    #[serde(rename = "type")]
    #[schemars(length(min = 1, max = MAX_TYPE_LEN), regex(pattern = r"^[A-Z][A-Za-z0-9]*$"))]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// A CamelCase word saying why the condition is in this state, for machines.
    #[schemars(
        length(min = 1, max = MAX_REASON_LEN),
        regex(pattern = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    )]
    pub reason: String,
    /// What happened, for humans; may be empty.
    #[schemars(length(max = MAX_MESSAGE_LEN))]
    pub message: String,
    /// When `status` last changed.
    pub last_transition_time: Time,
    /// The `metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
}

/// The three values of a condition's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl From<bool> for ConditionStatus {
    fn from(b: bool) -> Self {
        if b { Self::True } else { Self::False }
    }
}

impl Condition {
    /// A condition with its message cut to the schema's bound.
    pub fn new(
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: &str,
        now: Time,
        observed_generation: Option<i64>,
    ) -> Self {
        Self {
            type_: schema::truncate(type_, MAX_TYPE_LEN),
            status,
            reason: schema::truncate(reason, MAX_REASON_LEN),
            message: schema::truncate(message, MAX_MESSAGE_LEN),
            last_transition_time: now,
            observed_generation,
        }
    }
}

/// The condition of this type, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Sets `new` in `conditions`, replacing the condition of the same type. The transition time
/// of the existing condition is kept when the status did not change. Returns whether
/// anything changed (so callers can skip a status write).
///
/// A new type beyond [`MAX_CONDITIONS`] is dropped rather than making the status invalid;
/// kinds declare fewer types than that, so it only guards against a programming error.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) -> bool {
    if let Some(old) = conditions.iter_mut().find(|c| c.type_ == new.type_) {
        if old.status == new.status {
            new.last_transition_time = old.last_transition_time.clone();
        }
        if *old == new {
            return false;
        }
        *old = new;
        return true;
    }
    if conditions.len() < MAX_CONDITIONS {
        conditions.push(new);
        return true;
    }
    false
}

/// The `x-kubernetes-list-*` markers for a list of conditions: merge by `type`.
pub(crate) fn list_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut s = <Vec<Condition>>::json_schema(generator);
    s.insert("maxItems".into(), MAX_CONDITIONS.into());
    s.insert("x-kubernetes-list-type".into(), "map".into());
    s.insert(
        "x-kubernetes-list-map-keys".into(),
        serde_json::json!(["type"]),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(secs).expect("valid timestamp"))
    }

    fn cond(type_: &str, status: ConditionStatus, reason: &str, t: i64) -> Condition {
        Condition::new(type_, status, reason, "", at(t), Some(1))
    }

    #[test]
    fn same_status_keeps_transition_time() {
        let mut cs = vec![cond("Ready", ConditionStatus::False, "Analyzing", 10)];
        let changed = set_condition(
            &mut cs,
            cond("Ready", ConditionStatus::False, "Evaluating", 20),
        );
        assert!(changed, "the reason changed");
        assert_eq!(cs[0].reason, "Evaluating");
        assert_eq!(cs[0].last_transition_time, at(10));
    }

    #[test]
    fn new_status_moves_transition_time() {
        let mut cs = vec![cond("Ready", ConditionStatus::False, "Analyzing", 10)];
        assert!(set_condition(
            &mut cs,
            cond("Ready", ConditionStatus::True, "Evaluated", 20)
        ));
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].last_transition_time, at(20));
    }

    #[test]
    fn identical_condition_is_no_change() {
        let mut cs = vec![cond("Ready", ConditionStatus::True, "Evaluated", 10)];
        assert!(!set_condition(
            &mut cs,
            cond("Ready", ConditionStatus::True, "Evaluated", 99)
        ));
        assert_eq!(cs[0].last_transition_time, at(10));
    }

    #[test]
    fn new_types_append_up_to_the_bound() {
        let mut cs = Vec::new();
        for i in 0..MAX_CONDITIONS + 3 {
            set_condition(
                &mut cs,
                cond(&format!("T{i}"), ConditionStatus::True, "R", 1),
            );
        }
        assert_eq!(cs.len(), MAX_CONDITIONS);
        assert!(find(&cs, "T0").is_some());
        assert!(find(&cs, &format!("T{MAX_CONDITIONS}")).is_none());
    }

    #[test]
    fn long_message_is_cut_to_the_bound() {
        let long = "é".repeat(MAX_MESSAGE_LEN * 2);
        let c = Condition::new(
            "Ready",
            ConditionStatus::False,
            "Failed",
            &long,
            at(1),
            None,
        );
        assert_eq!(c.message.chars().count(), MAX_MESSAGE_LEN);
    }

    #[test]
    fn serializes_like_metav1_condition() {
        let c = Condition::new(
            "Ready",
            ConditionStatus::True,
            "Evaluated",
            "ok",
            at(0),
            Some(3),
        );
        assert_eq!(
            serde_json::to_value(&c).expect("serializes"),
            serde_json::json!({
                "type": "Ready",
                "status": "True",
                "reason": "Evaluated",
                "message": "ok",
                "lastTransitionTime": "1970-01-01T00:00:00Z",
                "observedGeneration": 3
            })
        );
    }
}
