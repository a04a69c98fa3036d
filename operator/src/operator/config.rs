//! The operator's configuration: flags, each with a `PLIMSOLL_*` environment variable
//! (`operator/docs/configuration.md` is the reference), turned into a checked [`Config`].

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
}

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
            .filter(|f| !FUTURE_FLAGS.contains(f))
            .collect();
        assert!(
            missing.is_empty(),
            "documented but not accepted: {missing:?}"
        );
    }

    /// Documented flags of the freshness CronJobs (issue 6), not accepted yet.
    const FUTURE_FLAGS: &[&str] = &[
        "--feed-sync-schedule",
        "--feed-sources",
        "--feed-mirror-url",
        "--watch-schedule",
        "--cronjob-image",
        "--suspend-cronjobs",
    ];

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
