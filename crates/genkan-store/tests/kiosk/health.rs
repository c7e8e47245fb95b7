//! Heartbeats, and the silent-kiosk alert once per silence.

use chrono::{DateTime, Duration, Utc};
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::wire::v1::{ErrorCode, Heartbeat};
use genkan_store::Store;
use genkan_store::kiosk_settings::KioskSettings;

use crate::fixture::{now, store, sys, tenant};

fn beat(camera: &str, journal: u32) -> Heartbeat {
    Heartbeat {
        version: "0.1.0".into(),
        camera: camera.into(),
        last_scan_at: Some("2026-11-23T09:55:00+09:00".into()),
        journal_length: journal,
    }
}

#[tokio::test]
async fn heartbeats_are_kept_for_the_admins_and_device_text_is_bounded() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    let mut odd = beat("on fire", 3);
    odd.version = format!("9.9\n{}", "x".repeat(200));
    store
        .record_heartbeat(t.kiosk, &odd, now())
        .await
        .unwrap()
        .unwrap();
    let kiosk = store.kiosks(t.id).await.unwrap().remove(0);
    let (health, at) = kiosk.health.unwrap();
    assert_eq!(at, now());
    assert_eq!(kiosk.last_seen_at, Some(now()));
    assert_eq!(health.camera, "unknown");
    assert_eq!(health.journal_length, 3);
    assert!(health.version.len() <= 40 && !health.version.contains('\n'));
    store
        .record_heartbeat(t.kiosk, &beat("too_dark", 0), now())
        .await
        .unwrap()
        .unwrap();
    let health = store
        .kiosks(t.id)
        .await
        .unwrap()
        .remove(0)
        .health
        .unwrap()
        .0;
    assert_eq!(health.camera, "too_dark");
    assert_eq!(
        health.last_scan_at,
        Some("2026-11-23T00:55:00Z".parse().unwrap())
    );
    store
        .revoke_kiosk(t.id, t.kiosk.kiosk_id, sys(Some(t.id)))
        .await
        .unwrap();
    assert_eq!(
        store
            .record_heartbeat(t.kiosk, &beat("ok", 0), now())
            .await
            .unwrap(),
        Err(ErrorCode::KioskRevoked)
    );
}

async fn silence_mails(store: &Store, at: DateTime<Utc>) -> Vec<String> {
    store
        .claim_due(at, 100, Duration::minutes(5), &[Channel::Email])
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == MessageKind::KioskSilent)
        .map(|m| m.recipient)
        .collect()
}

#[tokio::test]
async fn a_silent_kiosk_is_reported_to_every_admin_once_per_silence() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    // Paired at `now`: silent for 14 minutes is still fine.
    assert_eq!(
        store
            .alert_silent_kiosks(now() + Duration::minutes(14))
            .await
            .unwrap(),
        0
    );
    let at = now() + Duration::minutes(15);
    assert_eq!(store.alert_silent_kiosks(at).await.unwrap(), 1);
    let mut to = silence_mails(&store, at).await;
    to.sort();
    assert_eq!(to, vec!["admin2@acme.example", "admin@acme.example"]);
    for later in [20, 60, 600] {
        assert_eq!(
            store
                .alert_silent_kiosks(now() + Duration::minutes(later))
                .await
                .unwrap(),
            0,
            "not again for the same silence"
        );
    }
    // Seen again, then silent again: a new alert.
    let back = now() + Duration::minutes(601);
    store
        .record_heartbeat(t.kiosk, &beat("ok", 0), back)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .alert_silent_kiosks(back + Duration::minutes(10))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .alert_silent_kiosks(back + Duration::minutes(15))
            .await
            .unwrap(),
        1
    );
    let ctx = store
        .silence_context(
            t.id,
            t.kiosk.kiosk_id,
            store.users(t.id).await.unwrap()[1].id,
        )
        .await
        .unwrap();
    assert_eq!(
        (ctx.kiosk_name.as_str(), ctx.site_name.as_str()),
        ("Lobby", "HQ")
    );
    assert_eq!(ctx.last_seen_at, Some(back));
}

#[tokio::test]
async fn silence_alerts_follow_the_tenants_setting_and_skip_revoked_kiosks() {
    let (store, _dir) = store().await;
    let t = tenant(&store, "acme", "Tanaka Ichiro").await;
    let settings = KioskSettings {
        silence_minutes: 0,
        ..KioskSettings::default()
    };
    store
        .update_kiosk_settings(t.id, settings, sys(Some(t.id)))
        .await
        .unwrap();
    assert_eq!(store.kiosk_settings(t.id).await.unwrap(), settings);
    assert_eq!(
        store
            .alert_silent_kiosks(now() + Duration::days(1))
            .await
            .unwrap(),
        0
    );
    let settings = KioskSettings {
        silence_minutes: 60,
        ..settings
    };
    store
        .update_kiosk_settings(t.id, settings, sys(Some(t.id)))
        .await
        .unwrap();
    assert_eq!(
        store
            .alert_silent_kiosks(now() + Duration::minutes(59))
            .await
            .unwrap(),
        0
    );
    store
        .revoke_kiosk(t.id, t.kiosk.kiosk_id, sys(Some(t.id)))
        .await
        .unwrap();
    assert_eq!(
        store
            .alert_silent_kiosks(now() + Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .update_kiosk_settings(
                t.id,
                KioskSettings {
                    silence_minutes: 5000,
                    ..settings
                },
                sys(Some(t.id))
            )
            .await
            .is_err()
    );
}
