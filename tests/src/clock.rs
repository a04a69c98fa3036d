//! Time, injected: the server, the kubelet and the controllers ask a [`Clock`], so the CronJob
//! controller can run on a sped-up clock while everything else keeps wall time.

use std::time::{Duration, Instant, SystemTime};

pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// Wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that starts at the wall-clock time it was made and runs `factor` times faster
/// (`factor` 60: a real second is a simulated minute).
#[derive(Clone, Debug)]
pub struct ScaledClock {
    origin: SystemTime,
    started: Instant,
    factor: u32,
}

impl ScaledClock {
    pub fn new(factor: u32) -> Self {
        Self {
            origin: SystemTime::now(),
            started: Instant::now(),
            factor: factor.max(1),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> SystemTime {
        let elapsed = self.started.elapsed();
        let scaled = elapsed
            .checked_mul(self.factor)
            .unwrap_or(Duration::MAX / 2);
        self.origin + scaled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_faster() {
        let c = ScaledClock::new(1000);
        let a = c.now();
        std::thread::sleep(Duration::from_millis(5));
        let b = c.now();
        assert!(b.duration_since(a).unwrap_or_default() >= Duration::from_secs(5));
    }
}
