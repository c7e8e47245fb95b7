//! QR-1 with a moved clock: a pass admits its visitor up to the last second of its validity and is refused as expired (or not yet valid) one second either side.

use chrono::{Duration, TimeZone as _, Utc};
use genkan_core::Clock as _;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::SiteId;
use genkan_core::tenant::TimeZone;
use genkan_core::text::{Locale, OrgName};
use genkan_store::AuditCtx;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, TestApp};

/// A site "HQ" with a paired kiosk "Lobby": (site, kiosk credential).
pub(crate) async fn kiosk(app: &TestApp) -> (SiteId, String) {
    let ctx = AuditCtx::system(Some(app.tenant), app.clock.now());
    let site = app
        .store
        .create_site(
            app.tenant,
            OrgName::parse("HQ").unwrap(),
            TimeZone::default(),
            String::new(),
            ctx.clone(),
        )
        .await
        .unwrap();
    let new = app
        .store
        .create_kiosk(app.tenant, site.id, "Lobby".into(), ctx.clone())
        .await
        .unwrap();
    let paired = app
        .store
        .pair_kiosk(&new.pairing_code, Some("lobby-pc".into()), ctx)
        .await
        .unwrap()
        .unwrap();
    (site.id, paired.credential)
}

/// Appointments of one hour from `starts_at` (UTC), one visitor each; their QR tokens.
async fn passes(
    app: &TestApp,
    site: SiteId,
    starts_at: chrono::DateTime<Utc>,
    names: &[&str],
) -> Vec<String> {
    let input = AppointmentInput {
        site_id: site,
        host_id: app.user_id(ADMIN).await,
        title: None,
        starts_at,
        ends_at: starts_at + Duration::hours(1),
        valid_from_date: None,
        valid_until_date: None,
        visitors: names
            .iter()
            .map(|n| VisitorInput {
                name: (*n).to_owned(),
                company: None,
                email: None,
                phone: None,
                locale: None,
            })
            .collect(),
    };
    let created = app
        .store
        .create_appointment(
            app.tenant,
            input.validate(Locale::Ja).unwrap(),
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap()
        .unwrap();
    created.passes.iter().map(|p| p.token.encode()).collect()
}

async fn kiosk_post(
    app: &TestApp,
    credential: &str,
    path: &str,
    id: &str,
    token: &str,
) -> (u16, Value) {
    let (status, _, body) = app
        .anonymous()
        .api(
            Method::POST,
            path,
            credential,
            Some(json!({"request_id": id, "token": token})),
            &[],
        )
        .await;
    (status, body)
}

/// SECURITY.md QR-1 (expired, with the clock moved): a day pass for today works at
/// 23:59:59 and is `pass_expired` at midnight; tomorrow's pass is
/// `pass_not_yet_valid` at 23:59:59 and works at midnight; a visitor inside can still
/// leave after midnight but not come back in.
#[tokio::test]
async fn a_pass_is_refused_one_second_after_its_validity_ends_and_before_it_starts() {
    let app = TestApp::spawn().await;
    let (site, credential) = kiosk(&app).await;
    // The harness starts at 10:00 in Tokyo on 23 November; midnight is 15:00 UTC.
    let midnight = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let today = passes(
        &app,
        site,
        app.clock.now() + Duration::minutes(30),
        &["Early Bird", "Late Owl"],
    )
    .await;
    let tomorrow = passes(&app, site, midnight + Duration::hours(1), &["Next Day"]).await;
    let check_in = "/api/kiosk/v1/check-in";

    app.clock.set(midnight - Duration::seconds(1));
    let (status, body) = kiosk_post(&app, &credential, check_in, "qr1-clock-0001", &today[0]).await;
    assert_eq!(status, 200, "valid in its last second: {body}");
    let (status, body) =
        kiosk_post(&app, &credential, check_in, "qr1-clock-0002", &tomorrow[0]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("pass_not_yet_valid")),
        "{body}"
    );

    app.clock.set(midnight);
    let (status, body) = kiosk_post(&app, &credential, check_in, "qr1-clock-0003", &today[1]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("pass_expired")),
        "{body}"
    );
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    let (status, body) =
        kiosk_post(&app, &credential, check_in, "qr1-clock-0004", &tomorrow[0]).await;
    assert_eq!(status, 200, "valid from its first second: {body}");
    let (status, body) = kiosk_post(
        &app,
        &credential,
        "/api/kiosk/v1/check-out",
        "qr1-clock-0005",
        &today[0],
    )
    .await;
    assert_eq!(
        status, 200,
        "a visitor inside may leave after the pass ends: {body}"
    );
    let (status, body) = kiosk_post(&app, &credential, check_in, "qr1-clock-0006", &today[0]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("pass_expired")),
        "{body}"
    );

    // A day later the expired pass is still refused, and exactly two visits exist.
    app.clock.advance(Duration::days(1));
    let (status, body) = kiosk_post(&app, &credential, check_in, "qr1-clock-0007", &today[1]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("pass_expired")),
        "{body}"
    );
    let visits = app
        .store
        .visits_between(
            app.tenant,
            genkan_core::access::Visibility::Tenant,
            midnight - Duration::days(2),
            midnight + Duration::days(3),
            100,
        )
        .await
        .unwrap();
    let mut names: Vec<&str> = visits.iter().map(|v| v.visitor_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Early Bird", "Next Day"]);
}
