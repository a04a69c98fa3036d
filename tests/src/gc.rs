//! The garbage collector and the namespace controller.
//!
//! - Background deletion: an object whose owners (by uid) are all gone is deleted; an owner
//!   reference to a vanished owner is dropped when other owners remain.
//! - Orphan: the owner carries the `orphan` finalizer; its dependents lose their reference to
//!   it, then the finalizer goes (and with it the owner).
//! - Foreground: the owner carries `foregroundDeletion`; its dependents are deleted, and when
//!   none remains the finalizer goes.
//! - A namespace being deleted has everything in it deleted, then goes.
//!
//! It runs after any change (and every second), scanning the whole store: fine for tests.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::apiserver::ApiServer;
use crate::apiserver::lifecycle::{FOREGROUND, ORPHAN, Part, Propagation};
use crate::apiserver::meta;

const MANAGER: &str = "generic-garbage-collector";

pub async fn run(server: Arc<ApiServer>) {
    let mut events = server.store.subscribe();
    loop {
        tokio::select! {
            _ = events.recv() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        // Let a burst of changes settle into one pass.
        tokio::time::sleep(Duration::from_millis(20)).await;
        while events.try_recv().is_ok() {}
        collect(&server);
    }
}

/// One pass over the store.
pub fn collect(server: &ApiServer) {
    let all = server.store.all();
    let uids: HashSet<String> = all.iter().map(|(_, v)| meta::uid(v).to_owned()).collect();
    for (key, obj) in &all {
        let uid = meta::uid(obj);
        let finalizers = meta::finalizers(obj);
        if meta::is_deleting(obj) && finalizers.iter().any(|f| f == ORPHAN) {
            for (dk, _) in server.store.dependents_of(uid) {
                let _ = server.modify_internal(
                    &dk.group,
                    &dk.resource,
                    &dk.namespace,
                    &dk.name,
                    Part::Main,
                    MANAGER,
                    |d| drop_owner(d, |owner| owner == uid),
                );
            }
            remove_finalizer(server, key, ORPHAN);
        }
        if meta::is_deleting(obj) && finalizers.iter().any(|f| f == FOREGROUND) {
            let dependents = server.store.dependents_of(uid);
            if dependents.is_empty() {
                remove_finalizer(server, key, FOREGROUND);
            }
            for (dk, d) in dependents {
                if !meta::is_deleting(&d) {
                    let _ = server.delete_internal(
                        &dk.group,
                        &dk.resource,
                        &dk.namespace,
                        &dk.name,
                        Some(Propagation::Background),
                    );
                }
            }
        }
        let owners = meta::owner_uids(obj);
        if !owners.is_empty() {
            let alive: Vec<&String> = owners.iter().filter(|o| uids.contains(*o)).collect();
            if alive.is_empty() {
                if !meta::is_deleting(obj) {
                    let _ = server.delete_internal(
                        &key.group,
                        &key.resource,
                        &key.namespace,
                        &key.name,
                        Some(Propagation::Background),
                    );
                }
            } else if alive.len() < owners.len() {
                let _ = server.modify_internal(
                    &key.group,
                    &key.resource,
                    &key.namespace,
                    &key.name,
                    Part::Main,
                    MANAGER,
                    |d| drop_owner(d, |owner| !uids.contains(owner)),
                );
            }
        }
        if key.group.is_empty() && key.resource == "namespaces" && meta::is_deleting(obj) {
            finish_namespace(server, &key.name, &all);
        }
    }
}

fn drop_owner(obj: &mut Value, gone: impl Fn(&str) -> bool) -> bool {
    let Some(Value::Array(refs)) = meta::metadata_mut(obj).get_mut("ownerReferences") else {
        return false;
    };
    let before = refs.len();
    refs.retain(|r| !r["uid"].as_str().is_some_and(&gone));
    let changed = refs.len() != before;
    if refs.is_empty() {
        meta::metadata_mut(obj).remove("ownerReferences");
    }
    changed
}

fn remove_finalizer(
    server: &ApiServer,
    key: &crate::apiserver::storage::ObjectKey,
    finalizer: &str,
) {
    let _ = server.modify_internal(
        &key.group,
        &key.resource,
        &key.namespace,
        &key.name,
        Part::Main,
        MANAGER,
        |o| {
            let mut f = meta::finalizers(o);
            let before = f.len();
            f.retain(|x| x != finalizer);
            meta::set_finalizers(o, &f);
            f.len() != before
        },
    );
}

fn finish_namespace(
    server: &ApiServer,
    ns: &str,
    all: &[(crate::apiserver::storage::ObjectKey, Value)],
) {
    let mut remaining = 0;
    for (k, v) in all.iter().filter(|(k, _)| k.namespace == ns) {
        remaining += 1;
        if !meta::is_deleting(v) {
            let _ = server.delete_internal(
                &k.group,
                &k.resource,
                &k.namespace,
                &k.name,
                Some(Propagation::Background),
            );
        }
    }
    if remaining == 0 {
        let _ = server.modify_internal(
            "",
            "namespaces",
            "",
            ns,
            Part::Main,
            "namespace-controller",
            |o| {
                o["spec"]["finalizers"] = json!([]);
                true
            },
        );
        let _ = server.finish_deletion("", "namespaces", "", ns);
    }
}
