//! Every language and apk cataloger fed its real fixtures cut short and with bytes flipped, as
//! a truncated layer or a damaged disk would hand them over: each must return packages or
//! warnings, never panic, and never report a package without a name or version.

use super::{Cataloger, FileRef, Parsed, apk, composer, dotnet, gem, npm, python};

/// Cuts at evenly spaced offsets, then copies with pseudo-random bytes replaced.
fn mutations(original: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let steps = 48.min(original.len());
    for i in 1..steps {
        out.push(original[..original.len() * i / steps].to_vec());
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..48 {
        let mut m = original.to_vec();
        for _ in 0..8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if let Some(len) = u64::try_from(m.len()).ok().filter(|l| *l > 0) {
                let at = usize::try_from(x % len).unwrap_or(0);
                m[at] = (x >> 32) as u8;
            }
        }
        out.push(m);
    }
    out
}

fn check(cataloger: &dyn Cataloger, path: &str, fixture: &[u8]) {
    let file = FileRef {
        path,
        mode: 0o644,
        size: 0,
    };
    assert!(cataloger.claims(&file), "{path}");
    for (n, m) in mutations(fixture).iter().enumerate() {
        let parsed: Parsed = cataloger.parse(&file, m);
        assert!(
            !parsed.is_empty(),
            "{} mutation {n} of {path}: neither packages nor warnings",
            cataloger.name()
        );
        for p in &parsed.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty(), "{p:?}");
        }
    }
}

#[test]
fn damaged_fixtures_give_packages_or_warnings() {
    check(
        &apk::ApkCataloger,
        "/lib/apk/db/installed",
        include_bytes!("apk/testdata/installed"),
    );
    let site = "/usr/lib/python3/dist-packages";
    check(
        &python::PythonCataloger,
        &format!("{site}/Django-2.2.dist-info/METADATA"),
        include_bytes!("python/testdata/Django-2.2.dist-info/METADATA"),
    );
    check(
        &python::PythonCataloger,
        &format!("{site}/pycairo-1.20.1.egg-info"),
        include_bytes!("python/testdata/pycairo-1.20.1.egg-info"),
    );
    check(
        &python::PythonCataloger,
        &format!("{site}/requests-2.19.1.dist-info/RECORD"),
        include_bytes!("python/testdata/requests-2.19.1.dist-info/RECORD"),
    );
    check(
        &npm::NpmCataloger,
        "/app/node_modules/json-schema/package.json",
        include_bytes!("npm/testdata/json-schema-0.2.3/package.json"),
    );
    check(
        &gem::GemCataloger,
        "/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
        include_bytes!("gem/testdata/default/json-2.6.1.gemspec"),
    );
    check(
        &dotnet::DotnetCataloger,
        "/app/Python.Runtime.deps.json",
        include_bytes!("dotnet/testdata/Python.Runtime.deps.json"),
    );
    check(
        &composer::ComposerCataloger,
        "/var/www/vendor/composer/installed.json",
        include_bytes!("composer/testdata/composer2/installed.json"),
    );
}
