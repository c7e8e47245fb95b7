//! Tenants, their sites and their staff users.

use chrono::{DateTime, Utc};
use genkan_core::access::Role;
use genkan_core::audit::Outcome;
use genkan_core::id::{SiteId, TenantId, UserId};
use genkan_core::tenant::{Site, Tenant, TimeZone};
use genkan_core::text::{DisplayName, EmailAddress, Locale, OrgName};
use rusqlite::{Connection, OptionalExtension as _, Row, params};
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::sql::{get_ts, ts};

/// A tenant to create.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Organisation id used at sign-in.
    pub slug: String,
    /// Display name.
    pub name: OrgName,
    /// Default language.
    pub default_locale: Locale,
    /// Default zone.
    pub time_zone: TimeZone,
}

/// A staff user as shown in lists and pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Sign-in and notification address.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Preferred language, if set.
    pub locale: Option<Locale>,
    /// `active`, `invited` or `disabled`.
    pub status: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Branding, language and policies of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantSettings {
    /// Display name.
    pub name: String,
    /// Default language.
    pub default_locale: Locale,
    /// Default time zone.
    pub time_zone: TimeZone,
    /// Brand colour `#rrggbb`.
    pub primary_color: String,
    /// Second brand colour `#rrggbb`.
    pub accent_color: String,
    /// Whether a logo is uploaded.
    pub has_logo: bool,
    /// Whether kiosks offer check-out.
    pub checkout_enabled: bool,
    /// Whether a Slack webhook is configured (the URL itself is sealed).
    pub slack_configured: bool,
    /// `day` (the visit's local day) or `window` (the visit's time window).
    pub pass_policy: String,
    /// With the `window` policy: minutes before the start a pass already works.
    pub pass_early_minutes: i64,
    /// Hosts are alerted by e-mail by default.
    pub notify_email: bool,
    /// Hosts are alerted on Slack by default.
    pub notify_slack: bool,
}

/// Changes to a tenant's settings (all fields validated by the caller).
#[derive(Debug, Clone)]
pub struct SettingsUpdate {
    /// Display name.
    pub name: OrgName,
    /// Default language.
    pub default_locale: Locale,
    /// Default zone.
    pub time_zone: TimeZone,
    /// `#rrggbb`.
    pub primary_color: String,
    /// `#rrggbb`.
    pub accent_color: String,
    /// Kiosk check-out.
    pub checkout_enabled: bool,
    /// `day` or `window`.
    pub pass_policy: String,
    /// Minutes early with `window`.
    pub pass_early_minutes: i64,
    /// E-mail alerts.
    pub notify_email: bool,
    /// Slack alerts.
    pub notify_slack: bool,
}

fn locale_col(s: Option<String>) -> Option<Locale> {
    s.and_then(|s| Locale::parse(&s).ok())
}

fn tenant_row(r: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_tenant(row: (i64, String, String, String, String)) -> StoreResult<Tenant> {
    let (id, slug, name, locale, tz) = row;
    Ok(Tenant {
        id: TenantId(id),
        slug,
        name: OrgName::parse(&name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        default_locale: Locale::parse(&locale).unwrap_or_default(),
        time_zone: TimeZone::parse(&tz).unwrap_or_default(),
    })
}

pub(crate) fn site_row(r: &Row<'_>) -> rusqlite::Result<Site> {
    let name: String = r.get(2)?;
    let tz: String = r.get(3)?;
    Ok(Site {
        id: SiteId(r.get(0)?),
        tenant_id: TenantId(r.get(1)?),
        name: OrgName::parse(&name).unwrap_or_else(|_| unreachable_name()),
        time_zone: TimeZone::parse(&tz).unwrap_or_default(),
        address: r.get(4)?,
    })
}

fn unreachable_name() -> OrgName {
    // Names are validated before they are stored; a bad one shows as "?" rather than failing a list.
    OrgName::parse("?").unwrap_or_else(|_| unreachable!("\"?\" is a valid name"))
}

const USER_COLS: &str = "id, tenant_id, email, display_name, role, locale, status, created_at";

pub(crate) fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(4)?;
    Ok(User {
        id: UserId(r.get(0)?),
        tenant_id: TenantId(r.get(1)?),
        email: r.get(2)?,
        display_name: r.get(3)?,
        role: Role::parse(&role).unwrap_or(Role::Host),
        locale: locale_col(r.get(5)?),
        status: r.get(6)?,
        created_at: get_ts(r, 7)?,
    })
}

/// Reads a site of a tenant inside a transaction.
pub(crate) fn site_in(
    conn: &Connection,
    tenant: TenantId,
    site: SiteId,
) -> StoreResult<Option<Site>> {
    Ok(conn
        .prepare_cached("SELECT id, tenant_id, name, time_zone, address FROM sites WHERE id = ?1 AND tenant_id = ?2")?
        .query_row(params![site.get(), tenant.get()], site_row)
        .optional()?)
}

impl Store {
    /// Creates a tenant.
    pub async fn create_tenant(&self, new: NewTenant, ctx: AuditCtx) -> StoreResult<Tenant> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO tenants (slug, name, default_locale, time_zone, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    new.slug,
                    new.name.as_str(),
                    new.default_locale.as_str(),
                    new.time_zone.name(),
                    ts(ctx.at)
                ],
            )?;
            let id = TenantId(tx.last_insert_rowid());
            let ctx = AuditCtx {
                tenant_id: Some(id),
                ..ctx
            };
            append(
                tx,
                &ctx,
                "tenant.create",
                "tenant",
                Some(id.to_string()),
                Outcome::Ok,
                &json!({"slug": new.slug}),
            )?;
            Ok(Tenant {
                id,
                slug: new.slug,
                name: new.name,
                default_locale: new.default_locale,
                time_zone: new.time_zone,
            })
        })
        .await
    }

    /// A tenant by id.
    pub async fn tenant(&self, id: TenantId) -> StoreResult<Tenant> {
        let row = self
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT id, slug, name, default_locale, time_zone FROM tenants WHERE id = ?1",
                    [id.get()],
                    tenant_row,
                )?)
            })
            .await?;
        to_tenant(row)
    }

    /// A tenant by its organisation id, if it exists.
    pub async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>> {
        let slug = slug.to_owned();
        let row = self
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT id, slug, name, default_locale, time_zone FROM tenants WHERE slug = ?1",
                    [slug],
                    tenant_row,
                )
                .optional()?)
            })
            .await?;
        row.map(to_tenant).transpose()
    }

    /// Every tenant (operator use).
    pub async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = self
            .read(|c| {
                let mut stmt = c.prepare(
                    "SELECT id, slug, name, default_locale, time_zone FROM tenants ORDER BY id",
                )?;
                let rows = stmt
                    .query_map([], tenant_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .await?;
        rows.into_iter().map(to_tenant).collect()
    }

    /// Branding, language and policies.
    pub async fn tenant_settings(&self, tenant: TenantId) -> StoreResult<TenantSettings> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT name, default_locale, time_zone, primary_color, accent_color, logo_png IS NOT NULL,
                        checkout_enabled, slack_webhook IS NOT NULL, pass_policy, pass_early_minutes,
                        notify_email, notify_slack
                 FROM tenants WHERE id = ?1",
                [tenant.get()],
                |r| {
                    let locale: String = r.get(1)?;
                    let tz: String = r.get(2)?;
                    Ok(TenantSettings {
                        name: r.get(0)?,
                        default_locale: Locale::parse(&locale).unwrap_or_default(),
                        time_zone: TimeZone::parse(&tz).unwrap_or_default(),
                        primary_color: r.get(3)?,
                        accent_color: r.get(4)?,
                        has_logo: r.get(5)?,
                        checkout_enabled: r.get(6)?,
                        slack_configured: r.get(7)?,
                        pass_policy: r.get(8)?,
                        pass_early_minutes: r.get(9)?,
                        notify_email: r.get(10)?,
                        notify_slack: r.get(11)?,
                    })
                },
            )?)
        })
        .await
    }

    /// Saves a tenant's settings.
    pub async fn update_tenant_settings(
        &self,
        tenant: TenantId,
        update: SettingsUpdate,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE tenants SET name = ?1, default_locale = ?2, time_zone = ?3, primary_color = ?4, accent_color = ?5,
                        checkout_enabled = ?6, pass_policy = ?7, pass_early_minutes = ?8, notify_email = ?9, notify_slack = ?10
                 WHERE id = ?11",
                params![update.name.as_str(), update.default_locale.as_str(), update.time_zone.name(), update.primary_color,
                    update.accent_color, update.checkout_enabled, update.pass_policy, update.pass_early_minutes,
                    update.notify_email, update.notify_slack, tenant.get()],
            )?;
            append(tx, &ctx, "settings.update", "tenant", Some(tenant.to_string()), Outcome::Ok, &json!({}))?;
            Ok(())
        })
        .await
    }

    /// Sets or removes the tenant's logo (PNG bytes, already checked by the caller).
    pub async fn set_logo(
        &self,
        tenant: TenantId,
        png: Option<Vec<u8>>,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE tenants SET logo_png = ?1 WHERE id = ?2",
                params![png, tenant.get()],
            )?;
            append(
                tx,
                &ctx,
                "settings.logo",
                "tenant",
                Some(tenant.to_string()),
                Outcome::Ok,
                &json!({"present": png.is_some()}),
            )?;
            Ok(())
        })
        .await
    }

    /// The tenant's logo, if any.
    pub async fn logo(&self, tenant: TenantId) -> StoreResult<Option<Vec<u8>>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT logo_png FROM tenants WHERE id = ?1",
                [tenant.get()],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Sets (or clears) the tenant's Slack incoming-webhook URL; stored sealed.
    pub async fn set_slack_webhook(
        &self,
        tenant: TenantId,
        url: Option<String>,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        let sealed = url
            .as_deref()
            .map(|u| self.keys().seal(u.as_bytes(), &slack_context(tenant)));
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE tenants SET slack_webhook = ?1 WHERE id = ?2",
                params![sealed, tenant.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append(
                tx,
                &ctx,
                "settings.slack_webhook",
                "tenant",
                Some(tenant.to_string()),
                Outcome::Ok,
                &json!({"configured": url.is_some()}),
            )?;
            Ok(())
        })
        .await
    }

    /// The tenant's Slack webhook URL, unsealed.
    pub async fn slack_webhook(&self, tenant: TenantId) -> StoreResult<Option<String>> {
        let sealed: Option<Vec<u8>> = self
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT slack_webhook FROM tenants WHERE id = ?1",
                    [tenant.get()],
                    |r| r.get(0),
                )?)
            })
            .await?;
        sealed
            .map(|s| {
                self.keys()
                    .open(&s, &slack_context(tenant))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
                    .and_then(|b| {
                        String::from_utf8(b).map_err(|e| StoreError::Corrupt(e.to_string()))
                    })
            })
            .transpose()
    }

    /// Creates a site.
    pub async fn create_site(
        &self,
        tenant: TenantId,
        name: OrgName,
        time_zone: TimeZone,
        address: String,
        ctx: AuditCtx,
    ) -> StoreResult<Site> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sites (tenant_id, name, time_zone, address, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![tenant.get(), name.as_str(), time_zone.name(), address, ts(ctx.at)],
            )?;
            let id = SiteId(tx.last_insert_rowid());
            append(tx, &ctx, "site.create", "site", Some(id.to_string()), Outcome::Ok, &json!({"name": name.as_str()}))?;
            Ok(Site {
                id,
                tenant_id: tenant,
                name,
                time_zone,
                address,
            })
        })
        .await
    }

    /// Changes a site's name, zone and address.
    pub async fn update_site(
        &self,
        tenant: TenantId,
        site: SiteId,
        name: OrgName,
        time_zone: TimeZone,
        address: String,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE sites SET name = ?1, time_zone = ?2, address = ?3 WHERE id = ?4 AND tenant_id = ?5",
                params![name.as_str(), time_zone.name(), address, site.get(), tenant.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append(tx, &ctx, "site.update", "site", Some(site.to_string()), Outcome::Ok, &json!({"name": name.as_str()}))?;
            Ok(())
        })
        .await
    }

    /// The tenant's sites.
    pub async fn sites(&self, tenant: TenantId) -> StoreResult<Vec<Site>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, tenant_id, name, time_zone, address FROM sites WHERE tenant_id = ?1 ORDER BY name",
            )?;
            let rows = stmt.query_map([tenant.get()], site_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// One site of the tenant.
    pub async fn site(&self, tenant: TenantId, site: SiteId) -> StoreResult<Site> {
        self.read(move |c| site_in(c, tenant, site)?.ok_or(StoreError::NotFound))
            .await
    }

    /// Creates a staff user. `password_hash` is a PHC string (argon2id) or `None` for invitees.
    pub async fn create_user(
        &self,
        tenant: TenantId,
        email: EmailAddress,
        name: DisplayName,
        role: Role,
        password_hash: Option<String>,
        ctx: AuditCtx,
    ) -> StoreResult<User> {
        self.write(move |tx| {
            let status = if password_hash.is_some() { "active" } else { "invited" };
            tx.execute(
                "INSERT INTO users (tenant_id, email, display_name, role, password_hash, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![tenant.get(), email.as_str(), name.as_str(), role.as_str(), password_hash, status, ts(ctx.at)],
            )?;
            let id = UserId(tx.last_insert_rowid());
            append(tx, &ctx, "user.create", "user", Some(id.to_string()), Outcome::Ok, &json!({"role": role.as_str()}))?;
            Ok(User {
                id,
                tenant_id: tenant,
                email: email.as_str().to_owned(),
                display_name: name.as_str().to_owned(),
                role,
                locale: None,
                status: status.to_owned(),
                created_at: ctx.at,
            })
        })
        .await
    }

    /// One user of the tenant.
    pub async fn user(&self, tenant: TenantId, id: UserId) -> StoreResult<User> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ?1 AND tenant_id = ?2"),
                params![id.get(), tenant.get()],
                user_row,
            )?)
        })
        .await
    }

    /// A user and their password hash, by e-mail, for sign-in.
    pub async fn user_credentials(
        &self,
        tenant: TenantId,
        email: &EmailAddress,
    ) -> StoreResult<Option<(User, Option<String>)>> {
        let email = email.as_str().to_owned();
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS}, password_hash FROM users WHERE tenant_id = ?1 AND email = ?2"),
                params![tenant.get(), email],
                |r| Ok((user_row(r)?, r.get(8)?)),
            )
            .optional()?)
        })
        .await
    }

    /// The tenant's users, by name.
    pub async fn users(&self, tenant: TenantId) -> StoreResult<Vec<User>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users WHERE tenant_id = ?1 ORDER BY display_name, id"
            ))?;
            let rows = stmt
                .query_map([tenant.get()], user_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}

fn slack_context(tenant: TenantId) -> String {
    format!("tenant:{tenant}:slack_webhook")
}
