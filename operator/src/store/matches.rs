//! When each (image, vulnerability, package) match was first seen, and when a fix for it was
//! first seen.
//!
//! Users build SLAs on these times ("critical fixable for more than 7 days"), so they must not
//! move: `first_seen_at` is set by the first [`Store::record_matches`] that reports the match
//! and never changes again, whether the matches are recomputed after a feed update, the
//! operator restarts or the match disappears and comes back. `fix_first_seen_at` is set the
//! first time the match is reported fixable and is kept even if the fix later vanishes from
//! the feed. Anchore recomputes both on every report (anchore-engine issue #1395); that is
//! the bug this table exists to avoid.
//!
//! A match missing from a recomputation is not deleted: it gets `resolved_at`, and it is
//! reopened (keeping its first-seen times) if it comes back.

use super::{MAX_PARAMS, Result, Store, Timestamp, builder, query_err, with_pool};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A match within one image: a vulnerability and the caller's stable key for the package
/// instance (e.g. its purl plus location), so two copies of a library are two matches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MatchKey {
    pub vuln_id: String,
    pub package_key: String,
}

impl MatchKey {
    pub fn new(vuln_id: impl Into<String>, package_key: impl Into<String>) -> Self {
        Self {
            vuln_id: vuln_id.into(),
            package_key: package_key.into(),
        }
    }
}

/// One match of a recomputation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedMatch {
    pub key: MatchKey,
    /// The feed names a fixed version for this package.
    pub fixable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchTimes {
    pub first_seen: Timestamp,
    pub fix_first_seen: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMatch {
    pub key: MatchKey,
    pub first_seen: Timestamp,
    pub fix_first_seen: Option<Timestamp>,
    pub last_seen: Timestamp,
    /// Set while the match is absent from the latest recomputation.
    pub resolved_at: Option<Timestamp>,
}

impl Store {
    /// Records the complete current match set of an image and returns each match's times, in
    /// the order of `observed`. Open matches of the image missing from `observed` are marked
    /// resolved at `now`. One transaction.
    pub async fn record_matches(
        &self,
        image_digest: &str,
        observed: &[ObservedMatch],
        now: Timestamp,
    ) -> Result<Vec<MatchTimes>> {
        const OP: &str = "record_matches";
        // A match reported twice is one match, fixable if either says so (and PostgreSQL
        // refuses to upsert the same row twice in one statement).
        let mut unique: BTreeMap<&MatchKey, bool> = BTreeMap::new();
        for m in observed {
            *unique.entry(&m.key).or_insert(false) |= m.fixable;
        }
        let unique: Vec<(&MatchKey, bool)> = unique.into_iter().collect();
        let now_ms = now.unix_millis();

        let times: HashMap<(String, String), MatchTimes> = with_pool!(self, |pool, d| {
            let mut tx = pool
                .begin_with(d.begin_write())
                .await
                .map_err(query_err(OP))?;
            let mut times = HashMap::with_capacity(unique.len());
            for chunk in unique.chunks(MAX_PARAMS / 6) {
                let mut qb = builder(
                    pool,
                    "INSERT INTO matches (image_digest, vuln_id, package_key, first_seen_at, \
                     fix_first_seen_at, last_seen_at) ",
                );
                qb.push_values(chunk, |mut row, (key, fixable)| {
                    row.push_bind(image_digest)
                        .push_bind(key.vuln_id.as_str())
                        .push_bind(key.package_key.as_str())
                        .push_bind(now_ms)
                        .push_bind(fixable.then_some(now_ms))
                        .push_bind(now_ms);
                });
                qb.push(
                    " ON CONFLICT (image_digest, vuln_id, package_key) DO UPDATE SET \
                     fix_first_seen_at = \
                     COALESCE(matches.fix_first_seen_at, excluded.fix_first_seen_at), \
                     last_seen_at = excluded.last_seen_at, resolved_at = NULL \
                     RETURNING vuln_id, package_key, first_seen_at, fix_first_seen_at",
                );
                let rows: Vec<(String, String, i64, Option<i64>)> = qb
                    .build_query_as()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(query_err(OP))?;
                for (vuln_id, package_key, first, fix) in rows {
                    times.insert(
                        (vuln_id, package_key),
                        MatchTimes {
                            first_seen: Timestamp::from_unix_millis(first),
                            fix_first_seen: fix.map(Timestamp::from_unix_millis),
                        },
                    );
                }
            }

            let open: Vec<(String, String)> = sqlx::query_as(
                "SELECT vuln_id, package_key FROM matches \
                 WHERE image_digest = $1 AND resolved_at IS NULL",
            )
            .bind(image_digest)
            .fetch_all(&mut *tx)
            .await
            .map_err(query_err(OP))?;
            let seen: BTreeSet<(&str, &str)> = unique
                .iter()
                .map(|(k, _)| (k.vuln_id.as_str(), k.package_key.as_str()))
                .collect();
            let gone: Vec<&(String, String)> = open
                .iter()
                .filter(|(v, p)| !seen.contains(&(v.as_str(), p.as_str())))
                .collect();
            for chunk in gone.chunks(MAX_PARAMS / 2 - 1) {
                let mut qb = builder(pool, "UPDATE matches SET resolved_at = ");
                qb.push_bind(now_ms)
                    .push(" WHERE image_digest = ")
                    .push_bind(image_digest)
                    .push(" AND resolved_at IS NULL AND (vuln_id, package_key) IN (");
                qb.push_values(chunk, |mut row, (v, p)| {
                    row.push_bind(v.as_str()).push_bind(p.as_str());
                });
                qb.push(")");
                qb.build()
                    .execute(&mut *tx)
                    .await
                    .map_err(query_err(OP))?;
            }
            tx.commit().await.map_err(query_err(OP))?;
            times
        });

        observed
            .iter()
            .map(|m| {
                times
                    .get(&(m.key.vuln_id.clone(), m.key.package_key.clone()))
                    .copied()
                    .ok_or_else(|| super::Error::Decode {
                        op: OP,
                        what: "upsert result",
                        source: "a recorded match was not returned".into(),
                    })
            })
            .collect()
    }

    /// Every match ever recorded for the image, open and resolved, sorted by key.
    pub async fn matches_for(&self, image_digest: &str) -> Result<Vec<StoredMatch>> {
        const OP: &str = "matches_for";
        type Row = (String, String, i64, Option<i64>, i64, Option<i64>);
        let rows: Vec<Row> = with_pool!(self, |pool, _d| {
            sqlx::query_as(
                "SELECT vuln_id, package_key, first_seen_at, fix_first_seen_at, last_seen_at, \
                 resolved_at FROM matches WHERE image_digest = $1 \
                 ORDER BY vuln_id, package_key",
            )
            .bind(image_digest)
            .fetch_all(pool)
            .await
            .map_err(query_err(OP))?
        });
        Ok(rows
            .into_iter()
            .map(|(vuln_id, package_key, first, fix, last, resolved)| StoredMatch {
                key: MatchKey {
                    vuln_id,
                    package_key,
                },
                first_seen: Timestamp::from_unix_millis(first),
                fix_first_seen: fix.map(Timestamp::from_unix_millis),
                last_seen: Timestamp::from_unix_millis(last),
                resolved_at: resolved.map(Timestamp::from_unix_millis),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
}
