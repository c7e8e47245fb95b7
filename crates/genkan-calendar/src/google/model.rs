//! Google Calendar API v3 event resources → normalised events.

use chrono::{DateTime, NaiveDate, Utc};
use genkan_core::calendar::{
    Attendee, AttendeeKind, CalendarEvent, Change, EventKey, EventStatus, EventTime, Organizer,
    Response,
};
use serde::Deserialize;

/// One page of `events.list`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventsPage {
    #[serde(default)]
    pub(crate) items: Vec<GEvent>,
    pub(crate) next_page_token: Option<String>,
    pub(crate) next_sync_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GTime {
    date_time: Option<DateTime<chrono::FixedOffset>>,
    date: Option<NaiveDate>,
    time_zone: Option<String>,
}

impl GTime {
    fn to_time(&self) -> Option<EventTime> {
        if let Some(t) = self.date_time {
            return Some(EventTime::At {
                utc: t.with_timezone(&Utc),
                zone: self.time_zone.clone(),
            });
        }
        self.date.map(|date| EventTime::Date { date })
    }

    fn instant(&self) -> Option<DateTime<Utc>> {
        self.date_time.map(|t| t.with_timezone(&Utc)).or_else(|| {
            self.date
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GPerson {
    email: Option<String>,
    display_name: Option<String>,
    #[serde(default)]
    response_status: Option<String>,
    #[serde(default)]
    resource: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GEvent {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(rename = "iCalUID")]
    ical_uid: Option<String>,
    etag: Option<String>,
    summary: Option<String>,
    location: Option<String>,
    start: Option<GTime>,
    end: Option<GTime>,
    organizer: Option<GPerson>,
    #[serde(default)]
    attendees: Vec<GPerson>,
    recurring_event_id: Option<String>,
    original_start_time: Option<GTime>,
    updated: Option<DateTime<Utc>>,
}

fn response(status: Option<&str>) -> Response {
    match status {
        Some("accepted") => Response::Accepted,
        Some("declined") => Response::Declined,
        Some("tentative") => Response::Tentative,
        _ => Response::NeedsAction,
    }
}

impl GEvent {
    /// The change this resource means: a cancelled (deleted) event or instance is
    /// removed; anything else is the object's one occurrence (`singleEvents=true`).
    /// `None` when a live event lacks its times (not an event Genkan can use).
    pub(crate) fn into_change(self) -> Option<Change> {
        if self.status.as_deref() == Some("cancelled") {
            return Some(Change::Removed { source_id: self.id });
        }
        let start = self.start.as_ref()?.to_time()?;
        let end = self.end.as_ref()?.to_time()?;
        let status = match self.status.as_deref() {
            Some("tentative") => EventStatus::Tentative,
            _ => EventStatus::Confirmed,
        };
        let recurrence_id = self.original_start_time.as_ref().and_then(GTime::instant);
        let attendees = self
            .attendees
            .into_iter()
            .filter_map(|a| {
                Some(Attendee {
                    email: a.email?,
                    name: a.display_name,
                    response: response(a.response_status.as_deref()),
                    kind: if a.resource {
                        AttendeeKind::Room
                    } else {
                        AttendeeKind::Person
                    },
                })
            })
            .collect();
        let event = CalendarEvent {
            key: EventKey {
                uid: self.ical_uid.unwrap_or_else(|| self.id.clone()),
                recurrence_id,
            },
            source_id: self.id.clone(),
            series_id: self.recurring_event_id,
            version: self.etag.unwrap_or_default(),
            status,
            title: self.summary,
            location: self.location,
            start,
            end,
            organizer: self.organizer.and_then(|o| {
                Some(Organizer {
                    email: o.email?,
                    name: o.display_name,
                })
            }),
            attendees,
            updated: self.updated,
        };
        Some(Change::Object {
            source_id: self.id,
            events: vec![event],
        })
    }
}

/// One page of `calendarList.list`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CalendarListPage {
    #[serde(default)]
    pub(crate) items: Vec<CalendarListEntry>,
    pub(crate) next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CalendarListEntry {
    pub(crate) id: String,
    pub(crate) summary: Option<String>,
    #[serde(default)]
    pub(crate) primary: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_reads_with_its_series_and_a_cancelled_one_is_removed() {
        let json = r#"{"id":"abc_20261203T010000Z","status":"confirmed","iCalUID":"abc@google.com",
          "etag":"\"3\"","summary":"Visit","start":{"dateTime":"2026-12-03T10:00:00+09:00","timeZone":"Asia/Tokyo"},
          "end":{"dateTime":"2026-12-03T11:00:00+09:00"},"recurringEventId":"abc",
          "originalStartTime":{"dateTime":"2026-12-03T10:00:00+09:00"},
          "attendees":[{"email":"r@resource.calendar.google.com","resource":true,"responseStatus":"accepted"},
                       {"email":"x@acme.com","displayName":"X","responseStatus":"declined"}]}"#;
        let e: GEvent = serde_json::from_str(json).unwrap();
        let Some(Change::Object { source_id, events }) = e.into_change() else {
            panic!("object");
        };
        assert_eq!(source_id, "abc_20261203T010000Z");
        let ev = &events[0];
        assert_eq!(ev.series_id.as_deref(), Some("abc"));
        assert_eq!(ev.key.uid, "abc@google.com");
        assert_eq!(
            ev.key.recurrence_id.unwrap().to_rfc3339(),
            "2026-12-03T01:00:00+00:00"
        );
        assert_eq!(ev.attendees[0].kind, AttendeeKind::Room);
        assert_eq!(ev.attendees[1].response, Response::Declined);
        let gone: GEvent = serde_json::from_str(r#"{"id":"x1","status":"cancelled"}"#).unwrap();
        assert_eq!(
            gone.into_change(),
            Some(Change::Removed {
                source_id: "x1".into()
            })
        );
    }
}
