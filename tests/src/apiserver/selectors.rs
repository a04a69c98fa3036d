//! Label and field selectors, parsed once and matched against untyped objects.
//!
//! Label selector grammar (`k8s.io/apimachinery/pkg/labels`): comma-separated requirements,
//! `key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`. Traps: commas
//! inside the parentheses do not separate requirements; `!=` and `notin` also match objects
//! that lack the label. Field selectors only allow `=`, `==`, `!=`, escape `\,` `\=` `\\`, and
//! each resource supports a fixed set of fields (others are a 400, like the real server).

use serde_json::Value;

use crate::apiserver::error::ApiError;
use crate::apiserver::meta;

#[derive(Clone, Debug, PartialEq, Eq)]
enum LabelOp {
    Exists,
    NotExists,
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct LabelReq {
    key: String,
    op: LabelOp,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<LabelReq>);

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_label_req(part)?);
        }
        Ok(Self(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = meta::labels(obj);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match &r.op {
            LabelOp::Exists => get(&r.key).is_some(),
            LabelOp::NotExists => get(&r.key).is_none(),
            LabelOp::Eq(v) => get(&r.key) == Some(v.as_str()),
            LabelOp::NotEq(v) => get(&r.key) != Some(v.as_str()),
            LabelOp::In(vs) => get(&r.key).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelOp::NotIn(vs) => get(&r.key).is_none_or(|x| vs.iter().all(|v| v != x)),
        })
    }
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn bad_selector(part: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!("unable to parse requirement: {why}: {part:?}"))
}

fn parse_label_req(part: &str) -> Result<LabelReq, ApiError> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(LabelReq {
            key: checked_key(key.trim(), part)?,
            op: LabelOp::NotExists,
        });
    }
    if let Some(open) = part.find('(') {
        let close = part
            .rfind(')')
            .filter(|&c| c > open && part[c + 1..].trim().is_empty())
            .ok_or_else(|| bad_selector(part, "unclosed set"))?;
        let mut head = part[..open].split_whitespace();
        let (Some(key), Some(op), None) = (head.next(), head.next(), head.next()) else {
            return Err(bad_selector(
                part,
                "expected `key in (...)` or `key notin (...)`",
            ));
        };
        let values = part[open + 1..close]
            .split(',')
            .map(|v| checked_value(v.trim(), part))
            .collect::<Result<Vec<_>, _>>()?;
        let op = match op {
            "in" => LabelOp::In(values),
            "notin" => LabelOp::NotIn(values),
            _ => return Err(bad_selector(part, "unknown set operator")),
        };
        return Ok(LabelReq {
            key: checked_key(key, part)?,
            op,
        });
    }
    let (key, op) = if let Some((k, v)) = part.split_once("!=") {
        (k, LabelOp::NotEq(checked_value(v.trim(), part)?))
    } else if let Some((k, v)) = part.split_once("==") {
        (k, LabelOp::Eq(checked_value(v.trim(), part)?))
    } else if let Some((k, v)) = part.split_once('=') {
        (k, LabelOp::Eq(checked_value(v.trim(), part)?))
    } else {
        (part, LabelOp::Exists)
    };
    Ok(LabelReq {
        key: checked_key(key.trim(), part)?,
        op,
    })
}

/// A label key: optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
fn checked_key(key: &str, part: &str) -> Result<String, ApiError> {
    let name = key.rsplit_once('/').map_or(key, |(prefix, name)| {
        if meta::is_dns_subdomain(prefix) {
            name
        } else {
            ""
        }
    });
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && name
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphanumeric)
        && name
            .as_bytes()
            .last()
            .is_some_and(u8::is_ascii_alphanumeric);
    if ok {
        Ok(key.to_owned())
    } else {
        Err(bad_selector(part, "invalid label key"))
    }
}

fn checked_value(v: &str, part: &str) -> Result<String, ApiError> {
    let ok = v.len() <= 63
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && (v.is_empty()
            || (v.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
                && v.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric)));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(bad_selector(part, "invalid label value"))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldReq {
    field: String,
    value: String,
    negated: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<FieldReq>);

impl FieldSelector {
    /// Parses and checks every field against `supported` (plus `metadata.name` and
    /// `metadata.namespace`, which every resource supports).
    pub fn parse(s: &str, supported: &[&str]) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_unescaped(s, ',') {
            if part.trim().is_empty() {
                continue;
            }
            let (field, value, negated) = if let Some((f, v)) = split_op(&part, "!=") {
                (f, v, true)
            } else if let Some((f, v)) = split_op(&part, "==") {
                (f, v, false)
            } else if let Some((f, v)) = split_op(&part, "=") {
                (f, v, false)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let field = field.trim().to_owned();
            if !(field == "metadata.name"
                || field == "metadata.namespace"
                || supported.contains(&field.as_str()))
            {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            reqs.push(FieldReq {
                field,
                value: unescape(value.trim()),
                negated,
            });
        }
        Ok(Self(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|r| {
            let actual = field_string(obj, &r.field);
            (actual == r.value) != r.negated
        })
    }
}

/// Fields whose values a selector sees as strings; a missing field is the empty string (so
/// `spec.nodeName=` selects unscheduled pods, as in the real server).
fn field_string(obj: &Value, field: &str) -> String {
    match meta::path(obj, field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
}

/// Splits at the first unescaped `op`.
fn split_op<'a>(s: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        if s[i..].starts_with(op) {
            return Some((&s[..i], &s[i + op.len()..]));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The fields each resource lets field selectors use (besides `metadata.name/namespace`).
pub fn supported_fields(group: &str, resource: &str) -> &'static [&'static str] {
    match (group, resource) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("events.k8s.io", "events") => &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "reason",
            "reportingController",
            "type",
        ],
        ("batch", "jobs") => &["status.successful"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "n", "namespace": "ns", "labels": labels}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_selector_table() {
        let o = obj(json!({"app": "web", "tier": "front"}));
        let cases = [
            ("", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("missing!=x", true),
            ("app in (web, db)", true),
            ("app in (db)", false),
            ("app notin (db,cache)", true),
            ("missing notin (db)", true),
            ("missing in (db)", false),
            ("app=web,tier in (front,back),!canary", true),
            ("app=web,tier=back", false),
        ];
        for (sel, want) in cases {
            let s = LabelSelector::parse(sel).expect(sel);
            assert_eq!(s.matches(&o), want, "{sel}");
        }
    }

    #[test]
    fn label_selector_rejects_garbage() {
        for bad in ["app in (web", "a b c", "app=we b", "-x=1", "app inn (a)"] {
            assert_eq!(
                LabelSelector::parse(bad).err().map(|e| e.code),
                Some(400),
                "{bad}"
            );
        }
    }

    #[test]
    fn prefixed_label_keys() {
        let o = obj(json!({"app.kubernetes.io/name": "plimsoll"}));
        let s = LabelSelector::parse("app.kubernetes.io/name=plimsoll").expect("valid");
        assert!(s.matches(&o));
    }

    #[test]
    fn field_selector_table() {
        let o = obj(json!({}));
        let pods = supported_fields("", "pods");
        let cases = [
            ("metadata.name=n", true),
            ("metadata.name!=n", false),
            ("metadata.namespace==ns,status.phase=Running", true),
            ("status.phase!=Running", false),
            ("spec.nodeName=", true),
        ];
        for (sel, want) in cases {
            let s = FieldSelector::parse(sel, pods).expect(sel);
            assert_eq!(s.matches(&o), want, "{sel}");
        }
    }

    #[test]
    fn field_selector_refuses_unknown_fields() {
        let e = FieldSelector::parse("spec.foo=1", &[]).expect_err("unsupported");
        assert_eq!(e.message, "field label not supported: spec.foo");
        assert!(
            FieldSelector::parse("status.phase=Running", supported_fields("", "configmaps"))
                .is_err()
        );
    }

    #[test]
    fn field_selector_escapes() {
        let o = json!({"metadata": {"name": "a,b"}});
        let s = FieldSelector::parse(r"metadata.name=a\,b", &[]).expect("valid");
        assert!(s.matches(&o));
    }
}
