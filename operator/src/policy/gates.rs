//! The gates: one module per gate, each with its [`GateDoc`] (triggers and parameters), a
//! typed `Check` per trigger, `validate` (parameters to `Check`) and `evaluate` (`Check`
//! against the input, firing results).
//!
//! - `vulnerabilities`: matched vulnerabilities by severity, CVSS, fix, age; feed freshness.
//! - `dockerfile`: Dockerfile instructions, effective user, exposed ports.
//! - `files`: file names, attributes, content matches, setuid/setgid bits.
//! - `secret_scans`: secrets the analyzer found.
//! - `packages`: required, blacklisted and modified OS packages.
//! - `licenses`: blacklisted licenses.
//! - `metadata`: image size, architecture, distro, layers, labels.
//! - `passwd_file`: users, ids and shells of `/etc/passwd`.
//! - `retrieved_files`: content of files retrieved at analysis.
//! - `npms`, `ruby_gems`: blacklisted npm packages and gems.
//! - `malware`: malware scan findings.
//! - `always`: fires unconditionally.
//!
//! End-of-life Anchore gates and triggers are known by name so a bundle that uses them is
//! told what replaced them, not just that they do not exist.

pub mod always;
pub mod dockerfile;
pub mod files;
pub mod licenses;
pub mod malware;
pub mod metadata;
pub mod npms;
pub mod packages;
pub mod passwd_file;
pub mod retrieved_files;
pub mod ruby_gems;
pub mod secret_scans;
pub mod vulnerabilities;

use super::bundle::RawParam;
use super::diagnostics::{Code, Diagnostics, did_you_mean, join, quote};
use super::facts::Facts;
use super::params::{GateDoc, Params, TriggerDoc};
use sha2::{Digest as _, Sha256};

/// Every active gate, in the order `plimsoll policy describe` lists them.
pub const GATES: &[GateDoc] = &[
    vulnerabilities::DOC,
    dockerfile::DOC,
    files::DOC,
    secret_scans::DOC,
    packages::DOC,
    licenses::DOC,
    metadata::DOC,
    passwd_file::DOC,
    retrieved_files::DOC,
    npms::DOC,
    ruby_gems::DOC,
    malware::DOC,
    always::DOC,
];

pub(crate) fn gate_doc(name: &str) -> Option<&'static GateDoc> {
    GATES
        .iter()
        .find(|g| g.name.eq_ignore_ascii_case(name.trim()))
}

/// A validated trigger with typed parameters.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    Vulnerabilities(vulnerabilities::Check),
    Dockerfile(dockerfile::Check),
    Files(files::Check),
    SecretScans(secret_scans::Check),
    Packages(packages::Check),
    Licenses(licenses::Check),
    Metadata(metadata::Check),
    PasswdFile(passwd_file::Check),
    RetrievedFiles(retrieved_files::Check),
    Npms(npms::Check),
    RubyGems(ruby_gems::Check),
    Malware(malware::Check),
    Always(always::Check),
}

impl Check {
    pub(crate) fn evaluate(&self, facts: &Facts<'_>, out: &mut Output) {
        match self {
            Check::Vulnerabilities(c) => vulnerabilities::evaluate(c, facts, out),
            Check::Dockerfile(c) => dockerfile::evaluate(c, facts, out),
            Check::Files(c) => files::evaluate(c, facts, out),
            Check::SecretScans(c) => secret_scans::evaluate(c, facts, out),
            Check::Packages(c) => packages::evaluate(c, facts, out),
            Check::Licenses(c) => licenses::evaluate(c, facts, out),
            Check::Metadata(c) => metadata::evaluate(c, facts, out),
            Check::PasswdFile(c) => passwd_file::evaluate(c, facts, out),
            Check::RetrievedFiles(c) => retrieved_files::evaluate(c, facts, out),
            Check::Npms(c) => npms::evaluate(c, facts, out),
            Check::RubyGems(c) => ruby_gems::evaluate(c, facts, out),
            Check::Malware(c) => malware::evaluate(c, facts, out),
            Check::Always(c) => always::evaluate(c, facts, out),
        }
    }
}

/// Validates one rule's gate, trigger and params; `None` when anything is wrong (and said).
pub(crate) fn validate(
    gate: &str,
    trigger: &str,
    params: &[RawParam],
    rule_path: &str,
    d: &mut Diagnostics,
) -> Option<(&'static GateDoc, &'static TriggerDoc, Check)> {
    let Some(gate_doc) = gate_doc(gate) else {
        let gate_path = join(rule_path, "gate");
        match eol_gate(gate) {
            Some(eol) => d.push(Code::EolGate, gate_path, eol.message(trigger)),
            None => d.push(
                Code::UnknownGate,
                gate_path,
                format!(
                    "gate {} does not exist; gates are {}{}",
                    quote(gate),
                    GATES.iter().map(|g| g.name).collect::<Vec<_>>().join(", "),
                    did_you_mean(gate, GATES.iter().map(|g| g.name))
                ),
            ),
        }
        return None;
    };
    let Some(trigger_doc) = gate_doc.trigger(trigger) else {
        let trigger_path = join(rule_path, "trigger");
        match eol_trigger(gate_doc.name, trigger) {
            Some(successor) => d.push(
                Code::EolTrigger,
                trigger_path,
                format!(
                    "trigger {} of gate {} reached end of life in Anchore; use {successor}",
                    quote(trigger),
                    gate_doc.name
                ),
            ),
            None => {
                let names = gate_doc.triggers.iter().map(|t| t.name);
                d.push(
                    Code::UnknownTrigger,
                    trigger_path,
                    format!(
                        "gate {} has no trigger {}; its triggers are {}{}",
                        gate_doc.name,
                        quote(trigger),
                        names.clone().collect::<Vec<_>>().join(", "),
                        did_you_mean(trigger, names)
                    ),
                );
            }
        }
        return None;
    };
    let errors_before = d.error_count();
    let mut p = Params::read(trigger_doc, params, rule_path, d);
    if let Some(reason) = trigger_doc.unavailable {
        p.rule_warning(
            Code::FeedUnavailable,
            format!(
                "{}.{} never fires: {reason}",
                gate_doc.name, trigger_doc.name
            ),
        );
    }
    let check = match gate_doc.name {
        "vulnerabilities" => {
            vulnerabilities::validate(trigger_doc, &mut p).map(Check::Vulnerabilities)
        }
        "dockerfile" => dockerfile::validate(trigger_doc, &mut p).map(Check::Dockerfile),
        "files" => files::validate(trigger_doc, &mut p).map(Check::Files),
        "secret_scans" => secret_scans::validate(trigger_doc, &mut p).map(Check::SecretScans),
        "packages" => packages::validate(trigger_doc, &mut p).map(Check::Packages),
        "licenses" => licenses::validate(trigger_doc, &mut p).map(Check::Licenses),
        "metadata" => metadata::validate(trigger_doc, &mut p).map(Check::Metadata),
        "passwd_file" => passwd_file::validate(trigger_doc, &mut p).map(Check::PasswdFile),
        "retrieved_files" => {
            retrieved_files::validate(trigger_doc, &mut p).map(Check::RetrievedFiles)
        }
        "npms" => npms::validate(trigger_doc, &mut p).map(Check::Npms),
        "ruby_gems" => ruby_gems::validate(trigger_doc, &mut p).map(Check::RubyGems),
        "malware" => malware::validate(trigger_doc, &mut p).map(Check::Malware),
        "always" => always::validate(trigger_doc, &mut p).map(Check::Always),
        _ => None,
    };
    drop(p);
    if d.error_count() > errors_before {
        return None;
    }
    check.map(|c| (gate_doc, trigger_doc, c))
}

/// What one rule produced against one image.
#[derive(Debug)]
pub(crate) struct Output {
    gate: &'static str,
    trigger: &'static str,
    pub(crate) fired: Vec<Fired>,
    pub(crate) notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fired {
    pub(crate) trigger_id: String,
    pub(crate) message: String,
}

impl Output {
    pub(crate) fn new(gate: &'static str, trigger: &'static str) -> Self {
        Self {
            gate,
            trigger,
            fired: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Fires with a trigger id hashed from gate, trigger and message: stable as long as the
    /// finding is the same.
    pub(crate) fn fire(&mut self, message: String) {
        let trigger_id = hashed_trigger_id(self.gate, self.trigger, &message);
        self.fired.push(Fired {
            trigger_id,
            message,
        });
    }

    /// Fires with an explicit trigger id (vulnerabilities: `VULNID+PACKAGE`).
    pub(crate) fn fire_with_id(&mut self, trigger_id: String, message: String) {
        self.fired.push(Fired {
            trigger_id,
            message,
        });
    }

    /// Says something about the evaluation that is not a finding (data that was missing).
    pub(crate) fn note(&mut self, message: impl Into<String>) {
        let message = message.into();
        if !self.notes.contains(&message) {
            self.notes.push(message);
        }
    }
}

/// The first 32 hex digits of sha256(`gate`, `trigger`, `message`), NUL-separated.
pub(crate) fn hashed_trigger_id(gate: &str, trigger: &str, message: &str) -> String {
    let mut h = Sha256::new();
    h.update(gate.as_bytes());
    h.update([0]);
    h.update(trigger.as_bytes());
    h.update([0]);
    h.update(message.as_bytes());
    let mut hex = hex::encode(h.finalize());
    hex.truncate(32);
    hex
}

/// An Anchore gate that reached end of life, its successor and its old triggers'.
struct EolGate {
    name: &'static str,
    successor: Option<&'static str>,
    /// (old trigger, successor as `gate.trigger` or a sentence).
    triggers: &'static [(&'static str, &'static str)],
}

impl EolGate {
    fn message(&self, trigger: &str) -> String {
        let mut m = format!("gate {} reached end of life in Anchore; ", self.name);
        match self.successor {
            Some(s) => m.push_str(&format!("its successor is gate {s}")),
            None => m.push_str("it has no successor"),
        }
        if let Some((_, t)) = self
            .triggers
            .iter()
            .find(|(old, _)| old.eq_ignore_ascii_case(trigger.trim()))
        {
            m.push_str(&format!(" (trigger {} is now {t})", quote(trigger)));
        }
        m
    }
}

const EOL_GATES: &[EolGate] = &[
    EolGate {
        name: "anchoresec",
        successor: Some("vulnerabilities"),
        triggers: &[
            ("vulnlow", "vulnerabilities.package with severity=low"),
            ("vulnmedium", "vulnerabilities.package with severity=medium"),
            ("vulnhigh", "vulnerabilities.package with severity=high"),
            (
                "vulncritical",
                "vulnerabilities.package with severity=critical",
            ),
            (
                "vulnunknown",
                "vulnerabilities.package with severity=unknown",
            ),
            ("feedoutofdate", "vulnerabilities.stale_feed_data"),
            (
                "unsupporteddistro",
                "vulnerabilities.vulnerability_data_unavailable",
            ),
        ],
    },
    EolGate {
        name: "dockerfilecheck",
        successor: Some("dockerfile"),
        triggers: &[
            ("effectiveuser", "dockerfile.effective_user"),
            ("directivecheck", "dockerfile.instruction"),
            ("expose", "dockerfile.exposed_ports"),
            ("nofrom", "dockerfile.instruction"),
            ("fromscratch", "dockerfile.instruction"),
            ("notag", "dockerfile.instruction"),
            ("sudo", "dockerfile.instruction"),
            ("volumepresent", "dockerfile.instruction"),
            (
                "nohealthcheck",
                "dockerfile.instruction with check=not_exists",
            ),
            ("nodockerfile", "dockerfile.no_dockerfile_provided"),
        ],
    },
    EolGate {
        name: "pkgcheck",
        successor: Some("packages"),
        triggers: &[
            ("verify", "packages.verify"),
            ("pkgnotpresent", "packages.required_package"),
        ],
    },
    EolGate {
        name: "pkgblacklist",
        successor: Some("packages"),
        triggers: &[
            ("pkgfullmatch", "packages.blacklist"),
            ("pkgnamematch", "packages.blacklist"),
        ],
    },
    EolGate {
        name: "pkgdiff",
        successor: None,
        triggers: &[],
    },
    EolGate {
        name: "imagecheck",
        successor: None,
        triggers: &[],
    },
    EolGate {
        name: "suiddiff",
        successor: Some("files"),
        triggers: &[
            ("suiddiff", "files.suid_or_guid_set"),
            ("suidfileadd", "files.suid_or_guid_set"),
            ("suidfiledel", "files.suid_or_guid_set"),
            ("suidmodediff", "files.suid_or_guid_set"),
        ],
    },
    EolGate {
        name: "filecheck",
        successor: Some("files"),
        triggers: &[
            ("contentmatch", "files.content_regex_match"),
            ("filenamematch", "files.name_match"),
            ("suidsgidcheck", "files.suid_or_guid_set"),
        ],
    },
    EolGate {
        name: "fileparse_passwd",
        successor: Some("passwd_file"),
        triggers: &[
            ("filenotstored", "passwd_file.content_not_available"),
            ("usernamematch", "passwd_file.blacklist_usernames"),
            ("useridmatch", "passwd_file.blacklist_userids"),
            ("groupidmatch", "passwd_file.blacklist_groupids"),
            ("shellmatch", "passwd_file.blacklist_shells"),
            ("pentrymatch", "passwd_file.blacklist_full_entry"),
        ],
    },
    EolGate {
        name: "fileparsers",
        successor: Some("passwd_file"),
        triggers: &[],
    },
    EolGate {
        name: "gemcheck",
        successor: Some("ruby_gems"),
        triggers: &[
            ("gemnotlatest", "ruby_gems.newer_version_found_in_feed"),
            ("gemnotofficial", "ruby_gems.not_found_in_feed"),
            ("gembadversion", "ruby_gems.version_not_found_in_feed"),
            ("gempkgfullmatch", "ruby_gems.blacklist"),
            ("gempkgnamematch", "ruby_gems.blacklist"),
            ("gemnofeed", "ruby_gems.feed_data_unavailable"),
        ],
    },
    EolGate {
        name: "gems",
        successor: Some("ruby_gems"),
        triggers: &[],
    },
    EolGate {
        name: "npmcheck",
        successor: Some("npms"),
        triggers: &[
            ("npmnotlatest", "npms.newer_version_in_feed"),
            ("npmnotofficial", "npms.unknown_in_feeds"),
            ("npmbadversion", "npms.version_not_in_feeds"),
            ("npmpkgfullmatch", "npms.blacklisted_name_version"),
            ("npmpkgnamematch", "npms.blacklisted_name_version"),
            ("npmnofeed", "npms.feed_data_unavailable"),
        ],
    },
    EolGate {
        name: "metadatacheck",
        successor: Some("metadata"),
        triggers: &[("attributecheck", "metadata.attribute")],
    },
    EolGate {
        name: "licblacklist",
        successor: Some("licenses"),
        triggers: &[
            ("licfullmatch", "licenses.blacklist_exact_match"),
            ("licsubmatch", "licenses.blacklist_partial_match"),
        ],
    },
    EolGate {
        name: "secretcheck",
        successor: Some("secret_scans"),
        triggers: &[
            ("contentmatch", "secret_scans.content_regex_checks"),
            ("filenamematch", "files.name_match"),
        ],
    },
];

fn eol_gate(name: &str) -> Option<&'static EolGate> {
    EOL_GATES
        .iter()
        .find(|g| g.name.eq_ignore_ascii_case(name.trim()))
}

/// An old trigger name used under its gate's current name (`npms` + `npmnotlatest`).
fn eol_trigger(gate: &str, trigger: &str) -> Option<&'static str> {
    EOL_GATES
        .iter()
        .filter(|g| g.successor == Some(gate))
        .flat_map(|g| g.triggers.iter())
        .find(|(old, _)| old.eq_ignore_ascii_case(trigger.trim()))
        .map(|(_, new)| *new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn gate_trigger_and_param_names_are_unique_and_documented() {
        let gates: BTreeSet<&str> = GATES.iter().map(|g| g.name).collect();
        assert_eq!(gates.len(), GATES.len());
        for g in GATES {
            assert!(!g.description.is_empty(), "{}", g.name);
            let triggers: BTreeSet<&str> = g.triggers.iter().map(|t| t.name).collect();
            assert_eq!(triggers.len(), g.triggers.len(), "{}", g.name);
            for t in g.triggers {
                assert!(!t.description.is_empty(), "{}.{}", g.name, t.name);
                let mut names = BTreeSet::new();
                for p in t.params {
                    assert!(names.insert(p.name), "{}.{}.{}", g.name, t.name, p.name);
                    for a in p.aliases {
                        assert!(names.insert(a), "{}.{} alias {a}", g.name, t.name);
                    }
                    assert!(
                        !p.description.is_empty(),
                        "{}.{}.{}",
                        g.name,
                        t.name,
                        p.name
                    );
                }
            }
        }
        for eol in EOL_GATES {
            assert!(
                gate_doc(eol.name).is_none(),
                "{} is both active and EOL",
                eol.name
            );
            if let Some(s) = eol.successor {
                assert!(gate_doc(s).is_some(), "{} successor {s}", eol.name);
            }
            for (_, new) in eol.triggers {
                let (gate, rest) = new.split_once('.').expect("gate.trigger");
                let trigger = rest.split(' ').next().unwrap_or(rest);
                let g = gate_doc(gate).expect("successor gate exists");
                assert!(g.trigger(trigger).is_some(), "{new}");
            }
        }
    }

    #[test]
    fn every_documented_example_validates() {
        // Each parameter's example must be a valid value of its kind.
        for g in GATES {
            for t in g.triggers {
                for p in t.params {
                    let raw = [RawParam {
                        name: p.name.into(),
                        value: p.example.into(),
                    }];
                    let mut d = Diagnostics::default();
                    let _ = Params::read(t, &raw, "r", &mut d);
                    let bad: Vec<String> = d
                        .into_vec()
                        .into_iter()
                        .filter(|x| x.code != Code::MissingParam)
                        .map(|x| x.to_string())
                        .collect();
                    assert!(bad.is_empty(), "{}.{}.{}: {bad:?}", g.name, t.name, p.name);
                }
            }
        }
    }

    #[test]
    fn the_reference_serializes() {
        let json = serde_json::to_value(GATES).expect("serializes");
        let gates = json.as_array().expect("list");
        assert_eq!(gates.len(), 13);
        assert_eq!(gates[0]["name"], "vulnerabilities");
        let package = &gates[0]["triggers"][0];
        assert_eq!(package["params"][0]["kind"]["type"], "enum");
        assert_eq!(package["params"][0]["kind"]["values"][2], "non-os");
        assert_eq!(
            package["params"][11]["aliases"][0],
            "max_days_since_detection"
        );
        assert_eq!(
            gates[9]["triggers"][0]["unavailable"],
            "it needs Anchore's npm metadata feed, which Plimsoll does not have"
        );
    }

    #[test]
    fn hashed_ids_are_stable() {
        assert_eq!(
            hashed_trigger_id("always", "always", "x"),
            hashed_trigger_id("always", "always", "x")
        );
        assert_ne!(
            hashed_trigger_id("always", "always", "x"),
            hashed_trigger_id("always", "alway", "sx")
        );
        assert_eq!(hashed_trigger_id("a", "b", "c").len(), 32);
    }
}
