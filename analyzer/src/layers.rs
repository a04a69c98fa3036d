//! Layer streams: decompression with limits, digest checks, the tar walk, and squashing the
//! layers into the file system a container would see.
//!
//! - `decompress`: sniff gzip / zstd / plain tar, cap the inflated size, hash both streams.
//! - `path`: tar entry names to normalised absolute paths; `..` escapes refused.
//! - `walk`: one pass over one layer, feeding catalogers and the content search.
//! - `squash`: whiteouts and opaque directories applied, layer by layer.

mod decompress;
mod path;
mod squash;
mod walk;

pub use decompress::{Compression, sniff_compression};
pub use path::{normalize_entry_path, resolve_link_target};
pub use squash::{Squashed, squash, squash_taking};
pub(crate) use walk::retrieved;
pub use walk::{CatalogHit, LayerScan, WalkCtx, walk_layer};

/// Why a layer could not be read. The scan stops: a layer we cannot read is an image we
/// cannot vouch for.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "layer {layer} ({digest}): inflates past the limit of {limit} bytes (a decompression bomb?)"
    )]
    TooLarge {
        layer: usize,
        digest: String,
        limit: u64,
    },
    #[error("layer {layer} ({digest}): digest mismatch, the blob hashes to {actual}")]
    DigestMismatch {
        layer: usize,
        digest: String,
        actual: String,
    },
    #[error("layer {layer} ({digest}): corrupt or truncated {what}: {source}")]
    Corrupt {
        layer: usize,
        digest: String,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("layer {layer} ({digest}): reading the blob failed: {source}")]
    Read {
        layer: usize,
        digest: String,
        #[source]
        source: std::io::Error,
    },
}
