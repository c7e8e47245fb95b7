//! Notices over the chat and HTTP channels (Slack, Teams, Chatwork, the generic
//! webhook): one notice per message kind, laid out by each channel with its own
//! escaping, sent through the SSRF-safe client.

use chrono::Duration;
use genkan_core::id::{TenantId, VisitId};
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::text::Locale;
use genkan_core::wire::v1::ReplyKind;
use genkan_store::outbox::Claimed;
use serde_json::{Value, json};

use super::email::SendError;
use super::links::{self, ReplyLink};
use super::{Notifier, Sent, chatwork, slack, store_error, teams, views, webhook};

/// What a notice says, before a channel lays it out.
pub(crate) struct Notice {
    headline: String,
    fields: Vec<(&'static str, String)>,
    event: Value,
    visit: Option<VisitId>,
}

fn text_of(config: &Value, key: &str) -> Result<String, SendError> {
    config[key]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| SendError::Permanent(format!("channel setting {key} is missing")))
}

impl Notifier {
    async fn notice(&self, tenant: TenantId, msg: &Claimed) -> Result<Notice, SendError> {
        let ja = msg.locale == Locale::Ja;
        match msg.kind {
            MessageKind::HostArrival => {
                let visit = msg
                    .visit_id
                    .ok_or_else(|| SendError::Permanent("alert without visit".to_owned()))?;
                let ctx = self
                    .store
                    .arrival_context(tenant, visit)
                    .await
                    .map_err(|e| store_error(&e))?;
                let who = match (&ctx.visitor_company, ja) {
                    (Some(c), true) => format!("{} 様（{c}）", ctx.visitor_name),
                    (Some(c), false) => format!("{} ({c})", ctx.visitor_name),
                    (None, true) => format!("{} 様", ctx.visitor_name),
                    (None, false) => ctx.visitor_name.clone(),
                };
                let headline = if ja {
                    format!("{who}が{}に到着しました", ctx.site_name)
                } else {
                    format!("{who} has arrived at {}", ctx.site_name)
                };
                let site = match &ctx.kiosk_name {
                    Some(k) => format!("{} — {k}", ctx.site_name),
                    None => ctx.site_name.clone(),
                };
                let at = ctx.time_zone.format_human(ctx.checked_in_at);
                let mut fields = vec![
                    (if ja { "担当者" } else { "Host" }, ctx.host_name.clone()),
                    (if ja { "拠点" } else { "Site" }, site),
                    (if ja { "時刻" } else { "Time" }, at),
                ];
                if let Some(title) = &ctx.title {
                    fields.push((if ja { "ご用件" } else { "About" }, title.clone()));
                }
                let event = json!({
                    "event": "visitor.arrived",
                    "id": format!("msg-{}", msg.id),
                    "tenant": ctx.tenant_slug,
                    "occurred_at": ctx.time_zone.format(ctx.checked_in_at),
                    "visit": {
                        "id": visit.get(),
                        "appointment_id": ctx.appointment_id,
                        "visitor_name": ctx.visitor_name,
                        "visitor_company": ctx.visitor_company,
                        "host_name": ctx.host_name,
                        "site_name": ctx.site_name,
                        "kiosk_name": ctx.kiosk_name,
                        "title": ctx.title,
                        "checked_in_at": ctx.time_zone.format(ctx.checked_in_at),
                    },
                });
                Ok(Notice {
                    headline,
                    fields,
                    event,
                    visit: Some(visit),
                })
            }
            MessageKind::NoShow | MessageKind::InvitationFailed => {
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
                let status = state.as_ref().map_or("none", |s| s.status.as_str());
                let no_show = msg.kind == MessageKind::NoShow;
                let headline = match (no_show, ja) {
                    (true, true) => format!("{} 様がまだ到着していません", ctx.visitor_name),
                    (true, false) => format!("{} has not arrived yet", ctx.visitor_name),
                    (false, true) => {
                        format!("{} 様への招待メールが届きませんでした", ctx.visitor_name)
                    }
                    (false, false) => {
                        format!(
                            "The invitation to {} could not be delivered",
                            ctx.visitor_name
                        )
                    }
                };
                let mut fields = vec![
                    (
                        if ja { "予定" } else { "Expected" },
                        ctx.time_zone.format_human(ctx.starts_at),
                    ),
                    (if ja { "拠点" } else { "Site" }, ctx.site_name.clone()),
                    (
                        if ja { "招待メール" } else { "Invitation" },
                        views::status_label(status, ja).to_owned(),
                    ),
                ];
                if let Some(error) = state.as_ref().and_then(|s| s.last_error.clone()) {
                    fields.push((if ja { "理由" } else { "Reason" }, error));
                }
                let event = json!({
                    "event": if no_show { "visitor.no_show" } else { "invitation.failed" },
                    "id": format!("msg-{}", msg.id),
                    "occurred_at": ctx.time_zone.format(self.clock.now()),
                    "appointment": {
                        "id": ctx.appointment_id,
                        "visitor_name": ctx.visitor_name,
                        "visitor_company": ctx.visitor_company,
                        "host_name": ctx.host_name,
                        "site_name": ctx.site_name,
                        "starts_at": ctx.time_zone.format(ctx.starts_at),
                        "invitation_status": status,
                    },
                });
                Ok(Notice {
                    headline,
                    fields,
                    event,
                    visit: None,
                })
            }
            kind => Err(SendError::Permanent(format!(
                "no {} message for {}",
                msg.channel.as_str(),
                kind.as_str()
            ))),
        }
    }

    /// Delivers a message of a chat or HTTP channel.
    pub(super) async fn deliver_chat(&self, msg: &Claimed) -> Result<Sent, SendError> {
        let tenant = msg
            .tenant_id
            .ok_or_else(|| SendError::Permanent("message without tenant".to_owned()))?;
        let notice = self.notice(tenant, msg).await?;
        let private = self.config.outbound.allow_private_networks;
        let fields: Vec<(&str, String)> = notice.fields.clone();
        match msg.channel {
            Channel::Slack => self.deliver_slack(tenant, msg, &notice).await,
            Channel::Teams => {
                let config = self.channel_config(tenant, "teams").await?;
                let payload = teams::payload(&notice.headline, &fields);
                let detail =
                    teams::post(&self.http, &text_of(&config, "url")?, &payload, private).await?;
                Ok(Sent::accepted(detail))
            }
            Channel::Chatwork => {
                let config = self.channel_config(tenant, "chatwork").await?;
                let body = chatwork::body(&notice.headline, &fields);
                let detail = chatwork::post(
                    &self.http,
                    &self.config.outbound.chatwork_api_url,
                    &text_of(&config, "token")?,
                    &text_of(&config, "room_id")?,
                    &body,
                    private,
                )
                .await?;
                Ok(Sent::confirmed(detail))
            }
            Channel::Webhook => {
                let config = self.channel_config(tenant, "webhook").await?;
                let detail = webhook::post(
                    &self.http,
                    &text_of(&config, "url")?,
                    &text_of(&config, "secret")?,
                    &format!("msg-{}", msg.id),
                    &notice.event,
                    self.clock.now().timestamp(),
                    private,
                )
                .await?;
                Ok(Sent::confirmed(detail))
            }
            Channel::Email => Err(SendError::Permanent("not a chat channel".to_owned())),
        }
    }

    async fn channel_config(
        &self,
        tenant: TenantId,
        key: &'static str,
    ) -> Result<Value, SendError> {
        self.store
            .channel(tenant, key)
            .await
            .map_err(|e| store_error(&e))?
            .ok_or_else(|| SendError::Permanent(format!("{key} is no longer configured")))
    }

    /// Reply buttons for an arrival alert, when the tenant's Slack app has a signing
    /// secret (so clicks can be verified).
    fn buttons(
        &self,
        tenant: TenantId,
        msg: &Claimed,
        notice: &Notice,
        bot: Option<&Value>,
    ) -> Option<slack::Buttons> {
        let visit = notice.visit?;
        let signing = bot?["signing_secret"].as_str().filter(|s| !s.is_empty());
        signing?;
        let expires = (self.clock.now()
            + Duration::hours(self.config.notify.reply_link_hours.max(1)))
        .timestamp();
        let token = |kind| {
            links::sign(
                self.store.keys(),
                &ReplyLink {
                    tenant,
                    visit,
                    message: msg.id,
                    kind,
                    expires,
                },
            )
        };
        let ja = msg.locale == Locale::Ja;
        Some(slack::Buttons {
            coming_label: if ja {
                "すぐに向かいます"
            } else {
                "I'm coming"
            }
            .to_owned(),
            coming: token(ReplyKind::Coming),
            wait_label: if ja {
                "ロビーでお待ちください"
            } else {
                "Please wait in the lobby"
            }
            .to_owned(),
            wait: token(ReplyKind::Wait),
        })
    }

    async fn deliver_slack(
        &self,
        tenant: TenantId,
        msg: &Claimed,
        notice: &Notice,
    ) -> Result<Sent, SendError> {
        let private = self.config.outbound.allow_private_networks;
        let bot = self
            .store
            .channel(tenant, "slack_bot")
            .await
            .map_err(|e| store_error(&e))?;
        let payload = slack::notice_payload(
            &slack::ArrivalMessage {
                headline: &notice.headline,
                fields: notice.fields.clone(),
            },
            self.buttons(tenant, msg, notice, bot.as_ref()).as_ref(),
        );
        let recipient = msg.recipient.as_str();
        let webhook = if recipient == "tenant" {
            Some(self.store.slack_webhook(tenant).await)
        } else if let Some(site) = recipient.strip_prefix("site:") {
            let site = site
                .parse::<i64>()
                .map_err(|_| SendError::Permanent("bad site target".to_owned()))?;
            Some(
                self.store
                    .site_slack_webhook(tenant, genkan_core::id::SiteId(site))
                    .await,
            )
        } else {
            None
        };
        if let Some(url) = webhook {
            let url = url
                .map_err(|e| store_error(&e))?
                .ok_or_else(|| SendError::Permanent("Slack is no longer configured".to_owned()))?;
            let detail = slack::post(&self.http, &url, &payload, private).await?;
            return Ok(Sent::confirmed(detail));
        }
        let bot = bot.ok_or_else(|| {
            SendError::Permanent("the Slack bot is no longer configured".to_owned())
        })?;
        let token = text_of(&bot, "bot_token")?;
        let api = &self.config.outbound.slack_api_url;
        let channel = if let Some(email) = recipient.strip_prefix("dm:") {
            self.slack_dm_channel(tenant, &token, email).await?
        } else if let Some(name) = recipient.strip_prefix("channel:") {
            name.to_owned()
        } else {
            return Err(SendError::Permanent("unknown Slack target".to_owned()));
        };
        let detail =
            slack::post_message(&self.http, api, &token, &channel, &payload, private).await?;
        Ok(Sent::confirmed(detail))
    }

    /// The direct-message channel with the Slack user of `email`, looked up once per
    /// tenant and address while the server runs.
    async fn slack_dm_channel(
        &self,
        tenant: TenantId,
        token: &str,
        email: &str,
    ) -> Result<String, SendError> {
        let key = (tenant, email.to_ascii_lowercase());
        if let Some(found) = self.slack_dms.lock().await.get(&key) {
            return Ok(found.clone());
        }
        let channel = slack::open_dm(
            &self.http,
            &self.config.outbound.slack_api_url,
            token,
            email,
            self.config.outbound.allow_private_networks,
        )
        .await?;
        self.slack_dms.lock().await.insert(key, channel.clone());
        Ok(channel)
    }
}
