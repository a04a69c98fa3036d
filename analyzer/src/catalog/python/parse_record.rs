//! `RECORD` in a `.dist-info` directory: one CSV row per installed file,
//! `path,algorithm=digest,size` (PEP 376, PEP 627).
//!
//! Traps:
//! - Paths are relative to the directory that holds the `.dist-info` (site-packages), and
//!   scripts and data files climb out of it (`../../../bin/django-admin`).
//! - The digest is URL-safe base64 without padding, not hex.
//! - `RECORD` lists itself (and `.pyc` files) with empty digest and size.
//! - It is CSV: a path holding a comma or a quote is quoted, with `""` for a quote. The
//!   digest and size never hold a comma, so the row splits from the right.

use crate::layers::resolve_link_target;
use crate::model::{FileDigest, PackageFile};
use base64::Engine as _;

/// The files of one `RECORD`; `dist_info_dir` is the absolute path of its `.dist-info`
/// directory. Returns the files and how many rows had a digest we could not read.
pub fn parse_record(text: &str, dist_info_dir: &str) -> (Vec<PackageFile>, usize) {
    let mut files = Vec::new();
    let mut bad_digests = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.rsplitn(3, ',');
        let (Some(_size), Some(hash), Some(path)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let path = unquote(path);
        if path.is_empty() {
            continue;
        }
        let digest = if hash.is_empty() {
            None
        } else {
            let d = decode_digest(hash);
            if d.is_none() {
                bad_digests += 1;
            }
            d
        };
        files.push(PackageFile {
            // Resolved against site-packages, the parent of the .dist-info directory.
            path: resolve_link_target(dist_info_dir, &path),
            digest,
        });
    }
    (files, bad_digests)
}

/// `sha256=<urlsafe base64, no padding>` to a hex digest.
fn decode_digest(field: &str) -> Option<FileDigest> {
    let (algorithm, b64) = field.split_once('=')?;
    if algorithm.is_empty() || !algorithm.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64.trim_end_matches('='))
        .ok()?;
    (!raw.is_empty()).then(|| FileDigest {
        algorithm: algorithm.to_ascii_lowercase(),
        value: hex::encode(raw),
    })
}

/// A CSV field: `"a,""b"""` -> `a,"b"`; an unquoted field is taken as is.
fn unquote(field: &str) -> String {
    match field.strip_prefix('"').and_then(|f| f.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => field.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_to_absolute_paths_and_hex_digests() {
        let text = "requests/__init__.py,sha256=CfBVrS2i2DRqW4l_YWg0amv2aE40uzKipJOhl5f_ym4,4056\n\
            ../../../bin/django-admin,sha256=AAAA,10\n\
            \"odd,name\"\"q\"\".py\",,\n\
            requests-2.19.1.dist-info/RECORD,,\n\
            bad.py,sha256=!!!,1\n\
            nodigest.py,md5,1\n\
            \n\
            no-commas-at-all\n";
        let (files, bad) = parse_record(
            text,
            "/usr/lib/python3.11/site-packages/requests-2.19.1.dist-info",
        );
        let got: Vec<(&str, Option<(&str, &str)>)> = files
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.digest
                        .as_ref()
                        .map(|d| (d.algorithm.as_str(), d.value.as_str())),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "/usr/lib/python3.11/site-packages/requests/__init__.py",
                    Some((
                        "sha256",
                        "09f055ad2da2d8346a5b897f6168346a6bf6684e34bb32a2a493a19797ffca6e"
                    ))
                ),
                ("/usr/bin/django-admin", Some(("sha256", "000000"))),
                ("/usr/lib/python3.11/site-packages/odd,name\"q\".py", None),
                (
                    "/usr/lib/python3.11/site-packages/requests-2.19.1.dist-info/RECORD",
                    None
                ),
                ("/usr/lib/python3.11/site-packages/bad.py", None),
                ("/usr/lib/python3.11/site-packages/nodigest.py", None),
            ]
        );
        assert_eq!(bad, 2);
    }

    #[test]
    fn paths_never_climb_above_the_root() {
        let (files, _) = parse_record("../../../../../../etc/passwd,,\n", "/site/x-1.dist-info");
        assert_eq!(files[0].path, "/etc/passwd");
    }
}
