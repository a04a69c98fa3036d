//! Gate `ruby_gems`: Ruby gems in the image.
//!
//! As with `npms`, Anchore's feed-backed triggers need a gem metadata feed Plimsoll does not
//! have: they validate, warn at load time, never fire and are noted in each evaluation.
//! Note Anchore's trigger names differ between the two gates (`newer_version_found_in_feed`
//! here, `newer_version_in_feed` for npms; `blacklist` here, `blacklisted_name_version` there).

use super::Output;
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc};
use plimsoll_analyzer::model::PackageKind;

const NO_FEED: &str = "it needs Anchore's gem metadata feed, which Plimsoll does not have";

pub const DOC: GateDoc = GateDoc {
    name: "ruby_gems",
    description: "Checks of the Ruby gems in the image.",
    triggers: &[
        TriggerDoc::new(
            "newer_version_found_in_feed",
            "Triggers if an installed gem is not the latest version in the gem feed.",
            &[],
        )
        .unavailable(NO_FEED),
        TriggerDoc::new(
            "not_found_in_feed",
            "Triggers if an installed gem is not in the gem feed.",
            &[],
        )
        .unavailable(NO_FEED),
        TriggerDoc::new(
            "version_not_found_in_feed",
            "Triggers if an installed gem's version is not listed in the gem feed.",
            &[],
        )
        .unavailable(NO_FEED),
        TriggerDoc::new(
            "blacklist",
            "Triggers for each installed gem with the name (and version, if given).",
            &[
                ParamDoc::new(
                    "name",
                    ParamKind::String,
                    "time_diff",
                    "Gem name to blacklist.",
                )
                .required(),
                ParamDoc::new("version", ParamKind::String, "0.2.9", "Only this version."),
            ],
        ),
        TriggerDoc::new(
            "feed_data_unavailable",
            "Triggers if the image has gems and the gem feed is unavailable (always, in Plimsoll).",
            &[],
        ),
    ],
};

/// A name, optionally a version, to blacklist (shared with `npms`).
#[derive(Debug, Clone, PartialEq)]
pub struct Blacklisted {
    pub name: String,
    pub version: Option<String>,
}

impl Blacklisted {
    pub(crate) fn read(p: &Params<'_>) -> Option<Self> {
        Some(Self {
            name: p.str("name")?.trim().to_owned(),
            version: p.str("version").map(|v| v.trim().to_owned()),
        })
    }
}

/// `feed_data_unavailable`, shared with the npms gate: fires when packages of `kind` are present,
/// since Plimsoll has no package feed for them (`label` as Anchore writes it, `feed` in prose).
pub(crate) fn feed_data_unavailable(
    kind: PackageKind,
    label: &str,
    feed: &str,
    facts: &Facts<'_>,
    out: &mut Output,
) {
    if facts.input.analysis.packages.iter().any(|p| p.kind == kind) {
        out.fire(format!(
            "{label} packages are present but the {feed} feed is not available - will be unable to perform checks that require feed data"
        ));
    }
}

pub(crate) fn blacklist(
    b: &Blacklisted,
    kind: PackageKind,
    label: &str,
    facts: &Facts<'_>,
    out: &mut Output,
) {
    for p in &facts.input.analysis.packages {
        if p.kind != kind || p.name != b.name {
            continue;
        }
        match &b.version {
            Some(v) if *v == p.version => {
                out.fire(format!(
                    "{label} Package is blacklisted: {}-{}",
                    p.name, p.version
                ));
            }
            Some(_) => {}
            None => out.fire(format!("{label} Package is blacklisted: {}", p.name)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    FeedBacked(&'static str),
    Blacklist(Blacklisted),
    FeedDataUnavailable,
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    match trigger.name {
        "blacklist" => Some(Check::Blacklist(Blacklisted::read(p)?)),
        "feed_data_unavailable" => Some(Check::FeedDataUnavailable),
        name => Some(Check::FeedBacked(name)),
    }
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    match check {
        Check::FeedBacked(trigger) => {
            out.note(format!(
                "ruby_gems.{trigger} did not run: gem feed data unavailable"
            ));
        }
        Check::Blacklist(b) => blacklist(b, PackageKind::Gem, "Gem", facts, out),
        Check::FeedDataUnavailable => {
            feed_data_unavailable(PackageKind::Gem, "Gem", "gem", facts, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Scenario, fired_in, rule_errors, run};
    use plimsoll_analyzer::model::{Package, PackageKind};

    #[test]
    fn blacklist_and_feeds() {
        let mut s = Scenario::new();
        s.analysis
            .packages
            .push(Package::new(PackageKind::Gem, "rails", "7.1.0"));
        assert_eq!(
            fired_in(
                "ruby_gems",
                "blacklist",
                &[("name", "rails"), ("version", "7.1.0")],
                &s
            ),
            vec!["Gem Package is blacklisted: rails-7.1.0"]
        );
        assert!(
            fired_in("ruby_gems", "blacklist", &[("name", "Rails")], &s).is_empty(),
            "names are exact"
        );
        assert_eq!(
            fired_in("ruby_gems", "feed_data_unavailable", &[], &s).len(),
            1
        );
        let out = run("ruby_gems", "not_found_in_feed", &[], &s);
        assert!(out.fired.is_empty());
        assert_eq!(out.notes.len(), 1);
        assert_eq!(
            rule_errors("ruby_gems", "blacklisted_name_version", &[]),
            vec!["unknown-trigger r.trigger"]
        );
    }
}
