//! Real artifacts from the package registries, downloaded once into a cache directory
//! (`$PLIMSOLL_TEST_CACHE`, default `~/.cache/plimsoll-test`) so test runs do not refetch.

use std::path::PathBuf;
use std::process::Command;

pub fn cache_dir() -> PathBuf {
    let dir = std::env::var_os("PLIMSOLL_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into()))
                .join(".cache/plimsoll-test")
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A downloaded Debian package, ready to be laid into an image.
#[derive(Debug, Clone)]
pub struct Deb {
    pub name: String,
    pub version: String,
    pub arch: String,
    /// The package's file system as a tar (`dpkg-deb --fsys-tarfile`).
    pub data_tar: Vec<u8>,
    /// The control stanza as dpkg's status file holds it (with a Status line).
    pub status_stanza: String,
    pub md5sums: Option<String>,
    /// Paths the package owns, as `info/NAME.list` holds them.
    pub list: String,
}

/// `apt-get download NAME=VERSION` (cached) and read it with dpkg-deb.
pub fn deb(name: &str, version: &str) -> Deb {
    let dir = cache_dir().join("debs").join(format!("{name}={version}"));
    let existing = || {
        std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
    };
    let path = match existing() {
        Some(p) => p,
        None => {
            std::fs::create_dir_all(&dir).unwrap();
            run(Command::new("apt-get")
                .arg("download")
                .arg(format!("{name}={version}"))
                .current_dir(&dir));
            existing().expect("apt-get download produced no .deb")
        }
    };
    let data_tar = run(Command::new("dpkg-deb").arg("--fsys-tarfile").arg(&path));
    let control = String::from_utf8(run(Command::new("dpkg-deb").arg("-f").arg(&path))).unwrap();
    let field = |k: &str| {
        control
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}: ")))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let tmp = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb")
        .arg("-e")
        .arg(&path)
        .arg(tmp.path().join("ctl")));
    let md5sums = std::fs::read_to_string(tmp.path().join("ctl/md5sums")).ok();
    let mut list = String::from("/.\n");
    let mut a = tar::Archive::new(data_tar.as_slice());
    for e in a.entries().unwrap() {
        let e = e.unwrap();
        let p = String::from_utf8_lossy(&e.path_bytes())
            .trim_start_matches('.')
            .trim_end_matches('/')
            .to_owned();
        if !p.is_empty() {
            list.push_str(&p);
            list.push('\n');
        }
    }
    let mut stanza = String::new();
    for (i, line) in control.lines().enumerate() {
        stanza.push_str(line);
        stanza.push('\n');
        if i == 0 {
            stanza.push_str("Status: install ok installed\n");
        }
    }
    Deb {
        name: field("Package"),
        version: field("Version"),
        arch: field("Architecture"),
        data_tar,
        status_stanza: stanza,
        md5sums,
        list,
    }
}

/// A dpkg status file holding these packages.
pub fn status_file(debs: &[&Deb]) -> String {
    debs.iter()
        .map(|d| d.status_stanza.trim_end().to_owned() + "\n")
        .collect::<Vec<_>>()
        .join("\n")
}

/// Moves the one file `pick` selects from the fresh download directory `tmp` to `target`.
fn keep_download(tmp: &std::path::Path, target: &std::path::Path, pick: impl Fn(&str) -> bool) {
    let file = std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| pick(&n.to_string_lossy())))
        .unwrap_or_else(|| panic!("nothing was downloaded into {}", tmp.display()));
    std::fs::rename(file, target).unwrap();
}

/// `pip download --no-deps --only-binary=:all: NAME==VERSION` (cached): the wheel's
/// `.dist-info` directory name and its `METADATA`.
pub fn wheel_metadata(name: &str, version: &str) -> (String, Vec<u8>) {
    let dir = cache_dir().join("wheels");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join(format!("{name}=={version}.whl"));
    if !target.exists() {
        let tmp = tempfile::tempdir_in(&dir).unwrap();
        run(Command::new("pip")
            .args([
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--ignore-requires-python",
                "--disable-pip-version-check",
                &format!("{name}=={version}"),
                "-d",
            ])
            .arg(tmp.path()));
        keep_download(tmp.path(), &target, |n| n.ends_with(".whl"));
    }
    let mut wheel = zip::ZipArchive::new(std::fs::File::open(&target).unwrap()).unwrap();
    let metadata = wheel
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .find(|n| n.ends_with(".dist-info/METADATA") && n.matches('/').count() == 1)
        .unwrap_or_else(|| panic!("{} has no .dist-info/METADATA", target.display()));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut wheel.by_name(&metadata).unwrap(), &mut bytes).unwrap();
    let dist_info = metadata.split('/').next().unwrap().to_owned();
    (dist_info, bytes)
}

/// `npm pack NAME@VERSION` (cached): one file of the tarball, by its path in it
/// (`package/package.json`).
pub fn npm_file(name: &str, version: &str, path: &str) -> Vec<u8> {
    let dir = cache_dir().join("npm");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join(format!("{}-{version}.tgz", name.replace(['@', '/'], "_")));
    if !target.exists() {
        let tmp = tempfile::tempdir_in(&dir).unwrap();
        run(Command::new("npm")
            .args(["pack", "--silent", &format!("{name}@{version}")])
            .arg("--pack-destination")
            .arg(tmp.path()));
        keep_download(tmp.path(), &target, |n| n.ends_with(".tgz"));
    }
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&target).unwrap());
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == path {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut out).unwrap();
            return out;
        }
    }
    panic!("{path} is not in {name}@{version}");
}

/// `npm pack NAME@VERSION` (cached): its `package.json`.
pub fn npm_package_json(name: &str, version: &str) -> Vec<u8> {
    npm_file(name, version, "package/package.json")
}

pub const CARGO_AUDITABLE_VERSION: &str = "0.7.7";

/// A release binary of a one-file program built (once, cached under `rust-NAME`) with `cargo
/// auditable`, depending on `deps` (`(crate, exact version)`). `main_rs` must use them, or
/// the linker drops them and the audit data with them.
pub fn cargo_auditable_binary(name: &str, deps: &[(&str, &str)], main_rs: &str) -> Vec<u8> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let tools = cache_dir().join(format!("cargo-auditable-{CARGO_AUDITABLE_VERSION}"));
    let bin_dir = tools.join("bin");
    if !bin_dir.join("cargo-auditable").exists() {
        run(Command::new(&cargo)
            .args(["install", "--locked", "--quiet", "cargo-auditable"])
            .args(["--version", CARGO_AUDITABLE_VERSION, "--root"])
            .arg(&tools)
            .env("CARGO_TARGET_DIR", tools.join("target")));
    }
    let project = cache_dir().join(format!("rust-{name}"));
    std::fs::create_dir_all(project.join("src")).unwrap();
    let mut manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n"
    );
    for (krate, version) in deps {
        manifest.push_str(&format!("{krate} = \"={version}\"\n"));
    }
    manifest.push_str("\n[workspace]\n");
    std::fs::write(project.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(project.join("src/main.rs"), main_rs).unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    run(Command::new(&cargo)
        .args(["auditable", "build", "--release", "--quiet"])
        .current_dir(&project)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", project.join("target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"));
    std::fs::read(project.join("target/release").join(name)).unwrap()
}
