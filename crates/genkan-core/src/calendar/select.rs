//! Which calendar events become appointments, and what the appointment looks like:
//! host, site, time window, visitors and their languages. Pure: the same event and
//! rules always give the same [`Decision`], which is also what the settings preview
//! shows before import is switched on.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::event::{AttendeeKind, CalendarEvent, EventKey, EventStatus, EventTime, Response};
use super::rules::{
    ImportRules, SiteTarget, TriggerMode, contains_folded, equals_folded, sanitize_text,
};
use crate::appointment::{MAX_PERIOD_DAYS, MAX_VISITORS, MAX_WINDOW};
use crate::id::SiteId;
use crate::text::{DisplayName, EmailAddress, Locale, ShortText};

/// Whose calendar is being read, and whose calendars are read at all.
#[derive(Debug, Clone, Copy)]
pub struct HostContext<'a> {
    /// The e-mail address of the calendar's owner.
    pub calendar_owner: &'a str,
    /// Lower-cased addresses of the tenant's people whose calendars are synced
    /// (connected and not opted out).
    pub connected: &'a BTreeSet<String>,
}

/// One visitor the calendar asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedVisitor {
    /// Their address (the visitor's identity within the appointment).
    pub email: EmailAddress,
    /// Their name as the calendar shows it, or the address when it has none.
    pub name: DisplayName,
    /// Language by the tenant's domain rules.
    pub locale: Locale,
}

/// The appointment an event asks for. Also the snapshot kept per synced appointment
/// ("what the calendar said last time") for [`super::reconcile()`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentPlan {
    /// UID and recurrence id.
    pub key: EventKey,
    /// Provider object id (deletions arrive by it).
    pub source_id: String,
    /// Provider id of the series master, for occurrences.
    pub series_id: Option<String>,
    /// The provider's version of the event.
    pub version: String,
    /// The host's address (map it to a user).
    pub host_email: EmailAddress,
    /// Where.
    pub site: SiteId,
    /// Purpose (the event title, made inert).
    pub title: Option<ShortText>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End (at most 24 hours after the start; longer events get a period).
    pub ends_at: DateTime<Utc>,
    /// Local dates of a period pass, for events spanning several days.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The visitors, ordered by address.
    pub visitors: Vec<PlannedVisitor>,
}

/// Why an event is not (or no longer) an appointment. Stable `code`s for the preview
/// and the list of matched-but-failed events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The event is cancelled.
    Cancelled,
    /// No trigger is enabled.
    NoTriggerEnabled,
    /// The triggers do not match.
    NotMatched,
    /// It books an excluded room.
    ExcludedRoom,
    /// Its host is another connected person; it is imported from their calendar.
    HostedElsewhere,
    /// The host's address is not valid.
    InvalidHost,
    /// No outside attendee (who has not declined) with a valid address.
    NoVisitors,
    /// More visitors than one appointment may have.
    TooManyVisitors,
    /// No site rule matches and there is no default site.
    NoSite,
    /// The end is not after the start.
    InvalidTime,
    /// Longer than a period pass may be.
    TooLong,
}

impl SkipReason {
    /// Stable machine code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Cancelled => "cancelled",
            Self::NoTriggerEnabled => "no_trigger_enabled",
            Self::NotMatched => "not_matched",
            Self::ExcludedRoom => "excluded_room",
            Self::HostedElsewhere => "hosted_elsewhere",
            Self::InvalidHost => "invalid_host",
            Self::NoVisitors => "no_visitors",
            Self::TooManyVisitors => "too_many_visitors",
            Self::NoSite => "no_site",
            Self::InvalidTime => "invalid_time",
            Self::TooLong => "too_long",
        }
    }

    /// Whether an event that matched the triggers failed to become an appointment
    /// (worth showing an admin), as opposed to simply not being a visit.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::InvalidHost
                | Self::NoVisitors
                | Self::TooManyVisitors
                | Self::NoSite
                | Self::InvalidTime
                | Self::TooLong
        )
    }
}

/// What to do with one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "lowercase")]
pub enum Decision {
    /// It is an appointment like this.
    Import(Box<AppointmentPlan>),
    /// It is not an appointment, for this reason.
    Skip(SkipReason),
}

fn room_matches(event: &CalendarEvent, pattern: &str) -> bool {
    event.rooms().any(|r| {
        equals_folded(&r.email, pattern)
            || r.name.as_deref().is_some_and(|n| equals_folded(n, pattern))
    }) || event
        .location
        .as_deref()
        .is_some_and(|l| contains_folded(l, pattern))
}

fn triggered(event: &CalendarEvent, rules: &ImportRules, has_outside: bool) -> Option<bool> {
    let t = &rules.triggers;
    let mut results = Vec::with_capacity(3);
    if t.outside_attendees {
        results.push(has_outside);
    }
    if !t.rooms.is_empty() {
        results.push(t.rooms.iter().any(|p| room_matches(event, p)));
    }
    if !t.keywords.is_empty() {
        let text = [event.title.as_deref(), event.location.as_deref()];
        results.push(
            t.keywords
                .iter()
                .any(|k| text.iter().flatten().any(|s| contains_folded(s, k))),
        );
    }
    if results.is_empty() {
        return None;
    }
    Some(match t.mode {
        TriggerMode::Any => results.iter().any(|r| *r),
        TriggerMode::All => results.iter().all(|r| *r),
    })
}

/// The host: the organiser when they are an internal, connected person; otherwise
/// the connected internal participant whose address sorts first (the calendar's
/// owner is always a participant of their own calendar). Every copy of a meeting
/// on several connected calendars thus names the same host, and only the host's
/// own calendar imports it: one appointment per meeting, never one per attendee.
fn host_of(event: &CalendarEvent, rules: &ImportRules, ctx: HostContext<'_>) -> String {
    let owner = ctx.calendar_owner.trim().to_lowercase();
    if let Some(org) = &event.organizer {
        let org = org.email.trim().to_lowercase();
        if rules.is_internal(&org) && (ctx.connected.contains(&org) || org == owner) {
            return org;
        }
    }
    let mut candidates: BTreeSet<String> = event
        .attendees
        .iter()
        .filter(|a| a.kind == AttendeeKind::Person && a.response != Response::Declined)
        .map(|a| a.email.trim().to_lowercase())
        .filter(|e| rules.is_internal(e) && ctx.connected.contains(e))
        .collect();
    candidates.insert(owner);
    candidates.pop_first().unwrap_or_default()
}

fn visitors(event: &CalendarEvent, rules: &ImportRules) -> Vec<PlannedVisitor> {
    let mut by_email: BTreeMap<String, PlannedVisitor> = BTreeMap::new();
    for a in &event.attendees {
        if a.kind != AttendeeKind::Person
            || a.response == Response::Declined
            || rules.is_internal(&a.email)
            || rules.is_ignored(&a.email)
        {
            continue;
        }
        let Ok(email) = EmailAddress::parse(&a.email) else {
            continue;
        };
        let name = a
            .name
            .as_deref()
            .and_then(|n| sanitize_text(n, DisplayName::MAX))
            .and_then(|n| DisplayName::parse(&n).ok())
            .or_else(|| {
                let shown = sanitize_text(email.as_str(), DisplayName::MAX)?;
                DisplayName::parse(&shown).ok()
            });
        let Some(name) = name else { continue };
        let locale = rules.locale_for(email.as_str());
        by_email
            .entry(email.as_str().to_owned())
            .or_insert(PlannedVisitor {
                email,
                name,
                locale,
            });
    }
    by_email.into_values().collect()
}

fn site_for(event: &CalendarEvent, rules: &ImportRules) -> Option<SiteTarget> {
    rules
        .sites
        .iter()
        .find(|r| room_matches(event, &r.pattern))
        .map(|r| r.site)
        .or(rules.default_site)
}

type Window = (DateTime<Utc>, DateTime<Utc>, Option<(NaiveDate, NaiveDate)>);

fn window(event: &CalendarEvent, site: SiteTarget) -> Result<Window, SkipReason> {
    let zone = site.zone;
    let (start, end) = match (&event.start, &event.end) {
        (EventTime::At { utc: s, .. }, EventTime::At { utc: e, .. }) => (*s, *e),
        (EventTime::Date { date: s }, EventTime::Date { date: e }) => {
            // All-day: [first day, exclusive end day) in the site's zone.
            let last = e.pred_opt().filter(|l| l >= s).unwrap_or(*s);
            let (from, until) = zone.days_window(*s, last);
            return period_or_day(from, until, *s, last);
        }
        (EventTime::Date { date }, EventTime::At { utc, .. }) => (zone.start_of_day(*date), *utc),
        (EventTime::At { utc, .. }, EventTime::Date { date }) => (*utc, zone.start_of_day(*date)),
    };
    if end <= start {
        return Err(SkipReason::InvalidTime);
    }
    if end - start <= MAX_WINDOW {
        return Ok((start, end, None));
    }
    let first = zone.local_date(start);
    let last = zone.local_date(end - Duration::seconds(1));
    period_or_day(start, end, first, last)
}

fn period_or_day(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Window, SkipReason> {
    if first == last {
        return Ok((start, end.min(start + MAX_WINDOW), None));
    }
    if (last - first).num_days() >= MAX_PERIOD_DAYS {
        return Err(SkipReason::TooLong);
    }
    Ok((start, end.min(start + MAX_WINDOW), Some((first, last))))
}

/// Decides whether `event`, read from the calendar of `ctx.calendar_owner`, is an
/// appointment, and which. Rules, in order: a cancelled event is not; one booking an
/// excluded room is not; the enabled triggers must match (any or all); the host is
/// chosen as described at [`HostContext`] and only their calendar imports; visitors
/// are the attendees who are people outside the tenant's domains, not on the ignore
/// list and not declined, one per address; the site comes from the first site rule
/// matching a booked room or the location, else the default site; events longer than
/// 24 hours get a period pass over their local dates.
pub fn decide(event: &CalendarEvent, rules: &ImportRules, ctx: HostContext<'_>) -> Decision {
    match plan(event, rules, ctx) {
        Ok(plan) => Decision::Import(Box::new(plan)),
        Err(reason) => Decision::Skip(reason),
    }
}

fn plan(
    event: &CalendarEvent,
    rules: &ImportRules,
    ctx: HostContext<'_>,
) -> Result<AppointmentPlan, SkipReason> {
    if event.status == EventStatus::Cancelled {
        return Err(SkipReason::Cancelled);
    }
    if rules.excluded_rooms.iter().any(|p| room_matches(event, p)) {
        return Err(SkipReason::ExcludedRoom);
    }
    let visitors = visitors(event, rules);
    let has_outside = event.attendees.iter().any(|a| {
        a.kind == AttendeeKind::Person
            && !rules.is_internal(&a.email)
            && !rules.is_ignored(&a.email)
    });
    match triggered(event, rules, has_outside) {
        None => return Err(SkipReason::NoTriggerEnabled),
        Some(false) => return Err(SkipReason::NotMatched),
        Some(true) => {}
    }
    let host = host_of(event, rules, ctx);
    if host != ctx.calendar_owner.trim().to_lowercase() {
        return Err(SkipReason::HostedElsewhere);
    }
    let host_email = EmailAddress::parse(&host).map_err(|_| SkipReason::InvalidHost)?;
    if visitors.is_empty() {
        return Err(SkipReason::NoVisitors);
    }
    if visitors.len() > MAX_VISITORS {
        return Err(SkipReason::TooManyVisitors);
    }
    let site = site_for(event, rules).ok_or(SkipReason::NoSite)?;
    let (starts_at, ends_at, period) = window(event, site)?;
    let title = event
        .title
        .as_deref()
        .and_then(|t| sanitize_text(t, ShortText::MAX))
        .and_then(|t| ShortText::parse(&t).ok());
    Ok(AppointmentPlan {
        key: event.key.clone(),
        source_id: event.source_id.clone(),
        series_id: event.series_id.clone(),
        version: event.version.clone(),
        host_email,
        site: site.id,
        title,
        starts_at,
        ends_at,
        period,
        visitors,
    })
}

#[cfg(test)]
#[path = "select_tests.rs"]
pub(crate) mod tests;
