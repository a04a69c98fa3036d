//! Build info to packages: every dependency module, the main module and the Go standard
//! library, in the shapes Syft reports them.

use super::parse_modinfo::{ModInfo, Module};
use crate::model::{Package, PackageKind};

/// The version Go gives a main module built from a source tree.
pub(crate) const DEVEL: &str = "(devel)";

/// `goarch` is the binary's machine, used when the build settings do not name it.
pub(crate) fn packages(go_version: &str, info: &ModInfo, goarch: Option<&str>) -> Vec<Package> {
    // Outside module mode there is no `mod` line: the main package's path stands in.
    let main = info.main.clone().or_else(|| {
        info.path
            .as_ref()
            .filter(|p| !p.is_empty())
            .map(|p| Module {
                path: p.clone(),
                version: DEVEL.into(),
                ..Module::default()
            })
    });
    let main_path = main.as_ref().map(|m| m.effective().path.clone());
    let arch = info.setting("GOARCH").or(goarch);

    let mut out = Vec::new();
    let module_package = |m: &Module| {
        let e = m.effective();
        let mut p = Package::new(PackageKind::GoModule, &e.path, &e.version);
        set(&mut p, "goVersion", Some(go_version));
        set(&mut p, "mainModule", main_path.as_deref());
        set(&mut p, "h1Digest", e.sum.as_deref());
        set(&mut p, "architecture", arch);
        if m.replace.is_some() {
            set(
                &mut p,
                "replaces",
                Some(&format!("{}@{}", m.path, m.version)),
            );
        }
        p
    };
    for dep in &info.deps {
        out.push(module_package(dep));
    }
    if let Some(main) = &main {
        let mut p = module_package(main);
        if p.version == DEVEL
            && let Some(v) = vcs_version(info)
        {
            p.version = v;
        }
        out.push(p);
    }
    // `go1.22.0 X:boringcrypto` names experiments after the version.
    let stdlib_version = go_version.split_whitespace().next().unwrap_or_default();
    if stdlib_version.starts_with("go") {
        let mut p = Package::new(PackageKind::GoModule, "stdlib", stdlib_version);
        set(&mut p, "goVersion", Some(go_version));
        set(&mut p, "architecture", arch);
        p.licenses = vec!["BSD-3-Clause".into()];
        out.push(p);
    }
    out
}

fn set(p: &mut Package, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        p.metadata.insert(key.into(), v.into());
    }
}

/// A main module built from a VCS checkout: a pseudo-version `v0.0.0-TIME-REVISION` from
/// `vcs.time` and the first 12 characters of `vcs.revision`, or the bare revision when the
/// time is missing (as Syft does).
fn vcs_version(info: &ModInfo) -> Option<String> {
    let revision = info.setting("vcs.revision").filter(|r| !r.is_empty())?;
    let Some(time) = info.setting("vcs.time") else {
        return Some(revision.to_owned());
    };
    let short: String = revision.chars().take(12).collect();
    Some(format!("v0.0.0-{}-{short}", compact_utc(time)))
}

/// `2024-09-22T02:04:28Z` -> `20240922020428`. Go writes `vcs.time` in UTC; anything else
/// becomes the zero time, as Syft does for a time it cannot parse.
fn compact_utc(time: &str) -> String {
    let digits: String = time.chars().filter(char::is_ascii_digit).collect();
    if time.ends_with('Z') && digits.len() == 14 {
        digits
    } else {
        "00010101000000".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::golang::parse_modinfo::parse_modinfo;

    fn rows(pkgs: &[Package]) -> Vec<(String, String, String)> {
        pkgs.iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.metadata.get("mainModule").cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn row(n: &str, v: &str, m: &str) -> (String, String, String) {
        (n.into(), v.into(), m.into())
    }

    #[test]
    fn deps_main_and_stdlib() {
        let (info, _) = parse_modinfo(
            "path\tex.com/tool\nmod\tex.com/tool\tv1.2.0\th1:m=\n\
             dep\tgolang.org/x/sys\tv0.1.0\th1:s=\n=>\tex.com/sys\tv0.1.1\th1:r=\n\
             build\tGOARCH=arm64\n",
        );
        let pkgs = packages("go1.21.3", &info, Some("amd64"));
        assert_eq!(
            rows(&pkgs),
            vec![
                row("ex.com/sys", "v0.1.1", "ex.com/tool"),
                row("ex.com/tool", "v1.2.0", "ex.com/tool"),
                row("stdlib", "go1.21.3", ""),
            ]
        );
        assert_eq!(pkgs[0].metadata["replaces"], "golang.org/x/sys@v0.1.0");
        assert_eq!(pkgs[0].metadata["h1Digest"], "h1:r=");
        assert_eq!(pkgs[0].metadata["architecture"], "arm64");
        assert_eq!(
            crate::model::purl_for(&pkgs[2], None),
            "pkg:golang/stdlib@1.21.3"
        );
    }

    #[test]
    fn devel_main_module_versions() {
        let cases = [
            ("", DEVEL),
            (
                "build\tvcs.revision=d34e79e2a998c21bb71d57b92b0017ca11756912\n",
                "d34e79e2a998c21bb71d57b92b0017ca11756912",
            ),
            (
                "build\tvcs.revision=d34e79e2a998c21bb71d57b92b0017ca11756912\nbuild\tvcs.time=2024-09-22T02:04:28Z\n",
                "v0.0.0-20240922020428-d34e79e2a998",
            ),
            (
                "build\tvcs.revision=abc\nbuild\tvcs.time=yesterday\n",
                "v0.0.0-00010101000000-abc",
            ),
        ];
        for (settings, want) in cases {
            let (info, _) = parse_modinfo(&format!(
                "path\tex.com/x\nmod\tex.com/x\t(devel)\t\n{settings}"
            ));
            let pkgs = packages("go1.23.1", &info, None);
            assert_eq!(pkgs[0].version, want, "{settings}");
        }
    }

    #[test]
    fn gopath_builds_and_odd_versions() {
        let (info, _) = parse_modinfo("path\tgithub.com/junegunn/fzf\n");
        assert_eq!(
            rows(&packages("go1.19.8", &info, None)),
            vec![
                row("github.com/junegunn/fzf", DEVEL, "github.com/junegunn/fzf"),
                row("stdlib", "go1.19.8", ""),
            ]
        );
        let none = ModInfo::default();
        assert_eq!(
            rows(&packages("go1.20.5 X:boringcrypto", &none, None)),
            vec![row("stdlib", "go1.20.5", "")]
        );
        assert!(packages("", &none, None).is_empty());
    }
}
