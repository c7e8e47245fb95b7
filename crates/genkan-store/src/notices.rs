//! Operator notices (incidents, maintenance, SLA changes, end of service) addressed
//! to all or some tenants: a banner in their web screens and, through the outbox,
//! an e-mail to each active administrator and a Slack message where Slack is set up.
//! Each delivery keeps the notice id, so the time from publication to delivery is
//! known. Also the operator's own alerts (failed backups or drills).

use chrono::{DateTime, Utc};
use genkan_core::audit::Outcome;
use genkan_core::id::{MessageId, TenantId};
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::text::Locale;
use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::{StoreError, StoreResult};
use crate::outbox::{NewMessage, enqueue};
use crate::sql::{get_opt_ts, get_ts, ts};

/// The kinds of notice.
pub const KINDS: &[&str] = &["incident", "maintenance", "sla_change", "end_of_service"];

/// A notice to publish.
#[derive(Debug, Clone)]
pub struct NewNotice {
    /// One of [`KINDS`].
    pub kind: String,
    /// One-line title.
    pub title: String,
    /// Text.
    pub body: String,
    /// The banner shows until then.
    pub shown_until: DateTime<Utc>,
    /// Addressed tenants; `None` for all.
    pub tenants: Option<Vec<TenantId>>,
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// Notice id.
    pub id: i64,
    /// Tenants addressed.
    pub tenants: usize,
    /// Messages queued (e-mails and Slack posts).
    pub messages: usize,
}

/// A notice as its banner shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Banner {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Published.
    pub published_at: DateTime<Utc>,
}

/// A notice with its delivery figures, for the operator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeSummary {
    /// The notice.
    pub banner: Banner,
    /// Banner shown until.
    pub shown_until: DateTime<Utc>,
    /// Addressed to every tenant.
    pub all_tenants: bool,
    /// Tenants addressed.
    pub tenants: i64,
    /// Messages queued.
    pub messages: i64,
    /// Messages delivered.
    pub sent: i64,
    /// Messages given up.
    pub dead: i64,
    /// Slowest publication-to-delivery time so far, in seconds.
    pub max_delivery_secs: Option<f64>,
    /// Median publication-to-delivery time, in seconds.
    pub median_delivery_secs: Option<f64>,
}

/// What a notice message renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeContent {
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Published.
    pub published_at: DateTime<Utc>,
    /// The addressed tenant's name.
    pub tenant_name: String,
}

impl Store {
    /// Publishes a notice: records it and queues its messages in one transaction.
    pub async fn publish_notice(
        &self,
        notice: NewNotice,
        at: DateTime<Utc>,
    ) -> StoreResult<Published> {
        if !KINDS.contains(&notice.kind.as_str()) {
            return Err(StoreError::Conflict {
                constraint: format!("unknown notice kind {}", notice.kind),
            });
        }
        let keys = self.keys().clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO notices (kind, title, body, published_at, shown_until, all_tenants)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![notice.kind, notice.title, notice.body, ts(at), ts(notice.shown_until), notice.tenants.is_none()],
            )?;
            let id = tx.last_insert_rowid();
            let targets: Vec<(i64, String)> = match &notice.tenants {
                None => tx
                    .prepare("SELECT id, default_locale FROM tenants ORDER BY id")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?,
                Some(list) => {
                    let mut found = Vec::new();
                    for t in list {
                        let row = tx.query_row(
                            "SELECT id, default_locale FROM tenants WHERE id = ?1",
                            [t.get()],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )?;
                        found.push(row);
                    }
                    found
                }
            };
            let mut messages = 0;
            for (tenant, default_locale) in &targets {
                tx.execute("INSERT INTO notice_targets (notice_id, tenant_id) VALUES (?1, ?2)", params![id, tenant])?;
                let admins: Vec<(String, Option<String>)> = tx
                    .prepare_cached(
                        "SELECT email, locale FROM users WHERE tenant_id = ?1 AND role = 'admin' AND status = 'active' ORDER BY id",
                    )?
                    .query_map([tenant], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let tenant_locale = Locale::parse(default_locale).unwrap_or_default();
                let mut queue = |channel: Channel, recipient: String, locale: Locale| -> StoreResult<()> {
                    let msg = NewMessage {
                        tenant_id: Some(TenantId(*tenant)),
                        kind: MessageKind::Notice,
                        channel,
                        recipient,
                        locale,
                        appointment_id: None,
                        visitor_id: None,
                        visit_id: None,
                        user_id: None,
                        secret_payload: None,
                        at,
                    };
                    let message = enqueue(tx, &keys, &msg)?;
                    tx.execute("UPDATE outbox SET notice_id = ?1 WHERE id = ?2", params![id, message.get()])?;
                    messages += 1;
                    Ok(())
                };
                for (email, locale) in admins {
                    let locale = locale.and_then(|l| Locale::parse(&l).ok()).unwrap_or(tenant_locale);
                    queue(Channel::Email, email, locale)?;
                }
                let slack: bool = tx.query_row(
                    "SELECT slack_webhook IS NOT NULL FROM tenants WHERE id = ?1",
                    [tenant],
                    |r| r.get(0),
                )?;
                if slack {
                    queue(Channel::Slack, "tenant".to_owned(), tenant_locale)?;
                }
            }
            append(tx, &AuditCtx::system(None, at), "notice.publish", "notice", Some(id.to_string()), Outcome::Ok,
                &json!({"kind": notice.kind, "tenants": targets.iter().map(|t| t.0).collect::<Vec<_>>(), "messages": messages}))?;
            tx.wake_outbox();
            Ok(Published { id, tenants: targets.len(), messages })
        })
        .await
    }

    /// Notices whose banner shows for `tenant` at `now`, newest first.
    pub async fn active_notices(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Banner>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT n.id, n.kind, n.title, n.body, n.published_at FROM notice_targets t
                 JOIN notices n ON n.id = t.notice_id
                 WHERE t.tenant_id = ?1 AND n.published_at <= ?2 AND n.shown_until > ?2
                 ORDER BY n.published_at DESC LIMIT 5",
            )?;
            let rows = stmt.query_map(params![tenant.get(), ts(now)], |r| {
                Ok(Banner {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    title: r.get(2)?,
                    body: r.get(3)?,
                    published_at: get_ts(r, 4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Every notice with its delivery figures, newest first.
    pub async fn notices(&self) -> StoreResult<Vec<NoticeSummary>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, kind, title, body, published_at, shown_until, all_tenants,
                    (SELECT count(*) FROM notice_targets t WHERE t.notice_id = n.id)
                 FROM notices n ORDER BY published_at DESC, id DESC",
            )?;
            let notices: Vec<(Banner, DateTime<Utc>, bool, i64)> = stmt
                .query_map([], |r| {
                    Ok((
                        Banner {
                            id: r.get(0)?,
                            kind: r.get(1)?,
                            title: r.get(2)?,
                            body: r.get(3)?,
                            published_at: get_ts(r, 4)?,
                        },
                        get_ts(r, 5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                })?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for (banner, shown_until, all_tenants, tenants) in notices {
                let mut m =
                    c.prepare_cached("SELECT status, sent_at FROM outbox WHERE notice_id = ?1")?;
                let rows: Vec<(String, Option<DateTime<Utc>>)> = m
                    .query_map([banner.id], |r| Ok((r.get(0)?, get_opt_ts(r, 1)?)))?
                    .collect::<Result<_, _>>()?;
                let mut delays: Vec<f64> = rows
                    .iter()
                    .filter_map(|(_, sent)| *sent)
                    .map(|s| (s - banner.published_at).num_milliseconds() as f64 / 1000.0)
                    .collect();
                delays.sort_by(f64::total_cmp);
                out.push(NoticeSummary {
                    shown_until,
                    all_tenants,
                    tenants,
                    messages: rows.len() as i64,
                    sent: rows.iter().filter(|(s, _)| s == "sent").count() as i64,
                    dead: rows.iter().filter(|(s, _)| s == "dead").count() as i64,
                    max_delivery_secs: delays.last().copied(),
                    median_delivery_secs: delays.get(delays.len() / 2).copied(),
                    banner,
                });
            }
            Ok(out)
        })
        .await
    }

    /// What the notice message `message` says.
    pub async fn notice_content(&self, message: MessageId) -> StoreResult<NoticeContent> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT n.kind, n.title, n.body, n.published_at, coalesce(t.name, '')
                 FROM outbox o JOIN notices n ON n.id = o.notice_id LEFT JOIN tenants t ON t.id = o.tenant_id
                 WHERE o.id = ?1",
                [message.get()],
                |r| {
                    Ok(NoticeContent {
                        kind: r.get(0)?,
                        title: r.get(1)?,
                        body: r.get(2)?,
                        published_at: get_ts(r, 3)?,
                        tenant_name: r.get(4)?,
                    })
                },
            )?)
        })
        .await
    }

    /// Queues an e-mail alert to the operator (backup or drill failures). The text is
    /// sealed in the payload like other message secrets; it holds no personal data.
    pub async fn queue_operator_alert(
        &self,
        address: String,
        subject: String,
        text: String,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let payload = serde_json::to_vec(&json!({"subject": subject, "text": text}))
                .map_err(|e| StoreError::Database(e.to_string()))?;
            enqueue(
                tx,
                &keys,
                &NewMessage {
                    tenant_id: None,
                    kind: MessageKind::OperatorAlert,
                    channel: Channel::Email,
                    recipient: address,
                    locale: Locale::En,
                    appointment_id: None,
                    visitor_id: None,
                    visit_id: None,
                    user_id: None,
                    secret_payload: Some(payload),
                    at,
                },
            )?;
            tx.wake_outbox();
            Ok(())
        })
        .await
    }
}
