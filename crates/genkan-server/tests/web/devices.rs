//! Device ids in searches (S36): the visit history and the audit log filter by kiosk,
//! so an administrator can follow what one device did.

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::{KioskId, SiteId};
use genkan_core::text::Locale;
use genkan_store::AuditCtx;
use genkan_store::audit_search::AuditFilter;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN, TestApp};

/// A second paired kiosk at `site`; its id and credential.
async fn another_kiosk(app: &TestApp, site: SiteId) -> (KioskId, String) {
    let ctx = AuditCtx::system(Some(app.tenant), app.clock.now());
    let new = app
        .store
        .create_kiosk(app.tenant, site, "Side door".into(), ctx.clone())
        .await
        .unwrap();
    let paired = app
        .store
        .pair_kiosk(&new.pairing_code, Some("side-pc".into()), ctx)
        .await
        .unwrap()
        .unwrap();
    let id = app
        .store
        .kiosk_by_credential(&paired.credential)
        .await
        .unwrap()
        .unwrap()
        .kiosk_id;
    (id, paired.credential)
}

async fn check_in(app: &TestApp, credential: &str, id: &str, token: &str) {
    let (status, _, body) = app
        .anonymous()
        .api(
            Method::POST,
            "/api/kiosk/v1/check-in",
            credential,
            Some(json!({"request_id": id, "token": token})),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn visit_history_and_audit_log_filter_by_kiosk() {
    let app = TestApp::spawn().await;
    let (site, lobby_credential) = crate::passes::kiosk(&app).await;
    let lobby = app
        .store
        .kiosk_by_credential(&lobby_credential)
        .await
        .unwrap()
        .unwrap()
        .kiosk_id;
    let (side, side_credential) = another_kiosk(&app, site).await;
    let input = AppointmentInput {
        site_id: site,
        host_id: app.user_id(ADMIN).await,
        title: None,
        starts_at: app.clock.now() + Duration::minutes(10),
        ends_at: app.clock.now() + Duration::hours(1),
        valid_from_date: None,
        valid_until_date: None,
        visitors: ["Lobby Arrival", "Side Arrival"]
            .iter()
            .map(|n| VisitorInput {
                name: (*n).to_owned(),
                ..VisitorInput::default()
            })
            .collect(),
    };
    let created = app
        .store
        .create_appointment(
            app.tenant,
            input.validate(Locale::En).unwrap(),
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap()
        .unwrap();
    let tokens: Vec<String> = created.passes.iter().map(|p| p.token.encode()).collect();
    check_in(&app, &lobby_credential, "dev-lobby-0001", &tokens[0]).await;
    check_in(&app, &side_credential, "dev-side-0001", &tokens[1]).await;

    let admin = app.sign_in(ADMIN).await;
    let all = admin.get("/visits").await;
    assert!(all.body.contains("Lobby Arrival") && all.body.contains("Side Arrival"));
    let by_lobby = admin.get(&format!("/visits?kiosk={lobby}")).await;
    assert_eq!(by_lobby.status, 200);
    assert!(by_lobby.body.contains("Lobby Arrival"), "{}", by_lobby.body);
    assert!(!by_lobby.body.contains("Side Arrival"), "{}", by_lobby.body);
    assert!(
        by_lobby
            .body
            .contains(&format!("<option value=\"{lobby}\" selected>")),
        "the filter shows which kiosk is chosen"
    );
    let by_side = admin.get(&format!("/visits?kiosk={side}")).await;
    assert!(by_side.body.contains("Side Arrival") && !by_side.body.contains("Lobby Arrival"));

    // The audit log: what the kiosk did (pairing, check-ins) and what was done to it.
    let rows = app
        .store
        .audit_page(
            app.tenant,
            AuditFilter {
                kiosk: Some(side),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for r in &rows {
        let acted = r.actor_kind == "kiosk" && r.actor_id == Some(side.get());
        let acted_on = r.target_kind == "kiosk" && r.target_id == Some(side.to_string());
        assert!(acted || acted_on, "a row of another device: {r:?}");
    }
    for action in ["kiosk.create", "kiosk.pair"] {
        assert!(rows.iter().any(|r| r.action == action), "{action} missing");
    }
    assert!(
        rows.iter()
            .any(|r| r.actor_kind == "kiosk" && r.action.contains("check_in")),
        "the side door's check-in is found: {rows:?}"
    );
    let page = admin.get(&format!("/audit?kiosk={side}")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("kiosk {side}")),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&format!("kiosk {lobby}")),
        "{}",
        page.body
    );
}
