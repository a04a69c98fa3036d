//! `info/NAME.list` (one path per line) and `info/NAME.md5sums` (`HEX  relative/path`).

use crate::model::{FileDigest, PackageFile};

pub(super) fn parse_list(text: &str) -> Vec<PackageFile> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| l.starts_with('/') && *l != "/." && *l != "/")
        .map(|l| PackageFile {
            path: l.to_owned(),
            digest: None,
        })
        .collect()
}

pub(super) fn parse_md5sums(text: &str) -> Vec<PackageFile> {
    text.lines()
        .filter_map(|l| {
            let (sum, path) = l.split_once(char::is_whitespace)?;
            let path = path.trim_start();
            if sum.len() != 32 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) || path.is_empty() {
                return None;
            }
            let path = if path.starts_with('/') {
                path.to_owned()
            } else {
                format!("/{path}")
            };
            Some(PackageFile {
                path,
                digest: Some(FileDigest {
                    algorithm: "md5".into(),
                    value: sum.to_ascii_lowercase(),
                }),
            })
        })
        .collect()
}
