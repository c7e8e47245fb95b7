//! What the upgrade test accepts as not kept: tables empty by design in every
//! fixture, and the changes later migrations make to old rows on purpose. Anything
//! else that disappears or changes in an upgrade fails the test.
//!
//! A migration that drops, renames or rewrites something that held rows adds an
//! entry to [`DECLARED`] in the same commit, naming itself and saying why the loss
//! is intended (for example "the value moved to the new table X, checked by …").

/// Tables that hold rows only inside one transaction, so no landed database has any.
pub(crate) const TRANSIENT: &[(&str, &str)] = &[
    (
        "purge_in_progress",
        "marks a tenant only inside the purge's own transaction (0006)",
    ),
    (
        "free_page_scrub",
        "filled and emptied again within one transaction to zero free pages (0006)",
    ),
];

/// One intended change to old rows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change {
    /// The table is dropped.
    TableDropped,
    /// The table is renamed to this name.
    TableRenamed(&'static str),
    /// This column is dropped.
    ColumnDropped(&'static str),
    /// This column (first) is renamed to the second name.
    ColumnRenamed(&'static str, &'static str),
    /// This column's values are rewritten (its presence is still checked).
    ColumnRewritten(&'static str),
    /// Some of the table's rows are deleted.
    RowsDeleted,
}

/// An intended change, with the migration that makes it and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Declared {
    /// The table as the fixture has it.
    pub(crate) table: &'static str,
    /// What happens to it.
    pub(crate) change: Change,
    /// The migration file, e.g. `0011_example.sql`.
    pub(crate) migration: &'static str,
    /// Why losing or changing the old data is right.
    pub(crate) reason: &'static str,
}

/// Every intended change of later migrations to data of landed versions.
pub(crate) const DECLARED: &[Declared] = &[
    Declared {
        table: "tenants",
        change: Change::ColumnDropped("roster_key"),
        migration: "0009_kiosk_trust.sql",
        reason: "the roster key let a stolen kiosk recompute every pass code offline; codes \
                 are checked by the server only (KIO-1)",
    },
    Declared {
        table: "passes",
        change: Change::ColumnDropped("roster_code_hash"),
        migration: "0009_kiosk_trust.sql",
        reason: "a code digest keyed by the roster key is what a stolen kiosk inverted; \
                 no code verifier leaves the server any more (KIO-1)",
    },
    Declared {
        table: "api_tokens",
        change: Change::ColumnRewritten("revoked_at"),
        migration: "0011_keyed_audit.sql",
        reason: "tokens of users disabled before disabling revoked tokens are revoked, so \
                 re-enabling such a user cannot revive them (TOK-1); no other token changes",
    },
];

/// The table's name after the upgrade.
pub(crate) fn new_table_name<'a>(declared: &'a [Declared], table: &'a str) -> &'a str {
    declared
        .iter()
        .filter(|d| d.table == table)
        .find_map(|d| match d.change {
            Change::TableRenamed(to) => Some(to),
            _ => None,
        })
        .unwrap_or(table)
}

/// Whether `change` is declared for `table`.
pub(crate) fn declares(
    declared: &[Declared],
    table: &str,
    change: impl Fn(&Change) -> bool,
) -> bool {
    declared
        .iter()
        .any(|d| d.table == table && change(&d.change))
}

/// Declarations that cannot be right: without a reason, or naming a migration
/// this build does not have.
pub(crate) fn incomplete(declared: &[Declared]) -> Vec<String> {
    declared
        .iter()
        .filter(|d| {
            d.reason.trim().is_empty()
                || !genkan_store::migrate::MIGRATIONS
                    .iter()
                    .any(|(_, name, _)| d.migration.strip_suffix(".sql") == Some(*name))
        })
        .map(|d| format!("declaration {d:?} must name one of migrations/*.sql and give a reason"))
        .collect()
}
