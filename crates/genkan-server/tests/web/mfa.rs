//! Two-step verification (MFA-1, MFA-2): enrolment by QR code, the code step of
//! signing in, single-use codes within exactly one step either side, recovery
//! codes, failures counting toward the lock, tenant policy, reset and disable.

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::notification::Channel;
use genkan_core::totp;
use genkan_store::audit_search::AuditFilter;
use genkan_store::users::LinkSecret;

use crate::helpers::{ADMIN, Browser, DESK, HOST, PASSWORD, Page, TestApp, csrf_of};

/// The secret shown (as text) beside the QR code.
pub(crate) fn secret_of(page: &Page) -> Vec<u8> {
    let marker = "data-totp-secret>";
    let start = page.body.find(marker).expect("no secret on the page") + marker.len();
    let end = page.body[start..].find('<').unwrap() + start;
    totp::base32_decode(&page.body[start..end]).unwrap()
}

/// The code of the step `offset` steps away from now.
pub(crate) fn code(app: &TestApp, secret: &[u8], offset: i64) -> String {
    totp::code_at(secret, totp::step_of(app.clock.now()) + offset)
}

fn recovery_codes(page: &Page) -> Vec<String> {
    let list = &page.body[page.body.find("data-recovery-codes").unwrap()..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect()
}

/// Enrols the signed-in `browser`; returns the secret and the recovery codes.
pub(crate) async fn enrol(app: &TestApp, browser: &Browser) -> (Vec<u8>, Vec<String>) {
    browser
        .post("/account/mfa/start", &[])
        .await
        .assert_redirect("/account/mfa");
    let page = browser.get("/account/mfa").await;
    assert!(page.body.contains("<svg"), "the QR code is inline SVG");
    let secret = secret_of(&page);
    let done = browser
        .post("/account/mfa/confirm", &[("code", &code(app, &secret, 0))])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    (secret, recovery_codes(&done))
}

/// Sends a code on the second-factor page of a browser that passed the password.
pub(crate) async fn second_step(browser: &Browser, code: &str) -> Page {
    let form = browser.get("/login/mfa").await;
    assert_eq!(form.status, 200, "{}", form.body);
    browser
        .post_raw(
            "/login/mfa",
            &[("csrf", &csrf_of(&form.body)), ("code", code)],
            None,
        )
        .await
}

async fn password_only(app: &TestApp, email: &str) -> Browser {
    let (browser, page) = app.password_step(email, PASSWORD, None).await;
    page.assert_redirect("/login/mfa");
    browser
}

#[tokio::test]
async fn enrolment_is_confirmed_by_a_first_code_and_hands_out_ten_recovery_codes() {
    let app = TestApp::spawn().await;
    let host = app.sign_in(HOST).await;
    host.post("/account/mfa/start", &[])
        .await
        .assert_redirect("/account/mfa");
    let page = host.get("/account/mfa").await;
    assert!(page.body.contains("data-mfa-state=\"pending\""));
    let secret = secret_of(&page);
    assert_eq!(secret.len(), 20);
    let wrong = host
        .post("/account/mfa/confirm", &[("code", &code(&app, &secret, 3))])
        .await;
    assert_eq!(wrong.status, 422);
    let (_, codes) = {
        let done = host
            .post("/account/mfa/confirm", &[("code", &code(&app, &secret, 0))])
            .await;
        assert_eq!(done.status, 200);
        (secret.clone(), recovery_codes(&done))
    };
    assert_eq!(codes.len(), 10);
    assert!(
        codes
            .iter()
            .all(|c| totp::normalise_recovery_code(c).is_some())
    );
    let page = host.get("/account/mfa").await;
    assert!(page.body.contains("data-mfa-state=\"enabled\""));
    assert!(page.body.contains("Unused recovery codes: 10"));
    assert!(
        !page.body.contains("data-totp-secret"),
        "the secret is shown only while enrolling"
    );
    let account = host.get("/account").await;
    assert!(account.body.contains("data-mfa-state=\"enabled\""));
}

#[tokio::test]
async fn nothing_is_reachable_between_the_password_and_the_code() {
    let app = TestApp::spawn().await;
    let (secret, _) = enrol(&app, &app.sign_in(ADMIN).await).await;
    app.clock.advance(Duration::seconds(60));
    let pending = password_only(&app, ADMIN).await;
    let before = pending.session_cookie().unwrap();
    for path in [
        "/dashboard",
        "/account",
        "/account/mfa",
        "/users",
        "/settings",
        "/audit",
        "/appointments",
        "/visits",
        "/exports",
        "/dashboard/live",
    ] {
        pending.get(path).await.assert_redirect("/login/mfa");
    }
    let csrf = csrf_of(&pending.get("/login/mfa").await.body);
    for path in [
        "/account/language",
        "/users",
        "/settings/security",
        "/account/mfa/disable",
    ] {
        pending
            .post_raw(path, &[("csrf", &csrf), ("language", "en")], None)
            .await
            .assert_redirect("/login/mfa");
    }
    let done = second_step(&pending, &code(&app, &secret, 0)).await;
    done.assert_redirect("/dashboard?notice=signed_in");
    let after = pending.session_cookie().unwrap();
    assert_ne!(
        before, after,
        "a new session id once the second factor is done"
    );
    assert_eq!(pending.get("/dashboard").await.status, 200);
    assert_eq!(pending.get("/users").await.status, 200);
}

#[tokio::test]
async fn codes_work_once_and_only_one_step_either_side_of_now() {
    let app = TestApp::spawn().await;
    let (secret, _) = enrol(&app, &app.sign_in(HOST).await).await;
    app.clock.advance(Duration::seconds(90));
    let refused = "The code was not accepted.";
    let b = password_only(&app, HOST).await;
    assert!(
        second_step(&b, &code(&app, &secret, -2))
            .await
            .body
            .contains(refused)
    );
    assert!(
        second_step(&b, &code(&app, &secret, 2))
            .await
            .body
            .contains(refused)
    );
    second_step(&b, &code(&app, &secret, -1))
        .await
        .assert_redirect("/dashboard");
    let b = password_only(&app, HOST).await;
    let replay = second_step(&b, &code(&app, &secret, -1)).await;
    assert!(replay.body.contains(refused), "a used code is refused");
    second_step(&b, &code(&app, &secret, 0))
        .await
        .assert_redirect("/dashboard");
    let b = password_only(&app, HOST).await;
    assert!(
        second_step(&b, &code(&app, &secret, 0))
            .await
            .body
            .contains(refused)
    );
    second_step(&b, &code(&app, &secret, 1))
        .await
        .assert_redirect("/dashboard");
    let denied = app
        .store
        .audit_page(
            app.tenant,
            AuditFilter {
                action: Some("auth.mfa".into()),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(denied.iter().filter(|r| r.outcome == "denied").count(), 4);
    assert_eq!(denied.iter().filter(|r| r.outcome == "ok").count(), 3);
}

#[tokio::test]
async fn failed_codes_count_toward_the_account_lock() {
    let app = TestApp::spawn().await;
    let (secret, _) = enrol(&app, &app.sign_in(HOST).await).await;
    app.clock.advance(Duration::seconds(60));
    let b = password_only(&app, HOST).await;
    let wrong = second_step(&b, &code(&app, &secret, 5)).await;
    for _ in 0..2 {
        second_step(&b, &code(&app, &secret, 5)).await;
    }
    // Three failures: the account waits 8 s; the right code is answered like a wrong one.
    let right_while_waiting = second_step(&b, &code(&app, &secret, 0)).await;
    assert_eq!(right_while_waiting.status, wrong.status);
    assert!(
        right_while_waiting
            .body
            .contains("The code was not accepted.")
    );
    // The password step waits too: the same account, the right password.
    let (_, page) = app.password_step(HOST, PASSWORD, None).await;
    assert_eq!(page.status, 200, "refused like a wrong password");
    app.clock.advance(Duration::seconds(8));
    second_step(&b, &code(&app, &secret, 0))
        .await
        .assert_redirect("/dashboard");
}

#[tokio::test]
async fn each_recovery_code_signs_in_once() {
    let app = TestApp::spawn().await;
    let (_, codes) = enrol(&app, &app.sign_in(DESK).await).await;
    let b = password_only(&app, DESK).await;
    second_step(&b, &codes[3].to_uppercase())
        .await
        .assert_redirect("/dashboard");
    let b = password_only(&app, DESK).await;
    let again = second_step(&b, &codes[3]).await;
    assert!(again.body.contains("The code was not accepted."));
    second_step(&b, &codes[4])
        .await
        .assert_redirect("/dashboard");
    let page = b.get("/account/mfa").await;
    assert!(
        page.body.contains("Unused recovery codes: 8"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn turning_it_off_needs_a_current_code() {
    let app = TestApp::spawn().await;
    let host = app.sign_in(HOST).await;
    let (secret, _) = enrol(&app, &host).await;
    app.clock.advance(Duration::seconds(30));
    let wrong = host
        .post("/account/mfa/disable", &[("code", "123456")])
        .await;
    assert_eq!(wrong.status, 422);
    host.post("/account/mfa/disable", &[("code", &code(&app, &secret, 0))])
        .await
        .assert_redirect("/account/mfa");
    assert!(
        host.get("/account/mfa")
            .await
            .body
            .contains("data-mfa-state=\"off\"")
    );
    assert!(
        app.sign_in_with(HOST, PASSWORD).await.is_some(),
        "no code asked any more"
    );
}

#[tokio::test]
async fn a_tenant_policy_sends_users_without_a_second_factor_to_enrolment_first() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let desk_before = app.sign_in(DESK).await;
    admin
        .post(
            "/settings/security",
            &[
                ("mfa_policy", "everyone"),
                ("allowlist", ""),
                ("allowlist_scope", "admins"),
            ],
        )
        .await
        .assert_redirect("/settings/security");
    // Open sessions without a second factor are sent to enrolment on their next request.
    admin.get("/dashboard").await.assert_redirect("/login/mfa");
    admin
        .get("/login/mfa")
        .await
        .assert_redirect("/login/mfa/setup");
    desk_before
        .get("/visits")
        .await
        .assert_redirect("/login/mfa");
    // A fresh sign-in goes the same way, and nothing else is reachable until it is done.
    let mut host = password_only(&app, HOST).await;
    host.get("/login/mfa")
        .await
        .assert_redirect("/login/mfa/setup");
    host.get("/appointments")
        .await
        .assert_redirect("/login/mfa");
    let setup = host.get("/login/mfa/setup").await;
    let csrf = csrf_of(&setup.body);
    host.post_raw("/login/mfa/setup/start", &[("csrf", &csrf)], None)
        .await
        .assert_redirect("/login/mfa/setup");
    let setup = host.get("/login/mfa/setup").await;
    assert!(setup.body.contains("<svg"));
    let secret = secret_of(&setup);
    let before = host.session_cookie().unwrap();
    let done = host
        .post_raw(
            "/login/mfa/setup/confirm",
            &[("csrf", &csrf), ("code", &code(&app, &secret, 0))],
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(recovery_codes(&done).len(), 10);
    assert_ne!(host.session_cookie().unwrap(), before, "a new session id");
    assert_eq!(host.get("/dashboard").await.status, 200);
    // It cannot be turned off while required.
    let page = host.get("/account/mfa").await;
    assert!(page.body.contains("cannot be turned off"));
    app.clock.advance(Duration::seconds(30));
    host.csrf = csrf_of(&page.body);
    let off = host
        .post("/account/mfa/disable", &[("code", &code(&app, &secret, 0))])
        .await;
    assert_eq!(off.status, 422);
}

#[tokio::test]
async fn a_password_reset_neither_signs_in_nor_skips_the_second_factor() {
    let app = TestApp::spawn().await;
    enrol(&app, &app.sign_in(HOST).await).await;
    let browser = app.anonymous();
    let form = browser.get("/password/forgot").await;
    browser
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
    let mails = app
        .store
        .claim_due(app.clock.now(), 10, Duration::minutes(5), &[Channel::Email])
        .await
        .unwrap();
    let link: LinkSecret = serde_json::from_slice(
        mails
            .iter()
            .find_map(|m| m.secret_payload.as_deref())
            .expect("a reset mail"),
    )
    .unwrap();
    browser
        .get(&format!("/password/reset/{}", link.secret))
        .await
        .assert_redirect("/password/reset");
    let page = browser.get("/password/reset").await;
    let new_password = "Quiet-Harbour-Lamp-77?";
    browser
        .post_raw(
            "/password/reset",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("password", new_password),
                ("repeat", new_password),
            ],
            None,
        )
        .await
        .assert_redirect("/login?notice=password_set");
    assert_eq!(browser.session_cookie(), None, "a reset does not sign in");
    browser.get("/dashboard").await.assert_redirect("/login");
    let (_, page) = app.password_step(HOST, new_password, None).await;
    page.assert_redirect("/login/mfa");
}

#[tokio::test]
async fn an_administrator_resets_a_lost_second_factor_and_it_is_audited() {
    let app = TestApp::spawn().await;
    enrol(&app, &app.sign_in(HOST).await).await;
    let host_id = app.user_id(HOST).await;
    let admin = app.sign_in(ADMIN).await;
    let page = admin.get(&format!("/users/{host_id}")).await;
    assert!(page.body.contains("data-user-mfa=\"on\""));
    admin
        .post(&format!("/users/{host_id}/mfa/reset"), &[])
        .await
        .assert_redirect(&format!("/users/{host_id}"));
    assert!(app.sign_in_with(HOST, PASSWORD).await.is_some());
    let rows = app
        .store
        .audit_page(
            app.tenant,
            AuditFilter {
                action: Some("mfa.reset".into()),
                ..AuditFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].target_id.as_deref(),
        Some(host_id.to_string().as_str())
    );
    assert_eq!(rows[0].actor_id, Some(app.user_id(ADMIN).await.get()));
}
