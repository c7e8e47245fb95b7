//! Kiosks as admins see them: heartbeats on the kiosk list, the kiosk settings (walk-in
//! form, silence alert) and the silent-kiosk e-mail, sent once per silence by the
//! scheduled job as the manual clock moves.

use std::sync::Arc;

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::notification::{Channel, MessageKind};
use genkan_core::text::Locale;
use genkan_core::wire::v1::Heartbeat;
use genkan_server::config::Config;
use genkan_server::jobs::{JobContext, Scheduler};
use genkan_server::notify::render::Renderer;
use genkan_store::kiosks::KioskAuth;

use crate::helpers::{ADMIN, TestApp};

/// A site "HQ" with a paired kiosk "Lobby".
async fn paired_kiosk(app: &TestApp) -> KioskAuth {
    let (_, credential) = crate::passes::kiosk(app).await;
    app.store
        .kiosk_by_credential(&credential)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn the_kiosk_list_shows_each_kiosks_last_heartbeat() {
    let app = TestApp::spawn().await;
    let kiosk = paired_kiosk(&app).await;
    let admin = app.sign_in(ADMIN).await;
    let row = |body: &str| {
        body.split(&format!("data-kiosk=\"{}\"", kiosk.kiosk_id))
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next()
            .unwrap()
            .to_owned()
    };
    let before = admin.get("/sites").await;
    assert!(row(&before.body).contains("<td data-health><span class=\"muted\">—</span>"));
    app.store
        .record_heartbeat(
            kiosk,
            &Heartbeat {
                version: "0.1.0".into(),
                camera: "too_dark".into(),
                last_scan_at: Some(app.clock.now().to_rfc3339()),
                journal_length: 2,
            },
            app.clock.now(),
        )
        .await
        .unwrap()
        .unwrap();
    let after = row(&admin.get("/sites").await.body);
    for shown in [
        "badge pending",
        "Too dark",
        "v0.1.0",
        "2 offline check-ins waiting",
        "last scan",
    ] {
        assert!(after.contains(shown), "{shown} missing from {after}");
    }
}

#[tokio::test]
async fn kiosk_settings_are_saved_and_reach_the_kiosks_configuration() {
    let app = TestApp::spawn().await;
    let kiosk = paired_kiosk(&app).await;
    let admin = app.sign_in(ADMIN).await;
    let page = admin.get("/settings").await;
    assert!(page.body.contains("id=\"kiosk-settings\""));
    assert!(page.body.contains("name=\"silence_minutes\""));
    let bad = admin
        .post(
            "/settings/kiosk",
            &[("walk_in_enabled", "1"), ("silence_minutes", "9999")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.is_invalid("silence_minutes"));
    admin
        .post(
            "/settings/kiosk",
            &[
                ("walk_in_enabled", "1"),
                ("walk_in_phone", "1"),
                ("silence_minutes", "30"),
            ],
        )
        .await
        .assert_redirect("/settings?notice=saved");
    let settings = app.store.kiosk_settings(app.tenant).await.unwrap();
    assert!(settings.walk_in_enabled && settings.walk_in_phone && !settings.walk_in_company);
    assert_eq!(settings.silence_minutes, 30);
    let config = app.store.kiosk_config(kiosk).await.unwrap();
    assert!(config.walk_in.enabled && config.walk_in.ask_phone && !config.walk_in.ask_company);
}

#[tokio::test]
async fn the_scheduler_mails_the_admins_once_when_a_kiosk_falls_silent() {
    let app = TestApp::spawn().await;
    paired_kiosk(&app).await;
    let scheduler = Scheduler::new(JobContext {
        store: app.store.clone(),
        clock: Arc::new(app.clock.clone()),
        config: Arc::new(Config::default()),
    });
    let silent = || async {
        app.store
            // A long lease: a claimed message must not come back while the clock moves.
            .claim_due(app.clock.now(), 100, Duration::days(7), &[Channel::Email])
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == MessageKind::KioskSilent)
            .map(|m| m.recipient)
            .collect::<Vec<_>>()
    };
    app.clock.advance(Duration::minutes(14));
    assert!(scheduler.tick().await.contains(&"kiosk_silence"));
    assert!(silent().await.is_empty());
    app.clock.advance(Duration::minutes(1));
    scheduler.tick().await;
    assert_eq!(silent().await, vec![ADMIN.to_owned()]);
    for _ in 0..5 {
        app.clock.advance(Duration::minutes(10));
        scheduler.tick().await;
    }
    assert!(silent().await.is_empty(), "one alert per silence");
}

#[test]
fn the_silent_kiosk_mail_renders_in_both_languages() {
    let view = serde_json::json!({
        "admin_name": "Admin", "tenant_name": "Acme", "kiosk_name": "Lobby <1>",
        "site_name": "HQ", "minutes": 15, "last_seen": "2026-11-23 10:00 (+09:00)",
        "color": "#1d4ed8",
    });
    let renderer = Renderer::new();
    for locale in [Locale::Ja, Locale::En] {
        let mail = renderer
            .mail(MessageKind::KioskSilent, locale, &view)
            .unwrap();
        assert!(mail.subject.contains("Lobby <1>"), "{}", mail.subject);
        assert!(mail.text.contains("+09:00") && mail.text.contains("15"));
        assert!(mail.html.contains("Lobby &lt;1&gt;"), "HTML is escaped");
    }
}
