//! Walks one Java archive held in memory, and the archives nested in it, collecting the
//! metadata files that name packages. No IO: nested archives are inflated into memory within
//! [`Limits`].

use super::parse_manifest::{Manifest, parse_manifest};
use super::parse_pom_properties::{PomProperties, parse_pom_properties};
use std::io::{Cursor, Read};

/// Bounds on the work one top-level archive may cause.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nesting depth: 0 reads only the top archive.
    pub max_depth: usize,
    /// Bytes inflated from a top archive and everything nested in it, all entries together.
    pub max_inflated: u64,
    /// Largest nested archive read into memory.
    pub max_nested_archive: u64,
    /// Largest manifest or `pom.properties` read.
    pub max_text_file: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 4,
            max_inflated: 1 << 30,
            max_nested_archive: 256 << 20,
            max_text_file: 1 << 20,
        }
    }
}

/// What one archive (top-level or nested) says about itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArchiveRecord {
    /// `/app/app.war` or `/app/app.war:WEB-INF/lib/x.jar`.
    pub(crate) virtual_path: String,
    /// The last path component of the archive (`x.jar`).
    pub(crate) file_name: String,
    pub(crate) poms: Vec<PomProperties>,
    pub(crate) manifest: Option<Manifest>,
}

/// File name suffixes of the archives this module opens, lower case.
pub(crate) const ARCHIVE_SUFFIXES: &[&str] = &[".jar", ".war", ".ear", ".jpi", ".hpi"];

pub(crate) fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ARCHIVE_SUFFIXES.iter().any(|s| lower.ends_with(s)) && !lower.ends_with('/')
}

/// The records of `bytes` (found at `path`) and of every archive nested in it, outermost
/// first, plus warnings about what could not be read.
pub(crate) fn walk_archive(
    path: &str,
    bytes: &[u8],
    limits: &Limits,
) -> (Vec<ArchiveRecord>, Vec<String>) {
    let mut walk = Walk {
        limits,
        remaining: limits.max_inflated,
        budget_warned: false,
        records: Vec::new(),
        warnings: Vec::new(),
    };
    walk.archive(path, file_name_of(path), bytes, 0);
    (walk.records, walk.warnings)
}

struct Walk<'l> {
    limits: &'l Limits,
    remaining: u64,
    budget_warned: bool,
    records: Vec<ArchiveRecord>,
    warnings: Vec<String>,
}

enum ReadError {
    /// The entry is bigger than the per-entry cap.
    TooLarge,
    /// The archive-wide inflation budget ran out.
    Budget,
    Zip(String),
}

impl Walk<'_> {
    fn archive(&mut self, virtual_path: &str, file_name: &str, bytes: &[u8], depth: usize) {
        let mut zip = match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => {
                self.warnings
                    .push(format!("{virtual_path}: not a readable zip archive: {e}"));
                return;
            }
        };
        let mut poms = Vec::new();
        let mut manifest_idx = None;
        let mut nested = Vec::new();
        for i in 0..zip.len() {
            let name = match zip.name_for_index(i) {
                Some(Ok(n)) => n.into_owned(),
                Some(Err(e)) => {
                    self.warnings
                        .push(format!("{virtual_path}: entry {i}: {e}"));
                    continue;
                }
                None => continue,
            };
            if name.ends_with('/') {
                continue;
            }
            if is_pom_properties(&name) {
                poms.push((i, name));
            } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
                manifest_idx.get_or_insert(i);
            } else if is_archive_name(&name) {
                nested.push((i, name));
            }
        }

        let mut record = ArchiveRecord {
            virtual_path: virtual_path.to_owned(),
            file_name: file_name.to_owned(),
            poms: Vec::new(),
            manifest: None,
        };
        for (i, name) in poms {
            if let Some(text) = self.read_text(&mut zip, i, virtual_path, &name) {
                record.poms.push(parse_pom_properties(&text));
            }
        }
        if let Some(i) = manifest_idx
            && let Some(text) = self.read_text(&mut zip, i, virtual_path, "META-INF/MANIFEST.MF")
        {
            let (manifest, warnings) = parse_manifest(&text);
            self.warnings.extend(
                warnings
                    .into_iter()
                    .map(|w| format!("{virtual_path}:META-INF/MANIFEST.MF: {w}")),
            );
            record.manifest = Some(manifest);
        }
        self.records.push(record);

        if depth >= self.limits.max_depth {
            if !nested.is_empty() {
                self.warnings.push(format!(
                    "{virtual_path}: {} nested archives deeper than {} levels are not read",
                    nested.len(),
                    self.limits.max_depth
                ));
            }
            return;
        }
        for (i, name) in nested {
            let inner_path = format!("{virtual_path}:{name}");
            match self.read_entry(&mut zip, i, self.limits.max_nested_archive) {
                Ok(inner) => self.archive(&inner_path, file_name_of(&name), &inner, depth + 1),
                Err(e) => self.report(&inner_path, e, self.limits.max_nested_archive),
            }
            if self.remaining == 0 {
                return;
            }
        }
    }

    fn read_text(
        &mut self,
        zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
        index: usize,
        virtual_path: &str,
        name: &str,
    ) -> Option<String> {
        match self.read_entry(zip, index, self.limits.max_text_file) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) => {
                self.report(
                    &format!("{virtual_path}:{name}"),
                    e,
                    self.limits.max_text_file,
                );
                None
            }
        }
    }

    /// Inflates one entry, at most `cap` bytes and never past the archive-wide budget (the
    /// sizes in the zip headers are not trusted).
    fn read_entry(
        &mut self,
        zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
        index: usize,
        cap: u64,
    ) -> Result<Vec<u8>, ReadError> {
        if self.remaining == 0 {
            return Err(ReadError::Budget);
        }
        let mut entry = zip
            .by_index(index)
            .map_err(|e| ReadError::Zip(e.to_string()))?;
        let limit = cap.min(self.remaining);
        let mut out = Vec::with_capacity(entry.size().min(limit).min(1 << 20) as usize);
        let read = (&mut entry)
            .take(limit.saturating_add(1))
            .read_to_end(&mut out);
        let got = out.len() as u64;
        self.remaining = self.remaining.saturating_sub(got.min(limit));
        if got > limit {
            return Err(if limit < cap {
                ReadError::Budget
            } else {
                ReadError::TooLarge
            });
        }
        read.map_err(|e| ReadError::Zip(e.to_string()))?;
        Ok(out)
    }

    fn report(&mut self, path: &str, e: ReadError, cap: u64) {
        match e {
            ReadError::TooLarge => self.warnings.push(format!(
                "{path}: inflates to more than {cap} bytes; not read"
            )),
            ReadError::Budget => {
                self.remaining = 0;
                if !self.budget_warned {
                    self.budget_warned = true;
                    self.warnings.push(format!(
                        "{path}: the archive inflates to more than {} bytes in all; the rest is not read",
                        self.limits.max_inflated
                    ));
                }
            }
            ReadError::Zip(msg) => self.warnings.push(format!("{path}: {msg}")),
        }
    }
}

/// `META-INF/maven/GROUP/ARTIFACT/pom.properties` (any depth below `META-INF/maven/`).
fn is_pom_properties(name: &str) -> bool {
    name.strip_prefix("META-INF/maven/")
        .and_then(|rest| rest.strip_suffix("pom.properties"))
        .is_some_and(|mid| mid.ends_with('/') && mid.len() > 1)
}

fn file_name_of(path: &str) -> &str {
    path.rsplit(['/', ':']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pom_properties_paths() {
        assert!(is_pom_properties("META-INF/maven/org.a/b/pom.properties"));
        assert!(!is_pom_properties("META-INF/maven/pom.properties"));
        assert!(!is_pom_properties("META-INF/maven/org.a/b/xpom.properties"));
        assert!(!is_pom_properties(
            "BOOT-INF/META-INF/maven/a/b/pom.properties"
        ));
    }

    #[test]
    fn archive_names() {
        assert!(is_archive_name("WEB-INF/lib/X.JAR"));
        assert!(is_archive_name("a.hpi"));
        assert!(!is_archive_name("a.jar.sha1"));
        assert!(!is_archive_name("lib.jar/"));
    }
}
