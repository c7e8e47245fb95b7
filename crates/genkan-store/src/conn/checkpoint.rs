//! WAL checkpoints on their own thread and connection, so the writer never stalls
//! behind copying pages into the database file (its automatic checkpoints are off).

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use rusqlite::Connection;

use super::pragmas::{Access, open};
use crate::error::StoreResult;
use crate::keys::DbKey;

/// How often a passive checkpoint runs while writes keep coming.
const INTERVAL: Duration = Duration::from_millis(500);

/// Handle that stops the checkpointer when dropped.
pub(crate) struct Checkpointer {
    _stop: SyncSender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`.
    pub(crate) fn start(path: &Path, key: &DbKey) -> StoreResult<Self> {
        let conn = open(path, key, Access::Checkpoint)?;
        let (stop, stopped) = sync_channel(0);
        std::thread::Builder::new()
            .name("genkan-checkpoint".to_owned())
            .spawn(move || run(&conn, &stopped))?;
        Ok(Self { _stop: stop })
    }
}

fn run(conn: &Connection, stopped: &Receiver<()>) {
    loop {
        match stopped.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {
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
