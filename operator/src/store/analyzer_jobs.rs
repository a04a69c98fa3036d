//! Analyzer Jobs and their upload tokens: what each Job resolved and how it ended.
//!
//! The operator writes a row before it creates the Job (so a token is never in the cluster
//! without the operator knowing it), the ingest API finds the row by the token's hash, and the
//! ImageScan controller reads the outcome by (namespace, Job name) — also after a restart.
//!
//! Traps:
//! - Only the token's SHA-256 is stored; the token lives in the Job's Secret.
//! - A token serves one Job and one upload: [`Store::finish_analyzer_job`] sets the outcome only
//!   while none is set, and records the upload's hash so that a retried upload (same body) is
//!   recognised and a different one is refused.

use super::{Result, Store, Timestamp, query_err, with_pool};

/// How an analyzer Job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// It uploaded an analysis.
    Analyzed,
    /// The digest was already analyzed: nothing uploaded.
    Skipped,
    /// It could not analyze the image; `reason` says why.
    Failed,
}

impl JobOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Analyzed => "analyzed",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "analyzed" => Some(Self::Analyzed),
            "skipped" => Some(Self::Skipped),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One analyzer Job as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzerJob {
    pub namespace: String,
    pub job_name: String,
    pub reference: String,
    /// Analyze even when the digest is already stored (a requested rescan).
    pub force: bool,
    pub created_at: Timestamp,
    /// The digest the Job resolved, once it said.
    pub digest: Option<String>,
    /// `None` while it runs.
    pub outcome: Option<JobOutcome>,
    pub reason: Option<String>,
    pub message: Option<String>,
    /// SHA-256 of the upload body that was stored.
    pub upload_sha256: Option<String>,
    pub finished_at: Option<Timestamp>,
}

/// How a Job ended, to record.
#[derive(Debug, Clone, Copy)]
pub struct Finish<'a> {
    pub outcome: JobOutcome,
    pub digest: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub message: Option<&'a str>,
    pub upload_sha256: Option<&'a str>,
}

type Row = (
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

const COLUMNS: &str = "namespace, job_name, reference, force, created_at, digest, outcome, reason, \
                       message, upload_sha256, finished_at";

fn decode(r: Row) -> AnalyzerJob {
    AnalyzerJob {
        namespace: r.0,
        job_name: r.1,
        reference: r.2,
        force: r.3 != 0,
        created_at: Timestamp::from_unix_millis(r.4),
        digest: r.5,
        // An unknown word (a newer operator's) reads as "still running": the scan waits
        // rather than reporting something it cannot interpret.
        outcome: r.6.as_deref().and_then(JobOutcome::parse),
        reason: r.7,
        message: r.8,
        upload_sha256: r.9,
        finished_at: r.10.map(Timestamp::from_unix_millis),
    }
}

impl Store {
    /// Registers a Job about to be created with the hash of its token. Registering the same
    /// (namespace, name) again replaces the row (the Job is being recreated with a new token).
    pub async fn register_analyzer_job(
        &self,
        namespace: &str,
        job_name: &str,
        token_hash: &str,
        reference: &str,
        force: bool,
        now: Timestamp,
    ) -> Result<()> {
        const OP: &str = "register_analyzer_job";
        with_pool!(self, |pool, _d| {
            sqlx::query(
                "INSERT INTO analyzer_jobs \
                 (namespace, job_name, token_hash, reference, force, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (namespace, job_name) DO UPDATE SET token_hash = excluded.token_hash, \
                 reference = excluded.reference, force = excluded.force, created_at = excluded.created_at, digest = NULL, \
                 outcome = NULL, reason = NULL, message = NULL, upload_sha256 = NULL, \
                 finished_at = NULL",
            )
            .bind(namespace)
            .bind(job_name)
            .bind(token_hash)
            .bind(reference)
            .bind(i64::from(force))
            .bind(now.unix_millis())
            .execute(pool)
            .await
            .map_err(query_err(OP))?;
        });
        Ok(())
    }

    /// The Job a token was issued to.
    pub async fn analyzer_job_by_token(&self, token_hash: &str) -> Result<Option<AnalyzerJob>> {
        const OP: &str = "analyzer_job_by_token";
        let sql = format!("SELECT {COLUMNS} FROM analyzer_jobs WHERE token_hash = $1");
        let row: Option<Row> = with_pool!(self, |pool, _d| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(token_hash)
                .fetch_optional(pool)
                .await
                .map_err(query_err(OP))?
        });
        Ok(row.map(decode))
    }

    pub async fn analyzer_job(
        &self,
        namespace: &str,
        job_name: &str,
    ) -> Result<Option<AnalyzerJob>> {
        const OP: &str = "analyzer_job";
        let sql =
            format!("SELECT {COLUMNS} FROM analyzer_jobs WHERE namespace = $1 AND job_name = $2");
        let row: Option<Row> = with_pool!(self, |pool, _d| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(namespace)
                .bind(job_name)
                .fetch_optional(pool)
                .await
                .map_err(query_err(OP))?
        });
        Ok(row.map(decode))
    }

    /// Records the digest a running Job resolved (from its check).
    pub async fn analyzer_job_resolved(
        &self,
        namespace: &str,
        job_name: &str,
        digest: &str,
    ) -> Result<()> {
        const OP: &str = "analyzer_job_resolved";
        with_pool!(self, |pool, _d| {
            sqlx::query(
                "UPDATE analyzer_jobs SET digest = $3 \
                 WHERE namespace = $1 AND job_name = $2 AND outcome IS NULL",
            )
            .bind(namespace)
            .bind(job_name)
            .bind(digest)
            .execute(pool)
            .await
            .map_err(query_err(OP))?;
        });
        Ok(())
    }

    /// Sets how the Job ended, once: returns false when an outcome was already recorded (the
    /// caller compares it to decide between an idempotent retry and a reused token).
    pub async fn finish_analyzer_job(
        &self,
        namespace: &str,
        job_name: &str,
        f: &Finish<'_>,
        now: Timestamp,
    ) -> Result<bool> {
        const OP: &str = "finish_analyzer_job";
        let n = with_pool!(self, |pool, _d| {
            sqlx::query(
                "UPDATE analyzer_jobs SET outcome = $3, digest = COALESCE($4, digest), \
                 reason = $5, message = $6, upload_sha256 = $7, finished_at = $8 \
                 WHERE namespace = $1 AND job_name = $2 AND outcome IS NULL",
            )
            .bind(namespace)
            .bind(job_name)
            .bind(f.outcome.as_str())
            .bind(f.digest)
            .bind(f.reason)
            .bind(f.message.map(super::feed_sources::truncate_error))
            .bind(f.upload_sha256)
            .bind(now.unix_millis())
            .execute(pool)
            .await
            .map_err(query_err(OP))?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Forgets Jobs that finished before `before` (their results are in the scans' statuses
    /// and the analyses table).
    pub async fn prune_analyzer_jobs(&self, before: Timestamp) -> Result<u64> {
        const OP: &str = "prune_analyzer_jobs";
        Ok(with_pool!(self, |pool, _d| {
            sqlx::query(
                "DELETE FROM analyzer_jobs WHERE finished_at IS NOT NULL AND finished_at < $1",
            )
            .bind(before.unix_millis())
            .execute(pool)
            .await
            .map_err(query_err(OP))?
            .rows_affected()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::both_backends;

    const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

    both_backends! {
        async fn a_token_finds_its_job_and_finishes_once(db) {
            let store = db.store().await;
            store.register_analyzer_job("ns", "job-a", "hash-a", "reg/app:1", false, T0).await.expect("register");
            let job = store.analyzer_job_by_token("hash-a").await.expect("query").expect("found");
            assert_eq!((job.namespace.as_str(), job.job_name.as_str()), ("ns", "job-a"));
            assert_eq!(job.outcome, None);
            assert!(store.analyzer_job_by_token("hash-b").await.expect("query").is_none());

            store.analyzer_job_resolved("ns", "job-a", "sha256:aa").await.expect("resolved");
            let done = Finish {
                outcome: JobOutcome::Analyzed,
                digest: None,
                reason: None,
                message: None,
                upload_sha256: Some("body1"),
            };
            assert!(store.finish_analyzer_job("ns", "job-a", &done, T0.plus(std::time::Duration::from_secs(5))).await.expect("finish"));
            let again = Finish { upload_sha256: Some("body2"), ..done };
            assert!(!store.finish_analyzer_job("ns", "job-a", &again, T0).await.expect("finish"), "only once");
            let job = store.analyzer_job("ns", "job-a").await.expect("query").expect("found");
            assert_eq!(job.outcome, Some(JobOutcome::Analyzed));
            assert_eq!(job.digest.as_deref(), Some("sha256:aa"), "kept from the check");
            assert_eq!(job.upload_sha256.as_deref(), Some("body1"));
            // A resolved digest never overwrites a finished Job's.
            store.analyzer_job_resolved("ns", "job-a", "sha256:bb").await.expect("resolved");
            let job = store.analyzer_job("ns", "job-a").await.expect("query").expect("found");
            assert_eq!(job.digest.as_deref(), Some("sha256:aa"));

            // Re-registering (the Job is recreated) issues a new token and clears the outcome.
            store.register_analyzer_job("ns", "job-a", "hash-c", "reg/app:1", false, T0).await.expect("register");
            assert!(store.analyzer_job_by_token("hash-a").await.expect("query").is_none());
            let job = store.analyzer_job("ns", "job-a").await.expect("query").expect("found");
            assert_eq!((job.outcome, job.digest), (None, None));

            let failed = Finish {
                outcome: JobOutcome::Failed,
                digest: None,
                reason: Some("ImageNotFound"),
                message: Some("manifest unknown"),
                upload_sha256: None,
            };
            assert!(store.finish_analyzer_job("ns", "job-a", &failed, T0).await.expect("finish"));
            assert_eq!(store.prune_analyzer_jobs(T0).await.expect("prune"), 0, "not before T0");
            assert_eq!(store.prune_analyzer_jobs(T0.plus(std::time::Duration::from_secs(1))).await.expect("prune"), 1);
            assert!(store.analyzer_job("ns", "job-a").await.expect("query").is_none());
        }
    }
}
