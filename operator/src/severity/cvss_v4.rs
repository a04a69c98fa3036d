//! CVSS v4.0 vectors (`CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N`):
//! parsing and scoring with FIRST's MacroVector method (v4.0 specification §8 and the
//! reference calculator).
//!
//! How a v4 score is made: the metrics are folded into six equivalence classes (EQ1..EQ6, each
//! 0 = most severe); those six digits, the MacroVector, index a table of 270 scores fixed by
//! FIRST's experts. Within a MacroVector the vector is placed by its "severity distance" from
//! the most severe vectors of that MacroVector, and the score is lowered towards the next
//! lower MacroVector in proportion, averaged over the EQs that have a lower neighbour.
//!
//! Traps:
//! - There are no exploitability or impact subscores in v4.
//! - Omitted threat and environmental metrics are not neutral: `E:X` counts as `E:A`
//!   (attacked) and `CR/IR/AR:X` as `H`, the worst case. So CVSS-B (base only) is usually
//!   higher than a CVSS-BT score with `E:P` or `E:U`.
//! - `MSI:S`/`MSA:S` ("safety") exist only as modified subsequent-system values and put EQ4
//!   at 0; `SC` has no `S`.
//! - EQ3 and EQ6 are scored together: EQ3 = 2 implies EQ6 = 1, which is why the table has 270
//!   entries, not 324.
//! - All six impact metrics None scores 0.0 without any lookup.
//! - The calculator's arithmetic is IEEE double with a `+1e-6` before rounding to one decimal;
//!   we do the same operations in the same order so that halves round as FIRST's do.
//! - [`CvssV4::base_score`] is CVSS-B (threat and environmental metrics ignored, the score
//!   comparable with v3 base scores); [`CvssV4::score`] scores the vector as written
//!   (CVSS-B, -BT, -BE or -BTE, see [`CvssV4::nomenclature`]). Supplemental metrics never
//!   change a score.

use super::CvssRating;
use super::vector::{self, CvssError, MetricDef, Values};
use std::fmt;

const IMPACT_VALUES: &[&str] = &["H", "L", "N"];
const REQUIREMENT_VALUES: &[&str] = &["X", "H", "M", "L"];
const MODIFIED_IMPACT_VALUES: &[&str] = &["X", "H", "L", "N"];
const MODIFIED_SUBSEQUENT_VALUES: &[&str] = &["X", "S", "H", "L", "N"];

const AV: usize = 0;
const AC: usize = 1;
const AT: usize = 2;
const PR: usize = 3;
const UI: usize = 4;
const VC: usize = 5;
const VI: usize = 6;
const VA: usize = 7;
const SC: usize = 8;
const SI: usize = 9;
const SA: usize = 10;
const E: usize = 11;
const CR: usize = 12;
const IR: usize = 13;
const AR: usize = 14;
/// `MAV`; the modified metrics follow in base order (`MAV` .. `MSA`).
const FIRST_MODIFIED: usize = 15;
const LAST_ENVIRONMENTAL: usize = 25;

const METRICS: [MetricDef; 32] = [
    MetricDef::base("AV", &["N", "A", "L", "P"]),
    MetricDef::base("AC", &["L", "H"]),
    MetricDef::base("AT", &["N", "P"]),
    MetricDef::base("PR", &["N", "L", "H"]),
    MetricDef::base("UI", &["N", "P", "A"]),
    MetricDef::base("VC", IMPACT_VALUES),
    MetricDef::base("VI", IMPACT_VALUES),
    MetricDef::base("VA", IMPACT_VALUES),
    MetricDef::base("SC", IMPACT_VALUES),
    MetricDef::base("SI", IMPACT_VALUES),
    MetricDef::base("SA", IMPACT_VALUES),
    // Threat.
    MetricDef::optional("E", &["X", "A", "P", "U"]),
    // Environmental.
    MetricDef::optional("CR", REQUIREMENT_VALUES),
    MetricDef::optional("IR", REQUIREMENT_VALUES),
    MetricDef::optional("AR", REQUIREMENT_VALUES),
    MetricDef::optional("MAV", &["X", "N", "A", "L", "P"]),
    MetricDef::optional("MAC", &["X", "L", "H"]),
    MetricDef::optional("MAT", &["X", "N", "P"]),
    MetricDef::optional("MPR", &["X", "N", "L", "H"]),
    MetricDef::optional("MUI", &["X", "N", "P", "A"]),
    MetricDef::optional("MVC", MODIFIED_IMPACT_VALUES),
    MetricDef::optional("MVI", MODIFIED_IMPACT_VALUES),
    MetricDef::optional("MVA", MODIFIED_IMPACT_VALUES),
    MetricDef::optional("MSC", MODIFIED_IMPACT_VALUES),
    MetricDef::optional("MSI", MODIFIED_SUBSEQUENT_VALUES),
    MetricDef::optional("MSA", MODIFIED_SUBSEQUENT_VALUES),
    // Supplemental: validated, never scored.
    MetricDef::optional("S", &["X", "N", "P"]),
    MetricDef::optional("AU", &["X", "N", "Y"]),
    MetricDef::optional("R", &["X", "A", "U", "I"]),
    MetricDef::optional("V", &["X", "D", "C"]),
    MetricDef::optional("RE", &["X", "L", "M", "H"]),
    MetricDef::optional("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

/// A valid CVSS v4.0 vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvssV4 {
    values: Values<32>,
}

impl CvssV4 {
    pub fn parse(input: &str) -> Result<Self, CvssError> {
        let input = vector::checked(input)?;
        let Some(body) = input.strip_prefix("CVSS:4.0/") else {
            return Err(CvssError::WrongPrefix {
                expected: "CVSS:4.0/",
                found: vector::prefix_snippet(input),
            });
        };
        let values = vector::parse_metrics(body, &METRICS)?;
        Ok(Self { values })
    }

    /// The value of a metric as written (`"N"` for `AV:N`), `None` when absent or unknown.
    pub fn metric(&self, key: &str) -> Option<&'static str> {
        let slot = METRICS.iter().position(|d| d.key == key)?;
        self.value(slot)
    }

    fn value(&self, slot: usize) -> Option<&'static str> {
        let index = self.values[slot]?;
        METRICS[slot].values.get(usize::from(index)).copied()
    }

    /// `CVSS-B`, `CVSS-BT`, `CVSS-BE` or `CVSS-BTE`: which groups [`CvssV4::score`] uses.
    pub fn nomenclature(&self) -> &'static str {
        let defined = |slot: usize| self.value(slot).is_some_and(|v| v != "X");
        let threat = defined(E);
        let environmental = (CR..=LAST_ENVIRONMENTAL).any(defined);
        match (threat, environmental) {
            (false, false) => "CVSS-B",
            (true, false) => "CVSS-BT",
            (false, true) => "CVSS-BE",
            (true, true) => "CVSS-BTE",
        }
    }

    /// The CVSS-B score: base metrics only, as if threat and environmental metrics were `X`.
    pub fn base_score(&self) -> f64 {
        score(&self.effective(false))
    }

    /// The score of the vector as written, threat and environmental metrics included.
    pub fn score(&self) -> f64 {
        score(&self.effective(true))
    }

    pub fn base_rating(&self) -> CvssRating {
        CvssRating::from_score(self.base_score())
    }

    pub fn rating(&self) -> CvssRating {
        CvssRating::from_score(self.score())
    }

    /// The MacroVector (EQ1..EQ6) of the vector as written, e.g. `"002201"`.
    pub fn macro_vector(&self) -> String {
        macro_vector(&self.effective(true))
            .iter()
            .map(|d| char::from(b'0' + d))
            .collect()
    }

    /// The values that enter the score (the spec's "effective" values): a modified metric
    /// replaces its base metric unless `X`; `E:X` is `A` and `CR/IR/AR:X` are `H`.
    fn effective(&self, with_threat_and_environment: bool) -> Effective {
        let defined = |slot: usize| {
            self.value(slot)
                .filter(|v| with_threat_and_environment && *v != "X")
        };
        let base = |slot: usize| {
            defined(FIRST_MODIFIED + slot)
                .or_else(|| self.value(slot))
                .unwrap_or(METRICS[slot].values[0])
        };
        Effective {
            av: base(AV),
            ac: base(AC),
            at: base(AT),
            pr: base(PR),
            ui: base(UI),
            vc: base(VC),
            vi: base(VI),
            va: base(VA),
            sc: base(SC),
            si: base(SI),
            sa: base(SA),
            e: defined(E).unwrap_or("A"),
            cr: defined(CR).unwrap_or("H"),
            ir: defined(IR).unwrap_or("H"),
            ar: defined(AR).unwrap_or("H"),
        }
    }
}

impl fmt::Display for CvssV4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        vector::write_metrics(f, "CVSS:4.0/", &METRICS, &self.values)
    }
}

#[derive(Debug, Clone, Copy)]
struct Effective {
    av: &'static str,
    ac: &'static str,
    at: &'static str,
    pr: &'static str,
    ui: &'static str,
    vc: &'static str,
    vi: &'static str,
    va: &'static str,
    sc: &'static str,
    si: &'static str,
    sa: &'static str,
    e: &'static str,
    cr: &'static str,
    ir: &'static str,
    ar: &'static str,
}

/// EQ1..EQ6, the equivalence classes of the v4.0 specification §8.
fn macro_vector(m: &Effective) -> [u8; 6] {
    let eq1 = if m.av == "N" && m.pr == "N" && m.ui == "N" {
        0
    } else if (m.av == "N" || m.pr == "N" || m.ui == "N") && m.av != "P" {
        1
    } else {
        2
    };
    let eq2 = if m.ac == "L" && m.at == "N" { 0 } else { 1 };
    let eq3 = if m.vc == "H" && m.vi == "H" {
        0
    } else if m.vc == "H" || m.vi == "H" || m.va == "H" {
        1
    } else {
        2
    };
    // `S` reaches SI/SA only through MSI/MSA.
    let eq4 = if m.si == "S" || m.sa == "S" {
        0
    } else if m.sc == "H" || m.si == "H" || m.sa == "H" {
        1
    } else {
        2
    };
    let eq5 = match m.e {
        "U" => 2,
        "P" => 1,
        _ => 0,
    };
    let eq6 = if (m.cr == "H" && m.vc == "H")
        || (m.ir == "H" && m.vi == "H")
        || (m.ar == "H" && m.va == "H")
    {
        0
    } else {
        1
    };
    [eq1, eq2, eq3, eq4, eq5, eq6]
}

/// The most severe vectors of each EQ level (the calculator's `MAX_COMPOSED`), tried in this
/// order. EQ1: (AV, PR, UI).
const EQ1_MAX: [&[[&str; 3]]; 3] = [
    &[["N", "N", "N"]],
    &[["A", "N", "N"], ["N", "L", "N"], ["N", "N", "P"]],
    &[["P", "N", "N"], ["A", "L", "P"]],
];
/// EQ2: (AC, AT).
const EQ2_MAX: [&[[&str; 2]]; 2] = [&[["L", "N"]], &[["H", "N"], ["L", "P"]]];
/// EQ3 with EQ6, indexed `[eq3][eq6]`: (VC, VI, VA, CR, IR, AR).
const EQ3_EQ6_MAX: [[&[[&str; 6]]; 2]; 3] = [
    [
        &[["H", "H", "H", "H", "H", "H"]],
        &[
            ["H", "H", "L", "M", "M", "H"],
            ["H", "H", "H", "M", "M", "M"],
        ],
    ],
    [
        &[
            ["L", "H", "H", "H", "H", "H"],
            ["H", "L", "H", "H", "H", "H"],
        ],
        &[
            ["L", "H", "L", "H", "M", "H"],
            ["L", "H", "H", "H", "M", "M"],
            ["H", "L", "H", "M", "H", "M"],
            ["H", "L", "L", "M", "H", "H"],
            ["L", "L", "H", "H", "H", "M"],
        ],
    ],
    [&[], &[["L", "L", "L", "H", "H", "H"]]],
];
/// EQ4: (SC, SI, SA).
const EQ4_MAX: [[&str; 3]; 3] = [["H", "S", "S"], ["H", "H", "H"], ["L", "L", "L"]];
/// EQ5: E.
const EQ5_MAX: [&str; 3] = ["A", "P", "U"];

/// The depth of each MacroVector in severity-distance steps, plus one (`MAX_SEVERITY`).
const EQ1_DEPTH: [u8; 3] = [1, 4, 5];
const EQ2_DEPTH: [u8; 2] = [1, 2];
const EQ3_EQ6_DEPTH: [[u8; 2]; 3] = [[7, 6], [8, 8], [0, 10]];
const EQ4_DEPTH: [u8; 3] = [6, 5, 4];

/// The level of a value within its metric, in steps of 0.1 (`METRIC_LEVELS`). Kept as the
/// calculator's decimal literals: the distances are their IEEE differences.
fn level(metric: Metric, value: &str) -> f64 {
    match (metric, value) {
        (Metric::Av, "N") => 0.0,
        (Metric::Av, "A") => 0.1,
        (Metric::Av, "L") => 0.2,
        (Metric::Av, "P") => 0.3,
        (Metric::Pr | Metric::Ui, "N") => 0.0,
        (Metric::Pr, "L") | (Metric::Ui, "P") => 0.1,
        (Metric::Pr, "H") | (Metric::Ui, "A") => 0.2,
        (Metric::Ac, "L") | (Metric::At, "N") => 0.0,
        (Metric::Ac, "H") | (Metric::At, "P") => 0.1,
        (Metric::Vulnerable, "H") => 0.0,
        (Metric::Vulnerable, "L") => 0.1,
        (Metric::Vulnerable, "N") => 0.2,
        (Metric::Subsequent, "S") => 0.0,
        (Metric::Subsequent, "H") => 0.1,
        (Metric::Subsequent, "L") => 0.2,
        (Metric::Subsequent, "N") => 0.3,
        (Metric::Requirement, "H") => 0.0,
        (Metric::Requirement, "M") => 0.1,
        (Metric::Requirement, "L") => 0.2,
        (Metric::E, "A") => 0.0,
        (Metric::E, "P") => 0.1,
        (Metric::E, "U") => 0.2,
        // Not reachable with a parsed vector; NaN fails every `>= 0` test, as in the
        // calculator.
        _ => f64::NAN,
    }
}

#[derive(Debug, Clone, Copy)]
enum Metric {
    Av,
    Pr,
    Ui,
    Ac,
    At,
    Vulnerable,
    Subsequent,
    Requirement,
    E,
}

/// Severity distances of the to-be-scored vector from one most severe vector, summed per EQ.
#[derive(Debug, Clone, Copy)]
struct Distances {
    eq1: f64,
    eq2: f64,
    eq3_eq6: f64,
    eq4: f64,
    all_non_negative: bool,
}

fn distances(m: &Effective, max: &Effective) -> Distances {
    let d = |metric: Metric, value: &str, max_value: &str| {
        level(metric, value) - level(metric, max_value)
    };
    let av = d(Metric::Av, m.av, max.av);
    let pr = d(Metric::Pr, m.pr, max.pr);
    let ui = d(Metric::Ui, m.ui, max.ui);
    let ac = d(Metric::Ac, m.ac, max.ac);
    let at = d(Metric::At, m.at, max.at);
    let vc = d(Metric::Vulnerable, m.vc, max.vc);
    let vi = d(Metric::Vulnerable, m.vi, max.vi);
    let va = d(Metric::Vulnerable, m.va, max.va);
    // SC has no `S` level; the same table serves since `S` never reaches SC.
    let sc = d(Metric::Subsequent, m.sc, max.sc);
    let si = d(Metric::Subsequent, m.si, max.si);
    let sa = d(Metric::Subsequent, m.sa, max.sa);
    let cr = d(Metric::Requirement, m.cr, max.cr);
    let ir = d(Metric::Requirement, m.ir, max.ir);
    let ar = d(Metric::Requirement, m.ar, max.ar);
    let e = d(Metric::E, m.e, max.e);
    let all = [av, pr, ui, ac, at, vc, vi, va, sc, si, sa, cr, ir, ar, e];
    Distances {
        eq1: av + pr + ui,
        eq2: ac + at,
        eq3_eq6: vc + vi + va + cr + ir + ar,
        eq4: sc + si + sa,
        all_non_negative: all.iter().all(|x| *x >= 0.0),
    }
}

/// The first most severe vector of the MacroVector that the vector does not exceed, and the
/// distances from it. If none qualifies (not reachable) the calculator keeps the last one
/// tried; so do we.
fn distances_from_max(m: &Effective, eq: [u8; 6]) -> Option<Distances> {
    let [eq1, eq2, eq3, eq4, eq5, eq6] = eq.map(usize::from);
    let mut last = None;
    for [av, pr, ui] in EQ1_MAX.get(eq1)?.iter() {
        for [ac, at] in EQ2_MAX.get(eq2)?.iter() {
            for [vc, vi, va, cr, ir, ar] in EQ3_EQ6_MAX.get(eq3)?.get(eq6)?.iter() {
                let [sc, si, sa] = EQ4_MAX.get(eq4)?;
                let e = EQ5_MAX.get(eq5)?;
                let max = Effective {
                    av,
                    ac,
                    at,
                    pr,
                    ui,
                    vc,
                    vi,
                    va,
                    sc,
                    si,
                    sa,
                    e,
                    cr,
                    ir,
                    ar,
                };
                let d = distances(m, &max);
                if d.all_non_negative {
                    return Some(d);
                }
                last = Some(d);
            }
        }
    }
    last
}

fn score(m: &Effective) -> f64 {
    if [m.vc, m.vi, m.va, m.sc, m.si, m.sa]
        .iter()
        .all(|v| *v == "N")
    {
        return 0.0;
    }
    let eq = macro_vector(m);
    let Some(value) = lookup(eq) else {
        // Every reachable MacroVector is in the table (tested exhaustively).
        return 0.0;
    };
    let [eq1, eq2, eq3, eq4, _, eq6] = eq;
    let lower = |index: usize| {
        let mut next = eq;
        next[index] += 1;
        lookup(next)
    };
    let lower_eq3_eq6 = match (eq3, eq6) {
        (0 | 1, 1) => lower(2),
        (1, 0) => lower(5),
        // Two lower neighbours: the higher scoring one.
        (0, 0) => match (lower(5), lower(2)) {
            (Some(left), Some(right)) => Some(left.max(right)),
            _ => None,
        },
        // EQ3 = 2, EQ6 = 1 is the bottom.
        _ => None,
    };
    let Some(d) = distances_from_max(m, eq) else {
        return 0.0;
    };
    let step = 0.1;
    let depth = |n: u8| f64::from(n) * step;
    let eq3_eq6_depth = EQ3_EQ6_DEPTH
        .get(usize::from(eq3))
        .and_then(|row| row.get(usize::from(eq6)))
        .copied()
        .unwrap_or(0);
    // (score of the lower MacroVector, distance within this one, depth of this one)
    let per_eq = [
        (lower(0), d.eq1, depth(EQ1_DEPTH[usize::from(eq1)])),
        (lower(1), d.eq2, depth(EQ2_DEPTH[usize::from(eq2)])),
        (lower_eq3_eq6, d.eq3_eq6, depth(eq3_eq6_depth)),
        (lower(3), d.eq4, depth(EQ4_DEPTH[usize::from(eq4)])),
        // EQ5's distance is always 0: it counts in the mean but never lowers the score.
        (lower(4), 0.0, 1.0),
    ];
    let mut existing_lower = 0u8;
    let mut sum = 0.0;
    for (lower_score, distance, depth) in per_eq {
        if let Some(lower_score) = lower_score {
            existing_lower += 1;
            let available = value - lower_score;
            sum += available * (distance / depth);
        }
    }
    let mean = if existing_lower == 0 {
        0.0
    } else {
        sum / f64::from(existing_lower)
    };
    round_to_one_decimal((value - mean).clamp(0.0, 10.0))
}

/// The calculator's `roundToDecimalPlaces`: half up, after adding 1e-6 so that
/// `8.6 - 7.15 = 1.4499999999999993` rounds to 1.5.
fn round_to_one_decimal(x: f64) -> f64 {
    ((x + 1e-6) * 10.0).round() / 10.0
}

fn lookup(eq: [u8; 6]) -> Option<f64> {
    if eq.iter().any(|d| *d > 9) {
        return None;
    }
    let key = eq.map(|d| b'0' + d);
    MACRO_VECTOR_SCORES
        .binary_search_by(|(k, _)| k.cmp(&key))
        .ok()
        .map(|i| MACRO_VECTOR_SCORES[i].1)
}

/// FIRST's score for each MacroVector (EQ1..EQ6 as digits), sorted by key: the calculator's
/// `LOOKUP_TABLE`, a fact table of the v4.0 specification.
#[rustfmt::skip]
const MACRO_VECTOR_SCORES: [([u8; 6], f64); 270] = [
    (*b"000000", 10.0), (*b"000001", 9.9), (*b"000010", 9.8), (*b"000011", 9.5),
    (*b"000020", 9.5), (*b"000021", 9.2), (*b"000100", 10.0), (*b"000101", 9.6),
    (*b"000110", 9.3), (*b"000111", 8.7), (*b"000120", 9.1), (*b"000121", 8.1),
    (*b"000200", 9.3), (*b"000201", 9.0), (*b"000210", 8.9), (*b"000211", 8.0),
    (*b"000220", 8.1), (*b"000221", 6.8), (*b"001000", 9.8), (*b"001001", 9.5),
    (*b"001010", 9.5), (*b"001011", 9.2), (*b"001020", 9.0), (*b"001021", 8.4),
    (*b"001100", 9.3), (*b"001101", 9.2), (*b"001110", 8.9), (*b"001111", 8.1),
    (*b"001120", 8.1), (*b"001121", 6.5), (*b"001200", 8.8), (*b"001201", 8.0),
    (*b"001210", 7.8), (*b"001211", 7.0), (*b"001220", 6.9), (*b"001221", 4.8),
    (*b"002001", 9.2), (*b"002011", 8.2), (*b"002021", 7.2), (*b"002101", 7.9),
    (*b"002111", 6.9), (*b"002121", 5.0), (*b"002201", 6.9), (*b"002211", 5.5),
    (*b"002221", 2.7), (*b"010000", 9.9), (*b"010001", 9.7), (*b"010010", 9.5),
    (*b"010011", 9.2), (*b"010020", 9.2), (*b"010021", 8.5), (*b"010100", 9.5),
    (*b"010101", 9.1), (*b"010110", 9.0), (*b"010111", 8.3), (*b"010120", 8.4),
    (*b"010121", 7.1), (*b"010200", 9.2), (*b"010201", 8.1), (*b"010210", 8.2),
    (*b"010211", 7.1), (*b"010220", 7.2), (*b"010221", 5.3), (*b"011000", 9.5),
    (*b"011001", 9.3), (*b"011010", 9.2), (*b"011011", 8.5), (*b"011020", 8.5),
    (*b"011021", 7.3), (*b"011100", 9.2), (*b"011101", 8.2), (*b"011110", 8.0),
    (*b"011111", 7.2), (*b"011120", 7.0), (*b"011121", 5.9), (*b"011200", 8.4),
    (*b"011201", 7.0), (*b"011210", 7.1), (*b"011211", 5.2), (*b"011220", 5.0),
    (*b"011221", 3.0), (*b"012001", 8.6), (*b"012011", 7.5), (*b"012021", 5.2),
    (*b"012101", 7.1), (*b"012111", 5.2), (*b"012121", 2.9), (*b"012201", 6.3),
    (*b"012211", 2.9), (*b"012221", 1.7), (*b"100000", 9.8), (*b"100001", 9.5),
    (*b"100010", 9.4), (*b"100011", 8.7), (*b"100020", 9.1), (*b"100021", 8.1),
    (*b"100100", 9.4), (*b"100101", 8.9), (*b"100110", 8.6), (*b"100111", 7.4),
    (*b"100120", 7.7), (*b"100121", 6.4), (*b"100200", 8.7), (*b"100201", 7.5),
    (*b"100210", 7.4), (*b"100211", 6.3), (*b"100220", 6.3), (*b"100221", 4.9),
    (*b"101000", 9.4), (*b"101001", 8.9), (*b"101010", 8.8), (*b"101011", 7.7),
    (*b"101020", 7.6), (*b"101021", 6.7), (*b"101100", 8.6), (*b"101101", 7.6),
    (*b"101110", 7.4), (*b"101111", 5.8), (*b"101120", 5.9), (*b"101121", 5.0),
    (*b"101200", 7.2), (*b"101201", 5.7), (*b"101210", 5.7), (*b"101211", 5.2),
    (*b"101220", 5.2), (*b"101221", 2.5), (*b"102001", 8.3), (*b"102011", 7.0),
    (*b"102021", 5.4), (*b"102101", 6.5), (*b"102111", 5.8), (*b"102121", 2.6),
    (*b"102201", 5.3), (*b"102211", 2.1), (*b"102221", 1.3), (*b"110000", 9.5),
    (*b"110001", 9.0), (*b"110010", 8.8), (*b"110011", 7.6), (*b"110020", 7.6),
    (*b"110021", 7.0), (*b"110100", 9.0), (*b"110101", 7.7), (*b"110110", 7.5),
    (*b"110111", 6.2), (*b"110120", 6.1), (*b"110121", 5.3), (*b"110200", 7.7),
    (*b"110201", 6.6), (*b"110210", 6.8), (*b"110211", 5.9), (*b"110220", 5.2),
    (*b"110221", 3.0), (*b"111000", 8.9), (*b"111001", 7.8), (*b"111010", 7.6),
    (*b"111011", 6.7), (*b"111020", 6.2), (*b"111021", 5.8), (*b"111100", 7.4),
    (*b"111101", 5.9), (*b"111110", 5.7), (*b"111111", 5.7), (*b"111120", 4.7),
    (*b"111121", 2.3), (*b"111200", 6.1), (*b"111201", 5.2), (*b"111210", 5.7),
    (*b"111211", 2.9), (*b"111220", 2.4), (*b"111221", 1.6), (*b"112001", 7.1),
    (*b"112011", 5.9), (*b"112021", 3.0), (*b"112101", 5.8), (*b"112111", 2.6),
    (*b"112121", 1.5), (*b"112201", 2.3), (*b"112211", 1.3), (*b"112221", 0.6),
    (*b"200000", 9.3), (*b"200001", 8.7), (*b"200010", 8.6), (*b"200011", 7.2),
    (*b"200020", 7.5), (*b"200021", 5.8), (*b"200100", 8.6), (*b"200101", 7.4),
    (*b"200110", 7.4), (*b"200111", 6.1), (*b"200120", 5.6), (*b"200121", 3.4),
    (*b"200200", 7.0), (*b"200201", 5.4), (*b"200210", 5.2), (*b"200211", 4.0),
    (*b"200220", 4.0), (*b"200221", 2.2), (*b"201000", 8.5), (*b"201001", 7.5),
    (*b"201010", 7.4), (*b"201011", 5.5), (*b"201020", 6.2), (*b"201021", 5.1),
    (*b"201100", 7.2), (*b"201101", 5.7), (*b"201110", 5.5), (*b"201111", 4.1),
    (*b"201120", 4.6), (*b"201121", 1.9), (*b"201200", 5.3), (*b"201201", 3.6),
    (*b"201210", 3.4), (*b"201211", 1.9), (*b"201220", 1.9), (*b"201221", 0.8),
    (*b"202001", 6.4), (*b"202011", 5.1), (*b"202021", 2.0), (*b"202101", 4.7),
    (*b"202111", 2.1), (*b"202121", 1.1), (*b"202201", 2.4), (*b"202211", 0.9),
    (*b"202221", 0.4), (*b"210000", 8.8), (*b"210001", 7.5), (*b"210010", 7.3),
    (*b"210011", 5.3), (*b"210020", 6.0), (*b"210021", 5.0), (*b"210100", 7.3),
    (*b"210101", 5.5), (*b"210110", 5.9), (*b"210111", 4.0), (*b"210120", 4.1),
    (*b"210121", 2.0), (*b"210200", 5.4), (*b"210201", 4.3), (*b"210210", 4.5),
    (*b"210211", 2.2), (*b"210220", 2.0), (*b"210221", 1.1), (*b"211000", 7.5),
    (*b"211001", 5.5), (*b"211010", 5.8), (*b"211011", 4.5), (*b"211020", 4.0),
    (*b"211021", 2.1), (*b"211100", 6.1), (*b"211101", 5.1), (*b"211110", 4.8),
    (*b"211111", 1.8), (*b"211120", 2.0), (*b"211121", 0.9), (*b"211200", 4.6),
    (*b"211201", 1.8), (*b"211210", 1.7), (*b"211211", 0.7), (*b"211220", 0.8),
    (*b"211221", 0.2), (*b"212001", 5.3), (*b"212011", 2.4), (*b"212021", 1.4),
    (*b"212101", 2.4), (*b"212111", 1.2), (*b"212121", 0.5), (*b"212201", 1.0),
    (*b"212211", 0.3), (*b"212221", 0.1),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> CvssV4 {
        CvssV4::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn macro_vector_table_is_the_270_entry_fact_table() {
        assert!(
            MACRO_VECTOR_SCORES.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, no duplicate keys"
        );
        let mut present = 0;
        for eq1 in 0..3 {
            for eq2 in 0..2 {
                for eq3 in 0..3 {
                    for eq4 in 0..3 {
                        for eq5 in 0..3 {
                            for eq6 in 0..2 {
                                let score = lookup([eq1, eq2, eq3, eq4, eq5, eq6]);
                                // EQ3 = 2 (no high impact on the vulnerable system) forces EQ6 = 1.
                                assert_eq!(score.is_some(), !(eq3 == 2 && eq6 == 0));
                                if let Some(score) = score {
                                    assert!((0.1..=10.0).contains(&score));
                                    present += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(present, 270);
        assert_eq!(lookup([0, 0, 0, 0, 0, 0]), Some(10.0));
        assert_eq!(lookup([0, 0, 2, 2, 2, 1]), Some(2.7));
        assert_eq!(lookup([2, 1, 2, 2, 2, 1]), Some(0.1));
        assert_eq!(lookup([3, 0, 0, 0, 0, 0]), None);
    }

    /// Common vectors and the scores FIRST's calculator gives them (the first ones are those
    /// NVD and GitHub show most often).
    const PUBLISHED: &[(&str, f64)] = &[
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
            10.0,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.7,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
            8.7,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N",
            8.7,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.5,
        ),
        (
            "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            1.0,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
        ),
        // GHSA-mh6f-8j2x-4483 (shared/vulndata/formats/github), whose record has no v4 score.
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N",
            6.9,
        ),
    ];

    #[test]
    fn published_scores() {
        for &(vector, score) in PUBLISHED {
            let v = v4(vector);
            assert_eq!((v.base_score(), v.score()), (score, score), "{vector}");
            assert_eq!(v.nomenclature(), "CVSS-B");
        }
    }

    /// Every base vector: 4·2·2·3·3·3⁶ = 104 976.
    fn all_base_vectors() -> impl Iterator<Item = String> {
        let mut counters = [0usize; 11];
        let sizes = [4, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let mut v = String::from("CVSS:4.0/");
            for (slot, index) in counters.iter().enumerate() {
                if slot > 0 {
                    v.push('/');
                }
                v += METRICS[slot].key;
                v.push(':');
                v += METRICS[slot].values[*index];
            }
            // Odometer, last metric fastest.
            done = true;
            for slot in (0..11).rev() {
                counters[slot] += 1;
                if counters[slot] < sizes[slot] {
                    done = false;
                    break;
                }
                counters[slot] = 0;
            }
            Some(v)
        })
    }

    #[test]
    fn every_base_vector_matches_the_reference_calculator() {
        // FNV-1a of "vector\tscore\n" over all 104 976 base vectors in this order, as scored by
        // FIRST's reference calculator; the PyPI package cvss 3.6 gives the same list
        // (testdata/README.md).
        let mut rows = String::new();
        let mut n = 0;
        for vector in all_base_vectors() {
            let v = v4(&vector);
            let score = v.base_score();
            assert!((0.0..=10.0).contains(&score), "{vector}");
            assert!(
                lookup(macro_vector(&v.effective(false))).is_some(),
                "{vector}"
            );
            rows += &format!("{vector}\t{score:.1}\n");
            n += 1;
        }
        assert_eq!(n, 104_976);
        assert_eq!(vector::fnv1a(&rows), 0x42f5_00ec_67a2_c5a3);
    }

    fn golden(text: &str) -> Vec<(&str, f64, f64)> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                let [vector, base, score] = cols[..] else {
                    panic!("bad golden line {line:?}");
                };
                let number = |s: &str| s.parse::<f64>().expect("golden number");
                (vector, number(base), number(score))
            })
            .collect()
    }

    #[test]
    fn threat_and_environmental_vectors_match_the_reference_calculator() {
        let rows = golden(include_str!("testdata/cvss_v4_golden.tsv"));
        assert_eq!(rows.len(), 150);
        for (vector, base, score) in rows {
            let v = v4(vector);
            assert_eq!((v.base_score(), v.score()), (base, score), "{vector}");
            assert_eq!(v.to_string(), vector, "canonical order round-trips");
        }
    }

    #[test]
    fn rustsec_vectors_match_the_reference_calculator() {
        let rows = golden(include_str!("testdata/cvss_v4_rustsec.tsv"));
        assert_eq!(rows.len(), 39);
        for (vector, base, score) in rows {
            let v = v4(vector);
            assert_eq!((v.base_score(), v.score()), (base, score), "{vector}");
        }
        // An unproven exploit lowers the score as written but not CVSS-B.
        let v = v4("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N/E:P");
        assert_eq!(
            (v.base_score(), v.score(), v.nomenclature()),
            (6.9, 5.5, "CVSS-BT")
        );
        assert_eq!(v.base_rating(), CvssRating::Medium);
    }

    #[test]
    fn modified_metrics_follow_base_order() {
        // `effective` finds a base metric's modified twin at FIRST_MODIFIED + slot.
        for slot in AV..=SA {
            assert_eq!(
                METRICS[FIRST_MODIFIED + slot].key,
                format!("M{}", METRICS[slot].key)
            );
        }
        assert_eq!(METRICS[LAST_ENVIRONMENTAL].key, "MSA");
        assert_eq!(
            (METRICS[E].key, METRICS[CR].key, METRICS[AR].key),
            ("E", "CR", "AR")
        );
    }

    #[test]
    fn effective_values() {
        let base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        let plain = v4(base);
        assert_eq!(plain.macro_vector(), "000200");
        // X is "not defined": E:X is E:A, CR:X is CR:H; the score does not move.
        let explicit_x = v4(&format!("{base}/E:X/CR:X/MAV:X/MSI:X"));
        assert_eq!(explicit_x.score(), plain.score());
        assert_eq!(explicit_x.nomenclature(), "CVSS-B");
        // Supplemental metrics never change a score.
        let supplemental = v4(&format!("{base}/S:P/AU:Y/R:I/V:C/RE:H/U:Red"));
        assert_eq!(supplemental.score(), plain.score());
        assert_eq!(supplemental.metric("U"), Some("Red"));
        // MSI:S (safety) puts EQ4 at 0 only through the environmental group.
        let safety = v4(&format!("{base}/MSI:S"));
        assert_eq!(safety.macro_vector(), "000000");
        assert_eq!((safety.base_score(), safety.score()), (9.3, 10.0));
        assert_eq!(safety.nomenclature(), "CVSS-BE");
        // A modified metric replaces its base metric.
        let local = v4(&format!("{base}/E:U/MAV:P"));
        assert_eq!(local.macro_vector(), "200220");
        assert_eq!(local.nomenclature(), "CVSS-BTE");
        assert_eq!((local.base_score(), local.score()), (9.3, 4.0));
        // No impact at all is 0.0 whatever the rest says.
        let none = v4("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N/E:A");
        assert_eq!((none.score(), none.rating()), (0.0, CvssRating::None));
    }

    #[test]
    fn rounding_adds_the_calculators_epsilon() {
        assert_eq!(round_to_one_decimal(8.6 - 7.15), 1.5);
        assert_eq!(round_to_one_decimal(4.25), 4.3);
        assert_eq!(round_to_one_decimal(4.945_833_333_333_333), 4.9);
    }

    #[test]
    fn bad_vectors_give_exact_errors() {
        let base = "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        let garbage = format!("CVSS:4.0/{base}/{}", "E:A/".repeat(2500));
        let table: Vec<(String, CvssError)> = vec![
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N".into(),
                CvssError::MissingMetric { metric: "SA" },
            ),
            (
                "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into(),
                CvssError::MissingMetric { metric: "AT" },
            ),
            (
                format!("CVSS:4.0/{base}/E:A/E:P"),
                CvssError::DuplicateMetric { metric: "E" },
            ),
            (
                format!("CVSS:4.0/{base}/VC:L"),
                CvssError::DuplicateMetric { metric: "VC" },
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:S/SI:N/SA:N".into(),
                CvssError::UnknownValue {
                    metric: "SC",
                    value: "S".into(),
                },
            ),
            (
                format!("CVSS:4.0/{base}/U:amber"),
                CvssError::UnknownValue {
                    metric: "U",
                    value: "amber".into(),
                },
            ),
            (
                // A v3 vector under a v4 prefix: UI:R does not exist in v4.
                "CVSS:4.0/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H".into(),
                CvssError::UnknownValue {
                    metric: "UI",
                    value: "R".into(),
                },
            ),
            (
                format!("CVSS:4.0/{base}/MS:U"),
                CvssError::UnknownMetric {
                    metric: "MS".into(),
                },
            ),
            (
                format!("CVSS:3.1/{base}"),
                CvssError::WrongPrefix {
                    expected: "CVSS:4.0/",
                    found: "CVSS:3.1".into(),
                },
            ),
            (
                format!("CVSS:4.1/{base}"),
                CvssError::WrongPrefix {
                    expected: "CVSS:4.0/",
                    found: "CVSS:4.1".into(),
                },
            ),
            (
                garbage.clone(),
                CvssError::TooLong {
                    len: garbage.len(),
                    max: vector::MAX_VECTOR_LEN,
                },
            ),
            ("\t".into(), CvssError::Empty),
        ];
        for (input, want) in &table {
            assert_eq!(CvssV4::parse(input).as_ref(), Err(want), "{input:.70}");
        }
    }
}
