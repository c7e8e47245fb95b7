//! The data lifecycle, hourly: purges tenants whose contract ended long enough ago,
//! enforces the backup deadlines of purged tenants, and anonymises visitors past
//! their tenant's retention.

use chrono::Duration;

use super::{Job, JobContext, JobFuture, Schedule};
use crate::ops::lifecycle::purge_due;

/// Purges, backup deadlines and visitor retention.
pub struct Lifecycle;

impl Job for Lifecycle {
    fn name(&self) -> &'static str {
        "lifecycle"
    }

    fn schedule(&self, _ctx: &JobContext) -> Schedule {
        Schedule::Every(Duration::hours(1))
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let purged = purge_due(&ctx.store, &ctx.config, ctx.clock.as_ref())
                .await
                .map_err(|e| format!("purge: {e:#}"))?;
            let anonymised = ctx
                .store
                .anonymise_expired_visitors(ctx.clock.now())
                .await
                .map_err(|e| format!("visitor retention: {e}"))?;
            Ok(format!(
                "{} tenants purged, {} visitors anonymised",
                purged.len(),
                anonymised.iter().map(|(_, n)| n).sum::<i64>()
            ))
        })
    }
}
