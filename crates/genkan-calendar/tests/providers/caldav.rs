//! CalDAV against a real Radicale: discovery, first and incremental sync (create,
//! move, delete), the ctag/etag fallback when the sync token is refused, recurring
//! series, and hostile event text carried as data.

use std::collections::BTreeMap;

use chrono::Duration;
use genkan_calendar::{CalendarSource as _, Change, FullReason, SyncBatch, SyncState};
use genkan_core::calendar::{Decision, EventKey, Known, SyncAction, plan_batch};

use crate::helpers::{decide_for, ics, now, window};
use crate::radicale::Radicale;

const HOST: &str = "tanaka@example.co.jp";

fn objects(batch: &SyncBatch) -> BTreeMap<String, usize> {
    batch
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Object { source_id, events } => Some((
                source_id.rsplit('/').next().unwrap().to_owned(),
                events.len(),
            )),
            Change::Removed { .. } => None,
        })
        .collect()
}

fn removed(batch: &SyncBatch) -> Vec<String> {
    batch
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Removed { source_id } => Some(source_id.rsplit('/').next().unwrap().to_owned()),
            Change::Object { .. } => None,
        })
        .collect()
}

/// Applies a batch to `known` as the integrator would, returning the actions.
fn apply(
    batch: &SyncBatch,
    known: &mut BTreeMap<EventKey, Known>,
) -> Vec<(EventKey, Vec<SyncAction>)> {
    let plan = plan_batch(
        &batch.changes,
        batch.full_since(),
        known,
        |e| decide_for(HOST, e),
        now(),
        Duration::days(60),
    );
    for item in &plan.items {
        match &item.snapshot {
            Some(s) => {
                known.insert(
                    item.key.clone(),
                    Known {
                        snapshot: s.clone(),
                        live: true,
                        edits: Default::default(),
                    },
                );
            }
            None => {
                known.remove(&item.key);
            }
        }
    }
    plan.items.into_iter().map(|i| (i.key, i.actions)).collect()
}

#[tokio::test]
async fn caldav_discovers_the_accounts_calendars() {
    let server = Radicale::start();
    let visits = server
        .mkcalendar("visits", "来客 <b>&amp;</b>\u{202E}")
        .await;
    server.mkcalendar("private", "Private").await;
    let mut calendars = server.client().calendars().await.unwrap();
    calendars.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(calendars.len(), 2, "{calendars:?}");
    assert_eq!(calendars[1].id, visits);
    assert_eq!(
        calendars[1].name.as_deref(),
        Some("来客 <b>&amp;</b>\u{202E}")
    );
}

#[tokio::test]
async fn caldav_first_sync_lists_everything_then_incremental_sync_follows_create_move_delete() {
    let server = Radicale::start();
    let url = server.mkcalendar("visits", "Visits").await;
    let cal = genkan_calendar::CalendarRef {
        id: url.clone(),
        name: None,
        owner_email: Some(HOST.into()),
    };
    let start = now() + Duration::days(2);
    server
        .put(
            &url,
            "a.ics",
            &ics("uid-a", start, "Visit A", &["a@acme.com"]),
        )
        .await;
    server
        .put(
            &url,
            "b.ics",
            &ics("uid-b", start, "Visit B", &["b@acme.com"]),
        )
        .await;
    let client = server.client();
    let first = client.sync(&cal, None, window()).await.unwrap();
    assert_eq!(first.full, Some(FullReason::First));
    assert_eq!(
        objects(&first),
        BTreeMap::from([("a.ics".into(), 1), ("b.ics".into(), 1)])
    );
    let mut known = BTreeMap::new();
    let actions = apply(&first, &mut known);
    assert_eq!(actions.len(), 2);
    assert!(
        actions
            .iter()
            .all(|(_, a)| matches!(a[..], [SyncAction::Create(_)]))
    );

    server
        .put(
            &url,
            "c.ics",
            &ics("uid-c", start, "Visit C", &["c@acme.com"]),
        )
        .await;
    server
        .put(
            &url,
            "a.ics",
            &ics(
                "uid-a",
                start + Duration::hours(3),
                "Visit A",
                &["a@acme.com", "a2@acme.com"],
            ),
        )
        .await;
    server.delete(&url, "b.ics").await;
    let second = client
        .sync(&cal, Some(&first.state), window())
        .await
        .unwrap();
    assert_eq!(second.full, None);
    assert!(!second.token_refused);
    assert_eq!(
        objects(&second),
        BTreeMap::from([("a.ics".into(), 1), ("c.ics".into(), 1)])
    );
    assert_eq!(removed(&second), ["b.ics"]);
    let actions: BTreeMap<String, Vec<SyncAction>> = apply(&second, &mut known)
        .into_iter()
        .map(|(k, a)| (k.uid, a))
        .collect();
    assert!(matches!(
        actions["uid-a"][..],
        [SyncAction::Move { .. }, SyncAction::AddVisitor(_)]
    ));
    assert!(matches!(actions["uid-c"][..], [SyncAction::Create(_)]));
    assert_eq!(actions["uid-b"], [SyncAction::Cancel]);

    // Nothing changed: nothing reported, and the same batch applied twice does nothing.
    let third = client
        .sync(&cal, Some(&second.state), window())
        .await
        .unwrap();
    assert!(third.changes.is_empty(), "{:?}", third.changes);
    assert!(apply(&second, &mut known).is_empty());
}

fn with_token(state: &SyncState, token: serde_json::Value) -> SyncState {
    let mut json = serde_json::to_value(state).unwrap();
    json["sync_token"] = token;
    serde_json::from_value(json).unwrap()
}

#[tokio::test]
async fn caldav_refused_sync_token_falls_back_to_ctag_and_etags() {
    let server = Radicale::start();
    let url = server.mkcalendar("visits", "Visits").await;
    let cal = genkan_calendar::CalendarRef {
        id: url.clone(),
        name: None,
        owner_email: None,
    };
    let start = now() + Duration::days(3);
    server
        .put(&url, "a.ics", &ics("uid-a", start, "A", &["a@acme.com"]))
        .await;
    server
        .put(&url, "b.ics", &ics("uid-b", start, "B", &["b@acme.com"]))
        .await;
    let client = server.client();
    let first = client.sync(&cal, None, window()).await.unwrap();

    server
        .put(
            &url,
            "a.ics",
            &ics("uid-a", start + Duration::hours(1), "A", &["a@acme.com"]),
        )
        .await;
    server.delete(&url, "b.ics").await;
    let stale = with_token(
        &first.state,
        "http://radicale.org/ns/sync/0000000000000000".into(),
    );
    let batch = client.sync(&cal, Some(&stale), window()).await.unwrap();
    assert!(batch.token_refused, "Radicale must refuse an unknown token");
    assert_eq!(batch.full, None);
    assert_eq!(objects(&batch), BTreeMap::from([("a.ics".into(), 1)]));
    assert_eq!(removed(&batch), ["b.ics"]);
    // The fallback picked up a fresh token: the next sync is incremental again.
    let next = client
        .sync(&cal, Some(&batch.state), window())
        .await
        .unwrap();
    assert!(!next.token_refused && next.changes.is_empty());

    // A server without sync tokens: the unchanged ctag answers in one request…
    let tokenless = with_token(&batch.state, serde_json::Value::Null);
    let quiet = client.sync(&cal, Some(&tokenless), window()).await.unwrap();
    assert!(quiet.changes.is_empty());
    assert_eq!(quiet.requests, 1);
    // …and a changed one leads to the etag comparison.
    server
        .put(&url, "c.ics", &ics("uid-c", start, "C", &["c@acme.com"]))
        .await;
    let changed = client.sync(&cal, Some(&tokenless), window()).await.unwrap();
    assert_eq!(objects(&changed), BTreeMap::from([("c.ics".into(), 1)]));
    assert!(removed(&changed).is_empty());
}

#[tokio::test]
async fn caldav_recurring_occurrences_are_appointments_of_their_own() {
    let server = Radicale::start();
    let url = server.mkcalendar("visits", "Visits").await;
    let cal = genkan_calendar::CalendarRef {
        id: url.clone(),
        name: None,
        owner_email: None,
    };
    let series = |exdate: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20261101T000000Z\r\n\
DTSTART:20261203T010000Z\r\nDTEND:20261203T020000Z\r\nRRULE:FREQ=WEEKLY\r\n{exdate}SUMMARY:Weekly visit\r\n\
ORGANIZER:mailto:tanaka@example.co.jp\r\nATTENDEE:mailto:x@acme.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    };
    server.put(&url, "w.ics", &series("")).await;
    let client = server.client();
    let first = client.sync(&cal, None, window()).await.unwrap();
    // Dec 3 … Jan 28: nine weekly occurrences inside the 60-day window, none beyond.
    assert_eq!(objects(&first), BTreeMap::from([("w.ics".into(), 9)]));
    let mut known = BTreeMap::new();
    assert_eq!(apply(&first, &mut known).len(), 9);
    server
        .put(&url, "w.ics", &series("EXDATE:20261210T010000Z\r\n"))
        .await;
    let second = client
        .sync(&cal, Some(&first.state), window())
        .await
        .unwrap();
    let actions = apply(&second, &mut known);
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(
        actions[0].0.recurrence_id.unwrap().to_rfc3339(),
        "2026-12-10T01:00:00+00:00"
    );
    assert_eq!(actions[0].1, [SyncAction::Cancel]);
}

#[tokio::test]
async fn caldav_hostile_event_text_round_trips_as_inert_data() {
    let server = Radicale::start();
    let url = server.mkcalendar("visits", "Visits").await;
    let cal = genkan_calendar::CalendarRef {
        id: url.clone(),
        name: None,
        owner_email: None,
    };
    let hostile = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:evil]]>&amp;<x>\r\n\
DTSTAMP:20261101T000000Z\r\nDTSTART:20261205T010000Z\r\nDTEND:20261205T020000Z\r\n\
SUMMARY:<script>alert(1)</script>\\nBcc: all@example.co.jp \u{202E}<!channel> ]]> &amp;\r\n\
LOCATION:<img src=x onerror=alert(1)>\r\nORGANIZER:mailto:tanaka@example.co.jp\r\n\
ATTENDEE;CN=\"=cmd|' /C calc'!A0\";PARTSTAT=ACCEPTED:mailto:x@acme.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    server.put(&url, "evil.ics", hostile).await;
    let batch = server.client().sync(&cal, None, window()).await.unwrap();
    let Change::Object { events, .. } = &batch.changes[0] else {
        panic!("object")
    };
    let e = &events[0];
    // Carried exactly, as data.
    assert_eq!(e.key.uid, "evil]]>&amp;<x>");
    assert_eq!(
        e.title.as_deref(),
        Some("<script>alert(1)</script>\nBcc: all@example.co.jp \u{202E}<!channel> ]]> &amp;")
    );
    assert_eq!(e.location.as_deref(), Some("<img src=x onerror=alert(1)>"));
    assert_eq!(e.attendees[0].name.as_deref(), Some("=cmd|' /C calc'!A0"));
    // Made single-line, control- and override-free before it becomes an appointment;
    // HTML, Slack and CSV escaping stay with every place that shows it.
    let Decision::Import(plan) = decide_for(HOST, e) else {
        panic!("imported")
    };
    let title = plan.title.unwrap();
    assert_eq!(
        title.as_str(),
        "<script>alert(1)</script> Bcc: all@example.co.jp <!channel> ]]> &amp;"
    );
    assert_eq!(plan.visitors[0].name.as_str(), "=cmd|' /C calc'!A0");
}
