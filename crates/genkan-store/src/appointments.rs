//! Appointments, their visitors and passes: created together, with the invitation
//! messages queued in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use genkan_core::access::Visibility;
use genkan_core::appointment::{NewAppointment, PassPolicy, Visitor};
use genkan_core::audit::Outcome;
use genkan_core::id::{AppointmentId, PassId, SiteId, TenantId, UserId, VisitorId};
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::pass::{FallbackCode, PassToken, Validity};
use genkan_core::text::Locale;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::outbox::{NewMessage, enqueue};
use crate::sql::{get_opt_ts, get_ts, ts};
use crate::tenants::site_in;

/// A freshly issued pass: the only moment its secrets exist outside the invitation.
#[derive(Debug, Clone)]
pub struct IssuedPass {
    /// The visitor it admits.
    pub visitor_id: VisitorId,
    /// The pass.
    pub pass_id: PassId,
    /// QR token.
    pub token: PassToken,
    /// 8-digit code.
    pub code: FallbackCode,
}

/// What the sealed invitation payload holds: the pass secrets the mail must show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PassSecrets {
    /// Encoded QR token.
    pub token: String,
    /// 8-digit code.
    pub code: String,
}

/// Why an appointment could not be created or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AppointmentRefusal {
    /// The site is not one of the tenant's.
    #[error("unknown site")]
    UnknownSite,
    /// The host is not a (non-disabled) user of the tenant.
    #[error("unknown host")]
    UnknownHost,
    /// Already cancelled.
    #[error("the appointment is already cancelled")]
    AlreadyCancelled,
}

/// A visitor of an appointment, with their pass and visit state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitorView {
    /// Id.
    pub id: VisitorId,
    /// Name.
    pub name: String,
    /// Company.
    pub company: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Language.
    pub locale: Locale,
    /// Current pass.
    pub pass_id: Option<PassId>,
    /// When the pass was revoked.
    pub pass_revoked_at: Option<DateTime<Utc>>,
    /// Latest visit status (`inside`, `checked_out`) if they came.
    pub visit_status: Option<String>,
}

/// An appointment with its visitors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppointmentView {
    /// Id.
    pub id: AppointmentId,
    /// Site.
    pub site_id: SiteId,
    /// Site name.
    pub site_name: String,
    /// Site zone (IANA), for showing times.
    pub time_zone: String,
    /// Host.
    pub host_id: UserId,
    /// Host name.
    pub host_name: String,
    /// Purpose.
    pub title: Option<String>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Passes valid from.
    pub valid_from: DateTime<Utc>,
    /// Passes valid until.
    pub valid_until: DateTime<Utc>,
    /// Period pass dates (local), if this is a period pass.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// `scheduled` or `cancelled`.
    pub status: String,
    /// Visitors.
    pub visitors: Vec<VisitorView>,
}

/// Result of creating an appointment.
#[derive(Debug, Clone)]
pub struct CreatedAppointment {
    /// The stored appointment.
    pub appointment: AppointmentView,
    /// The passes issued, one per visitor.
    pub passes: Vec<IssuedPass>,
}

fn host_filter(visibility: Visibility) -> Option<i64> {
    match visibility {
        Visibility::Tenant => None,
        Visibility::Host(u) => Some(u.get()),
    }
}

/// Reads an appointment of `tenant` visible under `visibility`.
pub(crate) fn load(
    conn: &Connection,
    tenant: TenantId,
    visibility: Visibility,
    id: AppointmentId,
) -> StoreResult<AppointmentView> {
    let mut appt = conn
        .prepare_cached(
            "SELECT a.id, a.site_id, s.name, a.host_id, u.display_name, a.title, a.starts_at, a.ends_at,
                    a.valid_from, a.valid_until, a.status, s.time_zone, a.period_from, a.period_until
             FROM appointments a JOIN sites s ON s.id = a.site_id JOIN users u ON u.id = a.host_id
             WHERE a.id = ?1 AND a.tenant_id = ?2 AND (?3 IS NULL OR a.host_id = ?3)",
        )?
        .query_row(params![id.get(), tenant.get(), host_filter(visibility)], |r| {
            Ok(AppointmentView {
                id: AppointmentId(r.get(0)?),
                site_id: SiteId(r.get(1)?),
                site_name: r.get(2)?,
                time_zone: r.get(11)?,
                host_id: UserId(r.get(3)?),
                host_name: r.get(4)?,
                title: r.get(5)?,
                starts_at: get_ts(r, 6)?,
                ends_at: get_ts(r, 7)?,
                valid_from: get_ts(r, 8)?,
                valid_until: get_ts(r, 9)?,
                period: match (r.get::<_, Option<String>>(12)?, r.get::<_, Option<String>>(13)?) {
                    (Some(a), Some(b)) => a.parse().ok().zip(b.parse().ok()),
                    _ => None,
                },
                status: r.get(10)?,
                visitors: Vec::new(),
            })
        })
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let mut stmt = conn.prepare_cached(
        "SELECT v.id, v.name, v.company, v.email, v.phone, v.locale,
                (SELECT p.id FROM passes p WHERE p.visitor_id = v.id AND p.tenant_id = v.tenant_id ORDER BY p.id DESC LIMIT 1),
                (SELECT p.revoked_at FROM passes p WHERE p.visitor_id = v.id AND p.tenant_id = v.tenant_id ORDER BY p.id DESC LIMIT 1),
                (SELECT vi.status FROM visits vi WHERE vi.visitor_id = v.id AND vi.tenant_id = v.tenant_id ORDER BY vi.id DESC LIMIT 1)
         FROM visitors v WHERE v.appointment_id = ?1 AND v.tenant_id = ?2 ORDER BY v.id",
    )?;
    appt.visitors = stmt
        .query_map(params![id.get(), tenant.get()], |r| {
            let locale: String = r.get(5)?;
            Ok(VisitorView {
                id: VisitorId(r.get(0)?),
                name: r.get(1)?,
                company: r.get(2)?,
                email: r.get(3)?,
                phone: r.get(4)?,
                locale: Locale::parse(&locale).unwrap_or_default(),
                pass_id: r.get::<_, Option<i64>>(6)?.map(PassId),
                pass_revoked_at: get_opt_ts(r, 7)?,
                visit_status: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(appt)
}

/// Issues a new pass for a visitor, choosing a fallback code no live pass of the tenant uses.
pub(crate) fn issue_pass(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    visitor: VisitorId,
    site: SiteId,
    validity: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> StoreResult<IssuedPass> {
    let mut rng = rand::rng();
    let code_key = keys.code_key();
    let (token, code, code_hash) = loop {
        let code = FallbackCode::generate(&mut rng);
        let code_hash = code.hash(&code_key);
        let taken: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM passes WHERE tenant_id = ?1 AND code_hash = ?2
                                 AND revoked_at IS NULL AND valid_until > ?3)",
            )?
            .query_row(
                params![tenant.get(), code_hash.0.as_slice(), ts(now)],
                |r| r.get(0),
            )?;
        if !taken {
            break (PassToken::generate(&mut rng), code, code_hash);
        }
    };
    conn.prepare_cached(
        "INSERT INTO passes (tenant_id, visitor_id, site_id, token_hash, code_hash, valid_from, valid_until, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        tenant.get(),
        visitor.get(),
        site.get(),
        token.hash().0.as_slice(),
        code_hash.0.as_slice(),
        ts(validity.0),
        ts(validity.1),
        ts(now),
    ])?;
    Ok(IssuedPass {
        visitor_id: visitor,
        pass_id: PassId(conn.last_insert_rowid()),
        token,
        code,
    })
}

/// The tenant's pass validity policy.
pub(crate) fn policy_of(conn: &Connection, tenant: TenantId) -> StoreResult<PassPolicy> {
    Ok(conn
        .prepare_cached("SELECT pass_policy, pass_early_minutes FROM tenants WHERE id = ?1")?
        .query_row([tenant.get()], |r| {
            Ok(PassPolicy::from_setting(&r.get::<_, String>(0)?, r.get(1)?))
        })?)
}

/// Keeps the search index of a visitor in step with their name and company.
pub(crate) fn index_visitor(
    conn: &Connection,
    visitor: VisitorId,
    name: &str,
    company: Option<&str>,
) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM visitor_search WHERE rowid = ?1")?
        .execute([visitor.get()])?;
    conn.prepare_cached(
        "INSERT INTO visitor_search (rowid, name_tokens, company_tokens) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![
        visitor.get(),
        genkan_core::search::tokens(name),
        genkan_core::search::tokens(company.unwrap_or_default())
    ])?;
    Ok(())
}

/// Queues the invitation mail carrying a freshly issued pass.
pub(crate) fn queue_invitation(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    appointment: AppointmentId,
    pass: &IssuedPass,
    (email, locale): (&str, Locale),
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let secrets = PassSecrets {
        token: pass.token.encode(),
        code: pass.code.as_str().to_owned(),
    };
    enqueue(
        conn,
        keys,
        &NewMessage {
            tenant_id: Some(tenant),
            kind: MessageKind::Invitation,
            channel: Channel::Email,
            recipient: email.to_owned(),
            locale,
            appointment_id: Some(appointment),
            visitor_id: Some(pass.visitor_id),
            visit_id: None,
            user_id: None,
            secret_payload: Some(
                serde_json::to_vec(&secrets).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            ),
            at,
        },
    )?;
    Ok(())
}

/// Adds one visitor to an appointment: the row, its search tokens, a pass, and the
/// invitation when the visitor has an e-mail address.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site per use case, all values distinct"
)]
pub(crate) fn add_visitor_row(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    appointment: AppointmentId,
    site: SiteId,
    validity: Validity,
    visitor: &Visitor,
    now: DateTime<Utc>,
) -> StoreResult<IssuedPass> {
    conn.prepare_cached(
        "INSERT INTO visitors (tenant_id, appointment_id, name, company, email, phone, locale, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        tenant.get(),
        appointment.get(),
        visitor.name.as_str(),
        visitor.company.as_ref().map(|c| c.as_str()),
        visitor.email.as_ref().map(|e| e.as_str()),
        visitor.phone.as_ref().map(|p| p.as_str()),
        visitor.locale.as_str(),
        ts(now),
    ])?;
    let visitor_id = VisitorId(conn.last_insert_rowid());
    index_visitor(
        conn,
        visitor_id,
        visitor.name.as_str(),
        visitor.company.as_ref().map(|c| c.as_str()),
    )?;
    let issued = issue_pass(
        conn,
        keys,
        tenant,
        visitor_id,
        site,
        (validity.from, validity.until),
        now,
    )?;
    if let Some(email) = &visitor.email {
        queue_invitation(
            conn,
            keys,
            tenant,
            appointment,
            &issued,
            (email.as_str(), visitor.locale),
            now,
        )?;
    }
    Ok(issued)
}

impl Store {
    /// Creates an appointment with its visitors and passes, and queues one invitation
    /// per visitor with an e-mail address, all in one transaction.
    pub async fn create_appointment(
        &self,
        tenant: TenantId,
        new: NewAppointment,
        ctx: AuditCtx,
    ) -> StoreResult<Result<CreatedAppointment, AppointmentRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let Some(site) = site_in(tx, tenant, new.site_id)? else {
                return Ok(Err(AppointmentRefusal::UnknownSite));
            };
            let host_ok: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2 AND status != 'disabled')",
                )?
                .query_row(params![new.host_id.get(), tenant.get()], |r| r.get(0))?;
            if !host_ok {
                return Ok(Err(AppointmentRefusal::UnknownHost));
            }
            let validity = new.pass_validity(site.time_zone, policy_of(tx, tenant)?);
            let now = ctx.at;
            tx.prepare_cached(
                "INSERT INTO appointments (tenant_id, site_id, host_id, title, starts_at, ends_at,
                    valid_from, valid_until, created_by, created_at, updated_at, period_from, period_until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)",
            )?
            .execute(params![
                tenant.get(),
                site.id.get(),
                new.host_id.get(),
                new.title.as_ref().map(|t| t.as_str()),
                ts(new.starts_at),
                ts(new.ends_at),
                ts(validity.from),
                ts(validity.until),
                ctx.actor_id.filter(|_| ctx.actor_kind == "user"),
                ts(now),
                new.period.map(|p| p.0.to_string()),
                new.period.map(|p| p.1.to_string()),
            ])?;
            let appointment_id = AppointmentId(tx.last_insert_rowid());
            let mut passes = Vec::with_capacity(new.visitors.len());
            for visitor in &new.visitors {
                passes.push(add_visitor_row(tx, &keys, tenant, appointment_id, site.id, validity, visitor, now)?);
            }
            tx.wake_outbox();
            append(tx, &ctx, "appointment.create", "appointment", Some(appointment_id.to_string()), Outcome::Ok,
                &json!({"visitors": new.visitors.len(), "site_id": site.id, "host_id": new.host_id}))?;
            let appointment = load(tx, tenant, Visibility::Tenant, appointment_id)?;
            Ok(Ok(CreatedAppointment { appointment, passes }))
        })
        .await
    }

    /// Cancels an appointment: revokes its passes and queues a cancellation mail per visitor.
    pub async fn cancel_appointment(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        id: AppointmentId,
        ctx: AuditCtx,
    ) -> StoreResult<Result<AppointmentView, AppointmentRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let current = load(tx, tenant, visibility, id)?;
            if current.status == "cancelled" {
                return Ok(Err(AppointmentRefusal::AlreadyCancelled));
            }
            let now = ctx.at;
            tx.execute(
                "UPDATE appointments SET status = 'cancelled', updated_at = ?1 WHERE id = ?2 AND tenant_id = ?3",
                params![ts(now), id.get(), tenant.get()],
            )?;
            tx.execute(
                "UPDATE passes SET revoked_at = ?1 WHERE tenant_id = ?2 AND revoked_at IS NULL
                   AND visitor_id IN (SELECT id FROM visitors WHERE appointment_id = ?3 AND tenant_id = ?2)",
                params![ts(now), tenant.get(), id.get()],
            )?;
            for v in &current.visitors {
                if let Some(email) = &v.email {
                    enqueue(tx, &keys, &NewMessage {
                        tenant_id: Some(tenant),
                        kind: MessageKind::Cancellation,
                        channel: Channel::Email,
                        recipient: email.clone(),
                        locale: v.locale,
                        appointment_id: Some(id),
                        visitor_id: Some(v.id),
                        visit_id: None,
                            user_id: None,
                        secret_payload: None,
                        at: now,
                    })?;
                }
            }
            append(tx, &ctx, "appointment.cancel", "appointment", Some(id.to_string()), Outcome::Ok, &json!({}))?;
            Ok(Ok(load(tx, tenant, visibility, id)?))
        })
        .await
    }

    /// One appointment, if visible.
    pub async fn appointment(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        id: AppointmentId,
    ) -> StoreResult<AppointmentView> {
        self.read(move |c| load(c, tenant, visibility, id)).await
    }

    /// Appointments starting in `[from, until)`, visible under `visibility`, by start time.
    pub async fn appointments_between(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<AppointmentView>> {
        self.read(move |c| {
            let ids = c
                .prepare_cached(
                    "SELECT id FROM appointments WHERE tenant_id = ?1 AND starts_at >= ?2 AND starts_at < ?3
                       AND (?4 IS NULL OR host_id = ?4) ORDER BY starts_at, id LIMIT 1000",
                )?
                .query_map(params![tenant.get(), ts(from), ts(until), host_filter(visibility)], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            ids.into_iter()
                .map(|id| load(c, tenant, visibility, AppointmentId(id)))
                .collect()
        })
        .await
    }
}
