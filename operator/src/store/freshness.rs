//! What keeps verdicts fresh: each image's last reported vulnerability list (a snapshot that a
//! feed change is diffed against), named cursors of background work, and the hash of the
//! CronJobs' token (so every replica can check their requests).
//!
//! Traps:
//! - The snapshot is written only after the notifications its change causes are queued, so a
//!   crash in between re-diffs against the old snapshot and queues the same (idempotent)
//!   notifications again instead of losing them.
//! - `changed_at` moves only when the snapshot's content changes: an ImageScan evaluated after
//!   it needs no new evaluation.

use super::{Error, Result, Store, Timestamp, query_err, with_pool};

/// An image's last reported vulnerability list and when it last changed.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnSnapshot {
    pub snapshot: serde_json::Value,
    pub changed_at: Timestamp,
}

impl Store {
    pub async fn vuln_snapshot(&self, image_digest: &str) -> Result<Option<VulnSnapshot>> {
        const OP: &str = "vuln_snapshot";
        let row: Option<(String, i64)> = with_pool!(self, |pool, _d| {
            sqlx::query_as(
                "SELECT snapshot, changed_at FROM vuln_snapshots WHERE image_digest = $1",
            )
            .bind(image_digest)
            .fetch_optional(pool)
            .await
            .map_err(query_err(OP))?
        });
        row.map(|(json, at)| {
            Ok(VulnSnapshot {
                snapshot: serde_json::from_str(&json)
                    .map_err(|e| Error::decode(OP, "snapshot JSON", e))?,
                changed_at: Timestamp::from_unix_millis(at),
            })
        })
        .transpose()
    }

    /// Stores the image's snapshot; `changed_at` becomes `now` only if the content differs
    /// from what is stored. Returns whether it changed.
    pub async fn put_vuln_snapshot(
        &self,
        image_digest: &str,
        snapshot: &serde_json::Value,
        now: Timestamp,
    ) -> Result<bool> {
        const OP: &str = "put_vuln_snapshot";
        if image_digest.is_empty() {
            return Err(Error::InvalidInput {
                op: OP,
                reason: "empty image digest".into(),
            });
        }
        let json =
            serde_json::to_string(snapshot).map_err(|e| Error::encode(OP, "snapshot JSON", e))?;
        let n = with_pool!(self, |pool, _d| {
            sqlx::query(
                "INSERT INTO vuln_snapshots (image_digest, snapshot, changed_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (image_digest) DO UPDATE SET snapshot = excluded.snapshot, \
                 changed_at = excluded.changed_at \
                 WHERE vuln_snapshots.snapshot <> excluded.snapshot",
            )
            .bind(image_digest)
            .bind(json)
            .bind(now.unix_millis())
            .execute(pool)
            .await
            .map_err(query_err(OP))?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// When the image's snapshot last changed, without reading it.
    pub async fn vulns_changed_at(&self, image_digest: &str) -> Result<Option<Timestamp>> {
        const OP: &str = "vulns_changed_at";
        let at: Option<i64> = with_pool!(self, |pool, _d| {
            sqlx::query_scalar("SELECT changed_at FROM vuln_snapshots WHERE image_digest = $1")
                .bind(image_digest)
                .fetch_optional(pool)
                .await
                .map_err(query_err(OP))?
        });
        Ok(at.map(Timestamp::from_unix_millis))
    }

    pub async fn cursor(&self, name: &str) -> Result<Option<i64>> {
        const OP: &str = "cursor";
        Ok(with_pool!(self, |pool, _d| {
            sqlx::query_scalar("SELECT value FROM cursors WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
                .map_err(query_err(OP))?
        }))
    }

    pub async fn set_cursor(&self, name: &str, value: i64) -> Result<()> {
        const OP: &str = "set_cursor";
        with_pool!(self, |pool, _d| {
            sqlx::query(
                "INSERT INTO cursors (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(name)
            .bind(value)
            .execute(pool)
            .await
            .map_err(query_err(OP))?;
        });
        Ok(())
    }

    /// Records the SHA-256 (hex) of the token named `name`, replacing the previous one.
    pub async fn set_service_token(&self, name: &str, sha256: &str) -> Result<()> {
        const OP: &str = "set_service_token";
        with_pool!(self, |pool, _d| {
            sqlx::query(
                "INSERT INTO service_tokens (name, sha256) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256",
            )
            .bind(name)
            .bind(sha256)
            .execute(pool)
            .await
            .map_err(query_err(OP))?;
        });
        Ok(())
    }

    pub async fn service_token(&self, name: &str) -> Result<Option<String>> {
        const OP: &str = "service_token";
        Ok(with_pool!(self, |pool, _d| {
            sqlx::query_scalar("SELECT sha256 FROM service_tokens WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
                .map_err(query_err(OP))?
        }))
    }

    /// The time of the latest recorded feed change (any package), if any.
    pub async fn latest_feed_change(&self) -> Result<Option<Timestamp>> {
        const OP: &str = "latest_feed_change";
        let at: Option<i64> = with_pool!(self, |pool, _d| {
            sqlx::query_scalar("SELECT MAX(changed_at) FROM package_changes")
                .fetch_one(pool)
                .await
                .map_err(query_err(OP))?
        });
        Ok(at.map(Timestamp::from_unix_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::both_backends;

    both_backends! {
        async fn snapshot_moves_only_when_content_changes(db) {
            let store = db.store().await;
            let d = "sha256:img";
            assert!(store.vuln_snapshot(d).await.expect("read").is_none());
            let a = serde_json::json!([{"vulnId": "CVE-1", "severity": "High"}]);
            let b = serde_json::json!([{"vulnId": "CVE-1", "severity": "Critical"}]);
            let t = Timestamp::from_unix_millis;
            assert!(store.put_vuln_snapshot(d, &a, t(100)).await.expect("put"));
            assert!(!store.put_vuln_snapshot(d, &a, t(200)).await.expect("same"));
            assert_eq!(store.vulns_changed_at(d).await.expect("at"), Some(t(100)));
            assert!(store.put_vuln_snapshot(d, &b, t(300)).await.expect("changed"));
            let s = store.vuln_snapshot(d).await.expect("read").expect("some");
            assert_eq!((s.snapshot, s.changed_at), (b, t(300)));
            assert!(store.put_vuln_snapshot("", &a, t(1)).await.is_err());
        }

        async fn cursors_are_named_high_water_marks(db) {
            let store = db.store().await;
            assert_eq!(store.cursor("feed_changes").await.expect("read"), None);
            store.set_cursor("feed_changes", 5).await.expect("set");
            store.set_cursor("feed_changes", 9).await.expect("set");
            store.set_cursor("watch_epoch", 1).await.expect("set");
            assert_eq!(store.cursor("feed_changes").await.expect("read"), Some(9));
            assert_eq!(store.cursor("watch_epoch").await.expect("read"), Some(1));
            assert_eq!(store.latest_feed_change().await.expect("none"), None);
            assert_eq!(store.service_token("cronjobs").await.expect("read"), None);
            store.set_service_token("cronjobs", "aa").await.expect("set");
            store.set_service_token("cronjobs", "bb").await.expect("replace");
            assert_eq!(store.service_token("cronjobs").await.expect("read").as_deref(), Some("bb"));
        }
    }
}
