//! Layers as tars (gzip, zstd or plain), configs and manifests, written as an OCI image
//! layout. Hostile entries (names with `..`, absolute names, devices) are written raw, as an
//! attacker's tool would.

use sha2::{Digest as _, Sha256};
use std::io::Write as _;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

#[derive(Debug, Clone)]
enum Entry {
    File {
        name: Vec<u8>,
        mode: u32,
        uid: u64,
        gid: u64,
        data: Vec<u8>,
    },
    Dir {
        name: Vec<u8>,
        mode: u32,
    },
    Symlink {
        name: Vec<u8>,
        target: Vec<u8>,
    },
    Hardlink {
        name: Vec<u8>,
        target: Vec<u8>,
    },
    Char {
        name: Vec<u8>,
    },
    Tar(Vec<u8>),
}

/// A layer under construction.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    entries: Vec<Entry>,
}

impl Layer {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn file(mut self, name: &str, data: impl AsRef<[u8]>) -> Self {
        self.entries.push(Entry::File {
            name: name.into(),
            mode: 0o644,
            uid: 0,
            gid: 0,
            data: data.as_ref().to_vec(),
        });
        self
    }
    pub fn file_mode(mut self, name: &str, mode: u32, data: impl AsRef<[u8]>) -> Self {
        self.entries.push(Entry::File {
            name: name.into(),
            mode,
            uid: 0,
            gid: 0,
            data: data.as_ref().to_vec(),
        });
        self
    }
    pub fn raw_file(mut self, name: &[u8], data: impl AsRef<[u8]>) -> Self {
        self.entries.push(Entry::File {
            name: name.to_vec(),
            mode: 0o644,
            uid: 0,
            gid: 0,
            data: data.as_ref().to_vec(),
        });
        self
    }
    pub fn dir(mut self, name: &str) -> Self {
        self.entries.push(Entry::Dir {
            name: name.into(),
            mode: 0o755,
        });
        self
    }
    pub fn symlink(mut self, name: &str, target: &str) -> Self {
        self.entries.push(Entry::Symlink {
            name: name.into(),
            target: target.into(),
        });
        self
    }
    pub fn hardlink(mut self, name: &str, target: &str) -> Self {
        self.entries.push(Entry::Hardlink {
            name: name.into(),
            target: target.into(),
        });
        self
    }
    pub fn char_device(mut self, name: &str) -> Self {
        self.entries.push(Entry::Char { name: name.into() });
        self
    }
    /// `.wh.NAME` beside `path`'s file name.
    pub fn whiteout(self, path: &str) -> Self {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let wh = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        self.file(&wh, b"")
    }
    pub fn opaque(self, dir: &str) -> Self {
        self.file(&format!("{}/.wh..wh..opq", dir.trim_end_matches('/')), b"")
    }
    /// Appends every entry of an existing tar stream (e.g. a .deb's data.tar).
    pub fn tar(mut self, tar: Vec<u8>) -> Self {
        self.entries.push(Entry::Tar(tar));
        self
    }

    /// The uncompressed tar.
    pub fn to_tar(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for e in &self.entries {
            match e {
                Entry::File {
                    name,
                    mode,
                    uid,
                    gid,
                    data,
                } => {
                    let mut h = header(name, tar::EntryType::Regular, *mode, data.len() as u64);
                    h.set_uid(*uid);
                    h.set_gid(*gid);
                    h.set_cksum();
                    b.append(&h, data.as_slice()).unwrap();
                }
                Entry::Dir { name, mode } => {
                    let h = header(name, tar::EntryType::Directory, *mode, 0);
                    b.append(&h, &[][..]).unwrap();
                }
                Entry::Symlink { name, target } | Entry::Hardlink { name, target } => {
                    let kind = if matches!(e, Entry::Symlink { .. }) {
                        tar::EntryType::Symlink
                    } else {
                        tar::EntryType::Link
                    };
                    let mut h = header(name, kind, 0o777, 0);
                    h.as_old_mut().linkname[..target.len()].copy_from_slice(target);
                    h.set_cksum();
                    b.append(&h, &[][..]).unwrap();
                }
                Entry::Char { name } => {
                    let h = header(name, tar::EntryType::Char, 0o666, 0);
                    b.append(&h, &[][..]).unwrap();
                }
                Entry::Tar(t) => {
                    let mut a = tar::Archive::new(t.as_slice());
                    for entry in a.entries().unwrap() {
                        let mut entry = entry.unwrap();
                        let mut h = entry.header().clone();
                        let path = entry.path_bytes().into_owned();
                        let mut data = Vec::new();
                        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
                        if path.len() > 99 {
                            b.append_data(
                                &mut h,
                                String::from_utf8_lossy(&path).as_ref(),
                                data.as_slice(),
                            )
                            .unwrap();
                        } else {
                            b.append(&h, data.as_slice()).unwrap();
                        }
                    }
                }
            }
        }
        b.into_inner().unwrap()
    }

    pub fn build(&self, compression: Compression) -> BuiltLayer {
        let tar = self.to_tar();
        BuiltLayer::from_tar(tar, compression)
    }
}

/// A GNU header whose name bytes are written raw (no validation: hostile names welcome).
fn header(name: &[u8], kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    assert!(
        name.len() < 100,
        "raw names must fit the 100-byte header field"
    );
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    h
}

/// A layer blob and its digests.
#[derive(Debug, Clone)]
pub struct BuiltLayer {
    pub blob: Vec<u8>,
    pub digest: String,
    pub diff_id: String,
    pub media_type: String,
}

impl BuiltLayer {
    pub fn from_tar(tar: Vec<u8>, compression: Compression) -> Self {
        let diff_id = sha256(&tar);
        let (blob, media_type) = match compression {
            Compression::Gzip => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(&tar).unwrap();
                (
                    e.finish().unwrap(),
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                )
            }
            Compression::Zstd => (
                zstd::encode_all(tar.as_slice(), 3).unwrap(),
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
            Compression::None => (tar, "application/vnd.oci.image.layer.v1.tar"),
        };
        Self {
            digest: sha256(&blob),
            blob,
            diff_id,
            media_type: media_type.into(),
        }
    }
}

pub fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// An image: layers plus the config fields tests care about.
#[derive(Debug, Clone)]
pub struct Image {
    pub layers: Vec<BuiltLayer>,
    pub architecture: String,
    pub user: Option<String>,
    pub env: Vec<String>,
    pub exposed_ports: Vec<String>,
    pub cmd: Vec<String>,
    pub labels: Vec<(String, String)>,
    /// One `created_by` per layer; extra empty-layer history entries are appended after.
    pub history: Vec<String>,
    pub healthcheck: Option<Vec<String>>,
}

impl Image {
    pub fn new(layers: Vec<BuiltLayer>) -> Self {
        let history = (0..layers.len())
            .map(|i| format!("/bin/sh -c #(nop) ADD file:layer{i} in / "))
            .collect();
        Self {
            layers,
            architecture: "amd64".into(),
            user: None,
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            exposed_ports: vec![],
            cmd: vec!["sh".into()],
            labels: vec![],
            history,
            healthcheck: None,
        }
    }

    pub fn config_json(&self) -> Vec<u8> {
        let ports: serde_json::Map<String, serde_json::Value> = self
            .exposed_ports
            .iter()
            .map(|p| (p.clone(), serde_json::json!({})))
            .collect();
        let labels: serde_json::Map<String, serde_json::Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!(v)))
            .collect();
        let mut cfg = serde_json::json!({
            "Env": self.env, "Cmd": self.cmd, "ExposedPorts": ports, "Labels": labels,
        });
        if let Some(u) = &self.user {
            cfg["User"] = serde_json::json!(u);
        }
        if let Some(h) = &self.healthcheck {
            cfg["Healthcheck"] = serde_json::json!({ "Test": h });
        }
        let history: Vec<serde_json::Value> = self
            .history
            .iter()
            .enumerate()
            .map(|(i, c)| serde_json::json!({"created_by": c, "empty_layer": i >= self.layers.len()}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "architecture": self.architecture, "os": "linux", "created": "2026-01-01T00:00:00Z",
            "config": cfg,
            "rootfs": {"type": "layers", "diff_ids": self.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
            "history": history,
        }))
        .unwrap()
    }

    /// The OCI manifest and config blobs: `(manifest, config)`.
    pub fn manifest_and_config(&self) -> (Vec<u8>, Vec<u8>) {
        let config = self.config_json();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
            "layers": self.layers.iter().map(|l| serde_json::json!({"mediaType": l.media_type, "digest": l.digest, "size": l.blob.len()})).collect::<Vec<_>>(),
        }))
        .unwrap();
        (manifest, config)
    }

    /// Writes an OCI image layout at `dir` with this image tagged `tag`. Returns the manifest digest.
    pub fn write_oci_dir(&self, dir: &Path, tag: &str) -> String {
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        let put = |bytes: &[u8]| {
            let d = sha256(bytes);
            std::fs::write(blobs.join(d.trim_start_matches("sha256:")), bytes).unwrap();
            d
        };
        for l in &self.layers {
            put(&l.blob);
        }
        let (manifest, config) = self.manifest_and_config();
        put(&config);
        let md = put(&manifest);
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len(),
                           "annotations": {"org.opencontainers.image.ref.name": tag}}],
        });
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        md
    }
}
