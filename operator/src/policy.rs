//! The policy engine: Anchore policy bundles (format `1_0`) validated and evaluated, sans-IO.
//!
//! - `document`: a bundle file (JSON or YAML) as a tree of positioned nodes, with size limits.
//! - `bundle`: the bundle as written ([`RawBundle`]), and its reading from a document.
//! - `validate`: [`RawBundle`] to [`ValidBundle`], every problem reported at once.
//! - `diagnostics`: the diagnostic codes (one enum, kebab-case names) and [`Diagnostic`].
//! - `params`: trigger parameters, their types and documentation.
//! - `pattern`: regexes (linear time, size-limited) and `*`/`regexp:` wildcards.
//! - `mapping`: which mapping or image rule selects an image.
//! - `whitelist`: which whitelist item exempts a result row.
//! - `input`: what an evaluation reads ([`EvalInput`]).
//! - `facts`: views of the input shared by rules, computed once per evaluation.
//! - `gates`: one module per gate: documentation, parameters, validation, evaluation.
//! - `evaluate`: a bundle against an image: the [`Verdict`].
//!
//! The three entry points: [`load_bundle`] (bytes to a valid bundle or every diagnostic),
//! [`evaluate`] and [`describe`] (every gate, trigger and parameter, for
//! `plimsoll policy describe`).
//!
//! Differences from Anchore, each deliberate and documented where it lives: regexes use Rust
//! syntax (no look-around; linear time), `max_days_since_creation` counts from the first
//! detection kept by the store, `retrieved_files.content_regex` matches lines, feed-backed
//! npm/gem triggers never fire (no such feed), `malware.scan_not_run` always fires (no
//! scanner), and beyond Anchore: `vulnerabilities.count`, `metadata.label`, port ranges in
//! `dockerfile.exposed_ports`, and the bundle-level `no_mapping_action`.

pub mod bundle;
pub mod diagnostics;
pub mod document;
pub mod evaluate;
mod facts;
pub mod gates;
pub mod input;
pub mod mapping;
pub mod params;
pub mod pattern;
#[cfg(test)]
pub(crate) mod testing;
pub mod validate;
pub mod whitelist;

pub use bundle::RawBundle;
pub use diagnostics::{Code, Diagnostic, Severity};
pub use document::FormatHint;
pub use evaluate::{Reason, Row, Verdict};
pub use input::{EvalInput, ImageRef, MatchTimes};
pub use params::GateDoc;
pub use validate::{Action, ValidBundle, validate};

use diagnostics::Diagnostics;

/// Reads and validates a bundle file. On failure, every diagnostic (errors and warnings), each
/// with its path and, from the file, its line and column; on success, warnings are on the
/// bundle ([`ValidBundle::warnings`]).
pub fn load_bundle(bytes: &[u8], format: FormatHint) -> Result<ValidBundle, Vec<Diagnostic>> {
    let root = document::parse(bytes, format).map_err(|d| vec![d])?;
    let mut d = Diagnostics::default();
    let (raw, broken) = bundle::from_document(&root, &mut d);
    let result = validate(&raw);
    let mut all: Vec<Diagnostic> = d.into_vec();
    let (valid, more) = match result {
        Ok(mut v) => {
            let warnings = std::mem::take(&mut v.warnings);
            (Some(v), warnings)
        }
        Err(diags) => (None, diags),
    };
    // A malformed element was already reported; what validation says about the empty
    // stand-in (missing id, ...) would only repeat it.
    all.extend(more.into_iter().filter(|x| {
        !broken.iter().any(|b| {
            x.path == *b
                || x.path.starts_with(&format!("{b}."))
                || x.path.starts_with(&format!("{b}["))
        })
    }));
    for x in &mut all {
        if x.line.is_none() {
            let pos = root.locate(&x.path);
            x.line = Some(pos.line);
            x.column = Some(pos.column);
        }
    }
    // In file order, as an editor would walk them (stable: same place keeps its order).
    all.sort_by_key(|x| (x.line, x.column));
    let has_errors = all.iter().any(Diagnostic::is_error);
    match valid {
        Some(mut v) if !has_errors => {
            v.warnings = all;
            Ok(v)
        }
        _ => Err(all),
    }
}

/// Evaluates a bundle against one image.
pub fn evaluate(bundle: &ValidBundle, input: &EvalInput<'_>) -> Verdict {
    evaluate::evaluate(bundle, input)
}

/// Every gate with its triggers and their parameters.
pub fn describe() -> &'static [GateDoc] {
    gates::GATES
}

#[cfg(test)]
mod tests {
    use super::testing::{Scenario, days_ago};
    use super::*;
    use std::fmt::Write as _;
    use std::time::Instant;

    const EXAMPLES: &[(&str, &[u8])] = &[
        (
            "anchore-default.json",
            include_bytes!("../../examples/policies/anchore-default.json"),
        ),
        (
            "cis-docker-1.13.json",
            include_bytes!("../../examples/policies/cis-docker-1.13.json"),
        ),
        (
            "bod-19-02.json",
            include_bytes!("../../examples/policies/bod-19-02.json"),
        ),
        (
            "alpine-null-root.json",
            include_bytes!("../../examples/policies/alpine-null-root.json"),
        ),
    ];

    fn load(bytes: &[u8]) -> ValidBundle {
        match load_bundle(bytes, FormatHint::Auto) {
            Ok(b) => b,
            Err(d) => panic!("bundle does not load: {d:#?}"),
        }
    }

    fn load_yaml(text: &str) -> ValidBundle {
        load(text.as_bytes())
    }

    fn render(diags: &[Diagnostic]) -> String {
        diags.iter().fold(String::new(), |mut out, d| {
            let _ = writeln!(out, "{d}");
            out
        })
    }

    fn rows(v: &Verdict) -> Vec<String> {
        v.rows
            .iter()
            .map(|r| {
                let wl = r.whitelisted.as_ref().map_or(String::new(), |w| {
                    format!(
                        " whitelisted by {}/{}",
                        w.whitelist_id,
                        w.item_id.as_deref().unwrap_or("-")
                    )
                });
                format!("{} {}.{} {}{wl}", r.action, r.gate, r.trigger, r.trigger_id)
            })
            .collect()
    }

    #[test]
    fn example_bundles_are_clean() {
        for (name, bytes) in EXAMPLES {
            let b = load(bytes);
            assert!(b.warnings().is_empty(), "{name}: {:?}", b.warnings());
            assert!(b.rule_count() > 0, "{name}");
        }
    }

    #[test]
    fn example_bundles_on_the_fixture() {
        let s = Scenario::new();
        let verdict = |name: &str| {
            let (_, bytes) = EXAMPLES.iter().find(|(n, _)| *n == name).expect("example");
            evaluate(&load(bytes), &s.input())
        };
        let v = verdict("alpine-null-root.json");
        assert_eq!(
            (v.final_action, v.reason),
            (Action::Stop, Reason::PolicyEvaluation)
        );
        assert_eq!(v.rows.len(), 1);
        assert_eq!(v.rows[0].rule_id.as_deref(), Some("alpine-null-root"));
        let v = verdict("cis-docker-1.13.json");
        let fired: Vec<&str> = v.rows.iter().filter_map(|r| r.rule_id.as_deref()).collect();
        assert_eq!(
            fired,
            vec![
                "cis-4.1-user-not-root",
                "cis-4.6-healthcheck",
                "cis-4.7-update-alone",
                "cis-4.8-setuid-setgid",
                "cis-4.8-setuid-setgid",
                "cis-4.10-no-secrets",
                "cis-4.10-no-secrets",
                "cis-4.10-no-secrets",
                "cis-5.6-no-ssh",
                "cis-5.7-no-privileged-ports",
                "cis-5.8-allowed-ports",
            ]
        );
        assert_eq!(v.final_action, Action::Stop);
        let v = verdict("anchore-default.json");
        assert_eq!(v.final_action, Action::Stop);
        // The medium match is won't-fix (vendor_only skips it): HEALTHCHECK is the only WARN.
        assert_eq!(v.count(Action::Warn), 1, "{:#?}", rows(&v));
        // BOD 19-02: first seen 40 days ago, so both the critical and the high are overdue.
        let v = verdict("bod-19-02.json");
        let stops: Vec<&str> = v
            .rows
            .iter()
            .filter(|r| r.action == Action::Stop)
            .map(|r| r.trigger_id.as_str())
            .collect();
        assert_eq!(
            stops,
            vec![
                "CVE-2024-0001+base-passwd",
                "CVE-2021-44228+log4j-core-2.14.1.jar",
                "CVE-2024-0002+base-passwd",
                "CVE-2022-0004+lodash",
            ]
        );
    }

    #[test]
    fn bod_deadlines_follow_first_detection() {
        let (_, bytes) = EXAMPLES
            .iter()
            .find(|(n, _)| *n == "bod-19-02.json")
            .expect("example");
        let b = load(bytes);
        let mut s = Scenario::new();
        for t in &mut s.times {
            t.first_seen = Some(days_ago(20));
        }
        let v = evaluate(&b, &s.input());
        // 20 days: criticals (15) are overdue, highs (30) are not yet.
        let stop: Vec<&str> = v
            .rows
            .iter()
            .filter(|r| r.action == Action::Stop)
            .map(|r| r.rule_id.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(stop, vec!["bod-critical-15-days", "bod-critical-15-days"]);
        assert_eq!(v.final_action, Action::Stop);
        for t in &mut s.times {
            t.first_seen = Some(days_ago(3));
        }
        let v = evaluate(&b, &s.input());
        assert_eq!(v.final_action, Action::Warn);
    }

    #[test]
    fn anchore_docs_bundle_loads_unchanged() {
        let b = load(include_bytes!("policy/testdata/anchore-docs-bundle.json"));
        assert_eq!(b.rule_count(), 27);
        assert_eq!(b.mappings().len(), 2);
        // Every gate is used, and nothing but the expected warning is said.
        let gates: std::collections::BTreeSet<&str> =
            b.policies()[0].rules.iter().map(|r| r.gate.name).collect();
        assert_eq!(gates.len(), describe().len());
        assert!(b.warnings().is_empty(), "{}", render(b.warnings()));
        let s = Scenario::new();
        let v = evaluate(&b, &s.input());
        assert_eq!(
            v.mapping.as_ref().and_then(|m| m.name.as_deref()),
            Some("internal")
        );
        insta::assert_snapshot!(rows(&v).join("\n"));
        assert_eq!(
            (v.final_action, v.reason),
            (Action::Stop, Reason::PolicyEvaluation)
        );
    }

    #[test]
    fn diagnostics_of_a_broken_bundle() {
        let diags = load_bundle(
            include_bytes!("policy/testdata/many-errors.json"),
            FormatHint::Json,
        )
        .expect_err("invalid");
        insta::assert_snapshot!(render(&diags));
    }

    #[test]
    fn yaml_and_json_are_the_same_bundle() {
        let json = load(EXAMPLES[0].1);
        let yaml = load_bundle(
            include_bytes!("policy/testdata/bundle.yaml"),
            FormatHint::Yaml,
        )
        .expect("yaml loads");
        assert_eq!(json.raw(), yaml.raw());
        assert_eq!(json.digest(), yaml.digest());
        let diags =
            load_bundle(b"id: x\nversion: 1_0\npolicies: {}\n", FormatHint::Auto).expect_err("bad");
        assert_eq!(
            render(&diags),
            "warning[no-mappings] mappings (1:1): the bundle has no mappings: every image gets the no-mapping action (GO)\n\
             error[wrong-type] policies (3:11): expected a list, found an object\n"
        );
    }

    const BASE: &str = r#"
id: b
version: "1_0"
policies:
  - id: p
    version: "1_0"
    rules:
      - {id: stop-high, gate: vulnerabilities, trigger: package, action: stop,
         params: [{name: package_type, value: all}, {name: severity_comparison, value: ">="}, {name: severity, value: high}]}
      - {id: warn-root, gate: dockerfile, trigger: effective_user, action: warn,
         params: [{name: users, value: root}, {name: type, value: blacklist}]}
  - id: q
    version: "1_0"
    rules:
      - {id: go, gate: always, trigger: always, action: go, params: []}
whitelists:
  - id: w
    version: "1_0"
    items:
      - {id: high-1, gate: vulnerabilities, trigger_id: "CVE-2024-0002+base-passwd"}
      - {id: expired, gate: vulnerabilities, trigger_id: "CVE-2024-0001+*", expires_on: "2025-05-31T23:59:59Z"}
      - {id: later, gate: vulnerabilities, trigger_id: "regexp:CVE-202[12]-", expires_on: "2025-06-02"}
"#;

    fn bundle_with(tail: &str) -> ValidBundle {
        load_yaml(&format!("{BASE}{tail}"))
    }

    #[test]
    fn final_action_cases() {
        let s = Scenario::new();
        let all = "mappings:\n  - {registry: '*', repository: '*', image: {type: tag, value: '*'}, policy_id: p, whitelist_ids: [w]}\n";
        let v = evaluate(&bundle_with(all), &s.input());
        assert_eq!(
            rows(&v),
            vec![
                "STOP vulnerabilities.package CVE-2024-0001+base-passwd",
                "STOP vulnerabilities.package CVE-2024-0002+base-passwd whitelisted by w/high-1",
                "STOP vulnerabilities.package CVE-2022-0004+lodash whitelisted by w/later",
                "STOP vulnerabilities.package CVE-2021-44228+log4j-core-2.14.1.jar whitelisted by w/later",
                "WARN dockerfile.effective_user 3a509b32e57ea35601b45c2781006b91",
            ]
        );
        assert_eq!(
            (v.final_action, v.reason, v.policy_action),
            (Action::Stop, Reason::PolicyEvaluation, Action::Stop)
        );
        assert_eq!(
            (
                v.count(Action::Stop),
                v.count(Action::Warn),
                v.whitelisted_count()
            ),
            (1, 1, 3)
        );
        assert_eq!(v.rows[1].effective_action(), Action::Go);
        assert_eq!(v.rows[0].params.len(), 3);
        assert_eq!(v.rows[0].image_digest, s.image.digest);
        assert_eq!(v.rows[0].tag.as_deref(), Some("1.4.2"));

        // Whitelisting the last STOP leaves WARN.
        let mut s2 = Scenario::new();
        s2.times[0].first_seen = Some(days_ago(1));
        let b = load_yaml(&format!(
            "{BASE}      - {{id: crit, gate: vulnerabilities, trigger_id: 'CVE-2024-0001+base-passwd'}}\n{all}"
        ));
        let v = evaluate(&b, &s2.input());
        assert_eq!(
            (v.final_action, v.reason),
            (Action::Warn, Reason::PolicyEvaluation)
        );

        // A blacklisted image stops whatever the rows say; a whitelisted one goes.
        let tail = format!(
            "{all}blacklisted_images:\n  - {{name: bad, registry: registry.example.com, repository: team/app, image: {{type: tag, value: '1.*'}}}}\nwhitelisted_images:\n  - {{registry: '*', repository: '*', image: {{type: tag, value: '*'}}}}\n"
        );
        let v = evaluate(&bundle_with(&tail), &s.input());
        assert_eq!(
            (v.final_action, v.reason),
            (Action::Stop, Reason::Blacklisted)
        );
        assert_eq!(
            v.blacklisted_image.as_ref().and_then(|m| m.name.as_deref()),
            Some("bad")
        );
        assert!(!v.rows.is_empty(), "rows are still reported");
        let tail = format!(
            "{all}whitelisted_images:\n  - {{registry: '*', repository: 'team/*', image: {{type: digest, value: '{}'}}}}\n",
            s.image.digest
        );
        let v = evaluate(&bundle_with(&tail), &s.input());
        assert_eq!(
            (v.final_action, v.reason, v.policy_action),
            (Action::Go, Reason::Whitelisted, Action::Stop)
        );
    }

    #[test]
    fn mappings_in_order_first_match_wins() {
        let s = Scenario::new();
        let tail = "mappings:\n  - {name: other, registry: docker.io, repository: '*', image: {type: tag, value: '*'}, policy_id: p}\n  - {name: team, registry: registry.example.com, repository: 'team/*', image: {type: tag, value: '1.4.*'}, policy_id: q}\n  - {name: all, registry: '*', repository: '*', image: {type: tag, value: '*'}, policy_id: p}\n";
        let v = evaluate(&bundle_with(tail), &s.input());
        assert_eq!(
            v.mapping.as_ref().map(|m| (m.index, m.name.as_deref())),
            Some((1, Some("team")))
        );
        let r = rows(&v);
        assert_eq!(r.len(), 1);
        assert!(r[0].starts_with("GO always.always "), "{r:?}");
        assert_eq!(
            (v.final_action, v.reason),
            (Action::Go, Reason::PolicyEvaluation)
        );
        // No mapping: GO by default, or the bundle's no_mapping_action.
        let none = "mappings:\n  - {registry: quay.io, repository: '*', image: {type: tag, value: '*'}, policy_id: p}\n";
        let v = evaluate(&bundle_with(none), &s.input());
        assert_eq!(
            (v.final_action, v.reason, v.rows.len()),
            (Action::Go, Reason::NoMapping, 0)
        );
        let v = evaluate(
            &bundle_with(&format!("{none}no_mapping_action: STOP\n")),
            &s.input(),
        );
        assert_eq!(
            (v.final_action, v.reason),
            (Action::Stop, Reason::NoMapping)
        );
    }

    #[test]
    fn whitelist_expiry_follows_now() {
        let all = "mappings:\n  - {registry: '*', repository: '*', image: {type: tag, value: '*'}, policy_id: p, whitelist_ids: [w]}\n";
        let b = bundle_with(all);
        let mut s = Scenario::new();
        let whitelisted = |s: &Scenario| -> Vec<String> {
            evaluate(&b, &s.input())
                .rows
                .iter()
                .filter_map(|r| r.whitelisted.as_ref().and_then(|w| w.item_id.clone()))
                .collect()
        };
        assert_eq!(whitelisted(&s), vec!["high-1", "later", "later"]);
        s.now = days_ago(2);
        assert_eq!(
            whitelisted(&s),
            vec!["expired", "high-1", "later", "later"],
            "before expiry"
        );
        s.now = days_ago(-2);
        assert_eq!(whitelisted(&s), vec!["high-1"], "after expiry");
    }

    #[test]
    fn trigger_ids_are_stable() {
        let all = "mappings:\n  - {registry: '*', repository: '*', image: {type: tag, value: '*'}, policy_id: p}\n";
        let b = bundle_with(all);
        let s = Scenario::new();
        let a = evaluate(&b, &s.input());
        let mut s2 = Scenario::new();
        s2.now = days_ago(-30);
        s2.feed_sync = Some(days_ago(-29));
        let c = evaluate(&b, &s2.input());
        let ids = |v: &Verdict| {
            v.rows
                .iter()
                .map(|r| r.trigger_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&c));
    }

    #[test]
    #[allow(clippy::print_stderr)] // the measured time, for whoever reads the test output
    fn catastrophic_regex_over_a_long_path_stays_linear() {
        let mut s = Scenario::new();
        let mut f = s.analysis.files[0].clone();
        f.path = format!("/{}!", "a".repeat(100_000));
        s.analysis.files.push(f);
        let b = load_yaml(
            "id: b\nversion: '1_0'\npolicies:\n  - id: p\n    version: '1_0'\n    rules:\n      - {id: r, gate: files, trigger: name_match, action: stop, params: [{name: regex, value: '/(a+)+$'}]}\nmappings:\n  - {registry: '*', repository: '*', image: {type: tag, value: '*'}, policy_id: p}\n",
        );
        let start = Instant::now();
        let v = evaluate(&b, &s.input());
        eprintln!("(a+)+$ over a 100k-character path: {:?}", start.elapsed());
        assert!(v.rows.is_empty());
        s.analysis.files.last_mut().expect("file").path = format!("/{}", "a".repeat(100_000));
        assert_eq!(evaluate(&b, &s.input()).rows.len(), 1);
    }

    /// A bundle of `n` rules over every gate, with `n` whitelist items.
    fn big_bundle(n: usize) -> String {
        let templates: &[(&str, &str, &str)] = &[
            (
                "vulnerabilities",
                "package",
                r#"[{"name":"package_type","value":"all"},{"name":"severity","value":"low"},{"name":"max_days_since_creation","value":"DAYS"}]"#,
            ),
            (
                "vulnerabilities",
                "count",
                r#"[{"name":"max_count","value":"DAYS"},{"name":"severity","value":"medium"}]"#,
            ),
            (
                "dockerfile",
                "instruction",
                r#"[{"name":"instruction","value":"RUN"},{"name":"check","value":"like"},{"name":"value","value":".*install.*pkgDAYS"}]"#,
            ),
            (
                "dockerfile",
                "exposed_ports",
                r#"[{"name":"ports","value":"DAYS"},{"name":"type","value":"blacklist"}]"#,
            ),
            (
                "files",
                "name_match",
                r#"[{"name":"regex","value":"/usr/.*/fileDAYS$"}]"#,
            ),
            (
                "files",
                "attribute_match",
                r#"[{"name":"filename","value":"/etc/passwd"},{"name":"mode","value":"0644"}]"#,
            ),
            (
                "secret_scans",
                "content_regex_checks",
                r#"[{"name":"content_regex_name","value":"PATTERNDAYS"}]"#,
            ),
            (
                "packages",
                "required_package",
                r#"[{"name":"name","value":"base-passwd"},{"name":"version","value":"3.DAYS"},{"name":"version_match_type","value":"minimum"}]"#,
            ),
            (
                "packages",
                "verify",
                r#"[{"name":"only_directories","value":"/usr/share/base-passwd"}]"#,
            ),
            (
                "licenses",
                "blacklist_partial_match",
                r#"[{"name":"licenses","value":"LICDAYS"}]"#,
            ),
            (
                "metadata",
                "attribute",
                r#"[{"name":"attribute","value":"size"},{"name":"check","value":">"},{"name":"value","value":"DAYSkb"}]"#,
            ),
            (
                "passwd_file",
                "blacklist_userids",
                r#"[{"name":"user_ids","value":"DAYS"}]"#,
            ),
            (
                "retrieved_files",
                "content_regex",
                r#"[{"name":"path","value":"/app/settings.conf"},{"name":"regex","value":"LineDAYS"},{"name":"check","value":"no_match"}]"#,
            ),
            ("always", "always", "[]"),
        ];
        let mut rules = Vec::with_capacity(n);
        for i in 0..n {
            let (gate, trigger, params) = templates[i % templates.len()];
            let params = params.replace("DAYS", &(i % 97).to_string());
            let action = ["STOP", "WARN", "GO"][i % 3];
            rules.push(format!(
                r#"{{"id":"r{i}","gate":"{gate}","trigger":"{trigger}","action":"{action}","params":{params}}}"#
            ));
        }
        let items: Vec<String> = (0..n)
            .map(|i| {
                let trigger = if i % 10 == 0 {
                    format!("CVE-2020-{i}+*")
                } else {
                    format!("CVE-2020-{i}+pkg")
                };
                format!(r#"{{"id":"i{i}","gate":"vulnerabilities","trigger_id":"{trigger}"}}"#)
            })
            .collect();
        format!(
            r#"{{"id":"big","version":"1_0","policies":[{{"id":"p","version":"1_0","rules":[{}]}}],
               "whitelists":[{{"id":"w","version":"1_0","items":[{}]}}],
               "mappings":[{{"registry":"*","repository":"*","image":{{"type":"tag","value":"*"}},"policy_id":"p","whitelist_ids":["w"]}}]}}"#,
            rules.join(","),
            items.join(",")
        )
    }

    #[test]
    #[allow(clippy::print_stderr)] // the measured times, for whoever reads the test output
    fn five_thousand_rules_validate_and_evaluate() {
        let text = big_bundle(5_000);
        let start = Instant::now();
        let b = load(text.as_bytes());
        let loaded = start.elapsed();
        assert_eq!(b.rule_count(), 5_000);
        let s = Scenario::new();
        let start = Instant::now();
        let v = evaluate(&b, &s.input());
        let evaluated = start.elapsed();
        eprintln!(
            "5000 rules: load {loaded:?}, evaluate {evaluated:?}, {} rows",
            v.rows.len()
        );
        assert!(v.rows.len() > 1_000);
        assert_eq!(v.final_action, Action::Stop);
    }
}
