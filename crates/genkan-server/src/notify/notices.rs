//! Host notices by e-mail (no-show, failed invitation), the reply links of arrival
//! alerts, and rendering with the tenant's own templates.

use chrono::Duration;
use genkan_core::id::{TenantId, VisitId};
use genkan_core::notification::MessageKind;
use genkan_core::text::Locale;
use genkan_core::wire::v1::ReplyKind;
use genkan_store::outbox::Claimed;
use serde_json::Value;

use super::email::{OutgoingMail, SendError};
use super::links::{self, ReplyLink};
use super::render::RenderedMail;
use super::sandbox::Urgency;
use super::views::{self, ReplyUrls};
use super::{Notifier, store_error};

impl Notifier {
    /// Renders `kind` with the tenant's own templates where it has them (those in
    /// the sandbox). A template that is wrong or over a limit fails for good: the
    /// message is given up with the reason, never retried; a busy or unavailable
    /// sandbox is retried later.
    pub(super) async fn render(
        &self,
        tenant: TenantId,
        kind: MessageKind,
        locale: Locale,
        view: &Value,
    ) -> Result<RenderedMail, SendError> {
        let overrides = self
            .store
            .template_overrides(tenant, kind, locale)
            .await
            .map_err(|e| store_error(&e))?;
        super::custom::render(
            &self.sandbox,
            tenant,
            Urgency::Delivery,
            kind,
            locale,
            view,
            &overrides,
        )
        .await
        .map_err(|e| {
            if e.is_the_templates_fault() {
                SendError::Permanent(e.to_string())
            } else {
                SendError::transient(e.to_string())
            }
        })
    }

    /// Signed, expiring reply links for the recipient of arrival alert `msg`.
    pub(super) fn reply_urls(
        &self,
        tenant: TenantId,
        msg: &Claimed,
        visit: VisitId,
        zone: genkan_core::tenant::TimeZone,
    ) -> ReplyUrls {
        let now = self.clock.now();
        let expires_at = now + Duration::hours(self.config.notify.reply_link_hours.max(1));
        let base = self.config.server.public_url.trim_end_matches('/');
        let url = |kind| {
            let token = links::sign(
                self.store.keys(),
                &ReplyLink {
                    tenant,
                    visit,
                    message: msg.id,
                    kind,
                    expires: expires_at.timestamp(),
                },
            );
            format!("{base}/reply/{token}")
        };
        ReplyUrls {
            coming: Some(url(ReplyKind::Coming)),
            wait: Some(url(ReplyKind::Wait)),
            expires_at: zone.format_human(expires_at),
        }
    }

    /// The no-show or failed-invitation notice to the host by e-mail.
    pub(super) async fn send_host_notice(
        &self,
        tenant: TenantId,
        msg: Claimed,
    ) -> Result<String, SendError> {
        let visitor = msg
            .visitor_id
            .ok_or_else(|| SendError::Permanent("notice without visitor".to_owned()))?;
        let ctx = self
            .store
            .invitation_context(tenant, visitor)
            .await
            .map_err(|e| store_error(&e))?;
        let state = self
            .store
            .invitation_state(tenant, visitor)
            .await
            .map_err(|e| store_error(&e))?;
        let ja = msg.locale == Locale::Ja;
        let view = if msg.kind == MessageKind::NoShow {
            let minutes = self
                .store
                .notification_policy(tenant)
                .await
                .map_err(|e| store_error(&e))?
                .no_show_minutes;
            views::no_show(&ctx, minutes, state.as_ref(), ja)
        } else {
            let base = self.config.server.public_url.trim_end_matches('/');
            let error = state
                .as_ref()
                .and_then(|s| s.last_error.clone())
                .unwrap_or_default();
            views::invitation_failed(
                &ctx,
                &error,
                &format!("{base}/appointments/{}", ctx.appointment_id),
            )
        };
        let rendered = self.render(tenant, msg.kind, msg.locale, &view).await?;
        self.mailer
            .send(OutgoingMail {
                to_name: None,
                to_address: msg.recipient,
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                inline_png: Vec::new(),
                attachments: Vec::new(),
            })
            .await
    }
}
