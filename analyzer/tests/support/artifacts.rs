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
