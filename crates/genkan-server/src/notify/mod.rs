//! Notification delivery: a worker claims due outbox messages, renders them, sends
//! them through their channel with a timeout, and records every attempt. Failures
//! are retried with exponential backoff and jitter, then dead-lettered.

mod compose;
pub mod email;
pub mod ics;
pub mod qr;
pub mod render;
pub mod slack;

use std::sync::Arc;

use chrono::Duration;
use genkan_core::Clock;
use genkan_core::notification::{Channel, MessageKind, RetryPolicy};
use genkan_core::text::mask_email;
use genkan_store::Store;
use genkan_store::outbox::{AttemptResult, Claimed};
use tokio::sync::watch;

use crate::config::Config;
use email::{Mailer, SendError};
use render::Renderer;

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
            (
                MessageKind::Invitation
                | MessageKind::Cancellation
                | MessageKind::AppointmentUpdate,
                Channel::Email,
            ) => self.send_invitation(tenant, msg).await,
            (MessageKind::HostArrival, Channel::Email) => self.send_arrival_mail(tenant, msg).await,
            (MessageKind::HostArrival, Channel::Slack) => {
                self.send_arrival_slack(tenant, msg).await
            }
            (MessageKind::UserInvitation | MessageKind::PasswordReset, Channel::Email) => {
                self.send_user_link(tenant, msg).await
            }
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
