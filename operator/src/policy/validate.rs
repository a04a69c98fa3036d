//! [`RawBundle`] to [`ValidBundle`]: every check of the bundle, every problem reported at once.
//!
//! What is checked, beyond each rule's gate, trigger and parameters (`gates::validate`):
//! versions are `1_0`; the bundle, policies and whitelists have ids, unique within their kind;
//! rule ids are unique within their policy and item ids within their whitelist; actions are
//! STOP, WARN or GO (any case); each mapping names its policies with exactly one of `policy_id`
//! and `policy_ids`, and only policies and whitelists the bundle defines; selectors have a
//! registry, a repository and an image `{type: tag|digest|id, value}` with valid patterns;
//! whitelist items have a gate, a valid trigger id pattern and an RFC 3339 (or `YYYY-MM-DD`)
//! `expires_on`. Warnings: policies or whitelists no mapping uses, no mappings at all,
//! whitelist items for gates that do not exist, rules without ids.

use super::bundle::{RawBundle, RawImageRef, RawParam};
use super::diagnostics::{Code, Diagnostic, Diagnostics, index, join, quote};
use super::gates::{self, Check};
use super::mapping::{ImageSelector, SelectorError};
use super::params::{GateDoc, TriggerDoc};
use super::pattern::Wildcard;
use super::whitelist::{Whitelist, WhitelistItem, parse_expiry};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The only bundle format version.
pub const BUNDLE_VERSION: &str = "1_0";

/// What a rule asks for when it fires; the final action is the most severe one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Stop,
    Warn,
    Go,
}

impl Action {
    pub fn from_name(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stop" => Some(Action::Stop),
            "warn" => Some(Action::Warn),
            "go" => Some(Action::Go),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Stop => "STOP",
            Action::Warn => "WARN",
            Action::Go => "GO",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Option<String>,
    pub action: Action,
    pub gate: &'static GateDoc,
    pub trigger: &'static TriggerDoc,
    /// The params as written, for result rows.
    pub params: Vec<RawParam>,
    pub(crate) check: Check,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub name: Option<String>,
    pub comment: Option<String>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub struct Mapping {
    pub id: Option<String>,
    pub name: Option<String>,
    pub selector: ImageSelector,
    /// Indexes into [`ValidBundle::policies`].
    pub policies: Vec<usize>,
    /// Indexes into [`ValidBundle::whitelists`].
    pub whitelists: Vec<usize>,
}

/// A whitelisted or blacklisted image rule.
#[derive(Debug, Clone)]
pub struct ImageRule {
    pub id: Option<String>,
    pub name: Option<String>,
    pub selector: ImageSelector,
}

/// A bundle that passed validation; the only thing the evaluator accepts.
#[derive(Debug, Clone)]
pub struct ValidBundle {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) policies: Vec<Policy>,
    pub(crate) whitelists: Vec<Whitelist>,
    pub(crate) mappings: Vec<Mapping>,
    pub(crate) whitelisted_images: Vec<ImageRule>,
    pub(crate) blacklisted_images: Vec<ImageRule>,
    pub(crate) no_mapping_action: Action,
    pub(crate) warnings: Vec<Diagnostic>,
    pub(crate) raw: RawBundle,
    pub(crate) digest: String,
}

impl ValidBundle {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `sha256:` of the bundle's canonical JSON: the same for a JSON and a YAML spelling.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn raw(&self) -> &RawBundle {
        &self.raw
    }

    /// Problems that did not make the bundle invalid.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn whitelists(&self) -> &[Whitelist] {
        &self.whitelists
    }

    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    pub fn rule_count(&self) -> usize {
        self.policies.iter().map(|p| p.rules.len()).sum()
    }

    pub fn no_mapping_action(&self) -> Action {
        self.no_mapping_action
    }
}

/// Validates a bundle held as data (a custom resource's spec). Files go through
/// [`super::load_bundle`], which adds line and column to each diagnostic.
pub fn validate(raw: &RawBundle) -> Result<ValidBundle, Vec<Diagnostic>> {
    let mut d = Diagnostics::default();
    let valid = build(raw, &mut d);
    match valid {
        Some(mut v) if !d.has_errors() => {
            v.warnings = d.into_vec();
            Ok(v)
        }
        _ => Err(d.into_vec()),
    }
}

fn digest_of(raw: &RawBundle) -> String {
    let json = serde_json::to_vec(raw).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&json)))
}

/// A required, non-empty string field.
fn required<'a>(
    d: &mut Diagnostics,
    value: Option<&'a str>,
    path: &str,
    what: &str,
) -> Option<&'a str> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Some(v),
        None => {
            d.push(Code::MissingField, path, format!("{what} is required"));
            None
        }
    }
}

fn check_version(d: &mut Diagnostics, version: Option<&str>, path: &str, what: &str) {
    match version.map(str::trim) {
        None | Some("") => d.push(
            Code::MissingField,
            join(path, "version"),
            format!("{what} needs version \"{BUNDLE_VERSION}\""),
        ),
        Some(BUNDLE_VERSION) => {}
        Some(v) => d.push(
            Code::UnsupportedVersion,
            join(path, "version"),
            format!(
                "{what} version {} is not supported; only \"{BUNDLE_VERSION}\" is",
                quote(v)
            ),
        ),
    }
}

/// Reports an id seen before in the same scope.
fn unique(
    d: &mut Diagnostics,
    seen: &mut HashMap<String, String>,
    id: &str,
    path: &str,
    what: &str,
) {
    match seen.get(id) {
        Some(first) => d.push(
            Code::DuplicateId,
            join(path, "id"),
            format!("{what} id {} is already used at {first}", quote(id)),
        ),
        None => {
            seen.insert(id.to_owned(), path.to_owned());
        }
    }
}

fn selector(
    d: &mut Diagnostics,
    registry: Option<&str>,
    repository: Option<&str>,
    image: Option<&RawImageRef>,
    path: &str,
) -> Option<ImageSelector> {
    let registry = required(d, registry, &join(path, "registry"), "registry");
    let repository = required(d, repository, &join(path, "repository"), "repository");
    let image_path = join(path, "image");
    let (kind, value) = match image {
        Some(i) => (
            required(
                d,
                i.kind.as_deref(),
                &join(&image_path, "type"),
                "image type",
            ),
            required(
                d,
                i.value.as_deref(),
                &join(&image_path, "value"),
                "image value",
            ),
        ),
        None => {
            d.push(
                Code::MissingField,
                &image_path,
                "image {type: tag|digest|id, value} is required",
            );
            (None, None)
        }
    };
    let (registry, repository, kind, value) = (registry?, repository?, kind?, value?);
    match ImageSelector::new(registry, repository, kind, value) {
        Ok(s) => Some(s),
        Err(e) => {
            let (code, field, message) = match e {
                SelectorError::Registry(m) => (Code::BadPattern, join(path, "registry"), m),
                SelectorError::Repository(m) => (Code::BadPattern, join(path, "repository"), m),
                SelectorError::Tag(m) => (Code::BadPattern, join(&image_path, "value"), m),
                SelectorError::Type(t) => (
                    Code::BadImageSelector,
                    join(&image_path, "type"),
                    format!("image type {} is not tag, digest or id", quote(&t)),
                ),
                SelectorError::EmptyValue => (
                    Code::BadImageSelector,
                    join(&image_path, "value"),
                    "image value is empty".to_owned(),
                ),
            };
            d.push(code, field, message);
            None
        }
    }
}

fn build(raw: &RawBundle, d: &mut Diagnostics) -> Option<ValidBundle> {
    check_version(d, raw.version.as_deref(), "", "the bundle");
    let id = required(d, raw.id.as_deref(), "id", "the bundle id").map(str::to_owned);
    let no_mapping_action = match raw.no_mapping_action.as_deref() {
        None => Action::Go,
        Some(a) => Action::from_name(a).unwrap_or_else(|| {
            d.push(
                Code::UnknownAction,
                "no_mapping_action",
                format!("{} is not STOP, WARN or GO", quote(a)),
            );
            Action::Go
        }),
    };

    // Policies.
    let mut policy_ids: HashMap<String, String> = HashMap::new();
    let mut policy_index: HashMap<String, usize> = HashMap::new();
    let mut policies = Vec::with_capacity(raw.policies.len());
    for (pi, p) in raw.policies.iter().enumerate() {
        let path = index("policies", pi);
        check_version(d, p.version.as_deref(), &path, "a policy");
        let pid = required(d, p.id.as_deref(), &join(&path, "id"), "a policy id");
        if let Some(pid) = pid {
            unique(d, &mut policy_ids, pid, &path, "policy");
        }
        let mut rule_ids: HashMap<String, String> = HashMap::new();
        let mut rules = Vec::with_capacity(p.rules.len());
        for (ri, r) in p.rules.iter().enumerate() {
            let rule_path = index(&join(&path, "rules"), ri);
            match r.id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
                Some(rid) => unique(d, &mut rule_ids, rid, &rule_path, "rule"),
                None => d.push(
                    Code::MissingId,
                    join(&rule_path, "id"),
                    "the rule has no id; its results cannot name it",
                ),
            }
            let action = match required(
                d,
                r.action.as_deref(),
                &join(&rule_path, "action"),
                "an action",
            ) {
                Some(a) => Action::from_name(a).or_else(|| {
                    d.push(
                        Code::UnknownAction,
                        join(&rule_path, "action"),
                        format!("action {} is not STOP, WARN or GO", quote(a)),
                    );
                    None
                }),
                None => None,
            };
            let gate = required(d, r.gate.as_deref(), &join(&rule_path, "gate"), "a gate");
            let trigger = required(
                d,
                r.trigger.as_deref(),
                &join(&rule_path, "trigger"),
                "a trigger",
            );
            let (Some(gate), Some(trigger)) = (gate, trigger) else {
                continue;
            };
            let validated = gates::validate(gate, trigger, &r.params, &rule_path, d);
            if let (Some((gate, trigger, check)), Some(action)) = (validated, action) {
                rules.push(Rule {
                    id: r.id.clone(),
                    action,
                    gate,
                    trigger,
                    params: r.params.clone(),
                    check,
                });
            }
        }
        if let Some(pid) = pid {
            policy_index.entry(pid.to_owned()).or_insert(policies.len());
            policies.push(Policy {
                id: pid.to_owned(),
                name: p.name.clone(),
                comment: p.comment.clone(),
                rules,
            });
        }
    }

    // Whitelists.
    let mut whitelist_ids: HashMap<String, String> = HashMap::new();
    let mut whitelist_index: HashMap<String, usize> = HashMap::new();
    let mut whitelists = Vec::with_capacity(raw.whitelists.len());
    for (wi, w) in raw.whitelists.iter().enumerate() {
        let path = index("whitelists", wi);
        check_version(d, w.version.as_deref(), &path, "a whitelist");
        let wid = required(d, w.id.as_deref(), &join(&path, "id"), "a whitelist id");
        if let Some(wid) = wid {
            unique(d, &mut whitelist_ids, wid, &path, "whitelist");
        }
        let mut item_ids: HashMap<String, String> = HashMap::new();
        let mut items = Vec::with_capacity(w.items.len());
        for (ii, item) in w.items.iter().enumerate() {
            let item_path = index(&join(&path, "items"), ii);
            match item.id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
                Some(iid) => unique(d, &mut item_ids, iid, &item_path, "whitelist item"),
                None => d.push(
                    Code::MissingId,
                    join(&item_path, "id"),
                    "the whitelist item has no id; results cannot name it",
                ),
            }
            let gate = required(d, item.gate.as_deref(), &join(&item_path, "gate"), "a gate");
            if let Some(g) = gate
                && gates::gate_doc(g).is_none()
            {
                d.push(
                    Code::UnknownWhitelistGate,
                    join(&item_path, "gate"),
                    format!(
                        "gate {} does not exist; this item can never match",
                        quote(g)
                    ),
                );
            }
            let trigger_id = required(
                d,
                item.trigger_id.as_deref(),
                &join(&item_path, "trigger_id"),
                "a trigger_id",
            )
            .and_then(|t| match Wildcard::new(t) {
                Ok(w) => Some(w),
                Err(e) => {
                    d.push(
                        Code::BadPattern,
                        join(&item_path, "trigger_id"),
                        format!("trigger_id {} is not a valid pattern: {e}", quote(t)),
                    );
                    None
                }
            });
            let expires_on = match item
                .expires_on
                .as_deref()
                .map(str::trim)
                .filter(|e| !e.is_empty())
            {
                None => Some(None),
                Some(e) => match parse_expiry(e) {
                    Some(t) => Some(Some(t)),
                    None => {
                        d.push(
                            Code::BadTimestamp,
                            join(&item_path, "expires_on"),
                            format!(
                                "expires_on {} is not an RFC 3339 timestamp (2025-12-31T00:00:00Z) or a date (2025-12-31)",
                                quote(e)
                            ),
                        );
                        None
                    }
                },
            };
            if let (Some(gate), Some(trigger_id), Some(expires_on)) = (gate, trigger_id, expires_on)
            {
                items.push(WhitelistItem {
                    id: item.id.clone(),
                    gate: gate.to_ascii_lowercase(),
                    trigger_id,
                    expires_on,
                });
            }
        }
        if let Some(wid) = wid {
            whitelist_index
                .entry(wid.to_owned())
                .or_insert(whitelists.len());
            whitelists.push(Whitelist::new(wid.to_owned(), w.name.clone(), items));
        }
    }

    // Mappings.
    let mut mapping_ids: HashMap<String, String> = HashMap::new();
    let mut used_policies: HashSet<usize> = HashSet::new();
    let mut used_whitelists: HashSet<usize> = HashSet::new();
    let mut mappings = Vec::with_capacity(raw.mappings.len());
    for (mi, m) in raw.mappings.iter().enumerate() {
        let path = index("mappings", mi);
        if let Some(mid) = m.id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
            unique(d, &mut mapping_ids, mid, &path, "mapping");
        }
        let sel = selector(
            d,
            m.registry.as_deref(),
            m.repository.as_deref(),
            m.image.as_ref(),
            &path,
        );
        let ids: Vec<(String, String)> = match (&m.policy_id, &m.policy_ids) {
            (Some(one), Some(many)) => {
                d.push(
                    Code::BothPolicyIdAndPolicyIds,
                    &path,
                    "set policy_id or policy_ids, not both",
                );
                // Still resolved, so their own problems are reported and the policies count
                // as used.
                std::iter::once((one.clone(), join(&path, "policy_id")))
                    .chain(
                        many.iter()
                            .enumerate()
                            .map(|(i, p)| (p.clone(), index(&join(&path, "policy_ids"), i))),
                    )
                    .collect()
            }
            (Some(one), None) => vec![(one.clone(), join(&path, "policy_id"))],
            (None, Some(many)) if !many.is_empty() => many
                .iter()
                .enumerate()
                .map(|(i, p)| (p.clone(), index(&join(&path, "policy_ids"), i)))
                .collect(),
            _ => {
                d.push(
                    Code::MissingPolicyId,
                    &path,
                    "a mapping needs policy_id or a non-empty policy_ids",
                );
                Vec::new()
            }
        };
        let mut policies_of = Vec::with_capacity(ids.len());
        for (pid, ppath) in ids {
            match policy_index.get(pid.trim()) {
                Some(i) => {
                    used_policies.insert(*i);
                    policies_of.push(*i);
                }
                None => d.push(
                    Code::UnknownPolicyId,
                    ppath,
                    format!("no policy has id {}", quote(&pid)),
                ),
            }
        }
        let mut whitelists_of = Vec::with_capacity(m.whitelist_ids.len());
        for (i, wid) in m.whitelist_ids.iter().enumerate() {
            match whitelist_index.get(wid.trim()) {
                Some(w) => {
                    used_whitelists.insert(*w);
                    whitelists_of.push(*w);
                }
                None => d.push(
                    Code::UnknownWhitelistId,
                    index(&join(&path, "whitelist_ids"), i),
                    format!("no whitelist has id {}", quote(wid)),
                ),
            }
        }
        if let Some(selector) = sel {
            mappings.push(Mapping {
                id: m.id.clone(),
                name: m.name.clone(),
                selector,
                policies: policies_of,
                whitelists: whitelists_of,
            });
        }
    }
    if raw.mappings.is_empty() {
        d.push(
            Code::NoMappings,
            "mappings",
            format!(
                "the bundle has no mappings: every image gets the no-mapping action ({no_mapping_action})"
            ),
        );
    }
    for (i, p) in policies.iter().enumerate() {
        let first_of_its_id = policy_index.get(&p.id) == Some(&i);
        if first_of_its_id && !used_policies.contains(&i) && !raw.mappings.is_empty() {
            d.push(
                Code::UnusedPolicy,
                index("policies", i),
                format!("no mapping uses policy {}", quote(&p.id)),
            );
        }
    }
    for (i, w) in whitelists.iter().enumerate() {
        let first_of_its_id = whitelist_index.get(&w.id) == Some(&i);
        if first_of_its_id && !used_whitelists.contains(&i) && !raw.mappings.is_empty() {
            d.push(
                Code::UnusedWhitelist,
                index("whitelists", i),
                format!("no mapping uses whitelist {}", quote(&w.id)),
            );
        }
    }

    // Whitelisted and blacklisted images.
    let mut image_rules =
        |list: &[super::bundle::RawImageSelector], field: &str| -> Vec<ImageRule> {
            list.iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let path = index(field, i);
                    selector(
                        d,
                        s.registry.as_deref(),
                        s.repository.as_deref(),
                        s.image.as_ref(),
                        &path,
                    )
                    .map(|selector| ImageRule {
                        id: s.id.clone(),
                        name: s.name.clone(),
                        selector,
                    })
                })
                .collect()
        };
    let whitelisted_images = image_rules(&raw.whitelisted_images, "whitelisted_images");
    let blacklisted_images = image_rules(&raw.blacklisted_images, "blacklisted_images");

    Some(ValidBundle {
        id: id?,
        name: raw.name.clone(),
        policies,
        whitelists,
        mappings,
        whitelisted_images,
        blacklisted_images,
        no_mapping_action,
        warnings: Vec::new(),
        raw: raw.clone(),
        digest: digest_of(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::bundle::{RawMapping, RawPolicy, RawRule, RawWhitelist, RawWhitelistItem};

    fn minimal() -> RawBundle {
        RawBundle {
            id: Some("b".into()),
            version: Some("1_0".into()),
            policies: vec![RawPolicy {
                id: Some("p".into()),
                version: Some("1_0".into()),
                rules: vec![RawRule {
                    id: Some("r".into()),
                    gate: Some("always".into()),
                    trigger: Some("always".into()),
                    action: Some("stop".into()),
                    params: vec![],
                }],
                ..RawPolicy::default()
            }],
            whitelists: vec![RawWhitelist {
                id: Some("w".into()),
                version: Some("1_0".into()),
                items: vec![RawWhitelistItem {
                    id: Some("i".into()),
                    gate: Some("always".into()),
                    trigger_id: Some("*".into()),
                    expires_on: None,
                }],
                ..RawWhitelist::default()
            }],
            mappings: vec![RawMapping {
                registry: Some("*".into()),
                repository: Some("*".into()),
                image: Some(RawImageRef {
                    kind: Some("tag".into()),
                    value: Some("*".into()),
                }),
                policy_id: Some("p".into()),
                whitelist_ids: vec!["w".into()],
                ..RawMapping::default()
            }],
            ..RawBundle::default()
        }
    }

    fn codes(raw: &RawBundle) -> Vec<String> {
        match validate(raw) {
            Ok(v) => v
                .warnings()
                .iter()
                .map(|d| format!("{} {}", d.code, d.path))
                .collect(),
            Err(diags) => diags
                .iter()
                .map(|d| format!("{} {}", d.code, d.path))
                .collect(),
        }
    }

    #[test]
    fn minimal_bundle_is_valid() {
        let v = validate(&minimal()).expect("valid");
        assert_eq!(v.rule_count(), 1);
        assert_eq!(v.policies()[0].rules[0].action, Action::Stop);
        assert_eq!(v.mappings()[0].policies, vec![0]);
        assert!(v.digest().starts_with("sha256:"));
        assert!(v.warnings().is_empty());
    }

    #[test]
    fn mapping_problems() {
        let mut b = minimal();
        b.mappings[0].policy_ids = Some(vec!["p".into()]);
        assert_eq!(codes(&b), vec!["both-policy-id-and-policy-ids mappings[0]"]);
        b.mappings[0].policy_id = None;
        b.mappings[0].policy_ids = Some(vec!["p".into(), "q".into()]);
        b.mappings[0].whitelist_ids = vec!["w".into(), "x".into()];
        assert_eq!(
            codes(&b),
            vec![
                "unknown-policy-id mappings[0].policy_ids[1]",
                "unknown-whitelist-id mappings[0].whitelist_ids[1]",
            ]
        );
        b.mappings[0].policy_ids = Some(vec![]);
        b.mappings[0].whitelist_ids = vec![];
        assert_eq!(
            codes(&b),
            vec![
                "missing-policy-id mappings[0]",
                "unused-policy policies[0]",
                "unused-whitelist whitelists[0]",
            ]
        );
        let mut b = minimal();
        b.mappings[0].image = Some(RawImageRef {
            kind: Some("label".into()),
            value: Some("x".into()),
        });
        b.mappings[0].registry = Some("regexp:(".into());
        b.mappings[0].repository = None;
        assert_eq!(codes(&b), vec!["missing-field mappings[0].repository"]);
        b.mappings[0].repository = Some("*".into());
        assert_eq!(codes(&b)[0], "bad-pattern mappings[0].registry");
        b.mappings[0].registry = Some("*".into());
        assert_eq!(codes(&b)[0], "bad-image-selector mappings[0].image.type");
    }

    #[test]
    fn ids_versions_and_actions() {
        let mut b = minimal();
        b.version = Some("2_0".into());
        b.id = None;
        b.policies.push(b.policies[0].clone());
        let rule = b.policies[0].rules[0].clone();
        b.policies[0].rules.push(rule);
        b.policies[0].rules[1].action = Some("BLOCK".into());
        b.policies[1].version = None;
        b.whitelists[0].items[0].expires_on = Some("tomorrow".into());
        b.whitelists[0].items[0].gate = Some("anchoresec".into());
        b.no_mapping_action = Some("maybe".into());
        assert_eq!(
            codes(&b),
            vec![
                "unsupported-version version",
                "missing-field id",
                "unknown-action no_mapping_action",
                "duplicate-id policies[0].rules[1].id",
                "unknown-action policies[0].rules[1].action",
                "missing-field policies[1].version",
                "duplicate-id policies[1].id",
                "unknown-whitelist-gate whitelists[0].items[0].gate",
                "bad-timestamp whitelists[0].items[0].expires_on",
            ]
        );
    }

    #[test]
    fn actions_are_case_insensitive_and_ordered() {
        assert_eq!(Action::from_name(" Warn "), Some(Action::Warn));
        assert!(Action::Stop < Action::Warn && Action::Warn < Action::Go);
        assert_eq!(
            serde_json::to_string(&Action::Stop).expect("json"),
            "\"STOP\""
        );
    }
}
