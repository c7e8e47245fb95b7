//! Offline rosters for kiosks: the passes valid today and tomorrow at a kiosk's site,
//! with what an offline kiosk needs to verify a scanned QR pass and nothing more.
//!
//! A roster holds each pass's token hash (SHA-256 of a 128-bit random token: not
//! invertible), the visitor's and host's names, the validity and whether the host can
//! be alerted. It holds no verifier of the 8-digit codes: a stolen kiosk would
//! recover every code from one in seconds, so codes are checked by the server only.
//!
//! Every roster issued is recorded per kiosk and pass (first and latest issue time),
//! so a journal replay is accepted only for a pass that kiosk was actually given,
//! at a time its roster was trusted ([`genkan_core::offline::decide_replay`]).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use genkan_core::id::{KioskId, PassId};
use genkan_core::offline::{Listing, REPLAY_WINDOW, ROSTER_MAX_AGE};
use genkan_core::tenant::TimeZone;
use genkan_core::wire::v1::{ErrorCode, Roster, RosterPass};
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::Store;
use crate::error::StoreResult;
use crate::kiosks::KioskAuth;
use crate::sql::{get_ts, ts};

/// Most passes a roster lists (a lobby's two days; a bigger list means a misuse).
pub const ROSTER_LIMIT: u32 = 20_000;

/// The `[from, until)` a roster made at `now` covers: today and tomorrow in `zone`.
pub fn roster_window(zone: TimeZone, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = zone.local_date(now);
    let (_, end) = zone.days_window(today, today + Duration::days(1));
    (now, end)
}

/// When rosters issued to `kiosk` listed `pass`, if ever (and not forgotten yet).
pub(crate) fn listing(
    conn: &Connection,
    kiosk: KioskId,
    pass: PassId,
) -> StoreResult<Option<Listing>> {
    Ok(conn
        .prepare_cached(
            "SELECT first_at, last_at FROM kiosk_roster_passes WHERE kiosk_id = ?1 AND pass_id = ?2",
        )?
        .query_row(params![kiosk.get(), pass.get()], |r| {
            Ok(Listing {
                first: get_ts(r, 0)?,
                last: get_ts(r, 1)?,
            })
        })
        .optional()?)
}

/// Drops listings no replay can use any more at `now` (of one kiosk, or of all).
pub(crate) fn forget_listings(
    conn: &Connection,
    kiosk: Option<KioskId>,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let before = ts(now - REPLAY_WINDOW - ROSTER_MAX_AGE);
    Ok(match kiosk {
        Some(k) => conn
            .prepare_cached("DELETE FROM kiosk_roster_passes WHERE kiosk_id = ?1 AND last_at < ?2")?
            .execute(params![k.get(), before])?,
        None => conn
            .prepare_cached("DELETE FROM kiosk_roster_passes WHERE last_at < ?1")?
            .execute([before])?,
    })
}

/// One listed pass as read, before the host's reach is known.
struct Row {
    pass_id: i64,
    host_id: i64,
    pass: RosterPass,
}

impl Store {
    /// The offline roster of `kiosk` issued at `now`: the non-revoked passes of its
    /// site that are valid at some moment from `now` to the end of tomorrow (site
    /// time), each with its token hash, names, validity and whether its host can be
    /// alerted. Records that this kiosk was given these passes at `now`.
    /// `kiosk_revoked` if the kiosk is no longer active.
    #[tracing::instrument(skip_all, err(level = "warn"), fields(tenant.id = %kiosk.tenant_id, kiosk.id = %kiosk.kiosk_id))]
    pub async fn kiosk_roster(
        &self,
        kiosk: KioskAuth,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<Roster, ErrorCode>> {
        let tenant = kiosk.tenant_id;
        let deliverable = self.deliverable();
        self.write(move |tx| {
            let active: Option<String> = tx
                .prepare_cached(
                    "SELECT s.time_zone FROM kiosks k JOIN sites s ON s.id = k.site_id
                     WHERE k.id = ?1 AND k.tenant_id = ?2 AND k.status = 'active'",
                )?
                .query_row(params![kiosk.kiosk_id.get(), tenant.get()], |r| r.get(0))
                .optional()?;
            let Some(zone) = active else {
                return Ok(Err(ErrorCode::KioskRevoked));
            };
            let zone = TimeZone::parse(&zone).unwrap_or_default();
            let (from, until) = roster_window(zone, now);
            let rows = tx
                .prepare_cached(
                    "SELECT p.id, a.host_id, p.token_hash, v.name, u.display_name, v.locale,
                            p.valid_from, p.valid_until
                     FROM passes p JOIN visitors v ON v.id = p.visitor_id
                     JOIN appointments a ON a.id = v.appointment_id JOIN users u ON u.id = a.host_id
                     WHERE p.tenant_id = ?1 AND p.site_id = ?2 AND p.revoked_at IS NULL
                       AND p.valid_until > ?3 AND p.valid_from < ?4
                     ORDER BY p.valid_from, p.id LIMIT ?5",
                )?
                .query_map(
                    params![
                        tenant.get(),
                        kiosk.site_id.get(),
                        ts(from),
                        ts(until),
                        ROSTER_LIMIT
                    ],
                    |r| {
                        let token: Vec<u8> = r.get(2)?;
                        Ok(Row {
                            pass_id: r.get(0)?,
                            host_id: r.get(1)?,
                            pass: RosterPass {
                                token_hash: hex::encode(token),
                                visitor_name: r.get(3)?,
                                host_name: r.get(4)?,
                                locale: r.get(5)?,
                                valid_from: zone.format(get_ts(r, 6)?),
                                valid_until: zone.format(get_ts(r, 7)?),
                                host_reachable: false,
                            },
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut reach = HashMap::<i64, bool>::new();
            let mut record = tx.prepare_cached(
                "INSERT INTO kiosk_roster_passes (kiosk_id, pass_id, tenant_id, first_at, last_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (kiosk_id, pass_id) DO UPDATE SET last_at = excluded.last_at",
            )?;
            let mut passes = Vec::with_capacity(rows.len());
            for mut row in rows {
                let reachable = match reach.get(&row.host_id) {
                    Some(known) => *known,
                    None => {
                        let host = genkan_core::id::UserId(row.host_id);
                        let r = crate::alerts::arrival_reach(
                            tx,
                            tenant,
                            host,
                            kiosk.site_id,
                            deliverable,
                        )?;
                        reach.insert(row.host_id, r.host);
                        r.host
                    }
                };
                row.pass.host_reachable = reachable;
                record.execute(params![
                    kiosk.kiosk_id.get(),
                    row.pass_id,
                    tenant.get(),
                    ts(now)
                ])?;
                passes.push(row.pass);
            }
            forget_listings(tx, Some(kiosk.kiosk_id), now)?;
            Ok(Ok(Roster {
                generated_at: zone.format(now),
                passes,
            }))
        })
        .await
    }
}
