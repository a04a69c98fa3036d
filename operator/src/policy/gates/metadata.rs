//! Gate `metadata`: image attributes (size, architecture, OS, distro, layers) and, beyond
//! Anchore, labels.
//!
//! Traps:
//! - The value's type depends on the attribute: `size` takes bytes with binary units (`200mb`
//!   is 200 MiB, as Anchore), `layer_count` an integer, the rest strings; a `value` of the
//!   wrong type is a validation error, not a silent mismatch. `size` is the uncompressed size
//!   (the sum of the layer tars), which is what `docker images` shows.
//! - `<`, `>`, ... compare numbers numerically and strings lexicographically (Anchore's Python
//!   semantics), so `distro_version < 9` holds for `"12"`: use `in` or `like` for versions.
//! - `like_distro` is a list (`ID_LIKE`, or the distro itself when empty): positive checks hold
//!   when any entry passes, negated checks (`!=`, `not_like`, `not_in`) when every entry does.
//! - An attribute or label the image lacks fails positive checks and passes negated ones.

use super::Output;
use crate::policy::diagnostics::Code;
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc, parse_byte_size};
use crate::policy::pattern::Regex;
use std::cmp::Ordering;

const CHECKS: &[&str] = &[
    "=",
    "!=",
    ">",
    "<",
    ">=",
    "<=",
    "exists",
    "not_exists",
    "like",
    "not_like",
    "in",
    "not_in",
];
const LABEL_CHECKS: &[&str] = &[
    "=",
    "!=",
    "exists",
    "not_exists",
    "like",
    "not_like",
    "in",
    "not_in",
];
const ATTRIBUTES: &[&str] = &[
    "size",
    "architecture",
    "os_type",
    "distro",
    "distro_version",
    "like_distro",
    "layer_count",
];

pub const DOC: GateDoc = GateDoc {
    name: "metadata",
    description: "Checks against image metadata: size, OS, distro, architecture, layers and labels.",
    triggers: &[
        TriggerDoc::new(
            "attribute",
            "Triggers if the named image attribute meets the check.",
            &[
                ParamDoc::new(
                    "attribute",
                    ParamKind::Enum(ATTRIBUTES),
                    "size",
                    "Attribute to check.",
                )
                .required(),
                ParamDoc::new(
                    "check",
                    ParamKind::Enum(CHECKS),
                    ">",
                    "The comparison to perform.",
                )
                .required(),
                ParamDoc::new(
                    "value",
                    ParamKind::String,
                    "1073741824",
                    "Value to compare with: bytes for size (200mb), an integer for layer_count, else a string; a regex for like, a comma-separated list for in.",
                ),
            ],
        ),
        TriggerDoc::new(
            "label",
            "Triggers if the image label meets the check (Plimsoll).",
            &[
                ParamDoc::new(
                    "name",
                    ParamKind::String,
                    "org.opencontainers.image.source",
                    "Label name.",
                )
                .required(),
                ParamDoc::new(
                    "check",
                    ParamKind::Enum(LABEL_CHECKS),
                    "not_exists",
                    "The check to perform.",
                )
                .required(),
                ParamDoc::new(
                    "value",
                    ParamKind::String,
                    "https://github.com/example/app",
                    "Value to compare with: a string, a regex for like, a comma-separated list for in.",
                ),
            ],
        ),
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    Size,
    Architecture,
    OsType,
    Distro,
    DistroVersion,
    LikeDistro,
    LayerCount,
}

impl Attribute {
    fn from_word(w: &str) -> Option<Self> {
        Some(match w {
            "size" => Attribute::Size,
            "architecture" => Attribute::Architecture,
            "os_type" => Attribute::OsType,
            "distro" => Attribute::Distro,
            "distro_version" => Attribute::DistroVersion,
            "like_distro" => Attribute::LikeDistro,
            "layer_count" => Attribute::LayerCount,
            _ => return None,
        })
    }

    fn numeric(self) -> bool {
        matches!(self, Attribute::Size | Attribute::LayerCount)
    }

    fn name(self) -> &'static str {
        match self {
            Attribute::Size => "size",
            Attribute::Architecture => "architecture",
            Attribute::OsType => "os_type",
            Attribute::Distro => "distro",
            Attribute::DistroVersion => "distro_version",
            Attribute::LikeDistro => "like_distro",
            Attribute::LayerCount => "layer_count",
        }
    }
}

/// A comparison operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Num(u64),
    Str(String),
}

impl Operand {
    fn cmp(&self, other: &Operand) -> Option<Ordering> {
        match (self, other) {
            (Operand::Num(a), Operand::Num(b)) => Some(a.cmp(b)),
            (Operand::Str(a), Operand::Str(b)) => Some(a.as_str().cmp(b.as_str())),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Operand::Num(n) => n.to_string(),
            Operand::Str(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(Operand),
    Ne(Operand),
    Gt(Operand),
    Lt(Operand),
    Ge(Operand),
    Le(Operand),
    Exists,
    NotExists,
    Like(Regex),
    NotLike(Regex),
    In(Vec<Operand>),
    NotIn(Vec<Operand>),
}

impl Op {
    fn word(&self) -> &'static str {
        match self {
            Op::Eq(_) => "=",
            Op::Ne(_) => "!=",
            Op::Gt(_) => ">",
            Op::Lt(_) => "<",
            Op::Ge(_) => ">=",
            Op::Le(_) => "<=",
            Op::Exists => "exists",
            Op::NotExists => "not_exists",
            Op::Like(_) => "like",
            Op::NotLike(_) => "not_like",
            Op::In(_) => "in",
            Op::NotIn(_) => "not_in",
        }
    }

    fn value_text(&self) -> String {
        match self {
            Op::Eq(v) | Op::Ne(v) | Op::Gt(v) | Op::Lt(v) | Op::Ge(v) | Op::Le(v) => v.text(),
            Op::Like(r) | Op::NotLike(r) => r.as_str().to_owned(),
            Op::In(l) | Op::NotIn(l) => l.iter().map(Operand::text).collect::<Vec<_>>().join(","),
            Op::Exists | Op::NotExists => String::new(),
        }
    }

    fn negated(&self) -> bool {
        matches!(
            self,
            Op::Ne(_) | Op::NotExists | Op::NotLike(_) | Op::NotIn(_)
        )
    }

    /// The check on one present value.
    fn holds(&self, v: &Operand) -> bool {
        let ord = |w: &Operand| v.cmp(w);
        match self {
            Op::Eq(w) => ord(w) == Some(Ordering::Equal),
            Op::Ne(w) => ord(w) != Some(Ordering::Equal),
            Op::Gt(w) => ord(w) == Some(Ordering::Greater),
            Op::Lt(w) => ord(w) == Some(Ordering::Less),
            Op::Ge(w) => matches!(ord(w), Some(Ordering::Greater | Ordering::Equal)),
            Op::Le(w) => matches!(ord(w), Some(Ordering::Less | Ordering::Equal)),
            Op::Exists => true,
            Op::NotExists => false,
            Op::Like(r) => r.is_match(&v.text()),
            Op::NotLike(r) => !r.is_match(&v.text()),
            Op::In(l) => l.iter().any(|w| ord(w) == Some(Ordering::Equal)),
            Op::NotIn(l) => !l.iter().any(|w| ord(w) == Some(Ordering::Equal)),
        }
    }

    /// The check on all the values of an attribute (none when the image lacks it).
    fn holds_all(&self, values: &[Operand]) -> bool {
        if values.is_empty() {
            return self.negated();
        }
        if self.negated() {
            values.iter().all(|v| self.holds(v))
        } else {
            values.iter().any(|v| self.holds(v))
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Attribute { attribute: Attribute, op: Op },
    Label { name: String, op: Op },
}

fn build_op(p: &mut Params<'_>, check: &str, numeric: Option<Attribute>) -> Option<Op> {
    if matches!(check, "exists" | "not_exists") {
        return Some(if check == "exists" {
            Op::Exists
        } else {
            Op::NotExists
        });
    }
    let Some(value) = p.str("value").map(str::to_owned) else {
        p.error(
            Code::MissingParam,
            "check",
            format!("check {check:?} needs a value"),
        );
        return None;
    };
    if matches!(check, "like" | "not_like") {
        let r = p.regex_of("value")?;
        return Some(if check == "like" {
            Op::Like(r)
        } else {
            Op::NotLike(r)
        });
    }
    let operand = |p: &mut Params<'_>, text: &str| -> Option<Operand> {
        match numeric {
            Some(Attribute::Size) => parse_byte_size(text).map(Operand::Num).or_else(|| {
                p.error(
                    Code::ParamWrongType,
                    "value",
                    format!(
                        "size value {text:?} is not a size in bytes (such as 1073741824 or 200mb)"
                    ),
                );
                None
            }),
            Some(attribute) => text.trim().parse().ok().map(Operand::Num).or_else(|| {
                p.error(
                    Code::ParamWrongType,
                    "value",
                    format!(
                        "{} value {text:?} is not a non-negative integer",
                        attribute.name()
                    ),
                );
                None
            }),
            None => Some(Operand::Str(text.trim().to_owned())),
        }
    };
    if matches!(check, "in" | "not_in") {
        let items: Option<Vec<Operand>> = value.split(',').map(|i| operand(p, i.trim())).collect();
        let items = items?;
        return Some(if check == "in" {
            Op::In(items)
        } else {
            Op::NotIn(items)
        });
    }
    let v = operand(p, &value)?;
    Some(match check {
        "=" => Op::Eq(v),
        "!=" => Op::Ne(v),
        ">" => Op::Gt(v),
        "<" => Op::Lt(v),
        ">=" => Op::Ge(v),
        "<=" => Op::Le(v),
        _ => return None,
    })
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    match trigger.name {
        "attribute" => {
            let attribute = p.word("attribute").and_then(Attribute::from_word);
            let check = p.word("check")?;
            let attribute = attribute?;
            let op = build_op(p, check, attribute.numeric().then_some(attribute))?;
            Some(Check::Attribute { attribute, op })
        }
        "label" => {
            let name = p.str("name").map(|s| s.trim().to_owned());
            let check = p.word("check")?;
            let op = build_op(p, check, None)?;
            Some(Check::Label { name: name?, op })
        }
        _ => None,
    }
}

fn attribute_values(attribute: Attribute, facts: &Facts<'_>) -> Vec<Operand> {
    let a = facts.input.analysis;
    let text = |s: Option<&str>| {
        s.filter(|s| !s.is_empty())
            .map(|s| Operand::Str(s.to_owned()))
            .into_iter()
            .collect()
    };
    match attribute {
        Attribute::Size => vec![Operand::Num(a.image.uncompressed_size)],
        Attribute::LayerCount => vec![Operand::Num(
            u64::try_from(a.image.layers.len()).unwrap_or(u64::MAX),
        )],
        Attribute::Architecture => text(Some(&a.image.architecture)),
        Attribute::OsType => text(Some(&a.image.os)),
        Attribute::Distro => text(a.distro.as_ref().map(|d| d.id.as_str())),
        Attribute::DistroVersion => text(a.distro.as_ref().and_then(|d| d.version_id.as_deref())),
        Attribute::LikeDistro => match &a.distro {
            Some(d) if !d.id_like.is_empty() => {
                d.id_like.iter().map(|s| Operand::Str(s.clone())).collect()
            }
            Some(d) => text(Some(&d.id)),
            None => Vec::new(),
        },
    }
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    match check {
        Check::Attribute { attribute, op } => {
            let values = attribute_values(*attribute, facts);
            if op.holds_all(&values) {
                let found: Vec<String> = values.iter().map(Operand::text).collect();
                out.fire(format!(
                    "Attribute check for attribute: '{}' check: '{}' check_value: '{}' matched image value: '{}'",
                    attribute.name(),
                    op.word(),
                    op.value_text(),
                    found.join(",")
                ));
            }
        }
        Check::Label { name, op } => {
            let value = facts.input.analysis.image.config.labels.get(name);
            let values: Vec<Operand> = value.map(|v| Operand::Str(v.clone())).into_iter().collect();
            if op.holds_all(&values) {
                out.fire(format!(
                    "Label check for label: '{name}' check: '{}' check_value: '{}' matched image value: '{}'",
                    op.word(),
                    op.value_text(),
                    value.map_or("(absent)", String::as_str)
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Cases, Scenario, fired, fired_in, rule_errors};

    fn attr(attribute: &str, check: &str, value: &str) -> usize {
        fired(
            "metadata",
            "attribute",
            &[("attribute", attribute), ("check", check), ("value", value)],
        )
        .len()
    }

    #[test]
    fn attribute_table() {
        // Fixture: amd64 linux debian 12, 2 layers, 71680 bytes uncompressed.
        let s = Scenario::new();
        assert_eq!(s.analysis.image.uncompressed_size, 71680);
        let cases: &[(&str, &str, &str, usize)] = &[
            ("size", ">", "70kb", 0),
            ("size", ">=", "70kb", 1),
            ("size", "<", "1mb", 1),
            ("size", "=", "71680", 1),
            ("size", "in", "1kb,70kb", 1),
            ("layer_count", ">", "1", 1),
            ("layer_count", "<=", "1", 0),
            ("layer_count", "not_in", "1,3", 1),
            ("architecture", "=", "amd64", 1),
            ("architecture", "!=", "amd64", 0),
            ("architecture", "in", "arm64, amd64", 1),
            ("os_type", "like", "lin", 1),
            ("os_type", "not_like", "win", 1),
            ("distro", "=", "debian", 1),
            ("distro_version", ">", "9", 0),
            ("distro_version", "<", "9", 1),
            ("like_distro", "=", "debian", 1),
            ("like_distro", "!=", "debian", 0),
        ];
        for (attribute, check, value, expected) in cases {
            assert_eq!(
                attr(attribute, check, value),
                *expected,
                "{attribute} {check} {value}"
            );
        }
        assert_eq!(
            fired(
                "metadata",
                "attribute",
                &[("attribute", "layer_count"), ("check", "="), ("value", "2")]
            ),
            vec![
                "Attribute check for attribute: 'layer_count' check: '=' check_value: '2' matched image value: '2'"
            ]
        );
    }

    #[test]
    fn missing_attributes_and_lists() {
        let mut s = Scenario::new();
        s.analysis.distro = None;
        let a = |check: &str, value: &str| {
            fired_in(
                "metadata",
                "attribute",
                &[("attribute", "distro"), ("check", check), ("value", value)],
                &s,
            )
            .len()
        };
        assert_eq!(
            (
                a("exists", ""),
                a("not_exists", ""),
                a("=", "x"),
                a("!=", "x")
            ),
            (0, 1, 0, 1)
        );
        let mut s = Scenario::new();
        s.analysis.distro.as_mut().expect("distro").id_like = vec!["rhel".into(), "fedora".into()];
        let l = |check: &str, value: &str| {
            fired_in(
                "metadata",
                "attribute",
                &[
                    ("attribute", "like_distro"),
                    ("check", check),
                    ("value", value),
                ],
                &s,
            )
            .len()
        };
        assert_eq!(
            (
                l("=", "fedora"),
                l("!=", "fedora"),
                l("not_in", "debian,ubuntu")
            ),
            (1, 0, 1)
        );
    }

    #[test]
    fn attribute_params() {
        let cases: Cases<'_> = &[
            (
                &[("attribute", "size"), ("check", ">"), ("value", "big")],
                &["param-wrong-type r.params[2].value"],
            ),
            (
                &[("attribute", "size"), ("check", ">"), ("value", "2 gb")],
                &["param-wrong-type r.params[2].value"],
            ),
            (
                &[
                    ("attribute", "layer_count"),
                    ("check", "in"),
                    ("value", "1,x"),
                ],
                &["param-wrong-type r.params[2].value"],
            ),
            (
                &[("attribute", "size"), ("check", ">")],
                &["missing-param r.params[1].value"],
            ),
            (
                &[("attribute", "colour"), ("check", "=")],
                &["param-wrong-type r.params[0].value"],
            ),
            (
                &[("attribute", "distro"), ("check", "like"), ("value", "(")],
                &["bad-regex r.params[2].value"],
            ),
            (
                &[("attribute", "os_type"), ("check", ">"), ("value", "31")],
                &[],
            ),
            (&[("attribute", "distro"), ("check", "exists")], &[]),
        ];
        for (params, expected) in cases {
            assert_eq!(
                rule_errors("metadata", "attribute", params),
                *expected,
                "{params:?}"
            );
        }
    }

    #[test]
    fn labels() {
        let l = |params: &[(&str, &str)]| fired("metadata", "label", params);
        assert_eq!(
            l(&[
                ("name", "org.opencontainers.image.source"),
                ("check", "not_exists")
            ]),
            vec![
                "Label check for label: 'org.opencontainers.image.source' check: 'not_exists' check_value: '' matched image value: '(absent)'"
            ]
        );
        assert!(l(&[("name", "maintainer"), ("check", "not_exists")]).is_empty());
        assert_eq!(
            l(&[
                ("name", "maintainer"),
                ("check", "like"),
                ("value", ".*@example\\.com$")
            ])
            .len(),
            1
        );
        assert_eq!(
            l(&[
                ("name", "org.opencontainers.image.version"),
                ("check", "not_in"),
                ("value", "1.0,2.0")
            ])
            .len(),
            1
        );
        assert_eq!(
            rule_errors(
                "metadata",
                "label",
                &[("name", "x"), ("check", ">"), ("value", "1")]
            ),
            vec!["param-wrong-type r.params[1].value"]
        );
    }
}
