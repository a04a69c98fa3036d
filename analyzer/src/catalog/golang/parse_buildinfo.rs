//! Finds the Go build info in an executable and returns its two strings: the Go version and
//! the module text. Format facts are in the parent module's documentation.

use object::{Object, ObjectSection, ObjectSegment};

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE: u8 = 0x2;
/// Longest Go version string accepted (`go1.22.0 X:boringcrypto` is 23 bytes).
const MAX_VERSION_LEN: u64 = 1 << 10;
/// Longest module text accepted; the largest real ones are a few hundred KiB.
const MAX_MODINFO_LEN: u64 = 16 << 20;
/// Module text starts and ends with 16 sentinel bytes; a `\n` precedes the closing one.
const SENTINEL_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawBuildInfo {
    pub(crate) go_version: String,
    /// Empty when the binary was built without module information.
    pub(crate) modinfo: String,
    /// The binary's machine as a `GOARCH` name, for binaries older than the `GOARCH` build
    /// setting (Go 1.18).
    pub(crate) goarch: Option<&'static str>,
}

/// Why build info that is present could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BuildInfoError {
    #[error("Go build info header is truncated")]
    TruncatedHeader,
    #[error("Go build info has pointer size {0}")]
    PointerSize(u8),
    #[error("Go build info {what} at {at:#x} is outside the file")]
    Unmapped { what: &'static str, at: u64 },
    #[error("Go build info {what} is {len} bytes long, more than {max}")]
    TooLong {
        what: &'static str,
        len: u64,
        max: u64,
    },
    #[error("Go build info {what} has a malformed length")]
    BadVarint { what: &'static str },
}

/// `Ok(None)` for anything that is not an executable with Go build info.
pub(crate) fn read_build_info(bin: &[u8]) -> Result<Option<RawBuildInfo>, BuildInfoError> {
    let Ok(file) = object::File::parse(bin) else {
        return Ok(None);
    };
    let Some(offset) = find_header(&file, bin) else {
        return Ok(None);
    };
    let header = bin
        .get(offset..)
        .and_then(|h| h.get(..HEADER_LEN))
        .ok_or(BuildInfoError::TruncatedHeader)?;
    let ptr_size = header[14];
    let flags = header[15];
    let (go_version, modinfo) = if flags & FLAG_INLINE != 0 {
        let mut pos = offset + HEADER_LEN;
        let version = inline_string(bin, &mut pos, "version", MAX_VERSION_LEN)?;
        let modinfo = inline_string(bin, &mut pos, "module text", MAX_MODINFO_LEN)?;
        (version, modinfo)
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return Err(BuildInfoError::PointerSize(ptr_size));
        }
        let mem = Memory {
            file: &file,
            ptr_size: usize::from(ptr_size),
            big_endian: flags & FLAG_BIG_ENDIAN != 0,
        };
        let ps = usize::from(ptr_size);
        let version_ptr = mem.word(&header[16..16 + ps]);
        let modinfo_ptr = mem.word(&header[16 + ps..16 + 2 * ps]);
        (
            mem.go_string(version_ptr, "version", MAX_VERSION_LEN)?,
            mem.go_string(modinfo_ptr, "module text", MAX_MODINFO_LEN)?,
        )
    };
    Ok(Some(RawBuildInfo {
        go_version: String::from_utf8_lossy(go_version).into_owned(),
        modinfo: String::from_utf8_lossy(strip_sentinels(modinfo)).into_owned(),
        goarch: goarch(&file),
    }))
}

fn goarch(file: &object::File<'_>) -> Option<&'static str> {
    use object::Architecture as A;
    let little = file.is_little_endian();
    Some(match file.architecture() {
        A::X86_64 => "amd64",
        A::I386 => "386",
        A::Aarch64 => "arm64",
        A::Arm => "arm",
        A::S390x => "s390x",
        A::Riscv64 => "riscv64",
        A::LoongArch64 => "loong64",
        A::PowerPc64 if little => "ppc64le",
        A::PowerPc64 => "ppc64",
        A::Mips64 if little => "mips64le",
        A::Mips64 => "mips64",
        A::Mips if little => "mipsle",
        A::Mips => "mips",
        _ => return None,
    })
}

/// File offset of the build info header.
fn find_header(file: &object::File<'_>, bin: &[u8]) -> Option<usize> {
    for name in [".go.buildinfo", "__go_buildinfo"] {
        if let Some(section) = file.section_by_name(name) {
            let (off, _) = section.file_range()?;
            let off = usize::try_from(off).ok()?;
            return bin.get(off..)?.starts_with(MAGIC).then_some(off);
        }
    }
    match file {
        // Go's PE linker puts the build info at the start of `.data`.
        object::File::Pe32(_) | object::File::Pe64(_) => {
            let data = file.section_by_name(".data")?;
            let (off, size) = data.file_range()?;
            search(bin, off, size, data.address())
        }
        // Only when the section table is gone (`sstrip`): a section table without
        // `.go.buildinfo` means no Go build info, and must stay cheap for every executable.
        object::File::Elf32(_) | object::File::Elf64(_) if file.sections().next().is_none() => file
            .segments()
            .filter(|s| s.permissions().writable())
            .find_map(|s| {
                let (off, size) = s.file_range();
                search(bin, off, size, s.address())
            }),
        _ => None,
    }
}

/// The first magic in the file range `[off, off+size)` at a 16-aligned virtual address.
fn search(bin: &[u8], off: u64, size: u64, address: u64) -> Option<usize> {
    let start = usize::try_from(off).ok()?;
    let end = usize::try_from(off.checked_add(size)?).ok()?.min(bin.len());
    let hay = bin.get(start..end)?;
    memchr::memmem::find_iter(hay, MAGIC)
        .find(|&i| address.wrapping_add(i as u64).is_multiple_of(16))
        .map(|i| start + i)
}

fn inline_string<'a>(
    bin: &'a [u8],
    pos: &mut usize,
    what: &'static str,
    max: u64,
) -> Result<&'a [u8], BuildInfoError> {
    let (len, used) =
        uvarint(bin.get(*pos..).unwrap_or_default()).ok_or(BuildInfoError::BadVarint { what })?;
    if len > max {
        return Err(BuildInfoError::TooLong { what, len, max });
    }
    let start = *pos + used;
    let end = start + len as usize;
    let s = bin.get(start..end).ok_or(BuildInfoError::Unmapped {
        what,
        at: start as u64,
    })?;
    *pos = end;
    Ok(s)
}

/// Unsigned LEB128 as Go's `binary.Uvarint`: at most 10 bytes.
fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return None;
        }
        x |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((x, i + 1));
        }
    }
    None
}

fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    let n = modinfo.len();
    if n > 2 * SENTINEL_LEN && modinfo[n - SENTINEL_LEN - 1] == b'\n' {
        &modinfo[SENTINEL_LEN..n - SENTINEL_LEN]
    } else {
        &[]
    }
}

/// The program's memory as the file maps it, for the pre-1.18 pointer format.
struct Memory<'f, 'data> {
    file: &'f object::File<'data>,
    ptr_size: usize,
    big_endian: bool,
}

impl<'data> Memory<'_, 'data> {
    fn word(&self, b: &[u8]) -> u64 {
        let mut x: u64 = 0;
        for i in 0..self.ptr_size.min(b.len()) {
            let byte = if self.big_endian {
                b[i]
            } else {
                b[b.len() - 1 - i]
            };
            x = (x << 8) | u64::from(byte);
        }
        x
    }

    fn read(
        &self,
        address: u64,
        len: u64,
        what: &'static str,
    ) -> Result<&'data [u8], BuildInfoError> {
        self.file
            .segments()
            .find_map(|s| s.data_range(address, len).ok().flatten())
            .ok_or(BuildInfoError::Unmapped { what, at: address })
    }

    /// A Go string header `{data *byte; len int}` at `address`, and the bytes it points to.
    fn go_string(
        &self,
        address: u64,
        what: &'static str,
        max: u64,
    ) -> Result<&'data [u8], BuildInfoError> {
        let header = self.read(address, 2 * self.ptr_size as u64, what)?;
        let data = self.word(&header[..self.ptr_size]);
        let len = self.word(&header[self.ptr_size..]);
        if len > max {
            return Err(BuildInfoError::TooLong { what, len, max });
        }
        if len == 0 {
            return Ok(&[]);
        }
        self.read(data, len, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(uvarint(&[0x08]), Some((8, 1)));
        assert_eq!(uvarint(&[0xfa, 0x05]), Some((762, 2)));
        assert_eq!(uvarint(&[0x80; 11]), None);
        assert_eq!(
            uvarint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            None
        );
        assert_eq!(uvarint(&[]), None);
    }

    #[test]
    fn sentinels() {
        let mut framed = vec![b'S'; 16];
        framed.extend_from_slice(b"path\tx\n");
        framed.extend_from_slice(&[b'E'; 16]);
        assert_eq!(strip_sentinels(&framed), b"path\tx\n");
        assert_eq!(strip_sentinels(b"path\tx\n"), b"");
    }

    use crate::catalog::golang::test_elf::{ElfSpec, PAYLOAD_OFFSET, Section, build};

    const MODINFO: &str =
        "path\tex.com/cmd\nmod\tex.com\t(devel)\t\ndep\tex.com/dep\tv1.0.0\th1:x=\n";

    fn framed(modinfo: &str) -> Vec<u8> {
        let mut out = vec![0x30; SENTINEL_LEN];
        out.extend_from_slice(modinfo.as_bytes());
        out.extend_from_slice(&[0xf9; SENTINEL_LEN]);
        out
    }

    /// Go 1.18+: header then varint-prefixed strings.
    fn inline_payload(version: &str, modinfo: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[8, FLAG_INLINE]);
        out.resize(HEADER_LEN, 0);
        for s in [version.as_bytes(), modinfo] {
            let mut n = s.len() as u64;
            loop {
                let b = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
            out.extend_from_slice(s);
        }
        out
    }

    /// Before Go 1.18: header with two pointers to string headers, then the strings, all
    /// at virtual address `at`.
    fn pointer_payload(
        at: u64,
        is_64: bool,
        big_endian: bool,
        version: &str,
        modinfo: &[u8],
    ) -> Vec<u8> {
        let ps: usize = if is_64 { 8 } else { 4 };
        let put = |out: &mut Vec<u8>, v: u64| {
            let b = v.to_be_bytes();
            let b = &b[8 - ps..];
            if big_endian {
                out.extend_from_slice(b);
            } else {
                out.extend(b.iter().rev());
            }
        };
        let version_hdr = at + HEADER_LEN as u64;
        let modinfo_hdr = version_hdr + 2 * ps as u64;
        let version_data = modinfo_hdr + 2 * ps as u64;
        let modinfo_data = version_data + version.len() as u64;
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[ps as u8, if big_endian { FLAG_BIG_ENDIAN } else { 0 }]);
        put(&mut out, version_hdr);
        put(&mut out, modinfo_hdr);
        out.resize(HEADER_LEN, 0);
        put(&mut out, version_data);
        put(&mut out, version.len() as u64);
        put(&mut out, modinfo_data);
        put(&mut out, modinfo.len() as u64);
        out.extend_from_slice(version.as_bytes());
        out.extend_from_slice(modinfo);
        out
    }

    fn elf(
        is_64: bool,
        big_endian: bool,
        payload: &[u8],
        sections: &[Section<'_>],
        table: bool,
    ) -> Vec<u8> {
        build(&ElfSpec {
            is_64,
            big_endian,
            base: 0x40_0000,
            payload,
            sections,
            section_table: table,
        })
        .0
    }

    fn want(version: &str) -> Option<RawBuildInfo> {
        Some(RawBuildInfo {
            go_version: version.into(),
            modinfo: MODINFO.into(),
            goarch: None,
        })
    }

    #[test]
    fn inline_format_in_its_section() {
        let info = inline_payload("go1.21.3", &framed(MODINFO));
        let bin = elf(
            true,
            false,
            b"text",
            &[Section {
                name: ".go.buildinfo",
                data: &info,
            }],
            true,
        );
        let want = want("go1.21.3").map(|w| RawBuildInfo {
            goarch: Some("amd64"),
            ..w
        });
        assert_eq!(read_build_info(&bin), Ok(want));
    }

    #[test]
    fn pointer_format_all_word_sizes_and_byte_orders() {
        for (is_64, big_endian) in [(true, false), (true, true), (false, false), (false, true)] {
            let at = 0x40_0000 + PAYLOAD_OFFSET;
            let payload = pointer_payload(at, is_64, big_endian, "go1.16.15", &framed(MODINFO));
            // Without a section table: found by searching the writable segment.
            let bin = elf(is_64, big_endian, &payload, &[], false);
            // The test ELF's machine.
            let goarch = match (is_64, big_endian) {
                (true, false) => "amd64",
                (false, false) => "386",
                (true, true) => "s390x",
                (false, true) => "mips",
            };
            let want = want("go1.16.15").map(|w| RawBuildInfo {
                goarch: Some(goarch),
                ..w
            });
            assert_eq!(
                read_build_info(&bin),
                Ok(want),
                "64={is_64} be={big_endian}"
            );
        }
    }

    #[test]
    fn pointers_outside_the_file_are_errors() {
        let at = 0x40_0000 + PAYLOAD_OFFSET;
        let mut payload = pointer_payload(at, true, false, "go1.16", &framed(MODINFO));
        // Point the module string header's data far away.
        let modinfo_data = HEADER_LEN + 16;
        payload[modinfo_data..modinfo_data + 8].copy_from_slice(&0x7fff_0000u64.to_le_bytes());
        let bin = elf(true, false, &payload, &[], false);
        assert_eq!(
            read_build_info(&bin),
            Err(BuildInfoError::Unmapped {
                what: "module text",
                at: 0x7fff_0000
            })
        );
    }

    #[test]
    fn hostile_lengths_are_refused() {
        let mut info = inline_payload("go1.21", b"");
        info.truncate(HEADER_LEN);
        info.extend_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
        let bin = elf(
            true,
            false,
            b"",
            &[Section {
                name: ".go.buildinfo",
                data: &info,
            }],
            true,
        );
        assert!(matches!(
            read_build_info(&bin),
            Err(BuildInfoError::TooLong {
                what: "version",
                ..
            })
        ));

        let mut info = inline_payload("go1.21", b"");
        info.truncate(HEADER_LEN);
        info.extend_from_slice(&[0xe8, 0x07, b'g', b'o']);
        let bin = elf(
            true,
            false,
            b"",
            &[Section {
                name: ".go.buildinfo",
                data: &info,
            }],
            true,
        );
        assert!(matches!(
            read_build_info(&bin),
            Err(BuildInfoError::Unmapped {
                what: "version",
                ..
            })
        ));
    }

    #[test]
    fn missing_sentinels_mean_no_modules() {
        let info = inline_payload("go1.21.3", MODINFO.as_bytes());
        let bin = elf(
            true,
            false,
            b"",
            &[Section {
                name: ".go.buildinfo",
                data: &info,
            }],
            true,
        );
        assert_eq!(
            read_build_info(&bin),
            Ok(Some(RawBuildInfo {
                go_version: "go1.21.3".into(),
                modinfo: String::new(),
                goarch: Some("amd64"),
            }))
        );
    }

    #[test]
    fn magic_outside_the_section_is_ignored_when_sections_exist() {
        let info = inline_payload("go1.21.3", &framed(MODINFO));
        let bin = elf(
            true,
            false,
            &info,
            &[Section {
                name: ".data",
                data: b"x",
            }],
            true,
        );
        assert_eq!(read_build_info(&bin), Ok(None));
    }

    #[test]
    fn non_executables_have_no_build_info() {
        assert_eq!(read_build_info(b"#!/bin/sh\necho hi\n"), Ok(None));
        assert_eq!(read_build_info(b"\x7fELF\x02\x01\x01"), Ok(None));
        assert_eq!(read_build_info(b""), Ok(None));
    }
}
