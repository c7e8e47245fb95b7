//! The calendar file attached to invitations (RFC 5545).

use chrono::{DateTime, Utc};

/// What goes into the event.
#[derive(Debug, Clone)]
pub struct CalendarEvent<'a> {
    /// Stable id (same appointment → same UID, so updates replace the entry).
    pub uid: String,
    /// Creation stamp.
    pub stamp: DateTime<Utc>,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// Title.
    pub summary: &'a str,
    /// Place.
    pub location: &'a str,
    /// Notes.
    pub description: &'a str,
    /// Cancelled events tell calendars to remove the entry.
    pub cancelled: bool,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets without splitting a UTF-8 character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The `.ics` text of one event.
pub fn event(e: &CalendarEvent<'_>) -> String {
    let method = if e.cancelled { "CANCEL" } else { "PUBLISH" };
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Genkan//Visitor reception//EN".to_owned(),
        format!("METHOD:{method}"),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", escape(&e.uid)),
        format!("DTSTAMP:{}", stamp(e.stamp)),
        format!("DTSTART:{}", stamp(e.start)),
        format!("DTEND:{}", stamp(e.end)),
        format!("SUMMARY:{}", escape(e.summary)),
        format!("LOCATION:{}", escape(e.location)),
        format!("DESCRIPTION:{}", escape(e.description)),
        format!(
            "STATUS:{}",
            if e.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines.iter().map(|l| fold(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_lines_are_folded() {
        let t: DateTime<Utc> = "2026-11-23T01:00:00Z".parse().unwrap();
        let long = "東京本社、受付;1F\nエレベーター横".repeat(4);
        let ics = event(&CalendarEvent {
            uid: "appointment-1@genkan".into(),
            stamp: t,
            start: t,
            end: t,
            summary: "Visit, Acme",
            location: &long,
            description: "Code: 1234 5678",
            cancelled: false,
        });
        assert!(ics.contains("SUMMARY:Visit\\, Acme\r\n"));
        assert!(ics.contains("DTSTART:20261123T010000Z"));
        assert!(ics.lines().all(|l| l.len() <= 76), "{ics}");
        assert!(!ics.contains("受付;1F"));
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("受付\\;1F\\nエレベーター横"));
    }
}
