//! The image flags shared by `plimsoll` (sbom, scan) and `plimsoll-analyzer` (the Job), and
//! their resolution into [`ScanSettings`]. This is a command-line edge: it reads files and the
//! environment (every flag also has a `PLIMSOLL_*` variable, which is how the analyzer Job is
//! configured); nothing below it does.

use crate::content::NamedPattern;
use crate::settings::{FileDigests, RegistrySettings, ScanSettings};
use crate::source::{Credential, Credentials, ImageSource, Secret};
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;

/// Where and how to read an image.
#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// The image: a registry reference (`alpine`, `registry:5000/app:1.2`, `repo@sha256:...`),
    /// `oci-dir:PATH[:TAG]`, `oci-archive:PATH` or `docker-archive:PATH`.
    pub image: String,
    /// Platform to pick from a multi-platform image.
    #[arg(long, env = "PLIMSOLL_PLATFORM", default_value = "linux/amd64")]
    pub platform: String,
    /// Secret pattern `NAME=REGEX`, added to the five defaults (repeatable; in the
    /// environment one pattern per line).
    #[arg(
        long = "secret-pattern",
        value_name = "NAME=REGEX",
        env = "PLIMSOLL_SECRET_PATTERNS",
        value_delimiter = '\n'
    )]
    pub secret_patterns: Vec<String>,
    /// Content pattern `NAME=REGEX` for the policy engine's content checks (repeatable; in
    /// the environment one pattern per line).
    #[arg(
        long = "content-pattern",
        value_name = "NAME=REGEX",
        env = "PLIMSOLL_CONTENT_PATTERNS",
        value_delimiter = '\n'
    )]
    pub content_patterns: Vec<String>,
    /// Regular files up to this size are searched for patterns and retrieved.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 10_000,
        env = "PLIMSOLL_MAX_FILE_SIZE"
    )]
    pub max_file_size: u64,
    /// File whose content goes into the analysis (repeatable; default /etc/passwd).
    #[arg(
        long = "retrieve-file",
        value_name = "PATH",
        env = "PLIMSOLL_RETRIEVE_FILES",
        value_delimiter = ','
    )]
    pub retrieve_files: Vec<String>,
    /// The Dockerfile the image was built from, if you have it.
    #[arg(long, value_name = "FILE", env = "PLIMSOLL_DOCKERFILE")]
    pub dockerfile: Option<std::path::PathBuf>,
    /// Digests computed for every regular file: `sha256`, `md5` (what dpkg records), both
    /// (`sha256,md5`) or `none`.
    #[arg(
        long,
        value_name = "ALGS",
        default_value = "sha256",
        env = "PLIMSOLL_FILE_DIGESTS"
    )]
    pub file_digests: String,
    /// Refuse a layer that inflates past this many bytes (decompression bombs).
    #[arg(long, value_name = "BYTES", env = "PLIMSOLL_MAX_LAYER_SIZE", default_value_t = 32 << 30)]
    pub max_layer_size: u64,
    /// Registry host to reach over plain HTTP (repeatable).
    #[arg(
        long = "insecure-registry",
        value_name = "HOST[:PORT]",
        env = "PLIMSOLL_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub insecure_registries: Vec<String>,
    /// Docker config.json with registry credentials (the format of a
    /// kubernetes.io/dockerconfigjson Secret); repeatable, comma-separated in the environment
    /// (one file per mounted pull secret): a registry's credentials come from the first file
    /// that has them. Default: $DOCKER_CONFIG/config.json.
    #[arg(
        long = "registry-auth-file",
        value_name = "FILE",
        env = "PLIMSOLL_REGISTRY_AUTH_FILE",
        value_delimiter = ','
    )]
    pub registry_auth_files: Vec<std::path::PathBuf>,
    /// Registry user name (with --password).
    #[arg(long, env = "PLIMSOLL_REGISTRY_USERNAME")]
    pub username: Option<String>,
    /// Registry password or token (with --username).
    #[arg(long, env = "PLIMSOLL_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
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
    settings.file_digests = parse_file_digests(&args.file_digests)?;
    settings.limits.max_layer_uncompressed = args.max_layer_size;
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

/// Registry flags to settings. The credentials files are the `--registry-auth-file`s (the
/// first one naming a registry wins), else the first of `$DOCKER_CONFIG/config.json` and
/// `~/.docker/config.json` that exists (a missing default file means anonymous access; a
/// missing explicit one is an error).
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
    let auth_files: Vec<PathBuf> = if args.registry_auth_files.is_empty() {
        [
            env("DOCKER_CONFIG").map(|d| PathBuf::from(d).join("config.json")),
            env("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json")),
        ]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .into_iter()
        .collect()
    } else {
        args.registry_auth_files.clone()
    };
    for path in auth_files {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let credentials = Credentials::from_docker_config(&bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        for w in &credentials.warnings {
            tracing::warn!("{}: {w}", path.display());
        }
        registry.credentials.fill_from(credentials);
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

/// A Go/Kubernetes style duration: `90s`, `25m`, `1h30m`, `500ms`, or `0`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || format!("invalid duration {s:?} (examples: 90s, 25m, 1h30m, 500ms)");
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total = total.saturating_add(part);
    }
    Ok(total)
}

fn parse_file_digests(s: &str) -> anyhow::Result<FileDigests> {
    let mut d = FileDigests {
        sha256: false,
        md5: false,
    };
    for alg in s.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        match alg {
            "sha256" => d.sha256 = true,
            "md5" => d.md5 = true,
            "none" => {}
            other => {
                anyhow::bail!("--file-digests: unknown digest {other:?} (sha256, md5 or none)")
            }
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn image_args(extra: &[&str]) -> ImageArgs {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            image: ImageArgs,
        }
        let mut argv = vec!["plimsoll-analyzer", "127.0.0.1:5001/app:1"];
        argv.extend_from_slice(extra);
        Wrapper::try_parse_from(argv).expect("parses").image
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

        // Several files (one per pull secret, comma-separated in the environment): the first
        // naming a registry wins.
        let other = dir.path().join("other.json");
        // base64("other:x"), base64("b:y")
        std::fs::write(
            &other,
            r#"{"auths":{"127.0.0.1:5001":{"auth":"b3RoZXI6eA=="},"b.example":{"auth":"Yjp5"}}}"#,
        )
        .expect("write");
        let both = format!("{auth_s},{}", other.display());
        let args = image_args(&["--registry-auth-file", &both]);
        let r = registry_settings(&args, |_| None).expect("settings");
        assert!(
            matches!(r.credentials.for_registry("127.0.0.1:5001"), Some(Credential::Basic { username, .. }) if username == "plimsoll")
        );
        assert!(
            matches!(r.credentials.for_registry("b.example"), Some(Credential::Basic { username, .. }) if username == "b")
        );

        let missing = dir.path().join("missing.json").display().to_string();
        let args = image_args(&["--registry-auth-file", &missing]);
        assert!(registry_settings(&args, |_| None).is_err());
    }

    #[test]
    fn file_digests_flag() {
        let d = |s: &str| parse_file_digests(s).map_err(|e| e.to_string());
        assert_eq!(
            d("sha256,md5"),
            Ok(FileDigests {
                sha256: true,
                md5: true
            })
        );
        assert_eq!(
            d("none"),
            Ok(FileDigests {
                sha256: false,
                md5: false
            })
        );
        assert_eq!(
            d("sha1").err().as_deref(),
            Some("--file-digests: unknown digest \"sha1\" (sha256, md5 or none)")
        );
        let (_, settings) = settings_from(&image_args(&[
            "--file-digests",
            "md5",
            "--max-layer-size",
            "99",
        ]))
        .expect("settings");
        assert_eq!(
            settings.file_digests,
            FileDigests {
                sha256: false,
                md5: true
            }
        );
        assert_eq!(settings.limits.max_layer_uncompressed, 99);
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        for (s, want) in [
            ("0", Duration::ZERO),
            ("90s", Duration::from_secs(90)),
            ("25m", Duration::from_secs(1500)),
            ("1h30m", Duration::from_secs(5400)),
            ("2h", Duration::from_secs(7200)),
            ("500ms", Duration::from_millis(500)),
            ("1m500ms", Duration::from_millis(60_500)),
        ] {
            assert_eq!(parse_duration(s), Ok(want), "{s}");
        }
        for bad in ["", "5", "m", "1.5h", "5d", "-1s", "1h 30m", "s5"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
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
}
