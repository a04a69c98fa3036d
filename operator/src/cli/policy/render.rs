//! One [`Verdict`] rendered four ways: a table like `anchore-cli evaluate check --detail`,
//! JSON, SARIF 2.1.0 and JUnit XML.
//!
//! Traps:
//! - Whitelisted rows count as GO (Anchore's result table shows them as `go`): the table
//!   shows GO with the whitelist named; SARIF keeps them as suppressed results so dashboards
//!   can close their alerts; JUnit shows them as passing test cases.
//! - SARIF: GO rows are not findings and are left out; STOP is `error`, WARN `warning`. A
//!   rule is one gate:trigger pair (e.g. `dockerfile:exposed_ports`), shared by every row
//!   it fires. Results carry a fingerprint (gate, trigger, trigger id) so dashboards track
//!   them across runs. GitHub wants a physical location: the image reference is used, as a
//!   relative URI.
//! - JUnit: Jenkins fails a build on `<failure>` only. STOP rows are failures; WARN rows pass
//!   with the detail in `<system-out>` (WARN does not fail the command either, unless
//!   `--fail-on warn`, and then they are failures too: see [`junit`]'s `fail_on_warn`).
//!   Names and messages come from images: XML-escaped, control characters other than tab and
//!   newline (invalid in XML 1.0) replaced.

use super::super::args::VerdictFormat;
use super::super::table::{clean, write_aligned};
use crate::policy::{Action, Row, Verdict};
use plimsoll_analyzer::model::Analysis;
use serde::Serialize;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// What the renderers show about the image beyond the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    /// The reference as given (`oci-dir:/x`, `alpine:3.20`).
    pub reference: String,
    /// `registry/repository:tag` when the image came from a registry, else the reference.
    pub full_tag: String,
}

impl ImageInfo {
    pub fn from_analysis(a: &Analysis) -> Self {
        let full_tag = match (&a.image.repository, &a.image.tag) {
            (Some(repo), Some(tag)) => format!("{repo}:{tag}"),
            (Some(repo), None) => repo.clone(),
            (None, _) => a.image.reference.clone(),
        };
        Self {
            reference: a.image.reference.clone(),
            full_tag,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    image: &'a ImageInfo,
    #[serde(flatten)]
    verdict: &'a Verdict,
}

pub fn render(
    verdict: &Verdict,
    image: &ImageInfo,
    format: VerdictFormat,
    fail_on_warn: bool,
    tool_version: &str,
) -> Result<Vec<u8>, serde_json::Error> {
    Ok(match format {
        VerdictFormat::Table => table(verdict, image).into_bytes(),
        VerdictFormat::Json => {
            let mut b = serde_json::to_vec_pretty(&JsonReport { image, verdict })?;
            b.push(b'\n');
            b
        }
        VerdictFormat::Sarif => {
            let mut b = serde_json::to_vec_pretty(&sarif(verdict, image, tool_version))?;
            b.push(b'\n');
            b
        }
        VerdictFormat::Junit => junit(verdict, image, fail_on_warn).into_bytes(),
    })
}

fn lower(a: Action) -> &'static str {
    match a {
        Action::Stop => "stop",
        Action::Warn => "warn",
        Action::Go => "go",
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn reason(v: &Verdict) -> String {
    serde_json::to_value(v.reason)
        .ok()
        .and_then(|r| r.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `anchore-cli evaluate check --detail`: the verdict's fields, then Gate | Trigger | Detail |
/// Status rows.
pub fn table(v: &Verdict, image: &ImageInfo) -> String {
    let mut out = String::new();
    let status = if v.final_action == Action::Stop {
        "fail"
    } else {
        "pass"
    };
    let fields: [(&str, Cow<'_, str>); 7] = [
        ("Image Digest", clean(&v.image_digest)),
        ("Full Tag", clean(&image.full_tag)),
        ("Status", Cow::Borrowed(status)),
        ("Last Eval", Cow::Owned(rfc3339(v.evaluated_at))),
        ("Policy ID", clean(&v.bundle_id)),
        ("Final Action", Cow::Borrowed(lower(v.final_action))),
        ("Final Action Reason", Cow::Owned(reason(v))),
    ];
    for (k, val) in fields {
        let _ = writeln!(out, "{k}: {val}");
    }
    if v.rows.is_empty() {
        return out;
    }
    out.push('\n');
    let mut rows: Vec<[Cow<'_, str>; 4]> = vec![[
        Cow::Borrowed("Gate"),
        Cow::Borrowed("Trigger"),
        Cow::Borrowed("Detail"),
        Cow::Borrowed("Status"),
    ]];
    for r in &v.rows {
        let status = match &r.whitelisted {
            Some(w) => Cow::Owned(format!(
                "go (whitelisted: {}/{})",
                clean(&w.whitelist_id),
                clean(w.item_id.as_deref().unwrap_or("-"))
            )),
            None => Cow::Borrowed(lower(r.action)),
        };
        rows.push([
            clean(&r.gate),
            clean(&r.trigger),
            clean(&r.check_output),
            status,
        ]);
    }
    write_aligned(&mut out, &rows);
    out
}

fn rule_key(r: &Row) -> String {
    format!("{}:{}", r.gate, r.trigger)
}

/// SARIF 2.1.0: one rule per gate:trigger, one result per STOP or WARN row.
pub fn sarif(v: &Verdict, image: &ImageInfo, tool_version: &str) -> Value {
    let findings: Vec<&Row> = v.rows.iter().filter(|r| r.action != Action::Go).collect();
    let mut rules: BTreeMap<String, (Action, &Row)> = BTreeMap::new();
    for r in &findings {
        let e = rules.entry(rule_key(r)).or_insert((r.action, r));
        e.0 = e.0.min(r.action);
    }
    let index: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let rule_values: Vec<Value> = rules
        .iter()
        .map(|(id, (worst, r))| {
            let doc = crate::policy::describe()
                .iter()
                .find(|g| g.name == r.gate)
                .and_then(|g| g.trigger(&r.trigger));
            let text = doc.map_or_else(|| id.clone(), |t| t.description.to_owned());
            json!({
                "id": id,
                "name": id,
                "shortDescription": {"text": format!("{} gate, {} trigger", r.gate, r.trigger)},
                "fullDescription": {"text": text},
                "help": {"text": format!("{text} See `plimsoll policy describe {} {}`.", r.gate, r.trigger)},
                "defaultConfiguration": {"level": level(*worst)},
                "properties": {"tags": ["policy", r.gate]},
            })
        })
        .collect();
    let uri = uri_reference(&image.full_tag);
    let results: Vec<Value> = findings
        .iter()
        .map(|r| {
            let key = rule_key(r);
            let mut result = json!({
                "ruleId": key,
                "ruleIndex": index.get(key.as_str()).copied().unwrap_or(0),
                "level": level(r.action),
                "message": {"text": format!("{}: {}", key, r.check_output)},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": uri}},
                    "logicalLocations": [{"fullyQualifiedName": v.image_digest, "kind": "image"}],
                }],
                "partialFingerprints": {
                    "plimsollPolicy/v1": format!("{}|{}|{}", r.gate, r.trigger, r.trigger_id),
                },
                "properties": {
                    "action": r.action,
                    "triggerId": r.trigger_id,
                    "policyId": r.policy_id,
                    "ruleId": r.rule_id,
                },
            });
            if let (Some(w), Some(obj)) = (&r.whitelisted, result.as_object_mut()) {
                obj.insert(
                    "suppressions".into(),
                    json!([{
                        "kind": "external",
                        "justification": format!(
                            "whitelisted by {}/{}",
                            w.whitelist_id,
                            w.item_id.as_deref().unwrap_or("-")
                        ),
                    }]),
                );
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = v
        .notes
        .iter()
        .map(|n| {
            json!({
                "level": "note",
                "message": {"text": format!("{}.{}: {}", n.gate, n.trigger, n.message)},
            })
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "plimsoll",
                "version": tool_version,
                "semanticVersion": tool_version,
                "informationUri": "https://github.com/anchore/anchore-engine",
                "rules": rule_values,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": rfc3339(v.evaluated_at),
                "toolExecutionNotifications": notifications,
            }],
            "properties": {
                "image": image.reference,
                "fullTag": image.full_tag,
                "imageDigest": v.image_digest,
                "bundleId": v.bundle_id,
                "bundleDigest": v.bundle_digest,
                "finalAction": v.final_action,
                "finalActionReason": v.reason,
            },
            "results": results,
        }],
    })
}

fn level(a: Action) -> &'static str {
    match a {
        Action::Stop => "error",
        Action::Warn => "warning",
        Action::Go => "note",
    }
}

/// A relative URI reference: no leading `/`, bytes outside RFC 3986 path characters
/// percent-encoded.
fn uri_reference(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// XML 1.0 text or attribute value: `<>&"'` escaped; characters XML 1.0 forbids (controls
/// other than tab, newline, carriage return; U+FFFE, U+FFFF) replaced by U+FFFD.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An attribute value: as [`xml`], with tab and line ends as character references (an
/// attribute's literal newline reads back as a space).
fn xml_attr(s: &str) -> String {
    xml(s)
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

/// JUnit XML for Jenkins: one `<testsuite>` named after the bundle, one `<testcase>` per row
/// (classname `gate.trigger`, name the rule id and trigger id), plus a `final_action` test
/// case that fails when the final action is STOP (a blacklisted image has no failing row).
/// STOP rows are `<failure>`s; WARN rows pass with their detail in `<system-out>`, or fail
/// too with `fail_on_warn`.
pub fn junit(v: &Verdict, image: &ImageInfo, fail_on_warn: bool) -> String {
    let fails = |a: Action| a == Action::Stop || (fail_on_warn && a == Action::Warn);
    let failures = v
        .rows
        .iter()
        .filter(|r| fails(r.effective_action()))
        .count()
        + usize::from(fails(v.final_action));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"plimsoll\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        v.rows.len() + 1
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" timestamp=\"{}\">",
        xml_attr(&format!("{} {}", v.bundle_id, image.full_tag)),
        v.rows.len() + 1,
        rfc3339(v.evaluated_at)
    );
    let _ = writeln!(out, "    <properties>");
    for (k, val) in [
        ("image", image.full_tag.as_str()),
        ("imageDigest", v.image_digest.as_str()),
        ("bundleId", v.bundle_id.as_str()),
        ("bundleDigest", v.bundle_digest.as_str()),
    ] {
        let _ = writeln!(
            out,
            "      <property name=\"{k}\" value=\"{}\"/>",
            xml_attr(val)
        );
    }
    let _ = writeln!(out, "    </properties>");
    let final_text = format!("final action {} ({})", lower(v.final_action), reason(v));
    let _ = write!(
        out,
        "    <testcase classname=\"policy\" name=\"final_action\""
    );
    if fails(v.final_action) {
        let _ = writeln!(
            out,
            ">\n      <failure type=\"{}\" message=\"{}\"/>\n    </testcase>",
            lower(v.final_action),
            xml_attr(&final_text)
        );
    } else {
        let _ = writeln!(
            out,
            ">\n      <system-out>{}</system-out>\n    </testcase>",
            xml(&final_text)
        );
    }
    for r in &v.rows {
        let name = format!(
            "{} {}",
            r.rule_id.as_deref().unwrap_or(&r.policy_id),
            r.trigger_id
        );
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml_attr(&format!("{}.{}", r.gate, r.trigger)),
            xml_attr(&name)
        );
        let action = r.effective_action();
        let detail = match &r.whitelisted {
            Some(w) => format!(
                "{} [{}, whitelisted by {}/{}]",
                r.check_output,
                lower(r.action),
                w.whitelist_id,
                w.item_id.as_deref().unwrap_or("-")
            ),
            None => format!("{} [{}]", r.check_output, lower(r.action)),
        };
        if fails(action) {
            let _ = writeln!(
                out,
                ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                lower(action),
                xml_attr(&r.check_output),
                xml(&detail)
            );
        } else {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                xml(&detail)
            );
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::Scenario;
    use crate::policy::{FormatHint, evaluate, load_bundle};

    fn verdict() -> (Verdict, ImageInfo) {
        let bundle = load_bundle(
            include_bytes!("../../../../examples/policies/cis-docker-1.13.json"),
            FormatHint::Json,
        )
        .expect("CIS bundle");
        let mut s = Scenario::new();
        // A hostile detail: markup and a control character.
        s.analysis
            .image
            .config
            .exposed_ports
            .push("<x>&\u{1b}/tcp".into());
        let v = evaluate(&bundle, &s.input());
        let image = ImageInfo::from_analysis(&s.analysis);
        (v, image)
    }

    #[test]
    fn table_snapshot() {
        let (v, image) = verdict();
        insta::assert_snapshot!(table(&v, &image));
    }

    #[test]
    fn json_snapshot() {
        let (v, image) = verdict();
        let bytes = render(&v, &image, VerdictFormat::Json, false, "0.0.0-test").expect("json");
        let value: Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(value["final_action"], "STOP");
        insta::assert_json_snapshot!(value);
    }

    #[test]
    fn sarif_snapshot() {
        let (v, image) = verdict();
        let s = sarif(&v, &image, "0.0.0-test");
        let results = s["runs"][0]["results"].as_array().expect("results");
        let stops = v.rows.iter().filter(|r| r.action == Action::Stop).count();
        let warns = v.rows.iter().filter(|r| r.action == Action::Warn).count();
        assert_eq!(results.len(), stops + warns);
        assert!(
            results
                .iter()
                .all(|r| r["level"] == "error" || r["level"] == "warning")
        );
        insta::assert_json_snapshot!(s);
    }

    #[test]
    fn junit_snapshot_and_escaping() {
        let (v, image) = verdict();
        let x = junit(&v, &image, false);
        assert!(!x.contains('\u{1b}'));
        assert!(!x.contains("<x>"), "markup is escaped");
        assert_eq!(
            x.matches("<failure ").count(),
            v.count(Action::Stop) + 1,
            "each STOP row and the final action"
        );
        insta::assert_snapshot!(x);
        let strict = junit(&v, &image, true);
        assert_eq!(
            strict.matches("<failure ").count(),
            v.count(Action::Stop) + v.count(Action::Warn) + 1
        );
    }

    #[test]
    fn xml_escapes() {
        assert_eq!(
            xml("a<b>&\"c'\u{0}\td\u{FFFF}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}\td\u{FFFD}"
        );
        assert_eq!(xml_attr("a\nb\tc"), "a&#10;b&#9;c");
    }
}
