//! Gate `dockerfile`: the Dockerfile given with the image (`actual`) or guessed from its
//! history, plus the image config where it is the ground truth.
//!
//! Traps:
//! - A guessed Dockerfile starts with `ADD file:<hash> in /` for every base image, so
//!   `instruction ADD exists` fires on nearly every image unless `actual_dockerfile_only=true`.
//! - BuildKit history writes `EXPOSE map[22/tcp:{}]`; ports are read from that form too, and
//!   `exposed_ports` also reads the image config's exposed ports (what `docker run -P` opens)
//!   unless `actual_dockerfile_only=true`.
//! - `effective_user` reads the config's `User` (the user the image really runs as), then the
//!   last `USER` instruction, else `root`. `user:group` compares by user, and `0` is `root`.
//! - `like`/`not_like` values are regexes matched at the start of the instruction's arguments
//!   (Python's `re.match`); `in`/`not_in` values are comma-separated.
//! - Anchore's port `0` in a blacklist means "any exposed port".

use super::Output;
use crate::policy::diagnostics::Code;
use crate::policy::facts::{DockerfileFacts, Facts};
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, PortRange, TriggerDoc};
use crate::policy::pattern::Regex;
use std::collections::BTreeSet;

const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "COPY",
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "USER",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "VOLUME",
    "WORKDIR",
];

const CHECKS: &[&str] = &[
    "=",
    "!=",
    "exists",
    "not_exists",
    "like",
    "not_like",
    "in",
    "not_in",
];

const ACTUAL_ONLY: ParamDoc = ParamDoc::new(
    "actual_dockerfile_only",
    ParamKind::Boolean,
    "true",
    "Only evaluate a Dockerfile given with the image, never one guessed from its history.",
)
.default("false");

const LIST_TYPE: ParamDoc = ParamDoc::new(
    "type",
    ParamKind::Enum(&["whitelist", "blacklist"]),
    "blacklist",
    "Whether the list names what is allowed (whitelist) or denied (blacklist).",
)
.required();

pub const DOC: GateDoc = GateDoc {
    name: "dockerfile",
    description: "Checks the Dockerfile given with the image, or one guessed from the image history, and the image config.",
    triggers: &[
        TriggerDoc::new(
            "instruction",
            "Triggers for each instruction of the given kind that meets the check (or once, for not_exists, when there is none).",
            &[
                ParamDoc::new(
                    "instruction",
                    ParamKind::Enum(INSTRUCTIONS),
                    "FROM",
                    "The Dockerfile instruction to check.",
                )
                .required(),
                ParamDoc::new(
                    "check",
                    ParamKind::Enum(CHECKS),
                    "=",
                    "The check to perform on the instruction's arguments.",
                )
                .required(),
                ParamDoc::new(
                    "value",
                    ParamKind::String,
                    "scratch",
                    "What to compare with: a string (=, !=), a regex (like, not_like) or a comma-separated list (in, not_in).",
                ),
                ACTUAL_ONLY,
            ],
        ),
        TriggerDoc::new(
            "effective_user",
            "Triggers if the user the image runs as is not in the list (whitelist) or is in it (blacklist).",
            &[
                ParamDoc::new(
                    "users",
                    ParamKind::StringList,
                    "root,docker",
                    "User names (or numeric ids) to check the effective user against.",
                )
                .required(),
                LIST_TYPE,
            ],
        ),
        TriggerDoc::new(
            "exposed_ports",
            "Triggers for each exposed port not in the list (whitelist) or in it (blacklist).",
            &[
                ParamDoc::new(
                    "ports",
                    ParamKind::PortList,
                    "80,443,8000-8100",
                    "Ports or port ranges; 0 in a blacklist means any port.",
                )
                .required(),
                LIST_TYPE,
                ACTUAL_ONLY,
            ],
        ),
        TriggerDoc::new(
            "no_dockerfile_provided",
            "Triggers if the image was analyzed without its actual Dockerfile.",
            &[],
        ),
    ],
};

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(String),
    Ne(String),
    Exists,
    NotExists,
    Like(Regex),
    NotLike(Regex),
    In(Vec<String>),
    NotIn(Vec<String>),
}

impl Op {
    fn word(&self) -> &'static str {
        match self {
            Op::Eq(_) => "=",
            Op::Ne(_) => "!=",
            Op::Exists => "exists",
            Op::NotExists => "not_exists",
            Op::Like(_) => "like",
            Op::NotLike(_) => "not_like",
            Op::In(_) => "in",
            Op::NotIn(_) => "not_in",
        }
    }

    fn value(&self) -> String {
        match self {
            Op::Eq(v) | Op::Ne(v) => v.clone(),
            Op::Like(r) | Op::NotLike(r) => r.as_str().to_owned(),
            Op::In(l) | Op::NotIn(l) => l.join(","),
            Op::Exists | Op::NotExists => String::new(),
        }
    }

    fn holds(&self, args: &str) -> bool {
        match self {
            Op::Eq(v) => args == v,
            Op::Ne(v) => args != v,
            Op::Exists => true,
            Op::NotExists => false,
            Op::Like(r) => r.is_match(args),
            Op::NotLike(r) => !r.is_match(args),
            Op::In(l) => l.iter().any(|v| v == args),
            Op::NotIn(l) => !l.iter().any(|v| v == args),
        }
    }
}

/// Builds an `Op` from `check` and `value` of a rule (shared with `metadata`).
pub(crate) fn op(p: &mut Params<'_>, check: &str) -> Option<Op> {
    let needs_value = !matches!(check, "exists" | "not_exists");
    if needs_value && !p.has("value") {
        p.error(
            Code::MissingParam,
            "check",
            format!("check {check:?} needs a value"),
        );
        return None;
    }
    let value = || p.str("value").unwrap_or_default().to_owned();
    let list = |v: String| -> Vec<String> { v.split(',').map(|s| s.trim().to_owned()).collect() };
    Some(match check {
        "=" => Op::Eq(value()),
        "!=" => Op::Ne(value()),
        "exists" => Op::Exists,
        "not_exists" => Op::NotExists,
        "like" => Op::Like(p.regex_of("value")?),
        "not_like" => Op::NotLike(p.regex_of("value")?),
        "in" => Op::In(list(value())),
        "not_in" => Op::NotIn(list(value())),
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    Whitelist,
    Blacklist,
}

fn list_type(p: &Params<'_>) -> Option<ListType> {
    match p.word("type")? {
        "whitelist" => Some(ListType::Whitelist),
        _ => Some(ListType::Blacklist),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Instruction {
        instruction: &'static str,
        op: Op,
        actual_only: bool,
    },
    EffectiveUser {
        users: Vec<String>,
        list: ListType,
    },
    ExposedPorts {
        ports: Vec<PortRange>,
        list: ListType,
        actual_only: bool,
    },
    NoDockerfileProvided,
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    match trigger.name {
        "instruction" => {
            let instruction = p.word("instruction");
            let check = p.word("check")?;
            let op = op(p, check)?;
            Some(Check::Instruction {
                instruction: instruction?,
                op,
                actual_only: p.bool("actual_dockerfile_only").unwrap_or(false),
            })
        }
        "effective_user" => Some(Check::EffectiveUser {
            users: p.list("users")?.to_vec(),
            list: list_type(p)?,
        }),
        "exposed_ports" => Some(Check::ExposedPorts {
            ports: p.ports("ports")?.to_vec(),
            list: list_type(p)?,
            actual_only: p.bool("actual_dockerfile_only").unwrap_or(false),
        }),
        "no_dockerfile_provided" => Some(Check::NoDockerfileProvided),
        _ => None,
    }
}

/// The user part of `user[:group]`, with `0` read as `root`.
fn user_name(user: &str) -> &str {
    let name = user.split(':').next().unwrap_or(user).trim();
    if name == "0" { "root" } else { name }
}

/// The user the image runs as, and where that was read.
fn effective_user(facts: &Facts<'_>) -> (String, &'static str) {
    if let Some(u) = facts
        .input
        .analysis
        .image
        .config
        .user
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        return (u.trim().to_owned(), "image config");
    }
    let last = facts
        .dockerfile()
        .and_then(|d| d.named("USER").last())
        .map(|i| {
            i.args
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned()
        })
        .filter(|u| !u.is_empty());
    match last {
        Some(u) => (u, "Dockerfile"),
        None => ("root".to_owned(), "default"),
    }
}

/// `(port, protocol)` pairs of `EXPOSE` arguments: `80`, `53/udp`, `8000-8002/tcp`,
/// BuildKit's `map[22/tcp:{}]`. Unreadable tokens (`$PORT`) are returned as text.
fn expose_tokens(args: &str) -> Vec<String> {
    args.replace("map[", " ")
        .replace(']', " ")
        .split_whitespace()
        .map(|t| t.trim_end_matches(":{}").to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Exposed {
    Ports { lo: u16, hi: u16, proto: String },
    Unreadable(String),
}

impl Exposed {
    fn parse(token: &str) -> Self {
        let (ports, proto) = token.split_once('/').unwrap_or((token, "tcp"));
        let port = |s: &str| s.trim().parse::<u16>().ok();
        let range = match ports.split_once('-') {
            Some((a, b)) => port(a).zip(port(b)).filter(|(a, b)| a <= b),
            None => port(ports).map(|p| (p, p)),
        };
        match range {
            Some((lo, hi)) => Exposed::Ports {
                lo,
                hi,
                proto: proto.to_ascii_lowercase(),
            },
            None => Exposed::Unreadable(token.to_owned()),
        }
    }

    fn label(&self) -> String {
        match self {
            Exposed::Ports { lo, hi, proto } if lo == hi => format!("{lo}/{proto}"),
            Exposed::Ports { lo, hi, proto } => format!("{lo}-{hi}/{proto}"),
            Exposed::Unreadable(t) => t.clone(),
        }
    }
}

fn exposed(facts: &Facts<'_>, actual_only: bool) -> BTreeSet<Exposed> {
    let mut out = BTreeSet::new();
    if let Some(d) = facts.dockerfile().filter(|d| d.actual || !actual_only) {
        for i in d.named("EXPOSE") {
            out.extend(expose_tokens(&i.args).iter().map(|t| Exposed::parse(t)));
        }
    }
    if !actual_only {
        out.extend(
            facts
                .input
                .analysis
                .image
                .config
                .exposed_ports
                .iter()
                .map(|t| Exposed::parse(t)),
        );
    }
    out
}

fn usable<'f>(facts: &'f Facts<'_>, actual_only: bool) -> Option<&'f DockerfileFacts> {
    facts.dockerfile().filter(|d| d.actual || !actual_only)
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    match check {
        Check::Instruction {
            instruction,
            op,
            actual_only,
        } => {
            let Some(d) = usable(facts, *actual_only) else {
                return;
            };
            let mut any = false;
            for i in d.named(instruction) {
                any = true;
                if op.holds(&i.args) {
                    out.fire(format!(
                        "Dockerfile directive '{instruction}' check '{}' matched against '{}' for line '{}'",
                        op.word(),
                        op.value(),
                        i.args
                    ));
                }
            }
            if !any && *op == Op::NotExists {
                out.fire(format!(
                    "Dockerfile directive '{instruction}' not found, matching condition 'not_exists' check"
                ));
            }
        }
        Check::EffectiveUser { users, list } => {
            let (user, source) = effective_user(facts);
            let name = user_name(&user);
            let listed = users.iter().any(|u| user_name(u) == name);
            match (list, listed) {
                (ListType::Whitelist, false) => out.fire(format!(
                    "User {user} ({source}) found as effective user, which is not on the allowed list"
                )),
                (ListType::Blacklist, true) => out.fire(format!(
                    "User {user} ({source}) found as effective user, which is explicitly not allowed"
                )),
                _ => {}
            }
        }
        Check::ExposedPorts {
            ports,
            list,
            actual_only,
        } => {
            let deny_all = ports.iter().any(|r| r.lo == 0 && r.hi == 0);
            for e in exposed(facts, *actual_only) {
                let allowed_by_list = match &e {
                    Exposed::Ports { lo, hi, .. } => {
                        (*lo..=*hi).all(|p| ports.iter().any(|r| r.contains(p)))
                    }
                    Exposed::Unreadable(_) => false,
                };
                let denied_by_list = match &e {
                    Exposed::Ports { lo, hi, .. } => {
                        deny_all || ports.iter().any(|r| r.lo <= *hi && *lo <= r.hi)
                    }
                    Exposed::Unreadable(_) => deny_all,
                };
                match list {
                    ListType::Whitelist if !allowed_by_list => out.fire(format!(
                        "Image exposes port ({}) which is not in the allowed ports list",
                        e.label()
                    )),
                    ListType::Blacklist if denied_by_list => out.fire(format!(
                        "Image exposes port ({}) which is in the denied ports list",
                        e.label()
                    )),
                    _ => {}
                }
            }
        }
        Check::NoDockerfileProvided => {
            if !facts.dockerfile().is_some_and(|d| d.actual) {
                out.fire("Image was not analyzed with an actual Dockerfile".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Cases, Scenario, fired, fired_in, rule_errors};
    use plimsoll_analyzer::model::{Dockerfile, DockerfileSource};

    fn with_dockerfile(text: &str, source: DockerfileSource) -> Scenario {
        let mut s = Scenario::new();
        s.analysis.image.dockerfile = Some(Dockerfile {
            source,
            text: text.into(),
        });
        s
    }

    #[test]
    fn instruction_checks_on_the_guessed_dockerfile() {
        let i = |params: &[(&str, &str)]| fired("dockerfile", "instruction", params);
        assert_eq!(
            i(&[("instruction", "HEALTHCHECK"), ("check", "not_exists")]),
            vec![
                "Dockerfile directive 'HEALTHCHECK' not found, matching condition 'not_exists' check"
            ]
        );
        assert_eq!(
            i(&[("instruction", "ADD"), ("check", "exists")]),
            vec![
                "Dockerfile directive 'ADD' check 'exists' matched against '' for line 'file:4b1e0d8b7a in /'"
            ]
        );
        assert!(
            i(&[
                ("instruction", "ADD"),
                ("check", "exists"),
                ("actual_dockerfile_only", "true")
            ])
            .is_empty()
        );
        assert_eq!(
            i(&[
                ("instruction", "run"),
                ("check", "like"),
                ("value", r"\s*(apt-get|apk|yum|dnf)\s+update\s*$")
            ]),
            vec![
                r"Dockerfile directive 'RUN' check 'like' matched against '\s*(apt-get|apk|yum|dnf)\s+update\s*$' for line 'apt-get update'"
            ]
        );
        assert_eq!(
            i(&[
                ("instruction", "FROM"),
                ("check", "="),
                ("value", "scratch")
            ])
            .len(),
            1
        );
        assert!(
            i(&[
                ("instruction", "FROM"),
                ("check", "!="),
                ("value", "scratch")
            ])
            .is_empty()
        );
        assert_eq!(
            i(&[
                ("instruction", "FROM"),
                ("check", "in"),
                ("value", "debian, scratch")
            ])
            .len(),
            1
        );
        assert!(
            i(&[
                ("instruction", "FROM"),
                ("check", "not_in"),
                ("value", "debian,scratch")
            ])
            .is_empty()
        );
        assert_eq!(
            i(&[
                ("instruction", "CMD"),
                ("check", "not_like"),
                ("value", "\\[\"sh")
            ])
            .len(),
            1
        );
    }

    #[test]
    fn instruction_params() {
        let cases: Cases<'_> = &[
            (
                &[("instruction", "FROM"), ("check", "=")],
                &["missing-param r.params[1].value"],
            ),
            (
                &[("instruction", "FROM"), ("check", "like"), ("value", "(")],
                &["bad-regex r.params[2].value"],
            ),
            (
                &[("instruction", "FORM"), ("check", "exists")],
                &["param-wrong-type r.params[0].value"],
            ),
            (
                &[
                    ("instruction", "FROM"),
                    ("check", "matches"),
                    ("value", "x"),
                ],
                &["param-wrong-type r.params[1].value"],
            ),
            (&[("instruction", "FROM")], &["missing-param r.params"]),
            // A value with exists is accepted and ignored, as in Anchore.
            (
                &[
                    ("instruction", "CMD"),
                    ("check", "exists"),
                    ("value", "from"),
                ],
                &[],
            ),
        ];
        for (params, expected) in cases {
            assert_eq!(
                rule_errors("dockerfile", "instruction", params),
                *expected,
                "{params:?}"
            );
        }
    }

    #[test]
    fn actual_dockerfile() {
        let s = with_dockerfile(
            "FROM python:3.12-slim\nUSER 0:0\nEXPOSE 8000-8002/tcp $PORT\nHEALTHCHECK CMD curl -f http://localhost/\n",
            DockerfileSource::Actual,
        );
        assert!(fired_in("dockerfile", "no_dockerfile_provided", &[], &s).is_empty());
        assert!(
            fired_in(
                "dockerfile",
                "instruction",
                &[("instruction", "HEALTHCHECK"), ("check", "not_exists")],
                &s
            )
            .is_empty()
        );
        assert_eq!(
            fired_in(
                "dockerfile",
                "exposed_ports",
                &[
                    ("ports", "8000-8001"),
                    ("type", "whitelist"),
                    ("actual_dockerfile_only", "true")
                ],
                &s
            ),
            vec![
                "Image exposes port (8000-8002/tcp) which is not in the allowed ports list",
                "Image exposes port ($PORT) which is not in the allowed ports list",
            ]
        );
        assert_eq!(
            fired_in(
                "dockerfile",
                "effective_user",
                &[("users", "root"), ("type", "blacklist")],
                &s
            ),
            vec!["User 0:0 (Dockerfile) found as effective user, which is explicitly not allowed"]
        );
    }

    #[test]
    fn effective_user_prefers_the_config() {
        let mut s = Scenario::new();
        let eu = |s: &Scenario, users: &str, t: &str| {
            fired_in(
                "dockerfile",
                "effective_user",
                &[("users", users), ("type", t)],
                s,
            )
        };
        assert_eq!(
            eu(&s, "root", "blacklist"),
            vec!["User root (default) found as effective user, which is explicitly not allowed"]
        );
        assert_eq!(
            eu(&s, "app,nobody", "whitelist"),
            vec!["User root (default) found as effective user, which is not on the allowed list"]
        );
        s.analysis.image.config.user = Some("app:app".into());
        assert!(eu(&s, "root", "blacklist").is_empty());
        assert!(eu(&s, "app", "whitelist").is_empty());
        assert_eq!(
            rule_errors("dockerfile", "effective_user", &[("users", "root")]),
            vec!["missing-param r.params"]
        );
    }

    #[test]
    fn exposed_ports_from_history_and_config() {
        let ep = |params: &[(&str, &str)]| fired("dockerfile", "exposed_ports", params);
        assert_eq!(
            ep(&[("ports", "22"), ("type", "blacklist")]),
            vec!["Image exposes port (22/tcp) which is in the denied ports list"]
        );
        assert_eq!(
            ep(&[("ports", "1-1023"), ("type", "blacklist")]),
            vec!["Image exposes port (22/tcp) which is in the denied ports list"]
        );
        assert_eq!(
            ep(&[("ports", "80,443,8080"), ("type", "whitelist")]),
            vec!["Image exposes port (22/tcp) which is not in the allowed ports list"]
        );
        assert_eq!(
            ep(&[("ports", "0"), ("type", "blacklist")]).len(),
            2,
            "0 denies all"
        );
        assert!(
            ep(&[
                ("ports", "22"),
                ("type", "blacklist"),
                ("actual_dockerfile_only", "true")
            ])
            .is_empty()
        );
        let s = with_dockerfile(
            "FROM scratch\nEXPOSE map[2222/tcp:{} 53/udp:{}]\n",
            DockerfileSource::Guessed,
        );
        assert_eq!(
            fired_in(
                "dockerfile",
                "exposed_ports",
                &[("ports", "53,2222"), ("type", "blacklist")],
                &s
            ),
            vec![
                "Image exposes port (53/udp) which is in the denied ports list",
                "Image exposes port (2222/tcp) which is in the denied ports list",
            ]
        );
        assert_eq!(
            rule_errors(
                "dockerfile",
                "exposed_ports",
                &[("ports", "22,http"), ("type", "blacklist")]
            ),
            vec!["param-wrong-type r.params[0].value"]
        );
    }

    #[test]
    fn no_dockerfile() {
        assert_eq!(
            fired("dockerfile", "no_dockerfile_provided", &[]),
            vec!["Image was not analyzed with an actual Dockerfile"]
        );
    }
}
