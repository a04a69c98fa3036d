//! The analyzer's side of the ingest protocol (`operator/docs/ingest-protocol.md`): the wire
//! types shared with the operator's ingest API, and (in `client`) the HTTP client the analyzer
//! Job uses to ask, upload and report.

pub mod client;

pub use client::{ClientError, IngestClient, RetryPolicy};

use serde::{Deserialize, Serialize};

/// The path prefix of the ingest API.
pub const PREFIX: &str = "/ingest/v1";
/// `POST` [`CheckRequest`] → [`CheckResponse`].
pub const CHECK_PATH: &str = "/ingest/v1/check";
/// `POST` the Analysis JSON (optionally compressed) → [`UploadResponse`].
pub const ANALYSIS_PATH: &str = "/ingest/v1/analysis";
/// `POST` [`FailureReport`] → 204.
pub const FAILURE_PATH: &str = "/ingest/v1/failure";

/// "Do you already have this digest?"
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckRequest {
    /// The reference the Job was given.
    pub reference: String,
    /// The manifest digest it resolved to.
    pub digest: String,
    /// `CARGO_PKG_VERSION` of the analyzer.
    pub analyzer_version: String,
}

/// The operator's answer to a [`CheckRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum CheckResponse {
    /// Analyze and upload.
    Analyze,
    /// Already stored by this analyzer version: the Job is done.
    Skip,
    /// Another Job is analyzing this digest: ask again after this many seconds.
    #[serde(rename_all = "camelCase")]
    Wait { retry_after_seconds: u32 },
}

/// The answer to an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResponse {
    pub digest: String,
    pub stored: bool,
}

/// Why the analysis could not be done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureReport {
    /// One of the [`crate::scan::ScanError::label`] values.
    pub reason: String,
    /// What went wrong, for the ImageScan's condition message.
    pub message: String,
    /// The digest, when the reference was resolved before the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl FailureReport {
    /// Whether retrying the Job cannot help (the analyzer then exits 0).
    pub fn is_definitive(&self) -> bool {
        definitive(&self.reason)
    }
}

/// Reasons that retrying cannot fix.
pub fn definitive(reason: &str) -> bool {
    matches!(
        reason,
        "InvalidImageReference" | "RegistryAuthFailed" | "ImageNotFound" | "CorruptImage"
    )
}

/// An error body of the ingest API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_response_wire_format() {
        let cases = [
            (CheckResponse::Analyze, r#"{"action":"analyze"}"#),
            (CheckResponse::Skip, r#"{"action":"skip"}"#),
            (
                CheckResponse::Wait {
                    retry_after_seconds: 5,
                },
                r#"{"action":"wait","retryAfterSeconds":5}"#,
            ),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).expect("serializes"), json);
            assert_eq!(
                serde_json::from_str::<CheckResponse>(json).expect("parses"),
                value
            );
        }
    }

    #[test]
    fn definitive_reasons() {
        for r in [
            "InvalidImageReference",
            "RegistryAuthFailed",
            "ImageNotFound",
            "CorruptImage",
        ] {
            assert!(definitive(r), "{r}");
        }
        for r in ["RegistryError", "AnalysisFailed", "Whatever"] {
            assert!(!definitive(r), "{r}");
        }
    }
}
