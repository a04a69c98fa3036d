//! The cluster-wide cap on running analyzer Jobs, and the queue of scans waiting for a slot,
//! sans-IO.
//!
//! Running Jobs are counted from the Job watch (what the cluster says), plus the Jobs this
//! process created that the watch has not shown yet (`reserved`), so a burst of reconciles
//! cannot overshoot the cap and a restart counts the Jobs that were already running. Queued
//! scans are served oldest first: when a slot frees, as many of the oldest are woken as there
//! are free slots.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

/// A Job: (namespace, name).
pub type JobId = (String, String);
/// A waiting scan: (creation time in unix seconds, namespace, name).
pub type Waiting = (i64, String, String);

/// How long a created Job counts as running without the watch confirming it.
const RESERVATION: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Slots {
    cap: usize,
    /// Unfinished Jobs the watch shows.
    running: HashSet<JobId>,
    /// Jobs created here, not yet seen by the watch.
    reserved: HashMap<JobId, Instant>,
    queue: BTreeSet<Waiting>,
}

impl Slots {
    pub fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            running: HashSet::new(),
            reserved: HashMap::new(),
            queue: BTreeSet::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        self.reserved
            .retain(|_, at| now.saturating_duration_since(*at) < RESERVATION);
    }

    fn in_use(&self) -> usize {
        self.running.len()
            + self
                .reserved
                .keys()
                .filter(|j| !self.running.contains(*j))
                .count()
    }

    /// Jobs counted against the cap.
    pub fn running(&mut self, now: Instant) -> usize {
        self.expire(now);
        self.in_use()
    }

    /// Scans waiting.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Takes a slot for `job` (true when it already holds one). A scan that gets a slot
    /// leaves the queue; one that does not joins it.
    pub fn try_take(&mut self, job: &JobId, scan: &Waiting, now: Instant) -> bool {
        self.expire(now);
        if self.running.contains(job) || self.reserved.contains_key(job) {
            self.queue.remove(scan);
            return true;
        }
        // Older waiting scans go first: a newcomer does not jump the queue.
        let older_waiting = self.queue.range(..scan.clone()).count();
        if self.in_use() + older_waiting < self.cap {
            self.reserved.insert(job.clone(), now);
            self.queue.remove(scan);
            true
        } else {
            self.queue.insert(scan.clone());
            false
        }
    }

    /// The scan no longer waits (it was deleted, suspended or got its result another way).
    pub fn forget(&mut self, scan: &Waiting) {
        self.queue.remove(scan);
    }

    /// The watch says `job` is running (`true`) or finished or gone (`false`). Returns the
    /// queued scans to wake: the oldest, as many as there are free slots.
    pub fn observe(&mut self, job: &JobId, active: bool, now: Instant) -> Vec<Waiting> {
        self.expire(now);
        if active {
            self.running.insert(job.clone());
        } else {
            self.running.remove(job);
        }
        self.reserved.remove(job);
        let free = self.cap.saturating_sub(self.in_use());
        self.queue.iter().take(free).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: usize) -> JobId {
        ("ns".into(), format!("job-{n}"))
    }
    fn scan(n: usize) -> Waiting {
        (
            i64::try_from(n).expect("small"),
            "ns".into(),
            format!("scan-{n}"),
        )
    }

    #[test]
    fn never_more_than_the_cap_and_oldest_first() {
        let now = Instant::now();
        let mut s = Slots::new(2);
        assert!(s.try_take(&job(0), &scan(0), now));
        assert!(s.try_take(&job(1), &scan(1), now));
        // Another scan of a Job that holds a slot shares it.
        assert!(s.try_take(&job(1), &scan(11), now));
        assert!(!s.try_take(&job(2), &scan(2), now));
        assert!(!s.try_take(&job(3), &scan(3), now));
        assert_eq!((s.running(now), s.queued()), (2, 2));
        // The watch confirms job 0, then sees it finish: one slot frees, the oldest is woken.
        assert!(s.observe(&job(0), true, now).is_empty());
        assert_eq!(s.observe(&job(0), false, now), vec![scan(2)]);
        // A newer scan cannot take the slot scan 2 was woken for.
        assert!(!s.try_take(&job(3), &scan(3), now));
        assert!(s.try_take(&job(2), &scan(2), now));
        assert_eq!((s.running(now), s.queued()), (2, 1));
    }

    #[test]
    fn reservations_expire_and_restarts_count_running_jobs() {
        let now = Instant::now();
        let mut s = Slots::new(1);
        assert!(s.try_take(&job(0), &scan(0), now));
        // The Job never showed up (creation failed after the reservation): the slot returns.
        let later = now + RESERVATION + Duration::from_secs(1);
        assert!(s.try_take(&job(1), &scan(1), later));
        // After a restart the watch lists a Job already running: it counts.
        let mut fresh = Slots::new(1);
        fresh.observe(&job(9), true, now);
        assert!(!fresh.try_take(&job(1), &scan(1), now));
        fresh.forget(&scan(1));
        assert_eq!(fresh.queued(), 0);
    }
}
