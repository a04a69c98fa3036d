use super::parse_gemspec::{Gemspec, parse_gemspec};
use crate::catalog::{Cataloger, FileRef, Parsed};
use crate::model::{Package, PackageKind};

#[derive(Debug, Clone, Copy, Default)]
pub struct GemCataloger;

impl Cataloger for GemCataloger {
    fn name(&self) -> &'static str {
        "gem"
    }

    /// `.../specifications/NAME-VERSION.gemspec`, and one directory deeper for the default
    /// gems (`specifications/default/`).
    fn claims(&self, file: &FileRef<'_>) -> bool {
        let Some(dir) = file
            .path
            .strip_suffix(".gemspec")
            .and_then(|p| p.rsplit_once('/'))
            .map(|(dir, _)| dir)
        else {
            return false;
        };
        dir.ends_with("/specifications") || dir.ends_with("/specifications/default")
    }

    fn max_size(&self) -> u64 {
        // Generated specs list every file of the gem; bundler's is 12 KB.
        4 << 20
    }

    fn parse(&self, _file: &FileRef<'_>, content: &[u8]) -> Parsed {
        let text = String::from_utf8_lossy(content);
        match parse_gemspec(&text) {
            Ok(g) => Parsed::packages(vec![to_package(g)]),
            Err(why) => Parsed::warning(why),
        }
    }
}

fn to_package(g: Gemspec) -> Package {
    let mut p = Package::new(PackageKind::Gem, g.name, g.version);
    p.licenses = g.licenses;
    if !g.authors.is_empty() {
        p.metadata.insert("authors".into(), g.authors.join(", "));
    }
    if let Some(h) = g.homepage {
        p.metadata.insert("homepage".into(), h);
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
    fn claims_installed_specifications() {
        let cases = [
            ("/usr/local/bundle/specifications/rails-7.0.0.gemspec", true),
            (
                "/usr/lib/ruby/gems/3.1.0/specifications/debug-1.4.0.gemspec",
                true,
            ),
            (
                "/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
                true,
            ),
            (
                "/usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec",
                true,
            ),
            ("/home/app/.gem/ruby/3.2.0/specifications/x-1.gemspec", true),
            (
                "/app/vendor/bundle/ruby/3.2.0/gems/rack-2.2.22/rack.gemspec",
                false,
            ),
            ("/app/rack.gemspec", false),
            (
                "/usr/lib/ruby/gems/3.1.0/specifications/debug-1.4.0.gemspec.bak",
                false,
            ),
            (
                "/usr/lib/ruby/gems/3.1.0/specifications/other/x.gemspec",
                false,
            ),
            (
                "/usr/lib/ruby/3.1.0/bundler/templates/newgem/newgem.gemspec.tt",
                false,
            ),
            ("/usr/lib/ruby/gems/3.1.0/cache/rack-2.2.22.gem", false),
        ];
        for (path, want) in cases {
            assert_eq!(GemCataloger.claims(&file(path)), want, "{path}");
        }
    }

    #[test]
    fn real_gemspecs() {
        // content, name, version, licenses, authors
        type Case = (
            &'static [u8],
            &'static str,
            &'static str,
            &'static [&'static str],
            &'static str,
        );
        let cases: &[Case] = &[
            (
                include_bytes!("testdata/rack-2.2.22.gemspec"),
                "rack",
                "2.2.22",
                &["MIT"],
                "Leah Neukirchen",
            ),
            (
                include_bytes!("testdata/debug-1.4.0.gemspec"),
                "debug",
                "1.4.0",
                &["Ruby", "BSD-2-Clause"],
                "Koichi Sasada",
            ),
            (
                include_bytes!("testdata/default/json-2.6.1.gemspec"),
                "json",
                "2.6.1",
                &["Ruby"],
                "Florian Frank",
            ),
            (
                include_bytes!("testdata/nokogiri-1.13.10.gemspec"),
                "nokogiri",
                "1.13.10",
                &["MIT"],
                "Mike Dalessio, Aaron Patterson, Yoko Harada, Akinori MUSHA, John Shahid, Karol Bucek, Sam Ruby, Craig Barnes, Stephen Checkoway, Lars Kanis, Sergio Arbeo, Timothy Elliott, Nobuyoshi Nakada",
            ),
        ];
        for (content, name, version, licenses, authors) in cases {
            let parsed = GemCataloger.parse(&file("/x/specifications/x.gemspec"), content);
            assert!(parsed.warnings.is_empty(), "{name}: {:?}", parsed.warnings);
            let [p] = parsed.packages.as_slice() else {
                panic!("{name}: one package expected");
            };
            assert_eq!(p.kind, PackageKind::Gem);
            assert_eq!((p.name.as_str(), p.version.as_str()), (*name, *version));
            assert_eq!(p.licenses, *licenses, "{name}");
            assert_eq!(
                p.metadata.get("authors").map(String::as_str),
                Some(*authors)
            );
            assert_eq!(
                crate::model::purl_for(p, None),
                format!("pkg:gem/{name}@{version}")
            );
        }
    }

    #[test]
    fn malformed_gemspecs_are_warnings() {
        let cases: &[&[u8]] = &[
            b"",
            b"\x00\x01\x02\xff\xfe\xfd",
            b"Gem::Specification.new do |s|\n  s.name = \"truncated",
            b"Gem::Specification.new do |s|\n  s.name = \"x\".freeze\n",
        ];
        for content in cases {
            let parsed = GemCataloger.parse(&file("/x/specifications/x.gemspec"), content);
            assert!(parsed.packages.is_empty());
            assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        }
    }
}
