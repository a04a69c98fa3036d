//! Crate records to packages: runtime crates only (build-time crates are not in the binary).

use super::parse_dep_info::{CrateRecord, DependencyKind};
use crate::model::{Package, PackageKind};

pub(crate) fn packages(records: &[CrateRecord], warnings: &mut Vec<String>) -> Vec<Package> {
    let mut out = Vec::new();
    for r in records {
        if r.kind != DependencyKind::Runtime {
            continue;
        }
        if r.name.is_empty() || r.version.is_empty() {
            warnings.push(format!(
                "crate without a name or version: {:?}@{:?}",
                r.name, r.version
            ));
            continue;
        }
        let mut p = Package::new(PackageKind::RustCrate, &r.name, &r.version);
        if let Some(source) = r.source.as_deref().filter(|s| !s.is_empty()) {
            p.metadata.insert("source".into(), source.into());
        }
        if r.root {
            p.metadata.insert("root".into(), "true".into());
        }
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, version: &str, kind: DependencyKind, root: bool) -> CrateRecord {
        CrateRecord {
            name: name.into(),
            version: version.into(),
            source: Some("crates.io".into()),
            kind,
            root,
        }
    }

    #[test]
    fn runtime_crates_only() {
        let records = [
            record("demo", "0.1.0", DependencyKind::Runtime, true),
            record("itoa", "1.0.11", DependencyKind::Runtime, false),
            record("cc", "1.0.0", DependencyKind::Build, false),
            record("", "1.0.0", DependencyKind::Runtime, false),
        ];
        let mut warnings = Vec::new();
        let pkgs = packages(&records, &mut warnings);
        let got: Vec<(&str, &str, Option<&str>)> = pkgs
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.metadata.get("root").map(String::as_str),
                )
            })
            .collect();
        assert_eq!(
            got,
            [("demo", "0.1.0", Some("true")), ("itoa", "1.0.11", None)]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            crate::model::purl_for(&pkgs[1], None),
            "pkg:cargo/itoa@1.0.11"
        );
    }
}
