//! The loopback test registries (`tests/start-registries.sh`, started by `.ci/run`) and a
//! small client that pushes images to them through the Distribution HTTP API (upload a blob
//! with POST + PUT, then PUT the manifest), in OCI or Docker v2 schema 2 media types.
//!
//! `PLIMSOLL_TEST_REGISTRY` names the open registry, `PLIMSOLL_TEST_REGISTRY_AUTH` the one
//! with htpasswd basic auth (user `plimsoll`, password `s3cret`). When one is unset the test
//! is skipped with a notice, except under `CI=true`, where it fails: CI must not pass a test
//! it did not run.

use super::image::{Image, sha256};
use plimsoll_analyzer::settings::ScanSettings;
use std::time::Duration;

pub const AUTH_USER: &str = "plimsoll";
pub const AUTH_PASSWORD: &str = "s3cret";

/// The registry address in `var`, or `None` (skip) outside CI.
#[allow(clippy::print_stderr)]
pub fn registry_from_env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{var} is not set but CI=true: run the tests through .ci/run, which starts the \
             test registries"
        ),
        _ => {
            eprintln!(
                "SKIPPED: {var} is not set; start the test registries with \
                 `eval \"$(tests/start-registries.sh)\"` to run this test"
            );
            None
        }
    }
}

/// The open registry, or skip.
pub fn open_registry() -> Option<String> {
    registry_from_env("PLIMSOLL_TEST_REGISTRY")
}

/// The basic-auth registry, or skip.
pub fn auth_registry() -> Option<String> {
    registry_from_env("PLIMSOLL_TEST_REGISTRY_AUTH")
}

/// Scan settings for loopback registries: plain HTTP, quick retries.
pub fn settings_for(hosts: &[&str]) -> ScanSettings {
    let mut s = ScanSettings::default();
    s.registry.insecure_hosts = hosts.iter().map(|h| (*h).to_owned()).collect();
    s.registry.backoff = Duration::from_millis(10);
    s.registry.max_backoff = Duration::from_millis(50);
    s.registry.connect_timeout = Duration::from_secs(5);
    s.registry.read_timeout = Duration::from_secs(10);
    s
}

/// A repository name nobody else uses (tests share the registry and run in parallel).
pub fn unique_repo(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "plimsoll-test/{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Oci,
    Docker,
}

/// The manifest of `image` in either flavor, and its config.
pub fn manifest_for(image: &Image, flavor: Flavor) -> (Vec<u8>, Vec<u8>) {
    let (manifest, config) = image.manifest_and_config();
    if flavor == Flavor::Oci {
        return (manifest, config);
    }
    let mut m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    m["mediaType"] = DOCKER_MANIFEST.into();
    m["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json".into();
    for l in m["layers"].as_array_mut().unwrap() {
        let docker = match l["mediaType"].as_str().unwrap() {
            "application/vnd.oci.image.layer.v1.tar+gzip" => {
                "application/vnd.docker.image.rootfs.diff.tar.gzip"
            }
            "application/vnd.oci.image.layer.v1.tar" => {
                "application/vnd.docker.image.rootfs.diff.tar"
            }
            other => panic!("no Docker media type for {other}"),
        };
        l["mediaType"] = docker.into();
    }
    (serde_json::to_vec(&m).unwrap(), config)
}

/// An index over `(os, architecture, variant, manifest)` entries.
pub fn index_for(entries: &[(&str, &str, Option<&str>, &[u8])], flavor: Flavor) -> Vec<u8> {
    let (index_type, manifest_type) = match flavor {
        Flavor::Oci => (OCI_INDEX, OCI_MANIFEST),
        Flavor::Docker => (DOCKER_LIST, DOCKER_MANIFEST),
    };
    let manifests: Vec<serde_json::Value> = entries
        .iter()
        .map(|(os, arch, variant, m)| {
            let mut platform = serde_json::json!({"os": os, "architecture": arch});
            if let Some(v) = variant {
                platform["variant"] = (*v).into();
            }
            serde_json::json!({"mediaType": manifest_type, "digest": sha256(m), "size": m.len(), "platform": platform})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": index_type, "manifests": manifests,
    }))
    .unwrap()
}

/// Pushes to one registry over plain HTTP.
pub struct Pusher {
    host: String,
    client: reqwest::Client,
    basic: Option<(String, String)>,
}

impl Pusher {
    pub fn new(host: &str) -> Self {
        Self {
            host: host.to_owned(),
            client: reqwest::Client::new(),
            basic: None,
        }
    }

    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        self.basic = Some((user.to_owned(), password.to_owned()));
        self
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.basic {
            Some((u, p)) => req.basic_auth(u, Some(p)),
            None => req,
        }
    }

    /// Uploads `bytes` as the blob `digest` (normally their sha256; a test may lie). Returns
    /// the registry's status for the final PUT.
    pub async fn blob_as(&self, repo: &str, digest: &str, bytes: &[u8]) -> reqwest::StatusCode {
        let start = self
            .auth(
                self.client
                    .post(format!("http://{}/v2/{repo}/blobs/uploads/", self.host)),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), 202, "starting an upload to {repo}");
        let location = start
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let mut url = if location.starts_with("http") {
            location
        } else {
            format!("http://{}{location}", self.host)
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={digest}"));
        self.auth(self.client.put(url))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Uploads a blob; returns its digest.
    pub async fn blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let status = self.blob_as(repo, &digest, bytes).await;
        assert_eq!(status, 201, "uploading blob {digest} to {repo}");
        digest
    }

    /// PUTs a manifest under `reference` (tag or digest); returns the registry's status.
    pub async fn manifest_status(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> reqwest::StatusCode {
        self.auth(self.client.put(format!(
            "http://{}/v2/{repo}/manifests/{reference}",
            self.host
        )))
        .header("content-type", media_type)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
        .status()
    }

    /// PUTs a manifest; returns its digest.
    pub async fn manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let status = self
            .manifest_status(repo, reference, media_type, bytes)
            .await;
        assert_eq!(status, 201, "pushing manifest {reference} to {repo}");
        sha256(bytes)
    }

    /// Pushes the layers and config of `image` and its manifest, untagged. Returns the
    /// manifest bytes and digest.
    pub async fn image_blobs(
        &self,
        repo: &str,
        image: &Image,
        flavor: Flavor,
    ) -> (Vec<u8>, String) {
        for l in &image.layers {
            self.blob(repo, &l.blob).await;
        }
        let (manifest, config) = manifest_for(image, flavor);
        self.blob(repo, &config).await;
        let media_type = match flavor {
            Flavor::Oci => OCI_MANIFEST,
            Flavor::Docker => DOCKER_MANIFEST,
        };
        let digest = self
            .manifest(repo, &sha256(&manifest), media_type, &manifest)
            .await;
        (manifest, digest)
    }

    /// Pushes a whole image and tags it; returns the manifest digest.
    pub async fn image(&self, repo: &str, tag: &str, image: &Image, flavor: Flavor) -> String {
        let (manifest, _) = self.image_blobs(repo, image, flavor).await;
        let media_type = match flavor {
            Flavor::Oci => OCI_MANIFEST,
            Flavor::Docker => DOCKER_MANIFEST,
        };
        self.manifest(repo, tag, media_type, &manifest).await
    }

    /// Pushes several platform images and an index over them tagged `tag`; returns the index
    /// digest and the manifest digests in order.
    pub async fn index(
        &self,
        repo: &str,
        tag: &str,
        platforms: &[(&str, &str, Option<&str>, &Image)],
        flavor: Flavor,
    ) -> (String, Vec<String>) {
        let mut manifests = Vec::new();
        for (_, _, _, image) in platforms {
            manifests.push(self.image_blobs(repo, image, flavor).await);
        }
        let entries: Vec<(&str, &str, Option<&str>, &[u8])> = platforms
            .iter()
            .zip(&manifests)
            .map(|((os, arch, variant, _), (m, _))| (*os, *arch, *variant, m.as_slice()))
            .collect();
        let index = index_for(&entries, flavor);
        let media_type = match flavor {
            Flavor::Oci => OCI_INDEX,
            Flavor::Docker => DOCKER_LIST,
        };
        let digest = self.manifest(repo, tag, media_type, &index).await;
        (digest, manifests.into_iter().map(|(_, d)| d).collect())
    }
}
