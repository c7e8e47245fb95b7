//! Building each kind of e-mail from the store's facts: invitation, update,
//! cancellation and reminder mails (QR inline and attached, calendar file), host
//! alerts with reply links, and staff mails with single-use links.

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
use super::{Notifier, QR_CID, ics, qr, store_error, views};

/// Content id of the tenant's logo inside visitor mails.
const LOGO_CID: &str = "tenant-logo";

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
        // The tenant's logo (stored re-encoded as PNG) heads every mail to the visitor.
        let logo = self.store.logo(tenant).await.map_err(|e| store_error(&e))?;
        let view = views::invitation(&ctx, &code, QR_CID, logo.is_some().then_some(LOGO_CID));
        let rendered = self.render(tenant, msg.kind, msg.locale, &view).await?;
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
        // Only where the (possibly tenant-made) template shows it: an inline part the
        // HTML does not reference appears as a stray attachment in most mail clients.
        let shows_logo = rendered.html.contains(&format!("cid:{LOGO_CID}"));
        let mut inline_png: Vec<(String, Vec<u8>)> = logo
            .filter(|_| shows_logo)
            .map(|png| (LOGO_CID.to_owned(), png))
            .into_iter()
            .collect();
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
            inline_png.push((QR_CID.to_owned(), png));
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
        let reply = self.reply_urls(tenant, &msg, visit, ctx.time_zone);
        let view = views::arrival(&ctx, &reply);
        let rendered = self
            .render(tenant, MessageKind::HostArrival, msg.locale, &view)
            .await?;
        self.mailer
            .send(OutgoingMail {
                to_name: Some(ctx.host_name),
                to_address: msg.recipient,
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                inline_png: Vec::new(),
                attachments: Vec::new(),
            })
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
                inline_png: Vec::new(),
                attachments: Vec::new(),
            })
            .await
    }
}

impl Notifier {
    /// "Kiosk silent" to one admin: which kiosk, where, since when.
    pub(super) async fn send_kiosk_silent(
        &self,
        tenant: TenantId,
        msg: Claimed,
    ) -> Result<String, SendError> {
        let admin = msg
            .user_id
            .ok_or_else(|| SendError::Permanent("kiosk alert without admin".to_owned()))?;
        let payload: genkan_store::kiosk_health::SilencePayload = msg
            .secret_payload
            .as_deref()
            .map(serde_json::from_slice)
            .transpose()
            .map_err(|_| SendError::Permanent("unreadable kiosk alert payload".to_owned()))?
            .ok_or_else(|| SendError::Permanent("kiosk alert without kiosk".to_owned()))?;
        let ctx = self
            .store
            .silence_context(tenant, genkan_core::id::KioskId(payload.kiosk_id), admin)
            .await
            .map_err(|e| store_error(&e))?;
        let view = json!({
            "admin_name": ctx.admin_name,
            "tenant_name": ctx.tenant_name,
            "kiosk_name": ctx.kiosk_name,
            "site_name": ctx.site_name,
            "minutes": ctx.silence_minutes,
            "last_seen": ctx.last_seen_at.map_or_else(|| "—".to_owned(), |t| ctx.time_zone.format_human(t)),
            "color": safe_color(&ctx.primary_color),
        });
        let rendered = self
            .renderer
            .mail(MessageKind::KioskSilent, msg.locale, &view)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.mailer
            .send(OutgoingMail {
                to_name: Some(ctx.admin_name),
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
