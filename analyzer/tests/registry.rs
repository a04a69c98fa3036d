//! Images pushed to real registries (the CNCF distribution registry on loopback, started by
//! `.ci/run`: `PLIMSOLL_TEST_REGISTRY`, and with basic auth `PLIMSOLL_TEST_REGISTRY_AUTH`)
//! and served by a scripted fake (`support::fake_http`) for the failures a real registry will
//! not produce on demand. Images hold real Debian packages (`apt-get download`, cached).

mod support;

use plimsoll_analyzer::layers;
use plimsoll_analyzer::model::Analysis;
use plimsoll_analyzer::scan::{NoProgress, ScanError, scan};
use plimsoll_analyzer::settings::ScanSettings;
use plimsoll_analyzer::source::{self, Credentials, ImageSource};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::artifacts::{Deb, deb, status_file};
use support::fake_http::{FakeRegistry, Reply};
use support::image::{Compression, Image, Layer, sha256};
use support::registry::{
    AUTH_PASSWORD, AUTH_USER, DOCKER_MANIFEST, Flavor, OCI_INDEX, OCI_MANIFEST, Pusher,
    auth_registry, manifest_for, open_registry, settings_for, unique_repo,
};

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

fn expat() -> Deb {
    deb("libexpat1", "2.5.0-1+deb12u2")
}

fn lzma() -> Deb {
    deb("liblzma5", "5.4.1-1+deb12u1")
}

/// A two-layer Debian image: os-release, then one real package with its dpkg record.
fn debian_image(arch: &str, package: &Deb, compression: Compression) -> Image {
    let base = Layer::new()
        .file("etc/os-release", OS_RELEASE)
        .file("etc/debian_version", "12.11\n")
        .build(compression);
    let pkg = Layer::new()
        .tar(package.data_tar.clone())
        .file("var/lib/dpkg/status", status_file(&[package]))
        .build(compression);
    let mut image = Image::new(vec![base, pkg]);
    image.architecture = arch.into();
    image
}

async fn scan_ref(reference: &str, settings: &ScanSettings) -> Result<Analysis, ScanError> {
    let source: ImageSource = reference.parse().expect("reference");
    scan(&source, reference, settings, Arc::new(NoProgress)).await
}

fn packages(a: &Analysis) -> Vec<(String, String)> {
    a.packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

fn is_package(a: &Analysis, d: &Deb) -> bool {
    packages(a) == vec![(d.name.clone(), d.version.clone())]
}

#[tokio::test]
async fn oci_index_picks_each_platform() {
    let Some(host) = open_registry() else { return };
    let (expat, lzma) = (expat(), lzma());
    let amd64 = debian_image("amd64", &expat, Compression::Gzip);
    let arm64 = debian_image("arm64", &lzma, Compression::Gzip);
    let repo = unique_repo("multi");
    let (index_digest, manifests) = Pusher::new(&host)
        .index(
            &repo,
            "1.0",
            &[
                ("linux", "amd64", None, &amd64),
                ("linux", "arm64", Some("v8"), &arm64),
            ],
            Flavor::Oci,
        )
        .await;
    let reference = format!("{host}/{repo}:1.0");

    let mut settings = settings_for(&[&host]);
    let a = scan_ref(&reference, &settings).await.expect("amd64 scan");
    assert!(is_package(&a, &expat), "{:?}", packages(&a));
    assert_eq!(a.image.architecture, "amd64");
    assert_eq!(a.image.index_digest.as_deref(), Some(index_digest.as_str()));
    assert_eq!(a.image.manifest_digest, manifests[0]);
    assert_eq!(a.image.manifest_media_type, OCI_MANIFEST);
    assert_eq!(
        a.image.repository.as_deref(),
        Some(&*format!("{host}/{repo}"))
    );
    assert_eq!(a.image.tag.as_deref(), Some("1.0"));
    assert_eq!(a.distro.as_ref().map(|d| d.id.as_str()), Some("debian"));

    settings.platform = "linux/arm64".parse().expect("platform");
    let a = scan_ref(&reference, &settings).await.expect("arm64 scan");
    assert!(is_package(&a, &lzma), "{:?}", packages(&a));
    assert_eq!(a.image.architecture, "arm64");
    assert_eq!(a.image.manifest_digest, manifests[1]);

    settings.platform = "linux/s390x".parse().expect("platform");
    let err = scan_ref(&reference, &settings).await.expect_err("no s390x");
    assert!(
        matches!(
            err,
            ScanError::Source(source::Error::PlatformNotFound { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn docker_v2s2_manifest_and_list() {
    let Some(host) = open_registry() else { return };
    let expat = expat();
    let mut image = debian_image("amd64", &expat, Compression::Gzip);
    // Docker also pushes uncompressed layers.
    image.layers.push(
        Layer::new()
            .file("etc/motd", "hi\n")
            .build(Compression::None),
    );
    image.history.push("COPY motd /etc/motd".into());
    let repo = unique_repo("docker");
    let pusher = Pusher::new(&host);
    let digest = pusher.image(&repo, "v2s2", &image, Flavor::Docker).await;
    let settings = settings_for(&[&host]);
    let a = scan_ref(&format!("{host}/{repo}:v2s2"), &settings)
        .await
        .expect("scan");
    assert_eq!(a.image.manifest_media_type, DOCKER_MANIFEST);
    assert_eq!(a.image.manifest_digest, digest);
    assert_eq!(a.image.index_digest, None);
    assert!(is_package(&a, &expat), "{:?}", packages(&a));
    assert_eq!(a.image.layers.len(), 3);
    assert_eq!(
        a.image.layers[2].media_type,
        "application/vnd.docker.image.rootfs.diff.tar"
    );
    assert!(a.files.iter().any(|f| f.path == "/etc/motd"));

    let (list, _) = pusher
        .index(
            &repo,
            "list",
            &[("linux", "amd64", None, &image)],
            Flavor::Docker,
        )
        .await;
    let a = scan_ref(&format!("{host}/{repo}:list"), &settings)
        .await
        .expect("scan list");
    assert_eq!(a.image.index_digest.as_deref(), Some(list.as_str()));
    assert_eq!(a.image.manifest_digest, digest);
}

#[tokio::test]
async fn zstd_layers_pulled_by_digest() {
    let Some(host) = open_registry() else { return };
    let expat = expat();
    let image = debian_image("amd64", &expat, Compression::Zstd);
    let repo = unique_repo("zstd");
    let digest = Pusher::new(&host)
        .image(&repo, "zstd", &image, Flavor::Oci)
        .await;
    let reference = format!("{host}/{repo}@{digest}");
    let a = scan_ref(&reference, &settings_for(&[&host]))
        .await
        .expect("scan");
    assert_eq!(a.image.manifest_digest, digest);
    assert_eq!(a.image.tag, None);
    assert_eq!(a.image.reference, reference);
    assert!(is_package(&a, &expat), "{:?}", packages(&a));
    let layer_digests: Vec<&str> = a.image.layers.iter().map(|l| l.digest.as_str()).collect();
    let pushed: Vec<&str> = image.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(layer_digests, pushed);
    assert!(
        a.image
            .layers
            .iter()
            .all(|l| l.media_type == "application/vnd.oci.image.layer.v1.tar+zstd")
    );
}

#[tokio::test]
async fn basic_auth_from_docker_config() {
    let Some(host) = auth_registry() else { return };
    let expat = expat();
    let image = debian_image("amd64", &expat, Compression::Gzip);
    let repo = unique_repo("auth");
    let digest = Pusher::new(&host)
        .with_basic_auth(AUTH_USER, AUTH_PASSWORD)
        .image(&repo, "1", &image, Flavor::Oci)
        .await;
    let reference = format!("{host}/{repo}:1");

    let write_config = |user: &str, password: &str| {
        use base64::Engine as _;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        // The key as `docker login` writes it for a non-Hub registry, scheme and all.
        std::fs::write(
            &path,
            format!(r#"{{"auths":{{"http://{host}/":{{"auth":"{auth}"}}}},"HttpHeaders":{{}}}}"#),
        )
        .expect("write config.json");
        let bytes = std::fs::read(&path).expect("read config.json");
        Credentials::from_docker_config(&bytes).expect("config.json parses")
    };

    let mut settings = settings_for(&[&host]);
    settings.registry.credentials = write_config(AUTH_USER, AUTH_PASSWORD);
    let a = scan_ref(&reference, &settings)
        .await
        .expect("scan with auth");
    assert_eq!(a.image.manifest_digest, digest);
    assert!(is_package(&a, &expat), "{:?}", packages(&a));

    settings.registry.credentials = write_config(AUTH_USER, "wrong-password-hunter2");
    let err = scan_ref(&reference, &settings)
        .await
        .expect_err("wrong password");
    match &err {
        ScanError::Source(source::Error::Unauthorized {
            registry, status, ..
        }) => {
            assert_eq!((registry.as_str(), *status), (host.as_str(), 401));
        }
        other => panic!("expected Unauthorized, got {other}"),
    }
    assert!(err.to_string().contains(&host), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    assert_eq!(err.label(), "RegistryAuthFailed");

    settings.registry.credentials = Credentials::default();
    let err = scan_ref(&reference, &settings)
        .await
        .expect_err("anonymous");
    assert!(
        matches!(
            err,
            ScanError::Source(source::Error::Unauthorized { status: 401, .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn missing_images_are_not_found() {
    let Some(host) = open_registry() else { return };
    let image = debian_image("amd64", &expat(), Compression::Gzip);
    let repo = unique_repo("missing");
    Pusher::new(&host)
        .image(&repo, "present", &image, Flavor::Oci)
        .await;
    let settings = settings_for(&[&host]);
    for reference in [
        format!("{host}/{repo}:absent"),
        format!("{host}/{repo}-never-pushed:1"),
        format!("{host}/{repo}@sha256:{}", "0".repeat(64)),
    ] {
        let err = scan_ref(&reference, &settings).await.expect_err(&reference);
        assert!(
            matches!(err, ScanError::Source(source::Error::NotFound(_))),
            "{reference}: {err}"
        );
        assert_eq!(err.label(), "ImageNotFound");
    }
}

#[tokio::test]
async fn oversized_and_unknown_manifests_are_refused() {
    let Some(host) = open_registry() else { return };
    let image = debian_image("amd64", &expat(), Compression::Gzip);
    let repo = unique_repo("refused");
    let pusher = Pusher::new(&host);
    let (manifest, _) = pusher.image_blobs(&repo, &image, Flavor::Oci).await;

    // The same manifest with 8 KiB of annotations against a 4 KiB limit.
    let mut big: serde_json::Value = serde_json::from_slice(&manifest).expect("json");
    big["annotations"] = serde_json::json!({ "padding": "x".repeat(8 << 10) });
    let big = serde_json::to_vec(&big).expect("json");
    pusher.manifest(&repo, "big", OCI_MANIFEST, &big).await;
    let mut settings = settings_for(&[&host]);
    settings.limits.max_manifest_bytes = 4 << 10;
    let err = scan_ref(&format!("{host}/{repo}:big"), &settings)
        .await
        .expect_err("too large");
    assert!(
        matches!(
            err,
            ScanError::Source(source::Error::TooLarge { limit: 4096, .. })
        ),
        "{err}"
    );

    // An OCI artifact (a Helm chart) is a valid manifest but not an image.
    let chart = b"not really a chart".to_vec();
    let chart_digest = pusher.blob(&repo, &chart).await;
    let empty = b"{}".to_vec();
    let empty_digest = pusher.blob(&repo, &empty).await;
    let artifact = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": empty_digest, "size": 2},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": chart_digest, "size": chart.len()}],
    }))
    .expect("json");
    pusher
        .manifest(&repo, "chart", OCI_MANIFEST, &artifact)
        .await;
    let err = scan_ref(&format!("{host}/{repo}:chart"), &settings_for(&[&host]))
        .await
        .expect_err("artifact");
    assert!(
        matches!(
            err,
            ScanError::Source(source::Error::UnsupportedMediaType { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn registry_refuses_a_blob_that_does_not_match_its_digest() {
    let Some(host) = open_registry() else { return };
    let repo = unique_repo("corrupt");
    let status = Pusher::new(&host)
        .blob_as(&repo, &sha256(b"the real bytes"), b"other bytes")
        .await;
    // So corrupt blobs are served by the fake registry below.
    assert_eq!(status, 400);
}

// ---- the fake registry: failures on demand ----

const REPO: &str = "team/app";

/// The objects a registry holds for `image` tagged `tag`.
fn objects(image: &Image, tag: &str) -> Vec<(String, String, Vec<u8>)> {
    let (manifest, config) = manifest_for(image, Flavor::Oci);
    let mut v = vec![
        (
            format!("manifests/{tag}"),
            OCI_MANIFEST.into(),
            manifest.clone(),
        ),
        (
            format!("manifests/{}", sha256(&manifest)),
            OCI_MANIFEST.into(),
            manifest,
        ),
        (
            format!("blobs/{}", sha256(&config)),
            "application/octet-stream".into(),
            config,
        ),
    ];
    for l in &image.layers {
        v.push((
            format!("blobs/{}", l.digest),
            "application/octet-stream".into(),
            l.blob.clone(),
        ));
    }
    v
}

fn small_image() -> Image {
    debian_image("amd64", &expat(), Compression::Gzip)
}

#[tokio::test]
async fn retries_429_then_succeeds() {
    let image = small_image();
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), |req, nth| {
        (req.path.ends_with("/manifests/1") && nth < 2).then(|| {
            Reply::status(
                429,
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#,
            )
            .with_header("Retry-After", "0")
        })
    });
    let host = fake.host().to_owned();
    let a = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
        .await
        .expect("third try works");
    assert!(is_package(&a, &expat()));
    assert_eq!(fake.server.count(&format!("/v2/{REPO}/manifests/1")), 3);
}

#[tokio::test]
async fn gives_up_after_bounded_5xx_retries() {
    let image = small_image();
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), |req, _| {
        req.path
            .contains("/manifests/")
            .then(|| Reply::status(503, "upstream sad"))
    });
    let host = fake.host().to_owned();
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
        .await
        .expect_err("503 forever");
    match &err {
        ScanError::Source(source::Error::Registry { registry, message }) => {
            assert_eq!(registry, &host);
            assert!(message.contains("503"), "{message}");
            assert!(message.contains("after 4 tries"), "{message}");
        }
        other => panic!("expected a registry error, got {other}"),
    }
    assert_eq!(fake.server.count(&format!("/v2/{REPO}/manifests/1")), 4);
}

#[tokio::test]
async fn times_out_on_a_silent_registry() {
    let image = small_image();
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), |req, _| {
        req.path
            .contains("/manifests/")
            .then(|| Reply::Hang(Duration::from_secs(5)))
    });
    let host = fake.host().to_owned();
    let mut settings = settings_for(&[&host]);
    settings.registry.read_timeout = Duration::from_millis(300);
    settings.registry.attempts = 2;
    let started = Instant::now();
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings)
        .await
        .expect_err("timeout");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    match &err {
        ScanError::Source(source::Error::Registry { message, .. }) => {
            assert!(message.contains("timed out"), "{message}");
            assert!(message.contains("after 2 tries"), "{message}");
        }
        other => panic!("expected a registry error, got {other}"),
    }
}

#[tokio::test]
async fn corrupt_layer_blob_is_a_digest_mismatch() {
    let expat = expat();
    let image = debian_image("amd64", &expat, Compression::None);
    let victim = image.layers[0].digest.clone();
    // One byte of /etc/os-release's content (right after the first 512-byte header): still a
    // valid tar of the same size, so only the digest can tell.
    let mut tampered = image.layers[0].blob.clone();
    assert_eq!(&tampered[512..518], b"PRETTY");
    tampered[512] = b'Q';
    let path = format!("/v2/{REPO}/blobs/{victim}");
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), move |req, _| {
        (req.path == path).then(|| Reply::ok("application/octet-stream", tampered.clone()))
    });
    let host = fake.host().to_owned();
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
        .await
        .expect_err("tampered layer");
    match &err {
        ScanError::Layer(layers::Error::DigestMismatch { layer, digest, .. }) => {
            assert_eq!((*layer, digest.as_str()), (0, victim.as_str()));
        }
        other => panic!("expected a layer digest mismatch, got {other}"),
    }
    assert_eq!(err.label(), "CorruptImage");
}

#[tokio::test]
async fn layer_with_garbage_appended_is_a_digest_mismatch() {
    let image = small_image();
    let victim = image.layers[0].digest.clone();
    let mut padded = image.layers[0].blob.clone();
    padded.extend_from_slice(&[0u8; 1024]);
    let path = format!("/v2/{REPO}/blobs/{victim}");
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), move |req, _| {
        (req.path == path).then(|| Reply::ok("application/octet-stream", padded.clone()))
    });
    let host = fake.host().to_owned();
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
        .await
        .expect_err("padded layer");
    // Longer than the descriptor says, or hashed and found different: either way, refused.
    assert_eq!(err.label(), "CorruptImage", "{err}");
}

#[tokio::test]
async fn manifest_and_config_digests_are_verified() {
    let image = small_image();
    let (manifest, config) = manifest_for(&image, Flavor::Oci);
    let manifest_digest = sha256(&manifest);
    let config_digest = sha256(&config);

    // Pulled by digest, the registry answers with other bytes.
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), {
        let path = format!("/v2/{REPO}/manifests/{manifest_digest}");
        move |req, _| {
            (req.path == path).then(|| {
                Reply::ok(
                    OCI_MANIFEST,
                    br#"{"schemaVersion":2,"config":{"digest":"sha256:00","size":1},"layers":[]}"#
                        .to_vec(),
                )
            })
        }
    });
    let host = fake.host().to_owned();
    let err = scan_ref(
        &format!("{host}/{REPO}@{manifest_digest}"),
        &settings_for(&[&host]),
    )
    .await
    .expect_err("manifest mismatch");
    assert!(
        matches!(err, ScanError::Source(source::Error::DigestMismatch { .. })),
        "{err}"
    );

    // By tag with a lying Docker-Content-Digest header.
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), {
        let manifest = manifest.clone();
        move |req, _| {
            req.path.ends_with("/manifests/1").then(|| {
                Reply::ok(OCI_MANIFEST, manifest.clone()).with_header(
                    "Docker-Content-Digest",
                    &format!("sha256:{}", "1".repeat(64)),
                )
            })
        }
    });
    let host = fake.host().to_owned();
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
        .await
        .expect_err("header mismatch");
    assert!(
        matches!(err, ScanError::Source(source::Error::DigestMismatch { .. })),
        "{err}"
    );

    // A config that is not the one the manifest names.
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), {
        let path = format!("/v2/{REPO}/blobs/{config_digest}");
        move |req, _| {
            (req.path == path).then(|| Reply::ok("application/octet-stream", b"{}".to_vec()))
        }
    });
    let host = fake.host().to_owned();
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
        .await
        .expect_err("config mismatch");
    match err {
        ScanError::Source(source::Error::DigestMismatch { what, .. }) => assert_eq!(what, "config"),
        other => panic!("expected a config digest mismatch, got {other}"),
    }
}

#[tokio::test]
async fn endless_manifest_stops_at_the_limit() {
    let image = small_image();
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), |req, _| {
        req.path.ends_with("/manifests/1").then(|| Reply::Endless {
            headers: vec![("Content-Type".into(), OCI_MANIFEST.into())],
            chunk: vec![b' '; 64 << 10],
        })
    });
    let host = fake.host().to_owned();
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
        .await
        .expect_err("endless");
    assert!(
        matches!(
            err,
            ScanError::Source(source::Error::TooLarge { limit, .. }) if limit == 4 << 20
        ),
        "{err}"
    );
}

#[tokio::test]
async fn schema1_and_unknown_content_types_are_refused() {
    let image = small_image();
    let schema1 = br#"{"schemaVersion":1,"name":"team/app","tag":"1","architecture":"amd64","fsLayers":[],"history":[]}"#;
    for (content_type, body) in [
        (
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            schema1.to_vec(),
        ),
        ("application/json", schema1.to_vec()),
        ("application/vnd.example.unknown+json", b"{}".to_vec()),
    ] {
        let fake = FakeRegistry::start(REPO, objects(&image, "1"), move |req, _| {
            req.path
                .ends_with("/manifests/1")
                .then(|| Reply::ok(content_type, body.clone()))
        });
        let host = fake.host().to_owned();
        let err = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
            .await
            .expect_err(content_type);
        assert!(
            matches!(
                err,
                ScanError::Source(source::Error::UnsupportedMediaType { .. })
            ),
            "{content_type}: {err}"
        );
    }
}

#[tokio::test]
async fn dropped_layer_download_resumes_with_range() {
    let image = small_image();
    let victim = image.layers[1].digest.clone();
    let blob = image.layers[1].blob.clone();
    let path = format!("/v2/{REPO}/blobs/{victim}");
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), move |req, nth| {
        if req.path != path {
            return None;
        }
        if nth == 0 {
            return Some(Reply::Truncated {
                status: 200,
                headers: vec![],
                body: blob.clone(),
                sent: blob.len() / 2,
            });
        }
        let from: usize = req
            .header("range")?
            .strip_prefix("bytes=")?
            .trim_end_matches('-')
            .parse()
            .ok()?;
        Some(Reply::Full {
            status: 206,
            headers: vec![(
                "Content-Range".into(),
                format!("bytes {from}-{}/{}", blob.len() - 1, blob.len()),
            )],
            body: blob[from..].to_vec(),
        })
    });
    let host = fake.host().to_owned();
    let a = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
        .await
        .expect("resumed");
    assert!(is_package(&a, &expat()), "{:?}", packages(&a));
    let ranges: Vec<String> = fake
        .server
        .requests()
        .iter()
        .filter_map(|r| r.header("range").map(str::to_owned))
        .collect();
    assert_eq!(ranges.len(), 1, "{ranges:?}");
    assert!(ranges[0].starts_with("bytes="));
    assert_ne!(ranges[0], "bytes=0-");
}

#[tokio::test]
async fn bearer_token_dance_and_expiry() {
    let image = small_image();
    let layer = image.layers[0].digest.clone();
    let tokens = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let objects = objects(&image, "1");
    let realm = Arc::new(std::sync::Mutex::new(String::new()));
    let fake = FakeRegistry::start(REPO, objects, {
        let (tokens, realm) = (tokens.clone(), realm.clone());
        move |req, _| {
            let challenge = || {
                Reply::status(
                    401,
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"token please"}]}"#,
                )
                .with_header(
                    "WWW-Authenticate",
                    &format!(
                        r#"Bearer realm="{}",service="fake-registry""#,
                        realm.lock().expect("realm lock")
                    ),
                )
            };
            if req.path.starts_with("/token") {
                assert!(
                    req.path.contains("scope=repository%3Ateam%2Fapp%3Apull")
                        || req.path.contains("scope=repository:team/app:pull"),
                    "{}",
                    req.path
                );
                let n = tokens.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                return Some(Reply::ok(
                    "application/json",
                    format!(r#"{{"token":"token-{n}"}}"#),
                ));
            }
            let auth = req.header("authorization").unwrap_or("");
            // The first token "expires" before the first layer is read.
            let valid = auth == "Bearer token-2"
                || (auth == "Bearer token-1" && !req.path.ends_with(&layer));
            if req.path == "/v2/" || !valid {
                return Some(challenge());
            }
            None
        }
    });
    *realm.lock().expect("realm lock") = format!("http://{}/token", fake.host());
    let host = fake.host().to_owned();
    let mut settings = settings_for(&[&host]);
    settings.parallelism = 1;
    let a = scan_ref(&format!("{host}/{REPO}:1"), &settings)
        .await
        .expect("token dance");
    assert!(is_package(&a, &expat()));
    assert_eq!(tokens.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn refused_token_is_unauthorized() {
    let image = small_image();
    let realm = Arc::new(std::sync::Mutex::new(String::new()));
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), {
        let realm = realm.clone();
        move |req, _| {
            if req.path.starts_with("/token") {
                return Some(Reply::status(
                    401,
                    r#"{"details":"incorrect username or password"}"#,
                ));
            }
            Some(
                Reply::status(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#).with_header(
                    "WWW-Authenticate",
                    &format!(
                        r#"Bearer realm="{}",service="x""#,
                        realm.lock().expect("realm lock")
                    ),
                ),
            )
        }
    });
    *realm.lock().expect("realm lock") = format!("http://{}/token", fake.host());
    let host = fake.host().to_owned();
    let mut settings = settings_for(&[&host]);
    settings.registry.login = Some(source::Credential::Basic {
        username: "me".into(),
        password: source::Secret::new("hunter2"),
    });
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            ScanError::Source(source::Error::Unauthorized { ref registry, .. }) if *registry == host
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter2"));
}

#[tokio::test]
async fn index_media_type_without_matching_platform_lists_what_exists() {
    let image = small_image();
    let (manifest, _) = manifest_for(&image, Flavor::Oci);
    let index = support::registry::index_for(&[("windows", "amd64", None, &manifest)], Flavor::Oci);
    let mut objs = objects(&image, "other");
    objs.push(("manifests/1".into(), OCI_INDEX.into(), index));
    let fake = FakeRegistry::start(REPO, objs, |_, _| None);
    let host = fake.host().to_owned();
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[&host]))
        .await
        .expect_err("no linux");
    assert_eq!(
        err.to_string(),
        "no manifest for platform linux/amd64 (the index has: windows/amd64)"
    );
}

#[tokio::test]
async fn https_to_a_plain_http_registry_fails_fast_with_a_hint() {
    let image = small_image();
    let fake = FakeRegistry::start(REPO, objects(&image, "1"), |_, _| None);
    let host = fake.host().to_owned();
    // Not listed as insecure: TLS is tried, and the answer is plain HTTP.
    let err = scan_ref(&format!("{host}/{REPO}:1"), &settings_for(&[]))
        .await
        .expect_err("TLS to plain HTTP");
    assert!(err.to_string().contains("plain HTTP"), "{err}");
    assert!(!err.to_string().contains("tries"), "retried: {err}");
    assert_eq!(fake.server.requests().len(), 1);
}
