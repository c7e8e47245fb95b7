//! Changing an appointment after it was made: new time, host or site (passes follow,
//! visitors are told), another visitor, or a fresh pass for one visitor.

use chrono::{DateTime, NaiveDate, Utc};
use genkan_core::access::Visibility;
use genkan_core::appointment::{Visitor, pass_validity};
use genkan_core::audit::Outcome;
use genkan_core::id::{AppointmentId, SiteId, TenantId, UserId, VisitorId};
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::text::ShortText;
use rusqlite::{OptionalExtension as _, params};
use serde_json::json;

use crate::Store;
use crate::appointments::{
    AppointmentRefusal, AppointmentView, IssuedPass, add_visitor_row, issue_pass, load, policy_of,
    queue_invitation,
};
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::outbox::{NewMessage, enqueue};
use crate::sql::ts;
use crate::tenants::site_in;

/// New facts for an existing appointment (validated by the caller).
#[derive(Debug, Clone)]
pub struct AppointmentChange {
    /// Site.
    pub site_id: SiteId,
    /// Host.
    pub host_id: UserId,
    /// Purpose.
    pub title: Option<ShortText>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Period pass dates.
    pub period: Option<(NaiveDate, NaiveDate)>,
}

fn host_ok(conn: &rusqlite::Connection, tenant: TenantId, host: UserId) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2 AND status != 'disabled')")?
        .query_row(params![host.get(), tenant.get()], |r| r.get(0))?)
}

impl Store {
    /// Changes time, host, site or title; live passes move to the new validity and
    /// every visitor with an address gets an update mail (their pass stays the same).
    pub async fn update_appointment(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        id: AppointmentId,
        change: AppointmentChange,
        ctx: AuditCtx,
    ) -> StoreResult<Result<AppointmentView, AppointmentRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let current = load(tx, tenant, visibility, id)?;
            if current.status == "cancelled" {
                return Ok(Err(AppointmentRefusal::AlreadyCancelled));
            }
            let Some(site) = site_in(tx, tenant, change.site_id)? else {
                return Ok(Err(AppointmentRefusal::UnknownSite));
            };
            if !host_ok(tx, tenant, change.host_id)? {
                return Ok(Err(AppointmentRefusal::UnknownHost));
            }
            let validity = pass_validity(site.time_zone, policy_of(tx, tenant)?, change.starts_at, change.ends_at, change.period);
            tx.execute(
                "UPDATE appointments SET site_id = ?1, host_id = ?2, title = ?3, starts_at = ?4, ends_at = ?5,
                        valid_from = ?6, valid_until = ?7, updated_at = ?8, period_from = ?11, period_until = ?12
                 WHERE id = ?9 AND tenant_id = ?10",
                params![site.id.get(), change.host_id.get(), change.title.as_ref().map(|t| t.as_str()),
                    ts(change.starts_at), ts(change.ends_at), ts(validity.from), ts(validity.until), ts(ctx.at),
                    id.get(), tenant.get(), change.period.map(|p| p.0.to_string()), change.period.map(|p| p.1.to_string())],
            )?;
            tx.execute(
                "UPDATE passes SET valid_from = ?1, valid_until = ?2, site_id = ?3
                 WHERE tenant_id = ?4 AND revoked_at IS NULL
                   AND visitor_id IN (SELECT id FROM visitors WHERE appointment_id = ?5 AND tenant_id = ?4)",
                params![ts(validity.from), ts(validity.until), site.id.get(), tenant.get(), id.get()],
            )?;
            for v in &current.visitors {
                if let Some(email) = &v.email {
                    enqueue(tx, &keys, &NewMessage {
                        tenant_id: Some(tenant),
                        kind: MessageKind::AppointmentUpdate,
                        channel: Channel::Email,
                        recipient: email.clone(),
                        locale: v.locale,
                        appointment_id: Some(id),
                        visitor_id: Some(v.id),
                        visit_id: None,
                        user_id: None,
                        secret_payload: None,
                        at: ctx.at,
                    })?;
                }
            }
            tx.wake_outbox();
            append(tx, &ctx, "appointment.update", "appointment", Some(id.to_string()), Outcome::Ok,
                &json!({"site_id": site.id, "host_id": change.host_id}))?;
            Ok(Ok(load(tx, tenant, visibility, id)?))
        })
        .await
    }

    /// Adds a visitor to an existing appointment (pass and invitation included).
    pub async fn add_visitor(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        id: AppointmentId,
        visitor: Visitor,
        ctx: AuditCtx,
    ) -> StoreResult<Result<IssuedPass, AppointmentRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let current = load(tx, tenant, visibility, id)?;
            if current.status == "cancelled" {
                return Ok(Err(AppointmentRefusal::AlreadyCancelled));
            }
            let validity = genkan_core::pass::Validity {
                from: current.valid_from,
                until: current.valid_until,
            };
            let issued = add_visitor_row(
                tx,
                &keys,
                tenant,
                id,
                current.site_id,
                validity,
                &visitor,
                ctx.at,
            )?;
            tx.wake_outbox();
            append(
                tx,
                &ctx,
                "appointment.add_visitor",
                "visitor",
                Some(issued.visitor_id.to_string()),
                Outcome::Ok,
                &json!({"appointment_id": id}),
            )?;
            Ok(Ok(issued))
        })
        .await
    }

    /// Replaces a visitor's pass: the old one stops working at once; the new one is
    /// mailed when `send` and the visitor has an address. Returns the new pass so it
    /// can be printed.
    pub async fn reissue_pass(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        appointment: AppointmentId,
        visitor: VisitorId,
        send: bool,
        ctx: AuditCtx,
    ) -> StoreResult<Result<IssuedPass, AppointmentRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let current = load(tx, tenant, visibility, appointment)?;
            if current.status == "cancelled" {
                return Ok(Err(AppointmentRefusal::AlreadyCancelled));
            }
            let v = current.visitors.iter().find(|v| v.id == visitor).ok_or(StoreError::NotFound)?;
            let validity: Option<(String, String)> = tx
                .query_row(
                    "SELECT valid_from, valid_until FROM appointments WHERE id = ?1 AND tenant_id = ?2",
                    params![appointment.get(), tenant.get()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (from, until) = validity.ok_or(StoreError::NotFound)?;
            tx.execute(
                "UPDATE passes SET revoked_at = ?1 WHERE tenant_id = ?2 AND visitor_id = ?3 AND revoked_at IS NULL",
                params![ts(ctx.at), tenant.get(), visitor.get()],
            )?;
            let issued = issue_pass(tx, &keys, tenant, visitor, current.site_id,
                (crate::sql::parse_ts(&from)?, crate::sql::parse_ts(&until)?), ctx.at)?;
            if let (true, Some(email)) = (send, &v.email) {
                queue_invitation(tx, &keys, tenant, appointment, &issued, (email, v.locale), ctx.at)?;
                tx.wake_outbox();
            }
            append(tx, &ctx, "pass.reissue", "visitor", Some(visitor.to_string()), Outcome::Ok,
                &json!({"appointment_id": appointment, "mailed": send && v.email.is_some()}))?;
            Ok(Ok(issued))
        })
        .await
    }
}
