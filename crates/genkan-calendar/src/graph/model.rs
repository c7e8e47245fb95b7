//! Microsoft Graph event resources (as `calendarView/delta` returns them, times in
//! UTC by `Prefer: outlook.timezone="UTC"`) → normalised events.

use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use genkan_core::calendar::{
    Attendee, AttendeeKind, CalendarEvent, Change, EventKey, EventStatus, EventTime, Organizer,
    Response,
};
use serde::Deserialize;

/// One page of a delta query.
#[derive(Debug, Deserialize)]
pub(crate) struct DeltaPage {
    #[serde(default)]
    pub(crate) value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink")]
    pub(crate) next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    pub(crate) delta_link: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphTime {
    date_time: String,
    time_zone: Option<String>,
}

impl GraphTime {
    fn utc(&self) -> Option<DateTime<Utc>> {
        let naive = NaiveDateTime::parse_from_str(
            self.date_time.trim_end_matches('Z'),
            "%Y-%m-%dT%H:%M:%S%.f",
        )
        .ok()?;
        match self.time_zone.as_deref() {
            None | Some("UTC" | "Etc/UTC" | "GMT") => Some(naive.and_utc()),
            Some(zone) => {
                let tz: chrono_tz::Tz = zone.parse().ok()?;
                tz.from_local_datetime(&naive)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct EmailAddress {
    address: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Status {
    response: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphAttendee {
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<Status>,
    email_address: Option<EmailAddress>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphOrganizer {
    email_address: Option<EmailAddress>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphEvent {
    id: String,
    #[serde(rename = "iCalUId")]
    ical_uid: Option<String>,
    change_key: Option<String>,
    subject: Option<String>,
    #[serde(default)]
    is_cancelled: bool,
    #[serde(default)]
    is_all_day: bool,
    series_master_id: Option<String>,
    original_start: Option<DateTime<Utc>>,
    start: Option<GraphTime>,
    end: Option<GraphTime>,
    location: Option<Location>,
    organizer: Option<GraphOrganizer>,
    #[serde(default)]
    attendees: Vec<GraphAttendee>,
    last_modified_date_time: Option<DateTime<Utc>>,
}

fn response(r: Option<&str>) -> Response {
    match r {
        Some("accepted" | "organizer") => Response::Accepted,
        Some("declined") => Response::Declined,
        Some("tentativelyAccepted") => Response::Tentative,
        _ => Response::NeedsAction,
    }
}

fn time(t: &GraphTime, all_day: bool) -> Option<EventTime> {
    let utc = t.utc()?;
    Some(if all_day {
        EventTime::Date {
            date: utc.date_naive(),
        }
    } else {
        EventTime::At {
            utc,
            zone: t.time_zone.clone(),
        }
    })
}

/// The change one delta item means, or `Err(id)` when a live item cannot be read.
pub(crate) fn change(item: serde_json::Value) -> Result<Change, String> {
    let id = item
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    if item.get("@removed").is_some() {
        return Ok(Change::Removed { source_id: id });
    }
    let e: GraphEvent = serde_json::from_value(item).map_err(|_| id.clone())?;
    if e.is_cancelled {
        return Ok(Change::Removed { source_id: e.id });
    }
    let (Some(start), Some(end)) = (
        e.start.as_ref().and_then(|t| time(t, e.is_all_day)),
        e.end.as_ref().and_then(|t| time(t, e.is_all_day)),
    ) else {
        return Err(e.id);
    };
    let attendees = e
        .attendees
        .into_iter()
        .filter_map(|a| {
            let email = a.email_address?;
            Some(Attendee {
                email: email.address?,
                name: email.name,
                response: response(a.status.and_then(|s| s.response).as_deref()),
                kind: if a.kind.as_deref() == Some("resource") {
                    AttendeeKind::Room
                } else {
                    AttendeeKind::Person
                },
            })
        })
        .collect();
    let event = CalendarEvent {
        source_id: e.id.clone(),
        series_id: e.series_master_id,
        key: EventKey {
            uid: e.ical_uid.unwrap_or_else(|| e.id.clone()),
            recurrence_id: e.original_start,
        },
        version: e.change_key.unwrap_or_default(),
        status: EventStatus::Confirmed,
        title: e.subject,
        location: e
            .location
            .and_then(|l| l.display_name)
            .filter(|l| !l.is_empty()),
        start,
        end,
        organizer: e.organizer.and_then(|o| {
            let a = o.email_address?;
            Some(Organizer {
                email: a.address?,
                name: a.name,
            })
        }),
        attendees,
        updated: e.last_modified_date_time,
    };
    Ok(Change::Object {
        source_id: e.id,
        events: vec![event],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_removals_and_cancellations_read_as_changes() {
        let item = serde_json::json!({
            "id": "AAMk-occ", "iCalUId": "0400-occ", "changeKey": "ck1", "subject": "Visit",
            "type": "occurrence", "seriesMasterId": "AAMk-master",
            "originalStart": "2026-12-03T01:00:00Z",
            "start": {"dateTime": "2026-12-03T01:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-03T02:00:00.0000000", "timeZone": "UTC"},
            "location": {"displayName": ""},
            "attendees": [{"type": "resource", "status": {"response": "accepted"},
                           "emailAddress": {"address": "room@x.jp", "name": "Room"}},
                          {"type": "required", "status": {"response": "tentativelyAccepted"},
                           "emailAddress": {"address": "v@acme.com"}}]
        });
        let Ok(Change::Object { events, .. }) = change(item) else {
            panic!()
        };
        let e = &events[0];
        assert_eq!(e.series_id.as_deref(), Some("AAMk-master"));
        assert_eq!(
            e.key.recurrence_id.unwrap().to_rfc3339(),
            "2026-12-03T01:00:00+00:00"
        );
        assert_eq!(e.location, None);
        assert_eq!(e.attendees[0].kind, AttendeeKind::Room);
        assert_eq!(e.attendees[1].response, Response::Tentative);
        let removed = serde_json::json!({"id": "gone", "@removed": {"reason": "deleted"}});
        assert_eq!(
            change(removed),
            Ok(Change::Removed {
                source_id: "gone".into()
            })
        );
        let cancelled = serde_json::json!({"id": "c", "isCancelled": true});
        assert_eq!(
            change(cancelled),
            Ok(Change::Removed {
                source_id: "c".into()
            })
        );
        let broken = serde_json::json!({"id": "b", "start": {"dateTime": "soon"}});
        assert_eq!(change(broken), Err("b".into()));
    }

    #[test]
    fn a_zone_other_than_utc_is_honoured() {
        let t = GraphTime {
            date_time: "2026-12-03T10:00:00.0000000".into(),
            time_zone: Some("Asia/Tokyo".into()),
        };
        assert_eq!(t.utc().unwrap().to_rfc3339(), "2026-12-03T01:00:00+00:00");
    }
}
