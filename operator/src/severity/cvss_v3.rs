//! CVSS v3.0 and v3.1 vectors (`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`): parsing, base
//! score and the exploitability and impact subscores (Anchore's policy gate compares all
//! three).
//!
//! Traps:
//! - The prefix is mandatory and names the version; 3.0 and 3.1 share the formulas but not the
//!   Roundup. 3.0 rounds up with a plain `ceil(x * 10) / 10`, which floating point can push
//!   one tenth too high (`4.000000000000001` becomes 4.1); 3.1 (Appendix A) rounds an integer
//!   scaled by 100 000 instead. Each version is scored with its own Roundup. On the 2592 base
//!   vectors the two agree (tested), so the difference could only matter for temporal and
//!   environmental scores, which we do not compute.
//! - Privileges Required weighs more when Scope is Changed (L 0.68, H 0.5).
//! - The impact subscore of a Changed scope can be negative when C, I and A are all None; the
//!   base score is then 0.0 and we report an impact of 0.0.
//! - The spec rounds only the base score; the subscores NVD publishes (and Anchore compares)
//!   are rounded half-up to one decimal, not rounded up: `8.22*0.85*0.77*0.62*0.85 = 2.835`
//!   is published as 2.8. We do the same.
//! - Temporal and environmental metrics (`E`, `RL`, ..., `MA`) are accepted and validated, but
//!   only the base score is computed.

use super::vector::{self, CvssError, MetricDef, Values};
use super::{CvssRating, CvssVersion};
use std::fmt;

const AV: usize = 0;
const AC: usize = 1;
const PR: usize = 2;
const UI: usize = 3;
const S: usize = 4;
const C: usize = 5;
const I: usize = 6;
const A: usize = 7;

const IMPACT_VALUES: &[&str] = &["N", "L", "H"];
const MODIFIED_IMPACT_VALUES: &[&str] = &["X", "N", "L", "H"];
const REQUIREMENT_VALUES: &[&str] = &["X", "L", "M", "H"];

const METRICS: [MetricDef; 22] = [
    MetricDef::base("AV", &["N", "A", "L", "P"]),
    MetricDef::base("AC", &["L", "H"]),
    MetricDef::base("PR", &["N", "L", "H"]),
    MetricDef::base("UI", &["N", "R"]),
    MetricDef::base("S", &["U", "C"]),
    MetricDef::base("C", IMPACT_VALUES),
    MetricDef::base("I", IMPACT_VALUES),
    MetricDef::base("A", IMPACT_VALUES),
    // Temporal.
    MetricDef::optional("E", &["X", "U", "P", "F", "H"]),
    MetricDef::optional("RL", &["X", "O", "T", "W", "U"]),
    MetricDef::optional("RC", &["X", "U", "R", "C"]),
    // Environmental.
    MetricDef::optional("CR", REQUIREMENT_VALUES),
    MetricDef::optional("IR", REQUIREMENT_VALUES),
    MetricDef::optional("AR", REQUIREMENT_VALUES),
    MetricDef::optional("MAV", &["X", "N", "A", "L", "P"]),
    MetricDef::optional("MAC", &["X", "L", "H"]),
    MetricDef::optional("MPR", &["X", "N", "L", "H"]),
    MetricDef::optional("MUI", &["X", "N", "R"]),
    MetricDef::optional("MS", &["X", "U", "C"]),
    MetricDef::optional("MC", MODIFIED_IMPACT_VALUES),
    MetricDef::optional("MI", MODIFIED_IMPACT_VALUES),
    MetricDef::optional("MA", MODIFIED_IMPACT_VALUES),
];

// Weights, indexed like the value lists above (v3.1 spec §7.4).
const AV_WEIGHT: [f64; 4] = [0.85, 0.62, 0.55, 0.2];
const AC_WEIGHT: [f64; 2] = [0.77, 0.44];
const PR_WEIGHT_UNCHANGED: [f64; 3] = [0.85, 0.62, 0.27];
const PR_WEIGHT_CHANGED: [f64; 3] = [0.85, 0.68, 0.5];
const UI_WEIGHT: [f64; 2] = [0.85, 0.62];
const CIA_WEIGHT: [f64; 3] = [0.0, 0.22, 0.56];

/// A valid CVSS v3.0 or v3.1 vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvssV3 {
    version: CvssVersion,
    values: Values<22>,
}

impl CvssV3 {
    pub fn parse(input: &str) -> Result<Self, CvssError> {
        let input = vector::checked(input)?;
        let (version, body) = if let Some(body) = input.strip_prefix("CVSS:3.1/") {
            (CvssVersion::V3_1, body)
        } else if let Some(body) = input.strip_prefix("CVSS:3.0/") {
            (CvssVersion::V3_0, body)
        } else {
            return Err(CvssError::WrongPrefix {
                expected: "CVSS:3.0/ or CVSS:3.1/",
                found: vector::prefix_snippet(input),
            });
        };
        let values = vector::parse_metrics(body, &METRICS)?;
        Ok(Self { version, values })
    }

    /// [`CvssVersion::V3_0`] or [`CvssVersion::V3_1`].
    pub fn version(&self) -> CvssVersion {
        self.version
    }

    /// The value of a metric as written (`"N"` for `AV:N`), `None` when absent or unknown.
    pub fn metric(&self, key: &str) -> Option<&'static str> {
        let slot = METRICS.iter().position(|d| d.key == key)?;
        let index = self.values[slot]?;
        METRICS[slot].values.get(usize::from(index)).copied()
    }

    fn scope_changed(&self) -> bool {
        vector::required(&self.values, S) == 1
    }

    /// `8.22 × AV × AC × PR × UI`, unrounded.
    fn exploitability_raw(&self) -> f64 {
        let v = &self.values;
        let pr = if self.scope_changed() {
            PR_WEIGHT_CHANGED
        } else {
            PR_WEIGHT_UNCHANGED
        };
        8.22 * AV_WEIGHT[vector::required(v, AV)]
            * AC_WEIGHT[vector::required(v, AC)]
            * pr[vector::required(v, PR)]
            * UI_WEIGHT[vector::required(v, UI)]
    }

    /// The impact subscore, unrounded (negative for a changed scope without impact).
    fn impact_raw(&self) -> f64 {
        let v = &self.values;
        let iss = 1.0
            - (1.0 - CIA_WEIGHT[vector::required(v, C)])
                * (1.0 - CIA_WEIGHT[vector::required(v, I)])
                * (1.0 - CIA_WEIGHT[vector::required(v, A)]);
        if self.scope_changed() {
            7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
        } else {
            6.42 * iss
        }
    }

    /// The base score (spec §7.1), rounded up with this version's Roundup.
    pub fn base_score(&self) -> f64 {
        let impact = self.impact_raw();
        if impact <= 0.0 {
            return 0.0;
        }
        let exploitability = self.exploitability_raw();
        let sum = if self.scope_changed() {
            1.08 * (impact + exploitability)
        } else {
            impact + exploitability
        };
        self.roundup(sum.min(10.0))
    }

    /// The exploitability subscore rounded half-up to one decimal, as NVD publishes it.
    pub fn exploitability(&self) -> f64 {
        round_half_up(self.exploitability_raw())
    }

    /// The impact subscore rounded half-up to one decimal (0.0 when negative), as NVD
    /// publishes it.
    pub fn impact(&self) -> f64 {
        round_half_up(self.impact_raw().max(0.0))
    }

    pub fn rating(&self) -> CvssRating {
        CvssRating::from_score(self.base_score())
    }

    fn roundup(&self, x: f64) -> f64 {
        match self.version {
            CvssVersion::V3_0 => roundup_v30(x),
            _ => roundup_v31(x),
        }
    }
}

impl fmt::Display for CvssV3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.version {
            CvssVersion::V3_0 => "CVSS:3.0/",
            _ => "CVSS:3.1/",
        };
        vector::write_metrics(f, prefix, &METRICS, &self.values)
    }
}

/// v3.0 §8: "the smallest number, specified to one decimal place, that is equal to or
/// higher than its input".
fn roundup_v30(x: f64) -> f64 {
    (x * 10.0).ceil() / 10.0
}

/// v3.1 Appendix A: round to an integer at five decimals first, so that `4.000000000000001`
/// (floating-point noise) stays 4.0.
fn roundup_v31(x: f64) -> f64 {
    // Inputs are scores in [0, 10]: the product fits an i64 exactly.
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// Round half away from zero to one decimal (subscores are never negative here).
pub(crate) fn round_half_up(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v3(s: &str) -> CvssV3 {
        CvssV3::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// (vector, base, exploitability, impact). Examples of the CVSS v3.1 specification and its
    /// examples document (FIRST), and NVD-published scores.
    #[rustfmt::skip]
    const SPEC_AND_NVD: &[(&str, f64, f64, f64)] = &[
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, 3.9, 5.9),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0, 0.1, 0.0),
        // CVE-2013-1937 phpMyAdmin reflected XSS (scope changed).
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, 2.8, 2.7),
        // CVE-2013-0375 MySQL stored SQL injection (scope changed).
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4, 3.1, 2.7),
        // CVE-2014-3566 SSLv3 POODLE.
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, 1.6, 1.4),
        // CVE-2012-1516 VMware guest to host escape (scope changed, PR:L = 0.68).
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, 3.1, 6.0),
        // CVE-2009-0783 Apache Tomcat XML parser.
        ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2, 0.8, 3.4),
        // CVE-2014-0160 Heartbleed.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, 3.9, 3.6),
        // CVE-2008-1447 DNS cache poisoning (scope changed, only integrity).
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8, 2.2, 4.0),
        // CVE-2014-2005 Sophos disk encryption bypass (physical).
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8, 0.9, 5.9),
        // CVE-2010-0467 Joomla directory traversal (scope changed, C:L only).
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8, 3.9, 1.4),
        // CVE-2013-6014 Juniper proxy ARP (adjacent, scope changed).
        ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H", 9.3, 2.8, 5.8),
        // CVE-2014-9253 DokuWiki stored XSS.
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4, 2.3, 2.7),
        // CVE-2014-2019 iOS passcode bypass.
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", 4.6, 0.9, 3.6),
        // CVE-2014-0224 OpenSSL CCS injection.
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", 7.4, 2.2, 5.2),
        // NVD API 2.0 samples (shared/vulndata/formats/nvd), published with subscores.
        ("CVSS:3.1/AV:N/AC:L/PR:H/UI:R/S:C/C:L/I:L/A:N", 4.8, 1.7, 2.7),
        ("CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:C/C:H/I:L/A:N", 6.5, 1.3, 4.7),
        ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:N/I:N/A:H", 4.4, 0.8, 3.6),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:L", 7.1, 2.8, 3.7),
        ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:N/A:L", 2.7, 1.2, 1.4),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:L", 5.0, 1.6, 3.4),
        // Base scores published by Red Hat (shared/vulndata/formats/redhat): CVE-2023-4863,
        // CVE-2021-25220.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", 9.6, 2.8, 6.0),
        ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:N/I:H/A:N", 6.8, 2.3, 4.0),
    ];

    #[test]
    fn spec_examples_and_published_scores() {
        for &(vector, base, exploitability, impact) in SPEC_AND_NVD {
            let v = v3(vector);
            assert_eq!(
                (v.base_score(), v.exploitability(), v.impact()),
                (base, exploitability, impact),
                "{vector}"
            );
            // The same metrics under 3.0 score the same here (no Roundup noise in these).
            let as_30 = v3(&vector.replace("CVSS:3.1/", "CVSS:3.0/"));
            assert_eq!(as_30.base_score(), base, "{vector} as 3.0");
            assert_eq!(as_30.version(), CvssVersion::V3_0);
        }
    }

    #[test]
    fn roundup_functions() {
        assert_eq!(roundup_v31(4.02), 4.1);
        assert_eq!(roundup_v31(4.0), 4.0);
        assert_eq!(roundup_v31(4.000_000_000_000_001), 4.0);
        assert_eq!(roundup_v30(4.000_000_000_000_001), 4.1);
        assert_eq!(roundup_v31(0.0), 0.0);
        assert_eq!(roundup_v31(10.0), 10.0);
        assert_eq!(roundup_v31(9.81), 9.9);
        assert_eq!(roundup_v30(4.02), 4.1);
    }

    #[test]
    fn v30_and_v31_base_scores_agree_on_every_base_vector() {
        // 3.1's Roundup only removes floating-point noise; on the 2592 base vectors 3.0's plain
        // ceil meets none, so both versions must score every base vector alike.
        for v in all_base_vectors("CVSS:3.1/") {
            let v30 = v3(&v.replace("CVSS:3.1/", "CVSS:3.0/"));
            assert_eq!(v3(&v).base_score(), v30.base_score(), "{v}");
        }
    }

    #[test]
    fn every_base_vector_matches_an_independent_implementation() {
        // FNV-1a of "vector\tbase\texploitability\timpact\n" for all 2592 vectors in the
        // order below, as scored by the PyPI package cvss 3.6 (testdata/README.md).
        for (prefix, want) in [
            ("CVSS:3.1/", 0x378f_1f51_c16e_4305_u64),
            ("CVSS:3.0/", 0xe07e_e39b_5384_6a97),
        ] {
            let mut rows = String::new();
            for v in all_base_vectors(prefix) {
                let p = v3(&v);
                rows += &format!(
                    "{v}\t{:.1}\t{:.1}\t{:.1}\n",
                    p.base_score(),
                    p.exploitability(),
                    p.impact()
                );
            }
            assert_eq!(vector::fnv1a(&rows), want, "{prefix}");
        }
    }

    /// Every base vector: 4·2·3·2·2·3·3·3 = 2592.
    fn all_base_vectors(prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        for av in ["N", "A", "L", "P"] {
            for ac in ["L", "H"] {
                for pr in ["N", "L", "H"] {
                    for ui in ["N", "R"] {
                        for s in ["U", "C"] {
                            for c in ["N", "L", "H"] {
                                for i in ["N", "L", "H"] {
                                    for a in ["N", "L", "H"] {
                                        out.push(format!(
                                            "{prefix}AV:{av}/AC:{ac}/PR:{pr}/UI:{ui}/S:{s}/C:{c}/I:{i}/A:{a}"
                                        ));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_base_vector_scores_within_bounds_and_rates_consistently() {
        let all = all_base_vectors("CVSS:3.1/");
        assert_eq!(all.len(), 2592);
        for v in &all {
            let parsed = v3(v);
            let base = parsed.base_score();
            assert!((0.0..=10.0).contains(&base), "{v}: {base}");
            assert_eq!((base * 10.0).round() / 10.0, base, "{v}: one decimal");
            assert_eq!(parsed.to_string(), *v, "canonical form round-trips");
            let no_impact = v.ends_with("C:N/I:N/A:N");
            assert_eq!(base == 0.0, no_impact, "{v}");
        }
    }

    #[test]
    fn golden_scores_from_an_independent_implementation() {
        // testdata/cvss_v3_golden.tsv: vector, base, exploitability, impact, computed by the
        // `cvss` package from PyPI (see testdata/README.md) for a spread of 3.0 and 3.1 vectors:
        // the readable half of the exhaustive check above.
        let golden = include_str!("testdata/cvss_v3_golden.tsv");
        let mut n = 0;
        for line in golden
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            let [vector, base, exploitability, impact] = cols[..] else {
                panic!("bad golden line {line:?}");
            };
            let v = v3(vector);
            let parse = |s: &str| s.parse::<f64>().expect("golden number");
            assert_eq!(v.base_score(), parse(base), "{vector} base");
            assert_eq!(
                v.exploitability(),
                parse(exploitability),
                "{vector} exploitability"
            );
            assert_eq!(v.impact(), parse(impact), "{vector} impact");
            n += 1;
        }
        assert_eq!(n, 221, "golden file rows");
    }

    #[test]
    fn temporal_and_environmental_metrics_are_accepted_not_scored() {
        let v = v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/MAV:L/MS:X");
        assert_eq!(v.base_score(), 9.8);
        assert_eq!((v.metric("E"), v.metric("MS")), (Some("P"), Some("X")));
        assert_eq!(v.metric("MI"), None);
        assert_eq!(
            v.to_string(),
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/MAV:L/MS:X"
        );
        // Order does not matter.
        assert_eq!(
            v3("CVSS:3.1/S:U/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H").base_score(),
            9.8
        );
    }

    #[test]
    fn bad_vectors_give_exact_errors() {
        let base = "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let garbage = "CVSS:3.1/".to_string() + &"AV:N/".repeat(2048);
        let table: Vec<(String, CvssError)> = vec![
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H".into(),
                CvssError::MissingMetric { metric: "A" },
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H".into(),
                CvssError::MissingMetric { metric: "S" },
            ),
            (
                format!("CVSS:3.1/{base}/AV:L"),
                CvssError::DuplicateMetric { metric: "AV" },
            ),
            (
                format!("CVSS:3.1/{base}/E:P/E:P"),
                CvssError::DuplicateMetric { metric: "E" },
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:X".into(),
                CvssError::UnknownValue {
                    metric: "A",
                    value: "X".into(),
                },
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:P/S:U/C:H/I:H/A:H".into(),
                CvssError::UnknownValue {
                    metric: "UI",
                    value: "P".into(),
                },
            ),
            (
                format!("CVSS:3.1/{base}/AT:N"),
                CvssError::UnknownMetric {
                    metric: "AT".into(),
                },
            ),
            (
                base.to_string(),
                CvssError::WrongPrefix {
                    expected: "CVSS:3.0/ or CVSS:3.1/",
                    found: "AV:N".into(),
                },
            ),
            (
                format!("CVSS:3.2/{base}"),
                CvssError::WrongPrefix {
                    expected: "CVSS:3.0/ or CVSS:3.1/",
                    found: "CVSS:3.2".into(),
                },
            ),
            (
                format!("cvss:3.1/{base}"),
                CvssError::WrongPrefix {
                    expected: "CVSS:3.0/ or CVSS:3.1/",
                    found: "cvss:3.1".into(),
                },
            ),
            (
                "CVSS:3.1/".into(),
                CvssError::MissingMetric { metric: "AV" },
            ),
            (
                format!("CVSS:3.1/{base}/"),
                CvssError::MalformedMetric { found: "".into() },
            ),
            ("".into(), CvssError::Empty),
            (
                garbage.clone(),
                CvssError::TooLong {
                    len: garbage.len(),
                    max: vector::MAX_VECTOR_LEN,
                },
            ),
        ];
        for (input, want) in &table {
            assert_eq!(CvssV3::parse(input).as_ref(), Err(want), "{input:.60}");
        }
        let random_bytes: String = (0..10 * 1024u32)
            .map(|i| char::from(b' ' + ((i * 7919) % 95) as u8))
            .collect();
        assert!(matches!(
            CvssV3::parse(&random_bytes),
            Err(CvssError::TooLong { .. })
        ));
    }

    #[test]
    fn error_messages() {
        let err = CvssV3::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q").expect_err("Q");
        assert_eq!(err.to_string(), "CVSS metric A has unknown value \"Q\"");
        let err = CvssV3::parse("CVSS:3.1/AV:N").expect_err("short");
        assert_eq!(err.to_string(), "CVSS base metric AC is missing");
    }
}
