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
        if image_digest.is_empty() {
            return Err(super::Error::InvalidInput {
                op: OP,
                reason: "empty image digest".into(),
            });
        }
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
                qb.build().execute(&mut *tx).await.map_err(query_err(OP))?;
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
                 resolved_at FROM matches WHERE image_digest = $1",
            )
            .bind(image_digest)
            .fetch_all(pool)
            .await
            .map_err(query_err(OP))?
        });
        // Sorted here, not by ORDER BY: PostgreSQL's collation may order text differently.
        let mut matches: Vec<StoredMatch> = rows
            .into_iter()
            .map(
                |(vuln_id, package_key, first, fix, last, resolved)| StoredMatch {
                    key: MatchKey {
                        vuln_id,
                        package_key,
                    },
                    first_seen: Timestamp::from_unix_millis(first),
                    fix_first_seen: fix.map(Timestamp::from_unix_millis),
                    last_seen: Timestamp::from_unix_millis(last),
                    resolved_at: resolved.map(Timestamp::from_unix_millis),
                },
            )
            .collect();
        matches.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::both_backends;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn seen(vuln: &str, package: &str, fixable: bool) -> ObservedMatch {
        ObservedMatch {
            key: MatchKey::new(vuln, package),
            fixable,
        }
    }

    const IMG: &str = "sha256:1111";

    both_backends! {
        // Regression test for anchore-engine issue #1395 (times reset on every report).
        async fn first_seen_survives_recompute_and_reconnect(db) {
            let store = db.store().await;
            let first = store
                .record_matches(IMG, &[seen("CVE-1", "pkg:deb/debian/openssl@3.0.1", false), seen("CVE-2", "pkg:deb/debian/zlib@1.2", true)], t(1_000))
                .await
                .expect("first");
            assert_eq!(first, vec![
                MatchTimes { first_seen: t(1_000), fix_first_seen: None },
                MatchTimes { first_seen: t(1_000), fix_first_seen: Some(t(1_000)) },
            ]);
            // Recomputed after a feed update: same matches, later time.
            let again = store
                .record_matches(IMG, &[seen("CVE-2", "pkg:deb/debian/zlib@1.2", true), seen("CVE-1", "pkg:deb/debian/openssl@3.0.1", false)], t(2_000))
                .await
                .expect("recompute");
            assert_eq!(again, vec![first[1], first[0]], "input order, unchanged times");

            // The operator restarts.
            store.close().await;
            drop(store);
            let store = db.store().await;
            let after = store
                .record_matches(IMG, &[seen("CVE-1", "pkg:deb/debian/openssl@3.0.1", false), seen("CVE-2", "pkg:deb/debian/zlib@1.2", true), seen("CVE-3", "pkg:deb/debian/zlib@1.2", false)], t(3_000))
                .await
                .expect("after restart");
            assert_eq!(&after[..2], &first[..]);
            assert_eq!(after[2], MatchTimes { first_seen: t(3_000), fix_first_seen: None });
            let stored = store.matches_for(IMG).await.expect("list");
            assert_eq!(stored.len(), 3);
            assert!(stored.iter().all(|m| m.last_seen == t(3_000) && m.resolved_at.is_none()));
        }

        async fn fix_first_seen_is_set_once(db) {
            let store = db.store().await;
            let at = |ms, fixable| {
                let store = store.clone();
                async move {
                    store.record_matches(IMG, &[seen("CVE-9", "pkg:pypi/requests@2.0", fixable)], t(ms)).await.expect("record")[0]
                }
            };
            assert_eq!(at(10, false).await.fix_first_seen, None, "no fix yet");
            assert_eq!(at(20, true).await.fix_first_seen, Some(t(20)), "fix published");
            assert_eq!(at(30, false).await.fix_first_seen, Some(t(20)), "fix withdrawn: kept");
            let last = at(40, true).await;
            assert_eq!((last.first_seen, last.fix_first_seen), (t(10), Some(t(20))));
            // A match reported twice in one batch is one match, fixable if either says so.
            let dup = store
                .record_matches("sha256:2222", &[seen("CVE-9", "p", false), seen("CVE-9", "p", true)], t(50))
                .await
                .expect("dup");
            assert_eq!(dup, vec![MatchTimes { first_seen: t(50), fix_first_seen: Some(t(50)) }; 2]);
        }

        async fn vanished_matches_are_resolved_and_reopen_with_their_times(db) {
            let store = db.store().await;
            store
                .record_matches(IMG, &[seen("CVE-1", "a", true), seen("CVE-2", "b", false)], t(100))
                .await
                .expect("first");
            store.record_matches("sha256:other", &[seen("CVE-2", "b", false)], t(100)).await.expect("other image");
            store.record_matches(IMG, &[seen("CVE-1", "a", true)], t(200)).await.expect("CVE-2 fixed");
            let stored = store.matches_for(IMG).await.expect("list");
            assert_eq!(stored[1].key, MatchKey::new("CVE-2", "b"));
            assert_eq!((stored[1].resolved_at, stored[1].last_seen), (Some(t(200)), t(100)));
            assert_eq!(stored[0].resolved_at, None);
            assert_eq!(store.matches_for("sha256:other").await.expect("other")[0].resolved_at, None);

            // A downgrade brings CVE-2 back: first seen is the original time.
            let back = store
                .record_matches(IMG, &[seen("CVE-1", "a", true), seen("CVE-2", "b", false)], t(300))
                .await
                .expect("reopened");
            assert_eq!(back[1].first_seen, t(100));
            assert!(store.matches_for(IMG).await.expect("list").iter().all(|m| m.resolved_at.is_none()));

            // An empty recomputation resolves everything, and keeps it.
            assert!(store.record_matches(IMG, &[], t(400)).await.expect("empty").is_empty());
            let stored = store.matches_for(IMG).await.expect("list");
            assert_eq!(stored.iter().map(|m| m.resolved_at).collect::<Vec<_>>(), vec![Some(t(400)); 2]);
        }
    }
}
