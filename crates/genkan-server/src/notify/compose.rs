//! Building each kind of message from the store's facts: invitation and cancellation
//! mails (QR inline and attached, calendar file), host alerts by mail and Slack, and
//! staff mails with single-use links.

use genkan_core::id::TenantId;
use genkan_core::notification::MessageKind;
use genkan_core::pass::PassToken;
use genkan_core::text::Locale;
use genkan_store::appointments::PassSecrets;
use genkan_store::outbox::Claimed;
use genkan_store::users::LinkSecret;
use serde_json::json;

use super::email::{FileAttachment, OutgoingMail, SendError};
use super::render::safe_color;
use super::{Notifier, QR_CID, ics, qr, slack, store_error};

impl Notifier {
    pub(super) async fn send_invitation(
        &self,
        tenant: TenantId,
        msg: Claimed,
    ) -> Result<String, SendError> {
        let visitor = msg
            .visitor_id
            .ok_or_else(|| SendError::Permanent("invitation without visitor".to_owned()))?;
        let ctx = self
            .store
            .invitation_context(tenant, visitor)
            .await
            .map_err(|e| store_error(&e))?;
        let zone = ctx.time_zone;
        let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&zone.tz());
        let start = local(ctx.starts_at);
        let map_url = (!ctx.site_address.trim().is_empty()).then(|| {
            format!(
                "https://www.google.com/maps/search/?api=1&query={}",
                url::form_urlencoded::byte_serialize(ctx.site_address.as_bytes())
                    .collect::<String>()
            )
        });
        let cancelled = msg.kind == MessageKind::Cancellation;
        let carries_pass = msg.kind == MessageKind::Invitation;
        let secrets: Option<PassSecrets> = msg
            .secret_payload
            .as_deref()
            .map(serde_json::from_slice)
            .transpose()
            .map_err(|_| SendError::Permanent("unreadable pass payload".to_owned()))?;
        if carries_pass && secrets.is_none() {
            return Err(SendError::Permanent(
                "the pass secrets are gone (resend the invitation)".to_owned(),
            ));
        }
        let code = secrets
            .as_ref()
            .and_then(|s| genkan_core::pass::FallbackCode::parse(&s.code).ok())
            .map(|c| c.display())
            .unwrap_or_default();
        let human =
            |t: chrono::DateTime<chrono::Utc>| local(t).format("%Y-%m-%d %H:%M").to_string();
        let view = json!({
            "tenant_name": ctx.tenant_name,
            "visitor_name": ctx.visitor_name,
            "host_name": ctx.host_name,
            "site_name": ctx.site_name,
            "site_address": ctx.site_address,
            "map_url": map_url,
            "title": ctx.title,
            "date": start.format("%Y-%m-%d").to_string(),
            "start": start.format("%H:%M").to_string(),
            "end": local(ctx.ends_at).format("%H:%M").to_string(),
            "offset": start.format("%:z").to_string(),
            "code": code,
            "valid_from": human(ctx.valid_from),
            "valid_until": human(ctx.valid_until),
            "qr_cid": QR_CID,
            "color": safe_color(&ctx.primary_color),
        });
        let rendered = self
            .renderer
            .mail(msg.kind, msg.locale, &view)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let description = if !carries_pass {
            String::new()
        } else {
            format!(
                "{}: {code}",
                if msg.locale == Locale::Ja {
                    "受付コード"
                } else {
                    "Reception code"
                }
            )
        };
        let location = if ctx.site_address.is_empty() {
            ctx.site_name.clone()
        } else {
            format!("{}, {}", ctx.site_name, ctx.site_address)
        };
        let summary = ctx.title.clone().unwrap_or_else(|| ctx.tenant_name.clone());
        let calendar = ics::event(&ics::CalendarEvent {
            uid: format!("appointment-{}-{}@genkan", ctx.appointment_id, visitor),
            stamp: self.clock.now(),
            start: ctx.starts_at,
            end: ctx.ends_at,
            summary: &summary,
            location: &location,
            description: &description,
            cancelled,
        });
        let mut attachments = vec![FileAttachment {
            name: "invitation.ics".to_owned(),
            content_type: "text/calendar; charset=utf-8".to_owned(),
            bytes: calendar.into_bytes(),
        }];
        let mut inline_png = None;
        if let Some(secrets) = secrets.filter(|_| carries_pass) {
            let token = PassToken::parse(&secrets.token)
                .map_err(|_| SendError::Permanent("bad pass token".to_owned()))?;
            let png = qr::png(&token).map_err(|e| SendError::Permanent(e.to_string()))?;
            attachments.insert(
                0,
                FileAttachment {
                    name: "pass.png".to_owned(),
                    content_type: "image/png".to_owned(),
                    bytes: png.clone(),
                },
            );
            inline_png = Some((QR_CID.to_owned(), png));
        }
        self.mailer
            .send(OutgoingMail {
                to_name: Some(ctx.visitor_name),
                to_address: msg.recipient,
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                inline_png,
                attachments,
            })
            .await
    }

    pub(super) async fn send_arrival_mail(
        &self,
        tenant: TenantId,
        msg: Claimed,
    ) -> Result<String, SendError> {
        let visit = msg
            .visit_id
            .ok_or_else(|| SendError::Permanent("alert without visit".to_owned()))?;
        let ctx = self
            .store
            .arrival_context(tenant, visit)
            .await
            .map_err(|e| store_error(&e))?;
        let view = json!({
            "host_name": ctx.host_name,
            "visitor_name": ctx.visitor_name,
            "visitor_company": ctx.visitor_company,
            "site_name": ctx.site_name,
            "kiosk_name": ctx.kiosk_name,
            "arrived_at": ctx.time_zone.format_human(ctx.checked_in_at),
            "title": ctx.title,
        });
        let rendered = self
            .renderer
            .mail(MessageKind::HostArrival, msg.locale, &view)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.mailer
            .send(OutgoingMail {
                to_name: Some(ctx.host_name),
                to_address: msg.recipient,
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                inline_png: None,
                attachments: Vec::new(),
            })
            .await
    }

    pub(super) async fn send_arrival_slack(
        &self,
        tenant: TenantId,
        msg: Claimed,
    ) -> Result<String, SendError> {
        let visit = msg
            .visit_id
            .ok_or_else(|| SendError::Permanent("alert without visit".to_owned()))?;
        let ctx = self
            .store
            .arrival_context(tenant, visit)
            .await
            .map_err(|e| store_error(&e))?;
        let Some(url) = self
            .store
            .slack_webhook(tenant)
            .await
            .map_err(|e| store_error(&e))?
        else {
            return Err(SendError::Permanent(
                "Slack is no longer configured".to_owned(),
            ));
        };
        let ja = msg.locale == Locale::Ja;
        let who = match &ctx.visitor_company {
            Some(c) if ja => format!("{} 様（{c}）", ctx.visitor_name),
            Some(c) => format!("{} ({c})", ctx.visitor_name),
            None if ja => format!("{} 様", ctx.visitor_name),
            None => ctx.visitor_name.clone(),
        };
        let headline = if ja {
            format!("{who}が{}に到着しました", ctx.site_name)
        } else {
            format!("{who} has arrived at {}", ctx.site_name)
        };
        let (l_host, l_site, l_time) = if ja {
            ("担当者", "拠点", "時刻")
        } else {
            ("Host", "Site", "Time")
        };
        let site = match &ctx.kiosk_name {
            Some(k) => format!("{} — {k}", ctx.site_name),
            None => ctx.site_name.clone(),
        };
        let payload = slack::arrival_payload(&slack::ArrivalMessage {
            headline: &headline,
            fields: vec![
                (l_host, ctx.host_name.clone()),
                (l_site, site),
                (l_time, ctx.time_zone.format_human(ctx.checked_in_at)),
            ],
        });
        slack::post(
            &self.http,
            &url,
            &payload,
            self.config.outbound.allow_private_networks,
        )
        .await
    }

    pub(super) async fn send_user_link(
        &self,
        tenant: TenantId,
        msg: Claimed,
    ) -> Result<String, SendError> {
        let user = msg
            .user_id
            .ok_or_else(|| SendError::Permanent("link mail without user".to_owned()))?;
        let ctx = self
            .store
            .user_context(tenant, user)
            .await
            .map_err(|e| store_error(&e))?;
        let secret: LinkSecret = msg
            .secret_payload
            .as_deref()
            .map(serde_json::from_slice)
            .transpose()
            .map_err(|_| SendError::Permanent("unreadable link payload".to_owned()))?
            .ok_or_else(|| {
                SendError::Permanent("the link secret is gone (send a new link)".to_owned())
            })?;
        let path = if msg.kind == MessageKind::UserInvitation {
            "invite"
        } else {
            "password/reset"
        };
        let base = self.config.server.public_url.trim_end_matches('/');
        let view = json!({
            "name": ctx.name,
            "tenant_name": ctx.tenant_name,
            "organisation": ctx.slug,
            "inviter": secret.inviter.unwrap_or_default(),
            "link": format!("{base}/{path}/{}", secret.secret),
            "color": safe_color(&ctx.primary_color),
        });
        let rendered = self
            .renderer
            .mail(msg.kind, msg.locale, &view)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.mailer
            .send(OutgoingMail {
                to_name: Some(ctx.name),
                to_address: msg.recipient,
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                inline_png: None,
                attachments: Vec::new(),
            })
            .await
    }
}
