//! Whole-table reads for CSV export, row by row on one reader connection so memory
//! stays flat however many rows there are. The caller formats and ships each row;
//! returning `false` stops early (the client went away).

use chrono::{DateTime, Utc};
use genkan_core::access::Visibility;
use genkan_core::id::TenantId;
use rusqlite::params;

use crate::Store;
use crate::error::StoreResult;
use crate::sql::{get_opt_ts, get_ts, ts};

/// A visit for export.
#[derive(Debug, Clone)]
pub struct VisitRecord {
    /// Visit id.
    pub id: i64,
    /// Site.
    pub site: String,
    /// Site zone.
    pub time_zone: String,
    /// Visitor.
    pub visitor: String,
    /// Company.
    pub company: String,
    /// Host.
    pub host: String,
    /// `qr`, `code`, `manual`, `offline`.
    pub method: String,
    /// `inside` or `checked_out`.
    pub status: String,
    /// Arrival.
    pub checked_in_at: DateTime<Utc>,
    /// Departure.
    pub checked_out_at: Option<DateTime<Utc>>,
}

/// An appointment for export.
#[derive(Debug, Clone)]
pub struct AppointmentRecord {
    /// Id.
    pub id: i64,
    /// Site.
    pub site: String,
    /// Site zone.
    pub time_zone: String,
    /// Host.
    pub host: String,
    /// Title.
    pub title: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Status.
    pub status: String,
    /// Visitors' names, `; `-separated.
    pub visitors: String,
}

/// A user for export.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Id.
    pub id: i64,
    /// E-mail.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Status.
    pub status: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last sign-in.
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

fn host_of(v: Visibility) -> Option<i64> {
    match v {
        Visibility::Tenant => None,
        Visibility::Host(u) => Some(u.get()),
    }
}

impl Store {
    /// Feeds every visit arriving in `[from, until)` to `each`, oldest first.
    pub async fn each_visit<F>(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        mut each: F,
    ) -> StoreResult<u64>
    where
        F: FnMut(VisitRecord) -> bool + Send + 'static,
    {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT vi.id, s.name, s.time_zone, v.name, v.company, u.display_name, vi.method, vi.status,
                        vi.checked_in_at, vi.checked_out_at
                 FROM visits vi JOIN sites s ON s.id = vi.site_id LEFT JOIN visitors v ON v.id = vi.visitor_id
                 LEFT JOIN users u ON u.id = vi.host_id
                 WHERE vi.tenant_id = ?1 AND vi.checked_in_at >= ?2 AND vi.checked_in_at < ?3
                   AND (?4 IS NULL OR vi.host_id = ?4)
                 ORDER BY vi.checked_in_at, vi.id",
            )?;
            let mut rows = stmt.query(params![tenant.get(), ts(from), ts(until), host_of(visibility)])?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                let record = VisitRecord {
                    id: r.get(0)?,
                    site: r.get(1)?,
                    time_zone: r.get(2)?,
                    visitor: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    company: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    host: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    method: r.get(6)?,
                    status: r.get(7)?,
                    checked_in_at: get_ts(r, 8)?,
                    checked_out_at: get_opt_ts(r, 9)?,
                };
                n += 1;
                if !each(record) {
                    break;
                }
            }
            Ok(n)
        })
        .await
    }

    /// Feeds every appointment starting in `[from, until)` to `each`.
    pub async fn each_appointment<F>(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        mut each: F,
    ) -> StoreResult<u64>
    where
        F: FnMut(AppointmentRecord) -> bool + Send + 'static,
    {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT a.id, s.name, s.time_zone, u.display_name, a.title, a.starts_at, a.ends_at, a.status,
                        (SELECT group_concat(v.name, '; ') FROM visitors v WHERE v.appointment_id = a.id AND v.tenant_id = a.tenant_id)
                 FROM appointments a JOIN sites s ON s.id = a.site_id JOIN users u ON u.id = a.host_id
                 WHERE a.tenant_id = ?1 AND a.starts_at >= ?2 AND a.starts_at < ?3 AND (?4 IS NULL OR a.host_id = ?4)
                 ORDER BY a.starts_at, a.id",
            )?;
            let mut rows = stmt.query(params![tenant.get(), ts(from), ts(until), host_of(visibility)])?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                let record = AppointmentRecord {
                    id: r.get(0)?,
                    site: r.get(1)?,
                    time_zone: r.get(2)?,
                    host: r.get(3)?,
                    title: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    starts_at: get_ts(r, 5)?,
                    ends_at: get_ts(r, 6)?,
                    status: r.get(7)?,
                    visitors: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                };
                n += 1;
                if !each(record) {
                    break;
                }
            }
            Ok(n)
        })
        .await
    }

    /// Feeds every user of the tenant to `each`.
    pub async fn each_user<F>(&self, tenant: TenantId, mut each: F) -> StoreResult<u64>
    where
        F: FnMut(UserRecord) -> bool + Send + 'static,
    {
        self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, email, display_name, role, status, created_at, last_sign_in_at
                 FROM users WHERE tenant_id = ?1 ORDER BY id",
            )?;
            let mut rows = stmt.query([tenant.get()])?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                let record = UserRecord {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    name: r.get(2)?,
                    role: r.get(3)?,
                    status: r.get(4)?,
                    created_at: get_ts(r, 5)?,
                    last_sign_in_at: get_opt_ts(r, 6)?,
                };
                n += 1;
                if !each(record) {
                    break;
                }
            }
            Ok(n)
        })
        .await
    }
}
