//! Slack incoming-webhook messages: a `text` fallback (shown in push notifications and by
//! clients without Block Kit) and `blocks` (header, section and context blocks).
//!
//! Slack's rules followed here (Slack's Block Kit reference and "Formatting text" pages):
//! - At most 50 blocks per message; a header's `plain_text` at most 150 characters; a
//!   section's `text` 1 to 3000 characters, its `fields` at most 10 of at most 2000; a context
//!   block at most 10 elements; `block_id` at most 255 characters.
//! - `&`, `<` and `>` are control characters in `mrkdwn`: they are sent as `&amp;`, `&lt;`,
//!   `&gt;` except in the links we build (`<url|text>`). Image references, package names and
//!   versions come from images and feeds, so all of them go through [`escape`].
//! - Incoming webhooks accept about one message per second per webhook: the deliverer rate
//!   limits Slack sinks and sends several notifications as one message ([`slack_batch`]).
//!
//! [`violations`] checks a message against those rules; the tests run it on every message
//! built here, including batches of hundreds and notifications with hostile strings.

use super::event::{Notification, VulnEntry};
use crate::crd::image_scan::VulnerabilityCounts;
use crate::crd::subscription::EventType;
use serde_json::{Value, json};
use std::fmt::Write as _;

pub const MAX_BLOCKS: usize = 50;
pub const MAX_HEADER_TEXT: usize = 150;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_TEXT: usize = 2000;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_BLOCK_ID: usize = 255;
/// Slack truncates a message's `text` beyond 40 000 characters.
pub const MAX_MESSAGE_TEXT: usize = 40_000;
/// Our own bound for the fallback `text`: it is a notification preview, not the message.
const FALLBACK_TEXT: usize = 1000;
/// Vulnerability lines listed per notification in a single message.
const MAX_LINES: usize = 20;

/// Escapes Slack's control characters for `mrkdwn` text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline code: escaped, with backticks (which would end the span) replaced.
fn code(s: &str) -> String {
    format!("`{}`", escape(&s.replace('`', "'")))
}

/// Cuts `s` to at most `max` characters, ending with `…` when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn len(s: &str) -> usize {
    s.chars().count()
}

fn more_text(rest: usize) -> String {
    format!("\n… and {rest} more")
}

/// `head`, then as many of the first `max_lines` of `lines` as fit in `max` characters, then
/// "… and N more" for the others.
fn fit_lines(head: &str, lines: &[String], max_lines: usize, max: usize) -> String {
    let mut out = clip(head, max);
    let mut shown = 0;
    for line in lines.iter().take(max_lines) {
        let rest = lines.len() - shown - 1;
        let reserve = if rest > 0 { len(&more_text(rest)) } else { 0 };
        let sep = usize::from(!out.is_empty());
        if len(&out) + sep + len(line) + reserve > max {
            break;
        }
        if sep == 1 {
            out.push('\n');
        }
        out.push_str(line);
        shown += 1;
    }
    let rest = lines.len() - shown;
    if rest > 0 {
        let more = more_text(rest);
        let more = if out.is_empty() {
            more.trim_start()
        } else {
            &more
        };
        if len(&out) + len(more) <= max {
            out.push_str(more);
        }
    }
    out
}

fn title(n: &Notification) -> String {
    let t = match n.event {
        EventType::PolicyEval => match &n.verdict {
            Some(v) => format!("Policy verdict is now {}", v.final_action),
            None => "Policy verdict changed".to_owned(),
        },
        EventType::VulnUpdate => "Vulnerabilities changed".to_owned(),
        EventType::FixAvailable => "Fixes available".to_owned(),
        EventType::TagUpdate => "Tag moved to a new image".to_owned(),
        EventType::AnalysisUpdate => "Image analyzed".to_owned(),
    };
    if n.test { format!("[test] {t}") } else { t }
}

fn emoji(n: &Notification) -> &'static str {
    match (n.event, n.verdict.as_ref().map(|v| v.final_action.as_str())) {
        (EventType::FixAvailable, _) => ":wrench:",
        (EventType::TagUpdate, _) => ":label:",
        (_, Some("STOP")) => ":no_entry:",
        (_, Some("WARN")) => ":warning:",
        (_, Some("GO")) => ":white_check_mark:",
        _ => ":mag:",
    }
}

/// A link Slack can parse, or None: no `|`, `<`, `>` or whitespace in the URL.
fn link(url: &str, text: &str) -> Option<String> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url
            .chars()
            .any(|c| matches!(c, '|' | '<' | '>') || c.is_whitespace() || c.is_control());
    ok.then(|| format!("<{url}|{}>", escape(text)))
}

/// `• CVE-2024-1 *High* `openssl` `3.0.1` → fixed in `3.0.2``
fn vuln_line(e: &VulnEntry, prefix: &str) -> String {
    let id = e
        .url
        .as_deref()
        .and_then(|u| link(u, &e.vuln_id))
        .unwrap_or_else(|| escape(&e.vuln_id));
    let fix = match &e.fixed_in {
        Some(f) => format!("fixed in {}", code(&clip(f, 80))),
        None => "no fix yet".to_owned(),
    };
    format!(
        "{prefix}{} *{}* {} {} → {fix}",
        clip(&id, 300),
        e.severity,
        code(&clip(&e.package, 100)),
        code(&clip(&e.version, 80)),
    )
}

fn counts_text(c: &VulnerabilityCounts) -> String {
    let mut out = String::new();
    for (n, name) in [
        (c.critical, "critical"),
        (c.high, "high"),
        (c.medium, "medium"),
        (c.low, "low"),
        (c.negligible, "negligible"),
        (c.unknown, "unknown"),
    ] {
        if n > 0 {
            if !out.is_empty() {
                out.push_str(", ");
            }
            let _ = write!(out, "{n} {name}");
        }
    }
    if out.is_empty() {
        out.push_str("none");
    }
    let _ = write!(out, " ({} fixable)", c.fixable);
    out
}

fn verdict_text(n: &Notification) -> Option<String> {
    let v = n.verdict.as_ref()?;
    let mut s = format!("*{}*", escape(&v.final_action));
    if let Some(prev) = &v.previous_final_action {
        let _ = write!(s, " (was {})", escape(prev));
    }
    if let Some(b) = &v.bundle {
        let _ = write!(s, "\nbundle {}", code(&clip(b, 200)));
    }
    Some(s)
}

fn short_digest(d: &str) -> String {
    clip(d, 19 + 1)
}

/// The event-specific lines: the diff, the fixes, the tag move.
fn event_lines(n: &Notification) -> (String, Vec<String>) {
    match n.event {
        EventType::VulnUpdate => {
            let Some(d) = &n.diff else {
                return (String::new(), Vec::new());
            };
            let head = format!(
                "*{} added, {} updated, {} removed*{}",
                d.added.len(),
                d.updated.len(),
                d.removed.len(),
                if d.truncated {
                    " (lists truncated)"
                } else {
                    ""
                }
            );
            let mut lines: Vec<String> = d.added.iter().map(|e| vuln_line(e, "• new: ")).collect();
            lines.extend(d.updated.iter().map(|u| {
                let was = if u.before.severity != u.after.severity {
                    format!(" (was {})", u.before.severity)
                } else {
                    String::new()
                };
                format!("{}{was}", vuln_line(&u.after, "• updated: "))
            }));
            lines.extend(d.removed.iter().map(|e| vuln_line(e, "• gone: ")));
            (head, lines)
        }
        EventType::FixAvailable => {
            let head = format!(
                "*{} {} now fixable*{}",
                n.fixes.len(),
                if n.fixes.len() == 1 {
                    "vulnerability is"
                } else {
                    "vulnerabilities are"
                },
                if n.fixes_truncated {
                    " (list truncated)"
                } else {
                    ""
                }
            );
            (head, n.fixes.iter().map(|e| vuln_line(e, "• ")).collect())
        }
        EventType::TagUpdate => match &n.tag {
            Some(t) => (
                format!(
                    "{} → {}",
                    t.previous_digest
                        .as_deref()
                        .map_or_else(|| "(new tag)".to_owned(), |d| code(&short_digest(d))),
                    code(&short_digest(&t.digest))
                ),
                Vec::new(),
            ),
            None => (String::new(), Vec::new()),
        },
        EventType::PolicyEval | EventType::AnalysisUpdate => (String::new(), Vec::new()),
    }
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn fallback(n: &Notification) -> String {
    let mut s = format!("{}: {}", title(n), n.image.reference);
    if let Some(v) = n
        .verdict
        .as_ref()
        .filter(|_| n.event != EventType::PolicyEval)
    {
        let _ = write!(s, " — {}", v.final_action);
    }
    escape(&clip(&s, FALLBACK_TEXT))
}

/// One notification as one message.
pub fn message(n: &Notification) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": clip(&format!("{} {}", emoji(n), title(n)), MAX_HEADER_TEXT), "emoji": true},
    })];
    let mut about = format!("*Image* {}", code(&clip(&n.image.reference, 1000)));
    if let Some(d) = &n.image.digest {
        let _ = write!(about, "\n*Digest* {}", code(&clip(d, 200)));
    }
    if let Some(s) = &n.image.scan {
        let _ = write!(about, "\n*ImageScan* {}", code(&clip(&s.to_string(), 400)));
    }
    blocks.push(section(clip(&about, MAX_SECTION_TEXT)));
    let mut fields = Vec::new();
    if let Some(v) = verdict_text(n) {
        fields.push(format!("*Verdict*\n{v}"));
    }
    if let Some(c) = &n.counts {
        fields.push(format!("*Vulnerabilities*\n{}", counts_text(c)));
    }
    if !fields.is_empty() {
        let fields: Vec<Value> = fields
            .into_iter()
            .map(|f| json!({"type": "mrkdwn", "text": clip(&f, MAX_FIELD_TEXT)}))
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    let (head, lines) = event_lines(n);
    if !head.is_empty() || !lines.is_empty() {
        blocks.push(section(fit_lines(
            &head,
            &lines,
            MAX_LINES,
            MAX_SECTION_TEXT,
        )));
    }
    if !n.top_findings.is_empty() && !matches!(n.event, EventType::FixAvailable) {
        let lines: Vec<String> = n.top_findings.iter().map(|e| vuln_line(e, "• ")).collect();
        blocks.push(section(fit_lines(
            "*Top findings*",
            &lines,
            MAX_LINES,
            MAX_SECTION_TEXT,
        )));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": context_text(n)}],
    }));
    json!({"text": fallback(n), "blocks": blocks})
}

fn context_text(n: &Notification) -> String {
    clip(
        &format!(
            "Plimsoll · {} · Subscription {} · {} · id {}",
            escape(n.event_name()),
            code(&clip(&n.subscription.to_string(), 400)),
            n.created_at.format("%Y-%m-%d %H:%M UTC"),
            code(&clip(&n.id, 300)),
        ),
        MAX_SECTION_TEXT,
    )
}

/// One compact section for a notification in a batch.
fn summary(n: &Notification) -> String {
    let mut head = format!(
        "{} *{}* {}",
        emoji(n),
        escape(&title(n)),
        code(&clip(&n.image.reference, 600))
    );
    if let Some(v) = verdict_text(n) {
        let _ = write!(head, "\nverdict {}", v.replace('\n', " · "));
    }
    if let Some(c) = &n.counts {
        let _ = write!(head, "\n{}", counts_text(c));
    }
    let (event_head, lines) = event_lines(n);
    if !event_head.is_empty() {
        let _ = write!(head, "\n{event_head}");
    }
    let lines: Vec<String> = if lines.is_empty() {
        n.top_findings.iter().map(|e| vuln_line(e, "• ")).collect()
    } else {
        lines
    };
    fit_lines(&head, &lines, 3, MAX_SECTION_TEXT)
}

/// Several notifications in one message, within Slack's limits: one section each, then
/// "… and N more" when they do not all fit in 50 blocks. One notification gives
/// [`message`].
pub fn slack_batch(notifications: &[Notification]) -> Value {
    match notifications {
        [] => json!({"text": "Plimsoll: no notifications", "blocks": []}),
        [one] => message(one),
        all => {
            let tests = all.iter().filter(|n| n.test).count();
            let mut blocks = vec![json!({
                "type": "header",
                "text": {"type": "plain_text", "text": format!("Plimsoll: {} notifications", all.len()), "emoji": true},
            })];
            // Header + sections + the closing context block.
            let room = MAX_BLOCKS - 2;
            let shown = if all.len() > room {
                room - 1
            } else {
                all.len()
            };
            for n in &all[..shown] {
                blocks.push(section(summary(n)));
            }
            let mut context = format!("Plimsoll · {} images", all.len());
            if shown < all.len() {
                context = format!("… and {} more · {context}", all.len() - shown);
            }
            if tests > 0 {
                let _ = write!(context, " · {tests} test");
            }
            blocks.push(json!({
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": context}],
            }));
            let mut by_event: Vec<(&'static str, usize)> = Vec::new();
            for n in all {
                match by_event.iter_mut().find(|(e, _)| *e == n.event_name()) {
                    Some((_, c)) => *c += 1,
                    None => by_event.push((n.event_name(), 1)),
                }
            }
            let kinds: Vec<String> = by_event.iter().map(|(e, c)| format!("{e} ×{c}")).collect();
            let text = format!(
                "Plimsoll: {} notifications ({})",
                all.len(),
                kinds.join(", ")
            );
            json!({"text": escape(&clip(&text, FALLBACK_TEXT)), "blocks": blocks})
        }
    }
}

/// Where `message` breaks Slack's documented rules for incoming-webhook messages (empty when
/// it follows them). Checks the block types this module builds (header, section, context,
/// divider) and rejects the others.
pub fn violations(message: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(obj) = message.as_object() else {
        return vec!["the message is not a JSON object".into()];
    };
    const TOP: [&str; 8] = [
        "text",
        "blocks",
        "attachments",
        "thread_ts",
        "mrkdwn",
        "unfurl_links",
        "unfurl_media",
        "metadata",
    ];
    for k in obj.keys() {
        if !TOP.contains(&k.as_str()) {
            out.push(format!("unknown top-level field {k:?}"));
        }
    }
    let text = obj.get("text");
    match text {
        Some(Value::String(t)) => {
            if len(t) > MAX_MESSAGE_TEXT {
                out.push(format!("text: {} characters > {MAX_MESSAGE_TEXT}", len(t)));
            }
            check_mrkdwn("text", t, &mut out);
        }
        Some(_) => out.push("text: not a string".into()),
        None => {}
    }
    let blocks = match obj.get("blocks") {
        None => {
            if text.is_none() {
                out.push("neither text nor blocks".into());
            }
            return out;
        }
        Some(Value::Array(b)) => b,
        Some(_) => {
            out.push("blocks: not an array".into());
            return out;
        }
    };
    if text.and_then(Value::as_str).is_none_or(str::is_empty) && !blocks.is_empty() {
        out.push("text: a fallback text is needed with blocks".into());
    }
    if blocks.len() > MAX_BLOCKS {
        out.push(format!("blocks: {} > {MAX_BLOCKS}", blocks.len()));
    }
    let mut ids = std::collections::HashSet::new();
    for (i, b) in blocks.iter().enumerate() {
        let at = format!("blocks[{i}]");
        let Some(b) = b.as_object() else {
            out.push(format!("{at}: not an object"));
            continue;
        };
        if let Some(id) = b.get("block_id") {
            match id.as_str() {
                Some(s) if !s.is_empty() && len(s) <= MAX_BLOCK_ID => {
                    if !ids.insert(s.to_owned()) {
                        out.push(format!("{at}.block_id: duplicate {s:?}"));
                    }
                }
                _ => out.push(format!("{at}.block_id: 1 to {MAX_BLOCK_ID} characters")),
            }
        }
        let allowed: &[&str] = match b.get("type").and_then(Value::as_str) {
            Some("header") => {
                check_text(
                    &format!("{at}.text"),
                    b.get("text"),
                    Some("plain_text"),
                    MAX_HEADER_TEXT,
                    &mut out,
                );
                &["type", "text", "block_id"]
            }
            Some("section") => {
                if let Some(t) = b.get("text") {
                    check_text(
                        &format!("{at}.text"),
                        Some(t),
                        None,
                        MAX_SECTION_TEXT,
                        &mut out,
                    );
                }
                match b.get("fields") {
                    None => {
                        if b.get("text").is_none() {
                            out.push(format!("{at}: a section needs text or fields"));
                        }
                    }
                    Some(Value::Array(f)) => {
                        if f.is_empty() || f.len() > MAX_FIELDS {
                            out.push(format!(
                                "{at}.fields: 1 to {MAX_FIELDS} items, not {}",
                                f.len()
                            ));
                        }
                        for (j, t) in f.iter().enumerate() {
                            check_text(
                                &format!("{at}.fields[{j}]"),
                                Some(t),
                                None,
                                MAX_FIELD_TEXT,
                                &mut out,
                            );
                        }
                    }
                    Some(_) => out.push(format!("{at}.fields: not an array")),
                }
                &["type", "text", "fields", "block_id", "accessory"]
            }
            Some("context") => {
                match b.get("elements") {
                    Some(Value::Array(e)) => {
                        if e.is_empty() || e.len() > MAX_CONTEXT_ELEMENTS {
                            out.push(format!(
                                "{at}.elements: 1 to {MAX_CONTEXT_ELEMENTS} items, not {}",
                                e.len()
                            ));
                        }
                        for (j, t) in e.iter().enumerate() {
                            check_text(
                                &format!("{at}.elements[{j}]"),
                                Some(t),
                                None,
                                MAX_SECTION_TEXT,
                                &mut out,
                            );
                        }
                    }
                    _ => out.push(format!("{at}.elements: missing or not an array")),
                }
                &["type", "elements", "block_id"]
            }
            Some("divider") => &["type", "block_id"],
            other => {
                out.push(format!(
                    "{at}.type: {other:?} is not a block this checker knows"
                ));
                continue;
            }
        };
        for k in b.keys() {
            if !allowed.contains(&k.as_str()) {
                out.push(format!("{at}: unknown field {k:?}"));
            }
        }
    }
    out
}

/// A text object: `plain_text` or `mrkdwn` (or only `want`), 1 to `max` characters.
fn check_text(at: &str, t: Option<&Value>, want: Option<&str>, max: usize, out: &mut Vec<String>) {
    let Some(t) = t.and_then(Value::as_object) else {
        out.push(format!("{at}: missing or not a text object"));
        return;
    };
    let kind = t.get("type").and_then(Value::as_str);
    match (kind, want) {
        (Some(k), Some(w)) if k != w => out.push(format!("{at}.type: {k:?}, must be {w:?}")),
        (Some("plain_text" | "mrkdwn"), _) => {}
        (k, _) => out.push(format!("{at}.type: {k:?} is not a text object type")),
    }
    for k in t.keys() {
        let ok = match k.as_str() {
            "type" | "text" => true,
            "emoji" => kind == Some("plain_text"),
            "verbatim" => kind == Some("mrkdwn"),
            _ => false,
        };
        if !ok {
            out.push(format!(
                "{at}: field {k:?} not allowed in a {kind:?} text object"
            ));
        }
    }
    match t.get("text").and_then(Value::as_str) {
        None => out.push(format!("{at}.text: missing")),
        Some(s) => {
            let n = len(s);
            if n == 0 || n > max {
                out.push(format!("{at}.text: {n} characters, must be 1 to {max}"));
            }
            if kind == Some("mrkdwn") {
                check_mrkdwn(at, s, out);
            }
        }
    }
}

/// `&`, `<`, `>` only as entities or in `<…>` control sequences.
fn check_mrkdwn(at: &str, s: &str, out: &mut Vec<String>) {
    let mut rest = s;
    while let Some(i) = rest.find(['&', '<', '>']) {
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix('&') {
            if !["amp;", "lt;", "gt;"].iter().any(|e| after.starts_with(e)) {
                out.push(format!("{at}: unescaped '&' in {s:?}"));
                return;
            }
            rest = after;
        } else if let Some(inside) = tail.strip_prefix('<') {
            match inside.find(['<', '>']) {
                Some(j) if inside.as_bytes()[j] == b'>' => rest = &inside[j + 1..],
                _ => {
                    out.push(format!("{at}: unescaped '<' in {s:?}"));
                    return;
                }
            }
        } else {
            out.push(format!("{at}: unescaped '>' in {s:?}"));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::{ObjectName, VulnDiff};
    use crate::notify::samples::{ALL_EVENTS, sample, vuln};
    use crate::severity::Severity;

    fn assert_valid(m: &Value) {
        let v = violations(m);
        assert!(v.is_empty(), "{v:#?}\n{m:#}");
    }

    fn all_text(m: &Value) -> String {
        let mut out = String::new();
        fn walk(v: &Value, out: &mut String) {
            match v {
                Value::String(s) => {
                    out.push_str(s);
                    out.push('\n');
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                Value::Object(o) => o.values().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(m, &mut out);
        out
    }

    #[test]
    fn escapes_control_characters() {
        assert_eq!(escape("a & b <c> d"), "a &amp; b &lt;c&gt; d");
        assert_eq!(escape("plain"), "plain");
        assert_eq!(code("a`b<"), "`a'b&lt;`");
    }

    #[test]
    fn every_event_is_a_valid_readable_message() {
        for event in ALL_EVENTS {
            let n = sample(event);
            let m = message(&n);
            assert_valid(&m);
            let text = all_text(&m);
            assert!(
                text.contains("registry.example/team/app:1.2"),
                "{event:?}: image"
            );
            assert!(
                text.contains("1 critical, 3 high, 7 medium, 12 low, 20 negligible (4 fixable)"),
                "{event:?}: counts"
            );
            assert!(text.contains("*STOP*"), "{event:?}: verdict");
            if event != EventType::FixAvailable {
                assert!(
                    text.contains(
                        "<https://nvd.nist.gov/vuln/detail/CVE-2023-45853|CVE-2023-45853>"
                    ),
                    "{event:?}: top finding: {text}"
                );
            }
            assert!(
                text.contains("fixed in `3.0.13-1~deb12u1`"),
                "{event:?}: fix version"
            );
        }
    }

    #[test]
    fn event_specific_content() {
        let text = all_text(&message(&sample(EventType::PolicyEval)));
        assert!(text.contains("*STOP* (was GO)"), "{text}");
        let text = all_text(&message(&sample(EventType::VulnUpdate)));
        assert!(text.contains("*1 added, 1 updated, 1 removed*"), "{text}");
        assert!(text.contains("(was Medium)"), "{text}");
        assert!(
            text.contains(
                "• gone: <https://github.com/advisories/GHSA-xxxx-yyyy-zzzz|GHSA-xxxx-yyyy-zzzz>"
            ),
            "{text}"
        );
        let text = all_text(&message(&sample(EventType::TagUpdate)));
        assert!(
            text.contains("`sha256:111111111111…` → `sha256:9f86d081884c…`"),
            "{text}"
        );
        let text = all_text(&message(&sample(EventType::FixAvailable)));
        assert!(text.contains("*1 vulnerability is now fixable*"), "{text}");
        let mut t = sample(EventType::AnalysisUpdate);
        t.test = true;
        assert!(
            message(&t)["blocks"][0]["text"]["text"]
                .as_str()
                .is_some_and(|h| h.contains("[test]"))
        );
    }

    #[test]
    fn hostile_and_huge_input_stays_within_limits() {
        let mut n = sample(EventType::VulnUpdate);
        let evil = "<!channel> & <https://evil.example|click> `x` > *y*".repeat(40);
        n.image.reference = evil.clone();
        n.subscription = ObjectName::new(evil.clone(), evil.clone());
        n.id = evil.clone();
        let many: Vec<_> = (0..600)
            .map(|i| {
                let mut e = vuln(
                    &format!("CVE-2024-{i:05}"),
                    &evil,
                    &evil,
                    Severity::High,
                    Some(&evil),
                );
                e.url = Some(format!("https://x.example/{i}|<bad>"));
                e
            })
            .collect();
        n.diff = Some(VulnDiff {
            added: many.clone(),
            removed: many.clone(),
            ..VulnDiff::default()
        });
        n.top_findings = many.iter().take(5).cloned().collect();
        if let Some(v) = n.verdict.as_mut() {
            v.final_action = evil.clone();
        }
        let m = message(&n);
        assert_valid(&m);
        let text = all_text(&m);
        assert!(!text.contains("<!channel>"), "no mention smuggled in");
        assert!(
            !text.contains("<https://evil.example"),
            "no link smuggled in"
        );
        assert!(text.contains("more"), "cut lists say so");
        let batch: Vec<Notification> = (0..120).map(|_| n.clone()).collect();
        assert_valid(&slack_batch(&batch));
    }

    #[test]
    fn batches_fit_in_one_message() {
        let all: Vec<Notification> = (0..200)
            .map(|i| {
                let mut n = sample(ALL_EVENTS[i % ALL_EVENTS.len()]);
                n.image.reference = format!("registry.example/team/app-{i}:1");
                n
            })
            .collect();
        for count in [2, 5, 48, 49, 200] {
            let m = slack_batch(&all[..count]);
            assert_valid(&m);
            let blocks = m["blocks"].as_array().expect("blocks");
            assert!(blocks.len() <= MAX_BLOCKS);
            let text = all_text(&m);
            assert!(
                text.contains(&format!("Plimsoll: {count} notifications")),
                "{count}"
            );
            let listed = (0..count)
                .filter(|i| text.contains(&format!("app-{i}:1`")))
                .count();
            if count <= MAX_BLOCKS - 2 {
                assert_eq!(listed, count, "all listed");
            } else {
                assert_eq!(listed, MAX_BLOCKS - 3);
                assert!(
                    text.contains(&format!("… and {} more", count - listed)),
                    "{count}"
                );
            }
        }
        assert_eq!(slack_batch(&all[..1]), message(&all[0]));
    }

    #[test]
    fn the_checker_catches_what_slack_rejects() {
        let good = message(&sample(EventType::PolicyEval));
        type Breaker = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Breaker)> = vec![
            (
                "51 blocks",
                Box::new(|m| {
                    let b = m["blocks"][1].clone();
                    m["blocks"] = Value::Array(vec![b; 51]);
                }),
            ),
            (
                "long header",
                Box::new(|m| m["blocks"][0]["text"]["text"] = "x".repeat(151).into()),
            ),
            (
                "mrkdwn header",
                Box::new(|m| m["blocks"][0]["text"]["type"] = "mrkdwn".into()),
            ),
            (
                "long section",
                Box::new(|m| m["blocks"][1]["text"]["text"] = "x".repeat(3001).into()),
            ),
            (
                "empty section",
                Box::new(|m| m["blocks"][1]["text"]["text"] = "".into()),
            ),
            (
                "unescaped &",
                Box::new(|m| m["blocks"][1]["text"]["text"] = "a & b".into()),
            ),
            (
                "unescaped <",
                Box::new(|m| m["blocks"][1]["text"]["text"] = "a < b".into()),
            ),
            (
                "unescaped >",
                Box::new(|m| m["blocks"][1]["text"]["text"] = "a > b".into()),
            ),
            (
                "11 fields",
                Box::new(|m| {
                    let f = json!({"type": "mrkdwn", "text": "x"});
                    m["blocks"][2]["fields"] = Value::Array(vec![f; 11]);
                }),
            ),
            (
                "no fallback text",
                Box::new(|m| {
                    m.as_object_mut().map(|o| o.remove("text"));
                }),
            ),
            (
                "unknown block",
                Box::new(|m| m["blocks"][1]["type"] = "table".into()),
            ),
            (
                "unknown field",
                Box::new(|m| m["blocks"][1]["colour"] = "red".into()),
            ),
        ];
        assert_valid(&good);
        for (what, break_it) in cases {
            let mut m = good.clone();
            break_it(&mut m);
            assert!(!violations(&m).is_empty(), "{what} should be caught");
        }
        assert!(violations(&json!("text")).len() == 1);
    }

    #[test]
    fn fit_lines_counts_characters() {
        let lines: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
        let s = fit_lines("head", &lines, 100, 30);
        assert!(len(&s) <= 30, "{s}");
        assert_eq!(s, "head\nline 0\n… and 9 more");
        assert_eq!(fit_lines("h", &lines[..2], 100, 100), "h\nline 0\nline 1");
        assert_eq!(
            fit_lines("h", &lines, 3, 1000),
            "h\nline 0\nline 1\nline 2\n… and 7 more"
        );
        assert_eq!(fit_lines("", &lines, 0, 1000), "… and 10 more");
    }
}
