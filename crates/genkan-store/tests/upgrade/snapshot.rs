//! Reads every row of every table of a database, whatever its schema version, so
//! the rows before and after an upgrade can be compared column by column.

use std::collections::BTreeMap;
use std::fmt;

use rusqlite::Connection;
use rusqlite::types::ValueRef;

/// One stored value, comparable and printable.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cell {
    Null,
    Integer(i64),
    /// The bits of the float, so cells can be ordered and compared exactly.
    Real(u64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<ValueRef<'_>> for Cell {
    fn from(v: ValueRef<'_>) -> Self {
        match v {
            ValueRef::Null => Self::Null,
            ValueRef::Integer(i) => Self::Integer(i),
            ValueRef::Real(f) => Self::Real(f.to_bits()),
            ValueRef::Text(t) => Self::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Self::Blob(b.to_vec()),
        }
    }
}

impl fmt::Debug for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("NULL"),
            Self::Integer(i) => write!(f, "{i}"),
            Self::Real(bits) => write!(f, "{}", f64::from_bits(*bits)),
            Self::Text(t) if t.chars().count() > 80 => {
                write!(f, "{:?}…", t.chars().take(80).collect::<String>())
            }
            Self::Text(t) => write!(f, "{t:?}"),
            Self::Blob(b) => write!(
                f,
                "x'{}{}' ({} bytes)",
                hex::encode(&b[..b.len().min(16)]),
                if b.len() > 16 { "…" } else { "" },
                b.len()
            ),
        }
    }
}

/// The rows of one table.
pub(crate) struct Table {
    /// Column names in order (`rowid` first for a virtual table).
    pub(crate) columns: Vec<String>,
    /// The columns that identify a row: the primary key, `rowid` for a virtual
    /// table, every column for a table without a key.
    pub(crate) key: Vec<String>,
    /// Every row, values in `columns` order.
    pub(crate) rows: Vec<Vec<Cell>>,
}

/// Every table of a database.
pub(crate) struct Snapshot {
    /// `PRAGMA user_version`: the schema version.
    pub(crate) version: i64,
    /// Tables by name.
    pub(crate) tables: BTreeMap<String, Table>,
    /// Tables not read, and why.
    pub(crate) skipped: Vec<(String, String)>,
}

/// Reads every table of `conn`. SQLite's own tables are left out, and so are the
/// shadow tables that store a virtual table: its rows are read through the
/// virtual table itself, whose storage a later version may lay out differently.
pub(crate) fn take(conn: &Connection) -> rusqlite::Result<Snapshot> {
    let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let listed: Vec<(String, String)> = conn
        .prepare(
            "SELECT name, coalesce(sql, '') FROM sqlite_master
             WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let virtual_tables: Vec<&str> = listed
        .iter()
        .filter(|(_, sql)| is_virtual(sql))
        .map(|(name, _)| name.as_str())
        .collect();
    let mut snapshot = Snapshot {
        version,
        tables: BTreeMap::new(),
        skipped: Vec::new(),
    };
    for (name, sql) in &listed {
        if let Some(owner) = virtual_tables
            .iter()
            .find(|v| name.starts_with(&format!("{v}_")))
        {
            snapshot.skipped.push((
                name.clone(),
                format!("storage of the virtual table {owner}, compared through {owner}"),
            ));
            continue;
        }
        snapshot
            .tables
            .insert(name.clone(), read_table(conn, name, is_virtual(sql))?);
    }
    Ok(snapshot)
}

fn is_virtual(sql: &str) -> bool {
    sql.trim_start()
        .to_ascii_uppercase()
        .starts_with("CREATE VIRTUAL TABLE")
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn read_table(conn: &Connection, name: &str, is_virtual: bool) -> rusqlite::Result<Table> {
    let select = if is_virtual {
        format!("SELECT rowid AS rowid, * FROM {}", quoted(name))
    } else {
        format!("SELECT * FROM {}", quoted(name))
    };
    let mut stmt = conn.prepare(&select)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = Vec::new();
    let mut cursor = stmt.query([])?;
    while let Some(row) = cursor.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(Cell::from(row.get_ref(i)?));
        }
        rows.push(values);
    }
    rows.sort();
    let key = if is_virtual {
        vec!["rowid".to_owned()]
    } else {
        let mut pk: Vec<(i64, String)> = conn
            .prepare(&format!("PRAGMA table_info({})", quoted(name)))?
            .query_map([], |r| Ok((r.get::<_, i64>(5)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|(position, _)| *position > 0)
            .collect();
        pk.sort();
        if pk.is_empty() {
            columns.clone()
        } else {
            pk.into_iter().map(|(_, column)| column).collect()
        }
    };
    Ok(Table { columns, key, rows })
}
