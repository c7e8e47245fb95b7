//! Signing in and out in the browser: the generated admin password works, a wrong one
//! gets the same message as an unknown account and no session, and signing out ends
//! the session on the server, not only in the browser.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};

use super::{SESSION_COOKIE, WebApp};

/// What the server answers `GET /dashboard` with a given session cookie (no redirects followed).
async fn dashboard_with_cookie(base: &str, session: &str) -> (StatusCode, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http
        .get(format!("{base}/dashboard"))
        .header(COOKIE, format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (resp.status(), location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_from_tenant_create_signs_in_and_signing_out_ends_the_session() {
    let app = WebApp::start("acme").await;
    let browser = app.browser("ja").await;

    // The sign-in page follows the browser's language.
    browser.goto("/login").await;
    assert_eq!(
        browser.eval("return document.documentElement.lang;").await,
        "ja"
    );
    assert_eq!(browser.text_of("h1").await, "サインイン");

    let landed = browser
        .sign_in(&app.org, &app.admin_email, &app.admin_password)
        .await;
    assert_eq!(landed, "/dashboard?notice=signed_in");
    // The welcome also says when the previous sign-in was (none yet) and how many failed since.
    let welcome = browser.text_of("[role=status]").await;
    assert!(
        welcome.starts_with("ようこそ。") && welcome.contains("0 回"),
        "{welcome}"
    );
    assert!(
        browser.text_of(".usermenu summary").await.contains("Admin"),
        "the user menu names the admin"
    );
    let session = browser
        .cookie(SESSION_COOKIE)
        .await
        .expect("a session cookie after signing in");
    let (status, _) = dashboard_with_cookie(&browser.base, &session).await;
    assert_eq!(status, StatusCode::OK, "the cookie opens the dashboard");

    let after = browser.sign_out().await;
    assert_eq!(after, "/login?notice=signed_out");
    assert_eq!(
        browser.text_of("[role=status]").await,
        "サインアウトしました。"
    );
    assert_eq!(
        browser.cookie(SESSION_COOKIE).await,
        None,
        "the cookie is removed"
    );

    // The old cookie is dead on the server: kept by someone else, it opens nothing.
    let (status, location) = dashboard_with_cookie(&browser.base, &session).await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(location, "/login");
    browser.set_cookie(SESSION_COOKIE, &session).await;
    browser.goto("/dashboard").await;
    assert_eq!(browser.path().await, "/login");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_generic_error_and_opens_no_session() {
    let app = WebApp::start("acme").await;
    let browser = app.browser("en").await;
    let generic = "The organisation ID, e-mail address or password is not correct.";

    let attempts = [
        (
            app.org.as_str(),
            app.admin_email.as_str(),
            "not the password at all",
        ),
        (
            app.org.as_str(),
            "nobody@acme.example",
            app.admin_password.as_str(),
        ),
        (
            "no-such-org",
            app.admin_email.as_str(),
            app.admin_password.as_str(),
        ),
    ];
    for (org, email, password) in attempts {
        let landed = browser.sign_in(org, email, password).await;
        assert_eq!(landed, "/login", "{org} {email}");
        assert_eq!(
            browser.text_of("[role=alert]").await,
            generic,
            "{org} {email}"
        );
        // What was typed stays, except the password.
        assert_eq!(
            browser
                .find("input[name=email]")
                .await
                .value()
                .await
                .unwrap()
                .as_deref(),
            Some(email)
        );
        assert_eq!(
            browser
                .find("input[name=password]")
                .await
                .value()
                .await
                .unwrap()
                .as_deref(),
            Some("")
        );
        assert_eq!(browser.cookie(SESSION_COOKIE).await, None, "no session");
    }
    browser.goto("/dashboard").await;
    assert_eq!(browser.path().await, "/login", "nothing is signed in");

    // The right password still works afterwards (three failures do not lock the account).
    let landed = browser
        .sign_in(&app.org, &app.admin_email, &app.admin_password)
        .await;
    assert!(landed.starts_with("/dashboard"), "{landed}");
    assert_eq!(
        browser.eval("return document.documentElement.lang;").await,
        "en"
    );
    browser.close().await;
}
