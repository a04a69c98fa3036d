//! End-to-end scans of images built here from real Debian packages, read from an OCI layout.

mod support;

use plimsoll_analyzer::model::{Analysis, FileKind, HitLocation};
use plimsoll_analyzer::scan::{NoProgress, ScanError, scan};
use plimsoll_analyzer::settings::ScanSettings;
use plimsoll_analyzer::source::ImageSource;
use std::sync::Arc;
use support::artifacts::{deb, status_file};
use support::image::{Compression, Image, Layer};

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

async fn scan_dir(dir: &std::path::Path, settings: &ScanSettings) -> Result<Analysis, ScanError> {
    let source = ImageSource::OciDir {
        path: dir.to_path_buf(),
        tag: Some("test".into()),
    };
    scan(&source, "oci-dir:test", settings, Arc::new(NoProgress)).await
}

fn with_debs(
    mut layer: Layer,
    debs: &[&support::artifacts::Deb],
    status_debs: &[&support::artifacts::Deb],
) -> Layer {
    layer = layer.file("var/lib/dpkg/status", status_file(status_debs));
    for d in debs {
        layer = layer.tar(d.data_tar.clone()).file(
            &format!("var/lib/dpkg/info/{}:{}.list", d.name, d.arch),
            &d.list,
        );
        if let Some(m) = &d.md5sums {
            layer = layer.file(
                &format!("var/lib/dpkg/info/{}:{}.md5sums", d.name, d.arch),
                m,
            );
        }
    }
    layer
}

#[tokio::test]
async fn debian_packages_with_introducing_and_record_layers() {
    let expat = deb("libexpat1", "2.5.0-1+deb12u2");
    let lzma = deb("liblzma5", "5.4.1-1+deb12u1");
    let pam = deb("libpam0g", "1.5.2-6+deb12u2");
    let ssl = deb("libssl3", "3.0.17-1~deb12u2");

    let base = Layer::new()
        .file("etc/os-release", OS_RELEASE)
        .file("etc/debian_version", "12.11\n");
    let l0 = with_debs(base, &[&expat, &lzma], &[&expat, &lzma]).build(Compression::Gzip);
    let l1 = with_debs(Layer::new(), &[&pam, &ssl], &[&expat, &lzma, &pam, &ssl])
        .build(Compression::Zstd);
    // `apt-get remove liblzma5`: status rewritten, its files whited out.
    let l2 = Layer::new()
        .file("var/lib/dpkg/status", status_file(&[&expat, &pam, &ssl]))
        .whiteout("var/lib/dpkg/info/liblzma5:amd64.list")
        .whiteout("lib/x86_64-linux-gnu/liblzma.so.5.4.1")
        .build(Compression::None);
    let dir = tempfile::tempdir().expect("tempdir");
    Image::new(vec![l0, l1, l2]).write_oci_dir(dir.path(), "test");

    let mut settings = ScanSettings::default();
    settings.file_digests.md5 = true;
    let a = scan_dir(dir.path(), &settings).await.expect("scan");
    let distro = a.distro.as_ref().expect("distro");
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("debian", Some("12.11"))
    );

    let got: Vec<(&str, &str, usize, usize)> = a
        .packages
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.version.as_str(),
                p.introduced_layer,
                p.record_layer,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("libexpat1", "2.5.0-1+deb12u2", 0, 2),
            ("libpam0g", "1.5.2-6+deb12u2", 1, 2),
            ("libssl3", "3.0.17-1~deb12u2", 1, 2),
        ]
    );
    let ssl_pkg = &a.packages[2];
    assert_eq!(
        ssl_pkg.purl,
        "pkg:deb/debian/libssl3@3.0.17-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
    );
    assert_eq!(ssl_pkg.locations, vec!["/var/lib/dpkg/status"]);
    let libssl = ssl_pkg
        .files
        .iter()
        .find(|f| f.path == "/usr/lib/x86_64-linux-gnu/libssl.so.3")
        .expect("libssl.so.3 owned by libssl3");
    assert_eq!(
        libssl.digest.as_ref().map(|d| d.algorithm.as_str()),
        Some("md5")
    );

    let so = a
        .files
        .iter()
        .find(|f| f.path == "/lib/x86_64-linux-gnu/libexpat.so.1.8.10")
        .expect("libexpat in the index");
    assert_eq!((so.kind, so.layer), (FileKind::File, 0));
    assert!(
        a.files
            .iter()
            .all(|f| f.path != "/lib/x86_64-linux-gnu/liblzma.so.5.4.1"),
        "whited-out file still listed"
    );
    // Package verification: every file dpkg recorded an md5 for hashes to it in the image.
    let index: std::collections::HashMap<&str, &plimsoll_analyzer::model::FileEntry> =
        a.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut verified = 0;
    for p in &a.packages {
        for f in p.files.iter().filter(|f| f.digest.is_some()) {
            let entry = index
                .get(f.path.as_str())
                .unwrap_or_else(|| panic!("{} missing", f.path));
            assert_eq!(
                entry.md5.as_deref(),
                f.digest.as_ref().map(|d| d.value.as_str()),
                "{}",
                f.path
            );
            assert_eq!(entry.sha256.as_ref().map(String::len), Some(64));
            verified += 1;
        }
    }
    assert!(verified > 20, "only {verified} files verified");
    assert_eq!(a.image.layers.len(), 3);
    assert!(
        a.image
            .layers
            .iter()
            .all(|l| l.diff_id.starts_with("sha256:") && l.uncompressed_size > 0)
    );
    assert!(a.secrets.is_empty(), "{:?}", a.secrets);
}

#[tokio::test]
async fn secrets_are_found_in_files_env_and_history_and_never_leak() {
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n-----END OPENSSH PRIVATE KEY-----\n";
    let l0 = Layer::new()
        .file("etc/os-release", OS_RELEASE)
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
        .file_mode("etc/shadow", 0o640, "root:::0:::::\n")
        .file_mode("usr/bin/su", 0o4755, b"\x7fELF not really")
        .file("root/.ssh/id_rsa", key)
        .file("app/.aws/credentials", format!("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {AWS_SECRET}\n"))
        .build(Compression::Gzip);
    let l1 = Layer::new()
        .whiteout("root/.ssh/id_rsa")
        .build(Compression::Gzip);
    let mut image = Image::new(vec![l0, l1]);
    image.exposed_ports = vec!["22/tcp".into()];
    image
        .env
        .push(format!("AWS_SECRET_ACCESS_KEY={AWS_SECRET}"));
    image.history.push(format!(
        "/bin/sh -c #(nop)  ENV AWS_SECRET_ACCESS_KEY={AWS_SECRET}"
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    image.write_oci_dir(dir.path(), "test");

    let mut settings = ScanSettings::default();
    settings
        .content
        .secret_patterns
        .push("ALPINE_NULL_ROOT=^root:::0:::::$".parse().expect("pattern"));
    let a = scan_dir(dir.path(), &settings).await.expect("scan");

    let hits: Vec<(&str, String)> = a
        .secrets
        .iter()
        .map(|h| {
            let loc = match &h.location {
                HitLocation::File {
                    path,
                    layer,
                    visible,
                } => format!("{path}@{layer}:{visible}:{:?}", h.lines),
                HitLocation::Env { name } => format!("env:{name}"),
                HitLocation::History { index } => format!("history:{index}"),
            };
            (h.pattern.as_str(), loc)
        })
        .collect();
    for want in [
        ("PRIV_KEY", "/root/.ssh/id_rsa@0:false:[1]".to_owned()),
        (
            "AWS_ACCESS_KEY",
            "/app/.aws/credentials@0:true:[2]".to_owned(),
        ),
        (
            "AWS_SECRET_KEY",
            "/app/.aws/credentials@0:true:[3]".to_owned(),
        ),
        ("ALPINE_NULL_ROOT", "/etc/shadow@0:true:[1]".to_owned()),
        ("AWS_SECRET_KEY", "env:AWS_SECRET_ACCESS_KEY".to_owned()),
        ("AWS_SECRET_KEY", "history:2".to_owned()),
    ] {
        assert!(
            hits.iter().any(|h| h.0 == want.0 && h.1 == want.1),
            "missing {want:?} in {hits:?}"
        );
    }
    let su = a
        .files
        .iter()
        .find(|f| f.path == "/usr/bin/su")
        .expect("su");
    assert!(su.is_setuid());
    assert_eq!(a.image.config.exposed_ports, vec!["22/tcp"]);
    assert_eq!(a.image.config.user, None);
    assert_eq!(
        a.retrieved_files
            .iter()
            .map(|r| r.path.as_str())
            .collect::<Vec<_>>(),
        vec!["/etc/passwd"]
    );
    let json = serde_json::to_string(&a).expect("json");
    assert!(
        !json.contains(AWS_SECRET)
            && !json.contains("b3BlbnNzaC1rZXkt")
            && !json.contains("AKIAIOSFODNN7EXAMPLE"),
        "secret text leaked"
    );
}

#[tokio::test]
async fn hostile_tar_entries_are_contained() {
    let l0 = Layer::new()
        .raw_file(b"../../etc/evil", "x")
        .raw_file(b"/etc/absolute", "y")
        .raw_file(b"a/b/../../../escape", "z")
        .symlink("etc/shadow-link", "../../../../etc/shadow")
        .hardlink("etc/hard", "../../outside")
        .char_device("dev/null")
        .file("var/lib/dpkg/status", "Package: half\nthis line is garbage\n\nPackage: ok\nVersion: 1.0\nStatus: install ok installed\n")
        .build(Compression::Gzip);
    let dir = tempfile::tempdir().expect("tempdir");
    Image::new(vec![l0]).write_oci_dir(dir.path(), "test");
    let a = scan_dir(dir.path(), &ScanSettings::default())
        .await
        .expect("scan");
    let paths: Vec<&str> = a.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/dev/null",
            "/etc/absolute",
            "/etc/hard",
            "/etc/shadow-link",
            "/var/lib/dpkg/status"
        ]
    );
    assert_eq!(
        a.warnings
            .iter()
            .filter(|w| w.code == "unsafe-tar-path")
            .count(),
        2,
        "{:?}",
        a.warnings
    );
    assert!(
        a.warnings.iter().any(|w| w.code == "malformed-record"),
        "{:?}",
        a.warnings
    );
    assert_eq!(
        a.packages
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        vec!["ok"]
    );
    let dev = a.files.iter().find(|f| f.path == "/dev/null").expect("dev");
    assert_eq!(dev.kind, FileKind::CharDevice);
    let hard = a
        .files
        .iter()
        .find(|f| f.path == "/etc/hard")
        .expect("hard");
    assert_eq!(hard.link_target.as_deref(), Some("/outside"));
}

#[tokio::test]
async fn bombs_corruption_and_digest_mismatch_are_clear_errors() {
    let zeros = vec![0u8; 8 << 20];
    let bomb = Layer::new().file("zeros", &zeros).build(Compression::Gzip);
    assert!(bomb.blob.len() < 64 << 10, "a good bomb is small");
    let dir = tempfile::tempdir().expect("tempdir");
    Image::new(vec![bomb]).write_oci_dir(dir.path(), "test");
    let mut settings = ScanSettings::default();
    settings.limits.max_layer_uncompressed = 1 << 20;
    let err = scan_dir(dir.path(), &settings).await.expect_err("bomb");
    assert!(
        matches!(
            err,
            ScanError::Layer(plimsoll_analyzer::layers::Error::TooLarge { limit: 1048576, .. })
        ),
        "{err}"
    );

    let good = Layer::new()
        .file("etc/hostname", "box\n")
        .file("big", vec![7u8; 200_000])
        .build(Compression::Gzip);
    let blob_name = good.digest.trim_start_matches("sha256:").to_owned();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good.blob[..good.blob.len() / 2].to_vec()),
        (
            "garbage",
            b"\x1f\x8bthis is not deflate data at all".to_vec(),
        ),
        (
            "other valid layer",
            Layer::new()
                .file("etc/hostname", "evil\n")
                .build(Compression::Gzip)
                .blob,
        ),
    ];
    for (name, bytes) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        Image::new(vec![good.clone()]).write_oci_dir(dir.path(), "test");
        std::fs::write(dir.path().join("blobs/sha256").join(&blob_name), &bytes)
            .expect("overwrite blob");
        let err = scan_dir(dir.path(), &ScanSettings::default())
            .await
            .expect_err(name);
        let ok = match name {
            "other valid layer" => matches!(
                err,
                ScanError::Layer(plimsoll_analyzer::layers::Error::DigestMismatch { .. })
            ),
            _ => matches!(
                err,
                ScanError::Layer(
                    plimsoll_analyzer::layers::Error::Corrupt { .. }
                        | plimsoll_analyzer::layers::Error::DigestMismatch { .. }
                )
            ),
        };
        assert!(ok, "{name}: {err}");
        assert!(
            err.to_string().contains(&good.digest),
            "{name}: error names the layer: {err}"
        );
    }
}

#[tokio::test]
async fn many_small_files_stay_within_the_index_cap() {
    let mut layer = Layer::new();
    for i in 0..20_000 {
        layer = layer.file(&format!("d{}/f{i}", i % 100), b"");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    Image::new(vec![layer.build(Compression::Zstd)]).write_oci_dir(dir.path(), "test");
    let mut settings = ScanSettings::default();
    settings.limits.max_indexed_files = 5_000;
    let a = scan_dir(dir.path(), &settings).await.expect("scan");
    assert_eq!(a.files.len(), 5_000);
    assert!(a.warnings.iter().any(|w| w.code == "file-index-full"));
    assert_eq!(a.image.layers[0].file_count, 5_000);
}

/// The analyzer Job resolves first (to ask the operator about the digest), then analyzes:
/// both halves together give exactly what `scan` gives, and a resolution error keeps its
/// label.
#[tokio::test]
async fn resolve_then_analyze_resolved_is_scan() {
    use plimsoll_analyzer::scan::analyze_resolved;
    let layer = Layer::new()
        .file("etc/os-release", OS_RELEASE)
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        .build(Compression::Gzip);
    let dir = tempfile::tempdir().expect("tempdir");
    let digest = Image::new(vec![layer]).write_oci_dir(dir.path(), "test");
    let source = ImageSource::OciDir {
        path: dir.path().to_path_buf(),
        tag: Some("test".into()),
    };
    let settings = ScanSettings::default();
    let resolved = source.resolve(&settings).await.expect("resolves");
    assert_eq!(resolved.manifest_digest, digest);
    let split = analyze_resolved(
        &source,
        &resolved,
        "oci-dir:test",
        &settings,
        Arc::new(NoProgress),
    )
    .await
    .expect("analyzes");
    let whole = scan_dir(dir.path(), &settings).await.expect("scans");
    assert_eq!(split, whole);
    assert_eq!(split.image.manifest_digest, digest);

    let missing = ImageSource::OciDir {
        path: dir.path().to_path_buf(),
        tag: Some("absent".into()),
    };
    let err = ScanError::from(missing.resolve(&settings).await.expect_err("no such tag"));
    let via_scan = scan(&missing, "x", &settings, Arc::new(NoProgress))
        .await
        .expect_err("no such tag");
    assert_eq!(err.label(), via_scan.label());
    assert_eq!(err.to_string(), via_scan.to_string());
}
