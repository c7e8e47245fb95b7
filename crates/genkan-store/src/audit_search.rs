//! Reading a tenant's audit log: search by person, kiosk, action and time, newest first,
//! paged by key (time, id), and a streaming walk for CSV export. Nothing here (or
//! anywhere) deletes or edits a row.

use chrono::{DateTime, Utc};
use genkan_core::id::{KioskId, TenantId, UserId};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};
use serde::Serialize;

use crate::Store;
use crate::error::StoreResult;
use crate::sql::{get_ts, ts};

/// What to look for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Rows where this user acted or was acted on.
    pub person: Option<UserId>,
    /// Rows where this kiosk (device) acted or was acted on.
    pub kiosk: Option<KioskId>,
    /// Rows whose action starts with this (e.g. `auth.` or `user.invite`).
    pub action: Option<String>,
    /// From this instant (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this instant (exclusive).
    pub until: Option<DateTime<Utc>>,
}

/// One audit row as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// Row id (the key `genkan audit verify` names).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// `user`, `token`, `kiosk`, `system`, `operator` or `anonymous`.
    pub actor_kind: String,
    /// The actor's id.
    pub actor_id: Option<i64>,
    /// The actor's name when the actor is a user of the tenant.
    pub actor_name: Option<String>,
    /// What was done.
    pub action: String,
    /// Kind of object.
    pub target_kind: String,
    /// The object's id.
    pub target_id: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    /// Client address.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Extra facts (JSON).
    pub details: String,
}

/// The key of the last row of a page: the next page starts after it.
pub type AuditCursor = (DateTime<Utc>, i64);

const COLUMNS: &str =
    "a.id, a.at, a.actor_kind, a.actor_id, u.display_name, a.action, a.target_kind,
    a.target_id, a.outcome, a.ip, a.request_id, a.details";

fn row(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: get_ts(r, 1)?,
        actor_kind: r.get(2)?,
        actor_id: r.get(3)?,
        actor_name: r.get(4)?,
        action: r.get(5)?,
        target_kind: r.get(6)?,
        target_id: r.get(7)?,
        outcome: r.get(8)?,
        ip: r.get(9)?,
        request_id: r.get(10)?,
        details: r.get(11)?,
    })
}

/// The SQL and its parameters for `filter` (newest first).
fn query(
    tenant: TenantId,
    filter: &AuditFilter,
    after: Option<AuditCursor>,
    limit: Option<u32>,
) -> (String, Vec<Value>) {
    let mut sql = format!(
        "SELECT {COLUMNS} FROM audit_log a
         LEFT JOIN users u ON a.actor_kind = 'user' AND u.id = a.actor_id AND u.tenant_id = a.tenant_id
         WHERE a.tenant_id = ?1"
    );
    let mut args: Vec<Value> = vec![Value::Integer(tenant.get())];
    let mut push = |sql: &mut String, clause: &str, value: Value| {
        args.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(p) = filter.person {
        push(
            &mut sql,
            " AND ((a.actor_kind = 'user' AND a.actor_id = ?)",
            Value::Integer(p.get()),
        );
        push(
            &mut sql,
            " OR (a.target_kind = 'user' AND a.target_id = ?))",
            Value::Text(p.to_string()),
        );
    }
    if let Some(k) = filter.kiosk {
        push(
            &mut sql,
            " AND ((a.actor_kind = 'kiosk' AND a.actor_id = ?)",
            Value::Integer(k.get()),
        );
        push(
            &mut sql,
            " OR (a.target_kind = 'kiosk' AND a.target_id = ?))",
            Value::Text(k.to_string()),
        );
    }
    if let Some(action) = filter.action.as_deref().filter(|a| !a.is_empty()) {
        // Prefix match without LIKE wildcards: the range [action, action + U+FFFF).
        push(
            &mut sql,
            " AND a.action >= ?",
            Value::Text(action.to_owned()),
        );
        push(
            &mut sql,
            " AND a.action < ?",
            Value::Text(format!("{action}\u{ffff}")),
        );
    }
    if let Some(from) = filter.from {
        push(&mut sql, " AND a.at >= ?", Value::Text(ts(from)));
    }
    if let Some(until) = filter.until {
        push(&mut sql, " AND a.at < ?", Value::Text(ts(until)));
    }
    if let Some((at, id)) = after {
        push(&mut sql, " AND (a.at, a.id) < (?", Value::Text(ts(at)));
        push(&mut sql, ", ?)", Value::Integer(id));
    }
    sql.push_str(" ORDER BY a.at DESC, a.id DESC");
    if let Some(n) = limit {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    (sql, args)
}

fn page_in(
    conn: &Connection,
    tenant: TenantId,
    filter: &AuditFilter,
    after: Option<AuditCursor>,
    limit: u32,
) -> StoreResult<Vec<AuditRow>> {
    let (sql, args) = query(tenant, filter, after, Some(limit));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

impl Store {
    /// One page of the tenant's audit log, newest first, after `after`.
    pub async fn audit_page(
        &self,
        tenant: TenantId,
        filter: AuditFilter,
        after: Option<AuditCursor>,
        limit: u32,
    ) -> StoreResult<Vec<AuditRow>> {
        self.read(move |c| page_in(c, tenant, &filter, after, limit))
            .await
    }

    /// The distinct actions recorded for the tenant (for the search form).
    pub async fn audit_actions(&self, tenant: TenantId) -> StoreResult<Vec<String>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT action FROM audit_log WHERE tenant_id = ?1 ORDER BY action",
            )?;
            let rows = stmt
                .query_map([tenant.get()], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
        .await
    }

    /// Walks every matching row, newest first, until `each` returns `false`;
    /// returns how many were visited. Runs on a reader thread (blocking `each` is fine).
    pub async fn each_audit_row<F>(
        &self,
        tenant: TenantId,
        filter: AuditFilter,
        mut each: F,
    ) -> StoreResult<u64>
    where
        F: FnMut(&AuditRow) -> bool + Send + 'static,
    {
        self.read(move |c| {
            let (sql, args) = query(tenant, &filter, None, None);
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(args))?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                n += 1;
                if !each(&row(r)?) {
                    break;
                }
            }
            Ok(n)
        })
        .await
    }
}
