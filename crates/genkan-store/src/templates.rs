//! A tenant's own message templates: per kind and language, any of subject, text
//! and HTML may replace the built-in one. The server validates them before saving.

use genkan_core::audit::Outcome;
use genkan_core::id::TenantId;
use genkan_core::notification::MessageKind;
use genkan_core::text::Locale;
use rusqlite::params;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::StoreResult;
use crate::sql::ts;

/// The three parts of a message template; `None` keeps the built-in part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateParts {
    /// Subject line.
    pub subject: Option<String>,
    /// Plain text body.
    pub text: Option<String>,
    /// HTML body.
    pub html: Option<String>,
}

impl TemplateParts {
    /// Whether no part is overridden.
    pub fn is_empty(&self) -> bool {
        self.subject.is_none() && self.text.is_none() && self.html.is_none()
    }
}

impl Store {
    /// The tenant's overrides of `kind` in `locale`.
    pub async fn template_overrides(
        &self,
        tenant: TenantId,
        kind: MessageKind,
        locale: Locale,
    ) -> StoreResult<TemplateParts> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT part, source FROM message_templates WHERE tenant_id = ?1 AND kind = ?2 AND locale = ?3",
            )?;
            let mut parts = TemplateParts::default();
            let rows = stmt
                .query_map(params![tenant.get(), kind.as_str(), locale.as_str()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (part, source) in rows {
                match part.as_str() {
                    "subject" => parts.subject = Some(source),
                    "text" => parts.text = Some(source),
                    _ => parts.html = Some(source),
                }
            }
            Ok(parts)
        })
        .await
    }

    /// Replaces the tenant's overrides of `kind` in `locale` (absent parts revert to
    /// the built-in ones).
    pub async fn set_template(
        &self,
        tenant: TenantId,
        kind: MessageKind,
        locale: Locale,
        parts: TemplateParts,
        ctx: AuditCtx,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM message_templates WHERE tenant_id = ?1 AND kind = ?2 AND locale = ?3",
                params![tenant.get(), kind.as_str(), locale.as_str()],
            )?;
            for (part, source) in [("subject", &parts.subject), ("text", &parts.text), ("html", &parts.html)] {
                if let Some(source) = source {
                    tx.execute(
                        "INSERT INTO message_templates (tenant_id, kind, locale, part, source, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![tenant.get(), kind.as_str(), locale.as_str(), part, source, ts(ctx.at)],
                    )?;
                }
            }
            append(tx, &ctx, "settings.template", "template", Some(format!("{}/{}", kind.as_str(), locale.as_str())),
                Outcome::Ok, &json!({"custom": !parts.is_empty()}))?;
            Ok(())
        })
        .await
    }

    /// `(kind, locale)` pairs the tenant customised.
    pub async fn customised_templates(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<(String, String)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT kind, locale FROM message_templates WHERE tenant_id = ?1 ORDER BY kind, locale",
            )?;
            let rows = stmt
                .query_map([tenant.get()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}
