//! The ImageScan controller: from a scan to an analyzer Job (or a stored analysis), then to a
//! verdict in the status.
//!
//! Each reconcile reads what is known — the Job's record in the store, the Job as the watch
//! sees it, the bundle as the watch sees it — decides with the sans-IO modules
//! ([`super::analyzer_job`], [`super::slots`], [`super::scan_status`]), acts (create a Job, run
//! an evaluation) and writes the status only when it changed.
//!
//! Traps:
//! - Job before token: the Job is created first; only when that succeeds is its token
//!   registered and its Secret created. A Job that already exists (another scan, or a previous
//!   operator process) keeps its token; its pod cannot start before the Secret exists. So a
//!   Job the store does not know yet is normal for a moment (a concurrent reconcile of another
//!   scan sharing it is between the two steps); only an old one is deleted as unknown.
//! - Evaluations run when an input changed (digest, bundle digest, generation, feed sync time),
//!   not on every reconcile: each one records match times and appends to the history.
//! - No hot loops: queued scans are woken when a slot frees (with a slow safety requeue), errors
//!   back off exponentially with jitter per object.

use super::analyzer_job::{self, JobKey};
use super::bundles::Checked;
use super::context::Context;
use super::scan_status::{self, Analysis, Bundle, Evaluation};
use super::slots::Waiting;
use crate::crd::image_scan::{ImageScanStatus, condition_type};
use crate::crd::{ImageScan, PolicyBundle};
use crate::store::{Finish, JobOutcome, Timestamp};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The field manager of every status write.
pub const MANAGER: &str = "plimsoll-operator";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("cannot make an upload token: {0}")]
    Token(getrandom::Error),
    #[error("the object has no {0}")]
    Missing(&'static str),
    #[error(transparent)]
    Queue(#[from] super::notifications::QueueError),
}

fn now_time() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

fn to_time(t: Timestamp) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::from_millisecond(t.unix_millis())
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

fn waiting(scan: &ImageScan) -> Waiting {
    (
        scan.metadata
            .creation_timestamp
            .as_ref()
            .map_or(0, |t| t.0.as_second()),
        scan.namespace().unwrap_or_default(),
        scan.name_any(),
    )
}

pub async fn reconcile(scan: Arc<ImageScan>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&scan, &ctx).await;
    ctx.metrics
        .reconciled("imagescan", started.elapsed(), result.is_err());
    if result.is_ok()
        && let Ok(mut errors) = ctx.errors.lock()
    {
        errors.remove(&ObjectRef::from_obj(scan.as_ref()));
    }
    result
}

async fn reconcile_inner(scan: &ImageScan, ctx: &Context) -> Result<Action, Error> {
    let ns = scan.namespace().ok_or(Error::Missing("namespace"))?;
    if scan.meta().deletion_timestamp.is_some() {
        forget(ctx, scan);
        return Ok(Action::await_change());
    }
    let now = now_time();
    let (bundle, valid) = bundle_state(scan, &ns, ctx);
    let current = if scan.spec.suspend == Some(true) {
        forget(ctx, scan);
        Analysis::Suspended
    } else {
        analysis_state(scan, &ns, ctx).await?
    };
    // While a watch round re-checks the tag, the status keeps the analysis it had.
    let analysis = previous_while_rechecking(scan, &current, ctx)
        .await?
        .unwrap_or_else(|| current.clone());
    let evaluation = match (&analysis, &valid) {
        (Analysis::Stored { digest, .. }, Some((_, valid))) => {
            evaluation(scan, digest, valid, ctx).await?
        }
        _ => None,
    };
    let status = scan_status::compute(
        scan.status.as_ref(),
        scan.metadata.generation,
        &analysis,
        &bundle,
        evaluation,
        &now,
    );
    if scan.status.as_ref() != Some(&status) {
        // Queued before the status is written: after a crash in between, the next reconcile
        // sees the same change and queues the same keys (which the outbox ignores).
        notify_changes(scan, scan.status.as_ref(), &status, ctx).await?;
        write_status(scan, &ns, &status, ctx).await?;
        announce(scan, &status, ctx).await;
    }
    Ok(match current {
        // Woken by the slot counter; the requeue is only a safety net.
        Analysis::Queued { .. } => Action::requeue(Duration::from_secs(120)),
        // Woken by the Job watch and the ingest API; likewise.
        Analysis::Running { .. } => Action::requeue(Duration::from_secs(60)),
        // A rescan interval: come back when the next interval starts.
        _ => match scan.spec.rescan_every() {
            Some(Ok(every)) if super::analyzer_job::follows_tag(&scan.spec.image) => {
                Action::requeue(until_next_interval(every, std::time::SystemTime::now()))
            }
            _ => Action::await_change(),
        },
    })
}

/// Time from `now` to the start of the next `every`-long interval since the epoch.
fn until_next_interval(every: Duration, now: std::time::SystemTime) -> Duration {
    let every_ms = every.as_millis().max(1);
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let left = every_ms - since % every_ms;
    Duration::from_millis(u64::try_from(left).unwrap_or(u64::MAX)) + Duration::from_millis(500)
}

fn forget(ctx: &Context, scan: &ImageScan) {
    if let Ok(mut slots) = ctx.slots.lock() {
        slots.forget(&waiting(scan));
    }
}

/// The bundle the scan names, and the valid bundle with its digest when there is one.
fn bundle_state(
    scan: &ImageScan,
    ns: &str,
    ctx: &Context,
) -> (Bundle, Option<(String, Arc<crate::policy::ValidBundle>)>) {
    let name = &scan.spec.policy_bundle_ref.name;
    let Some(bundle) = ctx
        .bundle_cache
        .get(&ObjectRef::<PolicyBundle>::new(name).within(ns))
    else {
        return (Bundle::Missing { name: name.clone() }, None);
    };
    match ctx.bundles.check(&bundle) {
        (digest, Checked::Valid(v)) => (Bundle::Valid, Some((digest, v))),
        (_, Checked::Invalid(diags)) => (
            Bundle::Invalid {
                name: name.clone(),
                errors: diags.len(),
                first: super::bundles::first_error(&diags),
            },
            None,
        ),
    }
}

fn digest_of(reference: &str) -> Option<&str> {
    reference
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| d.starts_with("sha256:") || d.starts_with("sha512:"))
}

async fn stored(
    ctx: &Context,
    job: Option<String>,
    digest: &str,
) -> Result<Option<Analysis>, Error> {
    Ok(ctx
        .store
        .analysis_info(digest)
        .await?
        .map(|info| Analysis::Stored {
            job,
            digest: digest.to_owned(),
            analyzer_version: info.analyzer_version,
            analyzed_at: to_time(info.created_at),
        }))
}

async fn analysis_state(scan: &ImageScan, ns: &str, ctx: &Context) -> Result<Analysis, Error> {
    if let Err(e) = plimsoll_analyzer::source::registry::RegistryRef::parse(&scan.spec.image) {
        forget(ctx, scan);
        return Ok(Analysis::InvalidReference(e.to_string()));
    }
    let key = ctx.job_key(scan);
    let job_name = key.job_name();
    // A digest reference already analyzed needs no Job (unless a rescan is asked for).
    if key.rescan.is_none()
        && let Some(digest) = digest_of(&scan.spec.image)
        && let Some(a) = stored(ctx, None, digest).await?
    {
        forget(ctx, scan);
        return Ok(a);
    }
    let record = ctx.store.analyzer_job(ns, &job_name).await?;
    if let Some(r) = &record
        && let Some(outcome) = r.outcome
    {
        forget(ctx, scan);
        return Ok(match (outcome, &r.digest) {
            (JobOutcome::Analyzed | JobOutcome::Skipped, Some(d)) => {
                match stored(ctx, Some(job_name.clone()), d).await? {
                    Some(a) => a,
                    None => Analysis::Failed {
                        job: Some(job_name),
                        digest: Some(d.clone()),
                        reason: "AnalysisFailed".into(),
                        message: format!(
                            "the analysis of {d} is no longer stored; set the {} annotation to analyze again",
                            analyzer_job::RESCAN_ANNOTATION
                        ),
                    },
                }
            }
            _ => Analysis::Failed {
                job: Some(job_name),
                digest: r.digest.clone(),
                reason: r.reason.clone().unwrap_or_else(|| "AnalysisFailed".into()),
                message: r.message.clone().unwrap_or_default(),
            },
        });
    }
    let job = ctx.jobs.get(&ObjectRef::<Job>::new(&job_name).within(ns));
    match (&job, &record) {
        (Some(job), Some(r)) => {
            if let Some(failure) = job_failure(job) {
                let reason = match failure {
                    "DeadlineExceeded" => failure.to_owned(),
                    _ if oom_killed(ctx, ns, &job_name).await => "OOMKilled".to_owned(),
                    _ => "AnalysisFailed".to_owned(),
                };
                let message = failure_message(&reason, job, &ctx.config);
                finish_failed(ctx, ns, &job_name, &reason, &message).await?;
                ctx.metrics.job_finished(&reason);
                return Ok(Analysis::Failed {
                    job: Some(job_name),
                    digest: r.digest.clone(),
                    reason,
                    message,
                });
            }
            if job_succeeded(job) {
                // The store is written before the analyzer exits; a complete Job without an
                // outcome never reported.
                let message = "the analyzer Job completed without reporting a result".to_owned();
                finish_failed(ctx, ns, &job_name, "AnalysisFailed", &message).await?;
                return Ok(Analysis::Failed {
                    job: Some(job_name),
                    digest: r.digest.clone(),
                    reason: "AnalysisFailed".into(),
                    message,
                });
            }
            forget(ctx, scan);
            Ok(Analysis::Running {
                job: job_name,
                digest: r.digest.clone(),
            })
        }
        (Some(job), None) if !older_than(job, Duration::from_secs(60)) => {
            // Just created by a concurrent reconcile, which registers its token next.
            Ok(Analysis::Running {
                job: job_name,
                digest: None,
            })
        }
        (Some(job), None) => {
            // A Job the store does not know (the store was replaced): its token is unknown, so
            // it can never upload. Delete it; the next reconcile starts a new one.
            tracing::warn!(job = %job_name, namespace = ns, "deleting an analyzer Job the store does not know");
            let api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
            if job.metadata.deletion_timestamp.is_none() {
                let dp = kube::api::DeleteParams::background();
                match api.delete(&job_name, &dp).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(Analysis::Running {
                job: job_name,
                digest: None,
            })
        }
        (None, Some(r)) if r.created_at.plus(Duration::from_secs(30)) > Timestamp::now() => {
            // Just created; the watch has not shown it yet.
            Ok(Analysis::Running {
                job: job_name,
                digest: r.digest.clone(),
            })
        }
        (None, _) => start_job(scan, ns, &key, job_name, ctx).await,
    }
}

/// The analysis the status shows while a watch round's Job re-checks the tag: the previous
/// one, if it is still stored. A failed re-check keeps it too (a registry outage must not erase
/// a verdict); it is logged, and the next round tries again.
async fn previous_while_rechecking(
    scan: &ImageScan,
    current: &Analysis,
    ctx: &Context,
) -> Result<Option<Analysis>, Error> {
    let key = ctx.job_key(scan);
    if !key.rechecks() || key.rescan.is_some() {
        return Ok(None);
    }
    // Only the analysis of this spec: an edited image is not a re-check.
    let Some(status) = scan
        .status
        .as_ref()
        .filter(|s| s.observed_generation == scan.metadata.generation)
    else {
        return Ok(None);
    };
    let (Some(digest), Some(version), Some(at)) = (
        &status.digest,
        &status.analyzer_version,
        &status.last_analyzed_at,
    ) else {
        return Ok(None);
    };
    let job = match current {
        Analysis::Queued { job } | Analysis::Running { job, .. } => job,
        Analysis::Failed {
            job: Some(job),
            reason,
            message,
            ..
        } => {
            tracing::warn!(job = %job, %reason, %message, image = %scan.spec.image, "re-checking a tag failed; keeping the previous analysis");
            job
        }
        _ => return Ok(None),
    };
    if status.job_name.as_deref() == Some(job.as_str())
        || ctx.store.analysis_info(digest).await?.is_none()
    {
        return Ok(None);
    }
    Ok(Some(Analysis::Stored {
        job: status.job_name.clone(),
        digest: digest.clone(),
        analyzer_version: version.clone(),
        analyzed_at: at.clone(),
    }))
}

/// Queues `analysis_update`, `tag_update` and `policy_eval` notifications for what changed
/// between two statuses of a scan. Keys name the transition (the scan's uid, the digests or
/// final actions, and the previous status' times), so the same change queues the same keys.
async fn notify_changes(
    scan: &ImageScan,
    before: Option<&ImageScanStatus>,
    after: &ImageScanStatus,
    ctx: &Context,
) -> Result<(), Error> {
    use crate::crd::subscription::EventType as Event;
    use crate::notify::{Notification, TagChange, VerdictChange};
    let uid = scan.uid().unwrap_or_default();
    let Some(digest) = after.digest.as_deref() else {
        return Ok(());
    };
    let time = |t: Option<&Time>| {
        t.map(|t| t.0.as_millisecond().to_string())
            .unwrap_or_default()
    };
    let image = super::freshness::image_info(scan, digest);
    let verdict = VerdictChange::from_verdict;
    let notification = super::notifications::notification;
    // The digest the previous verdict was about (a Running status may show a digest already).
    let old_digest = before
        .filter(|b| b.verdict.is_some())
        .and_then(|b| b.digest.as_deref());
    // A new analysis: the first one, or the tag moved. Told once the verdict is known.
    if old_digest != Some(digest)
        && let Some(v) = &after.verdict
    {
        let base = crate::notify::idempotency_id(&[
            &uid,
            old_digest.unwrap_or(""),
            digest,
            &time(before.and_then(|b| b.last_evaluated_at.as_ref())),
        ]);
        let base = format!("{uid}/{base}");
        let n = Notification {
            verdict: Some(verdict(v, None)),
            counts: after.vulnerabilities,
            ..notification(Event::AnalysisUpdate, image.clone())
        };
        super::notifications::queue(ctx, scan, Event::AnalysisUpdate, &base, |_| Some(n.clone()))
            .await?;
        // The same spec with another digest: the tag moved (an edited image is not a move).
        let same_spec = before.and_then(|b| b.observed_generation) == after.observed_generation;
        if let Some(old) = old_digest.filter(|_| same_spec) {
            let n = Notification {
                verdict: Some(verdict(v, None)),
                counts: after.vulnerabilities,
                tag: Some(TagChange {
                    previous_digest: Some(old.to_owned()),
                    digest: digest.to_owned(),
                }),
                ..notification(Event::TagUpdate, image.clone())
            };
            super::notifications::queue(ctx, scan, Event::TagUpdate, &base, |_| Some(n.clone()))
                .await?;
        }
    }
    // The final action changed.
    if let (Some(old), Some(new)) = (before.and_then(|b| b.verdict.as_ref()), &after.verdict)
        && old.final_action != new.final_action
    {
        let base = crate::notify::idempotency_id(&[
            &uid,
            digest,
            old.final_action.as_str(),
            new.final_action.as_str(),
            &time(before.and_then(|b| b.last_evaluated_at.as_ref())),
        ]);
        let base = format!("{uid}/{base}");
        let n = Notification {
            verdict: Some(verdict(new, Some(old.final_action))),
            counts: after.vulnerabilities,
            ..notification(Event::PolicyEval, image)
        };
        super::notifications::queue(ctx, scan, Event::PolicyEval, &base, |_| Some(n.clone()))
            .await?;
    }
    Ok(())
}

/// Whether the object was created more than `age` ago (by its creation timestamp).
fn older_than(job: &Job, age: Duration) -> bool {
    let Some(created) = &job.metadata.creation_timestamp else {
        return true;
    };
    let age = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
    k8s_openapi::jiff::Timestamp::now().as_second() - created.0.as_second() > age
}

async fn start_job(
    scan: &ImageScan,
    ns: &str,
    key: &JobKey,
    job_name: String,
    ctx: &Context,
) -> Result<Analysis, Error> {
    let slot = ctx
        .slots
        .lock()
        .map(|mut s| {
            s.try_take(
                &(ns.to_owned(), job_name.clone()),
                &waiting(scan),
                Instant::now(),
            )
        })
        .unwrap_or(false);
    if !slot {
        return Ok(Analysis::Queued { job: job_name });
    }
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let job = analyzer_job::job(key, &ctx.config);
    let created = match jobs.create(&PostParams::default(), &job).await {
        Ok(j) => j,
        Err(kube::Error::Api(s)) if s.code == 409 => {
            return Ok(Analysis::Running {
                job: job_name,
                digest: None,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let token = analyzer_job::new_token().map_err(Error::Token)?;
    ctx.store
        .register_analyzer_job(
            ns,
            &job_name,
            &analyzer_job::token_hash(&token),
            &key.image,
            key.rescan.is_some(),
            Timestamp::now(),
        )
        .await?;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let secret = analyzer_job::token_secret(&created, &token);
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {
            // A leftover of an older Job of the same name: replace it.
            secrets
                .delete(&job_name, &kube::api::DeleteParams::default())
                .await?;
            secrets.create(&PostParams::default(), &secret).await?;
        }
        Err(e) => return Err(e.into()),
    }
    ctx.metrics.job_started();
    publish(
        ctx,
        scan,
        EventType::Normal,
        "AnalysisStarted",
        format!("analyzer Job {job_name} created for {}", key.image),
    )
    .await;
    Ok(Analysis::Running {
        job: job_name,
        digest: None,
    })
}

async fn finish_failed(
    ctx: &Context,
    ns: &str,
    job: &str,
    reason: &str,
    message: &str,
) -> Result<(), Error> {
    let f = Finish {
        outcome: JobOutcome::Failed,
        digest: None,
        reason: Some(reason),
        message: Some(message),
        upload_sha256: None,
    };
    ctx.store
        .finish_analyzer_job(ns, job, &f, Timestamp::now())
        .await?;
    Ok(())
}

fn condition_true(job: &Job, type_: &str) -> Option<String> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
        .map(|c| c.reason.clone().unwrap_or_default())
}

/// The Job's failure reason (`DeadlineExceeded`, `BackoffLimitExceeded`, ...), if it failed.
pub fn job_failure(job: &Job) -> Option<&'static str> {
    condition_true(job, "Failed").map(|r| match r.as_str() {
        "DeadlineExceeded" => "DeadlineExceeded",
        _ => "BackoffLimitExceeded",
    })
}

pub fn job_succeeded(job: &Job) -> bool {
    condition_true(job, "Complete").is_some()
}

/// Whether the Job has finished either way.
pub fn job_finished(job: &Job) -> bool {
    job_failure(job).is_some() || job_succeeded(job)
}

/// Whether a pod of the Job was OOM-killed.
async fn oom_killed(ctx: &Context, ns: &str, job: &str) -> bool {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let lp = ListParams::default().labels(&format!("job-name={job}"));
    let Ok(list) = pods.list(&lp).await else {
        return false;
    };
    list.items.iter().any(|p| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    let t = |s: Option<&k8s_openapi::api::core::v1::ContainerState>| {
                        s.and_then(|s| s.terminated.as_ref())
                            .and_then(|t| t.reason.as_deref())
                            == Some("OOMKilled")
                    };
                    t(c.state.as_ref()) || t(c.last_state.as_ref())
                })
            })
    })
}

fn failure_message(reason: &str, job: &Job, config: &super::config::OperatorArgs) -> String {
    let name = job.name_any();
    match reason {
        "OOMKilled" => format!(
            "analyzer Job {name} was OOM-killed at the memory limit of {}; raise --analyzer-memory-limit (PLIMSOLL_ANALYZER_MEMORY_LIMIT)",
            config.analyzer_memory_limit.0
        ),
        "DeadlineExceeded" => format!(
            "analyzer Job {name} ran past its deadline of {}s; raise --job-deadline (PLIMSOLL_JOB_DEADLINE) or check that its pod can start",
            config.job_deadline.as_secs()
        ),
        _ => format!("analyzer Job {name} failed (its pod logs say why)"),
    }
}

/// A fresh evaluation when an input changed, else the one in the status.
async fn evaluation(
    scan: &ImageScan,
    digest: &str,
    bundle: &crate::policy::ValidBundle,
    ctx: &Context,
) -> Result<Option<Evaluation>, Error> {
    let feeds = crate::evaluation::feeds_synced_at(&ctx.store).await?;
    let feeds_time = feeds.map(to_time);
    if let Some(s) = &scan.status
        && let (Some(verdict), Some(counts), Some(at)) =
            (&s.verdict, s.vulnerabilities, &s.last_evaluated_at)
        && s.digest.as_deref() == Some(digest)
        && verdict.bundle_digest == bundle.digest()
        && s.observed_generation == scan.metadata.generation
        && s.feeds_updated_at == feeds_time
        && !vulns_changed_since(ctx, digest, at).await?
    {
        return Ok(Some(Evaluation {
            verdict: verdict.clone(),
            counts,
            evaluated_at: at.clone(),
            feeds_updated_at: feeds_time,
        }));
    }
    let Some(stored) = ctx.store.get_analysis(digest).await? else {
        return Ok(None);
    };
    let mut analysis = stored.analysis;
    if let Some(text) = &scan.spec.dockerfile {
        analysis.image.dockerfile = Some(plimsoll_analyzer::model::Dockerfile {
            source: plimsoll_analyzer::model::DockerfileSource::Actual,
            text: text.clone(),
        });
    }
    // Policies match on the reference the user wrote (registry/repository:tag mappings).
    analysis.image.reference.clone_from(&scan.spec.image);
    let now = Timestamp::now();
    let refs = crate::vulns::package_refs(&analysis);
    let started = Instant::now();
    let judged = crate::evaluation::judge_stored(&ctx.store, bundle, &analysis, &refs, now).await?;
    ctx.metrics.evaluated(started.elapsed());
    // The first snapshot of the image's vulnerabilities: what feed changes are diffed against.
    if ctx.store.vulns_changed_at(digest).await?.is_none() {
        let snapshot = serde_json::to_value(super::freshness::snapshot_of(&judged.matches))
            .unwrap_or_default();
        ctx.store.put_vuln_snapshot(digest, &snapshot, now).await?;
    }
    write_policy_report(scan, digest, &judged, ctx).await;
    let result = serde_json::to_value(&judged.verdict).unwrap_or_default();
    ctx.store
        .append_evaluation(&crate::store::NewEvaluation {
            image_digest: digest,
            bundle_digest: bundle.digest(),
            final_action: final_action(judged.verdict.final_action),
            evaluated_at: now,
            result: &result,
        })
        .await?;
    Ok(Some(Evaluation {
        verdict: scan_status::crd_verdict(&judged.verdict),
        counts: judged.counts,
        evaluated_at: to_time(now),
        feeds_updated_at: judged.feeds_synced_at.map(to_time),
    }))
}

/// The scan's PolicyReport, when the cluster serves the CRD. A failure is logged, not
/// returned: the status is the primary output and must not wait for a report.
async fn write_policy_report(
    scan: &ImageScan,
    digest: &str,
    judged: &crate::evaluation::Judged,
    ctx: &Context,
) {
    use super::policy_report;
    if !ctx
        .policy_reports
        .present(&ctx.client, Instant::now())
        .await
    {
        return;
    }
    let Some(ns) = scan.namespace() else {
        return;
    };
    // The verdict's own time: an unchanged verdict applies an identical object (no write).
    let at = judged.verdict.evaluated_at;
    match policy_report::report(scan, digest, &judged.verdict, &judged.matches, at) {
        Ok(r) => {
            if let Err(e) = policy_report::apply(&ctx.client, &ns, &r).await {
                if e.is_absent() {
                    ctx.policy_reports.forget();
                }
                tracing::warn!(error = %e, scan = %scan.name_any(), "PolicyReport not written");
            }
        }
        Err(e) => tracing::warn!(error = %e, scan = %scan.name_any(), "no PolicyReport"),
    }
}

/// Whether the image's vulnerability snapshot changed after the scan was evaluated at `at`.
async fn vulns_changed_since(ctx: &Context, digest: &str, at: &Time) -> Result<bool, Error> {
    Ok(ctx
        .store
        .vulns_changed_at(digest)
        .await?
        .is_some_and(|c| c.unix_millis() > at.0.as_millisecond()))
}

fn final_action(a: crate::policy::Action) -> crate::store::FinalAction {
    match a {
        crate::policy::Action::Stop => crate::store::FinalAction::Stop,
        crate::policy::Action::Warn => crate::store::FinalAction::Warn,
        crate::policy::Action::Go => crate::store::FinalAction::Go,
    }
}

async fn write_status(
    scan: &ImageScan,
    ns: &str,
    status: &ImageScanStatus,
    ctx: &Context,
) -> Result<(), Error> {
    let api: Api<ImageScan> = Api::namespaced(ctx.client.clone(), ns);
    let patch = serde_json::json!({
        "apiVersion": "plimsoll.dev/v1alpha1",
        "kind": "ImageScan",
        "status": status,
    });
    api.patch_status(
        &scan.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Events on transitions of the Ready condition or the verdict.
async fn announce(scan: &ImageScan, status: &ImageScanStatus, ctx: &Context) {
    let before = scan.status.as_ref();
    let ready = |s: Option<&ImageScanStatus>| {
        s.and_then(|s| crate::crd::conditions::find(&s.conditions, condition_type::READY))
            .map(|c| (c.status, c.reason.clone()))
    };
    let verdict =
        |s: Option<&ImageScanStatus>| s.and_then(|s| s.verdict.as_ref()).map(|v| v.final_action);
    if ready(before) == ready(Some(status)) && verdict(before) == verdict(Some(status)) {
        return;
    }
    let Some(c) = crate::crd::conditions::find(&status.conditions, condition_type::READY) else {
        return;
    };
    let (type_, reason, note) = match (c.status, &status.verdict) {
        (crate::crd::conditions::ConditionStatus::True, Some(v)) => (
            if v.final_action == crate::crd::policy_bundle::Action::Stop {
                EventType::Warning
            } else {
                EventType::Normal
            },
            "Evaluated".to_owned(),
            format!(
                "{}: {} STOP, {} WARN rows (bundle {})",
                v.final_action.as_str(),
                v.stop_count,
                v.warn_count,
                v.bundle_id
            ),
        ),
        (crate::crd::conditions::ConditionStatus::False, _) => {
            (EventType::Warning, c.reason.clone(), c.message.clone())
        }
        _ => return,
    };
    publish(ctx, scan, type_, &reason, note).await;
}

async fn publish(ctx: &Context, scan: &ImageScan, type_: EventType, reason: &str, note: String) {
    let ev = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(crate::crd::schema::truncate(&note, 1000)),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&ev, &scan.object_ref(&())).await {
        tracing::debug!(error = %e, "event not recorded");
    }
}

/// Exponential backoff with jitter per object: 1 s, 2 s, 4 s ... up to 5 minutes.
pub fn error_policy(scan: Arc<ImageScan>, error: &Error, ctx: Arc<Context>) -> Action {
    let attempts = ctx
        .errors
        .lock()
        .map(|mut e| {
            let n = e.entry(ObjectRef::from_obj(scan.as_ref())).or_insert(0);
            *n = n.saturating_add(1);
            *n
        })
        .unwrap_or(1);
    tracing::warn!(scan = %scan.name_any(), namespace = ?scan.namespace(), attempts, error = %error, "reconcile failed");
    Action::requeue(backoff(attempts))
}

/// `2^(attempts-1)` seconds, capped at 300, with up to 50% jitter added.
pub fn backoff(attempts: u32) -> Duration {
    let base = 1u64 << attempts.saturating_sub(1).min(9);
    let base = Duration::from_secs(base.min(300));
    let mut b = [0u8; 2];
    let jitter = if getrandom::fill(&mut b).is_ok() {
        f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX) * 0.5
    } else {
        0.25
    };
    base.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let d1 = backoff(1);
        assert!(
            d1 >= Duration::from_secs(1) && d1 <= Duration::from_millis(1500),
            "{d1:?}"
        );
        let d4 = backoff(4);
        assert!(
            d4 >= Duration::from_secs(8) && d4 <= Duration::from_secs(12),
            "{d4:?}"
        );
        let d50 = backoff(50);
        assert!(
            d50 >= Duration::from_secs(300) && d50 <= Duration::from_secs(450),
            "{d50:?}"
        );
    }

    #[test]
    fn digest_references() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(digest_of(&format!("reg/app@{d}")), Some(d.as_str()));
        assert_eq!(digest_of(&format!("reg/app:1@{d}")), Some(d.as_str()));
        assert_eq!(digest_of("reg/app:1"), None);
    }

    #[test]
    fn only_old_unknown_jobs_are_deleted() {
        let job = |secs_ago: i64| -> Job {
            let t = k8s_openapi::jiff::Timestamp::now().as_second() - secs_ago;
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "j", "creationTimestamp":
                    k8s_openapi::jiff::Timestamp::from_second(t).expect("time").to_string()},
            }))
            .expect("job")
        };
        assert!(!older_than(&job(1), Duration::from_secs(60)));
        assert!(older_than(&job(120), Duration::from_secs(60)));
    }

    #[test]
    fn job_conditions() {
        let job = |t: &str, reason: &str| -> Job {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "j"},
                "status": {"conditions": [{"type": t, "status": "True", "reason": reason}]}
            }))
            .expect("job")
        };
        assert_eq!(
            job_failure(&job("Failed", "DeadlineExceeded")),
            Some("DeadlineExceeded")
        );
        assert_eq!(
            job_failure(&job("Failed", "BackoffLimitExceeded")),
            Some("BackoffLimitExceeded")
        );
        assert!(job_succeeded(&job("Complete", "")));
        assert!(!job_finished(&job("Suspended", "")));
    }
}
