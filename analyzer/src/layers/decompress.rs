//! Decompression by content, not by media type: registries and `docker save` are known to
//! label layers wrongly, while the magic bytes never lie.

use sha2::{Digest as _, Sha256};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

/// Which compression the first bytes of a blob announce.
pub fn sniff_compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// A reader that hashes and counts what passes through it.
pub(crate) struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Hashing<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads the rest of the stream (so trailing padding is hashed too) and returns
    /// `sha256:<hex>` and the byte count.
    pub(crate) fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
        ))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Fails with an error once more than `limit` bytes came through, and raises a flag the
/// caller can read after the tar reader has wrapped the error in its own.
pub(crate) struct Limited<R> {
    inner: R,
    remaining: u64,
    tripped: Arc<AtomicBool>,
    total: Arc<AtomicU64>,
}

impl<R: Read> Limited<R> {
    pub(crate) fn new(inner: R, limit: u64) -> (Self, Arc<AtomicBool>, Arc<AtomicU64>) {
        let tripped = Arc::new(AtomicBool::new(false));
        let total = Arc::new(AtomicU64::new(0));
        (
            Self {
                inner,
                remaining: limit,
                tripped: tripped.clone(),
                total: total.clone(),
            },
            tripped,
            total,
        )
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total.fetch_add(n as u64, Ordering::Relaxed);
        if n as u64 > self.remaining {
            self.tripped.store(true, Ordering::Relaxed);
            return Err(io::Error::other("decompressed size limit exceeded"));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// The decompressed tar stream of a blob.
pub(crate) fn decoder<'a, R: Read + 'a>(raw: R) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let mut buffered = BufReader::with_capacity(256 * 1024, raw);
    let head = buffered.fill_buf()?;
    let compression = sniff_compression(head);
    let reader: Box<dyn Read + 'a> = match compression {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        Compression::None => Box::new(buffered),
    };
    Ok((compression, reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic() {
        assert_eq!(sniff_compression(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(
            sniff_compression(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Compression::Zstd
        );
        assert_eq!(sniff_compression(b"etc/passwd\0"), Compression::None);
        assert_eq!(sniff_compression(&[]), Compression::None);
    }

    #[test]
    fn limited_trips_past_limit() {
        let data = vec![0u8; 1000];
        let (mut r, tripped, _) = Limited::new(&data[..], 999);
        let err = io::copy(&mut r, &mut io::sink());
        assert!(err.is_err());
        assert!(tripped.load(Ordering::Relaxed));
        let (mut r, tripped, total) = Limited::new(&data[..], 1000);
        assert_eq!(io::copy(&mut r, &mut io::sink()).ok(), Some(1000));
        assert!(!tripped.load(Ordering::Relaxed));
        assert_eq!(total.load(Ordering::Relaxed), 1000);
    }
}
