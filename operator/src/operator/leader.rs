//! Leader election on a `coordination.k8s.io/v1` Lease, for several replicas sharing one
//! PostgreSQL store: one leader runs the controllers, followers serve the read and ingest APIs.
//!
//! The protocol is client-go's: take the Lease when it is free or its holder stopped renewing
//! for `leaseDurationSeconds`, renew it every few seconds, and write with the Lease's
//! `resourceVersion` so two candidates cannot both win. A leader that cannot renew in time
//! stops (the process exits and restarts as a follower) rather than risk two leaders.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use std::time::Duration;

/// How long a Lease stays valid without renewal.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often the leader renews.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How often a follower retries.
const RETRY_EVERY: Duration = Duration::from_secs(2);

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

/// Whether `lease` may be taken by `me` at `at`: free, expired, or already ours.
pub fn takeable(lease: &Lease, me: &str, at: k8s_openapi::jiff::Timestamp) -> bool {
    let Some(spec) = &lease.spec else {
        return true;
    };
    match spec.holder_identity.as_deref() {
        None | Some("") => true,
        Some(holder) if holder == me => true,
        Some(_) => {
            let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
            spec.renew_time
                .as_ref()
                .is_none_or(|t| t.0.as_second().saturating_add(duration) < at.as_second())
        }
    }
}

fn spec_for(me: &str, previous: Option<&LeaseSpec>) -> LeaseSpec {
    let ours = previous.and_then(|p| p.holder_identity.as_deref()) == Some(me);
    LeaseSpec {
        holder_identity: Some(me.to_owned()),
        lease_duration_seconds: Some(i32::try_from(LEASE_DURATION.as_secs()).unwrap_or(15)),
        acquire_time: if ours {
            previous.and_then(|p| p.acquire_time.clone())
        } else {
            Some(now())
        },
        renew_time: Some(now()),
        lease_transitions: Some(
            previous.and_then(|p| p.lease_transitions).unwrap_or(0) + i32::from(!ours),
        ),
        ..Default::default()
    }
}

/// One attempt to take or renew the Lease; `Ok(true)` when we hold it afterwards.
pub async fn try_acquire(api: &Api<Lease>, name: &str, me: &str) -> Result<bool, kube::Error> {
    match api.get_opt(name).await? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    ..Default::default()
                },
                spec: Some(spec_for(me, None)),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            if !takeable(&lease, me, k8s_openapi::jiff::Timestamp::now()) {
                return Ok(false);
            }
            lease.spec = Some(spec_for(me, lease.spec.as_ref()));
            // `replace` sends the resourceVersion we read: a concurrent writer makes it a 409.
            match api.replace(name, &PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// Waits until this replica leads.
pub async fn acquire(api: &Api<Lease>, name: &str, me: &str) {
    loop {
        match try_acquire(api, name, me).await {
            Ok(true) => {
                tracing::info!(lease = name, identity = me, "leading");
                return;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "leader election"),
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

/// Renews the Lease until it cannot; returns when leadership is lost.
pub async fn hold(api: Api<Lease>, name: String, me: String) {
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        match try_acquire(&api, &name, &me).await {
            Ok(true) => last_renewal = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::error!(lease = %name, "another replica took the lease");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "lease renewal failed");
                if last_renewal.elapsed() >= LEASE_DURATION - RENEW_EVERY {
                    tracing::error!(lease = %name, "could not renew the lease in time");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, renewed: i64) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_owned),
                lease_duration_seconds: Some(15),
                renew_time: Some(MicroTime(
                    k8s_openapi::jiff::Timestamp::from_second(renewed).expect("time"),
                )),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn who_may_take_the_lease() {
        let at = k8s_openapi::jiff::Timestamp::from_second(1000).expect("time");
        assert!(takeable(&lease(None, 999), "a", at), "free");
        assert!(takeable(&lease(Some("a"), 999), "a", at), "ours");
        assert!(
            !takeable(&lease(Some("b"), 990), "a", at),
            "b renewed 10 s ago"
        );
        assert!(
            takeable(&lease(Some("b"), 980), "a", at),
            "b stopped 20 s ago"
        );
        let taken = spec_for("a", lease(Some("b"), 980).spec.as_ref());
        assert_eq!(taken.lease_transitions, Some(1));
        let renewed = spec_for("a", Some(&taken));
        assert_eq!(renewed.lease_transitions, Some(1));
        assert_eq!(renewed.acquire_time, taken.acquire_time);
    }
}
