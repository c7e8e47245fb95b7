//! No-show notices: the host is told when a visitor has not arrived some minutes
//! after the start (tenant setting), with how the invitation fared.

use chrono::Duration;

use super::{Job, JobContext, JobFuture, Schedule};

/// Queues a notice per visitor who is late by the tenant's number of minutes.
pub struct NoShow;

impl Job for NoShow {
    fn name(&self) -> &'static str {
        "no_show"
    }

    fn schedule(&self, _ctx: &JobContext) -> Schedule {
        Schedule::Every(Duration::minutes(1))
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let n = ctx
                .store
                .queue_no_shows(ctx.clock.now())
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("{n} no-show notices queued"))
        })
    }
}
