//! Trigger parameters: their documentation ([`ParamDoc`]), their types ([`ParamKind`]) and the
//! reader that turns a rule's `[{name, value}]` strings into typed values, reporting every
//! unknown, duplicate, missing or ill-typed parameter at once.
//!
//! Traps (Anchore compatibility):
//! - Parameter names are case-insensitive; a few have Anchore aliases (`usernameblacklist`).
//! - Values are strings. An empty value counts as absent (Anchore's UI sends optional
//!   parameters with empty values).
//! - Booleans are `true`/`false` in any case; integers are non-negative; lists are
//!   comma-separated and blank items are refused; enum values are case-insensitive.

use super::bundle::RawParam;
use super::diagnostics::{Code, Diagnostics, did_you_mean, index, join, quote};
use super::pattern::Regex;
use serde::Serialize;

/// The type of a parameter value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "values", rename_all = "snake_case")]
pub enum ParamKind {
    String,
    Boolean,
    /// A non-negative integer.
    Integer,
    Float,
    /// One of the listed words (case-insensitive).
    Enum(&'static [&'static str]),
    /// Comma-separated strings.
    StringList,
    /// Comma-separated non-negative integers.
    IntegerList,
    /// Comma-separated ports or port ranges (`22,8000-8100`), 0 to 65535.
    PortList,
    /// A regular expression (Rust `regex` syntax, anchored at the start like Python's
    /// `re.match`).
    Regex,
    /// An octal file mode: `0644`, `4755`.
    OctalMode,
}

impl ParamKind {
    pub fn describe(self) -> String {
        match self {
            ParamKind::String => "a string".into(),
            ParamKind::Boolean => "true or false".into(),
            ParamKind::Integer => "a non-negative integer".into(),
            ParamKind::Float => "a number".into(),
            ParamKind::Enum(values) => format!("one of {}", values.join(", ")),
            ParamKind::StringList => "a comma-separated list".into(),
            ParamKind::IntegerList => "a comma-separated list of non-negative integers".into(),
            ParamKind::PortList => "a comma-separated list of ports or port ranges".into(),
            ParamKind::Regex => "a regular expression".into(),
            ParamKind::OctalMode => "an octal file mode such as 0644".into(),
        }
    }
}

/// One parameter of a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParamDoc {
    pub name: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub aliases: &'static [&'static str],
    pub kind: ParamKind,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<&'static str>,
    pub example: &'static str,
    pub description: &'static str,
}

impl ParamDoc {
    /// An optional parameter with no default; chain the `const fn`s below for the rest.
    pub const fn new(
        name: &'static str,
        kind: ParamKind,
        example: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            aliases: &[],
            kind,
            required: false,
            default: None,
            example,
            description,
        }
    }

    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub const fn default(mut self, value: &'static str) -> Self {
        self.default = Some(value);
        self
    }

    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
}

/// One trigger of a gate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TriggerDoc {
    pub name: &'static str,
    pub description: &'static str,
    pub params: &'static [ParamDoc],
    /// Why the trigger never fires, for triggers that need data Plimsoll does not have
    /// (Anchore's npm and gem metadata feeds, a malware scanner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<&'static str>,
}

impl TriggerDoc {
    pub const fn new(
        name: &'static str,
        description: &'static str,
        params: &'static [ParamDoc],
    ) -> Self {
        Self {
            name,
            description,
            params,
            unavailable: None,
        }
    }

    pub const fn unavailable(mut self, reason: &'static str) -> Self {
        self.unavailable = Some(reason);
        self
    }
}

/// One gate: its triggers and what it checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GateDoc {
    pub name: &'static str,
    pub description: &'static str,
    pub triggers: &'static [TriggerDoc],
}

impl GateDoc {
    pub fn trigger(&self, name: &str) -> Option<&'static TriggerDoc> {
        self.triggers
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
    }
}

/// An inclusive port range; a single port is `lo == hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub fn contains(self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }
}

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Int(u64),
    Float(f64),
    Enum(&'static str),
    List(Vec<String>),
    Ints(Vec<u64>),
    Ports(Vec<PortRange>),
    Regex(Regex),
    Mode(u32),
}

fn parse_value(kind: ParamKind, text: &str) -> Result<Value, (Code, String)> {
    let wrong = || {
        (
            Code::ParamWrongType,
            format!("{} is not {}", quote(text), kind.describe()),
        )
    };
    let t = text.trim();
    Ok(match kind {
        ParamKind::String => Value::Str(text.to_owned()),
        ParamKind::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(wrong()),
        },
        ParamKind::Integer => Value::Int(parse_uint(t).ok_or_else(wrong)?),
        ParamKind::Float => Value::Float(
            t.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(wrong)?,
        ),
        ParamKind::Enum(values) => Value::Enum(
            values
                .iter()
                .copied()
                .find(|v| v.eq_ignore_ascii_case(t))
                .ok_or_else(wrong)?,
        ),
        ParamKind::StringList => Value::List(split_list(t).ok_or_else(wrong)?),
        ParamKind::IntegerList => Value::Ints(
            split_list(t)
                .ok_or_else(wrong)?
                .iter()
                .map(|i| parse_uint(i))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(wrong)?,
        ),
        ParamKind::PortList => Value::Ports(
            split_list(t)
                .ok_or_else(wrong)?
                .iter()
                .map(|i| parse_port_range(i))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(wrong)?,
        ),
        ParamKind::Regex => Value::Regex(Regex::new(text).map_err(|e| {
            (
                Code::BadRegex,
                format!("{} is not a valid regex: {e}", quote(text)),
            )
        })?),
        ParamKind::OctalMode => Value::Mode(parse_octal_mode(t).ok_or_else(wrong)?),
    })
}

fn parse_uint(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Comma-separated items, trimmed; `None` when one is blank.
fn split_list(s: &str) -> Option<Vec<String>> {
    let items: Vec<String> = s.split(',').map(|i| i.trim().to_owned()).collect();
    if items.iter().any(String::is_empty) {
        None
    } else {
        Some(items)
    }
}

fn parse_port_range(s: &str) -> Option<PortRange> {
    let port = |p: &str| parse_uint(p).and_then(|n| u16::try_from(n).ok());
    match s.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi) = (port(lo)?, port(hi)?);
            (lo <= hi).then_some(PortRange { lo, hi })
        }
        None => port(s).map(|p| PortRange { lo: p, hi: p }),
    }
}

/// `200mb` -> 200 MiB, as Anchore (`^([0-9]+)([kmgt]b)?$`, binary units, case-insensitive).
pub(crate) fn parse_byte_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let number = parse_uint(&s[..digits_end])?;
    let multiplier: u64 = match &s[digits_end..] {
        "" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        "tb" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

/// An octal mode of at most 0o7777 (permission, setuid, setgid and sticky bits).
fn parse_octal_mode(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(s, 8).ok().filter(|m| *m <= 0o7777)
}

struct Slot {
    /// Index of the param in the rule, when given.
    raw_index: Option<usize>,
    /// Given with a blank value.
    blank: bool,
    value: Option<Value>,
}

/// A rule's parameters, checked against its trigger. Gates read typed values from it and
/// report cross-parameter problems through it.
pub(crate) struct Params<'a> {
    trigger: &'static TriggerDoc,
    params_path: String,
    slots: Vec<Slot>,
    d: &'a mut Diagnostics,
}

impl<'a> Params<'a> {
    /// Checks every param of `raw` against `trigger` (unknown, duplicate, type, missing).
    pub(crate) fn read(
        trigger: &'static TriggerDoc,
        raw: &[RawParam],
        rule_path: &str,
        d: &'a mut Diagnostics,
    ) -> Self {
        let params_path = join(rule_path, "params");
        let mut slots: Vec<Slot> = trigger
            .params
            .iter()
            .map(|_| Slot {
                raw_index: None,
                blank: false,
                value: None,
            })
            .collect();
        for (i, p) in raw.iter().enumerate() {
            let path = index(&params_path, i);
            let name = p.name.trim();
            let found = trigger.params.iter().position(|doc| {
                doc.name.eq_ignore_ascii_case(name)
                    || doc.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            });
            let Some(at) = found else {
                let valid: Vec<&str> = trigger.params.iter().map(|p| p.name).collect();
                let listed = if valid.is_empty() {
                    format!("trigger {} takes no parameters", trigger.name)
                } else {
                    format!("{} takes: {}", trigger.name, valid.join(", "))
                };
                d.push(
                    Code::UnknownParam,
                    path,
                    format!(
                        "unknown parameter {}; {listed}{}",
                        quote(name),
                        did_you_mean(name, valid.iter().copied())
                    ),
                );
                continue;
            };
            let slot = &mut slots[at];
            if slot.raw_index.is_some() {
                d.push(
                    Code::DuplicateParam,
                    path,
                    format!("parameter {} is given twice", trigger.params[at].name),
                );
                continue;
            }
            slot.raw_index = Some(i);
            if p.value.trim().is_empty() {
                slot.blank = true;
                continue;
            }
            match parse_value(trigger.params[at].kind, &p.value) {
                Ok(v) => slot.value = Some(v),
                Err((code, message)) => d.push(
                    code,
                    join(&path, "value"),
                    format!("{}: {message}", trigger.params[at].name),
                ),
            }
        }
        for (doc, slot) in trigger.params.iter().zip(&slots) {
            if doc.required && slot.raw_index.is_none() {
                d.push(
                    Code::MissingParam,
                    &params_path,
                    format!(
                        "trigger {} requires parameter {} ({})",
                        trigger.name,
                        doc.name,
                        doc.kind.describe()
                    ),
                );
            } else if doc.required && slot.blank {
                d.push(
                    Code::MissingParam,
                    index(&params_path, slot.raw_index.unwrap_or_default()),
                    format!("parameter {} is required and must not be empty", doc.name),
                );
            }
        }
        Self {
            trigger,
            params_path,
            slots,
            d,
        }
    }

    fn slot(&self, name: &str) -> Option<&Slot> {
        let at = self.trigger.params.iter().position(|p| p.name == name);
        debug_assert!(
            at.is_some(),
            "{} has no parameter {name}",
            self.trigger.name
        );
        at.map(|i| &self.slots[i])
    }

    fn value(&self, name: &str) -> Option<&Value> {
        self.slot(name).and_then(|s| s.value.as_ref())
    }

    /// True when the parameter was given with a valid, non-empty value.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.value(name).is_some()
    }

    /// True when the parameter was given at all (even empty or invalid).
    pub(crate) fn given(&self, name: &str) -> bool {
        self.slot(name).is_some_and(|s| s.raw_index.is_some())
    }

    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        match self.value(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn int(&self, name: &str) -> Option<u64> {
        match self.value(name) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn float(&self, name: &str) -> Option<f64> {
        match self.value(name) {
            Some(Value::Float(n)) => Some(*n),
            _ => None,
        }
    }

    /// The enum word as the trigger documents it (canonical case).
    pub(crate) fn word(&self, name: &str) -> Option<&'static str> {
        match self.value(name) {
            Some(Value::Enum(w)) => Some(w),
            _ => None,
        }
    }

    pub(crate) fn list(&self, name: &str) -> Option<&[String]> {
        match self.value(name) {
            Some(Value::List(l)) => Some(l),
            _ => None,
        }
    }

    pub(crate) fn ints(&self, name: &str) -> Option<&[u64]> {
        match self.value(name) {
            Some(Value::Ints(l)) => Some(l),
            _ => None,
        }
    }

    pub(crate) fn ports(&self, name: &str) -> Option<&[PortRange]> {
        match self.value(name) {
            Some(Value::Ports(l)) => Some(l),
            _ => None,
        }
    }

    pub(crate) fn regex(&self, name: &str) -> Option<&Regex> {
        match self.value(name) {
            Some(Value::Regex(r)) => Some(r),
            _ => None,
        }
    }

    pub(crate) fn mode(&self, name: &str) -> Option<u32> {
        match self.value(name) {
            Some(Value::Mode(m)) => Some(*m),
            _ => None,
        }
    }

    /// Reports a problem with one parameter (at its value when given, else at the rule's
    /// params).
    pub(crate) fn error(&mut self, code: Code, name: &str, message: impl Into<String>) {
        let path = match self.slot(name).and_then(|s| s.raw_index) {
            Some(i) => join(&index(&self.params_path, i), "value"),
            None => self.params_path.clone(),
        };
        self.d.push(code, path, message);
    }

    /// Reports a problem of the rule as a whole (at its params).
    pub(crate) fn rule_warning(&mut self, code: Code, message: impl Into<String>) {
        let path = self.params_path.clone();
        self.d.push(code, path, message);
    }

    /// Checks a value that must be a regex although its parameter is typed as a string (it
    /// depends on another parameter, like `value` under `check=like`).
    pub(crate) fn regex_of(&mut self, name: &str) -> Option<Regex> {
        let source = self.str(name)?.to_owned();
        match Regex::new(&source) {
            Ok(r) => Some(r),
            Err(e) => {
                self.error(
                    Code::BadRegex,
                    name,
                    format!("{name}: {} is not a valid regex: {e}", quote(&source)),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: TriggerDoc = TriggerDoc::new(
        "t",
        "test trigger",
        &[
            ParamDoc::new("name", ParamKind::String, "x", "a name").required(),
            ParamDoc::new("flag", ParamKind::Boolean, "true", "a flag"),
            ParamDoc::new("count", ParamKind::Integer, "3", "a count"),
            ParamDoc::new("score", ParamKind::Float, "5.0", "a score"),
            ParamDoc::new(
                "kind",
                ParamKind::Enum(&["whitelist", "blacklist"]),
                "whitelist",
                "a kind",
            ),
            ParamDoc::new("items", ParamKind::StringList, "a,b", "items"),
            ParamDoc::new("ids", ParamKind::IntegerList, "0,1", "ids").aliases(&["idlist"]),
            ParamDoc::new("ports", ParamKind::PortList, "22,80-90", "ports"),
            ParamDoc::new("re", ParamKind::Regex, ".*", "a regex"),
            ParamDoc::new("mode", ParamKind::OctalMode, "0644", "a mode"),
        ],
    );

    fn p(name: &str, value: &str) -> RawParam {
        RawParam {
            name: name.into(),
            value: value.into(),
        }
    }

    fn codes(raw: &[RawParam]) -> Vec<String> {
        let mut d = Diagnostics::default();
        let _ = Params::read(&DOC, raw, "r", &mut d);
        d.into_vec()
            .into_iter()
            .map(|d| format!("{} {}", d.code, d.path))
            .collect()
    }

    #[test]
    fn typed_values() {
        let raw = [
            p("NAME", "x"),
            p("flag", "TRUE"),
            p("count", " 7 "),
            p("score", "5.5"),
            p("kind", "Blacklist"),
            p("items", "a, b"),
            p("idlist", "0,1"),
            p("ports", "22, 8000-8100"),
            p("re", "a+"),
            p("mode", "4755"),
        ];
        let mut d = Diagnostics::default();
        let params = Params::read(&DOC, &raw, "r", &mut d);
        assert_eq!(params.str("name"), Some("x"));
        assert_eq!(params.bool("flag"), Some(true));
        assert_eq!(params.int("count"), Some(7));
        assert_eq!(params.float("score"), Some(5.5));
        assert_eq!(params.word("kind"), Some("blacklist"));
        assert_eq!(
            params.list("items"),
            Some(&["a".to_owned(), "b".to_owned()][..])
        );
        assert_eq!(params.ints("ids"), Some(&[0, 1][..]));
        assert_eq!(
            params.ports("ports"),
            Some(
                &[
                    PortRange { lo: 22, hi: 22 },
                    PortRange { lo: 8000, hi: 8100 }
                ][..]
            )
        );
        assert!(params.regex("re").is_some_and(|r| r.is_match("aaa")));
        assert_eq!(params.mode("mode"), Some(0o4755));
        drop(params);
        assert!(d.into_vec().is_empty());
    }

    #[test]
    fn every_problem_is_reported() {
        let raw = [
            p("flag", "yes"),
            p("count", "-1"),
            p("score", "high"),
            p("kind", "greylist"),
            p("items", "a,,b"),
            p("ids", "1,x"),
            p("ports", "70000"),
            p("re", "(?<=a)b"),
            p("mode", "0999"),
            p("colour", "red"),
            p("flag", "true"),
        ];
        assert_eq!(
            codes(&raw),
            vec![
                "param-wrong-type r.params[0].value",
                "param-wrong-type r.params[1].value",
                "param-wrong-type r.params[2].value",
                "param-wrong-type r.params[3].value",
                "param-wrong-type r.params[4].value",
                "param-wrong-type r.params[5].value",
                "param-wrong-type r.params[6].value",
                "bad-regex r.params[7].value",
                "param-wrong-type r.params[8].value",
                "unknown-param r.params[9]",
                "duplicate-param r.params[10]",
                "missing-param r.params",
            ]
        );
    }

    #[test]
    fn empty_values_are_absent_but_required_ones_are_reported() {
        assert_eq!(
            codes(&[p("name", " "), p("count", "")]),
            vec!["missing-param r.params[0]"]
        );
    }

    #[test]
    fn byte_sizes_and_modes() {
        assert_eq!(parse_byte_size("10"), Some(10));
        assert_eq!(parse_byte_size("1kb"), Some(1024));
        assert_eq!(parse_byte_size("1GB"), Some(1 << 30));
        assert_eq!(parse_byte_size("1 gb"), None);
        assert_eq!(parse_byte_size("mb"), None);
        assert_eq!(parse_byte_size("99999999999999999999tb"), None);
        assert_eq!(parse_octal_mode("00644"), Some(0o644));
        assert_eq!(parse_octal_mode("17777"), None);
        assert_eq!(parse_port_range("90-80"), None);
    }
}
