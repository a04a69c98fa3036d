//! Berkeley DB hash databases, as rpm < 4.16 stored `Packages` (RHEL/CentOS 7 and 8, Amazon
//! Linux 2): key = header instance number (`u32`), value = header blob. Only what rpm uses of
//! the hash access method is read: no duplicates, no encryption, no page checksums.
//!
//! Layout (Berkeley DB's `dbinc/db_page.h`): a file of fixed-size pages. Page 0 is the hash
//! metadata page (magic `0x061561` at byte 12, page size at 20, page type 8 at 25). Every page
//! starts with a 26-byte header: `lsn[8] pgno[4] prev_pgno[4] next_pgno[4] entries[2]
//! hf_offset[2] level[1] type[1]`. Hash pages (type 13, or 2 before BDB 4.6) hold `entries`
//! two-byte item offsets right after the header, keys and values alternating; an item starts
//! with its type byte: 1 = inline bytes, 3 = "off-page" reference `{type, pad[3], pgno[4],
//! tlen[4]}` to a chain of overflow pages (type 7) each holding `hf_offset` bytes after its
//! header and linked by `next_pgno`.
//!
//! Traps:
//! - Byte order is the writer's: the magic tells which. The user keys (instance numbers) are
//!   in the same order, since rpm writes them in host order.
//! - An inline item has no length field: it runs up to the previous item's offset (items are
//!   packed from the end of the page), or to the end of the page for the first one.
//! - Key 0 is not a package: rpm keeps its last-used instance number there.
//! - Hash buckets are not walked; pages are visited in file order, which finds every item
//!   once (overflow and free pages are skipped by their type). Overflow chains come from the
//!   input: they may loop or point past the file, so their length is capped by the page count
//!   and the announced total length.

use super::{BlobSink, DbError};

const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
const HOFFPAGE_LEN: usize = 12;
const DBMETA_CHKSUM: u8 = 0x01;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let x: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Self::Little => u16::from_le_bytes(x),
            Self::Big => u16::from_be_bytes(x),
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let x: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Self::Little => u32::from_le_bytes(x),
            Self::Big => u32::from_be_bytes(x),
        })
    }
}

fn byte_order(content: &[u8]) -> Option<ByteOrder> {
    [ByteOrder::Little, ByteOrder::Big]
        .into_iter()
        .find(|o| o.u32(content, 12) == Some(HASH_MAGIC))
}

pub(super) fn is_bdb_hash(content: &[u8]) -> bool {
    byte_order(content).is_some()
}

/// The file, cut into pages.
struct Pages<'a> {
    content: &'a [u8],
    order: ByteOrder,
    size: usize,
    count: usize,
}

impl<'a> Pages<'a> {
    fn get(&self, pgno: usize) -> Option<&'a [u8]> {
        let start = pgno.checked_mul(self.size)?;
        self.content.get(start..start.checked_add(self.size)?)
    }
}

pub(super) fn read(content: &[u8], sink: &mut dyn BlobSink) -> Result<(), DbError> {
    let bad = |what: &str| DbError::Bdb(what.to_owned());
    let order = byte_order(content).ok_or_else(|| bad("no hash database magic"))?;
    let size = order.u32(content, 20).unwrap_or(0) as usize;
    if !(512..=65536).contains(&size) || !size.is_power_of_two() {
        return Err(DbError::Bdb(format!("bad page size {size}")));
    }
    if content.get(25) != Some(&P_HASHMETA) {
        return Err(bad("page 0 is not a hash metadata page"));
    }
    if content.get(24).is_some_and(|alg| *alg != 0) {
        return Err(bad("encrypted databases are not supported"));
    }
    if content.get(26).is_some_and(|f| f & DBMETA_CHKSUM != 0) {
        return Err(bad("databases with page checksums are not supported"));
    }
    let pages = Pages {
        content,
        order,
        size,
        count: content.len() / size,
    };
    let last_pgno = order.u32(content, 32).unwrap_or(0) as usize;
    if last_pgno >= pages.count {
        sink.warn(format!(
            "Berkeley DB: file holds {} pages, its metadata says {}; truncated?",
            pages.count,
            last_pgno.saturating_add(1)
        ));
    }
    for pgno in 1..pages.count {
        let Some(page) = pages.get(pgno) else { break };
        if matches!(page[25], P_HASH | P_HASH_UNSORTED) {
            read_hash_page(&pages, pgno, page, sink);
        }
    }
    Ok(())
}

/// One item of a hash page: its type byte and the bytes after it.
fn item<'p>(
    pages: &Pages<'_>,
    page: &'p [u8],
    entries: usize,
    i: usize,
) -> Result<(u8, &'p [u8]), String> {
    let order = pages.order;
    let offset_at = |i: usize| order.u16(page, PAGE_HEADER + 2 * i).map(usize::from);
    let start = offset_at(i).ok_or("item index beyond the page")?;
    let end = if i == 0 {
        Some(pages.size)
    } else {
        offset_at(i - 1)
    }
    .ok_or("item index beyond the page")?;
    let index_end = PAGE_HEADER + 2 * entries;
    if start < index_end || start >= end || end > pages.size {
        return Err(format!("item {i} at bad offset {start}"));
    }
    Ok((page[start], &page[start + 1..end]))
}

fn read_hash_page(pages: &Pages<'_>, pgno: usize, page: &[u8], sink: &mut dyn BlobSink) {
    let order = pages.order;
    let entries = order.u16(page, 20).map_or(0, usize::from);
    if PAGE_HEADER + 2 * entries > pages.size {
        sink.warn(format!(
            "page {pgno}: {entries} entries do not fit the page"
        ));
        return;
    }
    for pair in 0..entries / 2 {
        let (key, value) = match (
            item(pages, page, entries, 2 * pair),
            item(pages, page, entries, 2 * pair + 1),
        ) {
            (Ok(k), Ok(v)) => (k, v),
            (Err(e), _) | (_, Err(e)) => {
                sink.warn(format!("page {pgno}: {e}"));
                continue;
            }
        };
        let hnum = match key {
            (H_KEYDATA, k) if k.len() == 4 => order.u32(k, 0).unwrap_or(0),
            (ty, k) => {
                sink.warn(format!(
                    "page {pgno}: key of type {ty} and {} bytes is not an instance number",
                    k.len()
                ));
                continue;
            }
        };
        if hnum == 0 {
            continue;
        }
        match value {
            (H_KEYDATA, bytes) => sink.blob(hnum, bytes),
            (H_OFFPAGE, item) if item.len() >= HOFFPAGE_LEN - 1 => {
                // `item` starts after the type byte: pad[3], pgno[4], tlen[4].
                let first = order.u32(item, 3).unwrap_or(0) as usize;
                let total = order.u32(item, 7).unwrap_or(0) as usize;
                match overflow(pages, first, total) {
                    Ok(blob) => sink.blob(hnum, &blob),
                    Err(e) => sink.warn(format!("record {hnum}: {e}")),
                }
            }
            (ty, _) => sink.warn(format!(
                "record {hnum}: value item of type {ty} is not supported"
            )),
        }
    }
}

/// Reassembles a value stored in a chain of overflow pages.
fn overflow(pages: &Pages<'_>, first: usize, total: usize) -> Result<Vec<u8>, String> {
    if total > pages.content.len() {
        return Err(format!("value of {total} bytes is larger than the file"));
    }
    let mut out = Vec::with_capacity(total);
    let mut pgno = first;
    let mut hops = 0;
    while pgno != 0 {
        hops += 1;
        if hops > pages.count {
            return Err("overflow chain loops".into());
        }
        let page = pages
            .get(pgno)
            .ok_or_else(|| format!("overflow page {pgno} is past the end of the file"))?;
        if page[25] != P_OVERFLOW {
            return Err(format!("page {pgno} is not an overflow page"));
        }
        let len = pages.order.u16(page, 22).map_or(0, usize::from);
        let chunk = page
            .get(PAGE_HEADER..PAGE_HEADER + len)
            .ok_or_else(|| format!("overflow page {pgno} claims {len} bytes"))?;
        if out.len() + chunk.len() > total {
            return Err(format!("overflow chain is longer than {total} bytes"));
        }
        out.extend_from_slice(chunk);
        pgno = pages.order.u32(page, 16).unwrap_or(0) as usize;
    }
    if out.len() != total {
        return Err(format!(
            "overflow chain holds {} of {total} bytes",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rpm::parse_header;
    use crate::catalog::rpm::test_support::{Collect, gunzip};

    const LITTLE_4K: &[u8] = include_bytes!("testdata/bdb-le/Packages");
    const BIG_512: &[u8] = include_bytes!("testdata/bdb-be-512/Packages");

    /// The blobs of the sqlite fixture, which the BDB fixtures were loaded from.
    fn sqlite_blobs() -> Collect {
        let db = gunzip(include_bytes!("testdata/sqlite/rpmdb.sqlite.gz"));
        let mut c = Collect::default();
        crate::catalog::rpm::sqlite::read(&db, &mut c).expect("sqlite fixture");
        c
    }

    fn read_sorted(content: &[u8]) -> Collect {
        let mut got = Collect::default();
        read(content, &mut got).expect("fixture opens");
        got.blobs.sort();
        got
    }

    #[test]
    fn both_byte_orders_and_page_sizes_give_the_same_records() {
        assert_eq!(byte_order(LITTLE_4K), Some(ByteOrder::Little));
        assert_eq!(byte_order(BIG_512), Some(ByteOrder::Big));
        let want = sqlite_blobs();
        for (name, db) in [("le-4096", LITTLE_4K), ("be-512", BIG_512)] {
            let got = read_sorted(db);
            assert_eq!(got.warnings, Vec::<String>::new(), "{name}");
            assert_eq!(got.blobs, want.blobs, "{name}");
        }
    }

    #[test]
    fn the_512_byte_fixture_needs_multi_page_overflow_chains() {
        // Headers of 1.7-2.8 KB on 512-byte pages: every value spans several pages.
        let pages = BIG_512.len() / 512;
        let overflow = (0..pages)
            .filter(|p| BIG_512[p * 512 + 25] == P_OVERFLOW)
            .count();
        assert!(overflow > 5, "{overflow} overflow pages");
    }

    /// Page numbers of the overflow pages of a fixture.
    fn overflow_pages(db: &[u8], size: usize) -> Vec<usize> {
        (1..db.len() / size)
            .filter(|p| db[p * size + 25] == P_OVERFLOW)
            .collect()
    }

    #[test]
    fn a_looping_overflow_chain_loses_one_record() {
        let mut db = BIG_512.to_vec();
        let first = overflow_pages(&db, 512)[0];
        // Point the first overflow page's next_pgno at itself.
        db[first * 512 + 16..first * 512 + 20].copy_from_slice(&(first as u32).to_be_bytes());
        let got = read_sorted(&db);
        assert_eq!(got.blobs.len(), 4);
        assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
        assert!(
            got.warnings[0].contains("overflow chain"),
            "{:?}",
            got.warnings
        );
    }

    #[test]
    fn an_overflow_page_claiming_too_much_loses_one_record() {
        let mut db = LITTLE_4K.to_vec();
        let first = overflow_pages(&db, 4096)[0];
        db[first * 4096 + 22..first * 4096 + 24].copy_from_slice(&0xffffu16.to_le_bytes());
        let got = read_sorted(&db);
        assert_eq!(got.blobs.len(), 4);
        assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    }

    #[test]
    fn bad_metadata_is_an_error() {
        let cases: Vec<(usize, Vec<u8>, &str)> = vec![
            (
                20,
                7u32.to_le_bytes().to_vec(),
                "Berkeley DB: bad page size 7",
            ),
            (
                25,
                vec![13],
                "Berkeley DB: page 0 is not a hash metadata page",
            ),
            (
                24,
                vec![1],
                "Berkeley DB: encrypted databases are not supported",
            ),
        ];
        for (at, bytes, want) in cases {
            let mut db = LITTLE_4K.to_vec();
            db[at..at + bytes.len()].copy_from_slice(&bytes);
            let e = read(&db, &mut Collect::default()).expect_err(want);
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn every_prefix_and_corrupted_item_offsets_are_handled() {
        for db in [LITTLE_4K, BIG_512] {
            for len in (0..db.len()).step_by(97) {
                let mut got = Collect::default();
                let _ = read(&db[..len], &mut got);
                for (key, blob) in &got.blobs {
                    assert!(parse_header(blob).is_ok(), "prefix {len}: record {key}");
                }
            }
        }
        // Scribble over the item offsets of the first hash page.
        let mut db = LITTLE_4K.to_vec();
        db[4096 + 26..4096 + 40].fill(0xff);
        let got = read_sorted(&db);
        assert!(!got.warnings.is_empty());
    }
}
