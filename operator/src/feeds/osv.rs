//! The OSV schema (<https://ossf.github.io/osv-schema/>), the one vulnerability model inside
//! Plimsoll. Alpine secdb and the Debian security tracker are converted into it.
//!
//! Traps measured on real feeds (see `shared/vulndata/README.md`): AlmaLinux keeps CVE ids in
//! `related`, not `aliases`; Debian-derived records use `upstream`; GHSA records cover several
//! ecosystems in one record and write versions that are not full semver (`"1.0"`); Go records
//! carry `modified: 0001-01-01T00:00:00Z`; PyPI records carry `GIT` ranges (ignored for
//! matching) next to `ECOSYSTEM` ranges and an explicit `versions` list; severity is mostly
//! absent, or a CVSS vector, or a word in `database_specific.severity`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub schema_version: Option<String>,
    pub id: String,
    /// RFC 3339. Required by the schema, missing in some feeds: then the sync's time is used.
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub published: Option<String>,
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub related: Vec<String>,
    #[serde(default)]
    pub upstream: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub severity: Vec<Severity>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default)]
    pub references: Vec<Reference>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`.
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default)]
    pub package: Option<Package>,
    #[serde(default)]
    pub severity: Vec<Severity>,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
    #[serde(default)]
    pub purl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT` (git ranges cannot be matched against installed
    /// versions and are ignored by the matcher).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

/// One event of a range. Exactly one field is set in a valid record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not an OSV record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("OSV record has an empty id")]
    EmptyId,
}

impl Record {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ParseError> {
        let r: Self = serde_json::from_slice(bytes)?;
        if r.id.trim().is_empty() {
            return Err(ParseError::EmptyId);
        }
        Ok(r)
    }

    /// Every id this record is known by: its own, aliases, upstream and related CVE ids (the
    /// AlmaLinux way), deduplicated, own id first.
    pub fn all_ids(&self) -> Vec<&str> {
        let mut ids = vec![self.id.as_str()];
        for id in self
            .aliases
            .iter()
            .chain(&self.upstream)
            .chain(&self.related)
        {
            if !ids.contains(&id.as_str()) {
                ids.push(id);
            }
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_records_of_each_feed() {
        let samples: &[&str] = &[
            include_str!("testdata/debian-cve-2005-4890.json"),
            include_str!("testdata/alsa-2025-10073.json"),
        ];
        let debian = Record::from_json(samples[0].as_bytes()).expect("debian");
        assert_eq!(
            debian.all_ids(),
            vec!["DEBIAN-CVE-2005-4890", "CVE-2005-4890"]
        );
        let e = &debian.affected[0].ranges[0].events;
        assert_eq!(e[1].fixed.as_deref(), Some("1.9.6-1~exp2"));
        let alma = Record::from_json(samples[1].as_bytes()).expect("alma");
        assert_eq!(alma.all_ids().len(), 5, "CVE ids from `related`");
        assert!(Record::from_json(br#"{"id":"  "}"#).is_err());
        assert!(Record::from_json(b"[]").is_err());
    }
}
