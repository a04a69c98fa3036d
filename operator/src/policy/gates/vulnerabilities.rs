//! Gate `vulnerabilities`: the matches of the image's packages against the vulnerability feed.
//!
//! Anchore's semantics, kept: `package` compares severities on the scale Unknown < Negligible
//! < Low < Medium < High < Critical (default `> unknown`); CVSS v3 filters use the highest
//! NVD (or vendor) v3 score of the match, -1 when there is none (so `>= 5` excludes unscored
//! matches); `vendor_only` (default true) skips matches the vendor will not fix;
//! `max_days_since_fix` only applies with `fix_available=true`; `package_path_exclude` only
//! applies to non-OS packages. Trigger ids are `VULNID+PACKAGE`, where PACKAGE is the OS
//! package name, the jar or gem file name, the npm package directory, or `name-version`.
//!
//! Plimsoll's fix of Anchore's best-known bug: `max_days_since_creation` (alias
//! `max_days_since_detection`) counts from when the match was *first seen* by the store, which
//! never resets on re-matching (Anchore reset it on every report), so remediation deadlines
//! like BOD 19-02's "critical within 15 days" hold. A match without a known first-seen time
//! counts as first seen now.
//!
//! Beyond Anchore: `count` fires when more than `max_count` matches reach a severity.

use super::Output;
use crate::matcher::{FixState, Match};
use crate::policy::diagnostics::Code;
use crate::policy::facts::Facts;
use crate::policy::params::{GateDoc, ParamDoc, ParamKind, Params, TriggerDoc};
use crate::policy::pattern::Regex;
use crate::severity::CvssVersion;
use crate::severity::Severity;
use crate::severity::normalize::{CvssScore, ScoreSource};
use chrono::{DateTime, TimeDelta, Utc};
use std::fmt::Write as _;

const SEVERITIES: &[&str] = &["unknown", "negligible", "low", "medium", "high", "critical"];
const COMPARISONS: &[&str] = &["=", "!=", "<", ">", "<=", ">="];

const fn cmp_param(name: &'static str, what: &'static str) -> ParamDoc {
    ParamDoc::new(name, ParamKind::Enum(COMPARISONS), ">", what).default(">=")
}

const fn score_param(name: &'static str, what: &'static str) -> ParamDoc {
    ParamDoc::new(name, ParamKind::Float, "5.0", what)
}

const PACKAGE_PARAMS: &[ParamDoc] = &[
    ParamDoc::new(
        "package_type",
        ParamKind::Enum(&["all", "os", "non-os"]),
        "all",
        "Only trigger for OS packages (deb, apk, rpm), non-OS packages, or all.",
    )
    .required(),
    ParamDoc::new(
        "severity_comparison",
        ParamKind::Enum(COMPARISONS),
        ">",
        "How the match's severity is compared with severity.",
    )
    .default(">"),
    ParamDoc::new(
        "severity",
        ParamKind::Enum(SEVERITIES),
        "high",
        "Severity to compare against.",
    )
    .default("unknown"),
    cmp_param("cvss_v3_base_score_comparison", "How the NVD CVSS v3 base score is compared."),
    score_param("cvss_v3_base_score", "NVD CVSS v3 base score to compare against."),
    cmp_param(
        "cvss_v3_exploitability_score_comparison",
        "How the NVD CVSS v3 exploitability subscore is compared.",
    ),
    score_param(
        "cvss_v3_exploitability_score",
        "NVD CVSS v3 exploitability subscore to compare against.",
    ),
    cmp_param(
        "cvss_v3_impact_score_comparison",
        "How the NVD CVSS v3 impact subscore is compared.",
    ),
    score_param("cvss_v3_impact_score", "NVD CVSS v3 impact subscore to compare against."),
    ParamDoc::new(
        "fix_available",
        ParamKind::Boolean,
        "true",
        "If set, the match's fix availability must equal this value.",
    ),
    ParamDoc::new(
        "vendor_only",
        ParamKind::Boolean,
        "true",
        "If true, skip matches the vendor marked as will-not-fix.",
    )
    .default("true"),
    ParamDoc::new(
        "max_days_since_creation",
        ParamKind::Integer,
        "30",
        "Only trigger when the match was first detected at least this many days ago (a remediation deadline).",
    )
    .aliases(&["max_days_since_detection"]),
    ParamDoc::new(
        "max_days_since_fix",
        ParamKind::Integer,
        "30",
        "With fix_available=true, only trigger when the fix was first seen at least this many days ago.",
    ),
    cmp_param(
        "vendor_cvss_v3_base_score_comparison",
        "How the vendor's CVSS v3 base score is compared.",
    ),
    score_param("vendor_cvss_v3_base_score", "Vendor CVSS v3 base score to compare against."),
    cmp_param(
        "vendor_cvss_v3_exploitability_score_comparison",
        "How the vendor's CVSS v3 exploitability subscore is compared.",
    ),
    score_param(
        "vendor_cvss_v3_exploitability_score",
        "Vendor CVSS v3 exploitability subscore to compare against.",
    ),
    cmp_param(
        "vendor_cvss_v3_impact_score_comparison",
        "How the vendor's CVSS v3 impact subscore is compared.",
    ),
    score_param(
        "vendor_cvss_v3_impact_score",
        "Vendor CVSS v3 impact subscore to compare against.",
    ),
    ParamDoc::new(
        "package_path_exclude",
        ParamKind::Regex,
        r".*/test/.*\.jar",
        "Skip non-OS packages whose path matches this regex.",
    ),
];

pub const DOC: GateDoc = GateDoc {
    name: "vulnerabilities",
    description: "CVE/vulnerability checks on the matches of the image's packages.",
    triggers: &[
        TriggerDoc::new(
            "package",
            "Triggers for each vulnerability match that meets every given criterion.",
            PACKAGE_PARAMS,
        ),
        TriggerDoc::new(
            "stale_feed_data",
            "Triggers if the vulnerability feed was last synced more than max_days_since_sync days ago, or never.",
            &[ParamDoc::new(
                "max_days_since_sync",
                ParamKind::Integer,
                "2",
                "Fire when the last sync is older than this many days.",
            )
            .required()],
        ),
        TriggerDoc::new(
            "vulnerability_data_unavailable",
            "Triggers if vulnerability data is unavailable for the image's OS packages (no feed synced, or a distribution without a feed).",
            &[],
        ),
        TriggerDoc::new(
            "blacklist",
            "Triggers if any of the listed vulnerabilities (by id or alias) is matched in the image.",
            &[
                ParamDoc::new(
                    "vulnerability_ids",
                    ParamKind::StringList,
                    "CVE-2019-1234,GHSA-29mw-wpgm-hmr9",
                    "Vulnerability ids.",
                )
                .required(),
                ParamDoc::new(
                    "vendor_only",
                    ParamKind::Boolean,
                    "true",
                    "If true, ignore matches the vendor marked as will-not-fix.",
                )
                .default("true"),
            ],
        ),
        TriggerDoc::new(
            "count",
            "Triggers once when more than max_count matches meet the severity criterion (Plimsoll).",
            &[
                ParamDoc::new(
                    "max_count",
                    ParamKind::Integer,
                    "10",
                    "Fire when the number of qualifying matches exceeds this.",
                )
                .required(),
                ParamDoc::new(
                    "severity",
                    ParamKind::Enum(SEVERITIES),
                    "high",
                    "Severity to compare against.",
                )
                .required(),
                ParamDoc::new(
                    "severity_comparison",
                    ParamKind::Enum(COMPARISONS),
                    ">=",
                    "How each match's severity is compared with severity.",
                )
                .default(">="),
                ParamDoc::new(
                    "package_type",
                    ParamKind::Enum(&["all", "os", "non-os"]),
                    "all",
                    "Only count OS packages, non-OS packages, or all.",
                )
                .default("all"),
                ParamDoc::new(
                    "fix_available",
                    ParamKind::Boolean,
                    "true",
                    "If set, only count matches whose fix availability equals this value.",
                ),
                ParamDoc::new(
                    "vendor_only",
                    ParamKind::Boolean,
                    "true",
                    "If true, do not count matches the vendor marked as will-not-fix.",
                )
                .default("true"),
            ],
        ),
    ],
};

/// A comparison operator of Anchore's severity and score parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Cmp {
    fn from_word(w: &str) -> Option<Self> {
        Some(match w {
            "=" => Cmp::Eq,
            "!=" => Cmp::Ne,
            "<" => Cmp::Lt,
            ">" => Cmp::Gt,
            "<=" => Cmp::Le,
            ">=" => Cmp::Ge,
            _ => return None,
        })
    }

    fn holds<T: PartialOrd>(self, found: T, wanted: T) -> bool {
        match self {
            Cmp::Eq => found == wanted,
            Cmp::Ne => found != wanted,
            Cmp::Lt => found < wanted,
            Cmp::Gt => found > wanted,
            Cmp::Le => found <= wanted,
            Cmp::Ge => found >= wanted,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Gt => ">",
            Cmp::Le => "<=",
            Cmp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageClass {
    All,
    Os,
    NonOs,
}

impl PackageClass {
    fn from_word(w: Option<&str>) -> Self {
        match w {
            Some("os") => PackageClass::Os,
            Some("non-os") => PackageClass::NonOs,
            _ => PackageClass::All,
        }
    }

    fn admits(self, m: &Match) -> bool {
        match self {
            PackageClass::All => true,
            PackageClass::Os => m.package.kind.is_os(),
            PackageClass::NonOs => !m.package.kind.is_os(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    Base,
    Exploitability,
    Impact,
}

impl Score {
    fn name(self) -> &'static str {
        match self {
            Score::Base => "base_score",
            Score::Exploitability => "exploitability_score",
            Score::Impact => "impact_score",
        }
    }

    fn of(self, s: &CvssScore) -> Option<f64> {
        match self {
            Score::Base => Some(s.base),
            Score::Exploitability => s.exploitability,
            Score::Impact => s.impact,
        }
    }
}

/// One CVSS v3 filter: the source's highest v3 score of a kind compared with a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreFilter {
    pub source: ScoreSource,
    pub score: Score,
    pub cmp: Cmp,
    pub value: f64,
}

impl ScoreFilter {
    /// The highest v3 score of this kind from this source, -1 when there is none (Anchore).
    fn found(&self, m: &Match) -> f64 {
        m.cvss
            .iter()
            .filter(|s| s.source == self.source)
            .filter(|s| matches!(s.version, CvssVersion::V3_0 | CvssVersion::V3_1))
            .filter_map(|s| self.score.of(s))
            .fold(-1.0, f64::max)
    }

    fn label(&self) -> String {
        let prefix = match self.source {
            ScoreSource::Vendor => "vendor_",
            ScoreSource::Nvd => "",
        };
        format!("{prefix}cvss_v3_{}", self.score.name())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PackageParams {
    pub package_type: PackageClass,
    pub severity_cmp: Cmp,
    pub severity: Severity,
    pub scores: Vec<ScoreFilter>,
    pub fix_available: Option<bool>,
    pub vendor_only: bool,
    pub max_days_since_creation: Option<u64>,
    pub max_days_since_fix: Option<u64>,
    pub package_path_exclude: Option<Regex>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CountParams {
    pub max_count: u64,
    pub severity_cmp: Cmp,
    pub severity: Severity,
    pub package_type: PackageClass,
    pub fix_available: Option<bool>,
    pub vendor_only: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Package(Box<PackageParams>),
    StaleFeedData { max_days_since_sync: u64 },
    VulnerabilityDataUnavailable,
    Blacklist { ids: Vec<String>, vendor_only: bool },
    Count(CountParams),
}

fn severity(word: Option<&str>, default: Severity) -> Severity {
    word.and_then(|w| w.parse().ok()).unwrap_or(default)
}

pub(crate) fn validate(trigger: &'static TriggerDoc, p: &mut Params<'_>) -> Option<Check> {
    match trigger.name {
        "package" => {
            let mut scores = Vec::new();
            for (source, prefix) in [(ScoreSource::Nvd, ""), (ScoreSource::Vendor, "vendor_")] {
                for score in [Score::Base, Score::Exploitability, Score::Impact] {
                    let name = format!("{prefix}cvss_v3_{}", score.name());
                    let cmp_name = format!("{name}_comparison");
                    if let Some(value) = p.float(&name) {
                        let cmp = p
                            .word(&cmp_name)
                            .and_then(Cmp::from_word)
                            .unwrap_or(Cmp::Ge);
                        scores.push(ScoreFilter {
                            source,
                            score,
                            cmp,
                            value,
                        });
                    } else if p.has(&cmp_name) {
                        p.error(
                            Code::MissingParam,
                            &cmp_name,
                            format!("{cmp_name} needs {name}"),
                        );
                    }
                }
            }
            let fix_available = p.bool("fix_available");
            if p.has("max_days_since_fix") && fix_available != Some(true) {
                p.rule_warning(
                    Code::IneffectiveRule,
                    "max_days_since_fix only applies together with fix_available=true (as in Anchore); it is ignored",
                );
            }
            Some(Check::Package(Box::new(PackageParams {
                package_type: PackageClass::from_word(p.word("package_type")),
                severity_cmp: p
                    .word("severity_comparison")
                    .and_then(Cmp::from_word)
                    .unwrap_or(Cmp::Gt),
                severity: severity(p.word("severity"), Severity::Unknown),
                scores,
                fix_available,
                vendor_only: p.bool("vendor_only").unwrap_or(true),
                max_days_since_creation: p.int("max_days_since_creation"),
                max_days_since_fix: p.int("max_days_since_fix"),
                package_path_exclude: p.regex("package_path_exclude").cloned(),
            })))
        }
        "stale_feed_data" => Some(Check::StaleFeedData {
            max_days_since_sync: p.int("max_days_since_sync")?,
        }),
        "vulnerability_data_unavailable" => Some(Check::VulnerabilityDataUnavailable),
        "blacklist" => Some(Check::Blacklist {
            ids: p.list("vulnerability_ids")?.to_vec(),
            vendor_only: p.bool("vendor_only").unwrap_or(true),
        }),
        "count" => Some(Check::Count(CountParams {
            max_count: p.int("max_count")?,
            severity_cmp: p
                .word("severity_comparison")
                .and_then(Cmp::from_word)
                .unwrap_or(Cmp::Ge),
            severity: severity(p.word("severity"), Severity::Unknown),
            package_type: PackageClass::from_word(p.word("package_type")),
            fix_available: p.bool("fix_available"),
            vendor_only: p.bool("vendor_only").unwrap_or(true),
        })),
        _ => None,
    }
}

/// At least `days` days between `since` and `now` (Anchore: older than or equal to).
fn at_least_days(since: DateTime<Utc>, now: DateTime<Utc>, days: u64) -> bool {
    let days = i64::try_from(days).unwrap_or(i64::MAX);
    match TimeDelta::try_days(days) {
        Some(limit) => now.signed_duration_since(since) >= limit,
        None => false,
    }
}

fn older_than_days(since: DateTime<Utc>, now: DateTime<Utc>, days: u64) -> bool {
    let days = i64::try_from(days).unwrap_or(i64::MAX);
    TimeDelta::try_days(days).is_some_and(|limit| now.signed_duration_since(since) > limit)
}

/// The PACKAGE part of a vulnerability trigger id, as Anchore names it.
pub(crate) fn trigger_package(m: &Match) -> String {
    use plimsoll_analyzer::model::PackageKind;
    let p = &m.package;
    if p.kind.is_os() {
        return p.name.clone();
    }
    let location = p.location.as_deref().unwrap_or("");
    let segments: Vec<&str> = location
        .split(['/', ':'])
        .filter(|s| !s.is_empty())
        .collect();
    let from_location = match p.kind {
        PackageKind::Java | PackageKind::Gem => segments.last().copied(),
        PackageKind::Npm => segments
            .len()
            .checked_sub(2)
            .and_then(|i| segments.get(i))
            .copied(),
        _ => None,
    };
    match from_location {
        Some(s) => s.to_owned(),
        None => format!("{}-{}", p.name, p.version),
    }
}

fn link(id: &str) -> Option<String> {
    if id.starts_with("CVE-") {
        Some(format!("https://nvd.nist.gov/vuln/detail/{id}"))
    } else if id.starts_with("GHSA-") {
        Some(format!("https://github.com/advisories/{id}"))
    } else {
        None
    }
}

/// How a package row's check output names the package (`name-version`, and the location of a
/// language package).
pub(crate) fn package_label(m: &Match) -> String {
    let p = &m.package;
    match (&p.location, p.kind.is_os()) {
        (Some(loc), false) => format!("{}-{} ({loc})", p.name, p.version),
        _ => format!("{}-{}", p.name, p.version),
    }
}

fn fixed(m: &Match) -> bool {
    !m.fixed_versions.is_empty()
}

pub(crate) fn evaluate(check: &Check, facts: &Facts<'_>, out: &mut Output) {
    let input = facts.input;
    match check {
        Check::Package(p) => {
            for (i, m) in input.matches.iter().enumerate() {
                if let Some(message) = package_match(p, m, input.times(i), input.now) {
                    out.fire_with_id(format!("{}+{}", m.vuln_id, trigger_package(m)), message);
                }
            }
        }
        Check::StaleFeedData {
            max_days_since_sync,
        } => match input.feed_sync {
            None => out.fire("The vulnerability feed has never been synced".into()),
            // Older than N days: strictly more (Anchore: last sync < now - N days).
            Some(t) if older_than_days(t, input.now, *max_days_since_sync) => {
                out.fire(format!(
                    "The vulnerability feed is older than {max_days_since_sync} days (last synced {})",
                    t.format("%Y-%m-%d")
                ));
            }
            Some(_) => {}
        },
        Check::VulnerabilityDataUnavailable => {
            if let Some(gap) = facts.vulnerability_data_gap() {
                out.fire(format!(
                    "Vulnerability data is unavailable for the image's OS packages: {gap}"
                ));
            }
        }
        Check::Blacklist { ids, vendor_only } => {
            let mut found: Vec<&str> = Vec::new();
            for id in ids {
                let hit = input.matches.iter().any(|m| {
                    !(*vendor_only && m.fix_state == FixState::WontFix)
                        && (m.vuln_id.eq_ignore_ascii_case(id)
                            || m.aliases.iter().any(|a| a.eq_ignore_ascii_case(id)))
                });
                if hit && !found.contains(&id.as_str()) {
                    found.push(id);
                }
            }
            if !found.is_empty() {
                out.fire(format!(
                    "Blacklisted vulnerabilities detected: {}",
                    found.join(", ")
                ));
            }
        }
        Check::Count(c) => {
            let mut ids: Vec<&str> = input
                .matches
                .iter()
                .filter(|m| c.package_type.admits(m))
                .filter(|m| c.severity_cmp.holds(m.severity, c.severity))
                .filter(|m| !(c.vendor_only && m.fix_state == FixState::WontFix))
                .filter(|m| c.fix_available.is_none_or(|f| f == fixed(m)))
                .map(|m| m.vuln_id.as_str())
                .collect();
            let count = ids.len();
            if u64::try_from(count).unwrap_or(u64::MAX) > c.max_count {
                ids.sort_unstable();
                ids.dedup();
                let shown: Vec<&str> = ids.iter().take(10).copied().collect();
                let more = if ids.len() > shown.len() {
                    format!(" and {} more", ids.len() - shown.len())
                } else {
                    String::new()
                };
                out.fire(format!(
                    "{count} vulnerability matches with severity {} {} exceed the maximum of {}: {}{more}",
                    c.severity_cmp.as_str(),
                    c.severity.as_str().to_ascii_lowercase(),
                    c.max_count,
                    shown.join(", ")
                ));
            }
        }
    }
}

/// The check output when `m` meets every criterion of `p`.
fn package_match(
    p: &PackageParams,
    m: &Match,
    times: crate::policy::input::MatchTimes,
    now: DateTime<Utc>,
) -> Option<String> {
    if !p.package_type.admits(m) || !p.severity_cmp.holds(m.severity, p.severity) {
        return None;
    }
    if let (Some(re), false) = (&p.package_path_exclude, m.package.kind.is_os())
        && re.is_match(m.package.location.as_deref().unwrap_or(""))
    {
        return None;
    }
    if p.vendor_only && m.fix_state == FixState::WontFix {
        return None;
    }
    let mut notes = String::new();
    if let Some(days) = p.max_days_since_creation {
        let first_seen = times.first_seen.unwrap_or(now);
        if !at_least_days(first_seen, now, days) {
            return None;
        }
        let _ = write!(notes, "(first detected {})", first_seen.format("%Y-%m-%d"));
    }
    if let (Some(days), Some(true)) = (p.max_days_since_fix, p.fix_available)
        && fixed(m)
    {
        let fix_seen = times.fix_first_seen.unwrap_or(now);
        if !at_least_days(fix_seen, now, days) {
            return None;
        }
        let _ = write!(notes, "(fix first seen {})", fix_seen.format("%Y-%m-%d"));
    }
    let mut scores = String::new();
    for f in &p.scores {
        let found = f.found(m);
        if !f.cmp.holds(found, f.value) {
            return None;
        }
        let sep = if scores.is_empty() { "" } else { " " };
        let _ = write!(scores, "{sep}{}={found}", f.label());
    }
    if p.fix_available.is_some_and(|want| want != fixed(m)) {
        return None;
    }
    let mut msg = format!(
        "{} Vulnerability found in {} package type ({}) - {}",
        m.severity.as_str().to_ascii_uppercase(),
        if m.package.kind.is_os() {
            "os"
        } else {
            "non-os"
        },
        m.package.kind,
        package_label(m)
    );
    if fixed(m) {
        let _ = write!(msg, " (fixed in: {})", m.fixed_versions.join(", "));
    } else if m.fix_state == FixState::WontFix {
        msg.push_str(" (won't fix)");
    }
    if !scores.is_empty() {
        let _ = write!(msg, " ({scores})");
    }
    if !notes.is_empty() {
        let _ = write!(msg, " {notes}");
    }
    match link(&m.vuln_id) {
        Some(l) => {
            let _ = write!(msg, " ({} - {l})", m.vuln_id);
        }
        None => {
            let _ = write!(msg, " ({})", m.vuln_id);
        }
    }
    Some(msg)
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{Cases, Scenario, days_ago, fired, fired_in, rule_errors, run};

    fn ids(params: &[(&str, &str)]) -> Vec<String> {
        ids_in(params, &Scenario::new())
    }

    fn ids_in(params: &[(&str, &str)], s: &Scenario) -> Vec<String> {
        run("vulnerabilities", "package", params, s)
            .fired
            .into_iter()
            .map(|f| f.trigger_id)
            .collect()
    }

    #[test]
    fn package_trigger_table() {
        let all = [("package_type", "all")];
        let cases: Cases<'_> = &[
            (
                &all,
                // Default `> unknown`, vendor_only skips the won't-fix medium.
                &[
                    "CVE-2024-0001+base-passwd",
                    "CVE-2024-0002+base-passwd",
                    "CVE-2022-0004+lodash",
                    "CVE-2021-44228+log4j-core-2.14.1.jar",
                    "PYSEC-2018-28+requests-2.19.1",
                ],
            ),
            (
                &[("package_type", "os"), ("vendor_only", "false")],
                &[
                    "CVE-2024-0001+base-passwd",
                    "CVE-2024-0002+base-passwd",
                    "CVE-2023-0003+base-passwd",
                ],
            ),
            (
                &[
                    ("package_type", "os"),
                    ("severity_comparison", "="),
                    ("severity", "unknown"),
                ],
                &["CVE-2025-0005+base-passwd"],
            ),
            (
                &[
                    ("package_type", "non-os"),
                    ("severity_comparison", ">="),
                    ("severity", "HIGH"),
                ],
                &[
                    "CVE-2022-0004+lodash",
                    "CVE-2021-44228+log4j-core-2.14.1.jar",
                ],
            ),
            (
                &[
                    ("package_type", "all"),
                    ("severity_comparison", "<"),
                    ("severity", "medium"),
                ],
                &["CVE-2025-0005+base-passwd", "PYSEC-2018-28+requests-2.19.1"],
            ),
            (
                &[("package_type", "all"), ("fix_available", "false")],
                &["CVE-2024-0002+base-passwd"],
            ),
            (
                &[("package_type", "all"), ("cvss_v3_base_score", "9.0")],
                &[
                    "CVE-2024-0001+base-passwd",
                    "CVE-2021-44228+log4j-core-2.14.1.jar",
                ],
            ),
            (
                &[
                    ("package_type", "all"),
                    ("cvss_v3_exploitability_score_comparison", "<"),
                    ("cvss_v3_exploitability_score", "3"),
                ],
                // Unscored matches count as -1, which is < 3.
                &["CVE-2022-0004+lodash", "PYSEC-2018-28+requests-2.19.1"],
            ),
            (
                &[("package_type", "all"), ("cvss_v3_impact_score", "6.0")],
                &["CVE-2021-44228+log4j-core-2.14.1.jar"],
            ),
            (
                &[("package_type", "all"), ("vendor_cvss_v3_base_score", "7")],
                &["CVE-2024-0001+base-passwd"],
            ),
            (
                &[
                    ("package_type", "all"),
                    ("vendor_cvss_v3_impact_score_comparison", ">"),
                    ("vendor_cvss_v3_impact_score", "3.6"),
                ],
                &[],
            ),
            (
                &[
                    ("package_type", "all"),
                    ("vendor_cvss_v3_exploitability_score", "3.9"),
                ],
                &["CVE-2024-0001+base-passwd"],
            ),
            (
                &[
                    ("package_type", "all"),
                    ("package_path_exclude", ".*/test/"),
                ],
                &[
                    "CVE-2024-0001+base-passwd",
                    "CVE-2024-0002+base-passwd",
                    "CVE-2022-0004+lodash",
                    "PYSEC-2018-28+requests-2.19.1",
                ],
            ),
            (
                // OS packages are never excluded by path.
                &[
                    ("package_type", "os"),
                    ("package_path_exclude", "/var/lib/dpkg/.*"),
                ],
                &["CVE-2024-0001+base-passwd", "CVE-2024-0002+base-passwd"],
            ),
        ];
        for (params, expected) in cases {
            assert_eq!(ids(params), *expected, "{params:?}");
        }
    }

    #[test]
    fn remediation_deadlines_count_from_first_detection() {
        let mut s = Scenario::new();
        // CVE-2024-0001 first seen 16 days ago, CVE-2024-0002 14 days ago.
        s.times[0].first_seen = Some(days_ago(16));
        s.times[1].first_seen = Some(days_ago(14));
        let params = [
            ("package_type", "os"),
            ("severity_comparison", ">="),
            ("severity", "high"),
            ("max_days_since_detection", "15"),
        ];
        assert_eq!(ids_in(&params, &s), vec!["CVE-2024-0001+base-passwd"]);
        // Exactly 15 days is "at least 15 days".
        s.times[1].first_seen = Some(days_ago(15));
        assert_eq!(ids_in(&params, &s).len(), 2);
        // A match with no known first-seen time counts as first seen now.
        s.times.clear();
        assert!(ids_in(&params, &s).is_empty());
        let msgs = fired_in(
            "vulnerabilities",
            "package",
            &[
                ("package_type", "os"),
                ("severity", "high"),
                ("max_days_since_creation", "30"),
            ],
            &Scenario::new(),
        );
        assert_eq!(
            msgs,
            vec![
                "CRITICAL Vulnerability found in os package type (deb) - base-passwd-3.6.1 (fixed in: 3.6.2) (first detected 2025-04-22) (CVE-2024-0001 - https://nvd.nist.gov/vuln/detail/CVE-2024-0001)"
            ]
        );
    }

    #[test]
    fn fix_age_only_with_fix_available() {
        let mut s = Scenario::new();
        let params = [
            ("package_type", "all"),
            ("fix_available", "true"),
            ("max_days_since_fix", "21"),
        ];
        assert!(
            ids_in(&params, &s).is_empty(),
            "fixes first seen 20 days ago"
        );
        s.times[0].fix_first_seen = Some(days_ago(30));
        assert_eq!(ids_in(&params, &s), vec!["CVE-2024-0001+base-passwd"]);
        assert_eq!(
            rule_errors(
                "vulnerabilities",
                "package",
                &[("package_type", "all"), ("max_days_since_fix", "3")]
            ),
            vec!["ineffective-rule r.params"]
        );
    }

    #[test]
    fn messages() {
        assert_eq!(
            fired(
                "vulnerabilities",
                "package",
                &[
                    ("package_type", "non-os"),
                    ("severity_comparison", ">="),
                    ("severity", "high"),
                    ("cvss_v3_base_score", "7")
                ]
            ),
            vec![
                "HIGH Vulnerability found in non-os package type (npm) - lodash-4.17.15 (/app/node_modules/lodash/package.json) (fixed in: 4.17.21) (cvss_v3_base_score=7.4) (CVE-2022-0004 - https://nvd.nist.gov/vuln/detail/CVE-2022-0004)",
                "CRITICAL Vulnerability found in non-os package type (java) - log4j-core-2.14.1 (/app/test/lib/log4j-core-2.14.1.jar) (fixed in: 2.15.0) (cvss_v3_base_score=10) (CVE-2021-44228 - https://nvd.nist.gov/vuln/detail/CVE-2021-44228)",
            ]
        );
    }

    #[test]
    fn invalid_params() {
        let cases: Cases<'_> = &[
            (&[], &["missing-param r.params"]),
            (
                &[("package_type", "docker")],
                &["param-wrong-type r.params[0].value"],
            ),
            (
                &[
                    ("package_type", "all"),
                    ("severity", "severe"),
                    ("severity_comparison", "~"),
                ],
                &[
                    "param-wrong-type r.params[1].value",
                    "param-wrong-type r.params[2].value",
                ],
            ),
            (
                &[("package_type", "all"), ("cvss_v3_base_score", "high")],
                &["param-wrong-type r.params[1].value"],
            ),
            (
                &[
                    ("package_type", "all"),
                    ("cvss_v3_base_score_comparison", ">"),
                ],
                &["missing-param r.params[1].value"],
            ),
            (
                &[("package_type", "all"), ("max_days_since_creation", "-3")],
                &["param-wrong-type r.params[1].value"],
            ),
            (
                &[
                    ("package_type", "all"),
                    ("max_days_since_creation", "3"),
                    ("max_days_since_detection", "4"),
                ],
                &["duplicate-param r.params[2]"],
            ),
            (
                &[
                    ("package_type", "all"),
                    ("package_path_exclude", "(?!test)"),
                ],
                &["bad-regex r.params[1].value"],
            ),
            (
                &[("package_type", "all"), ("fix_available", "yes")],
                &["param-wrong-type r.params[1].value"],
            ),
            (
                &[("package_type", "all"), ("score_version", "3")],
                &["unknown-param r.params[1]"],
            ),
        ];
        for (params, expected) in cases {
            assert_eq!(
                rule_errors("vulnerabilities", "package", params),
                *expected,
                "{params:?}"
            );
        }
    }

    #[test]
    fn feed_triggers() {
        let mut s = Scenario::new();
        let stale = |s: &Scenario| {
            fired_in(
                "vulnerabilities",
                "stale_feed_data",
                &[("max_days_since_sync", "2")],
                s,
            )
        };
        assert!(stale(&s).is_empty(), "synced yesterday");
        s.feed_sync = Some(days_ago(3));
        assert_eq!(
            stale(&s),
            vec!["The vulnerability feed is older than 2 days (last synced 2025-05-29)"]
        );
        s.feed_sync = None;
        assert_eq!(
            stale(&s),
            vec!["The vulnerability feed has never been synced"]
        );
        assert_eq!(
            fired_in("vulnerabilities", "vulnerability_data_unavailable", &[], &s),
            vec![
                "Vulnerability data is unavailable for the image's OS packages: the vulnerability feed has never been synced"
            ]
        );
        let mut s = Scenario::new();
        assert!(fired_in("vulnerabilities", "vulnerability_data_unavailable", &[], &s).is_empty());
        s.analysis.distro.as_mut().expect("distro").id = "gentoo".into();
        assert_eq!(
            fired_in("vulnerabilities", "vulnerability_data_unavailable", &[], &s),
            vec![
                "Vulnerability data is unavailable for the image's OS packages: deb packages on gentoo 12 have no vulnerability feed"
            ]
        );
        assert_eq!(
            rule_errors("vulnerabilities", "stale_feed_data", &[]),
            vec!["missing-param r.params"]
        );
    }

    #[test]
    fn blacklist_matches_ids_and_aliases() {
        assert_eq!(
            fired(
                "vulnerabilities",
                "blacklist",
                &[(
                    "vulnerability_ids",
                    "CVE-2023-0003, GHSA-jfh8-c2jp-5v3q,CVE-1999-0001"
                )]
            ),
            vec!["Blacklisted vulnerabilities detected: GHSA-jfh8-c2jp-5v3q"],
            "won't-fix skipped by default"
        );
        assert_eq!(
            fired(
                "vulnerabilities",
                "blacklist",
                &[
                    ("vulnerability_ids", "CVE-2023-0003"),
                    ("vendor_only", "false")
                ]
            ),
            vec!["Blacklisted vulnerabilities detected: CVE-2023-0003"]
        );
        assert!(
            fired(
                "vulnerabilities",
                "blacklist",
                &[("vulnerability_ids", "CVE-1999-0001")]
            )
            .is_empty()
        );
        assert_eq!(
            rule_errors(
                "vulnerabilities",
                "blacklist",
                &[("vulnerability_ids", "a,,b")]
            ),
            vec!["param-wrong-type r.params[0].value"]
        );
    }

    #[test]
    fn count_trigger() {
        let count = |params: &[(&str, &str)]| fired("vulnerabilities", "count", params);
        assert_eq!(
            count(&[("max_count", "3"), ("severity", "high")]),
            vec![
                "4 vulnerability matches with severity >= high exceed the maximum of 3: CVE-2021-44228, CVE-2022-0004, CVE-2024-0001, CVE-2024-0002"
            ]
        );
        assert!(count(&[("max_count", "4"), ("severity", "high")]).is_empty());
        assert_eq!(
            count(&[
                ("max_count", "0"),
                ("severity", "critical"),
                ("package_type", "os")
            ])
            .len(),
            1
        );
        assert!(
            count(&[
                ("max_count", "0"),
                ("severity", "medium"),
                ("severity_comparison", "="),
                ("package_type", "os")
            ])
            .is_empty(),
            "won't fix is not counted"
        );
        assert_eq!(
            rule_errors("vulnerabilities", "count", &[("severity", "high")]),
            vec!["missing-param r.params"]
        );
    }
}
