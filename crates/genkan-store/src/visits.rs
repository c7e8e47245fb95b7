//! Check-in and check-out at kiosks (idempotent per kiosk request id, atomic per
//! pass) and the visit lists.

use chrono::{DateTime, Utc};
use genkan_core::access::Visibility;
use genkan_core::audit::Outcome;
use genkan_core::id::{
    AppointmentId, KioskId, PassId, SiteId, TenantId, UserId, VisitId, VisitorId,
};
use genkan_core::offline::{ReplayRefusal, decide_replay, within_replay_window};
use genkan_core::pass::{PassHash, Validity};
use genkan_core::reach::{Deliverable, Reach};
use genkan_core::tenant::TimeZone;
use genkan_core::text::Locale;
use genkan_core::visit::{CheckInMethod, PassState, decide_check_in, decide_check_out};
use genkan_core::wire::v1::{CheckInResponse, CheckOutResponse, ErrorCode};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::conn::writer::Tx;
use crate::error::{StoreError, StoreResult};
use crate::kiosks::KioskAuth;
use crate::sql::{get_opt_ts, get_ts, ts};

/// How the visitor identified themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassKey {
    /// Hash of a scanned QR token.
    Token(PassHash),
    /// Keyed hash of a typed 8-digit code.
    Code(PassHash),
    /// A visitor picked from a list by the front desk (their latest pass).
    Visitor(VisitorId),
}

/// A pass presented at a kiosk.
#[derive(Debug, Clone)]
pub struct Presented {
    /// The kiosk's id for this scan (idempotency key).
    pub request_id: String,
    /// The pass.
    pub key: PassKey,
    /// For journal replays: when the kiosk verified the pass offline (held to
    /// [`decide_replay`]; check-outs are never replayed).
    pub offline_at: Option<DateTime<Utc>>,
}

/// Everything a check-in needs to know about a pass, read in the writer's transaction.
pub(crate) struct PassRow {
    pub(crate) id: PassId,
    pub(crate) state: PassState,
    pub(crate) visitor_id: VisitorId,
    pub(crate) visitor_name: String,
    pub(crate) visitor_company: Option<String>,
    pub(crate) locale: Locale,
    pub(crate) appointment_id: AppointmentId,
    pub(crate) host_id: UserId,
    pub(crate) host_name: String,
    pub(crate) site_name: String,
    pub(crate) time_zone: TimeZone,
}

pub(crate) fn find_pass(
    conn: &Connection,
    tenant: TenantId,
    key: PassKey,
) -> StoreResult<Option<PassRow>> {
    const COLS: &str = "p.id, p.site_id, p.valid_from, p.valid_until, p.revoked_at IS NOT NULL,
        EXISTS (SELECT 1 FROM visits x WHERE x.pass_id = p.id AND x.status = 'inside'),
        v.id, v.name, v.company, v.locale, a.id, u.id, u.display_name, u.email, u.locale, s.name, s.time_zone
        FROM passes p JOIN visitors v ON v.id = p.visitor_id JOIN appointments a ON a.id = v.appointment_id
        JOIN users u ON u.id = a.host_id JOIN sites s ON s.id = p.site_id";
    let (sql, value): (String, rusqlite::types::Value) = match key {
        PassKey::Token(h) => (
            format!("SELECT {COLS} WHERE p.token_hash = ?1 AND p.tenant_id = ?2"),
            h.0.to_vec().into(),
        ),
        // Codes are reused once passes end: prefer a live pass, then the newest.
        PassKey::Code(h) => (
            format!(
                "SELECT {COLS} WHERE p.code_hash = ?1 AND p.tenant_id = ?2
                 ORDER BY p.revoked_at IS NULL DESC, p.valid_until DESC LIMIT 1"
            ),
            h.0.to_vec().into(),
        ),
        // The front desk checks a visitor in by name: their current pass.
        PassKey::Visitor(v) => (
            format!(
                "SELECT {COLS} WHERE p.visitor_id = ?1 AND p.tenant_id = ?2
                 ORDER BY p.revoked_at IS NULL DESC, p.id DESC LIMIT 1"
            ),
            v.get().into(),
        ),
    };
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![value, tenant.get()], |r| {
            let locale: String = r.get(9)?;
            let tz: String = r.get(16)?;
            Ok(PassRow {
                id: PassId(r.get(0)?),
                state: PassState {
                    site_id: SiteId(r.get(1)?),
                    validity: Validity {
                        from: get_ts(r, 2)?,
                        until: get_ts(r, 3)?,
                    },
                    revoked: r.get(4)?,
                    inside: r.get(5)?,
                },
                visitor_id: VisitorId(r.get(6)?),
                visitor_name: r.get(7)?,
                visitor_company: r.get(8)?,
                locale: Locale::parse(&locale).unwrap_or_default(),
                appointment_id: AppointmentId(r.get(10)?),
                host_id: UserId(r.get(11)?),
                host_name: r.get(12)?,
                site_name: r.get(15)?,
                time_zone: TimeZone::parse(&tz).unwrap_or_default(),
            })
        })
        .optional()?)
}

/// `Some(answer)` if this kiosk request was answered before.
pub(crate) fn replayed<T: DeserializeOwned>(
    conn: &Connection,
    kiosk: KioskId,
    key: &str,
) -> StoreResult<Option<Result<T, ErrorCode>>> {
    let row: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT outcome, body FROM kiosk_requests WHERE kiosk_id = ?1 AND request_id = ?2",
        )?
        .query_row(params![kiosk.get(), key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(outcome, body)| {
        if outcome == "ok" {
            serde_json::from_str(&body)
                .map(Ok)
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        } else {
            serde_json::from_value::<ErrorCode>(json!(outcome))
                .map(Err)
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        }
    })
    .transpose()
}

pub(crate) fn remember<T: Serialize>(
    conn: &Connection,
    kiosk: &KioskAuth,
    key: &str,
    answer: &Result<T, ErrorCode>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let (outcome, body) = match answer {
        Ok(v) => (
            "ok",
            serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
        Err(code) => (code.as_str(), String::new()),
    };
    conn.prepare_cached(
        "INSERT INTO kiosk_requests (kiosk_id, request_id, tenant_id, outcome, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        kiosk.kiosk_id.get(),
        key,
        kiosk.tenant_id.get(),
        outcome,
        body,
        ts(at)
    ])?;
    Ok(())
}

/// Checks the kiosk is still active inside the transaction (revocation is immediate).
pub(crate) fn kiosk_active(
    conn: &Connection,
    kiosk: &KioskAuth,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE kiosks SET last_seen_at = ?1 WHERE id = ?2 AND tenant_id = ?3 AND status = 'active'",
        )?
        .execute(params![ts(at), kiosk.kiosk_id.get(), kiosk.tenant_id.get()])?;
    Ok(n == 1)
}

fn refuse<T: Serialize>(
    conn: &Tx<'_>,
    kiosk: &KioskAuth,
    key: &str,
    ctx: &AuditCtx,
    action: &str,
    code: ErrorCode,
    pass: Option<PassId>,
) -> StoreResult<Result<T, ErrorCode>> {
    let answer = Err(code);
    remember::<T>(conn, kiosk, key, &answer, ctx.at)?;
    append(
        conn,
        ctx,
        action,
        "pass",
        pass.map(|p| p.to_string()),
        Outcome::Denied,
        &json!({"code": code}),
    )?;
    Ok(answer)
}

/// Refuses a journal replay (`replay_refused`), with the reason in the audit log.
fn refuse_replay<T: Serialize>(
    conn: &Tx<'_>,
    kiosk: &KioskAuth,
    key: &str,
    ctx: &AuditCtx,
    refusal: ReplayRefusal,
    pass: Option<PassId>,
) -> StoreResult<Result<T, ErrorCode>> {
    let code = ErrorCode::ReplayRefused;
    let answer = Err(code);
    remember::<T>(conn, kiosk, key, &answer, ctx.at)?;
    append(
        conn,
        ctx,
        "visit.replay",
        "pass",
        pass.map(|p| p.to_string()),
        Outcome::Denied,
        &json!({"code": code, "reason": refusal.as_str()}),
    )?;
    Ok(answer)
}

/// Counts a lookup by typed code.
fn count_lookup(counter: &std::sync::atomic::AtomicU64, key: PassKey) {
    if matches!(key, PassKey::Code(_)) {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Store {
    /// Checks a visitor in: validates the pass, opens the visit and queues the host
    /// alerts in one transaction. A repeated `request_id` gets the first answer again.
    /// A journal replay (`offline_at` given) is held to [`decide_replay`]: only a pass
    /// a roster issued to this kiosk listed, at a time that roster allows.
    /// `host_notified`/`reception_notified` say whom the alerts can actually reach.
    pub async fn check_in(
        &self,
        kiosk: KioskAuth,
        presented: Presented,
        ctx: AuditCtx,
    ) -> StoreResult<Result<CheckInResponse, ErrorCode>> {
        let keys = self.keys().clone();
        let deliverable = self.deliverable();
        let lookups = std::sync::Arc::clone(&self.code_lookups);
        self.write(move |tx| {
            if !kiosk_active(tx, &kiosk, ctx.at)? {
                return Ok(Err(ErrorCode::KioskRevoked));
            }
            let key = format!("in:{}", presented.request_id);
            if let Some(answer) = replayed(tx, kiosk.kiosk_id, &key)? {
                return Ok(answer);
            }
            const ACTION: &str = "visit.check_in";
            if let Some(offline_at) = presented.offline_at
                && let Err(refusal) = within_replay_window(offline_at, ctx.at)
            {
                return refuse_replay(tx, &kiosk, &key, &ctx, refusal, None);
            }
            count_lookup(&lookups, presented.key);
            let Some(pass) = find_pass(tx, kiosk.tenant_id, presented.key)? else {
                if presented.offline_at.is_some() {
                    return refuse_replay(tx, &kiosk, &key, &ctx, ReplayRefusal::NotListed, None);
                }
                return refuse(tx, &kiosk, &key, &ctx, ACTION, ErrorCode::PassUnknown, None);
            };
            let arrived_at = match presented.offline_at {
                None => ctx.at,
                Some(offline_at) => {
                    let listed = crate::roster::listing(tx, kiosk.kiosk_id, pass.id)?;
                    match decide_replay(offline_at, ctx.at, listed, pass.state.validity) {
                        Ok(at) => at,
                        Err(refusal) => {
                            return refuse_replay(tx, &kiosk, &key, &ctx, refusal, Some(pass.id));
                        }
                    }
                }
            };
            if let Err(refusal) = decide_check_in(&pass.state, kiosk.site_id, arrived_at) {
                return refuse(tx, &kiosk, &key, &ctx, ACTION, refusal.code(), Some(pass.id));
            }
            let method = match (presented.offline_at, presented.key) {
                (Some(_), _) => CheckInMethod::Offline,
                (None, PassKey::Token(_)) => CheckInMethod::Qr,
                (None, PassKey::Code(_)) => CheckInMethod::Code,
                (None, PassKey::Visitor(_)) => CheckInMethod::Manual,
            };
            tx.prepare_cached(
                "INSERT INTO visits (tenant_id, site_id, appointment_id, visitor_id, pass_id, host_id, kiosk_id,
                    method, status, checked_in_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'inside', ?9, ?10)",
            )?
            .execute(params![
                kiosk.tenant_id.get(),
                kiosk.site_id.get(),
                pass.appointment_id.get(),
                pass.visitor_id.get(),
                pass.id.get(),
                pass.host_id.get(),
                kiosk.kiosk_id.get(),
                method.as_str(),
                ts(arrived_at),
                ts(ctx.at),
            ])?;
            let visit_id = VisitId(tx.last_insert_rowid());
            let reach = queue_arrival_alerts(tx, &keys, kiosk.tenant_id, &pass, visit_id, ctx.at, deliverable)?;
            let answer = Ok(CheckInResponse {
                visit_id: visit_id.get(),
                visitor_name: pass.visitor_name.clone(),
                visitor_company: pass.visitor_company.clone(),
                locale: pass.locale.as_str().to_owned(),
                host_name: pass.host_name.clone(),
                site_name: pass.site_name.clone(),
                checked_in_at: pass.time_zone.format(arrived_at),
                host_notified: reach.host,
                reception_notified: reach.reception,
            });
            remember(tx, &kiosk, &key, &answer, ctx.at)?;
            append(tx, &ctx, ACTION, "visit", Some(visit_id.to_string()), Outcome::Ok,
                &json!({"pass_id": pass.id, "method": method.as_str(),
                        "host_notified": reach.host, "reception_notified": reach.reception}))?;
            tx.wake_outbox();
            Ok(answer)
        })
        .await
    }

    /// How many typed codes were looked up since the store opened (each check-in or
    /// check-out by code that got past the server's limits): what an attacker with a
    /// kiosk's credential actually got to try.
    pub fn code_lookups(&self) -> u64 {
        self.code_lookups.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Checks a visitor out with their pass.
    pub async fn check_out(
        &self,
        kiosk: KioskAuth,
        presented: Presented,
        ctx: AuditCtx,
    ) -> StoreResult<Result<CheckOutResponse, ErrorCode>> {
        let lookups = std::sync::Arc::clone(&self.code_lookups);
        self.write(move |tx| {
            if !kiosk_active(tx, &kiosk, ctx.at)? {
                return Ok(Err(ErrorCode::KioskRevoked));
            }
            let key = format!("out:{}", presented.request_id);
            if let Some(answer) = replayed(tx, kiosk.kiosk_id, &key)? {
                return Ok(answer);
            }
            const ACTION: &str = "visit.check_out";
            // Kiosks journal check-ins only: a back-dated check-out is never a replay.
            if presented.offline_at.is_some() {
                return refuse_replay(tx, &kiosk, &key, &ctx, ReplayRefusal::NotListed, None);
            }
            count_lookup(&lookups, presented.key);
            let Some(pass) = find_pass(tx, kiosk.tenant_id, presented.key)? else {
                return refuse(tx, &kiosk, &key, &ctx, ACTION, ErrorCode::PassUnknown, None);
            };
            if let Err(refusal) = decide_check_out(&pass.state, kiosk.site_id) {
                return refuse(
                    tx,
                    &kiosk,
                    &key,
                    &ctx,
                    ACTION,
                    refusal.code(),
                    Some(pass.id),
                );
            }
            let left_at = ctx.at;
            let visit_id: i64 = tx
                .prepare_cached(
                    "UPDATE visits SET status = 'checked_out', checked_out_at = ?1
                     WHERE pass_id = ?2 AND tenant_id = ?3 AND status = 'inside' RETURNING id",
                )?
                .query_row(
                    params![ts(left_at), pass.id.get(), kiosk.tenant_id.get()],
                    |r| r.get(0),
                )?;
            let answer = Ok(CheckOutResponse {
                visit_id,
                visitor_name: pass.visitor_name.clone(),
                locale: pass.locale.as_str().to_owned(),
                checked_out_at: pass.time_zone.format(left_at),
            });
            remember(tx, &kiosk, &key, &answer, ctx.at)?;
            append(
                tx,
                &ctx,
                ACTION,
                "visit",
                Some(visit_id.to_string()),
                Outcome::Ok,
                &json!({"pass_id": pass.id}),
            )?;
            Ok(answer)
        })
        .await
    }

    /// Visits whose check-in falls in `[from, until)`, newest first.
    pub async fn visits_between(
        &self,
        tenant: TenantId,
        visibility: Visibility,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<VisitView>> {
        let host = match visibility {
            Visibility::Tenant => None,
            Visibility::Host(u) => Some(u.get()),
        };
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {VISIT_COLS} WHERE vi.tenant_id = ?1 AND vi.checked_in_at >= ?2 AND vi.checked_in_at < ?3
                   AND (?4 IS NULL OR vi.host_id = ?4)
                 ORDER BY vi.checked_in_at DESC, vi.id DESC LIMIT ?5"
            ))?;
            let rows = stmt
                .query_map(params![tenant.get(), ts(from), ts(until), host, limit], visit_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}

/// Queues the arrival alerts of a visit: the host (or their delegate), the tenant's
/// channels and the site's reception contacts (see [`crate::alerts`]); returns whom
/// they reach.
pub(crate) fn queue_arrival_alerts(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    pass: &PassRow,
    visit_id: VisitId,
    at: DateTime<Utc>,
    deliverable: Deliverable,
) -> StoreResult<Reach> {
    crate::alerts::queue_arrival(
        conn,
        keys,
        tenant,
        crate::alerts::ArrivalSubject {
            host_id: pass.host_id,
            site_id: pass.state.site_id,
            appointment_id: Some(pass.appointment_id),
            visitor_id: Some(pass.visitor_id),
        },
        visit_id,
        at,
        deliverable,
    )
}

/// A visit as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitView {
    /// Id.
    pub id: VisitId,
    /// Site name.
    pub site_name: String,
    /// Visitor's name.
    pub visitor_name: String,
    /// Visitor's company.
    pub visitor_company: Option<String>,
    /// Host's name.
    pub host_name: String,
    /// `qr`, `code`, `manual`, `offline`.
    pub method: String,
    /// `inside` or `checked_out`.
    pub status: String,
    /// Arrival.
    pub checked_in_at: DateTime<Utc>,
    /// Departure.
    pub checked_out_at: Option<DateTime<Utc>>,
    /// The site's zone, for display.
    pub time_zone: String,
    /// The appointment the visit belongs to.
    pub appointment_id: Option<i64>,
}

pub(crate) const VISIT_COLS: &str =
    "vi.id, s.name, v.name, v.company, u.display_name, vi.method, vi.status,
    vi.checked_in_at, vi.checked_out_at, s.time_zone, vi.appointment_id
    FROM visits vi JOIN sites s ON s.id = vi.site_id LEFT JOIN visitors v ON v.id = vi.visitor_id
    LEFT JOIN users u ON u.id = vi.host_id";

pub(crate) fn visit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VisitView> {
    Ok(VisitView {
        id: VisitId(r.get(0)?),
        site_name: r.get(1)?,
        visitor_name: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        visitor_company: r.get(3)?,
        host_name: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
        method: r.get(5)?,
        status: r.get(6)?,
        checked_in_at: get_ts(r, 7)?,
        checked_out_at: get_opt_ts(r, 8)?,
        time_zone: r.get(9)?,
        appointment_id: r.get(10)?,
    })
}
