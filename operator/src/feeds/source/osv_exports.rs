//! The OSV public exports: `<base>/<ecosystem>/all.zip` (every record of an ecosystem),
//! `<base>/<ecosystem>/<ID>.json` (one record) and `<base>/<ecosystem>/modified_id.csv`
//! (`<modified>,<ID>` per line, newest first) for incremental sync.
//!
//! Traps:
//! - Ecosystem names contain `:` and spaces (`Alpine:v3.16`, `Red Hat`): they are one path
//!   segment, percent-encoded, never split.
//! - A mirror base may or may not end with `/`, and may carry a path (`https://m/osv/`).
//! - `modified_id.csv` timestamps have any number of fractional digits; the file is sorted,
//!   but ids are collected from every line rather than trusting the order. A record modified at
//!   exactly the last sync time is listed again (fetching it twice is harmless, missing it is
//!   not). Bad lines are reported with their number, like JSON lines.

use chrono::{DateTime, Utc};

use super::http::{FetchError, Fetcher};
use super::redacted_url::RedactedUrl;
use crate::feeds::read::Skipped;

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

    /// Ids of one ecosystem modified at or after `since`, from its `modified_id.csv`.
    pub async fn fetch_modified_since(
        &self,
        fetcher: &Fetcher,
        ecosystem: &str,
        since: DateTime<Utc>,
    ) -> Result<ModifiedSince, FetchError> {
        let url = self.modified_csv_url(ecosystem);
        let csv = fetcher.get(&url).await?;
        Ok(ids_modified_since(&csv, &url.to_string(), since))
    }
}

/// What `modified_id.csv` lists since a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifiedSince {
    /// In file order (newest first in OSV's files), without duplicates.
    pub ids: Vec<String>,
    pub skipped: Vec<Skipped>,
}

/// Ids whose modification time is at or after `since`. `location` names the file in skips.
pub fn ids_modified_since(csv: &[u8], location: &str, since: DateTime<Utc>) -> ModifiedSince {
    let mut out = ModifiedSince::default();
    let mut seen = std::collections::HashSet::new();
    for (index, line) in csv.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut skip = |reason: &str| {
            out.skipped.push(Skipped {
                location: format!("{location}:{}", index + 1),
                reason: reason.to_owned(),
            });
        };
        let Ok(line) = std::str::from_utf8(line) else {
            skip("not UTF-8");
            continue;
        };
        let Some((time, id)) = line.split_once(',') else {
            skip("expected `timestamp,id`");
            continue;
        };
        let id = id.trim();
        if id.is_empty() || id.contains(char::is_whitespace) || id.contains(',') {
            skip("bad id");
            continue;
        }
        let Ok(time) = DateTime::parse_from_rfc3339(time.trim()) else {
            skip("bad RFC 3339 timestamp");
            continue;
        };
        if time.to_utc() >= since && seen.insert(id.to_owned()) {
            out.ids.push(id.to_owned());
        }
    }
    out
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
    fn modified_ids_since_a_time() {
        let csv = "2024-10-10T12:00:00.123456Z,PYSEC-2024-110\r\n\
                   2024-10-09T00:00:00Z,PYSEC-2024-109\n\
                   \n\
                   yesterday,PYSEC-BAD\n\
                   2024-10-08T23:59:59+02:00,PYSEC-2024-108\n\
                   2024-10-09T00:00:00Z,PYSEC-2024-109\n\
                   no comma here\n\
                   2024-10-09T00:00:00Z, \n\
                   0001-01-01T00:00:00Z,GO-2022-0001\n";
        let out = ids_modified_since(
            csv.as_bytes(),
            "PyPI/modified_id.csv",
            at("2024-10-09T00:00:00Z"),
        );
        assert_eq!(out.ids, ["PYSEC-2024-110", "PYSEC-2024-109"]);
        let skipped: Vec<(&str, &str)> = out
            .skipped
            .iter()
            .map(|s| (s.location.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("PyPI/modified_id.csv:4", "bad RFC 3339 timestamp"),
                ("PyPI/modified_id.csv:7", "expected `timestamp,id`"),
                ("PyPI/modified_id.csv:8", "bad id"),
            ]
        );
        let all = ids_modified_since(csv.as_bytes(), "x", DateTime::<Utc>::MIN_UTC);
        assert_eq!(all.ids.len(), 4, "{:?}", all.ids);
    }
}
