//! Watches: a stream of `{"type": ..., "object": ...}` lines.
//!
//! Semantics follow kube-apiserver's: without a resourceVersion (or with "0") the stream
//! starts with a synthetic ADDED per existing object; with one, it replays what happened after
//! it, or sends a single ERROR event carrying a 410 `Expired` Status when that revision has
//! left the history window; with `sendInitialEvents=true` the initial ADDED events end with a
//! BOOKMARK annotated `k8s.io/initial-events-end`. With selectors, a MODIFIED that makes an
//! object enter or leave the selection is sent as ADDED or DELETED. BOOKMARKs (when asked)
//! carry the last revision the watch has seen. `timeoutSeconds` ends the stream cleanly.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::apiserver::ApiServer;
use crate::apiserver::operations::present;
use crate::apiserver::resources::ResourceType;
use crate::apiserver::selectors::{FieldSelector, LabelSelector};
use crate::apiserver::storage::{Event, EventKind};

#[derive(Clone, Debug)]
pub struct WatchParams {
    /// `None`: start with the current state (no resourceVersion, or "0").
    pub from: Option<u64>,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Duration,
    /// Objects as `PartialObjectMetadata` (metadata-only watches).
    pub metadata_only: bool,
}

struct Filter {
    metadata_only: bool,
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn selects(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }

    fn concerns(&self, e: &Event) -> bool {
        e.key.group == self.rt.group
            && e.key.resource == self.rt.plural
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == e.key.namespace)
    }

    /// The event as this watch reports it, if at all.
    fn translate(&self, e: &Event) -> Option<(&'static str, Value)> {
        if !self.concerns(e) {
            return None;
        }
        let now = self.selects(&e.object);
        let kind = match e.kind {
            EventKind::Added => now.then_some(EventKind::Added),
            EventKind::Deleted => now.then_some(EventKind::Deleted),
            EventKind::Modified => {
                let before = e.previous.as_ref().is_some_and(|p| self.selects(p));
                match (before, now) {
                    (true, true) => Some(EventKind::Modified),
                    (false, true) => Some(EventKind::Added),
                    (true, false) => Some(EventKind::Deleted),
                    (false, false) => None,
                }
            }
        }?;
        Some((kind.wire(), self.present(e.object.clone())))
    }

    fn present(&self, obj: Value) -> Value {
        let obj = present(&self.rt, obj);
        if self.metadata_only {
            metadata_only(&obj)
        } else {
            obj
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"type": "BOOKMARK", "object": {"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": metadata}})
    }
}

/// The `PartialObjectMetadata` view of an object (`Accept: ...;as=PartialObjectMetadata`).
pub fn metadata_only(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"].clone()})
}

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

/// The body of a watch response.
pub fn stream(
    server: Arc<ApiServer>,
    rt: Arc<ResourceType>,
    p: WatchParams,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    tokio::spawn(run(server, rt, p, tx));
    futures_util::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) },
    )
}

async fn run(
    server: Arc<ApiServer>,
    rt: Arc<ResourceType>,
    p: WatchParams,
    tx: mpsc::Sender<Bytes>,
) {
    let filter = Filter {
        metadata_only: p.metadata_only,
        rt: rt.clone(),
        namespace: p.namespace.clone(),
        labels: p.labels.clone(),
        fields: p.fields.clone(),
    };
    let (mut live, mut last_rv) = match p.from {
        None => {
            let (items, live, rv) = server.store.snapshot_and_subscribe(&rt.group, &rt.plural);
            for obj in items {
                let ns_ok = filter
                    .namespace
                    .as_ref()
                    .is_none_or(|ns| ns == crate::apiserver::meta::namespace(&obj));
                if ns_ok && filter.selects(&obj) {
                    let ev = json!({"type": "ADDED", "object": filter.present(obj)});
                    if tx.send(line(&ev)).await.is_err() {
                        return;
                    }
                }
            }
            if p.send_initial_events && tx.send(line(&filter.bookmark(rv, true))).await.is_err() {
                return;
            }
            (live, rv)
        }
        Some(from) => match server.store.watch_from(from) {
            Ok(start) => {
                for e in &start.backlog {
                    if let Some((t, obj)) = filter.translate(e)
                        && tx
                            .send(line(&json!({"type": t, "object": obj})))
                            .await
                            .is_err()
                    {
                        return;
                    }
                }
                (start.live, start.rv)
            }
            Err(e) => {
                let _ = tx
                    .send(line(&json!({"type": "ERROR", "object": e.to_status()})))
                    .await;
                return;
            }
        },
    };
    let deadline = tokio::time::Instant::now() + p.timeout;
    let mut ticker = tokio::time::interval(
        server
            .config()
            .bookmark_interval
            .max(Duration::from_millis(10)),
    );
    ticker.tick().await;
    loop {
        tokio::select! {
            ev = live.recv() => match ev {
                Ok(e) => {
                    if e.rv <= last_rv {
                        continue;
                    }
                    last_rv = e.rv;
                    if let Some((t, obj)) = filter.translate(&e)
                        && tx.send(line(&json!({"type": t, "object": obj}))).await.is_err() {
                            return;
                        }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let status = crate::apiserver::error::ApiError::gone("the watch fell behind; too old resource version").to_status();
                    let _ = tx.send(line(&json!({"type": "ERROR", "object": status}))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = ticker.tick(), if p.bookmarks => {
                if tx.send(line(&filter.bookmark(last_rv, false))).await.is_err() {
                    return;
                }
            }
            () = tokio::time::sleep_until(deadline) => return,
            () = tx.closed() => return,
        }
    }
}
