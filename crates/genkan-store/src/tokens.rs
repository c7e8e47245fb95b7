//! API tokens for integrations: scoped, expiring, revocable, stored hashed.

use chrono::{DateTime, Utc};
use genkan_core::access::{Role, Scope};
use genkan_core::audit::Outcome;
use genkan_core::id::{TenantId, TokenId, UserId};
use rusqlite::{OptionalExtension as _, params};
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::kiosks::{new_credential, secret_hash};
use crate::sql::{get_opt_ts, ts};

/// Prefix of every API access token.
pub const TOKEN_PREFIX: &str = "gk_at_";

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

impl Store {
    /// Creates a token for `user`; returns the secret, shown once.
    pub async fn create_api_token(
        &self,
        tenant: TenantId,
        user: UserId,
        name: String,
        scopes: Vec<Scope>,
        expires_at: Option<DateTime<Utc>>,
        ctx: AuditCtx,
    ) -> StoreResult<(TokenId, String)> {
        self.write(move |tx| {
            let owner_ok: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2 AND status = 'active')",
                params![user.get(), tenant.get()],
                |r| r.get(0),
            )?;
            if !owner_ok {
                return Err(StoreError::NotFound);
            }
            let secret = new_credential(TOKEN_PREFIX);
            let scope_text = scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
            tx.execute(
                "INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, scopes, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![tenant.get(), user.get(), name, secret_hash(&secret).as_slice(), scope_text,
                    expires_at.map(ts), ts(ctx.at)],
            )?;
            let id = TokenId(tx.last_insert_rowid());
            append(tx, &ctx, "api_token.create", "api_token", Some(id.to_string()), Outcome::Ok,
                &json!({"scopes": scope_text, "user_id": user}))?;
            Ok((id, secret))
        })
        .await
    }

    /// Looks a token up by its secret.
    pub async fn api_token(&self, secret: &str) -> StoreResult<Option<TokenAuth>> {
        let hash = secret_hash(secret);
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT t.id, t.tenant_id, t.user_id, u.role, t.scopes, t.expires_at,
                        t.revoked_at IS NOT NULL OR u.status != 'active'
                 FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id
                 WHERE t.token_hash = ?1",
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
