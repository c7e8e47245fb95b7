//! The delivery worker: one lane per channel claims due messages under a lease
//! and delivers up to the channel's parallelism at once, each message recorded as
//! soon as it is done (a slow message never holds back the others, a hanging Slack
//! never delays e-mail). A lane sleeps until a commit queues messages, a delivery
//! frees a slot, or the next retry falls due.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use genkan_core::notification::Channel;
use genkan_core::text::mask_email;
use genkan_store::StoreError;
use genkan_store::outbox::{AttemptResult, Claimed};
use tokio::sync::{Notify, Semaphore, watch};

use super::Notifier;
use super::email::SendError;

/// Longest a lane sleeps without looking (a safety net; commits wake it).
const IDLE: std::time::Duration = std::time::Duration::from_secs(30);
/// Messages claimed per channel by [`Notifier::run_once`].
const BATCH: usize = 64;

/// Which target a message goes to, as far as rate limits are concerned: a
/// `Retry-After` from it holds back every message to the same target.
fn target_key(msg: &Claimed) -> Option<String> {
    let tenant = msg.tenant_id.map_or(0, |t| t.get());
    match msg.channel {
        Channel::Email => None,
        Channel::Slack
            if msg.recipient.starts_with("dm:") || msg.recipient.starts_with("channel:") =>
        {
            Some(format!("slack-bot:{tenant}"))
        }
        channel => Some(format!("{}:{tenant}:{}", channel.as_str(), msg.recipient)),
    }
}

impl Notifier {
    /// How long a claimed message is held: longer than any attempt can take (a
    /// Slack direct message makes three requests), so only a crashed worker's
    /// messages come back.
    pub fn lease(&self) -> Duration {
        let longest = self
            .config
            .mail
            .timeout_secs
            .max(self.config.outbound.timeout_secs)
            .min(3600);
        Duration::seconds(60 + 4 * longest as i64)
    }

    /// Wakes the lanes (after the clock moved, in tests).
    pub fn poke(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Runs until `shutdown` turns true. At start, messages a crashed process held
    /// are released (at most one duplicate each, none lost).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        match self.store.release_leases(self.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(messages = n, "released messages held by a previous process"),
            Err(e) => tracing::error!(error = %e, "could not release leases"),
        }
        let signal = self.store.outbox_signal();
        let me = Arc::clone(&self);
        let mut stop = shutdown.clone();
        let forwarder = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = signal.notified() => me.poke(),
                    _ = stop.changed() => return,
                }
            }
        });
        let lanes: Vec<_> = self
            .channels()
            .into_iter()
            .map(|channel| {
                let parallel = if channel == Channel::Email {
                    self.config.notify.mail_parallel
                } else {
                    self.config.notify.http_parallel
                };
                tokio::spawn(Arc::clone(&self).lane(channel, parallel.max(1), shutdown.clone()))
            })
            .collect();
        let _ = shutdown.wait_for(|stop| *stop).await;
        for lane in lanes {
            let _ = lane.await;
        }
        let _ = forwarder.await;
    }

    async fn lane(
        self: Arc<Self>,
        channel: Channel,
        parallel: usize,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let slots = Arc::new(Semaphore::new(parallel));
        let freed = Arc::new(Notify::new());
        let mut wake = self.wake.subscribe();
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Mark the wake-ups seen before looking, so a commit in between is not missed.
            wake.borrow_and_update();
            let free = slots.available_permits();
            if free > 0 {
                match self
                    .store
                    .claim_due(self.clock.now(), free, self.lease(), &[channel])
                    .await
                {
                    Ok(batch) if !batch.is_empty() => {
                        for msg in batch {
                            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                                return;
                            };
                            let (me, freed) = (Arc::clone(&self), Arc::clone(&freed));
                            tokio::spawn(async move {
                                me.attempt(msg).await;
                                drop(slot);
                                freed.notify_one();
                            });
                        }
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(channel = channel.as_str(), error = %e, "claiming messages failed")
                    }
                }
            }
            let wait = if free == 0 {
                IDLE
            } else {
                match self.store.next_due_at(&[channel]).await {
                    Ok(Some(at)) => (at - self.clock.now()).to_std().unwrap_or_default(),
                    Ok(None) => IDLE,
                    Err(_) => std::time::Duration::from_secs(1),
                }
                .min(IDLE)
            };
            tokio::select! {
                _ = wake.changed() => {}
                () = freed.notified(), if free < parallel => {}
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    fn paused_until(&self, key: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let pauses = self
            .pauses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pauses.get(key).copied().filter(|until| *until > now)
    }

    fn pause(&self, key: String, until: DateTime<Utc>) {
        let mut pauses = self
            .pauses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = pauses.entry(key).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Delivers one claimed message and records the outcome.
    pub async fn attempt(&self, msg: Claimed) {
        let (id, attempt, channel, kind) = (msg.id, msg.attempt, msg.channel, msg.kind);
        let recipient = mask_email(msg.recipient.trim_start_matches("dm:"));
        let key = target_key(&msg);
        let now = self.clock.now();
        if let Some(until) = key.as_deref().and_then(|k| self.paused_until(k, now)) {
            tracing::info!(message.id = %id, channel = channel.as_str(), "target asked to wait; deferred");
            if let Err(e) = self
                .store
                .record_attempt(id, now, AttemptResult::Defer { at: until })
                .await
            {
                tracing::error!(message.id = %id, error = %e, "could not defer message");
            }
            return;
        }
        let outcome = self.deliver_any(msg).await;
        let now = self.clock.now();
        let result = match outcome {
            Ok(sent) => {
                tracing::info!(message.id = %id, channel = channel.as_str(), kind = kind.as_str(), %recipient, confirmed = sent.confirmed, "delivered");
                if sent.confirmed {
                    AttemptResult::Delivered {
                        detail: sent.detail,
                    }
                } else {
                    AttemptResult::Sent {
                        detail: sent.detail,
                    }
                }
            }
            Err(SendError::Permanent(error)) => {
                tracing::warn!(message.id = %id, channel = channel.as_str(), %recipient, %error, "delivery failed for good");
                AttemptResult::Dead { error }
            }
            Err(SendError::Transient {
                message,
                retry_after,
            }) => {
                let hint = retry_after
                    .map(|s| Duration::seconds(s.min(super::http::MAX_RETRY_AFTER) as i64));
                if let (Some(k), Some(h)) = (key, hint) {
                    self.pause(k, now + h);
                }
                match self.policy.delay_after(attempt, rand::random::<f64>()) {
                    Some(delay) => {
                        let delay = Duration::seconds(delay).max(hint.unwrap_or_default());
                        tracing::warn!(message.id = %id, channel = channel.as_str(), %recipient, error = %message, retry_in_secs = delay.num_seconds(), "delivery failed; will retry");
                        AttemptResult::Retry {
                            error: message,
                            at: now + delay,
                        }
                    }
                    None => {
                        tracing::warn!(message.id = %id, channel = channel.as_str(), %recipient, error = %message, "delivery failed; attempts exhausted");
                        AttemptResult::Dead {
                            error: format!("gave up after {attempt} attempts: {message}"),
                        }
                    }
                }
            }
        };
        if let Err(e) = self.store.record_attempt(id, now, result).await {
            // The lease will expire and the message be retried: at most one duplicate.
            tracing::error!(message.id = %id, error = %e, "could not record delivery");
        }
    }

    /// Claims what is due now on every channel and delivers it, waiting for all
    /// attempts to be recorded; returns how many were attempted. Tests drive the
    /// worker with this and a moved clock.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let claimed = self
            .store
            .claim_due(self.clock.now(), BATCH, self.lease(), &self.channels())
            .await?;
        let n = claimed.len();
        futures_util::future::join_all(claimed.into_iter().map(|msg| self.attempt(msg))).await;
        Ok(n)
    }
}
