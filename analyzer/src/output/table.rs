//! A table for people: packages in aligned columns, a summary line, and where secrets are.
//!
//! Traps:
//! - Names, versions and paths come from the image: a control character in them (an escape
//!   sequence in a package name) would drive the reader's terminal. They are printed escaped.
//! - Secrets are listed by pattern and location only, never with the matched text, and a
//!   secret in a file that a later layer deleted is still in the image: it is listed, marked
//!   `not visible`.
//! - Alignment counts characters, not bytes, so non-ASCII names do not skew the columns.

use super::{Error, RenderCtx};
use crate::model::{Analysis, ContentHit, HitLocation};
use std::borrow::Cow;
use std::fmt::Write as _;

/// Line numbers shown per secret before the rest are summarised as `+N`.
const MAX_LINES_SHOWN: usize = 10;

/// Renders the packages, a summary and the secrets as plain text.
pub fn render(analysis: &Analysis, _ctx: &RenderCtx) -> Result<Vec<u8>, Error> {
    Ok(text(analysis).into_bytes())
}

fn text(analysis: &Analysis) -> String {
    let mut rows: Vec<[Cow<'_, str>; 4]> = analysis
        .packages
        .iter()
        .map(|p| {
            [
                clean(&p.name),
                clean(&p.version),
                Cow::Borrowed(p.kind.as_str()),
                Cow::Owned(p.introduced_layer.to_string()),
            ]
        })
        .collect();
    rows.sort_by(|a, b| {
        let layer = |r: &[Cow<'_, str>; 4]| r[3].parse::<usize>().unwrap_or(usize::MAX);
        (&a[0], &a[1], &a[2], layer(a)).cmp(&(&b[0], &b[1], &b[2], layer(b)))
    });
    let header = [
        Cow::Borrowed("NAME"),
        Cow::Borrowed("VERSION"),
        Cow::Borrowed("TYPE"),
        Cow::Borrowed("LAYER"),
    ];
    let mut out = String::new();
    write_aligned(&mut out, std::iter::once(&header).chain(rows.iter()));

    let hidden = analysis
        .secrets
        .iter()
        .filter(|s| matches!(s.location, HitLocation::File { visible: false, .. }))
        .count();
    let distro = match &analysis.distro {
        Some(d) => {
            let mut s = clean(&d.id).into_owned();
            if let Some(v) = &d.version_id {
                let _ = write!(s, " {}", clean(v));
            }
            if let Some(c) = &d.version_codename {
                let _ = write!(s, " ({})", clean(c));
            }
            s
        }
        None => "unknown distro".to_owned(),
    };
    let _ = write!(
        out,
        "\n{distro}, {} {}, {} {}",
        analysis.packages.len(),
        plural(analysis.packages.len(), "package", "packages"),
        analysis.secrets.len(),
        plural(analysis.secrets.len(), "secret", "secrets"),
    );
    if hidden > 0 {
        let _ = write!(out, " ({hidden} not visible)");
    }
    out.push('\n');

    if !analysis.secrets.is_empty() {
        let mut secrets: Vec<&ContentHit> = analysis.secrets.iter().collect();
        secrets.sort();
        let rows: Vec<[Cow<'_, str>; 2]> = secrets
            .iter()
            .map(|s| [clean(&s.pattern), Cow::Owned(secret_location(s))])
            .collect();
        out.push_str("\nSECRETS\n");
        write_aligned(&mut out, rows.iter());
    }
    out
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `path:1,2 (layer N)`, `path:1 (layer N, not visible)`, `env NAME`, `history entry N`.
fn secret_location(hit: &ContentHit) -> String {
    match &hit.location {
        HitLocation::File {
            path,
            layer,
            visible,
        } => {
            let mut s = clean(path).into_owned();
            if !hit.lines.is_empty() {
                let shown: Vec<String> = hit
                    .lines
                    .iter()
                    .take(MAX_LINES_SHOWN)
                    .map(u32::to_string)
                    .collect();
                let _ = write!(s, ":{}", shown.join(","));
                if hit.lines.len() > MAX_LINES_SHOWN {
                    let _ = write!(s, ",+{}", hit.lines.len() - MAX_LINES_SHOWN);
                }
            }
            let _ = write!(s, " (layer {layer}");
            if !visible {
                s.push_str(", not visible");
            }
            s.push(')');
            s
        }
        HitLocation::Env { name } => format!("env {}", clean(name)),
        HitLocation::History { index } => format!("history entry {index}"),
    }
}

/// Columns padded to the widest cell, two spaces apart, no trailing spaces.
fn write_aligned<'r, const N: usize>(
    out: &mut String,
    rows: impl Iterator<Item = &'r [Cow<'r, str>; N]> + Clone,
) {
    let mut widths = [0usize; N];
    for row in rows.clone() {
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
fn clean(s: &str) -> Cow<'_, str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Package, PackageKind};
    use crate::output::{Timestamp, fixture};

    fn ctx() -> RenderCtx {
        RenderCtx {
            tool_version: "0.0.0-test".into(),
            created: Timestamp::from_unix_seconds(0),
            seed: String::new(),
        }
    }

    fn rendered(a: &Analysis) -> String {
        String::from_utf8(render(a, &ctx()).expect("render")).expect("utf-8")
    }

    #[test]
    fn renders_packages_summary_and_secrets() {
        assert_eq!(
            rendered(&fixture::analysis()),
            "\
NAME               VERSION           TYPE       LAYER
@babel/core        7.24.0            npm        2
@babel/core        7.24.0            npm        2
bash               5.2.15-2+b7       deb        0
golang.org/x/text  v0.14.0           go-module  2
jackson-databind   2.17.0            java       2
libssl3            3.0.15-1~deb12u1  deb        0
openssl-libs       1:3.0.7-27.el9    rpm        1

debian 12 (bookworm), 7 packages, 3 secrets (1 not visible)

SECRETS
API_KEY         env SERVICE_TOKEN
AWS_ACCESS_KEY  /root/.aws/credentials:2,3 (layer 1, not visible)
PRIV_KEY        /etc/ssl/private/server.key:1 (layer 2)
"
        );
    }

    #[test]
    fn empty_analysis_still_has_a_header_and_summary() {
        let mut a = fixture::analysis();
        a.packages.clear();
        a.secrets.clear();
        a.distro = None;
        assert_eq!(
            rendered(&a),
            "NAME  VERSION  TYPE  LAYER\n\nunknown distro, 0 packages, 0 secrets\n"
        );
    }

    #[test]
    fn control_characters_are_escaped_and_wide_names_align() {
        let mut a = fixture::analysis();
        a.secrets.clear();
        a.packages = vec![
            Package::new(PackageKind::Python, "evil\u{1b}[2J", "1.0"),
            Package::new(PackageKind::Python, "żółw", "2.0"),
        ];
        let out = rendered(&a);
        assert!(!out.contains('\u{1b}'), "{out:?}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "evil\\u{1b}[2J  1.0      python  0");
        assert_eq!(lines[2], "żółw           2.0      python  0");
    }

    #[test]
    fn long_line_lists_are_cut() {
        let mut a = fixture::analysis();
        a.packages.clear();
        a.secrets = vec![ContentHit {
            pattern: "X".into(),
            location: HitLocation::History { index: 4 },
            lines: Vec::new(),
        }];
        let file_hit = ContentHit {
            pattern: "Y".into(),
            location: HitLocation::File {
                path: "/f".into(),
                layer: 0,
                visible: true,
            },
            lines: (1..=12).collect(),
        };
        a.secrets.push(file_hit);
        let out = rendered(&a);
        assert!(
            out.ends_with("X  history entry 4\nY  /f:1,2,3,4,5,6,7,8,9,10,+2 (layer 0)\n"),
            "{out}"
        );
    }
}
