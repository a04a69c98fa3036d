//! Kubernetes Events recorded by the simulated controllers (core/v1, like the Job and CronJob
//! controllers and the kubelet do). Repeats (same object, type and reason) fold into one Event
//! whose `count` grows and whose message is the latest, like the client-go recorder's
//! aggregation of similar events.

use serde_json::{Value, json};

use crate::apiserver::ApiServer;
use crate::apiserver::lifecycle::Part;
use crate::apiserver::meta;

/// Records `reason`/`message` about `involved` (a stored object) from `component`.
pub fn record(
    server: &ApiServer,
    involved: &Value,
    event_type: &str,
    reason: &str,
    message: &str,
    component: &str,
) {
    let ns = match meta::namespace(involved) {
        "" => "default",
        ns => ns,
    };
    let uid = meta::uid(involved);
    let now = server.now();
    let existing = server
        .list_internal("", "events", Some(ns))
        .into_iter()
        .find(|e| {
            e["involvedObject"]["uid"] == uid && e["reason"] == reason && e["type"] == event_type
        });
    if let Some(e) = existing {
        let _ = server.modify_internal(
            "",
            "events",
            ns,
            meta::name(&e),
            Part::Main,
            component,
            |e| {
                e["count"] = json!(e["count"].as_i64().unwrap_or(1) + 1);
                e["lastTimestamp"] = json!(now);
                e["message"] = json!(message);
                true
            },
        );
        return;
    }
    let event = json!({
        "metadata": {"name": format!("{}.{}", meta::name(involved), &uuid::Uuid::new_v4().simple().to_string()[..16])},
        "involvedObject": {
            "apiVersion": involved["apiVersion"], "kind": involved["kind"], "name": meta::name(involved),
            "namespace": meta::namespace(involved), "uid": uid, "resourceVersion": meta::resource_version(involved).unwrap_or(""),
        },
        "reason": reason,
        "message": message,
        "type": event_type,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": crate::kubelet::NODE_NAME,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    });
    let _ = server.create_internal("", "events", ns, event, component);
}
