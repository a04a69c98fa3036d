//! What a scan is allowed to do and look for. Built once (from flags, env or the Job's config
//! file) and passed down; nothing below reads the environment.

use crate::content::NamedPattern;
use crate::source::{Credential, Credentials};
use std::time::Duration;

/// Resource bounds that keep a hostile image from exhausting the analyzer.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A layer whose tar stream inflates past this is refused (gzip/zstd bombs).
    pub max_layer_uncompressed: u64,
    /// Manifests and indexes larger than this are refused.
    pub max_manifest_bytes: u64,
    /// Image configs larger than this are refused.
    pub max_config_bytes: u64,
    /// Files larger than this are not read by catalogers (package databases, archives,
    /// binaries); each cataloger may ask for less.
    pub max_catalog_file_size: u64,
    /// Paths indexed per image; past this the index stops growing and a warning says so.
    pub max_indexed_files: usize,
    /// Nesting depth of archives inside archives (jar in war in ear).
    pub max_archive_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_layer_uncompressed: 32 << 30,
            max_manifest_bytes: 4 << 20,
            max_config_bytes: 16 << 20,
            max_catalog_file_size: 512 << 20,
            max_indexed_files: 4_000_000,
            max_archive_depth: 4,
        }
    }
}

/// The `os/architecture[/variant]` to pick from an image index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Self {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Self {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Self {
                    os: (*os).into(),
                    architecture: (*arch).into(),
                    variant: Some((*variant).into()),
                })
            }
            _ => Err(format!(
                "platform {s:?} is not OS/ARCH[/VARIANT], e.g. linux/arm64/v8"
            )),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// What the content search looks for.
#[derive(Debug, Clone)]
pub struct ContentSettings {
    pub secret_patterns: Vec<NamedPattern>,
    pub content_patterns: Vec<NamedPattern>,
    /// Regular files up to this size are searched and retrieved.
    pub max_file_size: u64,
    /// Absolute paths whose content goes into the analysis (`/etc/passwd`).
    pub retrieve_files: Vec<String>,
}

impl Default for ContentSettings {
    fn default() -> Self {
        Self {
            secret_patterns: crate::content::default_secret_patterns(),
            content_patterns: Vec::new(),
            max_file_size: 10_000,
            retrieve_files: vec!["/etc/passwd".into()],
        }
    }
}

/// Which digests of every regular file's content the walk computes. sha256 feeds the policy
/// engine's checksum checks and rpm verification; md5 is what dpkg's `md5sums` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigests {
    pub sha256: bool,
    pub md5: bool,
}

impl Default for FileDigests {
    fn default() -> Self {
        Self {
            sha256: true,
            md5: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ScanSettings {
    pub file_digests: FileDigests,
    pub platform: Platform,
    pub limits: Limits,
    pub content: ContentSettings,
    /// The Dockerfile the image was built from, when the user has it.
    pub dockerfile: Option<String>,
    /// Layers decompressed at once; 0 means one per CPU.
    pub parallelism: usize,
    /// How to reach and authenticate to registries.
    pub registry: RegistrySettings,
}

/// How to reach registries. Credentials come parsed: reading files and the environment is the
/// caller's business.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// `host[:port]` of registries reached over plain HTTP instead of HTTPS.
    pub insecure_hosts: Vec<String>,
    /// Credentials by registry, usually from a docker `config.json`.
    pub credentials: Credentials,
    /// Credentials for the scanned image's registry, whatever it is; wins over `credentials`.
    pub login: Option<Credential>,
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Tries per request when the registry answers 429/5xx or the connection fails.
    pub attempts: u32,
    /// First retry delay; doubled on each try, with jitter, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            insecure_hosts: Vec::new(),
            credentials: Credentials::default(),
            login: None,
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
        }
    }
}
