//! Notification settings: the tenant's channels (Slack bot, Teams, Chatwork, generic
//! webhook; tokens and URLs sealed at rest), reminder and no-show policies, the
//! alert contacts and Slack webhook of each site, and hosts who are away.

use genkan_core::audit::Outcome;
use genkan_core::id::{SiteId, TenantId, UserId};
use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::sql::ts;

/// The channels whose settings live in `tenant_channels`.
pub const CHANNEL_KEYS: &[&str] = &["slack_bot", "teams", "chatwork", "webhook"];

fn channel_context(tenant: TenantId, channel: &str) -> String {
    format!("tenant:{tenant}:channel:{channel}")
}

fn site_webhook_context(tenant: TenantId, site: SiteId) -> String {
    format!("tenant:{tenant}:site:{site}:slack_webhook")
}

/// A tenant's reminder and no-show policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NotificationPolicy {
    /// Visitors get a reminder the day before.
    pub reminder_enabled: bool,
    /// Local hour (0–23) from which reminders for tomorrow go out.
    pub reminder_hour: i64,
    /// Minutes after the start without arrival before the host is told (0: never).
    pub no_show_minutes: i64,
}

/// A site's alert contacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SiteAlerts {
    /// E-mail addresses alerted on every arrival, one per line.
    pub emails: String,
    /// Slack channel the bot posts every arrival to (empty: none).
    pub slack_channel: String,
    /// Whether the site has its own Slack webhook (the URL itself is sealed).
    pub slack_webhook_configured: bool,
}

/// Whether a user is away, and who receives their alerts meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Away {
    /// Marked away.
    pub away: bool,
    /// The delegate.
    pub delegate: Option<UserId>,
}

impl Store {
    /// Saves (or with `None` removes) the settings of channel `key` (one of
    /// [`CHANNEL_KEYS`]); the JSON is sealed, only "configured" is audited.
    pub async fn set_channel(
        &self,
        tenant: TenantId,
        key: &'static str,
        config: Option<Value>,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        if !CHANNEL_KEYS.contains(&key) {
            return Err(StoreError::NotFound);
        }
        let sealed = config.as_ref().map(|c| {
            self.keys()
                .seal(c.to_string().as_bytes(), &channel_context(tenant, key))
        });
        self.write(move |tx| {
            match &sealed {
                Some(bytes) => tx.execute(
                    "INSERT INTO tenant_channels (tenant_id, channel, config, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (tenant_id, channel) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
                    params![tenant.get(), key, bytes, ts(ctx.at)],
                )?,
                None => tx.execute(
                    "DELETE FROM tenant_channels WHERE tenant_id = ?1 AND channel = ?2",
                    params![tenant.get(), key],
                )?,
            };
            append(tx, &ctx, &format!("settings.channel.{key}"), "tenant", Some(tenant.to_string()),
                Outcome::Ok, &json!({"configured": sealed.is_some()}))?;
            Ok(())
        })
        .await
    }

    /// The unsealed settings of channel `key`, if configured.
    pub async fn channel(&self, tenant: TenantId, key: &'static str) -> StoreResult<Option<Value>> {
        let sealed: Option<Vec<u8>> = self
            .read(move |c| {
                Ok(c.prepare_cached(
                    "SELECT config FROM tenant_channels WHERE tenant_id = ?1 AND channel = ?2",
                )?
                .query_row(params![tenant.get(), key], |r| r.get(0))
                .optional()?)
            })
            .await?;
        sealed
            .map(|s| {
                let plain = self
                    .keys()
                    .open(&s, &channel_context(tenant, key))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                serde_json::from_slice(&plain).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    /// Which of [`CHANNEL_KEYS`] the tenant configured.
    pub async fn configured_channels(&self, tenant: TenantId) -> StoreResult<Vec<String>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT channel FROM tenant_channels WHERE tenant_id = ?1 ORDER BY channel",
            )?;
            let rows = stmt
                .query_map([tenant.get()], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// The tenant's reminder and no-show policies.
    pub async fn notification_policy(&self, tenant: TenantId) -> StoreResult<NotificationPolicy> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT reminder_enabled, reminder_hour, no_show_minutes FROM tenants WHERE id = ?1",
                [tenant.get()],
                |r| {
                    Ok(NotificationPolicy {
                        reminder_enabled: r.get(0)?,
                        reminder_hour: r.get(1)?,
                        no_show_minutes: r.get(2)?,
                    })
                },
            )?)
        })
        .await
    }

    /// Saves the reminder and no-show policies (validated by the caller).
    pub async fn set_notification_policy(
        &self,
        tenant: TenantId,
        policy: NotificationPolicy,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE tenants SET reminder_enabled = ?1, reminder_hour = ?2, no_show_minutes = ?3 WHERE id = ?4",
                params![policy.reminder_enabled, policy.reminder_hour, policy.no_show_minutes, tenant.get()],
            )?;
            append(tx, &ctx, "settings.notification_policy", "tenant", Some(tenant.to_string()), Outcome::Ok,
                &json!({"reminder": policy.reminder_enabled, "no_show_minutes": policy.no_show_minutes}))?;
            Ok(())
        })
        .await
    }

    /// A site's alert contacts.
    pub async fn site_alerts(&self, tenant: TenantId, site: SiteId) -> StoreResult<SiteAlerts> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT alert_emails, alert_slack_channel, slack_webhook IS NOT NULL FROM sites WHERE id = ?1 AND tenant_id = ?2",
                params![site.get(), tenant.get()],
                |r| Ok(SiteAlerts { emails: r.get(0)?, slack_channel: r.get(1)?, slack_webhook_configured: r.get(2)? }),
            )?)
        })
        .await
    }

    /// Saves a site's contact addresses (validated, one per line) and Slack channel.
    pub async fn set_site_alerts(
        &self,
        tenant: TenantId,
        site: SiteId,
        emails: Vec<String>,
        slack_channel: String,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE sites SET alert_emails = ?1, alert_slack_channel = ?2 WHERE id = ?3 AND tenant_id = ?4",
                params![emails.join("\n"), slack_channel, site.get(), tenant.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append(tx, &ctx, "site.alerts", "site", Some(site.to_string()), Outcome::Ok,
                &json!({"contacts": emails.len(), "slack_channel": !slack_channel.is_empty()}))?;
            Ok(())
        })
        .await
    }

    /// Sets or clears a site's own Slack webhook (sealed).
    pub async fn set_site_slack_webhook(
        &self,
        tenant: TenantId,
        site: SiteId,
        url: Option<String>,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        let sealed = url.as_deref().map(|u| {
            self.keys()
                .seal(u.as_bytes(), &site_webhook_context(tenant, site))
        });
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE sites SET slack_webhook = ?1 WHERE id = ?2 AND tenant_id = ?3",
                params![sealed, site.get(), tenant.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append(
                tx,
                &ctx,
                "site.slack_webhook",
                "site",
                Some(site.to_string()),
                Outcome::Ok,
                &json!({"configured": sealed.is_some()}),
            )?;
            Ok(())
        })
        .await
    }

    /// A site's Slack webhook URL, unsealed.
    pub async fn site_slack_webhook(
        &self,
        tenant: TenantId,
        site: SiteId,
    ) -> StoreResult<Option<String>> {
        let sealed: Option<Vec<u8>> = self
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT slack_webhook FROM sites WHERE id = ?1 AND tenant_id = ?2",
                    params![site.get(), tenant.get()],
                    |r| r.get(0),
                )?)
            })
            .await?;
        sealed
            .map(|s| {
                let plain = self
                    .keys()
                    .open(&s, &site_webhook_context(tenant, site))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                String::from_utf8(plain).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    /// Whether `user` is away and who their delegate is.
    pub async fn away(&self, tenant: TenantId, user: UserId) -> StoreResult<Away> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT away, delegate_id FROM users WHERE id = ?1 AND tenant_id = ?2",
                params![user.get(), tenant.get()],
                |r| {
                    Ok(Away {
                        away: r.get(0)?,
                        delegate: r.get::<_, Option<i64>>(1)?.map(UserId),
                    })
                },
            )?)
        })
        .await
    }

    /// Marks `user` away (or back) with a delegate of the same tenant who is active
    /// and not the user. `Ok(false)` if the delegate is not acceptable.
    pub async fn set_away(
        &self,
        tenant: TenantId,
        user: UserId,
        away: Away,
        ctx: AuditCtx,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            if let Some(d) = away.delegate {
                let ok: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND tenant_id = ?2 AND status = 'active' AND id != ?3)",
                    params![d.get(), tenant.get(), user.get()],
                    |r| r.get(0),
                )?;
                if !ok {
                    return Ok(false);
                }
            }
            let n = tx.execute(
                "UPDATE users SET away = ?1, delegate_id = ?2 WHERE id = ?3 AND tenant_id = ?4",
                params![away.away, away.delegate.map(UserId::get), user.get(), tenant.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append(tx, &ctx, "user.away", "user", Some(user.to_string()), Outcome::Ok,
                &json!({"away": away.away, "delegate": away.delegate}))?;
            Ok(true)
        })
        .await
    }
}
