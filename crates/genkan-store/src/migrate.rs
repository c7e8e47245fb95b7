//! Schema migrations: the numbered SQL files of `migrations/`, embedded in the binary
//! and applied in order at start-up. Released migrations are never edited.
//!
//! The migration that keys the audit chains ([`KEYED_SCHEMA`]) also records, in
//! its own transaction, where each existing chain's keyed part starts (see
//! [`crate::audit_chain`]): a database is never keyed without its boundaries.

use genkan_core::audit::ChainKey;
use rusqlite::Connection;

use crate::error::{StoreError, StoreResult};

/// Every migration, in order: (version, name, SQL).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_initial",
        include_str!("../../../migrations/0001_initial.sql"),
    ),
    (
        2,
        "0002_web",
        include_str!("../../../migrations/0002_web.sql"),
    ),
    (
        3,
        "0003_search",
        include_str!("../../../migrations/0003_search.sql"),
    ),
    (
        4,
        "0004_kiosk",
        include_str!("../../../migrations/0004_kiosk.sql"),
    ),
    (
        5,
        "0005_notifications",
        include_str!("../../../migrations/0005_notifications.sql"),
    ),
    (
        6,
        "0006_operations",
        include_str!("../../../migrations/0006_operations.sql"),
    ),
    (
        7,
        "0007_security",
        include_str!("../../../migrations/0007_security.sql"),
    ),
    (
        8,
        "0008_api_tokens",
        include_str!("../../../migrations/0008_api_tokens.sql"),
    ),
    (
        11,
        "0011_keyed_audit",
        include_str!("../../../migrations/0011_keyed_audit.sql"),
    ),
];

/// The first schema version whose audit chains are keyed.
pub const KEYED_SCHEMA: i64 = 11;

/// The schema version this build expects.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies the migrations `conn` lacks, each in its own transaction; audit chains
/// are keyed under `audit_key`. Refuses a database written by a newer Genkan.
pub fn migrate(conn: &Connection, audit_key: &ChainKey) -> StoreResult<i64> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > latest_version() {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {current}, newer than this Genkan ({}); upgrade Genkan",
            latest_version()
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tracing::info!(migration = name, "applying migration");
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied = (|| -> StoreResult<()> {
            conn.execute_batch(sql)?;
            if *version == KEYED_SCHEMA {
                crate::audit_chain::key_existing_chains(conn, audit_key)?;
            }
            conn.execute_batch(&format!("PRAGMA user_version = {version}; COMMIT;"))?;
            Ok(())
        })();
        if applied.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        applied?;
    }
    Ok(latest_version())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ChainKey {
        ChainKey::new([9; 32])
    }

    #[test]
    fn migrations_are_numbered_in_order_without_gaps() {
        for (i, (version, name, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i64 + 1);
            assert!(name.starts_with(&format!("{version:04}_")), "{name}");
        }
    }

    #[test]
    fn migrations_apply_to_an_empty_database_and_are_idempotent() {
        let conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&conn, &key()).unwrap(), latest_version());
        assert_eq!(migrate(&conn, &key()).unwrap(), latest_version());
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(tables >= 10);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 9999").unwrap();
        assert!(matches!(
            migrate(&conn, &key()),
            Err(StoreError::Corrupt(_))
        ));
    }
}
