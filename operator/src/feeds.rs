//! Vulnerability feeds: OSV is the model (every other format is converted to it), sources
//! (file, directory, JSON lines, zip, HTTP), and sync into the store.
//!
//! - `osv`: the OSV record, deserialised leniently (unknown fields kept out, bad records
//!   reported, not fatal).
//! - `read`: bytes to records without IO: one OSV object, a JSON array, JSON lines, an OSV
//!   export zip (zip-bomb capped); recognises the format and reports bad records as skipped.
//! - `alpine_secdb`: Alpine secdb JSON (`v3.x/main.json`) to OSV records (`ALPINE-CVE-…`).
//! - `debian_tracker`: Debian security tracker JSON to OSV records (`DEBIAN-CVE-…`), with the
//!   fix state (fixed, no fix yet, won't fix, …) the matcher reports.
//! - `source`: where feeds come from: a local file or directory, an HTTP(S) URL, the OSV public
//!   exports (`<base>/<ecosystem>/all.zip`) and their `modified_id.csv` for incremental sync;
//!   URLs are shown redacted.
//! - `sync`: a source into the store, all or nothing per source, with its outcome recorded.
//! - `push`: the wire format of a synced source sent to the operator by the feed-sync CronJob.

pub mod alpine_secdb;
mod convert;
pub mod debian_tracker;
pub mod osv;
pub mod push;
pub mod read;
pub mod source;
pub mod sync;

#[cfg(test)]
pub(crate) mod test_data;
