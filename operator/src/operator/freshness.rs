//! Keeping verdicts fresh without pulling images again.
//!
//! Feed changes: every write of feed records logs the (ecosystem, name) pairs it touched with a
//! time (`package_changes`). This task reads that log from its cursor, re-matches only the
//! stored analyses holding a touched package, diffs each result against the image's last
//! snapshot, queues `vuln_update` and `fix_available` for the Subscriptions of the scans on that
//! digest, stores the new snapshot (which makes those scans evaluate again: `policy_eval` comes
//! from there) and moves the cursor.
//!
//! Tag watch: a watch request (to any replica) starts a new round in the store; a round is part of each tag-following scan's
//! analyzer Job key, so every followed tag gets one new Job that resolves it again and analyzes
//! only a digest the store does not have.
//!
//! Traps:
//! - Crash safety comes from order: notifications are queued (idempotently, keyed by the old and
//!   new snapshots) before the snapshot is stored, and the cursor moves last. A restart redoes
//!   the unfinished part and queues nothing twice.
//! - The cursor overlaps the log by a minute: two pushes committing out of time order cannot
//!   hide a change; re-matching an unchanged image queues nothing.
//! - The first start on a store sets the cursor to the latest change without re-matching
//!   everything: analyses are matched when they are first evaluated.

use super::context::Context;
use super::notifications::{self, QueueError};
use crate::crd::ImageScan;
use crate::crd::subscription::{EventType, Subscription};
use crate::notify::event::MAX_TOP_FINDINGS;
use crate::notify::{self, ImageInfo, Notification, VulnEntry};
use crate::store::{self, Timestamp};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Cursor of the feed change log (unix millis of the last change processed).
pub const FEED_CURSOR: &str = "feed_changes";
/// Cursor holding the current tag-watch round.
pub const WATCH_ROUND: &str = "watch_round";
/// How far back each pass re-reads the change log.
const OVERLAP: Duration = Duration::from_secs(60);
/// A pass runs at least this often even without a signal (changes written by `plimsoll feeds
/// sync --db` straight into the store).
const PERIOD: Duration = Duration::from_secs(60);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub packages: usize,
    pub images: usize,
    pub changed_images: usize,
    pub queued: usize,
}

/// Runs until the process ends: feed passes when signalled (and every minute), and every
/// minute a look at the stored watch round (a follower may have started one).
pub async fn run(ctx: Arc<Context>) {
    loop {
        tokio::select! {
            () = ctx.feeds_changed.notified() => {}
            () = tokio::time::sleep(PERIOD) => {
                match follow_watch_round(&ctx).await {
                    Ok(Some(round)) => tracing::info!(round, "tag watch round started by another replica"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot read the tag watch round"),
                }
            }
        }
        match process_feed_changes(&ctx).await {
            Ok(p) if p.images > 0 => tracing::info!(
                packages = p.packages,
                images = p.images,
                changed = p.changed_images,
                queued = p.queued,
                "re-matched analyses after a feed change"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "re-matching after a feed change failed; retrying later")
            }
        }
    }
}

/// One pass over the feed change log.
pub async fn process_feed_changes(ctx: &Context) -> Result<Pass, QueueError> {
    let store = &ctx.store;
    let latest = store.latest_feed_change().await?;
    let Some(cursor) = store.cursor(FEED_CURSOR).await? else {
        store
            .set_cursor(FEED_CURSOR, latest.map_or(0, Timestamp::unix_millis))
            .await?;
        return Ok(Pass::default());
    };
    let Some(latest) = latest.filter(|l| l.unix_millis() > cursor) else {
        return Ok(Pass::default());
    };
    // Which scans show a digest comes from the watch: wait for its first list.
    if let Some(scans) = ctx.scans.get() {
        notifications::listed(scans).await?;
    }
    let overlap = i64::try_from(OVERLAP.as_millis()).unwrap_or(i64::MAX);
    let packages = store
        .changed_since(Timestamp::from_unix_millis(cursor.saturating_sub(overlap)))
        .await?;
    let digests = store.analyses_touching(&packages).await?;
    let mut pass = Pass {
        packages: packages.len(),
        images: digests.len(),
        ..Pass::default()
    };
    for digest in &digests {
        let queued = rematch(ctx, digest).await?;
        if let Some(q) = queued {
            pass.changed_images += 1;
            pass.queued += q;
        }
    }
    store.set_cursor(FEED_CURSOR, latest.unix_millis()).await?;
    Ok(pass)
}

/// Re-matches one stored analysis; `Some(notifications queued)` when its vulnerabilities changed.
async fn rematch(ctx: &Context, digest: &str) -> Result<Option<usize>, QueueError> {
    let store = &ctx.store;
    let Some(stored) = store.get_analysis(digest).await? else {
        return Ok(None);
    };
    let now = Timestamp::now();
    let refs = crate::vulns::package_refs(&stored.analysis);
    let report = crate::vulns::match_and_record(store, &stored.analysis, &refs, now).await?;
    ctx.metrics.rematched();
    let matches: Vec<crate::matcher::Match> = report.matches.into_iter().map(|m| m.found).collect();
    let new = snapshot_of(&matches);
    let new_json = serde_json::to_value(&new)
        .map_err(|e| store::Error::encode("rematch", "snapshot JSON", e))?;
    let Some(old) = store.vuln_snapshot(digest).await? else {
        store.put_vuln_snapshot(digest, &new_json, now).await?;
        return Ok(None);
    };
    let old_entries: Vec<VulnEntry> = serde_json::from_value(old.snapshot.clone()).unwrap_or_else(|e| {
        tracing::warn!(digest, error = %e, "unreadable vulnerability snapshot; diffing against nothing");
        Vec::new()
    });
    let diff = notify::diff(&old_entries, &new);
    if diff.is_empty() {
        return Ok(None);
    }
    let key = notify::idempotency_id(&[digest, &old.snapshot.to_string(), &new_json.to_string()]);
    let counts = crate::evaluation::count(&matches);
    let mut queued = 0;
    let scans = scans_on(ctx, digest);
    for scan in &scans {
        let base = format!("{}/{key}", scan.uid().unwrap_or_default());
        let image = image_info(scan, digest);
        let diff = &diff;
        queued += notifications::queue(ctx, scan, EventType::VulnUpdate, &base, |_| {
            Some(Notification {
                counts: Some(counts),
                diff: Some(diff.clone()),
                top_findings: top_findings(&new),
                ..notifications::notification(EventType::VulnUpdate, image.clone())
            })
        })
        .await?;
        queued += notifications::queue(
            ctx,
            scan,
            EventType::FixAvailable,
            &base,
            |sub: &Subscription| {
                let fixes =
                    notify::fixes_available(&old_entries, &new, sub.spec.min_severity, true);
                (!fixes.is_empty()).then(|| Notification {
                    counts: Some(counts),
                    fixes,
                    top_findings: top_findings(&new),
                    ..notifications::notification(EventType::FixAvailable, image.clone())
                })
            },
        )
        .await?;
    }
    store.put_vuln_snapshot(digest, &new_json, now).await?;
    for scan in &scans {
        let _ = ctx.wake.send(ObjectRef::from_obj(scan.as_ref()));
    }
    Ok(Some(queued))
}

fn top_findings(entries: &[VulnEntry]) -> Vec<VulnEntry> {
    notify::event::top_findings(entries, MAX_TOP_FINDINGS)
}

/// The snapshot of a match list: one entry per match, sorted.
pub fn snapshot_of(matches: &[crate::matcher::Match]) -> Vec<VulnEntry> {
    let mut v: Vec<VulnEntry> = matches.iter().map(VulnEntry::from_match).collect();
    v.sort();
    v.dedup();
    v
}

/// The image part of a notification about `scan`.
pub fn image_info(scan: &ImageScan, digest: &str) -> ImageInfo {
    ImageInfo {
        digest: Some(digest.to_owned()),
        ..ImageInfo::from_scan(scan)
    }
}

/// The scans whose status shows `digest`.
fn scans_on(ctx: &Context, digest: &str) -> Vec<Arc<ImageScan>> {
    let Some(cache) = ctx.scans.get() else {
        return Vec::new();
    };
    cache
        .state()
        .into_iter()
        .filter(|s| s.status.as_ref().and_then(|st| st.digest.as_deref()) == Some(digest))
        .collect()
}

/// Starts a new tag-watch round (in the store, so any replica may) and wakes every scan that
/// follows a tag.
pub async fn start_watch_round(ctx: &Context) -> store::Result<u64> {
    let current = ctx.store.cursor(WATCH_ROUND).await?.unwrap_or(0);
    let round = current.saturating_add(1);
    ctx.store.set_cursor(WATCH_ROUND, round).await?;
    let round = u64::try_from(round).unwrap_or(0);
    enter_round(ctx, round);
    Ok(round)
}

/// Takes up a round another replica started; returns it when it is new here.
async fn follow_watch_round(ctx: &Context) -> store::Result<Option<u64>> {
    let stored = u64::try_from(ctx.store.cursor(WATCH_ROUND).await?.unwrap_or(0)).unwrap_or(0);
    if stored <= ctx.watch_round.load(Ordering::Relaxed) {
        return Ok(None);
    }
    enter_round(ctx, stored);
    Ok(Some(stored))
}

fn enter_round(ctx: &Context, round: u64) {
    ctx.watch_round.store(round, Ordering::Relaxed);
    if let Some(cache) = ctx.scans.get() {
        for scan in cache.state() {
            if scan.spec.suspend != Some(true) && super::analyzer_job::follows_tag(&scan.spec.image)
            {
                let _ = ctx.wake.send(ObjectRef::from_obj(scan.as_ref()));
            }
        }
    }
}

/// The watch round stored, for a (new) leader.
pub async fn load_watch_round(ctx: &Context) -> store::Result<()> {
    let round = ctx.store.cursor(WATCH_ROUND).await?.unwrap_or(0);
    ctx.watch_round
        .store(u64::try_from(round).unwrap_or(0), Ordering::Relaxed);
    Ok(())
}
