//! `format: anchore`: Anchore Engine's webhook body, so that receivers written for Anchore
//! (relays to Slack or Teams, rebuild triggers) keep working when Plimsoll replaces it.
//!
//! What we matched (Anchore Engine's API spec: the `*Notification`, `*NotificationData` and
//! `*NotificationPayload` definitions of its swagger, and its catalog service, which fills
//! them):
//! - The envelope: `{"queueId", "userId", "dataId", "created_at", "data": {
//!   "notification_user", "notification_user_email", "notification_type",
//!   "notification_payload": {"userId", "subscription_key", "subscription_type",
//!   "notificationId", "annotations", ...}}}`. `subscription_key` is the image reference (the
//!   tag Anchore subscriptions are keyed by); `notificationId` is our idempotency key.
//! - `policy_eval`: `curr_eval` / `last_eval` objects with `image_digest`, `status` (`pass`,
//!   `fail`: fail only for STOP, as Anchore) and `final_action` (lower case, as Anchore's
//!   evaluation records).
//! - `vuln_update`: `diff_vulnerability_result` with `added` / `updated` / `removed` lists of
//!   vulnerability rows named as Anchore's diff rows are (`CVE_ID`, `Severity`,
//!   `Vulnerable_Package`, `Fix_Available` — `"None"` without a fix —, `URL`, `Package_Name`,
//!   `Package_Version`, `Package_Type`, `Feed`, `Feed_Group`), plus `imageDigest`. `updated`
//!   holds the rows as they are now, as Anchore sends them.
//! - `tag_update`: `curr_eval` / `last_eval` as lists of digests.
//! - `analysis_update`: `curr_eval` / `last_eval` objects with `analysis_status` (`analyzed`,
//!   and `not_analyzed` before) and `image_digest`.
//!
//! Where we differ:
//! - Anchore's `curr_eval` for `policy_eval` is its whole evaluation document; ours holds the
//!   summary fields receivers read (status, final action, reason, bundle). The rows are in
//!   the ImageScan status and the operator API.
//! - `fix_available` does not exist in Anchore: it is sent like `vuln_update` with the rows
//!   that gained a fix in `diff_vulnerability_result.updated`.
//! - There are no Anchore accounts: `notification_user` and `userId` are the Subscription's
//!   `namespace/name`, `notification_user_email` is empty. The queue bookkeeping fields
//!   (`tries`, `max_tries`, `record_state_*`, `last_updated`) are left out.
//! - `Feed` is `osv` and `Feed_Group` is the package type.
//! - Test notifications carry `"annotations": {"plimsoll.dev/test": "true"}`.

use super::event::{Notification, VulnEntry};
use crate::crd::subscription::EventType;
use serde_json::{Map, Value, json};

/// The Anchore-format body of a notification.
pub fn envelope(n: &Notification) -> Value {
    let event = n.event_name();
    let user = n.subscription.to_string();
    let mut payload = Map::new();
    payload.insert("userId".into(), user.clone().into());
    payload.insert("subscription_key".into(), n.image.reference.clone().into());
    payload.insert("subscription_type".into(), event.into());
    payload.insert("notificationId".into(), n.id.clone().into());
    let mut annotations = Map::new();
    if n.test {
        annotations.insert("plimsoll.dev/test".into(), "true".into());
    }
    payload.insert("annotations".into(), Value::Object(annotations));
    let digest = n.image.digest.clone().map_or(Value::Null, Value::from);
    match n.event {
        EventType::PolicyEval => {
            let verdict = n.verdict.clone().unwrap_or_default();
            // The previous evaluation's reason and bundle are not known: only its action.
            let eval = |action: Option<&str>, current: bool| match action {
                None => Value::Object(Map::new()),
                Some(a) => {
                    let mut e = json!({
                        "image_digest": digest,
                        "status": if a.eq_ignore_ascii_case("STOP") { "fail" } else { "pass" },
                        "final_action": a.to_ascii_lowercase(),
                    });
                    if current {
                        e["final_action_reason"] = json!(verdict.reason);
                        e["policyId"] = json!(verdict.bundle);
                    }
                    e
                }
            };
            payload.insert("curr_eval".into(), eval(Some(&verdict.final_action), true));
            payload.insert(
                "last_eval".into(),
                eval(verdict.previous_final_action.as_deref(), false),
            );
        }
        EventType::VulnUpdate => {
            let d = n.diff.clone().unwrap_or_default();
            payload.insert(
                "diff_vulnerability_result".into(),
                json!({
                    "added": rows(d.added.iter()),
                    "updated": rows(d.updated.iter().map(|u| &u.after)),
                    "removed": rows(d.removed.iter()),
                }),
            );
            payload.insert("imageDigest".into(), digest);
        }
        EventType::FixAvailable => {
            payload.insert(
                "diff_vulnerability_result".into(),
                json!({"added": [], "updated": rows(n.fixes.iter()), "removed": []}),
            );
            payload.insert("imageDigest".into(), digest);
        }
        EventType::TagUpdate => {
            let tag = n.tag.clone().unwrap_or_default();
            let curr = if tag.digest.is_empty() {
                n.image.digest.clone().into_iter().collect::<Vec<_>>()
            } else {
                vec![tag.digest]
            };
            payload.insert("curr_eval".into(), json!(curr));
            payload.insert(
                "last_eval".into(),
                json!(tag.previous_digest.into_iter().collect::<Vec<_>>()),
            );
        }
        EventType::AnalysisUpdate => {
            payload.insert(
                "curr_eval".into(),
                json!({"analysis_status": "analyzed", "image_digest": digest, "annotations": {}}),
            );
            payload.insert(
                "last_eval".into(),
                json!({"analysis_status": "not_analyzed", "image_digest": digest, "annotations": {}}),
            );
        }
    }
    json!({
        "queueId": event,
        "userId": user,
        "dataId": n.id,
        "created_at": n.created_at.timestamp(),
        "data": {
            "notification_user": user,
            "notification_user_email": "",
            "notification_type": event,
            "notification_payload": payload,
        },
    })
}

fn rows<'a>(entries: impl Iterator<Item = &'a VulnEntry>) -> Vec<Value> {
    entries
        .map(|e| {
            json!({
                "CVE_ID": e.vuln_id,
                "Severity": e.severity.as_str(),
                "Vulnerable_Package": format!("{}-{}", e.package, e.version),
                "Fix_Available": e.fixed_in.as_deref().unwrap_or("None"),
                "URL": e.url.as_deref().unwrap_or("None"),
                "Package_Name": e.package,
                "Package_Version": e.version,
                "Package_Type": e.package_type,
                "Feed": "osv",
                "Feed_Group": e.package_type,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::samples::sample;

    /// The fields receivers written for Anchore read, per event type.
    #[test]
    fn envelopes_carry_what_anchore_receivers_read() {
        for event in crate::notify::samples::ALL_EVENTS {
            let n = sample(event);
            let v = envelope(&n);
            let name = n.event_name();
            assert_eq!(v["data"]["notification_type"], name);
            let p = &v["data"]["notification_payload"];
            assert_eq!(p["subscription_type"], name);
            assert_eq!(p["subscription_key"], "registry.example/team/app:1.2");
            assert_eq!(p["notificationId"], n.id.as_str());
            assert_eq!(p["userId"], "team/app-alerts");
            assert_eq!(v["data"]["notification_user"], "team/app-alerts");
            assert!(p["annotations"].is_object());
            assert!(v["created_at"].is_i64());
        }
    }

    #[test]
    fn policy_eval_has_status_and_final_action() {
        let p = envelope(&sample(EventType::PolicyEval))["data"]["notification_payload"].clone();
        assert_eq!(p["curr_eval"]["status"], "fail");
        assert_eq!(p["curr_eval"]["final_action"], "stop");
        assert_eq!(p["last_eval"]["status"], "pass");
        assert_eq!(p["last_eval"]["final_action"], "go");
        assert_eq!(p["curr_eval"]["image_digest"], sample_digest());
        assert_eq!(p["curr_eval"]["policyId"], "anchore-default");
        assert!(p["last_eval"].get("policyId").is_none(), "not known");
    }

    #[test]
    fn vuln_update_rows_are_anchore_rows() {
        let n = sample(EventType::VulnUpdate);
        let p = envelope(&n)["data"]["notification_payload"].clone();
        let d = &p["diff_vulnerability_result"];
        assert_eq!(p["imageDigest"], sample_digest());
        let added = d["added"].as_array().expect("added");
        assert_eq!(added.len(), n.diff.as_ref().expect("diff").added.len());
        let row = &added[0];
        for key in [
            "CVE_ID",
            "Severity",
            "Vulnerable_Package",
            "Fix_Available",
            "URL",
            "Package_Name",
            "Package_Version",
            "Package_Type",
            "Feed",
            "Feed_Group",
        ] {
            assert!(row[key].is_string(), "{key} in {row}");
        }
        assert_eq!(row["CVE_ID"], "CVE-2024-0001");
        assert_eq!(row["Vulnerable_Package"], "openssl-3.0.11-1~deb12u1");
        assert_eq!(row["Fix_Available"], "3.0.13-1~deb12u1");
        // `updated` rows are the new state.
        assert_eq!(d["updated"][0]["Severity"], "Critical");
        assert_eq!(d["removed"][0]["Fix_Available"], "None");
    }

    #[test]
    fn tag_and_analysis_updates() {
        let p = envelope(&sample(EventType::TagUpdate))["data"]["notification_payload"].clone();
        assert_eq!(p["curr_eval"], json!([sample_digest()]));
        assert_eq!(
            p["last_eval"],
            json!(["sha256:1111111111111111111111111111111111111111111111111111111111111111"])
        );
        let p =
            envelope(&sample(EventType::AnalysisUpdate))["data"]["notification_payload"].clone();
        assert_eq!(p["curr_eval"]["analysis_status"], "analyzed");
        assert_eq!(p["last_eval"]["analysis_status"], "not_analyzed");
    }

    #[test]
    fn fix_available_lists_fixes_as_updates() {
        let n = sample(EventType::FixAvailable);
        let p = envelope(&n)["data"]["notification_payload"].clone();
        let updated = p["diff_vulnerability_result"]["updated"]
            .as_array()
            .expect("updated");
        assert_eq!(updated.len(), n.fixes.len());
        assert!(updated.iter().all(|r| r["Fix_Available"] != "None"));
    }

    #[test]
    fn test_notifications_are_annotated() {
        let mut n = sample(EventType::PolicyEval);
        n.test = true;
        assert_eq!(
            envelope(&n)["data"]["notification_payload"]["annotations"]["plimsoll.dev/test"],
            "true"
        );
    }

    fn sample_digest() -> &'static str {
        crate::notify::samples::DIGEST
    }
}
