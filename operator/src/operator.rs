//! The in-cluster operator (`plimsoll-operator`): controllers for PolicyBundles and
//! ImageScans, analyzer Jobs, the HTTP server, leader election.
//!
//! - `config`: flags and environment ([`config::OperatorArgs`]).
//! - `analyzer_job`: the Job, its name and its token Secret (sans-IO).
//! - `cronjobs`: the feed-sync and watch CronJobs and their token Secret.
//! - `feed_ingest`: the ingest API of those CronJobs (feed pushes, watch requests).
//! - `slots`: the cap on running analyzer Jobs and the queue (sans-IO).
//! - `scan_status`, `bundles`: statuses from facts (sans-IO).
//! - `image_scan`, `policy_bundle`: the reconcilers.
//! - `server`: ingest API, read API, `/metrics`, health.
//! - `metrics`, `leader`, `context`.
//!
//! [`run`] wires them: watches (ImageScans; PolicyBundles; analyzer Jobs by label), the two
//! controllers, the server, and the Lease when several replicas run.

pub mod analyzer_job;
pub mod bundles;
pub mod config;
pub mod context;
pub mod cronjobs;
pub mod delivery;
pub mod feed_ingest;
pub mod freshness;
pub mod image_scan;
pub mod leader;
pub mod metrics;
pub mod notifications;
pub mod policy_bundle;
pub mod policy_report;
pub mod scan_status;
pub mod server;
pub mod slots;
pub mod subscription;

use crate::crd::{ImageScan, PolicyBundle, Subscription};
use crate::store::{Backend, DbUrl, Store, StoreOptions, Timestamp};
use anyhow::{Context as _, bail};
use config::OperatorArgs;
use context::Context;
use futures_util::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams};
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long finished analyzer Jobs are remembered in the store.
const JOB_RECORD_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

fn api<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the operator until a signal (or the loss of the Lease).
pub async fn run(args: OperatorArgs) -> anyhow::Result<()> {
    let url: DbUrl = args.db.parse().context("--db / PLIMSOLL_DB")?;
    if args.leader_election && url.backend() == Backend::Sqlite {
        bail!(
            "leader election (several replicas) needs PostgreSQL: a SQLite store has a single writer"
        );
    }
    let store = Store::connect_with(&url, &StoreOptions::default())
        .await
        .context("opening the store")?;
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (in-cluster config or KUBECONFIG)")?;
    let ns = args.watch_namespace.clone();
    let scans: Api<ImageScan> = api(&client, ns.as_deref());
    let bundles: Api<PolicyBundle> = api(&client, ns.as_deref());
    let jobs: Api<Job> = api(&client, ns.as_deref());
    scans.list(&ListParams::default().limit(1)).await.context(
        "listing ImageScans: are the CRDs installed (`plimsoll crds | kubectl apply -f -`)?",
    )?;
    let identity = args
        .pod_name
        .clone()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "plimsoll-operator".into());
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "plimsoll-operator".into(),
            instance: Some(identity.clone()),
        },
    );

    let job_selector = analyzer_job::selector();
    let mut slots = slots::Slots::new(usize::try_from(args.max_concurrent_jobs).unwrap_or(4));
    // Jobs already running count against the cap before the first reconcile.
    let running = jobs
        .list(&ListParams::default().labels(&job_selector))
        .await
        .context("listing analyzer Jobs")?;
    for j in &running.items {
        if !image_scan::job_finished(j) {
            let id = (j.namespace().unwrap_or_default(), j.name_any());
            slots.observe(&id, true, Instant::now());
        }
    }
    let (job_cache, job_writer) = reflector::store::<Job>();
    let job_stream = reflector::reflector(
        job_writer,
        watcher(jobs, watcher::Config::default().labels(&job_selector)),
    )
    .default_backoff()
    .touched_objects();

    let bundle_controller = Controller::new(bundles.clone(), watcher::Config::default());
    let (wake_tx, wake_rx) = tokio::sync::mpsc::unbounded_channel::<ObjectRef<ImageScan>>();
    let ctx = Arc::new(Context {
        client: client.clone(),
        store: store.clone(),
        config: args.clone(),
        bundles: bundles::BundleCache::default(),
        slots: Mutex::new(slots),
        jobs: job_cache,
        bundle_cache: bundle_controller.store(),
        scans: OnceLock::new(),
        wake: wake_tx,
        recorder,
        metrics: metrics::Metrics::new(),
        claims: Mutex::new(Default::default()),
        errors: Mutex::new(Default::default()),
        feeds_changed: tokio::sync::Notify::new(),
        cronjob_token_sha256: std::sync::RwLock::new(None),
        watch_round: std::sync::atomic::AtomicU64::new(0),
        subscriptions: OnceLock::new(),
        outbox_wake: tokio::sync::Notify::new(),
        policy_reports: policy_report::Availability::default(),
    });

    let ready = Arc::new(AtomicBool::new(false));
    let app = server::router(server::AppState {
        ctx: ctx.clone(),
        ready: ready.clone(),
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %args.listen, "HTTP server up");
    let mut server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut lost_lease: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
        Box::pin(std::future::pending());
    if args.leader_election {
        let leases: Api<Lease> = Api::namespaced(client.clone(), &args.pod_namespace);
        // Followers serve reads and uploads while they wait.
        ready.store(true, Ordering::Relaxed);
        leader::acquire(&leases, &args.lease_name, &identity).await;
        lost_lease = Box::pin(leader::hold(
            leases,
            args.lease_name.clone(),
            identity.clone(),
        ));
    }

    ctx.policy_reports.present(&client, Instant::now()).await;
    freshness::load_watch_round(&ctx)
        .await
        .context("reading the tag-watch round from the store")?;
    tokio::spawn(cronjobs::ensure_until_done(client.clone(), ctx.clone()));
    let scan_controller = Controller::new(scans.clone(), watcher::Config::default());
    let scan_cache = scan_controller.store();
    let _ = ctx.scans.set(scan_cache.clone());
    let subs: Api<Subscription> = api(&client, ns.as_deref());
    let sub_controller = Controller::new(subs, watcher::Config::default());
    let _ = ctx.subscriptions.set(sub_controller.store());
    let job_mapper = {
        let ctx = ctx.clone();
        move |job: Job| jobs_to_scans(&ctx, &job)
    };
    let bundle_mapper = {
        let scan_cache = scan_cache.clone();
        move |bundle: PolicyBundle| {
            let ns = bundle.namespace();
            let name = bundle.name_any();
            scan_cache
                .state()
                .iter()
                .filter(|s| s.namespace() == ns && s.spec.policy_bundle_ref.name == name)
                .map(|s| ObjectRef::from_obj(s.as_ref()))
                .collect::<Vec<_>>()
        }
    };
    let wake_stream =
        futures_util::stream::unfold(
            wake_rx,
            |mut rx| async move { rx.recv().await.map(|r| (r, rx)) },
        );
    let scan_loop = scan_controller
        .with_config(ControllerConfig::default().concurrency(16))
        .watches_stream(job_stream, job_mapper)
        .watches(bundles, watcher::Config::default(), bundle_mapper)
        .reconcile_on(wake_stream)
        .shutdown_on_signal()
        .run(image_scan::reconcile, image_scan::error_policy, ctx.clone())
        .for_each(|_| std::future::ready(()));
    let bundle_loop = bundle_controller
        .with_config(ControllerConfig::default().concurrency(4))
        .shutdown_on_signal()
        .run(
            policy_bundle::reconcile,
            policy_bundle::error_policy,
            ctx.clone(),
        )
        .for_each(|_| std::future::ready(()));
    let sub_cache = ctx.subscriptions.get().cloned();
    let sub_loop = sub_controller
        .with_config(ControllerConfig::default().concurrency(4))
        // A scan's labels, image or existence change what a Subscription selects.
        .watches(scans, watcher::Config::default(), move |scan: ImageScan| {
            let ns = scan.namespace();
            sub_cache
                .iter()
                .flat_map(|c| c.state())
                .filter(|s| s.namespace() == ns)
                .map(|s| ObjectRef::from_obj(s.as_ref()))
                .collect::<Vec<_>>()
        })
        .shutdown_on_signal()
        .run(
            subscription::reconcile,
            subscription::error_policy,
            ctx.clone(),
        )
        .for_each(|_| std::future::ready(()));
    let background = {
        let ctx = ctx.clone();
        let config = delivery::config(&args);
        async move {
            tokio::join!(freshness::run(ctx.clone()), delivery::run(ctx, config));
        }
    };
    let prune = {
        let store = store.clone();
        async move {
            loop {
                let before = Timestamp::now();
                let cutoff = Timestamp::from_unix_millis(before.unix_millis().saturating_sub(
                    i64::try_from(JOB_RECORD_RETENTION.as_millis()).unwrap_or(i64::MAX),
                ));
                if let Err(e) = store.prune_analyzer_jobs(cutoff).await {
                    tracing::warn!(error = %e, "pruning analyzer Job records");
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
    };
    ready.store(true, Ordering::Relaxed);
    tracing::info!(identity = %identity, "controllers running");
    tokio::select! {
        () = async { tokio::join!(scan_loop, bundle_loop, sub_loop); } => {}
        () = prune => {}
        () = background => {}
        () = &mut lost_lease => {
            server.abort();
            store.close().await;
            bail!("lost the leader lease; exiting so that a restart rejoins as a follower");
        }
        r = &mut server => {
            store.close().await;
            match r {
                Ok(Ok(())) => bail!("the HTTP server stopped"),
                Ok(Err(e)) => return Err(e).context("the HTTP server failed"),
                Err(e) => return Err(e).context("the HTTP server panicked"),
            }
        }
    }
    store.close().await;
    Ok(())
}

/// The scans a Job event concerns; also counts the Job for the cap and wakes queued scans when
/// a slot frees.
fn jobs_to_scans(ctx: &Context, job: &Job) -> Vec<ObjectRef<ImageScan>> {
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let current = ctx.jobs.get(&ObjectRef::<Job>::new(&name).within(&ns));
    let active = current
        .is_some_and(|j| !image_scan::job_finished(&j) && j.metadata.deletion_timestamp.is_none());
    let woken = ctx
        .slots
        .lock()
        .map(|mut s| s.observe(&(ns.clone(), name.clone()), active, Instant::now()))
        .unwrap_or_default();
    for (_, wns, wname) in woken {
        let _ = ctx.wake.send(ObjectRef::new(&wname).within(&wns));
    }
    let Some(scans) = ctx.scans.get() else {
        return Vec::new();
    };
    scans
        .state()
        .iter()
        .filter(|s| {
            s.namespace().as_deref() == Some(ns.as_str()) && ctx.job_key(s).job_name() == name
        })
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}
