//! Who is told what, decided inside the transaction of the event: arrival alerts go
//! to the host (or their delegate when the host is away), every configured channel
//! of the tenant and the site's reception contacts, and the check-in learns whom they
//! can actually reach ([`Reach`]: only channels this server delivers count); personal
//! notices (no-show, failed invitation) go to the host's own channels; reminders go
//! to visitors.

use std::sync::atomic::{AtomicU8, Ordering};

use chrono::{DateTime, Duration, Utc};
use genkan_core::id::{AppointmentId, MessageId, SiteId, TenantId, UserId, VisitId, VisitorId};
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::reach::{Audience, Deliverable, Reach, Target};
use genkan_core::tenant::TimeZone;
use genkan_core::text::Locale;
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::Store;
use crate::error::StoreResult;
use crate::keys::KeyRing;
use crate::outbox::{NewMessage, enqueue, enqueue_once};
use crate::sql::ts;

/// What an arrival alert is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArrivalSubject {
    /// The host named by the appointment (or chosen at a walk-in).
    pub(crate) host_id: UserId,
    /// Where the visitor arrived.
    pub(crate) site_id: SiteId,
    /// The appointment, if any.
    pub(crate) appointment_id: Option<AppointmentId>,
    /// The visitor, if known.
    pub(crate) visitor_id: Option<VisitorId>,
}

/// The person who receives a host's notices: the host, or their delegate while away.
struct Recipient {
    email: String,
    locale: Locale,
}

struct TenantFlags {
    notify_email: bool,
    notify_slack: bool,
    slack_webhook: bool,
    default_locale: Locale,
    channels: Vec<String>,
}

fn tenant_flags(conn: &Connection, tenant: TenantId) -> StoreResult<TenantFlags> {
    let (notify_email, notify_slack, slack_webhook, locale): (bool, bool, bool, String) = conn
        .prepare_cached(
            "SELECT notify_email, notify_slack, slack_webhook IS NOT NULL, default_locale
             FROM tenants WHERE id = ?1",
        )?
        .query_row([tenant.get()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let channels = conn
        .prepare_cached("SELECT channel FROM tenant_channels WHERE tenant_id = ?1")?
        .query_map([tenant.get()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(TenantFlags {
        notify_email,
        notify_slack,
        slack_webhook,
        default_locale: Locale::parse(&locale).unwrap_or_default(),
        channels,
    })
}

impl TenantFlags {
    fn has(&self, channel: &str) -> bool {
        self.channels.iter().any(|c| c == channel)
    }
}

/// The host, or their active delegate when the host is marked away.
fn recipient(
    conn: &Connection,
    tenant: TenantId,
    host: UserId,
    fallback: Locale,
) -> StoreResult<Option<Recipient>> {
    /// Host's address, locale and away flag; the delegate's address and locale.
    type HostRow = (String, Option<String>, bool, Option<String>, Option<String>);
    let row: Option<HostRow> = conn
        .prepare_cached(
            "SELECT u.email, u.locale, u.away, d.email, d.locale
             FROM users u LEFT JOIN users d ON d.id = u.delegate_id AND d.tenant_id = u.tenant_id
                  AND d.status = 'active'
             WHERE u.id = ?1 AND u.tenant_id = ?2",
        )?
        .query_row(params![host.get(), tenant.get()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let locale = |l: Option<String>| l.and_then(|l| Locale::parse(&l).ok()).unwrap_or(fallback);
    Ok(
        row.map(|(email, loc, away, d_email, d_loc)| match (away, d_email) {
            (true, Some(delegate)) => Recipient {
                email: delegate,
                locale: locale(d_loc),
            },
            _ => Recipient {
                email,
                locale: locale(loc),
            },
        }),
    )
}

/// One alert of an arrival: channel, recipient, language and whom it is meant for.
type Queued = (Channel, String, Locale, Audience);

/// Every alert an arrival at `subject` calls for, by the tenant's and site's settings
/// (whether the server can deliver them is [`Reach::of`]'s question).
fn arrival_targets(
    conn: &Connection,
    tenant: TenantId,
    subject: &ArrivalSubject,
) -> StoreResult<(Vec<Queued>, Locale)> {
    let flags = tenant_flags(conn, tenant)?;
    let person = recipient(conn, tenant, subject.host_id, flags.default_locale)?;
    let (alert_emails, alert_channel, site_webhook): (String, String, bool) = conn
        .prepare_cached(
            "SELECT alert_emails, alert_slack_channel, slack_webhook IS NOT NULL
             FROM sites WHERE id = ?1 AND tenant_id = ?2",
        )?
        .query_row(params![subject.site_id.get(), tenant.get()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?
        .unwrap_or_default();
    let mut queued = Vec::<Queued>::new();
    let bot = flags.has("slack_bot");
    let host = Audience::Host;
    if let Some(p) = &person {
        if flags.notify_email {
            queued.push((Channel::Email, p.email.clone(), p.locale, host));
        }
        if flags.notify_slack && bot {
            queued.push((Channel::Slack, format!("dm:{}", p.email), p.locale, host));
        }
    }
    // The tenant's (or site's) arrival channels are where its hosts are told.
    if flags.notify_slack {
        if site_webhook {
            let site = format!("site:{}", subject.site_id);
            queued.push((Channel::Slack, site, flags.default_locale, host));
        } else if flags.slack_webhook {
            queued.push((
                Channel::Slack,
                "tenant".to_owned(),
                flags.default_locale,
                host,
            ));
        }
    }
    for (name, channel) in [
        ("teams", Channel::Teams),
        ("chatwork", Channel::Chatwork),
        ("webhook", Channel::Webhook),
    ] {
        if flags.has(name) {
            queued.push((channel, "tenant".to_owned(), flags.default_locale, host));
        }
    }
    // Reception contacts of the site are always alerted too.
    for email in parse_contacts(&alert_emails) {
        if !queued
            .iter()
            .any(|(c, r, _, _)| *c == Channel::Email && r.eq_ignore_ascii_case(&email))
        {
            queued.push((
                Channel::Email,
                email,
                flags.default_locale,
                Audience::Reception,
            ));
        }
    }
    if bot && !alert_channel.trim().is_empty() {
        queued.push((
            Channel::Slack,
            format!("channel:{}", alert_channel.trim()),
            flags.default_locale,
            Audience::Reception,
        ));
    }
    Ok((queued, flags.default_locale))
}

/// Whom `queued` reaches when the server delivers `deliverable`.
fn reach_of(queued: &[Queued], deliverable: Deliverable) -> Reach {
    let targets: Vec<Target> = queued
        .iter()
        .map(|(channel, recipient, _, audience)| Target {
            channel: *channel,
            audience: *audience,
            // A Slack direct message is found by the person's address.
            addressed: !recipient.trim().is_empty() && recipient.trim() != "dm:",
        })
        .collect();
    Reach::of(&targets, deliverable)
}

/// Whom an arrival of `host`'s visitor at `site` would reach now (for rosters).
pub(crate) fn arrival_reach(
    conn: &Connection,
    tenant: TenantId,
    host: UserId,
    site: SiteId,
    deliverable: Deliverable,
) -> StoreResult<Reach> {
    let subject = ArrivalSubject {
        host_id: host,
        site_id: site,
        appointment_id: None,
        visitor_id: None,
    };
    let (queued, _) = arrival_targets(conn, tenant, &subject)?;
    Ok(reach_of(&queued, deliverable))
}

/// Queues every alert of an arrival; returns whom they reach when the server
/// delivers `deliverable` (what the kiosk may tell the visitor).
pub(crate) fn queue_arrival(
    conn: &Connection,
    keys: &KeyRing,
    tenant: TenantId,
    subject: ArrivalSubject,
    visit_id: VisitId,
    at: DateTime<Utc>,
    deliverable: Deliverable,
) -> StoreResult<Reach> {
    let (queued, locale) = arrival_targets(conn, tenant, &subject)?;
    let base = NewMessage {
        tenant_id: Some(tenant),
        kind: MessageKind::HostArrival,
        channel: Channel::Email,
        recipient: String::new(),
        locale,
        appointment_id: subject.appointment_id,
        visitor_id: subject.visitor_id,
        visit_id: Some(visit_id),
        user_id: None,
        secret_payload: None,
        at,
    };
    for (channel, recipient, locale, _) in &queued {
        enqueue(
            conn,
            keys,
            &NewMessage {
                channel: *channel,
                recipient: recipient.clone(),
                locale: *locale,
                ..base.clone()
            },
        )?;
    }
    Ok(reach_of(&queued, deliverable))
}

/// What this server delivers, as its configuration says (nothing until told): kept
/// by the store so every transaction that alerts a host can say truthfully whether
/// anyone will hear of it.
#[derive(Debug, Default)]
pub(crate) struct DeliverySetting(AtomicU8);

impl DeliverySetting {
    const EMAIL: u8 = 1;
    const CHAT: u8 = 2;

    fn set(&self, d: Deliverable) {
        let bits = if d.email { Self::EMAIL } else { 0 } | if d.chat { Self::CHAT } else { 0 };
        self.0.store(bits, Ordering::Release);
    }

    pub(crate) fn get(&self) -> Deliverable {
        let bits = self.0.load(Ordering::Acquire);
        Deliverable {
            email: bits & Self::EMAIL != 0,
            chat: bits & Self::CHAT != 0,
        }
    }
}

impl Store {
    /// Tells the store which channels this server delivers (from its configuration):
    /// check-ins then answer `host_notified` truthfully. Until called, nothing counts
    /// as delivered.
    pub fn set_deliverable(&self, deliverable: Deliverable) {
        self.delivery.set(deliverable);
    }

    /// The channels this server delivers, as last set.
    pub fn deliverable(&self) -> Deliverable {
        self.delivery.get()
    }
}

/// The e-mail addresses of a site's contact list (one per line or comma-separated).
pub fn parse_contacts(text: &str) -> Vec<String> {
    text.split([',', '\n', '\r', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Queues a personal notice to the host (or delegate): e-mail, a Slack direct
/// message when a bot is configured, and the generic webhook. `dedupe` makes it
/// happen at most once per key.
#[expect(
    clippy::too_many_arguments,
    reason = "one notice's facts, all needed to queue it"
)]
fn queue_personal(
    conn: &Connection,
    keys: &KeyRing,
    tenant: TenantId,
    host: UserId,
    kind: MessageKind,
    appointment: Option<AppointmentId>,
    visitor: Option<VisitorId>,
    dedupe: &str,
    at: DateTime<Utc>,
) -> StoreResult<usize> {
    let flags = tenant_flags(conn, tenant)?;
    let Some(person) = recipient(conn, tenant, host, flags.default_locale)? else {
        return Ok(0);
    };
    let base = NewMessage {
        tenant_id: Some(tenant),
        kind,
        channel: Channel::Email,
        recipient: person.email.clone(),
        locale: person.locale,
        appointment_id: appointment,
        visitor_id: visitor,
        visit_id: None,
        user_id: None,
        secret_payload: None,
        at,
    };
    let mut targets = vec![(Channel::Email, person.email.clone())];
    if flags.notify_slack && flags.has("slack_bot") {
        targets.push((Channel::Slack, format!("dm:{}", person.email)));
    }
    if flags.has("webhook") {
        targets.push((Channel::Webhook, "tenant".to_owned()));
    }
    let mut n = 0;
    for (channel, recipient) in targets {
        let msg = NewMessage {
            channel,
            recipient,
            ..base.clone()
        };
        if enqueue_once(conn, keys, &msg, &format!("{dedupe}:{}", channel.as_str()))? {
            n += 1;
        }
    }
    Ok(n)
}

/// When invitation `message` died, tells the appointment's host (once).
pub(crate) fn queue_invitation_failed(
    conn: &Connection,
    keys: &KeyRing,
    message: MessageId,
    at: DateTime<Utc>,
) -> StoreResult<usize> {
    /// Tenant, kind, appointment, visitor and host of the message.
    type MessageRow = (Option<i64>, String, Option<i64>, Option<i64>, Option<i64>);
    let row: Option<MessageRow> = conn
        .prepare_cached(
            "SELECT o.tenant_id, o.kind, o.appointment_id, o.visitor_id, a.host_id
             FROM outbox o LEFT JOIN appointments a ON a.id = o.appointment_id AND a.tenant_id = o.tenant_id
             WHERE o.id = ?1",
        )?
        .query_row([message.get()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((Some(tenant), kind, appointment, visitor, Some(host))) = row else {
        return Ok(0);
    };
    if kind != MessageKind::Invitation.as_str() {
        return Ok(0);
    }
    queue_personal(
        conn,
        keys,
        TenantId(tenant),
        UserId(host),
        MessageKind::InvitationFailed,
        appointment.map(AppointmentId),
        visitor.map(VisitorId),
        &format!("invitation_failed:{message}"),
        at,
    )
}

impl Store {
    /// Queues tomorrow's reminders for visitors of tenants that want them, once the
    /// site's local hour reaches the tenant's reminder hour. Each visitor gets at most
    /// one reminder per visit date. Returns how many were queued.
    pub async fn queue_reminders(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let sites: Vec<(i64, i64, String, i64)> = tx
                .prepare_cached(
                    "SELECT s.tenant_id, s.id, s.time_zone, t.reminder_hour FROM sites s
                     JOIN tenants t ON t.id = s.tenant_id WHERE t.reminder_enabled = 1",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut queued = 0;
            for (tenant, site, zone, hour) in sites {
                let zone = TimeZone::parse(&zone).unwrap_or_default();
                let local = now.with_timezone(&zone.tz());
                if i64::from(chrono::Timelike::hour(&local)) < hour {
                    continue;
                }
                let Some(tomorrow) = local.date_naive().succ_opt() else {
                    continue;
                };
                let (from, until) = zone.days_window(tomorrow, tomorrow);
                let visitors: Vec<(i64, String, String, i64)> = tx
                    .prepare_cached(
                        "SELECT v.id, v.email, v.locale, a.id FROM visitors v
                         JOIN appointments a ON a.id = v.appointment_id AND a.tenant_id = v.tenant_id
                         WHERE a.tenant_id = ?1 AND a.site_id = ?2 AND a.status = 'scheduled'
                           AND a.starts_at >= ?3 AND a.starts_at < ?4
                           AND v.email IS NOT NULL AND v.email != ''
                           AND EXISTS (SELECT 1 FROM passes p WHERE p.visitor_id = v.id AND p.revoked_at IS NULL)",
                    )?
                    .query_map(params![tenant, site, ts(from), ts(until)], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                for (visitor, email, locale, appointment) in visitors {
                    let msg = NewMessage {
                        tenant_id: Some(TenantId(tenant)),
                        kind: MessageKind::Reminder,
                        channel: Channel::Email,
                        recipient: email,
                        locale: Locale::parse(&locale).unwrap_or_default(),
                        appointment_id: Some(AppointmentId(appointment)),
                        visitor_id: Some(VisitorId(visitor)),
                        visit_id: None,
                        user_id: None,
                        secret_payload: None,
                        at: now,
                    };
                    if enqueue_once(tx, &keys, &msg, &format!("reminder:{visitor}:{tomorrow}"))? {
                        queued += 1;
                    }
                }
            }
            if queued > 0 {
                tx.wake_outbox();
            }
            Ok(queued)
        })
        .await
    }

    /// Queues a no-show notice to the host of every visitor who has not arrived the
    /// tenant's number of minutes after the start (looking back one day). Returns how
    /// many messages were queued.
    pub async fn queue_no_shows(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let keys = self.keys().clone();
        self.write(move |tx| {
            let tenants: Vec<(i64, i64)> = tx
                .prepare_cached("SELECT id, no_show_minutes FROM tenants WHERE no_show_minutes > 0")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut queued = 0;
            for (tenant, minutes) in tenants {
                let late = now - Duration::minutes(minutes);
                let missing: Vec<(i64, i64, i64)> = tx
                    .prepare_cached(
                        "SELECT v.id, a.id, a.host_id FROM visitors v
                         JOIN appointments a ON a.id = v.appointment_id AND a.tenant_id = v.tenant_id
                         WHERE a.tenant_id = ?1 AND a.status = 'scheduled'
                           AND a.starts_at <= ?2 AND a.starts_at > ?3
                           AND NOT EXISTS (SELECT 1 FROM visits x WHERE x.tenant_id = v.tenant_id AND x.visitor_id = v.id)",
                    )?
                    .query_map(params![tenant, ts(late), ts(now - Duration::days(1))], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                for (visitor, appointment, host) in missing {
                    queued += queue_personal(
                        tx,
                        &keys,
                        TenantId(tenant),
                        UserId(host),
                        MessageKind::NoShow,
                        Some(AppointmentId(appointment)),
                        Some(VisitorId(visitor)),
                        &format!("no_show:{visitor}:{appointment}"),
                        now,
                    )?;
                }
            }
            if queued > 0 {
                tx.wake_outbox();
            }
            Ok(queued)
        })
        .await
    }
}
