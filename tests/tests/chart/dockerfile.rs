//! What the Dockerfiles build and ship, and what the workspace can build.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::{Value, json};

use super::render::{read, repo};

/// The binary targets of each workspace package, from `cargo metadata` (explicit `[[bin]]` and
/// auto-discovered `src/bin/*.rs` alike).
pub(crate) fn workspace_binaries() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(repo())
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let mut bins = BTreeMap::new();
    for package in meta["packages"].as_array().expect("packages") {
        let names: BTreeSet<String> = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["kind"] == json!(["bin"]))
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect();
        bins.insert(package["name"].as_str().unwrap_or("").to_owned(), names);
    }
    bins
}

/// What a Dockerfile builds and ships: (package, binaries built, binaries copied into the final
/// stage, entrypoint, final base image, user).
pub(crate) struct Dockerfile {
    pub(crate) package: String,
    pub(crate) built: Vec<String>,
    pub(crate) copied: Vec<String>,
    pub(crate) entrypoint: String,
    pub(crate) runtime_base: String,
    pub(crate) user: String,
    pub(crate) text: String,
}

pub(crate) fn dockerfile(path: &str) -> Dockerfile {
    let text = read(&repo().join(path));
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let build = lines
        .iter()
        .find(|l| l.contains("cargo build"))
        .unwrap_or_else(|| panic!("{path} runs no cargo build"));
    let words: Vec<&str> = build.split_whitespace().collect();
    let after = |flag: &str| -> Vec<String> {
        words
            .windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].to_owned())
            .collect()
    };
    let copied = lines
        .iter()
        .filter(|l| l.starts_with("COPY --from=build"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("/src/target/release/"))
                .map(str::to_owned)
        })
        .collect();
    let last = |prefix: &str| -> String {
        lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{path} has no {prefix}"))
            .trim()
            .to_owned()
    };
    let entrypoint: Vec<String> =
        serde_json::from_str(&last("ENTRYPOINT ")).expect("ENTRYPOINT in exec form");
    Dockerfile {
        package: after("-p").into_iter().next().unwrap_or_default(),
        built: after("--bin"),
        copied,
        entrypoint: entrypoint.first().cloned().unwrap_or_default(),
        runtime_base: last("FROM "),
        user: last("USER "),
        text,
    }
}
