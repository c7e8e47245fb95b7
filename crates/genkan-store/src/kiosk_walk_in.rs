//! Walk-ins at a kiosk: the host search (a few display names for at least three
//! typed characters, never a list to browse) and the walk-in itself, idempotent per
//! kiosk request id like a check-in.

use genkan_core::appointment::Visitor;
use genkan_core::id::{UserId, VisitId};
use genkan_core::reach::Reach;
use genkan_core::search;
use genkan_core::tenant::TimeZone;
use genkan_core::wire::v1::{CheckInResponse, ErrorCode, HostMatch};
use rusqlite::{Connection, params};

use crate::Store;
use crate::audit::AuditCtx;
use crate::error::StoreResult;
use crate::frontdesk::walk_in_tx;
use crate::kiosks::KioskAuth;
use crate::sql::get_ts;
use crate::visits::{kiosk_active, remember, replayed};

/// Fewest letters or digits a host search needs.
pub const HOST_QUERY_MIN_CHARS: usize = 3;
/// Most names a host search gives.
pub const HOST_MATCH_LIMIT: usize = 5;

/// Whether `query` is long enough to search (letters and digits count, not spaces).
pub fn host_query_ok(query: &str) -> bool {
    search::compact(query).chars().count() >= HOST_QUERY_MIN_CHARS
}

/// The kiosk's answer about a visit it just opened, whose alerts reach `reach`.
fn check_in_response(
    conn: &Connection,
    visit: VisitId,
    reach: Reach,
) -> StoreResult<CheckInResponse> {
    Ok(conn.query_row(
        "SELECT v.name, v.company, v.locale, u.display_name, s.name, s.time_zone, vi.checked_in_at
         FROM visits vi JOIN visitors v ON v.id = vi.visitor_id JOIN users u ON u.id = vi.host_id
         JOIN sites s ON s.id = vi.site_id WHERE vi.id = ?1",
        [visit.get()],
        |r| {
            let zone: String = r.get(5)?;
            Ok(CheckInResponse {
                visit_id: visit.get(),
                visitor_name: r.get(0)?,
                visitor_company: r.get(1)?,
                locale: r.get(2)?,
                host_name: r.get(3)?,
                site_name: r.get(4)?,
                checked_in_at: TimeZone::parse(&zone)
                    .unwrap_or_default()
                    .format(get_ts(r, 6)?),
                host_notified: reach.host,
                reception_notified: reach.reception,
            })
        },
    )?)
}

impl Store {
    /// Staff of the kiosk's tenant whose display name contains `query` (compared on
    /// letters and digits only): at most [`HOST_MATCH_LIMIT`], by name, and none at
    /// all for fewer than [`HOST_QUERY_MIN_CHARS`] characters. Disabled users never
    /// appear.
    #[tracing::instrument(skip_all, err(level = "warn"), fields(tenant.id = %kiosk.tenant_id))]
    pub async fn search_hosts(&self, kiosk: KioskAuth, query: &str) -> StoreResult<Vec<HostMatch>> {
        if !host_query_ok(query) {
            return Ok(Vec::new());
        }
        let wanted = search::compact(query);
        let users: Vec<(i64, String)> = self
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT id, display_name FROM users WHERE tenant_id = ?1 AND status != 'disabled'
                     ORDER BY display_name, id",
                )?;
                let rows = stmt
                    .query_map([kiosk.tenant_id.get()], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .await?;
        // Compared in Rust on the compact form ("田中一郎" is found by "中 一郎"); a
        // tenant's staff list is small enough to scan.
        Ok(users
            .into_iter()
            .filter(|(_, name)| search::compact(name).contains(&wanted))
            .take(HOST_MATCH_LIMIT)
            .map(|(id, name)| HostMatch { id, name })
            .collect())
    }

    /// A walk-in registered at a kiosk: an appointment made and checked in at the
    /// kiosk's site, the host alerted. A repeated `request_id` gets the first answer
    /// again; an unknown or disabled host is `validation`.
    #[tracing::instrument(skip_all, err(level = "warn"), fields(tenant.id = %kiosk.tenant_id, kiosk.id = %kiosk.kiosk_id))]
    pub async fn kiosk_walk_in(
        &self,
        kiosk: KioskAuth,
        request_id: String,
        host: UserId,
        visitor: Visitor,
        ctx: AuditCtx,
    ) -> StoreResult<Result<CheckInResponse, ErrorCode>> {
        let keys = self.keys().clone();
        let deliverable = self.deliverable();
        self.write(move |tx| {
            if !kiosk_active(tx, &kiosk, ctx.at)? {
                return Ok(Err(ErrorCode::KioskRevoked));
            }
            let key = format!("walkin:{request_id}");
            if let Some(answer) = replayed(tx, kiosk.kiosk_id, &key)? {
                return Ok(answer);
            }
            let answer = match walk_in_tx(
                tx,
                &keys,
                kiosk.tenant_id,
                kiosk.site_id,
                host,
                visitor,
                &ctx,
                deliverable,
            )? {
                Ok((visit, reach)) => {
                    tx.prepare_cached("UPDATE visits SET kiosk_id = ?1 WHERE id = ?2")?
                        .execute(params![kiosk.kiosk_id.get(), visit.get()])?;
                    Ok(check_in_response(tx, visit, reach)?)
                }
                Err(code) => Err(code),
            };
            remember(tx, &kiosk, &key, &answer, ctx.at)?;
            Ok(answer)
        })
        .await
    }
}
