//! Signing in under attack and sessions (AUTH-3, AUTH-4, SES-1, SES-2, SES-3): delays
//! and locks that answer exactly like a wrong password, per-address limits, no
//! enumeration, session ids, cookie flags, timeouts, revocation, and the previous
//! sign-in shown afterwards.

use std::time::Instant;

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::throttle;

use crate::helpers::{ADMIN, DESK, HOST, PASSWORD, Page, TestApp, csrf_of};

/// The page with its one-time form token blanked, to compare answers byte for byte.
pub(crate) fn masked(page: &Page) -> String {
    let marker = "name=\"csrf\" value=\"";
    match page.body.find(marker) {
        Some(i) => {
            let start = i + marker.len();
            let end = page.body[start..].find('"').unwrap() + start;
            format!("{}{}", &page.body[..start], &page.body[end..])
        }
        None => page.body.clone(),
    }
}

#[track_caller]
pub(crate) fn assert_same_answer(a: &Page, b: &Page) {
    assert_eq!(a.status, b.status);
    assert_eq!(a.body.len(), b.body.len());
    assert_eq!(masked(a), masked(b));
}

/// SECURITY.md AUTH-3: a thousand wrong passwords from one address, then a thousand
/// on another account from fifty addresses (127.0.0.100–149, twenty each, under the
/// per-address limit): the address limit engages in the first, the account's own
/// throttle in both; while it holds, the right password gets the same status, body
/// and length as a wrong one. (Lock and unlock time: the next test.)
#[tokio::test]
async fn a_thousand_wrong_passwords_from_one_address_and_from_fifty_are_throttled() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    // The account's own throttle: its attempts are refused unchecked for now.
    let throttled = async |email: &str| {
        let name = genkan_store::security::account_name("acme", email);
        let f = app.store.sign_in_failures(&name, now).await.unwrap();
        f.is_some_and(|f| f.count >= 3 && f.blocked_until(now).is_some())
    };
    // One address: its limit engages, and the account waits after three failures.
    let mut limited = 0;
    for _ in 0..1000 {
        let (_, page) = app
            .password_step(HOST, "wrong-password-1", Some("127.0.0.10"))
            .await;
        assert_ne!(page.status, 303);
        limited += usize::from(page.status == 429);
    }
    assert!(
        limited >= 960,
        "the address limit engaged after 30 ({limited})"
    );
    assert!(throttled(HOST).await, "the account waits");
    // Fifty addresses, twenty tries each: no address limit, the account's own delay
    // and lock refuse them all.
    for i in 0..1000 {
        let ip = format!("127.0.0.{}", 100 + i % 50);
        let (_, page) = app.password_step(DESK, "wrong-password-2", Some(&ip)).await;
        assert_eq!(page.status, 200, "answered like a wrong password");
    }
    assert!(throttled(DESK).await, "the account waits");
    // While the accounts wait the right password gets the wrong password's answer.
    for email in [HOST, DESK] {
        let (_, right) = app.password_step(email, PASSWORD, Some("127.0.2.1")).await;
        let (_, wrong) = app
            .password_step(email, "wrong-password-3", Some("127.0.2.2"))
            .await;
        assert_same_answer(&right, &wrong);
    }
    // Other accounts are not affected.
    assert!(
        app.sign_in_from(ADMIN, PASSWORD, Some("127.0.2.3"))
            .await
            .is_some()
    );
}

/// SECURITY.md AUTH-3: driven to its lock, the account answers the right password
/// exactly like a wrong one, still one second before the lock ends (clock moved),
/// and lets the right password in once it has.
#[tokio::test]
async fn a_locked_account_answers_like_a_wrong_password_until_the_lock_ends() {
    let app = TestApp::spawn().await;
    // Drive the account to its lock, waiting out each delay so every failure counts.
    for n in 1..=throttle::LOCK_AFTER {
        let ip = format!("127.0.3.{n}");
        let (_, page) = app.password_step(HOST, "not-the-password", Some(&ip)).await;
        assert_eq!(page.status, 200);
        if n < throttle::LOCK_AFTER {
            app.clock.advance(throttle::wait_after(n));
        }
    }
    let (_, wrong) = app
        .password_step(HOST, "not-the-password", Some("127.0.4.1"))
        .await;
    let (_, right) = app.password_step(HOST, PASSWORD, Some("127.0.4.2")).await;
    assert_same_answer(&right, &wrong);
    app.clock.advance(throttle::LOCK - Duration::seconds(1));
    assert!(
        app.sign_in_from(HOST, PASSWORD, Some("127.0.4.3"))
            .await
            .is_none(),
        "still locked one second before the end"
    );
    app.clock.advance(Duration::seconds(1));
    assert!(
        app.sign_in_from(HOST, PASSWORD, Some("127.0.4.4"))
            .await
            .is_some()
    );
}

/// SECURITY.md AUTH-3: the account's failures survive a restart (kept in the database).
#[tokio::test]
async fn failures_are_kept_in_the_database_so_a_restart_does_not_unlock_an_account() {
    let app = TestApp::spawn().await;
    for n in 0..3 {
        let ip = format!("127.0.5.{n}");
        app.password_step(HOST, "nope-nope-nope", Some(&ip)).await;
    }
    let now = app.clock.now();
    let name = genkan_store::security::account_name("acme", HOST);
    let failures = app
        .store
        .sign_in_failures(&name, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failures.count, 3);
    assert_eq!(
        failures.blocked_until(now),
        Some(now + Duration::seconds(8))
    );
}

/// SECURITY.md AUTH-4: one password over 500 accounts from one address: the
/// per-address limit engages after 30.
#[tokio::test]
async fn one_password_over_many_accounts_hits_the_address_limit() {
    let app = TestApp::spawn().await;
    let mut limited = 0;
    for i in 0..500 {
        let email = format!("user{i}@acme.example");
        let (_, page) = app.password_step(&email, PASSWORD, Some("127.0.6.1")).await;
        limited += usize::from(page.status == 429);
    }
    assert_eq!(limited, 470, "refused after 30 failures from one address");
}

/// SECURITY.md AUTH-4: sign-in and reset answer a known and an unknown account
/// identically, and sign-in takes the same time (median difference < 5 ms). (Reset
/// timing and invitations: `links`.)
#[tokio::test]
async fn known_and_unknown_accounts_get_identical_answers_in_the_same_time() {
    let _alone = crate::helpers::TIMING.write().await;
    let app = TestApp::spawn().await;
    let (_, known) = app
        .password_step(HOST, "wrong-password", Some("127.0.7.1"))
        .await;
    let (_, unknown) = app
        .password_step("nobody@acme.example", "wrong-password", Some("127.0.7.2"))
        .await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(
        masked(&known).replace(HOST, "X"),
        masked(&unknown).replace("nobody@acme.example", "X")
    );
    // Password reset: the same page whether or not the account exists.
    let mut answers = Vec::new();
    for email in [HOST, "nobody@acme.example"] {
        let b = app.anonymous_from(Some("127.0.7.3"));
        let form = b.get("/password/forgot").await;
        let page = b
            .post_raw(
                "/password/forgot",
                &[
                    ("csrf", &csrf_of(&form.body)),
                    ("organisation", "acme"),
                    ("email", email),
                ],
                None,
            )
            .await;
        answers.push(page);
    }
    assert_same_answer(&answers[0], &answers[1]);
    // Timing: median over alternating attempts, each from its own address.
    let (mut known_ms, mut unknown_ms) = (Vec::new(), Vec::new());
    for i in 0..40u32 {
        for (email, times) in [
            (HOST, &mut known_ms),
            ("nobody@acme.example", &mut unknown_ms),
        ] {
            let b = app.anonymous_from(Some(&format!(
                "127.0.8.{}",
                i * 2 + 1 + u32::from(email == HOST)
            )));
            let form = b.get("/login").await;
            let fields = [
                ("csrf", csrf_of(&form.body)),
                ("organisation", "acme".to_owned()),
                ("email", email.to_owned()),
                ("password", "wrong-password".to_owned()),
            ];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let started = Instant::now();
            let page = b.post_raw("/login", &fields, None).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(page.status, 200);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut known_ms), median(&mut unknown_ms));
    assert!(
        (k - u).abs() < 5.0,
        "median known {k:.2} ms, unknown {u:.2} ms"
    );
}

/// SECURITY.md SES-1: a new 256-bit session id at every sign-in; a planted value is
/// never adopted. (After the second factor: `mfa`; only hashes stored: `sessions`.)
#[tokio::test]
async fn each_sign_in_gets_a_new_session_id_whatever_cookie_came_before() {
    let app = TestApp::spawn().await;
    let (planted, _) = app.password_step(HOST, PASSWORD, None).await;
    let first = planted.session_cookie().unwrap();
    let again = app.sign_in(HOST).await.session_cookie().unwrap();
    assert_ne!(first, again);
    assert_eq!(first.len(), 64, "256 random bits");
    // A value fixed by an attacker is never adopted: it simply is no session.
    let stranger = app.anonymous();
    let page = stranger
        .get_with(
            "/dashboard",
            &[("cookie", "genkan_session=attacker-chosen-value")],
        )
        .await;
    page.assert_redirect("/login");
}

/// SECURITY.md SES-1: over HTTPS the session cookie is `__Host-`, Secure, HttpOnly,
/// SameSite=Lax, Path=/ and has no Domain.
#[tokio::test]
async fn over_https_the_cookie_is_host_bound_secure_http_only_and_same_site() {
    let app = TestApp::spawn_with(
        |c| c.server.public_url = "https://genkan.example".to_owned(),
        "127.0.0.1:0",
    )
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let pre_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("genkan_pre="))
        .unwrap();
    assert!(pre_cookie.contains("; Secure") && pre_cookie.contains("HttpOnly"));
    let pre = pre_cookie["genkan_pre=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let response = http
        .post(format!("{}/login", app.base))
        .header("cookie", format!("genkan_pre={pre}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("csrf", pre.as_str()),
                    ("organisation", "acme"),
                    ("email", HOST),
                    ("password", PASSWORD),
                ])
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-genkan_session="))
        .expect("the session cookie has the __Host- prefix");
    for flag in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }
    assert!(!session.to_ascii_lowercase().contains("domain="));
}

/// SECURITY.md SES-2: a session still works one second before its idle limit and
/// is refused one second after it; kept busy, it works one second before the
/// absolute limit and is refused one second after (clock moved).
#[tokio::test]
async fn sessions_end_one_second_after_the_idle_and_the_absolute_limit() {
    let app = TestApp::spawn().await;
    let idle = Duration::minutes(30);
    let b = app.sign_in(HOST).await;
    app.clock.advance(idle - Duration::seconds(1));
    assert_eq!(
        b.get("/account").await.status,
        200,
        "just before the idle limit"
    );
    app.clock.advance(idle + Duration::seconds(1));
    b.get("/account").await.assert_redirect("/login");
    // Absolute: kept busy, it still ends twelve hours after sign-in.
    let b = app.sign_in(HOST).await;
    let started = app.clock.now();
    while app.clock.now() + Duration::minutes(29) < started + Duration::hours(12) {
        app.clock.advance(Duration::minutes(29));
        assert_eq!(b.get("/account").await.status, 200);
    }
    app.clock
        .set(started + Duration::hours(12) - Duration::seconds(1));
    assert_eq!(
        b.get("/account").await.status,
        200,
        "just before the absolute limit"
    );
    app.clock.advance(Duration::seconds(2));
    b.get("/account").await.assert_redirect("/login");
}

/// `path` asked for with exactly this session cookie, from a fresh client.
async fn with_cookie(app: &TestApp, cookie: &str, path: &str) -> Page {
    app.anonymous()
        .get_with(path, &[("cookie", &format!("genkan_session={cookie}"))])
        .await
}

/// SECURITY.md SES-3: after signing out, disabling the user and an administrator
/// ending their sessions, the old cookie is refused on the next request. (Tokens:
/// `sessions`.)
#[tokio::test]
async fn signing_out_disabling_and_an_administrator_ending_sessions_refuse_the_old_cookie() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    // Sign-out.
    let b = app.sign_in(HOST).await;
    let cookie = b.session_cookie().unwrap();
    assert_eq!(with_cookie(&app, &cookie, "/account").await.status, 200);
    b.post("/logout", &[]).await.assert_redirect("/login");
    with_cookie(&app, &cookie, "/account")
        .await
        .assert_redirect("/login");
    // An administrator ends every session of a user (audited).
    let host_id = app.user_id(HOST).await;
    let one = app.sign_in(HOST).await;
    let two = app.sign_in(HOST).await;
    let page = admin.get(&format!("/users/{host_id}")).await;
    assert!(page.body.contains("data-live-sessions>2<"), "{}", page.body);
    admin
        .post(&format!("/users/{host_id}/sessions/end"), &[])
        .await
        .assert_redirect(&format!("/users/{host_id}?notice=sessions_ended"));
    one.get("/account").await.assert_redirect("/login");
    two.get("/dashboard").await.assert_redirect("/login");
    let rows = app
        .store
        .audit_page(
            app.tenant,
            genkan_store::audit_search::AuditFilter {
                action: Some("session.end_all".into()),
                ..Default::default()
            },
            None,
            5,
        )
        .await
        .unwrap();
    assert_eq!(
        rows[0].target_id.as_deref(),
        Some(host_id.to_string().as_str())
    );
    // Disabling the user.
    let desk = app.sign_in(DESK).await;
    let desk_id = app.user_id(DESK).await;
    admin
        .post(&format!("/users/{desk_id}/disable"), &[])
        .await
        .assert_redirect(&format!("/users/{desk_id}"));
    desk.get("/account").await.assert_redirect("/login");
    // Only the administrator may do it.
    let host = app.sign_in(HOST).await;
    let admin_id = app.user_id(ADMIN).await;
    assert_eq!(
        host.post(&format!("/users/{admin_id}/sessions/end"), &[])
            .await
            .status,
        403
    );
    assert_eq!(admin.get("/account").await.status, 200);
}

#[tokio::test]
async fn after_signing_in_the_user_sees_the_previous_sign_in_and_the_failures_since() {
    let app = TestApp::spawn().await;
    let first = app
        .sign_in_from(HOST, PASSWORD, Some("127.0.9.5"))
        .await
        .unwrap();
    let page = first.get("/dashboard?notice=signed_in").await;
    assert!(
        page.body.contains("This is your first sign-in."),
        "{}",
        page.body
    );
    assert!(page.body.contains("Failed sign-in attempts since then: 0."));
    app.clock.advance(Duration::hours(1));
    for ip in ["127.0.9.7", "127.0.9.8"] {
        app.password_step(HOST, "guess-guess-guess", Some(ip)).await;
    }
    let second = app
        .sign_in_from(HOST, PASSWORD, Some("127.0.9.6"))
        .await
        .unwrap();
    let page = second.get("/dashboard?notice=signed_in").await;
    assert!(
        page.body
            .contains("Previous sign-in: 2026-11-23T10:00:00+09:00 from 127.0.9.5."),
        "{}",
        page.body
    );
    assert!(page.body.contains("Failed sign-in attempts since then: 2."));
}
