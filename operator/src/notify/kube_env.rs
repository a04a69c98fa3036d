//! [`Environment`] over a kube client: Secrets read with the client's credentials (the
//! operator's service account, or the user's kubeconfig for `plimsoll notify test`), Events
//! published on the ImageScan (or, when there is none, the Subscription).

use super::environment::{EnvError, Environment};
use super::event::Notification;
use super::kube_event::{self, EventSeverity};
use crate::crd::{ImageScan, Subscription};
use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::api::Api;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource};

#[derive(Clone)]
pub struct KubeEnvironment {
    client: Client,
    recorder: Recorder,
}

impl KubeEnvironment {
    /// `controller` names the reporter of the Events (`plimsoll-operator`, `plimsoll-cli`).
    pub fn new(client: Client, controller: &str) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: controller.to_owned(),
                instance: None,
            },
        );
        Self { client, recorder }
    }

    async fn reference(&self, n: &Notification) -> Result<ObjectReference, EnvError> {
        if let Some(scan) = &n.image.scan {
            let api: Api<ImageScan> = Api::namespaced(self.client.clone(), &scan.namespace);
            match api.get_opt(&scan.name).await {
                Ok(Some(s)) => return Ok(s.object_ref(&())),
                Ok(None) => {}
                Err(e) => return Err(EnvError(format!("reading ImageScan {scan}: {e}"))),
            }
        }
        let sub = &n.subscription;
        let api: Api<Subscription> = Api::namespaced(self.client.clone(), &sub.namespace);
        match api.get_opt(&sub.name).await {
            Ok(Some(s)) => Ok(s.object_ref(&())),
            Ok(None) => Err(EnvError(format!(
                "neither the ImageScan nor Subscription {sub} exists to carry the Event"
            ))),
            Err(e) => Err(EnvError(format!("reading Subscription {sub}: {e}"))),
        }
    }
}

impl Environment for KubeEnvironment {
    async fn secret(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, EnvError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret = api
            .get_opt(name)
            .await
            .map_err(|e| EnvError(format!("reading Secret {namespace}/{name}: {e}")))?;
        let Some(value) = secret.and_then(|s| s.data).and_then(|mut d| d.remove(key)) else {
            return Ok(None);
        };
        String::from_utf8(value.0).map(Some).map_err(|_| {
            EnvError(format!(
                "Secret {namespace}/{name} key {key:?} is not UTF-8"
            ))
        })
    }

    async fn publish_event(&self, n: &Notification) -> Result<(), EnvError> {
        let reference = self.reference(n).await?;
        let ev = kube_event::event(n);
        let event = Event {
            type_: match ev.severity {
                EventSeverity::Normal => EventType::Normal,
                EventSeverity::Warning => EventType::Warning,
            },
            reason: ev.reason.to_owned(),
            note: Some(ev.note),
            action: "Notify".into(),
            secondary: None,
        };
        self.recorder
            .publish(&event, &reference)
            .await
            .map_err(|e| EnvError(format!("publishing the Event: {e}")))
    }
}
