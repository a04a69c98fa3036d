//! Layers applied in order, as overlayfs does: a layer's whiteouts and opaque markers hide
//! paths of the layers *below* it (never its own), then its entries are laid on top. A
//! directory replaced by a non-directory takes its whole subtree with it.

use super::walk::LayerScan;
use crate::model::{FileEntry, FileKind};
use std::collections::BTreeMap;

/// The squashed file system: every visible path and the layer it comes from.
///
/// The path lives once, as the map key: the stored entries' own `path` is left empty (an empty
/// `String` holds no heap memory) and put back by [`Squashed::into_entries`]. With a million
/// paths that is tens of megabytes saved.
#[derive(Debug, Default)]
pub struct Squashed {
    files: BTreeMap<String, FileEntry>,
}

impl Squashed {
    /// The layer that holds the visible version of `path`.
    pub fn layer_of(&self, path: &str) -> Option<usize> {
        self.files.get(path).map(|e| e.layer)
    }

    /// True when `path` as written by `layer` is what a container sees.
    pub fn is_visible(&self, path: &str, layer: usize) -> bool {
        self.layer_of(path) == Some(layer)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Every visible path with its entry (whose own `path` field is empty).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FileEntry)> {
        self.files.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn into_entries(self) -> Vec<FileEntry> {
        self.files
            .into_iter()
            .map(|(path, mut e)| {
                e.path = path;
                e
            })
            .collect()
    }

    fn remove_tree(&mut self, root: &str, keep_root: bool) {
        let prefix = if root == "/" {
            "/".to_owned()
        } else {
            format!("{root}/")
        };
        let doomed: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.files.remove(&k);
        }
        if !keep_root {
            self.files.remove(root);
        }
    }
}

/// Squashes the layers (given in image order) into the visible file system.
pub fn squash<'a>(layers: impl IntoIterator<Item = &'a LayerScan>) -> Squashed {
    let mut fs = Squashed::default();
    for layer in layers {
        fs.apply(layer, layer.entries.iter().cloned());
    }
    fs
}

/// Like [`squash`], but moves the layers' entries instead of copying them (they are left
/// empty), so an image with millions of paths is held once, not twice.
pub fn squash_taking(layers: &mut [LayerScan]) -> Squashed {
    let mut fs = Squashed::default();
    for layer in layers.iter_mut() {
        let entries = std::mem::take(&mut layer.entries);
        fs.apply(layer, entries.into_iter());
    }
    fs
}

impl Squashed {
    fn apply(&mut self, layer: &LayerScan, entries: impl Iterator<Item = FileEntry>) {
        for dir in &layer.opaque_dirs {
            self.remove_tree(dir, true);
        }
        for path in &layer.whiteouts {
            self.remove_tree(path, false);
        }
        for entry in entries {
            if entry.kind != FileKind::Dir
                && self
                    .files
                    .get(&entry.path)
                    .is_some_and(|prev| prev.kind == FileKind::Dir)
            {
                self.remove_tree(&entry.path, true);
            }
            self.files.insert(entry.path.clone(), entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: FileKind, layer: usize) -> FileEntry {
        FileEntry {
            path: path.into(),
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 1,
            link_target: None,
            layer,
            sha256: None,
            md5: None,
        }
    }

    fn layer(
        index: usize,
        entries: &[(&str, FileKind)],
        whiteouts: &[&str],
        opaque: &[&str],
    ) -> LayerScan {
        LayerScan {
            index,
            entries: entries.iter().map(|(p, k)| entry(p, *k, index)).collect(),
            whiteouts: whiteouts.iter().map(|s| s.to_string()).collect(),
            opaque_dirs: opaque.iter().map(|s| s.to_string()).collect(),
            ..LayerScan::default()
        }
    }

    fn paths(fs: &Squashed) -> Vec<(String, usize)> {
        fs.iter().map(|(p, e)| (p.to_owned(), e.layer)).collect()
    }

    #[test]
    fn whiteout_removes_file_and_subtree() {
        let l0 = layer(
            0,
            &[
                ("/a", FileKind::Dir),
                ("/a/x", FileKind::File),
                ("/a/y", FileKind::File),
                ("/ab", FileKind::File),
            ],
            &[],
            &[],
        );
        let l1 = layer(1, &[], &["/a/x"], &[]);
        let l2 = layer(2, &[], &["/a"], &[]);
        let fs = squash([&l0, &l1]);
        assert_eq!(
            paths(&fs),
            vec![("/a".into(), 0), ("/a/y".into(), 0), ("/ab".into(), 0)]
        );
        let fs = squash([&l0, &l1, &l2]);
        assert_eq!(
            paths(&fs),
            vec![("/ab".into(), 0)],
            "sibling /ab must survive the whiteout of /a"
        );
    }

    #[test]
    fn opaque_dir_hides_lower_layers_only() {
        let l0 = layer(
            0,
            &[("/d", FileKind::Dir), ("/d/old", FileKind::File)],
            &[],
            &[],
        );
        let l1 = layer(
            1,
            &[("/d", FileKind::Dir), ("/d/new", FileKind::File)],
            &[],
            &["/d"],
        );
        let fs = squash([&l0, &l1]);
        assert_eq!(paths(&fs), vec![("/d".into(), 1), ("/d/new".into(), 1)]);
    }

    #[test]
    fn file_replacing_dir_drops_subtree_and_later_layer_wins() {
        let l0 = layer(
            0,
            &[
                ("/d", FileKind::Dir),
                ("/d/f", FileKind::File),
                ("/etc/passwd", FileKind::File),
            ],
            &[],
            &[],
        );
        let l1 = layer(
            1,
            &[("/d", FileKind::Symlink), ("/etc/passwd", FileKind::File)],
            &[],
            &[],
        );
        let fs = squash([&l0, &l1]);
        assert_eq!(
            paths(&fs),
            vec![("/d".into(), 1), ("/etc/passwd".into(), 1)]
        );
        assert!(fs.is_visible("/etc/passwd", 1));
        assert!(!fs.is_visible("/etc/passwd", 0));
    }

    #[test]
    fn whiteout_then_recreate_in_same_layer() {
        let l0 = layer(0, &[("/x", FileKind::File)], &[], &[]);
        let l1 = layer(1, &[("/x", FileKind::File)], &["/x"], &[]);
        let fs = squash([&l0, &l1]);
        assert_eq!(paths(&fs), vec![("/x".into(), 1)]);
    }
}
