//! Notification delivery: a worker claims due outbox messages, renders them, sends
//! them through their channel with a timeout, and records every attempt. Failures
//! are retried with exponential backoff and jitter, then dead-lettered.

pub mod email;
pub mod ics;
pub mod qr;
pub mod render;
pub mod slack;

use std::sync::Arc;

use chrono::Duration;
use genkan_core::Clock;
use genkan_core::notification::{Channel, MessageKind, RetryPolicy};
use genkan_core::pass::PassToken;
use genkan_core::text::{Locale, mask_email};
use genkan_store::Store;
use genkan_store::appointments::PassSecrets;
use genkan_store::outbox::{AttemptResult, Claimed};
use serde_json::json;
use tokio::sync::watch;

use crate::config::Config;
use email::{FileAttachment, Mailer, OutgoingMail, SendError};
use render::{Renderer, safe_color};

/// How long a worker holds a claimed message before others may retry it.
const LEASE: Duration = Duration::seconds(120);
/// Messages claimed per round.
const BATCH: usize = 64;
const QR_CID: &str = "pass-qr";

/// Delivers outbox messages.
pub struct Notifier {
    store: Store,
    clock: Arc<dyn Clock>,
    mailer: Mailer,
    http: reqwest::Client,
    renderer: Renderer,
    config: Arc<Config>,
    policy: RetryPolicy,
}

impl Notifier {
    /// A notifier for `store` with the configured channels.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Arc<Config>) -> Result<Self, String> {
        Ok(Self {
            mailer: Mailer::from_config(&config.mail)?,
            http: crate::outbound::client(
                config.outbound.timeout_secs,
                config.outbound.allow_private_networks,
            ),
            renderer: Renderer::new(),
            policy: RetryPolicy::default(),
            store,
            clock,
            config,
        })
    }

    /// Runs until `shutdown` turns true: delivers whatever is due, then waits for
    /// new messages (woken by the store after each commit) or the next retry time.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let signal = self.store.outbox_signal();
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Register interest before looking, so a commit in between is not missed.
            let notified = signal.notified();
            let delivered = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "outbox round failed");
                    0
                }
            };
            if delivered > 0 {
                continue;
            }
            let wait = match self.store.next_due_at(&self.channels()).await {
                Ok(Some(at)) => (at - self.clock.now()).to_std().unwrap_or_default(),
                _ => std::time::Duration::from_secs(30),
            }
            .min(std::time::Duration::from_secs(30));
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// The channels this server can deliver; other messages wait until configured.
    fn channels(&self) -> Vec<Channel> {
        let mut channels = vec![Channel::Slack];
        if self.mailer.enabled() {
            channels.push(Channel::Email);
        }
        channels
    }

    /// Claims and delivers one batch; returns how many messages were attempted.
    pub async fn run_once(&self) -> Result<usize, genkan_store::StoreError> {
        let claimed = self
            .store
            .claim_due(self.clock.now(), BATCH, LEASE, &self.channels())
            .await?;
        let n = claimed.len();
        let attempts = claimed.into_iter().map(|msg| async move {
            let id = msg.id;
            let attempt = msg.attempt;
            let channel = msg.channel;
            let kind = msg.kind;
            let recipient = mask_email(&msg.recipient);
            let outcome = self.deliver(msg).await;
            let now = self.clock.now();
            let result = match outcome {
                Ok(detail) => {
                    tracing::info!(message.id = %id, channel = channel.as_str(), kind = kind.as_str(), %recipient, "delivered");
                    AttemptResult::Sent { detail }
                }
                Err(SendError::Permanent(error)) => {
                    tracing::warn!(message.id = %id, channel = channel.as_str(), %recipient, %error, "delivery failed for good");
                    AttemptResult::Dead { error }
                }
                Err(SendError::Transient { message, retry_after }) => {
                    match self.policy.delay_after(attempt, rand::random::<f64>()) {
                        Some(delay) => {
                            let delay = delay.max(retry_after.unwrap_or(0).min(3600) as i64);
                            tracing::warn!(message.id = %id, channel = channel.as_str(), %recipient, error = %message, retry_in_secs = delay, "delivery failed; will retry");
                            AttemptResult::Retry { error: message, at: now + Duration::seconds(delay) }
                        }
                        None => {
                            tracing::warn!(message.id = %id, channel = channel.as_str(), %recipient, error = %message, "delivery failed; attempts exhausted");
                            AttemptResult::Dead { error: format!("gave up after {attempt} attempts: {message}") }
                        }
                    }
                }
            };
            if let Err(e) = self.store.record_attempt(id, now, result).await {
                // The lease will expire and the message be retried: at most one duplicate.
                tracing::error!(message.id = %id, error = %e, "could not record delivery");
            }
        });
        futures_util::future::join_all(attempts).await;
        Ok(n)
    }

    async fn deliver(&self, msg: Claimed) -> Result<String, SendError> {
        let tenant = msg
            .tenant_id
            .ok_or_else(|| SendError::Permanent("message without tenant".to_owned()))?;
        match (msg.kind, msg.channel) {
            (MessageKind::Invitation | MessageKind::Cancellation, Channel::Email) => {
                self.send_invitation(tenant, msg).await
            }
            (MessageKind::HostArrival, Channel::Email) => self.send_arrival_mail(tenant, msg).await,
            (MessageKind::HostArrival, Channel::Slack) => {
                self.send_arrival_slack(tenant, msg).await
            }
            (kind, channel) => Err(SendError::Permanent(format!(
                "no sender for {} over {}",
                kind.as_str(),
                channel.as_str()
            ))),
        }
    }

    async fn send_invitation(
        &self,
        tenant: genkan_core::id::TenantId,
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
        let secrets: Option<PassSecrets> = msg
            .secret_payload
            .as_deref()
            .map(serde_json::from_slice)
            .transpose()
            .map_err(|_| SendError::Permanent("unreadable pass payload".to_owned()))?;
        if !cancelled && secrets.is_none() {
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
        let description = if cancelled {
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
        if let Some(secrets) = secrets.filter(|_| !cancelled) {
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

    async fn send_arrival_mail(
        &self,
        tenant: genkan_core::id::TenantId,
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

    async fn send_arrival_slack(
        &self,
        tenant: genkan_core::id::TenantId,
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
}

fn store_error(e: &genkan_store::StoreError) -> SendError {
    match e {
        genkan_store::StoreError::NotFound => {
            SendError::Permanent("the record no longer exists".to_owned())
        }
        other => SendError::transient(other.to_string()),
    }
}
