//! A tenant's contract end and what follows: read-only from the day after, then the
//! purge of every row of the tenant in one transaction with freed space zeroed
//! (`secure_delete`), its search index compacted, the WAL truncated, a purge report
//! in the system audit chain and a tombstone that lets backup rotation drop every
//! generation still holding the tenant.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use genkan_core::audit::Outcome;
use genkan_core::id::TenantId;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::conn::pragmas::{Access, open};
use crate::error::{StoreError, StoreResult};
use crate::sql::{get_opt_ts, get_ts, ts};

/// How long the read-only state of tenants is cached (a contract end recorded by
/// another process is seen within this time).
const CACHE_TTL: StdDuration = StdDuration::from_secs(2);

/// `read_only_from` of every tenant that has one.
type ReadOnlyMap = HashMap<i64, DateTime<Utc>>;

/// Cached [`ReadOnlyMap`] and when it was loaded.
#[derive(Default)]
pub(crate) struct ReadOnlyCache {
    loaded: Mutex<Option<(Instant, ReadOnlyMap)>>,
}

impl ReadOnlyCache {
    fn get(&self) -> Option<ReadOnlyMap> {
        let guard = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, m)| m.clone())
    }

    fn put(&self, map: ReadOnlyMap) {
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), map));
    }

    fn clear(&self) {
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// A tenant as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantStatus {
    /// Id.
    pub id: TenantId,
    /// Organisation id.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Time zone.
    pub time_zone: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last day of the contract, if one is recorded.
    pub contract_ends_on: Option<NaiveDate>,
    /// Read-only from this instant.
    pub read_only_from: Option<DateTime<Utc>>,
    /// Active staff accounts.
    pub users: i64,
    /// Visits recorded.
    pub visits: i64,
}

/// A purge's report: rows deleted per table (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// The former tenant.
    pub tenant_id: i64,
    /// Rows deleted per table.
    pub deleted: BTreeMap<String, i64>,
    /// All rows deleted.
    pub total: i64,
    /// No backup generation may hold the tenant after this.
    pub backups_clear_by: DateTime<Utc>,
}

/// A purged tenant's tombstone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeRecord {
    /// The former tenant id.
    pub tenant_id: i64,
    /// Last day of its contract.
    pub ended_on: String,
    /// When it was purged.
    pub purged_at: DateTime<Utc>,
    /// Deadline for backups.
    pub backups_clear_by: DateTime<Utc>,
    /// Rows deleted.
    pub rows_deleted: i64,
}

/// A table without `tenant_id` referencing a tenant table: (table, column, parent).
type ChildRef = (String, String, String);

/// Tables holding a `tenant_id` column, and tables without one that reference such
/// a table (column, parent table), found in the schema so tables added later are
/// purged too.
fn tenant_tables(conn: &Connection) -> StoreResult<(Vec<String>, Vec<ChildRef>)> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
               AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND name NOT LIKE 'visitor_search_%'
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let has_tenant = |t: &str| -> StoreResult<bool> {
        Ok(conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = 'tenant_id')",
            [t],
            |r| r.get(0),
        )?)
    };
    let mut with = Vec::new();
    let mut children = Vec::new();
    for t in &tables {
        if t == "tenants" || t == "purge_in_progress" {
            continue;
        }
        if has_tenant(t)? {
            with.push(t.clone());
        } else {
            let refs: Vec<(String, String)> = conn
                .prepare("SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?1)")?
                .query_map([t], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (col, parent) in refs {
                if parent == "tenants" || has_tenant(&parent)? {
                    children.push((t.clone(), col, parent));
                }
            }
        }
    }
    Ok((with, children))
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Deletes every row of `tenant` (inside the caller's transaction). Foreign keys
/// stay enforced: a delete refused because children remain is retried after the
/// other tables, so the order follows the schema without being written down.
fn delete_tenant_rows(conn: &Connection, tenant: i64) -> StoreResult<BTreeMap<String, i64>> {
    let (with, children) = tenant_tables(conn)?;
    let mut deleted = BTreeMap::new();
    // The search index is keyed by visitor id only.
    let n = conn.execute(
        "DELETE FROM visitor_search WHERE rowid IN (SELECT id FROM visitors WHERE tenant_id = ?1)",
        [tenant],
    )?;
    deleted.insert("visitor_search".to_owned(), n as i64);
    for (table, col, parent) in &children {
        let sql = if parent == "tenants" {
            format!("DELETE FROM {} WHERE {} = ?1", quote(table), quote(col))
        } else {
            format!(
                "DELETE FROM {} WHERE {} IN (SELECT id FROM {} WHERE tenant_id = ?1)",
                quote(table),
                quote(col),
                quote(parent)
            )
        };
        let n = conn.execute(&sql, [tenant])?;
        *deleted.entry(table.clone()).or_insert(0) += n as i64;
    }
    // Delivery attempts of the tenant's messages may lack the tenant id.
    let n = conn.execute(
        "DELETE FROM outbox_attempts WHERE message_id IN (SELECT id FROM outbox WHERE tenant_id = ?1)",
        [tenant],
    )?;
    *deleted.entry("outbox_attempts".to_owned()).or_insert(0) += n as i64;
    let mut pending: Vec<String> = with;
    for _round in 0..16 {
        let mut refused = Vec::new();
        for table in pending {
            let column = if table == "audit_log" {
                "chain"
            } else {
                "tenant_id"
            };
            let sql = format!("DELETE FROM {} WHERE {column} = ?1", quote(&table));
            match conn.execute(&sql, [tenant]).map_err(StoreError::from) {
                Ok(n) => *deleted.entry(table).or_insert(0) += n as i64,
                Err(StoreError::Conflict { .. }) => refused.push(table),
                Err(e) => return Err(e),
            }
        }
        if refused.is_empty() {
            let n = conn.execute("DELETE FROM tenants WHERE id = ?1", [tenant])?;
            deleted.insert("tenants".to_owned(), n as i64);
            return Ok(deleted);
        }
        pending = refused;
    }
    Err(StoreError::Conflict {
        constraint: format!("rows of tables {pending:?} could not be deleted"),
    })
}

/// Overwrites every free page of the database with zeros: a zero blob takes them
/// all, then is deleted again under `secure_delete` (which zeroes what it frees).
/// Content deleted earlier without `secure_delete` cannot survive in free pages.
pub(crate) fn scrub_free_pages(conn: &Connection) -> StoreResult<()> {
    /// Largest blob written at once.
    const CHUNK: i64 = 32 << 20;
    // SQLCipher answers some PRAGMAs as text.
    let number = |sql: &str| -> StoreResult<i64> {
        let v: rusqlite::types::Value = conn.query_row(sql, [], |r| r.get(0))?;
        Ok(match v {
            rusqlite::types::Value::Integer(n) => n,
            rusqlite::types::Value::Text(t) => t.trim().parse().unwrap_or(0),
            _ => 0,
        })
    };
    let free = number("PRAGMA freelist_count")?;
    let page = number("PRAGMA page_size")?.max(512);
    let mut left = free * page;
    while left > 0 {
        let n = left.min(CHUNK);
        conn.execute(
            "INSERT INTO free_page_scrub (filler) VALUES (zeroblob(?1))",
            [n],
        )?;
        left -= n;
    }
    conn.execute("DELETE FROM free_page_scrub", [])?;
    Ok(())
}

impl Store {
    /// Records the last day of `tenant`'s contract; it is read-only from
    /// `read_only_from` (the start of the next local day).
    pub async fn end_contract(
        &self,
        tenant: TenantId,
        ends_on: NaiveDate,
        read_only_from: DateTime<Utc>,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE tenants SET contract_ends_on = ?1, read_only_from = ?2 WHERE id = ?3",
                params![ends_on.to_string(), ts(read_only_from), tenant.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let ctx = AuditCtx {
                tenant_id: Some(tenant),
                ..ctx
            };
            append(
                tx,
                &ctx,
                "tenant.contract_end",
                "tenant",
                Some(tenant.to_string()),
                Outcome::Ok,
                &json!({"ends_on": ends_on.to_string(), "read_only_from": ts(read_only_from)}),
            )?;
            Ok(())
        })
        .await?;
        self.read_only.clear();
        Ok(())
    }

    /// Whether `tenant` is read-only at `now` (its contract ended). Cached briefly.
    pub async fn is_read_only(&self, tenant: TenantId, now: DateTime<Utc>) -> StoreResult<bool> {
        let map = match self.read_only.get() {
            Some(m) => m,
            None => {
                let m: ReadOnlyMap = self
                    .read(|c| {
                        let mut stmt = c.prepare(
                            "SELECT id, read_only_from FROM tenants WHERE read_only_from IS NOT NULL",
                        )?;
                        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, get_ts(r, 1)?)))?;
                        Ok(rows.collect::<Result<_, _>>()?)
                    })
                    .await?;
                self.read_only.put(m.clone());
                m
            }
        };
        Ok(map.get(&tenant.get()).is_some_and(|from| *from <= now))
    }

    /// The tenant a web session cookie or an API token belongs to (no checks of
    /// validity: only for deciding whether a request meets a read-only tenant).
    pub async fn tenant_of_secret(
        &self,
        secret: &str,
        session: bool,
    ) -> StoreResult<Option<TenantId>> {
        let hash = crate::kiosks::secret_hash(secret);
        let sql = if session {
            "SELECT tenant_id FROM sessions WHERE id_hash = ?1"
        } else {
            "SELECT tenant_id FROM api_tokens WHERE token_hash = ?1"
        };
        self.read(move |c| {
            Ok(c.prepare_cached(sql)?
                .query_row([hash.as_slice()], |r| Ok(TenantId(r.get(0)?)))
                .optional()?)
        })
        .await
    }

    /// Every tenant with its contract state.
    pub async fn tenant_statuses(&self) -> StoreResult<Vec<TenantStatus>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT t.id, t.slug, t.name, t.time_zone, t.created_at, t.contract_ends_on, t.read_only_from,
                    (SELECT count(*) FROM users u WHERE u.tenant_id = t.id AND u.status = 'active'),
                    (SELECT count(*) FROM visits v WHERE v.tenant_id = t.id)
                 FROM tenants t ORDER BY t.id",
            )?;
            let rows = stmt.query_map([], |r| {
                let ends: Option<String> = r.get(5)?;
                Ok(TenantStatus {
                    id: TenantId(r.get(0)?),
                    slug: r.get(1)?,
                    name: r.get(2)?,
                    time_zone: r.get(3)?,
                    created_at: get_ts(r, 4)?,
                    contract_ends_on: ends.and_then(|d| d.parse().ok()),
                    read_only_from: get_opt_ts(r, 6)?,
                    users: r.get(7)?,
                    visits: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Tenants read-only since at least `delay` before `now`: due for their purge.
    pub async fn tenants_due_for_purge(
        &self,
        now: DateTime<Utc>,
        delay: chrono::Duration,
    ) -> StoreResult<Vec<(TenantId, DateTime<Utc>)>> {
        let cutoff = ts(now - delay);
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, read_only_from FROM tenants WHERE read_only_from IS NOT NULL AND read_only_from <= ?1",
            )?;
            let rows = stmt.query_map([cutoff], |r| Ok((TenantId(r.get(0)?), get_ts(r, 1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Deletes every row of an ended tenant in one transaction, with freed space
    /// zeroed, and records the purge report in the system audit chain.
    pub async fn purge_tenant(
        &self,
        tenant: TenantId,
        backups_clear_by: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<PurgeReport> {
        let report = self
            .write(move |tx| {
                let ends_on: Option<String> = tx.query_row(
                    "SELECT contract_ends_on FROM tenants WHERE id = ?1 AND read_only_from IS NOT NULL",
                    [tenant.get()],
                    |r| r.get(0),
                )?;
                tx.execute_batch("PRAGMA secure_delete = ON")?;
                let result = (|| {
                    tx.execute("INSERT INTO purge_in_progress (tenant_id) VALUES (?1)", [tenant.get()])?;
                    let deleted = delete_tenant_rows(tx, tenant.get())?;
                    tx.execute("DELETE FROM purge_in_progress WHERE tenant_id = ?1", [tenant.get()])?;
                    // Rewrites the search index without the deleted rows' terms.
                    tx.execute_batch("INSERT INTO visitor_search (visitor_search) VALUES ('optimize')")?;
                    scrub_free_pages(tx)?;
                    let total = deleted.values().sum();
                    tx.execute(
                        "INSERT INTO tenant_purges (former_tenant_id, ended_on, purged_at, backups_clear_by, rows_deleted)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![tenant.get(), ends_on.unwrap_or_default(), ts(at), ts(backups_clear_by), total],
                    )?;
                    let report = PurgeReport { tenant_id: tenant.get(), deleted, total, backups_clear_by };
                    append(tx, &AuditCtx::system(None, at), "tenant.purge", "tenant",
                        Some(tenant.to_string()), Outcome::Ok, &report)?;
                    Ok(report)
                })();
                tx.execute_batch("PRAGMA secure_delete = FAST")?;
                result
            })
            .await?;
        self.read_only.clear();
        // Old page images of the purged rows live on in the WAL until it is reset.
        if let Err(e) = self.checkpoint_truncate().await {
            tracing::warn!(error = %e, "WAL truncation after a purge failed; it happens at the next checkpoint");
        }
        Ok(report)
    }

    /// The tombstones of purged tenants.
    pub async fn purged_tenants(&self) -> StoreResult<Vec<PurgeRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT former_tenant_id, ended_on, purged_at, backups_clear_by, rows_deleted
                 FROM tenant_purges ORDER BY purged_at",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(PurgeRecord {
                    tenant_id: r.get(0)?,
                    ended_on: r.get(1)?,
                    purged_at: get_ts(r, 2)?,
                    backups_clear_by: get_ts(r, 3)?,
                    rows_deleted: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Copies every WAL frame into the database and truncates the WAL to zero bytes
    /// (waits briefly for readers; blocks writers only while it runs).
    pub async fn checkpoint_truncate(&self) -> StoreResult<()> {
        let path = self.path().to_owned();
        let key = self.keys().database.clone();
        tokio::task::spawn_blocking(move || {
            let conn = open(&path, &key, Access::Checkpoint)?;
            for _ in 0..20 {
                let (busy, _, _): (i64, i64, i64) =
                    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?;
                if busy == 0 {
                    return Ok(());
                }
            }
            Err(StoreError::Busy)
        })
        .await
        .map_err(|e| StoreError::Database(format!("checkpoint task failed: {e}")))?
    }
}
