use super::parse_package_json::{PackageJson, parse_package_json};
use crate::catalog::{Cataloger, FileRef, Parsed};
use crate::model::{Package, PackageKind};

const NODE_MODULES: &str = "/node_modules/";

#[derive(Debug, Clone, Copy, Default)]
pub struct NpmCataloger;

/// `.../node_modules/NAME/package.json` or `.../node_modules/@scope/NAME/package.json`,
/// judged after the last `node_modules` (nested installs and pnpm's
/// `node_modules/.pnpm/x@1/node_modules/x` included).
fn is_package_root(path: &str) -> bool {
    let Some(rest) = path
        .rfind(NODE_MODULES)
        .map(|i| &path[i + NODE_MODULES.len()..])
    else {
        return false;
    };
    let Some(dir) = rest.strip_suffix("/package.json") else {
        return false;
    };
    let segments: Vec<&str> = dir.split('/').collect();
    let valid = |s: &str| !s.is_empty() && !s.starts_with('.');
    match segments.as_slice() {
        [name] => valid(name) && !name.starts_with('@'),
        [scope, name] => scope.len() > 1 && scope.starts_with('@') && valid(name),
        _ => false,
    }
}

impl Cataloger for NpmCataloger {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn claims(&self, file: &FileRef<'_>) -> bool {
        file.path.ends_with("/package.json") && is_package_root(file.path)
    }

    fn max_size(&self) -> u64 {
        // Some packages ship their whole README inside package.json; none reach 4 MiB.
        4 << 20
    }

    fn parse(&self, _file: &FileRef<'_>, content: &[u8]) -> Parsed {
        match parse_package_json(content) {
            Ok(pj) => Parsed::packages(vec![to_package(pj)]),
            Err(why) => Parsed::warning(why),
        }
    }
}

fn to_package(pj: PackageJson) -> Package {
    let mut p = Package::new(PackageKind::Npm, pj.name, pj.version);
    p.licenses = pj.licenses;
    for (key, value) in [("author", pj.author), ("homepage", pj.homepage)] {
        if let Some(v) = value {
            p.metadata.insert(key.into(), v);
        }
    }
    if pj.private {
        p.metadata.insert("private".into(), "true".into());
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileRef<'_> {
        FileRef {
            path,
            mode: 0o644,
            size: 0,
        }
    }

    #[test]
    fn claims_package_roots_only() {
        let cases = [
            ("/app/node_modules/lodash/package.json", true),
            (
                "/app/node_modules/@babel/helper-string-parser/package.json",
                true,
            ),
            ("/usr/local/lib/node_modules/npm/package.json", true),
            (
                "/usr/local/lib/node_modules/npm/node_modules/semver/package.json",
                true,
            ),
            ("/app/node_modules/a/node_modules/@s/b/package.json", true),
            (
                "/app/node_modules/.pnpm/lodash@4.17.15/node_modules/lodash/package.json",
                true,
            ),
            ("/app/node_modules/lodash/lib/package.json", false),
            ("/app/node_modules/@babel/core/lib/package.json", false),
            ("/app/node_modules/@babel/package.json", false),
            ("/app/node_modules/@/x/package.json", false),
            ("/app/node_modules/package.json", false),
            ("/app/node_modules/.package-lock.json", false),
            ("/app/node_modules/.bin/package.json", false),
            ("/app/node_modules/.pnpm/package.json", false),
            ("/app/package.json", false),
            ("/app/node_modules/lodash/package.json.bak", false),
            ("/app/node_modules/lodash/Package.json", false),
            ("/app/node_modules//package.json", false),
        ];
        for (path, want) in cases {
            assert_eq!(NpmCataloger.claims(&file(path)), want, "{path}");
        }
    }

    #[test]
    fn real_package_json_files() {
        // content, name, version, licenses, purl
        type Case = (
            &'static [u8],
            &'static str,
            &'static str,
            &'static [&'static str],
            &'static str,
        );
        let cases: &[Case] = &[
            (
                include_bytes!("testdata/lodash-4.17.15/package.json"),
                "lodash",
                "4.17.15",
                &["MIT"],
                "pkg:npm/lodash@4.17.15",
            ),
            (
                include_bytes!("testdata/minimist-1.2.0/package.json"),
                "minimist",
                "1.2.0",
                &["MIT"],
                "pkg:npm/minimist@1.2.0",
            ),
            (
                include_bytes!("testdata/helper-string-parser-7.19.4/package.json"),
                "@babel/helper-string-parser",
                "7.19.4",
                &["MIT"],
                "pkg:npm/%40babel/helper-string-parser@7.19.4",
            ),
            (
                include_bytes!("testdata/json-schema-0.2.3/package.json"),
                "json-schema",
                "0.2.3",
                &["AFLv2.1", "BSD"],
                "pkg:npm/json-schema@0.2.3",
            ),
            (
                include_bytes!("testdata/pause-stream-0.0.11/package.json"),
                "pause-stream",
                "0.0.11",
                &["MIT", "Apache2"],
                "pkg:npm/pause-stream@0.0.11",
            ),
            (
                include_bytes!("testdata/buffer-crc32-0.2.1/package.json"),
                "buffer-crc32",
                "0.2.1",
                &[],
                "pkg:npm/buffer-crc32@0.2.1",
            ),
        ];
        for (content, name, version, licenses, purl) in cases {
            let parsed = NpmCataloger.parse(&file("/app/node_modules/x/package.json"), content);
            assert!(parsed.warnings.is_empty(), "{name}: {:?}", parsed.warnings);
            let [p] = parsed.packages.as_slice() else {
                panic!("{name}: one package expected");
            };
            assert_eq!(p.kind, PackageKind::Npm);
            assert_eq!((p.name.as_str(), p.version.as_str()), (*name, *version));
            assert_eq!(p.licenses, *licenses, "{name}");
            assert_eq!(crate::model::purl_for(p, None), *purl);
        }
    }

    #[test]
    fn records_without_name_or_version_are_warnings() {
        let cases: &[&[u8]] = &[
            br#"{"name": "x", "version": "1.0.0""#,
            b"\x7fELF\x02\x01\x01\x00\x00\x00",
            br#"{"version": "1.0.0"}"#,
            br#"{"name": "@scope/x", "private": true}"#,
        ];
        for content in cases {
            let parsed = NpmCataloger.parse(&file("/app/node_modules/x/package.json"), content);
            assert!(parsed.packages.is_empty());
            assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        }
    }
}
