//! The scan pipeline: resolve the image, walk every layer once (several at a time), squash,
//! then assemble the analysis. The only module that sequences IO; each step it calls is a
//! pure function or a source method.

use crate::catalog::{self, Cataloger};
use crate::content::ContentScanner;
use crate::facts::{guess_dockerfile, parse_config};
use crate::layers::{LayerScan, WalkCtx, squash_taking, walk_layer};
use crate::model::{
    Analysis, AnalyzerInfo, ContentHit, Dockerfile, DockerfileSource, HitLocation, ImageInfo,
    LayerInfo, SCHEMA_VERSION,
};
use crate::settings::ScanSettings;
use crate::source::{self, ImageSource, ResolvedImage};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Source(#[from] source::Error),
    #[error(transparent)]
    Layer(#[from] crate::layers::Error),
    #[error(transparent)]
    Config(#[from] crate::facts::ConfigError),
    #[error("the config lists {config} layers but the manifest {manifest}")]
    LayerCountMismatch { config: usize, manifest: usize },
    #[error("layer worker failed: {0}")]
    Worker(String),
}

impl ScanError {
    /// Short stable label for metrics and status reasons.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Source(source::Error::NotFound(_)) => "ImageNotFound",
            Self::Source(source::Error::Unauthorized { .. }) => "RegistryAuthFailed",
            Self::Source(source::Error::InvalidReference(_)) => "InvalidImageReference",
            Self::Source(_) => "RegistryError",
            Self::Layer(_) | Self::LayerCountMismatch { .. } => "CorruptImage",
            Self::Config(_) => "CorruptImage",
            Self::Worker(_) => "AnalysisFailed",
        }
    }
}

/// Progress of a scan, for a progress bar. Called from worker threads.
pub trait Progress: Send + Sync {
    fn layers(&self, _count: usize, _total_bytes: u64) {}
    fn bytes(&self, _n: u64) {}
    fn layer_done(&self, _index: usize) {}
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct NoProgress;
impl Progress for NoProgress {}

struct Counting<R> {
    inner: R,
    progress: Arc<dyn Progress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes(n as u64);
        Ok(n)
    }
}

/// Analyzes one image: [`ImageSource::resolve`], then [`analyze_resolved`].
pub async fn scan(
    source: &ImageSource,
    reference: &str,
    settings: &ScanSettings,
    progress: Arc<dyn Progress>,
) -> Result<Analysis, ScanError> {
    let resolved = source.resolve(settings).await?;
    analyze_resolved(source, &resolved, reference, settings, progress).await
}

/// Analyzes an image `source` already resolved (the analyzer Job resolves first, to ask the
/// operator whether the digest still needs an analysis). `reference` is what the user named,
/// recorded in the analysis.
pub async fn analyze_resolved(
    source: &ImageSource,
    resolved: &ResolvedImage,
    reference: &str,
    settings: &ScanSettings,
    progress: Arc<dyn Progress>,
) -> Result<Analysis, ScanError> {
    let scanner = Arc::new(ContentScanner::new(&settings.content));
    let config = parse_config(&resolved.config, &scanner)?;
    if !config.diff_ids.is_empty() && config.diff_ids.len() != resolved.layers.len() {
        return Err(ScanError::LayerCountMismatch {
            config: config.diff_ids.len(),
            manifest: resolved.layers.len(),
        });
    }

    let catalogers: Arc<Vec<Box<dyn Cataloger>>> = Arc::new(catalog::all());
    let keep: Arc<HashSet<String>> = Arc::new(
        catalog::distro::FILES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(settings.content.retrieve_files.iter().cloned())
            .collect(),
    );
    let limits = Arc::new(settings.limits.clone());
    let parallelism = match settings.parallelism {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    progress.layers(
        resolved.layers.len(),
        resolved.layers.iter().map(|l| l.size).sum(),
    );
    let digests = settings.file_digests;
    let permits = Arc::new(tokio::sync::Semaphore::new(parallelism));
    let mut tasks = Vec::with_capacity(resolved.layers.len());
    for (index, desc) in resolved.layers.iter().enumerate() {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ScanError::Worker(e.to_string()))?;
        let reader = source.open_layer(resolved, desc).await?;
        let (catalogers, scanner, keep, limits, progress) = (
            catalogers.clone(),
            scanner.clone(),
            keep.clone(),
            limits.clone(),
            progress.clone(),
        );
        let digest = desc.digest.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let keep_fn = |p: &str| keep.contains(p);
            let ctx = WalkCtx {
                layer: index,
                expected_digest: Some(&digest),
                catalogers: &catalogers,
                content: &scanner,
                limits: &limits,
                digests,
                keep: &keep_fn,
            };
            let result = walk_layer(
                Counting {
                    inner: reader,
                    progress: progress.clone(),
                },
                &ctx,
            );
            progress.layer_done(index);
            result
        }));
    }
    let mut layers: Vec<LayerScan> = Vec::with_capacity(tasks.len());
    for t in tasks {
        layers.push(t.await.map_err(|e| ScanError::Worker(e.to_string()))??);
    }

    Ok(assemble(reference, resolved, config, layers, settings))
}

/// Everything after the IO: squash, distro, packages, content findings, facts.
fn assemble(
    reference: &str,
    resolved: &ResolvedImage,
    config: crate::facts::ParsedConfig,
    mut layers: Vec<LayerScan>,
    settings: &ScanSettings,
) -> Analysis {
    let fs = squash_taking(&mut layers);
    let kept: HashMap<&str, &[u8]> = layers
        .iter()
        .flat_map(|l| l.kept.iter().map(move |(p, c)| (p, c, l.index)))
        .filter(|(p, _, layer)| fs.is_visible(p, *layer))
        .map(|(p, c, _)| (p.as_str(), c.as_slice()))
        .collect();
    let distro = catalog::distro::detect(|p| kept.get(p).copied());
    let (packages, mut warnings) = catalog::assemble(&layers, &fs, distro.as_ref());

    let visible_hit = |mut h: ContentHit| {
        if let HitLocation::File {
            path,
            layer,
            visible,
        } = &mut h.location
        {
            *visible = fs.is_visible(path, *layer);
        }
        h
    };
    let mut secrets: Vec<ContentHit> = config.secrets.clone();
    let mut content_matches = Vec::new();
    let mut retrieved_files = Vec::new();
    for l in &layers {
        secrets.extend(l.secrets.iter().cloned().map(visible_hit));
        content_matches.extend(l.content_matches.iter().cloned().map(visible_hit));
        warnings.extend(l.warnings.iter().cloned());
        for (path, content) in &l.kept {
            if settings.content.retrieve_files.iter().any(|r| r == path)
                && fs.is_visible(path, l.index)
            {
                retrieved_files.push(crate::layers::retrieved(
                    path,
                    l.index,
                    content,
                    settings.content.max_file_size,
                ));
            }
        }
    }

    let diff_ids = &config.diff_ids;
    let mut created_by = config
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone());
    let layer_infos: Vec<LayerInfo> = layers
        .iter()
        .zip(&resolved.layers)
        .map(|(l, d)| LayerInfo {
            index: l.index,
            digest: d.digest.clone(),
            media_type: d.media_type.clone(),
            size: l.blob_size,
            diff_id: diff_ids.get(l.index).cloned().unwrap_or_default(),
            uncompressed_size: l.uncompressed_size,
            file_count: l.file_count,
            created_by: created_by.next().flatten(),
        })
        .collect();
    let dockerfile = match &settings.dockerfile {
        Some(text) => Dockerfile {
            source: DockerfileSource::Actual,
            text: text.clone(),
        },
        None => Dockerfile {
            source: DockerfileSource::Guessed,
            text: guess_dockerfile(&config.history),
        },
    };
    let image = ImageInfo {
        reference: reference.to_owned(),
        repository: resolved.repository.clone(),
        tag: resolved.tag.clone(),
        manifest_digest: resolved.manifest_digest.clone(),
        manifest_media_type: resolved.manifest_media_type.clone(),
        index_digest: resolved.index_digest.clone(),
        config_digest: resolved.config_digest.clone(),
        os: config.os,
        architecture: config.architecture,
        variant: config.variant,
        compressed_size: layer_infos.iter().map(|l| l.size).sum(),
        uncompressed_size: layer_infos.iter().map(|l| l.uncompressed_size).sum(),
        layers: layer_infos,
        config: config.config,
        history: config.history,
        dockerfile: Some(dockerfile),
        created: config.created,
    };
    secrets.sort();
    content_matches.sort();
    warnings.sort();
    Analysis {
        schema_version: SCHEMA_VERSION.into(),
        analyzer: AnalyzerInfo::current(),
        image,
        distro,
        packages,
        files: fs.into_entries(),
        secrets,
        content_matches,
        retrieved_files,
        warnings,
    }
}

/// The operator runs scans in spawned tasks: a scan future that is not `Send` must not compile.
#[cfg(test)]
mod send_check {
    #[allow(dead_code)]
    fn scan_future_is_send(source: &super::ImageSource, settings: &super::ScanSettings) {
        fn assert_send<T: Send>(_: T) {}
        assert_send(super::scan(
            source,
            "x",
            settings,
            std::sync::Arc::new(super::NoProgress),
        ));
    }

    #[allow(dead_code)]
    fn analyze_resolved_future_is_send(
        source: &super::ImageSource,
        resolved: &super::ResolvedImage,
        settings: &super::ScanSettings,
    ) {
        fn assert_send<T: Send>(_: T) {}
        assert_send(super::analyze_resolved(
            source,
            resolved,
            "x",
            settings,
            std::sync::Arc::new(super::NoProgress),
        ));
    }
}
