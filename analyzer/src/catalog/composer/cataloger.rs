use super::parse_installed_json::{ComposerPackage, parse_installed_json};
use crate::catalog::{Cataloger, FileRef, Parsed};
use crate::model::{Package, PackageKind};

#[derive(Debug, Clone, Copy, Default)]
pub struct ComposerCataloger;

impl Cataloger for ComposerCataloger {
    fn name(&self) -> &'static str {
        "composer"
    }

    /// The vendor directory can be renamed (`config.vendor-dir`), its `composer/` part cannot.
    fn claims(&self, file: &FileRef<'_>) -> bool {
        file.path.ends_with("/composer/installed.json")
    }

    fn max_size(&self) -> u64 {
        32 << 20
    }

    fn parse(&self, _file: &FileRef<'_>, content: &[u8]) -> Parsed {
        match parse_installed_json(content) {
            Ok((packages, warnings)) => Parsed {
                packages: packages.into_iter().map(to_package).collect(),
                owned_files: Vec::new(),
                warnings,
            },
            Err(why) => Parsed::warning(why),
        }
    }
}

fn to_package(c: ComposerPackage) -> Package {
    let mut p = Package::new(PackageKind::Composer, c.name, c.version);
    p.licenses = c.licenses;
    for (key, value) in [("description", c.description), ("homepage", c.homepage)] {
        if let Some(v) = value {
            p.metadata.insert(key.into(), v);
        }
    }
    if c.dev {
        p.metadata.insert("dev".into(), "true".into());
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
    fn claims_composer_installed_json() {
        let cases = [
            ("/var/www/html/vendor/composer/installed.json", true),
            ("/app/lib/composer/installed.json", true),
            ("/var/www/html/vendor/composer/installed.php", false),
            ("/var/www/html/composer.json", false),
            ("/var/www/html/composer.lock", false),
            ("/usr/lib/node_modules/x/installed.json", false),
            ("/var/www/html/vendor/composer/installed.json.bak", false),
        ];
        for (path, want) in cases {
            assert_eq!(ComposerCataloger.claims(&file(path)), want, "{path}");
        }
    }

    type Row<'a> = (&'a str, &'a str, Vec<&'a str>, bool, String);

    fn rows(parsed: &Parsed) -> Vec<Row<'_>> {
        parsed
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.licenses.iter().map(String::as_str).collect(),
                    p.metadata.contains_key("dev"),
                    crate::model::purl_for(p, None),
                )
            })
            .collect()
    }

    #[test]
    fn composer_2_installed_json() {
        let parsed = ComposerCataloger.parse(
            &file("/var/www/html/vendor/composer/installed.json"),
            include_bytes!("testdata/composer2/installed.json"),
        );
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(
            rows(&parsed),
            vec![
                (
                    "guzzlehttp/guzzle",
                    "7.4.5",
                    vec!["MIT"],
                    false,
                    "pkg:composer/guzzlehttp/guzzle@7.4.5".to_owned()
                ),
                (
                    "monolog/monolog",
                    "2.8.0",
                    vec!["MIT"],
                    false,
                    "pkg:composer/monolog/monolog@2.8.0".to_owned()
                ),
                (
                    "phpunit/phpunit",
                    "9.5.25",
                    vec!["BSD-3-Clause"],
                    true,
                    "pkg:composer/phpunit/phpunit@9.5.25".to_owned()
                ),
                (
                    "psr/log",
                    "1.1.4",
                    vec!["MIT"],
                    false,
                    "pkg:composer/psr/log@1.1.4".to_owned()
                ),
                (
                    "symfony/polyfill-mbstring",
                    "v1.26.0",
                    vec!["MIT"],
                    false,
                    "pkg:composer/symfony/polyfill-mbstring@v1.26.0".to_owned()
                ),
                (
                    "twig/twig",
                    "v3.4.3",
                    vec!["BSD-3-Clause"],
                    false,
                    "pkg:composer/twig/twig@v3.4.3".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn composer_1_installed_json() {
        let parsed = ComposerCataloger.parse(
            &file("/var/www/html/vendor/composer/installed.json"),
            include_bytes!("testdata/composer1/installed.json"),
        );
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(
            rows(&parsed),
            vec![
                (
                    "doctrine/instantiator",
                    "1.3.1",
                    vec!["MIT"],
                    false,
                    "pkg:composer/doctrine/instantiator@1.3.1".to_owned()
                ),
                (
                    "laravel/framework",
                    "v7.30.4",
                    vec!["MIT"],
                    false,
                    "pkg:composer/laravel/framework@v7.30.4".to_owned()
                ),
                (
                    "league/flysystem",
                    "1.1.3",
                    vec!["MIT"],
                    false,
                    "pkg:composer/league/flysystem@1.1.3".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn malformed_input_is_a_warning() {
        for content in [&b"{\"packages\": ["[..], b"\x00\xff", b"", b"42"] {
            let parsed = ComposerCataloger.parse(&file("/v/composer/installed.json"), content);
            assert!(parsed.packages.is_empty());
            assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        }
    }
}
