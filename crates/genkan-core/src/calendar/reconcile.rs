//! Reconciliation: what to do to a synced appointment when its event changed, and
//! to a whole calendar when a sync reports a batch of changes. Pure and idempotent:
//! feeding the same event twice yields no action the second time.
//!
//! **The rule for edits made in Genkan.** Time and cancellation always follow the
//! calendar: a moved event moves the appointment (and the visitors get the update
//! mail), a cancelled, deleted or no-longer-matching event cancels it. Every other
//! field edited in Genkan (title, site, host, a visitor's name or language) is kept,
//! and the calendar no longer overrides that field. A visitor removed in Genkan is
//! not added back by the calendar; a visitor added in Genkan is never removed by it.
//! An appointment cancelled in Genkan stays cancelled whatever the calendar says.
//! Genkan never writes back to the calendar.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::event::{Change, EventKey};
use super::select::{AppointmentPlan, Decision, PlannedVisitor, SkipReason};
use crate::id::SiteId;
use crate::text::{EmailAddress, ShortText};

/// What was changed in Genkan on a synced appointment, kept by the store beside the
/// snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalEdits {
    /// The title was edited.
    pub title: bool,
    /// The site was changed.
    pub site: bool,
    /// The host was changed.
    pub host: bool,
    /// The appointment was cancelled in Genkan.
    pub cancelled: bool,
    /// Lower-cased addresses of calendar visitors removed in Genkan.
    pub visitors_removed: BTreeSet<String>,
    /// Lower-cased addresses of visitors whose name or language was edited.
    pub visitors_edited: BTreeSet<String>,
}

/// One thing to do to an appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum SyncAction {
    /// Create the appointment with its visitors and passes; send invitations.
    Create(Box<AppointmentPlan>),
    /// Move it in time; send the update mail.
    Move {
        /// New start.
        starts_at: DateTime<Utc>,
        /// New end.
        ends_at: DateTime<Utc>,
        /// New period, if any.
        period: Option<(NaiveDate, NaiveDate)>,
    },
    /// Change the title.
    Retitle(Option<ShortText>),
    /// Change the site.
    ChangeSite(SiteId),
    /// Change the host.
    ChangeHost(EmailAddress),
    /// Add a visitor and issue their pass.
    AddVisitor(PlannedVisitor),
    /// Update a visitor's name or language.
    UpdateVisitor(PlannedVisitor),
    /// Remove a visitor and revoke their pass.
    RemoveVisitor(EmailAddress),
    /// Cancel the appointment and revoke its passes.
    Cancel,
}

/// The actions that bring an appointment from `prev` (the plan applied last time;
/// `None` when no live appointment exists for the key) to `next` (`None` when the
/// event is gone, cancelled or no longer matches), honouring `edits` by the rule in
/// the module documentation. An empty list means nothing to do. After applying the
/// actions, store `next` as the new snapshot.
pub fn reconcile(
    prev: Option<&AppointmentPlan>,
    next: Option<&AppointmentPlan>,
    edits: &LocalEdits,
) -> Vec<SyncAction> {
    let (prev, next) = match (prev, next) {
        (None, None) => return Vec::new(),
        (None, Some(next)) => return vec![SyncAction::Create(Box::new(next.clone()))],
        (Some(_), None) if edits.cancelled => return Vec::new(),
        (Some(_), None) => return vec![SyncAction::Cancel],
        (Some(prev), Some(next)) => (prev, next),
    };
    if edits.cancelled {
        return Vec::new();
    }
    let mut actions = Vec::new();
    if (prev.starts_at, prev.ends_at, prev.period) != (next.starts_at, next.ends_at, next.period) {
        actions.push(SyncAction::Move {
            starts_at: next.starts_at,
            ends_at: next.ends_at,
            period: next.period,
        });
    }
    if prev.title != next.title && !edits.title {
        actions.push(SyncAction::Retitle(next.title.clone()));
    }
    if prev.site != next.site && !edits.site {
        actions.push(SyncAction::ChangeSite(next.site));
    }
    if prev.host_email != next.host_email && !edits.host {
        actions.push(SyncAction::ChangeHost(next.host_email.clone()));
    }
    let before: BTreeMap<&str, &PlannedVisitor> = prev
        .visitors
        .iter()
        .map(|v| (v.email.as_str(), v))
        .collect();
    let after: BTreeMap<&str, &PlannedVisitor> = next
        .visitors
        .iter()
        .map(|v| (v.email.as_str(), v))
        .collect();
    for (email, v) in &before {
        if !after.contains_key(email) && !edits.visitors_removed.contains(*email) {
            actions.push(SyncAction::RemoveVisitor(v.email.clone()));
        }
    }
    for (email, v) in &after {
        if edits.visitors_removed.contains(*email) {
            continue;
        }
        match before.get(email) {
            None => actions.push(SyncAction::AddVisitor((*v).clone())),
            Some(old) if old != v && !edits.visitors_edited.contains(*email) => {
                actions.push(SyncAction::UpdateVisitor((*v).clone()));
            }
            Some(_) => {}
        }
    }
    actions
}

/// A synced appointment the store knows for one calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    /// The snapshot stored at the last sync (`Known` entries exist only for live
    /// appointments, or for cancelled ones the caller wants re-created: pass those
    /// with `live: false`).
    pub snapshot: AppointmentPlan,
    /// Whether the appointment is live (not cancelled).
    pub live: bool,
    /// Edits made in Genkan.
    pub edits: LocalEdits,
}

/// What a batch means for one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedActions {
    /// The occurrence.
    pub key: EventKey,
    /// The actions (never empty in a [`BatchPlan`]).
    pub actions: Vec<SyncAction>,
    /// The snapshot to store afterwards; `None` when the appointment is cancelled.
    pub snapshot: Option<AppointmentPlan>,
}

/// The result of [`plan_batch`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPlan {
    /// Per occurrence, the actions to apply.
    pub items: Vec<KeyedActions>,
    /// Events that matched the triggers but could not become appointments, with the
    /// reason (for the admin's list of failures).
    pub failures: Vec<(EventKey, SkipReason)>,
    /// Occurrences whose snapshot should be refreshed although nothing visible
    /// changed (a new provider version or source id).
    pub refreshed: Vec<AppointmentPlan>,
}

/// Turns one sync batch into actions. `decide` is [`super::select::decide`] with the
/// tenant's rules and host context bound; `known` are the synced appointments of this
/// calendar by key; `now` and `horizon` bound what is new: an event that has ended is
/// left alone (history is never rewritten), and a new appointment is created only if
/// it starts before `now + horizon` (a known one still follows moves beyond it). When
/// `full` is set the batch lists every object of the calendar from `window_start` on,
/// so a known live appointment starting from then that is absent is cancelled.
pub fn plan_batch(
    changes: &[Change],
    full: Option<DateTime<Utc>>,
    known: &BTreeMap<EventKey, Known>,
    decide: impl Fn(&super::event::CalendarEvent) -> Decision,
    now: DateTime<Utc>,
    horizon: chrono::Duration,
) -> BatchPlan {
    // Last word per key wins (an event may appear on two pages of one batch).
    let mut next: BTreeMap<EventKey, Option<AppointmentPlan>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut gone_sources: BTreeSet<&str> = BTreeSet::new();
    for change in changes {
        match change {
            Change::Object { source_id, events } => {
                let present: BTreeSet<&EventKey> = events.iter().map(|e| &e.key).collect();
                for (key, k) in known {
                    if k.snapshot.source_id == *source_id && !present.contains(key) {
                        next.insert(key.clone(), None);
                    }
                }
                for event in events {
                    let decision = decide(event);
                    let plan = match decision {
                        Decision::Import(plan) => Some(*plan),
                        Decision::Skip(reason) => {
                            if reason.is_failure() {
                                failures.push((event.key.clone(), reason));
                            }
                            None
                        }
                    };
                    next.insert(event.key.clone(), plan);
                }
            }
            Change::Removed { source_id } => {
                gone_sources.insert(source_id);
            }
        }
    }
    for (key, k) in known {
        let s = &k.snapshot;
        if gone_sources.contains(s.source_id.as_str())
            || s.series_id
                .as_deref()
                .is_some_and(|id| gone_sources.contains(id))
        {
            next.insert(key.clone(), None);
        }
    }
    if let Some(window_start) = full {
        for (key, k) in known {
            if k.snapshot.starts_at >= window_start && !next.contains_key(key) {
                next.insert(key.clone(), None);
            }
        }
    }
    let mut plan = BatchPlan {
        failures,
        ..BatchPlan::default()
    };
    let empty = LocalEdits::default();
    for (key, wanted) in next {
        let entry = known.get(&key);
        // An appointment cancelled in Genkan stays cancelled, whatever the calendar says.
        if entry.is_some_and(|k| k.edits.cancelled) {
            continue;
        }
        let prev = entry.filter(|k| k.live).map(|k| &k.snapshot);
        // The past is history: an appointment that has ended is neither created,
        // moved nor cancelled by the calendar.
        let ended = |p: &AppointmentPlan| p.ends_at <= now;
        if prev.is_some_and(ended) || wanted.as_ref().is_some_and(|w| prev.is_none() && ended(w)) {
            continue;
        }
        if prev.is_none() && wanted.as_ref().is_some_and(|w| w.starts_at > now + horizon) {
            continue;
        }
        let edits = entry.map_or(&empty, |k| &k.edits);
        let actions = reconcile(prev, wanted.as_ref(), edits);
        if actions.is_empty() {
            if let (Some(p), Some(w)) = (prev, &wanted)
                && (p.version != w.version || p.source_id != w.source_id || p != w)
            {
                plan.refreshed.push(w.clone());
            }
            continue;
        }
        plan.items.push(KeyedActions {
            key,
            actions,
            snapshot: wanted,
        });
    }
    plan
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
