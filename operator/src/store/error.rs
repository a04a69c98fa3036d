//! The store's one error type. Every variant names the operation; none carries a secret: URLs
//! are redacted before they get here, and bound values (records, payloads) are never echoed.

use std::path::PathBuf;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid store URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },

    #[error("cannot create the directory of the SQLite store: {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot connect to the store at {url}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },

    #[error("cannot migrate the store at {url}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    #[error("store operation `{op}` failed")]
    Query {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },

    #[error("store operation `{op}`: cannot decode {what}")]
    Decode {
        op: &'static str,
        what: &'static str,
        #[source]
        source: BoxError,
    },

    #[error("store operation `{op}`: cannot encode {what}")]
    Encode {
        op: &'static str,
        what: &'static str,
        #[source]
        source: BoxError,
    },

    #[error("store operation `{op}`: {reason}")]
    InvalidInput { op: &'static str, reason: String },

    #[error("feed source `{name}` is not registered: call `feed_sync_started` first")]
    UnknownSource { name: String },
}

impl Error {
    pub(crate) fn decode(
        op: &'static str,
        what: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Decode {
            op,
            what,
            source: source.into(),
        }
    }

    pub(crate) fn encode(
        op: &'static str,
        what: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Encode {
            op,
            what,
            source: source.into(),
        }
    }

    /// A short, stable label for metrics and conditions.
    pub fn label(&self) -> &'static str {
        match self {
            Self::InvalidUrl { .. } => "invalid-url",
            Self::CreateDir { .. } => "create-dir",
            Self::Connect { .. } => "connect",
            Self::Migrate { .. } => "migrate",
            Self::Query { .. } => "query",
            Self::Decode { .. } => "decode",
            Self::Encode { .. } => "encode",
            Self::InvalidInput { .. } => "invalid-input",
            Self::UnknownSource { .. } => "unknown-source",
        }
    }
}
