//! Signing in: starting a session after the password (complete, or waiting for the
//! second factor), completing it with a code, and what the user is told afterwards
//! (the previous sign-in and the failed attempts since). Each step is one transaction
//! with exactly one audit row.

use chrono::{DateTime, Utc};
use genkan_core::audit::Outcome;
use genkan_core::id::{TenantId, UserId};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::kiosks::{new_credential, secret_hash};
use crate::mfa::{Factor, FactorRefusal, confirm_enrolment, use_factor_throttled};
use crate::security::{clear_failures, user_account_hash};
use crate::sessions::SessionLimits;
use crate::sql::{get_opt_ts, get_ts, ts};

/// A freshly created session: the cookie value exists only here.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Cookie value.
    pub cookie: String,
    /// CSRF token.
    pub csrf_token: String,
}

/// A session to start after a correct password.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// Tenant.
    pub tenant: TenantId,
    /// User.
    pub user: UserId,
    /// The second factor is still to come.
    pub mfa_pending: bool,
    /// Idle and absolute limits.
    pub limits: SessionLimits,
    /// Browser.
    pub user_agent: Option<String>,
}

/// What the user is shown after signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInNotice {
    /// The sign-in before this one, if any.
    pub previous_at: Option<DateTime<Utc>>,
    /// Its client address.
    pub previous_ip: Option<String>,
    /// Failed attempts on the account since then.
    pub failures_since: u32,
}

/// Inserts a session row (fresh id: sessions rotate at every sign-in step).
fn insert_session(
    conn: &Connection,
    tenant: TenantId,
    user: UserId,
    mfa_pending: bool,
    limits: SessionLimits,
    user_agent: Option<String>,
    ctx: &AuditCtx,
) -> StoreResult<(NewSession, [u8; 32])> {
    let cookie = new_credential("");
    let csrf_token = new_credential("");
    let hash = secret_hash(&cookie);
    let agent = user_agent.map(|a| {
        a.chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect::<String>()
    });
    conn.execute(
        "INSERT INTO sessions (id_hash, tenant_id, user_id, csrf_token, created_at, last_seen_at, expires_at,
            ip, user_agent, mfa_pending)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9)",
        params![hash.as_slice(), tenant.get(), user.get(), csrf_token, ts(ctx.at),
            ts(ctx.at + limits.absolute), ctx.ip, agent, mfa_pending],
    )?;
    Ok((NewSession { cookie, csrf_token }, hash))
}

/// Completes a sign-in in the caller's transaction: remembers this one, keeps the
/// previous one and the failures since on the session for the notice, and forgets
/// the account's failure counter.
fn complete(
    conn: &Connection,
    keys: &crate::KeyRing,
    tenant: TenantId,
    user: UserId,
    session: &[u8; 32],
    ctx: &AuditCtx,
) -> StoreResult<()> {
    let (previous_at, previous_ip) = conn.query_row(
        "SELECT last_sign_in_at, last_sign_in_ip FROM users WHERE id = ?1 AND tenant_id = ?2",
        params![user.get(), tenant.get()],
        |r| Ok((get_opt_ts(r, 0)?, r.get::<_, Option<String>>(1)?)),
    )?;
    let since = previous_at.map_or_else(String::new, ts);
    let failures: u32 = conn
        .prepare_cached(
            "SELECT count(*) FROM audit_log
             WHERE tenant_id = ?1 AND target_kind = 'user' AND target_id = ?2 AND outcome = 'denied'
               AND action IN ('auth.sign_in', 'auth.mfa') AND at > ?3",
        )?
        .query_row(params![tenant.get(), user.to_string(), since], |r| r.get(0))?;
    conn.execute(
        "UPDATE sessions SET previous_sign_in_at = ?1, previous_sign_in_ip = ?2, failures_since = ?3
         WHERE id_hash = ?4",
        params![previous_at.map(ts), previous_ip, failures, session.as_slice()],
    )?;
    conn.execute(
        "UPDATE users SET last_sign_in_at = ?1, last_sign_in_ip = ?2 WHERE id = ?3 AND tenant_id = ?4",
        params![ts(ctx.at), ctx.ip, user.get(), tenant.get()],
    )?;
    clear_failures(conn, &user_account_hash(conn, keys, tenant, user)?)
}

fn handle(hash: &[u8; 32]) -> String {
    hex::encode(&hash[..8])
}

impl Store {
    /// Starts a session after a correct password. Without a second factor to come,
    /// the sign-in is complete. One audit row, `auth.sign_in`.
    pub async fn sign_in(&self, sign_in: SignIn, ctx: AuditCtx) -> StoreResult<NewSession> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let SignIn { tenant, user, mfa_pending, limits, user_agent } = sign_in;
            let (new, hash) = insert_session(tx, tenant, user, mfa_pending, limits, user_agent, &ctx)?;
            if !mfa_pending {
                complete(tx, &keys, tenant, user, &hash, &ctx)?;
            }
            let details = json!({"session": handle(&hash), "second_factor": if mfa_pending { "pending" } else { "none" }});
            append(tx, &ctx, "auth.sign_in", "user", Some(user.to_string()), Outcome::Ok, &details)?;
            Ok(new)
        })
        .await
    }

    /// Completes a pending sign-in with a code or recovery code: the waiting session
    /// ends and a new one (new id) starts. One audit row, `auth.mfa`, either way.
    pub async fn finish_mfa_sign_in(
        &self,
        pending: [u8; 32],
        input: String,
        limits: SessionLimits,
        user_agent: Option<String>,
        ctx: AuditCtx,
    ) -> StoreResult<Result<NewSession, FactorRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let (tenant, user) = pending_owner(tx, &pending)?;
            let ctx = AuditCtx {
                tenant_id: Some(tenant),
                actor_kind: "user",
                actor_id: Some(user.get()),
                ..ctx
            };
            match use_factor_throttled(tx, &keys, tenant, user, &input, ctx.at)? {
                Ok(factor) => {
                    let new = rotate(
                        tx,
                        &keys,
                        (tenant, user),
                        &pending,
                        limits,
                        user_agent,
                        &ctx,
                    )?;
                    append(
                        tx,
                        &ctx,
                        "auth.mfa",
                        "user",
                        Some(user.to_string()),
                        Outcome::Ok,
                        &json!({"factor": factor}),
                    )?;
                    Ok(Ok(new))
                }
                Err(refusal) => {
                    append(
                        tx,
                        &ctx,
                        "auth.mfa",
                        "user",
                        Some(user.to_string()),
                        Outcome::Denied,
                        &json!({"reason": refusal.to_string()}),
                    )?;
                    Ok(Err(refusal))
                }
            }
        })
        .await
    }

    /// Confirms the enrolment a policy demanded and completes the sign-in with it:
    /// returns the new session and the recovery codes. One audit row, `mfa.enable`.
    pub async fn enrol_and_sign_in(
        &self,
        pending: [u8; 32],
        code: String,
        limits: SessionLimits,
        user_agent: Option<String>,
        ctx: AuditCtx,
    ) -> StoreResult<Result<(NewSession, Vec<String>), FactorRefusal>> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let (tenant, user) = pending_owner(tx, &pending)?;
            match confirm_enrolment(tx, &keys, tenant, user, &code, ctx.at)? {
                Ok(codes) => {
                    let new = rotate(
                        tx,
                        &keys,
                        (tenant, user),
                        &pending,
                        limits,
                        user_agent,
                        &ctx,
                    )?;
                    append(
                        tx,
                        &ctx,
                        "mfa.enable",
                        "user",
                        Some(user.to_string()),
                        Outcome::Ok,
                        &json!({"factor": Factor::Totp, "completes_sign_in": true}),
                    )?;
                    Ok(Ok((new, codes)))
                }
                Err(refusal) => {
                    append(
                        tx,
                        &ctx,
                        "mfa.enable",
                        "user",
                        Some(user.to_string()),
                        Outcome::Denied,
                        &json!({"reason": refusal.to_string()}),
                    )?;
                    Ok(Err(refusal))
                }
            }
        })
        .await
    }

    /// The previous sign-in and failures since, as recorded on this session.
    pub async fn sign_in_notice(&self, session: [u8; 32]) -> StoreResult<Option<SignInNotice>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT previous_sign_in_at, previous_sign_in_ip, failures_since FROM sessions WHERE id_hash = ?1",
                [session.as_slice()],
                |r| {
                    Ok(SignInNotice {
                        previous_at: get_opt_ts(r, 0)?,
                        previous_ip: r.get(1)?,
                        failures_since: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    /// A signed-in user changes their password: the new hash is stored, every other
    /// session of theirs ends (the one making the change stays signed in) and all
    /// their API tokens are revoked. One audit row, `user.password_change`.
    pub async fn change_password(
        &self,
        tenant: TenantId,
        user: UserId,
        hash: String,
        keep: [u8; 32],
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND tenant_id = ?3",
                params![hash, user.get(), tenant.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let ended = crate::credentials::end_all(tx, tenant, user, Some(&keep), ctx.at)?;
            append(
                tx,
                &ctx,
                "user.password_change",
                "user",
                Some(user.to_string()),
                Outcome::Ok,
                &ended,
            )?;
            Ok(())
        })
        .await
    }
}

/// The owner of a live session that waits for its second factor.
fn pending_owner(conn: &Connection, pending: &[u8; 32]) -> StoreResult<(TenantId, UserId)> {
    conn.query_row(
        "SELECT tenant_id, user_id, created_at FROM sessions WHERE id_hash = ?1 AND revoked_at IS NULL",
        [pending.as_slice()],
        |r| Ok((TenantId(r.get(0)?), UserId(r.get(1)?), get_ts(r, 2)?)),
    )
    .optional()?
    .map(|(t, u, _)| (t, u))
    .ok_or(StoreError::NotFound)
}

/// Ends the waiting session and starts a complete one in its place.
fn rotate(
    conn: &Connection,
    keys: &crate::KeyRing,
    (tenant, user): (TenantId, UserId),
    pending: &[u8; 32],
    limits: SessionLimits,
    user_agent: Option<String>,
    ctx: &AuditCtx,
) -> StoreResult<NewSession> {
    conn.execute(
        "UPDATE sessions SET revoked_at = ?1 WHERE id_hash = ?2",
        params![ts(ctx.at), pending.as_slice()],
    )?;
    let (new, hash) = insert_session(conn, tenant, user, false, limits, user_agent, ctx)?;
    complete(conn, keys, tenant, user, &hash, ctx)?;
    Ok(new)
}
