//! `docker save` archives (before and since Docker 25) and OCI layout archives, written here
//! from images holding real Debian packages, read in place by `docker-archive:` and
//! `oci-archive:`.

mod support;

use plimsoll_analyzer::layers;
use plimsoll_analyzer::model::Analysis;
use plimsoll_analyzer::scan::{NoProgress, ScanError, scan};
use plimsoll_analyzer::settings::ScanSettings;
use plimsoll_analyzer::source::{self, ImageSource};
use std::path::Path;
use std::sync::Arc;
use support::archive::{DockerSave, docker_archive, oci_archive};
use support::artifacts::{Deb, deb, status_file};
use support::image::{Compression, Image, Layer, sha256};

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

fn image(compression: Compression) -> (Image, Deb) {
    let expat = deb("libexpat1", "2.5.0-1+deb12u2");
    let base = Layer::new()
        .file("etc/os-release", OS_RELEASE)
        .file("etc/debian_version", "12.11\n")
        .build(compression);
    let pkg = Layer::new()
        .tar(expat.data_tar.clone())
        .file("var/lib/dpkg/status", status_file(&[&expat]))
        .build(compression);
    (Image::new(vec![base, pkg]), expat)
}

async fn scan_file(prefix: &str, path: &Path) -> Result<Analysis, ScanError> {
    let reference = format!("{prefix}:{}", path.display());
    let source: ImageSource = reference.parse().expect("reference");
    scan(
        &source,
        &reference,
        &ScanSettings::default(),
        Arc::new(NoProgress),
    )
    .await
}

fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("tmp");
    std::io::Write::write_all(&mut f, bytes).expect("write");
    f
}

fn assert_expat(a: &Analysis, expat: &Deb) {
    let got: Vec<(&str, &str)> = a
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(got, vec![(expat.name.as_str(), expat.version.as_str())]);
    assert_eq!(a.distro.as_ref().map(|d| d.id.as_str()), Some("debian"));
    assert!(
        a.files
            .iter()
            .any(|f| f.path == "/lib/x86_64-linux-gnu/libexpat.so.1.8.10")
    );
}

#[tokio::test]
async fn docker_save_before_docker_25() {
    let (img, expat) = image(Compression::Gzip);
    let f = write(&docker_archive(&img, "demo:1.0", DockerSave::Legacy));
    let a = scan_file("docker-archive", f.path()).await.expect("scan");
    assert_expat(&a, &expat);
    assert_eq!(
        a.image.repository.as_deref(),
        Some("docker.io/library/demo")
    );
    assert_eq!(a.image.tag.as_deref(), Some("1.0"));
    // Uncompressed layer.tar: the blob digest is the diff id.
    let digests: Vec<&str> = a.image.layers.iter().map(|l| l.digest.as_str()).collect();
    let diff_ids: Vec<&str> = img.layers.iter().map(|l| l.diff_id.as_str()).collect();
    assert_eq!(digests, diff_ids);
    assert!(
        a.image
            .layers
            .iter()
            .all(|l| l.media_type == "application/vnd.docker.image.rootfs.diff.tar")
    );
    assert_eq!(
        a.image.manifest_media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(a.image.config_digest, sha256(&img.config_json()));

    // Same archive, same synthesized manifest digest.
    let again = write(&docker_archive(&img, "demo:1.0", DockerSave::Legacy));
    let b = scan_file("docker-archive", again.path())
        .await
        .expect("scan");
    assert_eq!(a.image.manifest_digest, b.image.manifest_digest);
}

#[tokio::test]
async fn docker_save_with_compressed_layers_and_a_shared_layer() {
    let (mut img, expat) = image(Compression::Zstd);
    // The same layer twice: written once, the second path a symlink to the first.
    img.layers.push(img.layers[0].clone());
    img.history.push("COPY again".into());
    let f = write(&docker_archive(
        &img,
        "registry.example:5000/team/demo:2",
        DockerSave::LegacyCompressed,
    ));
    let a = scan_file("docker-archive", f.path()).await.expect("scan");
    assert_expat(&a, &expat);
    assert_eq!(
        a.image.repository.as_deref(),
        Some("registry.example:5000/team/demo")
    );
    // Compressed layers under arbitrary names are hashed while indexing.
    let digests: Vec<&str> = a.image.layers.iter().map(|l| l.digest.as_str()).collect();
    let blobs: Vec<&str> = img.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(digests, blobs);
    assert_eq!(
        a.image.layers[0].media_type,
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
}

#[tokio::test]
async fn docker_save_since_docker_25() {
    let (img, expat) = image(Compression::Gzip);
    let f = write(&docker_archive(&img, "demo:latest", DockerSave::OciLayout));
    let a = scan_file("docker-archive", f.path()).await.expect("scan");
    assert_expat(&a, &expat);
    let digests: Vec<&str> = a.image.layers.iter().map(|l| l.digest.as_str()).collect();
    let blobs: Vec<&str> = img.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(digests, blobs);
}

#[tokio::test]
async fn oci_archive_round_trip() {
    let (img, expat) = image(Compression::Gzip);
    let dir = tempfile::tempdir().expect("tmp");
    let manifest_digest = img.write_oci_dir(dir.path(), "v1");
    let f = write(&oci_archive(&img, "v1"));
    let a = scan_file("oci-archive", f.path()).await.expect("scan");
    assert_expat(&a, &expat);
    assert_eq!(a.image.manifest_digest, manifest_digest);
    assert_eq!(
        a.image.manifest_media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
}

#[tokio::test]
async fn tampered_archive_layer_is_caught() {
    let (img, _) = image(Compression::None);
    let mut bytes = docker_archive(&img, "demo:1", DockerSave::Legacy);
    // Flip one byte of /etc/os-release's content inside the first layer.tar: the tar stays
    // valid, so only the digest (here the diff id) can tell.
    let needle = b"PRETTY_NAME";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("os-release content in the archive");
    bytes[at] = b'Q';
    let f = write(&bytes);
    let err = scan_file("docker-archive", f.path())
        .await
        .expect_err("tampered");
    assert!(
        matches!(
            err,
            ScanError::Layer(layers::Error::DigestMismatch { layer: 0, .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn broken_archives_get_clear_errors() {
    let (img, _) = image(Compression::Gzip);
    let dir = tempfile::tempdir().expect("tmp");

    // Two images in one archive.
    let mut b = tar::Builder::new(Vec::new());
    let saved = br#"[{"Config":"a.json","RepoTags":["a:1"],"Layers":[]},{"Config":"b.json","RepoTags":["b:1"],"Layers":[]}]"#;
    let mut h = tar::Header::new_ustar();
    h.set_size(saved.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "manifest.json", &saved[..])
        .expect("append");
    let two = write(&b.into_inner().expect("tar"));
    let err = scan_file("docker-archive", two.path())
        .await
        .expect_err("two images");
    assert!(
        err.to_string().contains("holds 2 images (a:1, b:1)"),
        "{err}"
    );

    // An OCI archive handed to docker-archive, and the reverse with a legacy save.
    let oci = write(&oci_archive(&img, "v1"));
    let err = scan_file("docker-archive", oci.path())
        .await
        .expect_err("no manifest.json");
    assert!(err.to_string().contains("manifest.json"), "{err}");
    let legacy = write(&docker_archive(&img, "demo:1", DockerSave::Legacy));
    let err = scan_file("oci-archive", legacy.path())
        .await
        .expect_err("no index.json");
    assert!(err.to_string().contains("index.json"), "{err}");

    // Compressed archive, and a missing file.
    let gz_path = dir.path().join("image.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &oci_archive(&img, "v1")).expect("gzip");
    std::fs::write(&gz_path, gz.finish().expect("gzip")).expect("write");
    let err = scan_file("oci-archive", &gz_path)
        .await
        .expect_err("gzipped");
    assert!(err.to_string().contains("decompress it first"), "{err}");
    let err = scan_file("docker-archive", &dir.path().join("absent.tar"))
        .await
        .expect_err("absent");
    assert!(
        matches!(err, ScanError::Source(source::Error::NotFound(_))),
        "{err}"
    );

    // A layer the manifest lists but the archive lacks.
    let mut bytes = docker_archive(&img, "demo:1", DockerSave::OciLayout);
    let missing_hex = img.layers[1].digest.trim_start_matches("sha256:");
    let at = bytes
        .windows(missing_hex.len())
        .position(|w| w == missing_hex.as_bytes())
        .expect("layer member name");
    // Rename the member (in its tar header), leaving manifest.json pointing at nothing.
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let header_start = at - at % 512;
    let mut header = [0u8; 512];
    header.copy_from_slice(&bytes[header_start..header_start + 512]);
    let mut h = tar::Header::from_byte_slice(&header).clone();
    h.set_cksum();
    bytes[header_start..header_start + 512].copy_from_slice(h.as_bytes());
    let f = write(&bytes);
    let err = scan_file("docker-archive", f.path())
        .await
        .expect_err("missing layer");
    assert!(
        matches!(err, ScanError::Source(source::Error::NotFound(_))),
        "{err}"
    );
}
