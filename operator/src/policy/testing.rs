//! Test helpers: the fixture analysis (`testdata/analysis.json`, written by the real analyzer)
//! and matches, a default scenario, and one-rule validation and evaluation.

use super::bundle::RawParam;
use super::diagnostics::Diagnostics;
use super::facts::Facts;
use super::gates::{self, Check, Output};
use super::input::{EvalInput, ImageRef, MatchTimes};
use crate::matcher::Match;
use chrono::{DateTime, TimeDelta, Utc};
use plimsoll_analyzer::model::Analysis;

pub(crate) fn analysis() -> Analysis {
    serde_json::from_str(include_str!("testdata/analysis.json")).expect("fixture analysis parses")
}

pub(crate) fn matches() -> Vec<Match> {
    serde_json::from_str(include_str!("testdata/matches.json")).expect("fixture matches parse")
}

pub(crate) fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
        .expect("fixed time")
        .with_timezone(&Utc)
}

pub(crate) fn days_ago(days: i64) -> DateTime<Utc> {
    now() - TimeDelta::days(days)
}

/// Everything an evaluation reads, owned, with defaults a test changes as it needs.
pub(crate) struct Scenario {
    pub(crate) analysis: Analysis,
    pub(crate) matches: Vec<Match>,
    pub(crate) times: Vec<MatchTimes>,
    pub(crate) feed_sync: Option<DateTime<Utc>>,
    pub(crate) image: ImageRef,
    pub(crate) now: DateTime<Utc>,
}

impl Scenario {
    /// The fixture; every match first seen 40 days ago, fixes first seen 20 days ago, the feed
    /// synced yesterday.
    pub(crate) fn new() -> Self {
        let analysis = analysis();
        let matches = matches();
        let times = matches
            .iter()
            .map(|m| MatchTimes {
                first_seen: Some(days_ago(40)),
                fix_first_seen: (!m.fixed_versions.is_empty()).then(|| days_ago(20)),
            })
            .collect();
        let image = ImageRef::from_analysis(&analysis);
        Self {
            analysis,
            matches,
            times,
            feed_sync: Some(days_ago(1)),
            image,
            now: now(),
        }
    }

    pub(crate) fn input(&self) -> EvalInput<'_> {
        EvalInput {
            analysis: &self.analysis,
            matches: &self.matches,
            match_times: &self.times,
            feed_sync: self.feed_sync,
            image: &self.image,
            now: self.now,
        }
    }
}

/// Table rows of rule tests: params, then what is expected.
pub(crate) type Cases<'a> = &'a [(&'a [(&'a str, &'a str)], &'a [&'a str])];

fn raw(params: &[(&str, &str)]) -> Vec<RawParam> {
    params
        .iter()
        .map(|(n, v)| RawParam {
            name: (*n).into(),
            value: (*v).into(),
        })
        .collect()
}

/// Validates one rule; panics with the diagnostics when it is not valid.
pub(crate) fn check(
    gate: &str,
    trigger: &str,
    params: &[(&str, &str)],
) -> (&'static str, &'static str, Check) {
    let mut d = Diagnostics::default();
    let validated = gates::validate(gate, trigger, &raw(params), "r", &mut d);
    match validated {
        Some((g, t, c)) => (g.name, t.name, c),
        None => panic!("{gate}.{trigger} {params:?} is invalid: {:?}", d.into_vec()),
    }
}

/// Every diagnostic (errors and warnings) of one rule, as `code path`.
pub(crate) fn rule_errors(gate: &str, trigger: &str, params: &[(&str, &str)]) -> Vec<String> {
    let mut d = Diagnostics::default();
    let _ = gates::validate(gate, trigger, &raw(params), "r", &mut d);
    d.into_vec()
        .into_iter()
        .map(|d| format!("{} {}", d.code, d.path))
        .collect()
}

pub(crate) fn run(
    gate: &str,
    trigger: &str,
    params: &[(&str, &str)],
    scenario: &Scenario,
) -> Output {
    let (g, t, c) = check(gate, trigger, params);
    let input = scenario.input();
    let facts = Facts::new(&input);
    let mut out = Output::new(g, t);
    c.evaluate(&facts, &mut out);
    out
}

/// One rule against the default scenario with `analysis` in it.
pub(crate) fn evaluate_rule(
    gate: &str,
    trigger: &str,
    params: &[(&str, &str)],
    analysis: &Analysis,
) -> Output {
    let mut s = Scenario::new();
    s.analysis = analysis.clone();
    run(gate, trigger, params, &s)
}

/// The messages one rule fires against the default scenario.
pub(crate) fn fired(gate: &str, trigger: &str, params: &[(&str, &str)]) -> Vec<String> {
    fired_in(gate, trigger, params, &Scenario::new())
}

pub(crate) fn fired_in(
    gate: &str,
    trigger: &str,
    params: &[(&str, &str)],
    s: &Scenario,
) -> Vec<String> {
    run(gate, trigger, params, s)
        .fired
        .into_iter()
        .map(|f| f.message)
        .collect()
}
