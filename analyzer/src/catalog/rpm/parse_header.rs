//! The rpm header blob, as every rpm database stores it (the "immutable region" of a package
//! header plus what rpm adds at install time). See rpm's `lib/header.c` and the rpm file
//! format description (`docs/manual/format.md`).
//!
//! Layout, all integers big-endian whatever the host or database byte order:
//! `il: u32, dl: u32`, then `il` index entries of 16 bytes `{tag: u32, type: u32, offset: u32,
//! count: u32}`, then the `dl`-byte data store the offsets point into.
//!
//! Traps:
//! - Counts and offsets come from the input: every one is checked against the data store
//!   before it is used, and nothing is allocated from a count that the blob cannot back.
//! - A string-array's `count` is a number of NUL-terminated strings, not of bytes.
//! - `EPOCH` is absent for most packages; absent is not `0` (the version string carries the
//!   epoch only when the tag is present).
//! - File names are split in three parallel arrays: `BASENAMES`, `DIRNAMES` and `DIRINDEXES`
//!   (rpm >= 4.0); very old headers carry whole paths in `OLDFILENAMES`. Every per-file array
//!   (`FILEMODES`, `FILEDIGESTS`, `FILESIZES`) must have one element per file.
//! - `FILEDIGESTS` holds hex strings, empty for anything but regular files; their algorithm is
//!   `FILEDIGESTALGO`, whose absence means MD5 (rpm < 4.6 had only MD5).
//! - Directory and base names joined can be much longer than the blob (one long directory
//!   shared by many files): the joined length is capped before it is built.
//! - A tag may appear twice (a region and a later "dribble"); the first one wins.

use std::borrow::Cow;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_SIZE: u32 = 1009;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_OLDFILENAMES: u32 = 1027;
const TAG_FILESIZES: u32 = 1028;
const TAG_FILEMODES: u32 = 1030;
const TAG_FILEDIGESTS: u32 = 1035;
const TAG_SOURCERPM: u32 = 1044;
const TAG_DIRINDEXES: u32 = 1116;
const TAG_BASENAMES: u32 = 1117;
const TAG_DIRNAMES: u32 = 1118;
const TAG_LONGFILESIZES: u32 = 5008;
const TAG_LONGSIZE: u32 = 5009;
const TAG_FILEDIGESTALGO: u32 = 5011;

/// The tags we read; the index of a tag here is its slot in [`Index::entries`].
const WANTED: [u32; 19] = [
    TAG_NAME,
    TAG_VERSION,
    TAG_RELEASE,
    TAG_EPOCH,
    TAG_SIZE,
    TAG_VENDOR,
    TAG_LICENSE,
    TAG_ARCH,
    TAG_OLDFILENAMES,
    TAG_FILESIZES,
    TAG_FILEMODES,
    TAG_FILEDIGESTS,
    TAG_SOURCERPM,
    TAG_DIRINDEXES,
    TAG_BASENAMES,
    TAG_DIRNAMES,
    TAG_LONGFILESIZES,
    TAG_LONGSIZE,
    TAG_FILEDIGESTALGO,
];

const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

const PREAMBLE: usize = 8;
const ENTRY_SIZE: usize = 16;

/// The joined file paths of one header may be at most this many times the blob's size.
const PATH_BYTES_PER_BLOB_BYTE: usize = 16;

/// What we keep of one package header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmHeader {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: Option<String>,
    /// The source rpm's file name (`openssl-3.0.7-27.el9.src.rpm`).
    pub source_rpm: Option<String>,
    pub license: Option<String>,
    pub vendor: Option<String>,
    /// Installed size in bytes.
    pub size: Option<u64>,
    pub digest_algorithm: DigestAlgorithm,
    pub files: Vec<HeaderFile>,
}

impl RpmHeader {
    /// `[EPOCH:]VERSION-RELEASE`, the epoch only when the header has one.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFile {
    pub path: String,
    /// `st_mode`, when the header has `FILEMODES`.
    pub mode: Option<u16>,
    pub size: Option<u64>,
    /// Lower-case hex, `None` where the header has an empty digest (directories, links).
    pub digest: Option<String>,
}

impl HeaderFile {
    /// Regular files are the only ones with content digests. Without modes, a digest is the
    /// only hint.
    pub fn is_regular(&self) -> bool {
        match self.mode {
            Some(m) => u32::from(m) & 0o170000 == 0o100000,
            None => self.digest.is_some(),
        }
    }
}

/// `FILEDIGESTALGO`, OpenPGP hash algorithm numbers (RFC 4880 9.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Md5,
    Sha1,
    Ripemd160,
    Sha256,
    Sha384,
    Sha512,
    Sha224,
    Other(u32),
}

impl DigestAlgorithm {
    pub fn from_pgp(n: u32) -> Self {
        match n {
            1 => Self::Md5,
            2 => Self::Sha1,
            3 => Self::Ripemd160,
            8 => Self::Sha256,
            9 => Self::Sha384,
            10 => Self::Sha512,
            11 => Self::Sha224,
            other => Self::Other(other),
        }
    }

    /// The name used in [`crate::model::FileDigest::algorithm`]; `None` for algorithms we
    /// cannot name.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::Md5 => Some("md5"),
            Self::Sha1 => Some("sha1"),
            Self::Ripemd160 => Some("ripemd160"),
            Self::Sha256 => Some("sha256"),
            Self::Sha384 => Some("sha384"),
            Self::Sha512 => Some("sha512"),
            Self::Sha224 => Some("sha224"),
            Self::Other(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("header of {len} bytes is shorter than its 8-byte preamble")]
    TooShort { len: usize },
    #[error("header claims {entries} index entries and {data} data bytes but has only {len} bytes")]
    Truncated { entries: u32, data: u32, len: usize },
    #[error("tag {tag}: {problem}")]
    BadTag { tag: u32, problem: &'static str },
    #[error("tag {tag} has type {found}, expected {expected}")]
    WrongType {
        tag: u32,
        found: u32,
        expected: &'static str,
    },
    #[error("required tag {0} is missing or empty")]
    Missing(&'static str),
    #[error("{tag} has {found} elements for {files} files")]
    FileCount {
        tag: &'static str,
        found: usize,
        files: usize,
    },
    #[error("file {file} points at directory {index}, but there are {dirs}")]
    DirIndex {
        file: usize,
        index: u32,
        dirs: usize,
    },
    #[error("file paths would take more than {limit} bytes")]
    PathsTooLong { limit: usize },
}

#[derive(Debug, Clone, Copy)]
struct RawEntry {
    tag: u32,
    ty: u32,
    offset: usize,
    count: usize,
}

/// The index of one header, holding only the tags we read.
struct Index<'a> {
    data: &'a [u8],
    entries: [Option<RawEntry>; WANTED.len()],
}

/// Parses one header blob. Never panics; a blob that lies about its sizes is an error.
pub fn parse_header(blob: &[u8]) -> Result<RpmHeader, HeaderError> {
    let index = Index::new(blob)?;
    let name = index
        .string(TAG_NAME)?
        .ok_or(HeaderError::Missing("NAME"))?;
    let version = index
        .string(TAG_VERSION)?
        .ok_or(HeaderError::Missing("VERSION"))?;
    let release = index
        .string(TAG_RELEASE)?
        .ok_or(HeaderError::Missing("RELEASE"))?;
    let epoch = index.first_u32(TAG_EPOCH)?;
    let size = match index.first_u64(TAG_LONGSIZE)? {
        Some(s) => Some(s),
        None => index.first_u32(TAG_SIZE)?.map(u64::from),
    };
    let digest_algorithm = index
        .first_u32(TAG_FILEDIGESTALGO)?
        .map_or(DigestAlgorithm::Md5, DigestAlgorithm::from_pgp);
    let files = index.files(blob.len())?;
    Ok(RpmHeader {
        name,
        version,
        release,
        epoch,
        arch: index.string(TAG_ARCH)?,
        source_rpm: index.string(TAG_SOURCERPM)?,
        license: index.string(TAG_LICENSE)?,
        vendor: index.string(TAG_VENDOR)?,
        size,
        digest_algorithm,
        files,
    })
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn tag_name(tag: u32) -> &'static str {
    match tag {
        TAG_FILEMODES => "FILEMODES",
        TAG_FILEDIGESTS => "FILEDIGESTS",
        TAG_FILESIZES => "FILESIZES",
        TAG_LONGFILESIZES => "LONGFILESIZES",
        TAG_DIRINDEXES => "DIRINDEXES",
        _ => "a file tag",
    }
}

impl<'a> Index<'a> {
    fn new(blob: &'a [u8]) -> Result<Self, HeaderError> {
        let (Some(il), Some(dl)) = (be_u32(blob, 0), be_u32(blob, 4)) else {
            return Err(HeaderError::TooShort { len: blob.len() });
        };
        let truncated = HeaderError::Truncated {
            entries: il,
            data: dl,
            len: blob.len(),
        };
        // In u64, so that no count from the input can overflow the sum.
        let data_start = PREAMBLE as u64 + u64::from(il) * ENTRY_SIZE as u64;
        let data_end = data_start + u64::from(dl);
        if data_end > blob.len() as u64 {
            return Err(truncated);
        }
        // Both fit in usize now: they are at most blob.len().
        let (data_start, data_end) = (data_start as usize, data_end as usize);
        let data = blob.get(data_start..data_end).ok_or(truncated)?;
        let mut entries = [None; WANTED.len()];
        for raw in blob[PREAMBLE..data_start].chunks_exact(ENTRY_SIZE) {
            let field = |i: usize| u32::from_be_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
            let tag = field(0);
            let Some(slot) = WANTED.iter().position(|t| *t == tag) else {
                continue;
            };
            if entries[slot].is_some() {
                continue;
            }
            let offset = field(8) as usize;
            if offset > data.len() {
                return Err(HeaderError::BadTag {
                    tag,
                    problem: "data offset beyond the data store",
                });
            }
            entries[slot] = Some(RawEntry {
                tag,
                ty: field(4),
                offset,
                count: field(12) as usize,
            });
        }
        Ok(Self { data, entries })
    }

    fn entry(&self, tag: u32) -> Option<RawEntry> {
        let slot = WANTED.iter().position(|t| *t == tag)?;
        self.entries[slot]
    }

    /// The bytes of `count` fixed-size elements, bounds-checked.
    fn fixed(&self, e: RawEntry, width: usize) -> Result<&'a [u8], HeaderError> {
        e.count
            .checked_mul(width)
            .and_then(|len| self.data.get(e.offset..e.offset.checked_add(len)?))
            .ok_or(HeaderError::BadTag {
                tag: e.tag,
                problem: "array runs past the data store",
            })
    }

    fn ints(
        &self,
        tag: u32,
        ty: u32,
        expected: &'static str,
    ) -> Result<Option<Vec<u64>>, HeaderError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        let width = match ty {
            TYPE_INT16 => 2,
            TYPE_INT32 => 4,
            _ => 8,
        };
        if e.ty != ty {
            return Err(HeaderError::WrongType {
                tag,
                found: e.ty,
                expected,
            });
        }
        // `fixed` checked the whole array against the blob, so this allocation is bounded.
        let bytes = self.fixed(e, width)?;
        Ok(Some(
            bytes
                .chunks_exact(width)
                .map(|c| c.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
                .collect(),
        ))
    }

    fn first_u32(&self, tag: u32) -> Result<Option<u32>, HeaderError> {
        let Some(values) = self.ints(tag, TYPE_INT32, "INT32")? else {
            return Ok(None);
        };
        // Values were read from four bytes.
        Ok(values.first().map(|v| *v as u32))
    }

    fn first_u64(&self, tag: u32) -> Result<Option<u64>, HeaderError> {
        Ok(self
            .ints(tag, TYPE_INT64, "INT64")?
            .and_then(|v| v.first().copied()))
    }

    /// `count` NUL-terminated strings starting at the entry's offset.
    fn strings(&self, e: RawEntry) -> Result<Vec<Cow<'a, str>>, HeaderError> {
        let mut out = Vec::new();
        let mut rest = &self.data[e.offset..];
        for _ in 0..e.count {
            // Each string takes at least its NUL: the loop cannot outrun the data store.
            let Some(end) = rest.iter().position(|b| *b == 0) else {
                return Err(HeaderError::BadTag {
                    tag: e.tag,
                    problem: "string runs past the data store",
                });
            };
            out.push(String::from_utf8_lossy(&rest[..end]));
            rest = &rest[end + 1..];
        }
        Ok(out)
    }

    fn string_array(&self, tag: u32) -> Result<Option<Vec<Cow<'a, str>>>, HeaderError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if e.ty != TYPE_STRING_ARRAY {
            return Err(HeaderError::WrongType {
                tag,
                found: e.ty,
                expected: "STRING_ARRAY",
            });
        }
        self.strings(e).map(Some)
    }

    /// A single string; an empty one counts as absent. I18N strings and arrays give their
    /// first element.
    fn string(&self, tag: u32) -> Result<Option<String>, HeaderError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if !matches!(e.ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Err(HeaderError::WrongType {
                tag,
                found: e.ty,
                expected: "STRING",
            });
        }
        let first = self.strings(RawEntry { count: 1, ..e })?;
        Ok(first
            .into_iter()
            .next()
            .filter(|s| !s.is_empty())
            .map(Cow::into_owned))
    }

    fn files(&self, blob_len: usize) -> Result<Vec<HeaderFile>, HeaderError> {
        let paths = self.paths(blob_len)?;
        let n = paths.len();
        let check = |tag: u32, found: usize| -> Result<(), HeaderError> {
            if found == n {
                Ok(())
            } else {
                Err(HeaderError::FileCount {
                    tag: tag_name(tag),
                    found,
                    files: n,
                })
            }
        };
        let modes = self.ints(TAG_FILEMODES, TYPE_INT16, "INT16")?;
        if let Some(m) = &modes {
            check(TAG_FILEMODES, m.len())?;
        }
        let sizes = match self.ints(TAG_LONGFILESIZES, TYPE_INT64, "INT64")? {
            Some(s) => {
                check(TAG_LONGFILESIZES, s.len())?;
                Some(s)
            }
            None => {
                let s = self.ints(TAG_FILESIZES, TYPE_INT32, "INT32")?;
                if let Some(s) = &s {
                    check(TAG_FILESIZES, s.len())?;
                }
                s
            }
        };
        let digests = self.string_array(TAG_FILEDIGESTS)?;
        if let Some(d) = &digests {
            check(TAG_FILEDIGESTS, d.len())?;
        }
        Ok(paths
            .into_iter()
            .enumerate()
            .map(|(i, path)| HeaderFile {
                path,
                // Read from two bytes.
                mode: modes.as_ref().and_then(|m| m.get(i)).map(|m| *m as u16),
                size: sizes.as_ref().and_then(|s| s.get(i)).copied(),
                digest: digests
                    .as_ref()
                    .and_then(|d| d.get(i))
                    .filter(|d| !d.is_empty())
                    .map(|d| d.to_ascii_lowercase()),
            })
            .collect())
    }

    fn paths(&self, blob_len: usize) -> Result<Vec<String>, HeaderError> {
        let limit = blob_len.saturating_mul(PATH_BYTES_PER_BLOB_BYTE);
        let Some(bases) = self.string_array(TAG_BASENAMES)? else {
            let old = self.string_array(TAG_OLDFILENAMES)?.unwrap_or_default();
            return Ok(old.into_iter().map(Cow::into_owned).collect());
        };
        let dirs = self
            .string_array(TAG_DIRNAMES)?
            .ok_or(HeaderError::Missing("DIRNAMES"))?;
        let indexes = self
            .ints(TAG_DIRINDEXES, TYPE_INT32, "INT32")?
            .ok_or(HeaderError::Missing("DIRINDEXES"))?;
        if indexes.len() != bases.len() {
            return Err(HeaderError::FileCount {
                tag: tag_name(TAG_DIRINDEXES),
                found: indexes.len(),
                files: bases.len(),
            });
        }
        let mut total = 0usize;
        let mut joined = Vec::with_capacity(bases.len());
        for (file, (base, index)) in bases.iter().zip(&indexes).enumerate() {
            // Read from four bytes.
            let index = *index as u32;
            let dir = dirs.get(index as usize).ok_or(HeaderError::DirIndex {
                file,
                index,
                dirs: dirs.len(),
            })?;
            total = total.saturating_add(dir.len() + base.len());
            if total > limit {
                return Err(HeaderError::PathsTooLong { limit });
            }
            joined.push(format!("{dir}{base}"));
        }
        Ok(joined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENSSL_LIBS: &[u8] = include_bytes!("testdata/headers/openssl-libs.hdr");

    /// A header with the given entries; `data` is the store they point into.
    fn blob(entries: &[(u32, u32, u32, u32)], data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        b.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for (tag, ty, off, count) in entries {
            for v in [tag, ty, off, count] {
                b.extend_from_slice(&v.to_be_bytes());
            }
        }
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn real_header_of_an_installed_package() {
        let h = parse_header(OPENSSL_LIBS).expect("fixture header parses");
        assert_eq!(h.name, "openssl-libs");
        assert_eq!(h.evr(), "1:3.0.7-24.el9");
        assert_eq!(h.epoch, Some(1));
        assert_eq!(h.arch.as_deref(), Some("x86_64"));
        assert_eq!(
            h.source_rpm.as_deref(),
            Some("openssl-3.0.7-24.el9.src.rpm")
        );
        assert_eq!(h.license.as_deref(), Some("Apache-2.0"));
        assert_eq!(h.vendor.as_deref(), Some("Plimsoll Fixtures"));
        assert_eq!(h.size, Some(77));
        assert_eq!(h.digest_algorithm, DigestAlgorithm::Sha256);
        let files: Vec<(&str, Option<u16>, Option<u64>, bool)> = h
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.mode, f.size, f.is_regular()))
            .collect();
        assert_eq!(
            files,
            vec![
                ("/etc/pki/tls", Some(0o40755), Some(0), false),
                ("/etc/pki/tls/openssl.cnf", Some(0o100644), Some(17), true),
                ("/usr/lib64/libcrypto.so.3", Some(0o120777), Some(18), false),
                (
                    "/usr/lib64/libcrypto.so.3.0.7",
                    Some(0o100644),
                    Some(15),
                    true
                ),
                ("/usr/lib64/libssl.so.3", Some(0o120777), Some(15), false),
                ("/usr/lib64/libssl.so.3.0.7", Some(0o100644), Some(12), true),
            ]
        );
        assert_eq!(
            h.files[5].digest.as_deref(),
            Some("0917537b4be58e0c1130f274d3bddce91ef330dd1b79436fb8a59cc9cb87c934")
        );
        assert_eq!(h.files[0].digest, None);
    }

    #[test]
    fn every_prefix_of_a_real_header_is_an_error_not_a_panic() {
        for len in 0..OPENSSL_LIBS.len() {
            let got = parse_header(&OPENSSL_LIBS[..len]);
            let want_short = len < PREAMBLE;
            match got {
                Err(HeaderError::TooShort { .. }) if want_short => {}
                Err(HeaderError::Truncated { .. }) if !want_short => {}
                other => panic!("prefix of {len} bytes: {other:?}"),
            }
        }
    }

    #[test]
    fn every_single_byte_corruption_of_the_index_is_handled() {
        // Flipping bytes of the preamble and the index must give a header or an error.
        let index_end = PREAMBLE + 16 * 40;
        let mut errors = 0;
        for at in 0..index_end.min(OPENSSL_LIBS.len()) {
            for value in [0x00, 0x7f, 0xff] {
                let mut b = OPENSSL_LIBS.to_vec();
                b[at] = value;
                if parse_header(&b).is_err() {
                    errors += 1;
                }
            }
        }
        assert!(errors > 0);
    }

    #[test]
    fn malformed_headers_give_exact_errors() {
        let name_version_release = b"n\0v\0r\0";
        let nvr = [
            (TAG_NAME, TYPE_STRING, 0, 1),
            (TAG_VERSION, TYPE_STRING, 2, 1),
            (TAG_RELEASE, TYPE_STRING, 4, 1),
        ];
        let with = |extra: &[(u32, u32, u32, u32)], data: &[u8]| {
            let mut e = nvr.to_vec();
            e.extend_from_slice(extra);
            let mut d = name_version_release.to_vec();
            d.extend_from_slice(data);
            blob(&e, &d)
        };
        let cases: Vec<(&str, Vec<u8>, HeaderError)> = vec![
            (
                "huge index count",
                {
                    let mut b = with(&[], b"");
                    b[..4].copy_from_slice(&u32::MAX.to_be_bytes());
                    b
                },
                HeaderError::Truncated {
                    entries: u32::MAX,
                    data: 6,
                    len: 62,
                },
            ),
            (
                "offset past the store",
                with(&[(TAG_ARCH, TYPE_STRING, 7, 1)], b""),
                HeaderError::BadTag {
                    tag: TAG_ARCH,
                    problem: "data offset beyond the data store",
                },
            ),
            (
                "unterminated string",
                with(&[(TAG_ARCH, TYPE_STRING, 6, 1)], b"x86"),
                HeaderError::BadTag {
                    tag: TAG_ARCH,
                    problem: "string runs past the data store",
                },
            ),
            (
                "string array count beyond the data",
                with(&[(TAG_BASENAMES, TYPE_STRING_ARRAY, 6, u32::MAX)], b"a\0"),
                HeaderError::BadTag {
                    tag: TAG_BASENAMES,
                    problem: "string runs past the data store",
                },
            ),
            (
                "int array beyond the data",
                with(&[(TAG_EPOCH, TYPE_INT32, 6, 1 << 30)], b"\0\0\0\x01"),
                HeaderError::BadTag {
                    tag: TAG_EPOCH,
                    problem: "array runs past the data store",
                },
            ),
            (
                "epoch of the wrong type",
                with(&[(TAG_EPOCH, TYPE_STRING, 0, 1)], b""),
                HeaderError::WrongType {
                    tag: TAG_EPOCH,
                    found: TYPE_STRING,
                    expected: "INT32",
                },
            ),
            (
                "no name",
                blob(&nvr[1..], name_version_release),
                HeaderError::Missing("NAME"),
            ),
            (
                "directory index out of range",
                with(
                    &[
                        (TAG_BASENAMES, TYPE_STRING_ARRAY, 6, 1),
                        (TAG_DIRNAMES, TYPE_STRING_ARRAY, 8, 1),
                        (TAG_DIRINDEXES, TYPE_INT32, 12, 1),
                    ],
                    b"a\0/d/\0\0\0\0\x05",
                ),
                HeaderError::DirIndex {
                    file: 0,
                    index: 5,
                    dirs: 1,
                },
            ),
            (
                "fewer digests than files",
                with(
                    &[
                        (TAG_BASENAMES, TYPE_STRING_ARRAY, 6, 2),
                        (TAG_DIRNAMES, TYPE_STRING_ARRAY, 10, 1),
                        (TAG_DIRINDEXES, TYPE_INT32, 14, 2),
                        (TAG_FILEDIGESTS, TYPE_STRING_ARRAY, 22, 1),
                    ],
                    b"a\0b\0/d/\0\0\0\0\0\0\0\0\0\0ab\0",
                ),
                HeaderError::FileCount {
                    tag: "FILEDIGESTS",
                    found: 1,
                    files: 2,
                },
            ),
        ];
        for (what, b, want) in cases {
            assert_eq!(parse_header(&b), Err(want), "{what}");
        }
    }

    #[test]
    fn joined_paths_are_capped() {
        // One long directory shared by many one-byte base names.
        let files = 2000u32;
        let mut data = Vec::new();
        data.extend_from_slice(b"n\0v\0r\0");
        let bases_at = data.len() as u32;
        for _ in 0..files {
            data.extend_from_slice(b"a\0");
        }
        let dirs_at = data.len() as u32;
        data.extend(std::iter::repeat_n(b'd', 4000));
        data.push(0);
        while data.len() % 4 != 0 {
            data.push(0);
        }
        let idx_at = data.len() as u32;
        data.extend(std::iter::repeat_n(0u8, files as usize * 4));
        let b = blob(
            &[
                (TAG_NAME, TYPE_STRING, 0, 1),
                (TAG_VERSION, TYPE_STRING, 2, 1),
                (TAG_RELEASE, TYPE_STRING, 4, 1),
                (TAG_BASENAMES, TYPE_STRING_ARRAY, bases_at, files),
                (TAG_DIRNAMES, TYPE_STRING_ARRAY, dirs_at, 1),
                (TAG_DIRINDEXES, TYPE_INT32, idx_at, files),
            ],
            &data,
        );
        assert!(matches!(
            parse_header(&b),
            Err(HeaderError::PathsTooLong { .. })
        ));
    }

    #[test]
    fn old_file_names_and_default_md5() {
        let data = b"n\0v\0r\0/etc/a\0/etc/b\0\0\0\x81\xa4\x81\xa4abc\0\0";
        let b = blob(
            &[
                (TAG_NAME, TYPE_STRING, 0, 1),
                (TAG_VERSION, TYPE_STRING, 2, 1),
                (TAG_RELEASE, TYPE_STRING, 4, 1),
                (TAG_OLDFILENAMES, TYPE_STRING_ARRAY, 6, 2),
                (TAG_FILEMODES, TYPE_INT16, 22, 2),
                (TAG_FILEDIGESTS, TYPE_STRING_ARRAY, 26, 2),
            ],
            data,
        );
        let h = parse_header(&b).expect("valid header");
        assert_eq!(h.evr(), "v-r");
        assert_eq!(h.digest_algorithm, DigestAlgorithm::Md5);
        assert_eq!(
            h.files,
            vec![
                HeaderFile {
                    path: "/etc/a".into(),
                    mode: Some(0o100644),
                    size: None,
                    digest: Some("abc".into()),
                },
                HeaderFile {
                    path: "/etc/b".into(),
                    mode: Some(0o100644),
                    size: None,
                    digest: None,
                },
            ]
        );
    }

    #[test]
    fn digest_algorithm_numbers() {
        let table = [
            (1, Some("md5")),
            (2, Some("sha1")),
            (8, Some("sha256")),
            (9, Some("sha384")),
            (10, Some("sha512")),
            (11, Some("sha224")),
            (99, None),
        ];
        for (n, want) in table {
            assert_eq!(DigestAlgorithm::from_pgp(n).name(), want, "{n}");
        }
    }
}
