//! CVSS v2 vectors (`AV:N/AC:L/Au:N/C:P/I:P/A:P`), found in older NVD data and some OSV
//! `CVSS_V2` entries: parsing, base score and NVD's subscores.
//!
//! Traps:
//! - There is no version prefix; some producers wrap the vector in parentheses
//!   (`(AV:N/...)`), which we accept. A `CVSS:` prefix means another version: an error.
//! - `Au` is the one mixed-case key, and temporal/environmental values are words (`POC`,
//!   `ND`, `LM`), not single letters.
//! - The v2 guide rounds the base score to one decimal (half up), unlike v3's Roundup, and
//!   sets it to 0 when the impact is 0 (`f(Impact)`).
//! - v2 has no qualitative scale of its own. NVD's (Low 0.0-3.9, Medium 4.0-6.9, High
//!   7.0-10.0) is used; it has no Critical and rates 0.0 Low.

use super::cvss_v3::round_half_up;
use super::vector::{self, CvssError, MetricDef, Values};
use super::{CvssRating, Severity};
use std::fmt;

const AV: usize = 0;
const AC: usize = 1;
const AU: usize = 2;
const C: usize = 3;
const I: usize = 4;
const A: usize = 5;

const IMPACT_VALUES: &[&str] = &["N", "P", "C"];
const REQUIREMENT_VALUES: &[&str] = &["L", "M", "H", "ND"];

const METRICS: [MetricDef; 14] = [
    MetricDef::base("AV", &["L", "A", "N"]),
    MetricDef::base("AC", &["H", "M", "L"]),
    MetricDef::base("Au", &["M", "S", "N"]),
    MetricDef::base("C", IMPACT_VALUES),
    MetricDef::base("I", IMPACT_VALUES),
    MetricDef::base("A", IMPACT_VALUES),
    // Temporal.
    MetricDef::optional("E", &["U", "POC", "F", "H", "ND"]),
    MetricDef::optional("RL", &["OF", "TF", "W", "U", "ND"]),
    MetricDef::optional("RC", &["UC", "UR", "C", "ND"]),
    // Environmental.
    MetricDef::optional("CDP", &["N", "L", "LM", "MH", "H", "ND"]),
    MetricDef::optional("TD", &["N", "L", "M", "H", "ND"]),
    MetricDef::optional("CR", REQUIREMENT_VALUES),
    MetricDef::optional("IR", REQUIREMENT_VALUES),
    MetricDef::optional("AR", REQUIREMENT_VALUES),
];

// Weights of the v2 guide §3.2.1, indexed like the value lists.
const AV_WEIGHT: [f64; 3] = [0.395, 0.646, 1.0];
const AC_WEIGHT: [f64; 3] = [0.35, 0.61, 0.71];
const AU_WEIGHT: [f64; 3] = [0.45, 0.56, 0.704];
const CIA_WEIGHT: [f64; 3] = [0.0, 0.275, 0.660];

/// A valid CVSS v2 vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvssV2 {
    values: Values<14>,
}

impl CvssV2 {
    pub fn parse(input: &str) -> Result<Self, CvssError> {
        let input = vector::checked(input)?;
        if input.starts_with("CVSS:") {
            return Err(CvssError::WrongPrefix {
                expected: "no prefix (CVSS v2)",
                found: vector::prefix_snippet(input),
            });
        }
        let body = input
            .strip_prefix('(')
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or(input);
        let values = vector::parse_metrics(body, &METRICS)?;
        Ok(Self { values })
    }

    /// The value of a metric as written (`"POC"` for `E:POC`), `None` when absent or unknown.
    pub fn metric(&self, key: &str) -> Option<&'static str> {
        let slot = METRICS.iter().position(|d| d.key == key)?;
        let index = self.values[slot]?;
        METRICS[slot].values.get(usize::from(index)).copied()
    }

    fn impact_raw(&self) -> f64 {
        let v = &self.values;
        10.41
            * (1.0
                - (1.0 - CIA_WEIGHT[vector::required(v, C)])
                    * (1.0 - CIA_WEIGHT[vector::required(v, I)])
                    * (1.0 - CIA_WEIGHT[vector::required(v, A)]))
    }

    fn exploitability_raw(&self) -> f64 {
        let v = &self.values;
        20.0 * AV_WEIGHT[vector::required(v, AV)]
            * AC_WEIGHT[vector::required(v, AC)]
            * AU_WEIGHT[vector::required(v, AU)]
    }

    /// `round_to_1_decimal(((0.6 × Impact) + (0.4 × Exploitability) − 1.5) × f(Impact))`.
    pub fn base_score(&self) -> f64 {
        let impact = self.impact_raw();
        if impact == 0.0 {
            return 0.0;
        }
        round_half_up((0.6 * impact + 0.4 * self.exploitability_raw() - 1.5) * 1.176)
    }

    pub fn exploitability(&self) -> f64 {
        round_half_up(self.exploitability_raw())
    }

    pub fn impact(&self) -> f64 {
        round_half_up(self.impact_raw())
    }

    /// NVD's v2 rating: Low, Medium or High.
    pub fn severity(&self) -> Severity {
        match CvssRating::from_score(self.base_score()) {
            CvssRating::None | CvssRating::Low => Severity::Low,
            CvssRating::Medium => Severity::Medium,
            CvssRating::High | CvssRating::Critical => Severity::High,
        }
    }
}

impl fmt::Display for CvssV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        vector::write_metrics(f, "", &METRICS, &self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(s: &str) -> CvssV2 {
        CvssV2::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// (vector, base, exploitability, impact): the v2 guide's examples (§3.3) and NVD.
    const PUBLISHED: &[(&str, f64, f64, f64)] = &[
        // Guide §3.3.1 CVE-2002-0392 Apache chunked encoding.
        ("AV:N/AC:L/Au:N/C:N/I:N/A:C", 7.8, 10.0, 6.9),
        // Guide §3.3.2 CVE-2003-0818 Microsoft ASN.1.
        ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, 10.0, 10.0),
        // Guide §3.3.3 CVE-2003-0062 NOD32 buffer overflow.
        ("AV:L/AC:H/Au:N/C:C/I:C/A:C", 6.2, 1.9, 10.0),
        // NVD API 2.0 sample (shared/vulndata/formats/nvd).
        ("AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3, 8.6, 2.9),
        ("AV:N/AC:M/Au:N/C:P/I:P/A:P", 6.8, 8.6, 6.4),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, 10.0, 6.4),
        ("AV:N/AC:L/Au:N/C:N/I:N/A:N", 0.0, 10.0, 0.0),
    ];

    #[test]
    fn guide_examples_and_nvd_scores() {
        for &(vector, base, exploitability, impact) in PUBLISHED {
            let v = v2(vector);
            assert_eq!(
                (v.base_score(), v.exploitability(), v.impact()),
                (base, exploitability, impact),
                "{vector}"
            );
        }
        assert_eq!(v2("AV:N/AC:L/Au:N/C:C/I:C/A:C").severity(), Severity::High);
        assert_eq!(
            v2("AV:N/AC:M/Au:N/C:N/I:P/A:N").severity(),
            Severity::Medium
        );
        assert_eq!(v2("AV:N/AC:L/Au:N/C:N/I:N/A:N").severity(), Severity::Low);
    }

    #[test]
    fn golden_scores_from_an_independent_implementation() {
        // testdata/cvss_v2_golden.tsv: every third v2 base vector, scored by the `cvss`
        // package from PyPI (see testdata/README.md).
        let golden = include_str!("testdata/cvss_v2_golden.tsv");
        let mut n = 0;
        for line in golden
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            let [vector, base, exploitability, impact] = cols[..] else {
                panic!("bad golden line {line:?}");
            };
            let v = v2(vector);
            let parse = |s: &str| s.parse::<f64>().expect("golden number");
            assert_eq!(v.base_score(), parse(base), "{vector} base");
            assert_eq!(v.exploitability(), parse(exploitability), "{vector} expl");
            assert_eq!(v.impact(), parse(impact), "{vector} impact");
            n += 1;
        }
        assert_eq!(n, 243);
    }

    #[test]
    fn every_base_vector_matches_an_independent_implementation() {
        // FNV-1a of "vector\tbase\texploitability\timpact\n" over all 729 base vectors in
        // this order, from the same oracle as the golden file.
        let mut rows = String::new();
        let (impacts, mut n) = (["N", "P", "C"], 0);
        for av in ["L", "A", "N"] {
            for ac in ["H", "M", "L"] {
                for au in ["M", "S", "N"] {
                    for c in impacts {
                        for i in impacts {
                            for a in impacts {
                                let vector = format!("AV:{av}/AC:{ac}/Au:{au}/C:{c}/I:{i}/A:{a}");
                                let p = v2(&vector);
                                rows += &format!(
                                    "{vector}\t{:.1}\t{:.1}\t{:.1}\n",
                                    p.base_score(),
                                    p.exploitability(),
                                    p.impact()
                                );
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(n, 729);
        assert_eq!(vector::fnv1a(&rows), 0x0a24_4289_0635_05bb);
    }

    #[test]
    fn optional_metrics_and_parentheses() {
        let v = v2("(AV:N/AC:L/Au:N/C:P/I:P/A:P/E:POC/RL:OF/RC:C/CDP:LM/TD:H/CR:ND)");
        assert_eq!(v.base_score(), 7.5);
        assert_eq!((v.metric("E"), v.metric("CDP")), (Some("POC"), Some("LM")));
        assert_eq!(
            v.to_string(),
            "AV:N/AC:L/Au:N/C:P/I:P/A:P/E:POC/RL:OF/RC:C/CDP:LM/TD:H/CR:ND"
        );
    }

    #[test]
    fn bad_vectors_give_exact_errors() {
        let table: &[(&str, CvssError)] = &[
            (
                "AV:N/AC:L/C:P/I:P/A:P",
                CvssError::MissingMetric { metric: "Au" },
            ),
            (
                "AV:N/AC:L/Au:N/C:P/I:P/A:P/AV:L",
                CvssError::DuplicateMetric { metric: "AV" },
            ),
            (
                "AV:N/AC:L/AU:N/C:P/I:P/A:P",
                CvssError::UnknownMetric {
                    metric: "AU".into(),
                },
            ),
            (
                "AV:N/AC:L/Au:N/C:H/I:P/A:P",
                CvssError::UnknownValue {
                    metric: "C",
                    value: "H".into(),
                },
            ),
            (
                "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
                CvssError::WrongPrefix {
                    expected: "no prefix (CVSS v2)",
                    found: "CVSS:2.0".into(),
                },
            ),
            (
                "(AV:N/AC:L/Au:N/C:P/I:P/A:P",
                CvssError::UnknownMetric {
                    metric: "(AV".into(),
                },
            ),
            ("   ", CvssError::Empty),
        ];
        for (input, want) in table {
            assert_eq!(CvssV2::parse(input).as_ref(), Err(want), "{input}");
        }
        let garbage = "x".repeat(10 * 1024);
        assert_eq!(
            CvssV2::parse(&garbage),
            Err(CvssError::TooLong {
                len: 10 * 1024,
                max: vector::MAX_VECTOR_LEN
            })
        );
    }
}
