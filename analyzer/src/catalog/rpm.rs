//! Red Hat family packages (RHEL, CentOS, Fedora, AlmaLinux, Rocky, Amazon Linux, SUSE, ...):
//! the rpm database in one of its three storage formats, each holding one rpm header blob per
//! installed package.
//!
//! - `rpmdb.sqlite` (rpm >= 4.16, RHEL 9, Fedora 33+): table `Packages(hnum, blob)`.
//! - `Packages` (Berkeley DB hash, RHEL/CentOS 7 and 8, Amazon Linux 2).
//! - `Packages.db` (rpm's own "ndb" format, openSUSE / SLES 15+).
//!
//! All three live in `/var/lib/rpm/` or, on newer distributions, `/usr/lib/sysimage/rpm/`.
//!
//! Traps: the database format is told by magic bytes, not by the file name; every format
//! stores the same big-endian header blob, but the container (BDB pages, ndb slots) has its
//! own byte order; `gpg-pubkey` records are imported signing keys, not packages.

mod bdb;
mod cataloger;
mod ndb;
mod parse_header;
mod sqlite;

pub use cataloger::RpmCataloger;
pub use parse_header::{DigestAlgorithm, HeaderError, HeaderFile, RpmHeader, parse_header};

/// A database file that cannot be read at all (as opposed to one bad record in it).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not a known rpm database format (sqlite, Berkeley DB hash, ndb)")]
    UnknownFormat,
    #[error("Berkeley DB: {0}")]
    Bdb(String),
    #[error("ndb: {0}")]
    Ndb(String),
    #[error("sqlite: {0}")]
    Sqlite(String),
}

/// One package record of a database: the key the database files it under (BDB key, ndb
/// package index, sqlite `hnum`) and the header blob.
pub(crate) trait BlobSink {
    fn blob(&mut self, key: u32, blob: &[u8]);
    /// A record the container itself could not deliver.
    fn warn(&mut self, message: String);
}

#[cfg(test)]
mod test_support {
    use super::BlobSink;
    use std::io::Read;

    /// Collects what a database reader delivers.
    #[derive(Debug, Default)]
    pub(super) struct Collect {
        pub(super) blobs: Vec<(u32, Vec<u8>)>,
        pub(super) warnings: Vec<String>,
    }

    impl Collect {
        pub(super) fn keys(&self) -> Vec<u32> {
            self.blobs.iter().map(|(k, _)| *k).collect()
        }
    }

    impl BlobSink for Collect {
        fn blob(&mut self, key: u32, blob: &[u8]) {
            self.blobs.push((key, blob.to_vec()));
        }
        fn warn(&mut self, message: String) {
            self.warnings.push(message);
        }
    }

    /// The sqlite fixture is committed gzipped (mostly empty index pages).
    pub(super) fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("fixture is valid gzip");
        out
    }
}
