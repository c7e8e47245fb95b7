//! One backup run as the operator relies on it: the online backup to every
//! destination, then the restore drill (restore into a temporary place, page
//! authentication, integrity, row counts against the manifest, audit chains; the
//! copies in the other destinations checked against the manifest's SHA-256), the
//! record of both in the live database, and an alert when anything failed: an
//! error in the log and an e-mail to `backup.alert_email` through the outbox.
//!
//! The alert goes to the operator and not to tenant admins: backups are the
//! operator's promise, tenant admins cannot act on them, and a failure says
//! something about the infrastructure that is not theirs to read.

use std::path::PathBuf;

use genkan_core::Clock;
use genkan_store::Store;
use genkan_store::backup::runs::BackupRun;
use genkan_store::backup::verify::{DrillReport, drill};
use genkan_store::backup::{BackupPlan, Progress, RotationPolicy, sha256_file};

use crate::config::Config;

/// Why a backup ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The daily schedule.
    Schedule,
    /// `genkan backup now` (or a purge that needed a clean generation).
    Manual,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
        }
    }
}

/// The plan described by the configuration.
pub fn plan(config: &Config) -> BackupPlan {
    BackupPlan {
        destinations: config.backup.destinations.clone(),
        generations: config.backup.generations.max(1),
        step_pages: config.backup.step_pages.max(1),
        app_version: env!("CARGO_PKG_VERSION").to_owned(),
        zone: config.backup.zone(),
        work_dir: config.data.dir.join("tmp"),
    }
}

/// Rotation: the configured generations, and no generation may hold a purged
/// tenant past its deadline.
pub async fn rotation(store: &Store, config: &Config) -> genkan_store::StoreResult<RotationPolicy> {
    let purged = store
        .purged_tenants()
        .await?
        .into_iter()
        .map(|p| (p.tenant_id, p.backups_clear_by))
        .collect();
    Ok(RotationPolicy {
        generations: config.backup.generations.max(1),
        purged,
    })
}

/// Restores the first copy into a scratch directory and checks it; checks the other
/// copies' checksums.
async fn drill_copies(
    store: &Store,
    config: &Config,
    written: &[PathBuf],
    sha256: &str,
) -> DrillReport {
    let keys = store.keys().clone();
    let work = config.data.dir.join("tmp");
    let files = written.to_vec();
    let expected = sha256.to_owned();
    // Low priority and paced, like the backup itself: serving goes first.
    let report = genkan_store::backup::pace::background("genkan-drill", move || {
        let Some(first) = files.first() else {
            return Ok(DrillReport {
                ok: false,
                elapsed_ms: 0,
                detail: "no copy was written".to_owned(),
            });
        };
        let mut report = drill(first, &keys, &work);
        for other in &files[1..] {
            match sha256_file(other) {
                Ok((sha, _)) if sha == expected => {}
                Ok(_) => {
                    report.ok = false;
                    report.detail =
                        format!("{}: checksum differs from the manifest", other.display());
                }
                Err(e) => {
                    report.ok = false;
                    report.detail = format!("{}: {e}", other.display());
                }
            }
        }
        Ok(report)
    })
    .await;
    report.unwrap_or_else(|e| DrillReport {
        ok: false,
        elapsed_ms: 0,
        detail: format!("drill task failed: {e}"),
    })
}

/// Takes a backup, drills it, records both and alerts on failure. Returns the record.
pub async fn backup_and_drill(
    store: &Store,
    config: &Config,
    clock: &dyn Clock,
    trigger: Trigger,
    progress: impl FnMut(Progress) + Send + 'static,
) -> anyhow::Result<BackupRun> {
    let started_at = clock.now();
    let rotation = rotation(store, config).await?;
    let outcome = store
        .backup(plan(config), rotation, started_at, progress)
        .await;
    let mut run = BackupRun {
        id: 0,
        trigger: trigger.as_str().to_owned(),
        started_at,
        finished_at: started_at,
        ok: false,
        file_name: None,
        sha256: None,
        size_bytes: None,
        destinations: Vec::new(),
        error: None,
        drill_ok: None,
        drill_ms: None,
        drill_detail: None,
    };
    match outcome {
        Ok(o) => {
            let report = drill_copies(store, config, &o.written, &o.manifest.sha256).await;
            run.ok = true;
            run.file_name = Some(o.manifest.file.clone());
            run.sha256 = Some(o.manifest.sha256.clone());
            run.size_bytes = i64::try_from(o.manifest.size_bytes).ok();
            run.destinations = o
                .written
                .iter()
                .filter_map(|p| p.parent().map(|d| d.display().to_string()))
                .collect();
            if !o.failed.is_empty() {
                run.error = Some(
                    o.failed
                        .iter()
                        .map(|(d, e)| format!("{}: {e}", d.display()))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
            }
            run.drill_ok = Some(report.ok);
            run.drill_ms = i64::try_from(report.elapsed_ms).ok();
            run.drill_detail = Some(report.detail);
        }
        Err(e) => run.error = Some(e.to_string()),
    }
    run.finished_at = clock.now();
    run.id = store.record_backup_run(run.clone()).await?;
    if run.ok && run.error.is_none() && run.drill_ok == Some(true) {
        tracing::info!(
            backup.file = run.file_name.as_deref().unwrap_or(""),
            backup.destinations = run.destinations.len(),
            drill.ms = run.drill_ms.unwrap_or(0),
            "backup and restore drill passed"
        );
    } else {
        alert(store, config, clock, &run).await;
    }
    Ok(run)
}

/// Logs the failure at error level and mails the operator if an address is set.
async fn alert(store: &Store, config: &Config, clock: &dyn Clock, run: &BackupRun) {
    let what = if !run.ok {
        "backup failed"
    } else if run.drill_ok != Some(true) {
        "restore drill failed"
    } else {
        "backup incomplete: a destination failed"
    };
    let text = format!(
        "{what}\n\nrun: {}\nstarted: {}\nfile: {}\ndestinations written: {}\nerror: {}\ndrill: {}\n\nSee `genkan backup list` on the server.",
        run.id,
        config.backup.zone().format(run.started_at),
        run.file_name.as_deref().unwrap_or("-"),
        if run.destinations.is_empty() {
            "none".to_owned()
        } else {
            run.destinations.join(", ")
        },
        run.error.as_deref().unwrap_or("-"),
        run.drill_detail.as_deref().unwrap_or("-"),
    );
    tracing::error!(
        alert = "backup",
        backup.run = run.id,
        backup.ok = run.ok,
        drill.ok = ?run.drill_ok,
        error = run.error.as_deref().unwrap_or(""),
        drill.detail = run.drill_detail.as_deref().unwrap_or(""),
        "{what}"
    );
    if !config.backup.alert_email.is_empty()
        && let Err(e) = store
            .queue_operator_alert(
                config.backup.alert_email.clone(),
                what.to_owned(),
                text,
                clock.now(),
            )
            .await
    {
        tracing::error!(error = %e, "could not queue the backup alert mail");
    }
}
