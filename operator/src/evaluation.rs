//! One image judged against the store: match its stored analysis against the feeds (recording
//! first-seen times), evaluate a bundle, and count what was found. Shared by `plimsoll scan` /
//! `evaluate` and the operator, so a CI pipeline and a cluster give the same verdict.
//!
//! Traps:
//! - An empty store is a warning, not an error: vulnerability gates then see no matches, and
//!   `vulnerability_data_unavailable` fires (the feed sync time is `None`).
//! - The feed sync time handed to `stale_feed_data` is the OLDEST last successful sync among
//!   the sources holding records: one stale source makes the data stale.

use crate::crd::image_scan::VulnerabilityCounts;
use crate::matcher::{FixState, Match};
use crate::policy::{self, EvalInput, ImageRef, MatchTimes, ValidBundle, Verdict};
use crate::severity::Severity;
use crate::store::{self, Store, Timestamp};
use chrono::{DateTime, Utc};
use plimsoll_analyzer::model::Analysis;

/// What judging one image gives.
#[derive(Debug, Clone)]
pub struct Judged {
    pub verdict: Verdict,
    pub matches: Vec<Match>,
    pub counts: VulnerabilityCounts,
    /// The oldest last successful sync among the feed sources holding records.
    pub feeds_synced_at: Option<Timestamp>,
    /// Things the caller should tell the user (no feed data).
    pub warnings: Vec<String>,
}

/// Stores the analysis (a no-op when the same document is stored), matches it and records the
/// matches' times, then evaluates.
pub async fn judge(
    store: &Store,
    bundle: &ValidBundle,
    analysis: &Analysis,
    now: Timestamp,
) -> store::Result<Judged> {
    let refs = crate::vulns::package_refs(analysis);
    store.put_analysis(analysis, &refs, now).await?;
    judge_stored(store, bundle, analysis, &refs, now).await
}

/// [`judge`] for an analysis already in the store (the operator's case); `refs` are its
/// [`crate::vulns::package_refs`].
pub async fn judge_stored(
    store: &Store,
    bundle: &ValidBundle,
    analysis: &Analysis,
    refs: &[crate::store::PackageRef],
    now: Timestamp,
) -> store::Result<Judged> {
    let mut warnings = Vec::new();
    let feeds_synced_at = feeds_synced_at(store).await?;
    if feeds_synced_at.is_none() {
        warnings.push(
            "no feed data: run `plimsoll feeds sync`; vulnerability gates see no matches"
                .to_owned(),
        );
    }
    let report = crate::vulns::match_and_record(store, analysis, refs, now).await?;
    let times: Vec<MatchTimes> = report
        .matches
        .iter()
        .map(|m| MatchTimes {
            first_seen: Some(chrono_time(m.first_seen)),
            fix_first_seen: m.fix_first_seen.map(chrono_time),
        })
        .collect();
    let matches: Vec<Match> = report.matches.into_iter().map(|m| m.found).collect();
    let image = ImageRef::from_analysis(analysis);
    let input = EvalInput {
        analysis,
        matches: &matches,
        match_times: &times,
        feed_sync: feeds_synced_at.map(chrono_time),
        image: &image,
        now: chrono_time(now),
    };
    let verdict = policy::evaluate(bundle, &input);
    let counts = count(&matches);
    Ok(Judged {
        verdict,
        matches,
        counts,
        feeds_synced_at,
        warnings,
    })
}

/// The oldest last successful sync among the sources holding records; `None` without data.
pub async fn feeds_synced_at(store: &Store) -> store::Result<Option<Timestamp>> {
    let sources = store.feed_sources().await?;
    Ok(sources
        .iter()
        .filter(|s| s.record_count > 0)
        .filter_map(|s| s.last_success_at)
        .min())
}

/// Matches by severity, and those with a fix.
pub fn count(matches: &[Match]) -> VulnerabilityCounts {
    let mut c = VulnerabilityCounts::default();
    for m in matches {
        let slot = match m.severity {
            Severity::Critical => &mut c.critical,
            Severity::High => &mut c.high,
            Severity::Medium => &mut c.medium,
            Severity::Low => &mut c.low,
            Severity::Negligible => &mut c.negligible,
            Severity::Unknown => &mut c.unknown,
        };
        *slot = slot.saturating_add(1);
        if m.fix_state == FixState::Fixed {
            c.fixable = c.fixable.saturating_add(1);
        }
    }
    c
}

/// A store time as a chrono time (out-of-range times become the epoch).
pub fn chrono_time(t: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.unix_millis()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// Two rustls crypto providers in the dependency graph (sqlx, kube and reqwest each pick
    /// one) make the first TLS client panic at run time: keep it to one.
    #[test]
    fn one_tls_crypto_provider() {
        let client = reqwest::Client::builder().build();
        assert!(client.is_ok(), "{client:?}");
    }
}
