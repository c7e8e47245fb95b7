//! A small pool of read-only connections; queries run on the blocking thread pool
//! so async tasks never wait on SQLite.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::pragmas::{Access, open};
use crate::error::{StoreError, StoreResult};
use crate::keys::DbKey;

/// Read-only connections shared by all requests.
#[derive(Clone)]
pub(crate) struct Readers {
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    /// Opens `size` read-only connections to `path`.
    pub(crate) fn open(path: &Path, key: &DbKey, size: usize) -> StoreResult<Self> {
        let conns = (0..size.max(1))
            .map(|_| open(path, key, Access::Read))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(conns.len())),
            idle: Arc::new(Mutex::new(conns)),
        })
    }

    /// Runs `query` on a free connection.
    pub(crate) async fn read<T, F>(&self, query: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let idle = Arc::clone(&self.idle);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .ok_or(StoreError::Closed)?;
            // A panicking query must not take its connection out of the pool.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| query(&conn)))
                .unwrap_or_else(|_| Err(StoreError::Database("a read query panicked".to_owned())));
            idle.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Database(format!("read task failed: {e}")))?
    }
}
