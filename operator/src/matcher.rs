//! Vulnerability matching, sans-IO: packages in, matches out.
//!
//! - `version`: exact version ordering per ecosystem (dpkg, rpm, apk, PEP 440, SemVer, Go,
//!   Maven, RubyGems).
//! - `ecosystem`: a package to the (OSV ecosystem, name, version) keys its advisories use.
//! - `ranges`: OSV range semantics for one affected entry.
//! - `index`: the in-memory index of affected entries by (ecosystem, name).
//! - `matching`: packages against the index, one match per vulnerability and package.

pub mod ecosystem;
pub mod index;
pub mod matching;
pub mod ranges;
pub mod version;

pub use index::VulnIndex;
pub use matching::{FixState, Match, MatchReport, match_packages};
