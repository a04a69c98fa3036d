//! A [`ValidBundle`] against one image: the [`Verdict`].
//!
//! Anchore's decision, kept:
//! 1. A blacklisted-image rule that selects the image: STOP, reason `blacklisted`.
//! 2. Else a whitelisted-image rule: GO, reason `whitelisted`.
//! 3. Else the first mapping (in order) that selects the image runs its policies, in order;
//!    every fired trigger is a row with its rule's action, unless one of the mapping's
//!    whitelists exempts it. The final action is the most severe action of the rows that are
//!    not whitelisted (STOP < WARN < GO), GO when there are none; reason `policy_evaluation`.
//! 4. Else no mapping selects the image: the bundle's `no_mapping_action` (default GO, as
//!    Anchore), reason `no_mapping`.
//!
//! Rows are produced whatever the image lists decide, so a blacklisted image still shows why
//! it would have failed. Evaluations that could not look at something (a digest the analysis
//! lacks, a feed Plimsoll has not) say so in `notes` rather than passing silently.

use super::bundle::RawParam;
use super::facts::Facts;
use super::gates::Output;
use super::input::EvalInput;
use super::validate::{Action, ImageRule, ValidBundle};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why the final action is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Blacklisted,
    Whitelisted,
    PolicyEvaluation,
    NoMapping,
}

/// Which whitelist item exempted a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhitelistedBy {
    pub whitelist_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitelist_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
}

/// One fired trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub image_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub trigger_id: String,
    pub gate: String,
    pub trigger: String,
    pub check_output: String,
    /// The rule's action. A whitelisted row does not count; see [`Row::effective_action`].
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitelisted: Option<WhitelistedBy>,
    pub policy_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    pub params: Vec<RawParam>,
}

impl Row {
    /// GO for a whitelisted row (what Anchore's result table shows), else the rule's action.
    pub fn effective_action(&self) -> Action {
        if self.whitelisted.is_some() {
            Action::Go
        } else {
            self.action
        }
    }
}

/// Something an evaluation could not check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub policy_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    pub gate: String,
    pub trigger: String,
    pub message: String,
}

/// A mapping or image rule that matched, by position and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matched {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub final_action: Action,
    pub reason: Reason,
    /// The action of the rows alone, whatever the image lists say.
    pub policy_action: Action,
    pub bundle_id: String,
    pub bundle_digest: String,
    pub image_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<Matched>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitelisted_image: Option<Matched>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blacklisted_image: Option<Matched>,
    pub rows: Vec<Row>,
    pub notes: Vec<Note>,
    pub evaluated_at: DateTime<Utc>,
}

impl Verdict {
    /// Rows that count towards the final action with this action.
    pub fn count(&self, action: Action) -> usize {
        self.rows
            .iter()
            .filter(|r| r.whitelisted.is_none() && r.action == action)
            .count()
    }

    pub fn whitelisted_count(&self) -> usize {
        self.rows.iter().filter(|r| r.whitelisted.is_some()).count()
    }
}

fn first_match(rules: &[ImageRule], input: &EvalInput<'_>) -> Option<Matched> {
    rules
        .iter()
        .position(|r| r.selector.matches(input.image))
        .map(|i| Matched {
            index: i,
            id: rules[i].id.clone(),
            name: rules[i].name.clone(),
        })
}

pub fn evaluate(bundle: &ValidBundle, input: &EvalInput<'_>) -> Verdict {
    let blacklisted_image = first_match(&bundle.blacklisted_images, input);
    let whitelisted_image = first_match(&bundle.whitelisted_images, input);
    let mapping_index = bundle
        .mappings
        .iter()
        .position(|m| m.selector.matches(input.image));
    let facts = Facts::new(input);
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    if let Some(mi) = mapping_index {
        let mapping = &bundle.mappings[mi];
        for &pi in &mapping.policies {
            let policy = &bundle.policies[pi];
            for rule in &policy.rules {
                let mut out = Output::new(rule.gate.name, rule.trigger.name);
                rule.check.evaluate(&facts, &mut out);
                for fired in out.fired {
                    let whitelisted = mapping.whitelists.iter().find_map(|&wi| {
                        let wl = &bundle.whitelists[wi];
                        wl.find(rule.gate.name, &fired.trigger_id, input.now)
                            .map(|item| WhitelistedBy {
                                whitelist_id: wl.id.clone(),
                                whitelist_name: wl.name.clone(),
                                item_id: item.id.clone(),
                            })
                    });
                    rows.push(Row {
                        image_digest: input.image.digest.clone(),
                        tag: input.image.tag.clone(),
                        trigger_id: fired.trigger_id,
                        gate: rule.gate.name.to_owned(),
                        trigger: rule.trigger.name.to_owned(),
                        check_output: fired.message,
                        action: rule.action,
                        whitelisted,
                        policy_id: policy.id.clone(),
                        rule_id: rule.id.clone(),
                        params: rule.params.clone(),
                    });
                }
                notes.extend(out.notes.into_iter().map(|message| Note {
                    policy_id: policy.id.clone(),
                    rule_id: rule.id.clone(),
                    gate: rule.gate.name.to_owned(),
                    trigger: rule.trigger.name.to_owned(),
                    message,
                }));
            }
        }
    }
    let policy_action = rows
        .iter()
        .filter(|r| r.whitelisted.is_none())
        .map(|r| r.action)
        .min()
        .unwrap_or(Action::Go);
    let (final_action, reason) = if blacklisted_image.is_some() {
        (Action::Stop, Reason::Blacklisted)
    } else if whitelisted_image.is_some() {
        (Action::Go, Reason::Whitelisted)
    } else if mapping_index.is_none() {
        (bundle.no_mapping_action, Reason::NoMapping)
    } else {
        (policy_action, Reason::PolicyEvaluation)
    };
    Verdict {
        final_action,
        reason,
        policy_action,
        bundle_id: bundle.id.clone(),
        bundle_digest: bundle.digest.clone(),
        image_digest: input.image.digest.clone(),
        tag: input.image.tag.clone(),
        mapping: mapping_index.map(|i| Matched {
            index: i,
            id: bundle.mappings[i].id.clone(),
            name: bundle.mappings[i].name.clone(),
        }),
        whitelisted_image,
        blacklisted_image,
        rows,
        notes,
        evaluated_at: input.now,
    }
}
