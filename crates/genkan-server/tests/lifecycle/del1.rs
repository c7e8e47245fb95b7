//! DEL-1: a tenant whose contract ended is purged within the window — no row in any
//! table, no canary in the database file, its WAL or any backup (raw bytes and the
//! decrypted pages, free pages included), no backup generation holding it — while
//! the other tenant stays exactly as it was.

use std::path::Path;

use chrono::{Duration, NaiveDate};
use genkan_core::Clock as _;
use genkan_server::ops::lifecycle::read_only_from;
use genkan_store::AuditCtx;
use genkan_store::backup::files::generations;
use genkan_store::backup::verify::verify_backup;

use crate::harness::Ops;
use crate::sqlcipher;

/// Strings of the ended tenant's visitors, as stored (name, e-mail, search tokens).
const CANARIES: &[&str] = &[
    "Zqxcanary",
    "zqxcanary@leak.example",
    "zq qx xc ca an na ar ry",
];

fn raw(path: &Path, keys: &genkan_store::KeyRing) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    let hex: String = keys
        .database
        .bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
        .unwrap();
    conn
}

/// Rows per table holding `tenant`'s data (tables with a `tenant_id`, the tenant
/// row, its audit chain).
fn rows_of(conn: &rusqlite::Connection, tenant: i64) -> Vec<(String, i64)> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT m.name FROM sqlite_master m WHERE m.type = 'table'
             AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'tenant_id') ORDER BY m.name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out: Vec<(String, i64)> = tables
        .into_iter()
        .map(|t| {
            let n = conn
                .query_row(
                    &format!("SELECT count(*) FROM \"{t}\" WHERE tenant_id = ?1"),
                    [tenant],
                    |r| r.get(0),
                )
                .unwrap();
            (t, n)
        })
        .collect();
    let one = |sql: &str| {
        conn.query_row(sql, [tenant], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    out.push((
        "tenants".into(),
        one("SELECT count(*) FROM tenants WHERE id = ?1"),
    ));
    out.push((
        "audit chain".into(),
        one("SELECT count(*) FROM audit_log WHERE chain = ?1"),
    ));
    out.push(("tenant search rows".into(), one(
        "SELECT count(*) FROM visitor_search WHERE rowid IN (SELECT id FROM visitors WHERE tenant_id = ?1)",
    )));
    out
}

/// Canaries found in a file: raw bytes, and the plaintext of its pages.
fn canaries_in(path: &Path, key: &[u8; 32], wal: bool) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let plain = if wal {
        sqlcipher::wal(key, &bytes)
    } else {
        sqlcipher::database(key, &bytes)
    };
    let mut found = Vec::new();
    for c in CANARIES {
        if sqlcipher::contains(&bytes, c.as_bytes()) {
            found.push(format!("{}: raw {c:?}", path.display()));
        }
        if sqlcipher::contains(&plain, c.as_bytes()) {
            found.push(format!("{}: decrypted {c:?}", path.display()));
        }
    }
    found
}

#[tokio::test]
async fn an_ended_tenant_leaves_no_row_no_canary_and_no_backup_thirty_one_days_later() {
    let ops = Ops::new(true);
    let gone = ops.tenant("gone").await;
    let stays = ops.tenant("stays").await;
    for i in 0..4 {
        ops.visit(&gone, &format!("Zqxcanary {i}"), "zqxcanary@leak.example")
            .await;
        ops.visit(
            &stays,
            &format!("Keeper {i}"),
            &format!("keeper{i}@stays.example"),
        )
        .await;
    }
    let scheduler = ops.scheduler();
    // Two daily backups while the contract runs: both hold the tenant.
    assert!(scheduler.tick().await.contains(&"backup"));
    ops.clock.advance(Duration::days(1));
    assert!(scheduler.tick().await.contains(&"backup"));
    for dest in ops.destinations() {
        assert_eq!(generations(&dest).unwrap().len(), 2);
    }
    let db = ops.config.data.database();
    let key = *ops.keys.database.bytes();
    // The check can see the canaries at all: before the purge they are in the pages.
    let plain = sqlcipher::database(&key, &std::fs::read(&db).unwrap());
    let wal = sqlcipher::wal(
        &key,
        &std::fs::read(db.with_extension("db-wal")).unwrap_or_default(),
    );
    assert!(
        sqlcipher::contains(&plain, b"CREATE TABLE") || sqlcipher::contains(&wal, b"CREATE TABLE"),
        "page decryption works"
    );
    assert!(
        sqlcipher::contains(&plain, CANARIES[0].as_bytes())
            || sqlcipher::contains(&wal, CANARIES[0].as_bytes()),
        "the canary is visible before the purge"
    );

    // The contract ends today; read-only from tomorrow.
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let from = read_only_from(today, genkan_core::tenant::TimeZone::default());
    ops.store
        .end_contract(
            gone.id,
            today,
            from,
            AuditCtx::system(Some(gone.id), ops.clock.now()),
        )
        .await
        .unwrap();
    ops.clock.advance(Duration::days(10));
    scheduler.tick().await;
    assert!(
        ops.store
            .tenant_statuses()
            .await
            .unwrap()
            .iter()
            .any(|t| t.id == gone.id),
        "not purged yet"
    );
    // (The jobs of those days, such as pruning old kiosk answers, ran for everyone.)
    let stays_before = rows_of(&raw(&db, &ops.keys), stays.id.get());

    // 31 days after the contract end: purged, and no backup holds it any more.
    ops.clock.set(from + Duration::days(31));
    scheduler.tick().await;

    let conn = raw(&db, &ops.keys);
    for (table, n) in rows_of(&conn, gone.id.get()) {
        assert_eq!(n, 0, "{table} still holds rows of the purged tenant");
    }
    assert_eq!(
        rows_of(&conn, stays.id.get()),
        stays_before,
        "the other tenant is untouched"
    );
    let (action, details): (String, String) = conn
        .query_row(
            "SELECT action, details FROM audit_log WHERE chain = 0 AND action = 'tenant.purge' AND target_id = ?1",
            [gone.id.get().to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(action, "tenant.purge");
    assert!(
        details.contains("\"visits\":4") && !details.contains("anary"),
        "{details}"
    );
    assert_eq!(ops.store.verify_audit().await.unwrap().first_break, None);
    drop(conn);

    let mut leaks = canaries_in(&db, &key, false);
    leaks.extend(canaries_in(&db.with_extension("db-wal"), &key, true));
    let mut remaining = 0;
    for dest in ops.destinations() {
        for g in generations(&dest).unwrap() {
            remaining += 1;
            assert!(
                !g.manifest.tenants.contains(&gone.id.get()),
                "{} still holds the tenant",
                g.path.display()
            );
            verify_backup(&g.path, &ops.keys).unwrap();
            leaks.extend(canaries_in(&g.path, &key, false));
            let copy = raw(&g.path, &ops.keys);
            assert!(rows_of(&copy, gone.id.get()).iter().all(|(_, n)| *n == 0));
        }
        for entry in std::fs::read_dir(&dest).unwrap() {
            leaks.extend(canaries_in(&entry.unwrap().path(), &key, false));
        }
    }
    assert!(
        remaining >= 2,
        "the purge took a clean generation in each place"
    );
    assert!(leaks.is_empty(), "canaries left: {leaks:?}");
    let purged = ops.store.purged_tenants().await.unwrap();
    assert_eq!(purged.len(), 1);
    assert!(purged[0].backups_clear_by <= from + Duration::days(30));
}
