//! Times vulnerability matching at feed scale: the in-memory [`VulnIndex`] against the SQL
//! lookups of the store, on real feeds grown to production size.
//!
//! 1. Ingest every `shared/vulndata/osv/*.jsonl` (time, peak RSS).
//! 2. Grow them with generated records until at least ROWS `affected` entries (default
//!    500 000): copies of the real records with renamed packages (one copy in four keeps the
//!    name, so popular packages get deeper), shifted versions and suffixed ids.
//! 3. Build the index (time, memory).
//! 4. Match a generated 10 000-package Debian 12 image (deb, PyPI, npm, Go, crates.io; most
//!    names taken from the feeds, with affected and unaffected versions): median of several
//!    runs of `match_packages`.
//! 5. The same through the store, on SQLite and on PostgreSQL when it answers: batched
//!    (`affected_for` for every package at once, `advisories_by_id`, then matching those
//!    records) and naive (one package at a time, Grype's way; every 25th package, its time
//!    scaled up), each before and after adding an index on `advisories(id)`.
//!
//! Figures and findings: `README.md` beside this file.
//!
//! ```sh
//! cargo run --release -p plimsoll --example match_bench -- [--rows N] [--runs N] \
//!     [--vulndata DIR] [--postgres URL] [--no-sql]
//! ```
//!
//! The feeds are `--vulndata`, else `$PLIMSOLL_VULNDATA`, else `shared/vulndata` beside the
//! repository or one of its parents. PostgreSQL defaults to `$PLIMSOLL_TEST_POSTGRES`, else
//! `postgres://postgres@127.0.0.1:5432/test`, and runs in a schema created and dropped here.
//! Not run by the tests (built by `cargo test --all-targets`).

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use anyhow::{Context as _, bail};
use plimsoll::feeds::osv::Record;
use plimsoll::feeds::read::read_osv_jsonl;
use plimsoll::matcher::ecosystem::queries_for;
use plimsoll::matcher::{VulnIndex, match_packages};
use plimsoll::store::{Backend, FeedSourceSpec, PackageRef, Store, Timestamp};
use plimsoll_analyzer::model::{Distro, Package, PackageKind, SourcePackage};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, SqliteConnection};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PACKAGES: usize = 10_000;

struct Args {
    rows: usize,
    runs: usize,
    vulndata: Option<PathBuf>,
    postgres: String,
    sql: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        rows: 500_000,
        runs: 9,
        vulndata: std::env::var_os("PLIMSOLL_VULNDATA").map(PathBuf::from),
        postgres: std::env::var("PLIMSOLL_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        sql: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value()?.parse()?,
            "--runs" => a.runs = value()?.parse::<usize>()?.max(1),
            "--vulndata" => a.vulndata = Some(value()?.into()),
            "--postgres" => a.postgres = value()?,
            "--no-sql" => a.sql = false,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

/// `VmHWM` (peak) or `VmRSS` (now) of this process, in MiB.
fn vm_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU time this thread has run, from `/proc/thread-self/schedstat` (nanoseconds): unlike
/// wall time it leaves out waiting for a core, which other processes on a busy machine cause.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = stat
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

fn vulndata_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    given
        .or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|d| d.join("shared/vulndata"))
                .find(|d| d.join("osv").is_dir())
        })
        .filter(|d| d.join("osv").is_dir())
        .context("shared/vulndata not found: pass --vulndata or set PLIMSOLL_VULNDATA")
}

/// `(source, records)` of every OSV JSON lines feed.
fn ingest(dir: &Path) -> anyhow::Result<Vec<(String, Vec<Record>)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("osv"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut feeds = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let out = read_osv_jsonl(&std::fs::read(&file)?, &name);
        if !out.skipped.is_empty() {
            println!("  {name}: {} records skipped", out.skipped.len());
        }
        feeds.push((name.trim_end_matches(".jsonl").to_owned(), out.records));
    }
    Ok(feeds)
}

fn affected_count(records: &[Record]) -> usize {
    records
        .iter()
        .filter(|r| r.withdrawn.is_none())
        .map(|r| r.affected.iter().filter(|a| a.package.is_some()).count())
        .sum()
}

/// `v` with `k` added to its last run of digits (keeps every scheme's syntax).
fn shift(v: &str, k: u64) -> String {
    if v == "0" {
        return v.to_owned();
    }
    let bytes = v.as_bytes();
    let Some(end) = bytes.iter().rposition(u8::is_ascii_digit).map(|i| i + 1) else {
        return v.to_owned();
    };
    let start = bytes[..end]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    match v[start..end].parse::<u64>() {
        Ok(n) if end - start <= 12 => format!("{}{}{}", &v[..start], n + k, &v[end..]),
        _ => v.to_owned(),
    }
}

/// Copy `k` of a real record: suffixed ids, renamed packages (one copy in four keeps the
/// name), shifted versions.
fn generated(r: &Record, k: u64) -> Record {
    let mut g = r.clone();
    let tag =
        |ids: &[String]| -> Vec<String> { ids.iter().map(|id| format!("{id}-G{k}")).collect() };
    g.id = format!("{}-G{k}", r.id);
    g.aliases = tag(&r.aliases);
    g.upstream = tag(&r.upstream);
    g.related = tag(&r.related);
    g.details = None;
    g.references.clear();
    for a in &mut g.affected {
        if let Some(p) = a.package.as_mut() {
            if !k.is_multiple_of(4) {
                p.name = format!("{}-g{k}", p.name);
            }
            p.purl = None;
        }
        for range in &mut a.ranges {
            for e in &mut range.events {
                for v in [&mut e.introduced, &mut e.fixed, &mut e.last_affected]
                    .into_iter()
                    .flatten()
                {
                    *v = shift(v, k);
                }
            }
        }
        for v in &mut a.versions {
            *v = shift(v, k);
        }
    }
    g
}

/// Generated feeds (`gen-<source>`) until the total reaches `rows` affected entries.
fn grow(feeds: &[(String, Vec<Record>)], rows: usize) -> Vec<(String, Vec<Record>)> {
    let real: usize = feeds.iter().map(|(_, r)| affected_count(r)).sum();
    let mut out: Vec<(String, Vec<Record>)> = feeds
        .iter()
        .map(|(s, _)| (format!("gen-{s}"), Vec::new()))
        .collect();
    let mut total = real;
    let mut k = 1;
    while total < rows {
        'feeds: for ((_, records), (_, copies)) in feeds.iter().zip(out.iter_mut()) {
            for r in records.iter().filter(|r| r.withdrawn.is_none()) {
                let g = generated(r, k);
                total += affected_count(std::slice::from_ref(&g));
                copies.push(g);
                if total >= rows {
                    break 'feeds;
                }
            }
        }
        k += 1;
    }
    out
}

/// A tiny deterministic generator (64-bit LCG), so every run matches the same image.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }
}

/// For each feed key of the ecosystems a Debian 12 image can hold, the versions its entries
/// name (affected ones from `versions`/`introduced`, unaffected ones from `fixed`).
fn candidates(feeds: &[&[Record]]) -> BTreeMap<(String, String), Vec<String>> {
    let mut keys: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in feeds.iter().flat_map(|f| f.iter()) {
        for a in &r.affected {
            let Some(p) = &a.package else { continue };
            if !matches!(
                p.ecosystem.as_str(),
                "Debian:12" | "PyPI" | "npm" | "Go" | "crates.io"
            ) {
                continue;
            }
            let versions = keys
                .entry((p.ecosystem.clone(), p.name.clone()))
                .or_default();
            if versions.len() >= 16 {
                continue;
            }
            versions.extend(a.versions.iter().take(2).cloned());
            let ranges = a.ranges.iter().filter(|r| r.kind != "GIT");
            for e in ranges.flat_map(|r| &r.events) {
                if let Some(v) = e.introduced.as_ref().filter(|v| *v != "0") {
                    versions.push(v.clone());
                }
                if let Some(v) = &e.fixed {
                    versions.push(v.clone());
                }
            }
        }
    }
    keys.retain(|_, v| !v.is_empty());
    keys
}

/// The image: 10 000 packages, 40 % deb, 25 % PyPI, 20 % npm, 10 % Go, 5 % crates.io; in each
/// ecosystem 70 % named like a feed key (real or generated), the rest unknown to every feed.
fn image(keys: &BTreeMap<(String, String), Vec<String>>) -> Vec<Package> {
    let by_eco = |eco: &str| -> Vec<(&String, &Vec<String>)> {
        keys.iter()
            .filter(|((e, _), _)| e == eco)
            .map(|((_, n), v)| (n, v))
            .collect()
    };
    let mix: [(&str, PackageKind, usize, &str); 5] = [
        ("Debian:12", PackageKind::Deb, 40, "1.0-1"),
        ("PyPI", PackageKind::Python, 25, "1.0.0"),
        ("npm", PackageKind::Npm, 20, "1.0.0"),
        ("Go", PackageKind::GoModule, 10, "v1.0.0"),
        ("crates.io", PackageKind::RustCrate, 5, "1.0.0"),
    ];
    let mut rng = Lcg(42);
    let mut out = Vec::with_capacity(PACKAGES);
    for (eco, kind, percent, plain) in mix {
        let pool = by_eco(eco);
        for i in 0..PACKAGES * percent / 100 {
            let (name, version) = if !pool.is_empty() && rng.below(10) < 7 {
                let (name, versions) = pool[rng.below(pool.len())];
                let v = versions[rng.below(versions.len())].clone();
                let v = if name == "stdlib" {
                    format!("go{v}")
                } else {
                    v
                };
                (name.clone(), v)
            } else {
                (
                    format!("unlisted-{eco}-{i}").replace(':', "-"),
                    plain.to_owned(),
                )
            };
            let mut p = if kind == PackageKind::Deb {
                // Debian feeds name the source package; the image lists binaries.
                let mut p = Package::new(kind, format!("{name}-bin{i}"), version);
                p.source = Some(SourcePackage {
                    name,
                    version: None,
                });
                p
            } else {
                Package::new(kind, name, version)
            };
            p.purl = format!("pkg:bench/{i}-{}", p.name);
            p.locations = vec![format!("/layer/{i}")];
            out.push(p);
        }
    }
    out
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

/// The feed keys an image's packages are looked up under.
fn package_refs(packages: &[Package], distro: &Distro) -> Vec<Vec<PackageRef>> {
    packages
        .iter()
        .map(|p| {
            queries_for(p, Some(distro))
                .unwrap_or_default()
                .into_iter()
                .map(|q| PackageRef::new(q.ecosystem, q.name))
                .collect()
        })
        .collect()
}

/// Candidate rows by SQL, their records by id, matched in memory: the per-package SQL path.
async fn match_by_sql(
    store: &Store,
    packages: &[Package],
    refs: &[PackageRef],
    distro: &Distro,
) -> anyhow::Result<usize> {
    let rows = store.affected_for(refs).await?;
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.advisory_id.as_str()).collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let mut index = VulnIndex::new();
    for (source, record) in store.advisories_by_id(&ids).await? {
        index.insert(&source, &record);
    }
    Ok(match_packages(packages, Some(distro), &index).matches.len())
}

/// Packages the naive path looks up one by one: every `NAIVE_STRIDE`-th, its time scaled up.
const NAIVE_STRIDE: usize = 25;

async fn bench_store(
    label: &str,
    url: &str,
    feeds: &[(String, Vec<Record>)],
    packages: &[Package],
    distro: &Distro,
    index: &VulnIndex,
    runs: usize,
) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let now = Timestamp::from_unix_millis(1_750_000_000_000);
    let t = Instant::now();
    let mut stored = 0;
    for (source, records) in feeds {
        let spec = FeedSourceSpec {
            name: source,
            kind: "osv-jsonl",
            url: "-",
        };
        store.feed_sync_started(&spec, now).await?;
        stored += store
            .replace_source(source, records, None, now)
            .await?
            .inserted;
    }
    println!("{label:>8}: stored {stored} records in {:.1?}", t.elapsed());

    let per_package = package_refs(packages, distro);
    let all: Vec<PackageRef> = per_package.iter().flatten().cloned().collect();
    let expected = match_packages(packages, Some(distro), index).matches.len();
    let sample: Vec<(&Package, &Vec<PackageRef>)> = packages
        .iter()
        .zip(&per_package)
        .step_by(NAIVE_STRIDE)
        .filter(|(_, refs)| !refs.is_empty())
        .collect();
    let sample_packages: Vec<Package> = sample.iter().map(|(p, _)| (*p).clone()).collect();
    let sample_expected = match_packages(&sample_packages, Some(distro), index)
        .matches
        .len();
    let differs = |n: usize, want: usize| {
        if n == want {
            String::new()
        } else {
            format!(" ({want} by the index)")
        }
    };
    for indexed in [false, true] {
        if indexed {
            add_id_index(&store, url).await?;
        }
        let how = if indexed {
            "with an index on advisories(id)"
        } else {
            "schema as is"
        };
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..runs.min(5) {
            let t = Instant::now();
            found = match_by_sql(&store, packages, &all, distro).await?;
            times.push(t.elapsed());
        }
        println!(
            "{label:>8}: batched SQL, {how}: affected_for({} keys) + advisories_by_id + match: \
             median {:.1?} of {} runs, {found} matches{}",
            all.len(),
            median(times),
            runs.min(5),
            differs(found, expected)
        );
        let t = Instant::now();
        let mut naive = 0;
        for (pkg, refs) in &sample {
            naive += match_by_sql(&store, std::slice::from_ref(*pkg), refs, distro).await?;
        }
        let took = t.elapsed();
        println!(
            "{label:>8}: naive SQL, {how}, one package at a time: {} packages (every \
             {NAIVE_STRIDE}th) in {took:.1?}, about {:.1?} for all {}; {naive} matches{}",
            sample.len(),
            took * u32::try_from(packages.len() / sample.len().max(1)).unwrap_or(1),
            packages.len(),
            differs(naive, sample_expected)
        );
    }
    store.close().await;
    Ok(())
}

/// What the store's `advisories_by_id` would need: its `WHERE id IN (...)` cannot use the
/// `(source, id)` primary key, so without this index every call scans the table.
async fn add_id_index(store: &Store, url: &str) -> anyhow::Result<()> {
    const DDL: &str = "CREATE INDEX IF NOT EXISTS bench_advisories_id ON advisories (id)";
    match store.backend() {
        Backend::Sqlite => {
            let mut c = SqliteConnection::connect(&format!("sqlite://{url}")).await?;
            c.execute(DDL).await?;
        }
        Backend::Postgres => {
            let mut c = PgConnection::connect(url).await?;
            c.execute(DDL).await?;
            c.execute("ANALYZE advisories").await?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let dir = vulndata_dir(args.vulndata.clone())?;

    let t = Instant::now();
    let real = ingest(&dir)?;
    let real_records: usize = real.iter().map(|(_, r)| r.len()).sum();
    let real_rows: usize = real.iter().map(|(_, r)| affected_count(r)).sum();
    println!(
        "ingest {}: {real_records} records, {real_rows} affected entries, {} feeds in {:.2?}; \
         peak RSS {:.0} MiB",
        dir.join("osv").display(),
        real.len(),
        t.elapsed(),
        vm_mib("VmHWM")
    );

    let t = Instant::now();
    let generated = grow(&real, args.rows);
    let gen_records: usize = generated.iter().map(|(_, r)| r.len()).sum();
    let gen_rows: usize = generated.iter().map(|(_, r)| affected_count(r)).sum();
    println!(
        "generate: {gen_records} records, {gen_rows} affected entries in {:.2?} (total {} \
         affected entries); peak RSS {:.0} MiB",
        t.elapsed(),
        real_rows + gen_rows,
        vm_mib("VmHWM")
    );
    let feeds: Vec<(String, Vec<Record>)> = real.into_iter().chain(generated).collect();

    let rss_before = vm_mib("VmRSS");
    let t = Instant::now();
    let mut index = VulnIndex::new();
    for (source, records) in &feeds {
        for r in records {
            index.insert(source, r);
        }
    }
    let build = t.elapsed();
    println!(
        "index: {} affected entries ({} of unqueried ecosystems left out) of {} advisories \
         built in {build:.2?}; +{:.0} MiB RSS; peak RSS {:.0} MiB",
        index.len(),
        index.unsupported(),
        index.advisory_count(),
        vm_mib("VmRSS") - rss_before,
        vm_mib("VmHWM")
    );

    let keys = candidates(&feeds.iter().map(|(_, r)| r.as_slice()).collect::<Vec<_>>());
    let packages = image(&keys);
    let distro = Distro {
        id: "debian".into(),
        version_id: Some("12.11".into()),
        ..Distro::default()
    };
    let report = match_packages(&packages, Some(&distro), &index);
    let hit: BTreeSet<&str> = report
        .matches
        .iter()
        .map(|m| m.package.purl.as_str())
        .collect();
    let mut times = Vec::new();
    let mut cpu = Duration::ZERO;
    for _ in 0..args.runs {
        let (t, c) = (Instant::now(), thread_cpu());
        let r = match_packages(&packages, Some(&distro), &index);
        times.push(t.elapsed());
        cpu += thread_cpu().saturating_sub(c);
        assert_eq!(r.matches.len(), report.matches.len());
    }
    println!(
        "match {} packages ({} with a match) against the index: median {:.1?} wall, {:.1?} CPU \
         (mean) of {} runs (wall min {:.1?}, max {:.1?}); {} matches, {} notes",
        packages.len(),
        hit.len(),
        median(times.clone()),
        cpu / u32::try_from(args.runs).unwrap_or(u32::MAX),
        args.runs,
        times.iter().min().copied().unwrap_or_default(),
        times.iter().max().copied().unwrap_or_default(),
        report.matches.len(),
        report.notes.len()
    );

    // Where the time goes: building the queries, then looking up and evaluating every entry
    // (what the index is for); the rest of `match_packages` is merging hits and writing the
    // matches out.
    let (mut query_cpu, mut eval_cpu) = (Duration::ZERO, Duration::ZERO);
    let (mut evaluated, mut hits) = (0, 0);
    for _ in 0..args.runs {
        let t = thread_cpu();
        let queries: Vec<_> = packages
            .iter()
            .map(|p| queries_for(p, Some(&distro)).unwrap_or_default())
            .collect();
        query_cpu += thread_cpu().saturating_sub(t);
        let t = thread_cpu();
        (evaluated, hits) = (0, 0);
        for q in queries.iter().flatten() {
            let entries = index.lookup(&q.ecosystem, &q.name);
            if entries.is_empty() {
                continue;
            }
            let Ok(installed) = q.scheme.parse(&q.version) else {
                continue;
            };
            evaluated += entries.len();
            hits += entries
                .iter()
                .filter(|e| e.affected.evaluate(&installed).is_some())
                .count();
        }
        eval_cpu += thread_cpu().saturating_sub(t);
    }
    let runs = u32::try_from(args.runs).unwrap_or(u32::MAX);
    println!(
        "  of which (CPU, mean): queries_for {:.1?}, lookups + evaluating {evaluated} entries \
         {:.1?} ({hits} hits); merging hits and writing {} matches the rest",
        query_cpu / runs,
        eval_cpu / runs,
        report.matches.len()
    );
    for note in report.notes.iter().take(3) {
        println!("  note: {}: {}", note.purl, note.message);
    }

    if !args.sql {
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let sqlite = tmp.path().join("bench.db");
    bench_store(
        "sqlite",
        &sqlite.to_string_lossy(),
        &feeds,
        &packages,
        &distro,
        &index,
        args.runs,
    )
    .await?;

    match PgConnection::connect(&args.postgres).await {
        Err(e) => println!(
            "postgres: not reachable at {} ({e}); skipped",
            args.postgres
        ),
        Ok(mut admin) => {
            let schema = format!("plimsoll_matchbench_{}", std::process::id());
            admin
                .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .await?;
            let mut url = url::Url::parse(&args.postgres)?;
            url.query_pairs_mut()
                .append_pair("options", &format!("-c search_path={schema}"));
            let result = bench_store(
                "postgres",
                url.as_str(),
                &feeds,
                &packages,
                &distro,
                &index,
                args.runs,
            )
            .await;
            admin
                .execute(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .await?;
            result?;
        }
    }
    Ok(())
}
