//! Kiosk health: the heartbeats kiosks send (version, camera, journal, last scan), and
//! the alert to the tenant's admins when an active kiosk falls silent — once per
//! silence, not on every run of the job.

use chrono::{DateTime, Duration, Utc};
use genkan_core::audit::Outcome;
use genkan_core::id::{KioskId, TenantId, UserId};
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::tenant::TimeZone;
use genkan_core::text::Locale;
use genkan_core::wire::v1::{ErrorCode, Heartbeat, camera_state};
use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::kiosks::KioskAuth;
use crate::outbox::{NewMessage, enqueue};
use crate::sql::{get_opt_ts, get_ts, parse_ts, ts};

/// The last heartbeat of a kiosk, as stored (sanitised) and shown to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskHealth {
    /// Kiosk software version.
    pub version: String,
    /// One of `genkan_core::wire::v1::camera_state`, or `unknown`.
    pub camera: String,
    /// Offline check-ins waiting on the kiosk.
    pub journal_length: u32,
    /// The kiosk's last successful scan.
    pub last_scan_at: Option<DateTime<Utc>>,
}

impl KioskHealth {
    /// Reads a heartbeat, bounding every field (it comes from a device).
    pub fn from_heartbeat(beat: &Heartbeat) -> Self {
        const KNOWN: &[&str] = &[
            camera_state::OK,
            camera_state::NO_CAMERA,
            camera_state::NO_FRAMES,
            camera_state::TOO_DARK,
            camera_state::IMAGES,
            camera_state::STARTING,
        ];
        let version: String = beat
            .version
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(40)
            .collect();
        Self {
            version,
            camera: KNOWN
                .iter()
                .find(|k| **k == beat.camera)
                .map_or("unknown", |k| *k)
                .to_owned(),
            journal_length: beat.journal_length,
            last_scan_at: beat
                .last_scan_at
                .as_deref()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

/// What the "kiosk silent" mail says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceContext {
    /// Tenant name.
    pub tenant_name: String,
    /// The admin it is sent to.
    pub admin_name: String,
    /// Kiosk name.
    pub kiosk_name: String,
    /// Its site.
    pub site_name: String,
    /// The site's zone, for times.
    pub time_zone: TimeZone,
    /// Last sign of life.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The tenant's silence threshold in minutes.
    pub silence_minutes: i64,
    /// The brand colour.
    pub primary_color: String,
}

/// The payload of a "kiosk silent" message: which kiosk (in the outbox's sealed payload).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SilencePayload {
    /// The silent kiosk.
    pub kiosk_id: i64,
}

impl Store {
    /// Stores a heartbeat as the kiosk's health and last sign of life.
    /// `kiosk_revoked` if the kiosk is no longer active.
    #[tracing::instrument(skip_all, err(level = "warn"), fields(tenant.id = %kiosk.tenant_id, kiosk.id = %kiosk.kiosk_id))]
    pub async fn record_heartbeat(
        &self,
        kiosk: KioskAuth,
        beat: &Heartbeat,
        at: DateTime<Utc>,
    ) -> StoreResult<Result<(), ErrorCode>> {
        let health = serde_json::to_string(&KioskHealth::from_heartbeat(beat))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE kiosks SET heartbeat = ?1, heartbeat_at = ?2, last_seen_at = ?2
                     WHERE id = ?3 AND tenant_id = ?4 AND status = 'active'",
                )?
                .execute(params![
                    health,
                    ts(at),
                    kiosk.kiosk_id.get(),
                    kiosk.tenant_id.get()
                ])?;
            Ok(if n == 1 {
                Ok(())
            } else {
                Err(ErrorCode::KioskRevoked)
            })
        })
        .await
    }

    /// Queues a "kiosk silent" mail to every active admin of the tenant for each
    /// active kiosk not seen for the tenant's `kiosk_silence_minutes` (0: never) and
    /// not yet reported since it was last seen. Returns how many kiosks were reported.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn alert_silent_kiosks(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let candidates: Vec<(i64, i64, i64, DateTime<Utc>, String)> = tx
                .prepare_cached(
                    "SELECT k.id, k.tenant_id, t.kiosk_silence_minutes, k.last_seen_at, t.default_locale
                     FROM kiosks k JOIN tenants t ON t.id = k.tenant_id
                     WHERE k.status = 'active' AND t.kiosk_silence_minutes > 0 AND k.last_seen_at IS NOT NULL
                       AND (k.silence_alerted_at IS NULL OR k.silence_alerted_at < k.last_seen_at)",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, get_ts(r, 3)?, r.get(4)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut reported = 0;
            for (kiosk, tenant, minutes, last_seen, tenant_locale) in candidates {
                if now - last_seen < Duration::minutes(minutes) {
                    continue;
                }
                let tenant = TenantId(tenant);
                let admins: Vec<(i64, String, Option<String>)> = tx
                    .prepare_cached(
                        "SELECT id, email, locale FROM users
                         WHERE tenant_id = ?1 AND role = 'admin' AND status = 'active' ORDER BY id",
                    )?
                    .query_map([tenant.get()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let payload = serde_json::to_vec(&SilencePayload { kiosk_id: kiosk })
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                for (admin, email, locale) in &admins {
                    let locale = locale
                        .as_deref()
                        .or(Some(tenant_locale.as_str()))
                        .and_then(|l| Locale::parse(l).ok())
                        .unwrap_or_default();
                    enqueue(
                        tx,
                        &keys,
                        &NewMessage {
                            tenant_id: Some(tenant),
                            kind: MessageKind::KioskSilent,
                            channel: Channel::Email,
                            recipient: email.clone(),
                            locale,
                            appointment_id: None,
                            visitor_id: None,
                            visit_id: None,
                            user_id: Some(UserId(*admin)),
                            secret_payload: Some(payload.clone()),
                            at: now,
                        },
                    )?;
                }
                tx.prepare_cached("UPDATE kiosks SET silence_alerted_at = ?1 WHERE id = ?2")?
                    .execute(params![ts(now), kiosk])?;
                append(
                    tx,
                    &AuditCtx::system(Some(tenant), now),
                    "kiosk.silent",
                    "kiosk",
                    Some(kiosk.to_string()),
                    Outcome::Ok,
                    &json!({"minutes": minutes, "admins": admins.len()}),
                )?;
                reported += 1;
            }
            if reported > 0 {
                tx.wake_outbox();
            }
            Ok(reported)
        })
        .await
    }

    /// The facts of a "kiosk silent" mail to `admin`.
    pub async fn silence_context(
        &self,
        tenant: TenantId,
        kiosk: KioskId,
        admin: UserId,
    ) -> StoreResult<SilenceContext> {
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT t.name, u.display_name, k.name, s.name, s.time_zone, k.last_seen_at,
                            t.kiosk_silence_minutes, t.primary_color
                     FROM kiosks k JOIN tenants t ON t.id = k.tenant_id JOIN sites s ON s.id = k.site_id
                     JOIN users u ON u.id = ?3 AND u.tenant_id = k.tenant_id
                     WHERE k.id = ?1 AND k.tenant_id = ?2",
                    params![kiosk.get(), tenant.get(), admin.get()],
                    |r| {
                        let zone: String = r.get(4)?;
                        Ok(SilenceContext {
                            tenant_name: r.get(0)?,
                            admin_name: r.get(1)?,
                            kiosk_name: r.get(2)?,
                            site_name: r.get(3)?,
                            time_zone: TimeZone::parse(&zone).unwrap_or_default(),
                            last_seen_at: get_opt_ts(r, 5)?,
                            silence_minutes: r.get(6)?,
                            primary_color: r.get(7)?,
                        })
                    },
                )
                .optional()?;
            row.ok_or(StoreError::NotFound)
        })
        .await
    }
}

/// Reads a stored heartbeat column pair into the health shown to admins.
pub(crate) fn stored_health(
    json: Option<String>,
    at: Option<String>,
) -> StoreResult<Option<(KioskHealth, DateTime<Utc>)>> {
    let (Some(json), Some(at)) = (json, at) else {
        return Ok(None);
    };
    // A column written by an older build, or damaged, shows as "no report".
    let Ok(health) = serde_json::from_str::<KioskHealth>(&json) else {
        return Ok(None);
    };
    Ok(Some((health, parse_ts(&at)?)))
}
