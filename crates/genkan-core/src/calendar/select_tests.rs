use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone as _, Utc};

use super::*;
use crate::calendar::event::{Attendee, Organizer};
use crate::calendar::rules::{LanguageRule, SiteRule};
use crate::tenant::TimeZone;

pub(crate) fn person(email: &str, name: Option<&str>) -> Attendee {
    Attendee {
        email: email.into(),
        name: name.map(Into::into),
        response: Response::Accepted,
        kind: AttendeeKind::Person,
    }
}

pub(crate) fn room(email: &str, name: &str) -> Attendee {
    Attendee {
        email: email.into(),
        name: Some(name.into()),
        response: Response::Accepted,
        kind: AttendeeKind::Room,
    }
}

pub(crate) fn event(attendees: Vec<Attendee>) -> CalendarEvent {
    CalendarEvent {
        source_id: "src-1".into(),
        series_id: None,
        key: EventKey {
            uid: "uid-1".into(),
            recurrence_id: None,
        },
        version: "v1".into(),
        status: EventStatus::Confirmed,
        title: Some("Quarterly review".into()),
        location: Some("Tokyo HQ 3F".into()),
        start: EventTime::At {
            utc: Utc.with_ymd_and_hms(2026, 12, 10, 1, 0, 0).unwrap(),
            zone: Some("Asia/Tokyo".into()),
        },
        end: EventTime::At {
            utc: Utc.with_ymd_and_hms(2026, 12, 10, 2, 0, 0).unwrap(),
            zone: Some("Asia/Tokyo".into()),
        },
        organizer: Some(Organizer {
            email: "tanaka@example.co.jp".into(),
            name: Some("Tanaka".into()),
        }),
        attendees,
        updated: None,
    }
}

pub(crate) fn site(id: i64) -> SiteTarget {
    SiteTarget {
        id: SiteId(id),
        zone: TimeZone::default(),
    }
}

pub(crate) fn rules() -> ImportRules {
    let mut rules = ImportRules::new(vec!["example.co.jp".into()], Locale::Ja);
    rules.triggers.outside_attendees = true;
    rules.default_site = Some(site(1));
    rules.languages = vec![LanguageRule {
        domain: "com".into(),
        locale: Locale::En,
    }];
    rules
}

pub(crate) fn connected() -> BTreeSet<String> {
    ["tanaka@example.co.jp", "suzuki@example.co.jp"]
        .into_iter()
        .map(String::from)
        .collect()
}

fn ctx<'a>(owner: &'a str, connected: &'a BTreeSet<String>) -> HostContext<'a> {
    HostContext {
        calendar_owner: owner,
        connected,
    }
}

fn import(d: Decision) -> AppointmentPlan {
    match d {
        Decision::Import(p) => *p,
        Decision::Skip(r) => panic!("skipped: {r:?}"),
    }
}

#[test]
fn each_outside_attendee_becomes_a_visitor_with_a_language_by_domain() {
    let c = connected();
    let e = event(vec![
        person("tanaka@example.co.jp", Some("Tanaka")),
        person("Smith@Acme.com", Some("John Smith")),
        person("sato@partner.co.jp", None),
        person("smith@acme.com", Some("Duplicate")),
        room("room-3f@example.co.jp", "3F Large"),
    ]);
    let plan = import(decide(&e, &rules(), ctx("tanaka@example.co.jp", &c)));
    let v: Vec<_> = plan
        .visitors
        .iter()
        .map(|v| (v.email.as_str(), v.name.as_str(), v.locale))
        .collect();
    assert_eq!(
        v,
        [
            ("sato@partner.co.jp", "sato@partner.co.jp", Locale::Ja),
            ("smith@acme.com", "John Smith", Locale::En),
        ]
    );
    assert_eq!(plan.host_email.as_str(), "tanaka@example.co.jp");
    assert_eq!(plan.site, SiteId(1));
    assert_eq!(
        plan.title.as_ref().map(ShortText::as_str),
        Some("Quarterly review")
    );
}

#[test]
fn declined_ignored_and_invalid_attendees_are_not_visitors() {
    let c = connected();
    let mut declined = person("no@acme.com", None);
    declined.response = Response::Declined;
    let mut rules = rules();
    rules.ignored_addresses = vec!["bot@robot.example".into()];
    let e = event(vec![
        declined,
        person("bot@robot.example", None),
        person("not an address", None),
    ]);
    assert_eq!(
        decide(&e, &rules, ctx("tanaka@example.co.jp", &c)),
        Decision::Skip(SkipReason::NoVisitors)
    );
}

#[test]
fn an_internal_meeting_is_not_an_appointment_and_cancelled_events_are_skipped() {
    let c = connected();
    let e = event(vec![person("suzuki@example.co.jp", None)]);
    assert_eq!(
        decide(&e, &rules(), ctx("tanaka@example.co.jp", &c)),
        Decision::Skip(SkipReason::NotMatched)
    );
    let mut e = event(vec![person("x@acme.com", None)]);
    e.status = EventStatus::Cancelled;
    assert_eq!(
        decide(&e, &rules(), ctx("tanaka@example.co.jp", &c)),
        Decision::Skip(SkipReason::Cancelled)
    );
    let nothing = ImportRules::new(vec!["example.co.jp".into()], Locale::Ja);
    let e = event(vec![person("x@acme.com", None)]);
    assert_eq!(
        decide(&e, &nothing, ctx("tanaka@example.co.jp", &c)),
        Decision::Skip(SkipReason::NoTriggerEnabled)
    );
}

#[test]
fn keyword_and_room_triggers_combine_by_mode() {
    let c = connected();
    let mut r = rules();
    r.triggers.outside_attendees = false;
    r.triggers.keywords = vec!["来客".into()];
    r.triggers.rooms = vec!["Reception A".into()];
    let mut e = event(vec![person("x@acme.com", None)]);
    let owner = ctx("tanaka@example.co.jp", &c);
    assert_eq!(
        decide(&e, &r, owner),
        Decision::Skip(SkipReason::NotMatched)
    );
    e.title = Some("【来客】ACME様".into());
    assert!(matches!(decide(&e, &r, owner), Decision::Import(_)));
    r.triggers.mode = TriggerMode::All;
    assert_eq!(
        decide(&e, &r, owner),
        Decision::Skip(SkipReason::NotMatched)
    );
    e.attendees
        .push(room("reception-a@example.co.jp", "reception a"));
    assert!(matches!(decide(&e, &r, owner), Decision::Import(_)));
}

#[test]
fn excluded_rooms_keep_an_event_out() {
    let c = connected();
    let mut r = rules();
    r.excluded_rooms = vec!["online-only@example.co.jp".into()];
    let e = event(vec![
        person("x@acme.com", None),
        room("online-only@example.co.jp", "Online"),
    ]);
    assert_eq!(
        decide(&e, &r, ctx("tanaka@example.co.jp", &c)),
        Decision::Skip(SkipReason::ExcludedRoom)
    );
}

#[test]
fn the_site_comes_from_the_first_matching_room_or_location_rule() {
    let c = connected();
    let mut r = rules();
    r.sites = vec![
        SiteRule {
            pattern: "osaka".into(),
            site: site(2),
        },
        SiteRule {
            pattern: "room-3f@example.co.jp".into(),
            site: site(3),
        },
    ];
    let owner = ctx("tanaka@example.co.jp", &c);
    let mut e = event(vec![person("x@acme.com", None)]);
    assert_eq!(import(decide(&e, &r, owner)).site, SiteId(1));
    e.attendees.push(room("ROOM-3F@example.co.jp", "3F"));
    assert_eq!(import(decide(&e, &r, owner)).site, SiteId(3));
    e.location = Some("Osaka office".into());
    assert_eq!(import(decide(&e, &r, owner)).site, SiteId(2));
    r.default_site = None;
    r.sites.clear();
    assert_eq!(decide(&e, &r, owner), Decision::Skip(SkipReason::NoSite));
}

#[test]
fn only_the_hosts_calendar_imports_a_meeting_shared_by_connected_colleagues() {
    let c = connected();
    let e = event(vec![
        person("tanaka@example.co.jp", None),
        person("suzuki@example.co.jp", None),
        person("x@acme.com", None),
    ]);
    // Organiser tanaka is connected: the copy on suzuki's calendar is skipped.
    assert_eq!(
        decide(&e, &rules(), ctx("suzuki@example.co.jp", &c)),
        Decision::Skip(SkipReason::HostedElsewhere)
    );
    assert!(matches!(
        decide(&e, &rules(), ctx("tanaka@example.co.jp", &c)),
        Decision::Import(_)
    ));
    // An outside organiser: the first connected internal attendee hosts.
    let mut e2 = e;
    e2.organizer = Some(Organizer {
        email: "x@acme.com".into(),
        name: None,
    });
    assert_eq!(
        decide(&e2, &rules(), ctx("tanaka@example.co.jp", &c)),
        Decision::Skip(SkipReason::HostedElsewhere)
    );
    let plan = import(decide(&e2, &rules(), ctx("suzuki@example.co.jp", &c)));
    assert_eq!(plan.host_email.as_str(), "suzuki@example.co.jp");
    // An organiser who is not connected: the calendar owner hosts.
    let only_sato: BTreeSet<String> = ["sato@example.co.jp".to_owned()].into();
    let mut e3 = event(vec![person("x@acme.com", None)]);
    e3.organizer = Some(Organizer {
        email: "boss@example.co.jp".into(),
        name: None,
    });
    let plan = import(decide(&e3, &rules(), ctx("sato@example.co.jp", &only_sato)));
    assert_eq!(plan.host_email.as_str(), "sato@example.co.jp");
}

#[test]
fn long_and_all_day_events_get_a_period_pass_in_the_sites_zone() {
    let c = connected();
    let owner = ctx("tanaka@example.co.jp", &c);
    let mut e = event(vec![person("x@acme.com", None)]);
    e.start = EventTime::Date {
        date: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
    };
    e.end = EventTime::Date {
        date: NaiveDate::from_ymd_opt(2026, 12, 11).unwrap(),
    };
    let plan = import(decide(&e, &rules(), owner));
    assert_eq!(
        plan.starts_at,
        Utc.with_ymd_and_hms(2026, 12, 9, 15, 0, 0).unwrap()
    );
    assert_eq!(
        plan.ends_at,
        Utc.with_ymd_and_hms(2026, 12, 10, 15, 0, 0).unwrap()
    );
    assert_eq!(plan.period, None);
    e.end = EventTime::Date {
        date: NaiveDate::from_ymd_opt(2026, 12, 13).unwrap(),
    };
    let plan = import(decide(&e, &rules(), owner));
    assert_eq!(
        plan.period,
        Some((
            NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 12).unwrap()
        ))
    );
    assert!(plan.ends_at - plan.starts_at <= MAX_WINDOW);
    e.end = e.start.clone();
    e.start = EventTime::At {
        utc: Utc.with_ymd_and_hms(2026, 12, 11, 0, 0, 0).unwrap(),
        zone: None,
    };
    assert_eq!(
        decide(&e, &rules(), owner),
        Decision::Skip(SkipReason::InvalidTime)
    );
}

#[test]
fn hostile_titles_and_names_become_inert_single_line_text() {
    let c = connected();
    let mut e = event(vec![person(
        "x@acme.com",
        Some("<script>alert(1)</script>\r\nBcc: all@example.co.jp"),
    )]);
    e.title =
        Some("=HYPERLINK(\"http://evil\")\u{202E}<img src=x onerror=alert(1)>\n<!channel>".into());
    let plan = import(decide(&e, &rules(), ctx("tanaka@example.co.jp", &c)));
    let name = plan.visitors[0].name.as_str();
    assert_eq!(name, "<script>alert(1)</script> Bcc: all@example.co.jp");
    assert!(!name.contains(['\r', '\n']));
    let title = plan.title.unwrap();
    assert!(
        !title
            .as_str()
            .chars()
            .any(|c| c.is_control() || c == '\u{202E}')
    );
    // Stored as data: escaping is the job of every place that shows it.
    assert!(title.as_str().contains("<img src=x onerror=alert(1)>"));
}

#[test]
fn too_many_visitors_is_a_visible_failure() {
    let c = connected();
    let e = event(
        (0..=MAX_VISITORS)
            .map(|i| person(&format!("v{i}@acme.com"), None))
            .collect(),
    );
    let d = decide(&e, &rules(), ctx("tanaka@example.co.jp", &c));
    assert_eq!(d, Decision::Skip(SkipReason::TooManyVisitors));
    assert!(SkipReason::TooManyVisitors.is_failure());
    assert!(!SkipReason::NotMatched.is_failure());
}
