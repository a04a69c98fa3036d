//! The REST verbs with Kubernetes semantics, used by the HTTP front end and, in-process, by
//! the kubelet and the controllers (which go through the same validation and events).
//!
//! Every write happens inside one [`Store::write`](crate::apiserver::storage::Store::write)
//! call, so read-check-write is atomic: a stale `resourceVersion` is a 409 Conflict, a create
//! of an existing name a 409 AlreadyExists, whoever comes second.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::apiserver::admission::defaults;
use crate::apiserver::apply::{self, ApplyRequest};
use crate::apiserver::error::{ApiError, Cause, Subject};
use crate::apiserver::lifecycle::{self, DeleteDecision, Part, Propagation};
use crate::apiserver::managed_fields::{self as mf, Shapes};
use crate::apiserver::patch::{self, PatchKind};
use crate::apiserver::resources::ResourceType;
use crate::apiserver::selectors::{FieldSelector, LabelSelector};
use crate::apiserver::storage::{ObjectKey, Write};
use crate::apiserver::{ApiServer, meta, validation};

#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub force: bool,
}

#[derive(Debug)]
pub struct Written {
    pub object: Value,
    pub created: bool,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub propagation: Option<Propagation>,
    pub grace_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

#[derive(Debug)]
pub enum Deleted {
    /// Removed; the final state.
    Gone(Value),
    /// Kept until finalizers go (or the kubelet stops the pod).
    Pending(Value),
}

#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

pub fn not_found(rt: &ResourceType, name: &str) -> ApiError {
    ApiError::not_found(Subject {
        group: &rt.group,
        kind: &rt.plural,
        name,
    })
}

fn invalid(rt: &ResourceType, name: &str, causes: Vec<Cause>) -> ApiError {
    ApiError::invalid(
        Subject {
            group: &rt.group,
            kind: &rt.kind,
            name,
        },
        causes,
    )
}

fn conflict(rt: &ResourceType, name: &str) -> ApiError {
    ApiError::conflict(
        Subject {
            group: &rt.group,
            kind: &rt.plural,
            name,
        },
        "the object has been modified; please apply your changes to the latest version and try again",
    )
}

pub fn shapes(rt: &ResourceType) -> Shapes<'_> {
    match rt.custom() {
        Some(c) => Shapes::Schema(&c.schema),
        None => Shapes::Builtin,
    }
}

/// The object as served through `rt` (its version's apiVersion).
pub fn present(rt: &ResourceType, mut obj: Value) -> Value {
    if let Value::Object(m) = &mut obj {
        m.insert("apiVersion".into(), json!(rt.api_version()));
        m.insert("kind".into(), json!(rt.kind));
    }
    obj
}

fn key(rt: &ResourceType, ns: &str, name: &str) -> ObjectKey {
    ObjectKey::new(
        &rt.group,
        &rt.plural,
        if rt.namespaced { ns } else { "" },
        name,
    )
}

/// Random suffix for `generateName`, from the alphabet Kubernetes uses (no vowels, no
/// look-alike digits).
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(5)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    after: String,
}

impl ApiServer {
    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.store
            .get(&key(rt, ns, name))
            .map(|o| present(rt, o))
            .ok_or_else(|| not_found(rt, name))
    }

    /// A `<Kind>List` of the matching objects (one namespace, or all with `ns: None`).
    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        q: &ListQuery,
    ) -> Result<Value, ApiError> {
        let ns = if rt.namespaced { ns } else { None };
        let (rv, items) = self.store.list(&rt.group, &rt.plural, ns);
        let mut rv = rv;
        let mut items: Vec<Value> = items
            .into_iter()
            .filter(|o| q.labels.matches(o) && q.fields.matches(o))
            .collect();
        if let Some(token) = &q.continue_token {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| serde_json::from_slice::<ContinueToken>(&b).ok())
                .ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
            items.retain(|o| format!("{}/{}", meta::namespace(o), meta::name(o)) > decoded.after);
            rv = decoded.rv;
        }
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if let Some(limit) = q.limit.filter(|l| *l > 0 && *l < items.len()) {
            let rest = items.split_off(limit);
            if let Some(last) = items.last() {
                let token = ContinueToken {
                    rv,
                    after: format!("{}/{}", meta::namespace(last), meta::name(last)),
                };
                let bytes =
                    serde_json::to_vec(&token).map_err(|e| ApiError::internal(e.to_string()))?;
                metadata["continue"] =
                    json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
                metadata["remainingItemCount"] = json!(rest.len());
            }
        }
        Ok(json!({
            "kind": rt.list_kind(),
            "apiVersion": rt.api_version(),
            "metadata": metadata,
            "items": items.into_iter().map(|o| present(rt, o)).collect::<Vec<_>>(),
        }))
    }

    /// The labels of the namespace a namespaced create goes to; 404 when it does not exist,
    /// 403 when it is being deleted.
    fn namespace_for_create(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
    ) -> Result<Option<Map<String, Value>>, ApiError> {
        if !rt.namespaced {
            return Ok(None);
        }
        if ns.is_empty() {
            return Err(ApiError::bad_request(
                "the namespace of the request is empty",
            ));
        }
        let Some(obj) = self.store.get(&ObjectKey::new("", "namespaces", "", ns)) else {
            return Err(ApiError::not_found(Subject {
                group: "",
                kind: "namespaces",
                name: ns,
            }));
        };
        if meta::is_deleting(&obj) {
            return Err(ApiError::forbidden(
                Subject {
                    group: &rt.group,
                    kind: &rt.plural,
                    name,
                },
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            ));
        }
        Ok(meta::labels(&obj).cloned())
    }

    /// Everything a new object goes through before it is stored.
    fn build_new(
        &self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
        manager: &str,
        ns_labels: Option<&Map<String, Value>>,
        managed: Option<Value>,
    ) -> Result<(Value, Vec<String>), ApiError> {
        let now = self.now();
        let uid = uuid::Uuid::new_v4().to_string();
        lifecycle::prepare_create(rt, &mut obj, ns, &uid, &now);
        defaults::apply(&rt.group, &rt.plural, &mut obj);
        validation::prepare_custom(rt, &mut obj);
        let name = meta::name(&obj).to_owned();
        let causes = validation::validate(rt, &obj, None);
        if !causes.is_empty() {
            return Err(invalid(rt, &name, causes));
        }
        let policy = self.config().pod_security;
        if rt.group.is_empty() && rt.plural == "pods" {
            if let Err(why) = policy.check_pod(ns_labels, &obj) {
                return Err(ApiError::forbidden(
                    Subject {
                        group: "",
                        kind: "pods",
                        name: &name,
                    },
                    &why,
                ));
            }
            let sa = obj["spec"]["serviceAccountName"]
                .as_str()
                .unwrap_or("default");
            if self.get_internal("", "serviceaccounts", ns, sa).is_none() {
                return Err(ApiError::forbidden(
                    Subject {
                        group: "",
                        kind: "pods",
                        name: &name,
                    },
                    &format!(
                        "error looking up service account {ns}/{sa}: serviceaccount \"{sa}\" not found"
                    ),
                ));
            }
        }
        let warnings = policy.template_warnings(ns_labels, &rt.group, &rt.plural, &obj);
        match (rt.group.as_str(), rt.plural.as_str()) {
            ("", "pods") => {
                let requests = ["containers"].iter().any(|k| {
                    obj["spec"][k].as_array().is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["resources"].as_object().is_some_and(|r| !r.is_empty()))
                    })
                });
                obj["status"] = json!({"phase": "Pending", "qosClass": if requests { "Burstable" } else { "BestEffort" }});
            }
            ("", "namespaces") => obj["status"] = json!({"phase": "Active"}),
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                obj["status"] = crate::apiserver::crd::established_status(&obj, &now);
            }
            _ => {}
        }
        match managed {
            Some(m) => {
                meta::metadata_mut(&mut obj).insert("managedFields".into(), m);
            }
            None => mf::record_update(
                None,
                &mut obj,
                manager,
                "",
                &rt.api_version(),
                &now,
                shapes(rt),
            ),
        }
        Ok((obj, warnings))
    }

    pub fn create(
        &self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request is not a JSON object",
            ));
        }
        let body_ns = meta::namespace(&obj);
        if rt.namespaced && !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if meta::name(&obj).is_empty() {
            let prefix = meta::meta_str(&obj, "generateName")
                .unwrap_or("")
                .to_owned();
            if prefix.is_empty() {
                return Err(invalid(
                    rt,
                    "",
                    vec![Cause::new(
                        "FieldValueRequired",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    )],
                ));
            }
            let name = format!("{prefix}{}", random_suffix());
            meta::metadata_mut(&mut obj).insert("name".into(), json!(name));
        }
        let name = meta::name(&obj).to_owned();
        let ns_labels = self.namespace_for_create(rt, ns, &name)?;
        let manager = opts.field_manager.as_deref().unwrap_or("unknown");
        let (obj, warnings) = self.build_new(rt, ns, obj, manager, ns_labels.as_ref(), None)?;
        if opts.dry_run {
            return Ok(Written {
                object: present(rt, obj),
                created: true,
                warnings,
            });
        }
        let k = key(rt, ns, &name);
        let stored = self.store.write(&k, |cur, _| {
            if cur.is_some() {
                return Err(ApiError::already_exists(Subject {
                    group: &rt.group,
                    kind: &rt.plural,
                    name: &name,
                }));
            }
            Ok((Write::Put(obj.clone()), ()))
        });
        stored?;
        let object = self.store.get(&k).unwrap_or(obj);
        self.after_write(rt, &object, false);
        Ok(Written {
            object: present(rt, object),
            created: true,
            warnings,
        })
    }

    /// The common end of update, patch and apply: defaults, server-owned fields, validation,
    /// managed fields, then the decision to store, delete (last finalizer gone) or do nothing.
    #[allow(clippy::too_many_arguments)]
    fn finish_update(
        &self,
        rt: &ResourceType,
        cur: &Value,
        mut candidate: Value,
        part: Part,
        manager: &str,
        record_managed: bool,
    ) -> Result<(Write, Value), ApiError> {
        let now = self.now();
        defaults::apply(&rt.group, &rt.plural, &mut candidate);
        validation::prepare_custom(rt, &mut candidate);
        let mut new = lifecycle::prepare_update(rt, cur, candidate, part)?;
        let causes = validation::validate(rt, &new, Some(cur));
        if !causes.is_empty() {
            return Err(invalid(rt, meta::name(cur), causes));
        }
        if record_managed {
            let sub = if part == Part::Status { "status" } else { "" };
            mf::record_update(
                Some(cur),
                &mut new,
                manager,
                sub,
                &rt.api_version(),
                &now,
                shapes(rt),
            );
        }
        if rt.is("apiextensions.k8s.io", "customresourcedefinitions") {
            new["status"] = crate::apiserver::crd::established_status(&new, &now);
        }
        if !lifecycle::differs(cur, &new) {
            return Ok((Write::Nothing, cur.clone()));
        }
        if lifecycle::ready_to_remove(&new) {
            return Ok((Write::Delete(new.clone()), new));
        }
        Ok((Write::Put(new.clone()), new))
    }

    /// PUT (the whole object, or its status with `Part::Status`).
    pub fn update(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut body: Value,
        part: Part,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request is not a JSON object",
            ));
        }
        let body_name = meta::name(&body);
        if body_name.is_empty() {
            meta::metadata_mut(&mut body).insert("name".into(), json!(name));
        } else if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let manager = opts
            .field_manager
            .clone()
            .unwrap_or_else(|| "unknown".to_owned());
        let k = key(rt, ns, name);
        let result = self.store.write(&k, |cur, _| {
            let cur = cur.ok_or_else(|| not_found(rt, name))?;
            if let Some(rv) = meta::resource_version(&body)
                && Some(rv) != meta::resource_version(cur)
            {
                return Err(conflict(rt, name));
            }
            let (w, obj) = self.finish_update(rt, cur, body.clone(), part, &manager, true)?;
            if opts.dry_run {
                return Ok((Write::Nothing, obj));
            }
            Ok((w, obj))
        })?;
        let object = if opts.dry_run {
            result
        } else {
            self.store.get(&k).unwrap_or(result)
        };
        self.after_write(rt, &object, false);
        Ok(Written {
            object: present(rt, object),
            created: false,
            warnings: Vec::new(),
        })
    }

    /// PATCH: merge, JSON, strategic merge, or server-side apply.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        kind: PatchKind,
        body: &Value,
        part: Part,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        if kind == PatchKind::Apply {
            return self.apply(rt, ns, name, body, part, opts);
        }
        if kind == PatchKind::Strategic && !rt.strategic_merge {
            return Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json",
            ));
        }
        let manager = opts
            .field_manager
            .clone()
            .unwrap_or_else(|| "unknown".to_owned());
        let k = key(rt, ns, name);
        let result = self.store.write(&k, |cur, _| {
            let cur = cur.ok_or_else(|| not_found(rt, name))?;
            let mut cand = cur.clone();
            match kind {
                PatchKind::Merge => patch::merge(&mut cand, body),
                PatchKind::Strategic => patch::strategic(&mut cand, body)?,
                PatchKind::Json => patch::json_patch(&mut cand, body).map_err(|e| match e {
                    patch::JsonPatchError::Malformed(m) => ApiError::bad_request(m),
                    patch::JsonPatchError::Failed(m) => {
                        invalid(rt, name, vec![Cause::invalid("", m)])
                    }
                })?,
                PatchKind::Apply => unreachable!("handled above"),
            }
            if let Some(rv) = meta::resource_version(&cand)
                && Some(rv) != meta::resource_version(cur)
            {
                return Err(conflict(rt, name));
            }
            let (w, obj) = self.finish_update(rt, cur, cand, part, &manager, true)?;
            if opts.dry_run {
                return Ok((Write::Nothing, obj));
            }
            Ok((w, obj))
        })?;
        let object = if opts.dry_run {
            result
        } else {
            self.store.get(&k).unwrap_or(result)
        };
        self.after_write(rt, &object, false);
        Ok(Written {
            object: present(rt, object),
            created: false,
            warnings: Vec::new(),
        })
    }

    fn apply(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        body: &Value,
        part: Part,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let Some(manager) = opts.field_manager.clone().filter(|m| !m.is_empty()) else {
            return Err(ApiError::bad_request(
                "PATCH, application/apply-patch+yaml requires a non-empty fieldManager",
            ));
        };
        let mut applied = body.clone();
        if !applied.is_object() {
            return Err(ApiError::bad_request(
                "the applied configuration is not an object",
            ));
        }
        if applied
            .get("kind")
            .and_then(Value::as_str)
            .is_none_or(|k| k != rt.kind)
        {
            return Err(ApiError::bad_request(format!(
                "the kind of the applied configuration must be {:?}, got {}",
                rt.kind,
                applied.get("kind").unwrap_or(&Value::Null)
            )));
        }
        let body_name = meta::name(&applied);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if let Value::Object(m) = &mut applied {
            m.remove("apiVersion");
            m.remove("kind");
            match part {
                Part::Main if rt.status_subresource => {
                    m.remove("status");
                }
                Part::Status => m.retain(|k, _| k == "status" || k == "metadata"),
                Part::Main => {}
            }
            if let Some(Value::Object(md)) = m.get_mut("metadata") {
                md.remove("name");
                md.remove("namespace");
                md.remove("resourceVersion");
                if part == Part::Status {
                    md.clear();
                }
            }
            if m.get("metadata")
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                m.remove("metadata");
            }
        }
        let now = self.now();
        let api_version = rt.api_version();
        let req = ApplyRequest {
            applied: &applied,
            manager: &manager,
            force: opts.force,
            subresource: if part == Part::Status { "status" } else { "" },
            api_version: &api_version,
            now: &now,
            shapes: shapes(rt),
        };
        let subject = Subject {
            group: &rt.group,
            kind: &rt.plural,
            name,
        };
        let k = key(rt, ns, name);
        if self.store.get(&k).is_none() {
            if part == Part::Status {
                return Err(not_found(rt, name));
            }
            let ns_labels = self.namespace_for_create(rt, ns, name)?;
            let mut obj =
                apply::apply(None, &req).map_err(|c| ApiError::apply_conflict(subject, c))?;
            let managed = obj["metadata"]["managedFields"].clone();
            meta::metadata_mut(&mut obj).insert("name".into(), json!(name));
            let (obj, warnings) =
                self.build_new(rt, ns, obj, &manager, ns_labels.as_ref(), Some(managed))?;
            if opts.dry_run {
                return Ok(Written {
                    object: present(rt, obj),
                    created: true,
                    warnings,
                });
            }
            let created = self.store.write(&k, |cur, _| match cur {
                // Lost a race with another creator: apply onto what is there now.
                Some(_) => Ok((Write::Nothing, false)),
                None => Ok((Write::Put(obj.clone()), true)),
            })?;
            if created {
                let object = self.store.get(&k).unwrap_or(obj);
                self.after_write(rt, &object, false);
                return Ok(Written {
                    object: present(rt, object),
                    created: true,
                    warnings,
                });
            }
        }
        let result = self.store.write(&k, |cur, _| {
            let cur = cur.ok_or_else(|| not_found(rt, name))?;
            let merged =
                apply::apply(Some(cur), &req).map_err(|c| ApiError::apply_conflict(subject, c))?;
            let (w, obj) = self.finish_update(rt, cur, merged, part, &manager, false)?;
            if opts.dry_run {
                return Ok((Write::Nothing, obj));
            }
            Ok((w, obj))
        })?;
        let object = if opts.dry_run {
            result
        } else {
            self.store.get(&k).unwrap_or(result)
        };
        self.after_write(rt, &object, false);
        Ok(Written {
            object: present(rt, object),
            created: false,
            warnings: Vec::new(),
        })
    }

    pub fn delete(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        let now = self.now();
        let k = key(rt, ns, name);
        let graceful_pods = self.config().graceful_pods;
        let outcome = self.store.write(&k, |cur, _| {
            let cur = cur.ok_or_else(|| not_found(rt, name))?;
            if let Some(uid) = &opts.precondition_uid
                && uid != meta::uid(cur) {
                    return Err(ApiError::conflict(
                        Subject { group: &rt.group, kind: &rt.plural, name },
                        &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta::uid(cur)),
                    ));
                }
            if let Some(rv) = &opts.precondition_rv
                && Some(rv.as_str()) != meta::resource_version(cur) {
                    return Err(ApiError::conflict(
                        Subject { group: &rt.group, kind: &rt.plural, name },
                        &format!(
                            "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                            meta::resource_version(cur).unwrap_or("")
                        ),
                    ));
                }
            if rt.group.is_empty() && rt.plural == "namespaces" {
                if meta::is_deleting(cur) {
                    return Ok((Write::Nothing, Deleted::Pending(cur.clone())));
                }
                let mut marked = cur.clone();
                meta::metadata_mut(&mut marked).insert("deletionTimestamp".into(), json!(now));
                marked["status"] = json!({"phase": "Terminating"});
                return Ok((if opts.dry_run { Write::Nothing } else { Write::Put(marked.clone()) }, Deleted::Pending(marked)));
            }
            let propagation = opts.propagation.unwrap_or(if rt.default_orphan { Propagation::Orphan } else { Propagation::Background });
            let grace = if rt.group.is_empty() && rt.plural == "pods" && graceful_pods && pod_is_running(cur) {
                Some(opts.grace_seconds.unwrap_or_else(|| cur["spec"]["terminationGracePeriodSeconds"].as_i64().unwrap_or(30)))
            } else {
                None
            };
            let (w, d) = match lifecycle::decide_delete(cur, propagation, &now, grace) {
                DeleteDecision::Remove => (Write::Delete(cur.clone()), Deleted::Gone(cur.clone())),
                DeleteDecision::Mark(obj) => (Write::Put(obj.clone()), Deleted::Pending(obj)),
                DeleteDecision::AlreadyDeleting => (Write::Nothing, Deleted::Pending(cur.clone())),
            };
            Ok((if opts.dry_run { Write::Nothing } else { w }, d))
        })?;
        if let Deleted::Gone(obj) = &outcome
            && !opts.dry_run
        {
            self.after_write(rt, obj, true);
        }
        Ok(match outcome {
            Deleted::Gone(o) => Deleted::Gone(present(rt, o)),
            Deleted::Pending(o) => Deleted::Pending(present(rt, self.store.get(&k).unwrap_or(o))),
        })
    }

    /// DELETE on a collection: each matching object as if deleted one by one.
    pub fn delete_collection(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        q: &ListQuery,
        opts: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let list = self.list(rt, ns, q)?;
        let mut deleted = Vec::new();
        for item in list["items"].as_array().into_iter().flatten() {
            match self.delete(rt, meta::namespace(item), meta::name(item), opts) {
                Ok(Deleted::Gone(o) | Deleted::Pending(o)) => deleted.push(o),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(json!({
            "kind": rt.list_kind(),
            "apiVersion": rt.api_version(),
            "metadata": {"resourceVersion": self.store.current_rv().to_string()},
            "items": deleted,
        }))
    }

    /// Hooks after a stored change: CRDs change what is served; a new namespace gets its
    /// `default` service account and `kube-root-ca.crt` ConfigMap (the service-account and
    /// root-CA publisher controllers, done at once).
    fn after_write(&self, rt: &ResourceType, obj: &Value, gone: bool) {
        if rt.group.is_empty() && rt.plural == "namespaces" && !gone && !meta::is_deleting(obj) {
            let ns = meta::name(obj);
            if self
                .get_internal("", "serviceaccounts", ns, "default")
                .is_none()
            {
                let _ = self.create_internal(
                    "",
                    "serviceaccounts",
                    ns,
                    json!({"metadata": {"name": "default"}}),
                    "service-account-controller",
                );
            }
            if self
                .get_internal("", "configmaps", ns, "kube-root-ca.crt")
                .is_none()
            {
                let cm = json!({"metadata": {"name": "kube-root-ca.crt", "annotations": {"kubernetes.io/description": "kube-sim serves plain HTTP: this CA bundle is empty"}}, "data": {"ca.crt": ""}});
                let _ = self.create_internal("", "configmaps", ns, cm, "root-ca-cert-publisher");
            }
            return;
        }
        if !rt.is("apiextensions.k8s.io", "customresourcedefinitions") {
            return;
        }
        let group = obj["spec"]["group"].as_str().unwrap_or("").to_owned();
        let plural = obj["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if gone {
            self.set_custom_types(&group, &plural, Vec::new());
            let (_, items) = self.store.list(&group, &plural, None);
            for item in items {
                let k = ObjectKey::new(&group, &plural, meta::namespace(&item), meta::name(&item));
                let _ = self.store.write(&k, |cur, _| {
                    Ok((cur.map_or(Write::Nothing, |c| Write::Delete(c.clone())), ()))
                });
            }
        } else if let Ok(types) = crate::apiserver::crd::served_types(obj) {
            self.set_custom_types(&group, &plural, types);
        }
    }

    // ---- in-process helpers for the kubelet and controllers ----

    fn rt_or_404(&self, group: &str, plural: &str) -> Result<Arc<ResourceType>, ApiError> {
        self.resource(group, plural)
            .ok_or_else(|| ApiError::no_route(&format!("{group}/{plural}")))
    }

    pub fn create_internal(
        &self,
        group: &str,
        plural: &str,
        ns: &str,
        obj: Value,
        manager: &str,
    ) -> Result<Value, ApiError> {
        let rt = self.rt_or_404(group, plural)?;
        let opts = WriteOptions {
            field_manager: Some(manager.to_owned()),
            ..WriteOptions::default()
        };
        self.create(&rt, ns, obj, &opts).map(|w| w.object)
    }

    pub fn get_internal(&self, group: &str, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let rt = self.resource(group, plural)?;
        self.store.get(&key(&rt, ns, name))
    }

    pub fn list_internal(&self, group: &str, plural: &str, ns: Option<&str>) -> Vec<Value> {
        self.store.list(group, plural, ns).1
    }

    /// Read-modify-write of one part of an object, atomically (no conflicts to retry).
    /// `change` returns `false` to leave the object alone.
    #[allow(clippy::too_many_arguments)]
    pub fn modify_internal(
        &self,
        group: &str,
        plural: &str,
        ns: &str,
        name: &str,
        part: Part,
        manager: &str,
        change: impl FnOnce(&mut Value) -> bool,
    ) -> Result<Option<Value>, ApiError> {
        let rt = self.rt_or_404(group, plural)?;
        let k = key(&rt, ns, name);
        let out = self.store.write(&k, |cur, _| {
            let cur = cur.ok_or_else(|| not_found(&rt, name))?;
            let mut cand = cur.clone();
            if !change(&mut cand) {
                return Ok((Write::Nothing, None));
            }
            let (w, obj) = self.finish_update(&rt, cur, cand, part, manager, true)?;
            Ok((w, Some(obj)))
        })?;
        Ok(out)
    }

    pub fn delete_internal(
        &self,
        group: &str,
        plural: &str,
        ns: &str,
        name: &str,
        propagation: Option<Propagation>,
    ) -> Result<Deleted, ApiError> {
        let rt = self.rt_or_404(group, plural)?;
        self.delete(
            &rt,
            ns,
            name,
            &DeleteOptions {
                propagation,
                ..DeleteOptions::default()
            },
        )
    }

    /// Ends a graceful deletion (the kubelet stopped the pod): gone now, unless finalizers
    /// remain, which keep it until they are removed.
    pub fn finish_deletion(
        &self,
        group: &str,
        plural: &str,
        ns: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let rt = self.rt_or_404(group, plural)?;
        let k = key(&rt, ns, name);
        let gone = self.store.write(&k, |cur, _| {
            let Some(cur) = cur else {
                return Ok((Write::Nothing, None));
            };
            if meta::finalizers(cur).is_empty() {
                return Ok((Write::Delete(cur.clone()), Some(cur.clone())));
            }
            let mut kept = cur.clone();
            meta::metadata_mut(&mut kept).insert("deletionGracePeriodSeconds".into(), json!(0));
            Ok((Write::Put(kept), None))
        })?;
        if let Some(obj) = gone {
            self.after_write(&rt, &obj, true);
        }
        Ok(())
    }
}

/// Whether the kubelet must stop the pod before it can go.
fn pod_is_running(pod: &Value) -> bool {
    let phase = pod["status"]["phase"].as_str().unwrap_or("");
    let scheduled = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    scheduled && matches!(phase, "Pending" | "Running")
}
