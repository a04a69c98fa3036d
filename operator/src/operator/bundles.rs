//! PolicyBundles, sans-IO: the spec validated with the policy engine (every error with its
//! path), the status that says so, and a cache of valid bundles by digest so that a thousand
//! scans sharing one bundle validate it once.

use crate::crd::conditions::{Condition, ConditionStatus, set_condition};
use crate::crd::policy_bundle::{
    BundleError, MAX_ERROR_MESSAGE_LEN, MAX_STATUS_ERRORS, condition_type,
};
use crate::crd::schema::truncate;
use crate::crd::{PolicyBundle, PolicyBundleStatus};
use crate::policy::{self, Diagnostic, FormatHint, ValidBundle};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A bundle checked: valid, or the errors.
#[derive(Debug, Clone)]
pub enum Checked {
    Valid(Arc<ValidBundle>),
    Invalid(Arc<Vec<Diagnostic>>),
}

/// Valid bundles and diagnostics by spec digest.
#[derive(Debug, Default)]
pub struct BundleCache {
    by_digest: Mutex<HashMap<String, Checked>>,
}

/// Largest number of bundles kept (the cache is cleared past it: bundles are few).
const MAX_CACHED: usize = 1024;

impl BundleCache {
    /// The bundle's spec digest and what validation says about it.
    pub fn check(&self, bundle: &PolicyBundle) -> (String, Checked) {
        let digest = bundle
            .spec
            .digest()
            .unwrap_or_else(|e| format!("unencodable:{e}"));
        if let Ok(map) = self.by_digest.lock()
            && let Some(c) = map.get(&digest)
        {
            return (digest, c.clone());
        }
        let checked = validate(bundle);
        if let Ok(mut map) = self.by_digest.lock() {
            if map.len() >= MAX_CACHED {
                map.clear();
            }
            map.insert(digest.clone(), checked.clone());
        }
        (digest, checked)
    }
}

/// Validates the spec as the CLI validates a bundle file (the spec is the bundle JSON).
pub fn validate(bundle: &PolicyBundle) -> Checked {
    let bytes = match serde_json::to_vec(&bundle.spec) {
        Ok(b) => b,
        Err(e) => {
            return Checked::Invalid(Arc::new(vec![Diagnostic::new(
                policy::Code::SyntaxError,
                "",
                format!("the spec cannot be encoded as JSON: {e}"),
            )]));
        }
    };
    match policy::load_bundle(&bytes, FormatHint::Json) {
        Ok(v) => Checked::Valid(Arc::new(v)),
        Err(diags) => Checked::Invalid(Arc::new(
            diags.into_iter().filter(Diagnostic::is_error).collect(),
        )),
    }
}

/// The PolicyBundle's status for `checked`.
pub fn status(
    bundle: &PolicyBundle,
    digest: &str,
    checked: &Checked,
    now: &Time,
) -> PolicyBundleStatus {
    let generation = bundle.metadata.generation;
    let mut s = bundle.status.clone().unwrap_or_default();
    s.observed_generation = generation;
    s.rule_count = Some(u32::try_from(bundle.spec.rule_count()).unwrap_or(u32::MAX));
    s.digest = digest.starts_with("sha256:").then(|| digest.to_owned());
    let cond = |t: &str, st: bool, reason: &str, msg: &str| {
        Condition::new(
            t,
            ConditionStatus::from(st),
            reason,
            msg,
            now.clone(),
            generation,
        )
    };
    match checked {
        Checked::Valid(v) => {
            s.valid = Some(true);
            s.errors.clear();
            s.error_count = Some(0);
            let msg = format!(
                "{} rules in {} policies",
                v.rule_count(),
                v.policies().len()
            );
            set_condition(
                &mut s.conditions,
                cond(condition_type::VALID, true, "Valid", &msg),
            );
            set_condition(
                &mut s.conditions,
                cond(condition_type::READY, true, "Ready", ""),
            );
        }
        Checked::Invalid(diags) => {
            s.valid = Some(false);
            s.error_count = Some(u32::try_from(diags.len()).unwrap_or(u32::MAX));
            s.errors = diags
                .iter()
                .take(MAX_STATUS_ERRORS)
                .map(|d| BundleError {
                    code: d.code.as_str().to_owned(),
                    path: truncate(&d.path, 256),
                    message: truncate(&d.message, MAX_ERROR_MESSAGE_LEN),
                })
                .collect();
            let msg = first_error(diags);
            let reason = "ValidationFailed";
            set_condition(
                &mut s.conditions,
                cond(condition_type::VALID, false, reason, &msg),
            );
            set_condition(
                &mut s.conditions,
                cond(condition_type::READY, false, reason, &msg),
            );
        }
    }
    s
}

/// `path: message` of the first error, for condition messages.
pub fn first_error(diags: &[Diagnostic]) -> String {
    diags.first().map_or_else(
        || "invalid".to_owned(),
        |d| {
            if d.path.is_empty() {
                d.message.clone()
            } else {
                format!("{}: {}", d.path, d.message)
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(json: serde_json::Value) -> PolicyBundle {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "plimsoll.dev/v1alpha1",
            "kind": "PolicyBundle",
            "metadata": {"name": "b", "namespace": "ns", "generation": 4},
            "spec": json,
        }))
        .expect("bundle")
    }

    fn now() -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("time"))
    }

    #[test]
    fn the_default_bundle_is_valid() {
        let spec: serde_json::Value =
            serde_json::from_str(crate::cli::policy::DEFAULT_BUNDLE).expect("json");
        let b = bundle(spec);
        let cache = BundleCache::default();
        let (digest, checked) = cache.check(&b);
        assert!(matches!(checked, Checked::Valid(_)));
        let s = status(&b, &digest, &checked, &now());
        assert_eq!(s.valid, Some(true));
        assert_eq!(s.observed_generation, Some(4));
        assert!(s.rule_count.is_some_and(|n| n > 0));
        assert_eq!(s.digest.as_deref(), Some(digest.as_str()));
    }

    #[test]
    fn every_error_is_listed_with_its_path() {
        let b = bundle(serde_json::json!({
            "id": "x", "version": "1_0",
            "policies": [{"id": "p", "version": "1_0", "rules": [
                {"id": "r1", "gate": "no_such_gate", "trigger": "t", "action": "STOP", "params": []},
                {"id": "r2", "gate": "vulnerabilities", "trigger": "package", "action": "STOP",
                 "params": [{"name": "severity", "value": "dreadful"}]}
            ]}],
            "mappings": [{"id": "m", "name": "all", "registry": "*", "repository": "*",
                          "image": {"type": "tag", "value": "*"}, "policy_ids": ["p"], "whitelist_ids": []}]
        }));
        let (digest, checked) = BundleCache::default().check(&b);
        let Checked::Invalid(diags) = &checked else {
            panic!("accepted an unknown gate");
        };
        assert!(diags.len() >= 2, "{diags:?}");
        let s = status(&b, &digest, &checked, &now());
        assert_eq!(s.valid, Some(false));
        assert_eq!(
            s.error_count,
            Some(u32::try_from(diags.len()).expect("count"))
        );
        let paths: Vec<&str> = s.errors.iter().map(|e| e.path.as_str()).collect();
        assert!(
            paths.iter().any(|p| p.starts_with("policies[0].rules[0]")),
            "{paths:?}"
        );
        assert!(
            paths.iter().any(|p| p.starts_with("policies[0].rules[1]")),
            "{paths:?}"
        );
        let valid =
            crate::crd::conditions::find(&s.conditions, condition_type::VALID).expect("Valid");
        assert_eq!(valid.status, ConditionStatus::False);
        assert!(
            valid.message.contains("policies[0].rules[0]"),
            "{}",
            valid.message
        );
    }
}
