//! The operator's promises as tenants see them: read-only after the contract end
//! (web, API, kiosk), the full export, erasing a visitor from the web screen,
//! notice banners, readiness and metrics.

use std::io::Read as _;

use chrono::{Duration, NaiveDate};
use genkan_core::Clock as _;
use genkan_server::ops::lifecycle::read_only_from;
use genkan_store::AuditCtx;
use genkan_store::notices::NewNotice;

use crate::harness::{Browser, Ops};

#[tokio::test]
async fn after_the_contract_end_changes_are_refused_everywhere_but_sign_in_and_export_work() {
    let ops = Ops::new(false);
    let ended = ops.tenant("ended").await;
    let active = ops.tenant("active").await;
    let (_, token) = ops.visit(&ended, "Sato Hanako", "sato@example.com").await;
    let app = ops.serve().await;
    let http = reqwest::Client::new();
    let api_token = ops
        .store
        .create_api_token(
            ended.id,
            ended.admin,
            "t".into(),
            vec![genkan_core::access::Scope::Admin],
            None,
            None,
            AuditCtx::system(Some(ended.id), ops.clock.now()),
        )
        .await
        .unwrap()
        .access_token;

    let ends_on = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let from = read_only_from(ends_on, genkan_core::tenant::TimeZone::default());
    ops.store
        .end_contract(
            ended.id,
            ends_on,
            from,
            AuditCtx::system(Some(ended.id), ops.clock.now()),
        )
        .await
        .unwrap();
    // Still the last day of the contract: nothing refused yet.
    let browser = Browser::sign_in(&app.base, &ended).await;
    let (status, _, _) = browser
        .post("/users/groups", &[("name", "Before the end")])
        .await;
    assert_eq!(status, 303);

    ops.clock.set(from + Duration::minutes(1));
    let browser = Browser::sign_in(&app.base, &ended).await;
    let (status, body) = browser.get("/dashboard").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("contract has ended"),
        "a read-only banner is shown"
    );
    let (status, _, body) = browser
        .post("/users/groups", &[("name", "After the end")])
        .await;
    assert_eq!(status, 403);
    assert!(
        String::from_utf8_lossy(&body).contains("contract"),
        "a page that says why"
    );
    let api = http
        .post(format!("{}/api/v1/sites", app.base))
        .bearer_auth(&api_token)
        .json(&serde_json::json!({"name": "New", "time_zone": "Asia/Tokyo", "address": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 403);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["code"], "read_only");
    let read = http
        .get(format!("{}/api/v1/sites", app.base))
        .bearer_auth(&api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 200, "reading still works");
    let kiosk = http
        .post(format!("{}/api/kiosk/v1/check-in", app.base))
        .bearer_auth(&ended.kiosk_credential)
        .json(&serde_json::json!({"request_id": "req-after-end-1", "token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(kiosk.status().as_u16(), 403);
    assert_eq!(
        kiosk.json::<serde_json::Value>().await.unwrap()["code"],
        "read_only"
    );

    // The full export still works, one CSV per entity, without secrets.
    let (status, headers, zip_bytes) = browser.post("/exports/all.zip", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    for entity in [
        "tenant",
        "sites",
        "users",
        "groups",
        "appointments",
        "visitors",
        "passes",
        "visits",
        "kiosks",
        "outbox_ledger",
        "audit_log",
    ] {
        assert!(
            names.contains(&format!("{entity}.csv")),
            "{entity}.csv missing from {names:?}"
        );
    }
    let mut files = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        let name = f.name().unwrap().into_owned();
        assert!(text.starts_with('\u{feff}'), "{name} has a BOM");
        files.insert(name, text);
    }
    let all: String = files.values().cloned().collect();
    assert!(
        files["visitors.csv"].contains("Sato Hanako") && files["visits.csv"].contains("+09:00")
    );
    assert!(
        files["visitors.csv"].contains("'+81 3 1234 5678"),
        "formula-like cells are neutralised"
    );
    assert!(
        !all.contains("argon2") && !all.contains(&ended.kiosk_credential) && !all.contains(&token)
    );
    let ledger = &files["outbox_ledger.csv"];
    assert!(
        ledger.contains("sa***@example.com") && !ledger.contains("sato@example.com"),
        "{ledger}"
    );
    assert!(files["audit_log.csv"].contains("visit.check_in"));

    // The other tenant is not affected.
    let other = Browser::sign_in(&app.base, &active).await;
    let (status, _, _) = other.post("/users/groups", &[("name", "Still open")]).await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn an_admin_erases_a_visitor_from_the_privacy_screen_and_sets_a_retention() {
    let ops = Ops::new(false);
    let t = ops.tenant("acme").await;
    let (visitor, _) = ops.visit(&t, "Yamada Taro", "yamada@example.com").await;
    ops.visit(&t, "Kept Person", "kept@example.com").await;
    let app = ops.serve().await;
    let browser = Browser::sign_in(&app.base, &t).await;
    let (status, body) = browser.get("/privacy?q=Yamada").await;
    assert_eq!(status, 200);
    assert!(body.contains("Yamada Taro") && !body.contains("Kept Person"));
    let (status, headers, _) = browser
        .post(&format!("/privacy/visitors/{visitor}/erase"), &[])
        .await;
    assert_eq!(status, 303, "{headers:?}");
    let (_, body) = browser.get("/privacy?q=Yamada").await;
    assert!(!body.contains("Yamada Taro"));
    let (_, _, zip_bytes) = browser.post("/exports/all.zip", &[]).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut visitors = String::new();
    zip.by_name("visitors.csv")
        .unwrap()
        .read_to_string(&mut visitors)
        .unwrap();
    assert!(
        !visitors.contains("Yamada")
            && !visitors.contains("yamada@")
            && visitors.contains("Kept Person")
    );
    let (status, _, _) = browser.post("/privacy/retention", &[("days", "0")]).await;
    assert_eq!(status, 200, "zero days is refused on the form");
    let (status, _, _) = browser.post("/privacy/retention", &[("days", "90")]).await;
    assert_eq!(status, 303);
    assert_eq!(ops.store.visitor_retention(t.id).await.unwrap(), Some(90));
}

#[tokio::test]
async fn a_notice_shows_as_a_banner_only_in_the_tenants_it_addresses() {
    let ops = Ops::new(false);
    let told = ops.tenant("told").await;
    let untold = ops.tenant("untold").await;
    let now = ops.clock.now();
    ops.store
        .publish_notice(
            NewNotice {
                kind: "maintenance".into(),
                title: "Database upgrade <b>tonight</b>".into(),
                body: "From 22:00 to 23:00 JST sign-in is unavailable.".into(),
                shown_until: now + Duration::days(2),
                tenants: Some(vec![told.id]),
            },
            now,
        )
        .await
        .unwrap();
    let app = ops.serve().await;
    let (_, body) = Browser::sign_in(&app.base, &told)
        .await
        .get("/dashboard")
        .await;
    assert!(
        body.contains("Database upgrade") && !body.contains("<b>tonight"),
        "banner shown, escaped: {body}"
    );
    let (_, body) = Browser::sign_in(&app.base, &untold)
        .await
        .get("/dashboard")
        .await;
    assert!(!body.contains("Database upgrade"));
    ops.clock.advance(Duration::days(3));
    let (_, body) = Browser::sign_in(&app.base, &told)
        .await
        .get("/dashboard")
        .await;
    assert!(!body.contains("Database upgrade"), "the banner ends");
}

#[tokio::test]
async fn readiness_names_each_failing_check_and_metrics_count_check_ins() {
    let ops = Ops::new(true);
    let t = ops.tenant("acme").await;
    let (_, token) = ops
        .appointment(&t, "First Visitor", "first@example.com", false)
        .await;
    let app = ops.serve().await;
    let http = reqwest::Client::new();
    let checked_in = http
        .post(format!("{}/api/kiosk/v1/check-in", app.base))
        .bearer_auth(&t.kiosk_credential)
        .json(&serde_json::json!({"request_id": "req-metrics-0001", "token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(checked_in.status().as_u16(), 200);
    let ready = http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["backup_age_seconds"], "none_yet");

    let run = genkan_server::ops::backup::backup_and_drill(
        &ops.store,
        &ops.config,
        &ops.clock,
        genkan_server::ops::backup::Trigger::Manual,
        |_| {},
    )
    .await
    .unwrap();
    assert!(run.ok && run.drill_ok == Some(true), "{run:?}");
    let body: serde_json::Value = http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["checks"]["backup_drill"], "ok");
    // Two days without a backup: not ready, and it says why.
    ops.clock.advance(Duration::days(2));
    let r = http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["reasons"][0].as_str().unwrap().contains("backup"),
        "{body}"
    );

    let text = genkan_server::ops::metrics::render(&app_state(&ops))
        .await
        .unwrap();
    let ok: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("genkan_checkins_total{outcome=\"ok\"} "))
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(ok >= 1, "{text}");
    for family in [
        "genkan_checkin_duration_seconds_bucket",
        "genkan_outbox_depth",
        "genkan_backup_age_seconds",
        "genkan_backup_drill_success 1",
        "genkan_kiosks{state=\"active\"} 1",
    ] {
        assert!(text.contains(family), "{family} missing:\n{text}");
    }
}

fn app_state(ops: &Ops) -> genkan_server::state::AppState {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let app = genkan_server::startup::Application::build(
        (*ops.config).clone(),
        ops.store.clone(),
        std::sync::Arc::new(ops.clock.clone()),
        tokio::net::TcpListener::from_std(listener).unwrap(),
    )
    .unwrap();
    app.state().clone()
}
