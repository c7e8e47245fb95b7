//! The front desk's day at a glance: who is expected, who is on site, who has left.

use chrono::{DateTime, Utc};
use genkan_core::access::Visibility;
use genkan_core::id::{AppointmentId, TenantId, VisitorId};
use rusqlite::params;
use serde::Serialize;

use crate::Store;
use crate::error::StoreResult;
use crate::sql::{get_ts, ts};
use crate::visits::{VISIT_COLS, VisitView, visit_row};

/// A visitor expected today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// Appointment.
    pub appointment_id: AppointmentId,
    /// Visitor.
    pub visitor_id: VisitorId,
    /// Visitor's name.
    pub visitor_name: String,
    /// Company.
    pub company: Option<String>,
    /// Host's name.
    pub host_name: String,
    /// Site name.
    pub site_name: String,
    /// Site zone.
    pub time_zone: String,
    /// Expected start.
    pub starts_at: DateTime<Utc>,
    /// `expected`, `inside` or `checked_out`.
    pub state: String,
}

/// Today's lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Today {
    /// Visitors of today's appointments.
    pub expected: Vec<Expected>,
    /// Everyone checked in and not out, whatever day they came.
    pub inside: Vec<VisitView>,
    /// Checked out during the day.
    pub departed: Vec<VisitView>,
}

fn host_of(v: Visibility) -> Option<i64> {
    match v {
        Visibility::Tenant => None,
        Visibility::Host(u) => Some(u.get()),
    }
}

impl Store {
    /// Today's lists for the day `[from, until)`, restricted to what `visibility` allows.
    pub async fn today(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Today> {
        let host = host_of(visibility);
        self.read(move |c| {
            let expected = c
                .prepare_cached(
                    "SELECT a.id, v.id, v.name, v.company, u.display_name, s.name, s.time_zone, a.starts_at,
                            COALESCE((SELECT x.status FROM visits x WHERE x.visitor_id = v.id AND x.tenant_id = v.tenant_id
                                      ORDER BY x.id DESC LIMIT 1), 'expected')
                     FROM appointments a JOIN visitors v ON v.appointment_id = a.id AND v.tenant_id = a.tenant_id
                     JOIN users u ON u.id = a.host_id JOIN sites s ON s.id = a.site_id
                     WHERE a.tenant_id = ?1 AND a.status = 'scheduled' AND a.starts_at < ?3 AND a.ends_at > ?2
                       AND (?4 IS NULL OR a.host_id = ?4)
                     ORDER BY a.starts_at, v.id LIMIT 2000",
                )?
                .query_map(params![tenant.get(), ts(from), ts(until), host], |r| {
                    Ok(Expected {
                        appointment_id: AppointmentId(r.get(0)?),
                        visitor_id: VisitorId(r.get(1)?),
                        visitor_name: r.get(2)?,
                        company: r.get(3)?,
                        host_name: r.get(4)?,
                        site_name: r.get(5)?,
                        time_zone: r.get(6)?,
                        starts_at: get_ts(r, 7)?,
                        state: r.get(8)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let inside = c
                .prepare_cached(&format!(
                    "SELECT {VISIT_COLS} WHERE vi.tenant_id = ?1 AND vi.status = 'inside' AND (?2 IS NULL OR vi.host_id = ?2)
                     ORDER BY vi.checked_in_at DESC LIMIT 2000"
                ))?
                .query_map(params![tenant.get(), host], visit_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let departed = c
                .prepare_cached(&format!(
                    "SELECT {VISIT_COLS} WHERE vi.tenant_id = ?1 AND vi.status = 'checked_out'
                       AND vi.checked_out_at >= ?2 AND vi.checked_out_at < ?3 AND (?4 IS NULL OR vi.host_id = ?4)
                     ORDER BY vi.checked_out_at DESC LIMIT 2000"
                ))?
                .query_map(params![tenant.get(), ts(from), ts(until), host], visit_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Today { expected, inside, departed })
        })
        .await
    }
}
