//! Online backups: a consistent snapshot copied page by page from a read connection
//! (the writer is never blocked), encrypted with the database key like the database
//! itself, installed atomically in every destination with a manifest, rotated to a
//! fixed number of generations; verification, restore and the restore drill.
//!
//! - [`files`]: destinations, atomic installation, generations and rotation.
//! - [`verify`]: checks a backup file against its manifest and restores it.
//! - [`runs`]: the record of every backup run and drill in the live database.
//! - [`pace`]: low priority, a duty cycle and steady flushing, so serving goes first.

pub mod files;
pub mod pace;
pub mod runs;
pub mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use genkan_core::audit::anchor::ChainHead;
use genkan_core::tenant::TimeZone;
use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};
use serde::{Deserialize, Serialize};

use crate::conn::pragmas::{Access, apply_key, open};
use crate::error::{StoreError, StoreResult};
use crate::keys::DbKey;
use crate::{Store, create_private_file};

pub use files::{Generation, RotationPolicy};
pub use verify::VerifyReport;

/// Version of the manifest format: 2 adds `audit_heads`; version 1 manifests
/// (without them) are still read and verified.
pub const MANIFEST_FORMAT: u32 = 2;

/// What a backup file holds, written next to it as `<file>.manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// The backup file's name (in its destination directory).
    pub file: String,
    /// SHA-256 of the backup file, lower-case hex.
    pub sha256: String,
    /// Size of the backup file in bytes.
    pub size_bytes: u64,
    /// Schema version (`PRAGMA user_version`) of the copy.
    pub schema_version: i64,
    /// Version of the Genkan that wrote it.
    pub app_version: String,
    /// When the snapshot was taken, ISO 8601 with the configured zone's offset.
    pub created_at: String,
    /// Rows per table in the copy.
    pub tables: BTreeMap<String, i64>,
    /// Ids of the tenants whose data the copy holds (for purge-aware rotation).
    pub tenants: Vec<i64>,
    /// How the file is encrypted.
    pub encryption: String,
    /// The last row of every audit chain in the copy (sequence number and link):
    /// an anchor outside the database for `genkan audit verify`. Absent in
    /// manifests written before anchors existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_heads: Option<Vec<ChainHead>>,
}

impl Manifest {
    /// The instant the snapshot was taken.
    pub fn created(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.created_at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// Where and how to back up.
#[derive(Debug, Clone)]
pub struct BackupPlan {
    /// Directories receiving every backup (each gets its own copy and manifest).
    pub destinations: Vec<PathBuf>,
    /// Generations kept in each destination.
    pub generations: usize,
    /// Pages copied per step of the online backup.
    pub step_pages: i32,
    /// Version of the running Genkan, recorded in the manifest.
    pub app_version: String,
    /// Zone of the manifest's timestamp (and of file names).
    pub zone: TimeZone,
    /// Directory for the staging copy (on the database's file system).
    pub work_dir: PathBuf,
}

/// What a backup reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Copying pages of the snapshot.
    Copying {
        /// Pages copied so far.
        done: i64,
        /// Pages in the database.
        total: i64,
    },
    /// Counting rows and hashing the copy.
    Sealing,
    /// Installing the copy in a destination.
    Installing(PathBuf),
}

/// The result of one backup.
#[derive(Debug, Clone)]
pub struct BackupOutcome {
    /// The manifest shared by every copy.
    pub manifest: Manifest,
    /// Every installed copy.
    pub written: Vec<PathBuf>,
    /// Destinations that failed, with why.
    pub failed: Vec<(PathBuf, String)>,
    /// Old generations removed by rotation.
    pub removed: Vec<PathBuf>,
}

/// Copies the live database at `db` into a new encrypted file `dest` from a read
/// connection: one read transaction pins a consistent snapshot (so writes made
/// meanwhile never restart the copy) while pages are copied in steps; WAL mode lets
/// the writer commit throughout. The copy is switched to `journal_mode=DELETE` so it
/// is one self-contained file.
pub(crate) fn snapshot(
    db: &Path,
    key: &DbKey,
    dest: &Path,
    step_pages: i32,
    progress: &mut dyn FnMut(Progress),
) -> StoreResult<()> {
    let source = open(db, key, Access::Read)?;
    create_private_file(dest)?;
    let mut copy = Connection::open(dest)?;
    apply_key(&copy, key)?;
    source.execute_batch("BEGIN")?;
    // The first read starts the snapshot the copy will see.
    source.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    let copied = (|| -> StoreResult<()> {
        let backup = Backup::new(&source, &mut copy)?;
        // Written pages are flushed as the copy grows, not all at the end.
        let flusher = std::fs::File::open(dest)?;
        let step_bytes = u64::try_from(step_pages.max(1)).unwrap_or(1) * 4096;
        let mut unflushed = 0u64;
        loop {
            // Not paced: the snapshot's read transaction keeps the WAL from being
            // checkpointed, so the copy should end soon (it runs at low priority).
            let step = backup.step(step_pages.max(1))?;
            unflushed += step_bytes;
            if unflushed >= pace::FLUSH_EVERY {
                flusher.sync_data()?;
                unflushed = 0;
            }
            let p = backup.progress();
            progress(Progress::Copying {
                done: i64::from(p.pagecount - p.remaining),
                total: i64::from(p.pagecount),
            });
            match step {
                StepResult::Done => return Ok(()),
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    // Only the destination could be locked (nobody else opens it).
                    return Err(StoreError::Busy);
                }
                _ => return Err(StoreError::Database("unknown backup step result".into())),
            }
        }
    })();
    let _ = source.execute_batch("COMMIT");
    copied?;
    let mode: String = copy.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StoreError::Database(format!(
            "the backup copy stayed in journal mode {mode}"
        )));
    }
    drop(copy);
    std::fs::File::open(dest)?.sync_all()?;
    Ok(())
}

/// Rows per table, the schema version and the tenants of an open copy.
pub(crate) fn describe(conn: &Connection) -> StoreResult<(BTreeMap<String, i64>, i64, Vec<i64>)> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut tables = BTreeMap::new();
    for name in names {
        let quoted = name.replace('"', "\"\"");
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{quoted}\""), [], |r| {
            r.get(0)
        })?;
        tables.insert(name, n);
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tenants: Vec<i64> = conn
        .prepare("SELECT id FROM tenants ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((tables, version, tenants))
}

/// Opens a backup copy read-only with `key`; a wrong key or a failed page HMAC is
/// `KeyRejected`.
pub(crate) fn open_copy(path: &Path, key: &DbKey) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    apply_key(&conn, key)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| match StoreError::from(e) {
        StoreError::KeyRejected | StoreError::Database(_) => StoreError::KeyRejected,
        other => other,
    })?;
    Ok(conn)
}

/// SHA-256 and size of a file, read at a gentle pace.
pub fn sha256_file(path: &Path) -> StoreResult<(String, u64)> {
    Ok(pace::sha256_paced(path)?)
}

/// Takes a snapshot into `work_dir`, describes and hashes it, and builds its manifest.
fn stage(
    db: &Path,
    key: &DbKey,
    plan: &BackupPlan,
    at: DateTime<Utc>,
    progress: &mut dyn FnMut(Progress),
) -> StoreResult<(PathBuf, Manifest)> {
    std::fs::create_dir_all(&plan.work_dir)?;
    let name = files::file_name(&plan.destinations, at, plan.zone);
    let staged = plan.work_dir.join(format!(
        ".{name}.{}.staging",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let _ = std::fs::remove_file(&staged);
    let result = (|| {
        snapshot(db, key, &staged, plan.step_pages, progress)?;
        progress(Progress::Sealing);
        let copy = open_copy(&staged, key)?;
        let (tables, schema_version, tenants) = describe(&copy)?;
        let audit_heads = crate::audit_chain::chain_heads(&copy)?;
        drop(copy);
        let (sha256, size_bytes) = sha256_file(&staged)?;
        Ok(Manifest {
            format: MANIFEST_FORMAT,
            file: name,
            sha256,
            size_bytes,
            schema_version,
            app_version: plan.app_version.clone(),
            created_at: plan.zone.format(at),
            tables,
            tenants,
            encryption: "sqlcipher4/database-key".to_owned(),
            audit_heads: Some(audit_heads),
        })
    })();
    match result {
        Ok(manifest) => Ok((staged, manifest)),
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            Err(e)
        }
    }
}

/// Runs a whole backup: snapshot, manifest, installation in every destination,
/// rotation. Succeeds if at least one destination holds the new generation; the
/// destinations that failed are reported.
pub fn run_backup(
    db: &Path,
    key: &DbKey,
    plan: &BackupPlan,
    rotation: &RotationPolicy,
    at: DateTime<Utc>,
    progress: &mut dyn FnMut(Progress),
) -> StoreResult<BackupOutcome> {
    if plan.destinations.is_empty() {
        return Err(StoreError::Io(
            "no backup destinations are configured".to_owned(),
        ));
    }
    // One backup at a time in this process (the schedule, a purge, a test), so two
    // runs never pick the same file name or compete for the disk.
    static RUNNING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (staged, manifest) = stage(db, key, plan, at, progress)?;
    let mut written = Vec::new();
    let mut failed = Vec::new();
    for (i, dest) in plan.destinations.iter().enumerate() {
        progress(Progress::Installing(dest.clone()));
        // The last destination may take the staged file itself (same file system).
        let last = i + 1 == plan.destinations.len();
        match files::install(&staged, dest, &manifest, last) {
            Ok(path) => written.push(path),
            Err(e) => failed.push((dest.clone(), e.to_string())),
        }
    }
    let _ = std::fs::remove_file(&staged);
    if written.is_empty() {
        let why = failed
            .iter()
            .map(|(d, e)| format!("{}: {e}", d.display()))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(StoreError::Io(format!(
            "no destination took the backup: {why}"
        )));
    }
    let mut removed = Vec::new();
    for dest in &plan.destinations {
        match files::rotate(dest, rotation, at) {
            Ok(mut r) => removed.append(&mut r),
            Err(e) => failed.push((dest.clone(), format!("rotation: {e}"))),
        }
    }
    Ok(BackupOutcome {
        manifest,
        written,
        failed,
        removed,
    })
}

impl Store {
    /// Backs up the live database (see [`run_backup`]) on a blocking thread.
    pub async fn backup(
        &self,
        plan: BackupPlan,
        rotation: RotationPolicy,
        at: DateTime<Utc>,
        mut progress: impl FnMut(Progress) + Send + 'static,
    ) -> StoreResult<BackupOutcome> {
        let db = self.path().to_owned();
        let key = self.keys().database.clone();
        pace::background("genkan-backup", move || {
            run_backup(&db, &key, &plan, &rotation, at, &mut progress)
        })
        .await
    }
}
