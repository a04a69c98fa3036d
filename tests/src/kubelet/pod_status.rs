//! Pod and container status documents (pure), shaped like the kubelet's.
//!
//! Traps: `phase` is Pending until a container runs, Running while any runs or restarts,
//! then Succeeded (every container exited 0) or Failed; a container's `lastState` keeps the
//! previous termination across restarts; `reason` on a terminated state is `Completed`,
//! `Error`, `OOMKilled` (exit 137 here, see the config) or `StartError`.

use serde_json::{Value, json};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Waiting {
        reason: String,
        message: String,
    },
    Running {
        started_at: String,
    },
    Terminated {
        exit_code: i32,
        reason: String,
        message: String,
        started_at: String,
        finished_at: String,
    },
}

impl State {
    pub fn to_json(&self, container_id: &str) -> Value {
        match self {
            State::Waiting { reason, message } => {
                let mut w = json!({"reason": reason});
                if !message.is_empty() {
                    w["message"] = json!(message);
                }
                json!({"waiting": w})
            }
            State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
            State::Terminated {
                exit_code,
                reason,
                message,
                started_at,
                finished_at,
            } => {
                let mut t = json!({"exitCode": exit_code, "reason": reason, "startedAt": started_at, "finishedAt": finished_at, "containerID": container_id});
                if !message.is_empty() {
                    t["message"] = json!(message);
                }
                json!({"terminated": t})
            }
        }
    }

    pub fn exit_code(&self) -> Option<i32> {
        match self {
            State::Terminated { exit_code, .. } => Some(*exit_code),
            _ => None,
        }
    }
}

/// The reason of a termination with `exit_code`.
pub fn termination_reason(exit_code: i32, oom_exit_code: Option<i32>) -> &'static str {
    if Some(exit_code) == oom_exit_code {
        "OOMKilled"
    } else if exit_code == 0 {
        "Completed"
    } else {
        "Error"
    }
}

#[derive(Clone, Debug)]
pub struct ContainerStatus {
    pub name: String,
    pub image: String,
    pub state: State,
    pub last: Option<State>,
    pub restart_count: u32,
    pub container_id: String,
}

impl ContainerStatus {
    pub fn new(name: &str, image: &str) -> Self {
        Self {
            name: name.to_owned(),
            image: image.to_owned(),
            state: State::Waiting {
                reason: "ContainerCreating".to_owned(),
                message: String::new(),
            },
            last: None,
            restart_count: 0,
            container_id: String::new(),
        }
    }

    fn to_json(&self) -> Value {
        let running = matches!(self.state, State::Running { .. });
        let mut v = json!({
            "name": self.name,
            "image": self.image,
            "imageID": format!("kube-sim://{}", self.image),
            "ready": running,
            "started": running,
            "restartCount": self.restart_count,
            "state": self.state.to_json(&self.container_id),
            "lastState": self.last.as_ref().map_or(json!({}), |l| l.to_json(&self.container_id)),
        });
        if !self.container_id.is_empty() {
            v["containerID"] = json!(self.container_id);
        }
        v
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
        }
    }
}

pub struct PodStatus<'a> {
    pub phase: Phase,
    pub init: &'a [ContainerStatus],
    pub containers: &'a [ContainerStatus],
    pub start_time: &'a str,
    pub now: &'a str,
    /// Pod-level reason and message (`DeadlineExceeded`).
    pub reason: Option<(&'a str, &'a str)>,
    pub qos_class: &'a str,
}

impl PodStatus<'_> {
    pub fn to_json(&self) -> Value {
        let initialized = self.init.iter().all(|c| c.state.exit_code() == Some(0));
        let all_running = !self.containers.is_empty()
            && self
                .containers
                .iter()
                .all(|c| matches!(c.state, State::Running { .. }));
        let cond = |t: &str, ok: bool, reason: &str| {
            let mut c = json!({"type": t, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": self.now});
            if !ok && !reason.is_empty() {
                c["reason"] = json!(reason);
            }
            c
        };
        let not_ready = if matches!(self.phase, Phase::Succeeded | Phase::Failed) {
            "PodCompleted"
        } else {
            "ContainersNotReady"
        };
        let mut s = json!({
            "phase": self.phase.name(),
            "conditions": [
                cond("PodReadyToStartContainers", true, ""),
                cond("Initialized", initialized, "ContainersNotInitialized"),
                cond("Ready", all_running, not_ready),
                cond("ContainersReady", all_running, not_ready),
                cond("PodScheduled", true, ""),
            ],
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": self.start_time,
            "containerStatuses": self.containers.iter().map(ContainerStatus::to_json).collect::<Vec<_>>(),
            "qosClass": self.qos_class,
        });
        if !self.init.is_empty() {
            s["initContainerStatuses"] = json!(
                self.init
                    .iter()
                    .map(ContainerStatus::to_json)
                    .collect::<Vec<_>>()
            );
        }
        if let Some((reason, message)) = self.reason {
            s["reason"] = json!(reason);
            s["message"] = json!(message);
        }
        s
    }
}

/// The phase once every container has stopped for good.
pub fn final_phase(containers: &[ContainerStatus]) -> Phase {
    if containers.iter().all(|c| c.state.exit_code() == Some(0)) {
        Phase::Succeeded
    } else {
        Phase::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(termination_reason(0, Some(137)), "Completed");
        assert_eq!(termination_reason(3, Some(137)), "Error");
        assert_eq!(termination_reason(137, Some(137)), "OOMKilled");
        assert_eq!(termination_reason(137, None), "Error");
    }

    #[test]
    fn status_document() {
        let mut c = ContainerStatus::new("main", "busybox");
        c.state = State::Terminated {
            exit_code: 3,
            reason: "Error".into(),
            message: String::new(),
            started_at: "t0".into(),
            finished_at: "t1".into(),
        };
        c.container_id = "kube-sim://x".into();
        let cs = [c];
        assert_eq!(final_phase(&cs), Phase::Failed);
        let s = PodStatus {
            phase: Phase::Failed,
            init: &[],
            containers: &cs,
            start_time: "t0",
            now: "t1",
            reason: None,
            qos_class: "BestEffort",
        }
        .to_json();
        assert_eq!(s["phase"], "Failed");
        assert_eq!(
            s["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            3
        );
        assert_eq!(s["conditions"][2]["reason"], "PodCompleted");
    }
}
