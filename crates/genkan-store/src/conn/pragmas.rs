//! Opens a connection with the key and the PRAGMAs Genkan relies on, and checks them.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{StoreError, StoreResult};
use crate::keys::DbKey;

/// Whether a connection may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The writer: creates the file, WAL, synchronous=FULL.
    Write,
    /// A reader: query_only.
    Read,
    /// The checkpointer: may write the database file, never starts transactions.
    Checkpoint,
}

/// Opens `path` with `key` and applies and verifies the PRAGMAs.
pub(crate) fn open(path: &Path, key: &DbKey, access: Access) -> StoreResult<Connection> {
    let flags = match access {
        Access::Write => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        Access::Read | Access::Checkpoint => OpenFlags::SQLITE_OPEN_READ_WRITE,
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if access == Access::Write && path.exists() {
        // A read-only probe first: a connection that fails on a wrong key still tidies
        // the WAL when it closes, which must not happen with a key that is not ours.
        // Only its verdict on the key counts: a read-only connection can fail where a
        // writer would not (a hot journal, a WAL it may not recover), and then the
        // writer below checks the key itself.
        let probe = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        apply_key(&probe, key)?;
        if let Err(rusqlite::Error::SqliteFailure(e, _)) = &first_read(&probe)
            && e.code == rusqlite::ErrorCode::NotADatabase
        {
            return Err(StoreError::KeyRejected);
        }
    }
    let conn = Connection::open_with_flags(path, flags)?;
    check_key(&conn, key)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16000;",
    )?;
    if access == Access::Write {
        // Freed cell space is zeroed whenever that costs no extra I/O, so deleted or
        // overwritten personal data does not linger inside pages still in use.
        conn.execute_batch("PRAGMA secure_delete = FAST;")?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "journal_mode is {mode}, expected wal"
            )));
        }
    } else {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    // FULL: an acknowledged commit survives power loss, not only a process crash.
    conn.execute_batch("PRAGMA synchronous = FULL;")?;
    verify(&conn)?;
    Ok(conn)
}

/// Applies `key` and makes the first real read, which tells whether the key fits.
fn check_key(conn: &Connection, key: &DbKey) -> StoreResult<()> {
    apply_key(conn, key)?;
    first_read(conn).map_err(|e| match StoreError::from(e) {
        StoreError::KeyRejected | StoreError::Database(_) => StoreError::KeyRejected,
        other => other,
    })?;
    Ok(())
}

/// The first read of a keyed connection: it fails with "not a database" on a wrong key.
fn first_read(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
}

/// Sets the SQLCipher key on a fresh connection (raw 256-bit key, no passphrase KDF).
pub(crate) fn apply_key(conn: &Connection, key: &DbKey) -> StoreResult<()> {
    // SQLCipher would print its own errors to stderr; a wrong key is reported as
    // `StoreError::KeyRejected` through the normal log instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.hex()))?;
    Ok(())
}

fn verify(conn: &Connection) -> StoreResult<()> {
    let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
    let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    if sync != 2 || fk != 1 {
        return Err(StoreError::Database(format!(
            "connection settings not applied (synchronous={sync}, foreign_keys={fk})"
        )));
    }
    Ok(())
}
