//! API tokens in the web app: an admin creates one (secret shown once, only a hash
//! kept), it works on the API within its scopes, it is listed without its secret,
//! revoking it ends it at once; others cannot see or revoke a tenant's tokens.

use chrono::Duration;
use reqwest::Method;

use crate::helpers::{ADMIN, DESK, HOST, OTHER_ADMIN, Page, TestApp};
use crate::route_table::raw_db;

/// The text of the element marked with `attr` (e.g. `data-access-token`).
fn marked(page: &Page, attr: &str) -> Option<String> {
    let start = page.body.find(&format!("{attr}>"))? + attr.len() + 1;
    let end = page.body[start..].find('<')? + start;
    Some(page.body[start..end].to_owned())
}

#[tokio::test]
async fn an_admin_creates_a_token_sees_its_secret_once_and_it_works_within_its_scopes() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let form = admin.get("/settings/api-tokens").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("No API tokens yet."), "{}", form.body);
    let created = admin
        .post(
            "/settings/api-tokens",
            &[
                ("name", "Visitor board"),
                ("scope", "visits:read"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = marked(&created, "data-access-token").expect("the secret is shown");
    assert!(secret.starts_with("gk_at_"), "{secret}");
    assert!(marked(&created, "data-refresh-token").is_none());
    // Only a hash is kept.
    let db = raw_db(&app);
    let stored: i64 = db
        .query_row(
            "SELECT count(*) FROM api_tokens WHERE token_hash = ?1 OR CAST(token_hash AS TEXT) = ?1",
            [&secret],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 0, "the secret itself is not stored");
    // Listed with name, owner and scopes, but never shown again.
    let list = admin.get("/settings/api-tokens").await;
    assert!(list.body.contains("Visitor board"));
    assert!(list.body.contains("<code>visits:read</code>"));
    assert!(
        !list.body.contains(&secret),
        "the secret is shown once only"
    );
    // It works within its scope and nowhere else.
    let (status, _, _) = admin
        .api(Method::GET, "/api/v1/visits", &secret, None, &[])
        .await;
    assert_eq!(status, 200);
    let (status, _, body) = admin
        .api(Method::GET, "/api/v1/appointments", &secret, None, &[])
        .await;
    assert_eq!(status, 403, "{body}");
    // The creation is in the audit log under the admin.
    let audited: i64 = db
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'api_token.create' AND tenant_id = ?1",
            [app.tenant.get()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_refreshable_token_comes_with_a_refresh_token_and_a_one_hour_access_token() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let created = admin
        .post(
            "/settings/api-tokens",
            &[
                ("name", "Calendar bridge"),
                ("scope", "appointments:read"),
                ("scope", "appointments:write"),
                ("days", "365"),
                ("refresh", "1"),
            ],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let access = marked(&created, "data-access-token").unwrap();
    let refresh = marked(&created, "data-refresh-token").expect("a refresh token");
    assert!(refresh.starts_with("gk_rt_"));
    let (status, _, _) = admin
        .api(Method::GET, "/api/v1/appointments", &access, None, &[])
        .await;
    assert_eq!(status, 200);
    app.clock.advance(Duration::minutes(61));
    let (status, _, _) = admin
        .api(Method::GET, "/api/v1/appointments", &access, None, &[])
        .await;
    assert_eq!(status, 401, "the access token lives one hour");
    let (status, _, pair) = admin
        .api(
            Method::POST,
            "/api/v1/auth/refresh",
            "",
            Some(serde_json::json!({"refresh_token": refresh})),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{pair}");
    let renewed = pair["access_token"].as_str().unwrap();
    let (status, _, _) = admin
        .api(Method::GET, "/api/v1/appointments", renewed, None, &[])
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn mistakes_are_shown_next_to_their_field_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let page = admin
        .post(
            "/settings/api-tokens",
            &[("name", "  "), ("scope", "everything"), ("days", "0")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.is_invalid("name"));
    assert!(page.is_invalid("scope"));
    assert!(page.is_invalid("days"));
    assert!(page.field_error("days").unwrap().contains("from 1 to 3650"));
    let none = admin
        .post(
            "/settings/api-tokens",
            &[("name", "No scope"), ("days", "99999999999999999999")],
        )
        .await;
    assert_eq!(none.status, 422);
    assert_eq!(
        none.field_error("scope").as_deref(),
        Some("Choose at least one scope.")
    );
    assert!(none.is_invalid("days"));
    assert!(
        none.body.contains("value=\"No scope\""),
        "the input is kept"
    );
    assert!(app.store.api_tokens(app.tenant).await.unwrap().is_empty());
}

#[tokio::test]
async fn revoking_ends_the_token_at_once_and_other_tenants_and_roles_cannot() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let created = admin
        .post(
            "/settings/api-tokens",
            &[
                ("name", "Door display"),
                ("scope", "visits:read"),
                ("days", "7"),
            ],
        )
        .await;
    let secret = marked(&created, "data-access-token").unwrap();
    let id = app.store.api_tokens(app.tenant).await.unwrap()[0].id.get();
    let revoke = format!("/settings/api-tokens/{id}/revoke");
    // Another tenant's admin: not found, and the token still works.
    let stranger = app.sign_in(OTHER_ADMIN).await;
    assert_eq!(stranger.post(&revoke, &[]).await.status, 404);
    assert!(
        !stranger
            .get("/settings/api-tokens")
            .await
            .body
            .contains("Door display")
    );
    // Hosts and receptionists: refused.
    for who in [HOST, DESK] {
        let b = app.sign_in(who).await;
        assert_eq!(b.get("/settings/api-tokens").await.status, 403, "{who}");
        assert_eq!(b.post(&revoke, &[]).await.status, 403, "{who}");
        let made = b
            .post(
                "/settings/api-tokens",
                &[("name", "Mine"), ("scope", "visits:read"), ("days", "7")],
            )
            .await;
        assert_eq!(made.status, 403, "{who}");
    }
    let (status, _, _) = admin
        .api(Method::GET, "/api/v1/visits", &secret, None, &[])
        .await;
    assert_eq!(status, 200, "untouched by the refused attempts");
    admin
        .post(&revoke, &[])
        .await
        .assert_redirect("/settings/api-tokens?notice=revoked");
    let (status, _, _) = admin
        .api(Method::GET, "/api/v1/visits", &secret, None, &[])
        .await;
    assert_eq!(status, 401, "revoked at once");
    let list = admin.get("/settings/api-tokens").await;
    assert!(list.body.contains("Revoked"), "{}", list.body);
    assert_eq!(app.store.api_tokens(app.tenant).await.unwrap().len(), 1);
}
