//! Sites and kiosks: zones validated, pairing codes shown once, revocation.

use genkan_core::Clock as _;
use genkan_store::AuditCtx;

use crate::helpers::{ADMIN, TestApp};

#[tokio::test]
async fn sites_are_created_and_edited_with_a_validated_zone() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let bad = admin
        .post(
            "/sites",
            &[
                ("name", "Osaka Office"),
                ("time_zone", "Mars/Olympus_Mons"),
                ("address", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.is_invalid("time_zone"));
    assert!(
        bad.field_error("time_zone")
            .unwrap()
            .starts_with("Unknown time zone")
    );
    assert!(
        bad.body.contains("value=\"Osaka Office\""),
        "what was typed stays in the form"
    );
    assert!(app.store.sites(app.tenant).await.unwrap().is_empty());

    admin
        .post(
            "/sites",
            &[
                ("name", "Osaka Office"),
                ("time_zone", "Asia/Tokyo"),
                ("address", "1-1 Umeda, Osaka"),
            ],
        )
        .await
        .assert_redirect("/sites?notice=created");
    let list = admin.get("/sites").await;
    assert!(
        list.body.contains("Osaka Office")
            && list
                .body
                .contains("Asia/Tokyo <span class=\"muted\">(+09:00)</span>")
    );
    let site = app.store.sites(app.tenant).await.unwrap()[0].clone();
    admin
        .post(
            &format!("/sites/{}", site.id),
            &[
                ("name", "London Office"),
                ("time_zone", "Europe/London"),
                ("address", ""),
            ],
        )
        .await
        .assert_redirect("/sites?notice=saved");
    let stored = app.store.site(app.tenant, site.id).await.unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.time_zone.name()),
        ("London Office", "Europe/London")
    );
    let dup = admin
        .post("/sites", &[("name", "London Office"), ("time_zone", "UTC")])
        .await;
    assert_eq!(
        dup.field_error("name").as_deref(),
        Some("This is already in use.")
    );
}

#[tokio::test]
async fn a_new_kiosks_pairing_code_is_shown_once_and_pairs_the_device() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    admin
        .post("/sites", &[("name", "HQ"), ("time_zone", "Asia/Tokyo")])
        .await
        .assert_redirect("/sites");
    let site = app.store.sites(app.tenant).await.unwrap()[0].id;
    let missing = admin
        .post("/kiosks", &[("site", &site.to_string()), ("name", "")])
        .await;
    assert_eq!(missing.status, 422);
    assert!(missing.is_invalid("name"));
    let page = admin
        .post(
            "/kiosks",
            &[("site", &site.to_string()), ("name", "Lobby tablet")],
        )
        .await;
    assert_eq!(page.status, 200);
    let code = page
        .body
        .split("data-pairing-code>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX: {code}");
    assert!(page.body.contains(&format!(
        "genkan-kiosk pair --server {} --code {code}",
        app.base
    )));
    let list = admin.get("/sites").await;
    assert!(list.body.contains("Lobby tablet") && list.body.contains("Waiting for pairing"));
    assert!(!list.body.contains(&code), "the code is never shown again");
    let paired = app
        .store
        .pair_kiosk(
            &code,
            Some("reception-pc".into()),
            AuditCtx::system(None, app.clock.now()),
        )
        .await
        .unwrap()
        .expect("the code pairs");
    assert!(
        app.store
            .pair_kiosk(&code, None, AuditCtx::system(None, app.clock.now()))
            .await
            .unwrap()
            .is_err(),
        "once only"
    );
    let list = admin.get("/sites").await;
    let row = list
        .body
        .split(&format!("data-kiosk=\"{}\"", paired.kiosk_id))
        .nth(1)
        .unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("badge active") && row.contains("reception-pc"));
    assert!(
        row.contains("2026-11-23 10:00 (+09:00)"),
        "last seen in the site's zone: {row}"
    );
}

#[tokio::test]
async fn revoking_a_kiosk_asks_first_then_stops_its_credential() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    admin
        .post("/sites", &[("name", "HQ"), ("time_zone", "Asia/Tokyo")])
        .await
        .assert_redirect("/sites");
    let site = app.store.sites(app.tenant).await.unwrap()[0].id;
    let kiosk = app
        .store
        .create_kiosk(
            app.tenant,
            site,
            "Gate".into(),
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap();
    let paired = app
        .store
        .pair_kiosk(
            &kiosk.pairing_code,
            None,
            AuditCtx::system(None, app.clock.now()),
        )
        .await
        .unwrap()
        .unwrap();
    let confirm = admin.get(&format!("/kiosks/{}/revoke", kiosk.id)).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Revoke this kiosk?") && confirm.body.contains("Gate"));
    assert!(
        !app.store
            .kiosk_by_credential(&paired.credential)
            .await
            .unwrap()
            .unwrap()
            .revoked,
        "a GET changes nothing"
    );
    admin
        .post(&format!("/kiosks/{}/revoke", kiosk.id), &[])
        .await
        .assert_redirect("/sites?notice=revoked");
    assert!(
        app.store
            .kiosk_by_credential(&paired.credential)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(
        admin
            .get(&format!("/kiosks/{}/revoke", kiosk.id))
            .await
            .status,
        404,
        "already revoked"
    );
}
