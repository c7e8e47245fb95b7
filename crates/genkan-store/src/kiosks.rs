//! Reception kiosks: created with a one-time pairing code, paired for a device
//! credential (stored hashed), revoked at once when an admin says so.

use chrono::{DateTime, Duration, Utc};
use genkan_core::audit::Outcome;
use genkan_core::id::{KioskId, SiteId, TenantId};
use genkan_core::wire::v1::{KioskConfig, PairResponse, WalkInOptions};
use rand::Rng as _;
use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::sql::{get_opt_ts, get_ts, ts};
use crate::tenants::site_in;

/// How long a pairing code stays usable.
pub const PAIRING_VALIDITY: Duration = Duration::hours(24);
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A kiosk as the authentication layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KioskAuth {
    /// The device.
    pub kiosk_id: KioskId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its site.
    pub site_id: SiteId,
    /// Revoked kiosks are refused with `kiosk_revoked`.
    pub revoked: bool,
}

/// A kiosk as listed for admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KioskView {
    /// Id.
    pub id: KioskId,
    /// Site.
    pub site_id: SiteId,
    /// Site name.
    pub site_name: String,
    /// Name given by the admin.
    pub name: String,
    /// `pending`, `active` or `revoked`.
    pub status: String,
    /// Device host name reported at pairing.
    pub device_name: Option<String>,
    /// Last request seen.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// The last heartbeat and when it came, if the kiosk sends them. In JSON an
    /// object: the heartbeat's fields plus `received_at` (see `KioskHealth` in the
    /// OpenAPI document), or `null`.
    #[serde(serialize_with = "health_json")]
    pub health: Option<(crate::kiosk_health::KioskHealth, DateTime<Utc>)>,
}

/// `KioskView::health` as one flat JSON object rather than a pair.
fn health_json<S: serde::Serializer>(
    health: &Option<(crate::kiosk_health::KioskHealth, DateTime<Utc>)>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Flat<'a> {
        #[serde(flatten)]
        beat: &'a crate::kiosk_health::KioskHealth,
        received_at: &'a DateTime<Utc>,
    }
    health
        .as_ref()
        .map(|(beat, received_at)| Flat { beat, received_at })
        .serialize(serializer)
}

/// Recently seen kiosk credentials, so each request need not query the database.
/// Entries live a few seconds; revocation through this store removes them at once,
/// and check-in transactions re-check the kiosk's status in any case.
#[derive(Default)]
pub(crate) struct AuthCache {
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], (KioskAuth, std::time::Instant)>>,
}

const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

impl AuthCache {
    fn get(&self, hash: &[u8; 32]) -> Option<KioskAuth> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(auth, _)| *auth)
    }

    fn put(&self, hash: [u8; 32], auth: KioskAuth) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() > 10_000 {
            entries.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        entries.insert(hash, (auth, std::time::Instant::now()));
    }

    fn forget(&self, kiosk: KioskId) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, (auth, _)| auth.kiosk_id != kiosk);
    }
}

/// A new kiosk and its pairing code (shown once).
#[derive(Debug, Clone)]
pub struct NewKiosk {
    /// Id.
    pub id: KioskId,
    /// One-time pairing code, `XXXX-XXXX-XXXX`.
    pub pairing_code: String,
    /// Until when the code works.
    pub expires_at: DateTime<Utc>,
}

/// Why pairing failed. Both answer alike to the device, so codes cannot be probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PairRefusal {
    /// No pending kiosk has this code, or it expired.
    #[error("unknown or expired pairing code")]
    UnknownOrExpired,
}

/// SHA-256 of a secret handed to a device or integration; only this is stored.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"genkan/secret/v1\0")
        .chain_update(secret.as_bytes())
        .finalize()
        .into()
}

/// Normalises a typed pairing code (case, separators) before hashing.
pub fn normalise_pairing_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn random_code(chars: usize) -> String {
    let mut rng = rand::rng();
    (0..chars)
        .map(|_| char::from(CROCKFORD[(rng.next_u32() % 32) as usize]))
        .collect()
}

/// A random credential with a recognisable prefix (so leaked ones are easy to scan for).
pub fn new_credential(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

impl Store {
    /// Adds a kiosk at a site and returns its one-time pairing code.
    pub async fn create_kiosk(
        &self,
        tenant: TenantId,
        site: SiteId,
        name: String,
        ctx: AuditCtx,
    ) -> StoreResult<NewKiosk> {
        self.write(move |tx| {
            site_in(tx, tenant, site)?.ok_or(StoreError::NotFound)?;
            let code = random_code(12);
            let expires_at = ctx.at + PAIRING_VALIDITY;
            tx.execute(
                "INSERT INTO kiosks (tenant_id, site_id, name, status, pairing_code_hash, pairing_expires_at, created_at)
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6)",
                params![tenant.get(), site.get(), name, secret_hash(&code).as_slice(), ts(expires_at), ts(ctx.at)],
            )?;
            let id = KioskId(tx.last_insert_rowid());
            append(tx, &ctx, "kiosk.create", "kiosk", Some(id.to_string()), Outcome::Ok, &json!({"site_id": site}))?;
            Ok(NewKiosk {
                id,
                pairing_code: format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..]),
                expires_at,
            })
        })
        .await
    }

    /// Exchanges a pairing code for a device credential.
    pub async fn pair_kiosk(
        &self,
        pairing_code: &str,
        device_name: Option<String>,
        ctx: AuditCtx,
    ) -> StoreResult<Result<PairResponse, PairRefusal>> {
        let hash = secret_hash(&normalise_pairing_code(pairing_code));
        self.write(move |tx| {
            let found = tx
                .query_row(
                    "SELECT k.id, k.tenant_id, k.pairing_expires_at, t.name, s.name, s.time_zone
                     FROM kiosks k JOIN tenants t ON t.id = k.tenant_id JOIN sites s ON s.id = k.site_id
                     WHERE k.pairing_code_hash = ?1 AND k.status = 'pending'",
                    [hash.as_slice()],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, get_opt_ts(r, 2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )
                .optional()?;
            let Some((id, tenant, expires, tenant_name, site_name, time_zone)) = found else {
                return Ok(Err(PairRefusal::UnknownOrExpired));
            };
            let ctx = AuditCtx { tenant_id: Some(TenantId(tenant)), actor_kind: "kiosk", actor_id: Some(id), ..ctx };
            if expires.is_none_or(|e| e <= ctx.at) {
                append(tx, &ctx, "kiosk.pair", "kiosk", Some(id.to_string()), Outcome::Denied, &json!({"reason": "expired"}))?;
                return Ok(Err(PairRefusal::UnknownOrExpired));
            }
            let credential = new_credential("gk_kiosk_");
            let device = device_name.map(|d| d.chars().filter(|c| !c.is_control()).take(100).collect::<String>());
            tx.execute(
                "UPDATE kiosks SET status = 'active', credential_hash = ?1, pairing_code_hash = NULL,
                        pairing_expires_at = NULL, device_name = ?2, last_seen_at = ?3 WHERE id = ?4",
                params![secret_hash(&credential).as_slice(), device, ts(ctx.at), id],
            )?;
            append(tx, &ctx, "kiosk.pair", "kiosk", Some(id.to_string()), Outcome::Ok, &json!({}))?;
            Ok(Ok(PairResponse {
                kiosk_id: id,
                credential,
                tenant_name,
                site_name,
                time_zone,
            }))
        })
        .await
    }

    /// Looks a kiosk up by its credential.
    pub async fn kiosk_by_credential(&self, credential: &str) -> StoreResult<Option<KioskAuth>> {
        let hash = secret_hash(credential);
        if let Some(auth) = self.kiosk_cache.get(&hash) {
            return Ok(Some(auth));
        }
        let found = self
            .read(move |c| {
                Ok(c.prepare_cached(
                    "SELECT id, tenant_id, site_id, status FROM kiosks WHERE credential_hash = ?1",
                )?
                .query_row([hash.as_slice()], |r| {
                    Ok(KioskAuth {
                        kiosk_id: KioskId(r.get(0)?),
                        tenant_id: TenantId(r.get(1)?),
                        site_id: SiteId(r.get(2)?),
                        revoked: r.get::<_, String>(3)? == "revoked",
                    })
                })
                .optional()?)
            })
            .await?;
        if let Some(auth) = found.filter(|a| !a.revoked) {
            self.kiosk_cache.put(hash, auth);
        }
        Ok(found)
    }

    /// Revokes a kiosk: its credential stops working on the next request.
    pub async fn revoke_kiosk(
        &self,
        tenant: TenantId,
        id: KioskId,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        let result = self
            .write(move |tx| {
                let n = tx.execute(
                "UPDATE kiosks SET status = 'revoked', revoked_at = ?1, pairing_code_hash = NULL
                 WHERE id = ?2 AND tenant_id = ?3 AND status != 'revoked'",
                params![ts(ctx.at), id.get(), tenant.get()],
            )?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                append(
                    tx,
                    &ctx,
                    "kiosk.revoke",
                    "kiosk",
                    Some(id.to_string()),
                    Outcome::Ok,
                    &json!({}),
                )?;
                Ok(())
            })
            .await;
        self.kiosk_cache.forget(id);
        result
    }

    /// The tenant's kiosks.
    pub async fn kiosks(&self, tenant: TenantId) -> StoreResult<Vec<KioskView>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT k.id, k.site_id, s.name, k.name, k.status, k.device_name, k.last_seen_at, k.created_at,
                        k.heartbeat, k.heartbeat_at
                 FROM kiosks k JOIN sites s ON s.id = k.site_id WHERE k.tenant_id = ?1 ORDER BY k.id",
            )?;
            let rows = stmt
                .query_map([tenant.get()], |r| {
                    Ok((
                        KioskView {
                            id: KioskId(r.get(0)?),
                            site_id: SiteId(r.get(1)?),
                            site_name: r.get(2)?,
                            name: r.get(3)?,
                            status: r.get(4)?,
                            device_name: r.get(5)?,
                            last_seen_at: get_opt_ts(r, 6)?,
                            created_at: get_ts(r, 7)?,
                            health: None,
                        },
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, Option<String>>(9)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(view, beat, at)| {
                    Ok(KioskView {
                        health: crate::kiosk_health::stored_health(beat, at)?,
                        ..view
                    })
                })
                .collect()
        })
        .await
    }

    /// What a kiosk shows around its scanner.
    pub async fn kiosk_config(&self, kiosk: KioskAuth) -> StoreResult<KioskConfig> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT t.name, s.name, s.time_zone, t.default_locale, t.primary_color, t.checkout_enabled,
                        t.accent_color, t.logo_png IS NOT NULL, t.walk_in_enabled, t.walk_in_company, t.walk_in_phone
                 FROM kiosks k JOIN tenants t ON t.id = k.tenant_id JOIN sites s ON s.id = k.site_id
                 WHERE k.id = ?1 AND k.tenant_id = ?2",
                params![kiosk.kiosk_id.get(), kiosk.tenant_id.get()],
                |r| {
                    Ok(KioskConfig {
                        kiosk_id: kiosk.kiosk_id.get(),
                        tenant_name: r.get(0)?,
                        site_name: r.get(1)?,
                        time_zone: r.get(2)?,
                        default_locale: r.get(3)?,
                        primary_color: r.get(4)?,
                        checkout_enabled: r.get(5)?,
                        accent_color: r.get(6)?,
                        has_logo: r.get(7)?,
                        walk_in: WalkInOptions {
                            enabled: r.get(8)?,
                            ask_company: r.get(9)?,
                            ask_phone: r.get(10)?,
                        },
                    })
                },
            )?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_codes_normalise_case_and_separators() {
        assert_eq!(normalise_pairing_code("abcd-efgh 1234"), "ABCDEFGH1234");
    }

    #[test]
    fn credentials_are_long_random_and_prefixed() {
        let a = new_credential("gk_kiosk_");
        let b = new_credential("gk_kiosk_");
        assert!(a.starts_with("gk_kiosk_") && a.len() == 9 + 64);
        assert_ne!(a, b);
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }
}
