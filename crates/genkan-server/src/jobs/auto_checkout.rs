//! End-of-day automatic check-out of visitors who never checked out.

use chrono::Duration;

use super::{Job, JobContext, JobFuture, Schedule};

/// Closes visits left open from an earlier local day.
pub struct AutoCheckout;

impl Job for AutoCheckout {
    fn name(&self) -> &'static str {
        "auto_check_out"
    }

    fn schedule(&self, _ctx: &JobContext) -> Schedule {
        // Sites have their own zones, so look often; the rule itself is per site.
        Schedule::Every(Duration::minutes(10))
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let closed = ctx
                .store
                .auto_check_out(ctx.clock.now())
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("{closed} visits closed"))
        })
    }
}
