//! `docker save` output (also `podman save`, `skopeo copy ... docker-archive:`): a tar whose
//! `manifest.json` lists, per image, the member holding the config and the members holding
//! the layers. Read in place, like the OCI archive.
//!
//! Traps:
//! - Layers are named by path, not digest: `<id>/layer.tar` (uncompressed, before Docker 25)
//!   or `blobs/sha256/<hex>` (Docker 25+, which also writes an OCI layout beside
//!   `manifest.json`; we read `manifest.json`, which lists exactly what the archive holds,
//!   while its `index.json` may name platforms whose blobs were not saved).
//! - Each layer still gets a blob digest the walk verifies: the one in its `blobs/` name; else
//!   for an uncompressed layer its diff id (the hash of the uncompressed tar is the hash of
//!   the blob); else (a compressed layer under an arbitrary name) the member is hashed here.
//! - A layer shared by two saved images is stored once, the other path being a symlink.
//! - There is no manifest: the digest reported is that of the Docker v2 schema 2 manifest
//!   describing the config and layers as stored (what `docker push` of these blobs would
//!   write), so two identical archives get the same digest.
//! - Several images in one archive: refused (we cannot know which one was meant).

use super::manifest::{DOCKER_MANIFEST, Descriptor};
use super::registry::RegistryRef;
use super::tar_index::{ArchiveImage, TarIndex};
use super::{Error, Handle, ResolvedImage, sha256_digest, verify_digest};
use crate::layers::{Compression, sniff_compression};
use crate::settings::Limits;
use serde::Deserialize;
use sha2::Digest as _;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SavedImage {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
struct ConfigProbe {
    #[serde(default)]
    rootfs: RootFs,
}

/// `blobs/sha256/<hex>` or `<hex>.json` -> `sha256:<hex>`.
fn digest_in_name(name: &str) -> Option<String> {
    let is_hex64 = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
    let trimmed = name.trim_start_matches("./");
    if let Some(hex) = trimmed.strip_prefix("blobs/sha256/") {
        return is_hex64(hex).then(|| format!("sha256:{hex}"));
    }
    let hex = trimmed.strip_suffix(".json")?;
    is_hex64(hex).then(|| format!("sha256:{hex}"))
}

/// Blocking: indexes the archive, reads the manifest and config, settles layer digests.
pub(super) fn resolve(path: &Path, limits: &Limits) -> Result<ResolvedImage, Error> {
    let index = TarIndex::build(path)?;
    let what = format!("archive {}", path.display());
    if !index.contains("manifest.json") {
        return Err(Error::Malformed {
            what,
            message: "no manifest.json: not a docker save archive".into(),
        });
    }
    let manifest_bytes = index.read("manifest.json", "manifest.json", limits.max_manifest_bytes)?;
    let saved: Vec<SavedImage> =
        serde_json::from_slice(&manifest_bytes).map_err(|e| Error::Malformed {
            what: format!("{what}: manifest.json"),
            message: e.to_string(),
        })?;
    let image = match saved.as_slice() {
        [one] => one,
        [] => return Err(Error::NotFound(format!("an image in {what}"))),
        many => {
            let tags: Vec<String> = many
                .iter()
                .map(|m| {
                    m.repo_tags
                        .as_ref()
                        .and_then(|t| t.first().cloned())
                        .unwrap_or_else(|| m.config.clone())
                })
                .collect();
            return Err(Error::Malformed {
                what,
                message: format!(
                    "holds {} images ({}); save one image per archive",
                    many.len(),
                    tags.join(", ")
                ),
            });
        }
    };

    let config = index.read(&image.config, "config", limits.max_config_bytes)?;
    if let Some(d) = digest_in_name(&image.config) {
        verify_digest("config", &config, &d)?;
    }
    let config_digest = sha256_digest(&config);
    let diff_ids = serde_json::from_slice::<ConfigProbe>(&config)
        .map(|c| c.rootfs.diff_ids)
        .unwrap_or_default();

    let mut layers = Vec::with_capacity(image.layers.len());
    let mut members = HashMap::new();
    for (i, name) in image.layers.iter().enumerate() {
        let (mut reader, size) = index.open(name, &format!("layer {i}"))?;
        let mut head = [0u8; 4];
        let mut got = 0;
        while got < head.len() {
            match reader.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(source) => {
                    return Err(Error::Io {
                        what: "reading archive",
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
        let compression = sniff_compression(&head[..got]);
        let digest = match (digest_in_name(name), compression, diff_ids.get(i)) {
            (Some(d), _, _) => d,
            (None, Compression::None, Some(diff_id)) => diff_id.clone(),
            _ => hash_member(&index, name, path)?,
        };
        let media_type = match compression {
            Compression::Gzip => DOCKER_LAYER_GZIP,
            Compression::Zstd => OCI_LAYER_ZSTD,
            Compression::None => DOCKER_LAYER_TAR,
        };
        members.insert(digest.clone(), name.clone());
        layers.push(Descriptor {
            media_type: media_type.to_owned(),
            digest,
            size,
            platform: None,
            annotations: None,
        });
    }

    let synthesized = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": config.len(), "digest": config_digest},
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": l.media_type, "size": l.size, "digest": l.digest,
        })).collect::<Vec<_>>(),
    });
    let manifest_digest = sha256_digest(synthesized.to_string().as_bytes());

    let named = image
        .repo_tags
        .as_ref()
        .and_then(|t| t.first())
        .and_then(|t| RegistryRef::parse(t).ok());
    let (repository, tag) = match named {
        Some(r) => (Some(format!("{}/{}", r.registry, r.repository)), r.tag),
        None => (Some(path.display().to_string()), None),
    };
    Ok(ResolvedImage {
        repository,
        tag,
        manifest_digest,
        manifest_media_type: DOCKER_MANIFEST.to_owned(),
        index_digest: None,
        config_digest,
        config,
        layers,
        handle: Handle::Archive(Arc::new(ArchiveImage { index, members })),
    })
}

fn hash_member(index: &TarIndex, name: &str, path: &Path) -> Result<String, Error> {
    let (mut reader, _) = index.open(name, "layer")?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|source| Error::Io {
            what: "reading archive",
            path: path.display().to_string(),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_from_names() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_in_name(&format!("blobs/sha256/{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(
            digest_in_name(&format!("./{hex}.json")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(digest_in_name(&format!("{hex}/layer.tar")), None);
        assert_eq!(digest_in_name("blobs/sha256/short"), None);
        assert_eq!(digest_in_name(&format!("blobs/sha512/{hex}")), None);
    }
}
