//! Plimsoll's analyzer: an image in, an [`model::Analysis`] out.
//!
//! - `cli`: the image flags both binaries share, resolved into settings.
//! - `source`: image references and where images come from (registry, OCI layout, archives).
//! - `layers`: decompression with limits, the single-pass tar walk, whiteouts and squashing.
//! - `catalog`: one cataloger per ecosystem, and the distro.
//! - `content`: secret and content patterns, redaction.
//! - `facts`: the image config and the reconstructed Dockerfile.
//! - `ingest`: the wire types of the operator's ingest API, and the analyzer Job's client.
//! - `model`: the Analysis document (the wire format) and purls.
//! - `output`: CycloneDX, SPDX and table renderings of an analysis.
//! - `scan`: the pipeline that ties them together.
//! - `settings`: limits and what to look for.

pub mod catalog;
pub mod cli;
pub mod content;
pub mod facts;
pub mod ingest;
pub mod layers;
pub mod model;
pub mod output;
pub mod scan;
pub mod settings;
pub mod source;

pub use facts::ConfigError;
