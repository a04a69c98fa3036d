//! The history of policy evaluations: one row per (image, bundle) evaluation, never updated
//! (a trigger refuses UPDATE on both backends), so "what was the verdict on Tuesday" has an
//! answer.

use super::{Error, Result, Store, Timestamp, query_err, with_pool};
use std::fmt;
use std::str::FromStr;

/// The verdict of a bundle on an image. Stored as `stop` / `warn` / `go`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinalAction {
    Stop,
    Warn,
    Go,
}

impl FinalAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Warn => "warn",
            Self::Go => "go",
        }
    }
}

impl fmt::Display for FinalAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown final action `{0}` (expected stop, warn or go)")]
pub struct UnknownFinalAction(String);

impl FromStr for FinalAction {
    type Err = UnknownFinalAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stop" => Ok(Self::Stop),
            "warn" => Ok(Self::Warn),
            "go" => Ok(Self::Go),
            other => Err(UnknownFinalAction(other.to_owned())),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct NewEvaluation<'a> {
    pub image_digest: &'a str,
    pub bundle_digest: &'a str,
    pub final_action: FinalAction,
    pub evaluated_at: Timestamp,
    /// The full result (every row with rule id, gate, trigger, params).
    pub result: &'a serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub id: i64,
    pub image_digest: String,
    pub bundle_digest: String,
    pub final_action: FinalAction,
    pub evaluated_at: Timestamp,
    pub result: serde_json::Value,
}

type Row = (i64, String, String, String, i64, String);

fn decode(op: &'static str, r: Row) -> Result<Evaluation> {
    Ok(Evaluation {
        id: r.0,
        image_digest: r.1,
        bundle_digest: r.2,
        final_action: r
            .3
            .parse()
            .map_err(|e| Error::decode(op, "final action", e))?,
        evaluated_at: Timestamp::from_unix_millis(r.4),
        result: serde_json::from_str(&r.5).map_err(|e| Error::decode(op, "result JSON", e))?,
    })
}

impl Store {
    /// Appends an evaluation; returns its id.
    pub async fn append_evaluation(&self, e: &NewEvaluation<'_>) -> Result<i64> {
        const OP: &str = "append_evaluation";
        let result =
            serde_json::to_string(e.result).map_err(|err| Error::encode(OP, "result JSON", err))?;
        Ok(with_pool!(self, |pool, _d| {
            sqlx::query_scalar(
                "INSERT INTO evaluations \
                 (image_digest, bundle_digest, final_action, evaluated_at, result) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(e.image_digest)
            .bind(e.bundle_digest)
            .bind(e.final_action.as_str())
            .bind(e.evaluated_at.unix_millis())
            .bind(result)
            .fetch_one(pool)
            .await
            .map_err(query_err(OP))?
        }))
    }

    /// The image's evaluations, newest first, at most `limit`.
    pub async fn evaluations_for(&self, image_digest: &str, limit: u32) -> Result<Vec<Evaluation>> {
        const OP: &str = "evaluations_for";
        let rows: Vec<Row> = with_pool!(self, |pool, _d| {
            sqlx::query_as(
                "SELECT id, image_digest, bundle_digest, final_action, evaluated_at, result \
                 FROM evaluations WHERE image_digest = $1 \
                 ORDER BY evaluated_at DESC, id DESC LIMIT $2",
            )
            .bind(image_digest)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(query_err(OP))?
        });
        rows.into_iter().map(|r| decode(OP, r)).collect()
    }

    /// The latest evaluation of the image by this bundle.
    pub async fn latest_evaluation(
        &self,
        image_digest: &str,
        bundle_digest: &str,
    ) -> Result<Option<Evaluation>> {
        const OP: &str = "latest_evaluation";
        let row: Option<Row> = with_pool!(self, |pool, _d| {
            sqlx::query_as(
                "SELECT id, image_digest, bundle_digest, final_action, evaluated_at, result \
                 FROM evaluations WHERE image_digest = $1 AND bundle_digest = $2 \
                 ORDER BY evaluated_at DESC, id DESC LIMIT 1",
            )
            .bind(image_digest)
            .bind(bundle_digest)
            .fetch_optional(pool)
            .await
            .map_err(query_err(OP))?
        });
        row.map(|r| decode(OP, r)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Pool;
    use crate::store::testing::both_backends;

    #[test]
    fn final_actions_round_trip() {
        for a in [FinalAction::Stop, FinalAction::Warn, FinalAction::Go] {
            assert_eq!(a.as_str().parse::<FinalAction>(), Ok(a));
        }
        assert!("STOP".parse::<FinalAction>().is_err());
    }

    both_backends! {
        async fn history_is_appended_and_read_newest_first(db) {
            let store = db.store().await;
            let result = serde_json::json!({"rows": [{"gate": "vulnerabilities", "trigger": "package", "action": "stop"}]});
            let mut ids = Vec::new();
            for (bundle, action, at) in [("b1", FinalAction::Go, 100), ("b1", FinalAction::Stop, 300), ("b2", FinalAction::Warn, 200)] {
                let e = NewEvaluation {
                    image_digest: "sha256:img",
                    bundle_digest: bundle,
                    final_action: action,
                    evaluated_at: Timestamp::from_unix_millis(at),
                    result: &result,
                };
                ids.push(store.append_evaluation(&e).await.expect("append"));
            }
            let history = store.evaluations_for("sha256:img", 10).await.expect("history");
            assert_eq!(history.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[1], ids[2], ids[0]]);
            assert_eq!(history[0].result, result);
            assert_eq!(store.evaluations_for("sha256:img", 1).await.expect("limited").len(), 1);
            let latest = store.latest_evaluation("sha256:img", "b1").await.expect("latest").expect("some");
            assert_eq!((latest.final_action, latest.evaluated_at), (FinalAction::Stop, Timestamp::from_unix_millis(300)));
            assert!(store.latest_evaluation("sha256:img", "b3").await.expect("latest").is_none());

            // Append-only, enforced by the database itself.
            let update = "UPDATE evaluations SET final_action = 'go'";
            let refused = match &store.pool {
                Pool::Sqlite(p) => sqlx::query(update).execute(p).await.is_err(),
                Pool::Postgres(p) => sqlx::query(update).execute(p).await.is_err(),
            };
            assert!(refused, "UPDATE must be refused");
        }
    }
}
