//! PolicyReports (`wgpolicyk8s.io/v1alpha2`, the Kubernetes Policy WG's report format): one per
//! ImageScan, so Kyverno's Policy Reporter (and any other reader of the format) shows
//! Plimsoll's verdicts beside other engines' results. Off when the cluster does not serve the
//! API.
//!
//! - [`report`] (sans-IO): a scan's verdict and matches to the [`PolicyReport`] object.
//! - [`crd_present`], [`Availability`]: whether the cluster serves `policyreports` in
//!   `wgpolicyk8s.io/v1alpha2` (API discovery, which every client may read).
//! - [`apply`]: server-side apply of a report.
//!
//! What a report says: one result per STOP or WARN row of the verdict that no whitelist item
//! exempts (`fail` / `warn`, category the gate, rule `gate:trigger`); vulnerability package rows
//! carry the vulnerability's severity, and the package in `properties`. When the rows do not
//! explain the final action, one image-level result does: the image is blacklisted (`fail`),
//! whitelisted (`pass`; its rows are then `skip`: shown, not counted against it), no mapping
//! selects it (the bundle's no-mapping action), or nothing fired (`pass`).
//!
//! Traps:
//! - Size: the object must stay far below etcd's 1.5 MiB limit (Trivy Operator's reports
//!   outgrew it). At most [`MAX_RESULTS`] results, worst first, every string cut to a byte
//!   budget, and the results together below [`MAX_RESULTS_BYTES`]. The summary still counts
//!   every result; the annotations [`TOTAL_ANNOTATION`] and [`TRUNCATED_ANNOTATION`] say how
//!   many there were.
//! - Policy Reporter tells results apart by a hash of policy, rule, result and message unless a
//!   result carries a `resultID` property, and it announces results it has not seen before.
//!   Messages hold dates ("first detected ...") and the rows of one rule share policy and rule,
//!   so every result carries a `resultID` made from what identifies the finding (bundle,
//!   policy, rule id, gate, trigger, trigger id), never from its wording.
//! - A verdict row names its vulnerability only by trigger id (`CVE-…+package`) and text. The
//!   match is found again with the gate's own functions (`trigger_package`, `package_label`),
//!   so the join cannot drift from how rows are made.
//! - Timestamps: pass the evaluation time, not the wall clock, so that an unchanged verdict
//!   gives an identical object and applying it again writes nothing.
//! - The CRD comes and goes (Kyverno installed after Plimsoll, or removed): presence is checked
//!   again every [`RECHECK`], and a 404 on apply ([`Error::is_absent`]) means it went.
//! - The report is owned by its ImageScan through a controller reference, so the garbage
//!   collector deletes it with the scan. Without `blockOwnerDeletion`: setting it needs update
//!   rights on `imagescans/finalizers` where owner-reference admission is enforced (OpenShift).
//! - Names: `plimsoll-<scan name>`; past 253 characters the name is cut and a hash of the whole
//!   scan name appended, so two long scan names never share a report.

use crate::crd::ImageScan;
use crate::crd::image_scan::MAX_NAME_LEN;
use crate::matcher::{FixState, Match};
use crate::policy::evaluate::Matched;
use crate::policy::gates::vulnerabilities::{self, package_label, trigger_package};
use crate::policy::{Action, Reason, Row, Verdict};
use crate::severity::Severity;
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const GROUP: &str = "wgpolicyk8s.io";
pub const VERSION: &str = "v1alpha2";
pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
pub const KIND: &str = "PolicyReport";
pub const PLURAL: &str = "policyreports";
/// The CRD's name, for those who look it up rather than use discovery.
pub const CRD_NAME: &str = "policyreports.wgpolicyk8s.io";
/// `source` of every result: the engine, as Policy Reporter lists it.
pub const SOURCE: &str = "plimsoll";
/// The field manager of report writes.
pub const MANAGER: &str = "plimsoll-operator";
/// Most results in one report (the worst first).
pub const MAX_RESULTS: usize = 200;
/// Most bytes of the results together, as JSON.
pub const MAX_RESULTS_BYTES: usize = 512 * 1024;
/// How long a presence check holds.
pub const RECHECK: Duration = Duration::from_secs(5 * 60);
/// Annotation: how many results the verdict gave (kept or not).
pub const TOTAL_ANNOTATION: &str = "plimsoll.dev/total-results";
/// Annotation, only on a cut report: what was left out.
pub const TRUNCATED_ANNOTATION: &str = "plimsoll.dev/truncated";
/// Category of the image-level results (blacklisted, whitelisted, no mapping, nothing fired).
pub const IMAGE_CATEGORY: &str = "image";

const MAX_MESSAGE_BYTES: usize = 1024;
const MAX_FIELD_BYTES: usize = 256;
const MAX_PROPERTY_BYTES: usize = 256;
/// Hex digits of the hash that ends a cut name.
const NAME_HASH_HEX: usize = 10;
/// Hex digits of a `resultID`.
const RESULT_ID_HEX: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the ImageScan has no {0}: a PolicyReport needs it")]
    Missing(&'static str),
    #[error("writing the PolicyReport: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    /// The API answered 404 on a write: the cluster no longer serves PolicyReports (or the
    /// namespace is gone). Check presence again before the next write.
    pub fn is_absent(&self) -> bool {
        matches!(self, Error::Kube(kube::Error::Api(s)) if s.code == 404)
    }
}

/// `wgpolicyk8s.io/v1alpha2` `PolicyReport`, the fields Plimsoll writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyReport {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    /// The ImageScan the report is about.
    pub scope: ObjectReference,
    pub summary: Summary,
    pub results: Vec<ReportResult>,
}

impl PolicyReport {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
}

/// Counts of every result, including those cut from a long report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: u32,
    pub fail: u32,
    pub warn: u32,
    pub error: u32,
    pub skip: u32,
}

impl Summary {
    fn add(&mut self, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Pass => &mut self.pass,
            Outcome::Fail => &mut self.fail,
            Outcome::Warn => &mut self.warn,
            Outcome::Error => &mut self.error,
            Outcome::Skip => &mut self.skip,
        };
        *slot = slot.saturating_add(1);
    }
}

/// A result's `result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Warn,
    Error,
    Skip,
}

impl Outcome {
    /// Worst first.
    fn rank(self) -> u8 {
        match self {
            Outcome::Fail => 0,
            Outcome::Error => 1,
            Outcome::Warn => 2,
            Outcome::Skip => 3,
            Outcome::Pass => 4,
        }
    }
}

/// A result's `severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultSeverity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl ResultSeverity {
    /// Worst first.
    fn rank(self) -> u8 {
        match self {
            ResultSeverity::Critical => 0,
            ResultSeverity::High => 1,
            ResultSeverity::Medium => 2,
            ResultSeverity::Low => 3,
            ResultSeverity::Info => 4,
        }
    }

    /// A vulnerability's severity; `None` when the feeds gave none.
    fn of_vulnerability(s: Severity) -> Option<Self> {
        match s {
            Severity::Critical => Some(ResultSeverity::Critical),
            Severity::High => Some(ResultSeverity::High),
            Severity::Medium => Some(ResultSeverity::Medium),
            Severity::Low => Some(ResultSeverity::Low),
            Severity::Negligible => Some(ResultSeverity::Info),
            Severity::Unknown => None,
        }
    }

    /// Without better information, the rule's action says how bad it is.
    fn of_action(a: Action) -> Self {
        match a {
            Action::Stop => ResultSeverity::High,
            Action::Warn => ResultSeverity::Medium,
            Action::Go => ResultSeverity::Info,
        }
    }
}

/// `metav1.Timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultTimestamp {
    pub seconds: i64,
    pub nanos: i32,
}

impl From<DateTime<Utc>> for ResultTimestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self {
            seconds: t.timestamp(),
            nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
        }
    }
}

/// One entry of `results`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportResult {
    pub source: String,
    /// `<bundle id>/<policy id>`, or the bundle id for image-level results.
    pub policy: String,
    /// `<gate>:<trigger>`, or what decided an image-level result.
    pub rule: String,
    /// The gate, or [`IMAGE_CATEGORY`].
    pub category: String,
    pub severity: ResultSeverity,
    pub result: Outcome,
    /// The check output.
    pub message: String,
    pub properties: BTreeMap<String, String>,
    pub timestamp: ResultTimestamp,
    /// False for `warn` (the format's meaning: requirements not met, not scored).
    pub scored: bool,
}

/// The report of one scan; see the module documentation for what it holds.
///
/// `digest` is the analyzed image's digest; `matches` are the matches the verdict was evaluated
/// with (`Judged::matches`); `now` should be the evaluation time (`verdict.evaluated_at`) so
/// that the same verdict gives the same object.
pub fn report(
    scan: &ImageScan,
    digest: &str,
    verdict: &Verdict,
    matches: &[Match],
    now: DateTime<Utc>,
) -> Result<PolicyReport, Error> {
    let present = |v: Option<&String>, what| {
        v.filter(|s| !s.is_empty())
            .cloned()
            .ok_or(Error::Missing(what))
    };
    let scan_name = present(scan.metadata.name.as_ref(), "metadata.name")?;
    let namespace = present(scan.metadata.namespace.as_ref(), "metadata.namespace")?;
    let uid = present(scan.metadata.uid.as_ref(), "metadata.uid")?;
    let timestamp = ResultTimestamp::from(now);
    let maker = Maker {
        verdict,
        digest,
        timestamp,
    };

    let mut results = Vec::new();
    let mut occurrences: HashMap<String, u32> = HashMap::new();
    for row in verdict
        .rows
        .iter()
        .filter(|r| r.whitelisted.is_none() && r.action != Action::Go)
    {
        results.push(maker.row(row, matches, &mut occurrences));
    }
    if let Some(r) = maker.image_level(results.is_empty()) {
        results.push(r);
    }

    let mut summary = Summary::default();
    for r in &results {
        summary.add(r.result);
    }
    let total = results.len();
    // Stable: rows of equal rank keep the verdict's order.
    results.sort_by_key(|r| (r.result.rank(), r.severity.rank()));
    let results = bounded(results);

    let mut annotations = BTreeMap::from([(TOTAL_ANNOTATION.to_owned(), total.to_string())]);
    if results.len() < total {
        annotations.insert(
            TRUNCATED_ANNOTATION.to_owned(),
            format!(
                "{} of {total} results shown, the worst first; the summary counts them all, and the operator's store keeps every verdict row",
                results.len()
            ),
        );
    }
    let owner = OwnerReference {
        api_version: ImageScan::api_version(&()).into_owned(),
        kind: ImageScan::kind(&()).into_owned(),
        name: scan_name.clone(),
        uid: uid.clone(),
        controller: Some(true),
        block_owner_deletion: None,
    };
    Ok(PolicyReport {
        api_version: API_VERSION.to_owned(),
        kind: KIND.to_owned(),
        metadata: ObjectMeta {
            name: Some(report_name(&scan_name)),
            namespace: Some(namespace.clone()),
            labels: Some(BTreeMap::from([
                ("app.kubernetes.io/name".to_owned(), "plimsoll".to_owned()),
                (
                    super::analyzer_job::MANAGED_BY_LABEL.to_owned(),
                    super::analyzer_job::MANAGED_BY.to_owned(),
                ),
            ])),
            annotations: Some(annotations),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        scope: ObjectReference {
            api_version: Some(ImageScan::api_version(&()).into_owned()),
            kind: Some(ImageScan::kind(&()).into_owned()),
            name: Some(scan_name),
            namespace: Some(namespace),
            uid: Some(uid),
            ..Default::default()
        },
        summary,
        results,
    })
}

/// The report's name for a scan: `plimsoll-<scan name>`, cut with a hash suffix past 253
/// characters.
pub fn report_name(scan_name: &str) -> String {
    let full = format!("plimsoll-{scan_name}");
    if full.len() <= MAX_NAME_LEN {
        return full;
    }
    let hash = hex::encode(Sha256::digest(scan_name.as_bytes()));
    let hash = hash.get(..NAME_HASH_HEX).unwrap_or(&hash);
    let head = prefix(&full, MAX_NAME_LEN - 1 - hash.len());
    // A DNS subdomain's labels end with a letter or digit.
    let head = head.trim_end_matches(['-', '.']);
    format!("{head}-{hash}")
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let end = (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    &s[..end]
}

/// `s` without control characters, cut to `max` bytes (with `…` when cut).
fn cut(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.len() <= max {
        return clean;
    }
    let mut out = prefix(&clean, max.saturating_sub('…'.len_utf8())).to_owned();
    out.push('…');
    out
}

/// The first results (in order) that fit both bounds.
fn bounded(results: Vec<ReportResult>) -> Vec<ReportResult> {
    let mut bytes = 0usize;
    let mut kept = Vec::with_capacity(results.len().min(MAX_RESULTS));
    for r in results.into_iter().take(MAX_RESULTS) {
        let size = serde_json::to_vec(&r).map_or(MAX_RESULTS_BYTES, |v| v.len() + 1);
        if bytes + size > MAX_RESULTS_BYTES {
            break;
        }
        bytes += size;
        kept.push(r);
    }
    kept
}

fn result_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let hex = hex::encode(h.finalize());
    hex.get(..RESULT_ID_HEX).unwrap_or(&hex).to_owned()
}

fn fix_state(f: FixState) -> &'static str {
    match f {
        FixState::Fixed => "fixed",
        FixState::NotFixed => "not-fixed",
        FixState::WontFix => "wont-fix",
    }
}

/// What every result of one report shares.
struct Maker<'a> {
    verdict: &'a Verdict,
    digest: &'a str,
    timestamp: ResultTimestamp,
}

impl Maker<'_> {
    fn result(
        &self,
        policy: &str,
        rule: &str,
        category: &str,
        (outcome, severity): (Outcome, ResultSeverity),
        message: &str,
        mut properties: BTreeMap<String, String>,
    ) -> ReportResult {
        properties.insert("imageDigest".into(), cut(self.digest, MAX_PROPERTY_BYTES));
        ReportResult {
            source: SOURCE.to_owned(),
            policy: cut(policy, MAX_FIELD_BYTES),
            rule: cut(rule, MAX_FIELD_BYTES),
            category: cut(category, MAX_FIELD_BYTES),
            severity,
            result: outcome,
            message: cut(message, MAX_MESSAGE_BYTES),
            properties,
            timestamp: self.timestamp,
            scored: outcome != Outcome::Warn,
        }
    }

    /// The result of one STOP or WARN row.
    fn row(
        &self,
        row: &Row,
        matches: &[Match],
        occurrences: &mut HashMap<String, u32>,
    ) -> ReportResult {
        let outcome = match (self.verdict.reason, row.action) {
            // The image is whitelisted: its rows are shown, not held against it.
            (Reason::Whitelisted, _) => Outcome::Skip,
            (_, Action::Stop) => Outcome::Fail,
            (_, _) => Outcome::Warn,
        };
        let rule_id = row.rule_id.as_deref().unwrap_or("");
        let key = [
            self.verdict.bundle_id.as_str(),
            row.policy_id.as_str(),
            rule_id,
            row.gate.as_str(),
            row.trigger.as_str(),
            row.trigger_id.as_str(),
        ];
        // Two rows of one rule may share a trigger id (one package in two places).
        let n = occurrences.entry(key.join("\0")).or_insert(0);
        *n += 1;
        let nth = n.to_string();
        let mut properties = BTreeMap::from([
            (
                "resultID".to_owned(),
                result_id(&[&key[..], &[nth.as_str()]].concat()),
            ),
            (
                "triggerId".to_owned(),
                cut(&row.trigger_id, MAX_PROPERTY_BYTES),
            ),
        ]);
        if !rule_id.is_empty() {
            properties.insert("ruleId".into(), cut(rule_id, MAX_PROPERTY_BYTES));
        }
        let mut severity = None;
        if let Some(m) = package_match(row, matches) {
            severity = ResultSeverity::of_vulnerability(m.severity);
            vulnerability_properties(m, &mut properties);
        } else if row.gate == vulnerabilities::DOC.name {
            // blacklist and count rows name their vulnerabilities in the text.
            severity = named_matches(&row.check_output, matches)
                .filter_map(|m| ResultSeverity::of_vulnerability(m.severity))
                .min_by_key(|s| s.rank());
        }
        self.result(
            &format!("{}/{}", self.verdict.bundle_id, row.policy_id),
            &format!("{}:{}", row.gate, row.trigger),
            &row.gate,
            (
                outcome,
                severity.unwrap_or(ResultSeverity::of_action(row.action)),
            ),
            &row.check_output,
            properties,
        )
    }

    /// The result that explains a final action the rows do not: a blacklisted or whitelisted
    /// image, no mapping, or nothing that fired (`no_rows`).
    fn image_level(&self, no_rows: bool) -> Option<ReportResult> {
        let v = self.verdict;
        let by = |m: &Option<Matched>| match m {
            Some(Matched {
                index,
                name: Some(name),
                ..
            }) => format!("[{index}] ({name})"),
            Some(Matched { index, .. }) => format!("[{index}]"),
            None => String::new(),
        };
        let (rule, action, message) = match v.reason {
            Reason::Blacklisted => (
                "blacklisted_images",
                Action::Stop,
                format!(
                    "STOP: the image is blacklisted by blacklisted_images{} of bundle {}",
                    by(&v.blacklisted_image),
                    v.bundle_id
                ),
            ),
            Reason::Whitelisted => (
                "whitelisted_images",
                Action::Go,
                format!(
                    "GO: the image is whitelisted by whitelisted_images{} of bundle {}, whatever its rules say ({} STOP, {} WARN rows shown as skip)",
                    by(&v.whitelisted_image),
                    v.bundle_id,
                    v.count(Action::Stop),
                    v.count(Action::Warn)
                ),
            ),
            Reason::NoMapping => (
                "mappings",
                v.final_action,
                format!(
                    "{}: no mapping of bundle {} selects the image (the bundle's no_mapping_action)",
                    v.final_action, v.bundle_id
                ),
            ),
            Reason::PolicyEvaluation if no_rows => {
                let whitelisted = match v.whitelisted_count() {
                    0 => String::new(),
                    n => format!(" ({n} exempted by whitelists)"),
                };
                (
                    "policy_evaluation",
                    Action::Go,
                    format!(
                        "GO: no rule of bundle {} gave a STOP or WARN result{whitelisted}",
                        v.bundle_id
                    ),
                )
            }
            Reason::PolicyEvaluation => return None,
        };
        let outcome = match action {
            Action::Stop => Outcome::Fail,
            Action::Warn => Outcome::Warn,
            Action::Go => Outcome::Pass,
        };
        let properties = BTreeMap::from([
            (
                "resultID".to_owned(),
                result_id(&[v.bundle_id.as_str(), IMAGE_CATEGORY, rule]),
            ),
            ("finalAction".to_owned(), v.final_action.as_str().to_owned()),
        ]);
        Some(self.result(
            &v.bundle_id,
            rule,
            IMAGE_CATEGORY,
            (outcome, ResultSeverity::of_action(action)),
            &message,
            properties,
        ))
    }
}

/// The match a `vulnerabilities.package` row was made from.
fn package_match<'m>(row: &Row, matches: &'m [Match]) -> Option<&'m Match> {
    if row.gate != vulnerabilities::DOC.name || row.trigger != "package" {
        return None;
    }
    let candidates: Vec<&Match> = matches
        .iter()
        .filter(|m| {
            row.trigger_id
                .strip_prefix(m.vuln_id.as_str())
                .and_then(|rest| rest.strip_prefix('+'))
                .is_some_and(|p| p == trigger_package(m))
        })
        .collect();
    match candidates.as_slice() {
        [] => None,
        [one] => Some(one),
        // One trigger id, several packages (the same package in two directories): the check
        // output names the one this row is about.
        [first, ..] => Some(
            candidates
                .iter()
                .find(|m| {
                    row.check_output
                        .contains(&format!(" - {}", package_label(m)))
                })
                .unwrap_or(first),
        ),
    }
}

/// Matches whose id or alias appears as a word of `text`.
fn named_matches<'m>(text: &str, matches: &'m [Match]) -> impl Iterator<Item = &'m Match> {
    let words: HashSet<String> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|w| w.trim_matches(|c: char| matches!(c, ':' | '(' | ')' | '.')))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    matches.iter().filter(move |m| {
        std::iter::once(&m.vuln_id)
            .chain(&m.aliases)
            .any(|id| words.contains(&id.to_ascii_lowercase()))
    })
}

fn vulnerability_properties(m: &Match, p: &mut BTreeMap<String, String>) {
    let mut put = |k: &str, v: &str| {
        p.insert(k.to_owned(), cut(v, MAX_PROPERTY_BYTES));
    };
    put("vulnerabilityId", &m.vuln_id);
    put("package", &m.package.name);
    put("installedVersion", &m.package.version);
    if !m.fixed_versions.is_empty() {
        put("fixedVersion", &m.fixed_versions.join(", "));
    }
    put("severity", m.severity.as_str());
    put("fixState", fix_state(m.fix_state));
    put("packageType", m.package.kind.as_str());
    put("purl", &m.package.purl);
    if let Some(location) = &m.package.location {
        put("packageLocation", location);
    }
}

/// Where PolicyReports live in the API.
pub fn api_resource() -> ApiResource {
    ApiResource {
        group: GROUP.to_owned(),
        version: VERSION.to_owned(),
        api_version: API_VERSION.to_owned(),
        kind: KIND.to_owned(),
        plural: PLURAL.to_owned(),
    }
}

/// Whether the cluster serves `policyreports` in `wgpolicyk8s.io/v1alpha2`, by API discovery.
/// A 404 is `false`; other failures are errors (do not switch reports off for a blip).
pub async fn crd_present(client: &kube::Client) -> Result<bool, kube::Error> {
    match client.list_api_group_resources(API_VERSION).await {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == PLURAL)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Server-side apply of `report` into `namespace` (field manager [`MANAGER`], forced).
pub async fn apply(
    client: &kube::Client,
    namespace: &str,
    report: &PolicyReport,
) -> Result<(), Error> {
    if report.name().is_empty() {
        return Err(Error::Missing("metadata.name"));
    }
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &api_resource());
    api.patch(
        report.name(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(report),
    )
    .await?;
    Ok(())
}

/// The last presence check, re-done when older than [`RECHECK`] or after [`Self::forget`].
/// Put one in the operator's context; [`Self::present`] is cheap between checks.
#[derive(Debug, Default)]
pub struct Availability {
    last: Mutex<Option<(bool, Instant)>>,
}

/// What a [`Availability::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    /// Reports are on.
    pub present: bool,
    /// This call found the API served where the previous answer was "not served" or none (the
    /// first check, or after [`Availability::forget`]): scans evaluated while reports were off
    /// have none yet.
    pub turned_on: bool,
}

impl Availability {
    /// Whether reports are on: the cached answer, or a fresh check when it is stale.
    pub async fn present(&self, client: &kube::Client, now: Instant) -> bool {
        self.check(client, now).await.present
    }

    /// [`Self::present`], and whether reports just turned on. A failed check keeps the previous
    /// answer (off when there was none) until the next one is due.
    pub async fn check(&self, client: &kube::Client, now: Instant) -> Presence {
        let last = self.last.lock().ok().and_then(|l| *l);
        if let Some(present) = fresh(last, now) {
            return Presence {
                present,
                turned_on: false,
            };
        }
        let before = last.map(|(p, _)| p);
        let present = match crd_present(client).await {
            Ok(p) => {
                if before != Some(p) {
                    tracing::info!(
                        present = p,
                        "PolicyReport API ({API_VERSION}) {}",
                        if p {
                            "served: writing reports"
                        } else {
                            "not served: no reports"
                        }
                    );
                }
                p
            }
            Err(e) => {
                tracing::warn!(error = %e, "checking whether the cluster serves PolicyReports");
                before.unwrap_or(false)
            }
        };
        if let Ok(mut l) = self.last.lock() {
            *l = Some((present, now));
        }
        Presence {
            present,
            turned_on: present && before != Some(true),
        }
    }

    /// Check again on the next call (after a write answered 404).
    pub fn forget(&self) {
        if let Ok(mut l) = self.last.lock() {
            *l = None;
        }
    }
}

/// The cached answer when it is recent enough.
fn fresh(last: Option<(bool, Instant)>, now: Instant) -> Option<bool> {
    last.filter(|(_, at)| now.saturating_duration_since(*at) < RECHECK)
        .map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::image_scan::ImageScanSpec;
    use crate::policy::testing::{Scenario, days_ago};
    use crate::policy::{FormatHint, ValidBundle, load_bundle};

    const UID: &str = "0b5e2b57-3c1f-4d6c-9a8e-5f1d2c3b4a59";

    fn scan(name: &str) -> ImageScan {
        let mut s = ImageScan::new(
            name,
            serde_json::from_value::<ImageScanSpec>(serde_json::json!({
                "image": "registry.example.com/team/app:1.4.2",
                "policyBundleRef": {"name": "default"},
            }))
            .expect("spec"),
        );
        s.metadata.namespace = Some("team".into());
        s.metadata.uid = Some(UID.into());
        s
    }

    fn bundle(bytes: &[u8]) -> ValidBundle {
        load_bundle(bytes, FormatHint::Auto).unwrap_or_else(|d| panic!("bundle: {d:#?}"))
    }

    fn bod() -> ValidBundle {
        bundle(include_bytes!("../../../examples/policies/bod-19-02.json"))
    }

    fn cis() -> ValidBundle {
        bundle(include_bytes!(
            "../../../examples/policies/cis-docker-1.13.json"
        ))
    }

    /// The report of `b` on the scenario, with the verdict it came from.
    fn judge(b: &ValidBundle, s: &Scenario) -> (Verdict, PolicyReport) {
        let v = crate::policy::evaluate(b, &s.input());
        let r = report(
            &scan("app"),
            &s.image.digest,
            &v,
            &s.matches,
            v.evaluated_at,
        )
        .expect("report");
        (v, r)
    }

    fn summary_of(r: &PolicyReport) -> Summary {
        let mut s = Summary::default();
        for x in &r.results {
            s.add(x.result);
        }
        s
    }

    #[test]
    fn bod_verdict_shape() {
        let s = Scenario::new();
        let (v, r) = judge(&bod(), &s);
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        assert_eq!(json["kind"], "PolicyReport");
        assert_eq!(json["metadata"]["name"], "plimsoll-app");
        assert_eq!(json["metadata"]["namespace"], "team");
        assert_eq!(
            json["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "plimsoll-operator"
        );
        assert_eq!(
            json["metadata"]["ownerReferences"],
            serde_json::json!([{"apiVersion": "plimsoll.dev/v1alpha1", "kind": "ImageScan",
                "name": "app", "uid": UID, "controller": true}])
        );
        assert_eq!(
            json["scope"],
            serde_json::json!({"apiVersion": "plimsoll.dev/v1alpha1", "kind": "ImageScan",
                "name": "app", "namespace": "team", "uid": UID})
        );
        assert_eq!(
            v.final_action,
            Action::Stop,
            "the fixture fails BOD 19-02 (40 days)"
        );
        // One result per STOP/WARN row, nothing image-level: the rows explain the STOP.
        let counted = v.count(Action::Stop) + v.count(Action::Warn);
        assert_eq!(r.results.len(), counted);
        assert_eq!(
            (r.summary.fail, r.summary.warn, r.summary.pass),
            (
                u32::try_from(v.count(Action::Stop)).expect("small"),
                u32::try_from(v.count(Action::Warn)).expect("small"),
                0
            )
        );
        assert_eq!(r.summary, summary_of(&r));
        assert_eq!(
            r.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(TOTAL_ANNOTATION))
                .map(String::as_str),
            Some(counted.to_string().as_str())
        );
        assert!(
            r.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| !a.contains_key(TRUNCATED_ANNOTATION))
        );

        // The critical log4j row: severity and properties from its match.
        let log4j = r
            .results
            .iter()
            .find(|x| {
                x.properties.get("triggerId").map(String::as_str)
                    == Some("CVE-2021-44228+log4j-core-2.14.1.jar")
            })
            .expect("log4j row");
        let row = v
            .rows
            .iter()
            .find(|x| x.trigger_id == "CVE-2021-44228+log4j-core-2.14.1.jar")
            .expect("row");
        assert_eq!(log4j.source, "plimsoll");
        assert_eq!(log4j.policy, format!("{}/{}", v.bundle_id, row.policy_id));
        assert_eq!(log4j.rule, "vulnerabilities:package");
        assert_eq!(log4j.category, "vulnerabilities");
        assert_eq!(log4j.result, Outcome::Fail);
        assert_eq!(log4j.severity, ResultSeverity::Critical);
        assert_eq!(log4j.message, row.check_output);
        assert!(log4j.scored);
        assert_eq!(
            log4j.timestamp,
            ResultTimestamp {
                seconds: s.now.timestamp(),
                nanos: 0
            }
        );
        let p = |k: &str| log4j.properties.get(k).map(String::as_str);
        assert_eq!(p("vulnerabilityId"), Some("CVE-2021-44228"));
        assert_eq!(p("package"), Some("log4j-core"));
        assert_eq!(p("installedVersion"), Some("2.14.1"));
        assert_eq!(p("fixedVersion"), Some("2.15.0"));
        assert_eq!(p("severity"), Some("Critical"));
        assert_eq!(p("fixState"), Some("fixed"));
        assert_eq!(p("packageType"), Some("java"));
        assert_eq!(p("imageDigest"), Some(s.image.digest.as_str()));
        assert_eq!(p("ruleId"), row.rule_id.as_deref());
        assert_eq!(p("resultID").map(str::len), Some(RESULT_ID_HEX));

        // Every package row found its match; worst first.
        for x in &r.results {
            if x.rule == "vulnerabilities:package" {
                assert!(x.properties.contains_key("vulnerabilityId"), "{x:?}");
            }
        }
        let ranks: Vec<(u8, u8)> = r
            .results
            .iter()
            .map(|x| (x.result.rank(), x.severity.rank()))
            .collect();
        let mut sorted = ranks.clone();
        sorted.sort_unstable();
        assert_eq!(ranks, sorted);
        // Result ids are unique and do not follow the wording (dates in messages).
        let ids: HashSet<&str> = r
            .results
            .iter()
            .filter_map(|x| x.properties.get("resultID").map(String::as_str))
            .collect();
        assert_eq!(ids.len(), r.results.len());
        let mut earlier = Scenario::new();
        for t in &mut earlier.times {
            t.first_seen = Some(days_ago(41));
        }
        let (_, r2) = judge(&bod(), &earlier);
        assert_ne!(
            r2.results, r.results,
            "the messages name the first detection"
        );
        let ids2: HashSet<&str> = r2
            .results
            .iter()
            .filter_map(|x| x.properties.get("resultID").map(String::as_str))
            .collect();
        assert_eq!(ids, ids2);
        // The same verdict, the same object.
        assert_eq!(judge(&bod(), &s).1, r);
    }

    #[test]
    fn one_package_in_two_places() {
        // Two copies of lodash: one trigger id, two rows, each joined with its own match.
        let mut s = Scenario::new();
        let i = s
            .matches
            .iter()
            .position(|m| m.package.name == "lodash")
            .expect("lodash");
        let mut other = s.matches[i].clone();
        other.package.version = "4.17.10".into();
        other.package.location = Some("/app/vendor/node_modules/lodash/package.json".into());
        other.severity = Severity::Critical;
        s.matches.push(other);
        s.times.push(s.times[i]);
        let (v, r) = judge(&bod(), &s);
        let lodash: Vec<&ReportResult> = r
            .results
            .iter()
            .filter(|x| {
                x.properties.get("triggerId").map(String::as_str) == Some("CVE-2022-0004+lodash")
            })
            .collect();
        assert_eq!(
            lodash.len(),
            v.rows
                .iter()
                .filter(|x| x.trigger_id == "CVE-2022-0004+lodash")
                .count()
        );
        assert!(lodash.len() >= 2);
        for x in &lodash {
            let version = x.properties.get("installedVersion").expect("version");
            assert!(
                x.message.contains(&format!("lodash-{version} (")),
                "{version}: {}",
                x.message
            );
        }
        let versions: HashSet<(&str, ResultSeverity)> = lodash
            .iter()
            .filter_map(|x| Some((x.properties.get("installedVersion")?.as_str(), x.severity)))
            .collect();
        assert_eq!(
            versions,
            HashSet::from([
                ("4.17.15", ResultSeverity::High),
                ("4.17.10", ResultSeverity::Critical)
            ])
        );
        let ids: HashSet<&String> = lodash
            .iter()
            .filter_map(|x| x.properties.get("resultID"))
            .collect();
        assert_eq!(ids.len(), lodash.len());
    }

    #[test]
    fn non_vulnerability_rows_take_the_action_severity() {
        let s = Scenario::new();
        let (v, r) = judge(&cis(), &s);
        assert_eq!(
            r.results.len(),
            v.count(Action::Stop) + v.count(Action::Warn)
        );
        for x in &r.results {
            let prop = |k: &str| x.properties.get(k).map(String::as_str);
            let row = v
                .rows
                .iter()
                .find(|row| {
                    Some(row.trigger_id.as_str()) == prop("triggerId")
                        && row.rule_id.as_deref() == prop("ruleId")
                })
                .expect("its row");
            let want = match row.action {
                Action::Stop => (Outcome::Fail, ResultSeverity::High),
                _ => (Outcome::Warn, ResultSeverity::Medium),
            };
            assert_eq!((x.result, x.severity), want, "{x:?}");
            assert_eq!(x.category, row.gate);
            assert_eq!(x.rule, format!("{}:{}", row.gate, row.trigger));
            assert_eq!(x.scored, x.result != Outcome::Warn);
            assert!(!x.properties.contains_key("vulnerabilityId"));
        }
    }

    const ONE_POLICY: &str = r#"
id: b
version: "1_0"
policies:
  - id: p
    version: "1_0"
    rules:
      - {id: crit, gate: vulnerabilities, trigger: package, action: stop,
         params: [{name: package_type, value: all}, {name: severity_comparison, value: "="}, {name: severity, value: critical}]}
      - {id: bl, gate: vulnerabilities, trigger: blacklist, action: warn,
         params: [{name: vulnerability_ids, value: "GHSA-29mw-wpgm-hmr9,CVE-2019-0000"}]}
whitelists:
  - id: w
    version: "1_0"
    items:
      - {id: every-row, gate: vulnerabilities, trigger_id: "*"}
"#;

    fn one_policy(tail: &str) -> ValidBundle {
        bundle(format!("{ONE_POLICY}{tail}").as_bytes())
    }

    const MAP_ALL: &str = "mappings:\n  - {registry: '*', repository: '*', image: {type: tag, value: '*'}, policy_id: p}\n";

    #[test]
    fn blacklist_rows_take_the_severity_of_what_they_name() {
        let (v, r) = judge(&one_policy(MAP_ALL), &Scenario::new());
        let bl = r
            .results
            .iter()
            .find(|x| x.rule == "vulnerabilities:blacklist")
            .expect("blacklist row");
        // GHSA-29mw-wpgm-hmr9 is an alias of the high lodash match.
        assert_eq!(
            (bl.result, bl.severity),
            (Outcome::Warn, ResultSeverity::High)
        );
        assert!(!bl.scored);
        assert_eq!(v.final_action, Action::Stop);
    }

    #[test]
    fn nothing_fired_is_one_pass() {
        // Every row whitelisted: GO, nothing counted.
        let tail = "mappings:\n  - {registry: '*', repository: '*', image: {type: tag, value: '*'}, policy_id: p, whitelist_ids: [w]}\n";
        let s = Scenario::new();
        let b = one_policy(tail);
        let v = crate::policy::evaluate(&b, &s.input());
        let whitelisted = v.whitelisted_count();
        let r = report(
            &scan("app"),
            &s.image.digest,
            &v,
            &s.matches,
            v.evaluated_at,
        )
        .expect("report");
        assert_eq!(v.final_action, Action::Go);
        assert_eq!(r.results.len(), 1);
        let pass = &r.results[0];
        assert_eq!(
            (
                pass.result,
                pass.severity,
                pass.rule.as_str(),
                pass.category.as_str(),
                pass.policy.as_str()
            ),
            (
                Outcome::Pass,
                ResultSeverity::Info,
                "policy_evaluation",
                "image",
                "b"
            )
        );
        assert_eq!(
            pass.message,
            format!(
                "GO: no rule of bundle b gave a STOP or WARN result ({whitelisted} exempted by whitelists)"
            )
        );
        assert_eq!(
            r.summary,
            Summary {
                pass: 1,
                ..Summary::default()
            }
        );
        assert_eq!(
            pass.properties.get("finalAction").map(String::as_str),
            Some("GO")
        );
    }

    #[test]
    fn image_level_decisions() {
        let s = Scenario::new();
        // No mapping: the bundle's no-mapping action.
        let none = "mappings:\n  - {registry: quay.io, repository: '*', image: {type: tag, value: '*'}, policy_id: p}\n";
        for (tail, outcome, severity) in [
            (none.to_owned(), Outcome::Pass, ResultSeverity::Info),
            (
                format!("{none}no_mapping_action: WARN\n"),
                Outcome::Warn,
                ResultSeverity::Medium,
            ),
            (
                format!("{none}no_mapping_action: STOP\n"),
                Outcome::Fail,
                ResultSeverity::High,
            ),
        ] {
            let (_, r) = judge(&one_policy(&tail), &s);
            assert_eq!(r.results.len(), 1, "{tail}");
            let x = &r.results[0];
            assert_eq!(
                (x.rule.as_str(), x.result, x.severity),
                ("mappings", outcome, severity)
            );
            assert!(
                x.message
                    .contains("no mapping of bundle b selects the image"),
                "{}",
                x.message
            );
        }
        // Blacklisted: a fail besides the rows.
        let tail = format!(
            "{MAP_ALL}blacklisted_images:\n  - {{name: bad, registry: '*', repository: '*', image: {{type: tag, value: '*'}}}}\n"
        );
        let (v, r) = judge(&one_policy(&tail), &s);
        assert_eq!(
            r.results.len(),
            v.count(Action::Stop) + v.count(Action::Warn) + 1
        );
        let bl = r
            .results
            .iter()
            .find(|x| x.rule == "blacklisted_images")
            .expect("blacklisted");
        assert_eq!((bl.result, bl.category.as_str()), (Outcome::Fail, "image"));
        assert_eq!(
            bl.message,
            "STOP: the image is blacklisted by blacklisted_images[0] (bad) of bundle b"
        );
        // Whitelisted: the rows are skipped, the image passes.
        let tail = format!(
            "{MAP_ALL}whitelisted_images:\n  - {{registry: '*', repository: '*', image: {{type: tag, value: '*'}}}}\n"
        );
        let (v, r) = judge(&one_policy(&tail), &s);
        assert_eq!(v.final_action, Action::Go);
        let rows = v.count(Action::Stop) + v.count(Action::Warn);
        assert!(rows > 0);
        assert_eq!(
            r.summary,
            Summary {
                pass: 1,
                skip: u32::try_from(rows).expect("small"),
                ..Summary::default()
            }
        );
        assert_eq!(
            r.results.last().map(|x| x.rule.as_str()),
            Some("whitelisted_images")
        );
        assert!(r.results[..rows].iter().all(|x| x.result == Outcome::Skip));
    }

    #[test]
    fn long_reports_are_cut_worst_first() {
        let mut s = Scenario::new();
        let template = s.matches.clone();
        let times = s.times.clone();
        s.matches.clear();
        s.times.clear();
        for i in 0..30 {
            for (j, (m, t)) in template.iter().zip(&times).enumerate() {
                let mut m = m.clone();
                m.vuln_id = format!("CVE-2020-{i:03}{j}");
                s.matches.push(m);
                s.times.push(*t);
            }
        }
        let b = bundle(
            br#"{"id":"all","version":"1_0","policies":[{"id":"p","version":"1_0","rules":[
                {"id":"any","gate":"vulnerabilities","trigger":"package","action":"WARN",
                 "params":[{"name":"package_type","value":"all"},{"name":"vendor_only","value":"false"}]},
                {"id":"crit","gate":"vulnerabilities","trigger":"package","action":"STOP",
                 "params":[{"name":"package_type","value":"all"},{"name":"severity","value":"critical"},{"name":"severity_comparison","value":"="}]}]}],
              "mappings":[{"registry":"*","repository":"*","image":{"type":"tag","value":"*"},"policy_id":"p"}]}"#,
        );
        let (v, r) = judge(&b, &s);
        let stops = v.count(Action::Stop);
        let warns = v.count(Action::Warn);
        assert!(stops + warns > MAX_RESULTS, "{stops} + {warns}");
        assert_eq!(r.results.len(), MAX_RESULTS);
        assert_eq!(
            (r.summary.fail, r.summary.warn),
            (
                u32::try_from(stops).expect("small"),
                u32::try_from(warns).expect("small")
            )
        );
        let ann = r.metadata.annotations.as_ref().expect("annotations");
        let total = (stops + warns).to_string();
        assert_eq!(ann.get(TOTAL_ANNOTATION), Some(&total));
        assert_eq!(
            ann.get(TRUNCATED_ANNOTATION).map(String::as_str),
            Some(format!("{MAX_RESULTS} of {total} results shown, the worst first; the summary counts them all, and the operator's store keeps every verdict row").as_str())
        );
        // The fails come first, then the warnings, critical before high.
        assert!(r.results[..stops].iter().all(|x| x.result == Outcome::Fail));
        let warned: Vec<ResultSeverity> = r.results[stops..].iter().map(|x| x.severity).collect();
        assert_eq!(warned.first(), Some(&ResultSeverity::Critical));
        assert!(warned.windows(2).all(|w| w[0].rank() <= w[1].rank()));
    }

    #[test]
    fn the_largest_report_stays_small() {
        // Every string as long and as costly to encode as it can be.
        let big = "\"é\u{1F600}\\".repeat(4096);
        let mut s = Scenario::new();
        let template = s.matches[0].clone();
        let time = s.times[0];
        s.matches.clear();
        s.times.clear();
        for i in 0..500 {
            let mut m = template.clone();
            m.vuln_id = format!("CVE-{i}-{big}");
            m.package.version = big.clone();
            m.package.purl = big.clone();
            m.package.location = Some(big.clone());
            m.fixed_versions = vec![big.clone(); 3];
            s.matches.push(m);
            s.times.push(time);
        }
        let b = bundle(
            br#"{"id":"all","version":"1_0","policies":[{"id":"p","version":"1_0","rules":[
                {"id":"any","gate":"vulnerabilities","trigger":"package","action":"STOP",
                 "params":[{"name":"package_type","value":"all"},{"name":"vendor_only","value":"false"}]}]}],
              "mappings":[{"registry":"*","repository":"*","image":{"type":"tag","value":"*"},"policy_id":"p"}]}"#,
        );
        let (v, r) = judge(&b, &s);
        assert_eq!(v.count(Action::Stop), 500);
        let bytes = serde_json::to_vec(&r).expect("json").len();
        assert!(bytes < MAX_RESULTS_BYTES + 8 * 1024, "{bytes} bytes");
        assert!(r.results.len() < MAX_RESULTS, "the byte budget bites first");
        assert_eq!(r.summary.fail, 500);
        for x in &r.results {
            assert!(x.message.len() <= MAX_MESSAGE_BYTES);
            assert!(!x.message.chars().any(char::is_control));
            assert!(x.properties.values().all(|p| p.len() <= MAX_PROPERTY_BYTES));
        }
    }

    #[test]
    fn names() {
        assert_eq!(report_name("app"), "plimsoll-app");
        let fits = "a".repeat(MAX_NAME_LEN - "plimsoll-".len());
        assert_eq!(report_name(&fits), format!("plimsoll-{fits}"));
        let long = format!("{}x", fits);
        let other = format!("{}y", fits);
        let (a, b) = (report_name(&long), report_name(&other));
        assert_eq!(a.len(), MAX_NAME_LEN);
        assert_ne!(a, b, "a hash of the whole name tells them apart");
        assert_eq!(a, report_name(&long), "stable");
        // A cut that ends on a separator leaves a valid DNS subdomain.
        let before_dot = MAX_NAME_LEN - 1 - NAME_HASH_HEX - "plimsoll-".len() - 1;
        let dotted = format!("{}.{}", "a".repeat(before_dot), "b".repeat(40));
        let n = report_name(&dotted);
        assert!(n.len() <= MAX_NAME_LEN);
        assert!(!n.contains(".-"), "{n}");
        assert!(
            n.split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-')),
            "{n}"
        );
    }

    #[test]
    fn a_scan_without_identity_has_no_report() {
        let s = Scenario::new();
        let v = crate::policy::evaluate(&bod(), &s.input());
        let mut no_uid = scan("app");
        no_uid.metadata.uid = None;
        let e = report(&no_uid, &s.image.digest, &v, &s.matches, s.now).expect_err("no uid");
        assert_eq!(
            e.to_string(),
            "the ImageScan has no metadata.uid: a PolicyReport needs it"
        );
        let mut no_ns = scan("app");
        no_ns.metadata.namespace = None;
        assert!(matches!(
            report(&no_ns, &s.image.digest, &v, &s.matches, s.now),
            Err(Error::Missing("metadata.namespace"))
        ));
    }

    #[test]
    fn cuts() {
        assert_eq!(cut("a\nb\tc", 10), "a b c");
        assert_eq!(cut("abcdef", 5), "ab…");
        // Never inside a character.
        assert_eq!(cut("ééé", 5), "é…");
        assert_eq!(cut("ééé", 4), "…");
        assert_eq!(cut("éééé", 7), "éé…");
        assert_eq!(prefix("éé", 3), "é");
    }

    #[test]
    fn presence_is_cached_for_a_while() {
        let t0 = Instant::now();
        assert_eq!(fresh(None, t0), None);
        assert_eq!(fresh(Some((true, t0)), t0 + RECHECK / 2), Some(true));
        assert_eq!(fresh(Some((false, t0)), t0 + RECHECK), None);
    }

    #[test]
    fn resource_names() {
        let ar = api_resource();
        assert_eq!(
            (
                ar.group.as_str(),
                ar.version.as_str(),
                ar.kind.as_str(),
                ar.plural.as_str()
            ),
            (
                "wgpolicyk8s.io",
                "v1alpha2",
                "PolicyReport",
                "policyreports"
            )
        );
        assert_eq!(CRD_NAME, format!("{PLURAL}.{GROUP}"));
        assert_eq!(API_VERSION, format!("{GROUP}/{VERSION}"));
    }
}
