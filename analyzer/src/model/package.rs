//! A package found in an image, whatever its ecosystem.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum PackageKind {
    Deb,
    Apk,
    Rpm,
    Python,
    Npm,
    Gem,
    Java,
    GoModule,
    RustCrate,
    Dotnet,
    Composer,
}

impl PackageKind {
    /// OS packages are those the distribution's package manager installed.
    pub fn is_os(self) -> bool {
        matches!(self, Self::Deb | Self::Apk | Self::Rpm)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Apk => "apk",
            Self::Rpm => "rpm",
            Self::Python => "python",
            Self::Npm => "npm",
            Self::Gem => "gem",
            Self::Java => "java",
            Self::GoModule => "go-module",
            Self::RustCrate => "rust-crate",
            Self::Dotnet => "dotnet",
            Self::Composer => "composer",
        }
    }
}

impl std::fmt::Display for PackageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The source package a binary package was built from (Debian source, RPM source rpm,
/// Alpine origin). Vulnerability feeds of those distributions are keyed by it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub struct SourcePackage {
    pub name: String,
    /// Present when it differs from the binary package's version.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub struct FileDigest {
    /// `md5` (dpkg), `sha1` (apk), `sha256` / `md5` (rpm, by the db's digest algorithm).
    pub algorithm: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub struct PackageFile {
    pub path: String,
    /// The digest the package database records for this file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub digest: Option<FileDigest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    pub name: String,
    /// The version as the ecosystem writes it. For rpm `[EPOCH:]VERSION-RELEASE`, for dpkg
    /// the full Debian version with epoch.
    pub version: String,
    pub kind: PackageKind,
    /// Package URL, in the shapes Syft emits.
    pub purl: String,
    /// Java group id, npm scope is kept in the name (`@scope/name`), composer vendor in the name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub epoch: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<SourcePackage>,
    pub licenses: Vec<String>,
    /// Where the record that describes the package lives (`/var/lib/dpkg/status`,
    /// `/app/lib/a.jar:BOOT-INF/lib/b.jar`).
    pub locations: Vec<String>,
    /// The first layer in which this package (same name, version and record path) appears.
    pub introduced_layer: usize,
    /// The layer that holds the package record visible in the squashed image.
    pub record_layer: usize,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub files: Vec<PackageFile>,
    /// Ecosystem details: `goVersion`, `mainModule`, `maintainer`, `installedSize`, ...
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub metadata: BTreeMap<String, String>,
}

impl Package {
    /// A package with the identity fields set and everything else empty.
    pub fn new(kind: PackageKind, name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            kind,
            purl: String::new(),
            namespace: None,
            arch: None,
            epoch: None,
            source: None,
            licenses: Vec::new(),
            locations: Vec::new(),
            introduced_layer: 0,
            record_layer: 0,
            files: Vec::new(),
            metadata: BTreeMap::new(),
        }
    }
}
