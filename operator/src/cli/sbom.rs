//! `plimsoll sbom IMAGE`: analyze and print the inventory.

use super::args::{ImageArgs, SbomArgs, SbomFormat};
use anyhow::Context as _;
use plimsoll_analyzer::content::NamedPattern;
use plimsoll_analyzer::model::Analysis;
use plimsoll_analyzer::output::{self, RenderCtx, Timestamp};
use plimsoll_analyzer::scan::{NoProgress, Progress, scan};
use plimsoll_analyzer::settings::{RegistrySettings, ScanSettings};
use plimsoll_analyzer::source::{Credential, Credentials, ImageSource, Secret};
use std::path::PathBuf;
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
    settings.registry = registry_settings(args, |name| std::env::var_os(name))?;
    Ok((source, settings))
}

/// Registry flags to settings. The credentials file is `--registry-auth-file`, else the first
/// of `$DOCKER_CONFIG/config.json` and `~/.docker/config.json` that exists (a missing default
/// file means anonymous access; a missing explicit one is an error).
fn registry_settings(
    args: &ImageArgs,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> anyhow::Result<RegistrySettings> {
    let mut registry = RegistrySettings {
        insecure_hosts: args
            .insecure_registries
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect(),
        ..RegistrySettings::default()
    };
    let auth_file = match &args.registry_auth_file {
        Some(p) => Some(p.clone()),
        None => [
            env("DOCKER_CONFIG").map(|d| PathBuf::from(d).join("config.json")),
            env("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json")),
        ]
        .into_iter()
        .flatten()
        .find(|p| p.is_file()),
    };
    if let Some(path) = auth_file {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        registry.credentials = Credentials::from_docker_config(&bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        for w in &registry.credentials.warnings {
            tracing::warn!("{}: {w}", path.display());
        }
    }
    registry.login = match (&args.username, &args.password) {
        (Some(u), Some(p)) => Some(Credential::Basic {
            username: u.clone(),
            password: Secret::new(p.clone()),
        }),
        (None, None) => None,
        _ => anyhow::bail!("--username and --password go together"),
    };
    Ok(registry)
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
    render(&analysis, args.output, &render_ctx()).map_err(CommandError::Scan)
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

fn render(analysis: &Analysis, format: SbomFormat, ctx: &RenderCtx) -> anyhow::Result<Vec<u8>> {
    Ok(match format {
        SbomFormat::Json => serde_json::to_vec_pretty(analysis)?,
        SbomFormat::Cyclonedx => output::cyclonedx::render(analysis, ctx)?,
        SbomFormat::Spdx => output::spdx::render(analysis, ctx)?,
        SbomFormat::Table => output::table::render(analysis, ctx)?,
    })
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
    use clap::Parser as _;

    fn image_args(extra: &[&str]) -> ImageArgs {
        let mut argv = vec!["plimsoll", "sbom", "127.0.0.1:5001/app:1"];
        argv.extend_from_slice(extra);
        match super::super::args::Cli::try_parse_from(argv)
            .expect("parses")
            .command
        {
            super::super::args::Command::Sbom(a) => a.image,
        }
    }

    #[test]
    fn registry_flags_become_settings() {
        let dir = tempfile::tempdir().expect("tmp");
        let auth = dir.path().join("auth.json");
        // base64("plimsoll:s3cret")
        std::fs::write(
            &auth,
            r#"{"auths":{"http://127.0.0.1:5001/":{"auth":"cGxpbXNvbGw6czNjcmV0"}}}"#,
        )
        .expect("write");
        let auth_s = auth.display().to_string();
        let args = image_args(&[
            "--insecure-registry",
            "127.0.0.1:5000,127.0.0.1:5001",
            "--registry-auth-file",
            &auth_s,
        ]);
        let r = registry_settings(&args, |_| None).expect("settings");
        assert_eq!(r.insecure_hosts, ["127.0.0.1:5000", "127.0.0.1:5001"]);
        assert_eq!(
            r.credentials.for_registry("127.0.0.1:5001"),
            Some(&Credential::Basic {
                username: "plimsoll".into(),
                password: Secret::new("s3cret"),
            })
        );
        assert!(r.login.is_none());

        let args = image_args(&["--username", "u", "--password", "p"]);
        let r = registry_settings(&args, |_| None).expect("settings");
        assert!(matches!(r.login, Some(Credential::Basic { ref username, .. }) if username == "u"));
        let args = image_args(&["--username", "u"]);
        assert!(registry_settings(&args, |_| None).is_err());

        let missing = dir.path().join("missing.json").display().to_string();
        let args = image_args(&["--registry-auth-file", &missing]);
        assert!(registry_settings(&args, |_| None).is_err());
    }

    #[test]
    fn default_auth_file_from_env() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("home/.docker")).expect("mkdir");
        std::fs::write(
            dir.path().join("home/.docker/config.json"),
            r#"{"auths":{"r.example":{"username":"home","password":"x"}}}"#,
        )
        .expect("write");
        let home = dir.path().join("home").into_os_string();
        let docker_config = dir.path().join("nowhere").into_os_string();
        let args = image_args(&[]);
        let r = registry_settings(&args, |n| match n {
            "HOME" => Some(home.clone()),
            "DOCKER_CONFIG" => Some(docker_config.clone()),
            _ => None,
        })
        .expect("settings");
        assert!(r.credentials.for_registry("r.example").is_some());
        let r = registry_settings(&args, |_| None).expect("settings");
        assert!(r.credentials.is_empty());
    }

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

    #[test]
    fn every_format_renders() {
        let ctx = RenderCtx {
            tool_version: "0.0.0".into(),
            created: Timestamp::from_unix_seconds(0),
            seed: "seed".into(),
        };
        let a = analysis();
        let json = |format| -> serde_json::Value {
            serde_json::from_slice(&render(&a, format, &ctx).expect("renders")).expect("JSON")
        };
        assert_eq!(json(SbomFormat::Cyclonedx)["specVersion"], "1.6");
        assert_eq!(json(SbomFormat::Spdx)["spdxVersion"], "SPDX-2.3");
        assert_eq!(json(SbomFormat::Json)["packages"][0]["name"], "zlib");
        let table = String::from_utf8(render(&a, SbomFormat::Table, &ctx).expect("renders"))
            .expect("utf-8");
        assert!(
            table.starts_with("NAME  VERSION  TYPE  LAYER\nzlib  1.3      apk   0\n"),
            "{table}"
        );
    }
}
