//! `plimsoll sbom IMAGE`: analyze and print the inventory.

use super::args::{ImageArgs, SbomArgs, SbomFormat};
use anyhow::Context as _;
use plimsoll_analyzer::content::NamedPattern;
use plimsoll_analyzer::model::Analysis;
use plimsoll_analyzer::scan::{NoProgress, Progress, scan};
use plimsoll_analyzer::settings::ScanSettings;
use plimsoll_analyzer::source::ImageSource;
use std::sync::Arc;

/// Input problems (exit 2) are told apart from scan failures (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0:#}")]
    Usage(anyhow::Error),
    #[error("{0:#}")]
    Scan(anyhow::Error),
}

/// Turns image flags into scan settings.
pub fn settings_from(args: &ImageArgs) -> anyhow::Result<(ImageSource, ScanSettings)> {
    let source: ImageSource = args.image.parse()?;
    let mut settings = ScanSettings {
        platform: args.platform.parse().map_err(anyhow::Error::msg)?,
        ..ScanSettings::default()
    };
    for p in &args.secret_patterns {
        settings
            .content
            .secret_patterns
            .push(p.parse::<NamedPattern>().context("--secret-pattern")?);
    }
    for p in &args.content_patterns {
        settings
            .content
            .content_patterns
            .push(p.parse::<NamedPattern>().context("--content-pattern")?);
    }
    settings.content.max_file_size = args.max_file_size;
    if !args.retrieve_files.is_empty() {
        settings.content.retrieve_files = args.retrieve_files.clone();
    }
    if let Some(path) = &args.dockerfile {
        settings.dockerfile = Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        );
    }
    Ok((source, settings))
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

pub async fn run(args: &SbomArgs) -> Result<Vec<u8>, CommandError> {
    let analysis = analyze(&args.image).await?;
    render(&analysis, args.output).map_err(CommandError::Scan)
}

fn render(analysis: &Analysis, format: SbomFormat) -> anyhow::Result<Vec<u8>> {
    Ok(match format {
        SbomFormat::Json => serde_json::to_vec_pretty(analysis)?,
        SbomFormat::Cyclonedx | SbomFormat::Spdx => anyhow::bail!("format not implemented yet"),
        SbomFormat::Table => table(analysis).into_bytes(),
    })
}

fn table(a: &Analysis) -> String {
    let rows: Vec<[&str; 3]> = a
        .packages
        .iter()
        .map(|p| [p.name.as_str(), p.version.as_str(), p.kind.as_str()])
        .collect();
    let w0 = rows.iter().map(|r| r[0].len()).max().unwrap_or(0).max(4);
    let w1 = rows.iter().map(|r| r[1].len()).max().unwrap_or(0).max(7);
    let mut out = format!("{:w0$}  {:w1$}  TYPE\n", "NAME", "VERSION");
    for r in rows {
        out.push_str(&format!("{:w0$}  {:w1$}  {}\n", r[0], r[1], r[2]));
    }
    out
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
