//! Web sessions: only a hash of the cookie value is stored; each session carries its
//! CSRF token, idle and absolute limits, and can be ended one by one or all at once.

use chrono::{DateTime, Duration, Utc};
use genkan_core::access::Role;
use genkan_core::audit::Outcome;
use genkan_core::id::{TenantId, UserId};
use genkan_core::security::{IpAllowlist, MfaPolicy};
use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::kiosks::secret_hash;
use crate::security::allowlist_of;
use crate::sql::{get_ts, ts};

pub use crate::signin::NewSession;

/// How long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Ends after this long without a request.
    pub idle: Duration,
    /// Ends this long after sign-in, whatever happens.
    pub absolute: Duration,
}

/// A live session as the web layer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Hash of the cookie value (the session's identity in the database).
    pub id_hash: [u8; 32],
    /// Tenant.
    pub tenant_id: TenantId,
    /// User.
    pub user_id: UserId,
    /// The user's current role.
    pub role: Role,
    /// The user's language preference.
    pub locale: Option<String>,
    /// The user's name.
    pub display_name: String,
    /// Token every state-changing form must carry.
    pub csrf_token: String,
    /// Signed in with the password, second factor still to come.
    pub mfa_pending: bool,
    /// When the session started.
    pub created_at: DateTime<Utc>,
    /// Last request.
    pub last_seen_at: DateTime<Utc>,
    /// The user has a confirmed second factor.
    pub mfa_enrolled: bool,
    /// The tenant's second-factor policy.
    pub mfa_policy: MfaPolicy,
    /// The tenant's address allowlist.
    pub allowlist: IpAllowlist,
}

impl SessionInfo {
    /// Whether this session may not be used for anything but the second-factor
    /// pages yet: the code is still to come, or the policy demands enrolment first.
    pub fn needs_second_factor(&self) -> bool {
        self.mfa_pending || (self.mfa_policy.requires(self.role) && !self.mfa_enrolled)
    }
}

/// A session as listed to its user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionListing {
    /// Hex of the first bytes of the hash: enough to name it, useless to steal it.
    pub handle: String,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Last request.
    pub last_seen_at: DateTime<Utc>,
    /// Client address at sign-in.
    pub ip: Option<String>,
    /// Browser.
    pub user_agent: Option<String>,
}

impl Store {
    /// The live session behind `cookie`, if it exists, is not revoked, the user is
    /// active, and neither limit has passed. Refreshes the idle timer (at most once a minute).
    pub async fn session(
        &self,
        cookie: &str,
        now: DateTime<Utc>,
        limits: SessionLimits,
    ) -> StoreResult<Option<SessionInfo>> {
        let hash = secret_hash(cookie);
        let found = self
            .read(move |c| {
                Ok(c.prepare_cached(
                    "SELECT s.tenant_id, s.user_id, u.role, u.locale, u.display_name, s.csrf_token, s.mfa_pending,
                            s.created_at, s.last_seen_at, s.expires_at,
                            EXISTS (SELECT 1 FROM user_mfa m WHERE m.user_id = s.user_id AND m.confirmed_at IS NOT NULL),
                            t.mfa_policy, t.ip_allowlist, t.ip_allowlist_scope
                     FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
                     JOIN tenants t ON t.id = s.tenant_id
                     WHERE s.id_hash = ?1 AND s.revoked_at IS NULL AND u.status = 'active'",
                )?
                .query_row([hash.as_slice()], |r| {
                    let role: String = r.get(2)?;
                    Ok((
                        SessionInfo {
                            id_hash: hash,
                            tenant_id: TenantId(r.get(0)?),
                            user_id: UserId(r.get(1)?),
                            role: Role::parse(&role).unwrap_or(Role::Host),
                            locale: r.get(3)?,
                            display_name: r.get(4)?,
                            csrf_token: r.get(5)?,
                            mfa_pending: r.get(6)?,
                            created_at: get_ts(r, 7)?,
                            last_seen_at: get_ts(r, 8)?,
                            mfa_enrolled: r.get(10)?,
                            mfa_policy: MfaPolicy::parse(&r.get::<_, String>(11)?).unwrap_or_default(),
                            allowlist: IpAllowlist::default(),
                        },
                        get_ts(r, 9)?,
                        (r.get::<_, String>(12)?, r.get::<_, String>(13)?),
                    ))
                })
                .optional()?)
            })
            .await?;
        let Some((mut info, expires_at, (networks, scope))) = found else {
            return Ok(None);
        };
        info.allowlist = allowlist_of(&networks, &scope)?;
        if now >= expires_at || now >= info.last_seen_at + limits.idle {
            return Ok(None);
        }
        if now - info.last_seen_at >= Duration::minutes(1) {
            self.write(move |tx| {
                tx.execute(
                    "UPDATE sessions SET last_seen_at = ?1 WHERE id_hash = ?2",
                    params![ts(now), hash.as_slice()],
                )?;
                Ok(())
            })
            .await?;
        }
        Ok(Some(info))
    }

    /// Ends one session.
    pub async fn end_session(&self, id_hash: [u8; 32], ctx: AuditCtx) -> StoreResult<()> {
        self.write(move |tx| {
            let user: Option<i64> = tx
                .query_row(
                    "UPDATE sessions SET revoked_at = ?1 WHERE id_hash = ?2 AND revoked_at IS NULL RETURNING user_id",
                    params![ts(ctx.at), id_hash.as_slice()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(user) = user {
                append(tx, &ctx, "session.end", "user", Some(user.to_string()), Outcome::Ok, &json!({}))?;
            }
            Ok(())
        })
        .await
    }

    /// Ends one session of `user` named by its listing handle.
    pub async fn end_session_by_handle(
        &self,
        tenant: TenantId,
        user: UserId,
        handle: &str,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        let handle = handle.to_owned();
        if handle.len() != 16 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::NotFound);
        }
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE sessions SET revoked_at = ?1
                 WHERE tenant_id = ?2 AND user_id = ?3 AND revoked_at IS NULL AND lower(hex(substr(id_hash, 1, 8))) = ?4",
                params![ts(ctx.at), tenant.get(), user.get(), handle.to_ascii_lowercase()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append(tx, &ctx, "session.end", "user", Some(user.to_string()), Outcome::Ok, &json!({"handle": handle}))?;
            Ok(())
        })
        .await
    }

    /// Ends every session of a user (sign-out everywhere, disable, password change).
    pub async fn end_all_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        ctx: AuditCtx,
    ) -> StoreResult<usize> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE sessions SET revoked_at = ?1 WHERE tenant_id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
                params![ts(ctx.at), tenant.get(), user.get()],
            )?;
            append(tx, &ctx, "session.end_all", "user", Some(user.to_string()), Outcome::Ok, &json!({"ended": n}))?;
            Ok(n)
        })
        .await
    }

    /// Ends every session of a user except `keep` (sign out everywhere else).
    pub async fn end_other_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        keep: [u8; 32],
        ctx: AuditCtx,
    ) -> StoreResult<usize> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE sessions SET revoked_at = ?1
                 WHERE tenant_id = ?2 AND user_id = ?3 AND revoked_at IS NULL AND id_hash != ?4",
                params![ts(ctx.at), tenant.get(), user.get(), keep.as_slice()],
            )?;
            append(
                tx,
                &ctx,
                "session.end_others",
                "user",
                Some(user.to_string()),
                Outcome::Ok,
                &json!({"ended": n}),
            )?;
            Ok(n)
        })
        .await
    }

    /// A user's live sessions, newest first.
    pub async fn sessions_of(
        &self,
        tenant: TenantId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionListing>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT lower(hex(substr(id_hash, 1, 8))), created_at, last_seen_at, ip, user_agent
                 FROM sessions WHERE tenant_id = ?1 AND user_id = ?2 AND revoked_at IS NULL AND expires_at > ?3
                 ORDER BY last_seen_at DESC",
            )?;
            let rows = stmt
                .query_map(params![tenant.get(), user.get(), ts(now)], |r| {
                    Ok(SessionListing {
                        handle: r.get(0)?,
                        created_at: get_ts(r, 1)?,
                        last_seen_at: get_ts(r, 2)?,
                        ip: r.get(3)?,
                        user_agent: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}
