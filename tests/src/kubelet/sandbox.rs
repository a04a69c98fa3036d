//! A pod's files on this machine: volumes materialised in a per-pod directory, and the
//! translation of container paths (mount paths) to host paths.
//!
//! There is no mount namespace: a process sees the host filesystem. So each volume lives in
//! `<pod dir>/volumes/<name>`, every mount also appears under `<pod dir>/rootfs/<mountPath>`
//! (a symlink), and paths are *rewritten*: in `command`, `args`, env values and `workingDir`,
//! an occurrence of a mount path (at the start of the value, or after `=`, `:` or `,`, and
//! followed by the end, `/`, `:` or `,`) becomes the host path. `KUBE_SIM_ROOTFS` names the
//! rootfs directory for programs that want to translate paths themselves.
//!
//! Volume kinds: `emptyDir`, `secret`, `configMap`, `projected` (secret, configMap,
//! serviceAccountToken, downwardAPI sources), `downwardAPI`; others (`persistentVolumeClaim`,
//! `ephemeral`, `csi`) are empty directories. `hostPath` is refused by Pod Security before it
//! gets here, and is an empty directory too. The service-account token is mounted at
//! `/var/run/secrets/kubernetes.io/serviceaccount` unless `automountServiceAccountToken: false`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use crate::kubelet::env::Lookup;

pub const SA_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const SA_VOLUME: &str = "kube-sim-api-access";

pub struct Sandbox {
    pub root: PathBuf,
    pub rootfs: PathBuf,
    volumes: Vec<(String, PathBuf)>,
}

#[derive(Clone, Debug, Default)]
pub struct Mounts(Vec<(String, PathBuf)>);

fn write_file(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), String> {
    let rel = rel.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return Err(format!("invalid item path {rel:?}"));
    }
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
    }
    std::fs::write(&path, bytes).map_err(|e| format!("write {}: {e}", path.display()))
}

/// The key -> bytes pairs of a Secret or ConfigMap.
fn entries(kind: &str, obj: &Value) -> Vec<(String, Vec<u8>)> {
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    if let Some(m) = obj["data"].as_object() {
        for (k, v) in m {
            let s = v.as_str().unwrap_or("");
            out.push((
                k.clone(),
                if kind == "Secret" {
                    b64(s)
                } else {
                    s.as_bytes().to_vec()
                },
            ));
        }
    }
    if let Some(m) = obj["binaryData"].as_object() {
        for (k, v) in m {
            out.push((k.clone(), b64(v.as_str().unwrap_or(""))));
        }
    }
    out
}

/// Writes a Secret or ConfigMap source (`items` select and rename keys).
fn project(dir: &Path, kind: &str, source: &Value, lookup: &Lookup<'_>) -> Result<(), String> {
    let name = source["name"]
        .as_str()
        .or_else(|| source["secretName"].as_str())
        .unwrap_or("");
    let optional = source["optional"].as_bool().unwrap_or(false);
    let Some(obj) = lookup(kind, name) else {
        return if optional {
            Ok(())
        } else {
            Err(format!(
                "{} {name:?} not found",
                if kind == "Secret" {
                    "secret"
                } else {
                    "configmap"
                }
            ))
        };
    };
    let all = entries(kind, &obj);
    match source["items"].as_array() {
        Some(items) => {
            for item in items {
                let key = item["key"].as_str().unwrap_or("");
                let path = item["path"].as_str().unwrap_or(key);
                match all.iter().find(|(k, _)| k == key) {
                    Some((_, bytes)) => write_file(dir, path, bytes)?,
                    None if optional => {}
                    None => return Err(format!("couldn't find key {key} in {kind} {name}")),
                }
            }
        }
        None => {
            for (k, bytes) in &all {
                write_file(dir, k, bytes)?;
            }
        }
    }
    Ok(())
}

fn downward(dir: &Path, items: &Value, pod: &Value) -> Result<(), String> {
    for item in items.as_array().into_iter().flatten() {
        let path = item["path"].as_str().unwrap_or("");
        let field = item["fieldRef"]["fieldPath"].as_str().unwrap_or("");
        let text = match field {
            "metadata.labels" | "metadata.annotations" => pod["metadata"][&field[9..]]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}\n", v))
                        .collect::<String>()
                })
                .unwrap_or_default(),
            _ => crate::apiserver::meta::path(pod, field)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        };
        write_file(dir, path, text.as_bytes())?;
    }
    Ok(())
}

impl Sandbox {
    /// Creates the pod directory and every volume. `sa` is `(token, namespace)` when a token
    /// is to be mounted.
    pub fn create(
        root: PathBuf,
        pod: &Value,
        lookup: &Lookup<'_>,
        sa: Option<(&str, &str)>,
    ) -> Result<Self, String> {
        let rootfs = root.join("rootfs");
        std::fs::create_dir_all(&rootfs)
            .map_err(|e| format!("create {}: {e}", rootfs.display()))?;
        let mut volumes = Vec::new();
        for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
            let name = v["name"].as_str().unwrap_or("");
            let dir = root.join("volumes").join(name);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| format!("reset {}: {e}", dir.display()))?;
            }
            std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
            if let Some(s) = v.get("secret") {
                project(&dir, "Secret", s, lookup)?;
            } else if let Some(c) = v.get("configMap") {
                project(&dir, "ConfigMap", c, lookup)?;
            } else if let Some(d) = v.get("downwardAPI") {
                downward(&dir, &d["items"], pod)?;
            } else if let Some(p) = v.get("projected") {
                for source in p["sources"].as_array().into_iter().flatten() {
                    if let Some(s) = source.get("secret") {
                        project(&dir, "Secret", s, lookup)?;
                    } else if let Some(c) = source.get("configMap") {
                        project(&dir, "ConfigMap", c, lookup)?;
                    } else if let Some(d) = source.get("downwardAPI") {
                        downward(&dir, &d["items"], pod)?;
                    } else if let Some(t) = source.get("serviceAccountToken") {
                        let token = sa.map_or("", |(t, _)| t);
                        write_file(
                            &dir,
                            t["path"].as_str().unwrap_or("token"),
                            token.as_bytes(),
                        )?;
                    }
                }
            }
            volumes.push((name.to_owned(), dir));
        }
        if let Some((token, ns)) = sa {
            let dir = root.join("volumes").join(SA_VOLUME);
            std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
            write_file(&dir, "token", token.as_bytes())?;
            write_file(&dir, "namespace", ns.as_bytes())?;
            // No TLS is served: the CA bundle is empty on purpose.
            write_file(&dir, "ca.crt", b"")?;
            volumes.push((SA_VOLUME.to_owned(), dir));
        }
        Ok(Self {
            root,
            rootfs,
            volumes,
        })
    }

    /// The container's mounts (longest mount path first), with their rootfs symlinks made.
    pub fn mounts_for(&self, container: &Value, automount_sa: bool) -> Result<Mounts, String> {
        let mut mounts = Vec::new();
        for m in container["volumeMounts"].as_array().into_iter().flatten() {
            let name = m["name"].as_str().unwrap_or("");
            let path = m["mountPath"].as_str().unwrap_or("");
            let Some((_, dir)) = self.volumes.iter().find(|(n, _)| n == name) else {
                return Err(format!("volume {name:?} not found for mount {path:?}"));
            };
            let host = match m["subPath"].as_str().filter(|s| !s.is_empty()) {
                Some(sub) if !sub.split('/').any(|c| c == "..") => dir.join(sub),
                Some(sub) => return Err(format!("invalid subPath {sub:?}")),
                None => dir.clone(),
            };
            mounts.push((path.trim_end_matches('/').to_owned(), host));
        }
        if automount_sa
            && !mounts.iter().any(|(p, _)| p == SA_MOUNT)
            && let Some((_, dir)) = self.volumes.iter().find(|(n, _)| n == SA_VOLUME)
        {
            mounts.push((SA_MOUNT.to_owned(), dir.clone()));
        }
        mounts.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        for (path, host) in &mounts {
            let link = self.rootfs.join(path.trim_start_matches('/'));
            if let Some(parent) = link.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("create {}: {e}", parent.display()))?;
            }
            if std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(host, &link)
                    .map_err(|e| format!("link {}: {e}", link.display()))?;
            }
        }
        Ok(Mounts(mounts))
    }
}

impl Mounts {
    /// The host path of a container path under some mount.
    pub fn host_path(&self, container_path: &str) -> Option<PathBuf> {
        self.0.iter().find_map(|(m, host)| {
            let rest = container_path.strip_prefix(m.as_str())?;
            if rest.is_empty() {
                Some(host.clone())
            } else {
                rest.strip_prefix('/').map(|r| host.join(r))
            }
        })
    }

    /// Rewrites every mount path occurrence in `s` (see the module doc for the boundaries).
    pub fn rewrite(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let bytes = s.as_bytes();
        'outer: while i < s.len() {
            let at_boundary = i == 0 || matches!(bytes[i - 1], b'=' | b':' | b',');
            if at_boundary && bytes[i] == b'/' {
                for (m, host) in &self.0 {
                    if s[i..].starts_with(m.as_str()) {
                        let end = i + m.len();
                        if end == s.len() || matches!(bytes[end], b'/' | b':' | b',') {
                            out.push_str(&host.to_string_lossy());
                            i = end;
                            continue 'outer;
                        }
                    }
                }
            }
            let ch = s[i..].chars().next().unwrap_or('\0');
            out.push(ch);
            i += ch.len_utf8().max(1);
        }
        out
    }

    pub fn has(&self, container_path: &str) -> bool {
        self.0.iter().any(|(m, _)| m == container_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(kind: &str, name: &str) -> Option<Value> {
        (kind == "Secret" && name == "pull")
            .then(|| json!({"data": {".dockerconfigjson": "e30=", "other": "eA=="}}))
    }

    #[test]
    fn volumes_and_rewrites() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pod = json!({"metadata": {"name": "p", "namespace": "ns", "labels": {"a": "b"}}, "spec": {"volumes": [
            {"name": "tmp", "emptyDir": {}},
            {"name": "auth", "secret": {"secretName": "pull", "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}},
            {"name": "info", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}}
        ]}});
        let sb = Sandbox::create(dir.path().join("pod"), &pod, &lookup, Some(("tok", "ns")))
            .expect("sandbox");
        let c = json!({"volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "auth", "mountPath": "/home/app/.docker"},
            {"name": "info", "mountPath": "/etc/podinfo"}
        ]});
        let m = sb.mounts_for(&c, true).expect("mounts");
        let auth = m
            .host_path("/home/app/.docker/config.json")
            .expect("under a mount");
        assert_eq!(std::fs::read_to_string(auth).expect("written"), "{}");
        let name = m.host_path("/etc/podinfo/name").expect("under a mount");
        assert_eq!(std::fs::read_to_string(name).expect("written"), "p");
        let token = m
            .host_path(&format!("{SA_MOUNT}/token"))
            .expect("token mounted");
        assert_eq!(std::fs::read_to_string(token).expect("written"), "tok");
        let tmp = m.host_path("/tmp").expect("mounted");
        assert_eq!(
            m.rewrite("--dir=/tmp/x"),
            format!("--dir={}/x", tmp.display())
        );
        assert_eq!(m.rewrite("/tmp"), tmp.display().to_string());
        assert_eq!(m.rewrite("/tmpfoo /tmp2 x/tmp"), "/tmpfoo /tmp2 x/tmp");
        assert_eq!(m.rewrite("a:/tmp:b"), format!("a:{}:b", tmp.display()));
        assert!(sb.rootfs.join("tmp").exists());
    }

    #[test]
    fn missing_secret_blocks_the_pod() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pod = json!({"spec": {"volumes": [{"name": "s", "secret": {"secretName": "nope"}}]}});
        let err = Sandbox::create(dir.path().join("pod"), &pod, &lookup, None).err();
        assert_eq!(err.as_deref(), Some("secret \"nope\" not found"));
    }
}
