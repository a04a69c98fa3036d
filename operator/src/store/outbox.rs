//! The notification outbox: a notification is written here in the same breath as the event
//! that causes it, then delivered with retries, so a crash or a sink outage delays it instead
//! of dropping it (Anchore dropped webhooks silently).
//!
//! Life of an entry: [`Store::enqueue`] (idempotent by key: the same event enqueued twice, by a
//! retried reconcile or two replicas, is one notification) -> [`Store::due`] ->
//! [`Store::mark_delivered`], or [`Store::mark_failed`] with the next attempt time (the caller
//! owns the backoff), or [`Store::mark_dead`] when it gives up. Each `mark_*` counts one
//! delivery attempt and only applies to an entry that is still pending.
//!
//! Trap: with several replicas, only the leader delivers (leader election), so `due` does not
//! claim rows; two deliverers would need `FOR UPDATE SKIP LOCKED` on PostgreSQL.

use super::feed_sources::truncate_error;
use super::{Error, Result, Store, Timestamp, query_err, with_pool};

#[derive(Debug, Clone, Copy)]
pub struct NewNotification<'a> {
    /// Identifies the event and the sink, e.g. `vuln_update/sha256:…/CVE-…/webhook:ns/name`.
    pub idempotency_key: &'a str,
    pub sink: &'a str,
    pub payload: &'a serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub id: i64,
    /// False when an entry with this key already existed (it is left unchanged).
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub id: i64,
    pub idempotency_key: String,
    pub sink: String,
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub dead_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

type Row = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

fn decode(op: &'static str, r: Row) -> Result<OutboxEntry> {
    Ok(OutboxEntry {
        id: r.0,
        idempotency_key: r.1,
        sink: r.2,
        payload: serde_json::from_str(&r.3).map_err(|e| Error::decode(op, "payload JSON", e))?,
        created_at: Timestamp::from_unix_millis(r.4),
        attempts: u32::try_from(r.5).unwrap_or(u32::MAX),
        next_attempt_at: Timestamp::from_unix_millis(r.6),
        delivered_at: r.7.map(Timestamp::from_unix_millis),
        dead_at: r.8.map(Timestamp::from_unix_millis),
        last_error: r.9,
    })
}

impl Store {
    /// Queues a notification, due at `now`. Enqueuing an existing key returns that entry's id
    /// and changes nothing.
    pub async fn enqueue(&self, n: &NewNotification<'_>, now: Timestamp) -> Result<Enqueued> {
        const OP: &str = "enqueue";
        if n.idempotency_key.is_empty() {
            return Err(Error::InvalidInput {
                op: OP,
                reason: "empty idempotency key".into(),
            });
        }
        let payload =
            serde_json::to_string(n.payload).map_err(|e| Error::encode(OP, "payload JSON", e))?;
        with_pool!(self, |pool, _d| {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO outbox (idempotency_key, sink, payload, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (idempotency_key) DO NOTHING \
                 RETURNING id",
            )
            .bind(n.idempotency_key)
            .bind(n.sink)
            .bind(payload)
            .bind(now.unix_millis())
            .fetch_optional(pool)
            .await
            .map_err(query_err(OP))?;
            if let Some(id) = id {
                return Ok(Enqueued { id, created: true });
            }
            let id: i64 = sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
                .bind(n.idempotency_key)
                .fetch_one(pool)
                .await
                .map_err(query_err(OP))?;
            Ok(Enqueued { id, created: false })
        })
    }

    /// Pending entries whose next attempt is at or before `now`, oldest due first.
    pub async fn due(&self, now: Timestamp, limit: u32) -> Result<Vec<OutboxEntry>> {
        const OP: &str = "due";
        let rows: Vec<Row> = with_pool!(self, |pool, _d| {
            sqlx::query_as(
                "SELECT id, idempotency_key, sink, payload, created_at, attempts, \
                 next_attempt_at, delivered_at, dead_at, last_error FROM outbox \
                 WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT $2",
            )
            .bind(now.unix_millis())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(query_err(OP))?
        });
        rows.into_iter().map(|r| decode(OP, r)).collect()
    }

    pub async fn outbox_entry(&self, id: i64) -> Result<Option<OutboxEntry>> {
        const OP: &str = "outbox_entry";
        let row: Option<Row> = with_pool!(self, |pool, _d| {
            sqlx::query_as(
                "SELECT id, idempotency_key, sink, payload, created_at, attempts, \
                 next_attempt_at, delivered_at, dead_at, last_error FROM outbox WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(query_err(OP))?
        });
        row.map(|r| decode(OP, r)).transpose()
    }

    /// Returns false if the entry is unknown, delivered or dead.
    pub async fn mark_delivered(&self, id: i64, now: Timestamp) -> Result<bool> {
        const OP: &str = "mark_delivered";
        let n = with_pool!(self, |pool, _d| {
            sqlx::query(
                "UPDATE outbox SET delivered_at = $2, attempts = attempts + 1, last_error = NULL \
                 WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL",
            )
            .bind(id)
            .bind(now.unix_millis())
            .execute(pool)
            .await
            .map_err(query_err(OP))?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Records a failed attempt and when to try again. `error` must not hold secrets.
    pub async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: Timestamp,
    ) -> Result<bool> {
        const OP: &str = "mark_failed";
        let error = truncate_error(error);
        let n = with_pool!(self, |pool, _d| {
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $2, attempts = attempts + 1, last_error = $3 \
                 WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL",
            )
            .bind(id)
            .bind(next_attempt_at.unix_millis())
            .bind(error.as_str())
            .execute(pool)
            .await
            .map_err(query_err(OP))?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Gives up on the entry after a last failed attempt. `error` must not hold secrets.
    pub async fn mark_dead(&self, id: i64, error: &str, now: Timestamp) -> Result<bool> {
        const OP: &str = "mark_dead";
        let error = truncate_error(error);
        let n = with_pool!(self, |pool, _d| {
            sqlx::query(
                "UPDATE outbox SET dead_at = $2, attempts = attempts + 1, last_error = $3 \
                 WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL",
            )
            .bind(id)
            .bind(now.unix_millis())
            .bind(error.as_str())
            .execute(pool)
            .await
            .map_err(query_err(OP))?
            .rows_affected()
        });
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::both_backends;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    both_backends! {
        async fn enqueue_is_idempotent_by_key(db) {
            let store = db.store().await;
            let first = serde_json::json!({"event": "vuln_update", "n": 1});
            let n = NewNotification { idempotency_key: "vuln_update/sha256:a/CVE-1/webhook:ns/hook", sink: "webhook:ns/hook", payload: &first };
            let a = store.enqueue(&n, t(10)).await.expect("enqueue");
            assert!(a.created);
            let second = serde_json::json!({"event": "vuln_update", "n": 2});
            let b = store.enqueue(&NewNotification { payload: &second, ..n }, t(20)).await.expect("again");
            assert_eq!(b, Enqueued { id: a.id, created: false });
            let entry = store.outbox_entry(a.id).await.expect("get").expect("exists");
            assert_eq!((&entry.payload, entry.created_at, entry.attempts), (&first, t(10), 0));
            let err = store.enqueue(&NewNotification { idempotency_key: "", ..n }, t(1)).await.expect_err("empty key");
            assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
        }

        async fn due_orders_by_next_attempt_and_marks_apply_once(db) {
            let store = db.store().await;
            let payload = serde_json::json!({});
            let mut ids = std::collections::HashMap::new();
            for (key, at) in [("k1", 10), ("k2", 5), ("k3", 20)] {
                let n = NewNotification { idempotency_key: key, sink: "slack:ns/s", payload: &payload };
                ids.insert(key, store.enqueue(&n, t(at)).await.expect("enqueue").id);
            }
            let keys = |entries: Vec<OutboxEntry>| entries.into_iter().map(|e| e.idempotency_key).collect::<Vec<_>>();
            assert_eq!(keys(store.due(t(15), 10).await.expect("due")), vec!["k2", "k1"]);
            assert_eq!(keys(store.due(t(15), 1).await.expect("due")), vec!["k2"]);

            assert!(store.mark_failed(ids["k2"], "HTTP 502", t(30)).await.expect("failed"));
            assert_eq!(keys(store.due(t(15), 10).await.expect("due")), vec!["k1"]);
            assert_eq!(keys(store.due(t(30), 10).await.expect("due")), vec!["k1", "k3", "k2"]);

            assert!(store.mark_delivered(ids["k1"], t(31)).await.expect("delivered"));
            assert!(!store.mark_delivered(ids["k1"], t(32)).await.expect("twice"), "already delivered");
            assert!(store.mark_dead(ids["k3"], "HTTP 410", t(33)).await.expect("dead"));
            assert!(!store.mark_failed(ids["k3"], "late", t(99)).await.expect("dead stays dead"));
            assert_eq!(keys(store.due(t(100), 10).await.expect("due")), vec!["k2"]);

            let k2 = store.outbox_entry(ids["k2"]).await.expect("get").expect("exists");
            assert_eq!((k2.attempts, k2.last_error.as_deref(), k2.next_attempt_at), (1, Some("HTTP 502"), t(30)));
            let k1 = store.outbox_entry(ids["k1"]).await.expect("get").expect("exists");
            assert_eq!((k1.attempts, k1.delivered_at, k1.last_error), (1, Some(t(31)), None));
            let k3 = store.outbox_entry(ids["k3"]).await.expect("get").expect("exists");
            assert_eq!((k3.dead_at, k3.last_error.as_deref()), (Some(t(33)), Some("HTTP 410")));
            assert!(store.outbox_entry(-1).await.expect("get").is_none());
        }
    }
}
