//! Starting the simulator: the API server on a loopback port, the garbage collector, and
//! (unless turned off) the kubelet, the Job and the CronJob controllers, as tasks of the
//! current tokio runtime.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::apiserver::admission::PodSecurityPolicy;
use crate::apiserver::admission::pod_security::Level;
use crate::apiserver::http::{HttpState, router};
use crate::apiserver::{ApiServer, ServerConfig};
use crate::clock::{ScaledClock, SystemClock};
use crate::jobs::JobsConfig;
use crate::kubelet::KubeletConfig;
use crate::kubelet::images::ImageMap;

#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Bearer token clients must send; empty: a random one.
    pub token: String,
    pub images: ImageMap,
    /// Pods of unmapped images may run a `command` that exists on this machine.
    pub allow_host_commands: bool,
    /// Pod Security level enforced where the namespace has no `pod-security.kubernetes.io/enforce`.
    pub pod_security: Level,
    /// Also require `readOnlyRootFilesystem: true` at the restricted level (Plimsoll's promise).
    pub require_read_only_root: bool,
    /// Exit code reported as `OOMKilled`.
    pub oom_exit_code: Option<i32>,
    /// Watch events kept for resuming; older resourceVersions get 410 Gone.
    pub watch_history: usize,
    pub bookmark_interval: Duration,
    /// The CronJob controller's clock runs this many times faster than wall time.
    pub cron_speed: u32,
    /// First delay before a Job replaces a failed pod.
    pub job_backoff: Duration,
    /// First delay before a container restarts.
    pub restart_backoff: Duration,
    /// Pod directories; `None`: a temporary directory removed at shutdown.
    pub work_dir: Option<PathBuf>,
    /// Run pods (kubelet, Job and CronJob controllers).
    pub workloads: bool,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: String::new(),
            images: ImageMap::new(),
            allow_host_commands: true,
            pod_security: Level::Restricted,
            require_read_only_root: true,
            oom_exit_code: Some(137),
            watch_history: 10_000,
            bookmark_interval: Duration::from_secs(1),
            cron_speed: 1,
            job_backoff: Duration::from_millis(200),
            restart_backoff: Duration::from_millis(200),
            work_dir: None,
            workloads: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create the work directory: {0}")]
    WorkDir(#[source] std::io::Error),
}

/// A running simulator; dropping it stops every task.
pub struct Simulator {
    url: String,
    token: String,
    server: Arc<ApiServer>,
    tasks: Vec<JoinHandle<()>>,
    _work: Option<tempfile::TempDir>,
    work_dir: PathBuf,
}

impl Simulator {
    pub async fn start(cfg: SimulatorConfig) -> Result<Self, SimError> {
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: cfg.listen,
            source,
        })?;
        let url = format!("http://{addr}");
        let token = if cfg.token.is_empty() {
            uuid::Uuid::new_v4().simple().to_string()
        } else {
            cfg.token.clone()
        };
        let (work, work_dir) = match &cfg.work_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(SimError::WorkDir)?;
                (None, d.clone())
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("kube-sim.")
                    .tempdir()
                    .map_err(SimError::WorkDir)?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let server = ApiServer::new(
            ServerConfig {
                token: token.clone(),
                history: cfg.watch_history,
                bookmark_interval: cfg.bookmark_interval,
                pod_security: PodSecurityPolicy {
                    default_level: cfg.pod_security,
                    require_read_only_root: cfg.require_read_only_root,
                },
                graceful_pods: cfg.workloads,
            },
            Arc::new(SystemClock),
        );
        let app = router(HttpState {
            server: server.clone(),
            address: addr.to_string(),
        });
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "kube-sim: the HTTP server stopped");
            }
        })];
        tasks.push(tokio::spawn(crate::gc::run(server.clone())));
        if cfg.workloads {
            let kubelet = KubeletConfig {
                images: cfg.images.clone(),
                allow_host_commands: cfg.allow_host_commands,
                oom_exit_code: cfg.oom_exit_code,
                work_dir: work_dir.clone(),
                api_url: url.clone(),
                restart_backoff: cfg.restart_backoff,
            };
            tasks.push(tokio::spawn(crate::kubelet::run(
                server.clone(),
                Arc::new(kubelet),
            )));
            tasks.push(tokio::spawn(crate::jobs::run(
                server.clone(),
                JobsConfig {
                    backoff_base: cfg.job_backoff,
                },
            )));
            let cron_clock: Arc<dyn crate::clock::Clock> = if cfg.cron_speed > 1 {
                Arc::new(ScaledClock::new(cfg.cron_speed))
            } else {
                Arc::new(SystemClock)
            };
            tasks.push(tokio::spawn(crate::cronjobs::run(
                server.clone(),
                cron_clock,
            )));
        }
        Ok(Self {
            url,
            token,
            server,
            tasks,
            _work: work,
            work_dir,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The in-process server (for tests that want to look inside or force a 410).
    pub fn server(&self) -> &Arc<ApiServer> {
        &self.server
    }

    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    pub fn kubeconfig(&self) -> String {
        crate::kubeconfig::render(&self.url, &self.token)
    }

    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        crate::kubeconfig::write(path, &self.url, &self.token)
    }

    /// Forgets the watch history: watches resuming from an earlier resourceVersion get 410.
    pub fn compact_watch_history(&self) {
        self.server.store.compact();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
