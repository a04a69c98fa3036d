use super::parse_deps_json::{DepsLibrary, parse_deps_json};
use crate::catalog::{Cataloger, FileRef, Parsed};
use crate::model::{Package, PackageKind};

#[derive(Debug, Clone, Copy, Default)]
pub struct DotnetCataloger;

impl Cataloger for DotnetCataloger {
    fn name(&self) -> &'static str {
        "dotnet"
    }

    fn claims(&self, file: &FileRef<'_>) -> bool {
        file.path.rsplit_once('/').is_some_and(|(_, name)| {
            name.len() > ".deps.json".len() && name.ends_with(".deps.json")
        })
    }

    fn max_size(&self) -> u64 {
        // Big ASP.NET applications reach a few hundred KB.
        16 << 20
    }

    fn parse(&self, _file: &FileRef<'_>, content: &[u8]) -> Parsed {
        match parse_deps_json(content) {
            Ok((libraries, warnings)) => Parsed {
                packages: libraries.into_iter().map(to_package).collect(),
                owned_files: Vec::new(),
                warnings,
            },
            Err(why) => Parsed::warning(why),
        }
    }
}

fn to_package(l: DepsLibrary) -> Package {
    let mut p = Package::new(PackageKind::Dotnet, l.name, l.version);
    for (key, value) in [
        ("sha512", l.sha512),
        ("path", l.path),
        ("hashPath", l.hash_path),
    ] {
        if let Some(v) = value {
            p.metadata.insert(key.into(), v);
        }
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
    fn claims_deps_json_files() {
        let cases = [
            ("/app/MyApp.deps.json", true),
            (
                "/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json",
                true,
            ),
            ("/app/.deps.json", false),
            ("/app/MyApp.runtimeconfig.json", false),
            ("/app/MyApp.deps.json.bak", false),
            ("/app/deps.json", false),
        ];
        for (path, want) in cases {
            assert_eq!(DotnetCataloger.claims(&file(path)), want, "{path}");
        }
    }

    #[test]
    fn real_deps_json_from_pythonnet() {
        let parsed = DotnetCataloger.parse(
            &file("/usr/lib/python3/dist-packages/pythonnet/runtime/Python.Runtime.deps.json"),
            include_bytes!("testdata/Python.Runtime.deps.json"),
        );
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        // serde_json's map order depends on its `preserve_order` feature: compare sorted.
        let mut got: Vec<(&str, &str)> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        got.sort_unstable();
        assert_eq!(
            got,
            vec![
                ("Lost.Compat.NullabilityAttributes", "0.0.4"),
                ("Microsoft.Build.Tasks.Git", "1.1.1"),
                ("Microsoft.CSharp", "4.7.0"),
                ("Microsoft.NETCore.Platforms", "1.1.0"),
                ("Microsoft.NETCore.Targets", "1.1.0"),
                ("Microsoft.Net.Compilers.Toolset", "4.0.1"),
                ("Microsoft.SourceLink.Common", "1.1.1"),
                ("Microsoft.SourceLink.GitHub", "1.1.1"),
                ("NETStandard.Library", "2.0.3"),
                ("NonCopyableAnalyzer", "0.7.0"),
                ("System.IO", "4.3.0"),
                ("System.Reflection", "4.3.0"),
                ("System.Reflection.Emit", "4.3.0"),
                ("System.Reflection.Emit.ILGeneration", "4.3.0"),
                ("System.Reflection.Primitives", "4.3.0"),
                ("System.Runtime", "4.3.0"),
                ("System.Text.Encoding", "4.3.0"),
                ("System.Threading.Tasks", "4.3.0"),
            ]
        );
        let csharp = parsed
            .packages
            .iter()
            .find(|p| p.name == "Microsoft.CSharp")
            .expect("listed above");
        assert_eq!(csharp.kind, PackageKind::Dotnet);
        assert!(csharp.licenses.is_empty());
        assert_eq!(
            csharp.metadata.get("path").map(String::as_str),
            Some("microsoft.csharp/4.7.0")
        );
        assert_eq!(
            crate::model::purl_for(csharp, None),
            "pkg:nuget/Microsoft.CSharp@4.7.0"
        );
    }

    #[test]
    fn malformed_input_is_a_warning() {
        for content in [&b"{\"libraries\": {"[..], b"\xff\xfe\x00", b""] {
            let parsed = DotnetCataloger.parse(&file("/app/A.deps.json"), content);
            assert!(parsed.packages.is_empty());
            assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        }
    }
}
