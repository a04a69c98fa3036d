//! The object store: every object of every resource, one global `resourceVersion` counter and a
//! bounded history of changes for watches.
//!
//! Like etcd behind kube-apiserver, each write gets the next revision, and a watch can resume
//! from any revision still in the history window; older ones answer `410 Gone` ("too old
//! resource version"), which is what makes clients relist. The history is a ring of the last
//! `history_cap` events; [`Store::compact`] empties it on demand so tests can force a 410.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::apiserver::error::ApiError;

/// Where an object lives: `group`/`resource` are the storage identity (version-free).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub group: String,
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(group: &str, resource: &str, namespace: &str, name: &str) -> Self {
        Self {
            group: group.to_owned(),
            resource: resource.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    pub fn wire(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change. `previous` lets filtered watches turn a MODIFIED that leaves (or enters) the
/// selection into DELETED (or ADDED), as the real watch cache does.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub kind: EventKind,
    pub key: ObjectKey,
    pub object: Value,
    pub previous: Option<Value>,
}

/// What a write closure decides.
pub enum Write {
    /// Store this object (its `metadata.resourceVersion` is set by the store).
    Put(Value),
    /// Remove the object; the value is its final state, sent in the DELETED event.
    Delete(Value),
    /// Change nothing (no new revision, no event).
    Nothing,
}

struct Inner {
    rv: u64,
    objects: BTreeMap<ObjectKey, Value>,
    history: VecDeque<Arc<Event>>,
    /// Every event with `rv <= compacted` has left the history.
    compacted: u64,
}

pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
    history_cap: usize,
}

/// A watch's start: what already happened since the asked revision, then live events.
pub struct WatchStart {
    pub backlog: Vec<Arc<Event>>,
    pub live: broadcast::Receiver<Arc<Event>>,
    /// The revision the backlog ends at.
    pub rv: u64,
}

impl Store {
    pub fn new(history_cap: usize) -> Self {
        let (events, _) = broadcast::channel(4096);
        Self {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                compacted: 1,
            }),
            events,
            history_cap: history_cap.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-written (every write is a
        // single insert/remove), so a poisoned lock is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Value> {
        self.lock().objects.get(key).cloned()
    }

    /// Objects of one resource (optionally one namespace), sorted by namespace then name, and
    /// the revision they were read at.
    pub fn list(&self, group: &str, resource: &str, namespace: Option<&str>) -> (u64, Vec<Value>) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|(k, _)| {
                k.group == group
                    && k.resource == resource
                    && namespace.is_none_or(|ns| k.namespace == ns)
            })
            .map(|(_, v)| v.clone())
            .collect();
        (inner.rv, items)
    }

    /// Every object whose owner references include `owner_uid`.
    pub fn dependents_of(&self, owner_uid: &str) -> Vec<(ObjectKey, Value)> {
        let inner = self.lock();
        inner
            .objects
            .iter()
            .filter(|(_, v)| {
                crate::apiserver::meta::owner_uids(v)
                    .iter()
                    .any(|u| u == owner_uid)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every object (controllers scanning for work).
    pub fn all(&self) -> Vec<(ObjectKey, Value)> {
        let inner = self.lock();
        inner
            .objects
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Whether any object has this uid.
    pub fn uid_exists(&self, uid: &str) -> bool {
        let inner = self.lock();
        inner
            .objects
            .values()
            .any(|v| crate::apiserver::meta::uid(v) == uid)
    }

    /// Runs `decide` on the current object (if any) with the revision the write would get, and
    /// applies its decision atomically. Returns the closure's value and the stored object.
    pub fn write<T>(
        &self,
        key: &ObjectKey,
        decide: impl FnOnce(Option<&Value>, u64) -> Result<(Write, T), ApiError>,
    ) -> Result<T, ApiError> {
        let mut inner = self.lock();
        let next = inner.rv + 1;
        let current = inner.objects.get(key);
        let (write, out) = decide(current, next)?;
        let event = match write {
            Write::Nothing => return Ok(out),
            Write::Put(mut obj) => {
                crate::apiserver::meta::metadata_mut(&mut obj)
                    .insert("resourceVersion".into(), Value::String(next.to_string()));
                let previous = inner.objects.insert(key.clone(), obj.clone());
                Event {
                    rv: next,
                    kind: if previous.is_some() {
                        EventKind::Modified
                    } else {
                        EventKind::Added
                    },
                    key: key.clone(),
                    object: obj,
                    previous,
                }
            }
            Write::Delete(mut obj) => {
                if inner.objects.remove(key).is_none() {
                    return Ok(out);
                }
                crate::apiserver::meta::metadata_mut(&mut obj)
                    .insert("resourceVersion".into(), Value::String(next.to_string()));
                Event {
                    rv: next,
                    kind: EventKind::Deleted,
                    key: key.clone(),
                    object: obj,
                    previous: None,
                }
            }
        };
        inner.rv = next;
        let event = Arc::new(event);
        inner.history.push_back(event.clone());
        while inner.history.len() > self.history_cap {
            if let Some(old) = inner.history.pop_front() {
                inner.compacted = old.rv;
            }
        }
        // No receiver is fine: nobody watches yet.
        let _ = self.events.send(event);
        Ok(out)
    }

    /// Starts a watch of `group`/`resource` after revision `from`, or `410 Gone` when events
    /// after `from` have left the history.
    pub fn watch_from(&self, from: u64) -> Result<WatchStart, ApiError> {
        let inner = self.lock();
        if from < inner.compacted {
            return Err(ApiError::gone(format!(
                "too old resource version: {from} ({})",
                inner.compacted + 1
            )));
        }
        let backlog = inner
            .history
            .iter()
            .filter(|e| e.rv > from)
            .cloned()
            .collect();
        Ok(WatchStart {
            backlog,
            live: self.events.subscribe(),
            rv: inner.rv,
        })
    }

    /// A snapshot of one resource plus a live subscription taken at the same revision (the
    /// start of a watch without a resourceVersion: synthetic ADDED events, then changes).
    pub fn snapshot_and_subscribe(
        &self,
        group: &str,
        resource: &str,
    ) -> (Vec<Value>, broadcast::Receiver<Arc<Event>>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|(k, _)| k.group == group && k.resource == resource)
            .map(|(_, v)| v.clone())
            .collect();
        (items, self.events.subscribe(), inner.rv)
    }

    /// A subscription to every future event (controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// Forgets the whole history: any watch resuming from an earlier revision gets 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.compacted = inner.rv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(store: &Store, name: &str) -> u64 {
        let key = ObjectKey::new("", "configmaps", "default", name);
        store
            .write(&key, |_, rv| {
                Ok((Write::Put(json!({"metadata": {"name": name}})), rv))
            })
            .expect("write")
    }

    #[test]
    fn revisions_increase_and_stamp_objects() {
        let store = Store::new(10);
        let a = put(&store, "a");
        let b = put(&store, "a");
        assert_eq!(b, a + 1);
        let obj = store
            .get(&ObjectKey::new("", "configmaps", "default", "a"))
            .expect("stored");
        assert_eq!(obj["metadata"]["resourceVersion"], json!(b.to_string()));
    }

    #[test]
    fn history_window_answers_gone() {
        let store = Store::new(2);
        let first = put(&store, "a");
        put(&store, "b");
        put(&store, "c");
        // Event `first` left the window: resuming from before it is impossible, from it is fine.
        assert_eq!(store.watch_from(first - 1).err().map(|e| e.code), Some(410));
        let start = store.watch_from(first).expect("still in window");
        assert_eq!(start.backlog.len(), 2);
        store.compact();
        assert_eq!(store.watch_from(first + 1).err().map(|e| e.code), Some(410));
        assert!(store.watch_from(store.current_rv()).is_ok());
    }

    #[test]
    fn nothing_writes_nothing() {
        let store = Store::new(10);
        let before = store.current_rv();
        let key = ObjectKey::new("", "configmaps", "default", "a");
        store
            .write(&key, |_, _| Ok((Write::Nothing, ())))
            .expect("no-op");
        assert_eq!(store.current_rv(), before);
    }
}
