//! A tenant's kiosk settings: the walk-in form (offered or not, which fields it asks)
//! and after how many silent minutes a kiosk is reported to the admins.

use genkan_core::audit::Outcome;
use genkan_core::id::TenantId;
use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};

/// Largest silence threshold (a day); 0 turns the alert off.
pub const MAX_SILENCE_MINUTES: i64 = 1440;

/// The kiosk settings of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KioskSettings {
    /// Kiosks offer the walk-in form to visitors without an invitation.
    pub walk_in_enabled: bool,
    /// The walk-in form asks for the company.
    pub walk_in_company: bool,
    /// The walk-in form asks for a phone number.
    pub walk_in_phone: bool,
    /// Minutes without a sign of life before admins are told (0: never).
    pub silence_minutes: i64,
}

impl Default for KioskSettings {
    fn default() -> Self {
        Self {
            walk_in_enabled: true,
            walk_in_company: true,
            walk_in_phone: false,
            silence_minutes: 15,
        }
    }
}

impl Store {
    /// The tenant's kiosk settings.
    pub async fn kiosk_settings(&self, tenant: TenantId) -> StoreResult<KioskSettings> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT walk_in_enabled, walk_in_company, walk_in_phone, kiosk_silence_minutes
                 FROM tenants WHERE id = ?1",
                [tenant.get()],
                |r| {
                    Ok(KioskSettings {
                        walk_in_enabled: r.get(0)?,
                        walk_in_company: r.get(1)?,
                        walk_in_phone: r.get(2)?,
                        silence_minutes: r.get(3)?,
                    })
                },
            )?)
        })
        .await
    }

    /// Saves the tenant's kiosk settings (`silence_minutes` within 0..=1440).
    #[tracing::instrument(skip_all, err(level = "warn"), fields(tenant.id = %tenant))]
    pub async fn update_kiosk_settings(
        &self,
        tenant: TenantId,
        settings: KioskSettings,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        if !(0..=MAX_SILENCE_MINUTES).contains(&settings.silence_minutes) {
            return Err(StoreError::Conflict {
                constraint: "kiosk_silence_minutes".to_owned(),
            });
        }
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE tenants SET walk_in_enabled = ?1, walk_in_company = ?2, walk_in_phone = ?3,
                        kiosk_silence_minutes = ?4
                 WHERE id = ?5",
                params![
                    settings.walk_in_enabled,
                    settings.walk_in_company,
                    settings.walk_in_phone,
                    settings.silence_minutes,
                    tenant.get()
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append(
                tx,
                &ctx,
                "settings.kiosk",
                "tenant",
                Some(tenant.to_string()),
                Outcome::Ok,
                &json!(settings),
            )?;
            Ok(())
        })
        .await
    }
}
