//! Offline rosters and journal replays by token hash.

use chrono::Duration;
use genkan_core::access::Visibility;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::pass::PassHash;
use genkan_core::text::Locale;
use genkan_core::wire::v1::ErrorCode;
use genkan_store::visits::{PassKey, Presented};

use crate::fixture::{now, passes, store, sys, tenant};

#[tokio::test]
async fn the_roster_lists_the_sites_passes_of_today_and_tomorrow_with_checkable_code_digests() {
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
    let salt = hex::decode(&roster.code_salt).unwrap();
    assert_eq!(salt.len(), 32);
    for (pass, listed) in today.iter().chain(&tomorrow).zip(&roster.passes) {
        assert_eq!(listed.token_hash, pass.token.hash().to_hex());
        assert_eq!(
            listed.code_hash,
            pass.code.roster_hash(&salt).to_hex(),
            "a kiosk can check the typed code"
        );
        assert_ne!(listed.code_hash, pass.code.roster_hash(&[]).to_hex());
        assert_eq!(listed.host_name, "Tanaka Ichiro");
        assert!(listed.valid_from.ends_with("+09:00"));
    }
    for absent in later.iter().chain(&elsewhere).chain(&yesterday) {
        assert!(
            !roster
                .passes
                .iter()
                .any(|p| p.token_hash == absent.token.hash().to_hex())
        );
    }
    // The salt is the tenant's roster key: the same in the next roster.
    let again = store.kiosk_roster(t.kiosk, now()).await.unwrap().unwrap();
    assert_eq!(again.code_salt, roster.code_salt);
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

#[tokio::test]
async fn a_journal_replay_by_token_hash_records_the_real_arrival_time_once() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    let pass = passes(&store, &t, t.site, &["Sato Hanako"], 0)
        .await
        .remove(0);
    let arrived = now() - Duration::minutes(42);
    let replay = |request: &str| Presented {
        request_id: request.into(),
        key: PassKey::Token(PassHash::from_hex(&pass.token.hash().to_hex()).unwrap()),
        offline_at: Some(arrived),
    };
    let first = store
        .check_in(t.kiosk, replay("offline-0001"), sys(Some(t.id)))
        .await
        .unwrap()
        .unwrap();
    let again = store
        .check_in(t.kiosk, replay("offline-0001"), sys(Some(t.id)))
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
