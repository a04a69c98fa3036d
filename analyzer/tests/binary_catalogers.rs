//! Catalogers for archives and binaries against real artifacts from the package registries:
//! Debian packages (`apt-get download`), npm tarballs (`npm pack`) and a Rust program built
//! here with `cargo auditable`. Downloads and builds are cached in `$PLIMSOLL_TEST_CACHE`
//! (default `~/.cache/plimsoll-test`), so only the first run needs the network.

use plimsoll_analyzer::catalog::golang::GoBinaryCataloger;
use plimsoll_analyzer::catalog::java::JavaCataloger;
use plimsoll_analyzer::catalog::rust::RustAuditCataloger;
use plimsoll_analyzer::catalog::{Cataloger, FileRef, Parsed, all};
use plimsoll_analyzer::model::purl_for;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

fn cache_dir(sub: &str) -> PathBuf {
    let base = std::env::var_os("PLIMSOLL_TEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/plimsoll-test")))
        .expect("PLIMSOLL_TEST_CACHE or HOME is set");
    let dir = base.join(sub);
    std::fs::create_dir_all(&dir).expect("create the test cache");
    dir
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Downloads `package=version` from Debian once; returns the cached `.deb`.
fn debian_package(package: &str, version: &str) -> PathBuf {
    let dir = cache_dir("deb");
    let target = dir.join(format!("{package}_{version}.deb"));
    if target.exists() {
        return target;
    }
    let tmp = tempfile::tempdir_in(&dir).expect("temp dir in the cache");
    let spec = format!("{package}={version}");
    let download = || {
        Command::new("apt-get")
            .args(["download", "-q", &spec])
            .current_dir(tmp.path())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !download() {
        // A fresh machine may have no package lists yet.
        run(Command::new("apt-get").args(["update", "-qq"]));
        assert!(download(), "apt-get download {spec} failed");
    }
    let deb = std::fs::read_dir(tmp.path())
        .expect("list the download dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("apt-get download wrote a .deb");
    std::fs::rename(deb, &target).expect("move the .deb into the cache");
    target
}

/// One file from a `.deb`'s data archive.
fn file_in_deb(deb: &Path, path: &str) -> Vec<u8> {
    let tmp = tempfile::tempdir().expect("temp dir");
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(tmp.path()));
    std::fs::read(tmp.path().join(path.trim_start_matches('/'))).expect("file is in the package")
}

/// Downloads an npm tarball once; returns one file from it.
fn file_in_npm_package(name: &str, version: &str, path: &str) -> Vec<u8> {
    let dir = cache_dir("npm");
    let target = dir.join(format!("{}-{version}.tgz", name.replace(['@', '/'], "_")));
    if !target.exists() {
        let tmp = tempfile::tempdir_in(&dir).expect("temp dir in the cache");
        let out = run(Command::new("npm")
            .args([
                "pack",
                "--silent",
                &format!("{name}@{version}"),
                "--pack-destination",
            ])
            .arg(tmp.path()));
        let file = String::from_utf8_lossy(&out.stdout)
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .to_owned();
        std::fs::rename(tmp.path().join(file), &target).expect("move the tarball into the cache");
    }
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&target).expect("open tarball"));
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        if entry.path().expect("entry path").to_string_lossy() == path {
            let mut out = Vec::new();
            entry.read_to_end(&mut out).expect("read entry");
            return out;
        }
    }
    panic!("{path} is not in {name}@{version}");
}

fn executable(path: &str) -> FileRef<'_> {
    FileRef {
        path,
        mode: 0o755,
        size: 0,
    }
}

/// `(name, version)` of each package, sorted.
fn names(parsed: &Parsed) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = parsed
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    v.sort();
    v
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    v.sort();
    v
}

/// Which of the analyzer's catalogers claim `file` and find packages in it.
fn catalogers_finding_packages(file: &FileRef<'_>, content: &[u8]) -> Vec<&'static str> {
    all()
        .iter()
        .filter(|c| c.claims(file) && !c.parse(file, content).packages.is_empty())
        .map(|c| c.name())
        .collect()
}

/// What `sstrip` does: drop the section table, leaving only the program headers.
fn strip_section_table(elf: &[u8]) -> Vec<u8> {
    let mut out = elf.to_vec();
    let is_64 = out[4] == 2;
    let (shoff, shnum, shstrndx, width) = if is_64 {
        (0x28, 0x3c, 0x3e, 8)
    } else {
        (0x20, 0x30, 0x32, 4)
    };
    out[shoff..shoff + width].fill(0);
    out[shnum..shnum + 2].fill(0);
    out[shstrndx..shstrndx + 2].fill(0);
    out
}

// ---------------------------------------------------------------------------------------
// Java

#[test]
fn debian_commons_text_jar() {
    let deb = debian_package("libcommons-text-java", "1.10.0-1");
    let jar = file_in_deb(&deb, "/usr/share/java/commons-text.jar");
    let file = FileRef {
        path: "/usr/share/java/commons-text.jar",
        mode: 0o644,
        size: jar.len() as u64,
    };
    let parsed = JavaCataloger::default().parse(&file, &jar);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(names(&parsed), pairs(&[("commons-text", "1.10.0")]));
    assert_eq!(
        purl_for(&parsed.packages[0], None),
        "pkg:maven/org.apache.commons/commons-text@1.10.0"
    );
    assert_eq!(catalogers_finding_packages(&file, &jar), ["java"]);
}

#[test]
fn spring_boot_style_fat_jar_of_real_jars() {
    let deb = debian_package("libcommons-text-java", "1.10.0-1");
    let commons_text = file_in_deb(&deb, "/usr/share/java/commons-text.jar");
    let commons_cli: &[u8] = include_bytes!("../src/catalog/java/testdata/commons-cli.jar");
    let opentest4j: &[u8] = include_bytes!("../src/catalog/java/testdata/opentest4j-1.2.0.jar");

    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default();
    // Spring Boot stores nested jars uncompressed.
    let stored = deflated.compression_method(zip::CompressionMethod::Stored);
    let entries: [(&str, &[u8], _); 6] = [
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.JarLauncher\r\n\r\n", deflated),
        (
            "META-INF/maven/com.example/demo/pom.properties",
            b"artifactId=demo\ngroupId=com.example\nversion=0.0.1-SNAPSHOT\n",
            deflated,
        ),
        ("BOOT-INF/classes/com/example/Demo.class", b"\xca\xfe\xba\xbe\0\0\0\x3d", deflated),
        ("BOOT-INF/lib/commons-text-1.10.0.jar", &commons_text, stored),
        ("BOOT-INF/lib/commons-cli-1.5.0.jar", commons_cli, stored),
        ("BOOT-INF/lib/opentest4j-1.2.0.jar", opentest4j, deflated),
    ];
    for (name, bytes, options) in entries {
        w.start_file(name, options).expect("start entry");
        w.write_all(bytes).expect("write entry");
    }
    let fat = w.finish().expect("finish zip").into_inner();

    let parsed = JavaCataloger::default().parse(
        &FileRef {
            path: "/app/demo.jar",
            mode: 0o644,
            size: 0,
        },
        &fat,
    );
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let mut got: Vec<(String, String)> = parsed
        .packages
        .iter()
        .map(|p| (purl_for(p, None), p.locations.join(",")))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("pkg:maven/com.example/demo@0.0.1-SNAPSHOT", "/app/demo.jar"),
            (
                "pkg:maven/commons-cli/commons-cli@1.5.0",
                "/app/demo.jar:BOOT-INF/lib/commons-cli-1.5.0.jar"
            ),
            (
                "pkg:maven/opentest4j@1.2.0",
                "/app/demo.jar:BOOT-INF/lib/opentest4j-1.2.0.jar"
            ),
            (
                "pkg:maven/org.apache.commons/commons-text@1.10.0",
                "/app/demo.jar:BOOT-INF/lib/commons-text-1.10.0.jar"
            ),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

// ---------------------------------------------------------------------------------------
// Go

#[test]
fn debian_gopath_build_of_fzf() {
    // Debian builds Go programs in GOPATH mode: a `path` line, no modules.
    let deb = debian_package("fzf", "0.38.0-1+b1");
    let bin = file_in_deb(&deb, "/usr/bin/fzf");
    let file = executable("/usr/bin/fzf");
    let parsed = GoBinaryCataloger.parse(&file, &bin);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(
        names(&parsed),
        pairs(&[
            ("github.com/junegunn/fzf", "(devel)"),
            ("stdlib", "go1.19.8")
        ])
    );
    let stdlib = parsed
        .packages
        .iter()
        .find(|p| p.name == "stdlib")
        .expect("stdlib");
    assert_eq!(purl_for(stdlib, None), "pkg:golang/stdlib@1.19.8");
    assert_eq!(stdlib.metadata["architecture"], "amd64");
    assert_eq!(catalogers_finding_packages(&file, &bin), ["go-binary"]);
}

const ESBUILD_OLD: &[(&str, &str)] = &[
    ("github.com/evanw/esbuild", "(devel)"),
    ("golang.org/x/sys", "v0.0.0-20210908233432-aa78b53d3365"),
    ("stdlib", "go1.17.5"),
];

#[test]
fn go_1_17_pointer_format_in_three_layouts() {
    // esbuild 0.14.8 was built with Go 1.17.5, whose linker stores pointers to the strings.
    for (package, layout, goarch) in [
        ("esbuild-linux-64", "64-bit little-endian", "amd64"),
        ("esbuild-linux-32", "32-bit little-endian", "386"),
        ("esbuild-linux-s390x", "64-bit big-endian", "s390x"),
    ] {
        let bin = file_in_npm_package(package, "0.14.8", "package/bin/esbuild");
        let parsed = GoBinaryCataloger.parse(&executable("/usr/bin/esbuild"), &bin);
        assert!(
            parsed.warnings.is_empty(),
            "{layout}: {:?}",
            parsed.warnings
        );
        assert_eq!(names(&parsed), pairs(ESBUILD_OLD), "{layout}");
        let sys = parsed
            .packages
            .iter()
            .find(|p| p.name == "golang.org/x/sys")
            .expect("x/sys");
        assert_eq!(
            sys.metadata["h1Digest"], "h1:6wSTsvPddg9gc/mVEEyk9oOAoxn+bT4Z9q1zx+4RwA4=",
            "{layout}"
        );
        assert_eq!(
            sys.metadata["mainModule"], "github.com/evanw/esbuild",
            "{layout}"
        );
        assert_eq!(sys.metadata["goVersion"], "go1.17.5", "{layout}");
        // Go 1.17 records no GOARCH setting: the ELF machine gives it.
        assert_eq!(sys.metadata["architecture"], goarch, "{layout}");

        // Without a section table the build info is found in the writable segment.
        let stripped = strip_section_table(&bin);
        let parsed = GoBinaryCataloger.parse(&executable("/usr/bin/esbuild"), &stripped);
        assert_eq!(names(&parsed), pairs(ESBUILD_OLD), "{layout}, stripped");
    }
}

#[test]
fn go_1_23_inline_format_with_vcs_pseudo_version() {
    let bin = file_in_npm_package("@esbuild/linux-x64", "0.24.0", "package/bin/esbuild");
    let want = pairs(&[
        (
            "github.com/evanw/esbuild",
            "v0.0.0-20240922020442-d34e79e2a998",
        ),
        ("golang.org/x/sys", "v0.0.0-20220715151400-c0bba94af5f8"),
        ("stdlib", "go1.23.1"),
    ]);
    let parsed = GoBinaryCataloger.parse(&executable("/usr/bin/esbuild"), &bin);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(names(&parsed), want);
    let purls: Vec<String> = parsed.packages.iter().map(|p| purl_for(p, None)).collect();
    assert!(
        purls
            .contains(&"pkg:golang/golang.org/x/sys@v0.0.0-20220715151400-c0bba94af5f8".to_owned()),
        "{purls:?}"
    );

    let parsed =
        GoBinaryCataloger.parse(&executable("/usr/bin/esbuild"), &strip_section_table(&bin));
    assert_eq!(names(&parsed), want, "stripped");

    // A truncated file: its section table is gone and its segments run past the end, so it
    // is not read at all (and nothing panics).
    let parsed = GoBinaryCataloger.parse(&executable("/usr/bin/esbuild"), &bin[..bin.len() / 2]);
    assert_eq!(parsed, Parsed::default());

    // The same release for macOS (Mach-O, `__go_buildinfo`) and Windows (PE, start of
    // `.data`). The Windows build links no golang.org/x/sys: Go lists only linked modules.
    let windows: Vec<(String, String)> = want
        .iter()
        .filter(|(n, _)| n != "golang.org/x/sys")
        .cloned()
        .collect();
    for (package, file, want) in [
        ("@esbuild/darwin-arm64", "package/bin/esbuild", &want),
        ("@esbuild/win32-x64", "package/esbuild.exe", &windows),
    ] {
        let bin = file_in_npm_package(package, "0.24.0", file);
        let parsed = GoBinaryCataloger.parse(&executable("/bin/esbuild"), &bin);
        assert!(
            parsed.warnings.is_empty(),
            "{package}: {:?}",
            parsed.warnings
        );
        assert_eq!(&names(&parsed), want, "{package}");
    }
}

// ---------------------------------------------------------------------------------------
// Rust

const CARGO_AUDITABLE_VERSION: &str = "0.7.7";

/// Builds (once) a small program with two runtime dependencies and one build dependency,
/// with `cargo auditable`, and returns the release binary.
fn auditable_demo_binary() -> Vec<u8> {
    let tools = cache_dir(&format!("cargo-auditable-{CARGO_AUDITABLE_VERSION}"));
    let bin_dir = tools.join("bin");
    if !bin_dir.join("cargo-auditable").exists() {
        run(Command::new(env_cargo())
            .args([
                "install",
                "--locked",
                "--quiet",
                "cargo-auditable",
                "--version",
                CARGO_AUDITABLE_VERSION,
                "--root",
            ])
            .arg(&tools)
            .env("CARGO_TARGET_DIR", tools.join("target")));
    }

    let project = cache_dir("rust-auditable-demo");
    std::fs::write(
        project.join("Cargo.toml"),
        r#"[package]
name = "auditable-demo"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
itoa = "=1.0.11"
smallvec = "=1.13.2"

[build-dependencies]
autocfg = "=1.3.0"

[workspace]
"#,
    )
    .expect("write Cargo.toml");
    std::fs::create_dir_all(project.join("src")).expect("src dir");
    std::fs::write(
        project.join("build.rs"),
        "fn main() { let _ = autocfg::new(); }\n",
    )
    .expect("write build.rs");
    std::fs::write(
        project.join("src/main.rs"),
        r#"fn main() {
    let mut v: smallvec::SmallVec<[u64; 4]> = smallvec::SmallVec::new();
    v.push(std::env::args().count() as u64);
    let mut buf = itoa::Buffer::new();
    std::process::exit(buf.format(v[0]).len() as i32 - 1);
}
"#,
    )
    .expect("write main.rs");

    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    run(Command::new(env_cargo())
        .args(["auditable", "build", "--release", "--quiet"])
        .current_dir(&project)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", project.join("target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"));
    std::fs::read(project.join("target/release/auditable-demo")).expect("the release binary")
}

fn env_cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| "cargo".into())
}

#[test]
fn cargo_auditable_binary_lists_runtime_crates() {
    let bin = auditable_demo_binary();
    let file = executable("/usr/local/bin/auditable-demo");
    let parsed = RustAuditCataloger.parse(&file, &bin);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    // autocfg is a build dependency: recorded in the binary, but not part of it.
    assert_eq!(
        names(&parsed),
        pairs(&[
            ("auditable-demo", "0.1.0"),
            ("itoa", "1.0.11"),
            ("smallvec", "1.13.2")
        ])
    );
    let sources: Vec<(&str, &str)> = parsed
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.metadata["source"].as_str()))
        .collect();
    assert!(
        sources.contains(&("auditable-demo", "local")),
        "{sources:?}"
    );
    assert!(sources.contains(&("itoa", "crates.io")), "{sources:?}");
    assert_eq!(catalogers_finding_packages(&file, &bin), ["rust-audit"]);
}
