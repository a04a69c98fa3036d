//! Where feeds come from, and loading them: a local file or directory, one HTTP(S) URL, or the
//! OSV public exports (`osv:PyPI,npm`, from the public bucket or a mirror).
//!
//! [`SourceSpec`] is what a user writes (`--feeds`): `/path` or `./path` (file or directory),
//! `dir:/path` (must be a directory), `file:///path`, `https://host/feed.zip`, `osv:PyPI,npm` or
//! `osv:PyPI,npm@https://mirror.example/osv`. Its `Display` never shows credentials.
//!
//! [`load`] turns a spec into one [`Loaded`] per file, URL or ecosystem, each with its own
//! result: a 404, a truncated body or a corrupt zip fails that piece only.
//!
//! Traps:
//! - Directories are walked without following symlinked directories (no loops) and skipping
//!   hidden entries (`.git` of a cloned advisory repository); only `*.json`, `*.jsonl`,
//!   `*.ndjson` and `*.zip` are read, in sorted order.
//! - Alpine secdb files of several branches give records with the same ids (`ALPINE-CVE-…`):
//!   a directory's secdb files are merged into one [`Loaded`].
//! - Parsing a 100 MB document is CPU work: it runs on the blocking pool, not on the async
//!   executor.

mod http;
mod osv_exports;
mod redacted_url;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use http::{FetchConfig, FetchError, Fetcher};
pub use osv_exports::{
    CsvError, DEFAULT_BASE, ExportsError, LineFault, Listing, ListingError, Modified, OsvExports,
    modified_since,
};
pub use redacted_url::RedactedUrl;

use crate::feeds::alpine_secdb;
use crate::feeds::read::{self, Format, ReadError, ReadLimits, ReadOutcome};

/// A feed source as the user names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A file or a directory.
    Path(PathBuf),
    /// A directory (`dir:` prefix): a file there is an error.
    Dir(PathBuf),
    /// One file (any supported format) over HTTP(S).
    Url(RedactedUrl),
    /// `<base>/<ecosystem>/all.zip` for each ecosystem.
    OsvExports(OsvExports),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("empty feed source")]
    Empty,
    #[error("feed URL is not valid: {0}")]
    Url(url::ParseError),
    #[error("feed URL scheme {0:?} is not supported (http, https or file)")]
    Scheme(String),
    #[error("`file:` URL is not a local path")]
    FileUrl,
    #[error("`{0}` needs a path after it")]
    NoPath(&'static str),
    #[error("`osv:` source: {0}")]
    Exports(#[from] ExportsError),
}

impl FromStr for SourceSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(SpecError::Empty);
        }
        if let Some(path) = s.strip_prefix("dir:") {
            if path.is_empty() {
                return Err(SpecError::NoPath("dir:"));
            }
            return Ok(Self::Dir(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("osv:") {
            // Ecosystem names never hold `@`; a base URL may (userinfo), after the first one.
            let (list, base) = match rest.split_once('@') {
                Some((list, base)) => (list, Some(base)),
                None => (rest, None),
            };
            let ecosystems: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect();
            let exports = match base {
                Some(base) => {
                    let base: RedactedUrl = base.parse().map_err(SpecError::Url)?;
                    OsvExports::new(base, ecosystems)?
                }
                None => OsvExports::public(ecosystems)?,
            };
            return Ok(Self::OsvExports(exports));
        }
        if let Some((scheme, _)) = s.split_once("://") {
            let url: RedactedUrl = s.parse().map_err(SpecError::Url)?;
            return match scheme.to_ascii_lowercase().as_str() {
                "http" | "https" => Ok(Self::Url(url)),
                "file" => url
                    .expose()
                    .to_file_path()
                    .map(Self::Path)
                    .map_err(|()| SpecError::FileUrl),
                _ => Err(SpecError::Scheme(url.expose().scheme().to_owned())),
            };
        }
        Ok(Self::Path(PathBuf::from(s)))
    }
}

/// Splits a comma-separated list of specs (`PLIMSOLL_FEED_SOURCES`), where an `osv:` spec
/// holds commas of its own: `osv:PyPI,npm,/data/feeds` is `osv:PyPI,npm` and `/data/feeds`.
/// An item continues the `osv:` spec before it (when that one names no `@BASE-URL` yet) unless
/// it starts a spec itself: `osv:`, `dir:`, a path starting with `/` or `.`, or a URL. A
/// relative path after an `osv:` spec must therefore start with `./`.
pub fn split_spec_list(list: &str) -> Vec<String> {
    let starts_spec = |item: &str| {
        item.starts_with("osv:")
            || item.starts_with("dir:")
            || item.starts_with('/')
            || item.starts_with('.')
            || item.split_once("://").is_some_and(|(scheme, _)| {
                !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            })
    };
    let mut out: Vec<String> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        match out.last_mut() {
            Some(last) if last.starts_with("osv:") && !last.contains('@') && !starts_spec(item) => {
                last.push(',');
                last.push_str(item);
            }
            _ => out.push(item.to_owned()),
        }
    }
    out
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Dir(path) => write!(f, "dir:{}", path.display()),
            Self::Url(url) => write!(f, "{url}"),
            Self::OsvExports(exports) => {
                write!(f, "osv:{}", exports.ecosystems().join(","))?;
                if !exports.is_public() {
                    write!(f, "@{}", exports.base())?;
                }
                Ok(())
            }
        }
    }
}

/// One piece of a source: a file, a URL, an ecosystem's export.
#[derive(Debug)]
pub struct Loaded {
    /// The file path or redacted URL.
    pub origin: String,
    pub result: Result<(Format, ReadOutcome), SourceError>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: not a directory")]
    NotADirectory(String),
    #[error("{path}: {size} bytes, over the limit of {limit}")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{origin}: reading was interrupted: {reason}")]
    Interrupted { origin: String, reason: String },
}

/// What loading needs: the HTTP client and the caps.
#[derive(Debug, Clone)]
pub struct Loader {
    pub fetcher: Fetcher,
    pub limits: ReadLimits,
    /// Largest local file read into memory (zips are read from the file, not loaded whole).
    pub max_file_bytes: u64,
}

impl Loader {
    pub fn new(fetch: &FetchConfig, limits: ReadLimits) -> Result<Self, FetchError> {
        Ok(Self {
            fetcher: Fetcher::new(fetch)?,
            limits,
            max_file_bytes: fetch.max_bytes,
        })
    }
}

/// Loads every piece of a source. Never fails as a whole: each piece has its own result.
pub async fn load(spec: &SourceSpec, loader: &Loader) -> Vec<Loaded> {
    match spec {
        SourceSpec::Path(path) | SourceSpec::Dir(path) => {
            let path = path.clone();
            let must_be_dir = matches!(spec, SourceSpec::Dir(_));
            let limits = loader.limits;
            let max = loader.max_file_bytes;
            let origin = path.display().to_string();
            match tokio::task::spawn_blocking(move || load_path(&path, must_be_dir, &limits, max))
                .await
            {
                Ok(loaded) => loaded,
                Err(e) => vec![interrupted(origin, &e)],
            }
        }
        SourceSpec::Url(url) => vec![load_url(url, loader).await],
        SourceSpec::OsvExports(exports) => {
            let mut loaded = Vec::new();
            for ecosystem in exports.ecosystems() {
                loaded.push(load_url(&exports.all_zip_url(ecosystem), loader).await);
            }
            loaded
        }
    }
}

async fn load_url(url: &RedactedUrl, loader: &Loader) -> Loaded {
    let origin = url.to_string();
    let bytes = match loader.fetcher.get(url).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return Loaded {
                origin,
                result: Err(e.into()),
            };
        }
    };
    let limits = loader.limits;
    let name = origin.clone();
    let parsed =
        tokio::task::spawn_blocking(move || read::read_document(&name, &bytes, &limits)).await;
    let result = match parsed {
        Ok(result) => result.map_err(SourceError::from),
        Err(e) => return interrupted(origin, &e),
    };
    Loaded { origin, result }
}

fn interrupted(origin: String, e: &tokio::task::JoinError) -> Loaded {
    Loaded {
        result: Err(SourceError::Interrupted {
            origin: origin.clone(),
            reason: e.to_string(),
        }),
        origin,
    }
}

/// A file, or every feed file under a directory. Blocking IO.
pub fn load_path(
    path: &Path,
    must_be_dir: bool,
    limits: &ReadLimits,
    max_file_bytes: u64,
) -> Vec<Loaded> {
    let origin = path.display().to_string();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(source) => {
            return vec![Loaded {
                result: Err(SourceError::Io {
                    path: origin.clone(),
                    source,
                }),
                origin,
            }];
        }
    };
    if !metadata.is_dir() {
        if must_be_dir {
            return vec![Loaded {
                result: Err(SourceError::NotADirectory(origin.clone())),
                origin,
            }];
        }
        return vec![load_file(path, limits, max_file_bytes)];
    }
    let (files, mut loaded) = feed_files(path);
    loaded.extend(files.iter().map(|f| load_file(f, limits, max_file_bytes)));
    merge_alpine(loaded)
}

/// Feed files under `dir`, sorted, and the directories that could not be listed.
fn feed_files(dir: &Path) -> (Vec<PathBuf>, Vec<Loaded>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(source) => {
                let path = current.display().to_string();
                errors.push(Loaded {
                    origin: path.clone(),
                    result: Err(SourceError::Io { path, source }),
                });
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if hidden {
                continue;
            }
            if kind.is_dir() {
                pending.push(path);
            } else if is_feed_file(&path) && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                // Symlinks to files are read; symlinks to directories are not walked.
                files.push(path);
            }
        }
    }
    files.sort();
    (files, errors)
}

fn is_feed_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["json", "jsonl", "ndjson", "zip"]
            .iter()
            .any(|known| e.eq_ignore_ascii_case(known))
    })
}

fn load_file(path: &Path, limits: &ReadLimits, max_file_bytes: u64) -> Loaded {
    let origin = path.display().to_string();
    let io_error = |source| SourceError::Io {
        path: origin.clone(),
        source,
    };
    let result = (|| {
        let is_zip = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        let mut file = std::fs::File::open(path).map_err(io_error)?;
        if is_zip {
            let outcome = read::read_osv_zip(&mut file, &origin, limits)?;
            return Ok((Format::OsvZip, outcome));
        }
        let size = file.metadata().map_err(io_error)?.len();
        if size > max_file_bytes {
            return Err(SourceError::TooLarge {
                path: origin.clone(),
                size,
                limit: max_file_bytes,
            });
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut file, max_file_bytes.saturating_add(1)),
            &mut bytes,
        )
        .map_err(io_error)?;
        if bytes.len() as u64 > max_file_bytes {
            return Err(SourceError::TooLarge {
                path: origin.clone(),
                size: bytes.len() as u64,
                limit: max_file_bytes,
            });
        }
        Ok(read::read_document(&origin, &bytes, limits)?)
    })();
    Loaded { origin, result }
}

/// Joins the Alpine secdb pieces (one per branch and repository) into one, so that each
/// `ALPINE-CVE-…` id is one record covering every branch.
fn merge_alpine(loaded: Vec<Loaded>) -> Vec<Loaded> {
    let (alpine, mut rest): (Vec<Loaded>, Vec<Loaded>) = loaded
        .into_iter()
        .partition(|l| matches!(l.result, Ok((Format::AlpineSecdb, _))));
    if alpine.len() < 2 {
        rest.extend(alpine);
        return rest;
    }
    let origin = format!(
        "{} (and {} more Alpine secdb files)",
        alpine[0].origin,
        alpine.len() - 1
    );
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    for piece in alpine {
        if let Ok((_, outcome)) = piece.result {
            records.extend(outcome.records);
            skipped.extend(outcome.skipped);
        }
    }
    rest.push(Loaded {
        origin,
        result: Ok((
            Format::AlpineSecdb,
            ReadOutcome {
                records: alpine_secdb::merge(records),
                skipped,
            },
        )),
    });
    rest
}

#[cfg(test)]
pub(crate) mod test_server;

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Duration;

    use super::test_server::{Reply, TestServer};
    use super::*;

    const PYPI_SLICE: &str = include_str!("testdata/pypi-pysec-slice.jsonl");
    const SECDB_SLICE: &str = include_str!("testdata/alpine-secdb-v3.10-main-slice.json");

    fn slice_zip() -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for line in PYPI_SLICE.lines() {
            let id = serde_json::from_str::<serde_json::Value>(line).expect("json")["id"]
                .as_str()
                .map(str::to_owned)
                .expect("id");
            writer
                .start_file(format!("{id}.json"), options)
                .expect("entry");
            writer.write_all(line.as_bytes()).expect("write");
        }
        writer.finish().expect("zip").into_inner()
    }

    fn loader(timeout: Duration, max_bytes: u64) -> Loader {
        let config = FetchConfig {
            connect_timeout: timeout,
            read_timeout: timeout,
            timeout,
            max_bytes,
            use_env_proxy: false,
        };
        Loader::new(&config, ReadLimits::default()).expect("loader")
    }

    #[test]
    fn spec_lists_keep_osv_ecosystems_together() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            (" , ", &[]),
            ("osv:PyPI", &["osv:PyPI"]),
            ("osv:PyPI,npm, Go", &["osv:PyPI,npm,Go"]),
            (
                "osv:PyPI,npm,/data/feeds,https://f.example/all.zip",
                &["osv:PyPI,npm", "/data/feeds", "https://f.example/all.zip"],
            ),
            (
                "osv:PyPI,npm@https://u:p@m.example/osv,Go",
                &["osv:PyPI,npm@https://u:p@m.example/osv", "Go"],
            ),
            (
                "osv:Debian,osv:Alpine@https://m.example,./rel,dir:/d",
                &[
                    "osv:Debian",
                    "osv:Alpine@https://m.example",
                    "./rel",
                    "dir:/d",
                ],
            ),
            ("/a,/b", &["/a", "/b"]),
        ];
        for (list, want) in cases {
            assert_eq!(split_spec_list(list), *want, "{list:?}");
        }
        // A bare relative path after an `osv:` spec is taken as an ecosystem and refused.
        let specs = split_spec_list("osv:PyPI,feeds/dir");
        assert!(specs[0].parse::<SourceSpec>().is_err(), "{specs:?}");
    }

    #[test]
    fn specs_parse_and_display() {
        let cases: &[(&str, &str)] = &[
            ("/var/lib/feeds", "/var/lib/feeds"),
            ("./feeds.jsonl", "./feeds.jsonl"),
            ("dir:/var/lib/feeds", "dir:/var/lib/feeds"),
            ("file:///var/lib/all.zip", "/var/lib/all.zip"),
            (
                "https://feeds.example/all.zip",
                "https://feeds.example/all.zip",
            ),
            ("osv:PyPI, npm", "osv:PyPI,npm"),
            ("osv:Alpine:v3.16,Red Hat", "osv:Alpine:v3.16,Red Hat"),
            (
                "osv:PyPI@https://mirror.example/osv/",
                "osv:PyPI@https://mirror.example/osv/",
            ),
            (
                "osv:PyPI@https://user:s3cret@mirror.example/osv?token=s3cret",
                "osv:PyPI@https://***@mirror.example/osv?token=***",
            ),
            (
                "https://user:s3cret@feeds.example/all.zip?sig=s3cret",
                "https://***@feeds.example/all.zip?sig=***",
            ),
        ];
        for (input, shown) in cases {
            let spec: SourceSpec = input.parse().expect(input);
            assert_eq!(spec.to_string(), *shown, "{input}");
            assert!(!format!("{spec:?}").contains("s3cret"), "{spec:?}");
            if !shown.contains("***") {
                assert_eq!(
                    shown.parse::<SourceSpec>().as_ref(),
                    Ok(&spec),
                    "round trip"
                );
            }
        }
        let SourceSpec::OsvExports(exports) = "osv:PyPI,npm".parse().expect("osv") else {
            panic!("not an osv spec");
        };
        assert!(exports.is_public());
        assert_eq!(exports.ecosystems(), ["PyPI", "npm"]);

        let errors: &[(&str, SpecError)] = &[
            ("", SpecError::Empty),
            ("dir:", SpecError::NoPath("dir:")),
            ("osv:", SpecError::Exports(ExportsError::NoEcosystem)),
            (
                "osv:PyPI@ftp://m/",
                SpecError::Exports(ExportsError::BaseScheme),
            ),
            ("ftp://h/x", SpecError::Scheme("ftp".into())),
        ];
        for (input, expected) in errors {
            assert_eq!(
                input.parse::<SourceSpec>().as_ref(),
                Err(expected),
                "{input:?}"
            );
        }
        let err = "https://user:s3cret@[::1"
            .parse::<SourceSpec>()
            .expect_err("bad url");
        assert!(!err.to_string().contains("s3cret"));
    }

    #[test]
    fn directory_walk_reads_feed_files_and_merges_alpine_branches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("osv/nested")).expect("mkdir");
        std::fs::create_dir_all(root.join(".git")).expect("mkdir");
        std::fs::create_dir_all(root.join("alpine")).expect("mkdir");
        std::fs::write(root.join("osv/pypi.jsonl"), PYPI_SLICE).expect("write");
        std::fs::write(root.join("osv/nested/PyPI-all.ZIP"), slice_zip()).expect("write");
        std::fs::write(root.join("osv/broken.zip"), &slice_zip()[..200]).expect("write");
        std::fs::write(root.join("osv/notes.txt"), "not a feed").expect("write");
        std::fs::write(root.join(".git/x.json"), "{}").expect("write");
        std::fs::write(root.join("alpine/v3.10-main.json"), SECDB_SLICE).expect("write");
        std::fs::write(
            root.join("alpine/v3.11-main.json"),
            SECDB_SLICE.replace("v3.10", "v3.11"),
        )
        .expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("osv/loop")).expect("symlink");

        let loaded = load_path(root, true, &ReadLimits::default(), 1 << 20);
        /// Origin relative to the temp dir, and format and record count or error text.
        type Summary = (String, Result<(Format, usize), String>);
        let summary: Vec<Summary> = loaded
            .iter()
            .map(|l| {
                let origin = l
                    .origin
                    .strip_prefix(&root.display().to_string())
                    .unwrap_or(&l.origin)
                    .to_owned();
                let result = match &l.result {
                    Ok((format, outcome)) => Ok((*format, outcome.records.len())),
                    Err(e) => Err(e.to_string().replace(&root.display().to_string(), "")),
                };
                (origin, result)
            })
            .collect();
        assert_eq!(summary.len(), 4, "{summary:#?}");
        assert!(
            summary[0].0 == "/osv/broken.zip"
                && summary[0]
                    .1
                    .as_ref()
                    .is_err_and(|e| e.contains("cannot read zip")),
            "{summary:#?}"
        );
        assert_eq!(
            summary[1],
            ("/osv/nested/PyPI-all.ZIP".into(), Ok((Format::OsvZip, 4)))
        );
        assert_eq!(
            summary[2],
            ("/osv/pypi.jsonl".into(), Ok((Format::OsvJsonLines, 4)))
        );
        // 9 issues in the slice, each now one record covering both branches.
        assert_eq!(
            summary[3],
            (
                "/alpine/v3.10-main.json (and 1 more Alpine secdb files)".into(),
                Ok((Format::AlpineSecdb, 9))
            )
        );
        let Ok((_, alpine)) = &loaded[3].result else {
            panic!("alpine")
        };
        assert_eq!(alpine.records[0].affected.len(), 2, "v3.10 and v3.11");

        let single = load_path(
            &root.join("osv/pypi.jsonl"),
            false,
            &ReadLimits::default(),
            1 << 20,
        );
        assert_eq!(single.len(), 1);
        let not_dir = load_path(
            &root.join("osv/pypi.jsonl"),
            true,
            &ReadLimits::default(),
            1 << 20,
        );
        assert!(matches!(
            not_dir[0].result,
            Err(SourceError::NotADirectory(_))
        ));
        let too_big = load_path(
            &root.join("osv/pypi.jsonl"),
            false,
            &ReadLimits::default(),
            100,
        );
        assert!(matches!(
            too_big[0].result,
            Err(SourceError::TooLarge { limit: 100, .. })
        ));
        let missing = load_path(&root.join("nope"), false, &ReadLimits::default(), 100);
        assert!(matches!(missing[0].result, Err(SourceError::Io { .. })));
    }

    #[tokio::test]
    async fn osv_exports_over_http_each_ecosystem_fails_alone() {
        let server = TestServer::start(vec![
            ("/osv/PyPI/all.zip", Reply::ok(slice_zip())),
            ("/osv/npm/all.zip", Reply::status(404)),
            ("/osv/Go/all.zip", Reply::status(500)),
            ("/osv/crates.io/all.zip", Reply::truncated(slice_zip(), 300)),
            (
                "/osv/PyPI/modified_id.csv",
                Reply::ok(
                    b"2024-10-10T00:00:00Z,PYSEC-2024-110\n2024-01-01T00:00:00Z,PYSEC-2024-1\n"
                        .to_vec(),
                ),
            ),
        ]);
        let spec: SourceSpec = format!(
            "osv:PyPI,npm,Go,crates.io@http://user:s3cret@{}/osv/",
            server.addr()
        )
        .parse()
        .expect("spec");
        let loader = loader(Duration::from_secs(10), 1 << 20);
        let loaded = load(&spec, &loader).await;
        assert_eq!(loaded.len(), 4);
        let Ok((Format::OsvZip, pypi)) = &loaded[0].result else {
            panic!("{:?}", loaded[0]);
        };
        assert_eq!(pypi.records.len(), 4);
        assert_eq!(pypi.withdrawn_count(), 1);
        let errors: Vec<String> = loaded[1..]
            .iter()
            .map(|l| {
                l.result
                    .as_ref()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .collect();
        let base = format!("http://***@{}/osv", server.addr());
        assert_eq!(errors[0], format!("{base}/npm/all.zip: HTTP status 404"));
        assert_eq!(errors[1], format!("{base}/Go/all.zip: HTTP status 500"));
        assert!(
            errors[2].starts_with(&format!("{base}/crates.io/all.zip: body incomplete")),
            "{}",
            errors[2]
        );
        for l in &loaded {
            assert!(!l.origin.contains("s3cret"));
            if let Err(e) = &l.result {
                assert!(!format!("{e} {e:?}").contains("s3cret"), "{e:?}");
            }
        }
        let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
        assert_eq!(
            paths,
            [
                "/osv/PyPI/all.zip",
                "/osv/npm/all.zip",
                "/osv/Go/all.zip",
                "/osv/crates.io/all.zip"
            ]
        );
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.authorization.as_deref() == Some("Basic dXNlcjpzM2NyZXQ=")),
            "credentials from the URL are sent as basic auth"
        );

        let SourceSpec::OsvExports(exports) = spec else {
            panic!("osv")
        };
        let since = chrono::DateTime::parse_from_rfc3339("2024-06-01T00:00:00Z")
            .expect("time")
            .to_utc();
        let modified = exports
            .fetch_modified_since(&loader.fetcher, "PyPI", since, 10)
            .await
            .expect("csv");
        let Listing::Since(modified) = modified else {
            panic!("{modified:?}")
        };
        let ids: Vec<&str> = modified.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["PYSEC-2024-110"]);
        let missing = exports
            .fetch_modified_since(&loader.fetcher, "npm", since, 10)
            .await;
        assert!(matches!(
            missing,
            Err(ListingError::Fetch(FetchError::Status { status: 404, .. }))
        ));
    }

    #[tokio::test]
    async fn single_urls_slow_truncated_and_oversized_bodies() {
        let big = vec![b' '; 4096];
        let server = TestServer::start(vec![
            ("/feed.jsonl", Reply::ok(PYPI_SLICE.as_bytes().to_vec())),
            ("/feed", Reply::chunked(PYPI_SLICE.as_bytes().to_vec())),
            ("/slow", Reply::slow(Duration::from_secs(5))),
            (
                "/truncated.jsonl",
                Reply::truncated(PYPI_SLICE.as_bytes().to_vec(), 100),
            ),
            (
                "/truncated-chunked",
                Reply::truncated_chunked(PYPI_SLICE.as_bytes().to_vec(), 100),
            ),
            ("/big", Reply::ok(big.clone())),
            ("/big-chunked", Reply::chunked(big)),
            ("/not-a-feed", Reply::ok(b"<html>".to_vec())),
        ]);
        let loader = loader(Duration::from_millis(500), 2048);
        let get = |path: &str| {
            let spec: SourceSpec = format!("http://{}{path}", server.addr())
                .parse()
                .expect("url");
            let loader = loader.clone();
            async move { load(&spec, &loader).await.remove(0).result }
        };
        let ok = get("/feed.jsonl").await.expect("feed");
        assert_eq!((ok.0, ok.1.records.len()), (Format::OsvJsonLines, 4));
        let ok = get("/feed")
            .await
            .expect("chunked feed, format from content");
        assert_eq!((ok.0, ok.1.records.len()), (Format::OsvJsonLines, 4));

        let started = std::time::Instant::now();
        let slow = get("/slow").await;
        assert!(
            matches!(slow, Err(SourceError::Fetch(FetchError::Timeout { .. }))),
            "{slow:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the timeout ended the wait"
        );

        for path in ["/truncated.jsonl", "/truncated-chunked"] {
            let result = get(path).await;
            assert!(
                matches!(result, Err(SourceError::Fetch(FetchError::Body { .. }))),
                "{path}: {result:?}"
            );
        }
        for path in ["/big", "/big-chunked"] {
            let result = get(path).await;
            assert!(
                matches!(
                    result,
                    Err(SourceError::Fetch(FetchError::TooLarge { limit: 2048, .. }))
                ),
                "{path}: {result:?}"
            );
        }
        let result = get("/not-a-feed").await;
        assert!(matches!(
            result,
            Err(SourceError::Read(ReadError::UnknownDocument { .. }))
        ));
        let refused = {
            // A port nothing listens on: bind, read the port, close.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr");
            drop(listener);
            let spec: SourceSpec = format!("http://{addr}/x").parse().expect("url");
            load(&spec, &loader).await.remove(0).result
        };
        assert!(
            matches!(refused, Err(SourceError::Fetch(FetchError::Request { .. }))),
            "{refused:?}"
        );
    }
}
