//! Gate `retrieved_files`: files whose content the analyzer retrieved
//! (`--retrieve-file PATH`).
//!
//! Traps: `content_regex` applies the regex to each line (anchored at the line's start, like
//! Python's `re.match`); Anchore split the content on any whitespace instead, so a pattern
//! with a space (`SSLEngine on`) could never match there and does here. A file retrieved
//! truncated (larger than the analyzer's `--max-file-size`) is checked on what was kept, and
//! the evaluation notes it. A file that was not retrieved makes `content_regex` silent; pair it
//! with `content_not_available` to require the file.

use super::Output;
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc};
use crate::policy::pattern::Regex;

const PATH: ParamDoc = ParamDoc::new(
    "path",
    ParamKind::String,
    "/etc/httpd.conf",
    "Absolute path of the retrieved file.",
)
.required();

pub const DOC: GateDoc = GateDoc {
    name: "retrieved_files",
    description: "Checks against the content and presence of files retrieved at analysis time.",
    triggers: &[
        TriggerDoc::new(
            "content_not_available",
            "Triggers if the file was not retrieved from the image.",
            &[PATH],
        ),
        TriggerDoc::new(
            "content_regex",
            "Triggers if a line of the retrieved file matches the regex (check=match) or none does (no_match).",
            &[
                PATH,
                ParamDoc::new(
                    "regex",
                    ParamKind::Regex,
                    ".*SSLEnabled.*",
                    "Regex matched at the start of each line.",
                )
                .required(),
                ParamDoc::new(
                    "check",
                    ParamKind::Enum(&["match", "no_match"]),
                    "match",
                    "Fire when a line matches, or when none does.",
                )
                .required(),
            ],
        ),
    ],
};

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    ContentNotAvailable {
        path: String,
    },
    ContentRegex {
        path: String,
        regex: Regex,
        matches: bool,
    },
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    let path = p.str("path").map(|s| s.trim().to_owned());
    match trigger.name {
        "content_not_available" => Some(Check::ContentNotAvailable { path: path? }),
        "content_regex" => {
            let regex = p.regex("regex").cloned();
            let matches = p.word("check")? == "match";
            Some(Check::ContentRegex {
                path: path?,
                regex: regex?,
                matches,
            })
        }
        _ => None,
    }
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    match check {
        Check::ContentNotAvailable { path } => {
            if facts.retrieved(path).is_none() {
                out.fire(format!("Cannot locate file {path} in the image analysis"));
            }
        }
        Check::ContentRegex {
            path,
            regex,
            matches,
        } => {
            let Some(file) = facts.retrieved(path) else {
                return;
            };
            if file.truncated {
                out.note(format!(
                    "retrieved_files.content_regex checked only the first part of {path}: it was retrieved truncated"
                ));
            }
            let found = file.text.lines().any(|l| regex.is_match(l));
            if found == *matches {
                out.fire(format!(
                    "Content regex '{}' check '{}' found in retrieved file '{path}'",
                    regex.as_str(),
                    if *matches { "match" } else { "no_match" }
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Scenario, fired, fired_in, rule_errors, run};

    #[test]
    fn retrieved_content() {
        let cr = |regex: &str, check: &str| {
            fired(
                "retrieved_files",
                "content_regex",
                &[
                    ("path", "/app/settings.conf"),
                    ("regex", regex),
                    ("check", check),
                ],
            )
        };
        assert_eq!(
            cr("SSLEngine on", "match"),
            vec![
                "Content regex 'SSLEngine on' check 'match' found in retrieved file '/app/settings.conf'"
            ]
        );
        assert!(cr("SSLEngine on", "no_match").is_empty());
        assert_eq!(cr("SSLEngine off", "no_match").len(), 1);
        assert!(
            cr("Engine", "match").is_empty(),
            "anchored at the line start"
        );
        assert!(
            fired(
                "retrieved_files",
                "content_not_available",
                &[("path", "/app/settings.conf")]
            )
            .is_empty()
        );
        assert_eq!(
            fired(
                "retrieved_files",
                "content_not_available",
                &[("path", "/etc/httpd.conf")]
            ),
            vec!["Cannot locate file /etc/httpd.conf in the image analysis"]
        );
        assert!(
            fired(
                "retrieved_files",
                "content_regex",
                &[
                    ("path", "/etc/httpd.conf"),
                    ("regex", ".*"),
                    ("check", "no_match")
                ]
            )
            .is_empty()
        );
    }

    #[test]
    fn truncated_files_are_noted() {
        let mut s = Scenario::new();
        s.analysis
            .retrieved_files
            .iter_mut()
            .for_each(|f| f.truncated = true);
        let out = run(
            "retrieved_files",
            "content_regex",
            &[
                ("path", "/app/settings.conf"),
                ("regex", "Listen"),
                ("check", "match"),
            ],
            &s,
        );
        assert_eq!(out.fired.len(), 1);
        assert_eq!(out.notes.len(), 1);
        assert_eq!(
            fired_in(
                "retrieved_files",
                "content_not_available",
                &[("path", "/app/settings.conf")],
                &s
            )
            .len(),
            0
        );
    }

    #[test]
    fn params() {
        assert_eq!(
            rule_errors(
                "retrieved_files",
                "content_regex",
                &[("path", "/x"), ("regex", "a"), ("check", "maybe")]
            ),
            vec!["param-wrong-type r.params[2].value"]
        );
        assert_eq!(
            rule_errors("retrieved_files", "content_not_available", &[]),
            vec!["missing-param r.params"]
        );
    }
}
