//! Per-address and per-account limits on mail-sending forms: password resets and
//! invitations. Limited or not, the reset form answers the same.

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::notification::Channel;

use crate::helpers::{ADMIN, HOST, TestApp, csrf_of};

async fn request_reset(app: &TestApp, ip: &str) -> crate::helpers::Page {
    let b = app.anonymous_from(Some(ip));
    let form = b.get("/password/forgot").await;
    b.post_raw(
        "/password/forgot",
        &[
            ("csrf", &csrf_of(&form.body)),
            ("organisation", "acme"),
            ("email", HOST),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn reset_mails_to_one_account_are_limited_whatever_the_address() {
    let app = TestApp::spawn().await;
    let first = request_reset(&app, "127.0.10.1").await;
    for n in 2..=6 {
        let page = request_reset(&app, &format!("127.0.10.{n}")).await;
        assert_eq!(page.status, first.status);
        assert_eq!(
            page.body.len(),
            first.body.len(),
            "the same answer when limited"
        );
    }
    let mails = app
        .store
        .claim_due(app.clock.now(), 50, Duration::minutes(5), &[Channel::Email])
        .await
        .unwrap();
    assert_eq!(mails.len(), 3, "three reset mails per account and hour");
}

#[tokio::test]
async fn invitations_from_one_address_are_limited() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    for n in 0..50 {
        let email = format!("new{n}@acme.example");
        admin
            .post(
                "/users",
                &[("email", &email), ("name", "New Person"), ("role", "host")],
            )
            .await
            .assert_redirect("/users?notice=invited");
    }
    let refused = admin
        .post(
            "/users",
            &[
                ("email", "one-more@acme.example"),
                ("name", "One More"),
                ("role", "host"),
            ],
        )
        .await;
    assert_eq!(refused.status, 429);
    app.clock.advance(Duration::hours(1));
    let admin = app.sign_in(ADMIN).await;
    admin
        .post(
            "/users",
            &[
                ("email", "later@acme.example"),
                ("name", "Later"),
                ("role", "host"),
            ],
        )
        .await
        .assert_redirect("/users?notice=invited");
}
