use std::collections::BTreeMap;

use chrono::{Duration, TimeZone as _, Utc};

use super::*;
use crate::calendar::event::{CalendarEvent, EventTime};
use crate::calendar::select::tests::{connected, event, person, rules};
use crate::calendar::select::{HostContext, decide};
use crate::text::{DisplayName, Locale};

fn plan_of(e: &CalendarEvent) -> AppointmentPlan {
    let c = connected();
    match decide(
        e,
        &rules(),
        HostContext {
            calendar_owner: "tanaka@example.co.jp",
            connected: &c,
        },
    ) {
        Decision::Import(p) => *p,
        Decision::Skip(r) => panic!("{r:?}"),
    }
}

fn visitor(email: &str, name: &str) -> PlannedVisitor {
    PlannedVisitor {
        email: EmailAddress::parse(email).unwrap(),
        name: DisplayName::parse(name).unwrap(),
        locale: Locale::En,
    }
}

#[test]
fn a_new_event_creates_and_the_same_event_again_does_nothing() {
    let p = plan_of(&event(vec![person("x@acme.com", Some("X"))]));
    let none = LocalEdits::default();
    assert_eq!(
        reconcile(None, Some(&p), &none),
        [SyncAction::Create(Box::new(p.clone()))]
    );
    assert!(reconcile(Some(&p), Some(&p), &none).is_empty());
    assert!(reconcile(None, None, &none).is_empty());
}

#[test]
fn a_moved_renamed_event_with_changed_attendees_gives_each_action_once() {
    let mut e = event(vec![
        person("x@acme.com", Some("X")),
        person("y@acme.com", Some("Y")),
    ]);
    let before = plan_of(&e);
    e.start = EventTime::At {
        utc: Utc.with_ymd_and_hms(2026, 12, 11, 1, 0, 0).unwrap(),
        zone: None,
    };
    e.end = EventTime::At {
        utc: Utc.with_ymd_and_hms(2026, 12, 11, 3, 0, 0).unwrap(),
        zone: None,
    };
    e.title = Some("Moved review".into());
    e.attendees = vec![
        person("x@acme.com", Some("X Renamed")),
        person("z@acme.com", Some("Z")),
    ];
    let after = plan_of(&e);
    let actions = reconcile(Some(&before), Some(&after), &LocalEdits::default());
    assert_eq!(
        actions,
        [
            SyncAction::Move {
                starts_at: after.starts_at,
                ends_at: after.ends_at,
                period: None
            },
            SyncAction::Retitle(after.title.clone()),
            SyncAction::RemoveVisitor(EmailAddress::parse("y@acme.com").unwrap()),
            SyncAction::UpdateVisitor(visitor("x@acme.com", "X Renamed")),
            SyncAction::AddVisitor(visitor("z@acme.com", "Z")),
        ]
    );
    assert!(reconcile(Some(&after), Some(&after), &LocalEdits::default()).is_empty());
}

#[test]
fn edits_made_in_genkan_are_kept_but_time_and_cancellation_follow_the_calendar() {
    let mut e = event(vec![
        person("x@acme.com", Some("X")),
        person("y@acme.com", Some("Y")),
    ]);
    let before = plan_of(&e);
    e.title = Some("Calendar title".into());
    e.start = EventTime::At {
        utc: Utc.with_ymd_and_hms(2026, 12, 10, 0, 30, 0).unwrap(),
        zone: None,
    };
    e.attendees = vec![
        person("x@acme.com", Some("X from calendar")),
        person("y@acme.com", Some("Y")),
        person("w@acme.com", Some("W")),
    ];
    let after = plan_of(&e);
    let edits = LocalEdits {
        title: true,
        visitors_edited: ["x@acme.com".to_owned()].into(),
        visitors_removed: ["w@acme.com".to_owned()].into(),
        ..LocalEdits::default()
    };
    let actions = reconcile(Some(&before), Some(&after), &edits);
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert!(matches!(actions[0], SyncAction::Move { .. }));
    assert_eq!(reconcile(Some(&after), None, &edits), [SyncAction::Cancel]);
    let cancelled_here = LocalEdits {
        cancelled: true,
        ..LocalEdits::default()
    };
    assert!(reconcile(Some(&before), Some(&after), &cancelled_here).is_empty());
    assert!(reconcile(Some(&before), None, &cancelled_here).is_empty());
}

fn known(p: &AppointmentPlan) -> Known {
    Known {
        snapshot: p.clone(),
        live: true,
        edits: LocalEdits::default(),
    }
}

fn decide_fn(e: &CalendarEvent) -> Decision {
    let c = connected();
    decide(
        e,
        &rules(),
        HostContext {
            calendar_owner: "tanaka@example.co.jp",
            connected: &c,
        },
    )
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

#[test]
fn a_batch_creates_cancels_removed_objects_and_is_idempotent() {
    let mut a = event(vec![person("x@acme.com", None)]);
    a.source_id = "a".into();
    a.key.uid = "uid-a".into();
    let mut b = a.clone();
    b.source_id = "b".into();
    b.key.uid = "uid-b".into();
    let changes = vec![
        Change::Object {
            source_id: "a".into(),
            events: vec![a.clone()],
        },
        Change::Object {
            source_id: "b".into(),
            events: vec![b.clone()],
        },
    ];
    let horizon = Duration::days(90);
    let first = plan_batch(&changes, None, &BTreeMap::new(), decide_fn, now(), horizon);
    assert_eq!(first.items.len(), 2);
    assert!(
        first
            .items
            .iter()
            .all(|i| matches!(i.actions[..], [SyncAction::Create(_)]))
    );
    let known: BTreeMap<_, _> = first
        .items
        .iter()
        .map(|i| (i.key.clone(), known(i.snapshot.as_ref().unwrap())))
        .collect();
    let again = plan_batch(&changes, None, &known, decide_fn, now(), horizon);
    assert!(again.items.is_empty(), "{again:?}");
    let removed = vec![Change::Removed {
        source_id: "b".into(),
    }];
    let gone = plan_batch(&removed, None, &known, decide_fn, now(), horizon);
    assert_eq!(gone.items.len(), 1);
    assert_eq!(gone.items[0].key, b.key);
    assert_eq!(gone.items[0].actions, [SyncAction::Cancel]);
    // A full resync that no longer lists `a` cancels it.
    let only_b = &changes[1..];
    let full = plan_batch(only_b, Some(now()), &known, decide_fn, now(), horizon);
    assert_eq!(full.items.len(), 1);
    assert_eq!(full.items[0].key, a.key);
    assert_eq!(full.items[0].actions, [SyncAction::Cancel]);
}

#[test]
fn an_occurrence_dropped_from_its_object_is_cancelled_and_a_series_removal_cancels_all() {
    let mut occurrences = Vec::new();
    for day in 0..3 {
        let mut e = event(vec![person("x@acme.com", None)]);
        e.source_id = "/cal/series.ics".into();
        e.series_id = Some("series".into());
        let start = Utc.with_ymd_and_hms(2026, 12, 10 + day, 1, 0, 0).unwrap();
        e.key.recurrence_id = Some(start);
        e.start = EventTime::At {
            utc: start,
            zone: None,
        };
        e.end = EventTime::At {
            utc: start + Duration::hours(1),
            zone: None,
        };
        occurrences.push(e);
    }
    let known: BTreeMap<_, _> = occurrences
        .iter()
        .map(|e| (e.key.clone(), known(&plan_of(e))))
        .collect();
    let fewer = vec![Change::Object {
        source_id: "/cal/series.ics".into(),
        events: occurrences[..2].to_vec(),
    }];
    let plan = plan_batch(&fewer, None, &known, decide_fn, now(), Duration::days(90));
    assert_eq!(plan.items.len(), 1);
    assert_eq!(plan.items[0].key, occurrences[2].key);
    let series_gone = vec![Change::Removed {
        source_id: "series".into(),
    }];
    let plan = plan_batch(
        &series_gone,
        None,
        &known,
        decide_fn,
        now(),
        Duration::days(90),
    );
    assert_eq!(plan.items.len(), 3);
}

#[test]
fn the_past_is_left_alone_and_new_appointments_stop_at_the_horizon() {
    let e = event(vec![person("x@acme.com", None)]);
    let changes = vec![Change::Object {
        source_id: e.source_id.clone(),
        events: vec![e.clone()],
    }];
    let after_it = Utc.with_ymd_and_hms(2026, 12, 11, 0, 0, 0).unwrap();
    let plan = plan_batch(
        &changes,
        None,
        &BTreeMap::new(),
        decide_fn,
        after_it,
        Duration::days(90),
    );
    assert!(plan.items.is_empty());
    let long_before = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let plan = plan_batch(
        &changes,
        None,
        &BTreeMap::new(),
        decide_fn,
        long_before,
        Duration::days(90),
    );
    assert!(plan.items.is_empty());
    // A known appointment that has ended is not cancelled when its event disappears.
    let known: BTreeMap<_, _> = [(e.key.clone(), known(&plan_of(&e)))].into();
    let removed = vec![Change::Removed {
        source_id: e.source_id,
    }];
    let plan = plan_batch(
        &removed,
        None,
        &known,
        decide_fn,
        after_it,
        Duration::days(90),
    );
    assert!(plan.items.is_empty());
}

#[test]
fn a_genkan_cancellation_is_final_and_failures_are_listed() {
    let e = event(vec![person("x@acme.com", None)]);
    let mut k = known(&plan_of(&e));
    k.live = false;
    k.edits.cancelled = true;
    let map: BTreeMap<_, _> = [(e.key.clone(), k)].into();
    let changes = vec![Change::Object {
        source_id: e.source_id.clone(),
        events: vec![e.clone()],
    }];
    let plan = plan_batch(&changes, None, &map, decide_fn, now(), Duration::days(90));
    assert!(plan.items.is_empty());
    let mut no_visitors = e.clone();
    no_visitors.attendees = vec![person("x@acme.com", None)];
    no_visitors.attendees[0].response = crate::calendar::event::Response::Declined;
    no_visitors.title = Some("来客".into());
    let mut r = rules();
    r.triggers.keywords = vec!["来客".into()];
    let c = connected();
    let d = |ev: &CalendarEvent| {
        decide(
            ev,
            &r,
            HostContext {
                calendar_owner: "tanaka@example.co.jp",
                connected: &c,
            },
        )
    };
    let changes = vec![Change::Object {
        source_id: e.source_id.clone(),
        events: vec![no_visitors],
    }];
    let plan = plan_batch(
        &changes,
        None,
        &BTreeMap::new(),
        d,
        now(),
        Duration::days(90),
    );
    assert_eq!(plan.failures, [(e.key, SkipReason::NoVisitors)]);
}
