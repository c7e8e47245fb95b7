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
        9,
        "0009_kiosk_trust",
        include_str!("../../../migrations/0009_kiosk_trust.sql"),
    ),
    (
        10,
        "0010_device_search",
        include_str!("../../../migrations/0010_device_search.sql"),
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
    fn migration_9_wipes_the_roster_keys_and_code_digests_kiosks_were_given() {
        let conn = Connection::open_in_memory().unwrap();
        for (version, _, sql) in MIGRATIONS.iter().filter(|m| m.0 <= 8) {
            conn.execute_batch(&format!("{sql}\nPRAGMA user_version = {version};"))
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO tenants (id, slug, name, created_at, roster_key)
                 VALUES (1, 'acme', 'Acme', 't', x'5EC7E7000000');
             INSERT INTO sites (id, tenant_id, name, created_at) VALUES (1, 1, 'HQ', 't');
             INSERT INTO users (id, tenant_id, email, display_name, role, created_at)
                 VALUES (1, 1, 'h@acme.example', 'Host', 'host', 't');
             INSERT INTO appointments (id, tenant_id, site_id, host_id, starts_at, ends_at,
                 valid_from, valid_until, created_at, updated_at)
                 VALUES (1, 1, 1, 1, 't', 't', 't', 't', 't', 't');
             INSERT INTO visitors (id, tenant_id, appointment_id, name, locale, created_at)
                 VALUES (1, 1, 1, 'Visitor', 'ja', 't');
             INSERT INTO passes (id, tenant_id, visitor_id, site_id, token_hash, code_hash,
                 valid_from, valid_until, created_at, roster_code_hash)
                 VALUES (1, 1, 1, 1, x'70', x'C0', 't', 't', 't', x'D16E57000000');",
        )
        .unwrap();
        migrate(&conn, &key()).unwrap();
        let columns = |table: &str| -> Vec<String> {
            conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert!(!columns("tenants").contains(&"roster_key".to_owned()));
        assert!(!columns("passes").contains(&"roster_code_hash".to_owned()));
        let (token, code): (Vec<u8>, Vec<u8>) = conn
            .query_row(
                "SELECT token_hash, code_hash FROM passes WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((token, code), (vec![0x70], vec![0xC0]), "the passes stay");
        assert!(columns("kiosk_roster_passes").contains(&"first_at".to_owned()));
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
