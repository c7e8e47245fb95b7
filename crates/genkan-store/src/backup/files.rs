//! Backup files on disk: names, atomic installation (temporary file, fsync, rename,
//! fsync of the directory), the generations of a destination and their rotation.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use genkan_core::tenant::TimeZone;

use super::Manifest;

/// Prefix of every backup file name.
pub const PREFIX: &str = "genkan-backup-";
/// Extension of backup files.
pub const EXTENSION: &str = ".db";
/// Suffix of the manifest beside each backup file.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

/// What rotation keeps.
#[derive(Debug, Clone, Default)]
pub struct RotationPolicy {
    /// Complete generations kept per destination (the newest ones).
    pub generations: usize,
    /// Purged tenants and the instant after which no generation may hold them.
    pub purged: Vec<(i64, DateTime<Utc>)>,
}

/// One complete backup in a destination.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The backup file.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// The manifest path of a backup file.
pub fn manifest_path(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(MANIFEST_SUFFIX);
    PathBuf::from(name)
}

/// A new, unused file name for a backup taken at `at`, e.g.
/// `genkan-backup-20261124T020000.123+0900.db` (local time of `zone`).
pub(crate) fn file_name(destinations: &[PathBuf], at: DateTime<Utc>, zone: TimeZone) -> String {
    let stamp = at
        .with_timezone(&zone.tz())
        .format("%Y%m%dT%H%M%S%.3f%z")
        .to_string();
    let taken = |name: &str| destinations.iter().any(|d| d.join(name).exists());
    let mut name = format!("{PREFIX}{stamp}{EXTENSION}");
    let mut n = 2;
    while taken(&name) {
        name = format!("{PREFIX}{stamp}-{n}{EXTENSION}");
        n += 1;
    }
    name
}

/// Writes `bytes` to `dir/name` atomically with mode 600.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = dir.join(format!(".{name}.partial"));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    let target = dir.join(name);
    std::fs::rename(&tmp, &target)?;
    Ok(target)
}

/// Makes the directory's entries durable (the renames into it).
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Creates a destination directory (mode 700) if it is missing.
fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    Ok(())
}

/// Copies `src` to `dir/name` atomically with mode 600 (paced; see [`super::pace`]):
/// a reader never sees a partial file under the final name, and after return the file
/// survives a crash. With `may_move`, `src` is renamed instead when it lies on the
/// same file system (it is gone afterwards).
pub(crate) fn copy_atomic(
    src: &Path,
    dir: &Path,
    name: &str,
    may_move: bool,
) -> std::io::Result<PathBuf> {
    let tmp = dir.join(format!(".{name}.partial"));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let moved = may_move && std::fs::rename(src, &tmp).is_ok();
        if moved {
            std::fs::File::open(&tmp)?.sync_all()?;
        } else {
            super::pace::copy_paced(src, &tmp)?;
        }
        let target = dir.join(name);
        std::fs::rename(&tmp, &target)?;
        Ok(target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Installs a staged backup in `dir`: the file first, then its manifest (a
/// generation counts only once its manifest exists), then the directory is synced.
/// With `may_move` the staged file may be moved rather than copied.
pub(crate) fn install(
    staged: &Path,
    dir: &Path,
    manifest: &Manifest,
    may_move: bool,
) -> std::io::Result<PathBuf> {
    ensure_dir(dir)?;
    let path = copy_atomic(staged, dir, &manifest.file, may_move)?;
    let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
    let manifest_name = format!("{}{MANIFEST_SUFFIX}", manifest.file);
    if let Err(e) = write_atomic(dir, &manifest_name, &json) {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    sync_dir(dir)?;
    Ok(path)
}

/// Reads the manifest beside a backup file.
pub fn read_manifest(backup: &Path) -> Option<Manifest> {
    let text = std::fs::read(manifest_path(backup)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The complete generations of a destination, newest first.
pub fn generations(dir: &Path) -> std::io::Result<Vec<Generation>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !(name.starts_with(PREFIX) && name.ends_with(EXTENSION)) {
            continue;
        }
        if let Some(manifest) = read_manifest(&path) {
            found.push(Generation { path, manifest });
        }
    }
    found.sort_by(|a, b| {
        b.manifest
            .created()
            .cmp(&a.manifest.created())
            .then_with(|| b.path.cmp(&a.path))
    });
    Ok(found)
}

fn remove_generation(path: &Path) -> std::io::Result<()> {
    std::fs::remove_file(manifest_path(path))?;
    std::fs::remove_file(path)
}

/// Applies `policy` to `dir`: generations holding a purged tenant past its deadline
/// go first, then all but the newest `policy.generations`. Also removes leftovers of
/// interrupted installations. Returns the backup files removed.
pub fn rotate(
    dir: &Path,
    policy: &RotationPolicy,
    now: DateTime<Utc>,
) -> std::io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let mut kept = 0;
    for generation in generations(dir)? {
        let holds_purged = generation.manifest.tenants.iter().any(|t| {
            policy
                .purged
                .iter()
                .any(|(purged, clear_by)| purged == t && *clear_by <= now)
        });
        if holds_purged || kept >= policy.generations.max(1) {
            remove_generation(&generation.path)?;
            removed.push(generation.path);
        } else {
            kept += 1;
        }
    }
    // A backup file whose manifest never arrived, or a temporary file, from a run
    // that was interrupted more than a day ago.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| {
                    DateTime::<Utc>::from(m).checked_add_signed(chrono::Duration::days(1))
                })
                .is_some_and(|limit| limit < now);
            let orphan = name.starts_with(PREFIX)
                && name.ends_with(EXTENSION)
                && !manifest_path(&path).exists();
            let partial = name.starts_with('.') && name.ends_with(".partial");
            if stale && (orphan || partial) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}
