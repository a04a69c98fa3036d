//! Manifests and indexes, Docker v2 schema 2 and OCI alike (same JSON shape, different media
//! types), and platform selection.

use super::Error;
use crate::settings::Platform;
use serde::Deserialize;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaTypeClass {
    Manifest,
    Index,
}

impl MediaTypeClass {
    /// What a manifest media type is, or `None` for one we do not read (schema 1, artifacts).
    pub fn of(media_type: &str) -> Option<Self> {
        match media_type {
            OCI_MANIFEST | DOCKER_MANIFEST => Some(Self::Manifest),
            OCI_INDEX | DOCKER_LIST => Some(Self::Index),
            _ => None,
        }
    }

    /// Guesses from the document when the media type is missing (OCI allows that).
    pub fn sniff(doc: &[u8]) -> Option<(Self, String)> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            media_type: Option<String>,
            manifests: Option<serde_json::Value>,
            layers: Option<serde_json::Value>,
        }
        let p: Probe = serde_json::from_slice(doc).ok()?;
        if let Some(mt) = p.media_type {
            return Self::of(&mt).map(|c| (c, mt));
        }
        if p.manifests.is_some() {
            Some((Self::Index, OCI_INDEX.to_owned()))
        } else if p.layers.is_some() {
            Some((Self::Manifest, OCI_MANIFEST.to_owned()))
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct DescriptorPlatform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    #[serde(default)]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

impl ImageManifest {
    pub fn parse(what: &str, bytes: &[u8]) -> Result<Self, Error> {
        let m: Self = serde_json::from_slice(bytes).map_err(|e| Error::Malformed {
            what: what.to_owned(),
            message: e.to_string(),
        })?;
        for l in &m.layers {
            if !is_layer_media_type(&l.media_type) {
                return Err(Error::UnsupportedMediaType {
                    what: format!("layer {}", l.digest),
                    media_type: l.media_type.clone(),
                });
            }
        }
        Ok(m)
    }
}

impl ImageIndex {
    pub fn parse(what: &str, bytes: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(bytes).map_err(|e| Error::Malformed {
            what: what.to_owned(),
            message: e.to_string(),
        })
    }
}

/// Layer media types we can read: tar, gzip and zstd, OCI and Docker, including the
/// non-distributable (foreign) variants.
fn is_layer_media_type(mt: &str) -> bool {
    mt.is_empty()
        || mt.starts_with("application/vnd.oci.image.layer.")
        || mt.starts_with("application/vnd.docker.image.rootfs.")
}

/// The manifest of an index for `platform`: exact variant first, then any variant of the same
/// os/architecture (`arm64` images often omit `v8`).
pub fn select_platform<'a>(
    index: &'a ImageIndex,
    platform: &Platform,
) -> Result<&'a Descriptor, Error> {
    let candidates = || {
        index.manifests.iter().filter(|m| {
            MediaTypeClass::of(&m.media_type) == Some(MediaTypeClass::Manifest)
                || m.media_type.is_empty()
        })
    };
    let same_arch = |m: &&Descriptor| {
        m.platform
            .as_ref()
            .is_some_and(|p| p.os == platform.os && p.architecture == platform.architecture)
    };
    let exact = candidates().filter(same_arch).find(|m| {
        m.platform
            .as_ref()
            .is_some_and(|p| p.variant == platform.variant)
    });
    if let Some(m) = exact.or_else(|| candidates().find(same_arch)) {
        return Ok(m);
    }
    let available: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|m| m.platform.as_ref())
        .map(|p| match &p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        })
        .collect();
    Err(Error::PlatformNotFound {
        platform: platform.to_string(),
        available: available.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> ImageIndex {
        ImageIndex::parse(
            "index",
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
              {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,"platform":{"os":"linux","architecture":"amd64"}},
              {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
              {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":1,"platform":{"os":"unknown","architecture":"unknown"},"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}
            ]}"#,
        )
        .expect("index")
    }

    #[test]
    fn selects_platforms() {
        let i = index();
        let pick =
            |s: &str| select_platform(&i, &s.parse().expect("platform")).map(|d| d.digest.clone());
        assert_eq!(pick("linux/amd64").ok().as_deref(), Some("sha256:aa"));
        assert_eq!(pick("linux/arm64").ok().as_deref(), Some("sha256:bb"));
        assert_eq!(pick("linux/arm64/v8").ok().as_deref(), Some("sha256:bb"));
        let err = pick("linux/s390x").expect_err("no s390x");
        assert_eq!(
            err.to_string(),
            "no manifest for platform linux/s390x (the index has: linux/amd64, linux/arm64/v8, unknown/unknown)"
        );
    }

    #[test]
    fn media_types() {
        assert_eq!(MediaTypeClass::of(DOCKER_LIST), Some(MediaTypeClass::Index));
        assert_eq!(
            MediaTypeClass::of("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            None
        );
        assert_eq!(
            MediaTypeClass::sniff(br#"{"schemaVersion":2,"manifests":[]}"#).map(|x| x.0),
            Some(MediaTypeClass::Index)
        );
        let bad = ImageManifest::parse("m", br#"{"config":{"digest":"sha256:a","mediaType":"x"},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:b","size":1}]}"#);
        assert!(matches!(bad, Err(Error::UnsupportedMediaType { .. })));
    }
}
