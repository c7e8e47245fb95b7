//! The daily backup at `backup.at` (in `backup.time_zone`), followed by its restore
//! drill. A restart after the daily time does not take a second backup that day.

use chrono::NaiveTime;

use super::{Job, JobContext, JobFuture, Schedule};
use crate::ops::backup::{Trigger, backup_and_drill};

/// Takes the daily backup.
pub struct DailyBackup;

impl Job for DailyBackup {
    fn name(&self) -> &'static str {
        "backup"
    }

    fn schedule(&self, ctx: &JobContext) -> Schedule {
        let at = ctx
            .config
            .backup
            .time()
            .unwrap_or(NaiveTime::from_hms_opt(2, 0, 0).unwrap_or(NaiveTime::MIN));
        Schedule::DailyAt(at, ctx.config.backup.zone())
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            if !ctx.config.backup.enabled() {
                return Ok("no backup destinations configured".to_owned());
            }
            let now = ctx.clock.now();
            let zone = ctx.config.backup.zone();
            let at = ctx.config.backup.time().unwrap_or(NaiveTime::MIN);
            let slot = crate::web::time::from_local(zone.local_date(now), at, zone);
            if ctx
                .store
                .scheduled_backup_since(slot)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok("today's backup exists already".to_owned());
            }
            let run = backup_and_drill(
                &ctx.store,
                &ctx.config,
                ctx.clock.as_ref(),
                Trigger::Schedule,
                |_| {},
            )
            .await
            .map_err(|e| e.to_string())?;
            match (run.ok, run.drill_ok) {
                (true, Some(true)) => Ok(format!(
                    "{} written to {} places, drill passed",
                    run.file_name.unwrap_or_default(),
                    run.destinations.len()
                )),
                _ => Err(format!(
                    "backup run {} failed: {}",
                    run.id,
                    run.error.or(run.drill_detail).unwrap_or_default()
                )),
            }
        })
    }
}
