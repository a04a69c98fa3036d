//! One pass over one layer. The blob is read exactly once: hashed (digest check), inflated,
//! hashed again (diff id), and walked entry by entry. File contents are read into memory only
//! when somebody asked for them (a cataloger, the content search, a retrieved file), one file
//! at a time, and dropped as soon as they are parsed.

use super::Error;
use super::decompress::{Hashing, Limited, decoder};
use super::path::{normalize_entry_path, resolve_link_target};
use crate::catalog::{Cataloger, FileRef, Parsed};
use crate::content::ContentScanner;
use crate::model::{ContentHit, FileEntry, FileKind, HitLocation, RetrievedFile, Warning};
use crate::settings::{FileDigests, Limits};
use base64::Engine as _;
use md5::Md5;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read};
use std::sync::atomic::Ordering;

/// Everything the walk needs besides the bytes.
pub struct WalkCtx<'a> {
    pub layer: usize,
    /// The digest the blob must hash to (`sha256:...`); `None` skips the check (an
    /// uncompressed docker-archive layer addressed by diff id is checked by the caller).
    pub expected_digest: Option<&'a str>,
    pub catalogers: &'a [Box<dyn Cataloger>],
    pub content: &'a ContentScanner,
    pub limits: &'a Limits,
    pub digests: FileDigests,
    /// Paths whose content is kept whole for later steps (os-release, retrieved files).
    pub keep: &'a dyn Fn(&str) -> bool,
}

/// What a cataloger made of one file of one layer.
#[derive(Debug)]
pub struct CatalogHit {
    pub path: String,
    pub cataloger: &'static str,
    pub parsed: Parsed,
}

/// What one layer holds, before squashing.
#[derive(Debug, Default)]
pub struct LayerScan {
    pub index: usize,
    /// `sha256:` of the compressed blob, as read.
    pub blob_digest: String,
    pub blob_size: u64,
    pub uncompressed_size: u64,
    pub entries: Vec<FileEntry>,
    /// Paths indexed in this layer (kept when the entries move into the squashed view).
    pub file_count: u64,
    /// Paths this layer deletes from the layers below (`.wh.NAME`).
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer content this layer hides (`.wh..wh..opq`).
    pub opaque_dirs: Vec<String>,
    pub catalog: Vec<CatalogHit>,
    pub secrets: Vec<ContentHit>,
    pub content_matches: Vec<ContentHit>,
    /// Whole contents of the files `keep` asked for.
    pub kept: Vec<(String, Vec<u8>)>,
    pub warnings: Vec<Warning>,
}

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Walks one layer blob.
pub fn walk_layer(raw: impl Read, ctx: &WalkCtx<'_>) -> Result<LayerScan, Error> {
    let digest = ctx.expected_digest.unwrap_or("unverified").to_owned();
    let layer = ctx.layer;
    let mut blob = Hashing::new(raw);
    let read_err = |source: io::Error| Error::Read {
        layer,
        digest: digest.clone(),
        source,
    };
    let (_compression, inflated) = decoder(&mut blob).map_err(read_err)?;
    // The inflated stream is counted, not hashed: the blob digest (checked below) already
    // binds the content to the manifest, and hashing 1 GB of tar again costs more CPU than
    // the rest of the walk. The diff ids reported are the config's.
    let (mut tar_stream, tripped, total) =
        Limited::new(inflated, ctx.limits.max_layer_uncompressed);
    let mut scan = LayerScan {
        index: layer,
        ..LayerScan::default()
    };

    let classify = |source: io::Error, what: &'static str| -> Error {
        if tripped.load(Ordering::Relaxed) {
            Error::TooLarge {
                layer,
                digest: digest.clone(),
                limit: ctx.limits.max_layer_uncompressed,
            }
        } else {
            Error::Corrupt {
                layer,
                digest: digest.clone(),
                what,
                source,
            }
        }
    };

    {
        let mut archive = tar::Archive::new(&mut tar_stream);
        let entries = archive.entries().map_err(|e| classify(e, "tar stream"))?;
        for entry in entries {
            let entry = entry.map_err(|e| classify(e, "tar stream"))?;
            visit_entry(entry, ctx, &mut scan).map_err(|e| classify(e, "tar entry"))?;
        }
    }
    // The tar reader stops at the end-of-archive marker; read what follows it too, so the
    // blob is hashed whole and trailing garbage is noticed by the decompressor.
    io::copy(&mut tar_stream, &mut io::sink()).map_err(|e| classify(e, "tar stream"))?;
    let uncompressed_size = total.load(Ordering::Relaxed);
    drop(tar_stream);
    scan.file_count = scan.entries.len() as u64;
    let (blob_digest, blob_size) = blob.finish().map_err(read_err)?;
    if let Some(expected) = ctx.expected_digest
        && !expected.eq_ignore_ascii_case(&blob_digest)
    {
        return Err(Error::DigestMismatch {
            layer,
            digest,
            actual: blob_digest,
        });
    }
    scan.uncompressed_size = uncompressed_size;
    scan.blob_digest = blob_digest;
    scan.blob_size = blob_size;
    Ok(scan)
}

fn visit_entry<R: Read>(
    mut entry: tar::Entry<'_, R>,
    ctx: &WalkCtx<'_>,
    scan: &mut LayerScan,
) -> io::Result<()> {
    let raw_path = entry.path_bytes().into_owned();
    let Some(path) = normalize_entry_path(&raw_path) else {
        scan.warnings.push(Warning {
            code: "unsafe-tar-path".into(),
            message: format!(
                "tar entry {:?} climbs above the image root; ignored",
                String::from_utf8_lossy(&raw_path)
            ),
            path: None,
            layer: Some(ctx.layer),
        });
        return Ok(());
    };
    let header = entry.header();
    let entry_type = header.entry_type();
    let kind = match entry_type {
        tar::EntryType::Regular | tar::EntryType::Continuous => FileKind::File,
        tar::EntryType::Directory => FileKind::Dir,
        tar::EntryType::Symlink => FileKind::Symlink,
        tar::EntryType::Link => FileKind::Hardlink,
        tar::EntryType::Char => FileKind::CharDevice,
        tar::EntryType::Block => FileKind::BlockDevice,
        tar::EntryType::Fifo => FileKind::Fifo,
        // PAX/GNU extension headers are consumed by the tar reader; anything else is noise.
        _ => return Ok(()),
    };

    let (dir, name) = match path.rsplit_once('/') {
        Some((d, n)) => (if d.is_empty() { "/" } else { d }, n),
        None => ("/", path.as_str()),
    };
    if name == OPAQUE_MARKER {
        scan.opaque_dirs.push(dir.to_owned());
        return Ok(());
    }
    if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
        let target = if dir == "/" {
            format!("/{hidden}")
        } else {
            format!("{dir}/{hidden}")
        };
        scan.whiteouts.push(target);
        return Ok(());
    }

    let mode = header.mode().unwrap_or(0o644);
    let uid = header.uid().unwrap_or(0);
    let gid = header.gid().unwrap_or(0);
    let size = if kind == FileKind::File {
        entry.size()
    } else {
        0
    };
    let link_target = match kind {
        FileKind::Symlink => entry
            .link_name_bytes()
            .map(|t| String::from_utf8_lossy(&t).into_owned()),
        FileKind::Hardlink => entry.link_name_bytes().map(|t| {
            // Hard link names are archive paths, relative to the root.
            let t = String::from_utf8_lossy(&t).into_owned();
            resolve_link_target("/", &t)
        }),
        _ => None,
    };
    if kind == FileKind::Symlink
        && let Some(t) = &link_target
        && t.is_empty()
    {
        scan.warnings.push(Warning {
            code: "empty-link-target".into(),
            message: "symlink with an empty target".into(),
            path: Some(path.clone()),
            layer: Some(ctx.layer),
        });
    }

    let indexed = scan.entries.len() < ctx.limits.max_indexed_files;
    if indexed {
        scan.entries.push(FileEntry {
            path: path.clone(),
            kind,
            mode,
            uid,
            gid,
            size,
            link_target,
            layer: ctx.layer,
            sha256: None,
            md5: None,
        });
    } else if scan.entries.len() == ctx.limits.max_indexed_files {
        scan.warnings.push(Warning {
            code: "file-index-full".into(),
            message: format!(
                "more than {} paths in one layer; later paths are not indexed",
                ctx.limits.max_indexed_files
            ),
            path: None,
            layer: Some(ctx.layer),
        });
    }

    if kind != FileKind::File {
        return Ok(());
    }

    let file = FileRef {
        path: &path,
        mode,
        size,
    };
    let mut read_limit: u64 = 0;
    let mut claimed: Vec<&dyn Cataloger> = Vec::new();
    for c in ctx.catalogers {
        if c.claims(&file) {
            let max = c.max_size().min(ctx.limits.max_catalog_file_size);
            if size <= max {
                claimed.push(c.as_ref());
                read_limit = read_limit.max(size);
            } else {
                scan.warnings.push(Warning {
                    code: "file-too-large".into(),
                    message: format!(
                        "{} is {size} bytes, more than the {max} the {} cataloger reads",
                        path,
                        c.name()
                    ),
                    path: Some(path.clone()),
                    layer: Some(ctx.layer),
                });
            }
        }
    }
    let search = ctx.content.wants(size);
    let keep = (ctx.keep)(&path);
    if search {
        read_limit = read_limit.max(size);
    }
    if keep {
        read_limit = read_limit.max(size.min(ctx.content.max_file_size().max(1 << 20)));
    }
    let hashing = indexed && (ctx.digests.sha256 || ctx.digests.md5);
    if read_limit == 0 && !(keep || search || hashing) {
        return Ok(());
    }
    let mut content = Vec::with_capacity(read_limit.min(64 << 20) as usize);
    (&mut entry).take(read_limit).read_to_end(&mut content)?;
    if hashing {
        let (sha256, md5) = digest_rest(&content, &mut entry, ctx.digests)?;
        if let Some(e) = scan.entries.last_mut() {
            e.sha256 = sha256;
            e.md5 = md5;
        }
    }

    for c in claimed {
        let parsed = c.parse(&file, &content);
        if !parsed.is_empty() {
            scan.catalog.push(CatalogHit {
                path: path.clone(),
                cataloger: c.name(),
                parsed,
            });
        }
    }
    if search {
        for (pattern, lines) in ctx.content.secrets_in(&content) {
            scan.secrets.push(ContentHit {
                pattern,
                location: HitLocation::File {
                    path: path.clone(),
                    layer: ctx.layer,
                    visible: true,
                },
                lines,
            });
        }
        for (pattern, lines) in ctx.content.content_in(&content) {
            scan.content_matches.push(ContentHit {
                pattern,
                location: HitLocation::File {
                    path: path.clone(),
                    layer: ctx.layer,
                    visible: true,
                },
                lines,
            });
        }
    }
    if keep {
        scan.kept.push((path, content));
    }
    Ok(())
}

/// Digests of `head` followed by the rest of the entry; the rest is streamed, not held.
fn digest_rest(
    head: &[u8],
    rest: &mut impl Read,
    want: FileDigests,
) -> io::Result<(Option<String>, Option<String>)> {
    let mut sha = want.sha256.then(Sha256::new);
    let mut md5 = want.md5.then(Md5::new);
    let mut update = |b: &[u8]| {
        if let Some(h) = sha.as_mut() {
            h.update(b);
        }
        if let Some(h) = md5.as_mut() {
            h.update(b);
        }
    };
    update(head);
    let mut buf = [0u8; 32 * 1024];
    loop {
        let n = rest.read(&mut buf)?;
        if n == 0 {
            break;
        }
        update(&buf[..n]);
    }
    Ok((
        sha.map(|h| hex::encode(h.finalize())),
        md5.map(|h| hex::encode(h.finalize())),
    ))
}

/// A retrieved file as the analysis reports it.
pub(crate) fn retrieved(path: &str, layer: usize, content: &[u8], max: u64) -> RetrievedFile {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let truncated = content.len() > max;
    let body = if truncated { &content[..max] } else { content };
    RetrievedFile {
        path: path.to_owned(),
        layer,
        content_base64: base64::engine::general_purpose::STANDARD.encode(body),
        truncated,
    }
}
