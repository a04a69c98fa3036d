//! Where things are, and rendering the chart with chart-render.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository")
        .to_path_buf()
}

pub(crate) fn chart_dir() -> PathBuf {
    repo().join("charts/plimsoll")
}

/// Writes `text` to `path` through a temporary file, so that tests reading `path` meanwhile
/// never see half of it.
pub(crate) fn write_atomically(path: &Path, text: &str) {
    let partial = path.with_extension(format!("partial.{}", std::process::id()));
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The chart-render binary: `$PLIMSOLL_CHART_RENDER`, else built from `shared/tools/chart-render` (found in
/// the ancestors of this crate, like `shared/vulndata`) into the test's target directory, and
/// rebuilt when its `main.go` is newer. A missing tool fails the test: the chart is untested
/// without it.
pub(crate) fn chart_render() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("PLIMSOLL_CHART_RENDER") {
            return PathBuf::from(path);
        }
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let Some(tool) = manifest
            .ancestors()
            .map(|a| a.join("shared/tools/chart-render"))
            .find(|p| p.join("build.sh").is_file())
        else {
            panic!(
                "shared/tools/chart-render not found beside the repository (looked in the ancestors of \
                 {}): the chart tests render the chart with it. Put the shared workspace beside the \
                 repository or set PLIMSOLL_CHART_RENDER to a chart-render binary.",
                manifest.display()
            );
        };
        let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chart-render");
        let binary = out_dir.join("chart-render");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if modified(&binary).is_some() && modified(&binary) >= modified(&tool.join("main.go")) {
            return binary;
        }
        std::fs::create_dir_all(&out_dir).expect("creating the chart-render directory");
        // Built under a temporary name and renamed: another test process may be building too.
        let partial = out_dir.join(format!("chart-render.{}", std::process::id()));
        let built = Command::new("bash")
            .arg(tool.join("build.sh"))
            .arg(&partial)
            .output()
            .unwrap_or_else(|e| panic!("running {}/build.sh: {e}", tool.display()));
        assert!(
            built.status.success(),
            "building chart-render with {}/build.sh failed ({}); it needs golang-go and Debian's \
             sprig and sigs.k8s.io/yaml packages (it installs them with apt-get when it may):\n{}",
            tool.display(),
            built.status,
            String::from_utf8_lossy(&built.stderr)
        );
        std::fs::rename(&partial, &binary).expect("installing chart-render");
        binary
    })
}

/// One `chart-render` run: release `release` in namespace `namespace`, CRDs included.
pub(crate) struct Render<'a> {
    release: &'a str,
    namespace: &'a str,
    values: Vec<PathBuf>,
    sets: Vec<&'a str>,
}

impl<'a> Render<'a> {
    pub(crate) fn new(release: &'a str, namespace: &'a str) -> Self {
        Self {
            release,
            namespace,
            values: Vec::new(),
            sets: Vec::new(),
        }
    }

    /// A value file of `charts/plimsoll/ci/`.
    pub(crate) fn ci(mut self, file: &str) -> Self {
        self.values.push(chart_dir().join("ci").join(file));
        self
    }

    pub(crate) fn set(mut self, expr: &'a str) -> Self {
        self.sets.push(expr);
        self
    }

    /// The YAML, or chart-render's error message.
    pub(crate) fn run(&self) -> Result<String, String> {
        let mut cmd = Command::new(chart_render());
        for f in &self.values {
            cmd.arg("-f").arg(f);
        }
        for s in &self.sets {
            cmd.arg("--set").arg(s);
        }
        cmd.args(["--name", self.release, "--namespace", self.namespace])
            .arg("--include-crds")
            .arg(chart_dir());
        let out = cmd.output().unwrap_or_else(|e| {
            panic!(
                "running chart-render ({}; PLIMSOLL_CHART_RENDER overrides it): {e}",
                chart_render().display()
            )
        });
        if out.status.success() {
            Ok(String::from_utf8(out.stdout).expect("chart-render writes UTF-8"))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    pub(crate) fn objects(&self) -> Objects {
        let yaml = self
            .run()
            .unwrap_or_else(|e| panic!("the chart does not render with {:?}: {e}", self.values));
        Objects::parse(&yaml)
    }
}

/// The rendered objects, in order.
pub(crate) struct Objects(pub(crate) Vec<Value>);

impl Objects {
    pub(crate) fn parse(yaml: &str) -> Self {
        let docs: Vec<Value> = serde_saphyr::from_multiple(yaml)
            .unwrap_or_else(|e| panic!("rendered chart is not YAML: {e}\n{yaml}"));
        Self(docs.into_iter().filter(|d| !d.is_null()).collect())
    }

    pub(crate) fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.0.iter().filter(|o| o["kind"] == kind).collect()
    }

    /// The only object of `kind`, typed.
    pub(crate) fn one<T: DeserializeOwned>(&self, kind: &str) -> T {
        let found = self.of_kind(kind);
        assert_eq!(found.len(), 1, "expected one {kind}, found {}", found.len());
        serde_json::from_value(found[0].clone()).expect("typed")
    }

    pub(crate) fn count(&self, kind: &str) -> usize {
        self.of_kind(kind).len()
    }

    pub(crate) fn kinds(&self) -> BTreeSet<String> {
        self.0
            .iter()
            .map(|o| o["kind"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    pub(crate) fn deployment(&self) -> Deployment {
        self.one("Deployment")
    }
}

pub(crate) fn pod_spec(d: &Deployment) -> &PodSpec {
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("the Deployment has a pod spec")
}

pub(crate) fn operator_container(d: &Deployment) -> &Container {
    let containers = &pod_spec(d).containers;
    assert_eq!(containers.len(), 1, "one container in the operator pod");
    &containers[0]
}

pub(crate) fn env(d: &Deployment) -> BTreeMap<String, EnvVar> {
    operator_container(d)
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.clone()))
        .collect()
}

/// The literal value of an environment variable.
pub(crate) fn env_value(d: &Deployment, name: &str) -> Option<String> {
    env(d).get(name).and_then(|e| e.value.clone())
}
