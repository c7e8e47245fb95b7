//! Offline rosters (no code verifier, the host's reach) and journal replays by token
//! hash, accepted only for passes a roster issued to that kiosk listed.

use chrono::{DateTime, Duration, Utc};
use genkan_core::access::Visibility;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::pass::PassHash;
use genkan_core::reach::Deliverable;
use genkan_core::text::Locale;
use genkan_core::wire::v1::ErrorCode;
use genkan_store::appointments::IssuedPass;
use genkan_store::visits::{PassKey, Presented};

use crate::fixture::{now, passes, store, sys, tenant};

#[tokio::test]
async fn the_roster_lists_the_sites_passes_of_today_and_tomorrow_and_nothing_that_checks_a_code() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    let today = passes(&store, &t, t.site, &["Sato Hanako", "John Smith"], 0).await;
    let tomorrow = passes(&store, &t, t.site, &["Kim Lee"], 1).await;
    let later = passes(&store, &t, t.site, &["Later Person"], 3).await;
    let elsewhere = passes(&store, &t, t.other_site, &["Osaka Visitor"], 0).await;
    let yesterday = passes(&store, &t, t.site, &["Past Person"], -1).await;

    let roster = store.kiosk_roster(t.kiosk, now()).await.unwrap().unwrap();
    let names: Vec<_> = roster
        .passes
        .iter()
        .map(|p| p.visitor_name.as_str())
        .collect();
    assert_eq!(names, vec!["Sato Hanako", "John Smith", "Kim Lee"]);
    for (pass, listed) in today.iter().chain(&tomorrow).zip(&roster.passes) {
        assert_eq!(listed.token_hash, pass.token.hash().to_hex());
        assert_eq!(listed.host_name, "Tanaka Ichiro");
        assert!(listed.valid_from.ends_with("+09:00"));
    }
    // KIO-1: nothing in the roster depends on the codes; no code is in it in any form.
    let json = serde_json::to_string(&roster).unwrap();
    assert!(!json.contains("code"), "{json}");
    for pass in today.iter().chain(&tomorrow) {
        assert!(!json.contains(pass.code.as_str()));
    }
    for absent in later.iter().chain(&elsewhere).chain(&yesterday) {
        assert!(
            !roster
                .passes
                .iter()
                .any(|p| p.token_hash == absent.token.hash().to_hex())
        );
    }
}

#[tokio::test]
async fn the_roster_says_whether_a_host_can_be_reached_with_what_the_server_delivers() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    passes(&store, &t, t.site, &["Sato Hanako"], 0).await;
    let roster = store.kiosk_roster(t.kiosk, now()).await.unwrap().unwrap();
    assert!(
        !roster.passes[0].host_reachable,
        "no mail transport, no chat channel: nobody would hear of the arrival"
    );
    store.set_deliverable(Deliverable {
        email: true,
        chat: true,
    });
    let roster = store.kiosk_roster(t.kiosk, now()).await.unwrap().unwrap();
    assert!(roster.passes[0].host_reachable, "the host has an address");
}

#[tokio::test]
async fn cancelled_passes_leave_the_roster_and_a_revoked_kiosk_gets_none() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    let start = now();
    let created = store
        .create_appointment(
            t.id,
            AppointmentInput {
                site_id: t.site,
                host_id: t.host,
                title: None,
                starts_at: start,
                ends_at: start + Duration::hours(1),
                valid_from_date: None,
                valid_until_date: None,
                visitors: vec![VisitorInput {
                    name: "Sato Hanako".into(),
                    ..VisitorInput::default()
                }],
            }
            .validate(Locale::Ja)
            .unwrap(),
            sys(Some(t.id)),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .kiosk_roster(t.kiosk, now())
            .await
            .unwrap()
            .unwrap()
            .passes
            .len(),
        1
    );
    store
        .cancel_appointment(
            t.id,
            Visibility::Tenant,
            created.appointment.id,
            sys(Some(t.id)),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .kiosk_roster(t.kiosk, now())
            .await
            .unwrap()
            .unwrap()
            .passes
            .is_empty()
    );
    store
        .revoke_kiosk(t.id, t.kiosk.kiosk_id, sys(Some(t.id)))
        .await
        .unwrap();
    assert_eq!(
        store.kiosk_roster(t.kiosk, now()).await.unwrap(),
        Err(ErrorCode::KioskRevoked)
    );
}

fn replay(pass: &IssuedPass, request: &str, at: DateTime<Utc>) -> Presented {
    Presented {
        request_id: request.into(),
        key: PassKey::Token(PassHash::from_hex(&pass.token.hash().to_hex()).unwrap()),
        offline_at: Some(at),
    }
}

async fn visit_count(store: &genkan_store::Store, t: &crate::fixture::Tenant) -> usize {
    store
        .visits_between(
            t.id,
            Visibility::Tenant,
            now() - Duration::days(10),
            now() + Duration::days(10),
            100,
        )
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_journal_replay_by_token_hash_records_the_real_arrival_time_once() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    let pass = passes(&store, &t, t.site, &["Sato Hanako"], 0)
        .await
        .remove(0);
    // The kiosk had its roster at 09:00; the network went down; Sato arrived at 09:18.
    store
        .kiosk_roster(t.kiosk, now() - Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    let arrived = now() - Duration::minutes(42);
    let first = store
        .check_in(
            t.kiosk,
            replay(&pass, "offline-0001", arrived),
            sys(Some(t.id)),
        )
        .await
        .unwrap()
        .unwrap();
    let again = store
        .check_in(
            t.kiosk,
            replay(&pass, "offline-0001", arrived),
            sys(Some(t.id)),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, first, "the same request id gets the same answer");
    assert_eq!(first.checked_in_at, "2026-11-23T09:18:00+09:00");
    let visits = store
        .visits_between(
            t.id,
            Visibility::Tenant,
            now() - Duration::days(1),
            now() + Duration::days(1),
            10,
        )
        .await
        .unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(
        (visits[0].method.as_str(), visits[0].checked_in_at),
        ("offline", arrived)
    );
}

/// KIO-3 (store): a replay is accepted only for a pass a roster issued to that kiosk
/// listed, at a time that roster was in its hands and the pass valid.
#[tokio::test]
async fn replays_of_passes_never_listed_to_the_kiosk_or_at_times_its_roster_rules_out_are_refused()
{
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    let listed = passes(&store, &t, t.site, &["Listed Visitor", "Also Listed"], 0).await;
    let issued_at = now() - Duration::hours(1);
    store
        .kiosk_roster(t.kiosk, issued_at)
        .await
        .unwrap()
        .unwrap();
    // Registered after the kiosk's last roster: never listed to it.
    let unlisted = passes(&store, &t, t.site, &["Late Registration"], 0).await;
    // Listed to another kiosk of the same site only.
    let other = store
        .create_kiosk(t.id, t.site, "Side door".into(), sys(Some(t.id)))
        .await
        .unwrap();
    let paired = store
        .pair_kiosk(&other.pairing_code, None, sys(None))
        .await
        .unwrap()
        .unwrap();
    let other_kiosk = store
        .kiosk_by_credential(&paired.credential)
        .await
        .unwrap()
        .unwrap();
    let theirs = passes(&store, &t, t.site, &["Side Door Visitor"], 0).await;
    store
        .kiosk_roster(other_kiosk, now())
        .await
        .unwrap()
        .unwrap();

    let arbitrary = Presented {
        request_id: "forged-0001".into(),
        key: PassKey::Token(PassHash::from_hex(&"ab".repeat(32)).unwrap()),
        offline_at: Some(now() - Duration::minutes(10)),
    };
    let cases = [
        ("arbitrary token hash", arbitrary),
        (
            "never listed",
            replay(&unlisted[0], "unlisted-0001", now() - Duration::minutes(10)),
        ),
        (
            "another kiosk's roster",
            replay(&theirs[0], "theirs-0001", now() - Duration::minutes(10)),
        ),
        (
            "before the roster",
            replay(&listed[0], "early-0001", issued_at - Duration::minutes(30)),
        ),
        (
            "in the future",
            replay(&listed[0], "future-0001", now() + Duration::hours(2)),
        ),
        (
            "older than the window",
            replay(&listed[0], "old-0001", now() - Duration::days(8)),
        ),
        // Listed today, claimed yesterday evening (after the roster: moved clock below).
    ];
    for (what, presented) in cases {
        let answer = store
            .check_in(t.kiosk, presented, sys(Some(t.id)))
            .await
            .unwrap();
        assert_eq!(answer, Err(ErrorCode::ReplayRefused), "{what}");
    }
    assert_eq!(visit_count(&store, &t).await, 0);

    // A roster issued yesterday listed tomorrow's (today's) pass; a claim before its
    // day began is refused though the kiosk held it then.
    let (store2, _dir2) = crate::fixture::store().await;
    let t2 = tenant(&store2, "acme", "Tanaka Ichiro").await;
    let today = passes(&store2, &t2, t2.site, &["Day Visitor"], 0).await;
    store2
        .kiosk_roster(t2.kiosk, now() - Duration::hours(12))
        .await
        .unwrap()
        .unwrap();
    let answer = store2
        .check_in(
            t2.kiosk,
            replay(&today[0], "night-0001", now() - Duration::hours(11)),
            sys(Some(t2.id)),
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        Err(ErrorCode::ReplayRefused),
        "outside the pass's validity"
    );

    // The listed pass at a plausible time is accepted; a check-out is never a replay.
    let ok = store
        .check_in(
            t.kiosk,
            replay(&listed[1], "fine-0001", now() - Duration::minutes(20)),
            sys(Some(t.id)),
        )
        .await
        .unwrap();
    assert!(ok.is_ok(), "{ok:?}");
    let out = store
        .check_out(
            t.kiosk,
            replay(&listed[1], "out-0001", now() - Duration::minutes(5)),
            sys(Some(t.id)),
        )
        .await
        .unwrap();
    assert_eq!(out, Err(ErrorCode::ReplayRefused));
    assert_eq!(visit_count(&store, &t).await, 1);
}
