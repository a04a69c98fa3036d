//! Plain-text tables: aligned columns, two spaces apart, control characters escaped (names,
//! versions and feed errors come from images and feeds: an escape sequence in them would drive
//! the reader's terminal). Alignment counts characters, not bytes.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Writes `rows` (the header first) as aligned lines.
pub(crate) fn write_aligned<const N: usize>(out: &mut String, rows: &[[Cow<'_, str>; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < N {
                let pad = widths[i] - cell.chars().count();
                let _ = write!(line, "{cell}{:pad$}  ", "");
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// The string with control characters escaped (`\u{1b}`, `\n`).
pub(crate) fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// At most `max` characters, an ellipsis marking the cut.
pub(crate) fn shorten(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        return Cow::Borrowed(s);
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_by_characters_and_escapes_controls() {
        let rows = [
            [Cow::from("NAME"), Cow::from("V")],
            [clean("é\u{1b}[31m"), Cow::from("1")],
        ];
        let mut out = String::new();
        write_aligned(&mut out, &rows);
        assert_eq!(out, "NAME         V\né\\u{1b}[31m  1\n");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
