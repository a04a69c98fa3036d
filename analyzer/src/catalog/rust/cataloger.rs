use super::package::packages;
use super::parse_dep_info::read_dep_info;
use crate::catalog::golang::is_object_file;
use crate::catalog::{Cataloger, FileRef, Parsed};

/// Executables carrying `cargo auditable` dependency data.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustAuditCataloger;

impl Cataloger for RustAuditCataloger {
    fn name(&self) -> &'static str {
        "rust-audit"
    }

    fn claims(&self, file: &FileRef<'_>) -> bool {
        file.is_executable()
    }

    fn max_size(&self) -> u64 {
        256 << 20
    }

    fn parse(&self, _file: &FileRef<'_>, content: &[u8]) -> Parsed {
        if !is_object_file(content) {
            return Parsed::default();
        }
        match read_dep_info(content) {
            Ok(Some(records)) => {
                let mut warnings = Vec::new();
                let packages = packages(&records, &mut warnings);
                Parsed {
                    packages,
                    owned_files: Vec::new(),
                    warnings,
                }
            }
            Ok(None) => Parsed::default(),
            Err(e) => Parsed::warning(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::golang::test_elf::{ElfSpec, Section, build};
    use crate::catalog::rust::parse_dep_info::zlib;

    #[test]
    fn synthetic_binary_end_to_end() {
        let json =
            br#"{"packages":[{"name":"demo","version":"0.1.0","source":"local","root":true}]}"#;
        let data = zlib(json);
        let (bin, _) = build(&ElfSpec {
            is_64: true,
            big_endian: false,
            base: 0x1_0000,
            payload: b"",
            sections: &[Section {
                name: ".dep-v0",
                data: &data,
            }],
            section_table: true,
        });
        let f = FileRef {
            path: "/usr/bin/demo",
            mode: 0o755,
            size: bin.len() as u64,
        };
        assert!(RustAuditCataloger.claims(&f));
        let parsed = RustAuditCataloger.parse(&f, &bin);
        assert_eq!(parsed.packages.len(), 1);
        assert_eq!(parsed.packages[0].name, "demo");

        let (bad, _) = build(&ElfSpec {
            is_64: true,
            big_endian: false,
            base: 0x1_0000,
            payload: b"",
            sections: &[Section {
                name: ".dep-v0",
                data: b"junk",
            }],
            section_table: true,
        });
        let parsed = RustAuditCataloger.parse(&f, &bad);
        assert!(parsed.packages.is_empty());
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(
            RustAuditCataloger.parse(&f, b"#!/bin/sh\n"),
            Parsed::default()
        );
    }
}
