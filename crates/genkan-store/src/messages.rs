//! What the notification renderer needs to know, read at delivery time so that
//! queued messages carry ids rather than copies of personal data.

use chrono::{DateTime, Utc};
use genkan_core::id::{TenantId, VisitId, VisitorId};
use genkan_core::tenant::TimeZone;
use rusqlite::{OptionalExtension as _, params};

use crate::Store;
use crate::error::StoreResult;
use crate::sql::{get_opt_ts, get_ts};

/// Facts for an invitation or cancellation mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationContext {
    /// Tenant display name.
    pub tenant_name: String,
    /// Brand colour.
    pub primary_color: String,
    /// Visitor's name.
    pub visitor_name: String,
    /// Visitor's company.
    pub visitor_company: Option<String>,
    /// Host's name.
    pub host_name: String,
    /// Host's e-mail (organiser in the calendar file).
    pub host_email: String,
    /// Site name.
    pub site_name: String,
    /// Site address.
    pub site_address: String,
    /// Site zone.
    pub time_zone: TimeZone,
    /// Purpose.
    pub title: Option<String>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Pass valid from.
    pub valid_from: DateTime<Utc>,
    /// Pass valid until.
    pub valid_until: DateTime<Utc>,
    /// Appointment id (calendar UID).
    pub appointment_id: i64,
}

/// Facts for a host arrival alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivalContext {
    /// Tenant display name.
    pub tenant_name: String,
    /// Visitor's name.
    pub visitor_name: String,
    /// Visitor's company.
    pub visitor_company: Option<String>,
    /// Host's name.
    pub host_name: String,
    /// Site name.
    pub site_name: String,
    /// Kiosk name.
    pub kiosk_name: Option<String>,
    /// Site zone.
    pub time_zone: TimeZone,
    /// Arrival.
    pub checked_in_at: DateTime<Utc>,
    /// Appointment purpose.
    pub title: Option<String>,
    /// Departure, if already gone.
    pub checked_out_at: Option<DateTime<Utc>>,
    /// Organisation id.
    pub tenant_slug: String,
    /// Site id (for the site's own Slack webhook).
    pub site_id: i64,
    /// The appointment, if any.
    pub appointment_id: Option<i64>,
}

/// How a visitor's latest invitation fared, for notices to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationState {
    /// Shown status (`queued`, `sending`, `sent`, `delivered`, `dead`, …).
    pub status: String,
    /// Last error, if any.
    pub last_error: Option<String>,
}

/// Facts for a mail to a staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserContext {
    /// Tenant display name.
    pub tenant_name: String,
    /// Organisation id.
    pub slug: String,
    /// Brand colour.
    pub primary_color: String,
    /// The user's name.
    pub name: String,
}

impl Store {
    /// Facts for a mail to user `user`.
    pub async fn user_context(
        &self,
        tenant: TenantId,
        user: genkan_core::id::UserId,
    ) -> StoreResult<UserContext> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT t.name, t.slug, t.primary_color, u.display_name FROM users u JOIN tenants t ON t.id = u.tenant_id
                 WHERE u.id = ?1 AND u.tenant_id = ?2",
                params![user.get(), tenant.get()],
                |r| Ok(UserContext { tenant_name: r.get(0)?, slug: r.get(1)?, primary_color: r.get(2)?, name: r.get(3)? }),
            )?)
        })
        .await
    }

    /// Facts for a visitor's invitation.
    pub async fn invitation_context(
        &self,
        tenant: TenantId,
        visitor: VisitorId,
    ) -> StoreResult<InvitationContext> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT t.name, t.primary_color, v.name, v.company, u.display_name, u.email, s.name, s.address,
                        s.time_zone, a.title, a.starts_at, a.ends_at, a.valid_from, a.valid_until, a.id
                 FROM visitors v JOIN appointments a ON a.id = v.appointment_id AND a.tenant_id = v.tenant_id
                 JOIN users u ON u.id = a.host_id JOIN sites s ON s.id = a.site_id JOIN tenants t ON t.id = v.tenant_id
                 WHERE v.id = ?1 AND v.tenant_id = ?2",
            )?
            .query_row(params![visitor.get(), tenant.get()], |r| {
                let tz: String = r.get(8)?;
                Ok(InvitationContext {
                    tenant_name: r.get(0)?,
                    primary_color: r.get(1)?,
                    visitor_name: r.get(2)?,
                    visitor_company: r.get(3)?,
                    host_name: r.get(4)?,
                    host_email: r.get(5)?,
                    site_name: r.get(6)?,
                    site_address: r.get(7)?,
                    time_zone: TimeZone::parse(&tz).unwrap_or_default(),
                    title: r.get(9)?,
                    starts_at: get_ts(r, 10)?,
                    ends_at: get_ts(r, 11)?,
                    valid_from: get_ts(r, 12)?,
                    valid_until: get_ts(r, 13)?,
                    appointment_id: r.get(14)?,
                })
            })?)
        })
        .await
    }

    /// Facts for a host arrival alert.
    pub async fn arrival_context(
        &self,
        tenant: TenantId,
        visit: VisitId,
    ) -> StoreResult<ArrivalContext> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT t.name, v.name, v.company, u.display_name, s.name, k.name, s.time_zone,
                        vi.checked_in_at, a.title, vi.checked_out_at, t.slug, s.id, vi.appointment_id
                 FROM visits vi JOIN tenants t ON t.id = vi.tenant_id JOIN sites s ON s.id = vi.site_id
                 LEFT JOIN visitors v ON v.id = vi.visitor_id LEFT JOIN users u ON u.id = vi.host_id
                 LEFT JOIN kiosks k ON k.id = vi.kiosk_id LEFT JOIN appointments a ON a.id = vi.appointment_id
                 WHERE vi.id = ?1 AND vi.tenant_id = ?2",
            )?
            .query_row(params![visit.get(), tenant.get()], |r| {
                let tz: String = r.get(6)?;
                Ok(ArrivalContext {
                    tenant_name: r.get(0)?,
                    visitor_name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    visitor_company: r.get(2)?,
                    host_name: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    site_name: r.get(4)?,
                    kiosk_name: r.get(5)?,
                    time_zone: TimeZone::parse(&tz).unwrap_or_default(),
                    checked_in_at: get_ts(r, 7)?,
                    title: r.get(8)?,
                    checked_out_at: get_opt_ts(r, 9)?,
                    tenant_slug: r.get(10)?,
                    site_id: r.get(11)?,
                    appointment_id: r.get(12)?,
                })
            })?)
        })
        .await
    }

    /// How the latest invitation to `visitor` fared, if one was queued.
    pub async fn invitation_state(
        &self,
        tenant: TenantId,
        visitor: VisitorId,
    ) -> StoreResult<Option<InvitationState>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT CASE WHEN status = 'sent' AND delivered_at IS NOT NULL THEN 'delivered' ELSE status END,
                        last_error
                 FROM outbox WHERE tenant_id = ?1 AND visitor_id = ?2 AND kind = 'invitation'
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![tenant.get(), visitor.get()], |r| {
                Ok(InvitationState { status: r.get(0)?, last_error: r.get(1)? })
            })
            .optional()?)
        })
        .await
    }
}
