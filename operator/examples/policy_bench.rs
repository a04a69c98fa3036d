//! Evaluates the CIS Docker 1.13 bundle over 1,000 analyses generated from the policy test
//! fixture (`operator/src/policy/testdata/analysis.json`, written by the real analyzer, and its
//! matches): each with its own digest, a few hundred extra files (some setuid, some holding a
//! secret hit), extra packages and exposed ports. Prints the total evaluation time (the
//! target: at most 1 s in release). Not a test: run
//! `cargo run --release -p plimsoll --example policy_bench`.

#![allow(clippy::print_stdout, clippy::expect_used)]

use plimsoll::matcher::Match;
use plimsoll::policy::{self, Action, EvalInput, FormatHint, ImageRef, MatchTimes};
use plimsoll_analyzer::model::Analysis;
use std::time::Instant;

const ANALYSES: usize = 1_000;

fn generate(base: &Analysis, i: usize) -> Analysis {
    let mut a = base.clone();
    a.image.manifest_digest = format!("sha256:{i:064x}");
    a.image.config_digest = format!("sha256:{:064x}", i + 1_000_000);
    let template_file = base.files.first().cloned();
    if let Some(f) = template_file {
        for j in 0..(100 + i % 400) {
            let mut f = f.clone();
            f.path = format!("/opt/app{i}/lib/module{j}.py");
            f.size = (i * 31 + j) as u64;
            f.mode = match j % 50 {
                0 => 0o4755,
                1 => 0o2755,
                _ => 0o644,
            };
            a.files.push(f);
        }
    }
    if let Some(p) = base.packages.first().cloned() {
        for j in 0..(i % 60) {
            let mut p = p.clone();
            p.name = format!("pkg-{j}");
            p.version = format!("1.{}.{}", i % 7, j);
            p.purl = format!("pkg:deb/debian/pkg-{j}@1.{}.{j}", i % 7);
            a.packages.push(p);
        }
    }
    if let Some(hit) = base.secrets.first().cloned()
        && i.is_multiple_of(3)
    {
        a.secrets.push(hit);
    }
    a.image.config.exposed_ports = match i % 4 {
        0 => vec!["22/tcp".into()],
        1 => vec!["8080/tcp".into()],
        2 => vec!["80/tcp".into(), "9000/tcp".into()],
        _ => Vec::new(),
    };
    a.image.config.user = i.is_multiple_of(2).then(|| "app".to_owned());
    a
}

fn main() {
    let base: Analysis = serde_json::from_str(include_str!("../src/policy/testdata/analysis.json"))
        .expect("fixture");
    let matches: Vec<Match> =
        serde_json::from_str(include_str!("../src/policy/testdata/matches.json")).expect("fixture");
    let bundle = policy::load_bundle(
        include_bytes!("../../examples/policies/cis-docker-1.13.json"),
        FormatHint::Json,
    )
    .expect("CIS bundle");
    let analyses: Vec<Analysis> = (0..ANALYSES).map(|i| generate(&base, i)).collect();
    let images: Vec<ImageRef> = analyses.iter().map(ImageRef::from_analysis).collect();
    let times = vec![MatchTimes::default(); matches.len()];
    let now = chrono::Utc::now();
    let files: usize = analyses.iter().map(|a| a.files.len()).sum();

    let start = Instant::now();
    let mut rows = 0usize;
    let mut stops = 0usize;
    for (a, image) in analyses.iter().zip(&images) {
        let v = policy::evaluate(
            &bundle,
            &EvalInput {
                analysis: a,
                matches: &matches,
                match_times: &times,
                feed_sync: Some(now),
                image,
                now,
            },
        );
        rows += v.rows.len();
        stops += usize::from(v.final_action == Action::Stop);
    }
    let elapsed = start.elapsed();
    println!(
        "CIS bundle over {ANALYSES} analyses ({files} files in all): {elapsed:?} total, \
         {:?} each; {rows} rows, {stops} STOP",
        elapsed / ANALYSES as u32
    );
}
