use super::package::packages;
use super::parse_buildinfo::read_build_info;
use super::parse_modinfo::parse_modinfo;
use crate::catalog::{Cataloger, FileRef, Parsed};

/// Go executables: any executable regular file; non-Go files cost one header check.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoBinaryCataloger;

impl Cataloger for GoBinaryCataloger {
    fn name(&self) -> &'static str {
        "go-binary"
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
        let raw = match read_build_info(content) {
            Ok(Some(raw)) => raw,
            Ok(None) => return Parsed::default(),
            Err(e) => return Parsed::warning(e.to_string()),
        };
        let (info, warnings) = parse_modinfo(&raw.modinfo);
        Parsed {
            packages: packages(&raw.go_version, &info, raw.goarch),
            owned_files: Vec::new(),
            warnings,
        }
    }
}

/// ELF, Mach-O (thin, either byte order and word size) or PE, by magic.
pub(crate) fn is_object_file(b: &[u8]) -> bool {
    let magic = b.get(..4).unwrap_or_default();
    magic == b"\x7fELF"
        || matches!(
            magic,
            [0xfe, 0xed, 0xfa, 0xce | 0xcf] | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
        )
        || magic.starts_with(b"MZ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::golang::test_elf::{ElfSpec, Section, build};

    fn file(mode: u32) -> FileRef<'static> {
        FileRef {
            path: "/usr/local/bin/tool",
            mode,
            size: 0,
        }
    }

    #[test]
    fn claims_executables_only() {
        assert!(GoBinaryCataloger.claims(&file(0o755)));
        assert!(GoBinaryCataloger.claims(&file(0o100)));
        assert!(!GoBinaryCataloger.claims(&file(0o644)));
    }

    #[test]
    fn magic_numbers() {
        assert!(is_object_file(b"\x7fELF\x02"));
        assert!(is_object_file(&[0xcf, 0xfa, 0xed, 0xfe]));
        assert!(is_object_file(b"MZ\x90\x00"));
        assert!(!is_object_file(b"#!/bin/sh"));
        assert!(
            !is_object_file(&[0xca, 0xfe, 0xba, 0xbe]),
            "fat Mach-O and Java classes"
        );
        assert!(!is_object_file(b""));
    }

    #[test]
    fn synthetic_binary_end_to_end() {
        let modinfo = "path\tex.com/cmd/x\nmod\tex.com\tv1.0.0\t\ndep\tex.com/dep\tv0.3.0\th1:d=\nbuild\tbad\n";
        let mut info = b"\xff Go buildinf:\x08\x02".to_vec();
        info.resize(32, 0);
        info.push(8);
        info.extend_from_slice(b"go1.22.1");
        let mut framed = vec![0u8; 16];
        framed.extend_from_slice(modinfo.as_bytes());
        framed.extend_from_slice(&[0u8; 16]);
        info.push(framed.len() as u8);
        info.extend_from_slice(&framed);
        let (bin, _) = build(&ElfSpec {
            is_64: true,
            big_endian: false,
            base: 0x40_0000,
            payload: b"",
            sections: &[Section {
                name: ".go.buildinfo",
                data: &info,
            }],
            section_table: true,
        });
        let parsed = GoBinaryCataloger.parse(&file(0o755), &bin);
        let got: Vec<(&str, &str)> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("ex.com/dep", "v0.3.0"),
                ("ex.com", "v1.0.0"),
                ("stdlib", "go1.22.1")
            ]
        );
        assert_eq!(
            parsed.warnings,
            ["build info line 4: malformed build setting"]
        );

        let mut broken = bin.clone();
        let at = broken
            .windows(8)
            .position(|w| w == b"go1.22.1")
            .expect("version is in the file");
        // The length byte becomes a two-byte varint with `g`: 13311 bytes, too long for a version.
        broken[at - 1] = 0xff;
        let parsed = GoBinaryCataloger.parse(&file(0o755), &broken);
        assert!(parsed.packages.is_empty());
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert_eq!(
            GoBinaryCataloger.parse(&file(0o755), b"#!/bin/sh\n"),
            Parsed::default()
        );
    }
}
