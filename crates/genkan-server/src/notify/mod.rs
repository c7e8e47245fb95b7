//! Notification delivery: workers claim due outbox messages under a lease, render
//! them, send them through their channel with a timeout, and record every attempt.
//! Failures are retried with exponential backoff and jitter, then dead-lettered; a
//! channel's `Retry-After` holds back everything sent to that target.
//!
//! - [`worker`]: one lane per channel with bounded parallelism; leases; retries.
//! - [`compose`], [`notices`], [`views`], [`render`], [`custom`]: e-mails and templates;
//!   [`sandbox`]: where tenant-authored templates render, within limits.
//! - [`chat`] with [`slack`], [`teams`], [`chatwork`], [`webhook`]: the HTTP channels.
//! - [`links`]: signed reply links; [`http`]: what the HTTP channels share.

mod chat;
pub mod chatwork;
mod compose;
pub mod custom;
pub mod email;
pub mod http;
pub mod ics;
pub mod links;
mod notices;
mod operator;
pub mod qr;
pub mod render;
pub mod sandbox;
pub mod slack;
pub mod teams;
pub mod views;
pub mod webhook;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use genkan_core::Clock;
use genkan_core::id::TenantId;
use genkan_core::notification::{Channel, MessageKind, RetryPolicy};
use genkan_store::Store;
use genkan_store::outbox::Claimed;
use tokio::sync::watch;

use crate::config::Config;
use email::{Mailer, SendError};
use render::Renderer;

const QR_CID: &str = "pass-qr";

/// Delivers outbox messages.
pub struct Notifier {
    store: Store,
    clock: Arc<dyn Clock>,
    mailer: Mailer,
    http: reqwest::Client,
    renderer: Renderer,
    /// Where the tenants' own templates render.
    sandbox: sandbox::Sandbox,
    config: Arc<Config>,
    policy: RetryPolicy,
    /// Targets that asked everyone to wait (`Retry-After`), until when.
    pauses: std::sync::Mutex<HashMap<String, DateTime<Utc>>>,
    /// Slack direct-message channels found by e-mail, per tenant.
    slack_dms: tokio::sync::Mutex<HashMap<(TenantId, String), String>>,
    /// Bumped when messages may be due (a commit queued some, the clock moved).
    wake: watch::Sender<u64>,
}

/// A message the channel took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The channel's answer, for the ledger.
    pub detail: String,
    /// The channel confirmed it reached its destination (not just a relay).
    pub confirmed: bool,
}

impl Sent {
    /// Taken by a relay (SMTP server, Teams): "sent".
    pub fn accepted(detail: String) -> Self {
        Self {
            detail,
            confirmed: false,
        }
    }

    /// Confirmed by the destination (Slack, Chatwork, a webhook): "delivered".
    pub fn confirmed(detail: String) -> Self {
        Self {
            detail,
            confirmed: true,
        }
    }
}

impl Notifier {
    /// A notifier for `store` with the configured channels.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Arc<Config>) -> Result<Self, String> {
        let n = &config.notify;
        Ok(Self {
            mailer: Mailer::from_config(&config.mail)?,
            http: crate::outbound::client(
                config.outbound.timeout_secs,
                config.outbound.allow_private_networks,
            ),
            renderer: Renderer::new(),
            sandbox: sandbox::Sandbox::new(&config.templates),
            policy: RetryPolicy {
                base_secs: n.retry_base_secs.max(1),
                max_secs: n.retry_max_secs.max(n.retry_base_secs.max(1)),
                max_attempts: n.max_attempts.max(1),
            },
            pauses: std::sync::Mutex::new(HashMap::new()),
            slack_dms: tokio::sync::Mutex::new(HashMap::new()),
            wake: watch::channel(0).0,
            store,
            clock,
            config,
        })
    }

    /// The templates (for previews).
    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// The sandbox of tenant-authored templates (shared with the web previews).
    pub fn sandbox(&self) -> &sandbox::Sandbox {
        &self.sandbox
    }

    /// The channels this server can deliver; other messages wait until configured.
    fn channels(&self) -> Vec<Channel> {
        let mut channels = vec![
            Channel::Slack,
            Channel::Teams,
            Channel::Chatwork,
            Channel::Webhook,
        ];
        if self.mailer.enabled() {
            channels.push(Channel::Email);
        }
        channels
    }

    async fn deliver_any(&self, msg: Claimed) -> Result<Sent, SendError> {
        // Operator notices and alerts, whatever their channel.
        if let Some(result) = self.deliver_operator(&msg).await {
            return result.map(Sent::accepted);
        }
        if msg.channel == Channel::Email {
            self.deliver(msg).await.map(Sent::accepted)
        } else {
            self.deliver_chat(&msg).await
        }
    }

    async fn deliver(&self, msg: Claimed) -> Result<String, SendError> {
        let tenant = msg
            .tenant_id
            .ok_or_else(|| SendError::Permanent("message without tenant".to_owned()))?;
        match (msg.kind, msg.channel) {
            (
                MessageKind::Invitation
                | MessageKind::Cancellation
                | MessageKind::AppointmentUpdate,
                Channel::Email,
            ) => self.send_invitation(tenant, msg).await,
            (MessageKind::HostArrival, Channel::Email) => self.send_arrival_mail(tenant, msg).await,
            (MessageKind::Reminder, Channel::Email) => self.send_invitation(tenant, msg).await,
            (MessageKind::NoShow | MessageKind::InvitationFailed, Channel::Email) => {
                self.send_host_notice(tenant, msg).await
            }
            (MessageKind::UserInvitation | MessageKind::PasswordReset, Channel::Email) => {
                self.send_user_link(tenant, msg).await
            }
            (MessageKind::KioskSilent, Channel::Email) => self.send_kiosk_silent(tenant, msg).await,
            (kind, channel) => Err(SendError::Permanent(format!(
                "no sender for {} over {}",
                kind.as_str(),
                channel.as_str()
            ))),
        }
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
