//! Incremental sync of one OSV export ecosystem: list what `modified_id.csv` says changed since
//! the source's cursor, leave out what the store already holds at that version, fetch the rest
//! as `<base>/<ecosystem>/<ID>.json`. Each step can answer "do a full sync instead" (no
//! listing, too many changes, a listed record missing) or fail (a bad listing line, a record
//! that does not parse); the caller writes nothing unless every fetch succeeded.
//!
//! Traps:
//! - `modified_id.csv` lists a record at the time of its last change; a record modified at
//!   exactly the cursor may be one the last sync had or one it had not seen yet, so lines at
//!   the cursor are listed and [`to_fetch`] drops those the store holds at that time or later.
//!   A withdrawn record at exactly the cursor is not held, so it is fetched again on each sync
//!   until the cursor moves: one request, and deleting it again changes nothing.
//! - A missing listing or record (404, 403 or 410: S3-style mirrors answer 403 for a missing key)
//!   means a mirror that carries only `all.zip`, or a bucket caught mid-update: a full sync
//!   answers both. Any other failure (5xx, a timeout) fails the sync and keeps the data.
//! - A record is fetched by id and must carry that id: a mirror serving another file under the
//!   name would otherwise move the cursor past a change that was never stored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};

use crate::feeds::read::{self, ReadError, ReadOutcome};
use crate::feeds::source::{
    FetchError, Listing, ListingError, Loader, Modified, OsvExports, RedactedUrl,
};

/// More changed records than this are synced from `all.zip` rather than with one request each.
pub const MAX_FETCHES: usize = 5_000;

/// Records fetched at the same time.
const CONCURRENT_FETCHES: usize = 8;

/// What to do next.
#[derive(Debug)]
pub(super) enum Step<T> {
    Go(T),
    /// Sync from `all.zip` instead, and why.
    Full(String),
}

#[derive(Debug, thiserror::Error)]
pub(super) enum IncrementalError {
    #[error(transparent)]
    Listing(ListingError),
    #[error(transparent)]
    Fetch(FetchError),
    #[error(transparent)]
    Read(ReadError),
    #[error("{url}: holds record {found:?}, not {wanted:?}")]
    WrongRecord {
        url: RedactedUrl,
        wanted: String,
        found: String,
    },
}

/// Whether a failed request means the file is not there.
fn not_found(e: &FetchError) -> Option<u16> {
    match e {
        FetchError::Status { status, .. } if matches!(status, 403 | 404 | 410) => Some(*status),
        _ => None,
    }
}

/// The ids `modified_id.csv` lists at or after `since`.
pub(super) async fn list(
    loader: &Loader,
    exports: &OsvExports,
    ecosystem: &str,
    since: DateTime<Utc>,
) -> Result<Step<Vec<Modified>>, IncrementalError> {
    match exports
        .fetch_modified_since(&loader.fetcher, ecosystem, since, MAX_FETCHES)
        .await
    {
        Ok(Listing::Since(lines)) => Ok(Step::Go(lines)),
        Ok(Listing::TooMany { limit }) => Ok(Step::Full(format!(
            "more than {limit} records changed since {}",
            crate::store::format_cursor(since)
        ))),
        Err(ListingError::Fetch(e)) => match not_found(&e) {
            Some(status) => Ok(Step::Full(format!(
                "no modified_id.csv (HTTP status {status})"
            ))),
            None => Err(IncrementalError::Listing(ListingError::Fetch(e))),
        },
        Err(e) => Err(IncrementalError::Listing(e)),
    }
}

/// The listed records the store does not hold at their listed time or later. `stored` maps ids
/// to their stored `modified` (see `Store::advisory_versions`); a stored time that does not
/// parse is treated as older.
pub(super) fn to_fetch(
    listed: Vec<Modified>,
    stored: &HashMap<String, Option<String>>,
) -> Vec<Modified> {
    listed
        .into_iter()
        .filter(|line| {
            let held = stored
                .get(&line.id)
                .and_then(Option::as_deref)
                .and_then(|m| DateTime::parse_from_rfc3339(m.trim()).ok());
            held.is_none_or(|held| held.to_utc() < line.at)
        })
        .collect()
}

/// Fetches and reads each record. A record that is valid JSON but not a valid OSV record is
/// skipped, as in a full sync; a body that is not JSON, or the wrong record, is an error.
pub(super) async fn fetch(
    loader: &Loader,
    exports: &OsvExports,
    ecosystem: &str,
    lines: &[Modified],
) -> Result<Step<ReadOutcome>, IncrementalError> {
    // The futures are made before the stream: a stream mapping borrowed lines through a
    // closure makes the whole sync future fail `Send` ("not general enough").
    let requests: Vec<_> = lines
        .iter()
        .map(|line| fetch_one(loader, exports, ecosystem, &line.id))
        .collect();
    let fetched: Vec<Step<ReadOutcome>> = stream::iter(requests)
        .buffered(CONCURRENT_FETCHES)
        .try_collect()
        .await?;
    let mut out = ReadOutcome::default();
    for step in fetched {
        match step {
            Step::Go(outcome) => out.extend(outcome),
            Step::Full(reason) => return Ok(Step::Full(reason)),
        }
    }
    Ok(Step::Go(out))
}

async fn fetch_one(
    loader: &Loader,
    exports: &OsvExports,
    ecosystem: &str,
    id: &str,
) -> Result<Step<ReadOutcome>, IncrementalError> {
    let url = exports.record_url(ecosystem, id);
    let bytes = match loader.fetcher.get(&url).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return match not_found(&e) {
                Some(status) => Ok(Step::Full(format!(
                    "{id}.json is listed but missing (HTTP status {status})"
                ))),
                None => Err(IncrementalError::Fetch(e)),
            };
        }
    };
    let outcome = read::read_osv_json(&bytes, &url.to_string()).map_err(IncrementalError::Read)?;
    if let Some(other) = outcome.records.iter().find(|r| r.id != id) {
        return Err(IncrementalError::WrongRecord {
            url,
            wanted: id.to_owned(),
            found: other.id.clone(),
        });
    }
    Ok(Step::Go(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").to_utc()
    }

    #[test]
    fn listed_records_held_at_their_time_or_later_are_not_fetched() {
        let line = |id: &str, t: &str| Modified {
            at: at(t),
            id: id.to_owned(),
        };
        let listed = vec![
            line("NEW", "2024-10-10T00:00:00Z"),
            line("OLDER-HELD", "2024-10-10T00:00:00Z"),
            line("SAME", "2024-10-09T00:00:00.5Z"),
            line("NEWER-HELD", "2024-10-09T00:00:00Z"),
            line("NO-TIME", "2024-10-09T00:00:00Z"),
            line("BAD-TIME", "2024-10-09T00:00:00Z"),
        ];
        let stored: HashMap<String, Option<String>> = [
            ("OLDER-HELD", Some("2024-10-09T23:59:59Z")),
            ("SAME", Some("2024-10-09T02:00:00.500+02:00")),
            ("NEWER-HELD", Some("2024-10-11T00:00:00Z")),
            ("NO-TIME", None),
            ("BAD-TIME", Some("last tuesday")),
        ]
        .into_iter()
        .map(|(id, m)| (id.to_owned(), m.map(str::to_owned)))
        .collect();
        let ids: Vec<String> = to_fetch(listed, &stored)
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["NEW", "OLDER-HELD", "NO-TIME", "BAD-TIME"]);
    }
}
