//! Upgrades keep data. Every folder of `tests/fixtures/upgrade/` holds a database
//! made by a landed version (with rows of every kind), its key and what that version
//! answered about it. Each is opened with today's store, which applies every
//! migration since; then every row of every table must still be there with every old
//! column holding the same value (except what `declared.rs` declares on purpose),
//! SQLite's integrity check must pass, the audit chains must verify, and the store
//! must answer questions about the old data as the landed version did.
#![expect(clippy::unwrap_used, reason = "test fixtures fail loudly")]

mod compare;
mod declared;
mod queries;
mod snapshot;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use genkan_store::migrate::latest_version;
use genkan_store::{KeyRing, Store, StoreConfig};
use rusqlite::Connection;

use declared::{Change, DECLARED, Declared};

/// Where the landed versions' databases are kept, one folder each.
fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/upgrade")
}

fn fixture_dirs() -> Vec<PathBuf> {
    let root = fixtures_root();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        // Tools' own folders (`__pycache__`, `.cache`) are not landed versions.
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(['.', '_']))
        })
        .collect();
    dirs.sort();
    dirs
}

/// A plain connection with the fixture's key: no migration, no store settings.
fn open_raw(path: &Path, keys: &KeyRing) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\";",
        hex::encode(keys.database.bytes())
    ))
    .unwrap();
    conn
}

/// `PRAGMA foreign_key_check`, one line per violation.
fn foreign_key_violations(conn: &Connection) -> BTreeSet<String> {
    conn.prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{} row {:?} -> {}",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[tokio::test]
async fn every_landed_version_upgrades_without_losing_or_changing_a_row() {
    let problems = declared::incomplete(DECLARED);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let dirs = fixture_dirs();
    assert!(
        !dirs.is_empty(),
        "no fixture under {}: the upgrade test needs the databases of landed versions",
        fixtures_root().display()
    );
    for dir in dirs {
        upgrade(&dir).await;
    }
}

async fn upgrade(dir: &Path) {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    for file in ["genkan.db", "genkan.key", "facts.json"] {
        assert!(
            dir.join(file).is_file(),
            "{name}: {file} is missing (see tests/fixtures/upgrade/{name}/README.md)"
        );
    }
    for file in ["genkan.db-wal", "genkan.db-shm"] {
        assert!(
            !dir.join(file).exists(),
            "{name}: {file} exists; a fixture is a checkpointed database file alone"
        );
    }
    let keys = KeyRing::parse(&std::fs::read_to_string(dir.join("genkan.key")).unwrap()).unwrap();
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("facts.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("genkan.db");
    std::fs::copy(dir.join("genkan.db"), &path).unwrap();

    let (before, violations_before) = {
        let conn = open_raw(&path, &keys);
        (
            snapshot::take(&conn).unwrap(),
            foreign_key_violations(&conn),
        )
    };
    assert!(
        before.version <= latest_version(),
        "{name}: schema version {} is newer than this build's {}",
        before.version,
        latest_version()
    );
    for (table, t) in &before.tables {
        eprintln!("{name}: {table:<22} {:>5} rows", t.rows.len());
    }
    let gaps = compare::fixture_gaps(&before);
    assert!(gaps.is_empty(), "{name}:\n{}", gaps.join("\n"));

    let store = Store::open(StoreConfig {
        path: path.clone(),
        keys: keys.clone(),
        readers: 2,
    })
    .unwrap_or_else(|e| panic!("{name}: the store does not open the fixture: {e}"));
    let conn = open_raw(&path, &keys);
    let after = snapshot::take(&conn).unwrap();
    assert_eq!(
        after.version,
        latest_version(),
        "{name}: not fully migrated"
    );
    let losses = compare::losses(&before, &after, DECLARED);
    assert!(
        losses.is_empty(),
        "{name}: upgrading from schema version {} lost or changed data:\n{}",
        before.version,
        losses.join("\n")
    );

    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        integrity,
        ["ok"],
        "{name}: integrity check after the upgrade"
    );
    let new_violations: Vec<String> = foreign_key_violations(&conn)
        .difference(&violations_before)
        .cloned()
        .collect();
    assert!(
        new_violations.is_empty(),
        "{name}: the upgrade broke references: {new_violations:#?}"
    );

    let audit_rows = before.tables["audit_log"].rows.len() as u64;
    let report = store.verify_audit().await.unwrap();
    assert_eq!(
        report.first_break, None,
        "{name}: the audit chains do not verify after the upgrade"
    );
    assert!(
        report.rows >= audit_rows,
        "{name}: {} audit rows verified of {audit_rows}",
        report.rows
    );

    queries::ask(&store, &facts, &name).await;
}

/// The comparison itself: every kind of loss is reported unless declared.
#[test]
fn the_comparison_reports_every_undeclared_loss_and_accepts_declared_ones() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT, y BLOB);
         INSERT INTO a VALUES (1, 'one', x'01'), (2, 'two', x'02');
         CREATE TABLE b (k TEXT PRIMARY KEY, v REAL) WITHOUT ROWID;
         INSERT INTO b VALUES ('k', 1.5);
         CREATE TABLE c (n INTEGER);
         INSERT INTO c VALUES (7), (7);
         CREATE TABLE d (id INTEGER PRIMARY KEY);
         INSERT INTO d VALUES (1);
         CREATE VIRTUAL TABLE s USING fts5(t);
         INSERT INTO s (rowid, t) VALUES (5, 'abc');
         CREATE TABLE purge_in_progress (tenant_id INTEGER PRIMARY KEY);
         CREATE TABLE free_page_scrub (filler BLOB NOT NULL);
         CREATE TABLE e (id INTEGER PRIMARY KEY);",
    )
    .unwrap();
    let before = snapshot::take(&conn).unwrap();
    assert!(before.skipped.iter().any(|(t, _)| t == "s_data"));
    assert!(compare::losses(&before, &before, &[]).is_empty());
    let gaps = compare::fixture_gaps(&before);
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert!(gaps[0].contains("no rows in e"));

    conn.execute_batch(
        "ALTER TABLE a DROP COLUMN y;
         UPDATE a SET x = 'ONE' WHERE id = 1;
         DELETE FROM a WHERE id = 2;
         ALTER TABLE b RENAME TO b2;
         ALTER TABLE c RENAME COLUMN n TO m;
         DROP TABLE d;
         DELETE FROM s;",
    )
    .unwrap();
    let after = snapshot::take(&conn).unwrap();
    let problems = compare::losses(&before, &after, &[]);
    for expected in [
        "column a.y is gone",
        "row of a with id = 1 changed: x: \"one\" → \"ONE\"",
        "row of a with id = 2 is gone",
        "table b is gone",
        "column c.n is gone",
        "table d is gone",
        "row of s with rowid = 5 is gone",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected:?} not reported in {problems:#?}"
        );
    }

    let declare = |table, change| Declared {
        table,
        change,
        migration: "0001_initial.sql",
        reason: "exercised by this test",
    };
    let declared = [
        declare("a", Change::ColumnDropped("y")),
        declare("a", Change::ColumnRewritten("x")),
        declare("a", Change::RowsDeleted),
        declare("b", Change::TableRenamed("b2")),
        declare("c", Change::ColumnRenamed("n", "m")),
        declare("d", Change::TableDropped),
        declare("s", Change::RowsDeleted),
    ];
    assert_eq!(
        compare::losses(&before, &after, &declared),
        Vec::<String>::new()
    );
    assert!(declared::incomplete(&declared).is_empty());
    let unknown = Declared {
        migration: "9999_not_a_migration.sql",
        ..declared[0]
    };
    let reasonless = Declared {
        reason: " ",
        ..declared[0]
    };
    assert_eq!(declared::incomplete(&[unknown, reasonless]).len(), 2);
}
