//! Visitor privacy: per-tenant retention (names, e-mail addresses, phone numbers and
//! companies anonymised some days after the visit; visits and counts stay) and the
//! erasure of one visitor on request. Both reach every copy Genkan keeps: the
//! visitor row, the search index, queued and sent messages (recipient masked,
//! payload dropped), remembered kiosk answers; freed space is zeroed.

use chrono::{DateTime, Duration, Utc};
use genkan_core::audit::Outcome;
use genkan_core::id::{TenantId, VisitorId};
use genkan_core::text::mask_email;
use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::sql::{get_ts, ts};

/// What an anonymised visitor is called.
pub const ANONYMISED_NAME: &str = "—";
/// Most visitors anonymised per tenant in one run (bounds the transaction).
const BATCH: i64 = 2_000;

/// A visitor found by the privacy screen's search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitorMatch {
    /// Visitor id.
    pub id: VisitorId,
    /// Name.
    pub name: String,
    /// Company.
    pub company: String,
    /// Masked e-mail address.
    pub email: String,
    /// Start of the appointment.
    pub starts_at: DateTime<Utc>,
    /// Visits recorded.
    pub visits: i64,
    /// Whether the visitor was anonymised already.
    pub anonymised: bool,
}

/// What an erasure touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EraseReport {
    /// Visits of the visitor (kept, now without identity).
    pub visits: i64,
    /// Messages scrubbed.
    pub messages: i64,
    /// Remembered kiosk answers deleted.
    pub kiosk_answers: i64,
}

/// Removes the personal data of one visitor everywhere (in the caller's transaction).
fn scrub(
    conn: &Connection,
    tenant: i64,
    visitor: i64,
    at: DateTime<Utc>,
    revoke: bool,
) -> StoreResult<EraseReport> {
    let n = conn
        .prepare_cached(
            "UPDATE visitors SET name = ?1, company = NULL, email = NULL, phone = NULL, anonymised_at = ?2
             WHERE id = ?3 AND tenant_id = ?4",
        )?
        .execute(params![ANONYMISED_NAME, ts(at), visitor, tenant])?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    conn.prepare_cached("DELETE FROM visitor_search WHERE rowid = ?1")?
        .execute([visitor])?;
    if revoke {
        conn.prepare_cached(
            "UPDATE passes SET revoked_at = ?1 WHERE visitor_id = ?2 AND tenant_id = ?3 AND revoked_at IS NULL",
        )?
        .execute(params![ts(at), visitor, tenant])?;
    }
    let visits: i64 = conn
        .prepare_cached("SELECT count(*) FROM visits WHERE tenant_id = ?1 AND visitor_id = ?2")?
        .query_row(params![tenant, visitor], |r| r.get(0))?;
    // Messages to the visitor carry their address; messages about their visits may
    // carry sealed payloads. Unsent ones are given up.
    let mut messages = 0;
    {
        let mut stmt = conn.prepare_cached(
            "SELECT id, recipient, visitor_id IS NOT NULL FROM outbox WHERE tenant_id = ?1
               AND (visitor_id = ?2 OR visit_id IN (SELECT id FROM visits WHERE tenant_id = ?1 AND visitor_id = ?2))",
        )?;
        let rows: Vec<(i64, String, bool)> = stmt
            .query_map(params![tenant, visitor], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        for (id, recipient, to_visitor) in rows {
            let recipient = if to_visitor && recipient.contains('@') {
                mask_email(&recipient)
            } else {
                recipient
            };
            conn.prepare_cached(
                "UPDATE outbox SET recipient = ?1, payload = NULL,
                    last_error = CASE WHEN status IN ('queued', 'sending') THEN 'erased on request' ELSE last_error END,
                    status = CASE WHEN status IN ('queued', 'sending') THEN 'dead' ELSE status END,
                    lease_until = NULL
                 WHERE id = ?2",
            )?
            .execute(params![recipient, id])?;
            messages += 1;
        }
    }
    // Kiosk answers remembered for retries show the visitor's name.
    let kiosk_answers = conn
        .prepare_cached(
            "DELETE FROM kiosk_requests WHERE tenant_id = ?1
               AND (CASE WHEN json_valid(body) THEN json_extract(body, '$.visit_id') END)
                   IN (SELECT id FROM visits WHERE tenant_id = ?1 AND visitor_id = ?2)",
        )?
        .execute(params![tenant, visitor])? as i64;
    Ok(EraseReport {
        visits,
        messages,
        kiosk_answers,
    })
}

impl Store {
    /// The tenant's visitor retention in days (`None`: kept).
    pub async fn visitor_retention(&self, tenant: TenantId) -> StoreResult<Option<u32>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT visitor_retention_days FROM tenants WHERE id = ?1",
                [tenant.get()],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Sets the tenant's visitor retention (1..=3650 days, or `None`).
    pub async fn set_visitor_retention(
        &self,
        tenant: TenantId,
        days: Option<u32>,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE tenants SET visitor_retention_days = ?1 WHERE id = ?2",
                params![days, tenant.get()],
            )?;
            append(
                tx,
                &ctx,
                "settings.visitor_retention",
                "tenant",
                Some(tenant.to_string()),
                Outcome::Ok,
                &json!({"days": days}),
            )?;
            Ok(())
        })
        .await
    }

    /// Anonymises, in every tenant with a retention, the visitors whose pass
    /// validity ended more than the retention ago. Returns (tenant, visitors) pairs.
    pub async fn anonymise_expired_visitors(
        &self,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(TenantId, i64)>> {
        self.write(move |tx| {
            let tenants: Vec<(i64, i64)> = tx
                .prepare("SELECT id, visitor_retention_days FROM tenants WHERE visitor_retention_days IS NOT NULL")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            tx.execute_batch("PRAGMA secure_delete = ON")?;
            let result = (|| {
                let mut done = Vec::new();
                for (tenant, days) in tenants {
                    let cutoff = ts(now - Duration::days(days));
                    let due: Vec<i64> = tx
                        .prepare_cached(
                            "SELECT v.id FROM visitors v JOIN appointments a ON a.id = v.appointment_id
                             WHERE v.tenant_id = ?1 AND v.anonymised_at IS NULL AND a.valid_until < ?2
                             ORDER BY v.id LIMIT ?3",
                        )?
                        .query_map(params![tenant, cutoff, BATCH], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    if due.is_empty() {
                        continue;
                    }
                    for v in &due {
                        scrub(tx, tenant, *v, now, false)?;
                    }
                    let n = due.len() as i64;
                    append(tx, &AuditCtx::system(Some(TenantId(tenant)), now), "visitor.anonymise",
                        "tenant", Some(tenant.to_string()), Outcome::Ok,
                        &json!({"visitors": n, "retention_days": days}))?;
                    done.push((TenantId(tenant), n));
                }
                if !done.is_empty() {
                    tx.execute_batch("INSERT INTO visitor_search (visitor_search) VALUES ('optimize')")?;
                    crate::lifecycle::scrub_free_pages(tx)?;
                }
                // Remembered kiosk answers only serve retries of the same scan.
                tx.execute("DELETE FROM kiosk_requests WHERE created_at < ?1", [ts(now - Duration::days(2))])?;
                crate::roster::forget_listings(tx, None, now)?;
                Ok(done)
            })();
            tx.execute_batch("PRAGMA secure_delete = FAST")?;
            result
        })
        .await
    }

    /// Erases one visitor of `tenant` on request: personal data gone from every
    /// copy, passes revoked, visits kept without identity; audited.
    pub async fn erase_visitor(
        &self,
        tenant: TenantId,
        visitor: VisitorId,
        ctx: AuditCtx,
    ) -> StoreResult<EraseReport> {
        self.write(move |tx| {
            tx.execute_batch("PRAGMA secure_delete = ON")?;
            let result = (|| {
                let report = scrub(tx, tenant.get(), visitor.get(), ctx.at, true)?;
                tx.execute_batch(
                    "INSERT INTO visitor_search (visitor_search) VALUES ('optimize')",
                )?;
                crate::lifecycle::scrub_free_pages(tx)?;
                append(
                    tx,
                    &ctx,
                    "visitor.erase",
                    "visitor",
                    Some(visitor.to_string()),
                    Outcome::Ok,
                    &report,
                )?;
                Ok(report)
            })();
            tx.execute_batch("PRAGMA secure_delete = FAST")?;
            result
        })
        .await
    }

    /// Visitors of `tenant` whose name, company or e-mail address contains `query`
    /// (at most 50, newest first), or the visitor with that id.
    pub async fn find_visitors(
        &self,
        tenant: TenantId,
        query: String,
    ) -> StoreResult<Vec<VisitorMatch>> {
        self.read(move |c| {
            let like = format!(
                "%{}%",
                query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
            );
            let id: i64 = query.trim().parse().unwrap_or(-1);
            let mut stmt = c.prepare(
                "SELECT v.id, v.name, coalesce(v.company, ''), coalesce(v.email, ''), a.starts_at,
                    (SELECT count(*) FROM visits vi WHERE vi.tenant_id = v.tenant_id AND vi.visitor_id = v.id),
                    v.anonymised_at IS NOT NULL
                 FROM visitors v JOIN appointments a ON a.id = v.appointment_id
                 WHERE v.tenant_id = ?1 AND (v.id = ?2 OR v.name LIKE ?3 ESCAPE '\\'
                    OR v.company LIKE ?3 ESCAPE '\\' OR v.email LIKE ?3 ESCAPE '\\')
                 ORDER BY a.starts_at DESC, v.id DESC LIMIT 50",
            )?;
            let rows = stmt.query_map(params![tenant.get(), id, like], |r| {
                let email: String = r.get(3)?;
                Ok(VisitorMatch {
                    id: VisitorId(r.get(0)?),
                    name: r.get(1)?,
                    company: r.get(2)?,
                    email: if email.is_empty() { email } else { mask_email(&email) },
                    starts_at: get_ts(r, 4)?,
                    visits: r.get(5)?,
                    anonymised: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
