//! Host replies to arrival alerts ("I'm coming", "Please wait in the lobby"): each
//! signed link is single-use; a reply acknowledges the visit's alerts in the ledger
//! and wakes the kiosks waiting for it.

use chrono::{DateTime, Utc};
use genkan_core::audit::Outcome;
use genkan_core::id::{MessageId, SiteId, TenantId, VisitId};
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::tenant::TimeZone;
use genkan_core::text::Locale;
use genkan_core::wire::v1::ReplyKind;
use rusqlite::{OptionalExtension as _, params};
use serde_json::json;

use crate::Store;
use crate::audit::{AuditCtx, append};
use crate::error::StoreResult;
use crate::sql::{get_ts, ts};

/// A reply was recorded for `visit` of `tenant` (sent to long-polling kiosks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyEvent {
    /// Tenant.
    pub tenant: TenantId,
    /// Visit.
    pub visit: VisitId,
}

/// A reply to record.
#[derive(Debug, Clone)]
pub struct NewReply {
    /// Tenant (from the verified link).
    pub tenant: TenantId,
    /// Visit.
    pub visit: VisitId,
    /// The alert the link or button was in.
    pub message: MessageId,
    /// The answer.
    pub kind: ReplyKind,
    /// `Email` (link) or `Slack` (button).
    pub channel: Channel,
    /// SHA-256 of the link, so it works once.
    pub link_hash: [u8; 32],
    /// Who clicked, as the channel names them (Slack user name), when the alert went
    /// to a shared channel.
    pub responder_hint: Option<String>,
}

/// Why a reply was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyRefusal {
    /// The link was used before.
    AlreadyUsed,
    /// No such alert for this visit.
    Unknown,
}

/// A reply as kiosks and pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReply {
    /// The answer.
    pub kind: ReplyKind,
    /// Who answered.
    pub responder_name: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The site's zone.
    pub time_zone: TimeZone,
}

/// What a reply page shows about the visit behind a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyFacts {
    /// Visitor's name.
    pub visitor_name: String,
    /// Visitor's company.
    pub visitor_company: Option<String>,
    /// Site.
    pub site_name: String,
    /// The tenant's language.
    pub locale: Locale,
    /// Whether this link was used already.
    pub used: bool,
}

fn kind_str(kind: ReplyKind) -> &'static str {
    match kind {
        ReplyKind::Coming => "coming",
        ReplyKind::Wait => "wait",
    }
}

impl Store {
    /// Subscribes to recorded replies (subscribe before reading, so none is missed).
    pub fn reply_events(&self) -> tokio::sync::broadcast::Receiver<ReplyEvent> {
        self.reply_events.subscribe()
    }

    /// Records a reply once per link; acknowledges the visit's arrival alerts.
    pub async fn record_reply(
        &self,
        reply: NewReply,
        ctx: AuditCtx,
    ) -> StoreResult<Result<StoredReply, ReplyRefusal>> {
        let r = reply.clone();
        let recorded = self
            .write(move |tx| {
                let alert: Option<(String, String, String)> = tx
                    .prepare_cached(
                        "SELECT o.recipient, s.time_zone, t.default_locale FROM outbox o
                         JOIN visits v ON v.id = o.visit_id AND v.tenant_id = o.tenant_id
                         JOIN sites s ON s.id = v.site_id JOIN tenants t ON t.id = o.tenant_id
                         WHERE o.id = ?1 AND o.tenant_id = ?2 AND o.visit_id = ?3 AND o.kind = ?4",
                    )?
                    .query_row(
                        params![r.message.get(), r.tenant.get(), r.visit.get(), MessageKind::HostArrival.as_str()],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                    )
                    .optional()?;
                let Some((recipient, zone, locale)) = alert else {
                    return Ok(Err(ReplyRefusal::Unknown));
                };
                let fresh = tx
                    .prepare_cached(
                        "INSERT INTO reply_links_used (link_hash, tenant_id, used_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![r.link_hash.to_vec(), r.tenant.get(), ts(ctx.at)])?;
                if fresh == 0 {
                    return Ok(Err(ReplyRefusal::AlreadyUsed));
                }
                let address = recipient.strip_prefix("dm:").unwrap_or(&recipient);
                let user: Option<String> = tx
                    .prepare_cached("SELECT display_name FROM users WHERE tenant_id = ?1 AND email = ?2")?
                    .query_row(params![r.tenant.get(), address], |row| row.get(0))
                    .optional()?;
                let responder = user.or(r.responder_hint.clone()).unwrap_or_else(|| {
                    if locale == "en" { "Reception" } else { "受付" }.to_owned()
                });
                tx.prepare_cached(
                    "INSERT INTO host_replies (tenant_id, visit_id, kind, responder_name, channel, message_id, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![r.tenant.get(), r.visit.get(), kind_str(r.kind), responder,
                    r.channel.as_str(), r.message.get(), ts(ctx.at)])?;
                tx.prepare_cached(
                    "UPDATE outbox SET acknowledged_at = ?1
                     WHERE tenant_id = ?2 AND visit_id = ?3 AND kind = ?4 AND acknowledged_at IS NULL",
                )?
                .execute(params![ts(ctx.at), r.tenant.get(), r.visit.get(), MessageKind::HostArrival.as_str()])?;
                append(tx, &ctx, "visit.reply", "visit", Some(r.visit.to_string()), Outcome::Ok,
                    &json!({"reply": kind_str(r.kind), "channel": r.channel.as_str(), "message_id": r.message}))?;
                Ok(Ok(StoredReply {
                    kind: r.kind,
                    responder_name: responder,
                    at: ctx.at,
                    time_zone: TimeZone::parse(&zone).unwrap_or_default(),
                }))
            })
            .await?;
        if recorded.is_ok() {
            // Nobody listening is fine: kiosks poll again.
            let _ = self.reply_events.send(ReplyEvent {
                tenant: reply.tenant,
                visit: reply.visit,
            });
        }
        Ok(recorded)
    }

    /// The latest reply to `visit`, if any.
    pub async fn latest_reply(
        &self,
        tenant: TenantId,
        visit: VisitId,
    ) -> StoreResult<Option<StoredReply>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT r.kind, r.responder_name, r.created_at, s.time_zone FROM host_replies r
                 JOIN visits v ON v.id = r.visit_id AND v.tenant_id = r.tenant_id JOIN sites s ON s.id = v.site_id
                 WHERE r.tenant_id = ?1 AND r.visit_id = ?2 ORDER BY r.id DESC LIMIT 1",
            )?
            .query_row(params![tenant.get(), visit.get()], |r| {
                let kind: String = r.get(0)?;
                let zone: String = r.get(3)?;
                Ok(StoredReply {
                    kind: if kind == "coming" { ReplyKind::Coming } else { ReplyKind::Wait },
                    responder_name: r.get(1)?,
                    at: get_ts(r, 2)?,
                    time_zone: TimeZone::parse(&zone).unwrap_or_default(),
                })
            })
            .optional()?)
        })
        .await
    }

    /// Whether `visit` belongs to `tenant` and happened at `site` (a kiosk's scope).
    pub async fn visit_at_site(
        &self,
        tenant: TenantId,
        site: SiteId,
        visit: VisitId,
    ) -> StoreResult<bool> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM visits WHERE id = ?1 AND tenant_id = ?2 AND site_id = ?3)",
            )?
            .query_row(params![visit.get(), tenant.get(), site.get()], |r| r.get(0))?)
        })
        .await
    }

    /// What the reply page of a link shows; `None` if the alert does not exist.
    pub async fn reply_facts(
        &self,
        tenant: TenantId,
        visit: VisitId,
        message: MessageId,
        link_hash: [u8; 32],
    ) -> StoreResult<Option<ReplyFacts>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT vr.name, vr.company, s.name, t.default_locale,
                        EXISTS (SELECT 1 FROM reply_links_used u WHERE u.link_hash = ?4)
                 FROM outbox o JOIN visits v ON v.id = o.visit_id AND v.tenant_id = o.tenant_id
                 JOIN sites s ON s.id = v.site_id JOIN tenants t ON t.id = o.tenant_id
                 LEFT JOIN visitors vr ON vr.id = v.visitor_id
                 WHERE o.id = ?1 AND o.tenant_id = ?2 AND o.visit_id = ?3",
            )?
            .query_row(
                params![message.get(), tenant.get(), visit.get(), link_hash.to_vec()],
                |r| {
                    let locale: String = r.get(3)?;
                    Ok(ReplyFacts {
                        visitor_name: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                        visitor_company: r.get(1)?,
                        site_name: r.get(2)?,
                        locale: Locale::parse(&locale).unwrap_or_default(),
                        used: r.get(4)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }
}
