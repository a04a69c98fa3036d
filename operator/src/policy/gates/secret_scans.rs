//! Gate `secret_scans`: secrets the analyzer's secret patterns found (Anchore's five defaults
//! `AWS_ACCESS_KEY`, `AWS_SECRET_KEY`, `PRIV_KEY`, `DOCKER_AUTH`, `API_KEY`, plus the user's
//! `--secret-pattern NAME=REGEX`).
//!
//! Traps: a secret in a file that a later layer deleted is still in the image and is reported
//! (with its layer). Beyond Anchore, secrets found in the image config's environment and in
//! the build history are reported too, unless `filename_regex` restricts the check to files.
//! `match_type=notfound` fires once when nothing matched, which is how a bundle requires the
//! absence of a pattern.

use super::Output;
use super::files::describe_location;
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc};
use crate::policy::pattern::Regex;
use plimsoll_analyzer::model::HitLocation;

pub const DOC: GateDoc = GateDoc {
    name: "secret_scans",
    description: "Checks for secrets found in the image by the analyzer's secret patterns.",
    triggers: &[TriggerDoc::new(
        "content_regex_checks",
        "Triggers for each secret found (match_type=found), or once if none was (notfound); filtered by pattern name and file name.",
        &[
            ParamDoc::new(
                "content_regex_name",
                ParamKind::String,
                "AWS_ACCESS_KEY",
                "Name of the secret pattern to limit the check to (default: all).",
            ),
            ParamDoc::new(
                "filename_regex",
                ParamKind::Regex,
                "/etc/.*",
                "Only consider secrets in files whose path matches this regex.",
            ),
            ParamDoc::new(
                "match_type",
                ParamKind::Enum(&["found", "notfound"]),
                "found",
                "Fire when a match is found, or when none is.",
            )
            .default("found"),
        ],
    )],
};

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    ContentRegexChecks {
        name: Option<String>,
        filename: Option<Regex>,
        found: bool,
    },
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    match trigger.name {
        "content_regex_checks" => Some(Check::ContentRegexChecks {
            name: p.str("content_regex_name").map(|s| s.trim().to_owned()),
            filename: p.regex("filename_regex").cloned(),
            found: p.word("match_type") != Some("notfound"),
        }),
        _ => None,
    }
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    let analysis = facts.input.analysis;
    let Check::ContentRegexChecks {
        name,
        filename,
        found,
    } = check;
    let mut any = false;
    for hit in &analysis.secrets {
        if name.as_deref().is_some_and(|n| n != hit.pattern) {
            continue;
        }
        let place = match (&hit.location, filename) {
            (HitLocation::File { path, .. }, Some(re)) if !re.is_match(path) => continue,
            (HitLocation::File { .. }, _) => describe_location(&hit.location),
            (_, Some(_)) => continue,
            (HitLocation::Env { name }, None) => Some(format!("environment variable {name}")),
            (HitLocation::History { index }, None) => Some(format!("history entry {index}")),
        };
        any = true;
        if *found {
            out.fire(format!(
                "Secret content search analyzer found regexp match in container: file={} regexp={}",
                place.unwrap_or_default(),
                hit.pattern
            ));
        }
    }
    if !any && !found {
        out.fire(format!(
            "Secret content search analyzer did not find regexp match in container: filename_regex={} content_regex_name={}",
            filename.as_ref().map_or("*", |r| r.as_str()),
            name.as_deref().unwrap_or("all")
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Scenario, fired, fired_in, rule_errors};
    use plimsoll_analyzer::model::{ContentHit, HitLocation};

    #[test]
    fn found_and_not_found() {
        let c = |params: &[(&str, &str)]| fired("secret_scans", "content_regex_checks", params);
        assert_eq!(
            c(&[]),
            vec![
                "Secret content search analyzer found regexp match in container: file=/etc/shadow regexp=ALPINE_NULL_ROOT",
                "Secret content search analyzer found regexp match in container: file=/app/config.env (deleted or replaced by a later layer; still in layer 0) regexp=AWS_ACCESS_KEY",
                "Secret content search analyzer found regexp match in container: file=/etc/ssl/private/server.key regexp=PRIV_KEY",
            ]
        );
        assert_eq!(c(&[("content_regex_name", "ALPINE_NULL_ROOT")]).len(), 1);
        assert_eq!(c(&[("filename_regex", "/etc/.*")]).len(), 2);
        assert!(
            c(&[
                ("content_regex_name", "DOCKER_AUTH"),
                ("match_type", "found")
            ])
            .is_empty()
        );
        assert_eq!(
            c(&[
                ("content_regex_name", "DOCKER_AUTH"),
                ("match_type", "notfound")
            ]),
            vec![
                "Secret content search analyzer did not find regexp match in container: filename_regex=* content_regex_name=DOCKER_AUTH"
            ]
        );
        assert!(c(&[("match_type", "notfound")]).is_empty());
    }

    #[test]
    fn env_and_history_secrets() {
        let mut s = Scenario::new();
        s.analysis.secrets = vec![ContentHit {
            pattern: "AWS_SECRET_KEY".into(),
            location: HitLocation::Env {
                name: "AWS_SECRET_ACCESS_KEY".into(),
            },
            lines: vec![],
        }];
        assert_eq!(
            fired_in("secret_scans", "content_regex_checks", &[], &s),
            vec![
                "Secret content search analyzer found regexp match in container: file=environment variable AWS_SECRET_ACCESS_KEY regexp=AWS_SECRET_KEY"
            ]
        );
        assert!(
            fired_in(
                "secret_scans",
                "content_regex_checks",
                &[("filename_regex", ".*")],
                &s
            )
            .is_empty()
        );
    }

    #[test]
    fn params() {
        assert_eq!(
            rule_errors(
                "secret_scans",
                "content_regex_checks",
                &[("match_type", "maybe"), ("filename_regex", "[")]
            ),
            vec![
                "param-wrong-type r.params[0].value",
                "bad-regex r.params[1].value"
            ]
        );
    }
}
