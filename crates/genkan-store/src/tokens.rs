//! API tokens for integrations: scoped, expiring, revocable, stored hashed. A token
//! may come with a refresh token; refreshing replaces both, and reusing a refresh
//! token that was already used revokes its whole family (it was probably stolen).

use chrono::{DateTime, Duration, Utc};
use genkan_core::access::{Role, Scope};
use genkan_core::audit::Outcome;
use genkan_core::id::{TenantId, TokenId, UserId};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::kiosks::{new_credential, secret_hash};
use crate::sql::{get_opt_ts, get_ts, ts};

/// Prefix of every API access token.
pub const TOKEN_PREFIX: &str = "gk_at_";
/// Prefix of every refresh token (never accepted as an access token).
pub const REFRESH_PREFIX: &str = "gk_rt_";

/// An API token as the authentication layer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAuth {
    /// The token.
    pub token_id: TokenId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its owner.
    pub user_id: UserId,
    /// The owner's current role.
    pub role: Role,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked (or the owner disabled).
    pub revoked: bool,
}

/// Secrets of a newly issued token (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    /// The access token's id.
    pub token_id: TokenId,
    /// Access token.
    pub access_token: String,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Refresh token, if one was asked for.
    pub refresh_token: Option<String>,
}

/// Why a refresh was refused (the client sees one answer for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRefusal {
    /// Unknown, expired or revoked.
    #[error("invalid refresh token")]
    Invalid,
    /// Already used: the family is now revoked.
    #[error("refresh token reused; all tokens of this family are revoked")]
    Reused,
}

/// A token as listed to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenListing {
    /// Id.
    pub id: TokenId,
    /// Label.
    pub name: String,
    /// Owner's name.
    pub owner: String,
    /// Scopes.
    pub scopes: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked.
    pub revoked: bool,
    /// With a refresh token.
    pub refreshable: bool,
}

struct NewPair<'a> {
    tenant: TenantId,
    user: UserId,
    name: &'a str,
    scopes: &'a str,
    access_expires: Option<DateTime<Utc>>,
    refresh_expires: Option<DateTime<Utc>>,
    family: Option<i64>,
}

fn insert_pair(tx: &Connection, pair: &NewPair<'_>, at: DateTime<Utc>) -> StoreResult<IssuedToken> {
    let access = new_credential(TOKEN_PREFIX);
    tx.execute(
        "INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, scopes, expires_at, created_at, kind, family)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'access', ?8)",
        params![pair.tenant.get(), pair.user.get(), pair.name, secret_hash(&access).as_slice(), pair.scopes,
            pair.access_expires.map(ts), ts(at), pair.family],
    )?;
    let id = tx.last_insert_rowid();
    let family = pair.family.unwrap_or(id);
    tx.execute(
        "UPDATE api_tokens SET family = ?1 WHERE id = ?2",
        params![family, id],
    )?;
    let refresh = match pair.refresh_expires {
        Some(expires) => {
            let secret = new_credential(REFRESH_PREFIX);
            tx.execute(
                "INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, scopes, expires_at, created_at, kind, family)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'refresh', ?8)",
                params![pair.tenant.get(), pair.user.get(), pair.name, secret_hash(&secret).as_slice(), pair.scopes,
                    ts(expires), ts(at), family],
            )?;
            Some(secret)
        }
        None => None,
    };
    Ok(IssuedToken {
        token_id: TokenId(id),
        access_token: access,
        expires_at: pair.access_expires,
        refresh_token: refresh,
    })
}

impl Store {
    /// Creates an access token for `user` (and a refresh token when `refresh_ttl` is given).
    #[expect(
        clippy::too_many_arguments,
        reason = "each value is a distinct part of the grant"
    )]
    pub async fn create_api_token(
        &self,
        tenant: TenantId,
        user: UserId,
        name: String,
        scopes: Vec<Scope>,
        access_expires: Option<DateTime<Utc>>,
        refresh_ttl: Option<Duration>,
        ctx: AuditCtx,
    ) -> StoreResult<IssuedToken> {
        self.write(move |tx| {
            let owner_ok: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2 AND status = 'active')",
                params![user.get(), tenant.get()],
                |r| r.get(0),
            )?;
            if !owner_ok {
                return Err(StoreError::NotFound);
            }
            let scope_text = scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
            let issued = insert_pair(tx, &NewPair {
                tenant,
                user,
                name: &name,
                scopes: &scope_text,
                access_expires,
                refresh_expires: refresh_ttl.map(|t| ctx.at + t),
                family: None,
            }, ctx.at)?;
            append(tx, &ctx, "api_token.create", "api_token", Some(issued.token_id.to_string()), Outcome::Ok,
                &json!({"scopes": scope_text, "user_id": user, "refreshable": issued.refresh_token.is_some()}))?;
            Ok(issued)
        })
        .await
    }

    /// Exchanges a refresh token for a new access token and a new refresh token.
    pub async fn refresh_api_token(
        &self,
        refresh: &str,
        access_ttl: Duration,
        ctx: AuditCtx,
    ) -> StoreResult<Result<IssuedToken, RefreshRefusal>> {
        let hash = secret_hash(refresh);
        self.write(move |tx| {
            let row = tx
                .query_row(
                    "SELECT t.id, t.tenant_id, t.user_id, t.name, t.scopes, t.expires_at, t.created_at, t.used_at IS NOT NULL,
                            t.revoked_at IS NOT NULL OR u.status != 'active', t.family
                     FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id
                     WHERE t.token_hash = ?1 AND t.kind = 'refresh'",
                    [hash.as_slice()],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            TenantId(r.get(1)?),
                            UserId(r.get(2)?),
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            get_opt_ts(r, 5)?,
                            get_ts(r, 6)?,
                            r.get::<_, bool>(7)?,
                            r.get::<_, bool>(8)?,
                            r.get::<_, i64>(9)?,
                        ))
                    },
                )
                .optional()?;
            let Some((id, tenant, user, name, scopes, expires, created, used, revoked, family)) = row else {
                return Ok(Err(RefreshRefusal::Invalid));
            };
            let ctx = AuditCtx { tenant_id: Some(tenant), actor_kind: "token", actor_id: Some(id), ..ctx };
            if used {
                // A used refresh token came back: someone else holds the chain. End it all.
                tx.execute(
                    "UPDATE api_tokens SET revoked_at = ?1 WHERE tenant_id = ?2 AND family = ?3 AND revoked_at IS NULL",
                    params![ts(ctx.at), tenant.get(), family],
                )?;
                append(tx, &ctx, "api_token.refresh", "api_token", Some(id.to_string()), Outcome::Denied,
                    &json!({"reason": "reused", "family_revoked": family}))?;
                return Ok(Err(RefreshRefusal::Reused));
            }
            if revoked || expires.is_some_and(|e| e <= ctx.at) {
                append(tx, &ctx, "api_token.refresh", "api_token", Some(id.to_string()), Outcome::Denied, &json!({"reason": "invalid"}))?;
                return Ok(Err(RefreshRefusal::Invalid));
            }
            tx.execute("UPDATE api_tokens SET used_at = ?1 WHERE id = ?2", params![ts(ctx.at), id])?;
            // The old access tokens of the family end with the rotation.
            tx.execute(
                "UPDATE api_tokens SET revoked_at = ?1 WHERE tenant_id = ?2 AND family = ?3 AND kind = 'access' AND revoked_at IS NULL",
                params![ts(ctx.at), tenant.get(), family],
            )?;
            let refresh_ttl = expires.map_or(Duration::days(30), |e| e - created);
            let issued = insert_pair(tx, &NewPair {
                tenant,
                user,
                name: &name,
                scopes: &scopes,
                access_expires: Some(ctx.at + access_ttl),
                refresh_expires: Some(ctx.at + refresh_ttl),
                family: Some(family),
            }, ctx.at)?;
            append(tx, &ctx, "api_token.refresh", "api_token", Some(issued.token_id.to_string()), Outcome::Ok, &json!({"family": family}))?;
            Ok(Ok(issued))
        })
        .await
    }

    /// Revokes a token and every token of its family.
    pub async fn revoke_api_token(
        &self,
        tenant: TenantId,
        id: TokenId,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let family: Option<i64> = tx
                .query_row("SELECT family FROM api_tokens WHERE id = ?1 AND tenant_id = ?2", params![id.get(), tenant.get()], |r| r.get(0))
                .optional()?
                .flatten();
            let Some(family) = family else {
                return Err(StoreError::NotFound);
            };
            tx.execute(
                "UPDATE api_tokens SET revoked_at = ?1 WHERE tenant_id = ?2 AND family = ?3 AND revoked_at IS NULL",
                params![ts(ctx.at), tenant.get(), family],
            )?;
            append(tx, &ctx, "api_token.revoke", "api_token", Some(id.to_string()), Outcome::Ok, &json!({"family": family}))?;
            Ok(())
        })
        .await
    }

    /// The tenant's access tokens, newest first (one line per family).
    pub async fn api_tokens(&self, tenant: TenantId) -> StoreResult<Vec<TokenListing>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT t.id, t.name, u.display_name, t.scopes, t.created_at, t.expires_at, t.revoked_at IS NOT NULL,
                        EXISTS (SELECT 1 FROM api_tokens r WHERE r.family = t.family AND r.kind = 'refresh')
                 FROM api_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.tenant_id = ?1 AND t.kind = 'access'
                   AND t.id = (SELECT max(x.id) FROM api_tokens x WHERE x.family = t.family AND x.kind = 'access')
                 ORDER BY t.id DESC",
            )?;
            let rows = stmt
                .query_map([tenant.get()], |r| {
                    Ok(TokenListing {
                        id: TokenId(r.get(0)?),
                        name: r.get(1)?,
                        owner: r.get(2)?,
                        scopes: r.get(3)?,
                        created_at: get_ts(r, 4)?,
                        expires_at: get_opt_ts(r, 5)?,
                        revoked: r.get(6)?,
                        refreshable: r.get(7)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// Looks an access token up by its secret (refresh tokens never match).
    pub async fn api_token(&self, secret: &str) -> StoreResult<Option<TokenAuth>> {
        let hash = secret_hash(secret);
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT t.id, t.tenant_id, t.user_id, u.role, t.scopes, t.expires_at,
                        t.revoked_at IS NOT NULL OR u.status != 'active'
                 FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id
                 WHERE t.token_hash = ?1 AND t.kind = 'access'",
            )?
            .query_row([hash.as_slice()], |r| {
                let role: String = r.get(3)?;
                let scopes: String = r.get(4)?;
                Ok(TokenAuth {
                    token_id: TokenId(r.get(0)?),
                    tenant_id: TenantId(r.get(1)?),
                    user_id: UserId(r.get(2)?),
                    role: Role::parse(&role).unwrap_or(Role::Host),
                    scopes: scopes.split_whitespace().filter_map(Scope::parse).collect(),
                    expires_at: get_opt_ts(r, 5)?,
                    revoked: r.get(6)?,
                })
            })
            .optional()?)
        })
        .await
    }
}
