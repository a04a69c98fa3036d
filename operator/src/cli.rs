//! The `plimsoll` command line: `args` holds the clap definitions only, each command its own
//! module, and [`ExitStatus`] the documented exit codes.

pub mod args;
pub mod crds;
pub mod sbom;

/// Exit codes, stable and documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked (a scan passed).
    Success,
    /// 1: the policy said STOP (or WARN with `--fail-on warn`).
    PolicyFailure,
    /// 2: usage or input error: bad flags, bad bundle, bad image reference.
    UsageError,
    /// 3: the scan failed: registry, corrupt image, IO.
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
