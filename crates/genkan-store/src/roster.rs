//! Offline rosters for kiosks: the passes valid today and tomorrow at a kiosk's site,
//! with what an offline kiosk needs to verify them and nothing more.
//!
//! Typed codes are stored only as a keyed HMAC, which a kiosk cannot check. So when
//! a pass is issued, a second digest of its code is stored: SHA-256 of the tenant's
//! *roster key* followed by the digits ([`FallbackCode::roster_hash`]). The roster
//! key is 32 random bytes kept sealed with the key file's secrets key, so a copy of
//! the database alone cannot brute-force codes from these digests; the key is sent
//! to the tenant's kiosks as their roster's `code_salt`. It is per tenant rather than
//! per site because passes move with their appointment from one site to another.

use chrono::{DateTime, Duration, Utc};
use genkan_core::id::TenantId;
use genkan_core::pass::{FallbackCode, PassHash};
use genkan_core::tenant::TimeZone;
use genkan_core::wire::v1::{ErrorCode, Roster, RosterPass};
use rand::Rng as _;
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::keys::KeyRing;
use crate::kiosks::KioskAuth;
use crate::sql::{get_ts, ts};

/// Most passes a roster lists (a lobby's two days; a bigger list means a misuse).
pub const ROSTER_LIMIT: u32 = 20_000;

fn key_context(tenant: TenantId) -> String {
    format!("roster-key:{}", tenant.get())
}

fn open_key(keys: &KeyRing, tenant: TenantId, sealed: &[u8]) -> StoreResult<[u8; 32]> {
    keys.open(sealed, &key_context(tenant))
        .map_err(|e| StoreError::Corrupt(format!("roster key of tenant {tenant}: {e}")))?
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("roster key of tenant {tenant}: bad length")))
}

fn sealed_key(conn: &Connection, tenant: TenantId) -> StoreResult<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT roster_key FROM tenants WHERE id = ?1")?
        .query_row([tenant.get()], |r| r.get(0))
        .optional()?
        .flatten())
}

/// The tenant's roster key, created (and stored sealed) on first use. Call inside a
/// write transaction.
pub(crate) fn roster_key(
    conn: &Connection,
    keys: &KeyRing,
    tenant: TenantId,
) -> StoreResult<[u8; 32]> {
    if let Some(sealed) = sealed_key(conn, tenant)? {
        return open_key(keys, tenant, &sealed);
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    conn.prepare_cached("UPDATE tenants SET roster_key = ?1 WHERE id = ?2")?
        .execute(params![keys.seal(&key, &key_context(tenant)), tenant.get()])?;
    Ok(key)
}

/// The digest of `code` an offline roster carries, for a pass of `tenant`.
pub(crate) fn roster_code_hash(
    conn: &Connection,
    keys: &KeyRing,
    tenant: TenantId,
    code: &FallbackCode,
) -> StoreResult<PassHash> {
    Ok(code.roster_hash(&roster_key(conn, keys, tenant)?))
}

/// The `[from, until)` a roster made at `now` covers: today and tomorrow in `zone`.
pub fn roster_window(zone: TimeZone, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = zone.local_date(now);
    let (_, end) = zone.days_window(today, today + Duration::days(1));
    (now, end)
}

impl Store {
    /// The offline roster of `kiosk`: the non-revoked passes of its site that are
    /// valid at some moment from `now` to the end of tomorrow (site time), each with
    /// its token hash, code digest (empty for passes older than rosters), names and
    /// validity. `kiosk_revoked` if the kiosk is no longer active.
    #[tracing::instrument(skip_all, err(level = "warn"), fields(tenant.id = %kiosk.tenant_id, kiosk.id = %kiosk.kiosk_id))]
    pub async fn kiosk_roster(
        &self,
        kiosk: KioskAuth,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<Roster, ErrorCode>> {
        let tenant = kiosk.tenant_id;
        let keys = self.keys().clone();
        let sealed = match self.read(move |c| sealed_key(c, tenant)).await? {
            Some(sealed) => sealed,
            // No pass was issued since rosters exist: make the key now.
            None => {
                let keys = keys.clone();
                self.write(move |tx| {
                    roster_key(tx, &keys, tenant)?;
                    sealed_key(tx, tenant)?.ok_or(StoreError::NotFound)
                })
                .await?
            }
        };
        let salt = open_key(self.keys(), tenant, &sealed)?;
        self.read(move |c| {
            let active: Option<String> = c
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
            let mut stmt = c.prepare_cached(
                "SELECT p.token_hash, p.roster_code_hash, v.name, u.display_name, v.locale,
                        p.valid_from, p.valid_until
                 FROM passes p JOIN visitors v ON v.id = p.visitor_id
                 JOIN appointments a ON a.id = v.appointment_id JOIN users u ON u.id = a.host_id
                 WHERE p.tenant_id = ?1 AND p.site_id = ?2 AND p.revoked_at IS NULL
                   AND p.valid_until > ?3 AND p.valid_from < ?4
                 ORDER BY p.valid_from, p.id LIMIT ?5",
            )?;
            let passes = stmt
                .query_map(
                    params![
                        tenant.get(),
                        kiosk.site_id.get(),
                        ts(from),
                        ts(until),
                        ROSTER_LIMIT
                    ],
                    |r| {
                        let token: Vec<u8> = r.get(0)?;
                        let code: Option<Vec<u8>> = r.get(1)?;
                        Ok(RosterPass {
                            token_hash: hex::encode(token),
                            code_hash: code.map(hex::encode).unwrap_or_default(),
                            visitor_name: r.get(2)?,
                            host_name: r.get(3)?,
                            locale: r.get(4)?,
                            valid_from: zone.format(get_ts(r, 5)?),
                            valid_until: zone.format(get_ts(r, 6)?),
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Ok(Roster {
                generated_at: zone.format(now),
                code_salt: hex::encode(salt),
                passes,
            }))
        })
        .await
    }
}
