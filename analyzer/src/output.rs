//! Renderings of an [`Analysis`]: CycloneDX 1.6 JSON, SPDX 2.3 JSON and a terminal table.
//!
//! Each renderer is a pure function `render(analysis, ctx) -> bytes`. Everything that would make
//! the output differ between two runs over the same analysis (the tool version, the creation
//! time, the seed of the serial number and document namespace) comes in through [`RenderCtx`],
//! so tests pin it and snapshots stay stable.
//!
//! - `cyclonedx`: CycloneDX 1.6 JSON (own serde structs, see the module for why).
//! - `spdx`: SPDX 2.3 JSON (own serde structs).
//! - `table`: packages as aligned columns, a summary line, and where secrets were found.
//! - `license`: which license strings are valid SPDX expressions.
//!
//! Traps shared by the SBOM formats:
//! - Both want identifiers unique inside the document, but two packages can share name,
//!   version and purl (the same jar copied twice): identifiers include a hash of the package's
//!   locations ([`package_key`]), and a counter breaks any remaining tie.
//! - A serial number / document namespace must be unique per document yet our snapshots must
//!   be stable: both derive from `ctx.seed` and the manifest digest, never from a random source.
//! - Nothing secret ever reaches an SBOM or the table: secrets are reported by pattern name and
//!   location only (the [`Analysis`] never holds the matched text in the first place).

pub mod cyclonedx;
mod license;
pub mod spdx;
pub mod table;

use crate::model::{Analysis, Package};
use sha1::Digest as _;
use std::fmt;

/// What a renderer needs beyond the analysis. Built once at the edge (the CLI reads the clock);
/// tests use fixed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderCtx {
    /// Version of the program that renders (written as the SBOM's tool).
    pub tool_version: String,
    /// When the document was created.
    pub created: Timestamp,
    /// Mixed with the manifest digest into the CycloneDX serial number and the SPDX document
    /// namespace. The same seed and image give the same identifiers; give every document its
    /// own seed in production (the CLI uses the time and its process id).
    pub seed: String,
}

/// A point in time at whole-second precision, UTC. SPDX requires `YYYY-MM-DDThh:mm:ssZ`
/// exactly (no fractional seconds, no offset), which CycloneDX's `date-time` also accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The last second of year 9999: later times would need a five-digit year.
    const MAX: u64 = 253_402_300_799;

    /// Seconds since 1970-01-01T00:00:00Z, clamped to year 9999.
    pub fn from_unix_seconds(seconds: u64) -> Self {
        Self(seconds.min(Self::MAX))
    }

    pub fn unix_seconds(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0 / 86_400;
        let secs = self.0 % 86_400;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), by counting 400-year
/// eras of 146,097 days that start on March 1st (so the leap day ends a year).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("serializing the {format} document")]
    Serialize {
        format: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Pretty JSON with a final newline, as files and terminals expect.
fn to_json<T: serde::Serialize>(value: &T, format: &'static str) -> Result<Vec<u8>, Error> {
    let mut out =
        serde_json::to_vec_pretty(value).map_err(|source| Error::Serialize { format, source })?;
    out.push(b'\n');
    Ok(out)
}

/// A name-based (version 5, SHA-1) UUID of `seed` and `name` in the URL namespace: stable for
/// the same inputs, and of a version CycloneDX's `serialNumber` pattern accepts (`[1-5]`).
fn uuid_v5(seed: &str, name: &str) -> String {
    // RFC 9562's namespace ID for URLs, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
    const NAMESPACE_URL: [u8; 16] = [
        0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    let mut hasher = sha1::Sha1::new();
    hasher.update(NAMESPACE_URL);
    hasher.update(b"plimsoll:");
    // Length-prefix the seed so ("a", "bc") and ("ab", "c") differ.
    hasher.update(seed.len().to_string().as_bytes());
    hasher.update(b":");
    hasher.update(seed.as_bytes());
    hasher.update(name.as_bytes());
    let hash = hasher.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x50; // version 5
    b[8] = (b[8] & 0x3f) | 0x80; // RFC variant
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A short hash that tells apart packages of the same purl: the kind, name, version, purl and
/// every location, each length-prefixed so no two field lists hash alike.
pub(crate) fn package_key(pkg: &Package) -> String {
    let mut hasher = sha2::Sha256::new();
    let fields = [pkg.kind.as_str(), &pkg.name, &pkg.version, &pkg.purl]
        .into_iter()
        .chain(pkg.locations.iter().map(String::as_str));
    for field in fields {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(&hasher.finalize()[..8])
}

/// Packages in a stable order that does not depend on the order catalogers ran in.
fn sorted_packages(analysis: &Analysis) -> Vec<&Package> {
    let mut packages: Vec<&Package> = analysis.packages.iter().collect();
    packages.sort_by(|a, b| {
        (&a.name, &a.version, a.kind, &a.purl, &a.locations).cmp(&(
            &b.name,
            &b.version,
            b.kind,
            &b.purl,
            &b.locations,
        ))
    });
    packages
}

/// Makes identifiers unique: the first use of a candidate keeps it, later ones get `-2`, `-3`...
#[derive(Debug, Default)]
struct UniqueIds(std::collections::HashSet<String>);

impl UniqueIds {
    fn claim(&mut self, candidate: String) -> String {
        if self.0.insert(candidate.clone()) {
            return candidate;
        }
        let mut n = 2u64;
        loop {
            let next = format!("{candidate}-{n}");
            if self.0.insert(next.clone()) {
                return next;
            }
            n += 1;
        }
    }
}

/// The name an image goes by in an SBOM: its repository, or the reference as given.
fn image_name(analysis: &Analysis) -> &str {
    analysis
        .image
        .repository
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(&analysis.image.reference)
}

/// The image's package URL (`pkg:oci/NAME@DIGEST?arch=...&repository_url=...&tag=...`), for
/// registry images whose manifest digest is known. The name is the last path segment of the
/// repository, lowercased, as the purl spec's `oci` type says. Images read from local files
/// (the `oci-dir:`, `oci-archive:` and `docker-archive:` forms of
/// [`crate::source::ImageSource`]) have no repository to name, so no purl.
fn image_purl(analysis: &Analysis) -> Option<String> {
    let image = &analysis.image;
    let local = ["oci-dir:", "oci-archive:", "docker-archive:"]
        .iter()
        .any(|p| image.reference.starts_with(p));
    if image.manifest_digest.is_empty() || local {
        return None;
    }
    let repository = image.repository.as_deref().filter(|r| !r.is_empty());
    let name = repository
        .unwrap_or(&image.reference)
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name.is_empty() || name.contains(':') || name.contains('@') {
        return None;
    }
    let mut out = format!(
        "pkg:oci/{}@{}",
        purl_encode(&name),
        purl_encode(&image.manifest_digest)
    );
    let mut qualifiers: Vec<(&str, &str)> = Vec::new();
    if !image.architecture.is_empty() {
        qualifiers.push(("arch", &image.architecture));
    }
    if let Some(repo) = repository {
        qualifiers.push(("repository_url", repo));
    }
    if let Some(tag) = image.tag.as_deref().filter(|t| !t.is_empty()) {
        qualifiers.push(("tag", tag));
    }
    for (i, (k, v)) in qualifiers.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&purl_encode(v));
    }
    Some(out)
}

/// Percent-encodes everything but the purl spec's unreserved characters (and `/` kept literal
/// in a qualifier value such as a repository URL).
fn purl_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_as_spdx_wants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (1_709_251_199, "2024-02-29T23:59:59Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (u64::MAX, "9999-12-31T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                Timestamp::from_unix_seconds(secs).to_string(),
                want,
                "{secs}"
            );
        }
    }

    #[test]
    fn uuids_are_stable_version_5_and_seed_dependent() {
        let a = uuid_v5("seed", "sha256:abc");
        assert_eq!(a, uuid_v5("seed", "sha256:abc"));
        assert_ne!(a, uuid_v5("seed2", "sha256:abc"));
        assert_ne!(uuid_v5("a", "bc"), uuid_v5("ab", "c"));
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('5'), "{a}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn unique_ids_number_repeats() {
        let mut ids = UniqueIds::default();
        assert_eq!(ids.claim("x".into()), "x");
        assert_eq!(ids.claim("x".into()), "x-2");
        assert_eq!(ids.claim("x-2".into()), "x-2-2");
        assert_eq!(ids.claim("x".into()), "x-3");
    }

    #[test]
    fn package_keys_differ_by_location() {
        let a = fixture::analysis();
        let mut p = a.packages[0].clone();
        let k1 = package_key(&p);
        p.locations.push("/other".into());
        assert_ne!(k1, package_key(&p));
        assert_eq!(k1.len(), 16);
    }

    #[test]
    fn image_purl_follows_the_oci_type() {
        let a = fixture::analysis();
        assert_eq!(
            image_purl(&a).as_deref(),
            Some(
                "pkg:oci/app@sha256%3A1111111111111111111111111111111111111111111111111111111111111111?arch=amd64&repository_url=registry.example.com/team/app&tag=1.2"
            )
        );
        let mut local = a.clone();
        local.image.reference = "oci-dir:/tmp/img".into();
        local.image.repository = Some("/tmp/img".into());
        assert_eq!(image_purl(&local), None);
    }
}
