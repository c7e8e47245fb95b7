//! Compares the rows of a database before and after an upgrade: every table, every
//! column and every row of before must be there after with the same values, except
//! what [`crate::declared`] declares. Returns the problems found, each one line.

use std::collections::BTreeMap;

use crate::declared::{Change, Declared, TRANSIENT, declares, new_table_name};
use crate::snapshot::{Cell, Snapshot, Table};

/// Problems shown per table before the rest are only counted.
const SHOWN_PER_TABLE: usize = 5;

/// Tables of the fixture without rows that are not declared transient: the fixture
/// would not prove that such rows survive.
pub(crate) fn fixture_gaps(before: &Snapshot) -> Vec<String> {
    let mut gaps: Vec<String> = before
        .tables
        .iter()
        .filter(|(name, t)| t.rows.is_empty() && !TRANSIENT.iter().any(|(n, _)| n == name))
        .map(|(name, _)| {
            format!(
                "the fixture has no rows in {name}: make the fixture script create some, or declare the table transient (with why) in declared.rs"
            )
        })
        .collect();
    for (name, _) in TRANSIENT {
        if !before.tables.contains_key(*name) {
            gaps.push(format!(
                "{name} is declared transient but the fixture has no such table"
            ));
        }
    }
    gaps
}

/// Every loss or change from `before` to `after` that `declared` does not allow.
pub(crate) fn losses(before: &Snapshot, after: &Snapshot, declared: &[Declared]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, old) in &before.tables {
        if declares(declared, name, |c| matches!(c, Change::TableDropped)) {
            continue;
        }
        let new_name = new_table_name(declared, name);
        let Some(new) = after.tables.get(new_name) else {
            problems.push(format!(
                "table {name} is gone after the upgrade ({} rows); declare it in declared.rs if a migration drops or renames it on purpose",
                old.rows.len()
            ));
            continue;
        };
        let mut found = table_losses(name, old, new, declared);
        let more = found.len().saturating_sub(SHOWN_PER_TABLE);
        found.truncate(SHOWN_PER_TABLE);
        problems.extend(found);
        if more > 0 {
            problems.push(format!("… and {more} more problems in {name}"));
        }
    }
    problems
}

/// An old column and where its values are after the upgrade.
struct Mapped {
    name: String,
    old: usize,
    new: usize,
    /// Values may change (declared rewritten): only the column's presence counts.
    compare: bool,
}

fn table_losses(name: &str, old: &Table, new: &Table, declared: &[Declared]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut mapped = Vec::new();
    for (i, column) in old.columns.iter().enumerate() {
        if declares(
            declared,
            name,
            |c| matches!(c, Change::ColumnDropped(col) if col == column),
        ) {
            continue;
        }
        let new_column = declared
            .iter()
            .filter(|d| d.table == name)
            .find_map(|d| match d.change {
                Change::ColumnRenamed(from, to) if from == column => Some(to),
                _ => None,
            })
            .unwrap_or(column);
        match new.columns.iter().position(|c| c == new_column) {
            Some(j) => mapped.push(Mapped {
                name: column.clone(),
                old: i,
                new: j,
                compare: !declares(
                    declared,
                    name,
                    |c| matches!(c, Change::ColumnRewritten(col) if col == column),
                ),
            }),
            None => problems.push(format!(
                "column {name}.{column} is gone after the upgrade; declare it in declared.rs if a migration drops or renames it on purpose"
            )),
        }
    }
    // Rows are matched on the old key columns that survive.
    let key: Vec<&Mapped> = mapped
        .iter()
        .filter(|m| old.key.contains(&m.name))
        .collect();
    if key.is_empty() {
        problems.push(format!(
            "{name}: no column of its key ({}) survives, so its rows cannot be matched",
            old.key.join(", ")
        ));
        return problems;
    }
    let mut after_by_key: BTreeMap<Vec<&Cell>, Vec<&Vec<Cell>>> = BTreeMap::new();
    for row in &new.rows {
        after_by_key
            .entry(key.iter().map(|m| &row[m.new]).collect())
            .or_default()
            .push(row);
    }
    let deletions_declared = declares(declared, name, |c| matches!(c, Change::RowsDeleted));
    for row in &old.rows {
        let wanted: Vec<&Cell> = key.iter().map(|m| &row[m.old]).collect();
        let Some(candidates) = after_by_key.get(&wanted) else {
            if !deletions_declared {
                problems.push(format!(
                    "row of {name} with {} is gone after the upgrade",
                    describe(&key, &wanted)
                ));
            }
            continue;
        };
        let same = |new_row: &&Vec<Cell>| {
            mapped
                .iter()
                .filter(|m| m.compare)
                .all(|m| row[m.old] == new_row[m.new])
        };
        if !candidates.iter().any(same) {
            let first = candidates[0];
            let changed: Vec<String> = mapped
                .iter()
                .filter(|m| m.compare && row[m.old] != first[m.new])
                .map(|m| format!("{}: {:?} → {:?}", m.name, row[m.old], first[m.new]))
                .collect();
            problems.push(format!(
                "row of {name} with {} changed: {}",
                describe(&key, &wanted),
                changed.join(", ")
            ));
        }
    }
    problems
}

fn describe(key: &[&Mapped], values: &[&Cell]) -> String {
    key.iter()
        .zip(values)
        .map(|(m, v)| format!("{} = {v:?}", m.name))
        .collect::<Vec<_>>()
        .join(", ")
}
