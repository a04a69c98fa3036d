//! Discovery documents: `/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`,
//! and aggregated discovery (`apidiscovery.k8s.io/v2`, asked for through the `Accept` header)
//! for `/api` and `/apis`.
//!
//! Traps: the core group has no name and lives under `/api`; each group lists its preferred
//! version (highest GA, then beta, then alpha); subresources appear as `<plural>/<sub>`
//! entries in the legacy documents and inside their resource in aggregated ones.

use serde_json::{Value, json};

use crate::apiserver::resources::ResourceType;

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the `Accept` header asks for aggregated discovery (v2 or v2beta1).
pub fn wants_aggregated(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=APIGroupDiscoveryList"))
}

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn subresources(t: &ResourceType) -> Vec<&'static str> {
    let mut subs = Vec::new();
    if t.status_subresource {
        subs.push("status");
    }
    if t.log_subresource {
        subs.push("log");
    }
    subs
}

/// `APIResourceList` of one group version.
pub fn resource_list(types: &[&ResourceType], group_version: &str) -> Value {
    let mut resources = Vec::new();
    for t in types {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": VERBS,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        for sub in subresources(t) {
            let verbs: &[&str] = if sub == "log" {
                &["get"]
            } else {
                &["get", "patch", "update"]
            };
            resources.push(json!({
                "name": format!("{}/{sub}", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": verbs,
            }));
        }
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

/// `APIGroupList` of the named groups (versions sorted preferred first).
pub fn group_list(groups: &[(String, Vec<String>)]) -> Value {
    let docs: Vec<Value> = groups
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": docs})
}

pub fn group(group: &str, versions: &[String]) -> Value {
    let mut doc = group_doc(group, versions);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    doc
}

/// `APIGroupDiscoveryList` for the core group (`core: true`) or the named groups.
pub fn aggregated(groups: &[(String, Vec<String>)], types: &[&ResourceType], core: bool) -> Value {
    let items: Vec<Value> = groups
        .iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = types
                        .iter()
                        .filter(|t| t.group == *g && t.version == *v)
                        .map(|t| {
                            let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
                            let subs: Vec<Value> = subresources(t)
                                .into_iter()
                                .map(|s| json!({"subresource": s, "responseKind": gvk, "verbs": if s == "log" { json!(["get"]) } else { json!(["get", "patch", "update"]) }}))
                                .collect();
                            json!({
                                "resource": t.plural,
                                "responseKind": gvk,
                                "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": t.singular,
                                "verbs": VERBS,
                                "shortNames": t.short_names,
                                "categories": t.categories,
                                "subresources": subs,
                            })
                        })
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": g}, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::resources::Registry;

    #[test]
    fn core_resource_list_has_subresources() {
        let r = Registry::with_builtins();
        let core: Vec<&ResourceType> = r
            .all()
            .iter()
            .filter(|t| t.group.is_empty())
            .map(|t| &**t)
            .collect();
        let doc = resource_list(&core, "v1");
        let names: Vec<&str> = doc["resources"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(
            names.contains(&"pods")
                && names.contains(&"pods/status")
                && names.contains(&"pods/log")
        );
        assert!(!names.contains(&"configmaps/status"));
    }

    #[test]
    fn groups_and_aggregated() {
        let r = Registry::with_builtins();
        let groups = r.group_versions();
        let list = group_list(&groups);
        assert!(
            list["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .any(|g| g["name"] == "batch" && g["preferredVersion"]["version"] == "v1")
        );
        let types: Vec<&ResourceType> = r.all().iter().map(|t| &**t).collect();
        let agg = aggregated(&groups, &types, true);
        assert_eq!(agg["items"].as_array().map(Vec::len), Some(1));
        assert!(wants_aggregated(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        ));
        assert!(!wants_aggregated("application/json"));
    }
}
