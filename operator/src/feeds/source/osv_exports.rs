//! The OSV public exports: `<base>/<ecosystem>/all.zip` (every record of an ecosystem),
//! `<base>/<ecosystem>/<ID>.json` (one record) and `<base>/<ecosystem>/modified_id.csv`
//! (`<modified>,<ID>` per line, newest first) for incremental sync.
//!
//! Traps:
//! - Ecosystem names contain `:` and spaces (`Alpine:v3.16`, `Red Hat`): they are one path
//!   segment, percent-encoded, never split.
//! - A mirror base may or may not end with `/`, and may carry a path (`https://m/osv/`).
//! - `modified_id.csv` is newest first: reading stops at the first line older than the cursor,
//!   so a sync reads the top of a file that holds every record. Because of that stop, the order
//!   is checked on the lines read, and a line that is out of order or unreadable fails the
//!   listing with its number rather than being skipped: a skipped line could be a change that
//!   is never fetched. Timestamps have any number of fractional digits.
//! - Lines at exactly the cursor are listed (a record modified in the same instant as the
//!   newest one held may not have been in the last export); the sync skips those it holds.

use chrono::{DateTime, Utc};

use super::http::{FetchError, Fetcher};
use super::redacted_url::RedactedUrl;

pub const DEFAULT_BASE: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// Where the exports are and which ecosystems to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsvExports {
    base: RedactedUrl,
    ecosystems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportsError {
    #[error("OSV exports base must be an http(s) URL")]
    BaseScheme,
    #[error("no ecosystem named")]
    NoEcosystem,
    #[error("bad ecosystem name {0:?}: empty, or holds `/` or control characters")]
    BadEcosystem(String),
}

impl OsvExports {
    pub fn new(base: RedactedUrl, ecosystems: Vec<String>) -> Result<Self, ExportsError> {
        if !matches!(base.expose().scheme(), "http" | "https") || base.expose().cannot_be_a_base() {
            return Err(ExportsError::BaseScheme);
        }
        if ecosystems.is_empty() {
            return Err(ExportsError::NoEcosystem);
        }
        if let Some(bad) = ecosystems
            .iter()
            .find(|e| e.trim().is_empty() || e.contains('/') || e.chars().any(char::is_control))
        {
            return Err(ExportsError::BadEcosystem(bad.clone()));
        }
        Ok(Self { base, ecosystems })
    }

    /// The public exports (`DEFAULT_BASE`).
    pub fn public(ecosystems: Vec<String>) -> Result<Self, ExportsError> {
        let base = DEFAULT_BASE.parse().map_err(|_| ExportsError::BaseScheme)?;
        Self::new(base, ecosystems)
    }

    pub fn base(&self) -> &RedactedUrl {
        &self.base
    }

    pub fn ecosystems(&self) -> &[String] {
        &self.ecosystems
    }

    pub fn is_public(&self) -> bool {
        self.base.expose().as_str().trim_end_matches('/') == DEFAULT_BASE
    }

    pub fn all_zip_url(&self, ecosystem: &str) -> RedactedUrl {
        self.url(&[ecosystem, "all.zip"])
    }

    pub fn modified_csv_url(&self, ecosystem: &str) -> RedactedUrl {
        self.url(&[ecosystem, "modified_id.csv"])
    }

    pub fn record_url(&self, ecosystem: &str, id: &str) -> RedactedUrl {
        self.url(&[ecosystem, &format!("{id}.json")])
    }

    fn url(&self, segments: &[&str]) -> RedactedUrl {
        let mut url = self.base.expose().clone();
        // Always `Ok`: `new` accepts only http(s) URLs, which can be a base.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        RedactedUrl::new(url)
    }

    /// What one ecosystem's `modified_id.csv` lists at or after `since`, up to `limit` ids.
    pub async fn fetch_modified_since(
        &self,
        fetcher: &Fetcher,
        ecosystem: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Listing, ListingError> {
        let url = self.modified_csv_url(ecosystem);
        let csv = fetcher.get(&url).await?;
        Ok(modified_since(&csv, &url.to_string(), since, limit)?)
    }
}

/// One line of `modified_id.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modified {
    pub at: DateTime<Utc>,
    pub id: String,
}

/// What `modified_id.csv` lists since a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// Newest first, each id once (at its newest time).
    Since(Vec<Modified>),
    /// More than `limit` ids: fetching them one by one would cost more than `all.zip`.
    TooMany { limit: usize },
}

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Csv(#[from] CsvError),
}

/// A line of `modified_id.csv` that cannot be trusted: the listing is refused whole (a
/// skipped line could be a change never fetched).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}:{line}: {fault}")]
pub struct CsvError {
    /// The file (a redacted URL).
    pub location: String,
    /// 1-based, counting every line.
    pub line: usize,
    pub fault: LineFault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineFault {
    #[error("not UTF-8")]
    NotUtf8,
    #[error("expected `timestamp,id`")]
    Shape,
    #[error("bad id")]
    Id,
    #[error("bad RFC 3339 timestamp")]
    Timestamp,
    #[error("newer than the line before it: the file is not sorted newest first")]
    NotSorted,
}

/// The lines of `csv` modified at or after `since`, read from the top and stopped at the first
/// older line (the file is newest first, so the rest is older still). `location` names the file
/// in errors. More than `limit` distinct ids is [`Listing::TooMany`].
pub fn modified_since(
    csv: &[u8],
    location: &str,
    since: DateTime<Utc>,
    limit: usize,
) -> Result<Listing, CsvError> {
    let mut out: Vec<Modified> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut previous: Option<DateTime<Utc>> = None;
    for (index, line) in csv.split(|&b| b == b'\n').enumerate() {
        let fail = |fault| CsvError {
            location: location.to_owned(),
            line: index + 1,
            fault,
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = std::str::from_utf8(line).map_err(|_| fail(LineFault::NotUtf8))?;
        let (at, id) = line.split_once(',').ok_or_else(|| fail(LineFault::Shape))?;
        let id = id.trim();
        if id.is_empty()
            || id.contains(|c: char| c.is_whitespace() || c.is_control() || ",/\\".contains(c))
        {
            return Err(fail(LineFault::Id));
        }
        let at = DateTime::parse_from_rfc3339(at.trim())
            .map_err(|_| fail(LineFault::Timestamp))?
            .to_utc();
        if previous.is_some_and(|p| at > p) {
            return Err(fail(LineFault::NotSorted));
        }
        previous = Some(at);
        if at < since {
            break;
        }
        if seen.insert(id.to_owned()) {
            if out.len() == limit {
                return Ok(Listing::TooMany { limit });
            }
            out.push(Modified {
                at,
                id: id.to_owned(),
            });
        }
    }
    Ok(Listing::Since(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").to_utc()
    }

    #[test]
    fn export_urls() {
        let public = OsvExports::public(vec!["PyPI".into()]).expect("public");
        assert!(public.is_public());
        assert_eq!(
            public.all_zip_url("PyPI").to_string(),
            "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
        );
        let mirror = OsvExports::new(
            "https://u:p@mirror.example/osv/".parse().expect("url"),
            vec!["Red Hat".into(), "Alpine:v3.16".into()],
        )
        .expect("mirror");
        assert!(!mirror.is_public());
        assert_eq!(
            mirror.all_zip_url("Red Hat").expose().as_str(),
            "https://u:p@mirror.example/osv/Red%20Hat/all.zip"
        );
        assert_eq!(
            mirror.modified_csv_url("Alpine:v3.16").to_string(),
            "https://***@mirror.example/osv/Alpine:v3.16/modified_id.csv"
        );
        assert_eq!(
            mirror.record_url("PyPI", "PYSEC-2016-25").expose().as_str(),
            "https://u:p@mirror.example/osv/PyPI/PYSEC-2016-25.json"
        );
        let no_slash = OsvExports::new("http://m:8080/x".parse().expect("url"), vec!["Go".into()])
            .expect("ok");
        assert_eq!(
            no_slash.all_zip_url("Go").expose().as_str(),
            "http://m:8080/x/Go/all.zip"
        );
        let bad = |base: &str, ecosystems: &[&str]| {
            OsvExports::new(
                base.parse().expect("url"),
                ecosystems.iter().map(|e| (*e).to_owned()).collect(),
            )
            .expect_err("invalid")
        };
        assert_eq!(bad("ftp://m/", &["Go"]), ExportsError::BaseScheme);
        assert_eq!(bad("https://m/", &[]), ExportsError::NoEcosystem);
        assert_eq!(
            bad("https://m/", &["a/b"]),
            ExportsError::BadEcosystem("a/b".into())
        );
        assert_eq!(
            bad("https://m/", &[" "]),
            ExportsError::BadEcosystem(" ".into())
        );
    }

    #[test]
    fn modified_since_reads_the_newest_lines_and_stops() {
        let csv = "2024-10-10T12:00:00.123456Z,PYSEC-2024-110\r\n\
                   2024-10-09T00:00:00Z,PYSEC-2024-109\n\
                   \n\
                   2024-10-09T00:00:00+00:00,PYSEC-2024-108\n\
                   2024-10-09T02:00:00+02:00,PYSEC-2024-110\n\
                   2024-10-08T23:59:59Z,PYSEC-2024-107\n\
                   garbage read only from far back\n";
        let ids = |listing: Listing| match listing {
            Listing::Since(lines) => lines.into_iter().map(|m| m.id).collect::<Vec<_>>(),
            Listing::TooMany { limit } => vec![format!("too many for {limit}")],
        };
        let cases: &[(&str, usize, &[&str])] = &[
            (
                "2024-10-09T00:00:00Z",
                10,
                &["PYSEC-2024-110", "PYSEC-2024-109", "PYSEC-2024-108"],
            ),
            ("2024-10-10T12:00:00.123456Z", 10, &["PYSEC-2024-110"]),
            ("2024-10-10T12:00:00.123457Z", 10, &[]),
            (
                "2024-10-09T00:00:00Z",
                3,
                &["PYSEC-2024-110", "PYSEC-2024-109", "PYSEC-2024-108"],
            ),
            ("2024-10-09T00:00:00Z", 2, &["too many for 2"]),
        ];
        for (since, limit, want) in cases {
            let listing = modified_since(csv.as_bytes(), "PyPI/modified_id.csv", at(since), *limit)
                .expect("the lines read are good");
            assert_eq!(ids(listing), *want, "since {since}, limit {limit}");
        }
        let Ok(Listing::Since(lines)) = modified_since(csv.as_bytes(), "x", at(cases[0].0), 10)
        else {
            panic!("listing")
        };
        assert_eq!(
            lines[0].at,
            at("2024-10-10T12:00:00.123456Z"),
            "fractions kept"
        );

        // The whole file is read from far enough back, and then its last line is bad.
        let err =
            modified_since(csv.as_bytes(), "x", DateTime::<Utc>::MIN_UTC, 10).expect_err("line 7");
        assert_eq!(err.to_string(), "x:7: expected `timestamp,id`");
    }

    #[test]
    fn bad_lines_fail_the_listing_with_their_number() {
        let since = at("2024-01-01T00:00:00Z");
        let cases: &[(&[u8], usize, LineFault)] = &[
            (
                b"2024-10-10T00:00:00Z,A\nyesterday,B\n",
                2,
                LineFault::Timestamp,
            ),
            (b"2024-10-10T00:00:00Z\n", 1, LineFault::Shape),
            (b"2024-10-10T00:00:00Z, \n", 1, LineFault::Id),
            (b"2024-10-10T00:00:00Z,A B\n", 1, LineFault::Id),
            (b"2024-10-10T00:00:00Z,../A\n", 1, LineFault::Id),
            (b"2024-10-10T00:00:00Z,A,B\n", 1, LineFault::Id),
            (b"\n\n2024-10-10T00:00:00Z,\xff\n", 3, LineFault::NotUtf8),
            (
                b"2024-10-09T00:00:00Z,A\n2024-10-10T00:00:00Z,B\n",
                2,
                LineFault::NotSorted,
            ),
        ];
        for (csv, line, fault) in cases {
            let err =
                modified_since(csv, "m/PyPI/modified_id.csv", since, 100).expect_err("a bad line");
            assert_eq!(
                (err.line, err.fault),
                (*line, *fault),
                "{}",
                String::from_utf8_lossy(csv)
            );
            assert!(
                err.to_string()
                    .starts_with(&format!("m/PyPI/modified_id.csv:{line}: "))
            );
        }
        // Lines past the stop are not read, bad or not; an empty file lists nothing.
        let old_tail = b"2024-10-10T00:00:00Z,A\n2023-01-01T00:00:00Z,B\ngarbage\n";
        assert_eq!(
            modified_since(old_tail, "x", since, 100),
            Ok(Listing::Since(vec![Modified {
                at: at("2024-10-10T00:00:00Z"),
                id: "A".into()
            }]))
        );
        assert_eq!(
            modified_since(b"", "x", since, 100),
            Ok(Listing::Since(vec![]))
        );
    }
}
