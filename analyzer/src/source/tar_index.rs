//! An index of the members of a tar file (name -> offset and size), so that archive sources
//! can hand out members as seekable slices of the file without extracting anything.
//!
//! Traps: member names come as `./index.json`, `index.json` or `/index.json`; `docker save`
//! (before Docker 25) stores a layer that two images share once and makes the other
//! `<id>/layer.tar` a symlink (`../<id2>/layer.tar`), other tools use hard links; PAX and GNU
//! long names are handled by the `tar` crate; a compressed archive (`docker save | gzip`)
//! cannot be seeked and is refused with a hint; hostile archives can hold millions of
//! members or `..` names (capped, ignored).

use super::Error;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Members indexed at most; image archives hold a few per layer.
const MAX_MEMBERS: usize = 100_000;
/// Symlink hops followed when looking a member up.
const MAX_HOPS: usize = 8;

#[derive(Debug, Clone)]
enum Member {
    File {
        offset: u64,
        size: u64,
    },
    /// A symlink target, relative to the link's directory.
    Symlink(String),
    /// A hard link target (an archive path).
    Hardlink(String),
}

#[derive(Debug)]
pub(super) struct TarIndex {
    path: PathBuf,
    members: HashMap<String, Member>,
}

/// `./a//b/` -> `a/b`; `None` for names that climb out (`..`).
fn clean(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

impl TarIndex {
    /// Reads the headers of every member (seeking over their contents).
    pub(super) fn build(path: &Path) -> Result<Self, Error> {
        let io = |source| Error::Io {
            what: "reading archive",
            path: path.display().to_string(),
            source,
        };
        let mut file = File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::NotFound(format!("archive {}", path.display()))
            } else {
                io(e)
            }
        })?;
        let mut head = [0u8; 4];
        let n = file.read(&mut head).map_err(io)?;
        if crate::layers::sniff_compression(&head[..n]) != crate::layers::Compression::None {
            return Err(Error::Malformed {
                what: format!("archive {}", path.display()),
                message: "the archive is compressed; decompress it first (e.g. gunzip)".into(),
            });
        }
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let malformed = |e: std::io::Error| Error::Malformed {
            what: format!("archive {}", path.display()),
            message: format!("not a readable tar file: {e}"),
        };
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        for entry in archive.entries_with_seek().map_err(malformed)? {
            let entry = entry.map_err(malformed)?;
            if members.len() >= MAX_MEMBERS {
                return Err(Error::TooLarge {
                    what: format!("archive {} (members)", path.display()),
                    size: members.len() as u64 + 1,
                    limit: MAX_MEMBERS as u64,
                });
            }
            let raw = entry.path_bytes();
            let Some(name) = clean(&String::from_utf8_lossy(&raw)) else {
                continue;
            };
            let link = || {
                entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
            };
            let member = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => Member::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                },
                tar::EntryType::Symlink => match link() {
                    Some(t) => Member::Symlink(t),
                    None => continue,
                },
                tar::EntryType::Link => match link() {
                    Some(t) => Member::Hardlink(t),
                    None => continue,
                },
                _ => continue,
            };
            members.insert(name, member);
        }
        Ok(Self {
            path: path.to_owned(),
            members,
        })
    }

    pub(super) fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// Offset and size of a regular member, following links.
    pub(super) fn locate(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = clean(name)?;
        for _ in 0..MAX_HOPS {
            match self.members.get(&name)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Hardlink(target) => name = clean(target)?,
                Member::Symlink(target) => {
                    let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                    name = if target.starts_with('/') {
                        clean(target)?
                    } else {
                        clean(&format!("{dir}/{target}"))?
                    };
                }
            }
        }
        None
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.locate(name).is_some()
    }

    /// A member as a reader over its slice of the archive.
    pub(super) fn open(
        &self,
        name: &str,
        what: &str,
    ) -> Result<(Box<dyn Read + Send>, u64), Error> {
        let (offset, size) = self.locate(name).ok_or_else(|| {
            Error::NotFound(format!("{what} ({name} in {})", self.path.display()))
        })?;
        let io = |source| Error::Io {
            what: "reading archive",
            path: self.path.display().to_string(),
            source,
        };
        let mut file = File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        Ok((Box::new(file.take(size)), size))
    }

    /// A whole member, refusing more than `limit` bytes.
    pub(super) fn read(&self, name: &str, what: &str, limit: u64) -> Result<Vec<u8>, Error> {
        let (reader, size) = self.open(name, what)?;
        if size > limit {
            return Err(Error::TooLarge {
                what: what.to_owned(),
                size,
                limit,
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        reader
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|source| Error::Io {
                what: "reading archive",
                path: self.path.display().to_string(),
                source,
            })?;
        if (buf.len() as u64) < size {
            return Err(Error::Malformed {
                what: format!("archive {}", self.path.display()),
                message: format!("{name} is truncated"),
            });
        }
        Ok(buf)
    }
}

/// An image resolved from an archive: the index, and which member holds each layer.
#[derive(Debug)]
pub(super) struct ArchiveImage {
    pub(super) index: TarIndex,
    /// Layer digest -> member name, where members are not `blobs/<alg>/<hex>`.
    pub(super) members: HashMap<String, String>,
}

impl ArchiveImage {
    pub(super) fn open_layer(&self, digest: &str) -> Result<Box<dyn Read + Send>, Error> {
        let name = match self.members.get(digest) {
            Some(n) => n.clone(),
            None => super::oci_dir::blob_name(digest)?,
        };
        Ok(self.index.open(&name, &format!("layer {digest}"))?.0)
    }
}

impl super::oci_dir::LayoutFiles for TarIndex {
    fn read(&self, name: &str, what: &str, limit: u64) -> Result<Vec<u8>, Error> {
        TarIndex::read(self, name, what, limit)
    }
    fn describe(&self) -> String {
        self.display()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> tempfile::NamedTempFile {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        let bytes = b.into_inner().expect("tar");
        let mut f = tempfile::NamedTempFile::new().expect("tmp");
        std::io::Write::write_all(&mut f, &bytes).expect("write");
        f
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data).expect("append");
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_entry_type(kind);
        b.append_link(&mut h, name, target).expect("link");
    }

    #[test]
    fn finds_members_through_links() {
        let f = archive(|b| {
            file(b, "./index.json", b"{}");
            file(b, "aaa/layer.tar", b"layer bytes");
            link(
                b,
                tar::EntryType::Symlink,
                "bbb/layer.tar",
                "../aaa/layer.tar",
            );
            link(b, tar::EntryType::Link, "ccc.tar", "aaa/layer.tar");
            link(b, tar::EntryType::Symlink, "loop1", "loop2");
            link(b, tar::EntryType::Symlink, "loop2", "loop1");
            file(b, &"long/".repeat(40), b"long name");
        });
        let idx = TarIndex::build(f.path()).expect("index");
        assert_eq!(idx.read("index.json", "index", 10).expect("read"), b"{}");
        for name in [
            "aaa/layer.tar",
            "bbb/layer.tar",
            "./ccc.tar",
            "/aaa//layer.tar",
        ] {
            assert_eq!(
                idx.read(name, "layer", 100).expect(name),
                b"layer bytes",
                "{name}"
            );
        }
        assert!(!idx.contains("loop1"));
        assert!(!idx.contains("missing"));
        assert!(idx.contains(&"long/".repeat(40)));
        assert!(matches!(
            idx.read("aaa/layer.tar", "layer", 5),
            Err(Error::TooLarge { size: 11, .. })
        ));
    }

    #[test]
    fn refuses_compressed_and_garbage() {
        let mut gz = tempfile::NamedTempFile::new().expect("tmp");
        std::io::Write::write_all(&mut gz, &[0x1f, 0x8b, 8, 0, 0, 0]).expect("write");
        let err = TarIndex::build(gz.path()).expect_err("gzip");
        assert!(err.to_string().contains("decompress"), "{err}");
        let mut junk = tempfile::NamedTempFile::new().expect("tmp");
        std::io::Write::write_all(&mut junk, &[b'x'; 700]).expect("write");
        assert!(TarIndex::build(junk.path()).is_err());
        assert!(matches!(
            TarIndex::build(Path::new("/nonexistent/archive.tar")),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn cleans_names() {
        assert_eq!(clean("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(clean("a/../b").as_deref(), Some("b"));
        assert_eq!(clean("../etc/passwd"), None);
    }
}
