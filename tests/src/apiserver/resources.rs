//! The resource types the server serves: built-ins and those added by CRDs.
//!
//! A resource is stored once per group (`group`/`plural`), whatever the version it was written
//! through; each served version is its own [`ResourceType`] (CRDs with several versions use the
//! `None` conversion strategy: only `apiVersion` changes between versions).

use std::sync::Arc;

use crate::apiserver::crd::CustomVersion;

#[derive(Clone, Debug)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Serves `/status`; the main endpoint then ignores `status` and `/status` ignores the rest.
    pub status_subresource: bool,
    /// Maintains `metadata.generation` (bumped when anything but metadata and status changes).
    pub generation: bool,
    /// Deleting without a `propagationPolicy` orphans dependents (batch/v1 Jobs keep the
    /// historical default: their pods survive unless `Background`/`Foreground` is asked for).
    pub default_orphan: bool,
    /// Pods serve `/log`.
    pub log_subresource: bool,
    /// `application/strategic-merge-patch+json` is accepted (built-ins only, like the real server).
    pub strategic_merge: bool,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub enum Origin {
    Builtin,
    Custom(Arc<CustomVersion>),
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn custom(&self) -> Option<&CustomVersion> {
        match &self.origin {
            Origin::Custom(c) => Some(c),
            Origin::Builtin => None,
        }
    }

    pub fn is(&self, group: &str, plural: &str) -> bool {
        self.group == group && self.plural == plural
    }
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    status: bool,
    generation: bool,
}

#[allow(clippy::too_many_arguments)] // a table row, read positionally
const fn b(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    status: bool,
    generation: bool,
) -> Builtin {
    Builtin {
        group,
        version,
        plural,
        kind,
        namespaced,
        short_names,
        status,
        generation,
    }
}

/// What the operator and its Jobs use, plus a few neighbours clients commonly touch. Only
/// Namespaces, Pods, Jobs, CronJobs and CRDs have behaviour; the rest are plain storage.
const BUILTINS: &[Builtin] = &[
    b(
        "",
        "v1",
        "namespaces",
        "Namespace",
        false,
        &["ns"],
        true,
        false,
    ),
    b(
        "",
        "v1",
        "configmaps",
        "ConfigMap",
        true,
        &["cm"],
        false,
        false,
    ),
    b("", "v1", "secrets", "Secret", true, &[], false, false),
    b(
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        true,
        &["sa"],
        false,
        false,
    ),
    b("", "v1", "events", "Event", true, &["ev"], false, false),
    b("", "v1", "pods", "Pod", true, &["po"], true, false),
    b("", "v1", "nodes", "Node", false, &["no"], true, false),
    b("", "v1", "services", "Service", true, &["svc"], true, false),
    b(
        "",
        "v1",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
        false,
        false,
    ),
    b(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        true,
        false,
    ),
    b(
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        true,
        &["ev"],
        false,
        false,
    ),
    b("batch", "v1", "jobs", "Job", true, &[], true, true),
    b(
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        true,
        &["cj"],
        true,
        true,
    ),
    b(
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        true,
        &[],
        false,
        false,
    ),
    b(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        true,
        &["deploy"],
        true,
        true,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "Role",
        true,
        &[],
        false,
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        true,
        &[],
        false,
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        false,
        &[],
        false,
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        &[],
        false,
        false,
    ),
    b(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        true,
        true,
    ),
];

pub fn builtins() -> Vec<Arc<ResourceType>> {
    BUILTINS
        .iter()
        .map(|x| {
            Arc::new(ResourceType {
                group: x.group.to_owned(),
                version: x.version.to_owned(),
                plural: x.plural.to_owned(),
                singular: x.kind.to_ascii_lowercase(),
                kind: x.kind.to_owned(),
                namespaced: x.namespaced,
                short_names: x.short_names.iter().map(|s| (*s).to_owned()).collect(),
                categories: if matches!(
                    x.plural,
                    "pods" | "jobs" | "cronjobs" | "deployments" | "services"
                ) {
                    vec!["all".to_owned()]
                } else {
                    Vec::new()
                },
                status_subresource: x.status,
                generation: x.generation,
                default_orphan: x.group == "batch" && x.plural == "jobs",
                log_subresource: x.group.is_empty() && x.plural == "pods",
                strategic_merge: true,
                origin: Origin::Builtin,
            })
        })
        .collect()
}

/// All served resource types; CRDs add and remove theirs.
#[derive(Default)]
pub struct Registry {
    types: Vec<Arc<ResourceType>>,
}

impl Registry {
    pub fn with_builtins() -> Self {
        Self { types: builtins() }
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// Any served version of `group`/`plural` (the storage identity).
    pub fn any_version(&self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types.iter().find(|t| t.is(group, plural)).cloned()
    }

    pub fn all(&self) -> &[Arc<ResourceType>] {
        &self.types
    }

    /// Replaces every version of `group`/`plural` with `versions` (empty removes the resource).
    pub fn replace_custom(&mut self, group: &str, plural: &str, versions: Vec<Arc<ResourceType>>) {
        self.types
            .retain(|t| !(t.is(group, plural) && matches!(t.origin, Origin::Custom(_))));
        self.types.extend(versions);
    }

    /// Group versions in serving order: built-in first, then by name.
    pub fn group_versions(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in &self.types {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) => {
                    if !versions.contains(&t.version) {
                        versions.push(t.version.clone());
                    }
                }
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        for (_, versions) in &mut out {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }
}

/// Kubernetes version ordering for discovery's `preferredVersion`: GA > beta > alpha, then by
/// major and minor number (`v1` > `v1beta2` > `v1beta1` > `v1alpha1`); other names sort last.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let (level, minor) = if let Some(m) = tail.strip_prefix("beta") {
        (2, m)
    } else if let Some(m) = tail.strip_prefix("alpha") {
        (1, m)
    } else {
        return (0, 0, 0);
    };
    match minor.parse::<u32>() {
        Ok(minor) => (level, major, minor),
        Err(_) => (0, 0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_order_matches_kubernetes() {
        let mut v = vec![
            "v1alpha1", "v1", "foo", "v2beta1", "v1beta2", "v1beta1", "v2",
        ];
        v.sort_by_key(|x| std::cmp::Reverse(version_priority(x)));
        assert_eq!(
            v,
            [
                "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"
            ]
        );
    }

    #[test]
    fn builtins_are_found() {
        let r = Registry::with_builtins();
        let jobs = r.find("batch", "v1", "jobs").expect("jobs served");
        assert_eq!(jobs.api_version(), "batch/v1");
        assert!(jobs.default_orphan);
        assert_eq!(
            r.find("", "v1", "configmaps").map(|t| t.api_version()),
            Some("v1".to_owned())
        );
        assert!(r.find("batch", "v2", "jobs").is_none());
    }
}
