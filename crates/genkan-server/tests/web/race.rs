//! Limits under simultaneous attempts (RACE-1, sign-in half): hundreds of attempts
//! sent at once get no more password or code checks than the limits allow, because
//! each attempt is counted in the same step that decides whether it may be checked.

use chrono::{DateTime, Utc};
use genkan_core::Clock as _;
use genkan_core::throttle::{self, Failures};
use genkan_server::passwords::Checks;

use crate::helpers::{Browser, HOST, PASSWORD, Page, TestApp, csrf_of};
use crate::route_table::raw_db;
use crate::signin::assert_same_answer;

/// Attempts in each burst.
const BURST: usize = 300;

/// How many attempts an account's throttle lets be checked at one instant (the
/// clock stands still during a burst), from the rule itself.
fn checked_at_once(now: DateTime<Utc>) -> u64 {
    let mut failures: Option<Failures> = None;
    let mut n = 0;
    while failures.is_none_or(|f| f.blocked_until(now).is_none()) {
        failures = Some(Failures::after_failure(failures, now));
        n += 1;
    }
    n
}

/// The passwords checked since `before`.
fn since(app: &TestApp, before: Checks) -> Checks {
    let now = app.passwords.checks();
    Checks {
        stored: now.stored - before.stored,
        dummy: now.dummy - before.dummy,
    }
}

/// A browser at `ip` holding the sign-in form's one-time token.
async fn at_the_form(app: &TestApp, ip: &str) -> (Browser, String) {
    let b = app.anonymous_from(Some(ip));
    let form = b.get("/login").await;
    let pre = csrf_of(&form.body);
    (b, pre)
}

async fn post_password(b: &Browser, pre: &str, email: &str, password: &str) -> Page {
    b.post_raw(
        "/login",
        &[
            ("csrf", pre),
            ("organisation", "acme"),
            ("email", email),
            ("password", password),
        ],
        None,
    )
    .await
}

/// Whether the account of `email` is waiting (its attempts are not checked).
async fn waiting(app: &TestApp, email: &str) -> bool {
    let now = app.clock.now();
    let name = genkan_store::security::account_name("acme", email);
    app.store
        .sign_in_failures(&name, now)
        .await
        .unwrap()
        .is_some_and(|f| f.blocked_until(now).is_some())
}

/// SECURITY.md RACE-1: 300 wrong passwords sent at once on one account, each from
/// its own address, get no more password checks than the account's throttle allows
/// at that instant (three); the right password sent inside the burst once the
/// account waits is refused with the wrong password's answer; every attempt still
/// costs one hash (the dummy one when not checked), so timing tells nothing.
#[tokio::test]
async fn simultaneous_sign_ins_on_one_account_check_no_more_passwords_than_its_throttle_allows() {
    let _burst = crate::helpers::TIMING.read().await;
    let app = TestApp::spawn().await;
    let allowed = checked_at_once(app.clock.now());
    assert_eq!(allowed, u64::from(throttle::FREE_FAILURES) + 1);
    let mut wrong = Vec::new();
    for i in 0..BURST {
        wrong.push(at_the_form(&app, &format!("127.1.{}.{}", i / 200, i % 200 + 1)).await);
    }
    let mut right = Vec::new();
    for i in 0..3 {
        right.push(at_the_form(&app, &format!("127.2.0.{}", i + 1)).await);
    }
    let before = app.passwords.checks();
    let wrong_answers = async {
        futures_util::future::join_all(wrong.iter().enumerate().map(|(i, (b, pre))| async move {
            post_password(b, pre, HOST, &format!("wrong-guess-{i}")).await
        }))
        .await
    };
    // The right password joins the burst as soon as the account waits.
    let right_answers = async {
        let mut polls = 0;
        while !waiting(&app, HOST).await {
            polls += 1;
            assert!(polls < 100_000, "the account never started to wait");
            tokio::task::yield_now().await;
        }
        futures_util::future::join_all(
            right
                .iter()
                .map(|(b, pre)| post_password(b, pre, HOST, PASSWORD)),
        )
        .await
    };
    let (wrong_answers, right_answers) = tokio::join!(wrong_answers, right_answers);
    let checks = since(&app, before);
    assert!(
        checks.stored <= allowed,
        "{} guesses checked against the account's hash, the throttle allows {allowed}",
        checks.stored
    );
    assert_eq!(
        checks.stored + checks.dummy,
        (BURST + right.len()) as u64,
        "one hash per attempt, checked or not"
    );
    for page in right_answers.iter().chain(&wrong_answers) {
        assert_same_answer(page, &wrong_answers[0]);
    }
    assert_eq!(wrong_answers[0].status, 200);
    let now = app.clock.now();
    let name = genkan_store::security::account_name("acme", HOST);
    let failures = app
        .store
        .sign_in_failures(&name, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u64::from(failures.count), checks.stored);
    // The wait is the one the throttle sets, and then the right password works.
    app.clock.advance(throttle::wait_after(failures.count));
    assert!(
        app.sign_in_from(HOST, PASSWORD, Some("127.2.0.9"))
            .await
            .is_some()
    );
}

/// SECURITY.md RACE-1, per address (AUTH-4's limit under a burst): 300 attempts sent
/// at once from one address, each on another account, get exactly the address's
/// thirty checks; the rest are refused with 429 before any hashing.
#[tokio::test]
async fn simultaneous_sign_ins_from_one_address_get_no_more_checks_than_its_limit() {
    let _burst = crate::helpers::TIMING.read().await;
    let app = TestApp::spawn().await;
    let (b, pre) = at_the_form(&app, "127.3.0.1").await;
    let before = app.passwords.checks();
    let answers = futures_util::future::join_all((0..BURST).map(|i| {
        let (b, pre) = (&b, &pre);
        async move {
            let email = format!("guess{i}@acme.example");
            post_password(b, pre, &email, "Summer-2026-guess").await
        }
    }))
    .await;
    let checks = since(&app, before);
    let refused = answers.iter().filter(|p| p.status == 429).count();
    assert_eq!(checks.stored + checks.dummy, 30, "{checks:?}");
    assert_eq!(refused, BURST - 30);
}

/// SECURITY.md RACE-1, the current password of the password change (a signed-in
/// session guessing it counts like failed sign-ins): 300 guesses sent at once get
/// no more checks than the account's throttle allows, and the right one sent after
/// is refused while the account waits.
#[tokio::test]
async fn simultaneous_guesses_of_the_current_password_are_throttled_like_sign_ins() {
    let _burst = crate::helpers::TIMING.read().await;
    let app = TestApp::spawn().await;
    let allowed = checked_at_once(app.clock.now());
    let host = app.sign_in(HOST).await;
    let new = "Quiet-Harbour-Lantern-77!";
    let before = app.passwords.checks();
    let answers = futures_util::future::join_all((0..BURST).map(|i| {
        let host = &host;
        async move {
            let current = format!("not-it-{i}");
            host.post(
                "/account/password",
                &[("current", &current), ("password", new), ("repeat", new)],
            )
            .await
        }
    }))
    .await;
    let checks = since(&app, before);
    assert!(
        checks.stored <= allowed,
        "{} guesses checked, the throttle allows {allowed}",
        checks.stored
    );
    assert!(answers.iter().all(|p| p.status == 422));
    assert!(waiting(&app, HOST).await);
    let right = host
        .post(
            "/account/password",
            &[("current", PASSWORD), ("password", new), ("repeat", new)],
        )
        .await;
    assert_eq!(right.status, 422, "refused while the account waits");
    assert!(right.field_error("current").is_some());
    app.clock
        .advance(throttle::wait_after(throttle::FREE_FAILURES + 1));
    assert!(
        app.sign_in_with(HOST, PASSWORD).await.is_some(),
        "the password is unchanged"
    );
}

/// SECURITY.md RACE-1, the code step of signing in: 300 wrong codes sent at once
/// on one waiting sign-in get no more checks than the account's throttle allows
/// (each check is counted in the transaction that makes it), and the address's
/// limit counts every attempt before it is checked.
#[tokio::test]
async fn simultaneous_codes_on_one_sign_in_check_no_more_than_the_throttle_allows() {
    let _burst = crate::helpers::TIMING.read().await;
    let app = TestApp::spawn().await;
    let (secret, _) = crate::mfa::enrol(&app, &app.sign_in(HOST).await).await;
    app.clock.advance(chrono::Duration::seconds(60));
    let allowed = checked_at_once(app.clock.now());
    let (b, page) = app.password_step(HOST, PASSWORD, Some("127.4.0.1")).await;
    page.assert_redirect("/login/mfa");
    let csrf = csrf_of(&b.get("/login/mfa").await.body);
    let right = crate::mfa::code(&app, &secret, 0);
    // Wrong by one digit, and outside every accepted step.
    let last = right.chars().last().unwrap().to_digit(10).unwrap();
    let wrong = format!("{}{}", &right[..right.len() - 1], (last + 5) % 10);
    for offset in -2..=2 {
        assert_ne!(crate::mfa::code(&app, &secret, offset), wrong);
    }
    let answers = futures_util::future::join_all((0..BURST).map(|_| {
        let (b, csrf, wrong) = (&b, &csrf, &wrong);
        async move {
            b.post_raw("/login/mfa", &[("csrf", csrf), ("code", wrong)], None)
                .await
        }
    }))
    .await;
    let conn = raw_db(&app);
    let checked: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'auth.mfa' AND outcome = 'denied'
             AND details LIKE '%not accepted%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        checked.unsigned_abs() <= allowed,
        "{checked} codes checked, the throttle allows {allowed}"
    );
    let limited = answers.iter().filter(|p| p.status == 429).count();
    assert_eq!(limited, BURST - 30, "the address's thirty, then refused");
    assert!(answers.iter().all(|p| p.status != 303));
}
