//! Genkan's persistence on SQLite (SQLCipher, WAL) behind a narrow async API.
//!
//! One writer thread owns the only writable connection and commits concurrent
//! requests together (group commit, `synchronous=FULL`); reads use a small pool on
//! the blocking thread pool. Every method on tenant data takes the tenant id.
//!
//! - [`keys`]: the key ring kept outside the database.
//! - [`migrate`]: embedded schema migrations.
//! - [`audit`]: the chained audit log; [`audit_chain`] verifies it and compares it
//!   with anchors; [`audit_search`] reads it for people.
//! - [`signin`], [`mfa`], [`security`]: sign-in steps, second factor, tenant
//!   sign-in policies and failure counters.
//! - [`tenants`], [`appointments`], [`kiosks`], [`visits`], [`outbox`], [`tokens`]:
//!   one module per aggregate; [`staff`] and [`import`] serve the admin screens.
//! - [`alerts`], [`channels`], [`replies`], [`templates`]: who is notified of what,
//!   channel settings, host replies, tenants' own message templates.
//! - [`backup`], [`lifecycle`], [`privacy`], [`notices`], [`operations`],
//!   [`tenant_export`]: operations: backups, contract ends and purges, visitor
//!   retention and erasure, operator notices, health figures, full exports.
//! - [`roster`], [`kiosk_health`], [`kiosk_walk_in`], [`kiosk_settings`]: what kiosks
//!   need beyond check-in: offline rosters, heartbeats and silence alerts, walk-ins.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod appointment_edit;
pub mod appointments;
pub mod audit;
pub mod audit_chain;
pub mod audit_search;
pub mod backup;
pub mod channels;
mod credentials;
mod dashboard;
pub mod export;
pub mod frontdesk;
pub mod history;
pub use dashboard::{Expected, Today};
mod conn;
mod error;
pub mod import;
pub mod keys;
pub mod kiosk_health;
pub mod kiosk_settings;
pub mod kiosk_walk_in;
pub mod kiosks;
pub mod lifecycle;
pub mod messages;
pub mod mfa;
pub mod migrate;
pub mod notices;
pub mod operations;
pub mod outbox;
pub mod privacy;
pub mod replies;
pub mod roster;
pub mod security;
pub mod sessions;
pub mod signin;
mod sql;
pub mod staff;
pub mod templates;
pub mod tenant_export;
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

/// Re-encrypts the database file at `path` from `old` to `new` keys. The service
/// must be stopped: the file is switched out of WAL mode for the rewrite.
pub fn rekey(path: &Path, old: &KeyRing, new: &KeyRing) -> StoreResult<()> {
    let conn = open(path, &old.database, Access::Write)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StoreError::Busy);
    }
    conn.execute_batch(&format!("PRAGMA rekey = \"x'{}'\";", new.database.hex()))?;
    conn.execute_batch("PRAGMA journal_mode = WAL;")?;
    drop(conn);
    // Prove the new key opens it before anyone relies on it.
    let check = open(path, &new.database, Access::Read)?;
    check.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
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
    reply_events: tokio::sync::broadcast::Sender<replies::ReplyEvent>,
    path: Arc<PathBuf>,
    kiosk_cache: Arc<kiosks::AuthCache>,
    read_only: Arc<lifecycle::ReadOnlyCache>,
    delivery: Arc<alerts::DeliverySetting>,
    code_lookups: Arc<std::sync::atomic::AtomicU64>,
    _checkpointer: Arc<Checkpointer>,
}

impl Store {
    /// Opens (creating if needed) the database, applies migrations and starts the writer.
    pub fn open(config: StoreConfig) -> StoreResult<Self> {
        create_private_file(&config.path)?;
        let conn = open(&config.path, &config.keys.database, Access::Write)?;
        migrate::migrate(&conn, &config.keys.audit_key())?;
        let outbox_signal = Arc::new(Notify::new());
        let readers = Readers::open(&config.path, &config.keys.database, config.readers)?;
        let writer = Writer::start(conn, Arc::clone(&outbox_signal), config.keys.audit_key())?;
        let checkpointer = Checkpointer::start(
            &config.path,
            &config.keys.database,
            Arc::clone(&outbox_signal),
        )?;
        Ok(Self {
            writer,
            readers,
            keys: Arc::new(config.keys),
            outbox_signal,
            reply_events: tokio::sync::broadcast::channel(1024).0,
            path: Arc::new(config.path),
            kiosk_cache: Arc::new(kiosks::AuthCache::default()),
            read_only: Arc::new(lifecycle::ReadOnlyCache::default()),
            delivery: Arc::new(alerts::DeliverySetting::default()),
            code_lookups: Arc::new(std::sync::atomic::AtomicU64::new(0)),
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
