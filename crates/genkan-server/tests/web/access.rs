//! Who may reach the admin screens, and which ids they may name.

use crate::helpers::{ADMIN, DESK, FilePart, HOST, OTHER_ADMIN, TestApp};

const ADMIN_PAGES: &[&str] = &[
    "/users",
    "/users/new",
    "/users/import",
    "/users/groups",
    "/sites",
    "/sites/new",
    "/kiosks/new",
    "/settings",
];

#[tokio::test]
async fn admin_screens_refuse_hosts_and_receptionists() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    for path in ADMIN_PAGES {
        assert_eq!(admin.get(path).await.status, 200, "admin on {path}");
    }
    for who in [HOST, DESK] {
        let b = app.sign_in(who).await;
        for path in ADMIN_PAGES {
            assert_eq!(b.get(path).await.status, 403, "{who} on {path}");
        }
        let invite = b
            .post(
                "/users",
                &[
                    ("email", "sneaky@acme.example"),
                    ("name", "Sneaky"),
                    ("role", "admin"),
                ],
            )
            .await;
        assert_eq!(invite.status, 403);
        let settings = b.post("/settings", &[("name", "Taken over")]).await;
        assert_eq!(settings.status, 403);
        let host_id = app.user_id(HOST).await;
        let promote = b
            .post(
                &format!("/users/{host_id}"),
                &[("name", "Hana Host"), ("role", "admin")],
            )
            .await;
        assert_eq!(promote.status, 403);
        let upload = b
            .upload(
                "/users/import",
                &[],
                &FilePart {
                    field: "file",
                    name: "u.csv",
                    content_type: "text/csv",
                    bytes: b"email,display_name,role\nx@acme.example,X,admin\n",
                },
            )
            .await;
        assert_eq!(upload.status, 403);
    }
    let users = app.store.users(app.tenant).await.unwrap();
    assert_eq!(users.len(), 3, "nothing was created");
    assert!(
        users
            .iter()
            .all(|u| u.email != "sneaky@acme.example" && u.email != "x@acme.example")
    );
    let host = app
        .store
        .user(app.tenant, app.user_id(HOST).await)
        .await
        .unwrap();
    assert_eq!(host.role, genkan_core::access::Role::Host);
    assert_eq!(
        app.store.tenant_settings(app.tenant).await.unwrap().name,
        "Acme Corp"
    );
}

#[tokio::test]
async fn another_tenants_ids_answer_not_found() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let foreign_user = app.user_id_in(app.other, OTHER_ADMIN).await;
    let foreign_group = app
        .store
        .create_group(
            app.other,
            "Their group".into(),
            genkan_store::AuditCtx::system(Some(app.other), helpers_now(&app)),
        )
        .await
        .unwrap();
    let foreign_kiosk = app
        .store
        .create_kiosk(
            app.other,
            app.other_site,
            "Their kiosk".into(),
            genkan_store::AuditCtx::system(Some(app.other), helpers_now(&app)),
        )
        .await
        .unwrap()
        .id;
    let site = app.other_site;
    for path in [
        format!("/users/{foreign_user}"),
        format!("/users/groups/{foreign_group}"),
        format!("/sites/{site}"),
        format!("/kiosks/{foreign_kiosk}/revoke"),
        "/users/abc".to_owned(),
        "/sites/-1".to_owned(),
    ] {
        assert_eq!(admin.get(&path).await.status, 404, "GET {path}");
    }
    for (path, fields) in [
        (
            format!("/users/{foreign_user}"),
            vec![("name", "Renamed"), ("role", "host")],
        ),
        (format!("/users/{foreign_user}/disable"), vec![]),
        (format!("/users/{foreign_user}/resend"), vec![]),
        (
            format!("/users/groups/{foreign_group}"),
            vec![("member", "1")],
        ),
        (
            format!("/sites/{site}"),
            vec![("name", "Renamed"), ("time_zone", "UTC")],
        ),
        (format!("/kiosks/{foreign_kiosk}/revoke"), vec![]),
    ] {
        assert_eq!(admin.post(&path, &fields).await.status, 404, "POST {path}");
    }
    // A kiosk at another tenant's site cannot be created either.
    let kiosk = admin
        .post(
            "/kiosks",
            &[("site", &site.to_string()), ("name", "Mine now")],
        )
        .await;
    assert_eq!(kiosk.status, 422);
    let other_admin = app.store.user(app.other, foreign_user).await.unwrap();
    assert_eq!(
        (
            other_admin.status.as_str(),
            other_admin.display_name.as_str()
        ),
        ("active", "Otto Other")
    );
    assert_eq!(
        app.store.site(app.other, site).await.unwrap().name.as_str(),
        "Other HQ"
    );
    let kiosks = app.store.kiosks(app.other).await.unwrap();
    assert_eq!(kiosks.len(), 1);
    assert_eq!(
        (kiosks[0].id, kiosks[0].status.as_str()),
        (foreign_kiosk, "pending")
    );
}

fn helpers_now(app: &TestApp) -> chrono::DateTime<chrono::Utc> {
    genkan_core::Clock::now(&app.clock)
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_from_another_origin_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let fields = [
        ("email", "new@acme.example"),
        ("name", "New"),
        ("role", "host"),
    ];
    let no_token = admin.post_raw("/users", &fields, None).await;
    assert_eq!(no_token.status, 403);
    let mut with_token = vec![("csrf", admin.csrf.as_str())];
    with_token.extend_from_slice(&fields);
    let foreign = admin
        .post_raw("/users", &with_token, Some("https://evil.example"))
        .await;
    assert_eq!(foreign.status, 403);
    let wrong = admin
        .upload_raw(
            "/users/import",
            &[("csrf", "not-the-token")],
            &FilePart {
                field: "file",
                name: "u.csv",
                content_type: "text/csv",
                bytes: b"email,display_name,role\nnew@acme.example,New,host\n",
            },
        )
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(app.store.users(app.tenant).await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_account_page_is_open_to_every_role() {
    let app = TestApp::spawn().await;
    for who in [ADMIN, DESK, HOST] {
        let b = app.sign_in(who).await;
        let page = b.get("/account").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(who));
    }
    assert_eq!(app.anonymous().get("/account").await.status, 303);
}
