//! Where images come from: a registry, or local files for CI (`oci-dir:`, `oci-archive:`,
//! `docker-archive:`). Every source resolves to the same [`ResolvedImage`] (manifest and
//! config, digests checked) and opens layer blobs as blocking readers for the walk, which
//! checks each blob's digest as it streams.

mod docker_archive;
mod manifest;
mod oci_archive;
mod oci_dir;
pub mod registry;
mod tar_index;

pub use manifest::{
    DOCKER_LIST, DOCKER_MANIFEST, Descriptor, ImageIndex, ImageManifest, MediaTypeClass, OCI_INDEX,
    OCI_MANIFEST, select_platform,
};

pub use registry::{Credential, Credentials, CredentialsError, RegistryRef, Secret};

use crate::settings::ScanSettings;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// An image as the user names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// `registry/repo:tag`, `repo@sha256:...`; Docker Hub names normalised.
    Registry(String),
    /// An OCI image layout directory and optionally the `org.opencontainers.image.ref.name`
    /// of the manifest to take.
    OciDir { path: PathBuf, tag: Option<String> },
    /// A tar of an OCI image layout.
    OciArchive(PathBuf),
    /// `docker save` output.
    DockerArchive(PathBuf),
}

impl std::str::FromStr for ImageSource {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(rest) = s.strip_prefix("oci-dir:") {
            // The path itself may contain ':'; a tag is what follows the last ':' when the
            // whole string is not an existing path.
            let whole = PathBuf::from(rest);
            if whole.exists() || !rest.contains(':') {
                return Ok(Self::OciDir {
                    path: whole,
                    tag: None,
                });
            }
            let (p, t) = rest
                .rsplit_once(':')
                .ok_or_else(|| Error::InvalidReference(s.into()))?;
            return Ok(Self::OciDir {
                path: p.into(),
                tag: Some(t.into()),
            });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            return Ok(Self::OciArchive(rest.into()));
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            return Ok(Self::DockerArchive(rest.into()));
        }
        if s.is_empty() || s.chars().any(char::is_whitespace) {
            return Err(Error::InvalidReference(s.into()));
        }
        Ok(Self::Registry(s.to_owned()))
    }
}

/// A manifest chosen, its config read and checked.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// Normalised `registry/repository` (or the local path).
    pub repository: Option<String>,
    pub tag: Option<String>,
    pub manifest_digest: String,
    pub manifest_media_type: String,
    pub index_digest: Option<String>,
    pub config_digest: String,
    pub config: Vec<u8>,
    pub layers: Vec<Descriptor>,
    /// What `open_layer` reuses: the registry session, the archive index.
    handle: Handle,
}

/// Source state kept between `resolve` and `open_layer`.
#[derive(Debug, Clone, Default)]
enum Handle {
    #[default]
    None,
    Registry(Arc<registry::Session>),
    Archive(Arc<tar_index::ArchiveImage>),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid image reference {0:?}")]
    InvalidReference(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} is {size} bytes, more than the limit of {limit}")]
    TooLarge { what: String, size: u64, limit: u64 },
    #[error("{what}: {message}")]
    Malformed { what: String, message: String },
    #[error("unsupported media type {media_type:?} for {what}")]
    UnsupportedMediaType { what: String, media_type: String },
    #[error("{what}: digest mismatch, expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("no manifest for platform {platform} (the index has: {available})")]
    PlatformNotFound { platform: String, available: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("registry {registry}: authentication failed ({status}): {message}")]
    Unauthorized {
        registry: String,
        status: u16,
        message: String,
    },
    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },
}

impl ImageSource {
    /// Resolves the reference to one platform's manifest and its config.
    pub async fn resolve(&self, settings: &ScanSettings) -> Result<ResolvedImage, Error> {
        let (platform, limits) = (&settings.platform, &settings.limits);
        match self {
            Self::OciDir { path, tag } => oci_dir::resolve(path, tag.as_deref(), platform, limits),
            Self::Registry(reference) => registry::resolve(reference, settings).await,
            Self::OciArchive(path) => {
                let (path, platform, limits) = (path.clone(), platform.clone(), limits.clone());
                blocking(move || oci_archive::resolve(&path, &platform, &limits)).await
            }
            Self::DockerArchive(path) => {
                let (path, limits) = (path.clone(), limits.clone());
                blocking(move || docker_archive::resolve(&path, &limits)).await
            }
        }
    }

    /// Opens a layer blob as a blocking reader. Read it off the async runtime (in
    /// `spawn_blocking`), on the runtime that called this: registry readers block on it.
    pub async fn open_layer(
        &self,
        image: &ResolvedImage,
        layer: &Descriptor,
    ) -> Result<Box<dyn Read + Send>, Error> {
        match (self, &image.handle) {
            (Self::OciDir { path, .. }, _) => oci_dir::open_blob(path, &layer.digest),
            (Self::Registry(_), Handle::Registry(session)) => session.open_blob(layer).await,
            (Self::OciArchive(_) | Self::DockerArchive(_), Handle::Archive(archive)) => {
                archive.open_layer(&layer.digest)
            }
            (other, _) => Err(Error::Malformed {
                what: format!("{other:?}"),
                message: "open_layer called with an image resolved from another source".into(),
            }),
        }
    }
}

/// Runs blocking file work (indexing an archive) off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Malformed {
            what: "archive".into(),
            message: format!("the reading task failed: {e}"),
        })?
}

/// `sha256:<hex>` of bytes.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Checks `bytes` against a `sha256:` / `sha512:` digest.
pub(crate) fn verify_digest(what: &str, bytes: &[u8], expected: &str) -> Result<(), Error> {
    use sha2::Digest as _;
    let actual = match expected.split_once(':') {
        Some(("sha256", _)) => sha256_digest(bytes),
        Some(("sha512", _)) => format!("sha512:{}", hex::encode(sha2::Sha512::digest(bytes))),
        _ => {
            return Err(Error::Malformed {
                what: what.to_owned(),
                message: format!("unsupported digest {expected:?}"),
            });
        }
    };
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::DigestMismatch {
            what: what.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}
