//! Acceptance tests of `plimsoll feeds sync`, `feeds list` and `vulns`: the real binary, real
//! OSV records (`tests/data/osv`, see its README) and the bundled demo image
//! (`examples/demo-image`: Debian 12 with libexpat1 2.5.0-1+deb12u2, libssl3 3.0.17-1~deb12u2,
//! libpam0g 1.5.2-6+deb12u2, requests 2.19.1 and lodash 4.17.15), each test in its own store.
//! Exit codes asserted: 0 done, 1 `--fail-on` met, 2 usage/input error, 3 feed/store failure.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/osv");

fn demo_image() -> String {
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo-image/layout");
    format!("oci-dir:{}", layout.display())
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Runs the binary with HOME in a temp dir and no store or mirror from the environment.
fn plimsoll(home: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_plimsoll"))
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("PLIMSOLL_DB")
        .env_remove("PLIMSOLL_FEEDS_MIRROR")
        .env("PLIMSOLL_LOG", "error")
        .output()
        .expect("run plimsoll");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A temp dir holding the HOME, and the `--db` value of a SQLite store inside it.
fn sqlite_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("store/plimsoll.db").display().to_string();
    (dir, db)
}

fn vuln_ids(report: &serde_json::Value) -> BTreeSet<(String, String)> {
    report["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| {
            (
                m["package"]["name"].as_str().unwrap_or_default().to_owned(),
                m["vulnId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// What the demo image must show with the test slices: requests < 2.20.0 (CVE-2018-18074,
/// PYSEC-2018-28) and 2.3.0..2.31.0 (CVE-2023-32681), lodash < 4.17.20 (CVE-2020-8203) and
/// < 4.17.21 (CVE-2021-23337), and the Debian fixes after the installed revisions.
fn expected() -> BTreeSet<(String, String)> {
    [
        ("requests", "CVE-2018-18074"),
        ("requests", "CVE-2023-32681"),
        ("lodash", "CVE-2020-8203"),
        ("lodash", "CVE-2021-23337"),
        ("libexpat1", "CVE-2024-28757"),
        ("libexpat1", "CVE-2025-59375"),
        ("libexpat1", "CVE-2026-50219"),
        ("libexpat1", "CVE-2026-56131"),
        ("libssl3", "CVE-2025-9230"),
        ("libssl3", "CVE-2025-9232"),
        ("libpam0g", "CVE-2024-22365"),
    ]
    .into_iter()
    .map(|(p, v)| (p.to_owned(), v.to_owned()))
    .collect()
}

/// Syncs `source` into `db` and scans the demo image: the flow every backend must pass.
fn sync_list_and_scan(home: &Path, db: &str, source: &str) {
    let sync = plimsoll(home, &["feeds", "sync", "--source", source, "--db", db]);
    assert_eq!(sync.code, 0, "{}{}", sync.stdout, sync.stderr);
    assert!(
        sync.stdout
            .contains(": 20 records (20 new, 0 updated, 0 removed, 0 unchanged)"),
        "{}",
        sync.stdout
    );
    assert!(
        sync.stdout.ends_with("1 of 1 sources synced\n"),
        "{}",
        sync.stdout
    );

    let list = plimsoll(home, &["feeds", "list", "--db", db]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let row = list.stdout.lines().nth(1).expect("one source");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[0], source);
    assert_eq!(cells[1], "20");
    assert_eq!(cells.last(), Some(&"-"), "no error: {row}");
    let listed = plimsoll(home, &["feeds", "list", "-o", "json", "--db", db]).json();
    assert_eq!(listed[0]["records"], 20);
    assert!(listed[0]["lastError"].is_null());

    let image = demo_image();
    let scan = plimsoll(home, &["vulns", &image, "-o", "json", "--db", db]);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    let report = scan.json();
    assert_eq!(vuln_ids(&report), expected());
    // Fixed before the installed versions: not reported.
    let all = scan.stdout.as_str();
    for absent in [
        "CVE-2019-10744",
        "CVE-2014-1829",
        "CVE-2024-45490",
        "CVE-2025-6020",
    ] {
        assert!(
            !all.contains(absent),
            "{absent} is fixed in the installed version"
        );
    }
    let first_seen = report["matches"][0]["firstSeen"].clone();
    assert!(first_seen.is_string());

    // Again: first-seen times do not move.
    let again = plimsoll(home, &["vulns", &image, "-o", "json", "--db", db]).json();
    assert_eq!(again["matches"][0]["firstSeen"], first_seen);

    // lodash's GHSA records are rated High; nothing here is Critical.
    let high = plimsoll(home, &["vulns", &image, "--fail-on", "high", "--db", db]);
    assert_eq!(high.code, 1, "{}{}", high.stdout, high.stderr);
    assert!(
        high.stdout.contains("CVE-2021-23337  lodash"),
        "{}",
        high.stdout
    );
    let critical = plimsoll(
        home,
        &["vulns", &image, "--fail-on", "CRITICAL", "--db", db],
    );
    assert_eq!(critical.code, 0, "{}", critical.stderr);
}

#[test]
fn feeds_sync_list_and_vulns_on_the_demo_image() {
    let (home, db) = sqlite_store();
    sync_list_and_scan(home.path(), &db, DATA);
    let image = demo_image();

    let table = plimsoll(home.path(), &["vulns", &image, "--db", &db]);
    assert_eq!(table.code, 0);
    let header = table.stdout.lines().next().unwrap_or_default();
    let columns: Vec<&str> = header.split("  ").filter(|c| !c.is_empty()).collect();
    let columns: Vec<&str> = columns.iter().map(|c| c.trim()).collect();
    assert_eq!(
        columns,
        [
            "VULNERABILITY",
            "PACKAGE",
            "VERSION",
            "FIXED IN",
            "SEVERITY",
            "FIRST SEEN"
        ]
    );
    assert!(
        table
            .stdout
            .contains("11 vulnerabilities (11 fixable): 7 High, 2 Medium, 2 Unknown"),
        "{}",
        table.stdout
    );

    let sarif = plimsoll(home.path(), &["vulns", &image, "-o", "sarif", "--db", &db]).json();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["results"].as_array().map(Vec::len), Some(11));
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().map(Vec::len),
        Some(11)
    );
    let requests = run["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["ruleId"] == "CVE-2018-18074"))
        .expect("a result for requests");
    assert_eq!(
        requests["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "usr/lib/python3/dist-packages/requests-2.19.1.dist-info/METADATA"
    );

    // The same from the Analysis document instead of the image.
    let sbom = plimsoll(home.path(), &["sbom", &image, "-o", "json"]);
    assert_eq!(sbom.code, 0);
    let file = home.path().join("analysis.json");
    std::fs::write(&file, &sbom.stdout).expect("write");
    let from_file = plimsoll(
        home.path(),
        &[
            "vulns",
            "--analysis",
            &file.display().to_string(),
            "-o",
            "json",
            "--db",
            &db,
        ],
    );
    assert_eq!(from_file.code, 0, "{}", from_file.stderr);
    assert_eq!(vuln_ids(&from_file.json()), expected());

    let fixed_only = plimsoll(
        home.path(),
        &["vulns", &image, "--only-fixed", "-o", "json", "--db", &db],
    );
    assert_eq!(
        vuln_ids(&fixed_only.json()).len(),
        11,
        "every match has a fix"
    );
}

#[test]
fn usage_and_input_errors_exit_2() {
    let (home, db) = sqlite_store();
    let bad_ref = plimsoll(home.path(), &["vulns", "nope:/x", "--db", &db]);
    assert_eq!(bad_ref.code, 2, "{}", bad_ref.stderr);
    assert!(
        bad_ref.stderr.contains("invalid image reference"),
        "{}",
        bad_ref.stderr
    );

    let garbage = home.path().join("garbage.json");
    std::fs::write(&garbage, "{\"not\": \"an analysis\"}").expect("write");
    let garbage = garbage.display().to_string();
    let bad_file = plimsoll(home.path(), &["vulns", "--analysis", &garbage, "--db", &db]);
    assert_eq!(bad_file.code, 2, "{}", bad_file.stderr);
    assert!(
        bad_file.stderr.contains("not an Analysis document"),
        "{}",
        bad_file.stderr
    );

    let severity = plimsoll(
        home.path(),
        &["vulns", &demo_image(), "--fail-on", "severe"],
    );
    assert_eq!(severity.code, 2, "{}", severity.stderr);
    let neither = plimsoll(home.path(), &["vulns", "--db", &db]);
    assert_eq!(neither.code, 2);
    let bad_source = plimsoll(
        home.path(),
        &["feeds", "sync", "--source", "ftp://x/y", "--db", &db],
    );
    assert_eq!(bad_source.code, 2, "{}", bad_source.stderr);
    let bad_db = plimsoll(
        home.path(),
        &["feeds", "list", "--db", "mysql://u:hunter2@h/x"],
    );
    assert_eq!(bad_db.code, 2, "{}", bad_db.stderr);
    assert!(!bad_db.stderr.contains("hunter2"));
}

#[test]
fn an_empty_store_warns_and_finds_nothing() {
    let (home, _) = sqlite_store();
    // No --db: the default store under $HOME/.cache is created.
    let scan = plimsoll(home.path(), &["vulns", &demo_image()]);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert!(
        scan.stderr
            .contains("warning: no feed data: run `plimsoll feeds sync`"),
        "{}",
        scan.stderr
    );
    assert_eq!(scan.stdout, "No vulnerabilities found.\n");
    assert!(home.path().join(".cache/plimsoll/plimsoll.db").is_file());
}

#[test]
fn a_failing_source_keeps_its_records_and_exits_3() {
    let (home, db) = sqlite_store();
    let feeds = home.path().join("feeds");
    std::fs::create_dir(&feeds).expect("mkdir");
    for entry in std::fs::read_dir(DATA).expect("data dir") {
        let path = entry.expect("entry").path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, feeds.join(name)).expect("copy");
        }
    }
    let source = feeds.display().to_string();
    let first = plimsoll(
        home.path(),
        &["feeds", "sync", "--source", &source, "--db", &db],
    );
    assert_eq!(first.code, 0, "{}", first.stdout);

    // A corrupt zip joins the directory, and a second source does not exist.
    std::fs::write(feeds.join("all.zip"), b"PK\x03\x04 truncated").expect("write");
    let missing = home.path().join("missing").display().to_string();
    let failed = plimsoll(
        home.path(),
        &[
            "feeds", "sync", "--source", &source, "--source", &missing, "--db", &db,
        ],
    );
    assert_eq!(failed.code, 3, "{}{}", failed.stdout, failed.stderr);
    let lines: Vec<&str> = failed.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "{source}: FAILED: 1 of 4 files failed, nothing written: "
        )) && lines[0].ends_with("; kept 20 records from 0s ago"),
        "{}",
        failed.stdout
    );
    assert!(
        lines[1].starts_with(&format!("{missing}: FAILED: "))
            && lines[1].ends_with("nothing stored yet"),
        "{}",
        failed.stdout
    );
    assert_eq!(lines[2], "0 of 2 sources synced");

    let listed = plimsoll(home.path(), &["feeds", "list", "-o", "json", "--db", &db]).json();
    let by_name = |name: &str| {
        listed
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == name))
            .cloned()
            .expect("listed")
    };
    let kept = by_name(&source);
    assert_eq!(kept["records"], 20);
    assert!(
        kept["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("cannot read zip")),
        "{kept}"
    );
    assert!(kept["lastSuccessAt"].is_string());
    assert_eq!(by_name(&missing)["records"], 0);

    // The kept records still match, and the scan says the feed failed.
    let scan = plimsoll(
        home.path(),
        &["vulns", &demo_image(), "-o", "json", "--db", &db],
    );
    assert_eq!(scan.code, 0);
    assert_eq!(vuln_ids(&scan.json()), expected());
    assert!(
        scan.stderr.contains("failed its last sync"),
        "{}",
        scan.stderr
    );
}

/// The same flow on PostgreSQL (`$PLIMSOLL_TEST_POSTGRES`, else
/// `postgres://postgres@127.0.0.1:5432/test`) in a schema of its own. Skipped with a notice
/// when it cannot be reached, except under `CI=true`.
#[tokio::test]
async fn feeds_sync_and_vulns_on_postgres() {
    use sqlx::{AssertSqlSafe, Connection as _, Executor as _};
    let base = std::env::var("PLIMSOLL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut admin = match sqlx::PgConnection::connect(&base).await {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL is unreachable under CI=true: {e}"
            );
            #[allow(clippy::print_stderr, reason = "the skip notice of a test")]
            {
                eprintln!("NOTICE: PostgreSQL unreachable ({e}): test skipped");
            }
            return;
        }
    };
    let schema = format!("plimsoll_cli_{}", std::process::id());
    admin
        .execute(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .await
        .expect("drop");
    admin
        .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .expect("create schema");
    let mut url = url::Url::parse(&base).expect("URL");
    url.query_pairs_mut()
        .append_pair("options", &format!("-c search_path={schema}"));
    let home = tempfile::tempdir().expect("tempdir");
    let url = url.to_string();
    let outcome = tokio::task::spawn_blocking({
        let home: PathBuf = home.path().to_path_buf();
        move || sync_list_and_scan(&home, &url, DATA)
    })
    .await;
    admin
        .execute(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .await
        .expect("drop");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
