//! Gate `files`: the image's file system: names, attributes, content pattern matches and
//! setuid/setgid bits.
//!
//! Traps:
//! - `content_regex_match` reads what the analyzer found with its `--content-pattern NAME=REGEX`
//!   patterns; `regex_name` names a pattern, it is not a regex. Matches in files a later layer
//!   deleted still count (the bytes are in the image) and say so.
//! - `attribute_match` compares checksums only when the analysis recorded them
//!   (`--file-digests`); without them the rule cannot fire and the evaluation notes why.
//!   Modes compare the permission, setuid, setgid and sticky bits (`0o7777`).
//! - `suid_or_guid_set` reports every entry with the bits, directories included (a setgid
//!   directory such as `/var/mail` is common and harmless), as Anchore does.

use super::Output;
use crate::policy::diagnostics::Code;
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc};
use crate::policy::pattern::Regex;
use plimsoll_analyzer::model::{FileKind, HitLocation};

pub const DOC: GateDoc = GateDoc {
    name: "files",
    description: "Checks against files in the analyzed image: file names, attributes, content matches and setuid/setgid bits.",
    triggers: &[
        TriggerDoc::new(
            "content_regex_match",
            "Triggers for each file in which an analyzer content pattern (--content-pattern NAME=REGEX) matched; only the named pattern if regex_name is set.",
            &[ParamDoc::new(
                "regex_name",
                ParamKind::String,
                "PASSWORD",
                "Name of the content pattern to limit the check to.",
            )],
        ),
        TriggerDoc::new(
            "name_match",
            "Triggers for each file whose path matches the regex.",
            &[ParamDoc::new(
                "regex",
                ParamKind::Regex,
                r".*\.pem",
                "Regex matched at the start of the absolute path.",
            )
            .required()],
        ),
        TriggerDoc::new(
            "attribute_match",
            "Triggers if the file exists and every given attribute check holds, or if it is missing and skip_missing is false.",
            &[
                ParamDoc::new(
                    "filename",
                    ParamKind::String,
                    "/etc/passwd",
                    "Absolute path of the file.",
                )
                .required(),
                ParamDoc::new(
                    "checksum_algorithm",
                    ParamKind::Enum(&["sha256", "md5"]),
                    "sha256",
                    "Algorithm of checksum.",
                )
                .default("sha256"),
                ParamDoc::new(
                    "checksum",
                    ParamKind::String,
                    "832cd0f75b227d13aac82b1f70b7f90191a4186c151f9db50851d209c45ede11",
                    "Hex digest to compare with the file's.",
                ),
                ParamDoc::new(
                    "checksum_match",
                    ParamKind::Enum(&["equals", "not_equals"]),
                    "equals",
                    "Whether the checksum must be equal or differ.",
                )
                .default("equals"),
                ParamDoc::new("mode", ParamKind::OctalMode, "00644", "Octal file mode."),
                ParamDoc::new(
                    "mode_op",
                    ParamKind::Enum(&["equals", "not_equals", "=", "!=", ">=", "<="]),
                    "equals",
                    "How the file's mode compares with mode (>= and <= compare the octal numbers).",
                )
                .default("equals"),
                ParamDoc::new(
                    "skip_missing",
                    ParamKind::Boolean,
                    "true",
                    "If false, fire when the file is missing.",
                )
                .default("true"),
            ],
        ),
        TriggerDoc::new(
            "suid_or_guid_set",
            "Triggers for each file or directory with the setuid or setgid bit set.",
            &[],
        ),
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeOp {
    Eq,
    Ne,
    Ge,
    Le,
}

impl ModeOp {
    fn holds(self, found: u32, wanted: u32) -> bool {
        match self {
            ModeOp::Eq => found == wanted,
            ModeOp::Ne => found != wanted,
            ModeOp::Ge => found >= wanted,
            ModeOp::Le => found <= wanted,
        }
    }

    fn word(self) -> &'static str {
        match self {
            ModeOp::Eq => "equals",
            ModeOp::Ne => "not_equals",
            ModeOp::Ge => ">=",
            ModeOp::Le => "<=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Md5,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeParams {
    pub filename: String,
    pub checksum: Option<(Algorithm, String, bool)>,
    pub mode: Option<(ModeOp, u32)>,
    pub skip_missing: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    ContentRegexMatch { regex_name: Option<String> },
    NameMatch { regex: Regex },
    AttributeMatch(AttributeParams),
    SuidOrGuidSet,
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    match trigger.name {
        "content_regex_match" => Some(Check::ContentRegexMatch {
            regex_name: p.str("regex_name").map(|s| s.trim().to_owned()),
        }),
        "name_match" => Some(Check::NameMatch {
            regex: p.regex("regex")?.clone(),
        }),
        "attribute_match" => {
            let algorithm = match p.word("checksum_algorithm") {
                Some("md5") => Algorithm::Md5,
                _ => Algorithm::Sha256,
            };
            let checksum = match p.str("checksum") {
                Some(c) => {
                    let c = c.trim().to_ascii_lowercase();
                    let len = match algorithm {
                        Algorithm::Sha256 => 64,
                        Algorithm::Md5 => 32,
                    };
                    let c = c.strip_prefix("sha256:").unwrap_or(&c).to_owned();
                    if c.len() != len || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
                        p.error(
                            Code::ParamWrongType,
                            "checksum",
                            format!("checksum must be {len} hex digits for {:?}", algorithm),
                        );
                        return None;
                    }
                    Some((algorithm, c, p.word("checksum_match") != Some("not_equals")))
                }
                None => None,
            };
            let mode_op = match p.word("mode_op") {
                Some("not_equals" | "!=") => ModeOp::Ne,
                Some(">=") => ModeOp::Ge,
                Some("<=") => ModeOp::Le,
                _ => ModeOp::Eq,
            };
            let mode = p.mode("mode").map(|m| (mode_op, m));
            let skip_missing = p.bool("skip_missing").unwrap_or(true);
            if !p.given("checksum") && !p.given("mode") && skip_missing {
                p.rule_warning(
                    Code::IneffectiveRule,
                    "attribute_match without checksum or mode and with skip_missing=true never fires",
                );
            }
            Some(Check::AttributeMatch(AttributeParams {
                filename: p.str("filename")?.trim().to_owned(),
                checksum,
                mode,
                skip_missing,
            }))
        }
        "suid_or_guid_set" => Some(Check::SuidOrGuidSet),
        _ => None,
    }
}

/// `/etc/x`, or `/etc/x (deleted in a later layer; still in layer 0)`.
pub(crate) fn describe_location(loc: &HitLocation) -> Option<String> {
    match loc {
        HitLocation::File {
            path,
            visible: true,
            ..
        } => Some(path.clone()),
        HitLocation::File {
            path,
            layer,
            visible: false,
        } => Some(format!(
            "{path} (deleted or replaced by a later layer; still in layer {layer})"
        )),
        HitLocation::Env { .. } | HitLocation::History { .. } => None,
    }
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    let analysis = facts.input.analysis;
    match check {
        Check::ContentRegexMatch { regex_name } => {
            for hit in &analysis.content_matches {
                if regex_name.as_deref().is_some_and(|n| n != hit.pattern) {
                    continue;
                }
                if let Some(file) = describe_location(&hit.location) {
                    out.fire(format!(
                        "File content analyzer found regexp match in container: file={file} regexp={}",
                        hit.pattern
                    ));
                }
            }
        }
        Check::NameMatch { regex } => {
            for f in &analysis.files {
                if regex.is_match(&f.path) {
                    out.fire(format!(
                        "Application of regex matched file found in container: file={} regexp={}",
                        f.path,
                        regex.as_str()
                    ));
                }
            }
        }
        Check::AttributeMatch(a) => {
            let Some(file) = facts.file(&a.filename) else {
                if !a.skip_missing {
                    out.fire(format!("filename={} and skip_missing=false", a.filename));
                }
                return;
            };
            let mut parts = Vec::new();
            if let Some((algorithm, wanted, equals)) = &a.checksum {
                let found = match algorithm {
                    Algorithm::Sha256 => file.sha256.as_deref(),
                    Algorithm::Md5 => file.md5.as_deref(),
                };
                let Some(found) = found else {
                    out.note(format!(
                        "files.attribute_match cannot compare the checksum of {}: the analysis has no {} digests (analyze with --file-digests)",
                        a.filename,
                        match algorithm {
                            Algorithm::Sha256 => "sha256",
                            Algorithm::Md5 => "md5",
                        }
                    ));
                    return;
                };
                if (found.eq_ignore_ascii_case(wanted)) != *equals {
                    return;
                }
                parts.push(format!(
                    "checksum={found} op={} specified_checksum={wanted}",
                    if *equals { "equals" } else { "not_equals" }
                ));
            }
            if let Some((op, wanted)) = a.mode {
                let found = file.mode & 0o7777;
                if !op.holds(found, wanted) {
                    return;
                }
                parts.push(format!(
                    "mode=0o{found:o} op={} specified_mode=0o{wanted:o}",
                    op.word()
                ));
            }
            if !parts.is_empty() {
                out.fire(format!(
                    "filename={} and {}",
                    a.filename,
                    parts.join(" and ")
                ));
            }
        }
        Check::SuidOrGuidSet => {
            for f in &analysis.files {
                if f.is_setuid() || f.is_setgid() {
                    let kind = if f.kind == FileKind::Dir {
                        "directory"
                    } else {
                        "file"
                    };
                    out.fire(format!(
                        "SUID or SGID found set on {kind} {}. Mode: 0o{:o}",
                        f.path,
                        f.mode & 0o7777
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Cases, Scenario, evaluate_rule, fired, rule_errors};

    #[test]
    fn content_matches() {
        assert_eq!(
            fired("files", "content_regex_match", &[]),
            vec![
                "File content analyzer found regexp match in container: file=/app/settings.conf regexp=SSL_ENGINE"
            ]
        );
        assert_eq!(
            fired(
                "files",
                "content_regex_match",
                &[("regex_name", "SSL_ENGINE")]
            )
            .len(),
            1
        );
        assert!(fired("files", "content_regex_match", &[("regex_name", "OTHER")]).is_empty());
    }

    #[test]
    fn name_match() {
        assert_eq!(
            fired("files", "name_match", &[("regex", r".*\.(key|pem)$")]),
            vec![
                "Application of regex matched file found in container: file=/etc/ssl/private/server.key regexp=.*\\.(key|pem)$"
            ]
        );
        assert_eq!(fired("files", "name_match", &[("regex", "/etc/")]).len(), 4);
        assert!(
            fired("files", "name_match", &[("regex", "etc/")]).is_empty(),
            "anchored at the start"
        );
        assert_eq!(
            rule_errors("files", "name_match", &[("regex", "*\\.pem")]),
            vec!["bad-regex r.params[0].value"]
        );
    }

    #[test]
    fn attribute_match() {
        let am = |params: &[(&str, &str)]| fired("files", "attribute_match", params);
        let shadow_sha = "2fb3e128";
        let s = Scenario::new();
        let full = s
            .analysis
            .files
            .iter()
            .find(|f| f.path == "/etc/shadow")
            .and_then(|f| f.sha256.clone())
            .expect("fixture has sha256");
        assert!(full.starts_with(shadow_sha));
        assert_eq!(
            am(&[("filename", "/etc/shadow"), ("checksum", &full)]),
            vec![format!(
                "filename=/etc/shadow and checksum={full} op=equals specified_checksum={full}"
            )]
        );
        assert!(
            am(&[
                ("filename", "/etc/shadow"),
                ("checksum", &full),
                ("checksum_match", "not_equals")
            ])
            .is_empty()
        );
        assert_eq!(
            am(&[
                ("filename", "/etc/shadow"),
                ("mode", "0640"),
                ("mode_op", "=")
            ]),
            vec!["filename=/etc/shadow and mode=0o640 op=equals specified_mode=0o640"]
        );
        assert!(
            am(&[
                ("filename", "/etc/shadow"),
                ("mode", "0600"),
                ("mode_op", "<=")
            ])
            .is_empty()
        );
        assert_eq!(
            am(&[
                ("filename", "/usr/bin/su"),
                ("mode", "4000"),
                ("mode_op", ">=")
            ])
            .len(),
            1
        );
        assert!(
            am(&[
                ("filename", "/etc/shadow"),
                ("checksum", &full),
                ("mode", "0644")
            ])
            .is_empty(),
            "every given check must hold"
        );
        assert!(am(&[("filename", "/nope"), ("mode", "0644")]).is_empty());
        assert_eq!(
            am(&[("filename", "/nope"), ("skip_missing", "false")]),
            vec!["filename=/nope and skip_missing=false"]
        );
        let md5 = s
            .analysis
            .files
            .iter()
            .find(|f| f.path == "/etc/shadow")
            .and_then(|f| f.md5.clone())
            .expect("fixture has md5");
        assert_eq!(
            am(&[
                ("filename", "/etc/shadow"),
                ("checksum_algorithm", "md5"),
                ("checksum", &md5)
            ])
            .len(),
            1
        );
        // Without digests in the analysis the rule says why it cannot fire.
        let mut a = s.analysis.clone();
        a.files.iter_mut().for_each(|f| f.sha256 = None);
        let out = evaluate_rule(
            "files",
            "attribute_match",
            &[("filename", "/etc/shadow"), ("checksum", &full)],
            &a,
        );
        assert!(out.fired.is_empty());
        assert_eq!(out.notes.len(), 1);
    }

    #[test]
    fn attribute_params() {
        let cases: Cases<'_> = &[
            (
                &[("filename", "/etc/passwd")],
                &["ineffective-rule r.params"],
            ),
            (
                &[("filename", "/etc/passwd"), ("checksum", "abc")],
                &["param-wrong-type r.params[1].value"],
            ),
            (
                &[("filename", "/etc/passwd"), ("mode", "rw-r--r--")],
                &["param-wrong-type r.params[1].value"],
            ),
            (
                &[
                    ("filename", "/etc/passwd"),
                    ("mode", "644"),
                    ("mode_op", "~"),
                ],
                &["param-wrong-type r.params[2].value"],
            ),
            (
                &[("filename", "/etc/passwd"), ("checksum_algorithm", "sha1")],
                &[
                    "param-wrong-type r.params[1].value",
                    "ineffective-rule r.params",
                ],
            ),
            (&[("mode", "644")], &["missing-param r.params"]),
        ];
        for (params, expected) in cases {
            assert_eq!(
                rule_errors("files", "attribute_match", params),
                *expected,
                "{params:?}"
            );
        }
    }

    #[test]
    fn suid_and_sgid() {
        assert_eq!(
            fired("files", "suid_or_guid_set", &[]),
            vec![
                "SUID or SGID found set on file /usr/bin/su. Mode: 0o4755",
                "SUID or SGID found set on directory /var/mail. Mode: 0o2775",
            ]
        );
    }
}
