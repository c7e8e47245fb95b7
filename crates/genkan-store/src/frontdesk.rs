//! The front desk's hand: check a visitor in or out by name, and register a walk-in
//! (an appointment made and checked in at once). Host alerts go out as for kiosks.

use chrono::Duration;
use genkan_core::appointment::{PassPolicy, Visitor, pass_validity};
use genkan_core::audit::Outcome;
use genkan_core::id::{AppointmentId, SiteId, TenantId, UserId, VisitId, VisitorId};
use genkan_core::reach::{Deliverable, Reach};
use genkan_core::visit::{CheckInMethod, decide_check_in};
use genkan_core::wire::v1::ErrorCode;
use rusqlite::params;
use serde_json::json;

use crate::Store;
use crate::appointments::add_visitor_row;
use crate::audit::{AuditCtx, append};
use crate::conn::writer::Tx;
use crate::error::{StoreError, StoreResult};
use crate::sql::ts;
use crate::tenants::site_in;
use crate::visits::{PassKey, find_pass, queue_arrival_alerts};

/// Checks a visitor in by their current pass, wherever its site; returns the visit
/// and whom its alerts reach when the server delivers `deliverable`.
fn check_in_visitor(
    conn: &Tx<'_>,
    keys: &crate::KeyRing,
    tenant: TenantId,
    visitor: VisitorId,
    ctx: &AuditCtx,
    deliverable: Deliverable,
) -> StoreResult<Result<(VisitId, Reach), ErrorCode>> {
    let Some(pass) = find_pass(conn, tenant, PassKey::Visitor(visitor))? else {
        return Ok(Err(ErrorCode::NotFound));
    };
    // The desk stands at the pass's own site.
    if let Err(refusal) = decide_check_in(&pass.state, pass.state.site_id, ctx.at) {
        append(
            conn,
            ctx,
            "visit.check_in",
            "pass",
            Some(pass.id.to_string()),
            Outcome::Denied,
            &json!({"code": refusal.code()}),
        )?;
        return Ok(Err(refusal.code()));
    }
    conn.prepare_cached(
        "INSERT INTO visits (tenant_id, site_id, appointment_id, visitor_id, pass_id, host_id, kiosk_id,
            method, status, checked_in_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, 'inside', ?8, ?8)",
    )?
    .execute(params![
        tenant.get(),
        pass.state.site_id.get(),
        pass.appointment_id.get(),
        pass.visitor_id.get(),
        pass.id.get(),
        pass.host_id.get(),
        CheckInMethod::Manual.as_str(),
        ts(ctx.at),
    ])?;
    let visit = VisitId(conn.last_insert_rowid());
    let reach = queue_arrival_alerts(conn, keys, tenant, &pass, visit, ctx.at, deliverable)?;
    append(
        conn,
        ctx,
        "visit.check_in",
        "visit",
        Some(visit.to_string()),
        Outcome::Ok,
        &json!({"pass_id": pass.id, "method": "manual"}),
    )?;
    Ok(Ok((visit, reach)))
}

impl Store {
    /// Checks a visitor in by hand.
    pub async fn manual_check_in(
        &self,
        tenant: TenantId,
        visitor: VisitorId,
        ctx: AuditCtx,
    ) -> StoreResult<Result<VisitId, ErrorCode>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            // The desk has the visitor in front of it: whom the alert reaches is not shown.
            let result =
                check_in_visitor(tx, &keys, tenant, visitor, &ctx, Deliverable::default())?;
            if result.is_ok() {
                tx.wake_outbox();
            }
            Ok(result.map(|(visit, _)| visit))
        })
        .await
    }

    /// Checks a visit out by hand.
    pub async fn manual_check_out(
        &self,
        tenant: TenantId,
        visit: VisitId,
        ctx: AuditCtx,
    ) -> StoreResult<Result<(), ErrorCode>> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE visits SET status = 'checked_out', checked_out_at = ?1
                 WHERE id = ?2 AND tenant_id = ?3 AND status = 'inside'",
                params![ts(ctx.at), visit.get(), tenant.get()],
            )?;
            if n == 0 {
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM visits WHERE id = ?1 AND tenant_id = ?2)",
                    params![visit.get(), tenant.get()],
                    |r| r.get(0),
                )?;
                return if exists {
                    Ok(Err(ErrorCode::NotInside))
                } else {
                    Err(StoreError::NotFound)
                };
            }
            append(
                tx,
                &ctx,
                "visit.check_out",
                "visit",
                Some(visit.to_string()),
                Outcome::Ok,
                &json!({"method": "manual"}),
            )?;
            Ok(Ok(()))
        })
        .await
    }

    /// Registers a walk-in: an appointment starting now with one visitor, checked in
    /// at once (the host is alerted).
    pub async fn walk_in(
        &self,
        tenant: TenantId,
        site: SiteId,
        host: UserId,
        visitor: Visitor,
        ctx: AuditCtx,
    ) -> StoreResult<Result<VisitId, ErrorCode>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let result = walk_in_tx(
                tx,
                &keys,
                tenant,
                site,
                host,
                visitor,
                &ctx,
                Deliverable::default(),
            )?;
            Ok(result.map(|(visit, _)| visit))
        })
        .await
    }
}

/// A walk-in inside the caller's transaction (the front desk's, or a kiosk's); the
/// visit and whom its alerts reach when the server delivers `deliverable`.
#[expect(
    clippy::too_many_arguments,
    reason = "one walk-in's facts, all needed in the transaction"
)]
pub(crate) fn walk_in_tx(
    tx: &crate::conn::writer::Tx<'_>,
    keys: &crate::KeyRing,
    tenant: TenantId,
    site: SiteId,
    host: UserId,
    visitor: Visitor,
    ctx: &AuditCtx,
    deliverable: Deliverable,
) -> StoreResult<Result<(VisitId, Reach), ErrorCode>> {
    let Some(site) = site_in(tx, tenant, site)? else {
        return Ok(Err(ErrorCode::Validation));
    };
    let host_ok: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2 AND status != 'disabled')",
        params![host.get(), tenant.get()],
        |r| r.get(0),
    )?;
    if !host_ok {
        return Ok(Err(ErrorCode::Validation));
    }
    let (starts, ends) = (ctx.at, ctx.at + Duration::hours(1));
    let validity = pass_validity(site.time_zone, PassPolicy::Day, starts, ends, None);
    tx.execute(
        "INSERT INTO appointments (tenant_id, site_id, host_id, title, starts_at, ends_at, valid_from, valid_until,
            created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'Walk-in', ?4, ?5, ?6, ?7, ?8, ?4, ?4)",
        params![tenant.get(), site.id.get(), host.get(), ts(starts), ts(ends), ts(validity.from), ts(validity.until),
            ctx.actor_id.filter(|_| ctx.actor_kind == "user")],
    )?;
    let appointment = AppointmentId(tx.last_insert_rowid());
    // Walk-ins get no invitation mail: they are standing at the desk.
    let visitor = Visitor {
        email: None,
        ..visitor
    };
    let issued = add_visitor_row(
        tx,
        keys,
        tenant,
        appointment,
        site.id,
        validity,
        &visitor,
        ctx.at,
    )?;
    append(
        tx,
        ctx,
        "appointment.walk_in",
        "appointment",
        Some(appointment.to_string()),
        Outcome::Ok,
        &json!({}),
    )?;
    let result = check_in_visitor(tx, keys, tenant, issued.visitor_id, ctx, deliverable)?;
    tx.wake_outbox();
    Ok(result)
}

impl Store {
    /// Closes every visit still open from an earlier local day of its site (the
    /// end-of-day automatic check-out); returns how many were closed.
    pub async fn auto_check_out(&self, now: chrono::DateTime<chrono::Utc>) -> StoreResult<usize> {
        self.write(move |tx| {
            let open: Vec<(i64, i64, String, String)> = tx
                .prepare(
                    "SELECT vi.id, vi.tenant_id, vi.checked_in_at, s.time_zone FROM visits vi
                     JOIN sites s ON s.id = vi.site_id WHERE vi.status = 'inside'",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut closed = 0;
            for (id, tenant, checked_in, zone) in open {
                let zone = genkan_core::tenant::TimeZone::parse(&zone).unwrap_or_default();
                let arrived = crate::sql::parse_ts(&checked_in)?;
                if !genkan_core::visit::auto_checkout_due(arrived, zone, now) {
                    continue;
                }
                // The visit ends at the close of its own day, not at the moment the job ran.
                let day_end = zone.days_window(zone.local_date(arrived), zone.local_date(arrived)).1;
                tx.execute(
                    "UPDATE visits SET status = 'checked_out', checked_out_at = ?1 WHERE id = ?2 AND status = 'inside'",
                    params![ts(day_end - Duration::seconds(1)), id],
                )?;
                let ctx = AuditCtx::system(Some(TenantId(tenant)), now);
                append(tx, &ctx, "visit.auto_check_out", "visit", Some(id.to_string()), Outcome::Ok, &json!({}))?;
                closed += 1;
            }
            Ok(closed)
        })
        .await
    }
}
