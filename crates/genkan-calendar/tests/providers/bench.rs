//! Sync at tenant scale and push latency, against the Google stand-in: 1,000 events
//! across 100 hosts (first sync and an incremental round), and one event from
//! creation through the push notification to its `Create` action.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use axum::http::HeaderMap;
use axum::routing::post;
use chrono::Duration;
use genkan_calendar::auth::Secret;
use genkan_calendar::google::GoogleCalendar;
use genkan_calendar::google::push;
use genkan_calendar::{CalendarRef, CalendarSource as _, SyncBatch, SyncState};
use genkan_core::calendar::{HostContext, Known, SyncAction, decide, plan_batch};

use crate::google_standin::{Google, event};
use crate::helpers::{http, limits, now, rules, serve, window};

const HOSTS: usize = 100;
const EVENTS_PER_HOST: usize = 10;

fn host(i: usize) -> String {
    format!("host{i:03}@example.co.jp")
}

fn hosted_event(id: &str, host: &str, day: i64) -> serde_json::Value {
    let mut e = event(
        id,
        now() + Duration::days(day) + Duration::hours(1),
        &["guest@acme.com"],
    );
    e["organizer"]["email"] = serde_json::json!(host);
    e
}

/// Syncs every host's calendar (eight at a time) and plans the batches.
async fn round(
    client: &GoogleCalendar,
    states: &BTreeMap<String, SyncState>,
    known: &mut BTreeMap<String, BTreeMap<genkan_core::calendar::EventKey, Known>>,
    connected: &BTreeSet<String>,
) -> (BTreeMap<String, SyncState>, usize) {
    let rules = rules();
    let mut next_states = BTreeMap::new();
    let mut actions = 0;
    let hosts: Vec<String> = (0..HOSTS).map(host).collect();
    for chunk in hosts.chunks(8) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|h| {
                let (client, h, state) = (client.clone(), h.clone(), states.get(h).cloned());
                tokio::spawn(async move {
                    let cal = CalendarRef {
                        id: h.clone(),
                        name: None,
                        owner_email: Some(h.clone()),
                    };
                    let batch = client.sync(&cal, state.as_ref(), window()).await.unwrap();
                    (h, batch)
                })
            })
            .collect();
        let mut batches: Vec<(String, SyncBatch)> = Vec::with_capacity(tasks.len());
        for task in tasks {
            batches.push(task.await.unwrap());
        }
        for (h, batch) in batches {
            let ctx = HostContext {
                calendar_owner: &h,
                connected,
            };
            let mine = known.entry(h.clone()).or_default();
            let plan = plan_batch(
                &batch.changes,
                batch.full_since(),
                mine,
                |e| decide(e, &rules, ctx),
                now(),
                Duration::days(60),
            );
            for item in plan.items {
                actions += item.actions.len();
                if let Some(s) = item.snapshot {
                    mine.insert(
                        item.key,
                        Known {
                            snapshot: s,
                            live: true,
                            edits: Default::default(),
                        },
                    );
                }
            }
            next_states.insert(h, batch.state);
        }
    }
    (next_states, actions)
}

#[tokio::test]
async fn a_thousand_events_across_a_hundred_hosts_sync_and_plan_within_bounds() {
    let g = Google::start().await;
    for h in 0..HOSTS {
        for e in 0..EVENTS_PER_HOST {
            g.put_in(
                &host(h),
                hosted_event(&format!("h{h}e{e}"), &host(h), e as i64 + 1),
            );
        }
    }
    let client =
        GoogleCalendar::new(http(), &g.api(), Secret::new("good-token"), limits()).unwrap();
    let connected: BTreeSet<String> = (0..HOSTS).map(host).collect();
    let mut known = BTreeMap::new();
    let started = Instant::now();
    let (states, created) = round(&client, &BTreeMap::new(), &mut known, &connected).await;
    let first = started.elapsed();
    assert_eq!(created, HOSTS * EVENTS_PER_HOST, "one Create per event");

    // One moved meeting per host.
    for h in 0..HOSTS {
        g.put_in(&host(h), hosted_event(&format!("h{h}e0"), &host(h), 20));
    }
    let started = Instant::now();
    let (_, moved) = round(&client, &states, &mut known, &connected).await;
    let incremental = started.elapsed();
    assert_eq!(moved, HOSTS, "one Move per host");
    println!(
        "calendar sync: 1,000 events / 100 hosts — first sync + plan {first:?}, incremental round {incremental:?}"
    );
    // Far inside a 60-second poll interval even in a debug build on two cores.
    assert!(
        first.as_secs() < 30 && incremental.as_secs() < 10,
        "{first:?} {incremental:?}"
    );
}

#[tokio::test]
async fn an_event_reaches_its_create_action_within_seconds_of_the_push() {
    let g = Google::start().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<HeaderMap>();
    let receiver = serve(axum::Router::new().route(
        "/hooks/google",
        post(move |headers: HeaderMap| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(headers);
                "ok"
            }
        }),
    ))
    .await;
    let client =
        GoogleCalendar::new(http(), &g.api(), Secret::new("good-token"), limits()).unwrap();
    let cal = CalendarRef {
        id: "tanaka@example.co.jp".into(),
        name: None,
        owner_email: None,
    };
    let first = client.sync(&cal, None, window()).await.unwrap();
    let channel = client
        .watch(&cal, &format!("{receiver}/hooks/google"), Duration::days(7))
        .await
        .unwrap();

    let started = Instant::now();
    g.put(event(
        "fresh",
        now() + Duration::days(1),
        &["guest@acme.com"],
    ));
    g.notify().await;
    let headers = rx.recv().await.unwrap();
    push::verify(&headers, &channel).unwrap();
    let batch = client
        .sync(&cal, Some(&first.state), window())
        .await
        .unwrap();
    let connected = BTreeSet::from(["tanaka@example.co.jp".to_owned()]);
    let rules = rules();
    let ctx = HostContext {
        calendar_owner: "tanaka@example.co.jp",
        connected: &connected,
    };
    let plan = plan_batch(
        &batch.changes,
        batch.full_since(),
        &BTreeMap::new(),
        |e| decide(e, &rules, ctx),
        now(),
        Duration::days(60),
    );
    let elapsed = started.elapsed();
    assert!(matches!(plan.items[0].actions[..], [SyncAction::Create(_)]));
    println!("calendar push: event created → Create action in {elapsed:?}");
    assert!(elapsed.as_secs() < 60);
}
