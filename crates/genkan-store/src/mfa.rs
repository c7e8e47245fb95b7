//! Second factor of staff accounts: TOTP secrets sealed with AES-256-GCM, the last
//! accepted time step (so each code works once), and single-use recovery codes kept
//! as keyed hashes. Every check runs inside the transaction that acts on its result.

use chrono::{DateTime, Utc};
use genkan_core::audit::Outcome;
use genkan_core::id::{TenantId, UserId};
use genkan_core::totp;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::security::{count_failure, failures_in, user_account_hash};
use crate::sql::ts;

/// A user's second factor as shown on their account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct MfaStatus {
    /// An authenticator app is confirmed.
    pub enabled: bool,
    /// A secret waits for its first code.
    pub pending: bool,
    /// Unused recovery codes.
    pub recovery_left: u32,
}

/// How a second factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// A code from the authenticator app.
    Totp,
    /// One of the recovery codes.
    RecoveryCode,
}

/// Why a code was not accepted. All answer alike to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FactorRefusal {
    /// Wrong, reused, outside the window, or no second factor to check.
    #[error("the code was not accepted")]
    Rejected,
    /// The account is waiting after too many failures; the code was not checked.
    #[error("too many failed attempts; the code was not checked")]
    Throttled,
}

/// The sealing context of a user's TOTP secret.
pub fn secret_context(tenant: TenantId, user: UserId) -> String {
    format!("tenant:{tenant}:user:{user}:totp")
}

fn recovery_hash(keys: &crate::KeyRing, tenant: TenantId, user: UserId, code: &str) -> [u8; 32] {
    keys.mac(
        "mfa-recovery-code",
        format!("{tenant}:{user}:{code}").as_bytes(),
    )
}

/// The unsealed secret and last step of a user (confirmed or not).
fn secret_of(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    user: UserId,
    confirmed: bool,
) -> StoreResult<Option<(Vec<u8>, Option<i64>)>> {
    let row: Option<(Vec<u8>, Option<i64>)> = conn
        .prepare_cached(
            "SELECT secret_sealed, last_step FROM user_mfa
             WHERE user_id = ?1 AND tenant_id = ?2 AND (confirmed_at IS NOT NULL) = ?3",
        )?
        .query_row(params![user.get(), tenant.get(), confirmed], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    row.map(|(sealed, last)| {
        keys.open(&sealed, &secret_context(tenant, user))
            .map(|plain| (plain, last))
            .map_err(|_| StoreError::Corrupt("a TOTP secret does not open".to_owned()))
    })
    .transpose()
}

/// Checks a typed code (TOTP or recovery code) of a user with a confirmed second
/// factor, and uses it up on success. Runs in the caller's transaction.
pub(crate) fn use_factor(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    user: UserId,
    input: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<Factor>> {
    let Some((secret, last)) = secret_of(conn, keys, tenant, user, true)? else {
        return Ok(None);
    };
    if totp::parse_code(input).is_some() {
        let Some(step) = totp::verify(&secret, input, now, last) else {
            return Ok(None);
        };
        conn.execute(
            "UPDATE user_mfa SET last_step = ?1 WHERE user_id = ?2 AND tenant_id = ?3",
            params![step, user.get(), tenant.get()],
        )?;
        return Ok(Some(Factor::Totp));
    }
    let Some(code) = totp::normalise_recovery_code(input) else {
        return Ok(None);
    };
    let hash = recovery_hash(keys, tenant, user, &code);
    let used = conn.execute(
        "UPDATE mfa_recovery_codes SET used_at = ?1
         WHERE user_id = ?2 AND tenant_id = ?3 AND code_hash = ?4 AND used_at IS NULL",
        params![ts(now), user.get(), tenant.get(), hash.as_slice()],
    )?;
    Ok((used == 1).then_some(Factor::RecoveryCode))
}

/// Checks a factor with the account's throttle: refused unchecked while the account
/// waits, counted as a failure when wrong. The caller writes the audit row.
pub(crate) fn use_factor_throttled(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    user: UserId,
    input: &str,
    now: DateTime<Utc>,
) -> StoreResult<Result<Factor, FactorRefusal>> {
    let account = user_account_hash(conn, keys, tenant, user)?;
    if failures_in(conn, &account, now)?.is_some_and(|f| f.blocked_until(now).is_some()) {
        return Ok(Err(FactorRefusal::Throttled));
    }
    match use_factor(conn, keys, tenant, user, input, now)? {
        Some(f) => Ok(Ok(f)),
        None => {
            count_failure(conn, &account, now)?;
            Ok(Err(FactorRefusal::Rejected))
        }
    }
}

/// Replaces a user's recovery codes with fresh ones; returns them (shown once).
fn new_recovery_codes(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    user: UserId,
) -> StoreResult<Vec<String>> {
    conn.execute(
        "DELETE FROM mfa_recovery_codes WHERE user_id = ?1 AND tenant_id = ?2",
        params![user.get(), tenant.get()],
    )?;
    let mut rng = rand::rng();
    let mut codes = Vec::with_capacity(totp::RECOVERY_CODES);
    while codes.len() < totp::RECOVERY_CODES {
        let code = totp::new_recovery_code(&mut rng);
        let canonical = totp::normalise_recovery_code(&code).unwrap_or_default();
        let hash = recovery_hash(keys, tenant, user, &canonical);
        let added = conn.execute(
            "INSERT OR IGNORE INTO mfa_recovery_codes (user_id, tenant_id, code_hash) VALUES (?1, ?2, ?3)",
            params![user.get(), tenant.get(), hash.as_slice()],
        )?;
        if added == 1 {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// Confirms a pending enrolment with its first code, in the caller's transaction:
/// the secret becomes active and ten recovery codes are made. `None` if the code
/// is wrong (counted against the account) or nothing is pending.
pub(crate) fn confirm_enrolment(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    user: UserId,
    code: &str,
    now: DateTime<Utc>,
) -> StoreResult<Result<Vec<String>, FactorRefusal>> {
    let account = user_account_hash(conn, keys, tenant, user)?;
    if failures_in(conn, &account, now)?.is_some_and(|f| f.blocked_until(now).is_some()) {
        return Ok(Err(FactorRefusal::Throttled));
    }
    let step = secret_of(conn, keys, tenant, user, false)?
        .and_then(|(secret, last)| totp::verify(&secret, code, now, last));
    let Some(step) = step else {
        count_failure(conn, &account, now)?;
        return Ok(Err(FactorRefusal::Rejected));
    };
    conn.execute(
        "UPDATE user_mfa SET confirmed_at = ?1, last_step = ?2 WHERE user_id = ?3 AND tenant_id = ?4",
        params![ts(now), step, user.get(), tenant.get()],
    )?;
    new_recovery_codes(conn, keys, tenant, user).map(Ok)
}

impl Store {
    /// Whether `user` has a second factor.
    pub async fn mfa_status(&self, tenant: TenantId, user: UserId) -> StoreResult<MfaStatus> {
        self.read(move |c| {
            let confirmed: Option<bool> = c
                .prepare_cached("SELECT confirmed_at IS NOT NULL FROM user_mfa WHERE user_id = ?1 AND tenant_id = ?2")?
                .query_row(params![user.get(), tenant.get()], |r| r.get(0))
                .optional()?;
            let left: u32 = c
                .prepare_cached(
                    "SELECT count(*) FROM mfa_recovery_codes WHERE user_id = ?1 AND tenant_id = ?2 AND used_at IS NULL",
                )?
                .query_row(params![user.get(), tenant.get()], |r| r.get(0))?;
            Ok(MfaStatus {
                enabled: confirmed == Some(true),
                pending: confirmed == Some(false),
                recovery_left: if confirmed == Some(true) { left } else { 0 },
            })
        })
        .await
    }

    /// Starts enrolment: a fresh secret, sealed, waiting for its first code (replaces
    /// an earlier unconfirmed one). Refused with `Conflict` if one is already active.
    pub async fn begin_mfa_enrolment(
        &self,
        tenant: TenantId,
        user: UserId,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let active: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM user_mfa WHERE user_id = ?1 AND tenant_id = ?2 AND confirmed_at IS NOT NULL)",
                params![user.get(), tenant.get()],
                |r| r.get(0),
            )?;
            if active {
                return Err(StoreError::Conflict { constraint: "user_mfa.active".to_owned() });
            }
            let secret = totp::new_secret(&mut rand::rng());
            let sealed = keys.seal(&secret, &secret_context(tenant, user));
            tx.execute(
                "INSERT INTO user_mfa (user_id, tenant_id, secret_sealed, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed,
                    created_at = excluded.created_at, confirmed_at = NULL, last_step = NULL",
                params![user.get(), tenant.get(), sealed, ts(ctx.at)],
            )?;
            append(tx, &ctx, "mfa.enrol_start", "user", Some(user.to_string()), Outcome::Ok, &json!({}))?;
            Ok(())
        })
        .await
    }

    /// The secret of a pending enrolment, to show as QR code and text.
    pub async fn pending_mfa_secret(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Option<Vec<u8>>> {
        let keys = self.keys().clone();
        self.read(move |c| Ok(secret_of(c, &keys, tenant, user, false)?.map(|(s, _)| s)))
            .await
    }

    /// Confirms a pending enrolment (signed-in user, from the account page); returns
    /// the recovery codes to show once. One audit row either way.
    pub async fn confirm_mfa(
        &self,
        tenant: TenantId,
        user: UserId,
        code: String,
        ctx: AuditCtx,
    ) -> StoreResult<Result<Vec<String>, FactorRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let result = confirm_enrolment(tx, &keys, tenant, user, &code, ctx.at)?;
            let (outcome, details) = match &result {
                Ok(_) => (Outcome::Ok, json!({})),
                Err(e) => (Outcome::Denied, json!({"reason": e.to_string()})),
            };
            append(
                tx,
                &ctx,
                "mfa.enable",
                "user",
                Some(user.to_string()),
                outcome,
                &details,
            )?;
            Ok(result)
        })
        .await
    }

    /// Turns the second factor off; needs a current code or a recovery code.
    pub async fn disable_mfa(
        &self,
        tenant: TenantId,
        user: UserId,
        input: String,
        ctx: AuditCtx,
    ) -> StoreResult<Result<(), FactorRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let result = use_factor_throttled(tx, &keys, tenant, user, &input, ctx.at)?;
            match result {
                Ok(factor) => {
                    delete_factor(tx, tenant, user)?;
                    append(
                        tx,
                        &ctx,
                        "mfa.disable",
                        "user",
                        Some(user.to_string()),
                        Outcome::Ok,
                        &json!({"factor": factor}),
                    )?;
                    Ok(Ok(()))
                }
                Err(e) => {
                    append(
                        tx,
                        &ctx,
                        "mfa.disable",
                        "user",
                        Some(user.to_string()),
                        Outcome::Denied,
                        &json!({"reason": e.to_string()}),
                    )?;
                    Ok(Err(e))
                }
            }
        })
        .await
    }

    /// An administrator removes a user's second factor (lost phone); the user enrols
    /// again at the next sign-in if the policy requires it.
    pub async fn reset_mfa(
        &self,
        tenant: TenantId,
        user: UserId,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2)",
                params![user.get(), tenant.get()],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            let removed = delete_factor(tx, tenant, user)?;
            append(
                tx,
                &ctx,
                "mfa.reset",
                "user",
                Some(user.to_string()),
                Outcome::Ok,
                &json!({"had_factor": removed}),
            )?;
            Ok(())
        })
        .await
    }
}

fn delete_factor(conn: &Connection, tenant: TenantId, user: UserId) -> StoreResult<bool> {
    conn.execute(
        "DELETE FROM mfa_recovery_codes WHERE user_id = ?1 AND tenant_id = ?2",
        params![user.get(), tenant.get()],
    )?;
    let n = conn.execute(
        "DELETE FROM user_mfa WHERE user_id = ?1 AND tenant_id = ?2",
        params![user.get(), tenant.get()],
    )?;
    Ok(n > 0)
}
