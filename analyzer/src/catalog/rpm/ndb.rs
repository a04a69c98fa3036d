//! rpm's own "ndb" package database, `Packages.db` (openSUSE, SLES 15 SP3+), as written by
//! rpm's `lib/backend/ndb/rpmpkg.c`. All integers are little-endian.
//!
//! Layout: the file is made of 16-byte blocks. The first `slotnpages` 4096-byte pages hold
//! the header (`"RpmP"`, version 0, generation, slotnpages, next package index: 32 bytes)
//! and then 16-byte slots `{"Slot", pkgidx, blkoff, blkcnt}`; a slot with `blkoff == 0` is
//! free. A slot points at `blkcnt` blocks from block `blkoff`, holding one blob:
//! head `{"BlbS", pkgidx, timestamp, bloblen}`, `bloblen` bytes of header, zero padding, and
//! tail `{adler32, bloblen, "BlbE"}`, the checksum covering head, header and padding.
//!
//! Traps: slots and blobs come from the input, so each blob is checked against the file
//! size, its slot's package index and its own tail before it is used; a wrong checksum is
//! reported but the header is still read (rpm itself does not check it when reading).
//! Every slot of every slot page must carry the slot magic: a slot table without it is
//! garbage, and reading stops there. The companion `Index.db` is not needed.

use super::{BlobSink, DbError};

const DB_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_HEAD_MAGIC: &[u8; 4] = b"BlbS";
const BLOB_TAIL_MAGIC: &[u8; 4] = b"BlbE";
const DB_VERSION: u32 = 0;
const DB_HEADER: usize = 32;
const PAGE: usize = 4096;
const SLOT: usize = 16;
const BLOCK: u64 = 16;
const BLOB_HEAD: usize = 16;
const BLOB_TAIL: usize = 12;

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let x: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(x))
}

pub(super) fn is_ndb(content: &[u8]) -> bool {
    content.starts_with(DB_MAGIC)
}

pub(super) fn read(content: &[u8], sink: &mut dyn BlobSink) -> Result<(), DbError> {
    if !is_ndb(content) {
        return Err(DbError::Ndb("no RpmP magic".into()));
    }
    let version = le_u32(content, 4).unwrap_or(u32::MAX);
    if version != DB_VERSION {
        return Err(DbError::Ndb(format!("unknown version {version}")));
    }
    let slot_pages = le_u32(content, 12).unwrap_or(0) as usize;
    let slots_end = slot_pages
        .checked_mul(PAGE)
        .filter(|end| *end <= content.len() && slot_pages > 0)
        .ok_or_else(|| {
            DbError::Ndb(format!(
                "{slot_pages} slot pages do not fit a file of {} bytes",
                content.len()
            ))
        })?;
    let first_blob_block = (slots_end as u64) / BLOCK;
    let file_blocks = content.len() as u64 / BLOCK;
    for (n, slot) in content[DB_HEADER..slots_end].chunks_exact(SLOT).enumerate() {
        if !slot.starts_with(SLOT_MAGIC) {
            sink.warn(format!(
                "ndb: slot {n} has no slot magic; slot table is corrupt"
            ));
            break;
        }
        let (pkgidx, blkoff, blkcnt) = (
            le_u32(slot, 4).unwrap_or(0),
            le_u32(slot, 8).unwrap_or(0),
            le_u32(slot, 12).unwrap_or(0),
        );
        if blkoff == 0 {
            continue;
        }
        let (start, count) = (u64::from(blkoff), u64::from(blkcnt));
        if pkgidx == 0 || count == 0 || start < first_blob_block || start + count > file_blocks {
            sink.warn(format!(
                "record {pkgidx}: slot points at blocks {start}+{count} outside the blob area"
            ));
            continue;
        }
        // Within the file, so these fit in usize.
        let blob = &content[(start * BLOCK) as usize..((start + count) * BLOCK) as usize];
        match open_blob(pkgidx, blob) {
            Ok((header, checksum_ok)) => {
                if !checksum_ok {
                    sink.warn(format!("record {pkgidx}: blob checksum mismatch"));
                }
                sink.blob(pkgidx, header);
            }
            Err(e) => sink.warn(format!("record {pkgidx}: {e}")),
        }
    }
    Ok(())
}

/// The header inside one blob's blocks, and whether the blob's checksum matches.
fn open_blob(pkgidx: u32, blocks: &[u8]) -> Result<(&[u8], bool), String> {
    if blocks.len() < BLOB_HEAD + BLOB_TAIL || !blocks.starts_with(BLOB_HEAD_MAGIC) {
        return Err("no blob at the slot's offset".into());
    }
    let owner = le_u32(blocks, 4).unwrap_or(0);
    if owner != pkgidx {
        return Err(format!("blob belongs to package {owner}"));
    }
    let len = le_u32(blocks, 12).unwrap_or(0) as usize;
    let needed = (BLOB_HEAD + BLOB_TAIL) as u64 + len as u64;
    if needed.div_ceil(BLOCK) != blocks.len() as u64 / BLOCK {
        return Err(format!(
            "blob of {len} bytes does not fill its {} blocks",
            blocks.len() as u64 / BLOCK
        ));
    }
    let tail_at = blocks.len() - BLOB_TAIL;
    let tail = &blocks[tail_at..];
    if !tail[8..].starts_with(BLOB_TAIL_MAGIC) || le_u32(tail, 4) != Some(len as u32) {
        return Err("blob tail does not match its head".into());
    }
    let checksum_ok = le_u32(tail, 0) == Some(adler32(&blocks[..tail_at]));
    Ok((&blocks[BLOB_HEAD..BLOB_HEAD + len], checksum_ok))
}

/// Adler-32 (RFC 1950 section 8.2).
fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    // The largest run that cannot overflow `b` before reducing (zlib's NMAX).
    const RUN: usize = 5552;
    let (mut a, mut b) = (1u32, 0u32);
    for run in bytes.chunks(RUN) {
        for byte in run {
            a += u32::from(*byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    b << 16 | a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rpm::parse_header;
    use crate::catalog::rpm::test_support::{Collect, gunzip};

    const PACKAGES_DB: &[u8] = include_bytes!("testdata/ndb/Packages.db");

    #[test]
    fn adler32_known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let long = vec![0xffu8; 100_000];
        // Computed without chunking, in u64.
        let (mut a, mut b) = (1u64, 0u64);
        for x in &long {
            a = (a + u64::from(*x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&long), (b << 16 | a) as u32);
    }

    #[test]
    fn reads_the_live_slots_with_their_blobs() {
        let mut got = Collect::default();
        read(PACKAGES_DB, &mut got).expect("fixture opens");
        assert_eq!(got.warnings, Vec::<String>::new());
        // legacy-md5 (index 5) was erased after install: its slot is free.
        let mut keys = got.keys();
        keys.sort_unstable();
        assert_eq!(keys, vec![1, 2, 3, 4]);
        let names: Vec<String> = got
            .blobs
            .iter()
            .map(|(_, b)| parse_header(b).expect("valid header").name)
            .collect();
        assert!(names.contains(&"openssl-libs".to_owned()), "{names:?}");
        // The same package as rpm wrote it into the sqlite fixture (the blobs differ only in
        // their install time).
        let db = gunzip(include_bytes!("testdata/sqlite/rpmdb.sqlite.gz"));
        let mut sqlite = Collect::default();
        crate::catalog::rpm::sqlite::read(&db, &mut sqlite).expect("sqlite fixture");
        let libs = |c: &Collect| {
            c.blobs
                .iter()
                .filter_map(|(_, b)| parse_header(b).ok())
                .find(|h| h.name == "openssl-libs")
        };
        let from_ndb = libs(&got).expect("openssl-libs in the ndb fixture");
        assert_eq!(Some(from_ndb), libs(&sqlite));
    }

    fn first_live_slot(db: &[u8]) -> usize {
        (DB_HEADER..PAGE)
            .step_by(SLOT)
            .find(|at| le_u32(db, at + 8) != Some(0))
            .expect("a live slot")
    }

    #[test]
    fn damaged_slots_and_blobs_lose_one_record_with_a_warning() {
        let slot = first_live_slot(PACKAGES_DB);
        let blob_at = le_u32(PACKAGES_DB, slot + 8).expect("blkoff") as usize * 16;
        let cases: Vec<(&str, usize, Vec<u8>, &str)> = vec![
            (
                "slot past the file",
                slot + 8,
                u32::MAX.to_le_bytes().to_vec(),
                "outside the blob area",
            ),
            (
                "slot into the slot pages",
                slot + 8,
                1u32.to_le_bytes().to_vec(),
                "outside the blob area",
            ),
            (
                "wrong owner",
                blob_at + 4,
                999u32.to_le_bytes().to_vec(),
                "belongs to package 999",
            ),
            (
                "huge length",
                blob_at + 12,
                u32::MAX.to_le_bytes().to_vec(),
                "does not fill",
            ),
            ("no head magic", blob_at, b"XXXX".to_vec(), "no blob"),
        ];
        for (what, at, bytes, want) in cases {
            let mut db = PACKAGES_DB.to_vec();
            db[at..at + bytes.len()].copy_from_slice(&bytes);
            let mut got = Collect::default();
            read(&db, &mut got).expect(what);
            assert_eq!(got.blobs.len(), 3, "{what}");
            assert_eq!(got.warnings.len(), 1, "{what}: {:?}", got.warnings);
            assert!(got.warnings[0].contains(want), "{what}: {:?}", got.warnings);
        }
    }

    #[test]
    fn a_checksum_mismatch_is_reported_but_the_header_kept() {
        let slot = first_live_slot(PACKAGES_DB);
        let blob_at = le_u32(PACKAGES_DB, slot + 8).expect("blkoff") as usize * 16;
        let mut db = PACKAGES_DB.to_vec();
        // The timestamp is covered by the checksum but not read.
        db[blob_at + 8] ^= 0xff;
        let mut got = Collect::default();
        read(&db, &mut got).expect("opens");
        assert_eq!(got.blobs.len(), 4);
        assert_eq!(got.warnings.len(), 1);
        assert!(got.warnings[0].contains("checksum"), "{:?}", got.warnings);
    }

    #[test]
    fn bad_files_are_errors_and_prefixes_never_panic() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"RpmQ".to_vec(), "ndb: no RpmP magic"),
            (
                {
                    let mut d = PACKAGES_DB.to_vec();
                    d[4] = 1;
                    d
                },
                "ndb: unknown version 1",
            ),
            (
                {
                    let mut d = PACKAGES_DB.to_vec();
                    d[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
                    d
                },
                "ndb: 4294967295 slot pages do not fit a file of 15360 bytes",
            ),
        ];
        for (db, want) in cases {
            let e = read(&db, &mut Collect::default()).expect_err(want);
            assert_eq!(e.to_string(), want);
        }
        for len in 0..PACKAGES_DB.len() {
            let mut got = Collect::default();
            let _ = read(&PACKAGES_DB[..len], &mut got);
            for (key, blob) in &got.blobs {
                assert!(parse_header(blob).is_ok(), "prefix {len}: record {key}");
            }
        }
    }
}
