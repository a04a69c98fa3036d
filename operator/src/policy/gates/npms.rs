//! Gate `npms`: npm packages in the image.
//!
//! Anchore's feed-backed triggers (`newer_version_in_feed`, `unknown_in_feeds`,
//! `version_not_in_feeds`) compare against Anchore's npm metadata feed, which Plimsoll does not
//! have: they validate (so bundles load unchanged), warn at load time, never fire, and note in
//! each evaluation that the feed data is unavailable. `feed_data_unavailable` therefore fires
//! whenever the image has npm packages. Vulnerabilities of npm packages are the
//! `vulnerabilities` gate's business.

use super::Output;
use super::ruby_gems::{Blacklisted, blacklist, feed_data_unavailable};
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc};
use plimsoll_analyzer::model::PackageKind;

const NO_FEED: &str = "it needs Anchore's npm metadata feed, which Plimsoll does not have";

pub const DOC: GateDoc = GateDoc {
    name: "npms",
    description: "Checks of the npm packages in the image.",
    triggers: &[
        TriggerDoc::new(
            "newer_version_in_feed",
            "Triggers if an installed npm is not the latest version in the npm feed.",
            &[],
        )
        .unavailable(NO_FEED),
        TriggerDoc::new(
            "unknown_in_feeds",
            "Triggers if an installed npm is not in the npm feed.",
            &[],
        )
        .unavailable(NO_FEED),
        TriggerDoc::new(
            "version_not_in_feeds",
            "Triggers if an installed npm's version is not listed in the npm feed.",
            &[],
        )
        .unavailable(NO_FEED),
        TriggerDoc::new(
            "blacklisted_name_version",
            "Triggers for each installed npm with the name (and version, if given).",
            &[
                ParamDoc::new(
                    "name",
                    ParamKind::String,
                    "time_diff",
                    "npm package name to blacklist.",
                )
                .required(),
                ParamDoc::new("version", ParamKind::String, "0.2.9", "Only this version."),
            ],
        ),
        TriggerDoc::new(
            "feed_data_unavailable",
            "Triggers if the image has npm packages and the npm feed is unavailable (always, in Plimsoll).",
            &[],
        ),
    ],
};

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    FeedBacked(&'static str),
    Blacklisted(Blacklisted),
    FeedDataUnavailable,
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    match trigger.name {
        "blacklisted_name_version" => Some(Check::Blacklisted(Blacklisted::read(p)?)),
        "feed_data_unavailable" => Some(Check::FeedDataUnavailable),
        name => Some(Check::FeedBacked(name)),
    }
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    match check {
        Check::FeedBacked(trigger) => {
            out.note(format!(
                "npms.{trigger} did not run: npm feed data unavailable"
            ));
        }
        Check::Blacklisted(b) => blacklist(b, PackageKind::Npm, "NPM", facts, out),
        Check::FeedDataUnavailable => {
            feed_data_unavailable(PackageKind::Npm, "NPM", "npm", facts, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Scenario, fired_in, rule_errors, run};
    use plimsoll_analyzer::model::{Package, PackageKind};

    fn scenario() -> Scenario {
        let mut s = Scenario::new();
        s.analysis
            .packages
            .push(Package::new(PackageKind::Npm, "lodash", "4.17.15"));
        s.analysis
            .packages
            .push(Package::new(PackageKind::Gem, "lodash", "1.0.0"));
        s
    }

    #[test]
    fn blacklist_and_feeds() {
        let s = scenario();
        assert_eq!(
            fired_in(
                "npms",
                "blacklisted_name_version",
                &[("name", "lodash")],
                &s
            ),
            vec!["NPM Package is blacklisted: lodash"]
        );
        assert_eq!(
            fired_in(
                "npms",
                "blacklisted_name_version",
                &[("name", "lodash"), ("version", "4.17.15")],
                &s
            ),
            vec!["NPM Package is blacklisted: lodash-4.17.15"]
        );
        assert!(
            fired_in(
                "npms",
                "blacklisted_name_version",
                &[("name", "lodash"), ("version", "1.0.0")],
                &s
            )
            .is_empty()
        );
        assert_eq!(fired_in("npms", "feed_data_unavailable", &[], &s).len(), 1);
        assert!(fired_in("npms", "feed_data_unavailable", &[], &Scenario::new()).is_empty());
        let out = run("npms", "newer_version_in_feed", &[], &s);
        assert!(out.fired.is_empty());
        assert_eq!(
            out.notes,
            vec!["npms.newer_version_in_feed did not run: npm feed data unavailable"]
        );
        assert_eq!(
            rule_errors("npms", "unknown_in_feeds", &[]),
            vec!["feed-unavailable r.params"]
        );
        assert_eq!(
            rule_errors("npms", "blacklisted_name_version", &[("version", "1")]),
            vec!["missing-param r.params"]
        );
    }
}
