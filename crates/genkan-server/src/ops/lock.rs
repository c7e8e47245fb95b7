//! The server lock: `genkan serve` holds an exclusive lock on `<data>/genkan.lock`
//! while it runs, so operator commands that must not run beside it (restoring over
//! the live database) can tell.

use std::fs::File;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// Held while the server runs; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct ServerLock {
    _file: File,
}

/// The lock file of a data directory.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("genkan.lock")
}

impl ServerLock {
    /// Takes the lock, or says that another server uses this data directory.
    pub fn acquire(data_dir: &Path) -> anyhow::Result<Self> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path(data_dir))?;
        flock(&file, FlockOperation::NonBlockingLockExclusive).map_err(|_| {
            anyhow::anyhow!(
                "another Genkan server is running on {} (it holds {})",
                data_dir.display(),
                path(data_dir).display()
            )
        })?;
        Ok(Self { _file: file })
    }

    /// Whether a server holds the lock right now.
    pub fn held_by_other(data_dir: &Path) -> bool {
        match File::options().write(true).open(path(data_dir)) {
            Ok(file) => flock(&file, FlockOperation::NonBlockingLockExclusive).is_err(),
            Err(_) => false,
        }
    }
}
