//! The Job controller (batch/v1), non-indexed completion mode.
//!
//! It keeps `min(parallelism, completions - succeeded)` pods running from the template (each
//! with a controller owner reference and the `batch.kubernetes.io/job-tracking` finalizer,
//! removed once the pod's end is counted), waits `backoff_base * 2^(failures-1)` (capped at
//! a minute) before replacing a failed pod, and ends the Job with conditions:
//! `SuccessCriteriaMet` + `Complete` when enough pods succeeded; `FailureTarget` + `Failed` with
//! reason `BackoffLimitExceeded` (more failed pods than `backoffLimit`, or more container
//! restarts with `restartPolicy: OnFailure`) or `DeadlineExceeded` (`activeDeadlineSeconds`
//! after `startTime`), deleting what still runs. `suspend` deletes the running pods and sets
//! `Suspended`. `ttlSecondsAfterFinished` deletes a finished Job (foreground, so its pods go
//! first). Pods that cannot be created (Pod Security, missing service account) produce
//! `FailedCreate` events and are retried, as in a real cluster.
//!
//! Not implemented: Indexed completion mode, `podFailurePolicy`, `successPolicy`,
//! `backoffLimitPerIndex`, `managedBy`, pod replacement policy `Failed`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::apiserver::ApiServer;
use crate::apiserver::lifecycle::{Part, Propagation};
use crate::apiserver::meta;
use crate::events;

pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
const MANAGER: &str = "job-controller";

#[derive(Clone, Debug)]
pub struct JobsConfig {
    /// First delay before replacing a failed pod (Kubernetes: 10 s).
    pub backoff_base: Duration,
}

pub async fn run(server: Arc<ApiServer>, cfg: JobsConfig) {
    let mut events = server.store.subscribe();
    let mut not_before: HashMap<String, Instant> = HashMap::new();
    loop {
        tokio::select! {
            _ = events.recv() => {}
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        // Our own writes wake us too: pace the passes so a busy store cannot starve the runtime.
        tokio::time::sleep(Duration::from_millis(20)).await;
        while events.try_recv().is_ok() {}
        for job in server.list_internal("batch", "jobs", None) {
            reconcile(&server, &cfg, &job, &mut not_before);
        }
        release_orphans(&server);
    }
}

fn condition_true(job: &Value, t: &str) -> bool {
    job["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == t && c["status"] == "True"))
}

fn condition_time(job: &Value, t: &str) -> Option<SystemTime> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == t)?["lastTransitionTime"]
        .as_str()
        .and_then(meta::parse_time)
}

pub fn is_finished(job: &Value) -> bool {
    condition_true(job, "Complete") || condition_true(job, "Failed")
}

fn owned_by(pod: &Value, uid: &str) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["uid"] == uid && r["controller"].as_bool() == Some(true))
        })
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("Pending")
}

fn set_condition(status: &mut Value, t: &str, reason: &str, message: &str, now: &str) {
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    if let Some(cs) = status["conditions"].as_array_mut() {
        cs.retain(|c| c["type"] != t);
        cs.push(json!({"type": t, "status": "True", "reason": reason, "message": message, "lastProbeTime": now, "lastTransitionTime": now}));
    }
}

fn reconcile(
    server: &ApiServer,
    cfg: &JobsConfig,
    job: &Value,
    not_before: &mut HashMap<String, Instant>,
) {
    let ns = meta::namespace(job);
    let name = meta::name(job);
    let uid = meta::uid(job);
    let now_t = server.clock().now();
    let now = meta::rfc3339(now_t);
    let pods: Vec<Value> = server
        .list_internal("", "pods", Some(ns))
        .into_iter()
        .filter(|p| owned_by(p, uid))
        .collect();

    // Count pods that ended, then let them go.
    let mut new_succeeded = 0;
    let mut new_failed = 0;
    let mut to_release = Vec::new();
    for p in &pods {
        let tracked = meta::finalizers(p).iter().any(|f| f == TRACKING_FINALIZER);
        if tracked && matches!(phase(p), "Succeeded" | "Failed") {
            if phase(p) == "Succeeded" {
                new_succeeded += 1
            } else {
                new_failed += 1
            }
            to_release.push(meta::name(p).to_owned());
        }
    }
    let active: Vec<&Value> = pods
        .iter()
        .filter(|p| !matches!(phase(p), "Succeeded" | "Failed") && !meta::is_deleting(p))
        .collect();
    let terminating = pods
        .iter()
        .filter(|p| meta::is_deleting(p) && !matches!(phase(p), "Succeeded" | "Failed"))
        .count();
    let spec = &job["spec"];
    let mut status = job["status"].clone();
    if !status.is_object() {
        status = json!({});
    }
    let succeeded = status["succeeded"].as_i64().unwrap_or(0) + new_succeeded;
    let failed = status["failed"].as_i64().unwrap_or(0) + new_failed;
    if new_failed > 0 {
        let delay = cfg
            .backoff_base
            .saturating_mul(1 << (failed - 1).clamp(0, 16))
            .min(Duration::from_secs(60));
        not_before.insert(uid.to_owned(), Instant::now() + delay);
    }
    status["succeeded"] = json!(succeeded);
    status["failed"] = json!(failed);
    status["terminating"] = json!(terminating);
    status["uncountedTerminatedPods"] = json!({});

    let finished = is_finished(job);
    let mut delete_active = false;
    let mut create = 0i64;
    if finished {
        delete_active = true;
        if let Some(ttl) = spec["ttlSecondsAfterFinished"].as_u64() {
            let end = status["completionTime"]
                .as_str()
                .and_then(meta::parse_time)
                .or_else(|| condition_time(job, "Failed"));
            if end.is_some_and(|e| now_t >= e + Duration::from_secs(ttl)) && !meta::is_deleting(job)
            {
                let _ = server.delete_internal(
                    "batch",
                    "jobs",
                    ns,
                    name,
                    Some(Propagation::Foreground),
                );
            }
        }
    } else if meta::is_deleting(job) {
        delete_active = true;
    } else if spec["suspend"].as_bool() == Some(true) {
        delete_active = true;
        if !condition_true(job, "Suspended") {
            set_condition(
                &mut status,
                "Suspended",
                "JobSuspended",
                "Job suspended",
                &now,
            );
            events::record(server, job, "Normal", "Suspended", "Job suspended", MANAGER);
        }
    } else {
        if condition_true(job, "Suspended") {
            if let Some(cs) = status["conditions"].as_array_mut() {
                cs.retain(|c| c["type"] != "Suspended");
            }
            status["startTime"] = json!(now);
            events::record(server, job, "Normal", "Resumed", "Job resumed", MANAGER);
        }
        if status["startTime"].is_null() {
            status["startTime"] = json!(now);
        }
        let start = status["startTime"]
            .as_str()
            .and_then(meta::parse_time)
            .unwrap_or(now_t);
        let completions = spec["completions"].as_i64().unwrap_or(1);
        let parallelism = spec["parallelism"].as_i64().unwrap_or(1);
        let backoff_limit = spec["backoffLimit"].as_i64().unwrap_or(6);
        let restarts: i64 = pods
            .iter()
            .flat_map(|p| {
                p["status"]["containerStatuses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|c| c["restartCount"].as_i64().unwrap_or(0))
            .sum();
        let on_failure = spec["template"]["spec"]["restartPolicy"] == "OnFailure";
        let deadline = spec["activeDeadlineSeconds"]
            .as_u64()
            .map(|s| start + Duration::from_secs(s));
        let fail = |status: &mut Value, reason: &str, message: &str| {
            set_condition(status, "FailureTarget", reason, message, &now);
            set_condition(status, "Failed", reason, message, &now);
            events::record(server, job, "Warning", reason, message, MANAGER);
        };
        if deadline.is_some_and(|d| now_t >= d) {
            fail(
                &mut status,
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            );
            delete_active = true;
        } else if failed > backoff_limit || (on_failure && restarts > backoff_limit) {
            fail(
                &mut status,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            );
            delete_active = true;
        } else if succeeded >= completions {
            set_condition(
                &mut status,
                "SuccessCriteriaMet",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                &now,
            );
            set_condition(
                &mut status,
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                &now,
            );
            status["completionTime"] = json!(now);
            events::record(server, job, "Normal", "Completed", "Job completed", MANAGER);
            delete_active = true;
        } else {
            let want = parallelism.min(completions - succeeded).max(0);
            let waiting = not_before.get(uid).is_some_and(|t| Instant::now() < *t);
            if !waiting {
                create = want - active.len() as i64;
            }
        }
    }
    let mut created = 0;
    for _ in 0..create.max(0) {
        match create_pod(server, job) {
            Ok(pod) => {
                created += 1;
                events::record(
                    server,
                    job,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {}", meta::name(&pod)),
                    MANAGER,
                );
            }
            Err(e) => {
                events::record(
                    server,
                    job,
                    "Warning",
                    "FailedCreate",
                    &format!("Error creating: {}", e.message),
                    MANAGER,
                );
                // The real controller requeues with a rate limit; a second is enough here.
                not_before.insert(uid.to_owned(), Instant::now() + Duration::from_secs(1));
                break;
            }
        }
    }
    if delete_active {
        for p in &active {
            let _ = server.delete_internal(
                "",
                "pods",
                ns,
                meta::name(p),
                Some(Propagation::Background),
            );
        }
    }
    let active_now = if delete_active {
        0
    } else {
        active.len() as i64 + created
    };
    status["active"] = json!(active_now);
    status["ready"] = json!(if delete_active {
        0
    } else {
        active.iter().filter(|p| pod_ready(p)).count()
    });
    let job_status = status;
    let _ = server.modify_internal("batch", "jobs", ns, name, Part::Status, MANAGER, |j| {
        j["status"] = prune_zero(job_status);
        true
    });
    for pod in to_release {
        release(server, ns, &pod);
    }
}

/// Like the real controller, zero counts are omitted (`active`, `failed`...).
fn prune_zero(mut status: Value) -> Value {
    if let Value::Object(m) = &mut status {
        m.retain(|k, v| {
            !(matches!(k.as_str(), "active" | "failed" | "succeeded") && v == &json!(0))
        });
    }
    status
}

fn pod_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn release(server: &ApiServer, ns: &str, pod: &str) {
    let _ = server.modify_internal("", "pods", ns, pod, Part::Main, MANAGER, |p| {
        let mut f = meta::finalizers(p);
        let before = f.len();
        f.retain(|x| x != TRACKING_FINALIZER);
        meta::set_finalizers(p, &f);
        before != f.len()
    });
}

/// Pods whose Job is gone keep no tracking finalizer (else they could never be deleted).
fn release_orphans(server: &ApiServer) {
    for p in server.list_internal("", "pods", None) {
        if !meta::finalizers(&p).iter().any(|f| f == TRACKING_FINALIZER) {
            continue;
        }
        let owner = p["metadata"]["ownerReferences"]
            .as_array()
            .and_then(|refs| refs.iter().find(|r| r["kind"] == "Job").cloned());
        let job_alive = owner.is_some_and(|o| {
            server
                .get_internal(
                    "batch",
                    "jobs",
                    meta::namespace(&p),
                    o["name"].as_str().unwrap_or(""),
                )
                .is_some_and(|j| j["metadata"]["uid"] == o["uid"])
        });
        if !job_alive {
            release(server, meta::namespace(&p), meta::name(&p));
        }
    }
}

fn create_pod(server: &ApiServer, job: &Value) -> Result<Value, crate::apiserver::error::ApiError> {
    let tpl = &job["spec"]["template"];
    let mut metadata = tpl["metadata"].clone();
    if !metadata.is_object() {
        metadata = json!({});
    }
    metadata["generateName"] = json!(format!("{}-", meta::name(job)));
    metadata["ownerReferences"] = json!([{
        "apiVersion": "batch/v1", "kind": "Job", "name": meta::name(job), "uid": meta::uid(job),
        "controller": true, "blockOwnerDeletion": true,
    }]);
    metadata["finalizers"] = json!([TRACKING_FINALIZER]);
    if let Value::Object(m) = &mut metadata {
        m.remove("name");
        m.remove("namespace");
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": tpl["spec"].clone()});
    server.create_internal("", "pods", meta::namespace(job), pod, MANAGER)
}

/// What `kubectl create job NAME --from=cronjob/CJ` sends: the CronJob's job template as a Job
/// owned by the CronJob and annotated as a manual run.
pub fn job_from_cronjob(cronjob: &Value, name: &str) -> Value {
    let tpl = &cronjob["spec"]["jobTemplate"];
    let mut annotations = tpl["metadata"]["annotations"].clone();
    if !annotations.is_object() {
        annotations = json!({});
    }
    annotations["cronjob.kubernetes.io/instantiate"] = json!("manual");
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta::namespace(cronjob),
            "labels": tpl["metadata"]["labels"].clone(),
            "annotations": annotations,
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": meta::name(cronjob), "uid": meta::uid(cronjob),
                "controller": true,
            }],
        },
        "spec": tpl["spec"].clone(),
    })
}
