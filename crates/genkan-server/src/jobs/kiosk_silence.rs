//! Tells a tenant's admins by e-mail when one of their active kiosks has been silent
//! (no heartbeat, no request) for the tenant's `kiosk_silence_minutes`. The store
//! marks each reported silence, so one silence is one alert however often this runs.

use chrono::Duration;

use super::{Job, JobContext, JobFuture, Schedule};

/// Reports silent kiosks.
pub struct KioskSilence;

impl Job for KioskSilence {
    fn name(&self) -> &'static str {
        "kiosk_silence"
    }

    fn schedule(&self, _ctx: &JobContext) -> Schedule {
        // Kiosks beat every minute; thresholds are whole minutes.
        Schedule::Every(Duration::minutes(1))
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let reported = ctx
                .store
                .alert_silent_kiosks(ctx.clock.now())
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("{reported} silent kiosks reported"))
        })
    }
}
