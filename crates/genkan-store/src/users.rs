//! The life of a staff account: single-use invitation and reset links, passwords,
//! role changes, disabling (which ends every session and API token at once), and
//! groups.

use chrono::{DateTime, Duration, Utc};
use genkan_core::access::Role;
use genkan_core::audit::Outcome;
use genkan_core::id::{TenantId, UserId};
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::text::Locale;
use genkan_core::text::{DisplayName, EmailAddress};
use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::credentials;
use crate::error::{StoreError, StoreResult};
use crate::kiosks::{new_credential, secret_hash};
use crate::outbox::{NewMessage, enqueue};
use crate::sql::{get_ts, ts};

/// What a single-use link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Set the first password (72 hours).
    Invite,
    /// Choose a new password (30 minutes).
    Reset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Invite => "invite",
            Self::Reset => "reset",
        }
    }

    /// How long such a link stays valid.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::Invite => Duration::hours(72),
            Self::Reset => Duration::minutes(30),
        }
    }
}

/// Why a link could not be used. All answer alike to the visitor of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// Unknown, already used, expired, of another purpose, or the account is disabled.
    #[error("this link is not valid (used, expired or unknown)")]
    Invalid,
}

/// A group of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Members' user ids.
    pub members: Vec<UserId>,
}

/// The sealed payload of an invitation or reset mail: the link's secret.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct LinkSecret {
    /// The secret for the link path.
    pub secret: String,
    /// Who sent the invitation (shown in the mail).
    pub inviter: Option<String>,
}

/// A link to create and mail.
pub(crate) struct LinkMail<'a> {
    pub(crate) tenant: TenantId,
    pub(crate) user: UserId,
    pub(crate) email: &'a str,
    pub(crate) locale: Locale,
    pub(crate) purpose: LinkPurpose,
    pub(crate) inviter: Option<String>,
    pub(crate) at: DateTime<Utc>,
}

/// Creates a single-use link and queues its mail, in the caller's transaction.
pub(crate) fn insert_link(
    tx: &rusqlite::Connection,
    keys: &crate::KeyRing,
    link: LinkMail<'_>,
) -> StoreResult<()> {
    let LinkMail {
        tenant,
        user,
        email,
        locale,
        purpose,
        inviter,
        at,
    } = link;
    let secret = new_credential("");
    tx.execute(
        "UPDATE user_links SET used_at = ?1 WHERE tenant_id = ?2 AND user_id = ?3 AND purpose = ?4 AND used_at IS NULL",
        params![ts(at), tenant.get(), user.get(), purpose.as_str()],
    )?;
    tx.execute(
        "INSERT INTO user_links (token_hash, tenant_id, user_id, purpose, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            secret_hash(&secret).as_slice(),
            tenant.get(),
            user.get(),
            purpose.as_str(),
            ts(at),
            ts(at + purpose.lifetime())
        ],
    )?;
    let payload = serde_json::to_vec(&LinkSecret { secret, inviter })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    enqueue(
        tx,
        keys,
        &NewMessage {
            tenant_id: Some(tenant),
            kind: match purpose {
                LinkPurpose::Invite => MessageKind::UserInvitation,
                LinkPurpose::Reset => MessageKind::PasswordReset,
            },
            channel: Channel::Email,
            recipient: email.to_owned(),
            locale,
            appointment_id: None,
            visitor_id: None,
            visit_id: None,
            user_id: Some(user),
            secret_payload: Some(payload),
            at,
        },
    )?;
    Ok(())
}

impl Store {
    /// Invites a new staff member: creates the account without a password and queues
    /// the invitation mail with a single-use link (72 hours), in one transaction.
    pub async fn invite_user(
        &self,
        tenant: TenantId,
        email: EmailAddress,
        name: DisplayName,
        role: Role,
        inviter: String,
        ctx: AuditCtx,
    ) -> StoreResult<UserId> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let locale: String = tx.query_row(
                "SELECT default_locale FROM tenants WHERE id = ?1",
                [tenant.get()],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO users (tenant_id, email, display_name, role, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'invited', ?5)",
                params![
                    tenant.get(),
                    email.as_str(),
                    name.as_str(),
                    role.as_str(),
                    ts(ctx.at)
                ],
            )?;
            let user = UserId(tx.last_insert_rowid());
            let locale = Locale::parse(&locale).unwrap_or_default();
            insert_link(
                tx,
                &keys,
                LinkMail {
                    tenant,
                    user,
                    email: email.as_str(),
                    locale,
                    purpose: LinkPurpose::Invite,
                    inviter: Some(inviter),
                    at: ctx.at,
                },
            )?;
            append(
                tx,
                &ctx,
                "user.invite",
                "user",
                Some(user.to_string()),
                Outcome::Ok,
                &json!({"role": role.as_str()}),
            )?;
            tx.wake_outbox();
            Ok(user)
        })
        .await
    }

    /// Sends a new invitation link to a user who has not set a password yet.
    pub async fn reinvite_user(
        &self,
        tenant: TenantId,
        user: UserId,
        inviter: String,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let row: Option<(String, Option<String>, String)> = tx
                .query_row(
                    "SELECT u.email, u.locale, t.default_locale FROM users u JOIN tenants t ON t.id = u.tenant_id
                     WHERE u.id = ?1 AND u.tenant_id = ?2 AND u.status = 'invited'",
                    params![user.get(), tenant.get()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((email, locale, default)) = row else {
                return Err(StoreError::NotFound);
            };
            let locale = Locale::parse(locale.as_deref().unwrap_or(&default)).unwrap_or_default();
            insert_link(tx, &keys, LinkMail { tenant, user, email: &email, locale, purpose: LinkPurpose::Invite, inviter: Some(inviter), at: ctx.at })?;
            append(tx, &ctx, "user.reinvite", "user", Some(user.to_string()), Outcome::Ok, &json!({}))?;
            tx.wake_outbox();
            Ok(())
        })
        .await
    }

    /// Queues a password-reset mail if `email` is an active account of the tenant
    /// `slug`; does the same amount of work and answers the same either way.
    pub async fn request_password_reset(
        &self,
        slug: String,
        email: EmailAddress,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let row: Option<(i64, i64, Option<String>, String)> = tx
                .query_row(
                    "SELECT u.tenant_id, u.id, u.locale, t.default_locale FROM users u JOIN tenants t ON t.id = u.tenant_id
                     WHERE t.slug = ?1 AND u.email = ?2 AND u.status = 'active'",
                    params![slug, email.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            match row {
                Some((tenant, user, locale, default)) => {
                    let (tenant, user) = (TenantId(tenant), UserId(user));
                    let locale = Locale::parse(locale.as_deref().unwrap_or(&default)).unwrap_or_default();
                    insert_link(tx, &keys, LinkMail { tenant, user, email: email.as_str(), locale, purpose: LinkPurpose::Reset, inviter: None, at: ctx.at })?;
                    let ctx = AuditCtx { tenant_id: Some(tenant), ..ctx };
                    append(tx, &ctx, "user.reset_requested", "user", Some(user.to_string()), Outcome::Ok, &json!({}))?;
                    tx.wake_outbox();
                }
                None => {
                    append(tx, &ctx, "user.reset_requested", "user", None, Outcome::Denied, &json!({"reason": "no such active account"}))?;
                }
            }
            Ok(())
        })
        .await
    }

    /// The user a link would act for, without using it (to show the form).
    pub async fn peek_link(
        &self,
        secret: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<(TenantId, UserId), LinkRefusal>> {
        let hash = secret_hash(secret);
        let row = self
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT l.tenant_id, l.user_id, l.expires_at FROM user_links l JOIN users u ON u.id = l.user_id
                     WHERE l.token_hash = ?1 AND l.purpose = ?2 AND l.used_at IS NULL AND u.status != 'disabled'",
                    params![hash.as_slice(), purpose.as_str()],
                    |r| Ok((TenantId(r.get(0)?), UserId(r.get(1)?), get_ts(r, 2)?)),
                )
                .optional()?)
            })
            .await?;
        Ok(match row {
            Some((t, u, expires)) if now < expires => Ok((t, u)),
            _ => Err(LinkRefusal::Invalid),
        })
    }

    /// Uses a link to set the user's password (PHC hash): marks the link used,
    /// activates an invited account, and ends every existing session and API token
    /// of the user.
    pub async fn use_link(
        &self,
        secret: &str,
        purpose: LinkPurpose,
        password_hash: String,
        ctx: AuditCtx,
    ) -> StoreResult<Result<(TenantId, UserId), LinkRefusal>> {
        let hash = secret_hash(secret);
        self.write(move |tx| {
            let row = tx
                .query_row(
                    "UPDATE user_links SET used_at = ?1
                     WHERE token_hash = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1
                       AND user_id IN (SELECT id FROM users WHERE status != 'disabled')
                     RETURNING tenant_id, user_id",
                    params![ts(ctx.at), hash.as_slice(), purpose.as_str()],
                    |r| Ok((TenantId(r.get(0)?), UserId(r.get(1)?))),
                )
                .optional()?;
            let Some((tenant, user)) = row else {
                let ctx = AuditCtx { actor_kind: "anonymous", ..ctx };
                append(tx, &ctx, &format!("user.link_{}_use", purpose.as_str()), "user_link", None, Outcome::Denied, &json!({}))?;
                return Ok(Err(LinkRefusal::Invalid));
            };
            tx.execute(
                "UPDATE users SET password_hash = ?1, status = 'active' WHERE id = ?2 AND tenant_id = ?3",
                params![password_hash, user.get(), tenant.get()],
            )?;
            let ended = credentials::end_all(tx, tenant, user, None, ctx.at)?;
            let ctx = AuditCtx { tenant_id: Some(tenant), actor_kind: "user", actor_id: Some(user.get()), ..ctx };
            append(tx, &ctx, &format!("user.link_{}_use", purpose.as_str()), "user", Some(user.to_string()), Outcome::Ok, &ended)?;
            Ok(Ok((tenant, user)))
        })
        .await
    }

    /// Replaces the hash of the same password with a stronger one (the rehash at
    /// sign-in): the password does not change, so nothing ends and nothing is
    /// audited. A new password goes through [`Store::change_password`] or a link.
    pub async fn rehash_password(
        &self,
        tenant: TenantId,
        user: UserId,
        hash: String,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND tenant_id = ?3",
                params![hash, user.get(), tenant.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    /// Disables or re-enables a user. Disabling ends all their sessions and revokes
    /// all their API tokens at once; re-enabling brings none of them back.
    pub async fn set_user_enabled(
        &self,
        tenant: TenantId,
        user: UserId,
        enabled: bool,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let current: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT status, password_hash FROM users WHERE id = ?1 AND tenant_id = ?2",
                    params![user.get(), tenant.get()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((_, password)) = current else {
                return Err(StoreError::NotFound);
            };
            let status = match (enabled, password.is_some()) {
                (false, _) => "disabled",
                (true, true) => "active",
                (true, false) => "invited",
            };
            tx.execute(
                "UPDATE users SET status = ?1 WHERE id = ?2 AND tenant_id = ?3",
                params![status, user.get(), tenant.get()],
            )?;
            if enabled {
                append(
                    tx,
                    &ctx,
                    "user.enable",
                    "user",
                    Some(user.to_string()),
                    Outcome::Ok,
                    &json!({}),
                )?;
            } else {
                let ended = credentials::end_all(tx, tenant, user, None, ctx.at)?;
                append(
                    tx,
                    &ctx,
                    "user.disable",
                    "user",
                    Some(user.to_string()),
                    Outcome::Ok,
                    &ended,
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Changes a user's role and name.
    pub async fn update_user(
        &self,
        tenant: TenantId,
        user: UserId,
        name: String,
        role: Role,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let old: Option<String> = tx
                .query_row(
                    "SELECT role FROM users WHERE id = ?1 AND tenant_id = ?2",
                    params![user.get(), tenant.get()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(old) = old else {
                return Err(StoreError::NotFound);
            };
            tx.execute(
                "UPDATE users SET display_name = ?1, role = ?2 WHERE id = ?3 AND tenant_id = ?4",
                params![name, role.as_str(), user.get(), tenant.get()],
            )?;
            append(
                tx,
                &ctx,
                "user.update",
                "user",
                Some(user.to_string()),
                Outcome::Ok,
                &json!({"role_from": old, "role_to": role.as_str()}),
            )?;
            Ok(())
        })
        .await
    }

    /// Sets a user's language preference.
    pub async fn set_user_locale(
        &self,
        tenant: TenantId,
        user: UserId,
        locale: Option<Locale>,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE users SET locale = ?1 WHERE id = ?2 AND tenant_id = ?3",
                params![locale.map(Locale::as_str), user.get(), tenant.get()],
            )?;
            append(
                tx,
                &ctx,
                "user.locale",
                "user",
                Some(user.to_string()),
                Outcome::Ok,
                &json!({"locale": locale}),
            )?;
            Ok(())
        })
        .await
    }

    /// Creates a group.
    pub async fn create_group(
        &self,
        tenant: TenantId,
        name: String,
        ctx: AuditCtx,
    ) -> StoreResult<i64> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO groups (tenant_id, name, created_at) VALUES (?1, ?2, ?3)",
                params![tenant.get(), name, ts(ctx.at)],
            )?;
            let id = tx.last_insert_rowid();
            append(
                tx,
                &ctx,
                "group.create",
                "group",
                Some(id.to_string()),
                Outcome::Ok,
                &json!({"name": name}),
            )?;
            Ok(id)
        })
        .await
    }

    /// Sets the members of a group (only users of the same tenant can be members).
    pub async fn set_group_members(
        &self,
        tenant: TenantId,
        group: i64,
        members: Vec<UserId>,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM groups WHERE id = ?1 AND tenant_id = ?2)",
                params![group, tenant.get()],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "DELETE FROM group_members WHERE group_id = ?1 AND tenant_id = ?2",
                params![group, tenant.get()],
            )?;
            let mut added = 0;
            for m in &members {
                added += tx.execute(
                    "INSERT OR IGNORE INTO group_members (group_id, user_id, tenant_id)
                     SELECT ?1, id, tenant_id FROM users WHERE id = ?2 AND tenant_id = ?3",
                    params![group, m.get(), tenant.get()],
                )?;
            }
            append(
                tx,
                &ctx,
                "group.members",
                "group",
                Some(group.to_string()),
                Outcome::Ok,
                &json!({"members": added}),
            )?;
            Ok(())
        })
        .await
    }

    /// The tenant's groups with their members.
    pub async fn groups(&self, tenant: TenantId) -> StoreResult<Vec<Group>> {
        self.read(move |c| {
            let mut groups: Vec<Group> = c
                .prepare_cached("SELECT id, name FROM groups WHERE tenant_id = ?1 ORDER BY name")?
                .query_map([tenant.get()], |r| {
                    Ok(Group {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        members: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT user_id FROM group_members WHERE group_id = ?1 AND tenant_id = ?2",
            )?;
            for g in &mut groups {
                g.members = stmt
                    .query_map(params![g.id, tenant.get()], |r| Ok(UserId(r.get(0)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
            }
            Ok(groups)
        })
        .await
    }
}
