//! Figures for health checks and metrics: outbox depth and failures per channel,
//! kiosk liveness, check-in totals. All read-only and cheap (indexed or small).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::Store;
use crate::error::StoreResult;
use crate::sql::ts;

/// Outbox figures of one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelDepth {
    /// `email`, `slack`, …
    pub channel: String,
    /// Waiting for a (next) attempt.
    pub queued: i64,
    /// Held by a worker.
    pub sending: i64,
    /// Given up.
    pub dead: i64,
    /// Failed attempts so far (retries and give-ups).
    pub failed_attempts: i64,
}

/// Kiosk liveness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KioskLiveness {
    /// Active (paired, not revoked) kiosks.
    pub active: i64,
    /// Active kiosks heard from within the window.
    pub recent: i64,
    /// Active kiosks not heard from within the window (or never).
    pub stale: i64,
}

impl Store {
    /// Outbox depth and failed attempts per channel.
    pub async fn outbox_depths(&self) -> StoreResult<Vec<ChannelDepth>> {
        self.read(|c| {
            let mut out: Vec<ChannelDepth> = Vec::new();
            let mut stmt = c.prepare_cached(
                "SELECT channel, status, count(*) FROM outbox
                 WHERE status IN ('queued', 'sending', 'dead') GROUP BY channel, status",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })?;
            for row in rows {
                let (channel, status, n) = row?;
                let entry = entry(&mut out, &channel);
                match status.as_str() {
                    "queued" => entry.queued = n,
                    "sending" => entry.sending = n,
                    _ => entry.dead = n,
                }
            }
            let mut stmt = c.prepare_cached(
                "SELECT o.channel, count(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.message_id
                 WHERE a.outcome IN ('retry', 'dead') GROUP BY o.channel",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (channel, n) = row?;
                entry(&mut out, &channel).failed_attempts = n;
            }
            out.sort_by(|a, b| a.channel.cmp(&b.channel));
            Ok(out)
        })
        .await
    }

    /// Messages due for longer than `late` and still not delivered (the backlog).
    pub async fn outbox_backlog(&self, now: DateTime<Utc>, late: Duration) -> StoreResult<i64> {
        let cutoff = ts(now - late);
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= ?1",
                [cutoff],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Active kiosks heard from since `now - window`, and those not.
    pub async fn kiosk_liveness(
        &self,
        now: DateTime<Utc>,
        window: Duration,
    ) -> StoreResult<KioskLiveness> {
        let cutoff = ts(now - window);
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT count(*), coalesce(sum(last_seen_at >= ?1 OR heartbeat_at >= ?1), 0) FROM kiosks WHERE status = 'active'",
                [cutoff],
                |r| {
                    let active: i64 = r.get(0)?;
                    let recent: i64 = r.get(1)?;
                    Ok(KioskLiveness { active, recent, stale: active - recent })
                },
            )?)
        })
        .await
    }
}

fn entry<'a>(out: &'a mut Vec<ChannelDepth>, channel: &str) -> &'a mut ChannelDepth {
    if let Some(i) = out.iter().position(|d| d.channel == channel) {
        return &mut out[i];
    }
    out.push(ChannelDepth {
        channel: channel.to_owned(),
        ..ChannelDepth::default()
    });
    let last = out.len() - 1;
    &mut out[last]
}
