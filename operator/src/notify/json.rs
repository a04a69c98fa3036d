//! `format: json`: the [`Notification`] document itself, described by
//! `operator/docs/notification.schema.json` (JSON Schema draft 2020-12, embedded as
//! [`SCHEMA`]). The schema forbids unknown properties, so a field added to the Rust types
//! without the schema fails the tests below.

use super::event::Notification;

/// The JSON Schema of the `json` body.
pub const SCHEMA: &str = include_str!("../../docs/notification.schema.json");

/// The `json` webhook body.
pub fn body(n: &Notification) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::samples::{ALL_EVENTS, sample};

    fn validator() -> jsonschema::Validator {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("schema compiles")
    }

    fn errors(v: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
        v.iter_errors(doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    #[test]
    fn every_event_type_validates() {
        let v = validator();
        for event in ALL_EVENTS {
            let n = sample(event);
            let doc: serde_json::Value =
                serde_json::from_slice(&body(&n).expect("serializes")).expect("JSON");
            assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{event:?}: {doc:#}");
            assert_eq!(doc["event"], n.event_name());
            let back: Notification = serde_json::from_value(doc).expect("reads back");
            assert_eq!(back, n);
        }
    }

    #[test]
    fn test_notifications_need_no_event_content() {
        let v = validator();
        for event in ALL_EVENTS {
            let mut n = sample(event);
            n.test = true;
            n.diff = None;
            n.fixes.clear();
            n.tag = None;
            let doc = serde_json::to_value(&n).expect("serializes");
            assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{event:?}");
        }
    }

    #[test]
    fn the_schema_rejects_what_receivers_must_not_see() {
        let v = validator();
        let good = serde_json::to_value(sample(crate::crd::subscription::EventType::VulnUpdate))
            .expect("serializes");
        type Breaker = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Breaker)> = vec![
            (
                "unknown event",
                Box::new(|d| d["event"] = "image_deleted".into()),
            ),
            (
                "no id",
                Box::new(|d| {
                    d.as_object_mut().map(|o| o.remove("id"));
                }),
            ),
            (
                "lower-case action",
                Box::new(|d| d["verdict"]["finalAction"] = "stop".into()),
            ),
            ("unknown property", Box::new(|d| d["extra"] = 1.into())),
            (
                "vuln_update without diff",
                Box::new(|d| {
                    d.as_object_mut().map(|o| o.remove("diff"));
                }),
            ),
            (
                "bad digest",
                Box::new(|d| d["image"]["digest"] = "latest".into()),
            ),
            (
                "truncated false is omitted, never sent",
                Box::new(|d| d["diff"]["truncated"] = false.into()),
            ),
        ];
        for (what, break_it) in cases {
            let mut doc = good.clone();
            break_it(&mut doc);
            assert!(!errors(&v, &doc).is_empty(), "{what} should be rejected");
        }
    }

    /// A field added to the Rust types must be added to the schema too.
    #[test]
    fn every_field_is_in_the_schema() {
        let v = validator();
        let mut n = sample(crate::crd::subscription::EventType::VulnUpdate);
        n.fixes = n.top_findings.clone();
        n.fixes_truncated = true;
        n.tag = Some(super::super::event::TagChange {
            previous_digest: Some(crate::notify::samples::DIGEST.into()),
            digest: crate::notify::samples::DIGEST.into(),
        });
        if let Some(d) = &mut n.diff {
            d.truncated = true;
        }
        let doc = serde_json::to_value(&n).expect("serializes");
        assert_eq!(errors(&v, &doc), Vec::<String>::new());
    }
}
