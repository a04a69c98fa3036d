//! One severity per vulnerability record, from whatever the feed says.
//!
//! Inputs: an OSV record's `severity[]` entries (`CVSS_V2`, `CVSS_V3`, `CVSS_V4` vectors and
//! `Ubuntu` priorities), vendor words in `database_specific.severity` (GHSA) and in
//! `affected[].ecosystem_specific.urgency` (Debian), or words and vectors handed over one by one
//! by converters of other formats ([`SeverityBuilder`]).
//!
//! Vendor words, all mapped onto Anchore's scale by [`vendor_severity`]:
//!
//! | vendor | words |
//! |---|---|
//! | GHSA | `LOW`, `MODERATE` → Medium, `HIGH`, `CRITICAL` |
//! | Debian urgency | `unimportant` → Negligible, `low`, `medium`, `high`, `end-of-life` → Negligible (as Anchore), `not yet assigned` → Unknown; the tracker's `*`/`**` suffix (an urgency Debian did not set itself) is dropped |
//! | Ubuntu priority | `negligible`, `low`, `medium`, `high`, `critical`, `untriaged` → Unknown |
//! | Red Hat impact | `Low`, `Moderate` → Medium, `Important` → High, `Critical` |
//! | Alpine | none: secdb carries no severity, so only CVSS (if any) decides |
//!
//! The words never contradict each other across vendors, so one case-insensitive table serves
//! all of them.
//!
//! **The rule** ([`SeverityBuilder::finish`]):
//! 1. A vendor word that rates the vulnerability (anything but Unknown) decides; with several
//!    (Debian rates each release), the highest one.
//! 2. Otherwise the CVSS scores decide: vendor scores before NVD scores; among those, the
//!    highest CVSS version (4.0 > 3.1 > 3.0 > 2.0); among several vectors of that version, the
//!    highest base score. Its qualitative rating is the severity (v4: the CVSS-B score; v2:
//!    NVD's Low/Medium/High; a 0.0 score is Negligible).
//! 3. Otherwise Unknown.
//!
//! Vendor and NVD scores are kept apart: the caller says where a record comes from
//! ([`ScoreSource`]); every CVSS score carries it, and the policy gate can compare either.
//! The source tags CVSS scores only: a vendor word is a vendor word whoever passes it.
//!
//! Traps: Ubuntu records list the same CVSS vector twice (deduplicated here); an entry's type
//! can disagree with its vector (a `CVSS_V3` entry holding `CVSS:4.0/...`): the vector's own
//! prefix wins and a warning says so. Bad vectors and unknown words are skipped with a warning,
//! never fatal.

use super::vector::snippet;
use super::{Cvss, CvssError, CvssRating, CvssVersion, Severity};
use crate::feeds::osv;
use serde::{Deserialize, Serialize};

/// Who scored a vulnerability: the distro or ecosystem feed the record came from, or NVD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreSource {
    Vendor,
    Nvd,
}

/// One CVSS vector with its scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    pub version: CvssVersion,
    /// The vector as the feed wrote it (surrounding whitespace removed).
    pub vector: String,
    /// v2/v3 base score; v4 CVSS-B score.
    pub base: f64,
    /// v2/v3 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploitability: Option<f64>,
    /// v2/v3 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<f64>,
    pub source: ScoreSource,
}

impl CvssScore {
    pub fn from_vector(vector: &str, source: ScoreSource) -> Result<Self, CvssError> {
        let parsed = Cvss::parse(vector)?;
        Ok(Self::from_parsed(&parsed, vector, source))
    }

    fn from_parsed(parsed: &Cvss, vector: &str, source: ScoreSource) -> Self {
        Self {
            version: parsed.version(),
            vector: vector.trim().to_string(),
            base: parsed.base_score(),
            exploitability: parsed.exploitability(),
            impact: parsed.impact(),
            source,
        }
    }

    /// The severity of the base score: v2 on NVD's Low/Medium/High scale, v3 and v4 on the
    /// specs' scale (0.0 is Negligible).
    pub fn severity(&self) -> Severity {
        let rating = CvssRating::from_score(self.base);
        if self.version == CvssVersion::V2_0 {
            match rating {
                CvssRating::None | CvssRating::Low => Severity::Low,
                CvssRating::Medium => Severity::Medium,
                CvssRating::High | CvssRating::Critical => Severity::High,
            }
        } else {
            rating.severity()
        }
    }
}

/// The severity of a vulnerability and every CVSS score it was given.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SeverityInfo {
    pub severity: Severity,
    pub cvss: Vec<CvssScore>,
}

/// Something in a record's severity data that was skipped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeverityWarning {
    #[error("{kind} vector {vector:?} skipped: {error}")]
    BadVector {
        kind: String,
        vector: String,
        error: CvssError,
    },
    #[error("severity type {kind:?} is not known; entry skipped")]
    UnknownType { kind: String },
    #[error("vendor severity {word:?} is not known; skipped")]
    UnknownWord { word: String },
    #[error("{kind} entry holds a CVSS {found} vector; scored as {found}")]
    VersionMismatch { kind: String, found: CvssVersion },
}

/// A normalised severity and what was skipped on the way.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Normalized {
    pub info: SeverityInfo,
    pub warnings: Vec<SeverityWarning>,
}

/// Maps a vendor's severity word onto Anchore's scale (table in the module doc).
/// `Some(Severity::Unknown)` means a known word that rates nothing (`not yet assigned`);
/// `None` means the word is not known.
pub fn vendor_severity(word: &str) -> Option<Severity> {
    let word = word.trim().trim_end_matches('*').trim_end();
    let known: &[(&str, Severity)] = &[
        ("unknown", Severity::Unknown),
        ("not yet assigned", Severity::Unknown),
        ("untriaged", Severity::Unknown),
        ("negligible", Severity::Negligible),
        ("unimportant", Severity::Negligible),
        ("end-of-life", Severity::Negligible),
        ("low", Severity::Low),
        ("medium", Severity::Medium),
        ("moderate", Severity::Medium),
        ("high", Severity::High),
        ("important", Severity::High),
        ("critical", Severity::Critical),
    ];
    known
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(word))
        .map(|(_, severity)| *severity)
}

/// Collects vendor words and CVSS vectors, then applies the rule of the module doc.
#[derive(Debug, Clone, Default)]
pub struct SeverityBuilder {
    vendor: Option<Severity>,
    cvss: Vec<CvssScore>,
    warnings: Vec<SeverityWarning>,
}

impl SeverityBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A vendor's word (GHSA, Debian, Ubuntu, Red Hat). Unknown words become warnings.
    pub fn vendor_word(&mut self, word: &str) -> &mut Self {
        match vendor_severity(word) {
            Some(severity) => {
                self.vendor = self.vendor.max(Some(severity));
            }
            None => self.warnings.push(SeverityWarning::UnknownWord {
                word: snippet(word.trim()),
            }),
        }
        self
    }

    /// A CVSS vector of any version (the version comes from its prefix).
    pub fn cvss_vector(&mut self, vector: &str, source: ScoreSource) -> &mut Self {
        self.cvss_entry("CVSS", None, vector, source)
    }

    /// One OSV `severity[]` entry.
    pub fn osv_entry(&mut self, entry: &osv::Severity, source: ScoreSource) -> &mut Self {
        let expected: &[CvssVersion] = match entry.kind.as_str() {
            "CVSS_V2" => &[CvssVersion::V2_0],
            "CVSS_V3" => &[CvssVersion::V3_0, CvssVersion::V3_1],
            "CVSS_V4" => &[CvssVersion::V4_0],
            "Ubuntu" => return self.vendor_word(&entry.score),
            other => {
                self.warnings.push(SeverityWarning::UnknownType {
                    kind: snippet(other),
                });
                return self;
            }
        };
        self.cvss_entry(&entry.kind, Some(expected), &entry.score, source)
    }

    fn cvss_entry(
        &mut self,
        kind: &str,
        expected: Option<&[CvssVersion]>,
        vector: &str,
        source: ScoreSource,
    ) -> &mut Self {
        let parsed = match Cvss::parse(vector) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.warnings.push(SeverityWarning::BadVector {
                    kind: snippet(kind),
                    vector: snippet(vector.trim()),
                    error,
                });
                return self;
            }
        };
        let score = CvssScore::from_parsed(&parsed, vector, source);
        if expected.is_some_and(|versions| !versions.contains(&score.version)) {
            self.warnings.push(SeverityWarning::VersionMismatch {
                kind: snippet(kind),
                found: score.version,
            });
        }
        let duplicate = self.cvss.iter().any(|s| {
            s.version == score.version && s.vector == score.vector && s.source == score.source
        });
        if !duplicate {
            self.cvss.push(score);
        }
        self
    }

    /// Vendor words that live in an OSV `database_specific` or `ecosystem_specific` object:
    /// `severity` (GHSA, and other feeds that follow it) and `urgency` (Debian).
    pub fn osv_specific(&mut self, specific: Option<&serde_json::Value>) -> &mut Self {
        let Some(object) = specific.and_then(serde_json::Value::as_object) else {
            return self;
        };
        for key in ["severity", "urgency"] {
            // Other shapes under these keys (lists of CVSS entries in Ubuntu's `cves_map`,
            // ...) are not vendor words.
            if let Some(serde_json::Value::String(word)) = object.get(key) {
                self.vendor_word(word);
            }
        }
        self
    }

    /// Applies the rule of the module doc.
    pub fn finish(self) -> Normalized {
        let rated_vendor = self.vendor.filter(|s| *s != Severity::Unknown);
        let severity = rated_vendor
            .or_else(|| {
                self.cvss
                    .iter()
                    // Vendor first (ScoreSource orders Vendor < Nvd), then version, then base.
                    .max_by(|a, b| {
                        b.source
                            .cmp(&a.source)
                            .then(a.version.cmp(&b.version))
                            .then(a.base.total_cmp(&b.base))
                    })
                    .map(CvssScore::severity)
            })
            .unwrap_or(Severity::Unknown);
        Normalized {
            info: SeverityInfo {
                severity,
                cvss: self.cvss,
            },
            warnings: self.warnings,
        }
    }
}

/// The severity of a whole OSV record: its `severity[]`, `database_specific` and every
/// `affected[]` entry's `severity[]`, `database_specific` and `ecosystem_specific`.
pub fn from_osv_record(record: &osv::Record, source: ScoreSource) -> Normalized {
    let mut builder = record_level(record, source);
    for affected in &record.affected {
        add_affected(&mut builder, affected, source);
    }
    builder.finish()
}

/// The severity of one `affected[]` entry of a record (a package the matcher hit): the
/// record-level data plus that entry's own.
pub fn from_osv_affected(
    record: &osv::Record,
    affected: &osv::Affected,
    source: ScoreSource,
) -> Normalized {
    let mut builder = record_level(record, source);
    add_affected(&mut builder, affected, source);
    builder.finish()
}

fn record_level(record: &osv::Record, source: ScoreSource) -> SeverityBuilder {
    let mut builder = SeverityBuilder::new();
    for entry in &record.severity {
        builder.osv_entry(entry, source);
    }
    builder.osv_specific(record.database_specific.as_ref());
    builder
}

fn add_affected(builder: &mut SeverityBuilder, affected: &osv::Affected, source: ScoreSource) {
    for entry in &affected.severity {
        builder.osv_entry(entry, source);
    }
    builder.osv_specific(affected.database_specific.as_ref());
    builder.osv_specific(affected.ecosystem_specific.as_ref());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> osv::Record {
        osv::Record::from_json(json.as_bytes()).expect("test record")
    }

    fn entry(kind: &str, score: &str) -> osv::Severity {
        osv::Severity {
            kind: kind.into(),
            score: score.into(),
        }
    }

    const V31_CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    const V31_MEDIUM: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N";
    const V4_MEDIUM: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N";

    #[test]
    fn vendor_words_of_each_vendor() {
        let table: &[(&str, Option<Severity>)] = &[
            // GHSA.
            ("LOW", Some(Severity::Low)),
            ("MODERATE", Some(Severity::Medium)),
            ("HIGH", Some(Severity::High)),
            ("CRITICAL", Some(Severity::Critical)),
            // Debian security tracker urgencies.
            ("unimportant", Some(Severity::Negligible)),
            ("low", Some(Severity::Low)),
            ("low**", Some(Severity::Low)),
            ("medium*", Some(Severity::Medium)),
            ("high**", Some(Severity::High)),
            ("end-of-life", Some(Severity::Negligible)),
            ("not yet assigned", Some(Severity::Unknown)),
            // Ubuntu priorities.
            ("negligible", Some(Severity::Negligible)),
            ("critical", Some(Severity::Critical)),
            ("untriaged", Some(Severity::Unknown)),
            // Red Hat impacts.
            ("Low", Some(Severity::Low)),
            ("Moderate", Some(Severity::Medium)),
            ("Important", Some(Severity::High)),
            ("Critical", Some(Severity::Critical)),
            // Anchore's own names and surrounding space.
            (" Negligible ", Some(Severity::Negligible)),
            ("Unknown", Some(Severity::Unknown)),
            // Not severities.
            ("emergency", None),
            ("", None),
            ("**", None),
            ("severe", None),
            ("9.8", None),
        ];
        for (word, want) in table {
            assert_eq!(vendor_severity(word), *want, "{word:?}");
        }
    }

    #[test]
    fn vendor_word_beats_cvss() {
        let mut b = SeverityBuilder::new();
        b.cvss_vector(V31_CRITICAL, ScoreSource::Vendor)
            .vendor_word("low");
        let n = b.finish();
        assert_eq!(n.info.severity, Severity::Low);
        assert_eq!(n.info.cvss.len(), 1);
        assert!(n.warnings.is_empty());
    }

    #[test]
    fn unrated_vendor_word_falls_back_to_cvss() {
        let mut b = SeverityBuilder::new();
        b.vendor_word("not yet assigned")
            .cvss_vector(V31_MEDIUM, ScoreSource::Vendor);
        assert_eq!(b.finish().info.severity, Severity::Medium);
        let mut b = SeverityBuilder::new();
        b.vendor_word("not yet assigned");
        assert_eq!(b.finish().info.severity, Severity::Unknown);
    }

    #[test]
    fn highest_vendor_word_wins() {
        let mut b = SeverityBuilder::new();
        b.vendor_word("low")
            .vendor_word("high**")
            .vendor_word("unimportant");
        assert_eq!(b.finish().info.severity, Severity::High);
    }

    #[test]
    fn highest_cvss_version_decides_not_highest_score() {
        let mut b = SeverityBuilder::new();
        b.cvss_vector(V31_CRITICAL, ScoreSource::Vendor)
            .cvss_vector(V4_MEDIUM, ScoreSource::Vendor)
            .cvss_vector("AV:N/AC:L/Au:N/C:C/I:C/A:C", ScoreSource::Vendor);
        let n = b.finish();
        assert_eq!(n.info.severity, Severity::Medium, "v4 6.9 over v3.1 9.8");
        let versions: Vec<_> = n.info.cvss.iter().map(|s| s.version).collect();
        assert_eq!(
            versions,
            [CvssVersion::V3_1, CvssVersion::V4_0, CvssVersion::V2_0],
            "feed order kept"
        );
        // Same version: the higher base.
        let mut b = SeverityBuilder::new();
        b.cvss_vector(V31_MEDIUM, ScoreSource::Vendor)
            .cvss_vector(V31_CRITICAL, ScoreSource::Vendor);
        assert_eq!(b.finish().info.severity, Severity::Critical);
        // 3.1 is newer than 3.0.
        let mut b = SeverityBuilder::new();
        b.cvss_vector(V31_MEDIUM, ScoreSource::Vendor)
            .cvss_vector(&V31_CRITICAL.replace("3.1", "3.0"), ScoreSource::Vendor);
        assert_eq!(b.finish().info.severity, Severity::Medium);
    }

    #[test]
    fn vendor_scores_before_nvd_scores() {
        let mut b = SeverityBuilder::new();
        b.cvss_vector(V4_MEDIUM, ScoreSource::Nvd)
            .cvss_vector(V31_CRITICAL, ScoreSource::Nvd)
            .cvss_vector(V31_MEDIUM, ScoreSource::Vendor);
        let n = b.finish();
        assert_eq!(n.info.severity, Severity::Medium);
        let sources: Vec<_> = n.info.cvss.iter().map(|s| s.source).collect();
        assert_eq!(
            sources,
            [ScoreSource::Nvd, ScoreSource::Nvd, ScoreSource::Vendor]
        );
        // NVD alone decides when the vendor gave nothing.
        let mut b = SeverityBuilder::new();
        b.cvss_vector(V31_CRITICAL, ScoreSource::Nvd);
        assert_eq!(b.finish().info.severity, Severity::Critical);
    }

    #[test]
    fn nothing_is_unknown_and_zero_is_negligible() {
        assert_eq!(
            SeverityBuilder::new().finish().info,
            SeverityInfo::default()
        );
        let mut b = SeverityBuilder::new();
        b.cvss_vector(
            "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N",
            ScoreSource::Vendor,
        );
        let n = b.finish();
        assert_eq!(n.info.severity, Severity::Negligible);
        assert_eq!(n.info.cvss[0].base, 0.0);
        // v2 has no Critical and rates 0.0 Low (NVD's scale).
        let mut b = SeverityBuilder::new();
        b.cvss_vector("AV:N/AC:L/Au:N/C:C/I:C/A:C", ScoreSource::Nvd);
        assert_eq!(b.finish().info.severity, Severity::High);
    }

    #[test]
    fn bad_entries_are_skipped_with_warnings() {
        let mut b = SeverityBuilder::new();
        b.osv_entry(&entry("CVSS_V3", "CVSS:3.1/AV:N/AC:L"), ScoreSource::Vendor)
            .osv_entry(&entry("CVSS_V3", V4_MEDIUM), ScoreSource::Vendor)
            .osv_entry(&entry("CVSS_V5", "CVSS:5.0/AV:N"), ScoreSource::Vendor)
            .osv_entry(&entry("Ubuntu", "whenever"), ScoreSource::Vendor)
            .osv_entry(&entry("CVSS_V2", V31_MEDIUM), ScoreSource::Vendor);
        let n = b.finish();
        assert_eq!(
            n.warnings,
            [
                SeverityWarning::BadVector {
                    kind: "CVSS_V3".into(),
                    vector: "CVSS:3.1/AV:N/AC:L".into(),
                    error: CvssError::MissingMetric { metric: "PR" },
                },
                SeverityWarning::VersionMismatch {
                    kind: "CVSS_V3".into(),
                    found: CvssVersion::V4_0,
                },
                SeverityWarning::UnknownType {
                    kind: "CVSS_V5".into()
                },
                SeverityWarning::UnknownWord {
                    word: "whenever".into()
                },
                SeverityWarning::VersionMismatch {
                    kind: "CVSS_V2".into(),
                    found: CvssVersion::V3_1,
                },
            ]
        );
        assert_eq!(
            n.info.cvss.len(),
            2,
            "mismatched but valid vectors are kept"
        );
        assert_eq!(
            n.info.severity,
            Severity::Medium,
            "the v4 vector (6.9) decides"
        );
        assert_eq!(
            n.warnings[0].to_string(),
            "CVSS_V3 vector \"CVSS:3.1/AV:N/AC:L\" skipped: CVSS base metric PR is missing"
        );
        // A 10 KB score is refused before parsing and its echo stays short.
        let mut b = SeverityBuilder::new();
        b.osv_entry(&entry("CVSS_V3", &"Z".repeat(10_240)), ScoreSource::Vendor);
        let n = b.finish();
        let [SeverityWarning::BadVector { vector, error, .. }] = &n.warnings[..] else {
            panic!("one warning expected: {:?}", n.warnings);
        };
        assert_eq!(vector.len(), 24);
        assert!(matches!(error, CvssError::TooLong { len: 10_240, .. }));
    }

    #[test]
    fn ubuntu_record_dedupes_its_repeated_vector_and_uses_its_priority() {
        let r = record(include_str!("testdata/osv-UBUNTU-CVE-2021-3782.json"));
        let n = from_osv_record(&r, ScoreSource::Vendor);
        assert!(n.warnings.is_empty(), "{:?}", n.warnings);
        assert_eq!(n.info.severity, Severity::Medium);
        assert_eq!(
            n.info.cvss,
            [CvssScore {
                version: CvssVersion::V3_1,
                vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:H".into(),
                base: 6.6,
                exploitability: Some(1.8),
                impact: Some(4.7),
                source: ScoreSource::Vendor,
            }]
        );
    }

    #[test]
    fn ghsa_record_word_decides() {
        let r = record(include_str!("testdata/osv-GHSA-4w2v-q235-vp99.json"));
        let n = from_osv_record(&r, ScoreSource::Vendor);
        assert!(n.warnings.is_empty(), "{:?}", n.warnings);
        assert_eq!(n.info.severity, Severity::Medium, "MODERATE");
        assert_eq!(n.info.cvss.len(), 1);
        assert_eq!(n.info.cvss[0].version, CvssVersion::V3_1);
    }

    #[test]
    fn rustsec_v4_records_are_rated_from_cvss_b() {
        // E:U lowers the score as written to 1.7 (Low); the severity uses CVSS-B, 6.3.
        let r = record(include_str!("testdata/osv-RUSTSEC-2026-0066.json"));
        let n = from_osv_record(&r, ScoreSource::Vendor);
        assert!(n.warnings.is_empty(), "{:?}", n.warnings);
        let [score] = &n.info.cvss[..] else {
            panic!("one score expected: {:?}", n.info.cvss);
        };
        assert_eq!(score.version, CvssVersion::V4_0);
        assert_eq!(
            (score.base, score.exploitability, score.impact),
            (6.3, None, None)
        );
        assert_eq!(n.info.severity, Severity::Medium);
        // All impacts None: 0.0, Negligible.
        let r = record(include_str!("testdata/osv-RUSTSEC-2026-0024.json"));
        let n = from_osv_record(&r, ScoreSource::Vendor);
        assert_eq!(
            (n.info.cvss[0].base, n.info.severity),
            (0.0, Severity::Negligible)
        );
    }

    #[test]
    fn debian_urgency_in_ecosystem_specific_per_affected_entry() {
        let r = record(
            r#"{"id":"DEBIAN-CVE-2099-0001","affected":[
                {"package":{"ecosystem":"Debian:12","name":"a"},"ecosystem_specific":{"urgency":"low**"}},
                {"package":{"ecosystem":"Debian:11","name":"a"},"ecosystem_specific":{"urgency":"unimportant"}}
            ],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}"#,
        );
        assert_eq!(
            from_osv_record(&r, ScoreSource::Vendor).info.severity,
            Severity::Low
        );
        assert_eq!(
            from_osv_affected(&r, &r.affected[1], ScoreSource::Vendor)
                .info
                .severity,
            Severity::Negligible
        );
        let nvd = from_osv_affected(&r, &r.affected[0], ScoreSource::Nvd);
        assert_eq!(nvd.info.cvss[0].source, ScoreSource::Nvd);
    }

    #[test]
    fn serialises_for_the_store() {
        let mut b = SeverityBuilder::new();
        b.cvss_vector(V31_CRITICAL, ScoreSource::Nvd)
            .cvss_vector(V4_MEDIUM, ScoreSource::Vendor);
        let info = b.finish().info;
        let json = serde_json::to_value(&info).expect("serialise");
        assert_eq!(
            json,
            serde_json::json!({
                "severity": "Medium",
                "cvss": [
                    {"version": "3.1", "vector": V31_CRITICAL, "base": 9.8,
                     "exploitability": 3.9, "impact": 5.9, "source": "nvd"},
                    {"version": "4.0", "vector": V4_MEDIUM, "base": 6.9, "source": "vendor"},
                ]
            })
        );
        let back: SeverityInfo = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, info);
    }

    /// A `shared/vulndata` file as text, located (and skipped outside CI) the way every
    /// whole-file test locates it.
    fn vulndata(file: &str) -> Option<String> {
        crate::feeds::test_data::read(file)
            .map(|bytes| String::from_utf8(bytes).expect("shared/vulndata files are UTF-8"))
    }

    #[test]
    fn every_cvss_vector_of_the_real_osv_feeds_parses() {
        let mut checked = 0;
        for file in [
            "osv/pypi-pysec.jsonl",
            "osv/rustsec.jsonl",
            "osv/ghsa-npm-sample.jsonl",
        ] {
            let Some(text) = vulndata(file) else { return };
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let r = record(line);
                let all = r
                    .severity
                    .iter()
                    .chain(r.affected.iter().flat_map(|a| &a.severity));
                for entry in all {
                    let parsed = Cvss::parse(&entry.score)
                        .unwrap_or_else(|e| panic!("{file} {}: {:?}: {e}", r.id, entry.score));
                    let family = match parsed.version() {
                        CvssVersion::V2_0 => "CVSS_V2",
                        CvssVersion::V3_0 | CvssVersion::V3_1 => "CVSS_V3",
                        CvssVersion::V4_0 => "CVSS_V4",
                    };
                    assert_eq!(entry.kind, family, "{file} {}", r.id);
                    checked += 1;
                }
                let n = from_osv_record(&r, ScoreSource::Vendor);
                assert!(n.warnings.is_empty(), "{file} {}: {:?}", r.id, n.warnings);
                if !r.severity.is_empty() {
                    assert_ne!(n.info.severity, Severity::Unknown, "{file} {}", r.id);
                }
            }
        }
        // 202 PyPI + 417 RustSec + 8 GHSA entries (README of shared/vulndata).
        assert_eq!(checked, 627);
    }

    #[test]
    fn nvd_published_scores_match() {
        let mut checked = 0;
        for file in [
            "formats/nvd/nvd-api-2.0-page.sample.json",
            "formats/nvd/nvd-api-2.0-single.sample.json",
        ] {
            let Some(text) = vulndata(file) else { return };
            let page: serde_json::Value = serde_json::from_str(&text).expect("NVD JSON");
            let vulns = page["vulnerabilities"].as_array().expect("vulnerabilities");
            for vuln in vulns {
                let Some(metrics) = vuln["cve"]["metrics"].as_object() else {
                    continue;
                };
                for metric in metrics
                    .values()
                    .flat_map(|m| m.as_array().into_iter().flatten())
                {
                    let data = &metric["cvssData"];
                    let vector = data["vectorString"].as_str().expect("vectorString");
                    let score = CvssScore::from_vector(vector, ScoreSource::Nvd)
                        .unwrap_or_else(|e| panic!("{vector}: {e}"));
                    let published = (
                        data["baseScore"].as_f64(),
                        metric["exploitabilityScore"].as_f64(),
                        metric["impactScore"].as_f64(),
                    );
                    assert_eq!(
                        (Some(score.base), score.exploitability, score.impact),
                        published,
                        "{vector}"
                    );
                    let severity = data["baseSeverity"]
                        .as_str()
                        .or(metric["baseSeverity"].as_str())
                        .expect("baseSeverity");
                    assert_eq!(
                        score.severity().as_str().to_uppercase(),
                        severity,
                        "{vector}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 50);
    }
}
