//! `rpmdb.sqlite` (rpm >= 4.16): table `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`, one
//! header blob per package; the other tables are indexes we do not need.
//!
//! Traps:
//! - rpm opens its database in WAL mode, and the file header says so (bytes 18 and 19 are
//!   `2`) even after every change was checkpointed into the main file. We only ever see the
//!   main file (a `-wal` file would be another tar entry), so we open it from memory as a
//!   read-only rollback-journal database: the two bytes are set to `1` in our copy. Changes
//!   still sitting in a never-checkpointed `-wal` are not seen (images usually ship it empty).
//! - The content is parsed from memory (`sqlite3_deserialize`), never written to disk.
//! - The file comes from an untrusted image: `Packages` must be a plain table (a view could
//!   make the query arbitrarily expensive), schema functions are not trusted, and cells are
//!   checked for corruption as they are read.

use super::{BlobSink, DbError};
use rusqlite::{Connection, OpenFlags};
use std::io::Read;

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const HEADER_LEN: usize = 100;
const WRITE_VERSION: usize = 18;
const READ_VERSION: usize = 19;
const WAL: u8 = 2;
const LEGACY: u8 = 1;

pub(super) fn is_sqlite(content: &[u8]) -> bool {
    content.starts_with(MAGIC)
}

pub(super) fn read(content: &[u8], sink: &mut dyn BlobSink) -> Result<(), DbError> {
    let err = |e: rusqlite::Error| DbError::Sqlite(e.to_string());
    let Some(header) = content.get(..HEADER_LEN) else {
        return Err(DbError::Sqlite(format!(
            "file of {} bytes is shorter than the database header",
            content.len()
        )));
    };
    let mut header: [u8; HEADER_LEN] = header
        .try_into()
        .map_err(|_| DbError::Sqlite("database header".into()))?;
    for at in [WRITE_VERSION, READ_VERSION] {
        if header[at] == WAL {
            header[at] = LEGACY;
        }
    }
    let mut conn = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    let image = header.as_slice().chain(&content[HEADER_LEN..]);
    conn.deserialize_read_exact("main", image, content.len(), true)
        .map_err(err)?;
    conn.execute_batch("PRAGMA trusted_schema = OFF; PRAGMA cell_size_check = ON;")
        .map_err(err)?;

    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages'",
            [],
            |row| row.get(0),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(err)?;
    match kind.as_deref() {
        Some("table") => {}
        Some(other) => {
            return Err(DbError::Sqlite(format!(
                "Packages is a {other}, not a table"
            )));
        }
        None => return Err(DbError::Sqlite("no Packages table".into())),
    }

    let mut stmt = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(err)?;
    let mut rows = stmt.query([]).map_err(err)?;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                // A corrupt page ends the scan; what was read so far is kept.
                sink.warn(format!("sqlite: reading Packages stopped: {e}"));
                break;
            }
        };
        let hnum = row.get_ref(0).ok().and_then(|v| v.as_i64().ok());
        let Some(hnum) = hnum.and_then(|h| u32::try_from(h).ok()) else {
            sink.warn(format!("sqlite: record with bad hnum {hnum:?}"));
            continue;
        };
        match row.get_ref(1).map(|v| v.as_blob()) {
            Ok(Ok(blob)) => sink.blob(hnum, blob),
            _ => sink.warn(format!("record {hnum}: blob column is not a blob")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rpm::test_support::{Collect, gunzip};

    #[test]
    fn reads_every_record_of_a_wal_mode_database() {
        let db = gunzip(include_bytes!("testdata/sqlite/rpmdb.sqlite.gz"));
        assert_eq!((db[WRITE_VERSION], db[READ_VERSION]), (WAL, WAL));
        let mut got = Collect::default();
        read(&db, &mut got).expect("fixture opens");
        assert_eq!(got.keys(), vec![1, 2, 3, 4, 5]);
        assert_eq!(got.warnings, Vec::<String>::new());
        assert_eq!(
            got.blobs[1].1,
            include_bytes!("testdata/headers/openssl-libs.hdr")
        );
    }

    #[test]
    fn broken_databases_are_errors() {
        let db = gunzip(include_bytes!("testdata/sqlite/rpmdb.sqlite.gz"));
        for len in [0, 16, 99, 100, 4096, 8192] {
            let mut got = Collect::default();
            let result = read(&db[..len], &mut got);
            assert!(
                result.is_err() || !got.warnings.is_empty(),
                "prefix {len}: {result:?}"
            );
            assert!(got.blobs.is_empty(), "prefix {len}");
        }
    }

    #[test]
    fn truncated_database_keeps_no_garbage() {
        // Cut in the middle of the data: whatever is still read must be complete blobs.
        let db = gunzip(include_bytes!("testdata/sqlite/rpmdb.sqlite.gz"));
        for cut in (4096..db.len()).step_by(4096) {
            let mut got = Collect::default();
            let _ = read(&db[..cut], &mut got);
            for (key, blob) in &got.blobs {
                assert!(
                    crate::catalog::rpm::parse_header(blob).is_ok(),
                    "cut {cut}: record {key}"
                );
            }
        }
    }

    #[test]
    fn a_view_named_packages_is_refused() {
        let conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch("CREATE VIEW Packages AS SELECT 1 AS hnum, x'00' AS blob;")
            .expect("view");
        let bytes = conn.serialize("main").expect("serialize").to_vec();
        let mut got = Collect::default();
        let e = read(&bytes, &mut got).expect_err("a view is refused");
        assert_eq!(e.to_string(), "sqlite: Packages is a view, not a table");
    }
}
