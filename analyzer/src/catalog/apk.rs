//! Alpine packages: the apk installed database, `/lib/apk/db/installed` (or
//! `/usr/lib/apk/db/installed` where apk keeps it under `/usr`). Owned files and their SHA-1
//! digests are inline in each record.

mod cataloger;
mod parse_installed;

pub use cataloger::ApkCataloger;
pub use parse_installed::{ApkRecord, parse_installed};
