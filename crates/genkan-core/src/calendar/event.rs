//! The normalised calendar event every provider (CalDAV, Google, Microsoft Graph) is
//! read into, and the changes one sync reports. All text in here is raw input from a
//! calendar: hostile until [`super::select`] turns it into validated domain values.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where a calendar lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Any CalDAV server (RFC 4791).
    CalDav,
    /// Google Calendar API v3.
    Google,
    /// Microsoft 365 through Microsoft Graph.
    Microsoft,
}

impl Provider {
    /// Stable name for storage and logs: `caldav`, `google`, `microsoft`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CalDav => "caldav",
            Self::Google => "google",
            Self::Microsoft => "microsoft",
        }
    }

    /// Parses [`Provider::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "caldav" => Some(Self::CalDav),
            "google" => Some(Self::Google),
            "microsoft" => Some(Self::Microsoft),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one occurrence within one calendar: the iCalendar UID and, for an
/// occurrence of a recurring event, its original start (RECURRENCE-ID). Together with
/// the provider and the calendar this keys a synced appointment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventKey {
    /// The iCalendar UID (Google `iCalUID`, Graph `iCalUId`).
    pub uid: String,
    /// Original start of this occurrence; `None` for a single event.
    pub recurrence_id: Option<DateTime<Utc>>,
}

/// Whether the event takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// Confirmed (also the default when a provider says nothing).
    Confirmed,
    /// Tentatively scheduled: still treated as taking place.
    Tentative,
    /// Cancelled by the organiser.
    Cancelled,
}

/// A start or end of an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EventTime {
    /// A point in time, with the zone the organiser used when the provider says it.
    At {
        /// The instant.
        utc: DateTime<Utc>,
        /// IANA (or provider) zone name, as given.
        zone: Option<String>,
    },
    /// An all-day value: a calendar date without time (the end date is exclusive, as
    /// in iCalendar).
    Date {
        /// The date.
        date: NaiveDate,
    },
}

/// How an attendee answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// No answer yet.
    NeedsAction,
    /// Accepted.
    Accepted,
    /// Tentatively accepted.
    Tentative,
    /// Declined: not expected to come.
    Declined,
}

/// What an attendee is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttendeeKind {
    /// A person (or a group address).
    Person,
    /// A meeting room.
    Room,
    /// Another bookable resource (projector, car).
    Resource,
}

/// One invited party.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attendee {
    /// E-mail address as the provider gave it (not yet validated).
    pub email: String,
    /// Display name, if any.
    pub name: Option<String>,
    /// The answer.
    pub response: Response,
    /// Person, room or resource.
    pub kind: AttendeeKind,
}

/// The organiser of an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Organizer {
    /// E-mail address as given.
    pub email: String,
    /// Display name, if any.
    pub name: Option<String>,
}

/// One occurrence of an event, read from any provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEvent {
    /// The provider's id of the object this occurrence came from: Google event id,
    /// Graph event id, or the CalDAV resource href. Deletions arrive by this id.
    pub source_id: String,
    /// The provider's id of the recurring series' master, when this is an occurrence.
    pub series_id: Option<String>,
    /// UID and recurrence id.
    pub key: EventKey,
    /// The provider's version of the object (etag, change key): equal versions mean
    /// nothing changed.
    pub version: String,
    /// Confirmed, tentative or cancelled.
    pub status: EventStatus,
    /// Title (SUMMARY), raw.
    pub title: Option<String>,
    /// Location text, raw.
    pub location: Option<String>,
    /// Start.
    pub start: EventTime,
    /// End (exclusive).
    pub end: EventTime,
    /// Organiser.
    pub organizer: Option<Organizer>,
    /// Attendees, rooms and resources.
    pub attendees: Vec<Attendee>,
    /// When the provider last changed the event.
    pub updated: Option<DateTime<Utc>>,
}

impl CalendarEvent {
    /// The rooms and resources booked by the event.
    pub fn rooms(&self) -> impl Iterator<Item = &Attendee> {
        self.attendees
            .iter()
            .filter(|a| a.kind != AttendeeKind::Person)
    }
}

/// One change reported by a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Change {
    /// The complete current set of occurrences of one provider object (within the
    /// sync window). An occurrence seen before under this `source_id` and missing
    /// here is gone (e.g. a CalDAV series that gained an EXDATE).
    Object {
        /// The provider object id.
        source_id: String,
        /// Its occurrences.
        events: Vec<CalendarEvent>,
    },
    /// The object is deleted or cancelled: every occurrence whose `source_id` or
    /// `series_id` is this id is gone.
    Removed {
        /// The provider object id.
        source_id: String,
    },
}
