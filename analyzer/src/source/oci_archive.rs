//! A tar of an OCI image layout (`skopeo copy ... oci-archive:`, `buildah push`,
//! `docker buildx build --output type=oci`). Read in place: the members are indexed once and
//! handed out as slices of the file.
//!
//! Traps: member names may start with `./`; `index.json` may list one manifest per tag, or an
//! index per image; the `oci-layout` marker is sometimes missing (accepted).

use super::oci_dir::resolve_layout;
use super::tar_index::{ArchiveImage, TarIndex};
use super::{Error, Handle, ResolvedImage};
use crate::settings::{Limits, Platform};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Blocking: indexes the archive and reads the manifest and config.
pub(super) fn resolve(
    path: &Path,
    platform: &Platform,
    limits: &Limits,
) -> Result<ResolvedImage, Error> {
    let index = TarIndex::build(path)?;
    if !index.contains("index.json") {
        return Err(Error::Malformed {
            what: format!("archive {}", path.display()),
            message: "no index.json: not an OCI image layout archive".into(),
        });
    }
    let mut image = resolve_layout(&index, None, platform, limits)?;
    image.handle = Handle::Archive(Arc::new(ArchiveImage {
        index,
        members: HashMap::new(),
    }));
    Ok(image)
}
