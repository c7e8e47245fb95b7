//! Reminders the day before a visit, for tenants that want them.

use chrono::Duration;

use super::{Job, JobContext, JobFuture, Schedule};

/// Queues tomorrow's reminders once each site's local reminder hour has come.
pub struct Reminders;

impl Job for Reminders {
    fn name(&self) -> &'static str {
        "reminders"
    }

    fn schedule(&self, _ctx: &JobContext) -> Schedule {
        // Sites have their own zones and tenants their own hours: look often; each
        // visitor is reminded once per visit date whatever the schedule.
        Schedule::Every(Duration::minutes(10))
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let n = ctx
                .store
                .queue_reminders(ctx.clock.now())
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("{n} reminders queued"))
        })
    }
}
