//! `plimsoll crds [--out DIR]`: the CRDs as YAML, on stdout or one file each.

use super::args::CrdsArgs;
use super::sbom::CommandError;
use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// The YAML stream for stdout, or `None` when the files were written under `--out`.
pub fn run(args: &CrdsArgs) -> Result<Option<Vec<u8>>, CommandError> {
    match &args.out {
        None => {
            let yaml = crate::crd::render_all().map_err(|e| CommandError::Scan(e.into()))?;
            Ok(Some(yaml.into_bytes()))
        }
        Some(dir) => {
            write_files(dir).map_err(CommandError::Scan)?;
            Ok(None)
        }
    }
}

/// Writes `DIR/<plural>.<group>.yaml` for every CRD; returns the paths written.
pub fn write_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, yaml) in crate::crd::render_files()? {
        let path = dir.join(name);
        std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_file_per_crd() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("nested/crds");
        let written = write_files(&out).expect("writes");
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        assert_eq!(
            names,
            [
                "imagescans.plimsoll.dev.yaml",
                "policybundles.plimsoll.dev.yaml",
                "subscriptions.plimsoll.dev.yaml"
            ]
        );
        for path in written {
            let text = std::fs::read_to_string(&path).expect("readable");
            assert!(
                text.contains("kind: CustomResourceDefinition"),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn stdout_is_one_stream() {
        let bytes = run(&CrdsArgs { out: None })
            .expect("renders")
            .expect("stdout");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(text.matches("kind: CustomResourceDefinition").count(), 3);
    }
}
