//! TOK-1: a password reset or change ends the user's API tokens (access and
//! refresh, of every family) and their other sessions; disabling revokes the tokens
//! and re-enabling revives none. The API's directory gives ids and names only to
//! those who may not administer.

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_store::tokens::IssuedToken;
use serde_json::{Value, json};

use crate::api_tokens::{call, issue};
use crate::helpers::{ADMIN, Browser, DESK, HOST, PASSWORD, TestApp};
use crate::links::{reset_link, use_link};
use crate::route_table::raw_db;

/// A plain access token and an access + refresh pair of `email`.
async fn tokens(app: &TestApp, email: &str) -> (IssuedToken, IssuedToken) {
    let plain = issue(app, email, vec![Scope::AppointmentsRead], None, None).await;
    let pair = issue(
        app,
        email,
        vec![Scope::AppointmentsRead],
        Some(app.clock.now() + Duration::hours(1)),
        Some(Duration::days(30)),
    )
    .await;
    (plain, pair)
}

async fn me(app: &TestApp, token: &str) -> u16 {
    call(app, "GET", "/api/v1/me", Some(token), None)
        .await
        .status
}

async fn refresh(app: &TestApp, secret: &str) -> u16 {
    call(
        app,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(&json!({"refresh_token": secret})),
    )
    .await
    .status
}

/// Whether the access tokens and the refresh token still open the API.
async fn alive(app: &TestApp, (plain, pair): &(IssuedToken, IssuedToken)) -> [bool; 3] {
    let refresh_secret = pair.refresh_token.as_deref().unwrap();
    [
        me(app, &plain.access_token).await == 200,
        me(app, &pair.access_token).await == 200,
        refresh(app, refresh_secret).await == 200,
    ]
}

/// Tokens of `email` not revoked in the database.
fn unrevoked(app: &TestApp, email: &str) -> i64 {
    raw_db(app)
        .query_row(
            "SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE u.email = ?1 AND t.revoked_at IS NULL",
            [email],
            |r| r.get(0),
        )
        .unwrap()
}

async fn signed_in(b: &Browser) -> bool {
    b.get("/account").await.status == 200
}

/// SECURITY.md TOK-1 (reset): a password set through a reset link ends every
/// session and every API token of the user (access, refresh, both families); the
/// new password signs in, and tokens of other users live on.
#[tokio::test]
async fn a_password_reset_ends_every_api_token_and_session_of_the_user() {
    let app = TestApp::spawn().await;
    let elsewhere = app.sign_in(HOST).await;
    let host = tokens(&app, HOST).await;
    let admin = tokens(&app, ADMIN).await;
    assert_eq!(alive(&app, &host).await, [true; 3]);
    // The refresh above rotated the pair; take fresh ones for the checks.
    let host = tokens(&app, HOST).await;

    let secret = reset_link(&app, "acme", HOST).await;
    let chosen = "Reset-Ends-Tokens-Harbour-77";
    assert!(use_link(&app, "/password/reset", &secret, chosen).await);

    assert_eq!(alive(&app, &host).await, [false; 3], "every token ended");
    assert_eq!(unrevoked(&app, HOST), 0);
    assert!(!signed_in(&elsewhere).await, "the old session ended");
    assert!(app.sign_in_with(HOST, chosen).await.is_some());
    let new = issue(&app, HOST, vec![Scope::AppointmentsRead], None, None).await;
    assert_eq!(me(&app, &new.access_token).await, 200, "new tokens work");
    let admin_fresh = tokens(&app, ADMIN).await;
    assert_eq!(
        me(&app, &admin.0.access_token).await,
        200,
        "another user's tokens live on"
    );
    assert_eq!(alive(&app, &admin_fresh).await, [true; 3]);
}

/// SECURITY.md TOK-1 (change): a password changed on the account page ends every
/// API token of the user and every other session; the browser that made the change
/// stays signed in (as it did before tokens were ended too).
#[tokio::test]
async fn a_password_change_ends_the_users_tokens_and_other_sessions_but_not_this_one() {
    let app = TestApp::spawn().await;
    let here = app.sign_in(HOST).await;
    let elsewhere = app.sign_in(HOST).await;
    let host = tokens(&app, HOST).await;
    let desk = tokens(&app, DESK).await;
    let new = "Changed-Ends-Tokens-Meadow-58";
    here.post(
        "/account/password",
        &[("current", PASSWORD), ("password", new), ("repeat", new)],
    )
    .await
    .assert_redirect("/account?notice=password_changed");

    assert_eq!(alive(&app, &host).await, [false; 3], "every token ended");
    assert_eq!(unrevoked(&app, HOST), 0);
    assert!(
        signed_in(&here).await,
        "the changing browser stays signed in"
    );
    assert!(!signed_in(&elsewhere).await, "the other session ended");
    assert_eq!(alive(&app, &desk).await, [true; 3], "other users untouched");
}

/// SECURITY.md TOK-1 (re-enable): disabling revokes every API token of the user;
/// re-enabling brings back the account but none of its tokens; a new token works.
#[tokio::test]
async fn re_enabling_a_user_revives_none_of_their_tokens() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let host = tokens(&app, HOST).await;
    let host_id = app.user_id(HOST).await;
    admin
        .post(&format!("/users/{host_id}/disable"), &[])
        .await
        .assert_redirect(&format!("/users/{host_id}"));
    assert_eq!(unrevoked(&app, HOST), 0, "disabling revokes the tokens");
    admin
        .post(&format!("/users/{host_id}/enable"), &[])
        .await
        .assert_redirect(&format!("/users/{host_id}"));
    assert!(app.sign_in_with(HOST, PASSWORD).await.is_some(), "enabled");
    assert_eq!(alive(&app, &host).await, [false; 3], "no token came back");
    assert_eq!(unrevoked(&app, HOST), 0);
    let new = issue(&app, HOST, vec![Scope::AppointmentsRead], None, None).await;
    assert_eq!(me(&app, &new.access_token).await, 200);
}

/// SECURITY.md TOK-1 (directory): `GET /api/v1/users` answers every user's id and
/// name, and nothing else, to `directory:read` tokens of an administrator, a
/// receptionist and a host; e-mail, role and status only with the `admin` scope.
#[tokio::test]
async fn directory_reads_give_ids_and_names_to_non_admins_and_details_with_the_admin_scope() {
    let app = TestApp::spawn().await;
    let users = app.store.users(app.tenant).await.unwrap();
    let names_only: Vec<Value> = users
        .iter()
        .map(|u| json!({"id": u.id, "display_name": u.display_name}))
        .collect();
    for email in [ADMIN, DESK, HOST] {
        let reader = issue(&app, email, vec![Scope::DirectoryRead], None, None).await;
        let a = call(
            &app,
            "GET",
            "/api/v1/users",
            Some(&reader.access_token),
            None,
        )
        .await;
        assert_eq!(a.status, 200, "{email}");
        let body: Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(body, Value::from(names_only.clone()), "{email}");
        for u in &users {
            assert!(!a.body.contains(&u.email), "{email}: no address");
        }
        assert!(!a.body.contains("\"role\"") && !a.body.contains("\"status\""));
    }
    let full = issue(&app, ADMIN, vec![Scope::Admin], None, None).await;
    let a = call(&app, "GET", "/api/v1/users", Some(&full.access_token), None).await;
    let body: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(body.as_array().unwrap().len(), users.len());
    for (got, u) in body.as_array().unwrap().iter().zip(&users) {
        assert_eq!(got["email"], u.email.as_str());
        assert_eq!(got["role"], u.role.as_str());
        assert_eq!(got["status"], u.status.as_str());
    }
    // A host's token with the admin scope is still a host's: names only.
    let host_admin = issue(&app, HOST, vec![Scope::Admin], None, None).await;
    let a = call(
        &app,
        "GET",
        "/api/v1/users",
        Some(&host_admin.access_token),
        None,
    )
    .await;
    let body: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(body, Value::from(names_only));
}
