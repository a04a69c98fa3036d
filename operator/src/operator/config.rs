//! The operator's configuration: flags, each with a `PLIMSOLL_*` environment variable
//! (`operator/docs/configuration.md` is the reference), turned into a checked [`Config`].

use crate::feeds::source::{OsvExports, RedactedUrl, SourceSpec, split_spec_list};
use k8s_openapi::api::core::v1::Toleration;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// `plimsoll-operator`: the Plimsoll Kubernetes operator.
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about)]
pub struct OperatorArgs {
    /// The store: a SQLite file path, a `sqlite:` URL or a `postgres://` URL.
    #[arg(
        long,
        env = "PLIMSOLL_DB",
        default_value = "/var/lib/plimsoll/plimsoll.db"
    )]
    pub db: String,
    /// Address of the HTTP server (ingest, read API, /metrics, /healthz, /readyz).
    #[arg(long, env = "PLIMSOLL_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// The URL analyzer Jobs use to reach this server, e.g. `http://plimsoll.plimsoll.svc:8080`.
    #[arg(long, env = "PLIMSOLL_INGEST_URL")]
    pub ingest_url: url::Url,
    /// Watch only this namespace (default: all).
    #[arg(long = "namespace", env = "PLIMSOLL_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// The operator's own namespace (Lease, CronJobs).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub pod_namespace: String,
    /// This replica's identity for leader election (default: the host name).
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,
    /// Take a coordination.k8s.io Lease before reconciling (several replicas, PostgreSQL).
    #[arg(long, env = "PLIMSOLL_LEADER_ELECTION", default_value_t = false, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// The Lease's name.
    #[arg(long, env = "PLIMSOLL_LEASE_NAME", default_value = "plimsoll-operator")]
    pub lease_name: String,
    /// Image of the analyzer Jobs.
    #[arg(long, env = "PLIMSOLL_ANALYZER_IMAGE", default_value = concat!("ghcr.io/plimsoll/analyzer:", env!("CARGO_PKG_VERSION")))]
    pub analyzer_image: String,
    #[arg(long, env = "PLIMSOLL_ANALYZER_IMAGE_PULL_POLICY", default_value = "IfNotPresent",
          value_parser = ["Always", "IfNotPresent", "Never"])]
    pub analyzer_image_pull_policy: String,
    /// Cap on running analyzer Jobs, cluster-wide; scans beyond it are Queued.
    #[arg(long, env = "PLIMSOLL_MAX_CONCURRENT_JOBS", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_concurrent_jobs: u32,
    /// activeDeadlineSeconds of analyzer Jobs.
    #[arg(long, env = "PLIMSOLL_JOB_DEADLINE", default_value = "30m", value_parser = parse_duration)]
    pub job_deadline: Duration,
    /// ttlSecondsAfterFinished of analyzer Jobs.
    #[arg(long, env = "PLIMSOLL_JOB_TTL", default_value = "1h", value_parser = parse_duration)]
    pub job_ttl: Duration,
    /// Retries of a failed analyzer pod.
    #[arg(long, env = "PLIMSOLL_JOB_BACKOFF_LIMIT", default_value_t = 2)]
    pub job_backoff_limit: u16,
    #[arg(long, env = "PLIMSOLL_ANALYZER_CPU_REQUEST", default_value = "100m", value_parser = parse_quantity)]
    pub analyzer_cpu_request: Quantity,
    #[arg(long, env = "PLIMSOLL_ANALYZER_CPU_LIMIT", default_value = "2", value_parser = parse_quantity)]
    pub analyzer_cpu_limit: Quantity,
    #[arg(long, env = "PLIMSOLL_ANALYZER_MEMORY_REQUEST", default_value = "128Mi", value_parser = parse_quantity)]
    pub analyzer_memory_request: Quantity,
    #[arg(long, env = "PLIMSOLL_ANALYZER_MEMORY_LIMIT", default_value = "1Gi", value_parser = parse_quantity)]
    pub analyzer_memory_limit: Quantity,
    /// sizeLimit of the analyzer's /tmp emptyDir.
    #[arg(long, env = "PLIMSOLL_ANALYZER_SCRATCH_SIZE", default_value = "1Gi", value_parser = parse_quantity)]
    pub analyzer_scratch_size: Quantity,
    /// Node selector of analyzer pods: `key=value,key2=value2`.
    #[arg(long, env = "PLIMSOLL_ANALYZER_NODE_SELECTOR", value_parser = parse_node_selector, default_value = "")]
    pub analyzer_node_selector: NodeSelector,
    /// Tolerations of analyzer pods, as a JSON array.
    #[arg(long, env = "PLIMSOLL_ANALYZER_TOLERATIONS", value_parser = parse_tolerations, default_value = "[]")]
    pub analyzer_tolerations: Tolerations,
    /// Registries the analyzer reaches over plain HTTP (`host:port`, comma-separated).
    #[arg(
        long,
        env = "PLIMSOLL_ANALYZER_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub analyzer_insecure_registries: Vec<String>,
    /// Platform picked from multi-platform images when the ImageScan names none.
    #[arg(long, env = "PLIMSOLL_DEFAULT_PLATFORM", default_value = "linux/amd64")]
    pub default_platform: String,
    /// Largest upload body (compressed); the decompressed Analysis may be 8 times larger.
    #[arg(long, env = "PLIMSOLL_MAX_UPLOAD_BYTES", default_value_t = 64 << 20)]
    pub max_upload_bytes: u64,
    /// Largest feed push from the feed-sync CronJob (compressed); decompressed, 8 times that.
    #[arg(long, env = "PLIMSOLL_MAX_FEED_PUSH_BYTES", default_value_t = 256 << 20)]
    pub max_feed_push_bytes: u64,
    /// Schedule of the `plimsoll-feed-sync` CronJob: five cron fields or `@hourly`-style.
    #[arg(long, env = "PLIMSOLL_FEED_SYNC_SCHEDULE", default_value = "17 */6 * * *", value_parser = parse_schedule)]
    pub feed_sync_schedule: Schedule,
    /// Feed sources of the feed-sync CronJob, comma-separated (`plimsoll feeds sync --source`
    /// specs); default: the public OSV exports of the ecosystems Plimsoll matches.
    #[arg(long, env = "PLIMSOLL_FEED_SOURCES", default_value = "", value_parser = parse_feed_sources)]
    pub feed_sources: FeedSources,
    /// Base URL of an OSV exports mirror for the feed-sync CronJob.
    #[arg(long, env = "PLIMSOLL_FEED_MIRROR_URL", value_parser = parse_mirror, hide_env_values = true)]
    pub feed_mirror_url: Option<RedactedUrl>,
    /// Schedule of the `plimsoll-watch` CronJob that checks followed tags.
    #[arg(long, env = "PLIMSOLL_WATCH_SCHEDULE", default_value = "*/30 * * * *", value_parser = parse_schedule)]
    pub watch_schedule: Schedule,
    /// Image of the feed-sync and watch CronJobs (it runs the `plimsoll` CLI).
    #[arg(long, env = "PLIMSOLL_CRONJOB_IMAGE", default_value = concat!("ghcr.io/plimsoll/operator:", env!("CARGO_PKG_VERSION")))]
    pub cronjob_image: String,
    /// Create (or update) the CronJobs suspended.
    #[arg(long, env = "PLIMSOLL_SUSPEND_CRONJOBS", default_value_t = false, action = clap::ArgAction::Set)]
    pub suspend_cronjobs: bool,
    /// Timeout of one notification request (connection to last byte).
    #[arg(long, env = "PLIMSOLL_NOTIFICATION_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub notification_timeout: Duration,
    /// How long after an event its notification is retried before it becomes a dead letter.
    #[arg(long, env = "PLIMSOLL_NOTIFICATION_RETRY_WINDOW", default_value = "24h", value_parser = parse_duration)]
    pub notification_retry_window: Duration,
    /// The first retry's delay cap (doubling per attempt, full jitter, at most an hour).
    #[arg(long, env = "PLIMSOLL_NOTIFICATION_BACKOFF", default_value = "10s", value_parser = parse_duration)]
    pub notification_backoff: Duration,
}

/// A CronJob schedule the Kubernetes API accepts: five fields (`17 */6 * * *`) or a descriptor
/// (`@hourly`, `@daily`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(String);

impl Schedule {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Feed source specs, each checked; empty: the default OSV exports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedSources(pub Vec<String>);

/// `key=value` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeSelector(pub BTreeMap<String, String>);

/// A JSON array of tolerations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tolerations(pub Vec<Toleration>);

fn parse_duration(s: &str) -> Result<Duration, String> {
    s.parse::<kube::core::Duration>()
        .map(Into::into)
        .map_err(|e| format!("`{s}` is not a duration like 30s, 15m or 6h: {e}"))
}

fn parse_quantity(s: &str) -> Result<Quantity, String> {
    let ok = regex::Regex::new(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
        .map_err(|e| e.to_string())?
        .is_match(s);
    if ok {
        Ok(Quantity(s.to_owned()))
    } else {
        Err(format!(
            "`{s}` is not a Kubernetes quantity like 500m, 128Mi or 2"
        ))
    }
}

fn parse_node_selector(s: &str) -> Result<NodeSelector, String> {
    let mut map = BTreeMap::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(format!("`{pair}` is not key=value"));
        };
        if k.trim().is_empty() {
            return Err(format!("`{pair}` has an empty key"));
        }
        map.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(NodeSelector(map))
}

fn parse_tolerations(s: &str) -> Result<Tolerations, String> {
    if s.trim().is_empty() {
        return Ok(Tolerations::default());
    }
    serde_json::from_str(s)
        .map(Tolerations)
        .map_err(|e| format!("tolerations must be a JSON array of Kubernetes tolerations: {e}"))
}

/// Descriptors the Kubernetes CronJob controller accepts besides five fields.
const DESCRIPTORS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Checks a schedule as the Kubernetes API would: exactly five fields (no seconds field), or
/// one of [`DESCRIPTORS`]; no `TZ=` prefix (that is `spec.timeZone`), no `@every`, none of the
/// `L`/`W`/`#` extensions croner accepts and Kubernetes refuses.
pub fn parse_schedule(s: &str) -> Result<Schedule, String> {
    let s = s.trim();
    let fail = |why: &str| Err(format!("`{s}` is not a CronJob schedule: {why}"));
    if s.is_empty() {
        return fail("empty");
    }
    if s.contains("TZ") {
        return fail("a time zone prefix is not allowed");
    }
    if s.starts_with('@') {
        return if DESCRIPTORS.contains(&s) {
            Ok(Schedule(s.to_owned()))
        } else {
            fail("descriptors are @hourly, @daily, @midnight, @weekly, @monthly, @yearly")
        };
    }
    let fields = s.split_whitespace().count();
    if fields != 5 {
        return fail(&format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), found {fields}"
        ));
    }
    let extension = |item: &str| {
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        item.contains('#')
            || item == "L"
            || item == "LW"
            || item.strip_suffix('L').is_some_and(digits)
            || item.strip_suffix('W').is_some_and(digits)
    };
    if s.split_whitespace()
        .flat_map(|f| f.split(','))
        .any(extension)
    {
        return fail("`L`, `W` and `#` are not Kubernetes cron syntax");
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(s)
        .map_err(|e| format!("`{s}` is not a CronJob schedule: {e}"))?;
    Ok(Schedule(s.to_owned()))
}

fn parse_feed_sources(s: &str) -> Result<FeedSources, String> {
    let specs = split_spec_list(s);
    for spec in &specs {
        spec.parse::<SourceSpec>()
            .map_err(|e| format!("feed source {spec:?}: {e}"))?;
    }
    Ok(FeedSources(specs))
}

fn parse_mirror(s: &str) -> Result<RedactedUrl, String> {
    let url: RedactedUrl = s
        .trim()
        .parse()
        .map_err(|e| format!("the mirror is not a URL: {e}"))?;
    // The check `plimsoll feeds sync --mirror` applies.
    OsvExports::new(url.clone(), vec!["PyPI".to_owned()])
        .map_err(|e| format!("mirror {url}: {e}"))?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<OperatorArgs, clap::Error> {
        let mut all = vec![
            "plimsoll-operator",
            "--ingest-url",
            "http://op.plimsoll.svc:8080",
        ];
        all.extend_from_slice(args);
        OperatorArgs::try_parse_from(all)
    }

    #[test]
    fn defaults_follow_the_documentation() {
        let a = parse(&[]).expect("parses");
        assert_eq!(a.max_concurrent_jobs, 4);
        assert_eq!(a.job_deadline, Duration::from_secs(1800));
        assert_eq!(a.job_ttl, Duration::from_secs(3600));
        assert_eq!(a.listen.port(), 8080);
        assert_eq!(a.analyzer_memory_limit, Quantity("1Gi".into()));
        assert!(a.analyzer_node_selector.0.is_empty());
        assert!(a.analyzer_tolerations.0.is_empty());
        assert!(!a.leader_election);
        assert_eq!(a.feed_sync_schedule.as_str(), "17 */6 * * *");
        assert_eq!(a.watch_schedule.as_str(), "*/30 * * * *");
        assert!(a.feed_sources.0.is_empty() && a.feed_mirror_url.is_none());
        assert!(!a.suspend_cronjobs);
        assert_eq!(a.max_feed_push_bytes, 256 << 20);
        assert_eq!(
            a.cronjob_image,
            concat!("ghcr.io/plimsoll/operator:", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn schedules_are_checked_as_kubernetes_would() {
        for good in [
            "17 */6 * * *",
            "*/30 * * * *",
            "0 0 1 JAN *",
            "0 3 * * MON-FRI",
            "5,35 1-23/2 * * 0",
            " @hourly ",
            "@midnight",
            "@yearly",
        ] {
            assert!(parse_schedule(good).is_ok(), "{good}");
        }
        let bad: &[(&str, &str)] = &[
            ("", "empty"),
            ("* * * *", "found 4"),
            ("0 * * * * *", "found 6"),
            ("TZ=UTC 0 * * * *", "time zone"),
            ("CRON_TZ=UTC 0 * * * *", "time zone"),
            ("@every 5m", "descriptors are"),
            ("@reboot", "descriptors are"),
            ("0 0 L * *", "`L`, `W` and `#`"),
            ("0 0 15W * *", "`L`, `W` and `#`"),
            ("0 0 * * 5#2", "`L`, `W` and `#`"),
            ("61 * * * *", "not a CronJob schedule"),
            ("a b c d e", "not a CronJob schedule"),
        ];
        for (schedule, want) in bad {
            let err = parse_schedule(schedule).expect_err(schedule);
            assert!(err.contains(want), "{schedule:?}: {err}");
        }
    }

    #[test]
    fn cronjob_flags_parse_and_refuse_bad_values() {
        let a = parse(&[
            "--feed-sync-schedule",
            "@daily",
            "--watch-schedule",
            "*/5 * * * *",
            "--feed-sources",
            "osv:PyPI,npm,/data/feeds",
            "--feed-mirror-url",
            "https://u:s3cret@mirror.example/osv/",
            "--cronjob-image",
            "registry.example/plimsoll:1",
            "--suspend-cronjobs",
            "true",
        ])
        .expect("parses");
        assert_eq!(a.feed_sync_schedule.as_str(), "@daily");
        assert_eq!(a.feed_sources.0, ["osv:PyPI,npm", "/data/feeds"]);
        let mirror = a.feed_mirror_url.clone().expect("mirror");
        assert_eq!(mirror.expose().password(), Some("s3cret"));
        assert!(
            !format!("{a:?}").contains("s3cret"),
            "the mirror is redacted"
        );
        assert!(a.suspend_cronjobs);
        let cases: &[(&[&str], &str)] = &[
            (
                &["--feed-sync-schedule", "0 * * * * *"],
                "not a CronJob schedule",
            ),
            (&["--watch-schedule", "@every 1m"], "not a CronJob schedule"),
            (
                &["--feed-sources", "ftp://x/y"],
                "feed source \"ftp://x/y\"",
            ),
            (&["--feed-mirror-url", "ftp://m/"], "http(s)"),
            (&["--feed-mirror-url", "not a url"], "not a URL"),
        ];
        for (args, want) in cases {
            let err = parse(args).expect_err("refused").to_string();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn documented_flags_exist() {
        // Every flag in operator/docs/configuration.md's table parses (the doc and the code
        // cannot drift apart silently).
        let doc = include_str!("../../docs/configuration.md");
        let flags: Vec<&str> = doc
            .lines()
            .filter(|l| l.starts_with("| `--"))
            .flat_map(|l| l.split('`').filter(|w| w.starts_with("--")))
            .filter(|f| !f.contains(' '))
            .collect();
        assert!(flags.len() > 20, "{flags:?}");
        let cmd = <OperatorArgs as clap::CommandFactory>::command();
        let known: Vec<String> = cmd
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        let missing: Vec<&&str> = flags
            .iter()
            .filter(|f| !known.iter().any(|k| k == *f))
            .collect();
        assert!(
            missing.is_empty(),
            "documented but not accepted: {missing:?}"
        );
    }

    #[test]
    fn bad_values_are_named() {
        let cases: &[(&[&str], &str)] = &[
            (&["--job-deadline", "soon"], "not a duration"),
            (
                &["--analyzer-memory-limit", "lots"],
                "not a Kubernetes quantity",
            ),
            (&["--analyzer-node-selector", "disk"], "not key=value"),
            (&["--analyzer-tolerations", "{"], "JSON array"),
            (&["--max-concurrent-jobs", "0"], "0"),
            (&["--analyzer-image-pull-policy", "Sometimes"], "Sometimes"),
        ];
        for (args, want) in cases {
            let err = parse(args).expect_err("refused").to_string();
            assert!(err.contains(want), "{args:?}: {err}");
        }
        let a = parse(&[
            "--analyzer-node-selector",
            "pool=scan, zone=a",
            "--analyzer-tolerations",
            r#"[{"key":"dedicated","operator":"Equal","value":"scan","effect":"NoSchedule"}]"#,
        ])
        .expect("parses");
        assert_eq!(
            a.analyzer_node_selector.0.get("zone").map(String::as_str),
            Some("a")
        );
        assert_eq!(
            a.analyzer_tolerations.0[0].key.as_deref(),
            Some("dedicated")
        );
    }
}
