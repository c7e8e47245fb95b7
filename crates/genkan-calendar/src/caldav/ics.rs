//! iCalendar (RFC 5545) resources → normalised events, with calcard: recurring events
//! are expanded into occurrences inside the sync window (overrides and EXDATEs
//! applied, at most [`MAX_EXPANSION`] occurrences per resource from its start).

use calcard::common::timezone::Tz;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameterName,
    ICalendarParameterValue, ICalendarParticipationStatus, ICalendarProperty, ICalendarStatus,
    ICalendarUserTypes, ICalendarValue,
};
use calcard::{Entry, Parser};
use chrono::{DateTime, Utc};
use genkan_core::calendar::{
    Attendee, AttendeeKind, CalendarEvent, EventKey, EventStatus, EventTime, Organizer, Response,
};

use crate::source::SyncWindow;

/// Most occurrences computed per resource, counted from the series' first one: a
/// daily series is followed for about 27 years, an hourly one for about 14 months.
pub const MAX_EXPANSION: usize = 10_000;

/// Why a resource could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcsError {
    /// Not an iCalendar object.
    #[error("not an iCalendar object")]
    NotCalendar,
    /// A VEVENT without UID.
    #[error("an event has no UID")]
    MissingUid,
}

fn text(comp: &ICalendarComponent, prop: &ICalendarProperty) -> Option<String> {
    let entry = comp.property(prop)?;
    let parts: Vec<&str> = entry
        .values
        .iter()
        .filter_map(ICalendarValue::as_text)
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

fn param_text(entry: &ICalendarEntry, name: &ICalendarParameterName) -> Option<String> {
    entry
        .parameter(name)
        .and_then(|v| v.as_text())
        .map(str::to_owned)
}

fn is_date_only(comp: &ICalendarComponent, prop: &ICalendarProperty) -> bool {
    comp.property(prop)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_partial_date_time())
        .is_some_and(|d| !d.has_time())
}

fn status(comp: &ICalendarComponent) -> EventStatus {
    match comp.status() {
        Some(ICalendarStatus::Cancelled) => EventStatus::Cancelled,
        Some(ICalendarStatus::Tentative) => EventStatus::Tentative,
        _ => EventStatus::Confirmed,
    }
}

fn attendee(entry: &ICalendarEntry) -> Option<Attendee> {
    let email = entry.calendar_address()?.trim().to_owned();
    let response = match entry.parameter(&ICalendarParameterName::Partstat) {
        Some(ICalendarParameterValue::Partstat(p)) => match p {
            ICalendarParticipationStatus::Accepted => Response::Accepted,
            ICalendarParticipationStatus::Declined => Response::Declined,
            ICalendarParticipationStatus::Tentative => Response::Tentative,
            _ => Response::NeedsAction,
        },
        _ => Response::NeedsAction,
    };
    let kind = match entry.parameter(&ICalendarParameterName::Cutype) {
        Some(ICalendarParameterValue::Cutype(ICalendarUserTypes::Room)) => AttendeeKind::Room,
        Some(ICalendarParameterValue::Cutype(ICalendarUserTypes::Resource)) => {
            AttendeeKind::Resource
        }
        _ => AttendeeKind::Person,
    };
    Some(Attendee {
        email,
        name: param_text(entry, &ICalendarParameterName::Cn),
        response,
        kind,
    })
}

fn instant(
    comp: &ICalendarComponent,
    prop: &ICalendarProperty,
    cal: &ICalendar,
) -> Option<DateTime<Utc>> {
    let entry = comp.property(prop)?;
    let value = entry.values.first()?.as_partial_date_time()?;
    let tzid = param_text(entry, &ICalendarParameterName::Tzid);
    let tz = cal
        .build_tz_resolver()
        .with_default(Tz::UTC)
        .resolve_or_default(tzid.as_deref());
    value
        .to_date_time_with_tz(tz)
        .map(|t| t.with_timezone(&Utc))
}

/// Reads one CalDAV resource (`source_id` = its href, `version` = its etag) into the
/// occurrences that overlap `window`.
pub fn events_from_ics(
    source_id: &str,
    version: &str,
    ics: &str,
    window: &SyncWindow,
) -> Result<Vec<CalendarEvent>, IcsError> {
    let Entry::ICalendar(cal) = Parser::new(ics).entry() else {
        return Err(IcsError::NotCalendar);
    };
    let expanded = cal.expand_dates(Tz::UTC, MAX_EXPANSION);
    let mut events = Vec::new();
    for occurrence in expanded.events {
        let Some(comp) = cal.component_by_id(occurrence.comp_id) else {
            continue;
        };
        if comp.component_type != ICalendarComponentType::VEvent {
            continue;
        }
        let Some(occurrence) = occurrence.try_into_date_time() else {
            continue;
        };
        let start = occurrence.start.with_timezone(&Utc);
        let end = occurrence.end.with_timezone(&Utc).max(start);
        // Occurrences of a series exist only inside the window; a single event moved
        // beyond the window's end is still reported, so it moves rather than vanishes.
        let in_window = if comp.is_recurrent_or_override() {
            window.overlaps(start, end.max(start + chrono::Duration::seconds(1)))
        } else {
            end > window.start
        };
        if !in_window {
            continue;
        }
        let uid = comp.uid().ok_or(IcsError::MissingUid)?.to_owned();
        let recurrence_id = if comp.is_recurrence_override() {
            instant(comp, &ICalendarProperty::RecurrenceId, &cal)
        } else if comp.is_recurrent() {
            Some(start)
        } else {
            None
        };
        let zone = comp
            .property(&ICalendarProperty::Dtstart)
            .and_then(|e| param_text(e, &ICalendarParameterName::Tzid));
        let all_day = is_date_only(comp, &ICalendarProperty::Dtstart);
        let (start_time, end_time) = if all_day {
            (
                EventTime::Date {
                    date: occurrence.start.date_naive(),
                },
                EventTime::Date {
                    date: occurrence.end.date_naive(),
                },
            )
        } else {
            (
                EventTime::At {
                    utc: start,
                    zone: zone.clone(),
                },
                EventTime::At { utc: end, zone },
            )
        };
        let organizer = comp.property(&ICalendarProperty::Organizer).and_then(|e| {
            Some(Organizer {
                email: e.calendar_address()?.trim().to_owned(),
                name: param_text(e, &ICalendarParameterName::Cn),
            })
        });
        let updated = instant(comp, &ICalendarProperty::LastModified, &cal)
            .or_else(|| instant(comp, &ICalendarProperty::Dtstamp, &cal));
        events.push(CalendarEvent {
            source_id: source_id.to_owned(),
            series_id: None,
            key: EventKey { uid, recurrence_id },
            version: version.to_owned(),
            status: status(comp),
            title: text(comp, &ICalendarProperty::Summary),
            location: text(comp, &ICalendarProperty::Location),
            start: start_time,
            end: end_time,
            organizer,
            attendees: comp
                .properties(&ICalendarProperty::Attendee)
                .filter_map(attendee)
                .collect(),
            updated,
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone as _};

    fn window() -> SyncWindow {
        SyncWindow::around(
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            Duration::days(30),
        )
    }

    const SERIES: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n\
BEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20261101T000000Z\r\n\
DTSTART;TZID=Asia/Tokyo:20261203T100000\r\nDTEND;TZID=Asia/Tokyo:20261203T110000\r\n\
RRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE;TZID=Asia/Tokyo:20261210T100000\r\n\
SUMMARY:Weekly\\, with ACME\r\nLOCATION:Room <b>1</b>\r\n\
ORGANIZER;CN=Tanaka:mailto:tanaka@example.co.jp\r\n\
ATTENDEE;CN=\"Smith, John\";PARTSTAT=ACCEPTED:mailto:smith@acme.com\r\n\
ATTENDEE;CUTYPE=ROOM;CN=Room 1:mailto:room1@example.co.jp\r\n\
ATTENDEE;PARTSTAT=DECLINED:mailto:no@acme.com\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20261101T000000Z\r\n\
RECURRENCE-ID;TZID=Asia/Tokyo:20261217T100000\r\n\
DTSTART;TZID=Asia/Tokyo:20261217T140000\r\nDTEND;TZID=Asia/Tokyo:20261217T150000\r\n\
SUMMARY:Moved\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn a_series_expands_in_the_window_with_its_exceptions() {
        let events = events_from_ics("/cal/w.ics", "\"e1\"", SERIES, &window()).unwrap();
        let starts: Vec<_> = events
            .iter()
            .map(|e| match e.start {
                EventTime::At { utc, .. } => utc,
                EventTime::Date { .. } => panic!("timed"),
            })
            .collect();
        // Dec 3, (Dec 10 excluded), Dec 17 moved to 14:00, Dec 24, Dec 31 — within 30 days.
        let jst = |d, h| Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap() - Duration::hours(9);
        assert_eq!(starts, [jst(3, 10), jst(17, 14), jst(24, 10)]);
        let moved = &events[1];
        assert_eq!(moved.key.recurrence_id, Some(jst(17, 10)));
        assert_eq!(moved.status, EventStatus::Cancelled);
        let first = &events[0];
        assert_eq!(first.key.uid, "weekly-1");
        assert_eq!(first.key.recurrence_id, Some(jst(3, 10)));
        assert_eq!(first.title.as_deref(), Some("Weekly, with ACME"));
        assert_eq!(first.location.as_deref(), Some("Room <b>1</b>"));
        assert_eq!(
            first.organizer.as_ref().unwrap().email,
            "tanaka@example.co.jp"
        );
        let a = &first.attendees;
        assert_eq!(a[0].name.as_deref(), Some("Smith, John"));
        assert_eq!(a[0].response, Response::Accepted);
        assert_eq!(a[1].kind, AttendeeKind::Room);
        assert_eq!(a[2].response, Response::Declined);
    }

    #[test]
    fn all_day_events_keep_their_dates_and_garbage_is_an_error() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:d1\r\nDTSTART;VALUE=DATE:20261205\r\n\
DTEND;VALUE=DATE:20261207\r\nSUMMARY:Workshop\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let events = events_from_ics("/c/d.ics", "e", ics, &window()).unwrap();
        assert_eq!(
            events[0].start,
            EventTime::Date {
                date: chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
            }
        );
        assert_eq!(events[0].key.recurrence_id, None);
        assert_eq!(
            events_from_ics("/x", "e", "<html>", &window()),
            Err(IcsError::NotCalendar)
        );
    }
}
