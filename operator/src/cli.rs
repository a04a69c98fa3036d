//! The `plimsoll` command line: `args` holds the clap definitions only, each command its own
//! module, and [`ExitStatus`] the documented exit codes.
//!
//! - `cron`: `plimsoll cron feed-sync` and `plimsoll cron watch`, what the operator's CronJobs
//!   run: feed pushes and tag-check requests to the operator's ingest API.
//! - `db`: which store a command opens (`--db`, else the SQLite file in the user's cache).
//! - `feeds`: `plimsoll feeds sync` and `plimsoll feeds list`.
//! - `notify`: `plimsoll notify test`: a test notification to a Subscription's sinks.
//! - `policy`: `plimsoll scan`, `evaluate` and `policy validate|describe`: verdicts as a
//!   table, JSON, SARIF or JUnit XML.
//! - `sbom`: `plimsoll sbom`, and the image analysis other commands reuse.
//! - `table`: aligned plain-text columns with control characters escaped.
//! - `vulns`: `plimsoll vulns`, rendered as a table, JSON or SARIF.

pub mod args;
pub mod crds;
pub mod cron;
pub mod db;
pub mod feeds;
pub mod notify;
pub mod policy;
pub mod sbom;
mod table;
pub mod vulns;

pub use sbom::CommandError;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::SystemTime;

/// Exit codes, stable and documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked (a scan passed).
    Success,
    /// 1: the check failed: the policy said STOP (or WARN with `--fail-on warn`), or
    /// `vulns --fail-on` found a vulnerability at or above the threshold.
    PolicyFailure,
    /// 2: usage or input error: bad flags, bad bundle, bad image reference.
    UsageError,
    /// 3: the scan failed: registry, corrupt image, IO, a feed source, the store.
    ScanFailure,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        Self::from(match s {
            ExitStatus::Success => 0,
            ExitStatus::PolicyFailure => 1,
            ExitStatus::UsageError => 2,
            ExitStatus::ScanFailure => 3,
        })
    }
}

/// What a command produced: bytes for stdout, warnings for stderr, and how to exit.
#[derive(Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub warnings: Vec<String>,
    pub status: ExitStatus,
}

/// What commands take from the process, read once by `main`: the environment's cache
/// directory and the clock (commands read it at the edge and pass `now` down).
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `$XDG_CACHE_HOME` when absolute, else `$HOME/.cache`: where the default store lives.
    pub cache_dir: Option<PathBuf>,
    pub clock: fn() -> SystemTime,
}

impl Ctx {
    pub fn from_env(env: impl Fn(&str) -> Option<OsString>) -> Self {
        let xdg = env("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute());
        let home = || {
            env("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        };
        Self {
            cache_dir: xdg.or_else(home),
            clock: SystemTime::now,
        }
    }

    pub fn now(&self) -> crate::store::Timestamp {
        crate::store::Timestamp::from_system_time((self.clock)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_from_the_environment() {
        let ctx = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            Ctx::from_env(|k| {
                vars.iter()
                    .find(|(name, _)| name == k)
                    .map(|(_, v)| OsString::from(v))
            })
            .cache_dir
        };
        assert_eq!(
            ctx(&[("HOME", "/home/u")]),
            Some(PathBuf::from("/home/u/.cache"))
        );
        assert_eq!(
            ctx(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/var/cache/u")]),
            Some(PathBuf::from("/var/cache/u"))
        );
        // A relative XDG_CACHE_HOME is invalid per the XDG spec and ignored.
        assert_eq!(
            ctx(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "cache")]),
            Some(PathBuf::from("/home/u/.cache"))
        );
        assert_eq!(ctx(&[("HOME", "")]), None);
        assert_eq!(ctx(&[]), None);
    }
}
