//! The record of backup runs and their restore drills, kept in the live database
//! for `genkan backup list`, `/readyz` and the metrics.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension as _, Row, params};
use serde::Serialize;

use crate::Store;
use crate::error::StoreResult;
use crate::sql::{get_ts, ts};

/// One backup run and its drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupRun {
    /// Row id (0 before it is recorded).
    pub id: i64,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End (after the drill).
    pub finished_at: DateTime<Utc>,
    /// Whether the backup was written (to at least one destination).
    pub ok: bool,
    /// The backup file's name.
    pub file_name: Option<String>,
    /// Its SHA-256.
    pub sha256: Option<String>,
    /// Its size.
    pub size_bytes: Option<i64>,
    /// Directories written.
    pub destinations: Vec<String>,
    /// What failed (backup or some destinations).
    pub error: Option<String>,
    /// The drill's verdict: `Some(true)` passed, `Some(false)` failed, `None` not run.
    pub drill_ok: Option<bool>,
    /// How long the drill took.
    pub drill_ms: Option<i64>,
    /// What the drill checked or why it failed.
    pub drill_detail: Option<String>,
}

const COLS: &str = "id, trigger, started_at, finished_at, status, file_name, sha256, size_bytes,
    destinations, error, drill_status, drill_ms, drill_detail";

fn run_row(r: &Row<'_>) -> rusqlite::Result<BackupRun> {
    let status: String = r.get(4)?;
    let dests: String = r.get(8)?;
    let drill: Option<String> = r.get(10)?;
    Ok(BackupRun {
        id: r.get(0)?,
        trigger: r.get(1)?,
        started_at: get_ts(r, 2)?,
        finished_at: get_ts(r, 3)?,
        ok: status == "ok",
        file_name: r.get(5)?,
        sha256: r.get(6)?,
        size_bytes: r.get(7)?,
        destinations: serde_json::from_str(&dests).unwrap_or_default(),
        error: r.get(9)?,
        drill_ok: drill.map(|d| d == "ok"),
        drill_ms: r.get(11)?,
        drill_detail: r.get(12)?,
    })
}

impl Store {
    /// Records a finished backup run; returns its id.
    pub async fn record_backup_run(&self, run: BackupRun) -> StoreResult<i64> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO backup_runs (trigger, started_at, finished_at, status, file_name, sha256,
                    size_bytes, destinations, error, drill_status, drill_ms, drill_detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    run.trigger,
                    ts(run.started_at),
                    ts(run.finished_at),
                    if run.ok { "ok" } else { "failed" },
                    run.file_name,
                    run.sha256,
                    run.size_bytes,
                    serde_json::to_string(&run.destinations).unwrap_or_else(|_| "[]".into()),
                    run.error,
                    run.drill_ok.map(|ok| if ok { "ok" } else { "failed" }),
                    run.drill_ms,
                    run.drill_detail,
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
        .await
    }

    /// The latest runs, newest first.
    pub async fn backup_runs(&self, limit: usize) -> StoreResult<Vec<BackupRun>> {
        self.read(move |c| {
            Ok(c.prepare(&format!(
                "SELECT {COLS} FROM backup_runs ORDER BY finished_at DESC, id DESC LIMIT ?1"
            ))?
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], run_row)?
            .collect::<Result<_, _>>()?)
        })
        .await
    }

    /// The latest successful backup and the latest run, for health checks.
    pub async fn backup_health(&self) -> StoreResult<(Option<BackupRun>, Option<BackupRun>)> {
        self.read(|c| {
            let last_ok = c
                .query_row(
                    &format!(
                        "SELECT {COLS} FROM backup_runs WHERE status = 'ok'
                         ORDER BY finished_at DESC, id DESC LIMIT 1"
                    ),
                    [],
                    run_row,
                )
                .optional()?;
            let last = c
                .query_row(
                    &format!(
                        "SELECT {COLS} FROM backup_runs ORDER BY finished_at DESC, id DESC LIMIT 1"
                    ),
                    [],
                    run_row,
                )
                .optional()?;
            Ok((last_ok, last))
        })
        .await
    }

    /// Whether a scheduled backup finished successfully at or after `since`.
    pub async fn scheduled_backup_since(&self, since: DateTime<Utc>) -> StoreResult<bool> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM backup_runs WHERE trigger = 'schedule' AND status = 'ok'
                    AND started_at >= ?1)",
                [ts(since)],
                |r| r.get(0),
            )?)
        })
        .await
    }
}
