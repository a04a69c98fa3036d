//! The `.dep-v0` section: zlib-compressed JSON
//! `{"packages":[{"name","version","source","kind","dependencies":[i...],"root"}]}`.

use object::{Object, ObjectSection};
use serde::Deserialize;
use std::io::Read;

/// Largest inflated JSON accepted. Real ones are a few KiB to a few hundred KiB.
pub(crate) const MAX_JSON: u64 = 8 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct CrateRecord {
    pub(crate) name: String,
    pub(crate) version: String,
    #[serde(default)]
    pub(crate) source: Option<String>,
    #[serde(default)]
    pub(crate) kind: DependencyKind,
    #[serde(default)]
    pub(crate) root: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DependencyKind {
    #[default]
    Runtime,
    Build,
}

#[derive(Deserialize)]
struct DepInfo {
    packages: Vec<CrateRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DepInfoError {
    #[error("cargo-auditable data: {0}")]
    Section(String),
    #[error("cargo-auditable data is not valid zlib: {0}")]
    Inflate(String),
    #[error("cargo-auditable data inflates to more than {MAX_JSON} bytes")]
    TooLarge,
    #[error("cargo-auditable data is not the expected JSON: {0}")]
    Json(String),
}

/// `Ok(None)` when `bin` is not an executable with a `.dep-v0` section.
pub(crate) fn read_dep_info(bin: &[u8]) -> Result<Option<Vec<CrateRecord>>, DepInfoError> {
    let Ok(file) = object::File::parse(bin) else {
        return Ok(None);
    };
    let Some(section) = file.section_by_name(".dep-v0") else {
        return Ok(None);
    };
    let compressed = section
        .data()
        .map_err(|e| DepInfoError::Section(e.to_string()))?;
    decode(compressed).map(Some)
}

/// Inflates (at most [`MAX_JSON`] bytes) and parses the section's content.
pub(crate) fn decode(compressed: &[u8]) -> Result<Vec<CrateRecord>, DepInfoError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| DepInfoError::Inflate(e.to_string()))?;
    if json.len() as u64 > MAX_JSON {
        return Err(DepInfoError::TooLarge);
    }
    let info: DepInfo =
        serde_json::from_slice(&json).map_err(|e| DepInfoError::Json(e.to_string()))?;
    Ok(info.packages)
}

#[cfg(test)]
pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("write to memory");
    e.finish().expect("finish in memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::golang::test_elf::{ElfSpec, Section, build};

    const JSON: &str = r#"{"packages":[
        {"name":"itoa","version":"1.0.11","source":"crates.io"},
        {"name":"demo","version":"0.1.0","source":"local","dependencies":[0,2],"root":true},
        {"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}
    ],"format":1}"#;

    fn elf_with(section: &[u8]) -> Vec<u8> {
        build(&ElfSpec {
            is_64: true,
            big_endian: false,
            base: 0x1_0000,
            payload: b"",
            sections: &[Section {
                name: ".dep-v0",
                data: section,
            }],
            section_table: true,
        })
        .0
    }

    #[test]
    fn reads_the_section() {
        let records = read_dep_info(&elf_with(&zlib(JSON.as_bytes())))
            .expect("valid")
            .expect("present");
        let got: Vec<(&str, &str, Option<&str>, DependencyKind, bool)> = records
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.version.as_str(),
                    r.source.as_deref(),
                    r.kind,
                    r.root,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "itoa",
                    "1.0.11",
                    Some("crates.io"),
                    DependencyKind::Runtime,
                    false
                ),
                (
                    "demo",
                    "0.1.0",
                    Some("local"),
                    DependencyKind::Runtime,
                    true
                ),
                (
                    "cc",
                    "1.0.0",
                    Some("crates.io"),
                    DependencyKind::Build,
                    false
                ),
            ]
        );
    }

    #[test]
    fn bad_data_is_an_error_not_a_panic() {
        assert!(matches!(decode(b"not zlib"), Err(DepInfoError::Inflate(_))));
        assert!(matches!(
            decode(&zlib(b"{\"packages\": 3}")),
            Err(DepInfoError::Json(_))
        ));
        let truncated = zlib(JSON.as_bytes());
        assert!(decode(&truncated[..truncated.len() / 2]).is_err());
        // A zlib bomb: 9 MiB of spaces before the JSON compress to a few KiB.
        let mut big = vec![b' '; 9 << 20];
        big.extend_from_slice(JSON.as_bytes());
        let bomb = zlib(&big);
        assert!(bomb.len() < 64 << 10);
        assert_eq!(decode(&bomb), Err(DepInfoError::TooLarge));
    }

    #[test]
    fn binaries_without_the_section() {
        assert_eq!(read_dep_info(b"\x7fELF"), Ok(None));
        let (plain, _) = build(&ElfSpec {
            is_64: false,
            big_endian: true,
            base: 0x1_0000,
            payload: b"",
            sections: &[Section {
                name: ".data",
                data: b"x",
            }],
            section_table: true,
        });
        assert_eq!(read_dep_info(&plain), Ok(None));
    }
}
