//! Matching on real data: images built here from real packages (Debian `.deb`s from apt, PyPI
//! wheels, npm tarballs, esbuild's Go binaries from npm, a `cargo auditable` build, the rpm
//! cataloger's rpmdb fixtures), scanned by the analyzer, matched against the real feeds in
//! `shared/vulndata/osv/*.jsonl` (all of them in one index, as production loads them).
//!
//! The expected results are hard-coded. They were computed apart from this matcher, by a short
//! Python script over the same JSON lines files: a record hits a package when its `versions`
//! list holds the installed version or an ECOSYSTEM/SEMVER range, read as written
//! (introduced..fixed pairs in order), contains it, comparing with `packaging.version` (PyPI),
//! a SemVer 2.0 comparison (npm, Go, crates.io), `dpkg --compare-versions` (Debian) and
//! `rpm.vercmp` (AlmaLinux); a record's ids are its id, `aliases` and `upstream`, plus
//! `related` when it has neither (errata); hits sharing an id are one match, named by its
//! first CVE id, else its first GHSA id, else its first id. Each expected entry reads
//! `"<vuln id> <advisory> [<advisory>…]"`.
//!
//! The feeds are found through `PLIMSOLL_VULNDATA`, or as `shared/vulndata` beside the
//! repository (or one of its parents). Missing, the tests are skipped with a notice, except
//! under `CI=true`, where they fail.

#[path = "../../analyzer/tests/support/mod.rs"]
mod support;

use plimsoll::feeds::read::read_osv_jsonl;
use plimsoll::matcher::{FixState, MatchReport, VulnIndex, match_packages};
use plimsoll_analyzer::model::{Analysis, PackageKind};
use plimsoll_analyzer::scan::{NoProgress, scan};
use plimsoll_analyzer::settings::ScanSettings;
use plimsoll_analyzer::source::ImageSource;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use support::artifacts;
use support::image::{Compression, Image, Layer};

// ---------------------------------------------------------------------------------------
// Feeds, images, results

/// `shared/vulndata`, or `None` (skip) outside CI.
#[allow(clippy::print_stderr, reason = "the skip notice")]
fn vulndata_dir() -> Option<PathBuf> {
    let found = std::env::var_os("PLIMSOLL_VULNDATA")
        .map(PathBuf::from)
        .or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|dir| dir.join("shared/vulndata"))
                .find(|dir| dir.join("osv").is_dir())
        })
        .filter(|dir| dir.join("osv").is_dir());
    if found.is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "shared/vulndata is not found (set PLIMSOLL_VULNDATA) but CI=true"
        );
        eprintln!(
            "SKIPPED: shared/vulndata not found beside the repository; set PLIMSOLL_VULNDATA to \
             run the matcher tests on real data"
        );
    }
    found
}

/// Every `osv/*.jsonl` feed in one index, read once per test binary.
fn index() -> Option<&'static VulnIndex> {
    static INDEX: OnceLock<Option<VulnIndex>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let osv = vulndata_dir()?.join("osv");
            let mut files: Vec<PathBuf> = std::fs::read_dir(&osv)
                .expect("list shared/vulndata/osv")
                .map(|e| e.expect("directory entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            files.sort();
            let mut index = VulnIndex::new();
            for file in &files {
                let name = file.file_name().expect("file name").to_string_lossy();
                let bytes = std::fs::read(file).expect("read a feed");
                let outcome = read_osv_jsonl(&bytes, &name);
                assert!(outcome.skipped.is_empty(), "{name}: {:?}", outcome.skipped);
                let source = name.trim_end_matches(".jsonl");
                for record in &outcome.records {
                    index.insert(source, record);
                }
            }
            assert!(files.len() >= 6, "the six OSV feeds: {files:?}");
            Some(index)
        })
        .as_ref()
}

const DEBIAN_12: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";
const ALMALINUX_9: &str = "NAME=\"AlmaLinux\"\nVERSION=\"9.4 (Seafoam Ocelot)\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nPLATFORM_ID=\"platform:el9\"\nPRETTY_NAME=\"AlmaLinux 9.4 (Seafoam Ocelot)\"\n";

/// Writes the layers as an OCI layout and scans it.
async fn scan_layers(layers: Vec<Layer>) -> Analysis {
    let dir = tempfile::tempdir().expect("temp dir");
    let built = layers.iter().map(|l| l.build(Compression::Gzip)).collect();
    Image::new(built).write_oci_dir(dir.path(), "test");
    let source = ImageSource::OciDir {
        path: dir.path().to_path_buf(),
        tag: Some("test".into()),
    };
    scan(
        &source,
        "oci-dir:test",
        &ScanSettings::default(),
        Arc::new(NoProgress),
    )
    .await
    .expect("scan")
}

/// Scans the image and matches it against every feed.
async fn scan_and_match(index: &VulnIndex, layers: Vec<Layer>) -> (Analysis, MatchReport) {
    let analysis = scan_layers(layers).await;
    let report = match_packages(&analysis.packages, analysis.distro.as_ref(), index);
    (analysis, report)
}

/// The matches of one package (by name, and location when given), as
/// `"<vuln id> <advisory>…"`, sorted.
fn got(report: &MatchReport, name: &str, location: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = report
        .matches
        .iter()
        .filter(|m| m.package.name == name)
        .filter(|m| location.is_none_or(|l| m.package.location.as_deref() == Some(l)))
        .map(|m| format!("{} {}", m.vuln_id, m.advisories.join(" ")))
        .collect();
    out.sort();
    out
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The advisory ids of expected entries.
fn advisories(list: &[&str]) -> BTreeSet<String> {
    list.iter()
        .flat_map(|e| e.split(' ').skip(1))
        .map(str::to_owned)
        .collect()
}

/// Names and versions of the packages the analyzer found, to check the image is what the test
/// means before the matches are compared.
fn found(analysis: &Analysis, kind: PackageKind) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = analysis
        .packages
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    v.sort();
    v
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------
// PyPI and npm

/// A layer with these wheels' `METADATA` in a site-packages and these npm packages'
/// `package.json` in a `node_modules`.
fn language_layer(wheels: &[(&str, &str)], npm: &[(&str, &str)]) -> Layer {
    let mut layer = Layer::new();
    for (name, version) in wheels {
        let (dist_info, metadata) = artifacts::wheel_metadata(name, version);
        layer = layer.file(
            &format!("usr/local/lib/python3.11/site-packages/{dist_info}/METADATA"),
            metadata,
        );
    }
    for (name, version) in npm {
        layer = layer.file(
            &format!("app/node_modules/{name}/package.json"),
            artifacts::npm_package_json(name, version),
        );
    }
    layer
}

#[tokio::test]
async fn pypi_and_npm_packages_match_pysec_and_ghsa_records() {
    let Some(index) = index() else { return };
    let old_wheels = [
        ("requests", "2.19.1"),
        ("urllib3", "1.24.1"),
        ("Jinja2", "2.10"),
        ("Django", "2.2"),
        ("distributed", "2021.9.1"),
    ];
    let old_npm = [("lodash", "4.17.15"), ("minimist", "1.2.0")];
    let (analysis, report) =
        scan_and_match(index, vec![language_layer(&old_wheels, &old_npm)]).await;
    assert_eq!(found(&analysis, PackageKind::Python), pairs(&old_wheels));
    assert_eq!(found(&analysis, PackageKind::Npm), pairs(&old_npm));
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let expected: [(&str, &[&str]); 7] = [
        ("requests", REQUESTS_2_19_1),
        ("urllib3", URLLIB3_1_24_1),
        ("Jinja2", JINJA2_2_10),
        ("Django", DJANGO_2_2),
        ("distributed", DISTRIBUTED_2021_9_1),
        ("lodash", LODASH_4_17_15),
        ("minimist", MINIMIST_1_2_0),
    ];
    for (name, want) in expected {
        assert_eq!(got(&report, name, None), strings(want), "{name}");
    }
    assert_eq!(
        report.matches.len(),
        expected.iter().map(|(_, w)| w.len()).sum::<usize>(),
        "no other package matched"
    );

    // Two real PyPI advisories on one flaw (they share CVE-2021-42343 and a GHSA id): one
    // match, both advisories behind it, every id of both among its aliases.
    let dask = report
        .matches
        .iter()
        .find(|m| m.package.name == "distributed")
        .expect("distributed matched");
    assert_eq!(dask.vuln_id, "CVE-2021-42343");
    assert_eq!(
        dask.aliases,
        [
            "GHSA-hwqr-f3v9-hwxr",
            "GHSA-j8fq-86c5-5v2r",
            "PYSEC-2021-871",
            "PYSEC-2021-872"
        ]
    );
    assert_eq!(dask.fixed_versions, ["2021.10.0"]);
    assert_eq!(dask.fix_state, FixState::Fixed);

    let requests = report
        .matches
        .iter()
        .find(|m| m.vuln_id == "CVE-2018-18074")
        .expect("CVE-2018-18074");
    assert_eq!(
        (requests.ecosystem.as_str(), requests.matched_name.as_str()),
        ("PyPI", "requests")
    );
    assert_eq!(requests.fixed_versions, ["2.20.0"]);
    let lodash = report
        .matches
        .iter()
        .find(|m| m.vuln_id == "CVE-2021-23337")
        .expect("CVE-2021-23337");
    assert_eq!(lodash.fixed_versions, ["4.17.21"]);
    assert_eq!(lodash.package.purl, "pkg:npm/lodash@4.17.15");

    // The same packages at fixed versions: none of those advisories. Django 4.2.11 has
    // newer ones of its own (fixed in 4.2.14 to 4.2.16).
    let new_wheels = [
        ("requests", "2.31.0"),
        ("urllib3", "1.26.18"),
        ("Jinja2", "3.1.4"),
        ("Django", "4.2.11"),
    ];
    let new_npm = [("lodash", "4.17.21"), ("minimist", "1.2.8")];
    let (analysis, report) =
        scan_and_match(index, vec![language_layer(&new_wheels, &new_npm)]).await;
    assert_eq!(found(&analysis, PackageKind::Python), pairs(&new_wheels));
    assert_eq!(found(&analysis, PackageKind::Npm), pairs(&new_npm));
    let all: Vec<String> = report
        .matches
        .iter()
        .map(|m| format!("{} {}", m.vuln_id, m.advisories.join(" ")))
        .collect();
    assert_eq!(all.len(), DJANGO_4_2_11.len(), "{all:?}");
    assert_eq!(got(&report, "Django", None), strings(DJANGO_4_2_11));
    let old: BTreeSet<String> = expected.iter().flat_map(|(_, w)| advisories(w)).collect();
    assert!(
        advisories(DJANGO_4_2_11).is_disjoint(&old),
        "a fixed version still matches an old advisory"
    );
}

// ---------------------------------------------------------------------------------------
// Debian 12

/// A Debian 12 image holding these packages (files, dpkg status and file lists).
fn debian_layer(debs: &[&artifacts::Deb]) -> Layer {
    let mut layer = Layer::new()
        .file("etc/os-release", DEBIAN_12)
        .file("var/lib/dpkg/status", artifacts::status_file(debs));
    for d in debs {
        layer = layer.tar(d.data_tar.clone()).file(
            &format!("var/lib/dpkg/info/{}:{}.list", d.name, d.arch),
            &d.list,
        );
    }
    layer
}

#[tokio::test]
async fn debian_packages_match_by_source_package() {
    let Some(index) = index() else { return };
    // (binary, source, older bookworm version, newest bookworm version), from
    // shared/vulndata/debian/bookworm-available-versions.jsonl.
    let packages = [
        ("libexpat1", "expat", "2.5.0-1+deb12u2", "2.5.0-1+deb12u5"),
        ("libssl3", "openssl", "3.0.17-1~deb12u2", "3.0.22-1~deb12u2"),
        ("liblzma5", "xz-utils", "5.4.1-1+deb12u1", "5.4.1-1+deb12u2"),
        (
            "libxml2",
            "libxml2",
            "2.9.14+dfsg-1.3~deb12u4",
            "2.9.14+dfsg-1.3~deb12u6",
        ),
        ("libpam0g", "pam", "1.5.2-6+deb12u2", "1.5.2-6+deb12u3"),
    ];
    let old: Vec<artifacts::Deb> = packages
        .iter()
        .map(|(bin, _, v, _)| artifacts::deb(bin, v))
        .collect();
    let (analysis, report) =
        scan_and_match(index, vec![debian_layer(&old.iter().collect::<Vec<_>>())]).await;
    let want: Vec<(&str, &str)> = packages.iter().map(|(b, _, v, _)| (*b, *v)).collect();
    assert_eq!(found(&analysis, PackageKind::Deb), pairs(&want));
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let expected: [(&str, &[&str]); 5] = [
        ("libexpat1", EXPAT_2_5_0_1_DEB12U2),
        ("libssl3", OPENSSL_3_0_17_1_DEB12U2),
        // Every xz-utils CVE is fixed at or below 5.4.1-1+deb12u1 (CVE-2026-34743 at it).
        ("liblzma5", &[]),
        ("libxml2", LIBXML2_2_9_14_DEB12U4),
        ("libpam0g", PAM_1_5_2_6_DEB12U2),
    ];
    for (name, want) in expected {
        assert_eq!(got(&report, name, None), strings(want), "{name}");
    }
    assert_eq!(
        report.matches.len(),
        expected.iter().map(|(_, w)| w.len()).sum::<usize>()
    );
    // The feed is keyed by source package: every match names it, not the binary.
    for m in &report.matches {
        let (_, source, _, _) = packages
            .iter()
            .find(|(b, ..)| *b == m.package.name)
            .expect("a package of the image");
        assert_eq!(
            (m.ecosystem.as_str(), m.matched_name.as_str()),
            ("Debian:12", *source),
            "{}",
            m.vuln_id
        );
        assert_eq!(m.fix_state, FixState::Fixed);
    }
    let expat = report
        .matches
        .iter()
        .find(|m| m.vuln_id == "CVE-2024-28757")
        .expect("CVE-2024-28757");
    assert_eq!(expat.fixed_versions, ["2.5.0-1+deb12u4"]);
    assert_eq!(expat.aliases, ["DEBIAN-CVE-2024-28757"]);

    // The newest versions: nothing fixed at or below them matches. One record stays:
    // CVE-2022-2309 is first named in libxml2's changelog at 2.9.14+dfsg-1.3 (an unstable
    // upload), which sorts above every 2.9.14+dfsg-1.3~deb12uN backport, the changelog
    // heuristic's known trap (README: "a changelog may name a CVE it does not fix").
    let new: Vec<artifacts::Deb> = packages
        .iter()
        .map(|(bin, _, _, v)| artifacts::deb(bin, v))
        .collect();
    let (analysis, report) =
        scan_and_match(index, vec![debian_layer(&new.iter().collect::<Vec<_>>())]).await;
    let want: Vec<(&str, &str)> = packages.iter().map(|(b, _, _, v)| (*b, *v)).collect();
    assert_eq!(found(&analysis, PackageKind::Deb), pairs(&want));
    let all: Vec<String> = report
        .matches
        .iter()
        .map(|m| format!("{} {}", m.vuln_id, m.advisories.join(" ")))
        .collect();
    assert_eq!(all, strings(LIBXML2_2_9_14_DEB12U6));
}

// ---------------------------------------------------------------------------------------
// AlmaLinux 9

fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut out)
        .expect("gunzip a fixture");
    out
}

#[tokio::test]
async fn almalinux_rpms_match_alsa_errata() {
    let Some(index) = index() else { return };
    // openssl and openssl-libs 1:3.0.7-24.el9 (plus two packages no advisory names).
    let rpmdb = gunzip(include_bytes!(
        "../../analyzer/src/catalog/rpm/testdata/sqlite/rpmdb.sqlite.gz"
    ));
    let layer = Layer::new()
        .file("etc/os-release", ALMALINUX_9)
        .file("var/lib/rpm/rpmdb.sqlite", rpmdb);
    let (analysis, report) = scan_and_match(index, vec![layer]).await;
    assert_eq!(
        found(&analysis, PackageKind::Rpm),
        pairs(&[
            ("legacy-md5", "0.9-3.el7"),
            ("openssl", "1:3.0.7-24.el9"),
            ("openssl-libs", "1:3.0.7-24.el9"),
            ("plimsoll-fixture", "1.0-1"),
        ])
    );
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    assert_eq!(
        got(&report, "openssl", None),
        strings(ALMA_OPENSSL_3_0_7_24)
    );
    assert_eq!(
        got(&report, "openssl-libs", None),
        strings(ALMA_OPENSSL_3_0_7_24)
    );
    assert_eq!(report.matches.len(), 2 * ALMA_OPENSSL_3_0_7_24.len());
    for m in &report.matches {
        // The advisory lists both binary rpms: each match names the package's own.
        assert_eq!(m.matched_name, m.package.name);
        assert_eq!(m.ecosystem, "AlmaLinux:9");
    }
    // An erratum fixing several CVEs is one match: its CVEs (from `related`) are aliases.
    let alsa = report
        .matches
        .iter()
        .find(|m| m.package.name == "openssl-libs" && m.advisories == ["ALSA-2024:2447"])
        .expect("ALSA-2024:2447");
    assert_eq!(
        alsa.aliases,
        [
            "ALSA-2024:2447",
            "CVE-2023-3446",
            "CVE-2023-3817",
            "CVE-2023-5678",
            "CVE-2023-6129",
            "CVE-2023-6237",
            "CVE-2024-0727"
        ]
    );
    assert_eq!(alsa.fixed_versions, ["1:3.0.7-27.el9"]);

    // The version the newest openssl erratum (ALSA-2026:25239) fixes: no match.
    let fixed = gunzip(include_bytes!(
        "testdata/rpmdb-openssl-3.5.5-4.el9_8.sqlite.gz"
    ));
    let layer = Layer::new()
        .file("etc/os-release", ALMALINUX_9)
        .file("var/lib/rpm/rpmdb.sqlite", fixed);
    let (analysis, report) = scan_and_match(index, vec![layer]).await;
    assert_eq!(
        found(&analysis, PackageKind::Rpm),
        pairs(&[
            ("openssl", "1:3.5.5-4.el9_8"),
            ("openssl-libs", "1:3.5.5-4.el9_8")
        ])
    );
    assert_eq!(report.matches, []);
}

// ---------------------------------------------------------------------------------------
// Go and crates.io

#[tokio::test]
async fn go_binaries_match_the_go_vulndb() {
    let Some(index) = index() else { return };
    // esbuild 0.14.8 (Go 1.17.5, x/sys of 2021) and 0.24.0 (Go 1.23.1, x/sys of 2022).
    let old = artifacts::npm_file("esbuild-linux-64", "0.14.8", "package/bin/esbuild");
    let new = artifacts::npm_file("@esbuild/linux-x64", "0.24.0", "package/bin/esbuild");
    let layer = Layer::new()
        .file_mode("opt/old/esbuild", 0o755, old)
        .file_mode("opt/new/esbuild", 0o755, new);
    let (analysis, report) = scan_and_match(index, vec![layer]).await;
    assert_eq!(
        found(&analysis, PackageKind::GoModule),
        pairs(&[
            ("github.com/evanw/esbuild", "(devel)"),
            (
                "github.com/evanw/esbuild",
                "v0.0.0-20240922020442-d34e79e2a998"
            ),
            ("golang.org/x/sys", "v0.0.0-20210908233432-aa78b53d3365"),
            ("golang.org/x/sys", "v0.0.0-20220715151400-c0bba94af5f8"),
            ("stdlib", "go1.17.5"),
            ("stdlib", "go1.23.1"),
        ])
    );
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let old_at = Some("/opt/old/esbuild");
    let new_at = Some("/opt/new/esbuild");
    assert_eq!(got(&report, "stdlib", old_at), strings(GO_STDLIB_1_17_5));
    assert_eq!(
        got(&report, "golang.org/x/sys", old_at),
        strings(GO_X_SYS_2021)
    );
    assert_eq!(got(&report, "stdlib", new_at), strings(GO_STDLIB_1_23_1));
    assert_eq!(
        got(&report, "golang.org/x/sys", new_at),
        strings(GO_X_SYS_2022)
    );
    assert_eq!(
        report.matches.len(),
        GO_STDLIB_1_17_5.len() + GO_X_SYS_2021.len() + GO_STDLIB_1_23_1.len() + GO_X_SYS_2022.len()
    );
    // GO-2024-3106 (CVE-2024-34156) only *relates* GO-2022-0526's CVE-2022-30635: two
    // flaws, two matches, each under its own CVE.
    assert!(GO_STDLIB_1_17_5.contains(&"CVE-2022-30635 GO-2022-0526"));
    assert!(GO_STDLIB_1_17_5.contains(&"CVE-2024-34156 GO-2024-3106"));
    let stdlib = report
        .matches
        .iter()
        .find(|m| m.vuln_id == "CVE-2024-34156" && m.package.location.as_deref() == old_at)
        .expect("CVE-2024-34156");
    assert_eq!(stdlib.aliases, ["GO-2024-3106"]);
    assert_eq!(stdlib.fixed_versions, ["1.22.7"]);
    assert_eq!(stdlib.package.purl, "pkg:golang/stdlib@1.17.5");
}

const VULNERABLE_CRATES_MAIN: &str = r#"fn main() {
    let mut v: smallvec::SmallVec<[u64; 4]> = smallvec::SmallVec::new();
    v.push(std::env::args().count() as u64);
    let b = bytes::Bytes::from(vec![v[0] as u8]);
    let tty = atty::is(atty::Stream::Stdout);
    let mut buf = itoa::Buffer::new();
    std::process::exit((buf.format(b.len()).len() + usize::from(tty)) as i32 - 1);
}
"#;

const FIXED_CRATES_MAIN: &str = r#"fn main() {
    let mut v: smallvec::SmallVec<[u64; 4]> = smallvec::SmallVec::new();
    v.push(std::env::args().count() as u64);
    let b = bytes::Bytes::from(vec![v[0] as u8]);
    let mut buf = itoa::Buffer::new();
    std::process::exit(buf.format(b.len()).len() as i32 - 1);
}
"#;

#[tokio::test]
async fn cargo_auditable_binary_matches_rustsec() {
    let Some(index) = index() else { return };
    let vulnerable = artifacts::cargo_auditable_binary(
        "plimsoll-vulnerable-crates",
        &[
            ("smallvec", "1.6.0"),
            ("bytes", "1.5.0"),
            ("atty", "0.2.14"),
            ("itoa", "1.0.11"),
        ],
        VULNERABLE_CRATES_MAIN,
    );
    let fixed = artifacts::cargo_auditable_binary(
        "plimsoll-fixed-crates",
        &[
            ("smallvec", "1.13.2"),
            ("bytes", "1.11.1"),
            ("itoa", "1.0.11"),
        ],
        FIXED_CRATES_MAIN,
    );
    let layer = Layer::new()
        .file_mode("usr/local/bin/vulnerable", 0o755, vulnerable)
        .file_mode("usr/local/bin/fixed", 0o755, fixed);
    let (analysis, report) = scan_and_match(index, vec![layer]).await;
    let crates = found(&analysis, PackageKind::RustCrate);
    for want in [
        ("smallvec", "1.6.0"),
        ("bytes", "1.5.0"),
        ("atty", "0.2.14"),
        ("itoa", "1.0.11"),
        ("smallvec", "1.13.2"),
        ("bytes", "1.11.1"),
    ] {
        assert!(
            crates.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {crates:?}"
        );
    }
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let at = Some("/usr/local/bin/vulnerable");
    assert_eq!(got(&report, "smallvec", at), strings(SMALLVEC_1_6_0));
    assert_eq!(got(&report, "bytes", at), strings(BYTES_1_5_0));
    assert_eq!(got(&report, "atty", at), strings(ATTY_0_2_14));
    // Nothing else: not itoa, not libc (atty's dependency), not the fixed binary's crates.
    assert_eq!(
        report.matches.len(),
        SMALLVEC_1_6_0.len() + BYTES_1_5_0.len() + ATTY_0_2_14.len(),
        "{:?}",
        report
            .matches
            .iter()
            .map(|m| (&m.vuln_id, &m.package.purl))
            .collect::<Vec<_>>()
    );
    let smallvec = &report
        .matches
        .iter()
        .find(|m| m.vuln_id == "CVE-2021-25900")
        .expect("CVE-2021-25900");
    assert_eq!(smallvec.fixed_versions, ["1.6.1"]);
    assert_eq!(smallvec.ecosystem, "crates.io");
    // atty is unmaintained: affected from 0 on, no fix.
    for m in report.matches.iter().filter(|m| m.package.name == "atty") {
        assert_eq!(m.fix_state, FixState::NotFixed, "{}", m.vuln_id);
        assert!(m.fixed_versions.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// Expected results (see the module documentation for how they were computed)

const REQUESTS_2_19_1: &[&str] = &[
    "CVE-2018-18074 PYSEC-2018-28",
    "CVE-2023-32681 PYSEC-2023-74",
];

const URLLIB3_1_24_1: &[&str] = &[
    "CVE-2018-25091 PYSEC-2023-207",
    "CVE-2019-11236 PYSEC-2019-132",
    "CVE-2019-11324 PYSEC-2019-133",
    "CVE-2020-26137 PYSEC-2020-148",
    "CVE-2021-33503 PYSEC-2021-108",
    "CVE-2023-43804 PYSEC-2023-192",
    "CVE-2023-45803 PYSEC-2023-212",
];

const JINJA2_2_10: &[&str] = &[
    "CVE-2019-10906 PYSEC-2019-217",
    "CVE-2020-28493 PYSEC-2021-66",
];

const DJANGO_2_2: &[&str] = &[
    "CVE-2019-12308 PYSEC-2019-79",
    "CVE-2019-12781 PYSEC-2019-10",
    "CVE-2019-14232 PYSEC-2019-11",
    "CVE-2019-14233 PYSEC-2019-12",
    "CVE-2019-14234 PYSEC-2019-13",
    "CVE-2019-14235 PYSEC-2019-14",
    "CVE-2019-19118 PYSEC-2019-15",
    "CVE-2019-19844 PYSEC-2019-16",
    "CVE-2020-13254 PYSEC-2020-31",
    "CVE-2020-13596 PYSEC-2020-32",
    "CVE-2020-24583 PYSEC-2020-33",
    "CVE-2020-24584 PYSEC-2020-34",
    "CVE-2020-7471 PYSEC-2020-35",
    "CVE-2020-9402 PYSEC-2020-36",
    "CVE-2021-28658 PYSEC-2021-6",
    "CVE-2021-31542 PYSEC-2021-7",
    "CVE-2021-32052 PYSEC-2021-8",
    "CVE-2021-3281 PYSEC-2021-9",
    "CVE-2021-33203 PYSEC-2021-98",
    "CVE-2021-33571 PYSEC-2021-99",
    "CVE-2021-44420 PYSEC-2021-439",
    "CVE-2021-45115 PYSEC-2022-1",
    "CVE-2021-45116 PYSEC-2022-2",
    "CVE-2021-45452 PYSEC-2022-3",
    "CVE-2022-22818 PYSEC-2022-19",
    "CVE-2022-23833 PYSEC-2022-20",
    "CVE-2022-28346 PYSEC-2022-190",
    "CVE-2022-28347 PYSEC-2022-191",
];

const DISTRIBUTED_2021_9_1: &[&str] = &["CVE-2021-42343 PYSEC-2021-871 PYSEC-2021-872"];

const DJANGO_4_2_11: &[&str] = &[
    "CVE-2024-38875 PYSEC-2024-56",
    "CVE-2024-39329 PYSEC-2024-57",
    "CVE-2024-39330 PYSEC-2024-58",
    "CVE-2024-39614 PYSEC-2024-59",
    "CVE-2024-41989 PYSEC-2024-67",
    "CVE-2024-41990 PYSEC-2024-68",
    "CVE-2024-41991 PYSEC-2024-69",
    "CVE-2024-42005 PYSEC-2024-70",
    "CVE-2024-45230 PYSEC-2024-102",
];

const LODASH_4_17_15: &[&str] = &[
    "CVE-2020-8203 GHSA-p6mc-m468-83gw",
    "CVE-2021-23337 GHSA-35jh-r3h4-6jhm",
];

const MINIMIST_1_2_0: &[&str] = &[
    "CVE-2020-7598 GHSA-vh95-rmgr-6w4m",
    "CVE-2021-44906 GHSA-xvch-5gv4-984h",
];

const ALMA_OPENSSL_3_0_7_24: &[&str] = &[
    "CVE-2023-2975 ALSA-2024:2447",
    "CVE-2023-5363 ALSA-2024:0310",
    "CVE-2024-12797 ALSA-2025:1330",
    "CVE-2024-2511 ALSA-2024:9333",
    "CVE-2024-6119 ALSA-2024:6783",
    "CVE-2025-11187 ALSA-2026:1473",
    "CVE-2025-9230 ALSA-2025:21255",
    "CVE-2026-28390 ALSA-2026:22312",
    "CVE-2026-31790 ALSA-2026:19218",
    "CVE-2026-34180 ALSA-2026:25239",
];

const EXPAT_2_5_0_1_DEB12U2: &[&str] = &[
    "CVE-2024-28757 DEBIAN-CVE-2024-28757",
    "CVE-2025-59375 DEBIAN-CVE-2025-59375",
    "CVE-2026-102633 DEBIAN-CVE-2026-102633",
    "CVE-2026-24515 DEBIAN-CVE-2026-24515",
    "CVE-2026-25210 DEBIAN-CVE-2026-25210",
    "CVE-2026-32776 DEBIAN-CVE-2026-32776",
    "CVE-2026-32777 DEBIAN-CVE-2026-32777",
    "CVE-2026-32778 DEBIAN-CVE-2026-32778",
    "CVE-2026-45186 DEBIAN-CVE-2026-45186",
    "CVE-2026-50219 DEBIAN-CVE-2026-50219",
    "CVE-2026-56131 DEBIAN-CVE-2026-56131",
    "CVE-2026-56132 DEBIAN-CVE-2026-56132",
    "CVE-2026-56403 DEBIAN-CVE-2026-56403",
    "CVE-2026-56404 DEBIAN-CVE-2026-56404",
    "CVE-2026-56405 DEBIAN-CVE-2026-56405",
    "CVE-2026-56406 DEBIAN-CVE-2026-56406",
    "CVE-2026-56407 DEBIAN-CVE-2026-56407",
    "CVE-2026-56408 DEBIAN-CVE-2026-56408",
    "CVE-2026-56409 DEBIAN-CVE-2026-56409",
    "CVE-2026-56410 DEBIAN-CVE-2026-56410",
    "CVE-2026-56411 DEBIAN-CVE-2026-56411",
    "CVE-2026-56412 DEBIAN-CVE-2026-56412",
    "CVE-2026-66046 DEBIAN-CVE-2026-66046",
    "CVE-2026-72522 DEBIAN-CVE-2026-72522",
    "CVE-2026-76957 DEBIAN-CVE-2026-76957",
    "CVE-2026-77214 DEBIAN-CVE-2026-77214",
    "CVE-2026-93990 DEBIAN-CVE-2026-93990",
];

const OPENSSL_3_0_17_1_DEB12U2: &[&str] = &[
    "CVE-2025-15467 DEBIAN-CVE-2025-15467",
    "CVE-2025-68160 DEBIAN-CVE-2025-68160",
    "CVE-2025-69418 DEBIAN-CVE-2025-69418",
    "CVE-2025-69419 DEBIAN-CVE-2025-69419",
    "CVE-2025-69420 DEBIAN-CVE-2025-69420",
    "CVE-2025-69421 DEBIAN-CVE-2025-69421",
    "CVE-2025-9230 DEBIAN-CVE-2025-9230",
    "CVE-2025-9232 DEBIAN-CVE-2025-9232",
    "CVE-2026-22795 DEBIAN-CVE-2026-22795",
    "CVE-2026-22796 DEBIAN-CVE-2026-22796",
    "CVE-2026-28387 DEBIAN-CVE-2026-28387",
    "CVE-2026-28388 DEBIAN-CVE-2026-28388",
    "CVE-2026-28389 DEBIAN-CVE-2026-28389",
    "CVE-2026-28390 DEBIAN-CVE-2026-28390",
    "CVE-2026-31789 DEBIAN-CVE-2026-31789",
    "CVE-2026-31790 DEBIAN-CVE-2026-31790",
    "CVE-2026-34180 DEBIAN-CVE-2026-34180",
    "CVE-2026-34182 DEBIAN-CVE-2026-34182",
    "CVE-2026-35189 DEBIAN-CVE-2026-35189",
    "CVE-2026-42766 DEBIAN-CVE-2026-42766",
    "CVE-2026-42767 DEBIAN-CVE-2026-42767",
    "CVE-2026-42770 DEBIAN-CVE-2026-42770",
    "CVE-2026-45445 DEBIAN-CVE-2026-45445",
    "CVE-2026-45446 DEBIAN-CVE-2026-45446",
    "CVE-2026-45447 DEBIAN-CVE-2026-45447",
    "CVE-2026-54872 DEBIAN-CVE-2026-54872",
    "CVE-2026-54874 DEBIAN-CVE-2026-54874",
    "CVE-2026-63072 DEBIAN-CVE-2026-63072",
    "CVE-2026-63074 DEBIAN-CVE-2026-63074",
    "CVE-2026-63076 DEBIAN-CVE-2026-63076",
    "CVE-2026-7383 DEBIAN-CVE-2026-7383",
    "CVE-2026-75803 DEBIAN-CVE-2026-75803",
    "CVE-2026-75805 DEBIAN-CVE-2026-75805",
    "CVE-2026-75806 DEBIAN-CVE-2026-75806",
    "CVE-2026-77696 DEBIAN-CVE-2026-77696",
    "CVE-2026-84782 DEBIAN-CVE-2026-84782",
    "CVE-2026-9076 DEBIAN-CVE-2026-9076",
];

const LIBXML2_2_9_14_DEB12U4: &[&str] = &[
    "CVE-2022-2309 DEBIAN-CVE-2022-2309",
    "CVE-2025-8732 DEBIAN-CVE-2025-8732",
    "CVE-2025-9714 DEBIAN-CVE-2025-9714",
    "CVE-2026-0989 DEBIAN-CVE-2026-0989",
    "CVE-2026-0990 DEBIAN-CVE-2026-0990",
    "CVE-2026-0992 DEBIAN-CVE-2026-0992",
    "CVE-2026-1757 DEBIAN-CVE-2026-1757",
];

const PAM_1_5_2_6_DEB12U2: &[&str] = &["CVE-2024-22365 DEBIAN-CVE-2024-22365"];

const LIBXML2_2_9_14_DEB12U6: &[&str] = &["CVE-2022-2309 DEBIAN-CVE-2022-2309"];

const GO_STDLIB_1_17_5: &[&str] = &[
    "CVE-2022-1705 GO-2022-0525",
    "CVE-2022-1962 GO-2022-0515",
    "CVE-2022-23772 GO-2021-0317",
    "CVE-2022-23806 GO-2021-0319",
    "CVE-2022-24675 GO-2022-0433",
    "CVE-2022-24921 GO-2021-0347",
    "CVE-2022-27664 GO-2022-0969",
    "CVE-2022-28131 GO-2022-0521",
    "CVE-2022-28327 GO-2022-0435",
    "CVE-2022-2879 GO-2022-1037",
    "CVE-2022-2880 GO-2022-1038",
    "CVE-2022-29526 GO-2022-0493",
    "CVE-2022-29804 GO-2022-0533",
    "CVE-2022-30580 GO-2022-0532",
    "CVE-2022-30629 GO-2022-0531",
    "CVE-2022-30630 GO-2022-0527",
    "CVE-2022-30631 GO-2022-0524",
    "CVE-2022-30632 GO-2022-0522",
    "CVE-2022-30633 GO-2022-0523",
    "CVE-2022-30634 GO-2022-0477",
    "CVE-2022-30635 GO-2022-0526",
    "CVE-2022-32148 GO-2022-0520",
    "CVE-2022-32189 GO-2022-0537",
    "CVE-2022-41715 GO-2022-1039",
    "CVE-2022-41716 GO-2022-1095",
    "CVE-2022-41717 GO-2022-1144",
    "CVE-2022-41720 GO-2022-1143",
    "CVE-2022-41722 GO-2023-1568",
    "CVE-2022-41723 GO-2023-1571",
    "CVE-2022-41724 GO-2023-1570",
    "CVE-2022-41725 GO-2023-1569",
    "CVE-2023-24532 GO-2023-1621",
    "CVE-2023-24534 GO-2023-1704",
    "CVE-2023-24536 GO-2023-1705",
    "CVE-2023-24537 GO-2023-1702",
    "CVE-2023-24538 GO-2023-1703",
    "CVE-2023-24539 GO-2023-1751",
    "CVE-2023-24540 GO-2023-1752",
    "CVE-2023-29400 GO-2023-1753",
    "CVE-2023-29403 GO-2023-1840",
    "CVE-2023-29406 GO-2023-1878",
    "CVE-2023-29409 GO-2023-1987",
    "CVE-2023-39318 GO-2023-2041",
    "CVE-2023-39319 GO-2023-2043",
    "CVE-2023-39325 GO-2023-2102",
    "CVE-2023-39326 GO-2023-2382",
    "CVE-2023-45283 GO-2023-2185",
    "CVE-2023-45284 GO-2023-2186",
    "CVE-2023-45287 GO-2023-2375",
    "CVE-2023-45288 GO-2024-2687",
    "CVE-2023-45289 GO-2024-2600",
    "CVE-2023-45290 GO-2024-2599",
    "CVE-2024-24783 GO-2024-2598",
    "CVE-2024-24784 GO-2024-2609",
    "CVE-2024-24785 GO-2024-2610",
    "CVE-2024-24789 GO-2024-2888",
    "CVE-2024-24790 GO-2024-2887",
    "CVE-2024-24791 GO-2024-2963",
    "CVE-2024-34155 GO-2024-3105",
    "CVE-2024-34156 GO-2024-3106",
    "CVE-2024-34158 GO-2024-3107",
    "CVE-2024-45336 GO-2025-3420",
    "CVE-2024-45341 GO-2025-3373",
    "CVE-2025-0913 GO-2025-3750",
    "CVE-2025-22866 GO-2025-3447",
    "CVE-2025-22870 GO-2025-3503",
    "CVE-2025-22871 GO-2025-3563",
    "CVE-2025-22873 GO-2026-4403",
    "CVE-2025-4673 GO-2025-3751",
    "CVE-2025-47906 GO-2025-3956",
    "CVE-2025-47907 GO-2025-3849",
    "CVE-2025-47912 GO-2025-4010",
    "CVE-2025-58183 GO-2025-4014",
    "CVE-2025-58185 GO-2025-4011",
    "CVE-2025-58186 GO-2025-4012",
    "CVE-2025-58187 GO-2025-4007",
    "CVE-2025-58188 GO-2025-4013",
    "CVE-2025-58189 GO-2025-4008",
    "CVE-2025-61723 GO-2025-4009",
    "CVE-2025-61724 GO-2025-4015",
    "CVE-2025-61725 GO-2025-4006",
    "CVE-2025-61726 GO-2026-4341",
    "CVE-2025-61727 GO-2025-4175",
    "CVE-2025-61728 GO-2026-4342",
    "CVE-2025-61729 GO-2025-4155",
    "CVE-2025-61730 GO-2026-4340",
    "CVE-2025-68121 GO-2026-4337",
    "CVE-2026-25679 GO-2026-4601",
    "CVE-2026-27139 GO-2026-4602",
    "CVE-2026-27142 GO-2026-4603",
    "CVE-2026-27145 GO-2026-5037",
    "CVE-2026-32280 GO-2026-4947",
    "CVE-2026-32281 GO-2026-4946",
    "CVE-2026-32282 GO-2026-4864",
    "CVE-2026-32283 GO-2026-4870",
    "CVE-2026-32288 GO-2026-4869",
    "CVE-2026-32289 GO-2026-4865",
    "CVE-2026-33811 GO-2026-4981",
    "CVE-2026-33814 GO-2026-4918",
    "CVE-2026-33818 GO-2026-5972",
    "CVE-2026-39820 GO-2026-4986",
    "CVE-2026-39821 GO-2026-5026",
    "CVE-2026-39822 GO-2026-4970",
    "CVE-2026-39823 GO-2026-4982",
    "CVE-2026-39825 GO-2026-4976",
    "CVE-2026-39826 GO-2026-4980",
    "CVE-2026-39836 GO-2026-4971",
    "CVE-2026-42499 GO-2026-4977",
    "CVE-2026-42504 GO-2026-5038",
    "CVE-2026-42505 GO-2026-5856",
    "CVE-2026-42507 GO-2026-5039",
    "CVE-2026-56853 GO-2026-6089",
    "CVE-2026-56858 GO-2026-6091",
    "CVE-2026-56859 GO-2026-6088",
    "CVE-2026-56860 GO-2026-6218",
    "CVE-2026-56862 GO-2026-6090",
];

const GO_X_SYS_2021: &[&str] = &["CVE-2022-29526 GO-2022-0493", "CVE-2026-39824 GO-2026-5024"];

const GO_STDLIB_1_23_1: &[&str] = &[
    "CVE-2024-45336 GO-2025-3420",
    "CVE-2024-45341 GO-2025-3373",
    "CVE-2025-0913 GO-2025-3750",
    "CVE-2025-22866 GO-2025-3447",
    "CVE-2025-22870 GO-2025-3503",
    "CVE-2025-22871 GO-2025-3563",
    "CVE-2025-22873 GO-2026-4403",
    "CVE-2025-4673 GO-2025-3751",
    "CVE-2025-47906 GO-2025-3956",
    "CVE-2025-47907 GO-2025-3849",
    "CVE-2025-47912 GO-2025-4010",
    "CVE-2025-58183 GO-2025-4014",
    "CVE-2025-58185 GO-2025-4011",
    "CVE-2025-58186 GO-2025-4012",
    "CVE-2025-58187 GO-2025-4007",
    "CVE-2025-58188 GO-2025-4013",
    "CVE-2025-58189 GO-2025-4008",
    "CVE-2025-61723 GO-2025-4009",
    "CVE-2025-61724 GO-2025-4015",
    "CVE-2025-61725 GO-2025-4006",
    "CVE-2025-61726 GO-2026-4341",
    "CVE-2025-61727 GO-2025-4175",
    "CVE-2025-61728 GO-2026-4342",
    "CVE-2025-61729 GO-2025-4155",
    "CVE-2025-61730 GO-2026-4340",
    "CVE-2025-68121 GO-2026-4337",
    "CVE-2026-25679 GO-2026-4601",
    "CVE-2026-27139 GO-2026-4602",
    "CVE-2026-27142 GO-2026-4603",
    "CVE-2026-27145 GO-2026-5037",
    "CVE-2026-32280 GO-2026-4947",
    "CVE-2026-32281 GO-2026-4946",
    "CVE-2026-32282 GO-2026-4864",
    "CVE-2026-32283 GO-2026-4870",
    "CVE-2026-32288 GO-2026-4869",
    "CVE-2026-32289 GO-2026-4865",
    "CVE-2026-33811 GO-2026-4981",
    "CVE-2026-33814 GO-2026-4918",
    "CVE-2026-33818 GO-2026-5972",
    "CVE-2026-39820 GO-2026-4986",
    "CVE-2026-39821 GO-2026-5026",
    "CVE-2026-39822 GO-2026-4970",
    "CVE-2026-39823 GO-2026-4982",
    "CVE-2026-39825 GO-2026-4976",
    "CVE-2026-39826 GO-2026-4980",
    "CVE-2026-39836 GO-2026-4971",
    "CVE-2026-42499 GO-2026-4977",
    "CVE-2026-42504 GO-2026-5038",
    "CVE-2026-42505 GO-2026-5856",
    "CVE-2026-42507 GO-2026-5039",
    "CVE-2026-56853 GO-2026-6089",
    "CVE-2026-56858 GO-2026-6091",
    "CVE-2026-56859 GO-2026-6088",
    "CVE-2026-56860 GO-2026-6218",
    "CVE-2026-56862 GO-2026-6090",
];

const GO_X_SYS_2022: &[&str] = &["CVE-2026-39824 GO-2026-5024"];

const SMALLVEC_1_6_0: &[&str] = &["CVE-2021-25900 RUSTSEC-2021-0003"];

const BYTES_1_5_0: &[&str] = &["CVE-2026-25541 RUSTSEC-2026-0007"];

const ATTY_0_2_14: &[&str] = &[
    "GHSA-g98v-hv3f-hcfr RUSTSEC-2021-0145",
    "RUSTSEC-2024-0375 RUSTSEC-2024-0375",
];
