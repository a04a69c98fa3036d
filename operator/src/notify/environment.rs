//! What the deliverer needs from the world besides HTTP: Secret values and Kubernetes Events.
//! A trait so that the operator (its kube client), the CLI (the user's kubeconfig,
//! [`super::kube_env::KubeEnvironment`]) and tests (a map) each provide their own.

use super::event::Notification;
use std::future::Future;

/// A failure of the environment (the API server unreachable, access denied): worth retrying,
/// unlike a Secret that does not exist. The message must not hold secret values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EnvError(pub String);

impl EnvError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

pub trait Environment: Send + Sync {
    /// The value of a Secret key; `Ok(None)` when the Secret or key is missing.
    fn secret(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, EnvError>> + Send;

    /// Publishes a Kubernetes Event on the ImageScan the notification is about
    /// (KubernetesEvents sink).
    fn publish_event(&self, n: &Notification) -> impl Future<Output = Result<(), EnvError>> + Send;
}
