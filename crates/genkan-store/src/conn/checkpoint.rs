//! WAL checkpoints on their own thread and connection, so the writer never stalls
//! behind copying pages into the database file (its automatic checkpoints are off).
//! The same thread notices messages queued by other processes (operator commands
//! such as `genkan notice publish`) and wakes the outbox worker for them.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::Notify;

use super::joined::Joined;
use super::pragmas::{Access, open};
use crate::error::StoreResult;
use crate::keys::DbKey;

/// How often a passive checkpoint runs while writes keep coming.
const INTERVAL: Duration = Duration::from_millis(500);

/// Handle that stops the checkpointer, and waits for it, when dropped.
pub(crate) struct Checkpointer {
    // Dropped first: the thread sees the channel close, checkpoints once more and ends.
    _stop: SyncSender<()>,
    _thread: Joined,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`.
    pub(crate) fn start(path: &Path, key: &DbKey, outbox: Arc<Notify>) -> StoreResult<Self> {
        let conn = open(path, key, Access::Checkpoint)?;
        let (stop, stopped) = sync_channel(0);
        let thread = std::thread::Builder::new()
            .name("genkan-checkpoint".to_owned())
            .spawn(move || run(&conn, &stopped, &outbox))?;
        Ok(Self {
            _stop: stop,
            _thread: Joined::new(thread),
        })
    }
}

/// The newest message id (a rowid lookup), to notice messages queued elsewhere.
fn newest_queued(conn: &Connection) -> i64 {
    conn.query_row("SELECT coalesce(max(id), 0) FROM outbox", [], |r| r.get(0))
        .unwrap_or(0)
}

fn run(conn: &Connection, stopped: &Receiver<()>, outbox: &Notify) {
    let mut seen = newest_queued(conn);
    loop {
        match stopped.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {
                let newest = newest_queued(conn);
                if newest > seen {
                    outbox.notify_one();
                }
                seen = newest;
                // PASSIVE never blocks the writer or readers; whatever it cannot copy now
                // is copied next time.
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                return;
            }
        }
    }
}
