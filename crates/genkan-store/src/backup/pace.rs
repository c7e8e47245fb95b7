//! Keeping backups gentle on a busy server: they run on their own thread at the
//! lowest CPU priority, pause as long as they worked (at most half of one core), and
//! flush what they write every few dozen megabytes, so the check-ins' own fsyncs
//! never queue behind gigabytes of backup data.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{StoreError, StoreResult};

/// Bytes written between two flushes to disk.
pub(crate) const FLUSH_EVERY: u64 = 16 << 20;
/// Size of one read/write chunk.
const CHUNK: usize = 4 << 20;
/// Longest single pause.
const MAX_PAUSE: Duration = Duration::from_millis(250);

/// Pauses for as long as the work since the last pause took (a 50 % duty cycle).
pub(crate) struct Pacer {
    since: Instant,
}

impl Pacer {
    /// Starts measuring.
    pub(crate) fn new() -> Self {
        Self {
            since: Instant::now(),
        }
    }

    /// Rests as long as the work since the last call took.
    pub(crate) fn pace(&mut self) {
        let worked = self.since.elapsed().min(MAX_PAUSE);
        #[expect(
            clippy::disallowed_methods,
            reason = "a background backup thread yields the CPU; no clock is read or moved"
        )]
        std::thread::sleep(worked);
        self.since = Instant::now();
    }
}

/// Runs `work` on a new thread named `name` at the lowest CPU priority and awaits
/// its result (the thread ends afterwards, so no pooled thread stays slow).
pub async fn background<T, F>(name: &str, work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            // Linux applies a PRIO_PROCESS priority to the calling thread only.
            let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
            let _ = tx.send(work());
        })?;
    rx.await
        .map_err(|_| StoreError::Database("the background task panicked".to_owned()))?
}

/// Copies `src` into the new file `dst` (mode 600) in paced chunks, flushing as it
/// goes, and syncs it.
pub(crate) fn copy_paced(src: &Path, dst: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut from = File::open(src)?;
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)?;
    let mut buf = vec![0u8; CHUNK];
    let mut pacer = Pacer::new();
    let mut unflushed = 0u64;
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        to.write_all(&buf[..n])?;
        unflushed += n as u64;
        if unflushed >= FLUSH_EVERY {
            to.sync_data()?;
            unflushed = 0;
            pacer.pace();
        }
    }
    to.sync_all()
}

/// SHA-256 and size of a file, read in paced chunks.
pub(crate) fn sha256_paced(path: &Path) -> std::io::Result<(String, u64)> {
    use sha2::Digest as _;
    let mut file = File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    let mut pacer = Pacer::new();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
        if size % FLUSH_EVERY < n as u64 {
            pacer.pace();
        }
    }
    Ok((hex::encode(hasher.finalize()), size))
}
