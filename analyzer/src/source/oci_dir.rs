//! An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`).

use super::manifest::{ImageIndex, ImageManifest, MediaTypeClass, select_platform};
use super::{Error, Handle, ResolvedImage, verify_digest};
use crate::settings::{Limits, Platform};
use std::io::Read;
use std::path::{Path, PathBuf};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The files of an OCI image layout: a directory, or a tar of one.
pub(super) trait LayoutFiles {
    /// Reads `index.json` or `blobs/<alg>/<hex>`, refusing more than `limit` bytes.
    fn read(&self, name: &str, what: &str, limit: u64) -> Result<Vec<u8>, Error>;
    /// The layout as the user named it, for messages.
    fn describe(&self) -> String;
}

struct Dir<'a>(&'a Path);

impl LayoutFiles for Dir<'_> {
    fn read(&self, name: &str, what: &str, limit: u64) -> Result<Vec<u8>, Error> {
        read_limited(&self.0.join(name), what, limit)
    }
    fn describe(&self) -> String {
        self.0.display().to_string()
    }
}

pub(super) fn blob_path(root: &Path, digest: &str) -> Result<PathBuf, Error> {
    Ok(root.join(blob_name(digest)?))
}

/// `sha256:<hex>` -> `blobs/sha256/<hex>`, refusing anything that could leave the layout.
pub(super) fn blob_name(digest: &str) -> Result<String, Error> {
    let (alg, hex) = digest
        .split_once(':')
        .filter(|(a, h)| {
            matches!(*a, "sha256" | "sha512")
                && !h.is_empty()
                && h.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .ok_or_else(|| Error::Malformed {
            what: "descriptor".into(),
            message: format!("bad digest {digest:?}"),
        })?;
    Ok(format!("blobs/{alg}/{hex}"))
}

fn read_limited(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io {
        what: "reading",
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!("{what} ({})", path.display()))
        } else {
            io(e)
        }
    })?;
    let size = file.metadata().map_err(io)?.len();
    if size > limit {
        return Err(Error::TooLarge {
            what: what.to_owned(),
            size,
            limit,
        });
    }
    let mut buf = Vec::with_capacity(size as usize);
    file.take(limit + 1).read_to_end(&mut buf).map_err(io)?;
    Ok(buf)
}

pub(super) fn resolve(
    root: &Path,
    tag: Option<&str>,
    platform: &Platform,
    limits: &Limits,
) -> Result<ResolvedImage, Error> {
    resolve_layout(&Dir(root), tag, platform, limits)
}

/// Resolves the image of a layout, wherever its files are.
pub(super) fn resolve_layout(
    files: &impl LayoutFiles,
    tag: Option<&str>,
    platform: &Platform,
    limits: &Limits,
) -> Result<ResolvedImage, Error> {
    let root = files.describe();
    let index_bytes = files.read("index.json", "index.json", limits.max_manifest_bytes)?;
    let top = ImageIndex::parse("index.json", &index_bytes)?;
    let candidates: Vec<_> = match tag {
        Some(t) => top
            .manifests
            .iter()
            .filter(|m| {
                m.annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME))
                    .map(String::as_str)
                    == Some(t)
            })
            .collect(),
        None => top.manifests.iter().collect(),
    };
    let first = match (candidates.as_slice(), tag) {
        ([one], _) => (*one).clone(),
        ([], Some(t)) => return Err(Error::NotFound(format!("tag {t:?} in {root}"))),
        ([], None) => return Err(Error::NotFound(format!("a manifest in {root}"))),
        (_, _) => {
            // Several manifests at the top: treat index.json itself as the platform index.
            select_platform(&top, platform)?.clone()
        }
    };
    let mut desc = first;
    let mut index_digest = None;
    for _ in 0..4 {
        let bytes = files.read(
            &blob_name(&desc.digest)?,
            "manifest",
            limits.max_manifest_bytes,
        )?;
        verify_digest("manifest", &bytes, &desc.digest)?;
        let class = MediaTypeClass::of(&desc.media_type)
            .map(|c| (c, desc.media_type.clone()))
            .or_else(|| MediaTypeClass::sniff(&bytes))
            .ok_or_else(|| Error::UnsupportedMediaType {
                what: "manifest".into(),
                media_type: desc.media_type.clone(),
            })?;
        match class.0 {
            MediaTypeClass::Index => {
                let idx = ImageIndex::parse("image index", &bytes)?;
                index_digest = Some(desc.digest.clone());
                desc = select_platform(&idx, platform)?.clone();
            }
            MediaTypeClass::Manifest => {
                let m = ImageManifest::parse("manifest", &bytes)?;
                let config = files.read(
                    &blob_name(&m.config.digest)?,
                    "config",
                    limits.max_config_bytes,
                )?;
                verify_digest("config", &config, &m.config.digest)?;
                return Ok(ResolvedImage {
                    repository: Some(root),
                    tag: tag.map(str::to_owned),
                    manifest_digest: desc.digest.clone(),
                    manifest_media_type: class.1,
                    index_digest,
                    config_digest: m.config.digest.clone(),
                    config,
                    layers: m.layers,
                    handle: Handle::None,
                });
            }
        }
    }
    Err(Error::Malformed {
        what: "image index".into(),
        message: "indexes nested too deep".into(),
    })
}

pub(super) fn open_blob(root: &Path, digest: &str) -> Result<Box<dyn Read + Send>, Error> {
    let path = blob_path(root, digest)?;
    let file = std::fs::File::open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!("blob {digest}"))
        } else {
            Error::Io {
                what: "opening",
                path: path.display().to_string(),
                source: e,
            }
        }
    })?;
    Ok(Box::new(file))
}
