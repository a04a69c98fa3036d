//! Bytes to OSV records, without IO: one OSV JSON object, a JSON array of records, JSON lines,
//! and the OSV zip export (`<ecosystem>/all.zip`, one `<ID>.json` per record). [`read_document`]
//! recognises the format and also hands Alpine secdb and Debian tracker documents to their
//! converters.
//!
//! Bad records never fail a whole feed: each is reported as a [`Skipped`] with its location
//! (`file:line` for JSON lines, `file[index]` for arrays, `file!entry` for zip entries) and the
//! reason, and reading goes on. Only a container that cannot be read at all (invalid JSON
//! around an array, an unreadable or truncated zip, a zip bomb) is an `Err`.
//!
//! Traps:
//! - Withdrawn records are kept, with their `withdrawn` field: the store decides to drop them
//!   (and must, to retract what an earlier sync stored). Records with an empty `affected` are
//!   kept too (the OSV schema allows them; some feeds publish placeholders).
//! - A zip's headers may lie about sizes: the declared size is only used to refuse early, the
//!   real inflated bytes are counted while reading, per entry and in total.
//! - A truncated zip has lost its central directory (it sits at the end): `ZipArchive::new`
//!   fails, and that is the error the caller sees.
//! - `.json` files sometimes hold JSON lines, and files from Windows tools start with a UTF-8
//!   BOM that serde_json rejects: both are accepted.
//! - A JSON lines file may have blank lines and `\r\n` endings; line numbers count every line.
//! - Index files look like arrays of records: Chainguard's `all.json` is `[{"id", "modified"}]`.
//!   An entry with nothing but `id` and `modified` is skipped, never stored as an empty record.

use std::io::{Read, Seek};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::feeds::osv::Record;
use crate::feeds::{alpine_secdb, debian_tracker};

/// What reading one feed document produced: the good records and the bad ones left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOutcome {
    pub records: Vec<Record>,
    pub skipped: Vec<Skipped>,
}

/// One record (or one entry of a native feed) left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `file:line`, `file[index]`, `file!zip-entry`, or a converter's own location such as
    /// `v3.10-main.json: heimdal 7.4.0-r0`.
    pub location: String,
    pub reason: String,
}

impl ReadOutcome {
    pub(crate) fn skip(&mut self, location: impl Into<String>, reason: impl ToString) {
        self.skipped.push(Skipped {
            location: location.into(),
            reason: reason.to_string(),
        });
    }

    /// Records carrying a `withdrawn` timestamp (kept in `records`).
    pub fn withdrawn_count(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.withdrawn.is_some())
            .count()
    }

    /// Appends another outcome's records and skips.
    pub fn extend(&mut self, other: ReadOutcome) {
        self.records.extend(other.records);
        self.skipped.extend(other.skipped);
    }
}

/// Caps against zip bombs. The defaults fit the largest OSV per-ecosystem export with room to
/// spare while keeping a hostile archive from filling memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Entries in the zip's central directory.
    pub max_zip_entries: usize,
    /// Inflated bytes of one zip entry (one OSV record).
    pub max_entry_bytes: u64,
    /// Inflated bytes of all entries together.
    pub max_inflated_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_zip_entries: 1_000_000,
            max_entry_bytes: 64 << 20,
            max_inflated_bytes: 4 << 30,
        }
    }
}

/// The document formats [`read_document`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One OSV record, or a JSON array of them.
    OsvJson,
    /// One OSV record per line.
    OsvJsonLines,
    /// An OSV export zip: one JSON record per entry.
    OsvZip,
    /// Alpine secdb (`v3.x/main.json`), converted by [`alpine_secdb`].
    AlpineSecdb,
    /// Debian security tracker JSON, converted by [`debian_tracker`].
    DebianTracker,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{location}: not valid JSON: {source}")]
    Json {
        location: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{location}: JSON document is neither an OSV record, an array of records, an Alpine \
         secdb nor a Debian tracker document"
    )]
    UnknownDocument { location: String },
    #[error("{location}: cannot read zip (truncated, or not a zip archive): {source}")]
    Zip {
        location: String,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{location}: zip has {entries} entries, over the limit of {limit}; refused")]
    TooManyEntries {
        location: String,
        entries: usize,
        limit: usize,
    },
    #[error("{location}!{entry}: entry inflates past {limit} bytes; refused (zip bomb?)")]
    EntryTooLarge {
        location: String,
        entry: String,
        limit: u64,
    },
    #[error("{location}: zip inflates past {limit} bytes in total; refused (zip bomb?)")]
    InflatedTooLarge { location: String, limit: u64 },
    #[error(transparent)]
    AlpineSecdb(#[from] alpine_secdb::Error),
    #[error(transparent)]
    DebianTracker(#[from] debian_tracker::Error),
}

/// Reads a document of any supported format, recognised by its name (`.zip`, `.jsonl`) and
/// its content (zip magic, JSON shape). `name` is used for locations in [`Skipped`] and errors.
pub fn read_document(
    name: &str,
    bytes: &[u8],
    limits: &ReadLimits,
) -> Result<(Format, ReadOutcome), ReadError> {
    let format = sniff(name, bytes)?;
    let outcome = match format {
        Format::OsvZip => read_osv_zip(std::io::Cursor::new(bytes), name, limits)?,
        Format::OsvJsonLines => read_osv_jsonl(bytes, name),
        Format::OsvJson => read_osv_json(bytes, name)?,
        Format::AlpineSecdb => alpine_secdb::parse(bytes, name)?,
        Format::DebianTracker => debian_tracker::parse(bytes, name)?,
    };
    Ok((format, outcome))
}

/// Tells the format of a document from its name and first bytes. JSON objects are parsed once
/// (without building values past the first top-level member) to tell an OSV record from an
/// Alpine secdb or a Debian tracker document.
pub fn sniff(name: &str, bytes: &[u8]) -> Result<Format, ReadError> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip")
        || bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"PK\x05\x06")
    {
        return Ok(Format::OsvZip);
    }
    if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        return Ok(Format::OsvJsonLines);
    }
    let body = strip_bom(bytes);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => return Ok(Format::OsvJson),
        Some(b'{') => {}
        _ => {
            return Err(ReadError::UnknownDocument {
                location: name.to_owned(),
            });
        }
    }
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<Shape>();
    let shape = match values.next() {
        Some(Ok(shape)) => shape,
        Some(Err(source)) => {
            return Err(ReadError::Json {
                location: name.to_owned(),
                source,
            });
        }
        None => {
            return Err(ReadError::UnknownDocument {
                location: name.to_owned(),
            });
        }
    };
    if values.next().is_some() {
        return Ok(Format::OsvJsonLines);
    }
    if shape.has_id {
        Ok(Format::OsvJson)
    } else if shape.has_packages && shape.has_secdb_header {
        Ok(Format::AlpineSecdb)
    } else if shape.first_value_has_releases {
        Ok(Format::DebianTracker)
    } else {
        Err(ReadError::UnknownDocument {
            location: name.to_owned(),
        })
    }
}

/// One OSV record, or a JSON array of records. A `.json` file that turns out to hold several
/// top-level objects is read as JSON lines.
pub fn read_osv_json(bytes: &[u8], location: &str) -> Result<ReadOutcome, ReadError> {
    let body = strip_bom(bytes);
    let mut out = ReadOutcome::default();
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let items: Vec<&RawValue> =
            serde_json::from_slice(body).map_err(|source| ReadError::Json {
                location: location.to_owned(),
                source,
            })?;
        for (index, item) in items.iter().enumerate() {
            match parse_record(item.get().as_bytes()) {
                Ok(record) => out.records.push(record),
                Err(e) => out.skip(format!("{location}[{index}]"), e),
            }
        }
        return Ok(out);
    }
    // Valid JSON but not a record is a skip, not an error, so that one bad file in a directory
    // reads like one bad line in a JSON lines file.
    let value: &RawValue = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) if e.classify() == serde_json::error::Category::Syntax && looks_like_lines(body) => {
            return Ok(read_osv_jsonl(bytes, location));
        }
        Err(source) => {
            return Err(ReadError::Json {
                location: location.to_owned(),
                source,
            });
        }
    };
    match parse_record(value.get().as_bytes()) {
        Ok(record) => out.records.push(record),
        Err(e) => out.skip(location, e),
    }
    Ok(out)
}

/// One OSV record per line. Never fails: every bad line is skipped with its 1-based number.
pub fn read_osv_jsonl(bytes: &[u8], location: &str) -> ReadOutcome {
    let mut out = ReadOutcome::default();
    for (index, line) in strip_bom(bytes).split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_record(line) {
            Ok(record) => out.records.push(record),
            Err(e) => out.skip(format!("{location}:{}", index + 1), e),
        }
    }
    out
}

/// An OSV export zip, from memory (`Cursor<&[u8]>`) or a file. Entries that are not `.json`,
/// cannot be inflated (bad CRC, corrupt data) or are not OSV records are skipped; an archive
/// that cannot be opened, or that passes a [`ReadLimits`] cap, is refused whole.
pub fn read_osv_zip<R: Read + Seek>(
    reader: R,
    location: &str,
    limits: &ReadLimits,
) -> Result<ReadOutcome, ReadError> {
    let zip_error = |source| ReadError::Zip {
        location: location.to_owned(),
        source,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(zip_error)?;
    if archive.len() > limits.max_zip_entries {
        return Err(ReadError::TooManyEntries {
            location: location.to_owned(),
            entries: archive.len(),
            limit: limits.max_zip_entries,
        });
    }
    let mut out = ReadOutcome::default();
    let mut inflated: u64 = 0;
    let mut buf = Vec::new();
    for index in 0..archive.len() {
        let mut entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(e) => {
                out.skip(format!("{location}!#{index}"), e);
                continue;
            }
        };
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{index}"));
        if entry.is_dir() {
            continue;
        }
        let entry_location = format!("{location}!{name}");
        if !name.to_ascii_lowercase().ends_with(".json") {
            out.skip(entry_location, "not a .json entry");
            continue;
        }
        let total_left = limits.max_inflated_bytes.saturating_sub(inflated);
        let budget = limits.max_entry_bytes.min(total_left);
        let too_large = |read: u64| {
            if read > limits.max_entry_bytes {
                ReadError::EntryTooLarge {
                    location: location.to_owned(),
                    entry: name.clone(),
                    limit: limits.max_entry_bytes,
                }
            } else {
                ReadError::InflatedTooLarge {
                    location: location.to_owned(),
                    limit: limits.max_inflated_bytes,
                }
            }
        };
        // The declared size refuses early; `take` enforces the real size.
        if entry.size() > budget {
            return Err(too_large(entry.size()));
        }
        buf.clear();
        if let Err(e) = (&mut entry)
            .take(budget.saturating_add(1))
            .read_to_end(&mut buf)
        {
            out.skip(entry_location, format!("cannot inflate entry: {e}"));
            continue;
        }
        let read = buf.len() as u64;
        if read > budget {
            return Err(too_large(read));
        }
        inflated += read;
        match parse_record(&buf) {
            Ok(record) => out.records.push(record),
            Err(e) => out.skip(entry_location, e),
        }
    }
    Ok(out)
}

/// Why a JSON value is not taken as a record.
#[derive(Debug, thiserror::Error)]
enum NotARecord {
    #[error(transparent)]
    Osv(#[from] crate::feeds::osv::ParseError),
    #[error("only `id` and `modified`: an index entry, not a record")]
    IndexEntry,
}

/// An OSV record, refusing index entries (`{"id", "modified"}` alone, as in Chainguard's
/// `all.json`): stored as records they would replace real ones with empty shells.
fn parse_record(bytes: &[u8]) -> Result<Record, NotARecord> {
    let record = Record::from_json(bytes)?;
    let bare = record.withdrawn.is_none()
        && record.summary.is_none()
        && record.details.is_none()
        && record.affected.is_empty()
        && record.aliases.is_empty()
        && record.related.is_empty()
        && record.upstream.is_empty()
        && record.severity.is_empty()
        && record.references.is_empty()
        && record.database_specific.is_none();
    if bare {
        return Err(NotARecord::IndexEntry);
    }
    Ok(record)
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Whether a document that failed to parse as one JSON value is several values, one per line.
fn looks_like_lines(body: &[u8]) -> bool {
    let mut values =
        serde_json::Deserializer::from_slice(body).into_iter::<serde::de::IgnoredAny>();
    matches!(values.next(), Some(Ok(_))) && values.next().is_some()
}

/// The top-level shape of a JSON object, enough to tell the formats apart.
#[derive(Default)]
struct Shape {
    has_id: bool,
    has_packages: bool,
    has_secdb_header: bool,
    /// The first member's value is an object whose members have a `releases` key: the Debian
    /// tracker's `{package: {CVE: {releases: …}}}`.
    first_value_has_releases: bool,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> serde::de::Visitor<'de> for ShapeVisitor {
            type Value = Shape;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Shape, A::Error> {
                let mut shape = Shape::default();
                let mut first = true;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "id" => shape.has_id = true,
                        "packages" => shape.has_packages = true,
                        "distroversion" | "reponame" | "urlprefix" | "apkurl" => {
                            shape.has_secdb_header = true;
                        }
                        _ => {}
                    }
                    if first {
                        first = false;
                        let value: serde_json::Value = map.next_value()?;
                        shape.first_value_has_releases = value.as_object().is_some_and(|issues| {
                            issues.values().any(|issue| issue.get("releases").is_some())
                        });
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(shape)
            }
        }
        deserializer.deserialize_map(ShapeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::feeds::test_data;

    const PYPI_SLICE: &str = include_str!("testdata/pypi-pysec-slice.jsonl");

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            writer.start_file(*name, options).expect("start entry");
            writer.write_all(bytes).expect("write entry");
        }
        writer.finish().expect("finish zip").into_inner()
    }

    /// The slice's records as `<ID>.json` entries, like an OSV `all.zip`.
    fn slice_as_zip() -> Vec<u8> {
        let records = read_osv_jsonl(PYPI_SLICE.as_bytes(), "slice").records;
        let files: Vec<(String, Vec<u8>)> = records
            .iter()
            .map(|r| {
                (
                    format!("{}.json", r.id),
                    serde_json::to_vec(r).expect("serialise"),
                )
            })
            .collect();
        let entries: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        zip_of(&entries)
    }

    #[test]
    fn jsonl_slice_reads_every_record_and_keeps_withdrawn() {
        let out = read_osv_jsonl(PYPI_SLICE.as_bytes(), "pypi-pysec-slice.jsonl");
        assert_eq!(out.skipped, vec![]);
        let ids: Vec<&str> = out.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "PYSEC-2016-25",
                "PYSEC-2019-176",
                "PYSEC-2024-55",
                "PYSEC-2022-15"
            ]
        );
        assert_eq!(out.withdrawn_count(), 1, "PYSEC-2022-15 is withdrawn, kept");
        assert_eq!(
            out.records[3].withdrawn.as_deref(),
            Some("2022-02-22T16:15:07Z")
        );
    }

    #[test]
    fn malformed_jsonl_lines_are_skipped_with_their_line_number() {
        let mut lines: Vec<&str> = PYPI_SLICE.lines().collect();
        lines.insert(1, "{\"id\": \"PYSEC-TRUNCATED\", \"affected\": [");
        lines.insert(2, "");
        lines.insert(3, "not json at all");
        lines.insert(4, "{\"summary\": \"no id\"}");
        lines.push("[]");
        let text = lines.join("\r\n");
        let out = read_osv_jsonl(text.as_bytes(), "mixed.jsonl");
        assert_eq!(out.records.len(), 4);
        let locations: Vec<&str> = out.skipped.iter().map(|s| s.location.as_str()).collect();
        assert_eq!(
            locations,
            [
                "mixed.jsonl:2",
                "mixed.jsonl:4",
                "mixed.jsonl:5",
                "mixed.jsonl:9"
            ]
        );
        assert!(
            out.skipped[2].reason.contains("missing field `id`"),
            "{:?}",
            out.skipped[2]
        );
    }

    #[test]
    fn single_object_and_array_documents() {
        let alma = include_bytes!("testdata/alsa-2025-10073.json");
        let (format, out) = read_document("alsa.json", alma, &ReadLimits::default()).expect("read");
        assert_eq!(format, Format::OsvJson);
        assert_eq!(out.records.len(), 1);
        assert_eq!(out.records[0].id, "ALSA-2025:10073");

        let records = read_osv_jsonl(PYPI_SLICE.as_bytes(), "slice").records;
        let mut array = serde_json::to_value(&records).expect("array");
        if let Some(items) = array.as_array_mut() {
            items.insert(1, serde_json::json!({"id": ""}));
            items.push(serde_json::json!(42));
        }
        let bytes = serde_json::to_vec(&array).expect("bytes");
        let (format, out) =
            read_document("all.json", &bytes, &ReadLimits::default()).expect("read");
        assert_eq!(format, Format::OsvJson);
        assert_eq!(out.records, records);
        let locations: Vec<&str> = out.skipped.iter().map(|s| s.location.as_str()).collect();
        assert_eq!(locations, ["all.json[1]", "all.json[5]"]);

        // A BOM, and JSON lines in a file named .json.
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(PYPI_SLICE.as_bytes());
        let (format, out) =
            read_document("pysec.json", &bom, &ReadLimits::default()).expect("read");
        assert_eq!(format, Format::OsvJsonLines);
        assert_eq!(out.records.len(), 4);
        assert_eq!(
            read_osv_json(&bom, "pysec.json")
                .expect("lines")
                .records
                .len(),
            4
        );
    }

    #[test]
    fn bad_single_documents() {
        let out = read_osv_json(br#"{"id": 7}"#, "x.json").expect("valid JSON");
        assert_eq!(out.records.len(), 0);
        assert_eq!(out.skipped[0].location, "x.json");
        assert!(matches!(
            read_osv_json(br#"[{"id": "A"}, "#, "t.json"),
            Err(ReadError::Json { .. })
        ));
        assert!(matches!(
            read_document(
                "t.json",
                br#"{"id": "A", "affected": ["#,
                &ReadLimits::default()
            ),
            Err(ReadError::Json { .. })
        ));
        assert!(matches!(
            read_document("x.json", br#"{"hello": "world"}"#, &ReadLimits::default()),
            Err(ReadError::UnknownDocument { .. })
        ));
        assert!(matches!(
            read_document("x.json", b"  ", &ReadLimits::default()),
            Err(ReadError::UnknownDocument { .. })
        ));
    }

    #[test]
    fn zip_export_from_memory_and_from_a_file() {
        let bytes = slice_as_zip();
        let expected = read_osv_jsonl(PYPI_SLICE.as_bytes(), "slice").records;
        let (format, out) =
            read_document("PyPI/all.zip", &bytes, &ReadLimits::default()).expect("read zip");
        assert_eq!(format, Format::OsvZip);
        assert_eq!(out.records, expected);
        assert_eq!(out.skipped, vec![]);

        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(&bytes).expect("write");
        let out = read_osv_zip(file, "all.zip", &ReadLimits::default()).expect("read file");
        assert_eq!(out.records, expected);
    }

    #[test]
    fn zip_entries_that_are_not_records_are_skipped() {
        let bytes = zip_of(&[
            ("PYSEC-1.json", br#"{"id": "PYSEC-1", "details": "d"}"#),
            ("README.txt", b"hello"),
            ("BAD.json", b"{"),
            (
                "INDEX.json",
                br#"{"id": "PYSEC-2", "modified": "2024-01-01T00:00:00Z"}"#,
            ),
        ]);
        let out = read_osv_zip(
            std::io::Cursor::new(&bytes),
            "all.zip",
            &ReadLimits::default(),
        )
        .expect("read");
        assert_eq!(out.records.len(), 1);
        let locations: Vec<&str> = out.skipped.iter().map(|s| s.location.as_str()).collect();
        assert_eq!(
            locations,
            [
                "all.zip!README.txt",
                "all.zip!BAD.json",
                "all.zip!INDEX.json"
            ]
        );
        assert_eq!(
            out.skipped[2].reason,
            "only `id` and `modified`: an index entry, not a record"
        );
    }

    #[test]
    fn truncated_zip_fails_with_a_clear_error() {
        let bytes = slice_as_zip();
        let truncated = &bytes[..bytes.len() * 2 / 3];
        let err = read_document("PyPI/all.zip", truncated, &ReadLimits::default())
            .expect_err("truncated zip");
        assert!(matches!(err, ReadError::Zip { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with("PyPI/all.zip: cannot read zip (truncated, or not a zip archive)"),
            "{message}"
        );
    }

    #[test]
    fn zip_bomb_is_refused() {
        // 16 MiB of zeros deflate to about 16 KiB: a 1000:1 bomb.
        let zeros = vec![0u8; 16 << 20];
        let bomb = zip_of(&[("BOMB.json", &zeros)]);
        assert!(bomb.len() < 64 << 10, "compressed to {}", bomb.len());
        let limits = ReadLimits {
            max_entry_bytes: 1 << 20,
            ..ReadLimits::default()
        };
        let err = read_osv_zip(std::io::Cursor::new(&bomb), "bomb.zip", &limits).expect_err("bomb");
        assert!(
            matches!(err, ReadError::EntryTooLarge { ref entry, limit, .. } if entry == "BOMB.json" && limit == 1 << 20),
            "{err:?}"
        );

        // Many entries each under the entry cap, over the total cap.
        let mib = vec![b' '; 1 << 20];
        let names: Vec<String> = (0..6).map(|i| format!("{i}.json")).collect();
        let entries: Vec<(&str, &[u8])> =
            names.iter().map(|n| (n.as_str(), mib.as_slice())).collect();
        let limits = ReadLimits {
            max_inflated_bytes: 4 << 20,
            ..ReadLimits::default()
        };
        let err = read_osv_zip(std::io::Cursor::new(zip_of(&entries)), "many.zip", &limits)
            .expect_err("total cap");
        assert!(matches!(err, ReadError::InflatedTooLarge { .. }), "{err:?}");

        let limits = ReadLimits {
            max_zip_entries: 5,
            ..ReadLimits::default()
        };
        let err = read_osv_zip(std::io::Cursor::new(zip_of(&entries)), "many.zip", &limits)
            .expect_err("entry count");
        assert!(
            matches!(err, ReadError::TooManyEntries { entries: 6, .. }),
            "{err:?}"
        );
    }

    /// A bomb whose headers declare a small size: the bytes really inflated are what counts.
    #[test]
    fn zip_bomb_with_lying_sizes_is_not_read_past_the_cap() {
        let mut record = br#"{"id": "LIE-1", "details": ""#.to_vec();
        record.resize(2 << 20, b'x');
        record.extend_from_slice(br#""}"#);
        let mut bytes = zip_of(&[("LIE-1.json", &record)]);
        // Uncompressed size: offset 22 of the local header, 24 of the central header.
        let declared = 100u32.to_le_bytes();
        bytes[22..26].copy_from_slice(&declared);
        let central = bytes
            .windows(4)
            .position(|w| w == b"PK\x01\x02")
            .expect("central directory");
        bytes[central + 24..central + 28].copy_from_slice(&declared);
        let limits = ReadLimits {
            max_entry_bytes: 1 << 20,
            ..ReadLimits::default()
        };
        // The zip crate stops at the declared size and reports the rest; the `take` in
        // `read_osv_zip` is the second guard, for a reader that would not.
        let out = read_osv_zip(std::io::Cursor::new(&bytes), "lie.zip", &limits).expect("read");
        assert_eq!(out.records, vec![]);
        assert_eq!(
            out.skipped,
            vec![Skipped {
                location: "lie.zip!LIE-1.json".into(),
                reason: "cannot inflate entry: File is larger than its declared uncompressed size"
                    .into(),
            }]
        );
        // The same record, honestly declared and under the cap, reads.
        let honest = zip_of(&[("LIE-1.json", &record)]);
        let limits = ReadLimits {
            max_entry_bytes: 4 << 20,
            ..ReadLimits::default()
        };
        let out = read_osv_zip(std::io::Cursor::new(&honest), "ok.zip", &limits).expect("read");
        assert_eq!(out.records.len(), 1);
    }

    #[test]
    fn sniffs_native_feeds() {
        let secdb = br#"{"distroversion": "v3.10", "reponame": "main", "packages": []}"#;
        assert_eq!(
            sniff("main.json", secdb).expect("sniff"),
            Format::AlpineSecdb
        );
        let tracker = include_bytes!("testdata/debian-tracker-sample.json");
        assert_eq!(
            sniff("json", tracker).expect("sniff"),
            Format::DebianTracker
        );
        assert_eq!(
            sniff("x", b"PK\x03\x04rest").expect("sniff"),
            Format::OsvZip
        );
        assert_eq!(sniff("x.ndjson", b"").expect("sniff"), Format::OsvJsonLines);
    }

    /// Every OSV sample of the shared corpus, one record per file; records without `affected`
    /// (an RHSA and a SUSE record of the OSV linter's test data, a DLA) are kept.
    #[test]
    fn osv_samples_of_every_distribution() {
        let cases: &[(&str, &str, usize)] = &[
            ("osv/linter-testdata/CVE-2018-5407.json", "CVE-2018-5407", 7),
            (
                "osv/linter-testdata/CVE-2023-41045.json",
                "CVE-2023-41045",
                1,
            ),
            (
                "osv/linter-testdata/GHSA-9v2f-6vcg-3hgv.json",
                "GHSA-9v2f-6vcg-3hgv",
                1,
            ),
            ("osv/linter-testdata/GO-2024-2963.json", "GO-2024-2963", 1),
            (
                "osv/linter-testdata/MAL-2024-10238.json",
                "MAL-2024-10238",
                1,
            ),
            ("osv/linter-testdata/PYSEC-2023-74.json", "PYSEC-2023-74", 1),
            (
                "osv/linter-testdata/RHSA-2022_0216.json",
                "RHSA-2022:0216",
                0,
            ),
            (
                "osv/linter-testdata/SUSE-FU-2022_0444-1.json",
                "SUSE-FU-2022:0444-1",
                0,
            ),
            ("debian/osv-DLA-3623-1.json", "DLA-3623-1", 0),
            ("debian/osv-DSA-3029-1.json", "DSA-3029-1", 1),
            (
                "ubuntu/osv-UBUNTU-CVE-2021-3782.json",
                "UBUNTU-CVE-2021-3782",
                4,
            ),
            (
                "ubuntu/osv-UBUNTU-CVE-2022-24823-esm.json",
                "UBUNTU-CVE-2022-24823",
                8,
            ),
            ("ubuntu/osv-USN-5614-1.json", "USN-5614-1", 3),
            ("rocky/osv-RLSA-2024_3671.json", "RLSA-2024:3671", 3),
            (
                "chainguard/osv-CGA-224q-ccj5-2p53.json",
                "CGA-224q-ccj5-2p53",
                4,
            ),
            (
                "redhat/osv-RHSA-2024_4546.converted.json",
                "RHSA-2024:4546",
                9,
            ),
        ];
        for &(file, id, affected) in cases {
            let Some(bytes) = test_data::read(&format!("formats/{file}")) else {
                continue;
            };
            let (format, out) = read_document(file, &bytes, &ReadLimits::default()).expect(file);
            assert_eq!(format, Format::OsvJson, "{file}");
            assert_eq!(out.skipped, vec![], "{file}");
            assert_eq!(out.records.len(), 1, "{file}");
            assert_eq!(out.records[0].id, id);
            assert_eq!(out.records[0].affected.len(), affected, "{file}");
        }
        // Chainguard's index: ids and times, not records.
        let file = "formats/chainguard/osv-all-index.sample.json";
        if let Some(bytes) = test_data::read(file) {
            let (_, out) = read_document(file, &bytes, &ReadLimits::default()).expect("index");
            assert_eq!(out.records, vec![]);
            assert_eq!(out.skipped.len(), 3);
        }
    }

    /// Whole shared files: the counts measured in `shared/vulndata/README.md`.
    #[test]
    fn whole_osv_files_match_the_readme_counts() {
        let cases: &[(&str, usize, usize)] = &[
            ("osv/pypi-pysec.jsonl", 2661, 10),
            ("osv/go-vulndb.jsonl", 4291, 17),
            ("osv/rustsec.jsonl", 1206, 13),
            ("osv/almalinux.jsonl", 5680, 0),
            ("osv/debian12-from-changelogs.jsonl", 2210, 0),
            ("osv/ghsa-npm-sample.jsonl", 8, 0),
        ];
        for &(file, records, withdrawn) in cases {
            let Some(bytes) = test_data::read(file) else {
                continue;
            };
            let (format, out) =
                read_document(file, &bytes, &ReadLimits::default()).expect("read whole file");
            assert_eq!(format, Format::OsvJsonLines);
            assert_eq!(out.skipped, vec![], "{file}");
            assert_eq!(out.records.len(), records, "{file}");
            assert_eq!(out.withdrawn_count(), withdrawn, "{file}");
        }
    }

    /// A whole real feed through a zip, the way an OSV export arrives.
    #[test]
    fn whole_rustsec_file_through_a_zip() {
        let Some(bytes) = test_data::read("osv/rustsec.jsonl") else {
            return;
        };
        let records = read_osv_jsonl(&bytes, "rustsec.jsonl").records;
        let files: Vec<(String, Vec<u8>)> = records
            .iter()
            .map(|r| {
                (
                    format!("{}.json", r.id),
                    serde_json::to_vec(r).expect("json"),
                )
            })
            .collect();
        let entries: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let out = read_osv_zip(
            std::io::Cursor::new(zip_of(&entries)),
            "crates.io/all.zip",
            &ReadLimits::default(),
        )
        .expect("zip");
        assert_eq!(out.records.len(), 1206);
        assert_eq!(out.withdrawn_count(), 13);
        assert_eq!(out.records, records);
    }
}
