//! Micro benchmark: parsing and comparing versions per scheme, timed with `std::time`.
//!
//! `cargo bench -p plimsoll --bench versions` runs it for real; under `cargo test` (no `--bench`
//! argument) it runs a few rounds only, as a smoke test.
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use plimsoll::matcher::version::Scheme;
use std::hint::black_box;
use std::time::Instant;

const CASES: &[(Scheme, &[&str])] = &[
    (
        Scheme::Dpkg,
        &[
            "1:2.36-9+deb12u4",
            "7.88.1-10+deb12u5",
            "1.0~rc1-1",
            "3.0.11-1~deb12u2",
            "252.22-1",
        ],
    ),
    (
        Scheme::Rpm,
        &[
            "2.28-151.el8",
            "1:1.1.1k-7.el8_6",
            "3.6.8-51.el8_8.2",
            "1.0^git1-1",
            "1.0~rc1-2.fc38",
        ],
    ),
    (
        Scheme::Apk,
        &[
            "1.2.3-r4",
            "3.1_p16-r0",
            "1.0_rc1-r1",
            "2.9.11_pre20061021-r2",
            "8.2.0015",
        ],
    ),
    (
        Scheme::Pep440,
        &[
            "1.0",
            "1!2.0.post1",
            "1.0rc1.dev3",
            "2.31.0+ubuntu1",
            "23.1.1",
        ],
    ),
    (
        Scheme::Semver,
        &[
            "1.2.3",
            "4.17.21",
            "1.0.0-beta.11",
            "v2.0.0-rc.1+build.5",
            "0.0.0-insiders.20240101",
        ],
    ),
    (
        Scheme::Go,
        &[
            "v1.2.3",
            "v0.0.0-20191109021931-daa7c04131f5",
            "v2.0.0+incompatible",
            "v1.2.4-0.20191109021931-daa7c04131f5",
            "v0.17.0",
        ],
    ),
    (
        Scheme::Maven,
        &[
            "2.14.0-rc1",
            "5.3.18.RELEASE",
            "31.1-jre",
            "9.4.51.v20230217",
            "1.0-alpha-1-SNAPSHOT",
        ],
    ),
    (
        Scheme::Gem,
        &[
            "6.1.7.10",
            "7.1.0.rc2",
            "1.0.0-beta.1",
            "2.7.0",
            "0.0.1.20220404083012",
        ],
    ),
];

fn main() {
    let rounds: u32 = if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        10
    };
    for (scheme, versions) in CASES {
        let start = Instant::now();
        for _ in 0..rounds {
            for v in *versions {
                let _ = black_box(scheme.parse(black_box(v)));
            }
        }
        let parse_ns = start.elapsed().as_nanos() / u128::from(rounds) / versions.len() as u128;

        let parsed: Vec<_> = versions
            .iter()
            .map(|v| scheme.parse(v).expect("benchmark versions are valid"))
            .collect();
        let start = Instant::now();
        for _ in 0..rounds {
            for a in &parsed {
                for b in &parsed {
                    black_box(black_box(a).cmp_same(black_box(b)));
                }
            }
        }
        let pairs = (parsed.len() * parsed.len()) as u128;
        let cmp_ns = start.elapsed().as_nanos() / u128::from(rounds) / pairs;
        println!(
            "{:>7}: parse {parse_ns:>5} ns/version, compare {cmp_ns:>4} ns/pair",
            scheme.name()
        );
    }
}
