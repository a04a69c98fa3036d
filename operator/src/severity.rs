//! Severities for the vulnerability matcher: one scale for every feed, and CVSS scoring.
//!
//! - `cvss_v2`: CVSS v2 vectors (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, older NVD data): base score and
//!   NVD's exploitability and impact subscores.
//! - `cvss_v3`: CVSS v3.0 and v3.1 vectors: base score, exploitability and impact subscores,
//!   each version with its own Roundup.
//! - `cvss_v4`: CVSS v4.0 vectors: the MacroVector lookup table and interpolation of FIRST's
//!   reference calculator.
//! - `normalize`: an OSV record's `severity[]`, vendor words (GHSA, Debian, Ubuntu, Red Hat)
//!   and CVSS scores turned into one [`normalize::SeverityInfo`].
//!
//! Traps of the domain:
//! - Every vendor has its own words: GHSA says `MODERATE`, Red Hat `Important`, Debian
//!   `unimportant` and `low**`; they are all mapped onto [`Severity`], Anchore's scale.
//! - CVSS vectors are case-sensitive, versioned by their prefix (`CVSS:3.1/`, none for v2) and
//!   carry optional temporal/threat/environmental metrics after the base ones. A vector with a
//!   base metric missing or repeated has no defined score, so it is an error, not a guess.
//! - CVSS 0.0 is rated `None` by the specs; it becomes [`Severity::Negligible`] (the scorer
//!   found no impact, which is what Debian's `unimportant` says too), never `Unknown`.

pub mod cvss_v2;
pub mod cvss_v3;
pub mod cvss_v4;
pub mod normalize;
mod vector;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use cvss_v2::CvssV2;
pub use cvss_v3::CvssV3;
pub use cvss_v4::CvssV4;
pub use vector::{CvssError, MAX_VECTOR_LEN};

/// Anchore's severity scale, ordered from least to most severe.
///
/// Serialised as Anchore writes it (`"Unknown"`, `"Negligible"`, ..., `"Critical"`); parsed
/// case-insensitively.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Severity {
    #[default]
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 6] = [
        Severity::Unknown,
        Severity::Negligible,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "Unknown",
            Severity::Negligible => "Negligible",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown severity {found:?}: expected one of Unknown, Negligible, Low, Medium, High, Critical"
)]
pub struct UnknownSeverity {
    pub found: String,
}

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim();
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(word))
            .ok_or_else(|| UnknownSeverity {
                found: vector::snippet(word),
            })
    }
}

impl From<Severity> for &'static str {
    fn from(s: Severity) -> Self {
        s.as_str()
    }
}

impl TryFrom<String> for Severity {
    type Error = UnknownSeverity;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The qualitative rating scale of CVSS v3.x and v4.0 (v3.1 spec §5, v4.0 spec §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CvssRating {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl CvssRating {
    /// None 0.0, Low 0.1-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0. Scores are
    /// already rounded to one decimal, so the boundaries are compared as such.
    pub fn from_score(score: f64) -> Self {
        if score >= 9.0 {
            CvssRating::Critical
        } else if score >= 7.0 {
            CvssRating::High
        } else if score >= 4.0 {
            CvssRating::Medium
        } else if score > 0.0 {
            CvssRating::Low
        } else {
            CvssRating::None
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            CvssRating::None => Severity::Negligible,
            CvssRating::Low => Severity::Low,
            CvssRating::Medium => Severity::Medium,
            CvssRating::High => Severity::High,
            CvssRating::Critical => Severity::Critical,
        }
    }
}

/// A CVSS version, ordered oldest first (the "highest version" rule of `normalize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CvssVersion {
    #[serde(rename = "2.0")]
    V2_0,
    #[serde(rename = "3.0")]
    V3_0,
    #[serde(rename = "3.1")]
    V3_1,
    #[serde(rename = "4.0")]
    V4_0,
}

impl CvssVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            CvssVersion::V2_0 => "2.0",
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        }
    }
}

impl fmt::Display for CvssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed CVSS vector of any version.
#[derive(Debug, Clone, PartialEq)]
pub enum Cvss {
    V2(CvssV2),
    V3(CvssV3),
    V4(CvssV4),
}

impl Cvss {
    /// Parses a vector, choosing the version from its prefix: `CVSS:4.0/`, `CVSS:3.0/` or
    /// `CVSS:3.1/`; a vector without a `CVSS:` prefix is read as v2.
    pub fn parse(vector: &str) -> Result<Self, CvssError> {
        let trimmed = vector.trim_start();
        if trimmed.starts_with("CVSS:4") {
            CvssV4::parse(vector).map(Cvss::V4)
        } else if trimmed.starts_with("CVSS:3") {
            CvssV3::parse(vector).map(Cvss::V3)
        } else if trimmed.starts_with("CVSS:") {
            Err(CvssError::WrongPrefix {
                expected: "CVSS:3.0/, CVSS:3.1/, CVSS:4.0/ or none (v2)",
                found: vector::prefix_snippet(trimmed),
            })
        } else {
            CvssV2::parse(vector).map(Cvss::V2)
        }
    }

    pub fn version(&self) -> CvssVersion {
        match self {
            Cvss::V2(_) => CvssVersion::V2_0,
            Cvss::V3(v) => v.version(),
            Cvss::V4(_) => CvssVersion::V4_0,
        }
    }

    /// The base score: v2 and v3 base, v4 CVSS-B (threat and environmental metrics ignored).
    pub fn base_score(&self) -> f64 {
        match self {
            Cvss::V2(v) => v.base_score(),
            Cvss::V3(v) => v.base_score(),
            Cvss::V4(v) => v.base_score(),
        }
    }

    /// The exploitability subscore; v4 has none.
    pub fn exploitability(&self) -> Option<f64> {
        match self {
            Cvss::V2(v) => Some(v.exploitability()),
            Cvss::V3(v) => Some(v.exploitability()),
            Cvss::V4(_) => None,
        }
    }

    /// The impact subscore; v4 has none.
    pub fn impact(&self) -> Option<f64> {
        match self {
            Cvss::V2(v) => Some(v.impact()),
            Cvss::V3(v) => Some(v.impact()),
            Cvss::V4(_) => None,
        }
    }

    /// The severity of the base score (v2 on NVD's Low/Medium/High scale).
    pub fn severity(&self) -> Severity {
        match self {
            Cvss::V2(v) => v.severity(),
            Cvss::V3(v) => v.rating().severity(),
            Cvss::V4(v) => v.base_rating().severity(),
        }
    }
}

impl fmt::Display for Cvss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cvss::V2(v) => v.fmt(f),
            Cvss::V3(v) => v.fmt(f),
            Cvss::V4(v) => v.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_is_anchores() {
        let mut shuffled = [
            Severity::High,
            Severity::Unknown,
            Severity::Critical,
            Severity::Low,
            Severity::Negligible,
            Severity::Medium,
        ];
        shuffled.sort();
        assert_eq!(shuffled, Severity::ALL);
        assert!(Severity::Unknown < Severity::Negligible);
        assert_eq!(Severity::default(), Severity::Unknown);
    }

    #[test]
    fn severity_parses_case_insensitively_and_serialises_pascal_case() {
        for sev in Severity::ALL {
            assert_eq!(sev.as_str().parse::<Severity>(), Ok(sev));
            assert_eq!(sev.as_str().to_lowercase().parse::<Severity>(), Ok(sev));
            assert_eq!(sev.as_str().to_uppercase().parse::<Severity>(), Ok(sev));
            let json = serde_json::to_string(&sev).expect("serialise");
            assert_eq!(json, format!("\"{}\"", sev.as_str()));
            let back: Severity = serde_json::from_str(&json).expect("deserialise");
            assert_eq!(back, sev);
        }
        assert_eq!(" high ".parse::<Severity>(), Ok(Severity::High));
        let err = "moderate"
            .parse::<Severity>()
            .expect_err("not Anchore's word");
        assert_eq!(err.found, "moderate");
        assert!(serde_json::from_str::<Severity>("\"severe\"").is_err());
        assert_eq!(
            serde_json::from_str::<Severity>("\"critical\"").expect("lowercase accepted"),
            Severity::Critical
        );
    }

    #[test]
    fn rating_boundaries() {
        let table = [
            (0.0, CvssRating::None),
            (0.1, CvssRating::Low),
            (3.9, CvssRating::Low),
            (4.0, CvssRating::Medium),
            (6.9, CvssRating::Medium),
            (7.0, CvssRating::High),
            (8.9, CvssRating::High),
            (9.0, CvssRating::Critical),
            (10.0, CvssRating::Critical),
        ];
        for (score, rating) in table {
            assert_eq!(CvssRating::from_score(score), rating, "{score}");
        }
        assert_eq!(CvssRating::None.severity(), Severity::Negligible);
    }

    #[test]
    fn parse_dispatches_on_prefix() {
        let v2 = Cvss::parse("AV:N/AC:M/Au:N/C:N/I:P/A:N").expect("v2");
        assert_eq!((v2.version(), v2.base_score()), (CvssVersion::V2_0, 4.3));
        let v30 = Cvss::parse("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").expect("v3.0");
        assert_eq!((v30.version(), v30.base_score()), (CvssVersion::V3_0, 9.8));
        let v31 = Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").expect("v3.1");
        assert_eq!(
            (v31.version(), v31.exploitability(), v31.impact()),
            (CvssVersion::V3_1, Some(3.9), Some(5.9))
        );
        assert_eq!(v31.severity(), Severity::Critical);
        let v4 = Cvss::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
            .expect("v4");
        assert_eq!((v4.version(), v4.base_score()), (CvssVersion::V4_0, 9.3));
        assert_eq!((v4.exploitability(), v4.impact()), (None, None));
        assert!(matches!(
            Cvss::parse("CVSS:5.0/AV:N"),
            Err(CvssError::WrongPrefix { .. })
        ));
        assert!(CvssVersion::V4_0 > CvssVersion::V3_1 && CvssVersion::V3_1 > CvssVersion::V2_0);
    }
}
