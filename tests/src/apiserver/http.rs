//! The HTTP front end: one fallback handler that authenticates, routes and answers with JSON
//! (or a streamed watch), the way kube-apiserver does.
//!
//! Only bearer-token authentication exists: every request except `/healthz`, `/livez`,
//! `/readyz` and `/version` must carry `Authorization: Bearer <token>` (the configured token or
//! one minted for a pod's service account). There is no authorization: any valid token may do
//! anything.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::apiserver::error::{ApiError, Subject, success_status};
use crate::apiserver::lifecycle::{Part, Propagation};
use crate::apiserver::operations::{DeleteOptions, Deleted, ListQuery, WriteOptions};
use crate::apiserver::patch::PatchKind;
use crate::apiserver::resources::ResourceType;
use crate::apiserver::routes::{self, ResourcePath, Route};
use crate::apiserver::selectors::{FieldSelector, LabelSelector, supported_fields};
use crate::apiserver::watch::{self, WatchParams};
use crate::apiserver::{ApiServer, discovery};

#[derive(Clone)]
pub struct HttpState {
    pub server: Arc<ApiServer>,
    /// `host:port` clients reach us at (for `/api`'s serverAddressByClientCIDRs).
    pub address: String,
}

pub fn router(state: HttpState) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(state)
}

fn json_response(code: u16, body: &Value) -> Response {
    json_response_typed(code, body, "application/json")
}

fn json_response_typed(code: u16, body: &Value, content_type: &str) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.to_status())
}

fn with_warnings(mut r: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let escaped = w.replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            r.headers_mut().append(header::WARNING, v);
        }
    }
    r
}

/// Query parameters (the last value wins, like Go's `url.Values.Get` on our single values).
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(uri: &Uri) -> Self {
        Self(
            url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1"))
    }
}

async fn handle(
    State(state): State<HttpState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let server = state.server.clone();
    let route = routes::parse(uri.path(), |g, v, r| {
        server.find(g, v, r).is_some_and(|t| t.namespaced)
    });
    let Some(route) = route else {
        return error_response(&ApiError::no_route(uri.path()));
    };
    let client = headers
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .and_then(|ua| ua.split(['/', ' ']).next())
        .unwrap_or("");
    server.count_request(client);
    if !matches!(route, Route::Health | Route::Version) {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or("");
        if !server.token_ok(token.trim()) {
            return error_response(&ApiError::unauthorized());
        }
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let result = match route {
        Route::Health => {
            let mut r = Response::new(Body::from("ok"));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return r;
        }
        Route::Version => Ok(json_response(200, &version())),
        Route::Compact if method == Method::POST => {
            server.store.compact();
            Ok(json_response(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
            ))
        }
        Route::Compact => Err(ApiError::method_not_allowed("POST only")),
        Route::CoreVersions => {
            if discovery::wants_aggregated(accept) {
                let types = server.resource_types();
                let refs: Vec<&ResourceType> = types.iter().map(|t| &**t).collect();
                Ok(json_response_typed(
                    200,
                    &discovery::aggregated(&server.group_versions(), &refs, true),
                    discovery::AGGREGATED_CONTENT_TYPE,
                ))
            } else {
                Ok(json_response(200, &discovery::api_versions(&state.address)))
            }
        }
        Route::Groups => {
            if discovery::wants_aggregated(accept) {
                let types = server.resource_types();
                let refs: Vec<&ResourceType> = types.iter().map(|t| &**t).collect();
                Ok(json_response_typed(
                    200,
                    &discovery::aggregated(&server.group_versions(), &refs, false),
                    discovery::AGGREGATED_CONTENT_TYPE,
                ))
            } else {
                Ok(json_response(
                    200,
                    &discovery::group_list(&server.group_versions()),
                ))
            }
        }
        Route::Group(g) => match server
            .group_versions()
            .into_iter()
            .find(|(name, _)| *name == g && !g.is_empty())
        {
            Some((name, versions)) => Ok(json_response(200, &discovery::group(&name, &versions))),
            None => Err(ApiError::no_route(uri.path())),
        },
        Route::Resources { group, version } => {
            let types = server.resource_types();
            let refs: Vec<&ResourceType> = types
                .iter()
                .filter(|t| t.group == group && t.version == version)
                .map(|t| &**t)
                .collect();
            if refs.is_empty() {
                Err(ApiError::no_route(uri.path()))
            } else {
                let gv = if group.is_empty() {
                    version
                } else {
                    format!("{group}/{version}")
                };
                Ok(json_response(200, &discovery::resource_list(&refs, &gv)))
            }
        }
        Route::Resource(path) => resource(&server, &method, &uri, &headers, &body, path),
    };
    result.unwrap_or_else(|e| error_response(&e))
}

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-kube-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn parse_body(body: &Bytes, content_type: &str) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            if content_type.contains("yaml") {
                let text = std::str::from_utf8(body)
                    .map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
                serde_saphyr::from_str::<Value>(text)
                    .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
            } else {
                Err(ApiError::bad_request(format!(
                    "error decoding JSON: {json_err}"
                )))
            }
        }
    }
}

fn field_manager(q: &Query, headers: &HeaderMap) -> Option<String> {
    q.get("fieldManager").map(str::to_owned).or_else(|| {
        headers
            .get(header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    })
}

fn list_query(q: &Query, rt: &ResourceType) -> Result<ListQuery, ApiError> {
    let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
    let mut supported: Vec<&str> = supported_fields(&rt.group, &rt.plural).to_vec();
    let custom_fields: Vec<String> = rt
        .custom()
        .map(|c| c.selectable_fields.clone())
        .unwrap_or_default();
    supported.extend(custom_fields.iter().map(String::as_str));
    let fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or(""), &supported)?;
    let limit = match q.get("limit") {
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
        ),
        None => None,
    };
    Ok(ListQuery {
        labels,
        fields,
        limit,
        continue_token: q
            .get("continue")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    })
}

fn delete_options(q: &Query, body: &Value) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions::default();
    let policy = q
        .get("propagationPolicy")
        .map(str::to_owned)
        .or_else(|| body["propagationPolicy"].as_str().map(str::to_owned));
    if let Some(p) = policy {
        opts.propagation = Some(Propagation::parse(&p)?);
    } else if q
        .get("orphanDependents")
        .map(|v| v == "true")
        .or_else(|| body["orphanDependents"].as_bool())
        == Some(true)
    {
        opts.propagation = Some(Propagation::Orphan);
    }
    opts.grace_seconds = match q.get("gracePeriodSeconds") {
        Some(g) => Some(
            g.parse()
                .map_err(|_| ApiError::bad_request("invalid gracePeriodSeconds"))?,
        ),
        None => body["gracePeriodSeconds"].as_i64(),
    };
    opts.precondition_uid = body["preconditions"]["uid"].as_str().map(str::to_owned);
    opts.precondition_rv = body["preconditions"]["resourceVersion"]
        .as_str()
        .map(str::to_owned);
    opts.dry_run = q.get("dryRun") == Some("All")
        || body["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok(opts)
}

/// Whether the client asked for `PartialObjectMetadata` (kube's `get_metadata`,
/// `metadata_watcher`); `Table` is not served and falls back to full objects.
fn wants_metadata(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .and_then(|a| a.split(',').next())
        .is_some_and(|first| first.contains("as=PartialObjectMetadata"))
}

fn metadata_list(list: Value) -> Value {
    let items: Vec<Value> = list["items"]
        .as_array()
        .map(|a| a.iter().map(watch::metadata_only).collect())
        .unwrap_or_default();
    json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": list["metadata"].clone(), "items": items})
}

fn resource(
    server: &Arc<ApiServer>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    path: ResourcePath,
) -> Result<Response, ApiError> {
    let Some(rt) = server.find(&path.group, &path.version, &path.plural) else {
        return Err(ApiError::no_route(uri.path()));
    };
    if path.namespace.is_some() && !rt.namespaced {
        return Err(ApiError::no_route(uri.path()));
    }
    let q = Query::parse(uri);
    let ns = path.namespace.clone().unwrap_or_default();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("application/json");
    let write_opts = WriteOptions {
        dry_run: q.get("dryRun") == Some("All"),
        field_manager: field_manager(&q, headers),
        force: q.flag("force"),
    };
    let Some(name) = path.name.clone() else {
        // Collections.
        return match *method {
            Method::GET if q.flag("watch") => {
                let lq = list_query(&q, &rt)?;
                let from = match q.get("resourceVersion") {
                    None | Some("" | "0") => None,
                    Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
                        ApiError::bad_request(format!("invalid resource version {rv:?}"))
                    })?),
                };
                let timeout = match q.get("timeoutSeconds") {
                    Some(t) => Duration::from_secs(
                        t.parse()
                            .map_err(|_| ApiError::bad_request("invalid timeoutSeconds"))?,
                    ),
                    None => Duration::from_secs(1800),
                };
                let params = WatchParams {
                    from,
                    namespace: path.namespace.clone(),
                    labels: lq.labels,
                    fields: lq.fields,
                    bookmarks: q.flag("allowWatchBookmarks"),
                    send_initial_events: q.flag("sendInitialEvents"),
                    timeout,
                    metadata_only: wants_metadata(headers),
                };
                let mut r = Response::new(Body::from_stream(watch::stream(
                    server.clone(),
                    rt.clone(),
                    params,
                )));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache, private"),
                );
                Ok(r)
            }
            Method::GET => {
                let lq = list_query(&q, &rt)?;
                let list = server.list(&rt, path.namespace.as_deref(), &lq)?;
                let list = if wants_metadata(headers) {
                    metadata_list(list)
                } else {
                    list
                };
                Ok(json_response(200, &list))
            }
            Method::POST => {
                if rt.namespaced && path.namespace.is_none() {
                    return Err(ApiError::method_not_allowed(
                        "POST on a namespaced resource needs a namespace in the path",
                    ));
                }
                let obj = parse_body(body, content_type)?;
                let w = server.create(&rt, &ns, obj, &write_opts)?;
                Ok(with_warnings(json_response(201, &w.object), &w.warnings))
            }
            Method::DELETE => {
                let lq = list_query(&q, &rt)?;
                let b = parse_body(body, content_type)?;
                let opts = delete_options(&q, &b)?;
                Ok(json_response(
                    200,
                    &server.delete_collection(&rt, path.namespace.as_deref(), &lq, &opts)?,
                ))
            }
            _ => Err(ApiError::method_not_allowed(format!(
                "{method} is not supported on collections"
            ))),
        };
    };
    if rt.namespaced && path.namespace.is_none() {
        return Err(ApiError::no_route(uri.path()));
    }
    let part = match path.subresource.as_deref() {
        None => Part::Main,
        Some("status") if rt.status_subresource => Part::Status,
        Some("log") if rt.log_subresource && *method == Method::GET => {
            return pod_log(server, &rt, &ns, &name, &q);
        }
        Some(_) => return Err(ApiError::no_route(uri.path())),
    };
    match *method {
        Method::GET => {
            let obj = server.get(&rt, &ns, &name)?;
            Ok(json_response(
                200,
                &if wants_metadata(headers) {
                    watch::metadata_only(&obj)
                } else {
                    obj
                },
            ))
        }
        Method::PUT => {
            let obj = parse_body(body, content_type)?;
            let w = server.update(&rt, &ns, &name, obj, part, &write_opts)?;
            Ok(with_warnings(json_response(200, &w.object), &w.warnings))
        }
        Method::PATCH => {
            let Some(kind) = PatchKind::from_content_type(content_type) else {
                return Err(ApiError::unsupported_media_type(content_type));
            };
            let patch = parse_body(body, content_type)?;
            let w = server.patch(&rt, &ns, &name, kind, &patch, part, &write_opts)?;
            Ok(with_warnings(
                json_response(if w.created { 201 } else { 200 }, &w.object),
                &w.warnings,
            ))
        }
        Method::DELETE if part == Part::Main => {
            let b = parse_body(body, content_type)?;
            let opts = delete_options(&q, &b)?;
            match server.delete(&rt, &ns, &name, &opts)? {
                Deleted::Gone(obj) => Ok(json_response(
                    200,
                    &success_status(
                        Subject {
                            group: &rt.group,
                            kind: &rt.plural,
                            name: &name,
                        },
                        crate::apiserver::meta::uid(&obj),
                    ),
                )),
                Deleted::Pending(obj) => Ok(json_response(200, &obj)),
            }
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "{method} is not supported here"
        ))),
    }
}

fn pod_log(
    server: &Arc<ApiServer>,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    q: &Query,
) -> Result<Response, ApiError> {
    let pod = server.get(rt, ns, name)?;
    let containers: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let container = match q.get("container") {
        Some(c) => c.to_owned(),
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    let Some(path) = server.pod_log_path(ns, name, Some(&container)) else {
        return Err(ApiError::bad_request(format!(
            "container {container:?} in pod {name:?} is waiting to start: ContainerCreating"
        )));
    };
    let mut text = std::fs::read(&path).unwrap_or_default();
    if let Some(n) = q.get("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        let lines: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
        text = lines[lines.len().saturating_sub(n)..].concat();
    }
    if let Some(n) = q.get("limitBytes").and_then(|t| t.parse::<usize>().ok()) {
        text.truncate(n);
    }
    let mut r = Response::new(Body::from(text));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(r)
}
