//! Vulnerability feeds: OSV is the model (every other format is converted to it), sources
//! (file, directory, JSON lines, zip, HTTP), and sync into the store.
//!
//! - `osv`: the OSV record, deserialised leniently (unknown fields kept out, bad records
//!   reported, not fatal).

pub mod osv;
