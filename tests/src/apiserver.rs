//! The API server: storage, the REST verbs with Kubernetes semantics, watch, discovery, and the
//! HTTP front end.
//!
//! - `storage`: objects, the global resourceVersion, the watch history window.
//! - `resources`, `crd`: what is served (built-ins and CRD-defined resources).
//! - `operations`: get/list/create/update/patch/delete with their rules.
//! - `lifecycle`: server-owned metadata, generation, status split, finalizers (pure).
//! - `patch`, `apply`, `managed_fields`: merge/JSON/strategic patches, server-side apply.
//! - `validation`, `admission`: what is refused (422, 403) and what is defaulted.
//! - `selectors`, `watch`, `discovery`, `http`, `routes`, `error`, `meta`.

pub mod admission;
pub mod apply;
pub mod crd;
pub mod discovery;
pub mod error;
pub mod http;
pub mod lifecycle;
pub mod managed_fields;
pub mod meta;
pub mod operations;
pub mod patch;
pub mod resources;
pub mod routes;
pub mod selectors;
pub mod storage;
pub mod validation;
pub mod watch;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::clock::Clock;
use admission::PodSecurityPolicy;
use resources::{Registry, ResourceType};
use storage::Store;

/// Settings of the API server proper.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The bearer token clients must send.
    pub token: String,
    /// Watch events kept for resuming watches; older resourceVersions answer 410 Gone.
    pub history: usize,
    /// How often watches that asked for bookmarks get one.
    pub bookmark_interval: Duration,
    pub pod_security: PodSecurityPolicy,
    /// Pods being deleted wait for the kubelet to stop them (set when a kubelet runs).
    pub graceful_pods: bool,
}

pub struct ApiServer {
    pub store: Store,
    registry: RwLock<Registry>,
    config: ServerConfig,
    /// Service-account tokens minted for pods, accepted like the main token.
    extra_tokens: RwLock<HashSet<String>>,
    /// Log files of pod containers: (namespace, pod) -> container -> path.
    pod_logs: Mutex<HashMap<(String, String), HashMap<String, PathBuf>>>,
    clock: Arc<dyn Clock>,
    /// HTTP requests served, by the first word of the client's User-Agent (benchmarks count
    /// the requests an operator makes per object).
    requests: Mutex<HashMap<String, u64>>,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ApiServer {
    pub fn new(config: ServerConfig, clock: Arc<dyn Clock>) -> Arc<Self> {
        let server = Arc::new(Self {
            store: Store::new(config.history),
            registry: RwLock::new(Registry::with_builtins()),
            config,
            extra_tokens: RwLock::new(HashSet::new()),
            pod_logs: Mutex::new(HashMap::new()),
            clock,
            requests: Mutex::new(HashMap::new()),
        });
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let _ = server.create_internal(
                "",
                "namespaces",
                "",
                serde_json::json!({"metadata": {"name": ns}}),
                "kube-apiserver",
            );
        }
        let _ = server.create_internal("", "nodes", "", crate::kubelet::node_object(), "kubelet");
        server
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Counts one request of `client` (the first word of its User-Agent).
    pub fn count_request(&self, client: &str) {
        let mut m = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry(client.to_owned()).or_default() += 1;
    }

    /// Requests served so far, by client.
    pub fn request_counts(&self) -> HashMap<String, u64> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn now(&self) -> String {
        meta::rfc3339(self.clock.now())
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        read(&self.registry).find(group, version, plural)
    }

    /// The storage identity of `group`/`plural` in any served version.
    pub fn resource(&self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        read(&self.registry).any_version(group, plural)
    }

    pub fn resource_types(&self) -> Vec<Arc<ResourceType>> {
        read(&self.registry).all().to_vec()
    }

    pub fn group_versions(&self) -> Vec<(String, Vec<String>)> {
        read(&self.registry).group_versions()
    }

    fn set_custom_types(&self, group: &str, plural: &str, types: Vec<Arc<ResourceType>>) {
        write(&self.registry).replace_custom(group, plural, types);
    }

    pub fn token_ok(&self, token: &str) -> bool {
        token == self.config.token || read(&self.extra_tokens).contains(token)
    }

    /// A token accepted from now on (service-account tokens mounted into pods).
    pub fn mint_token(&self, subject: &str) -> String {
        let token = format!("kube-sim.{subject}.{}", uuid::Uuid::new_v4().simple());
        write(&self.extra_tokens).insert(token.clone());
        token
    }

    pub fn set_pod_logs(&self, namespace: &str, pod: &str, container: &str, path: PathBuf) {
        let mut logs = self
            .pod_logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        logs.entry((namespace.to_owned(), pod.to_owned()))
            .or_default()
            .insert(container.to_owned(), path);
    }

    pub fn pod_log_path(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> Option<PathBuf> {
        let logs = self
            .pod_logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let per_pod = logs.get(&(namespace.to_owned(), pod.to_owned()))?;
        match container {
            Some(c) => per_pod.get(c).cloned(),
            None if per_pod.len() == 1 => per_pod.values().next().cloned(),
            None => None,
        }
    }

    /// The labels of a namespace, `None` when it does not exist.
    pub fn namespace_labels(&self, ns: &str) -> Option<Option<serde_json::Map<String, Value>>> {
        let obj = self
            .store
            .get(&storage::ObjectKey::new("", "namespaces", "", ns))?;
        Some(meta::labels(&obj).cloned())
    }
}
