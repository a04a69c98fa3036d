//! Admission: defaulting of built-ins and Pod Security enforcement.
//!
//! Pod Security is enforced on Pods at create (403 Forbidden listing every violation, like the
//! real plugin); Jobs and CronJobs whose pod template would be refused get `Warning` headers,
//! as the real plugin's `warn` mode does for workload resources. The level comes from the
//! namespace label `pod-security.kubernetes.io/enforce`, else the simulator's default.

pub mod defaults;
pub mod pod_security;

use serde_json::{Map, Value};

use pod_security::Level;

#[derive(Clone, Copy, Debug)]
pub struct PodSecurityPolicy {
    pub default_level: Level,
    pub require_read_only_root: bool,
}

impl PodSecurityPolicy {
    pub fn level(&self, ns_labels: Option<&Map<String, Value>>) -> Level {
        ns_labels
            .and_then(|l| l.get("pod-security.kubernetes.io/enforce"))
            .and_then(Value::as_str)
            .and_then(Level::parse)
            .unwrap_or(self.default_level)
    }

    fn check_spec(&self, spec: &Value, level: Level) -> Vec<String> {
        pod_security::violations(
            spec,
            level,
            self.require_read_only_root && level == Level::Restricted,
        )
    }

    /// `Err(why)` when the pod must be refused.
    pub fn check_pod(
        &self,
        ns_labels: Option<&Map<String, Value>>,
        pod: &Value,
    ) -> Result<(), String> {
        let level = self.level(ns_labels);
        let v = self.check_spec(&pod["spec"], level);
        if v.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "violates PodSecurity \"{}:latest\": {}",
                level.name(),
                v.join(", ")
            ))
        }
    }

    /// Warnings for a workload whose pods would be refused.
    pub fn template_warnings(
        &self,
        ns_labels: Option<&Map<String, Value>>,
        group: &str,
        resource: &str,
        obj: &Value,
    ) -> Vec<String> {
        let spec = match (group, resource) {
            ("batch", "jobs") => &obj["spec"]["template"]["spec"],
            ("batch", "cronjobs") => &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            ("apps", "deployments") => &obj["spec"]["template"]["spec"],
            _ => return Vec::new(),
        };
        let level = self.level(ns_labels);
        let v = self.check_spec(spec, level);
        if v.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "would violate PodSecurity \"{}:latest\": {}",
                level.name(),
                v.join(", ")
            )]
        }
    }
}
