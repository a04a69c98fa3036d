//! Locating the shared real-data corpus (`shared/vulndata/`) for whole-file tests.
//!
//! The corpus sits beside the repository (`<parent>/shared/vulndata`), so it is searched in the
//! ancestors of the crate, or taken from `PLIMSOLL_VULNDATA`. A missing corpus fails the test
//! when `CI=true` and skips it with a notice otherwise (a developer's checkout may not have it).

use std::path::PathBuf;

pub(crate) fn dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PLIMSOLL_VULNDATA") {
        return Some(PathBuf::from(dir));
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared/vulndata"))
        .find(|p| p.join("README.md").is_file())
}

/// The bytes of `shared/vulndata/<relative>`, or `None` (with a notice) when the corpus is not
/// there outside CI.
#[allow(clippy::print_stderr)]
pub(crate) fn read(relative: &str) -> Option<Vec<u8>> {
    let path = dir().map(|d| d.join(relative));
    match path.as_ref().map(std::fs::read) {
        Some(Ok(bytes)) => Some(bytes),
        other => {
            let why = match other {
                Some(Err(e)) => e.to_string(),
                _ => "shared/vulndata not found".to_owned(),
            };
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "shared/vulndata/{relative} is required in CI: {why}"
            );
            eprintln!("skipping: shared/vulndata/{relative} unavailable ({why})");
            None
        }
    }
}
