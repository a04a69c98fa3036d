//! The simulator seen through the real kube-rs client: what the operator will rely on.

use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{ApiResource, Discovery, Scope};
use kube::runtime::wait::{Condition, await_condition, conditions};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Config, Resource as _, ResourceExt as _};
use plimsoll_e2e::{Simulator, SimulatorConfig};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

async fn client_for(sim: &Simulator) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(&sim.kubeconfig()).expect("kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

async fn start(cfg: SimulatorConfig) -> (Simulator, Client) {
    let sim = Simulator::start(cfg).await.expect("simulator starts");
    let client = client_for(&sim).await;
    (sim, client)
}

async fn start_default() -> (Simulator, Client) {
    start(SimulatorConfig::default()).await
}

fn err_code(e: &kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone()),
        other => panic!("not an API error: {other:?}"),
    }
}

async fn wait_for<K, C>(api: Api<K>, name: &str, cond: C) -> K
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    C: Condition<K>,
{
    tokio::time::timeout(WAIT, await_condition(api, name, cond))
        .await
        .expect("condition reached in time")
        .expect("watch works")
        .expect("object exists")
}

fn cm(name: &str, labels: Value, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "data": data}))
        .expect("valid ConfigMap")
}

// ---------- CRUD, selectors, concurrency ----------

#[tokio::test]
async fn configmap_crud_selectors_and_conflicts() {
    let (_sim, client) = start_default().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let a = api
        .create(
            &PostParams::default(),
            &cm(
                "a",
                json!({"app": "web", "tier": "front"}),
                json!({"k": "1"}),
            ),
        )
        .await
        .expect("create a");
    api.create(
        &PostParams::default(),
        &cm("b", json!({"app": "db"}), json!({})),
    )
    .await
    .expect("create b");
    api.create(
        &PostParams::default(),
        &cm("c", json!({"other": "x"}), json!({})),
    )
    .await
    .expect("create c");
    assert!(a.metadata.uid.is_some() && a.metadata.creation_timestamp.is_some());
    let rv_a: u64 = a
        .resource_version()
        .expect("rv")
        .parse()
        .expect("numeric rv");

    let names = |l: kube::core::ObjectList<ConfigMap>| {
        l.items
            .iter()
            .map(|c| c.name_any())
            .filter(|n| n.len() == 1)
            .collect::<Vec<_>>()
    };
    for (sel, want) in [
        ("app=web", vec!["a"]),
        ("app==web", vec!["a"]),
        ("app!=web", vec!["b", "c"]),
        ("app in (web,db)", vec!["a", "b"]),
        ("app notin (web)", vec!["b", "c"]),
        ("app", vec!["a", "b"]),
        ("!app", vec!["c"]),
    ] {
        let got = names(
            api.list(&ListParams::default().labels(sel))
                .await
                .expect("list"),
        );
        assert_eq!(got, want, "{sel}");
    }
    let by_field = api
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .expect("list");
    assert_eq!(names(by_field), ["b"]);
    let list = api.list(&ListParams::default()).await.expect("list");
    let list_rv: u64 = list
        .metadata
        .resource_version
        .expect("list rv")
        .parse()
        .expect("numeric");
    assert!(list_rv > rv_a);

    // Paging.
    let page = api
        .list(&ListParams::default().limit(2))
        .await
        .expect("page 1");
    assert_eq!(page.items.len(), 2);
    let token = page.metadata.continue_.clone().expect("continue token");
    let rest = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .expect("page 2");
    assert!(!rest.items.is_empty());

    // AlreadyExists, NotFound.
    let dup = api
        .create(&PostParams::default(), &cm("a", json!({}), json!({})))
        .await
        .expect_err("duplicate");
    assert_eq!(err_code(&dup), (409, "AlreadyExists".to_owned()));
    let missing = api.get("nope").await.expect_err("missing");
    assert_eq!(err_code(&missing), (404, "NotFound".to_owned()));

    // Optimistic concurrency: the second writer with the old resourceVersion loses.
    let mut first = api.get("a").await.expect("get");
    let mut second = first.clone();
    first.data = Some([("k".to_owned(), "2".to_owned())].into());
    api.replace("a", &PostParams::default(), &first)
        .await
        .expect("first replace");
    second.data = Some([("k".to_owned(), "3".to_owned())].into());
    let stale = api
        .replace("a", &PostParams::default(), &second)
        .await
        .expect_err("stale");
    assert_eq!(err_code(&stale), (409, "Conflict".to_owned()));

    // generateName.
    let mut g = cm("", json!({}), json!({}));
    g.metadata.name = None;
    g.metadata.generate_name = Some("gen-".to_owned());
    let g = api
        .create(&PostParams::default(), &g)
        .await
        .expect("generateName");
    assert!(g.name_any().starts_with("gen-") && g.name_any().len() == 9);

    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(err_code(&api.get("a").await.expect_err("gone")).0, 404);

    // A namespace that does not exist.
    let other: Api<ConfigMap> = Api::namespaced(client, "nowhere");
    let e = other
        .create(&PostParams::default(), &cm("x", json!({}), json!({})))
        .await
        .expect_err("no namespace");
    assert_eq!(err_code(&e).0, 404);
}

#[tokio::test]
async fn unauthenticated_requests_are_refused() {
    let sim = Simulator::start(SimulatorConfig::default())
        .await
        .expect("starts");
    let mut config = Config::new(sim.url().parse().expect("url"));
    config.default_namespace = "default".to_owned();
    let client = Client::try_from(config).expect("client");
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let e = api
        .list(&ListParams::default())
        .await
        .expect_err("no token");
    assert_eq!(err_code(&e).0, 401);
}

// ---------- patches and server-side apply ----------

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    let (_sim, client) = start_default().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(
        &PostParams::default(),
        &cm("p", json!({"a": "1"}), json!({"x": "1", "y": "2"})),
    )
    .await
    .expect("create");
    let merged = api
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"x": null, "z": "3"}})),
        )
        .await
        .expect("merge");
    assert_eq!(
        merged.data,
        Some(
            [
                ("y".to_owned(), "2".to_owned()),
                ("z".to_owned(), "3".to_owned())
            ]
            .into()
        )
    );

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/y", "value": "2"},
        {"op": "replace", "path": "/data/y", "value": "22"},
        {"op": "add", "path": "/metadata/labels/b", "value": "2"}
    ]))
    .expect("patch");
    let patched = api
        .patch("p", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .expect("json patch");
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("y"))
            .map(String::as_str),
        Some("22")
    );
    assert_eq!(patched.labels().get("b").map(String::as_str), Some("2"));
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/y", "value": "nope"}]))
            .expect("patch");
    let e = api
        .patch("p", &PatchParams::default(), &Patch::<()>::Json(failing))
        .await
        .expect_err("test op fails");
    assert_eq!(err_code(&e).0, 422);

    // Strategic merge: containers merge by name (Deployments are stored, not run).
    let deploys: Api<DynamicObject> = Api::namespaced_with(
        client,
        "default",
        &ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            "apps",
            "v1",
            "Deployment",
        )),
    );
    let d: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "one", "image": "i:1"}, {"name": "two", "image": "j:1"}]}}}
    })).expect("deployment");
    deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("create deployment");
    let out = deploys
        .patch("d", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "two", "image": "j:2"}]}}}})))
        .await
        .expect("strategic");
    let containers = &out.data["spec"]["template"]["spec"]["containers"];
    assert_eq!(
        containers,
        &json!([{"name": "one", "image": "i:1"}, {"name": "two", "image": "j:2"}])
    );
    assert_eq!(out.metadata.generation, Some(2));
}

#[tokio::test]
async fn server_side_apply_by_two_managers() {
    let (_sim, client) = start_default().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let apply = |manager: &str, force: bool| {
        let mut p = PatchParams::apply(manager);
        p.force = force;
        p
    };
    let a1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1", "shared": "s"}});
    let first = api
        .patch("ssa", &apply("alice", false), &Patch::Apply(&a1))
        .await
        .expect("create by apply");
    let again = api
        .patch("ssa", &apply("alice", false), &Patch::Apply(&a1))
        .await
        .expect("idempotent");
    assert_eq!(
        first.resource_version(),
        again.resource_version(),
        "re-applying the same config writes nothing"
    );

    let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"b": "2", "shared": "s"}});
    let both = api
        .patch("ssa", &apply("bob", false), &Patch::Apply(&b))
        .await
        .expect("second manager");
    let data = both.data.clone().expect("data");
    assert_eq!((data["a"].as_str(), data["b"].as_str()), ("1", "2"));
    let managers: Vec<String> = both
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, ["alice", "bob"]);
    let b_again = api
        .patch("ssa", &apply("bob", false), &Patch::Apply(&b))
        .await
        .expect("idempotent too");
    assert_eq!(both.resource_version(), b_again.resource_version());

    // Alice drops `a` and `shared`: `a` goes, `shared` stays (Bob still applies it).
    let a2 =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {}});
    let after = api
        .patch("ssa", &apply("alice", false), &Patch::Apply(&a2))
        .await
        .expect("apply");
    let data = after.data.expect("data");
    assert!(!data.contains_key("a"));
    assert_eq!(data.get("shared").map(String::as_str), Some("s"));

    // Changing a field Bob owns: conflict, unless forced.
    let steal = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"b": "stolen"}});
    let e = api
        .patch("ssa", &apply("alice", false), &Patch::Apply(&steal))
        .await
        .expect_err("conflict");
    assert_eq!(err_code(&e).0, 409);
    let forced = api
        .patch("ssa", &apply("alice", true), &Patch::Apply(&steal))
        .await
        .expect("forced");
    assert_eq!(forced.data.expect("data")["b"], "stolen");
}

// ---------- custom resources ----------

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [all]}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [image]
            x-kubernetes-validations:
            - rule: "self.replicas <= 10"
              message: "at most 10 replicas"
            properties:
              image: {type: string, minLength: 1}
              replicas: {type: integer, default: 1}
              mode: {type: string, enum: [fast, slow]}
              port: {x-kubernetes-int-or-string: true}
          status:
            type: object
            properties:
              phase: {type: string}
              conditions:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [type]
                items:
                  type: object
                  properties:
                    type: {type: string}
                    status: {type: string}
"#;

async fn install_crd(client: &Client) -> ApiResource {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_saphyr::from_str(CRD).expect("CRD YAML");
    crds.patch(
        "widgets.example.com",
        &PatchParams::apply("test").force(),
        &Patch::Apply(&crd),
    )
    .await
    .expect("apply CRD");
    wait_for(
        crds,
        "widgets.example.com",
        conditions::is_crd_established(),
    )
    .await;
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let (ar, caps) = discovery
        .resolve_gvk(&kube::core::GroupVersionKind::gvk(
            "example.com",
            "v1alpha1",
            "Widget",
        ))
        .expect("served after the CRD");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert_eq!(ar.plural, "widgets");
    ar
}

fn widget(name: &str, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "example.com/v1alpha1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})).expect("widget")
}

#[tokio::test]
async fn crd_serves_validates_and_defaults_custom_resources() {
    let (_sim, client) = start_default().await;
    let ar = install_crd(&client).await;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let w = api
        .create(
            &PostParams::default(),
            &widget("w1", json!({"image": "x", "unknown": 1})),
        )
        .await
        .expect("create");
    assert_eq!(w.data["spec"]["replicas"], 1, "defaulted");
    assert!(w.data["spec"].get("unknown").is_none(), "pruned");
    assert_eq!(w.metadata.generation, Some(1));

    let e = api
        .create(
            &PostParams::default(),
            &widget("bad", json!({"mode": "warp"})),
        )
        .await
        .expect_err("invalid");
    let kube::Error::Api(status) = &e else {
        panic!("API error expected: {e:?}")
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(
        status.message.contains("spec.image: Required value"),
        "{}",
        status.message
    );
    assert!(
        status
            .message
            .contains("spec.mode: Unsupported value: \"warp\""),
        "{}",
        status.message
    );
    let cel = api
        .create(
            &PostParams::default(),
            &widget("big", json!({"image": "x", "replicas": 11})),
        )
        .await
        .expect_err("CEL rule");
    let kube::Error::Api(status) = &cel else {
        panic!("API error expected: {cel:?}")
    };
    assert!(
        status.message.contains("at most 10 replicas"),
        "{}",
        status.message
    );

    // Aggregated discovery sees the CRD too; kubectl-style short names are listed.
    let agg = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .expect("aggregated discovery");
    assert!(agg.has_group("example.com"));

    // Cluster-wide list and the CRD going away.
    let all: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    assert_eq!(
        all.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        1
    );
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .expect("delete CRD");
    let e = all
        .list(&ListParams::default())
        .await
        .expect_err("no longer served");
    assert_eq!(err_code(&e).0, 404);
}

#[tokio::test]
async fn status_subresource_and_generation() {
    let (_sim, client) = start_default().await;
    let ar = install_crd(&client).await;
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    api.create(&PostParams::default(), &widget("g", json!({"image": "a"})))
        .await
        .expect("create");
    let status = json!({"apiVersion": "example.com/v1alpha1", "kind": "Widget", "status": {"phase": "Ready", "conditions": [{"type": "Ready", "status": "True"}]}});
    let s = api
        .patch_status(
            "g",
            &PatchParams::apply("operator").force(),
            &Patch::Apply(&status),
        )
        .await
        .expect("status apply");
    assert_eq!(s.data["status"]["phase"], "Ready");
    assert_eq!(
        s.metadata.generation,
        Some(1),
        "status writes leave generation alone"
    );
    let again = api
        .patch_status(
            "g",
            &PatchParams::apply("operator").force(),
            &Patch::Apply(&status),
        )
        .await
        .expect("status apply");
    assert_eq!(again.resource_version(), s.resource_version());

    let main = api
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"image": "b"}, "status": {"phase": "Ignored"}})),
        )
        .await
        .expect("spec patch");
    assert_eq!(main.metadata.generation, Some(2));
    assert_eq!(
        main.data["status"]["phase"], "Ready",
        "the main endpoint ignores status"
    );
    let via_status = api
        .patch_status(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"image": "c"}, "status": {"phase": "Done"}})),
        )
        .await
        .expect("status patch");
    assert_eq!(
        via_status.data["spec"]["image"], "b",
        "/status ignores spec"
    );
    assert_eq!(via_status.data["status"]["phase"], "Done");
    let labels = api
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"l": "v"}}})),
        )
        .await
        .expect("labels");
    assert_eq!(
        labels.metadata.generation,
        Some(2),
        "metadata changes leave generation alone"
    );
}

#[tokio::test]
async fn watches_resume_relist_after_410_and_bookmark() {
    let cfg = SimulatorConfig {
        bookmark_interval: Duration::from_secs(3600),
        ..SimulatorConfig::default()
    };
    let (sim, client) = start(cfg).await;
    let ar = install_crd(&client).await;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let start_rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");

    // A watcher that reconnects every second.
    let mut stream = watcher(api.clone(), watcher::Config::default().timeout(1))
        .default_backoff()
        .boxed();
    let mut next = async || {
        tokio::time::timeout(WAIT, stream.try_next())
            .await
            .expect("event in time")
            .expect("no error")
            .expect("stream goes on")
    };
    assert!(matches!(next().await, watcher::Event::Init));
    assert!(matches!(next().await, watcher::Event::InitDone));
    api.create(&PostParams::default(), &widget("w", json!({"image": "a"})))
        .await
        .expect("create");
    assert!(matches!(next().await, watcher::Event::Apply(o) if o.name_any() == "w"));
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"image": "b"}})),
    )
    .await
    .expect("patch");
    assert!(matches!(next().await, watcher::Event::Apply(o) if o.data["spec"]["image"] == "b"));
    api.delete("w", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(matches!(next().await, watcher::Event::Delete(o) if o.name_any() == "w"));

    // Move the revision on elsewhere, then forget history: the watcher's next reconnect gets
    // 410 Gone and relists.
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    cms.create(&PostParams::default(), &cm("bump", json!({}), json!({})))
        .await
        .expect("bump");
    sim.compact_watch_history();
    let mut relisted = false;
    for _ in 0..5 {
        match tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("event in time")
        {
            Some(Err(_)) => {} // the 410, surfaced once
            Some(Ok(watcher::Event::Init)) => {
                relisted = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(relisted, "the watcher relisted after 410");

    // Raw watches: resume from a revision (replay), and 410 for a compacted one.
    let mut replay = api
        .watch(&WatchParams::default().timeout(2), &start_rv)
        .await
        .expect("watch")
        .boxed();
    let first = tokio::time::timeout(WAIT, replay.try_next())
        .await
        .expect("in time")
        .expect("ok")
        .expect("event");
    assert!(
        matches!(first, WatchEvent::Error(ref e) if e.code == 410),
        "{first:?}"
    );
    let now_rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    api.create(&PostParams::default(), &widget("w2", json!({"image": "a"})))
        .await
        .expect("create");
    let mut resumed = api
        .watch(&WatchParams::default().timeout(2), &now_rv)
        .await
        .expect("watch")
        .boxed();
    let ev = tokio::time::timeout(WAIT, resumed.try_next())
        .await
        .expect("in time")
        .expect("ok")
        .expect("event");
    assert!(
        matches!(ev, WatchEvent::Added(ref o) if o.name_any() == "w2"),
        "{ev:?}"
    );

    // Bookmarks when asked (a short interval for this watch's server).
    let cfg = SimulatorConfig {
        bookmark_interval: Duration::from_millis(50),
        ..SimulatorConfig::default()
    };
    let (_sim2, client2) = start(cfg).await;
    let cms2: Api<ConfigMap> = Api::default_namespaced(client2);
    let rv = cms2
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut bm = cms2
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .expect("watch")
        .boxed();
    let ev = tokio::time::timeout(WAIT, bm.try_next())
        .await
        .expect("in time")
        .expect("ok")
        .expect("event");
    assert!(
        matches!(ev, WatchEvent::Bookmark(ref b) if b.metadata.resource_version == rv),
        "{ev:?}"
    );
}

#[tokio::test]
async fn label_selected_watch_sees_objects_enter_and_leave() {
    let (_sim, client) = start_default().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut w = api
        .watch(&WatchParams::default().labels("app=web").timeout(5), &rv)
        .await
        .expect("watch")
        .boxed();
    api.create(
        &PostParams::default(),
        &cm("x", json!({"app": "db"}), json!({})),
    )
    .await
    .expect("create");
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})),
    )
    .await
    .expect("enter");
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "db"}}})),
    )
    .await
    .expect("leave");
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let ev = tokio::time::timeout(WAIT, w.try_next())
            .await
            .expect("in time")
            .expect("ok")
            .expect("event");
        kinds.push(match ev {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            _ => "OTHER",
        });
    }
    assert_eq!(kinds, ["ADDED", "DELETED"]);
}

// ---------- deletion: finalizers, owners ----------

#[tokio::test]
async fn finalizers_hold_deletion() {
    let (_sim, client) = start_default().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let mut c = cm("f", json!({}), json!({}));
    c.metadata.finalizers = Some(vec!["example.com/hold".to_owned()]);
    api.create(&PostParams::default(), &c)
        .await
        .expect("create");
    let deleted = api
        .delete("f", &DeleteParams::default())
        .await
        .expect("delete");
    let held = deleted.left().expect("kept while the finalizer remains");
    assert!(held.metadata.deletion_timestamp.is_some());
    let e = api
        .patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}}),
            ),
        )
        .await
        .expect_err("no new finalizers");
    assert_eq!(err_code(&e).0, 422);
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("release");
    assert_eq!(err_code(&api.get("f").await.expect_err("gone")).0, 404);
}

#[tokio::test]
async fn owner_references_cascade() {
    let (_sim, client) = start_default().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let secrets: Api<Secret> = Api::default_namespaced(client);
    let mut dependents = Vec::new();
    for (owner, dep) in [("bg", "bg-dep"), ("fg", "fg-dep"), ("or", "or-dep")] {
        let o = cms
            .create(&PostParams::default(), &cm(owner, json!({}), json!({})))
            .await
            .expect("owner");
        let s: Secret = serde_json::from_value(json!({"metadata": {"name": dep, "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": o.uid().expect("uid"), "blockOwnerDeletion": true}]}, "stringData": {"k": "v"}})).expect("secret");
        let s = secrets
            .create(&PostParams::default(), &s)
            .await
            .expect("dependent");
        assert_eq!(s.data.expect("stringData became data")["k"].0, b"v");
        dependents.push(dep);
    }
    cms.delete("bg", &DeleteParams::background())
        .await
        .expect("background");
    wait_gone(&secrets, "bg-dep").await;

    let fg = cms
        .delete("fg", &DeleteParams::foreground())
        .await
        .expect("foreground")
        .left()
        .expect("owner waits");
    assert!(fg.finalizers().contains(&"foregroundDeletion".to_owned()));
    wait_gone(&secrets, "fg-dep").await;
    wait_gone(&cms, "fg").await;

    cms.delete("or", &DeleteParams::orphan())
        .await
        .expect("orphan");
    wait_gone(&cms, "or").await;
    let orphan = secrets.get("or-dep").await.expect("dependent survives");
    assert!(orphan.owner_references().is_empty());
}

async fn wait_gone<K>(api: &Api<K>, name: &str)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let uid = match api.get_opt(name).await.expect("get") {
        Some(o) => o.meta().uid.clone().unwrap_or_default(),
        None => return,
    };
    tokio::time::timeout(
        WAIT,
        await_condition(api.clone(), name, conditions::is_deleted(&uid)),
    )
    .await
    .expect("deleted in time")
    .expect("watch works");
}

// ---------- pods, Jobs, CronJobs ----------

fn restricted_pod_spec(command: &[&str], restart: &str) -> Value {
    json!({
        "restartPolicy": restart,
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "main",
            "image": "busybox:1.36",
            "command": command,
            "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}
        }],
        "volumes": [{"name": "tmp", "emptyDir": {}}]
    })
}

fn job(name: &str, command: &[&str], extra: Value) -> Job {
    let mut spec =
        json!({"backoffLimit": 0, "template": {"spec": restricted_pod_spec(command, "Never")}});
    if let (Value::Object(s), Value::Object(e)) = (&mut spec, extra) {
        s.extend(e);
    }
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).expect("job")
}

fn has_condition(j: &Job, t: &str, reason: Option<&str>) -> bool {
    j.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.type_ == t
                    && c.status == "True"
                    && reason.is_none_or(|r| c.reason.as_deref() == Some(r))
            })
        })
}

async fn with_secret(client: &Client) {
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    let s: Secret = serde_json::from_value(
        json!({"metadata": {"name": "creds"}, "stringData": {"token": "s3cr3t"}}),
    )
    .expect("secret");
    secrets
        .create(&PostParams::default(), &s)
        .await
        .expect("secret");
}

#[tokio::test]
async fn jobs_complete_fail_and_time_out() {
    let (_sim, client) = start_default().await;
    with_secret(&client).await;
    let jobs: Api<Job> = Api::default_namespaced(client.clone());
    let pods: Api<Pod> = Api::default_namespaced(client.clone());

    let ok = job(
        "ok",
        &[
            "/bin/sh",
            "-c",
            "test \"$TOKEN\" = s3cr3t && echo hello > /tmp/out && cat /tmp/out",
        ],
        json!({}),
    );
    jobs.create(&PostParams::default(), &ok)
        .await
        .expect("create");
    let done = wait_for(jobs.clone(), "ok", conditions::is_job_completed()).await;
    assert!(has_condition(&done, "Complete", None), "{:?}", done.status);
    let st = done.status.expect("status");
    assert_eq!((st.succeeded, st.failed), (Some(1), None));
    assert!(st.start_time.is_some() && st.completion_time.is_some());
    let pod = pods
        .list(&ListParams::default().labels("job-name=ok"))
        .await
        .expect("pods")
        .items
        .pop()
        .expect("one pod");
    assert_eq!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded")
    );
    let logs = pods
        .logs(&pod.name_any(), &Default::default())
        .await
        .expect("logs");
    assert_eq!(logs, "hello\n");

    let fail = job(
        "fail",
        &["/bin/sh", "-c", "exit 3"],
        json!({"backoffLimit": 1}),
    );
    jobs.create(&PostParams::default(), &fail)
        .await
        .expect("create");
    let failed = wait_for(jobs.clone(), "fail", |j: Option<&Job>| {
        j.is_some_and(|j| has_condition(j, "Failed", None))
    })
    .await;
    assert!(has_condition(
        &failed,
        "Failed",
        Some("BackoffLimitExceeded")
    ));
    assert_eq!(
        failed.status.as_ref().and_then(|s| s.failed),
        Some(2),
        "one try plus backoffLimit retries"
    );
    let fpods = pods
        .list(&ListParams::default().labels("job-name=fail"))
        .await
        .expect("pods")
        .items;
    let code = fpods[0]
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c[0].state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .map(|t| t.exit_code);
    assert_eq!(code, Some(3));

    let slow = job(
        "slow",
        &["/bin/sh", "-c", "sleep 30"],
        json!({"activeDeadlineSeconds": 1}),
    );
    jobs.create(&PostParams::default(), &slow)
        .await
        .expect("create");
    let timed_out = wait_for(jobs.clone(), "slow", |j: Option<&Job>| {
        j.is_some_and(|j| has_condition(j, "Failed", None))
    })
    .await;
    assert!(
        has_condition(&timed_out, "Failed", Some("DeadlineExceeded")),
        "{:?}",
        timed_out.status
    );
    wait_until_no_pods(&pods, "job-name=slow").await;

    let oom = job("oom", &["/bin/sh", "-c", "exit 137"], json!({}));
    jobs.create(&PostParams::default(), &oom)
        .await
        .expect("create");
    wait_for(jobs.clone(), "oom", |j: Option<&Job>| {
        j.is_some_and(|j| has_condition(j, "Failed", None))
    })
    .await;
    let opod = pods
        .list(&ListParams::default().labels("job-name=oom"))
        .await
        .expect("pods")
        .items
        .pop()
        .expect("pod");
    let reason = opod
        .status
        .and_then(|s| s.container_statuses)
        .and_then(|c| c[0].state.clone())
        .and_then(|s| s.terminated)
        .and_then(|t| t.reason);
    assert_eq!(reason.as_deref(), Some("OOMKilled"));

    // TTL after finished: the Job and its pods go.
    let ttl = job(
        "ttl",
        &["/bin/sh", "-c", "exit 0"],
        json!({"ttlSecondsAfterFinished": 0}),
    );
    jobs.create(&PostParams::default(), &ttl)
        .await
        .expect("create");
    tokio::time::timeout(WAIT, async {
        loop {
            if jobs.get_opt("ttl").await.expect("get").is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("TTL deletes the job");
    wait_until_no_pods(&pods, "job-name=ttl").await;
}

async fn wait_until_no_pods(pods: &Api<Pod>, selector: &str) {
    tokio::time::timeout(WAIT, async {
        loop {
            let left = pods
                .list(&ListParams::default().labels(selector))
                .await
                .expect("list")
                .items;
            if left.iter().all(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .is_some_and(|ph| ph == "Failed" || ph == "Succeeded")
            }) && left.iter().all(|p| p.metadata.deletion_timestamp.is_none())
                || left.is_empty()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("pods stopped");
}

#[tokio::test]
async fn pod_security_restricted_is_enforced() {
    let (_sim, client) = start_default().await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "root"}, "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["true"], "securityContext": {"privileged": true}}]}})).expect("pod");
    let e = pods
        .create(&PostParams::default(), &p)
        .await
        .expect_err("refused");
    let kube::Error::Api(s) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(s.code, 403);
    assert!(
        s.message
            .contains("violates PodSecurity \"restricted:latest\""),
        "{}",
        s.message
    );
    assert!(
        s.message
            .contains("privileged (container \"c\" must not set securityContext.privileged=true)"),
        "{}",
        s.message
    );
    assert!(
        s.message.contains("allowPrivilegeEscalation != false"),
        "{}",
        s.message
    );

    // A Job with such a template: a warning at create, FailedCreate events, no pod.
    let jobs: Api<Job> = Api::default_namespaced(client.clone());
    let bad: Job = serde_json::from_value(json!({"metadata": {"name": "bad"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}})).expect("job");
    jobs.create(&PostParams::default(), &bad)
        .await
        .expect("jobs are admitted");
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::default_namespaced(client);
    tokio::time::timeout(WAIT, async {
        loop {
            let list = events
                .list(&ListParams::default().fields("involvedObject.name=bad,reason=FailedCreate"))
                .await
                .expect("events");
            if let Some(ev) = list.items.first() {
                assert!(
                    ev.message
                        .as_deref()
                        .unwrap_or("")
                        .contains("violates PodSecurity"),
                    "{:?}",
                    ev.message
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("FailedCreate recorded");
    assert!(
        pods.list(&ListParams::default().labels("job-name=bad"))
            .await
            .expect("pods")
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn cronjobs_run_on_schedule_and_by_hand() {
    // A sped-up cron clock: `* * * * *` fires every real second.
    let (_sim, client) = start(SimulatorConfig {
        cron_speed: 60,
        ..SimulatorConfig::default()
    })
    .await;
    with_secret(&client).await;
    let cjs: Api<CronJob> = Api::default_namespaced(client.clone());
    let jobs: Api<Job> = Api::default_namespaced(client.clone());
    let cj: CronJob = serde_json::from_value(json!({
        "metadata": {"name": "tick"},
        "spec": {"schedule": "* * * * *", "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 2,
                 "jobTemplate": {"metadata": {"labels": {"from": "tick"}}, "spec": {"backoffLimit": 0, "template": {"spec": restricted_pod_spec(&["/bin/sh", "-c", "exit 0"], "Never")}}}}
    })).expect("cronjob");
    let cj = cjs
        .create(&PostParams::default(), &cj)
        .await
        .expect("create");
    let invalid: CronJob = serde_json::from_value(json!({"metadata": {"name": "bad"}, "spec": {"schedule": "* * * * * *", "jobTemplate": {"spec": {"template": {"spec": restricted_pod_spec(&["true"], "Never")}}}}})).expect("cronjob");
    assert_eq!(
        err_code(
            &cjs.create(&PostParams::default(), &invalid)
                .await
                .expect_err("six fields")
        )
        .0,
        422
    );

    let scheduled = |n: usize| {
        let jobs = jobs.clone();
        async move {
            tokio::time::timeout(WAIT, async {
                loop {
                    let done = jobs
                        .list(&ListParams::default().labels("from=tick"))
                        .await
                        .expect("list")
                        .items;
                    let completed = done
                        .iter()
                        .filter(|j| has_condition(j, "Complete", None))
                        .count();
                    if completed >= n {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await
            .expect("scheduled jobs ran");
        }
    };
    scheduled(2).await;
    let first = cjs.get("tick").await.expect("get");
    assert!(
        first
            .status
            .as_ref()
            .and_then(|s| s.last_schedule_time.as_ref())
            .is_some()
    );
    let owned = jobs
        .list(&ListParams::default().labels("from=tick"))
        .await
        .expect("list")
        .items;
    assert!(owned.iter().all(|j| {
        j.owner_references()
            .iter()
            .any(|o| o.kind == "CronJob" && o.name == "tick")
    }));

    // Suspended: no new Job.
    cjs.patch(
        "tick",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .expect("suspend");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before: Vec<String> = jobs
        .list(&ListParams::default().labels("from=tick"))
        .await
        .expect("list")
        .items
        .iter()
        .map(|j| j.name_any())
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after: Vec<String> = jobs
        .list(&ListParams::default().labels("from=tick"))
        .await
        .expect("list")
        .items
        .iter()
        .map(|j| j.name_any())
        .collect();
    assert!(
        after.iter().all(|j| before.contains(j)),
        "no job while suspended: {before:?} -> {after:?}"
    );
    assert!(
        after.len() <= 2,
        "history limit keeps at most 2 successful jobs: {after:?}"
    );

    // By hand, like `kubectl create job manual --from=cronjob/tick`.
    let manual =
        plimsoll_e2e::jobs::job_from_cronjob(&serde_json::to_value(&cj).expect("json"), "manual");
    let manual: Job = serde_json::from_value(manual).expect("job");
    jobs.create(&PostParams::default(), &manual)
        .await
        .expect("manual job");
    let done = wait_for(jobs.clone(), "manual", conditions::is_job_completed()).await;
    assert_eq!(
        done.annotations()
            .get("cronjob.kubernetes.io/instantiate")
            .map(String::as_str),
        Some("manual")
    );
}

// ---------- Events (what kube's Recorder sends), Leases ----------

#[tokio::test]
async fn recorder_events_and_leases() {
    let (_sim, client) = start_default().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let c = cms
        .create(&PostParams::default(), &cm("evt", json!({}), json!({})))
        .await
        .expect("create");
    let recorder = kube::runtime::events::Recorder::new(
        client.clone(),
        kube::runtime::events::Reporter {
            controller: "plimsoll".into(),
            instance: None,
        },
    );
    let reference = c.object_ref(&());
    recorder
        .publish(
            &kube::runtime::events::Event {
                type_: kube::runtime::events::EventType::Normal,
                reason: "Scanned".into(),
                note: Some("ok".into()),
                action: "Scan".into(),
                secondary: None,
            },
            &reference,
        )
        .await
        .expect("event published");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::default_namespaced(client.clone());
    let list = events.list(&ListParams::default()).await.expect("events");
    assert!(
        list.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("Scanned"))
    );

    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = Api::default_namespaced(client);
    let l: k8s_openapi::api::coordination::v1::Lease = serde_json::from_value(json!({"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})).expect("lease");
    let l = leases
        .create(&PostParams::default(), &l)
        .await
        .expect("lease");
    let mut taken = l.clone();
    taken.spec.as_mut().expect("spec").holder_identity = Some("b".into());
    leases
        .replace("leader", &PostParams::default(), &taken)
        .await
        .expect("b takes it");
    let mut late = l;
    late.spec.as_mut().expect("spec").holder_identity = Some("c".into());
    assert_eq!(
        err_code(
            &leases
                .replace("leader", &PostParams::default(), &late)
                .await
                .expect_err("stale")
        )
        .0,
        409
    );
}

// ---------- the binary ----------

#[tokio::test]
async fn kube_sim_binary_writes_a_working_kubeconfig() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .args(["--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("kube-sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let url = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("url in time")
        .expect("read")
        .expect("a line");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let config = Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&kubeconfig).expect("kubeconfig file"),
        &KubeConfigOptions::default(),
    )
    .await
    .expect("config");
    let client = Client::try_from(config).expect("client");
    let version = client.apiserver_version().await.expect("version");
    assert_eq!(version.major, "1");
    let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
    assert!(ns.get("default").await.is_ok());
    child.kill().await.expect("stop");
}

// ---------- a kube-runtime Controller with a finalizer, as the operator runs ----------

/// The controller's context: the API and the names its cleanup saw.
type Ctx = (
    Api<ConfigMap>,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
);

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ReconcileError(#[from] kube::runtime::finalizer::Error<kube::Error>);

#[tokio::test]
async fn kube_runtime_controller_with_finalizer() {
    use kube::runtime::controller::{Action, Controller};
    use kube::runtime::finalizer::{Event as Finalizer, finalizer};
    use std::sync::Arc;

    let (_sim, client) = start_default().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let cleaned = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reconcile = |obj: Arc<ConfigMap>, ctx: Arc<Ctx>| async move {
        let (api, cleaned) = (&ctx.0, ctx.1.clone());
        let result = finalizer(api, "example.com/cleanup", obj, |event| async move {
            match event {
                Finalizer::Apply(o) => {
                    let patch = json!({"metadata": {"annotations": {"reconciled": "yes"}}});
                    api.patch(&o.name_any(), &PatchParams::default(), &Patch::Merge(patch))
                        .await?;
                    Ok(Action::await_change())
                }
                Finalizer::Cleanup(o) => {
                    cleaned.lock().expect("lock").push(o.name_any());
                    Ok(Action::await_change())
                }
            }
        })
        .await;
        result.map_err(ReconcileError::from)
    };
    let controller = Controller::new(
        api.clone(),
        watcher::Config::default().labels("managed=yes"),
    )
    .run(
        reconcile,
        |_, _, _| Action::requeue(Duration::from_millis(200)),
        Arc::new((api.clone(), cleaned.clone())),
    )
    .for_each(|_| async {});
    let task = tokio::spawn(controller);

    api.create(
        &PostParams::default(),
        &cm("ctl", json!({"managed": "yes"}), json!({})),
    )
    .await
    .expect("create");
    let reconciled = wait_for(api.clone(), "ctl", |c: Option<&ConfigMap>| {
        c.is_some_and(|c| {
            c.annotations().get("reconciled").is_some()
                && c.finalizers().contains(&"example.com/cleanup".to_owned())
        })
    })
    .await;
    assert_eq!(reconciled.finalizers(), ["example.com/cleanup"]);
    api.delete("ctl", &DeleteParams::default())
        .await
        .expect("delete");
    wait_gone(&api, "ctl").await;
    assert_eq!(*cleaned.lock().expect("lock"), ["ctl"]);
    task.abort();
}
