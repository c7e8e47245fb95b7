//! The account screen: language, live sessions, changing the password.

use crate::helpers::{ADMIN, HOST, PASSWORD, Page, TestApp};

fn session_handles(page: &Page) -> Vec<String> {
    page.attr_values("data-session")
}

fn current_handle(page: &Page) -> String {
    let marker = "data-current>";
    let before = &page.body[..page
        .body
        .find(marker)
        .expect("one session is marked current")];
    before
        .rsplit("data-session=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_account_page_lists_live_sessions_and_marks_this_one() {
    let app = TestApp::spawn().await;
    let first = app.sign_in(HOST).await;
    let second = app.sign_in(HOST).await;
    let page = first.get("/account").await;
    let handles = session_handles(&page);
    assert_eq!(handles.len(), 2);
    assert_eq!(page.body.matches("data-current>").count(), 1);
    assert!(page.body.contains("Firefox · Linux") && page.body.contains("127.0.0.1"));
    assert!(page.body.contains("2026-11-23 10:00 (+09:00)"));
    let mine = current_handle(&page);
    let theirs = current_handle(&second.get("/account").await);
    assert_ne!(mine, theirs);
    let admin_page = app.sign_in(ADMIN).await.get("/account").await;
    assert_eq!(
        session_handles(&admin_page).len(),
        1,
        "only one's own sessions are listed"
    );
}

#[tokio::test]
async fn ending_another_session_signs_that_browser_out() {
    let app = TestApp::spawn().await;
    let me = app.sign_in(HOST).await;
    let other = app.sign_in(HOST).await;
    let theirs = current_handle(&other.get("/account").await);
    me.post(&format!("/account/sessions/{theirs}/end"), &[])
        .await
        .assert_redirect("/account?notice=sessions_ended");
    other.get("/account").await.assert_redirect("/login");
    assert_eq!(me.get("/account").await.status, 200);
    // Another user's session cannot be named.
    let admin = app.sign_in(ADMIN).await;
    let admins = current_handle(&admin.get("/account").await);
    assert_eq!(
        me.post(&format!("/account/sessions/{admins}/end"), &[])
            .await
            .status,
        404
    );
    assert_eq!(me.post("/account/sessions/zzz/end", &[]).await.status, 404);
    assert_eq!(admin.get("/account").await.status, 200);
}

#[tokio::test]
async fn signing_out_everywhere_else_keeps_this_session() {
    let app = TestApp::spawn().await;
    let me = app.sign_in(HOST).await;
    let b = app.sign_in(HOST).await;
    let c = app.sign_in(HOST).await;
    let admin = app.sign_in(ADMIN).await;
    me.post("/account/sessions/others/end", &[])
        .await
        .assert_redirect("/account?notice=sessions_ended");
    assert_eq!(me.get("/account").await.status, 200);
    b.get("/account").await.assert_redirect("/login");
    c.get("/account").await.assert_redirect("/login");
    assert_eq!(
        admin.get("/account").await.status,
        200,
        "other users are not touched"
    );
    assert_eq!(session_handles(&me.get("/account").await).len(), 1);
}

#[tokio::test]
async fn ending_this_session_signs_out() {
    let app = TestApp::spawn().await;
    let me = app.sign_in(HOST).await;
    let mine = current_handle(&me.get("/account").await);
    me.post(&format!("/account/sessions/{mine}/end"), &[])
        .await
        .assert_redirect("/login?notice=signed_out");
    me.get("/account").await.assert_redirect("/login");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_follows_the_policy() {
    let app = TestApp::spawn().await;
    let me = app.sign_in(HOST).await;
    let other = app.sign_in(HOST).await;
    let new = "Quiet-Harbour-Lamp-77";
    let wrong = me
        .post(
            "/account/password",
            &[("current", "nope"), ("password", new), ("repeat", new)],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert_eq!(
        wrong.field_error("current").as_deref(),
        Some("The current password is not correct.")
    );
    let short = me
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "short"),
                ("repeat", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 422);
    assert_eq!(
        short.field_error("password").as_deref(),
        Some("The password must have at least 12 characters.")
    );
    let named = me
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "hana-host-is-great"),
                ("repeat", "hana-host-is-great"),
            ],
        )
        .await;
    assert!(
        named.is_invalid("password"),
        "a password made of the user's own name is refused"
    );
    let mismatch = me
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", new),
                ("repeat", "Quiet-Harbour-Lamp-78"),
            ],
        )
        .await;
    assert_eq!(
        mismatch.field_error("repeat").as_deref(),
        Some("The two passwords differ.")
    );
    assert!(
        app.sign_in_with(HOST, PASSWORD).await.is_some(),
        "nothing changed yet"
    );
    me.post(
        "/account/password",
        &[("current", PASSWORD), ("password", new), ("repeat", new)],
    )
    .await
    .assert_redirect("/account?notice=password_changed");
    assert_eq!(
        me.get("/account").await.status,
        200,
        "this browser stays signed in"
    );
    other.get("/account").await.assert_redirect("/login");
    assert!(app.sign_in_with(HOST, PASSWORD).await.is_none());
    assert!(app.sign_in_with(HOST, new).await.is_some());
}

#[tokio::test]
async fn the_language_preference_decides_the_page_language() {
    let app = TestApp::spawn().await;
    let me = app.sign_in(HOST).await;
    assert!(
        me.get("/account").await.body.contains("<html lang=\"en\">"),
        "the browser says English"
    );
    me.post("/account/language", &[("language", "ja")])
        .await
        .assert_redirect("/account?notice=saved");
    let page = me.get("/account").await;
    assert!(page.body.contains("<html lang=\"ja\">") && page.body.contains("アカウント"));
    me.post("/account/language", &[("language", "browser")])
        .await
        .assert_redirect("/account");
    assert!(me.get("/account").await.body.contains("<html lang=\"en\">"));
    let bad = me.post("/account/language", &[("language", "xx")]).await;
    assert_eq!(bad.status, 422);
}
