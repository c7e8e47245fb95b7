//! API-2 and API-3: expired, refresh, kiosk and wrong-purpose credentials refused with 401; refresh rotation, reuse and revocation ending the whole family on the next call.

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_core::notification::Channel;
use genkan_store::users::LinkSecret;
use serde_json::{Value, json};

use crate::admin_routes::api_body;
use crate::api_tokens::{Need, assert_refused, call, issue, table};
use crate::helpers::{ADMIN, HOST, TestApp, csrf_of};
use crate::route_table::{Answer, Route, World, changed, raw_db, snapshot};

/// The mailed link secret of the newest queued link mail to `email`.
async fn mailed_link(app: &TestApp, email: &str) -> String {
    app.store
        .claim_due(
            app.clock.now(),
            500,
            Duration::minutes(5),
            &[Channel::Email],
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.recipient == email)
        .filter_map(|m| serde_json::from_slice::<LinkSecret>(&m.secret_payload?).ok())
        .next_back()
        .unwrap_or_else(|| panic!("no link mailed to {email}"))
        .secret
}

/// Opens `secret` at `form` (`/invite` or `/password/reset`) and sets `password`:
/// the answer to the post.
async fn set_password(
    app: &TestApp,
    form: &str,
    secret: &str,
    password: &str,
) -> crate::helpers::Page {
    let b = app.anonymous();
    b.get(&format!("{form}/{secret}"))
        .await
        .assert_redirect(form);
    let page = b.get(form).await;
    let csrf = csrf_of(&b.get("/login").await.body);
    let answer = b
        .post_raw(
            form,
            &[
                ("csrf", &csrf),
                ("password", password),
                ("repeat", password),
            ],
            None,
        )
        .await;
    assert_eq!(
        page.body.contains("name=\"password\""),
        answer.status == 303,
        "the form is offered exactly when the link is good"
    );
    answer
}

/// SECURITY.md API-2: an expired access token (to the second, clock moved), a
/// refresh token used as an access token, an access token or kiosk credential used
/// as a refresh token, an expired refresh token, and a kiosk credential on every
/// `/api/v1` endpoint all answer 401 `unauthorized`; an invitation link used as a
/// password reset (and a reset link as an invitation) answers 401 and sets no
/// password, while the same link does its own job.
#[tokio::test]
async fn expired_refresh_kiosk_and_wrong_purpose_credentials_get_401() {
    let app = TestApp::spawn().await;
    let world = World::seed(&app).await;
    let now = app.clock.now();
    let expiring = issue(
        &app,
        ADMIN,
        vec![Scope::Admin],
        Some(now + Duration::hours(1)),
        None,
    )
    .await;
    let pair = issue(
        &app,
        ADMIN,
        vec![Scope::Admin],
        None,
        Some(Duration::days(30)),
    )
    .await;
    let refresh = pair.refresh_token.clone().unwrap();
    // Invitation as reset, reset as invitation.
    world
        .admin
        .post(
            "/users",
            &[
                ("email", "api2@acme.example"),
                ("name", "Api Two"),
                ("role", "host"),
            ],
        )
        .await
        .assert_redirect("/users?notice=invited");
    let invitation = mailed_link(&app, "api2@acme.example").await;
    let chosen = "Invite-Not-Reset-Lamp-31";
    let a = set_password(&app, "/password/reset", &invitation, chosen).await;
    assert_eq!(a.status, 401, "invitation used as a reset: {}", a.body);
    let forgot = app.anonymous();
    let form = forgot.get("/password/forgot").await;
    let sent = forgot
        .post_raw(
            "/password/forgot",
            &[
                ("csrf", &csrf_of(&form.body)),
                ("organisation", "acme"),
                ("email", HOST),
            ],
            None,
        )
        .await;
    assert_eq!(sent.status, 200);
    let reset = mailed_link(&app, HOST).await;
    let a = set_password(&app, "/invite", &reset, chosen).await;
    assert_eq!(
        a.status, 401,
        "reset link used as an invitation: {}",
        a.body
    );
    assert!(app.sign_in_with(HOST, chosen).await.is_none());
    // Each link still does its own job.
    set_password(&app, "/invite", &invitation, chosen)
        .await
        .assert_redirect("/login?notice=password_set");
    set_password(&app, "/password/reset", &reset, chosen)
        .await
        .assert_redirect("/login?notice=password_set");
    assert!(app.sign_in_with(HOST, chosen).await.is_some());

    let bearer_routes: Vec<(Route, Need)> = table()
        .into_iter()
        .filter(|(_, n)| *n != Need::BodyCredential)
        .collect();

    // Refresh token as access token, kiosk credential on every admin API endpoint.
    let before = snapshot(&app);
    for (r, _) in &bearer_routes {
        let path = world.fill(r);
        let body = api_body(&r.path, &world);
        for (what, secret) in [
            ("refresh token", &refresh),
            ("kiosk credential", &world.kiosk),
        ] {
            let a = call(&app, &r.method, &path, Some(secret), body.as_ref()).await;
            assert_refused(&a, 401, &format!("{} {path} with a {what}", r.method));
        }
    }
    assert_eq!(changed(&before, &snapshot(&app)), Vec::<String>::new());

    // Access token and kiosk credential as refresh tokens.
    for secret in [&pair.access_token, &world.kiosk, &world.token] {
        let a = call(
            &app,
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(&json!({"refresh_token": secret})),
        )
        .await;
        assert_refused(&a, 401, "a non-refresh credential at /auth/refresh");
    }
    assert_eq!(changed(&before, &snapshot(&app)), Vec::<String>::new());
    assert_eq!(
        call(&app, "GET", "/api/v1/me", Some(&pair.access_token), None)
            .await
            .status,
        200
    );

    // Expiry, to the second.
    app.clock.advance(Duration::hours(1) - Duration::seconds(1));
    assert_eq!(
        call(
            &app,
            "GET",
            "/api/v1/me",
            Some(&expiring.access_token),
            None
        )
        .await
        .status,
        200
    );
    app.clock.advance(Duration::seconds(1));
    for (r, _) in &bearer_routes {
        let path = world.fill(r);
        let a = call(
            &app,
            &r.method,
            &path,
            Some(&expiring.access_token),
            api_body(&r.path, &world).as_ref(),
        )
        .await;
        assert_refused(
            &a,
            401,
            &format!("{} {path} with an expired token", r.method),
        );
    }
    // An expired refresh token.
    app.clock.advance(Duration::days(30));
    let a = call(
        &app,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(&json!({"refresh_token": refresh})),
    )
    .await;
    assert_refused(&a, 401, "an expired refresh token");
}

/// Whether every token of `family` is revoked in the database.
fn family_revoked(app: &TestApp, family: i64) -> (i64, i64) {
    raw_db(app)
        .query_row(
            "SELECT count(*), count(revoked_at) FROM api_tokens WHERE family = ?1",
            [family],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

async fn refresh(app: &TestApp, secret: &str) -> Answer {
    call(
        app,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(&json!({"refresh_token": secret})),
    )
    .await
}

async fn me(app: &TestApp, access: &str) -> u16 {
    call(app, "GET", "/api/v1/me", Some(access), None)
        .await
        .status
}

/// SECURITY.md API-3: a refresh rotates both tokens (the old access token is refused
/// on the next call); the old refresh token coming back is refused and revokes the
/// whole family, so the newest access and refresh tokens are refused on the next
/// call too, and the reuse is audited. Revoking a token through the API (by the id
/// of any of its generations) revokes its family: access and refresh refused on the
/// next call. Other families keep working.
#[tokio::test]
async fn rotation_reuse_and_revocation_end_the_whole_family() {
    let app = TestApp::spawn().await;
    let admin = issue(&app, ADMIN, vec![Scope::Admin], None, None).await;
    let first = issue(
        &app,
        ADMIN,
        vec![Scope::AppointmentsRead],
        Some(app.clock.now() + Duration::hours(1)),
        Some(Duration::days(30)),
    )
    .await;
    let bystander = issue(
        &app,
        ADMIN,
        vec![Scope::AppointmentsRead],
        None,
        Some(Duration::days(30)),
    )
    .await;
    let r0 = first.refresh_token.clone().unwrap();
    assert_eq!(me(&app, &first.access_token).await, 200);

    // Rotation.
    let a = refresh(&app, &r0).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let second: Value = serde_json::from_str(&a.body).unwrap();
    let (a1, r1) = (
        second["access_token"].as_str().unwrap().to_owned(),
        second["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert_ne!(r1, r0);
    assert_eq!(
        me(&app, &first.access_token).await,
        401,
        "old access token after rotation"
    );
    assert_eq!(me(&app, &a1).await, 200);
    let a = refresh(&app, &r1).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let third: Value = serde_json::from_str(&a.body).unwrap();
    let (a2, r2) = (
        third["access_token"].as_str().unwrap().to_owned(),
        third["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(me(&app, &a1).await, 401);
    assert_eq!(me(&app, &a2).await, 200);

    // The first refresh token comes back: refused, and the family ends.
    let family = first.token_id.get();
    let (rows, revoked) = family_revoked(&app, family);
    assert!(rows >= 6 && revoked < rows, "{rows} {revoked}");
    assert_refused(
        &refresh(&app, &r0).await,
        401,
        "old refresh token after rotation",
    );
    assert_eq!(
        family_revoked(&app, family),
        (rows, rows),
        "the whole family revoked"
    );
    assert_eq!(
        me(&app, &a2).await,
        401,
        "newest access token after the reuse"
    );
    assert_refused(
        &refresh(&app, &r2).await,
        401,
        "newest refresh token after the reuse",
    );
    let reused: i64 = raw_db(&app)
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'api_token.refresh' AND outcome = 'denied' AND details LIKE '%reused%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reused, 1);

    // Revocation of a rotated family by its first id.
    let r = bystander.refresh_token.clone().unwrap();
    let a = refresh(&app, &r).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let next: Value = serde_json::from_str(&a.body).unwrap();
    let (b1, rb1) = (
        next["access_token"].as_str().unwrap().to_owned(),
        next["refresh_token"].as_str().unwrap().to_owned(),
    );
    let other = issue(
        &app,
        ADMIN,
        vec![Scope::AppointmentsRead],
        None,
        Some(Duration::days(30)),
    )
    .await;
    let a = call(
        &app,
        "POST",
        &format!("/api/v1/tokens/{}/revoke", bystander.token_id),
        Some(&admin.access_token),
        None,
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(me(&app, &b1).await, 401, "access token after revocation");
    assert_refused(
        &refresh(&app, &rb1).await,
        401,
        "refresh token after revocation",
    );
    let (rows, revoked) = family_revoked(&app, bystander.token_id.get());
    assert_eq!(rows, revoked);
    // Other families are untouched.
    assert_eq!(me(&app, &other.access_token).await, 200);
    assert_eq!(
        refresh(&app, other.refresh_token.as_deref().unwrap())
            .await
            .status,
        200
    );
    assert_eq!(me(&app, &admin.access_token).await, 200);
}
