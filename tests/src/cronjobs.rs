//! The CronJob controller (batch/v1).
//!
//! On each tick it looks for the latest scheduled time after `status.lastScheduleTime` (or the
//! creation time) and, unless `suspend`ed, starts a Job named `<cronjob>-<minutes since the
//! epoch>` from the job template, owned by the CronJob and annotated with
//! `batch.kubernetes.io/cronjob-scheduled-timestamp`. `concurrencyPolicy`: `Allow`, `Forbid`
//! (skip while a Job runs), `Replace` (delete the running Jobs first). Missed runs older than
//! `startingDeadlineSeconds` are skipped; only the latest missed run starts, as in Kubernetes.
//! `status.active` lists every unfinished Job the CronJob controls (manual runs made with
//! `kubectl create job --from=cronjob/x` included); finished Jobs beyond
//! `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` are deleted, oldest first.
//!
//! Time comes from the controller's own clock, which the simulator can speed up (`--cron-speed
//! 60`: one real second is one minute, so `* * * * *` fires every second). `spec.timeZone`
//! is ignored: schedules are read in UTC.

pub mod schedule;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::apiserver::ApiServer;
use crate::apiserver::lifecycle::{Part, Propagation};
use crate::apiserver::meta;
use crate::clock::Clock;
use crate::events;
use crate::jobs::is_finished;

const MANAGER: &str = "cronjob-controller";

pub async fn run(server: Arc<ApiServer>, clock: Arc<dyn Clock>) {
    let mut events = server.store.subscribe();
    loop {
        tokio::select! {
            _ = events.recv() => {}
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        // Our own writes wake us too: pace the passes so a busy store cannot starve the runtime.
        tokio::time::sleep(Duration::from_millis(20)).await;
        while events.try_recv().is_ok() {}
        for cj in server.list_internal("batch", "cronjobs", None) {
            reconcile(&server, clock.as_ref(), &cj);
        }
    }
}

fn controlled_by(job: &Value, uid: &str) -> bool {
    job["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["uid"] == uid && r["controller"].as_bool() == Some(true))
        })
}

fn job_failed(job: &Value) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Failed" && c["status"] == "True")
    })
}

fn reference(job: &Value) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job", "name": meta::name(job), "namespace": meta::namespace(job),
        "uid": meta::uid(job), "resourceVersion": meta::resource_version(job).unwrap_or(""),
    })
}

pub fn reconcile(server: &ApiServer, clock: &dyn Clock, cj: &Value) {
    if meta::is_deleting(cj) {
        return;
    }
    let ns = meta::namespace(cj);
    let name = meta::name(cj);
    let uid = meta::uid(cj);
    let spec = &cj["spec"];
    let now: DateTime<Utc> = clock.now().into();
    let mut jobs: Vec<Value> = server
        .list_internal("batch", "jobs", Some(ns))
        .into_iter()
        .filter(|j| controlled_by(j, uid))
        .collect();
    jobs.sort_by(|a, b| {
        meta::meta_str(a, "creationTimestamp")
            .cmp(&meta::meta_str(b, "creationTimestamp"))
            .then(meta::name(a).cmp(meta::name(b)))
    });
    let mut active: Vec<Value> = jobs
        .iter()
        .filter(|j| !is_finished(j) && !meta::is_deleting(j))
        .cloned()
        .collect();
    let mut status = cj["status"].clone();
    if !status.is_object() {
        status = json!({});
    }

    // History limits.
    let limit = |k: &str, default: i64| spec[k].as_i64().unwrap_or(default).max(0) as usize;
    for (failed, keep) in [
        (false, limit("successfulJobsHistoryLimit", 3)),
        (true, limit("failedJobsHistoryLimit", 1)),
    ] {
        let done: Vec<&Value> = jobs
            .iter()
            .filter(|j| is_finished(j) && job_failed(j) == failed && !meta::is_deleting(j))
            .collect();
        for j in done.iter().take(done.len().saturating_sub(keep)) {
            let _ = server.delete_internal(
                "batch",
                "jobs",
                ns,
                meta::name(j),
                Some(Propagation::Background),
            );
        }
    }
    if let Some(t) = jobs
        .iter()
        .filter(|j| is_finished(j) && !job_failed(j))
        .filter_map(|j| j["status"]["completionTime"].as_str())
        .max()
    {
        status["lastSuccessfulTime"] = json!(t);
    }

    let scheduled = spec["schedule"]
        .as_str()
        .and_then(|s| schedule::parse(s).ok())
        .and_then(|sched| {
            let since = status["lastScheduleTime"]
                .as_str()
                .or_else(|| meta::meta_str(cj, "creationTimestamp"))
                .and_then(meta::parse_time)
                .map_or(now, DateTime::<Utc>::from);
            sched.most_recent(since, now)
        });
    if let Some(t) = scheduled.filter(|_| spec["suspend"].as_bool() != Some(true)) {
        let too_late = spec["startingDeadlineSeconds"]
            .as_i64()
            .is_some_and(|d| (now - t).num_seconds() > d);
        let policy = spec["concurrencyPolicy"].as_str().unwrap_or("Allow");
        if too_late {
            events::record(
                server,
                cj,
                "Warning",
                "MissSchedule",
                &format!("Missed scheduled time to start a job: {}", t.to_rfc3339()),
                MANAGER,
            );
            status["lastScheduleTime"] = json!(meta::rfc3339(SystemTime::from(t)));
        } else if policy == "Forbid" && !active.is_empty() {
            // Retried on later ticks while the running Job lasts, as in Kubernetes.
        } else {
            if policy == "Replace" {
                for j in active.drain(..) {
                    let _ = server.delete_internal(
                        "batch",
                        "jobs",
                        ns,
                        meta::name(&j),
                        Some(Propagation::Background),
                    );
                }
            }
            let job_name = format!("{name}-{}", t.timestamp() / 60);
            match server.create_internal(
                "batch",
                "jobs",
                ns,
                job_from_template(cj, &job_name, t),
                MANAGER,
            ) {
                Ok(job) => {
                    events::record(
                        server,
                        cj,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created job {job_name}"),
                        MANAGER,
                    );
                    active.push(job);
                    status["lastScheduleTime"] = json!(meta::rfc3339(SystemTime::from(t)));
                }
                Err(e) if e.code == 409 => {
                    status["lastScheduleTime"] = json!(meta::rfc3339(SystemTime::from(t)))
                }
                Err(e) => events::record(
                    server,
                    cj,
                    "Warning",
                    "FailedCreate",
                    &format!("Error creating job: {}", e.message),
                    MANAGER,
                ),
            }
        }
    }
    status["active"] = json!(active.iter().map(reference).collect::<Vec<_>>());
    if status["active"].as_array().is_some_and(Vec::is_empty)
        && let Value::Object(m) = &mut status
    {
        m.remove("active");
    }
    let _ = server.modify_internal("batch", "cronjobs", ns, name, Part::Status, MANAGER, |c| {
        if c["status"] == status {
            return false;
        }
        c["status"] = status;
        true
    });
}

fn job_from_template(cj: &Value, name: &str, scheduled: DateTime<Utc>) -> Value {
    let tpl = &cj["spec"]["jobTemplate"];
    let mut annotations = tpl["metadata"]["annotations"].clone();
    if !annotations.is_object() {
        annotations = json!({});
    }
    annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
        json!(meta::rfc3339(SystemTime::from(scheduled)));
    let mut metadata = json!({
        "name": name,
        "annotations": annotations,
        "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "CronJob", "name": meta::name(cj), "uid": meta::uid(cj),
            "controller": true, "blockOwnerDeletion": true,
        }],
    });
    if tpl["metadata"]["labels"].is_object() {
        metadata["labels"] = tpl["metadata"]["labels"].clone();
    }
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": tpl["spec"].clone()})
}
