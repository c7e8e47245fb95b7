//! Messages from the operator side: notices to a tenant's admins (e-mail and the
//! tenant's Slack) and alerts to the operator's own address (failed backups and
//! restore drills). Neither depends on a visitor or a visit.

use genkan_core::notification::{Channel, MessageKind};
use genkan_core::tenant::TimeZone;
use genkan_core::text::Locale;
use genkan_store::outbox::Claimed;
use serde_json::json;

use super::email::{OutgoingMail, SendError};
use super::{Notifier, slack, store_error};

/// The kind of a notice in words.
pub(super) fn kind_label(kind: &str, locale: Locale) -> &'static str {
    match (kind, locale) {
        ("incident", Locale::Ja) => "障害",
        ("incident", _) => "Incident",
        ("maintenance", Locale::Ja) => "メンテナンス",
        ("maintenance", _) => "Maintenance",
        ("sla_change", Locale::Ja) => "SLA 変更",
        ("sla_change", _) => "SLA change",
        ("end_of_service", Locale::Ja) => "サービス終了",
        ("end_of_service", _) => "End of service",
        (_, Locale::Ja) => "お知らせ",
        _ => "Notice",
    }
}

impl Notifier {
    /// Delivers notices and operator alerts; `None` for every other message.
    pub(super) async fn deliver_operator(
        &self,
        msg: &Claimed,
    ) -> Option<Result<String, SendError>> {
        match (msg.kind, msg.channel) {
            (MessageKind::Notice, Channel::Email | Channel::Slack) => {
                Some(self.send_notice(msg).await)
            }
            (MessageKind::OperatorAlert, Channel::Email) => {
                Some(self.send_operator_alert(msg).await)
            }
            _ => None,
        }
    }

    async fn send_notice(&self, msg: &Claimed) -> Result<String, SendError> {
        let notice = self
            .store
            .notice_content(msg.id)
            .await
            .map_err(|e| store_error(&e))?;
        let label = kind_label(&notice.kind, msg.locale);
        if msg.channel == Channel::Slack {
            let tenant = msg
                .tenant_id
                .ok_or_else(|| SendError::Permanent("notice without tenant".to_owned()))?;
            let url = self
                .store
                .slack_webhook(tenant)
                .await
                .map_err(|e| store_error(&e))?
                .ok_or_else(|| SendError::Permanent("Slack is no longer configured".to_owned()))?;
            let headline = format!("[{label}] {}", notice.title);
            let payload = slack::arrival_payload(&slack::ArrivalMessage {
                headline: &headline,
                fields: vec![(label, notice.body.clone())],
            });
            return slack::post(
                &self.http,
                &url,
                &payload,
                self.config.outbound.allow_private_networks,
            )
            .await;
        }
        let view = json!({
            "kind_label": label,
            "title": notice.title,
            "body": notice.body,
            "tenant_name": notice.tenant_name,
            "published_at": TimeZone::default().format_human(notice.published_at),
        });
        let rendered = self
            .renderer
            .mail(MessageKind::Notice, msg.locale, &view)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.mailer
            .send(OutgoingMail {
                to_name: None,
                to_address: msg.recipient.clone(),
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                inline_png: Vec::new(),
                attachments: Vec::new(),
            })
            .await
    }

    async fn send_operator_alert(&self, msg: &Claimed) -> Result<String, SendError> {
        let payload: serde_json::Value = msg
            .secret_payload
            .as_deref()
            .map(serde_json::from_slice)
            .transpose()
            .map_err(|_| SendError::Permanent("unreadable alert payload".to_owned()))?
            .ok_or_else(|| SendError::Permanent("the alert text is gone".to_owned()))?;
        let rendered = self
            .renderer
            .mail(MessageKind::OperatorAlert, Locale::En, &payload)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.mailer
            .send(OutgoingMail {
                to_name: None,
                to_address: msg.recipient.clone(),
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                inline_png: Vec::new(),
                attachments: Vec::new(),
            })
            .await
    }
}
