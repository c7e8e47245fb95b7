//! The data lifecycle: a tenant's contract end makes it read-only from the next
//! local day; its purge follows early enough that backup rotation can drop every
//! generation holding it within `lifecycle.purge_within_days` (at most 30).
//!
//! How the window is kept: with daily backups and G generations, the purge runs
//! `window − G − 1` days after the end (at once if that is negative), so the last
//! generation taken before the purge has rotated out by the deadline in normal
//! operation; a purge also takes a fresh backup at once. As a hard guarantee —
//! backups may have failed for days — rotation deletes every generation whose
//! manifest lists a purged tenant once that tenant's deadline (`read-only from +
//! window`) has passed, whatever the generation count.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use genkan_core::Clock;
use genkan_core::tenant::TimeZone;
use genkan_store::Store;
use genkan_store::backup::files::rotate;
use genkan_store::lifecycle::PurgeReport;

use crate::config::Config;
use crate::config::ops::MAX_PURGE_DAYS;
use crate::ops::backup::{Trigger, backup_and_drill, rotation};

/// The instant a contract ending on `ends_on` (local date in `zone`) turns read-only.
pub fn read_only_from(ends_on: NaiveDate, zone: TimeZone) -> DateTime<Utc> {
    zone.start_of_day(ends_on.succ_opt().unwrap_or(ends_on))
}

fn window(config: &Config) -> i64 {
    config.lifecycle.purge_within_days.clamp(1, MAX_PURGE_DAYS)
}

/// How long after turning read-only a tenant is purged.
pub fn purge_delay(config: &Config) -> Duration {
    let rotation_days = if config.backup.enabled() {
        i64::try_from(config.backup.generations).unwrap_or(i64::MAX)
    } else {
        0
    };
    Duration::days((window(config) - rotation_days - 1).max(0))
}

/// After this no backup generation may hold the tenant.
pub fn backups_clear_by(read_only_from: DateTime<Utc>, config: &Config) -> DateTime<Utc> {
    read_only_from + Duration::days(window(config))
}

/// Purges every tenant that is due, takes a clean backup if any was purged, and
/// applies purge-aware rotation to every destination.
pub async fn purge_due(
    store: &Store,
    config: &Config,
    clock: &dyn Clock,
) -> anyhow::Result<Vec<PurgeReport>> {
    let now = clock.now();
    let mut reports = Vec::new();
    for (tenant, from) in store
        .tenants_due_for_purge(now, purge_delay(config))
        .await?
    {
        let report = store
            .purge_tenant(tenant, backups_clear_by(from, config), now)
            .await?;
        tracing::info!(
            tenant.id = %tenant,
            rows = report.total,
            backups_clear_by = %report.backups_clear_by,
            "tenant purged"
        );
        reports.push(report);
    }
    if !reports.is_empty() && config.backup.enabled() {
        // A generation without the purged tenants, so rotation can drop the old ones.
        backup_and_drill(store, config, clock, Trigger::Manual, |_| {}).await?;
    }
    enforce_backup_deadlines(store, config, now).await?;
    Ok(reports)
}

/// Deletes, in every destination, the generations that hold a purged tenant past
/// its deadline (and applies the generation count).
pub async fn enforce_backup_deadlines(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let policy = rotation(store, config).await?;
    let dests = config.backup.destinations.clone();
    let removed = tokio::task::spawn_blocking(move || {
        let mut removed = 0;
        for dest in &dests {
            match rotate(dest, &policy, now) {
                Ok(r) => removed += r.len(),
                Err(e) => tracing::error!(destination = %dest.display(), error = %e, "backup rotation failed"),
            }
        }
        removed
    })
    .await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contract_ending_on_a_day_turns_read_only_at_the_next_local_midnight() {
        let from = read_only_from(
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            TimeZone::default(),
        );
        assert_eq!(
            from,
            "2026-11-30T15:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn the_purge_leaves_room_for_the_generations_to_rotate_out_within_the_window() {
        let mut config = Config::default();
        assert_eq!(
            purge_delay(&config),
            Duration::days(29),
            "no backups: purge on the last day"
        );
        config.backup.destinations = vec!["/a".into(), "/b".into()];
        assert_eq!(purge_delay(&config), Duration::days(19));
        config.lifecycle.purge_within_days = 5;
        assert_eq!(purge_delay(&config), Duration::zero());
        config.lifecycle.purge_within_days = 90;
        let from = read_only_from(
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            TimeZone::default(),
        );
        assert_eq!(
            backups_clear_by(from, &config) - from,
            Duration::days(30),
            "never beyond 30 days"
        );
    }
}
