//! API errors and the `Status` objects that carry them.
//!
//! Clients key their behaviour on `code` and `reason` (kube's `ErrorResponse`, client-go's
//! `errors.IsNotFound`...), so each constructor mirrors what kube-apiserver returns for the same
//! situation, including the message wording clients sometimes match on.

use serde_json::{Map, Value, json};

/// One cause of an `Invalid` error: the field path and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`, `FieldValueForbidden`...
    pub reason: String,
    pub message: String,
    /// Dotted path with indexes, e.g. `spec.containers[0].image`.
    pub field: String,
}

impl Cause {
    pub fn new(reason: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn required(field: impl Into<String>) -> Self {
        Self::new("FieldValueRequired", field, "Required value")
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new("FieldValueInvalid", field, message)
    }

    pub fn forbidden(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new("FieldValueForbidden", field, message)
    }
}

/// An error answered as a `Status` object.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    details: Option<Box<Details>>,
}

#[derive(Clone, Debug)]
struct Details {
    name: String,
    group: String,
    kind: String,
    causes: Vec<Cause>,
    retry_after_seconds: Option<u32>,
}

/// What an error is about: `group` and `kind` are the *resource* (plural) for not-found and
/// conflicts in kube-apiserver's messages (`configmaps "x" not found`), the *kind* for `Invalid`.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
}

impl ApiError {
    fn plain(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, subject: Subject<'_>, causes: Vec<Cause>) -> Self {
        self.details = Some(Box::new(Details {
            name: subject.name.to_owned(),
            group: subject.group.to_owned(),
            kind: subject.kind.to_owned(),
            causes,
            retry_after_seconds: None,
        }));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::plain(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::plain(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(subject: Subject<'_>, why: &str) -> Self {
        Self::plain(
            403,
            "Forbidden",
            format!(
                "{} \"{}\" is forbidden: {why}",
                qualified(subject),
                subject.name
            ),
        )
        .with_details(subject, Vec::new())
    }

    /// `subject.kind` is the resource (plural), as kube-apiserver writes it.
    pub fn not_found(subject: Subject<'_>) -> Self {
        Self::plain(
            404,
            "NotFound",
            format!("{} \"{}\" not found", qualified(subject), subject.name),
        )
        .with_details(subject, Vec::new())
    }

    /// A path that names no served resource.
    pub fn no_route(path: &str) -> Self {
        Self::plain(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::plain(405, "MethodNotAllowed", message)
    }

    pub fn already_exists(subject: Subject<'_>) -> Self {
        Self::plain(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", qualified(subject), subject.name),
        )
        .with_details(subject, Vec::new())
    }

    /// A stale `resourceVersion` (optimistic concurrency) or a failed precondition.
    pub fn conflict(subject: Subject<'_>, why: &str) -> Self {
        Self::plain(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {why}",
                qualified(subject),
                subject.name
            ),
        )
        .with_details(subject, Vec::new())
    }

    /// Server-side apply conflicts: one cause per conflicting field (`reason: FieldManagerConflict`).
    pub fn apply_conflict(subject: Subject<'_>, causes: Vec<Cause>) -> Self {
        let list = causes
            .iter()
            .map(|c| format!("- {}", c.message))
            .collect::<Vec<_>>()
            .join("\n");
        Self::plain(
            409,
            "Conflict",
            format!("Apply failed with {} conflict(s):\n{list}", causes.len()),
        )
        .with_details(subject, causes)
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::plain(410, "Expired", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::plain(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
        )
    }

    /// `subject.kind` is the Kind: `ImageScan.plimsoll.dev "x" is invalid: spec.image: Required value`.
    pub fn invalid(subject: Subject<'_>, causes: Vec<Cause>) -> Self {
        let what = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect::<Vec<_>>();
        let what = if what.len() == 1 {
            what.join("")
        } else {
            format!("[{}]", what.join(", "))
        };
        Self::plain(
            422,
            "Invalid",
            format!(
                "{} \"{}\" is invalid: {what}",
                qualified(subject),
                subject.name
            ),
        )
        .with_details(subject, causes)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::plain(500, "InternalError", message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        let mut e = Self::plain(504, "Timeout", message);
        e.details = Some(Box::new(Details {
            name: String::new(),
            group: String::new(),
            kind: String::new(),
            causes: Vec::new(),
            retry_after_seconds: Some(1),
        }));
        e
    }

    pub fn causes(&self) -> &[Cause] {
        self.details.as_ref().map_or(&[], |d| &d.causes)
    }

    /// The `Status` object (`kind: Status`, `status: Failure`).
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            let mut details = Map::new();
            if !d.name.is_empty() {
                details.insert("name".into(), json!(d.name));
            }
            if !d.group.is_empty() {
                details.insert("group".into(), json!(d.group));
            }
            if !d.kind.is_empty() {
                details.insert("kind".into(), json!(d.kind));
            }
            if !d.causes.is_empty() {
                let causes = d
                    .causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect::<Vec<_>>();
                details.insert("causes".into(), Value::Array(causes));
            }
            if let Some(s) = d.retry_after_seconds {
                details.insert("retryAfterSeconds".into(), json!(s));
            }
            status["details"] = Value::Object(details);
        }
        status
    }
}

/// `configmaps` or `imagescans.plimsoll.dev`.
fn qualified(subject: Subject<'_>) -> String {
    if subject.group.is_empty() {
        subject.kind.to_owned()
    } else {
        format!("{}.{}", subject.kind, subject.group)
    }
}

/// The `Status` answered for a successful delete that removed the object at once.
pub fn success_status(subject: Subject<'_>, uid: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": subject.name, "group": subject.group, "kind": subject.kind, "uid": uid},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CM: Subject<'static> = Subject {
        group: "",
        kind: "configmaps",
        name: "x",
    };

    #[test]
    fn not_found_reads_like_kube_apiserver() {
        let s = ApiError::not_found(CM).to_status();
        assert_eq!(s["message"], "configmaps \"x\" not found");
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["code"], 404);
        assert_eq!(s["details"]["kind"], "configmaps");
        assert!(s["details"].get("group").is_none());
    }

    #[test]
    fn invalid_lists_every_cause() {
        let subject = Subject {
            group: "plimsoll.dev",
            kind: "ImageScan",
            name: "x",
        };
        let e = ApiError::invalid(
            subject,
            vec![
                Cause::required("spec.image"),
                Cause::invalid("spec.platform", "bad"),
            ],
        );
        assert_eq!(
            e.message,
            "ImageScan.plimsoll.dev \"x\" is invalid: [spec.image: Required value, spec.platform: bad]"
        );
        let s = e.to_status();
        assert_eq!(s["code"], 422);
        assert_eq!(s["details"]["causes"][0]["field"], "spec.image");
        assert_eq!(s["details"]["causes"][0]["reason"], "FieldValueRequired");
    }

    #[test]
    fn conflict_names_the_object() {
        let e = ApiError::conflict(
            CM,
            "the object has been modified; please apply your changes to the latest version and try again",
        );
        assert_eq!(e.code, 409);
        assert!(
            e.message
                .starts_with("Operation cannot be fulfilled on configmaps \"x\"")
        );
    }
}
