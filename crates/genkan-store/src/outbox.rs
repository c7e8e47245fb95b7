//! The notification outbox: messages are queued inside the transaction of the event
//! that causes them, then claimed by delivery workers under a lease. A worker that
//! dies mid-delivery loses only its lease: the message is retried (at most one
//! duplicate), never lost.

use chrono::{DateTime, Duration, Utc};
use genkan_core::id::{AppointmentId, MessageId, TenantId, UserId, VisitId, VisitorId};
use genkan_core::notification::{Channel, DeliveryStatus, MessageKind};
use genkan_core::text::Locale;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::keys::KeyRing;
use crate::sql::{get_opt_ts, get_ts, ts};

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Tenant (None for operator notices).
    pub tenant_id: Option<TenantId>,
    /// What it is about.
    pub kind: MessageKind,
    /// How it travels.
    pub channel: Channel,
    /// Address: e-mail address, or a channel target name such as `tenant`.
    pub recipient: String,
    /// Language to render in.
    pub locale: Locale,
    /// Related appointment.
    pub appointment_id: Option<AppointmentId>,
    /// Related visitor.
    pub visitor_id: Option<VisitorId>,
    /// Related visit.
    pub visit_id: Option<VisitId>,
    /// Related staff user (invitations, password resets).
    pub user_id: Option<UserId>,
    /// Secret content needed to render (pass token); sealed at rest, erased after delivery.
    pub secret_payload: Option<Vec<u8>>,
    /// Queue time.
    pub at: DateTime<Utc>,
}

fn payload_context(tenant: Option<TenantId>) -> String {
    format!("outbox:{}", tenant.map_or(0, TenantId::get))
}

/// Queues `msg` in the current transaction.
pub(crate) fn enqueue(
    conn: &Connection,
    keys: &KeyRing,
    msg: &NewMessage,
) -> StoreResult<MessageId> {
    let sealed = msg
        .secret_payload
        .as_deref()
        .map(|p| keys.seal(p, &payload_context(msg.tenant_id)));
    conn.prepare_cached(
        "INSERT INTO outbox (tenant_id, kind, channel, recipient, locale, appointment_id, visitor_id, visit_id,
            payload, status, next_attempt_at, created_at, user_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', ?10, ?10, ?11)",
    )?
    .execute(params![
        msg.tenant_id.map(TenantId::get),
        msg.kind.as_str(),
        msg.channel.as_str(),
        msg.recipient,
        msg.locale.as_str(),
        msg.appointment_id.map(AppointmentId::get),
        msg.visitor_id.map(VisitorId::get),
        msg.visit_id.map(VisitId::get),
        sealed,
        ts(msg.at),
        msg.user_id.map(UserId::get),
    ])?;
    Ok(MessageId(conn.last_insert_rowid()))
}

/// Queues `msg` unless a message with the same `dedupe_key` was queued for the
/// tenant before (reminders, no-shows, failure notices); `true` if queued now.
pub(crate) fn enqueue_once(
    conn: &Connection,
    keys: &KeyRing,
    msg: &NewMessage,
    dedupe_key: &str,
) -> StoreResult<bool> {
    let taken: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE tenant_id IS ?1 AND dedupe_key = ?2)",
        )?
        .query_row(params![msg.tenant_id.map(TenantId::get), dedupe_key], |r| {
            r.get(0)
        })?;
    if taken {
        return Ok(false);
    }
    let id = enqueue(conn, keys, msg)?;
    conn.prepare_cached("UPDATE outbox SET dedupe_key = ?1 WHERE id = ?2")?
        .execute(params![dedupe_key, id.get()])?;
    Ok(true)
}

/// A message claimed for delivery.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Id.
    pub id: MessageId,
    /// Tenant.
    pub tenant_id: Option<TenantId>,
    /// Kind.
    pub kind: MessageKind,
    /// Channel.
    pub channel: Channel,
    /// Address.
    pub recipient: String,
    /// Language.
    pub locale: Locale,
    /// Related appointment.
    pub appointment_id: Option<AppointmentId>,
    /// Related visitor.
    pub visitor_id: Option<VisitorId>,
    /// Related visit.
    pub visit_id: Option<VisitId>,
    /// Related staff user.
    pub user_id: Option<UserId>,
    /// Unsealed secret payload.
    pub secret_payload: Option<Vec<u8>>,
    /// This is attempt number…
    pub attempt: u32,
}

/// One line of a message's delivery ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// Message id.
    pub id: MessageId,
    /// Kind.
    pub kind: String,
    /// Channel.
    pub channel: String,
    /// Masked recipient.
    pub recipient: String,
    /// Status.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Last error, if any.
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Sent at.
    pub sent_at: Option<DateTime<Utc>>,
    /// When the channel confirmed delivery, if it does.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the host replied to this alert.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// Accepted by the channel; `detail` may hold its message id.
    Sent {
        /// Channel's own id or answer.
        detail: String,
    },
    /// Failed; retry at the given time.
    Retry {
        /// Why.
        error: String,
        /// When to try again.
        at: DateTime<Utc>,
    },
    /// Failed for good (permanent error or attempts exhausted).
    Dead {
        /// Why.
        error: String,
    },
    /// Accepted, and the channel confirmed it reached its destination.
    Delivered {
        /// Channel's own id or answer.
        detail: String,
    },
    /// Not attempted (its target asked everyone to wait, e.g. `Retry-After`): back
    /// to the queue until `at`, without counting an attempt.
    Defer {
        /// When to try.
        at: DateTime<Utc>,
    },
}

/// Where one message stands (for operators and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageState {
    /// Kind.
    pub kind: MessageKind,
    /// Channel.
    pub channel: Channel,
    /// Recipient as stored.
    pub recipient: String,
    /// Stored status (`queued`, `sending`, `sent`, `dead`).
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// Last error.
    pub last_error: Option<String>,
    /// Delivery confirmation time.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Acknowledgement time.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// The status the ledger shows: acknowledged, delivered, or the stored one.
fn shown_status(status: String, delivered: bool, acknowledged: bool) -> String {
    match (status.as_str(), acknowledged, delivered) {
        ("sent", true, _) => DeliveryStatus::Acknowledged.as_str().to_owned(),
        ("sent", false, true) => DeliveryStatus::Delivered.as_str().to_owned(),
        _ => status,
    }
}

impl Store {
    /// Claims up to `limit` due messages of `channels` for `lease`; expired leases
    /// count as due. Messages of other channels stay queued until one is configured.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
        channels: &[Channel],
    ) -> StoreResult<Vec<Claimed>> {
        let channels: Vec<&'static str> = channels.iter().map(|c| c.as_str()).collect();
        let keys = self.keys().clone();
        self.write(move |tx| {
            // Per channel, the index (status, channel, time) yields due rows in order,
            // so a large backlog of one channel costs nothing to the others.
            let mut ids = Vec::new();
            for channel in &channels {
                for sql in [
                    "SELECT id FROM outbox WHERE status = 'queued' AND channel = ?1 AND next_attempt_at <= ?2
                     ORDER BY next_attempt_at, id LIMIT ?3",
                    "SELECT id FROM outbox WHERE status = 'sending' AND channel = ?1 AND lease_until <= ?2
                     ORDER BY lease_until, id LIMIT ?3",
                ] {
                    let mut stmt = tx.prepare_cached(sql)?;
                    let found = stmt
                        .query_map(params![channel, ts(now), limit as i64], |r| r.get::<_, i64>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    ids.extend(found);
                }
            }
            ids.truncate(limit.max(1) * channels.len().max(1));
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = ?2
                 WHERE id = ?1
                 RETURNING id, tenant_id, kind, channel, recipient, locale, appointment_id, visitor_id, visit_id,
                           payload, attempts, user_id",
            )?;
            let mut rows = Vec::with_capacity(ids.len());
            for id in ids {
                rows.push(stmt.query_row(params![id, ts(now + lease)], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                        r.get::<_, Option<Vec<u8>>>(9)?,
                        r.get::<_, u32>(10)?,
                        r.get::<_, Option<i64>>(11)?,
                    ))
                })?);
            }
            rows.into_iter()
                .map(|(id, tenant, kind, channel, recipient, locale, appt, visitor, visit, payload, attempts, user)| {
                    let tenant_id = tenant.map(TenantId);
                    let secret_payload = payload
                        .map(|p| keys.open(&p, &payload_context(tenant_id)))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok(Claimed {
                        id: MessageId(id),
                        tenant_id,
                        kind: MessageKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(kind.clone()))?,
                        channel: Channel::parse(&channel).ok_or_else(|| StoreError::Corrupt(channel.clone()))?,
                        recipient,
                        locale: Locale::parse(&locale).unwrap_or_default(),
                        appointment_id: appt.map(AppointmentId),
                        visitor_id: visitor.map(VisitorId),
                        visit_id: visit.map(VisitId),
                        user_id: user.map(UserId),
                        secret_payload,
                        attempt: attempts,
                    })
                })
                .collect()
        })
        .await
    }

    /// Records the end of a delivery attempt in the message and its ledger.
    pub async fn record_attempt(
        &self,
        id: MessageId,
        now: DateTime<Utc>,
        result: AttemptResult,
    ) -> StoreResult<()> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let tenant: Option<i64> = tx
                .query_row("SELECT tenant_id FROM outbox WHERE id = ?1", [id.get()], |r| r.get(0))
                .optional()?
                .ok_or(StoreError::NotFound)?;
            let (outcome, detail) = match &result {
                AttemptResult::Defer { at } => {
                    tx.execute(
                        "UPDATE outbox SET status = 'queued', next_attempt_at = ?1, lease_until = NULL,
                                attempts = max(attempts - 1, 0) WHERE id = ?2",
                        params![ts(*at), id.get()],
                    )?;
                    return Ok(());
                }
                AttemptResult::Delivered { detail } => {
                    tx.execute(
                        "UPDATE outbox SET status = 'sent', sent_at = ?1, delivered_at = ?1, lease_until = NULL,
                                payload = NULL, last_error = NULL WHERE id = ?2",
                        params![ts(now), id.get()],
                    )?;
                    ("sent", detail.clone())
                }
                AttemptResult::Sent { detail } => {
                    // The pass secrets are no longer needed once the mail is out.
                    tx.execute(
                        "UPDATE outbox SET status = 'sent', sent_at = ?1, lease_until = NULL, payload = NULL,
                                last_error = NULL WHERE id = ?2",
                        params![ts(now), id.get()],
                    )?;
                    ("sent", detail.clone())
                }
                AttemptResult::Retry { error, at } => {
                    tx.execute(
                        "UPDATE outbox SET status = 'queued', next_attempt_at = ?1, lease_until = NULL, last_error = ?2
                         WHERE id = ?3",
                        params![ts(*at), error, id.get()],
                    )?;
                    ("retry", error.clone())
                }
                AttemptResult::Dead { error } => {
                    tx.execute(
                        "UPDATE outbox SET status = 'dead', lease_until = NULL, last_error = ?1, payload = NULL
                         WHERE id = ?2",
                        params![error, id.get()],
                    )?;
                    // A visitor who will not get their pass: the host is told, once.
                    crate::alerts::queue_invitation_failed(tx, &keys, id, now)?;
                    tx.wake_outbox();
                    ("dead", error.clone())
                }
            };
            tx.prepare_cached(
                "INSERT INTO outbox_attempts (message_id, tenant_id, at, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![id.get(), tenant, ts(now), outcome, detail])?;
            Ok(())
        })
        .await
    }

    /// When the next queued message of `channels` falls due (or a lease expires), if any.
    pub async fn next_due_at(&self, channels: &[Channel]) -> StoreResult<Option<DateTime<Utc>>> {
        let channels: Vec<&'static str> = channels.iter().map(|c| c.as_str()).collect();
        self.read(move |c| {
            let mut next: Option<String> = None;
            for channel in &channels {
                for sql in [
                    "SELECT min(next_attempt_at) FROM outbox WHERE status = 'queued' AND channel = ?1",
                    "SELECT min(lease_until) FROM outbox WHERE status = 'sending' AND channel = ?1",
                ] {
                    let t: Option<String> = c.prepare_cached(sql)?.query_row([channel], |r| r.get(0))?;
                    next = match (next, t) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
            }
            next.map(|s| crate::sql::parse_ts(&s)).transpose()
        })
        .await
    }

    /// Counts of messages by status (for the dashboard and metrics).
    pub async fn outbox_counts(
        &self,
        tenant: Option<TenantId>,
    ) -> StoreResult<Vec<(DeliveryStatus, u64)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT status, count(*) FROM outbox WHERE (?1 IS NULL OR tenant_id = ?1) GROUP BY status",
            )?;
            let rows = stmt
                .query_map([tenant.map(TenantId::get)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(s, n)| DeliveryStatus::parse(&s).map(|s| (s, n.max(0) as u64)))
                .collect())
        })
        .await
    }

    /// The delivery ledger of an appointment's or a visit's messages.
    pub async fn ledger(
        &self,
        tenant: TenantId,
        appointment: Option<AppointmentId>,
        visit: Option<VisitId>,
    ) -> StoreResult<Vec<LedgerEntry>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, kind, channel, recipient, status, attempts, last_error, created_at, sent_at,
                        delivered_at, acknowledged_at
                 FROM outbox WHERE tenant_id = ?1
                   AND ((?2 IS NOT NULL AND appointment_id = ?2) OR (?3 IS NOT NULL AND visit_id = ?3))
                 ORDER BY id",
            )?;
            let rows = stmt
                .query_map(
                    params![tenant.get(), appointment.map(AppointmentId::get), visit.map(VisitId::get)],
                    |r| {
                        let recipient: String = r.get(3)?;
                        let delivered_at = get_opt_ts(r, 9)?;
                        let acknowledged_at = get_opt_ts(r, 10)?;
                        Ok(LedgerEntry {
                            id: MessageId(r.get(0)?),
                            kind: r.get(1)?,
                            channel: r.get(2)?,
                            recipient: mask_recipient(&recipient),
                            status: shown_status(r.get(4)?, delivered_at.is_some(), acknowledged_at.is_some()),
                            attempts: r.get(5)?,
                            last_error: r.get(6)?,
                            created_at: get_ts(r, 7)?,
                            sent_at: get_opt_ts(r, 8)?,
                            delivered_at,
                            acknowledged_at,
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}

/// A recipient as the ledger shows it: e-mail addresses masked, also inside Slack
/// direct-message targets (`dm:<address>`).
fn mask_recipient(recipient: &str) -> String {
    match recipient.strip_prefix("dm:") {
        Some(address) => format!("dm:{}", genkan_core::text::mask_email(address)),
        None if recipient.contains('@') => genkan_core::text::mask_email(recipient),
        None => recipient.to_owned(),
    }
}

impl Store {
    /// Puts messages held by a worker of an earlier process back in the queue, due
    /// now. Genkan runs one delivery process per database, so at start-up no lease
    /// can belong to a live worker: a message that was sent but not recorded before
    /// a crash is sent once more (at most one duplicate), never lost.
    pub async fn release_leases(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE outbox SET status = 'queued', lease_until = NULL, next_attempt_at = ?1
                 WHERE status = 'sending'",
                [ts(now)],
            )?;
            if n > 0 {
                tx.wake_outbox();
            }
            Ok(n)
        })
        .await
    }

    /// Where message `id` stands.
    pub async fn message_state(&self, id: MessageId) -> StoreResult<MessageState> {
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT kind, channel, recipient, status, attempts, next_attempt_at, last_error,
                            delivered_at, acknowledged_at FROM outbox WHERE id = ?1",
                    [id.get()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, u32>(4)?,
                            get_ts(r, 5)?,
                            r.get::<_, Option<String>>(6)?,
                            get_opt_ts(r, 7)?,
                            get_opt_ts(r, 8)?,
                        ))
                    },
                )
                .optional()?
                .ok_or(StoreError::NotFound)?;
            let (kind, channel, recipient, status, attempts, next, last_error, delivered, acked) =
                row;
            Ok(MessageState {
                kind: MessageKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(kind.clone()))?,
                channel: Channel::parse(&channel)
                    .ok_or_else(|| StoreError::Corrupt(channel.clone()))?,
                recipient,
                status,
                attempts,
                next_attempt_at: next,
                last_error,
                delivered_at: delivered,
                acknowledged_at: acked,
            })
        })
        .await
    }

    /// Ids of every message of `tenant`, oldest first (for operators and tests).
    pub async fn message_ids(&self, tenant: TenantId) -> StoreResult<Vec<MessageId>> {
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT id FROM outbox WHERE tenant_id = ?1 ORDER BY id")?;
            let ids = stmt
                .query_map([tenant.get()], |r| r.get::<_, i64>(0).map(MessageId))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids)
        })
        .await
    }

    /// Counts by shown status (acknowledged and delivered apart from sent) of the
    /// messages of `tenant` queued since `since` (the dashboard's "today").
    pub async fn outbox_counts_since(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(DeliveryStatus, u64)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT CASE WHEN status = 'sent' AND acknowledged_at IS NOT NULL THEN 'acknowledged'
                             WHEN status = 'sent' AND delivered_at IS NOT NULL THEN 'delivered'
                             ELSE status END AS shown, count(*)
                 FROM outbox WHERE tenant_id = ?1 AND created_at >= ?2 GROUP BY shown",
            )?;
            let rows = stmt
                .query_map(params![tenant.get(), ts(since)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(s, n)| DeliveryStatus::parse(&s).map(|s| (s, n.max(0) as u64)))
                .collect())
        })
        .await
    }
}
