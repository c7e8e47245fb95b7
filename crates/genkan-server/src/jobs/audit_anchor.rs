//! Once a day (and at start-up) the heads of every audit chain go to the log: an
//! anchor outside the database. A line copied from the log and given to
//! `genkan audit verify --anchor FILE` shows whether rows were removed or the
//! chains re-linked since. Heads are links, not secrets.

use chrono::Duration;
use genkan_core::audit::anchor::format_heads;

use super::{Job, JobContext, JobFuture, Schedule};

/// Heads per log line, so that a line stays well below log shippers' limits.
const PER_LINE: usize = 100;

/// Logs the audit chain heads.
pub struct AuditAnchor;

impl Job for AuditAnchor {
    fn name(&self) -> &'static str {
        "audit_anchor"
    }

    fn schedule(&self, _ctx: &JobContext) -> Schedule {
        Schedule::Every(Duration::days(1))
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let heads = ctx.store.audit_heads().await.map_err(|e| e.to_string())?;
            let parts = heads.len().div_ceil(PER_LINE).max(1);
            for (i, chunk) in heads.chunks(PER_LINE).enumerate() {
                tracing::info!(
                    audit.heads = %format_heads(chunk),
                    audit.part = i + 1,
                    audit.parts = parts,
                    "audit chain heads"
                );
            }
            Ok(format!("{} chain heads logged", heads.len()))
        })
    }
}
