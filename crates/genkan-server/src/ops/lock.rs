//! The server lock: whoever writes to a data directory's database holds an exclusive
//! lock on `<data>/genkan.lock` — `genkan serve` (or `demo`) while it runs, or an
//! operator command working alone while no server runs — so there is only ever one
//! writer. The lock file names its holder, so a command can tell a server (to talk
//! to) from another command (to wait for).

use std::fs::File;
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// Held while the server runs; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct ServerLock {
    _file: File,
}

/// Who holds the lock of a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// `genkan serve` or `genkan demo`: it answers on the control socket.
    Server,
    /// An operator command using the database while no server runs.
    Command,
}

impl Holder {
    fn tag(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Command => "command",
        }
    }
}

/// The lock file of a data directory.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("genkan.lock")
}

impl ServerLock {
    /// Takes the lock for a server, or says who else uses this data directory.
    pub fn acquire(data_dir: &Path) -> anyhow::Result<Self> {
        Self::try_acquire(data_dir, Holder::Server)?.ok_or_else(|| taken(data_dir))
    }

    /// Takes the lock for a command that must run alone (no server, no other
    /// command), or says who else uses this data directory.
    pub fn acquire_alone(data_dir: &Path) -> anyhow::Result<Self> {
        Self::try_acquire(data_dir, Holder::Command)?.ok_or_else(|| taken(data_dir))
    }

    /// Takes the lock for `holder` if nobody holds it; `None` if someone does.
    pub fn try_acquire(data_dir: &Path, holder: Holder) -> anyhow::Result<Option<Self>> {
        let mut file = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path(data_dir))
            .map_err(|e| anyhow::anyhow!("opening {}: {e}", path(data_dir).display()))?;
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            return Ok(None);
        }
        // Who holds it, for the commands that find it taken.
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{} {}", holder.tag(), std::process::id())?;
        Ok(Some(Self { _file: file }))
    }

    /// Whether a server holds the lock right now.
    pub fn held_by_other(data_dir: &Path) -> bool {
        match File::options().write(true).open(path(data_dir)) {
            Ok(file) => flock(&file, FlockOperation::NonBlockingLockExclusive).is_err(),
            Err(_) => false,
        }
    }

    /// Who holds the lock, and its process id, as the lock file says; meaningful only
    /// while the lock is held (a holder that has only just taken it may not have
    /// written its name yet: `None`).
    pub fn holder(data_dir: &Path) -> Option<(Holder, u32)> {
        let mut text = String::new();
        File::open(path(data_dir))
            .and_then(|mut f| f.read_to_string(&mut text))
            .ok()?;
        let mut words = text.split_whitespace();
        let holder = match words.next()? {
            "server" => Holder::Server,
            "command" => Holder::Command,
            _ => return None,
        };
        Some((holder, words.next()?.parse().ok()?))
    }
}

/// Why the lock of `data_dir` cannot be had.
fn taken(data_dir: &Path) -> anyhow::Error {
    let lock = path(data_dir);
    match ServerLock::holder(data_dir) {
        Some((Holder::Command, pid)) => anyhow::anyhow!(
            "a genkan command (process {pid}) is using {}; try again when it has finished (it holds {})",
            data_dir.display(),
            lock.display()
        ),
        _ => anyhow::anyhow!(
            "another Genkan server is running on {} (it holds {})",
            data_dir.display(),
            lock.display()
        ),
    }
}
