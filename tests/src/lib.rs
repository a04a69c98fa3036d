//! Plimsoll's end-to-end test support: a Kubernetes API server simulator that the real
//! operator binary (kube-rs through an ordinary kubeconfig) talks to, with a fake kubelet that
//! runs pods as local processes. See `SIMULATOR.md` for what is and is not implemented.
//!
//! - `apiserver`: the REST API over HTTP (storage, watch, patch, apply, validation, discovery).
//! - `kubelet`: runs each Pod's containers as local processes (images mapped to binaries).
//! - `jobs`: the Job controller (pods per Job, backoff, deadlines, TTL after finished).
//! - `cronjobs`: the CronJob controller (schedules, suspend, concurrency, history limits).
//! - `gc`: owner-reference garbage collection and namespace deletion.
//! - `kubeconfig`: the kubeconfig file clients use.
//! - `simulator`: starts it all on 127.0.0.1 and hands back a handle.
//! - `clock`: wall and sped-up clocks.

pub mod apiserver;
pub mod clock;
pub mod cronjobs;
pub mod events;
pub mod gc;
pub mod jobs;
pub mod kubeconfig;
pub mod kubelet;
pub mod simulator;

pub use simulator::{Simulator, SimulatorConfig};
