//! The Analysis document: everything the analyzer learns about one image.
//!
//! This is the versioned wire format between the analyzer Job and the operator, and the input
//! of matching and policy evaluation. Fields are only ever added; a breaking change bumps
//! [`SCHEMA_VERSION`]. The JSON schema is documented in `analyzer/docs/analysis-schema.md`.

mod package;
mod purl;

pub use package::{FileDigest, Package, PackageFile, PackageKind, SourcePackage};
pub use purl::purl_for;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the Analysis JSON document.
pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub schema_version: String,
    pub analyzer: AnalyzerInfo,
    pub image: ImageInfo,
    /// The operating system the image claims to be, if any.
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
    /// Every path of the squashed file system.
    pub files: Vec<FileEntry>,
    pub secrets: Vec<ContentHit>,
    pub content_matches: Vec<ContentHit>,
    pub retrieved_files: Vec<RetrievedFile>,
    /// Problems that did not stop the scan: a skipped record, a refused tar entry.
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AnalyzerInfo {
    pub name: String,
    pub version: String,
}

impl AnalyzerInfo {
    pub fn current() -> Self {
        Self {
            name: "plimsoll-analyzer".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    /// The reference as the user gave it.
    pub reference: String,
    /// `registry/repository` for registry images (normalised), or the local source.
    pub repository: Option<String>,
    pub tag: Option<String>,
    /// Digest of the manifest that was analyzed (the platform's manifest, not the index).
    pub manifest_digest: String,
    pub manifest_media_type: String,
    /// Digest of the image index the manifest was selected from, if any.
    pub index_digest: Option<String>,
    pub config_digest: String,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    /// Sum of the compressed layer sizes.
    pub compressed_size: u64,
    /// Sum of the uncompressed layer sizes (the tar streams).
    pub uncompressed_size: u64,
    pub layers: Vec<LayerInfo>,
    pub config: ImageConfig,
    pub history: Vec<HistoryEntry>,
    pub dockerfile: Option<Dockerfile>,
    pub created: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LayerInfo {
    /// Position in the image, 0 = base layer.
    pub index: usize,
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    /// sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: String,
    pub uncompressed_size: u64,
    pub file_count: u64,
    /// The history line that created this layer.
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageConfig {
    pub user: Option<String>,
    pub exposed_ports: Vec<String>,
    /// `NAME=VALUE`, with values that look like secrets redacted.
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub healthcheck: Option<Vec<String>>,
    pub labels: BTreeMap<String, String>,
    pub working_dir: Option<String>,
    pub volumes: Vec<String>,
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub created: Option<String>,
    /// With secret-looking values redacted.
    pub created_by: Option<String>,
    pub empty_layer: bool,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Dockerfile {
    pub source: DockerfileSource,
    pub text: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DockerfileSource {
    /// Reconstructed from the image history.
    Guessed,
    /// Given by the user alongside the image.
    Actual,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Distro {
    /// `ID` of os-release: `debian`, `alpine`, `almalinux`, `busybox`, ...
    pub id: String,
    /// `VERSION_ID`, refined from `/etc/debian_version` on Debian.
    pub version_id: Option<String>,
    pub version_codename: Option<String>,
    pub id_like: Vec<String>,
    pub pretty_name: Option<String>,
    pub cpe_name: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

/// One path of the squashed file system.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    /// Absolute path, normalised (`/usr/bin/ls`).
    pub path: String,
    pub kind: FileKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub link_target: Option<String>,
    /// Layer the visible version comes from.
    pub layer: usize,
    /// Hex digests of regular files' content, as `ScanSettings::file_digests` asks.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub md5: Option<String>,
}

impl FileEntry {
    pub fn is_setuid(&self) -> bool {
        self.mode & 0o4000 != 0
    }
    pub fn is_setgid(&self) -> bool {
        self.mode & 0o2000 != 0
    }
}

/// A secret or content pattern found in a file, the image config or the history.
/// Never carries the matched text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct ContentHit {
    /// Pattern name (`AWS_ACCESS_KEY`, or the user's `NAME` of `NAME=REGEX`).
    pub pattern: String,
    pub location: HitLocation,
    /// 1-based line numbers of the matches.
    pub lines: Vec<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum HitLocation {
    /// A file in a layer. `visible` is false when a later layer deleted or replaced it: the
    /// content is still in the image for anyone who pulls it.
    #[serde(rename_all = "camelCase")]
    File {
        path: String,
        layer: usize,
        visible: bool,
    },
    /// An environment variable of the image config (the name only).
    #[serde(rename_all = "camelCase")]
    Env { name: String },
    /// A history entry (index into `image.history`).
    #[serde(rename_all = "camelCase")]
    History { index: usize },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RetrievedFile {
    pub path: String,
    pub layer: usize,
    /// Base64 of the content, at most `max_file_size` bytes.
    pub content_base64: String,
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    /// Stable kebab-case code (`unsafe-tar-path`, `malformed-record`, ...).
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub layer: Option<usize>,
}
