//! The fake kubelet of the single node `kube-sim-node`: it binds every pending pod to itself
//! and runs its containers as local processes, reporting pod and container status.
//!
//! - `images`: image references to local binaries.
//! - `sandbox`: volumes on disk and the translation of mount paths.
//! - `env`: environment resolution (`valueFrom`, `envFrom`, `$(VAR)`).
//! - `process`: program resolution, spawn, stop.
//! - `pod_status`: the status documents.
//!
//! Init containers run one after the other, then all containers together. Restart policies
//! `Always`, `OnFailure` and `Never` are honoured (restarts back off from
//! `restart_backoff`, doubling, capped at 5 s). `activeDeadlineSeconds` on the pod kills it
//! and fails it with reason `DeadlineExceeded`. Deleting a running pod stops its processes
//! (SIGTERM, grace period, SIGKILL) before the pod goes. Nothing limits CPU or memory, and the
//! processes run as the simulator's user (`runAsUser` and `readOnlyRootFilesystem` are checked
//! by admission, not enforced).

pub mod env;
pub mod images;
pub mod pod_status;
pub mod process;
pub mod sandbox;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::apiserver::ApiServer;
use crate::apiserver::lifecycle::Part;
use crate::apiserver::meta;
use images::ImageMap;
use pod_status::{ContainerStatus, Phase, PodStatus, State};

pub const NODE_NAME: &str = "kube-sim-node";
const MANAGER: &str = "kubelet";

/// The one node the pods run on.
pub fn node_object() -> Value {
    json!({
        "metadata": {"name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": std::env::consts::ARCH}},
        "spec": {},
    })
}

#[derive(Clone, Debug)]
pub struct KubeletConfig {
    pub images: ImageMap,
    /// Let pods of unmapped images run a `command` that exists on this machine.
    pub allow_host_commands: bool,
    /// Exit code reported as `OOMKilled`.
    pub oom_exit_code: Option<i32>,
    /// Where pod directories (volumes, logs) go.
    pub work_dir: PathBuf,
    /// The API URL given to pods (`KUBE_SIM_API_URL`, `KUBERNETES_SERVICE_HOST/PORT`).
    pub api_url: String,
    pub restart_backoff: Duration,
}

/// What the pod worker is told to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Run,
    /// Deleted: stop with this grace period, then remove the pod.
    Delete(Duration),
}

struct Worker {
    stop: watch::Sender<Stop>,
    task: JoinHandle<()>,
}

pub async fn run(server: Arc<ApiServer>, cfg: Arc<KubeletConfig>) {
    let mut events = server.store.subscribe();
    let mut workers: HashMap<String, Worker> = HashMap::new();
    loop {
        tokio::select! {
            _ = events.recv() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        // Our own writes wake us too: pace the passes so a busy store cannot starve the runtime.
        tokio::time::sleep(Duration::from_millis(20)).await;
        while events.try_recv().is_ok() {}
        workers.retain(|_, w| !w.task.is_finished());
        let pods = server.list_internal("", "pods", None);
        let mut seen = Vec::new();
        for pod in pods {
            let uid = meta::uid(&pod).to_owned();
            seen.push(uid.clone());
            let node = pod["spec"]["nodeName"].as_str().unwrap_or("");
            if !node.is_empty() && node != NODE_NAME {
                continue;
            }
            let deleting = meta::is_deleting(&pod);
            if let Some(w) = workers.get(&uid) {
                if deleting {
                    let grace = pod["metadata"]["deletionGracePeriodSeconds"]
                        .as_u64()
                        .unwrap_or(0);
                    let _ = w.stop.send(Stop::Delete(Duration::from_secs(grace)));
                }
                continue;
            }
            let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
            if deleting {
                // Nothing runs it (finished, or never started): the deletion can end.
                if pod["metadata"]["deletionGracePeriodSeconds"]
                    .as_i64()
                    .unwrap_or(0)
                    > 0
                {
                    let _ =
                        server.finish_deletion("", "pods", meta::namespace(&pod), meta::name(&pod));
                }
                continue;
            }
            if phase == "Pending" {
                let (stop, stop_rx) = watch::channel(Stop::Run);
                let task = tokio::spawn(run_pod(server.clone(), cfg.clone(), pod, stop_rx));
                workers.insert(uid, Worker { stop, task });
            }
        }
        for (uid, w) in &workers {
            if !seen.contains(uid) {
                let _ = w.stop.send(Stop::Delete(Duration::ZERO));
            }
        }
    }
}

/// Messages from container loops to their pod worker.
enum Update {
    State {
        index: usize,
        init: bool,
        state: State,
        restart: bool,
        container_id: String,
    },
    Done {
        index: usize,
        init: bool,
    },
}

struct PodCtx {
    server: Arc<ApiServer>,
    cfg: Arc<KubeletConfig>,
    ns: String,
    name: String,
    uid: String,
}

impl PodCtx {
    fn lookup(&self) -> impl Fn(&str, &str) -> Option<Value> + '_ {
        move |kind: &str, name: &str| {
            let plural = if kind == "Secret" {
                "secrets"
            } else {
                "configmaps"
            };
            self.server.get_internal("", plural, &self.ns, name)
        }
    }

    fn write_status(&self, status: Value) -> bool {
        self.server
            .modify_internal(
                "",
                "pods",
                &self.ns,
                &self.name,
                Part::Status,
                MANAGER,
                |p| {
                    p["status"] = status;
                    true
                },
            )
            .is_ok()
    }
}

async fn run_pod(
    server: Arc<ApiServer>,
    cfg: Arc<KubeletConfig>,
    pod: Value,
    mut stop: watch::Receiver<Stop>,
) {
    let ctx = PodCtx {
        server: server.clone(),
        cfg: cfg.clone(),
        ns: meta::namespace(&pod).to_owned(),
        name: meta::name(&pod).to_owned(),
        uid: meta::uid(&pod).to_owned(),
    };
    // Bind (the scheduler's job) and mark the start.
    let _ = server.modify_internal(
        "",
        "pods",
        &ctx.ns,
        &ctx.name,
        Part::Main,
        "kube-scheduler",
        |p| {
            if p["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
            {
                return false;
            }
            p["spec"]["nodeName"] = json!(NODE_NAME);
            true
        },
    );
    let Some(pod) = server.get_internal("", "pods", &ctx.ns, &ctx.name) else {
        return;
    };
    let start_time = server.now();
    let started = tokio::time::Instant::now();
    let qos = pod["status"]["qosClass"]
        .as_str()
        .unwrap_or("BestEffort")
        .to_owned();
    let spec = &pod["spec"];
    let list = |k: &str| spec[k].as_array().cloned().unwrap_or_default();
    let init_specs = list("initContainers");
    let specs = list("containers");
    let mut init: Vec<ContainerStatus> = init_specs
        .iter()
        .map(|c| {
            ContainerStatus::new(
                c["name"].as_str().unwrap_or(""),
                c["image"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let mut main: Vec<ContainerStatus> = specs
        .iter()
        .map(|c| {
            ContainerStatus::new(
                c["name"].as_str().unwrap_or(""),
                c["image"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let deadline = spec["activeDeadlineSeconds"]
        .as_u64()
        .map(|s| started + Duration::from_secs(s));
    let policy = spec["restartPolicy"]
        .as_str()
        .unwrap_or("Always")
        .to_owned();
    let status = |phase: Phase,
                  init: &[ContainerStatus],
                  main: &[ContainerStatus],
                  reason: Option<(&str, &str)>| {
        PodStatus {
            phase,
            init,
            containers: main,
            start_time: &start_time,
            now: &server.now(),
            reason,
            qos_class: &qos,
        }
        .to_json()
    };

    // The sandbox: retried while a referenced Secret or ConfigMap is missing.
    let sa = spec["serviceAccountName"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    let automount = spec["automountServiceAccountToken"]
        .as_bool()
        .unwrap_or(true);
    let token = automount.then(|| server.mint_token(&format!("{}.{sa}", ctx.ns)));
    let pod_dir = cfg
        .work_dir
        .join("pods")
        .join(format!("{}_{}_{}", ctx.ns, ctx.name, ctx.uid));
    let sandbox = loop {
        let lookup = ctx.lookup();
        match sandbox::Sandbox::create(
            pod_dir.clone(),
            &pod,
            &lookup,
            token.as_deref().map(|t| (t, ctx.ns.as_str())),
        ) {
            Ok(s) => break s,
            Err(why) => {
                for c in init.iter_mut().chain(main.iter_mut()) {
                    c.state = State::Waiting {
                        reason: "ContainerCreating".into(),
                        message: format!("MountVolume.SetUp failed: {why}"),
                    };
                }
                ctx.write_status(status(Phase::Pending, &init, &main, None));
                if wait_or_stop(&mut stop, Duration::from_secs(1))
                    .await
                    .is_some()
                {
                    let _ = server.finish_deletion("", "pods", &ctx.ns, &ctx.name);
                    return;
                }
            }
        }
    };
    ctx.write_status(status(Phase::Pending, &init, &main, None));
    let ctx = Arc::new(ctx);
    let sandbox = Arc::new(sandbox);
    let (tx, mut rx) = mpsc::channel::<Update>(64);
    let (kill_tx, kill_rx) = watch::channel(Stop::Run);
    let mut deadline_hit = false;
    let mut deleted: Option<Duration> = None;
    let mut ever_started = false;

    // Phase 1: init containers, one at a time. Phase 2: all containers.
    let mut phase_specs: Vec<(bool, Vec<Value>)> = vec![(true, init_specs), (false, specs)];
    let mut failed_init = false;
    for (is_init, specs) in phase_specs.drain(..) {
        if failed_init || deleted.is_some() || deadline_hit {
            break;
        }
        let sequential = is_init;
        let mut pending: Vec<usize> = (0..specs.len()).collect();
        let mut running = 0usize;
        loop {
            while !pending.is_empty() && (!sequential || running == 0) {
                let index = pending.remove(0);
                running += 1;
                tokio::spawn(container_loop(
                    ctx.clone(),
                    sandbox.clone(),
                    pod.clone(),
                    specs[index].clone(),
                    index,
                    is_init,
                    if is_init && policy == "Always" {
                        "OnFailure".to_owned()
                    } else {
                        policy.clone()
                    },
                    tx.clone(),
                    kill_rx.clone(),
                ));
            }
            if running == 0 {
                break;
            }
            let timer = async {
                match deadline {
                    Some(d) if !deadline_hit => tokio::time::sleep_until(d).await,
                    _ => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                Some(u) = rx.recv() => match u {
                    Update::State { index, init: i, state, restart, container_id } => {
                        let list = if i { &mut init } else { &mut main };
                        if let Some(c) = list.get_mut(index) {
                            if restart {
                                c.restart_count += 1;
                            }
                            if matches!(state, State::Running { .. }) {
                                ever_started |= !i;
                                if let Some(prev) = c.state.exit_code().map(|_| c.state.clone()) {
                                    c.last = Some(prev);
                                }
                            }
                            c.state = state;
                            c.container_id = container_id;
                        }
                        ctx.write_status(status(if ever_started { Phase::Running } else { Phase::Pending }, &init, &main, None));
                    }
                    Update::Done { index, init: i } => {
                        running -= 1;
                        if i && init.get(index).is_some_and(|c| c.state.exit_code() != Some(0)) {
                            failed_init = true;
                        }
                    }
                },
                () = timer => {
                    deadline_hit = true;
                    let _ = kill_tx.send(Stop::Delete(Duration::ZERO));
                }
                changed = stop.changed() => {
                    let grace = match (changed, *stop.borrow()) {
                        (Ok(()), Stop::Delete(g)) => g,
                        (Ok(()), Stop::Run) => continue,
                        (Err(_), _) => Duration::ZERO,
                    };
                    deleted = Some(grace);
                    let _ = kill_tx.send(Stop::Delete(grace));
                }
            }
            if failed_init {
                let _ = kill_tx.send(Stop::Delete(Duration::ZERO));
            }
        }
    }
    if deleted.is_some() {
        ctx.write_status(status(Phase::Failed, &init, &main, None));
        let _ = server.finish_deletion("", "pods", &ctx.ns, &ctx.name);
        return;
    }
    let final_status = if deadline_hit {
        status(
            Phase::Failed,
            &init,
            &main,
            Some((
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline",
            )),
        )
    } else if failed_init {
        status(Phase::Failed, &init, &main, None)
    } else {
        status(pod_status::final_phase(&main), &init, &main, None)
    };
    ctx.write_status(final_status);
}

/// Waits `d`, or returns the deletion grace period if the pod is deleted meanwhile.
async fn wait_or_stop(stop: &mut watch::Receiver<Stop>, d: Duration) -> Option<Duration> {
    tokio::select! {
        () = tokio::time::sleep(d) => None,
        changed = stop.changed() => match (changed, *stop.borrow()) {
            (Ok(()), Stop::Delete(g)) => Some(g),
            (Ok(()), Stop::Run) => None,
            (Err(_), _) => Some(Duration::ZERO),
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn container_loop(
    ctx: Arc<PodCtx>,
    sandbox: Arc<sandbox::Sandbox>,
    pod: Value,
    spec: Value,
    index: usize,
    init: bool,
    policy: String,
    tx: mpsc::Sender<Update>,
    mut kill: watch::Receiver<Stop>,
) {
    let name = spec["name"].as_str().unwrap_or("").to_owned();
    let image = spec["image"].as_str().unwrap_or("").to_owned();
    let log = sandbox.root.join("logs").join(format!("{name}.log"));
    let _ = std::fs::create_dir_all(sandbox.root.join("logs"));
    if !init {
        ctx.server
            .set_pod_logs(&ctx.ns, &ctx.name, &name, log.clone());
    }
    let automount = pod["spec"]["automountServiceAccountToken"]
        .as_bool()
        .unwrap_or(true);
    let send = |state: State, restart: bool, id: &str| {
        let tx = tx.clone();
        let id = id.to_owned();
        async move {
            let _ = tx
                .send(Update::State {
                    index,
                    init,
                    state,
                    restart,
                    container_id: id,
                })
                .await;
        }
    };
    let mut attempt: u32 = 0;
    loop {
        if !matches!(*kill.borrow(), Stop::Run) {
            break;
        }
        // Everything that can block the start is retried, as the kubelet does.
        let prepared = prepare(&ctx, &sandbox, &pod, &spec, &image, automount);
        let (program, args, env, cwd) = match prepared {
            Ok(p) => p,
            Err((reason, message, retry)) => {
                if !retry {
                    let now = ctx.server.now();
                    send(
                        State::Terminated {
                            exit_code: 128,
                            reason,
                            message,
                            started_at: now.clone(),
                            finished_at: now,
                        },
                        false,
                        "",
                    )
                    .await;
                    break;
                }
                send(State::Waiting { reason, message }, false, "").await;
                if wait_or_stop(&mut kill, Duration::from_secs(1))
                    .await
                    .is_some()
                {
                    break;
                }
                continue;
            }
        };
        let container_id = format!("kube-sim://{}-{name}-{attempt}", ctx.uid);
        let started_at = ctx.server.now();
        let spawned = process::spawn(&process::Spawn {
            program: &program,
            args: &args,
            env: &env,
            cwd: &cwd,
            log: &log,
        });
        let code = match spawned {
            Err(e) => {
                let now = ctx.server.now();
                let state = State::Terminated {
                    exit_code: 128,
                    reason: "StartError".into(),
                    message: format!("exec {}: {e}", program.display()),
                    started_at: now.clone(),
                    finished_at: now,
                };
                send(state, attempt > 0, &container_id).await;
                128
            }
            Ok(mut child) => {
                send(
                    State::Running {
                        started_at: started_at.clone(),
                    },
                    attempt > 0,
                    &container_id,
                )
                .await;
                let code = tokio::select! {
                    status = child.wait() => status.map_or(128, process::exit_code),
                    grace = async {
                        loop {
                            if kill.changed().await.is_err() {
                                break Duration::ZERO;
                            }
                            if let Stop::Delete(g) = *kill.borrow() {
                                break g;
                            }
                        }
                    } => process::stop(&mut child, grace).await,
                };
                let reason = pod_status::termination_reason(code, ctx.cfg.oom_exit_code).to_owned();
                let state = State::Terminated {
                    exit_code: code,
                    reason,
                    message: String::new(),
                    started_at,
                    finished_at: ctx.server.now(),
                };
                send(state, false, &container_id).await;
                code
            }
        };
        let restart = match policy.as_str() {
            "Always" => true,
            "OnFailure" => code != 0,
            _ => false,
        };
        if !restart || !matches!(*kill.borrow(), Stop::Run) {
            break;
        }
        attempt += 1;
        let backoff = ctx
            .cfg
            .restart_backoff
            .saturating_mul(1 << attempt.min(5))
            .min(Duration::from_secs(5));
        send(
            State::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: format!(
                    "back-off {}ms restarting failed container={name}",
                    backoff.as_millis()
                ),
            },
            false,
            &container_id,
        )
        .await;
        if wait_or_stop(&mut kill, backoff).await.is_some() {
            break;
        }
    }
    let _ = tx.send(Update::Done { index, init }).await;
}

type Prepared = (PathBuf, Vec<String>, Vec<(String, String)>, PathBuf);

/// Program, arguments, environment and working directory, or `(reason, message, retry)`.
fn prepare(
    ctx: &PodCtx,
    sandbox: &sandbox::Sandbox,
    pod: &Value,
    spec: &Value,
    image: &str,
    automount: bool,
) -> Result<Prepared, (String, String, bool)> {
    let mounts = sandbox
        .mounts_for(spec, automount)
        .map_err(|m| ("CreateContainerConfigError".to_owned(), m, true))?;
    let lookup = ctx.lookup();
    let declared = env::declared(pod, spec, &lookup)
        .map_err(|m| ("CreateContainerConfigError".to_owned(), m, true))?;
    let port = ctx
        .cfg
        .api_url
        .rsplit(':')
        .next()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned();
    let mut full: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ),
        ("HOSTNAME".into(), ctx.name.clone()),
        ("HOME".into(), sandbox.rootfs.to_string_lossy().into_owned()),
        ("KUBERNETES_SERVICE_HOST".into(), "127.0.0.1".into()),
        ("KUBERNETES_SERVICE_PORT".into(), port),
        ("KUBE_SIM_API_URL".into(), ctx.cfg.api_url.clone()),
        (
            "KUBE_SIM_ROOTFS".into(),
            sandbox.rootfs.to_string_lossy().into_owned(),
        ),
    ];
    if let Some(tmp) = mounts.host_path("/tmp") {
        full.push(("TMPDIR".into(), tmp.to_string_lossy().into_owned()));
    }
    for (k, v) in declared {
        full.retain(|(kk, _)| *kk != k);
        full.push((k, mounts.rewrite(&v)));
    }
    let strings = |k: &str| -> Vec<String> {
        spec[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| mounts.rewrite(&env::expand(s, &full)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let command = strings("command");
    let args = strings("args");
    let (program, args) = process::resolve_program(image, &command, &args, &ctx.cfg.images, ctx.cfg.allow_host_commands).map_err(|e| match e {
        process::ResolveError::ImageNotMapped(i) => (
            "ErrImagePull".to_owned(),
            format!("kube-sim: image {i:?} is not mapped to a local binary (kube-sim --image PATTERN=PATH)"),
            true,
        ),
        process::ResolveError::NotFound(p) => (
            "StartError".to_owned(),
            format!("exec: {p:?}: executable file not found in $PATH"),
            false,
        ),
    })?;
    let cwd = match spec["workingDir"].as_str().filter(|w| !w.is_empty()) {
        Some(w) => mounts
            .host_path(w)
            .unwrap_or_else(|| sandbox.rootfs.clone()),
        None => sandbox.rootfs.clone(),
    };
    Ok((program, args, full, cwd))
}
