//! When to try a failed notification again, sans-IO: exponential backoff with full jitter,
//! `Retry-After` honoured, and a retry window after which the outbox gives up.
//!
//! Full jitter (a uniformly random delay between 0 and the exponential cap) spreads the
//! retries of many notifications that failed together (a receiver that was down), so they do
//! not all come back in the same second. `Retry-After` is a floor on the delay, capped at
//! `max` so that a receiver cannot park notifications for days.

use crate::store::Timestamp;
use std::time::Duration;

/// The retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The cap of the first retry's delay; doubles with every attempt.
    pub base: Duration,
    /// The largest delay.
    pub max: Duration,
    /// No retry starts later than this after the notification was queued.
    pub window: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Retry { at: Timestamp },
    GiveUp,
}

impl Backoff {
    /// The delay before the next attempt: uniform in `[0, min(max, base * 2^attempts)]`, drawn
    /// from `random`.
    pub fn delay(&self, attempts: u32, random: u64) -> Duration {
        let cap = self
            .base
            .saturating_mul(1u32 << attempts.min(31))
            .min(self.max);
        let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(random % cap_ms.saturating_add(1))
    }

    /// After a failed attempt at `now` of a notification queued at `created_at` that had
    /// `attempts` attempts before this one.
    pub fn decide(
        &self,
        created_at: Timestamp,
        now: Timestamp,
        attempts: u32,
        retry_after: Option<Duration>,
        random: u64,
    ) -> Decision {
        let end = created_at.plus(self.window);
        if now >= end {
            return Decision::GiveUp;
        }
        let mut delay = self.delay(attempts, random);
        if let Some(r) = retry_after {
            delay = delay.max(r.min(self.max));
        }
        Decision::Retry {
            at: now.plus(delay).min(end),
        }
    }
}

/// A `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), as a delay from
/// `now`. None when unreadable; a date in the past is no delay.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let ms = at.timestamp_millis().saturating_sub(now.unix_millis());
    Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

/// A random number for the jitter (the OS generator; the clock if that fails).
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_ok() {
        u64::from_le_bytes(b)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Backoff = Backoff {
        base: Duration::from_secs(10),
        max: Duration::from_secs(3600),
        window: Duration::from_secs(24 * 3600),
    };

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(secs * 1000)
    }

    #[test]
    fn delays_double_up_to_the_cap_and_are_jittered() {
        // `random` = u64::MAX - k picks near the top of the range; check the caps.
        let top = |attempts| S.delay(attempts, u64::MAX);
        let caps: Vec<u64> = (0..12).map(|a| (10_000u64 << a).min(3_600_000)).collect();
        for (a, cap) in caps.iter().enumerate() {
            let d = top(u32::try_from(a).expect("small"));
            assert!(d.as_millis() <= u128::from(*cap), "attempt {a}: {d:?}");
        }
        assert_eq!(S.delay(0, 10_000), Duration::from_millis(10_000));
        assert_eq!(S.delay(0, 10_001), Duration::ZERO, "wraps into [0, cap]");
        assert_eq!(S.delay(3, 80_000), Duration::from_millis(80_000));
        assert_eq!(
            S.delay(40, 3_600_000),
            Duration::from_secs(3600),
            "no overflow"
        );
        // Different random draws give different delays: jitter.
        let draws: std::collections::HashSet<Duration> =
            (0..50u64).map(|r| S.delay(5, r * 7919)).collect();
        assert!(draws.len() > 40);
    }

    #[test]
    fn decisions() {
        let created = t(1_000);
        assert_eq!(
            S.decide(created, t(1_000), 0, None, 5_000),
            Decision::Retry { at: t(1_005) }
        );
        // Retry-After is a floor...
        assert_eq!(
            S.decide(created, t(1_000), 0, Some(Duration::from_secs(120)), 5_000),
            Decision::Retry { at: t(1_120) }
        );
        // ...capped at the largest delay.
        assert_eq!(
            S.decide(
                created,
                t(1_000),
                0,
                Some(Duration::from_secs(86_400 * 7)),
                0
            ),
            Decision::Retry {
                at: t(1_000 + 3600)
            }
        );
        // The last retry happens at the window's end, not after it.
        let end = 1_000 + 24 * 3600;
        assert_eq!(
            S.decide(created, t(end - 10), 20, None, 3_599_999),
            Decision::Retry { at: t(end) }
        );
        assert_eq!(S.decide(created, t(end), 20, None, 0), Decision::GiveUp);
        assert_eq!(S.decide(created, t(end + 99), 0, None, 0), Decision::GiveUp);
    }

    #[test]
    fn retry_after_values() {
        let now = Timestamp::from_unix_millis(1_445_412_480_000); // 2015-10-21T07:28:00Z
        let cases = [
            ("120", Some(Duration::from_secs(120))),
            (" 0 ", Some(Duration::ZERO)),
            (
                "Wed, 21 Oct 2015 07:28:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(Duration::ZERO)),
            ("-5", None),
            ("soon", None),
            ("", None),
        ];
        for (v, want) in cases {
            assert_eq!(parse_retry_after(v, now), want, "{v:?}");
        }
    }
}
