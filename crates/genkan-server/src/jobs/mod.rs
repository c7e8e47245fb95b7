//! Scheduled jobs: each has a schedule (every N minutes, or daily at a local time)
//! and runs on the scheduler task. Tests call `Scheduler::tick` with a moved clock.

pub mod audit_anchor;
pub mod auto_checkout;
pub mod backup;
pub mod kiosk_silence;
pub mod lifecycle;
pub mod no_show;
pub mod reminders;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use genkan_core::Clock;
use genkan_core::tenant::TimeZone;
use genkan_store::Store;
use tokio::sync::{Mutex, watch};

use crate::config::Config;

/// What a job may use.
#[derive(Clone)]
pub struct JobContext {
    /// Persistence.
    pub store: Store,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Configuration.
    pub config: Arc<Config>,
}

/// When a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// At most once per interval.
    Every(Duration),
    /// Once a day at a local time in a zone.
    DailyAt(NaiveTime, TimeZone),
}

impl Schedule {
    /// Whether a job last run at `last` should run at `now`.
    pub fn due(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        match *self {
            Self::Every(interval) => last.is_none_or(|l| now - l >= interval),
            Self::DailyAt(at, zone) => {
                let today = zone.local_date(now);
                let slot = crate::web::time::from_local(today, at, zone);
                now >= slot && last.is_none_or(|l| l < slot)
            }
        }
    }
}

/// A job's outcome, for the log.
pub type JobResult = Result<String, String>;

/// A boxed job run.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = JobResult> + Send + 'a>>;

/// One scheduled job.
pub trait Job: Send + Sync {
    /// Stable name (logs, metrics).
    fn name(&self) -> &'static str;
    /// When it runs.
    fn schedule(&self, ctx: &JobContext) -> Schedule;
    /// Does the work once.
    fn run<'a>(&'a self, ctx: &'a JobContext) -> JobFuture<'a>;
}

/// Runs jobs when they are due.
pub struct Scheduler {
    ctx: JobContext,
    jobs: Vec<Box<dyn Job>>,
    last: Mutex<HashMap<&'static str, DateTime<Utc>>>,
}

impl Scheduler {
    /// A scheduler with Genkan's standard jobs.
    pub fn new(ctx: JobContext) -> Self {
        let jobs: Vec<Box<dyn Job>> = vec![
            Box::new(auto_checkout::AutoCheckout),
            Box::new(kiosk_silence::KioskSilence),
            Box::new(reminders::Reminders),
            Box::new(no_show::NoShow),
            Box::new(lifecycle::Lifecycle),
            Box::new(backup::DailyBackup),
            Box::new(audit_anchor::AuditAnchor),
        ];
        Self {
            ctx,
            jobs,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Adds a job.
    pub fn with(mut self, job: Box<dyn Job>) -> Self {
        self.jobs.push(job);
        self
    }

    /// Runs every job due at the clock's current time; returns the names run.
    pub async fn tick(&self) -> Vec<&'static str> {
        let now = self.ctx.clock.now();
        let mut ran = Vec::new();
        for job in &self.jobs {
            let last = self.last.lock().await.get(job.name()).copied();
            if !job.schedule(&self.ctx).due(last, now) {
                continue;
            }
            self.last.lock().await.insert(job.name(), now);
            match job.run(&self.ctx).await {
                Ok(summary) => tracing::info!(job = job.name(), %summary, "job done"),
                Err(error) => tracing::error!(job = job.name(), %error, "job failed"),
            }
            ran.push(job.name());
        }
        ran
    }

    /// Ticks every 20 seconds until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(20));
        loop {
            tokio::select! {
                _ = interval.tick() => { self.tick().await; }
                _ = shutdown.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_jobs_run_once_after_their_local_time() {
        let zone = TimeZone::default();
        let s = Schedule::DailyAt(NaiveTime::from_hms_opt(2, 0, 0).unwrap(), zone);
        let before: DateTime<Utc> = "2026-11-22T16:59:00Z".parse().unwrap(); // 01:59 JST
        let after: DateTime<Utc> = "2026-11-22T17:00:00Z".parse().unwrap(); // 02:00 JST
        assert!(!s.due(None, before));
        assert!(s.due(None, after));
        assert!(!s.due(Some(after), after + Duration::hours(3)));
        assert!(s.due(Some(after), after + Duration::days(1)));
    }

    #[test]
    fn interval_jobs_wait_for_their_interval() {
        let s = Schedule::Every(Duration::minutes(5));
        let t: DateTime<Utc> = "2026-11-22T17:00:00Z".parse().unwrap();
        assert!(s.due(None, t));
        assert!(!s.due(Some(t), t + Duration::minutes(4)));
        assert!(s.due(Some(t), t + Duration::minutes(5)));
    }
}
