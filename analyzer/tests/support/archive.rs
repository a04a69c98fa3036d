//! Image archives as the tools write them: `docker save` before Docker 25 (uncompressed
//! `<id>/layer.tar`, `<config-hex>.json`, repeated layers as symlinks), `docker save` from
//! Docker 25 on (an OCI layout plus `manifest.json` naming `blobs/sha256/<hex>`), and a tar of
//! an OCI layout (`oci-archive`).

use super::image::{BuiltLayer, Image, sha256};
use std::io::Read as _;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerSave {
    /// Before Docker 25: `<id>/layer.tar` holding the uncompressed tar.
    Legacy,
    /// Before Docker 25 layout, but the layer files kept compressed as pushed (what some
    /// tools write into docker-archives).
    LegacyCompressed,
    /// Docker 25+: an OCI layout with `manifest.json` beside it.
    OciLayout,
}

fn append(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, name, data).unwrap();
}

fn append_symlink(b: &mut tar::Builder<Vec<u8>>, name: &str, target: &str) {
    let mut h = tar::Header::new_ustar();
    h.set_size(0);
    h.set_mode(0o777);
    h.set_entry_type(tar::EntryType::Symlink);
    b.append_link(&mut h, name, target).unwrap();
}

fn append_dir(b: &mut tar::Builder<Vec<u8>>, name: &str) {
    let mut h = tar::Header::new_ustar();
    h.set_size(0);
    h.set_mode(0o755);
    h.set_entry_type(tar::EntryType::Directory);
    b.append_data(&mut h, name, &[][..]).unwrap();
}

/// The uncompressed tar of a layer blob.
pub fn uncompressed(layer: &BuiltLayer) -> Vec<u8> {
    let b = &layer.blob;
    let mut out = Vec::new();
    if b.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(b.as_slice())
            .read_to_end(&mut out)
            .unwrap();
    } else if b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        out = zstd::decode_all(b.as_slice()).unwrap();
    } else {
        out.clone_from(b);
    }
    out
}

fn hex(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// A `docker save` archive of one image tagged `repo_tag`.
pub fn docker_archive(image: &Image, repo_tag: &str, style: DockerSave) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let (manifest, config) = image.manifest_and_config();
    let mut layer_paths = Vec::new();
    let config_path = match style {
        DockerSave::Legacy | DockerSave::LegacyCompressed => {
            let mut written: Vec<(String, String)> = Vec::new();
            for (i, l) in image.layers.iter().enumerate() {
                let (bytes, key) = if style == DockerSave::Legacy {
                    (uncompressed(l), l.diff_id.clone())
                } else {
                    (l.blob.clone(), l.digest.clone())
                };
                // Docker's layer ids chain the parent's; any unique string does here.
                let id = hex(&sha256(format!("{i}{key}").as_bytes())).to_owned();
                let path = format!("{id}/layer.tar");
                append_dir(&mut b, &format!("{id}/"));
                append(&mut b, &format!("{id}/VERSION"), b"1.0");
                match written.iter().find(|(k, _)| *k == key) {
                    Some((_, first)) => append_symlink(&mut b, &path, &format!("../{first}")),
                    None => {
                        append(&mut b, &path, &bytes);
                        written.push((key, path.clone()));
                    }
                }
                layer_paths.push(path);
            }
            let p = format!("{}.json", hex(&sha256(&config)));
            append(&mut b, &p, &config);
            p
        }
        DockerSave::OciLayout => {
            let mut seen = std::collections::HashSet::new();
            append_dir(&mut b, "blobs/");
            append_dir(&mut b, "blobs/sha256/");
            for l in &image.layers {
                let path = format!("blobs/sha256/{}", hex(&l.digest));
                if seen.insert(path.clone()) {
                    append(&mut b, &path, &l.blob);
                }
                layer_paths.push(path);
            }
            let p = format!("blobs/sha256/{}", hex(&sha256(&config)));
            append(&mut b, &p, &config);
            append(
                &mut b,
                &format!("blobs/sha256/{}", hex(&sha256(&manifest))),
                &manifest,
            );
            append(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
            let index = serde_json::json!({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": sha256(&manifest), "size": manifest.len(),
                    "annotations": {"io.containerd.image.name": repo_tag, "org.opencontainers.image.ref.name": "latest"}}],
            });
            append(&mut b, "index.json", &serde_json::to_vec(&index).unwrap());
            p
        }
    };
    let saved = serde_json::json!([{
        "Config": config_path, "RepoTags": [repo_tag], "Layers": layer_paths,
    }]);
    append(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&saved).unwrap(),
    );
    if style != DockerSave::OciLayout {
        let (name, tag) = repo_tag.rsplit_once(':').unwrap_or((repo_tag, "latest"));
        let repositories = serde_json::json!({ name: { tag: hex(&sha256(&config)) } });
        append(
            &mut b,
            "repositories",
            &serde_json::to_vec(&repositories).unwrap(),
        );
    }
    b.into_inner().unwrap()
}

/// A tar of the OCI layout `Image::write_oci_dir` writes, members named `./...` like
/// `tar -C dir .` would.
pub fn oci_archive(image: &Image, tag: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    image.write_oci_dir(dir.path(), tag);
    let mut b = tar::Builder::new(Vec::new());
    add_tree(&mut b, dir.path(), dir.path());
    b.into_inner().unwrap()
}

fn add_tree(b: &mut tar::Builder<Vec<u8>>, root: &Path, dir: &Path) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let rel = format!("./{}", p.strip_prefix(root).unwrap().display());
        if p.is_dir() {
            append_dir(b, &format!("{rel}/"));
            add_tree(b, root, &p);
        } else {
            append(b, &rel, &std::fs::read(&p).unwrap());
        }
    }
}
