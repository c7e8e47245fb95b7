//! A tenant's sign-in policies (second factor, address allowlist) and the per-account
//! failure counters behind sign-in delays and locks, kept in the database so a
//! restart does not unlock anyone.

use chrono::{DateTime, Utc};
use genkan_core::audit::Outcome;
use genkan_core::id::TenantId;
use genkan_core::security::{AllowlistScope, IpAllowlist, MfaPolicy};
use genkan_core::throttle::{FORGET_AFTER, Failures};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::sql::{get_ts, ts};

/// A tenant's sign-in policies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityPolicy {
    /// Who must use a second factor.
    pub mfa: MfaPolicy,
    /// From where staff may sign in and act.
    pub allowlist: IpAllowlist,
}

/// Reads stored allowlist columns (always written in canonical form).
pub(crate) fn allowlist_of(text: &str, scope: &str) -> StoreResult<IpAllowlist> {
    Ok(IpAllowlist {
        networks: IpAllowlist::parse_networks(text)
            .map_err(|e| StoreError::Corrupt(format!("stored allowlist: {e}")))?,
        scope: AllowlistScope::parse(scope).unwrap_or_default(),
    })
}

/// The name an account is throttled under: organisation and e-mail as typed,
/// normalised, so unknown accounts are throttled exactly like known ones.
pub fn account_name(organisation: &str, email: &str) -> String {
    format!(
        "{}\n{}",
        organisation.trim().to_ascii_lowercase(),
        email.trim().to_lowercase()
    )
}

/// Whether a sign-in attempt on an account is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Checked, and already counted as a failure; a right answer takes that back
    /// ([`Store::take_back_attempt`]).
    Admitted,
    /// The account waits: the attempt is neither checked nor counted.
    Waiting,
}

/// A sign-in failure to record.
#[derive(Debug, Clone)]
pub struct FailedAttempt {
    /// From [`account_name`].
    pub account: String,
    /// Whether to count it now: `false` when it was counted when admitted, when the
    /// account was waiting (not checked, so the wait does not grow), or when it may
    /// not count (from outside the allowlist).
    pub counted: bool,
    /// Audit action (`auth.sign_in`, `auth.mfa`, …).
    pub action: &'static str,
    /// `("user", id)` for a known account, `("account", masked e-mail)` otherwise.
    pub target: (&'static str, Option<String>),
    /// Facts for the audit row (never the password).
    pub details: serde_json::Value,
}

fn account_hash(keys: &crate::KeyRing, account: &str) -> [u8; 32] {
    keys.mac("sign-in-account", account.as_bytes())
}

/// The failures of `account_hash` as they count at `now`.
pub(crate) fn failures_in(
    conn: &Connection,
    hash: &[u8; 32],
    now: DateTime<Utc>,
) -> StoreResult<Option<Failures>> {
    let row = conn
        .prepare_cached("SELECT failures, last_at FROM sign_in_failures WHERE account_hash = ?1")?
        .query_row([hash.as_slice()], |r| {
            Ok(Failures {
                count: r.get(0)?,
                last_at: get_ts(r, 1)?,
            })
        })
        .optional()?;
    Ok(row.and_then(|f| f.current(now)))
}

/// Counts one failure (in the caller's transaction); returns the new state.
pub(crate) fn count_failure(
    conn: &Connection,
    hash: &[u8; 32],
    now: DateTime<Utc>,
) -> StoreResult<Failures> {
    let next = Failures::after_failure(failures_in(conn, hash, now)?, now);
    conn.prepare_cached(
        "INSERT INTO sign_in_failures (account_hash, failures, last_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (account_hash) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at",
    )?
    .execute(params![hash.as_slice(), next.count, ts(now)])?;
    // Old entries go as new ones come, so the table stays small.
    conn.prepare_cached("DELETE FROM sign_in_failures WHERE last_at < ?1")?
        .execute([ts(now - FORGET_AFTER)])?;
    Ok(next)
}

/// Forgets an account's failures after a complete sign-in.
pub(crate) fn clear_failures(conn: &Connection, hash: &[u8; 32]) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM sign_in_failures WHERE account_hash = ?1")?
        .execute([hash.as_slice()])?;
    Ok(())
}

/// The throttle name of a user (organisation id and stored e-mail).
pub(crate) fn user_account_hash(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    user: genkan_core::id::UserId,
) -> StoreResult<[u8; 32]> {
    let (slug, email): (String, String) = conn.query_row(
        "SELECT t.slug, u.email FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = ?1 AND u.tenant_id = ?2",
        params![user.get(), tenant.get()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(account_hash(keys, &account_name(&slug, &email)))
}

/// What a tenant's policies looked like before and after a change (for the audit row).
#[derive(Debug, Serialize)]
struct PolicyDetails<'a> {
    mfa: &'a str,
    allowlist: Vec<String>,
    scope: &'a str,
}

impl Store {
    /// The tenant's second-factor policy and address allowlist.
    pub async fn security_policy(&self, tenant: TenantId) -> StoreResult<SecurityPolicy> {
        let (mfa, text, scope): (String, String, String) = self
            .read(move |c| {
                Ok(c.prepare_cached(
                    "SELECT mfa_policy, ip_allowlist, ip_allowlist_scope FROM tenants WHERE id = ?1",
                )?
                .query_row([tenant.get()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
            })
            .await?;
        Ok(SecurityPolicy {
            mfa: MfaPolicy::parse(&mfa).unwrap_or_default(),
            allowlist: allowlist_of(&text, &scope)?,
        })
    }

    /// Saves the tenant's policies (validated by the caller).
    pub async fn set_security_policy(
        &self,
        tenant: TenantId,
        policy: SecurityPolicy,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let text = policy.allowlist.networks_text();
            tx.execute(
                "UPDATE tenants SET mfa_policy = ?1, ip_allowlist = ?2, ip_allowlist_scope = ?3 WHERE id = ?4",
                params![
                    policy.mfa.as_str(),
                    text,
                    policy.allowlist.scope.as_str(),
                    tenant.get()
                ],
            )?;
            let details = PolicyDetails {
                mfa: policy.mfa.as_str(),
                allowlist: policy.allowlist.networks.iter().map(ToString::to_string).collect(),
                scope: policy.allowlist.scope.as_str(),
            };
            append(tx, &ctx, "settings.security", "tenant", Some(tenant.to_string()), Outcome::Ok, &details)?;
            Ok(())
        })
        .await
    }

    /// The recent failures of an account name (from [`account_name`]).
    pub async fn sign_in_failures(
        &self,
        account: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Failures>> {
        let hash = account_hash(self.keys(), account);
        self.read(move |c| failures_in(c, &hash, now)).await
    }

    /// Decides whether an attempt on `account` (from [`account_name`]) may be
    /// checked and, if it may, counts it as a failure in the same writer
    /// transaction, before anything is checked: of simultaneous attempts no more
    /// get through than the account's throttle allows at that moment.
    pub async fn admit_sign_in_attempt(
        &self,
        account: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Admission> {
        let hash = account_hash(self.keys(), account);
        self.write(move |tx| {
            if failures_in(tx, &hash, now)?.is_some_and(|f| f.blocked_until(now).is_some()) {
                return Ok(Admission::Waiting);
            }
            count_failure(tx, &hash, now)?;
            Ok(Admission::Admitted)
        })
        .await
    }

    /// Takes back the failure an admitted attempt was counted as, once it proved
    /// right.
    pub async fn take_back_attempt(&self, account: &str) -> StoreResult<()> {
        let hash = account_hash(self.keys(), account);
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE sign_in_failures SET failures = failures - 1
                 WHERE account_hash = ?1 AND failures > 0",
            )?
            .execute([hash.as_slice()])?;
            tx.prepare_cached(
                "DELETE FROM sign_in_failures WHERE account_hash = ?1 AND failures <= 0",
            )?
            .execute([hash.as_slice()])?;
            Ok(())
        })
        .await
    }

    /// Records a failed sign-in step: counts it against the account if asked to
    /// and writes its one audit row, in one transaction.
    pub async fn record_failed_attempt(
        &self,
        attempt: FailedAttempt,
        ctx: AuditCtx,
    ) -> StoreResult<Option<Failures>> {
        let hash = account_hash(self.keys(), &attempt.account);
        self.write(move |tx| {
            let now = ctx.at;
            let state = if attempt.counted {
                Some(count_failure(tx, &hash, now)?)
            } else {
                failures_in(tx, &hash, now)?
            };
            let mut details = attempt.details;
            if let Some(map) = details.as_object_mut() {
                map.insert("failures".to_owned(), json!(state.map_or(0, |s| s.count)));
            }
            let (kind, id) = attempt.target;
            append(
                tx,
                &ctx,
                attempt.action,
                kind,
                id,
                Outcome::Denied,
                &details,
            )?;
            Ok(state)
        })
        .await
    }
}
