//! Catalogers: each knows the files of one ecosystem and turns them into packages.
//!
//! A cataloger says which files it wants ([`Cataloger::claims`], called for every regular file
//! of every layer, so it must be cheap) and parses their bytes ([`Cataloger::parse`], no IO).
//! The walk calls it on every layer's copy of a file; [`assemble`] then keeps the packages of
//! the copies a container sees and remembers the first layer each package appeared in.
//!
//! One folder per ecosystem (`catalog/dpkg/`, ...) with `cataloger.rs` (claims), `parse_*.rs`
//! (bytes to records) and `testdata/`.

pub mod distro;
pub mod dpkg;
pub mod rpm;

use crate::layers::{LayerScan, Squashed};
use crate::model::{Distro, Package, PackageFile, PackageKind, Warning, purl_for};
use std::collections::HashMap;

/// A regular file as catalogers see it.
#[derive(Debug, Clone, Copy)]
pub struct FileRef<'a> {
    /// Absolute, normalised path.
    pub path: &'a str,
    pub mode: u32,
    pub size: u64,
}

impl FileRef<'_> {
    pub fn is_executable(&self) -> bool {
        self.mode & 0o111 != 0
    }
}

/// Files a package database says a package owns, found in a file separate from the package
/// record (dpkg's `info/NAME.list` and `info/NAME.md5sums`).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedFiles {
    pub kind: PackageKind,
    pub package: String,
    pub arch: Option<String>,
    pub files: Vec<PackageFile>,
}

/// What a cataloger made of one file.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub packages: Vec<Package>,
    pub owned_files: Vec<OwnedFiles>,
    /// Problems with single records; the rest of the file is still used.
    pub warnings: Vec<String>,
}

impl Parsed {
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.owned_files.is_empty() && self.warnings.is_empty()
    }

    pub fn packages(packages: Vec<Package>) -> Self {
        Self {
            packages,
            ..Self::default()
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Self {
            warnings: vec![message.into()],
            ..Self::default()
        }
    }
}

pub trait Cataloger: Send + Sync + std::fmt::Debug {
    /// Short stable name (`dpkg`, `python`) used in warnings.
    fn name(&self) -> &'static str;
    /// Whether this cataloger wants the file's bytes.
    fn claims(&self, file: &FileRef<'_>) -> bool;
    /// Files bigger than this are skipped with a warning.
    fn max_size(&self) -> u64 {
        64 << 20
    }
    /// Parses one file. Never fails: a bad record becomes a warning, the rest is kept.
    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Parsed;
}

/// Every cataloger the analyzer knows.
pub fn all() -> Vec<Box<dyn Cataloger>> {
    vec![Box::new(dpkg::DpkgCataloger), Box::new(rpm::RpmCataloger)]
}

/// Packages visible in the squashed image, each with the layer that introduced it, its purl,
/// and the files other records say it owns.
pub fn assemble(
    layers: &[LayerScan],
    fs: &Squashed,
    distro: Option<&Distro>,
) -> (Vec<Package>, Vec<Warning>) {
    // The first layer where each package identity (kind, name, version, arch, record path)
    // appears, visible or not.
    let mut first_seen: HashMap<(PackageKind, &str, &str, Option<&str>, &str), usize> =
        HashMap::new();
    for layer in layers {
        for hit in &layer.catalog {
            for p in &hit.parsed.packages {
                first_seen
                    .entry((p.kind, &p.name, &p.version, p.arch.as_deref(), &hit.path))
                    .or_insert(layer.index);
            }
        }
    }

    let mut owned: HashMap<(PackageKind, &str, Option<&str>), Vec<PackageFile>> = HashMap::new();
    let mut packages = Vec::new();
    let mut warnings = Vec::new();
    for layer in layers {
        for hit in &layer.catalog {
            if !fs.is_visible(&hit.path, layer.index) {
                continue;
            }
            for w in &hit.parsed.warnings {
                warnings.push(Warning {
                    code: "malformed-record".into(),
                    message: format!("{}: {w}", hit.cataloger),
                    path: Some(hit.path.clone()),
                    layer: Some(layer.index),
                });
            }
            for o in &hit.parsed.owned_files {
                owned
                    .entry((o.kind, &o.package, o.arch.as_deref()))
                    .or_default()
                    .extend(o.files.iter().cloned());
            }
            for p in &hit.parsed.packages {
                let mut p = p.clone();
                let key = (
                    p.kind,
                    p.name.as_str(),
                    p.version.as_str(),
                    p.arch.as_deref(),
                    hit.path.as_str(),
                );
                p.introduced_layer = first_seen.get(&key).copied().unwrap_or(layer.index);
                p.record_layer = layer.index;
                if p.locations.is_empty() {
                    p.locations.push(hit.path.clone());
                }
                packages.push(p);
            }
        }
    }

    for p in &mut packages {
        if p.files.is_empty() {
            let files = owned
                .get(&(p.kind, p.name.as_str(), p.arch.as_deref()))
                .or_else(|| owned.get(&(p.kind, p.name.as_str(), None)));
            if let Some(files) = files {
                p.files = merge_owned(files);
            }
        }
        p.purl = purl_for(p, distro);
    }
    packages.sort_by(|a, b| {
        (a.kind, &a.name, &a.version, &a.locations).cmp(&(
            b.kind,
            &b.name,
            &b.version,
            &b.locations,
        ))
    });
    (packages, warnings)
}

/// `.list` gives paths, `.md5sums` gives digests of some of them: one entry per path, with
/// the digest where known.
fn merge_owned(files: &[PackageFile]) -> Vec<PackageFile> {
    let mut by_path: std::collections::BTreeMap<&str, PackageFile> =
        std::collections::BTreeMap::new();
    for f in files {
        let slot = by_path.entry(&f.path).or_insert_with(|| PackageFile {
            path: f.path.clone(),
            digest: None,
        });
        if f.digest.is_some() {
            slot.digest = f.digest.clone();
        }
    }
    by_path.into_values().collect()
}
