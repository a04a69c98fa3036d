//! `ImageScan`: "inspect this image and judge it with that bundle", and the verdict.
//!
//! Traps of the domain:
//! - The status must stay small whatever the image holds (Trivy Operator's reports outgrew
//!   etcd's 1.5 MiB object limit). Every list and string in it has a bound; the full results live
//!   in the operator's store, served by its API and the CLI. A test computes the largest status
//!   the schema admits.
//! - `spec.image` may be a tag, which moves. `status.digest` is what was analyzed; a new digest
//!   behind the same tag means a new analysis (one per digest, however many scans share it).
//! - Printer columns cannot cut strings, so the short digest shown by `kubectl get` is its own
//!   status field, written with [`short_digest`].
//! - `rescanInterval` has a floor (one minute) in the schema: a typo like `1s` must not start
//!   a storm of registry requests.

use super::conditions::{self, Condition};
use super::policy_bundle::Action;
use super::schema;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Longest image reference (name, tag and digest together).
pub const MAX_IMAGE_LEN: usize = 512;
/// Most pull secrets.
pub const MAX_PULL_SECRETS: usize = 16;
/// Longest inline Dockerfile.
pub const MAX_DOCKERFILE_LEN: usize = 128 * 1024;
/// Most verdict rows kept in the status (the worst first); the store has them all.
pub const MAX_TOP_ROWS: usize = 20;
/// Longest `checkOutput` of a verdict row; longer ones are cut with [`schema::truncate`].
pub const MAX_CHECK_OUTPUT_LEN: usize = 512;
/// Longest digest (`sha512:` and 128 hex digits).
pub const MAX_DIGEST_LEN: usize = 135;
/// Hex digits of the digest shown by `kubectl get`.
pub const SHORT_DIGEST_HEX: usize = 12;
/// Longest Kubernetes object name.
pub const MAX_NAME_LEN: usize = 253;

/// Condition types of an ImageScan, in the order they become true.
pub mod condition_type {
    /// The image reference was resolved to a digest.
    pub const RESOLVED: &str = "Resolved";
    /// The digest's analysis (SBOM and content findings) is stored.
    pub const ANALYZED: &str = "Analyzed";
    /// The analysis was matched against the feeds and evaluated with the bundle.
    pub const EVALUATED: &str = "Evaluated";
    /// The verdict in the status is current (all of the above hold for this generation).
    pub const READY: &str = "Ready";
}

/// Inspect an image and judge it with a policy bundle.
// Several printer columns share a type; clippy reads the derive's repeated `type_ =` as a
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "plimsoll.dev",
    version = "v1alpha1",
    kind = "ImageScan",
    namespaced,
    status = "ImageScanStatus",
    derive = "PartialEq",
    shortname = "iscan",
    category = "plimsoll",
    doc = "Inspect a container image and judge it with a PolicyBundle; the status holds the verdict.",
    printcolumn(name = "Image", type_ = "string", json_path = ".spec.image"),
    printcolumn(name = "Digest", type_ = "string", json_path = ".status.shortDigest"),
    printcolumn(
        name = "Critical",
        type_ = "integer",
        json_path = ".status.vulnerabilities.critical"
    ),
    printcolumn(
        name = "High",
        type_ = "integer",
        json_path = ".status.vulnerabilities.high"
    ),
    printcolumn(
        name = "Verdict",
        type_ = "string",
        json_path = ".status.verdict.finalAction"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanSpec {
    /// The image: `registry/repository:tag`, `registry/repository@sha256:...`, or both.
    #[schemars(length(min = 1, max = MAX_IMAGE_LEN), regex(pattern = r"^\S+$"))]
    pub image: String,
    /// The PolicyBundle, in this namespace, that judges the image.
    pub policy_bundle_ref: LocalObjectReference,
    /// Secrets of type `kubernetes.io/dockerconfigjson` in this namespace, mounted into the
    /// analyzer Job (the operator itself never reads them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_PULL_SECRETS))]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    /// `os/arch` or `os/arch/variant` to pick from a multi-platform image; the operator's
    /// default (`linux/amd64` unless configured) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 64),
        regex(pattern = "^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")
    )]
    pub platform: Option<String>,
    /// The Dockerfile the image was built from, for the `dockerfile` gate (otherwise the gate
    /// sees the instructions recorded in the image history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_DOCKERFILE_LEN))]
    pub dockerfile: Option<String>,
    /// How often to check whether the tag points to a new digest (and analyze it if so), as a
    /// duration (`6h`, `24h`), at least `1m`. Feed updates re-evaluate stored analyses
    /// whatever this says. Absent: the operator's watch schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "rescan_interval_schema")]
    pub rescan_interval: Option<String>,
    /// Stop starting Jobs and re-evaluating; the status keeps the last verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl ImageScanSpec {
    /// `rescanInterval` as a duration; `None` when absent. The schema admits only durations
    /// of a minute or more, so an error means the object bypassed validation.
    pub fn rescan_every(
        &self,
    ) -> Option<Result<std::time::Duration, kube::core::duration::ParseError>> {
        self.rescan_interval
            .as_deref()
            .map(|s| s.parse::<kube::core::Duration>().map(Into::into))
    }
}

fn rescan_interval_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut s = schema::duration(generator);
    s.insert(
        "x-kubernetes-validations".into(),
        serde_json::json!([{
            "rule": "duration(self) >= duration('1m')",
            "message": "rescanInterval must be at least 1m",
        }]),
    );
    s
}

/// A reference to an object by name in the same namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocalObjectReference {
    #[schemars(length(min = 1, max = MAX_NAME_LEN))]
    pub name: String,
}

/// Where a scan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Phase {
    /// Accepted, nothing started yet.
    Pending,
    /// Waiting for an analyzer slot (Jobs are rate-limited).
    Queued,
    /// An analyzer Job is pulling and inspecting the image.
    Analyzing,
    /// Matching and policy evaluation of a stored analysis.
    Evaluating,
    /// The verdict is current.
    Ready,
    /// Gave up; the conditions say why. Changing the spec or the referenced bundle retries.
    Failed,
}

/// What the operator found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanStatus {
    /// Where the scan is; the conditions say why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// `Resolved`, `Analyzed`, `Evaluated` and `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions::list_schema")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// The manifest digest that was analyzed (`sha256:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_DIGEST_LEN), regex(pattern = "^[a-z0-9]+:[a-f0-9]+$"))]
    pub digest: Option<String>,
    /// The algorithm and the first 12 hex digits of the digest, for `kubectl get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub short_digest: Option<String>,
    /// Vulnerability matches by severity, after whitelists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<VulnerabilityCounts>,
    /// The outcome of the policy evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Version of the analyzer that produced the analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub analyzer_version: Option<String>,
    /// When the vulnerability data used for the counts was last updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feeds_updated_at: Option<Time>,
    /// When the analysis of `digest` was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_analyzed_at: Option<Time>,
    /// When the verdict was computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluated_at: Option<Time>,
    /// The analyzer Job of the current or last analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub job_name: Option<String>,
}

/// Vulnerability matches of the image by severity (Anchore's scale).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VulnerabilityCounts {
    #[schemars(schema_with = "schema::count")]
    pub critical: u32,
    #[schemars(schema_with = "schema::count")]
    pub high: u32,
    #[schemars(schema_with = "schema::count")]
    pub medium: u32,
    #[schemars(schema_with = "schema::count")]
    pub low: u32,
    #[schemars(schema_with = "schema::count")]
    pub negligible: u32,
    #[schemars(schema_with = "schema::count")]
    pub unknown: u32,
    /// Matches with a fixed version available, over all severities.
    #[schemars(schema_with = "schema::count")]
    pub fixable: u32,
}

/// The policy evaluation's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub final_action: Action,
    /// Why: `policy_evaluation`, `whitelisted` or `blacklisted` (Anchore's words), or a short
    /// sentence.
    #[schemars(length(max = 256))]
    pub reason: String,
    /// `spec.id` of the bundle used.
    #[schemars(length(max = 256))]
    pub bundle_id: String,
    /// `status.digest` of the bundle used.
    #[schemars(length(max = 71))]
    pub bundle_digest: String,
    /// Result rows with action STOP.
    #[schemars(schema_with = "schema::count")]
    pub stop_count: u32,
    /// Result rows with action WARN.
    #[schemars(schema_with = "schema::count")]
    pub warn_count: u32,
    /// The first rows, STOP before WARN; the operator API serves all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_TOP_ROWS))]
    pub top_rows: Vec<VerdictRow>,
}

/// One result row of the evaluation, as Anchore reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerdictRow {
    #[schemars(length(max = 64))]
    pub gate: String,
    #[schemars(length(max = 64))]
    pub trigger: String,
    /// What fired, e.g. `CVE-2023-1234+openssl`; whitelists match on it.
    #[schemars(length(max = 256))]
    pub trigger_id: String,
    pub action: Action,
    /// The trigger's message, cut to 512 characters.
    #[schemars(length(max = MAX_CHECK_OUTPUT_LEN))]
    pub check_output: String,
    #[schemars(length(max = 128))]
    pub policy_id: String,
    #[schemars(length(max = 128))]
    pub rule_id: String,
}

/// `sha256:0123456789ab` for `sha256:0123456789abcdef...`: the algorithm and the first
/// [`SHORT_DIGEST_HEX`] hex digits, enough to tell images apart at a glance.
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) => {
            let hex: String = hex.chars().take(SHORT_DIGEST_HEX).collect();
            schema::truncate(&format!("{algorithm}:{hex}"), 32)
        }
        None => schema::truncate(digest, 32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::testing::{
        assert_cel_rejects, assert_schema_accepts, assert_schema_rejects, example,
    };

    #[test]
    fn example_round_trips() {
        let (value, scan) = example::<ImageScan>("imagescan.yaml");
        assert_eq!(scan.spec.policy_bundle_ref.name, "default");
        assert_schema_accepts::<ImageScan>(&value);
        let again: ImageScan =
            serde_json::from_value(serde_json::to_value(&scan).expect("serializes"))
                .expect("deserializes");
        assert_eq!(again, scan);
    }

    #[test]
    fn image_must_be_one_word() {
        let (value, _) = example::<ImageScan>("imagescan.yaml");
        for bad in ["", "nginx latest", "nginx\t", " nginx"] {
            let mut v = value.clone();
            v["spec"]["image"] = bad.into();
            assert_schema_rejects::<ImageScan>(&v, bad);
        }
    }

    #[test]
    fn platform_is_os_arch_variant() {
        let (value, _) = example::<ImageScan>("imagescan.yaml");
        for good in [
            "linux/amd64",
            "linux/arm64/v8",
            "windows/amd64",
            "linux/arm/v7",
        ] {
            let mut v = value.clone();
            v["spec"]["platform"] = good.into();
            assert_schema_accepts::<ImageScan>(&v);
        }
        for bad in ["linux", "amd64", "linux/", "Linux/AMD64", "linux/arm/v7/x"] {
            let mut v = value.clone();
            v["spec"]["platform"] = bad.into();
            assert_schema_rejects::<ImageScan>(&v, bad);
        }
    }

    #[test]
    fn rescan_interval_has_a_floor() {
        let (value, _) = example::<ImageScan>("imagescan.yaml");
        for good in ["1m", "90s", "6h", "1h30m"] {
            let mut v = value.clone();
            v["spec"]["rescanInterval"] = good.into();
            assert_schema_accepts::<ImageScan>(&v);
        }
        for too_often in ["1s", "59s", "500ms"] {
            let mut v = value.clone();
            v["spec"]["rescanInterval"] = too_often.into();
            assert_cel_rejects::<ImageScan>(&v, "at least 1m");
        }
        for bad in ["daily", "-1h", "1d", "24 h"] {
            let mut v = value.clone();
            v["spec"]["rescanInterval"] = bad.into();
            assert_schema_rejects::<ImageScan>(&v, bad);
        }
    }

    #[test]
    fn full_status_round_trips() {
        let t = Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("time"));
        let digest = format!("sha256:{}", "ab".repeat(32));
        let status = ImageScanStatus {
            phase: Some(Phase::Ready),
            conditions: vec![Condition::new(
                condition_type::READY,
                conditions::ConditionStatus::True,
                "Evaluated",
                "",
                t.clone(),
                Some(2),
            )],
            observed_generation: Some(2),
            short_digest: Some(short_digest(&digest)),
            digest: Some(digest),
            vulnerabilities: Some(VulnerabilityCounts {
                critical: 1,
                high: 2,
                fixable: 3,
                ..Default::default()
            }),
            verdict: Some(Verdict {
                final_action: Action::Stop,
                reason: "policy_evaluation".into(),
                bundle_id: "2c53a13c-1765-11e8-82ef-23527761d060".into(),
                bundle_digest: format!("sha256:{}", "0".repeat(64)),
                stop_count: 1,
                warn_count: 0,
                top_rows: vec![VerdictRow {
                    gate: "vulnerabilities".into(),
                    trigger: "package".into(),
                    trigger_id: "CVE-2023-0286+openssl".into(),
                    action: Action::Stop,
                    check_output: "HIGH Vulnerability found in os package type (dpkg) - openssl"
                        .into(),
                    policy_id: "48e6f7d6-1765-11e8-b5f9-8b6f228548b6".into(),
                    rule_id: "b30e8abc-444f-45b1-8a37-55be1b8c8bb5".into(),
                }],
            }),
            analyzer_version: Some("0.1.0".into()),
            feeds_updated_at: Some(t.clone()),
            last_analyzed_at: Some(t.clone()),
            last_evaluated_at: Some(t),
            job_name: Some("nginx-analyze-7f9c2".into()),
        };
        let (mut value, mut scan) = example::<ImageScan>("imagescan.yaml");
        scan.status = Some(status.clone());
        value["status"] = serde_json::to_value(&status).expect("serializes");
        assert_schema_accepts::<ImageScan>(&value);
        let yaml = serde_saphyr::to_string(&scan).expect("yaml");
        let again: ImageScan = serde_saphyr::from_str(&yaml).expect("reads back");
        assert_eq!(again, scan);
        assert_eq!(
            again.status.and_then(|s| s.short_digest).as_deref(),
            Some("sha256:abababababab")
        );
    }

    #[test]
    fn rescan_every_parses_go_durations() {
        let (_, mut scan) = example::<ImageScan>("imagescan.yaml");
        let every = |s: &ImageScan| s.spec.rescan_every().map(|r| r.expect("valid"));
        assert_eq!(
            every(&scan),
            Some(std::time::Duration::from_secs(24 * 3600))
        );
        scan.spec.rescan_interval = Some("1h30m".into());
        assert_eq!(every(&scan), Some(std::time::Duration::from_secs(5400)));
        scan.spec.rescan_interval = None;
        assert_eq!(every(&scan), None);
        scan.spec.rescan_interval = Some("soon".into());
        assert!(scan.spec.rescan_every().is_some_and(|r| r.is_err()));
    }

    #[test]
    fn short_digest_keeps_the_algorithm() {
        let d = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(short_digest(&d), "sha256:0123456789ab");
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
        assert_eq!(short_digest("nodigest"), "nodigest");
    }
}
