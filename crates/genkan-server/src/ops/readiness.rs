//! Readiness: the database answers, the data directory has room, the outbox keeps
//! up, and (with backups configured) the last backup is recent and its restore
//! drill passed. Every failed check is named in the answer.

use std::path::Path;

use chrono::Duration;
use serde_json::{Map, Value, json};

use crate::state::AppState;

/// Free bytes for unprivileged users on the file system holding `path`.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(path).map_err(std::io::Error::from)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// The clock check: the last NTP measurement; an offset beyond the limit is a reason.
fn clock(state: &AppState, checks: &mut Map<String, Value>, reasons: &mut Vec<String>) {
    use crate::ops::clock_sync::{ClockState, within};
    let max = state.config.readiness.max_clock_offset_ms;
    let value = match state.clock_status.get() {
        ClockState::NotChecked => json!({ "synchronised": null, "checked": false }),
        ClockState::NoAnswer { last } => json!({
            "synchronised": null,
            "checked": true,
            "last_offset_ms": last.map(|s| (s.offset_secs * 1000.0).round()),
            "problem": "no NTP server answered",
        }),
        ClockState::Measured(s) => {
            let ok = within(s.offset_secs, max);
            if !ok {
                reasons.push(format!(
                    "the system clock is {:.0} ms off NTP time ({}; limit {max} ms)",
                    s.offset_secs * 1000.0,
                    s.server
                ));
            }
            json!({
                "synchronised": ok,
                "checked": true,
                "offset_ms": (s.offset_secs * 1000.0).round(),
                "server": s.server,
                "at": s.at.to_rfc3339(),
            })
        }
    };
    checks.insert("clock".into(), value);
}

/// The readiness verdict: (ready, JSON body).
pub async fn check(state: &AppState) -> (bool, Value) {
    let cfg = &state.config.readiness;
    let now = state.clock.now();
    let mut checks = Map::new();
    let mut reasons: Vec<String> = Vec::new();

    match state.store.ping().await {
        Ok(()) => {
            checks.insert("database".into(), json!("ok"));
        }
        Err(e) => {
            tracing::error!(error = %e, "readiness: database check failed");
            checks.insert("database".into(), json!("failing"));
            reasons.push("the database does not answer".into());
        }
    }

    match free_bytes(&state.config.data.dir) {
        Ok(free) => {
            let mib = free / (1024 * 1024);
            checks.insert("disk_free_mb".into(), json!(mib));
            if mib < cfg.min_free_disk_mb {
                reasons.push(format!(
                    "only {mib} MiB free in the data directory (minimum {})",
                    cfg.min_free_disk_mb
                ));
            }
        }
        Err(e) => {
            checks.insert("disk_free_mb".into(), Value::Null);
            reasons.push(format!("free space of the data directory unknown: {e}"));
        }
    }

    match state
        .store
        .outbox_backlog(now, Duration::minutes(cfg.outbox_late_minutes.max(1)))
        .await
    {
        Ok(n) => {
            checks.insert("outbox_backlog".into(), json!(n));
            if n > cfg.max_outbox_backlog {
                reasons.push(format!(
                    "{n} messages overdue by {} minutes (limit {})",
                    cfg.outbox_late_minutes, cfg.max_outbox_backlog
                ));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "readiness: outbox check failed");
            reasons.push("the outbox cannot be read".into());
        }
    }

    if state.config.backup.enabled() {
        match state.store.backup_health().await {
            Ok((last_ok, last)) => {
                match &last_ok {
                    Some(ok) => {
                        let age = now - ok.finished_at;
                        checks.insert("backup_age_seconds".into(), json!(age.num_seconds().max(0)));
                        if age > Duration::hours(cfg.max_backup_age_hours) {
                            reasons.push(format!(
                                "the last successful backup is {} hours old (limit {})",
                                age.num_hours(),
                                cfg.max_backup_age_hours
                            ));
                        }
                    }
                    None => {
                        checks.insert("backup_age_seconds".into(), json!("none_yet"));
                    }
                }
                if let Some(run) = &last {
                    let drill = match run.drill_ok {
                        Some(true) => "ok",
                        Some(false) => "failed",
                        None => "not_run",
                    };
                    checks.insert("backup_drill".into(), json!(drill));
                    if !run.ok {
                        reasons.push("the last backup failed".into());
                    }
                    if run.drill_ok == Some(false) {
                        reasons.push("the last restore drill failed".into());
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "readiness: backup check failed");
                reasons.push("the backup record cannot be read".into());
            }
        }
    } else {
        checks.insert("backup_age_seconds".into(), json!("not_configured"));
    }

    clock(state, &mut checks, &mut reasons);

    let ready = reasons.is_empty();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": checks,
        "reasons": reasons,
    });
    (ready, body)
}
