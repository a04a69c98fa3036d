//! `plimsoll sbom IMAGE`: analyze and print the inventory.

use super::args::{ImageArgs, SbomArgs, SbomFormat};
use plimsoll_analyzer::cli::settings_from;
use plimsoll_analyzer::model::Analysis;
use plimsoll_analyzer::output::{self, RenderCtx, Timestamp};
use plimsoll_analyzer::scan::{NoProgress, Progress, scan};
use std::sync::Arc;

/// Input problems (exit 2) are told apart from scan failures (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0:#}")]
    Usage(anyhow::Error),
    #[error("{0:#}")]
    Scan(anyhow::Error),
}

/// Analyzes the image with a progress bar on a terminal.
pub async fn analyze(args: &ImageArgs) -> Result<Analysis, CommandError> {
    let (source, settings) = settings_from(args).map_err(CommandError::Usage)?;
    let progress: Arc<dyn Progress> = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        Arc::new(Bar::new())
    } else {
        Arc::new(NoProgress)
    };
    let result = scan(&source, &args.image, &settings, progress.clone()).await;
    drop(progress);
    result.map_err(|e| match e {
        plimsoll_analyzer::scan::ScanError::Source(
            plimsoll_analyzer::source::Error::InvalidReference(_),
        ) => CommandError::Usage(e.into()),
        e => CommandError::Scan(e.into()),
    })
}

/// Analyzes and writes the chosen rendering to `--file` or stdout. The JSON document is
/// streamed: an image with a million paths never holds its 250 MB of JSON in memory.
pub async fn run(args: &SbomArgs) -> Result<(), CommandError> {
    let analysis = analyze(&args.image).await?;
    let write = |out: &mut dyn std::io::Write| -> anyhow::Result<()> {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
        render(&analysis, args.output, &render_ctx(), &mut out)?;
        std::io::Write::flush(&mut out)?;
        Ok(())
    };
    let result = match &args.file {
        Some(path) => std::fs::File::create(path)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))
            .and_then(|mut f| write(&mut f)),
        None => write(&mut std::io::stdout().lock()),
    };
    match result {
        // A closed stdout (`| head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other.map_err(CommandError::Scan),
    }
}

/// The clock and a per-run seed, read here at the edge so the renderers stay pure.
fn render_ctx() -> RenderCtx {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    RenderCtx {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        created: Timestamp::from_unix_seconds(now.as_secs()),
        // Unique per run: a new serial number / document namespace for every document.
        seed: format!("{}-{}", now.as_nanos(), std::process::id()),
    }
}

fn render(
    analysis: &Analysis,
    format: SbomFormat,
    ctx: &RenderCtx,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let bytes = match format {
        SbomFormat::Json => return Ok(serde_json::to_writer_pretty(out, analysis)?),
        SbomFormat::Cyclonedx => output::cyclonedx::render(analysis, ctx)?,
        SbomFormat::Spdx => output::spdx::render(analysis, ctx)?,
        SbomFormat::Table => output::table::render(analysis, ctx)?,
    };
    Ok(out.write_all(&bytes)?)
}

/// A progress bar over the compressed bytes of all layers.
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Self(bar)
    }
}

impl Progress for Bar {
    fn layers(&self, count: usize, total_bytes: u64) {
        self.0.set_length(total_bytes);
        self.0.set_message(format!("{count} layers"));
    }
    fn bytes(&self, n: u64) {
        self.0.inc(n);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis() -> Analysis {
        serde_json::from_value(serde_json::json!({
            "schemaVersion": "1.0",
            "analyzer": {"name": "plimsoll-analyzer", "version": "0.0.0"},
            "image": {
                "reference": "example.com/app:1", "repository": "example.com/app", "tag": "1",
                "manifestDigest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "manifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                "indexDigest": null, "configDigest": "sha256:11", "os": "linux",
                "architecture": "amd64", "variant": null, "compressedSize": 0,
                "uncompressedSize": 0, "layers": [], "config": {
                    "user": null, "exposedPorts": [], "env": [], "entrypoint": [], "cmd": [],
                    "healthcheck": null, "labels": {}, "workingDir": null, "volumes": [],
                    "stopSignal": null
                },
                "history": [], "dockerfile": null, "created": null
            },
            "distro": null,
            "packages": [{
                "name": "zlib", "version": "1.3", "kind": "apk", "purl": "pkg:apk/alpine/zlib@1.3",
                "licenses": ["Zlib"], "locations": ["/lib/apk/db/installed"],
                "introducedLayer": 0, "recordLayer": 0
            }],
            "files": [], "secrets": [], "contentMatches": [], "retrievedFiles": [], "warnings": []
        }))
        .expect("a valid Analysis")
    }

    fn rendered(a: &Analysis, format: SbomFormat, ctx: &RenderCtx) -> Vec<u8> {
        let mut out = Vec::new();
        render(a, format, ctx, &mut out).expect("renders");
        out
    }

    #[test]
    fn every_format_renders() {
        let ctx = RenderCtx {
            tool_version: "0.0.0".into(),
            created: Timestamp::from_unix_seconds(0),
            seed: "seed".into(),
        };
        let a = analysis();
        let json = |format| -> serde_json::Value {
            serde_json::from_slice(&rendered(&a, format, &ctx)).expect("JSON")
        };
        assert_eq!(json(SbomFormat::Cyclonedx)["specVersion"], "1.6");
        assert_eq!(json(SbomFormat::Spdx)["spdxVersion"], "SPDX-2.3");
        assert_eq!(json(SbomFormat::Json)["packages"][0]["name"], "zlib");
        let table = String::from_utf8(rendered(&a, SbomFormat::Table, &ctx)).expect("utf-8");
        assert!(
            table.starts_with("NAME  VERSION  TYPE  LAYER\nzlib  1.3      apk   0\n"),
            "{table}"
        );
    }
}
