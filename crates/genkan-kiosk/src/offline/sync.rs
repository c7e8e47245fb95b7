//! The kiosk's background talk with the server: heartbeats, replaying the offline
//! journal in order, refreshing the roster, and noticing when the server goes away or
//! comes back. Each step is a plain async function of an API, the desk and the time,
//! so tests drive it with a fake server and a manual clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use genkan_core::wire::v1::{ErrorCode, Heartbeat, PresentPass};
use serde::Serialize;

use super::OfflineDesk;
use crate::client::{ClientError, KioskApi};

/// How often the roster is refreshed while online.
pub const ROSTER_EVERY: Duration = Duration::minutes(5);
/// How often a heartbeat is sent while online.
pub const HEARTBEAT_EVERY: Duration = Duration::minutes(1);
/// How often an offline kiosk checks whether the server is back.
pub const PROBE_EVERY: Duration = Duration::seconds(10);

/// Locks the desk, recovering from a poisoned lock (a panic elsewhere must not stop
/// check-ins: the files on disk are the truth).
pub fn lock(desk: &Mutex<OfflineDesk>) -> MutexGuard<'_, OfflineDesk> {
    desk.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// Request ids the server accepted, with the visit each made (or had made).
    pub replayed: Vec<(String, i64)>,
    /// Of those, the request ids whose host no delivered channel could reach (the
    /// server told reception where it could): logged, so the desk can follow up.
    pub host_not_reached: Vec<String>,
    /// Request ids the server refused for good (e.g. already inside), with the code.
    pub refused: Vec<(String, ErrorCode)>,
    /// Entries still waiting.
    pub remaining: usize,
    /// Why the replay stopped early, if it did (the entries stay for the next try).
    pub stopped: Option<String>,
    /// The server says this kiosk is revoked.
    pub revoked: bool,
    /// The replay stopped because the server is out of reach.
    pub server_down: bool,
}

/// Whether a refusal is final for a replayed check-in (drop the entry) rather than a
/// reason to stop and try again later (keep it).
fn final_refusal(code: ErrorCode) -> bool {
    !matches!(
        code,
        ErrorCode::KioskRevoked
            | ErrorCode::Unauthorized
            | ErrorCode::Forbidden
            | ErrorCode::RateLimited
            | ErrorCode::Unavailable
            | ErrorCode::Internal
            | ErrorCode::ReadOnly
            | ErrorCode::PayloadTooLarge
    )
}

/// Replays the journal oldest first, each check-in with its original request id and
/// its real arrival time; removes each entry as soon as the server has answered it
/// for good. Stops at the first answer that says "not now", keeping the rest in order.
pub async fn replay<A: KioskApi>(api: &A, desk: &Mutex<OfflineDesk>) -> ReplayReport {
    let mut report = ReplayReport::default();
    let entries = match lock(desk).journal().entries() {
        Ok(entries) => entries,
        Err(e) => {
            report.stopped = Some(format!("cannot read the journal: {e}"));
            return report;
        }
    };
    for (i, entry) in entries.iter().enumerate() {
        let pass = PresentPass {
            request_id: entry.request_id.clone(),
            token: None,
            code: None,
            offline_at: Some(entry.offline_at.to_rfc3339()),
            token_hash: Some(entry.token_hash.clone()),
        };
        match api.check_in(&pass, None).await {
            Ok(visit) => {
                tracing::info!(request_id = %entry.request_id, visit_id = visit.visit_id, "offline check-in replayed");
                if !visit.host_notified {
                    tracing::warn!(
                        request_id = %entry.request_id,
                        visit_id = visit.visit_id,
                        reception_notified = visit.reception_notified,
                        "offline check-in replayed, but no channel could reach the host"
                    );
                    report.host_not_reached.push(entry.request_id.clone());
                }
                report
                    .replayed
                    .push((entry.request_id.clone(), visit.visit_id));
            }
            Err(ClientError::Refused(body)) if final_refusal(body.code) => {
                tracing::warn!(request_id = %entry.request_id, code = %body.code, "offline check-in refused on replay");
                report.refused.push((entry.request_id.clone(), body.code));
            }
            Err(e) => {
                report.server_down = e.server_down();
                report.revoked = matches!(
                    e.code(),
                    Some(ErrorCode::KioskRevoked | ErrorCode::Unauthorized)
                );
                report.stopped = Some(e.to_string());
                report.remaining = entries.len() - i;
                return report;
            }
        }
        if let Err(e) = lock(desk)
            .journal()
            .remove(std::slice::from_ref(&entry.request_id))
        {
            // Replays are idempotent: sending it again later is harmless.
            report.stopped = Some(format!("cannot update the journal: {e}"));
            report.remaining = entries.len() - i - 1;
            return report;
        }
    }
    report.remaining = lock(desk).journal().len().unwrap_or(0);
    report
}

/// What the kiosk reports in its heartbeat, kept up to date by the UI side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// One of `genkan_core::wire::v1::camera_state`.
    pub camera: &'static str,
    /// Last successful scan.
    pub last_scan_at: Option<DateTime<Utc>>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            camera: genkan_core::wire::v1::camera_state::STARTING,
            last_scan_at: None,
        }
    }
}

/// A change the UI should know about after a background step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    /// The server answers again.
    Online,
    /// The server stopped answering.
    Offline,
    /// The server says this kiosk is revoked.
    Revoked,
}

/// The background schedule and the shared "is the server there" flag.
#[derive(Debug)]
pub struct Background {
    online: Arc<AtomicBool>,
    /// What the UI was last told (check-in tasks may turn the flag off unannounced).
    announced: bool,
    last_heartbeat: Option<DateTime<Utc>>,
    last_roster: Option<DateTime<Utc>>,
    next_probe: Option<DateTime<Utc>>,
}

impl Background {
    /// Starts believing the server is there.
    pub fn new() -> Self {
        Self {
            online: Arc::new(AtomicBool::new(true)),
            announced: true,
            last_heartbeat: None,
            last_roster: None,
            next_probe: None,
        }
    }

    /// The flag check-ins read and set (shared with the check-in tasks).
    pub fn link(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.online)
    }

    /// Whether the server is believed to answer.
    pub fn online(&self) -> bool {
        self.online.load(Ordering::Acquire)
    }

    fn went_offline(&mut self, now: DateTime<Utc>, why: &ClientError) {
        self.next_probe = Some(now + PROBE_EVERY);
        if self.online.swap(false, Ordering::AcqRel) {
            tracing::warn!(error = %why, "the server cannot be reached: offline mode");
        }
    }

    /// Does whatever is due at `now`: a heartbeat (also the probe while offline), the
    /// journal's replay, a roster refresh (every few minutes, and at once after
    /// reconnecting), and tidying. Returns the link changes to show: the server
    /// went away or came back (whoever noticed it), or revoked this kiosk.
    pub async fn step<A: KioskApi>(
        &mut self,
        api: &A,
        desk: &Mutex<OfflineDesk>,
        health: &Health,
        now: DateTime<Utc>,
    ) -> Vec<LinkEvent> {
        let mut events = self.due(api, desk, health, now).await;
        let online = self.online();
        if online != self.announced {
            self.announced = online;
            events.insert(
                0,
                if online {
                    LinkEvent::Online
                } else {
                    LinkEvent::Offline
                },
            );
        }
        events
    }

    async fn due<A: KioskApi>(
        &mut self,
        api: &A,
        desk: &Mutex<OfflineDesk>,
        health: &Health,
        now: DateTime<Utc>,
    ) -> Vec<LinkEvent> {
        let mut events = Vec::new();
        // A check-in task may have found the server gone since the last step.
        if !self.online() && self.next_probe.is_none() {
            self.next_probe = Some(now);
        }
        let probing = !self.online();
        if probing && self.next_probe.is_some_and(|at| now < at) {
            lock(desk).tidy(now);
            return events;
        }
        let beat_due = self
            .last_heartbeat
            .is_none_or(|at| now - at >= HEARTBEAT_EVERY);
        if probing || beat_due {
            let beat = Heartbeat {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                camera: health.camera.to_owned(),
                last_scan_at: health.last_scan_at.map(|t| t.to_rfc3339()),
                journal_length: lock(desk).journal_len(),
            };
            match api.heartbeat(&beat).await {
                Ok(()) => {
                    self.last_heartbeat = Some(now);
                    if !self.online.swap(true, Ordering::AcqRel) {
                        tracing::info!("the server answers again");
                        // Reconnected: the roster may have changed meanwhile.
                        self.last_roster = None;
                    }
                    self.next_probe = None;
                }
                Err(e) if e.server_down() => {
                    self.went_offline(now, &e);
                    lock(desk).tidy(now);
                    return events;
                }
                Err(e) => {
                    if matches!(
                        e.code(),
                        Some(ErrorCode::KioskRevoked | ErrorCode::Unauthorized)
                    ) {
                        events.push(LinkEvent::Revoked);
                        lock(desk).forget_all();
                        return events;
                    }
                    tracing::warn!(error = %e, "heartbeat refused");
                    self.last_heartbeat = Some(now);
                }
            }
        }
        if !lock(desk).journal().is_empty().unwrap_or(true) {
            let report = replay(api, desk).await;
            if report.revoked {
                events.push(LinkEvent::Revoked);
                lock(desk).forget_all();
                return events;
            }
            if report.server_down {
                let why = ClientError::Unreachable(report.stopped.unwrap_or_default());
                self.went_offline(now, &why);
                return events;
            }
        }
        if self.last_roster.is_none_or(|at| now - at >= ROSTER_EVERY) {
            match api.roster().await {
                Ok(roster) => {
                    let passes = roster.passes.len();
                    match lock(desk).store_roster(roster, now) {
                        Ok(()) => tracing::info!(passes, "roster refreshed"),
                        Err(e) => tracing::error!(error = %e, "cannot store the roster"),
                    }
                    self.last_roster = Some(now);
                }
                Err(e) if e.server_down() => self.went_offline(now, &e),
                Err(e) => {
                    tracing::warn!(error = %e, "roster refused");
                    self.last_roster = Some(now);
                }
            }
        }
        lock(desk).tidy(now);
        events
    }
}

impl Default for Background {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests;
