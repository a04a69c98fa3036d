//! The `KEY:VALUE/KEY:VALUE` grammar every CVSS version shares, checked against a table of
//! the version's metrics.
//!
//! Traps: metric keys and values are case-sensitive (`AV:N`, never `av:n`); v4 has multi-letter
//! values (`U:Amber`); a base metric may appear only once; the optional metrics accept `X`
//! ("not defined"). We accept metrics in any order (the meaning does not depend on it and some
//! producers reorder), but nothing else is relaxed. Input is capped at [`MAX_VECTOR_LEN`]
//! bytes before any work, and error values carry at most [`SNIPPET_CHARS`] characters of it.

/// The longest vector accepted. A v4 vector with every optional metric is about 220 bytes.
pub const MAX_VECTOR_LEN: usize = 512;

/// How many characters of offending input an error keeps.
const SNIPPET_CHARS: usize = 24;

/// Why a CVSS vector was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CvssError {
    #[error("empty CVSS vector")]
    Empty,
    #[error("CVSS vector of {len} bytes is longer than the {max}-byte limit")]
    TooLong { len: usize, max: usize },
    #[error("CVSS vector starts with {found:?}, expected {expected}")]
    WrongPrefix {
        expected: &'static str,
        found: String,
    },
    #[error("CVSS metric {found:?} is not KEY:VALUE")]
    MalformedMetric { found: String },
    #[error("unknown CVSS metric {metric:?}")]
    UnknownMetric { metric: String },
    #[error("CVSS metric {metric} has unknown value {value:?}")]
    UnknownValue { metric: &'static str, value: String },
    #[error("CVSS metric {metric} appears more than once")]
    DuplicateMetric { metric: &'static str },
    #[error("CVSS base metric {metric} is missing")]
    MissingMetric { metric: &'static str },
}

/// One metric of a version: its key, its values (in the order the version's tables index
/// them) and whether the vector must carry it (base metrics).
#[derive(Debug)]
pub(crate) struct MetricDef {
    pub(crate) key: &'static str,
    pub(crate) values: &'static [&'static str],
    pub(crate) required: bool,
}

impl MetricDef {
    pub(crate) const fn base(key: &'static str, values: &'static [&'static str]) -> Self {
        Self {
            key,
            values,
            required: true,
        }
    }

    pub(crate) const fn optional(key: &'static str, values: &'static [&'static str]) -> Self {
        Self {
            key,
            values,
            required: false,
        }
    }
}

/// For each metric of the table, the index of its value, or `None` when the vector omits it.
pub(crate) type Values<const N: usize> = [Option<u8>; N];

/// Checks the size of a whole vector and trims surrounding whitespace.
pub(crate) fn checked(input: &str) -> Result<&str, CvssError> {
    if input.len() > MAX_VECTOR_LEN {
        return Err(CvssError::TooLong {
            len: input.len(),
            max: MAX_VECTOR_LEN,
        });
    }
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(CvssError::Empty);
    }
    Ok(trimmed)
}

/// Parses the metrics after the version prefix.
pub(crate) fn parse_metrics<const N: usize>(
    body: &str,
    defs: &[MetricDef; N],
) -> Result<Values<N>, CvssError> {
    let mut values: Values<N> = [None; N];
    if !body.is_empty() {
        for part in body.split('/') {
            let Some((key, value)) = part.split_once(':') else {
                return Err(CvssError::MalformedMetric {
                    found: snippet(part),
                });
            };
            let Some(slot) = defs.iter().position(|d| d.key == key) else {
                return Err(if key.is_empty() || value.is_empty() {
                    CvssError::MalformedMetric {
                        found: snippet(part),
                    }
                } else {
                    CvssError::UnknownMetric {
                        metric: snippet(key),
                    }
                });
            };
            let def = &defs[slot];
            let Some(index) = def.values.iter().position(|v| *v == value) else {
                return Err(CvssError::UnknownValue {
                    metric: def.key,
                    value: snippet(value),
                });
            };
            if values[slot].is_some() {
                return Err(CvssError::DuplicateMetric { metric: def.key });
            }
            // Value lists have at most 6 entries.
            values[slot] = u8::try_from(index).ok();
        }
    }
    if let Some(def) = defs
        .iter()
        .zip(values.iter())
        .find_map(|(def, v)| (def.required && v.is_none()).then_some(def))
    {
        return Err(CvssError::MissingMetric { metric: def.key });
    }
    Ok(values)
}

/// The value index of a required metric. `parse_metrics` guarantees presence; the fallback
/// to the first value is never taken.
pub(crate) fn required<const N: usize>(values: &Values<N>, slot: usize) -> usize {
    values[slot].map_or(0, usize::from)
}

/// Writes the metrics present, in table order, after a prefix.
pub(crate) fn write_metrics<const N: usize>(
    f: &mut std::fmt::Formatter<'_>,
    prefix: &str,
    defs: &[MetricDef; N],
    values: &Values<N>,
) -> std::fmt::Result {
    f.write_str(prefix)?;
    let mut first = prefix.is_empty() || prefix.ends_with('/');
    for (def, value) in defs.iter().zip(values) {
        let Some(index) = value else { continue };
        let name = def.values.get(usize::from(*index)).copied().unwrap_or("?");
        if !first {
            f.write_str("/")?;
        }
        first = false;
        write!(f, "{}:{}", def.key, name)?;
    }
    Ok(())
}

/// The first characters of some offending input.
pub(crate) fn snippet(s: &str) -> String {
    s.chars().take(SNIPPET_CHARS).collect()
}

/// The text before the first `/`, shortened: what a wrong prefix error shows.
pub(crate) fn prefix_snippet(s: &str) -> String {
    snippet(s.split('/').next().unwrap_or(s))
}

/// FNV-1a (64 bit) of some text: how tests compare an exhaustive list of scores with the one an
/// independent implementation produced, without committing the list.
#[cfg(test)]
pub(crate) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: [MetricDef; 3] = [
        MetricDef::base("AV", &["N", "L"]),
        MetricDef::base("AC", &["L", "H"]),
        MetricDef::optional("U", &["X", "Clear", "Amber"]),
    ];

    #[test]
    fn parses_any_order_and_optional() {
        assert_eq!(
            parse_metrics("AC:H/U:Amber/AV:N", &DEFS),
            Ok([Some(0), Some(1), Some(2)])
        );
        assert_eq!(
            parse_metrics("AV:L/AC:L", &DEFS),
            Ok([Some(1), Some(0), None])
        );
    }

    #[test]
    fn rejects_with_exact_kinds() {
        let table: &[(&str, CvssError)] = &[
            ("AV:N", CvssError::MissingMetric { metric: "AC" }),
            ("", CvssError::MissingMetric { metric: "AV" }),
            (
                "AV:N/AV:N/AC:L",
                CvssError::DuplicateMetric { metric: "AV" },
            ),
            (
                "AV:N/AC:M",
                CvssError::UnknownValue {
                    metric: "AC",
                    value: "M".into(),
                },
            ),
            (
                "AV:n/AC:L",
                CvssError::UnknownValue {
                    metric: "AV",
                    value: "n".into(),
                },
            ),
            (
                "AV:N/AC:L/ZZ:Q",
                CvssError::UnknownMetric {
                    metric: "ZZ".into(),
                },
            ),
            (
                "AV:N/AC:L/",
                CvssError::MalformedMetric { found: "".into() },
            ),
            (
                "AV:N//AC:L",
                CvssError::MalformedMetric { found: "".into() },
            ),
            (
                "AVN/AC:L",
                CvssError::MalformedMetric {
                    found: "AVN".into(),
                },
            ),
            (":N/AC:L", CvssError::MalformedMetric { found: ":N".into() }),
        ];
        for (input, want) in table {
            assert_eq!(parse_metrics(input, &DEFS).as_ref(), Err(want), "{input}");
        }
    }

    #[test]
    fn checked_caps_before_work() {
        let garbage = "A".repeat(10 * 1024);
        assert_eq!(
            checked(&garbage),
            Err(CvssError::TooLong {
                len: 10 * 1024,
                max: MAX_VECTOR_LEN
            })
        );
        assert_eq!(checked("  \n"), Err(CvssError::Empty));
        assert_eq!(checked(" AV:N "), Ok("AV:N"));
        assert_eq!(snippet(&"é".repeat(100)).chars().count(), SNIPPET_CHARS);
    }
}
