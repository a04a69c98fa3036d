//! Acceptance tests of `plimsoll scan`, `evaluate` and `policy validate`: the real binary on
//! OCI layouts built here (the analyzer's test support), the example bundles, each test with
//! its own empty store (so vulnerability gates see no matches and the run warns).
//! Exit codes asserted: 0 pass, 1 STOP (or WARN with `--fail-on warn`), 2 bad bundle or image
//! reference.

#[path = "../../analyzer/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::image::{Compression, Image, Layer};

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

fn policy(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/policies")
        .join(name)
        .display()
        .to_string()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}\n{}", self.stdout, self.stderr)
        })
    }
}

/// Runs the binary with HOME and the store in `home`.
fn plimsoll(home: &Path, args: &[&str]) -> Run {
    let db = home.join("plimsoll.db");
    let out = Command::new(env!("CARGO_BIN_EXE_plimsoll"))
        .args(args)
        .env("HOME", home)
        .env("PLIMSOLL_DB", &db)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("PLIMSOLL_SECRET_PATTERNS")
        .env("PLIMSOLL_LOG", "error")
        .output()
        .expect("run plimsoll");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Root user (no USER), port 22, a private key deleted by a later layer, a setuid file and
/// an `/etc/shadow` with an empty root password.
fn secrets_image(dir: &Path) -> String {
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n-----END OPENSSH PRIVATE KEY-----\n";
    let l0 = Layer::new()
        .file("etc/os-release", OS_RELEASE)
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
        .file_mode("etc/shadow", 0o640, "root:::0:::::\n")
        .file_mode("usr/bin/su", 0o4755, b"\x7fELF not really")
        .file("root/.ssh/id_rsa", key)
        .build(Compression::Gzip);
    let l1 = Layer::new()
        .whiteout("root/.ssh/id_rsa")
        .build(Compression::Gzip);
    let mut image = Image::new(vec![l0, l1]);
    image.exposed_ports = vec!["22/tcp".into()];
    image.write_oci_dir(dir, "secrets");
    format!("oci-dir:{}", dir.display())
}

/// A non-root user, a HEALTHCHECK, port 8080, nothing secret or setuid.
fn clean_image(dir: &Path) -> String {
    let l0 = Layer::new()
        .file("etc/os-release", OS_RELEASE)
        .file(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .file("app/server.conf", "listen = 8080\n")
        .build(Compression::Gzip);
    let mut image = Image::new(vec![l0]);
    image.user = Some("app".into());
    image.exposed_ports = vec!["8080/tcp".into()];
    image.healthcheck = Some(vec!["CMD".into(), "/app/health".into()]);
    // What Docker records for it (the Dockerfile gate reads the history).
    image.history.push(
        r#"/bin/sh -c #(nop)  HEALTHCHECK &{["CMD" "/app/health"] "0s" "0s" "0s" '\x00'}"#.into(),
    );
    image.write_oci_dir(dir, "clean");
    format!("oci-dir:{}", dir.display())
}

fn rows(verdict: &serde_json::Value) -> Vec<(String, String, String)> {
    verdict["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("rule_id"), s("action"), s("check_output"))
        })
        .collect()
}

#[test]
fn cis_stops_the_secrets_image() {
    let home = tempfile::tempdir().expect("tempdir");
    let img = tempfile::tempdir().expect("tempdir");
    let image = secrets_image(img.path());
    let run = plimsoll(
        home.path(),
        &[
            "scan",
            &image,
            "--policy",
            &policy("cis-docker-1.13.json"),
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("no feed data"), "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["final_action"], "STOP");
    let rows = rows(&v);
    let has = |rule: &str, action: &str, detail: &str| {
        rows.iter()
            .any(|(r, a, d)| r == rule && a == action && d.contains(detail))
    };
    assert!(has("cis-4.1-user-not-root", "STOP", "root"), "{rows:#?}");
    assert!(has("cis-5.6-no-ssh", "STOP", "22"), "{rows:#?}");
    assert!(has("cis-4.10-no-secrets", "STOP", "PRIV_KEY"), "{rows:#?}");
    assert!(
        has("cis-4.10-no-secrets", "STOP", "/root/.ssh/id_rsa"),
        "{rows:#?}"
    );
    // CIS 4.8: setuid/setgid files STOP (remove the bit or the file).
    assert!(
        has("cis-4.8-setuid-setgid", "STOP", "/usr/bin/su"),
        "{rows:#?}"
    );

    // The table and the other formats over the same image.
    let run = plimsoll(
        home.path(),
        &["scan", &image, "--policy", &policy("cis-docker-1.13.json")],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("Final Action: stop\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Status: fail\n"), "{}", run.stdout);
    assert!(run.stdout.contains("Gate "), "{}", run.stdout);
    let run = plimsoll(
        home.path(),
        &[
            "scan",
            &image,
            "--policy",
            &policy("cis-docker-1.13.json"),
            "-o",
            "sarif",
        ],
    );
    let sarif = run.json();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "dockerfile:effective_user" && r["level"] == "error")
    );
    let run = plimsoll(
        home.path(),
        &[
            "scan",
            &image,
            "--policy",
            &policy("cis-docker-1.13.json"),
            "-o",
            "junit",
        ],
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("<?xml"), "{}", run.stdout);
    assert!(
        run.stdout.contains("<failure type=\"stop\""),
        "{}",
        run.stdout
    );
}

#[test]
fn cis_passes_the_clean_image() {
    let home = tempfile::tempdir().expect("tempdir");
    let img = tempfile::tempdir().expect("tempdir");
    let image = clean_image(img.path());
    let run = plimsoll(
        home.path(),
        &[
            "scan",
            &image,
            "--policy",
            &policy("cis-docker-1.13.json"),
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let v = run.json();
    assert_eq!(v["final_action"], "GO", "{:#?}", rows(&v));
    assert!(rows(&v).is_empty(), "{:#?}", rows(&v));
}

#[test]
fn alpine_null_root_needs_its_pattern() {
    let home = tempfile::tempdir().expect("tempdir");
    let img = tempfile::tempdir().expect("tempdir");
    let image = secrets_image(img.path());
    let bundle = policy("alpine-null-root.json");
    let run = plimsoll(
        home.path(),
        &[
            "scan",
            &image,
            "--policy",
            &bundle,
            "--secret-pattern",
            "ALPINE_NULL_ROOT=^root:::0:::::$",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let rows = rows(&run.json());
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("alpine-null-root", "STOP")
    );
    assert!(rows[0].2.contains("/etc/shadow"), "{rows:#?}");
    // Without the pattern the rule cannot fire.
    let run = plimsoll(home.path(), &["scan", &image, "--policy", &bundle]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn fail_on_warn_fails_a_warn_only_result() {
    let home = tempfile::tempdir().expect("tempdir");
    let img = tempfile::tempdir().expect("tempdir");
    let image = clean_image(img.path());
    // A bundle whose only rule WARNs on port 8080.
    let bundle = home.path().join("warn.yaml");
    std::fs::write(
        &bundle,
        "id: w\nversion: '1_0'\npolicies:\n  - id: p\n    version: '1_0'\n    rules:\n      - {id: no-8080, gate: dockerfile, trigger: exposed_ports, action: WARN, params: [{name: ports, value: '8080'}, {name: type, value: blacklist}]}\nmappings:\n  - {registry: '*', repository: '*', image: {type: tag, value: '*'}, policy_id: p}\n",
    )
    .expect("write");
    let bundle = bundle.display().to_string();
    let run = plimsoll(
        home.path(),
        &["scan", &image, "--policy", &bundle, "-o", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["final_action"], "WARN");
    let run = plimsoll(
        home.path(),
        &["scan", &image, "--policy", &bundle, "--fail-on", "warn"],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Final Action: warn"), "{}", run.stdout);
}

#[test]
fn bad_bundles_and_references_are_usage_errors() {
    let home = tempfile::tempdir().expect("tempdir");
    let bad = home.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"id": "b", "version": "1_0", "policies": [{"id": "p", "version": "1_0", "rules": [
  {"id": "r", "gate": "nope", "trigger": "x", "action": "STOP", "params": []}]}],
 "mappings": [{"registry": "*", "repository": "*", "image": {"type": "tag", "value": "*"}, "policy_id": "q"}]}"#,
    )
    .expect("write");
    let bad = bad.display().to_string();
    let run = plimsoll(home.path(), &["policy", "validate", &bad]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("error[unknown-gate] policies[0].rules[0].gate (2:23)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("error[unknown-policy-id]"),
        "{}",
        run.stdout
    );
    let run = plimsoll(home.path(), &["policy", "validate", &bad, "-o", "json"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["valid"], false);

    // scan refuses the bundle before looking at the image, with the diagnostics.
    let run = plimsoll(
        home.path(),
        &["scan", "oci-dir:/nonexistent", "--policy", &bad],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("error[unknown-gate]"), "{}", run.stderr);
    let run = plimsoll(home.path(), &["scan", "Not A Reference!!"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn example_bundles_validate() {
    let home = tempfile::tempdir().expect("tempdir");
    for name in [
        "anchore-default.json",
        "cis-docker-1.13.json",
        "bod-19-02.json",
        "alpine-null-root.json",
    ] {
        let run = plimsoll(home.path(), &["policy", "validate", &policy(name)]);
        assert_eq!(run.code, 0, "{name}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains(": valid (0 errors, 0 warnings)"),
            "{}",
            run.stdout
        );
    }
    let run = plimsoll(
        home.path(),
        &["policy", "describe", "vulnerabilities", "package"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("severity_comparison"), "{}", run.stdout);
}

#[test]
fn evaluate_a_saved_analysis_with_the_default_bundle() {
    let home = tempfile::tempdir().expect("tempdir");
    let img = tempfile::tempdir().expect("tempdir");
    let image = secrets_image(img.path());
    let analysis: PathBuf = home.path().join("analysis.json");
    let analysis_s = analysis.display().to_string();
    let run = plimsoll(
        home.path(),
        &["sbom", &image, "-o", "json", "--file", &analysis_s],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Default bundle, no --db: no vulnerability data; port 22 STOPs.
    let out = Command::new(env!("CARGO_BIN_EXE_plimsoll"))
        .args(["evaluate", "--analysis", &analysis_s, "-o", "json"])
        .env("HOME", home.path())
        .env_remove("PLIMSOLL_DB")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["bundle_id"], "plimsoll-anchore-default");
    let fired = rows(&v);
    for rule in [
        "default-exposed-ssh",
        "default-no-vuln-data",
        "default-no-healthcheck",
    ] {
        assert!(
            fired.iter().any(|(r, _, _)| r == rule),
            "{rule}: {fired:#?}"
        );
    }
    // Matches from a file (a bare list; `vulns -o json` reports work too): the high and
    // critical ones STOP.
    let matches = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/policy/testdata/matches.json");
    let run = plimsoll(
        home.path(),
        &[
            "evaluate",
            "--analysis",
            &analysis_s,
            "--matches",
            &matches.display().to_string(),
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let fired = rows(&run.json());
    assert!(
        fired.iter().any(|(r, a, d)| r == "default-high-vulns"
            && a == "STOP"
            && d.contains("CVE-2021-44228")),
        "{fired:#?}"
    );
    // With an empty store: same, and the store warns.
    let run = plimsoll(
        home.path(),
        &["evaluate", "--analysis", &analysis_s, "-o", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("no feed data"), "{}", run.stderr);
}
