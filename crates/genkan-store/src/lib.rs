//! Genkan's persistence on SQLite (SQLCipher, WAL) behind a narrow async API.
//!
//! One writer thread owns the only writable connection and commits concurrent
//! requests together (group commit, `synchronous=FULL`); reads use a small pool on
//! the blocking thread pool. Every method on tenant data takes the tenant id.
//!
//! - [`keys`]: the key ring kept outside the database.
//! - [`migrate`]: embedded schema migrations.
//! - [`audit`]: the hash-chained audit log.
//! - [`tenants`], [`appointments`], [`kiosks`], [`visits`], [`outbox`], [`tokens`]:
//!   one module per aggregate; [`staff`] and [`import`] serve the admin screens.
#![forbid(unsafe_code)]

pub mod appointment_edit;
pub mod appointments;
pub mod audit;
mod dashboard;
pub mod export;
pub mod frontdesk;
pub mod history;
pub use dashboard::{Expected, Today};
mod conn;
mod error;
pub mod import;
pub mod keys;
pub mod kiosks;
pub mod messages;
pub mod migrate;
pub mod outbox;
pub mod sessions;
mod sql;
pub mod staff;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod visits;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::Notify;

use conn::checkpoint::Checkpointer;
use conn::pragmas::{Access, open};
use conn::readers::Readers;
use conn::writer::{Tx, Writer};

pub use audit::AuditCtx;
pub use error::{StoreError, StoreResult};
pub use keys::KeyRing;

/// Creates the database file readable only by its owner (SQLite gives its `-wal`
/// and `-shm` files the same mode).
fn create_private_file(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
    }
    Ok(())
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The database file.
    pub path: PathBuf,
    /// Keys (the database key opens the file).
    pub keys: KeyRing,
    /// Number of read-only connections.
    pub readers: usize,
}

/// The store: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    writer: Writer,
    readers: Readers,
    keys: Arc<KeyRing>,
    outbox_signal: Arc<Notify>,
    path: Arc<PathBuf>,
    kiosk_cache: Arc<kiosks::AuthCache>,
    _checkpointer: Arc<Checkpointer>,
}

impl Store {
    /// Opens (creating if needed) the database, applies migrations and starts the writer.
    pub fn open(config: StoreConfig) -> StoreResult<Self> {
        create_private_file(&config.path)?;
        let conn = open(&config.path, &config.keys.database, Access::Write)?;
        migrate::migrate(&conn)?;
        let outbox_signal = Arc::new(Notify::new());
        let readers = Readers::open(&config.path, &config.keys.database, config.readers)?;
        let writer = Writer::start(conn, Arc::clone(&outbox_signal))?;
        let checkpointer = Checkpointer::start(&config.path, &config.keys.database)?;
        Ok(Self {
            writer,
            readers,
            keys: Arc::new(config.keys),
            outbox_signal,
            path: Arc::new(config.path),
            kiosk_cache: Arc::new(kiosks::AuthCache::default()),
            _checkpointer: Arc::new(checkpointer),
        })
    }

    /// The key ring.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Notified after every commit that queued outbox messages.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.outbox_signal)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> StoreResult<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .map(|_| ())
    }

    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.writer.write(work).await
    }

    pub(crate) async fn read<T, F>(&self, query: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.readers.read(query).await
    }
}
