//! Shared test helpers: the fixed "now", the HTTP client, loopback servers and the
//! tenant rules the tests decide with.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use genkan_calendar::{Limits, SyncWindow};
use genkan_core::calendar::{
    CalendarEvent, Decision, HostContext, ImportRules, SiteTarget, decide,
};
use genkan_core::id::SiteId;
use genkan_core::tenant::TimeZone;
use genkan_core::text::Locale;

/// The tests' "now": providers never see the wall clock of the machine.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

pub(crate) fn window() -> SyncWindow {
    SyncWindow::around(now(), Duration::days(60))
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

pub(crate) fn limits() -> Limits {
    Limits {
        timeout: std::time::Duration::from_secs(10),
        ..Limits::default()
    }
}

/// Serves `app` on 127.0.0.1 and a port the OS picks; returns `http://127.0.0.1:port`.
pub(crate) async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

pub(crate) fn rules() -> ImportRules {
    let mut rules = ImportRules::new(vec!["example.co.jp".into()], Locale::Ja);
    rules.triggers.outside_attendees = true;
    rules.default_site = Some(SiteTarget {
        id: SiteId(1),
        zone: TimeZone::default(),
    });
    rules
}

pub(crate) fn decide_for(owner: &str, event: &CalendarEvent) -> Decision {
    let connected: BTreeSet<String> = [owner.to_owned()].into();
    decide(
        event,
        &rules(),
        HostContext {
            calendar_owner: owner,
            connected: &connected,
        },
    )
}

/// iCalendar of a one-hour meeting at `start` with outside attendees.
pub(crate) fn ics(uid: &str, start: DateTime<Utc>, summary: &str, attendees: &[&str]) -> String {
    let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let mut out = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//genkan-tests//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
DTSTAMP:20261101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{summary}\r\n\
ORGANIZER;CN=Tanaka:mailto:tanaka@example.co.jp\r\n",
        fmt(start),
        fmt(start + Duration::hours(1)),
    );
    for a in attendees {
        out.push_str(&format!("ATTENDEE;PARTSTAT=ACCEPTED:mailto:{a}\r\n"));
    }
    out.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    out
}
