//! The feed push: how the feed-sync CronJob hands one synced source to the operator
//! (`PUT /ingest/v1/feeds/{source}`, `operator/docs/ingest-protocol.md`). Sans-IO: bytes in,
//! a checked [`Push`] out, and the encoder the CronJob uses.
//!
//! The body is JSON lines, zstd-compressed: a [`Header`] line, then one OSV record per line.
//! The header says what the push is ([`Mode`]): the whole source (`full`), the records changed
//! since a cursor (`incremental`, withdrawn records included so the operator deletes them),
//! "checked, nothing changed" (`unchanged`, no records), or "the sync failed" (`failed`, no
//! records, an error).
//!
//! Traps:
//! - Every line is read and checked before the caller writes anything: a push is applied whole
//!   or not at all, and a bad line is reported with its number (1 is the header).
//! - A truncated body must not pass as a shorter feed: the header declares the record count,
//!   every line ends with `\n`, and a full push declares the content digest of its records
//!   ([`content_digest`]), recomputed here.
//! - Caps apply to the compressed body (by the caller) and to the decompressed bytes (here,
//!   while reading: a small zstd body can expand to gigabytes).

use std::io::{BufRead, BufReader, Read, Write};

use serde::{Deserialize, Serialize};

use crate::feeds::osv::Record;
use crate::feeds::sync::content_digest;

/// The header's `version` this code reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// `Content-Type` of a push.
pub const CONTENT_TYPE: &str = "application/x-ndjson";
/// Longest record id accepted (OSV ids are a few dozen characters).
const MAX_ID_LEN: usize = 256;
/// zstd level of pushes: fast; OSV JSON shrinks ~10x anyway.
const ZSTD_LEVEL: i32 = 3;

/// What a push carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every live record of the source: the operator replaces the source's records.
    Full,
    /// Records changed since `since` (withdrawn ones included): the operator upserts them.
    Incremental,
    /// No records: the source was synced and its digest is the one the operator holds.
    Unchanged,
    /// No records: the sync failed (`error`); the operator records it and keeps the data.
    Failed,
}

/// The source as `plimsoll feeds` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The key of the source (`osv:PyPI`, a path, a redacted URL).
    pub name: String,
    /// `path`, `dir`, `url` or `osv-exports`.
    pub kind: String,
    /// Where the data came from, redacted.
    pub url: String,
}

/// The first line of a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Header {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    pub source: SourceInfo,
    pub mode: Mode,
    /// `sha256:` content digest of the source's live records ([`content_digest`]): required
    /// for `full` (checked against the records) and `unchanged` (checked against the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The newest `modified` time of the source's records after this push (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// `incremental`: the cursor the changes were listed from (RFC 3339). The operator refuses
    /// an increment that starts after the records it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Record lines that follow.
    pub records: u64,
    /// `failed`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET` answers the sources the operator holds; `PUT {FEEDS_PATH}/{source}` takes a push.
pub const FEEDS_PATH: &str = "/ingest/v1/feeds";

/// One source as the operator holds it (`GET /ingest/v1/feeds`): enough for the CronJob to
/// skip an unchanged source and to sync an `osv:` source incrementally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceState {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub records: u64,
    pub digest: Option<String>,
    /// Where an incremental sync starts (RFC 3339).
    pub cursor: Option<String>,
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcesResponse {
    pub sources: Vec<SourceState>,
}

/// What a push did (`PUT` answer): the store's write counts and the source afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse {
    pub source: String,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub withdrawn: usize,
    /// Packages whose advisories changed.
    pub touched_packages: usize,
    /// Records the operator holds for the source now.
    pub records: u64,
    pub digest: Option<String>,
    pub cursor: Option<String>,
}

/// A decoded, checked push.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    pub header: Header,
    pub records: Vec<Record>,
}

/// Why a push is refused. Every variant is the client's fault (HTTP 400) except
/// [`PushError::TooLarge`] (413).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("the push decompresses to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the body does not decompress: {0}")]
    Decompress(String),
    #[error("Content-Encoding `{0}` is not zstd or identity")]
    Encoding(String),
    #[error("the push is empty: no header line")]
    Empty,
    #[error("line {line}: {problem}")]
    Line { line: u64, problem: String },
    #[error("the header declares {declared} records, the push holds {found}")]
    Count { declared: u64, found: u64 },
    #[error("the records' content digest is {computed}, the header declares {declared}")]
    Digest { declared: String, computed: String },
}

impl PushError {
    fn line(line: u64, problem: impl Into<String>) -> Self {
        Self::Line {
            line,
            problem: problem.into(),
        }
    }
}

/// The header alone, if the first line is one: what a refused push says about itself, so the
/// refusal is recorded against its source.
pub fn peek_header(encoding: &str, body: &[u8]) -> Option<Header> {
    let mut first = Vec::new();
    let read = |r: &mut dyn Read, first: &mut Vec<u8>| {
        BufReader::new(r.take(1 << 20))
            .read_until(b'\n', first)
            .ok()
    };
    match encoding.trim().to_ascii_lowercase().as_str() {
        "zstd" => {
            let mut decoder = zstd::stream::read::Decoder::new(body).ok()?;
            read(&mut decoder, &mut first)?;
        }
        "" | "identity" => {
            read(&mut &body[..], &mut first)?;
        }
        _ => return None,
    }
    parse_header(first.strip_suffix(b"\n")?).ok()
}

/// Decodes a push body per its `Content-Encoding` (`zstd`, or `identity`/none), reading at most
/// `max_decompressed` bytes, and checks every line.
pub fn decode(encoding: &str, body: &[u8], max_decompressed: u64) -> Result<Push, PushError> {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "zstd" => {
            let decoder = zstd::stream::read::Decoder::new(body)
                .map_err(|e| PushError::Decompress(e.to_string()))?;
            decode_lines(decoder, max_decompressed)
        }
        "" | "identity" => decode_lines(body, max_decompressed),
        other => Err(PushError::Encoding(other.to_owned())),
    }
}

/// Reads the header and the records from decompressed JSON lines.
fn decode_lines(reader: impl Read, max: u64) -> Result<Push, PushError> {
    let mut reader = BufReader::new(reader.take(max.saturating_add(1)));
    let mut total: u64 = 0;
    let mut buf: Vec<u8> = Vec::new();
    let mut number: u64 = 0;
    let mut header: Option<Header> = None;
    let mut records: Vec<Record> = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| PushError::Decompress(e.to_string()))?;
        if n == 0 {
            break;
        }
        total = total.saturating_add(n as u64);
        if total > max {
            return Err(PushError::TooLarge { limit: max });
        }
        number += 1;
        let Some(line) = buf.strip_suffix(b"\n") else {
            return Err(PushError::line(
                number,
                "cut short: the last line has no newline (a truncated push?)",
            ));
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match &header {
            None => {
                let h = parse_header(line).map_err(|p| PushError::line(number, p))?;
                header = Some(h);
            }
            Some(h) => {
                if records.len() as u64 >= h.records {
                    return Err(PushError::line(
                        number,
                        format!("more record lines than the {} declared", h.records),
                    ));
                }
                let record = parse_record(line).map_err(|p| PushError::line(number, p))?;
                records.push(record);
            }
        }
    }
    let header = header.ok_or(PushError::Empty)?;
    let found = records.len() as u64;
    if found != header.records {
        return Err(PushError::Count {
            declared: header.records,
            found,
        });
    }
    if header.mode == Mode::Full {
        let declared = header.digest.clone().unwrap_or_default();
        let computed = content_digest(&records);
        if declared != computed {
            return Err(PushError::Digest { declared, computed });
        }
    }
    Ok(Push { header, records })
}

/// The header line, checked: the version first (a newer client's header may not parse at all),
/// then its fields and what each mode requires.
fn parse_header(line: &[u8]) -> Result<Header, String> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("the header is not JSON: {e}"))?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "push format version {v} is not supported (this operator reads version \
                 {FORMAT_VERSION})"
            ));
        }
        None => return Err("the header has no numeric `version`".to_owned()),
    }
    let h: Header = serde_json::from_value(value).map_err(|e| format!("not a push header: {e}"))?;
    let blank = |s: &str| s.trim().is_empty() || s.chars().any(char::is_control);
    if blank(&h.source.name) || blank(&h.source.kind) {
        return Err("the source's name and kind must be set, without control characters".into());
    }
    let digest_ok = |d: &Option<String>| {
        d.as_deref()
            .and_then(|d| d.strip_prefix("sha256:"))
            .is_some_and(|hex| {
                hex.len() == 64
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            })
    };
    let time_ok = |t: &Option<String>| {
        t.as_deref()
            .is_none_or(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
    };
    if !time_ok(&h.cursor) || !time_ok(&h.since) {
        return Err("`cursor` and `since` must be RFC 3339 times".to_owned());
    }
    match h.mode {
        Mode::Full | Mode::Unchanged if !digest_ok(&h.digest) => {
            return Err(format!(
                "a `{}` push needs `digest`: sha256: and 64 lowercase hex digits",
                mode_name(h.mode)
            ));
        }
        Mode::Incremental if h.since.is_none() => {
            return Err("an `incremental` push needs `since`".to_owned());
        }
        Mode::Unchanged | Mode::Failed if h.records != 0 => {
            return Err(format!("a `{}` push carries no records", mode_name(h.mode)));
        }
        Mode::Failed if h.error.as_deref().is_none_or(|e| e.trim().is_empty()) => {
            return Err("a `failed` push needs `error`".to_owned());
        }
        _ => {}
    }
    Ok(h)
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Full => "full",
        Mode::Incremental => "incremental",
        Mode::Unchanged => "unchanged",
        Mode::Failed => "failed",
    }
}

/// One record line: an OSV record with a usable id.
fn parse_record(line: &[u8]) -> Result<Record, String> {
    let record = Record::from_json(line).map_err(|e| e.to_string())?;
    if record.id.len() > MAX_ID_LEN
        || record
            .id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "record id {:?} is not an OSV id (no spaces, at most {MAX_ID_LEN} bytes)",
            crate::crd::schema::truncate(&record.id, 80)
        ));
    }
    Ok(record)
}

/// Writes a push: the header, then the record lines (JSON without newlines: what
/// `serde_json::to_string` gives and the store keeps), zstd-compressed in memory.
pub struct Encoder {
    out: zstd::stream::write::Encoder<'static, Vec<u8>>,
    declared: u64,
    written: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("compressing the push: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding the push header: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a record line holds a newline")]
    Newline,
    #[error("the header declares {declared} records, {written} were written")]
    Count { declared: u64, written: u64 },
}

impl Encoder {
    pub fn new(header: &Header) -> Result<Self, EncodeError> {
        let mut out = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
        serde_json::to_writer(&mut out, header)?;
        out.write_all(b"\n")?;
        Ok(Self {
            out,
            declared: header.records,
            written: 0,
        })
    }

    /// Appends one record, as its JSON text.
    pub fn record_json(&mut self, json: &str) -> Result<(), EncodeError> {
        if json.contains('\n') {
            return Err(EncodeError::Newline);
        }
        self.out.write_all(json.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// Appends one record.
    pub fn record(&mut self, record: &Record) -> Result<(), EncodeError> {
        let json = serde_json::to_string(record)?;
        self.record_json(&json)
    }

    /// The compressed body; fails unless exactly the declared number of records was written.
    pub fn finish(self) -> Result<Vec<u8>, EncodeError> {
        if self.written != self.declared {
            return Err(EncodeError::Count {
                declared: self.declared,
                written: self.written,
            });
        }
        Ok(self.out.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYPI: &str = include_str!("../../tests/data/osv/pypi-pysec-slice.jsonl");

    fn records() -> Vec<Record> {
        PYPI.lines()
            .map(|l| Record::from_json(l.as_bytes()).expect("real record"))
            .collect()
    }

    fn header(mode: Mode, records: &[Record]) -> Header {
        Header {
            version: FORMAT_VERSION,
            source: SourceInfo {
                name: "osv:PyPI".into(),
                kind: "osv-exports".into(),
                url: "https://osv.example/PyPI/all.zip".into(),
            },
            mode,
            digest: matches!(mode, Mode::Full | Mode::Unchanged).then(|| content_digest(records)),
            cursor: Some("2024-10-10T12:00:00Z".into()),
            since: (mode == Mode::Incremental).then(|| "2024-01-01T00:00:00Z".into()),
            records: records.len() as u64,
            error: (mode == Mode::Failed).then(|| "HTTP status 404".into()),
        }
    }

    /// Plain JSON lines: the header, then each record.
    fn lines(header: &Header, records: &[Record]) -> String {
        let mut out = serde_json::to_string(header).expect("header");
        out.push('\n');
        for r in records {
            out.push_str(&serde_json::to_string(r).expect("record"));
            out.push('\n');
        }
        out
    }

    fn zstd(text: &str) -> Vec<u8> {
        zstd::encode_all(text.as_bytes(), 3).expect("zstd")
    }

    #[test]
    fn encoded_pushes_decode_to_the_same_records() {
        let records = records();
        for mode in [Mode::Full, Mode::Incremental] {
            let h = header(mode, &records);
            let mut enc = Encoder::new(&h).expect("encoder");
            for r in &records {
                enc.record(r).expect("record");
            }
            let body = enc.finish().expect("finish");
            let push = decode("zstd", &body, 1 << 20).expect("decodes");
            assert_eq!(push.header, h);
            assert_eq!(push.records, records);
        }
        let h = header(Mode::Full, &records);
        let mut enc = Encoder::new(&h).expect("encoder");
        enc.record(&records[0]).expect("record");
        let cut = enc.out.finish().expect("zstd");
        assert_eq!(
            peek_header("zstd", &cut),
            Some(h),
            "the header of a refused push"
        );
        assert_eq!(peek_header("zstd", b"garbage"), None);
        let h = header(Mode::Unchanged, &[]);
        let push = decode(
            "zstd",
            &Encoder::new(&h).expect("enc").finish().expect("finish"),
            4096,
        )
        .expect("decodes");
        assert!(push.records.is_empty());
        let mut short = Encoder::new(&header(Mode::Full, &records)).expect("encoder");
        short.record(&records[0]).expect("record");
        assert!(matches!(
            short.finish(),
            Err(EncodeError::Count {
                declared: 6,
                written: 1
            })
        ));
    }

    #[test]
    fn bad_pushes_are_refused_with_the_line_and_the_problem() {
        let records = records();
        let good = lines(&header(Mode::Full, &records), &records);
        assert!(decode("identity", good.as_bytes(), 1 << 20).is_ok());
        let zst = zstd(&good);
        let mut lines_vec: Vec<String> = good.lines().map(str::to_owned).collect();
        let with_line = |n: usize, text: &str| {
            let mut l = lines_vec.clone();
            l[n - 1] = text.to_owned();
            l.join("\n") + "\n"
        };
        let mut v2 = header(Mode::Full, &records);
        v2.version = 2;
        let mut wrong_digest = header(Mode::Full, &records);
        wrong_digest.digest = Some(format!("sha256:{}", "0".repeat(64)));
        let mut no_digest = header(Mode::Full, &records);
        no_digest.digest = None;
        let mut unchanged_with_records = header(Mode::Unchanged, &records);
        unchanged_with_records.records = 1;
        let mut failed_without_error = header(Mode::Failed, &[]);
        failed_without_error.error = None;
        let cases: Vec<(&str, &str, Vec<u8>, u64, PushError)> = vec![
            (
                "truncated zstd",
                "zstd",
                zst[..zst.len() / 2].to_vec(),
                1 << 20,
                PushError::Decompress(String::new()),
            ),
            (
                "not zstd at all",
                "zstd",
                good.as_bytes().to_vec(),
                1 << 20,
                PushError::Decompress(String::new()),
            ),
            (
                "bad JSON on line 4",
                "identity",
                with_line(4, r#"{"id": "PYSEC-1", "affected": [}"#).into_bytes(),
                1 << 20,
                PushError::line(4, ""),
            ),
            (
                "a record without an id on line 3",
                "identity",
                with_line(3, r#"{"summary": "no id"}"#).into_bytes(),
                1 << 20,
                PushError::line(3, "missing field `id`"),
            ),
            (
                "a record id with a space",
                "identity",
                with_line(2, r#"{"id": "PYSEC 1", "summary": "x"}"#).into_bytes(),
                1 << 20,
                PushError::line(2, "is not an OSV id"),
            ),
            (
                "over the cap",
                "zstd",
                zst.clone(),
                100,
                PushError::TooLarge { limit: 100 },
            ),
            (
                "a newer format version",
                "identity",
                lines(&v2, &records).into_bytes(),
                1 << 20,
                PushError::line(1, "push format version 2 is not supported"),
            ),
            (
                "a header that is not JSON",
                "identity",
                with_line(1, "PUT me").into_bytes(),
                1 << 20,
                PushError::line(1, "the header is not JSON"),
            ),
            (
                "a full push without a digest",
                "identity",
                lines(&no_digest, &records).into_bytes(),
                1 << 20,
                PushError::line(1, "needs `digest`"),
            ),
            (
                "records that are not the declared content",
                "identity",
                lines(&wrong_digest, &records).into_bytes(),
                1 << 20,
                PushError::Digest {
                    declared: String::new(),
                    computed: String::new(),
                },
            ),
            (
                "a body cut at a line boundary",
                "identity",
                (lines_vec[..5].join("\n") + "\n").into_bytes(),
                1 << 20,
                PushError::Count {
                    declared: 6,
                    found: 4,
                },
            ),
            (
                "a body cut inside a line",
                "identity",
                good.as_bytes()[..good.len() - 10].to_vec(),
                1 << 20,
                PushError::line(7, "cut short"),
            ),
            (
                "an unchanged push with records",
                "identity",
                lines(&unchanged_with_records, &records[..1]).into_bytes(),
                1 << 20,
                PushError::line(1, "carries no records"),
            ),
            (
                "a failed push without an error",
                "identity",
                lines(&failed_without_error, &[]).into_bytes(),
                1 << 20,
                PushError::line(1, "needs `error`"),
            ),
            ("empty", "identity", Vec::new(), 1 << 20, PushError::Empty),
            (
                "brotli",
                "br",
                zst.clone(),
                1 << 20,
                PushError::Encoding("br".into()),
            ),
        ];
        for (what, encoding, body, cap, want) in cases {
            let got = decode(encoding, &body, cap).expect_err(what);
            let same = match (&got, &want) {
                (
                    PushError::Line { line, problem },
                    PushError::Line {
                        line: l,
                        problem: p,
                    },
                ) => line == l && problem.contains(p.as_str()),
                (PushError::Decompress(_), PushError::Decompress(_))
                | (PushError::Digest { .. }, PushError::Digest { .. }) => true,
                (a, b) => a == b,
            };
            assert!(same, "{what}: got {got:?}, want {want:?}");
        }
        // One more line than declared.
        lines_vec.push(lines_vec[1].clone());
        let extra = lines_vec.join("\n") + "\n";
        assert_eq!(
            decode("identity", extra.as_bytes(), 1 << 20),
            Err(PushError::line(8, "more record lines than the 6 declared"))
        );
    }

    #[test]
    fn withdrawn_records_travel_in_incremental_pushes() {
        let withdrawn = Record::from_json(
            include_str!("../store/testdata/rustsec-2020-0053-withdrawn.json").as_bytes(),
        )
        .expect("real withdrawn record");
        let h = header(Mode::Incremental, std::slice::from_ref(&withdrawn));
        let push = decode(
            "identity",
            lines(&h, std::slice::from_ref(&withdrawn)).as_bytes(),
            1 << 20,
        )
        .expect("decodes");
        assert!(push.records[0].withdrawn.is_some());
        // In a full push the digest counts live records only, as `feeds sync` computes it.
        let mut all = records();
        all.push(withdrawn);
        let h = header(Mode::Full, &all);
        assert_eq!(
            h.digest.as_deref(),
            Some(content_digest(&records()).as_str())
        );
        assert!(decode("identity", lines(&h, &all).as_bytes(), 1 << 20).is_ok());
    }
}
