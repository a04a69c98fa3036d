//! Per-sink rate limits: a token bucket per sink key, refilled at `per_second` and holding
//! one second's worth (at least one token), so a sink gets at most `per_second` requests in
//! any second, however many notifications are due. Sans-IO: time is the caller's `now`.

use crate::store::Timestamp;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    /// Takes a token of `key`'s bucket if there is one. A rate of 0 or less means no limit.
    pub fn try_take(&mut self, key: &str, per_second: f64, now: Timestamp) -> bool {
        if per_second <= 0.0 || !per_second.is_finite() {
            return true;
        }
        let capacity = per_second.max(1.0);
        let b = self.buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        // A clock that went back refills nothing.
        let elapsed_ms = now.unix_millis().saturating_sub(b.at.unix_millis()).max(0);
        #[allow(clippy::cast_precision_loss, reason = "milliseconds well within f64")]
        let refill = elapsed_ms as f64 / 1000.0 * per_second;
        b.tokens = (b.tokens + refill).min(capacity);
        b.at = b.at.max(now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn bursts_of_one_second_then_the_rate() {
        let mut r = RateLimiter::default();
        let taken = (0..20)
            .filter(|_| r.try_take("webhook:a/b", 10.0, t(0)))
            .count();
        assert_eq!(taken, 10);
        assert!(!r.try_take("webhook:a/b", 10.0, t(50)), "half a token");
        assert!(r.try_take("webhook:a/b", 10.0, t(100)));
        assert!(r.try_take("webhook:other/x", 10.0, t(100)), "per key");
        // One per second.
        assert!(r.try_take("slack:a/b", 1.0, t(0)));
        assert!(!r.try_take("slack:a/b", 1.0, t(999)));
        assert!(r.try_take("slack:a/b", 1.0, t(1000)));
        // Fractional rates: one every two seconds.
        assert!(r.try_take("slow", 0.5, t(0)));
        assert!(!r.try_take("slow", 0.5, t(1000)));
        assert!(r.try_take("slow", 0.5, t(2000)));
        // Unlimited.
        assert!((0..1000).all(|_| r.try_take("free", 0.0, t(0))));
        // A clock going back does not mint tokens.
        let mut r = RateLimiter::default();
        assert!(r.try_take("k", 1.0, t(10_000)));
        assert!(!r.try_take("k", 1.0, t(0)));
        assert!(!r.try_take("k", 1.0, t(10_500)));
        assert!(r.try_take("k", 1.0, t(11_000)));
    }
}
