//! Invitation and reset links (INV-1) and enumeration through the reset and invitation forms (AUTH-4): single use, expiry to the second, unguessable, bound to purpose, user and tenant; same answers and timing for known and unknown accounts.

use std::time::Instant;

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::notification::Channel;
use genkan_store::users::LinkSecret;

use crate::helpers::{ADMIN, Browser, DESK, HOST, OTHER_ADMIN, Page, TestApp, csrf_of};

/// Every link mail still queued: (recipient, secret).
async fn queued_links(app: &TestApp) -> Vec<(String, String)> {
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
        .filter_map(|m| {
            let payload = m.secret_payload?;
            let link: LinkSecret = serde_json::from_slice(&payload).ok()?;
            Some((m.recipient, link.secret))
        })
        .collect()
}

/// Asks for a reset of `email` in tenant `organisation` from `ip`.
async fn forgot(app: &TestApp, organisation: &str, email: &str, ip: &str) -> Page {
    let b = app.anonymous_from(Some(ip));
    let form = b.get("/password/forgot").await;
    b.post_raw(
        "/password/forgot",
        &[
            ("csrf", &csrf_of(&form.body)),
            ("organisation", organisation),
            ("email", email),
        ],
        None,
    )
    .await
}

/// Asks for a reset of `email` and returns the mailed secret.
pub(crate) async fn reset_link(app: &TestApp, organisation: &str, email: &str) -> String {
    forgot(app, organisation, email, "127.0.20.1").await;
    queued_links(app)
        .await
        .into_iter()
        .rfind(|(to, _)| to == email)
        .unwrap_or_else(|| panic!("no reset mail to {email}"))
        .1
}

/// Whether `secret` opens the form at `form` (`/invite` or `/password/reset`) in a fresh browser.
async fn offered(app: &TestApp, form: &str, secret: &str) -> (Browser, bool) {
    let b = app.anonymous();
    b.get(&format!("{form}/{secret}"))
        .await
        .assert_redirect(form);
    let page = b.get(form).await;
    assert_eq!(page.status, 200);
    let ok = page.body.contains("name=\"password\"");
    (b, ok)
}

/// Opens `secret` at `form` and sets `password`; whether the server took it.
pub(crate) async fn use_link(app: &TestApp, form: &str, secret: &str, password: &str) -> bool {
    let (b, _) = offered(app, form, secret).await;
    // The pre-session token of any form page (a refused link shows no form).
    let csrf = csrf_of(&b.get("/login").await.body);
    let page = b
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
    page.status == 303 && page.location.as_deref() == Some("/login?notice=password_set")
}

/// SECURITY.md INV-1: links carry at least 128 random bits (here 256, as 64 hex
/// digits, all different); a used link, an older link replaced by a newer one, a
/// link of another purpose, a guessed, truncated or altered secret and a disabled
/// user's link are refused; a link sets exactly its own user's password in its own
/// tenant.
#[tokio::test]
async fn links_are_single_use_unguessable_and_bound_to_their_purpose_and_user() {
    let app = TestApp::spawn().await;
    let mut secrets = Vec::new();
    for n in 0..3 {
        let email = [HOST, DESK, ADMIN][n];
        secrets.push(reset_link(&app, "acme", email).await);
    }
    for s in &secrets {
        assert!(
            s.len() >= 32 && s.bytes().all(|b| b.is_ascii_hexdigit()),
            "{s}"
        );
        assert!(s.len() * 4 >= 128, "at least 128 bits");
    }
    let mut unique = secrets.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), secrets.len());

    // Guesses, truncations and alterations of a real secret are refused.
    let real = &secrets[0];
    let mut altered = real.clone().into_bytes();
    altered[10] = if altered[10] == b'0' { b'1' } else { b'0' };
    for guess in [
        "0".repeat(64),
        "ab".repeat(32),
        real[..real.len() - 1].to_owned(),
        String::from_utf8(altered).unwrap(),
        real.to_uppercase(),
        String::new(),
    ] {
        if guess.is_empty() {
            continue;
        }
        assert!(!offered(&app, "/password/reset", &guess).await.1, "{guess}");
        assert!(!use_link(&app, "/password/reset", &guess, "Guessed-Orchard-Pine-41").await);
    }
    // A reset link is no invitation.
    assert!(!offered(&app, "/invite", real).await.1);
    assert!(!use_link(&app, "/invite", real, "Wrong-Purpose-Stone-88").await);

    // Once used, refused; the password it set stays.
    let first = "Amber-Orchard-Lantern-19";
    assert!(use_link(&app, "/password/reset", real, first).await);
    assert!(!offered(&app, "/password/reset", real).await.1);
    assert!(!use_link(&app, "/password/reset", real, "Second-Use-Harbour-23").await);
    assert!(app.sign_in_with(HOST, first).await.is_some());
    assert!(
        app.sign_in_with(HOST, "Second-Use-Harbour-23")
            .await
            .is_none()
    );

    // A newer link replaces the older one.
    let older = &secrets[1];
    let newer = reset_link(&app, "acme", DESK).await;
    assert!(!use_link(&app, "/password/reset", older, "Older-Link-River-55").await);
    assert!(use_link(&app, "/password/reset", &newer, "Newer-Link-River-56").await);
    assert!(
        app.sign_in_with(DESK, "Newer-Link-River-56")
            .await
            .is_some()
    );

    // A link issued before its user was disabled is refused.
    let admin_link = &secrets[2];
    let host_link = reset_link(&app, "acme", HOST).await;
    let host_id = app.user_id(HOST).await;
    app.sign_in(ADMIN)
        .await
        .post(&format!("/users/{host_id}/disable"), &[])
        .await
        .assert_redirect(&format!("/users/{host_id}"));
    assert!(!offered(&app, "/password/reset", &host_link).await.1);
    assert!(!use_link(&app, "/password/reset", &host_link, "Disabled-User-Pond-90").await);

    // Another tenant: the address of its admin does not exist in `acme` (no mail), and
    // its own link sets exactly that admin's password, in that tenant.
    forgot(&app, "acme", OTHER_ADMIN, "127.0.20.2").await;
    assert!(queued_links(&app).await.is_empty(), "no account of acme");
    let theirs = reset_link(&app, "other", OTHER_ADMIN).await;
    let chosen = "Their-Own-Meadow-Lamp-64";
    assert!(use_link(&app, "/password/reset", &theirs, chosen).await);
    assert!(app.sign_in_with(OTHER_ADMIN, chosen).await.is_some());
    for email in [ADMIN, DESK] {
        assert!(app.sign_in_with(email, chosen).await.is_none(), "{email}");
    }
    assert!(
        use_link(
            &app,
            "/password/reset",
            admin_link,
            "Steady-Own-Link-Harbor-77"
        )
        .await
    );
    assert!(
        app.sign_in_with(ADMIN, "Steady-Own-Link-Harbor-77")
            .await
            .is_some()
    );
}

/// SECURITY.md INV-1: a reset link works until one second before its 30 minutes are
/// up and is refused one second after; an invitation likewise at 72 hours (clock moved).
#[tokio::test]
async fn links_expire_to_the_second() {
    let app = TestApp::spawn().await;
    let early = reset_link(&app, "acme", HOST).await;
    app.clock
        .advance(Duration::minutes(30) - Duration::seconds(1));
    assert!(offered(&app, "/password/reset", &early).await.1);
    assert!(use_link(&app, "/password/reset", &early, "Before-Expiry-Cedar-12").await);

    let late = reset_link(&app, "acme", HOST).await;
    app.clock
        .advance(Duration::minutes(30) + Duration::seconds(1));
    assert!(!offered(&app, "/password/reset", &late).await.1);
    assert!(!use_link(&app, "/password/reset", &late, "After-Expiry-Cedar-13").await);
    assert!(
        app.sign_in_with(HOST, "Before-Expiry-Cedar-12")
            .await
            .is_some()
    );

    let admin = app.sign_in(ADMIN).await;
    for email in ["in-time@acme.example", "too-late@acme.example"] {
        admin
            .post(
                "/users",
                &[("email", email), ("name", "New Person"), ("role", "host")],
            )
            .await
            .assert_redirect("/users?notice=invited");
    }
    let links = queued_links(&app).await;
    let link = |to: &str| links.iter().find(|(r, _)| r == to).unwrap().1.clone();
    app.clock
        .advance(Duration::hours(72) - Duration::seconds(1));
    assert!(
        use_link(
            &app,
            "/invite",
            &link("in-time@acme.example"),
            "Invited-Birch-Lamp-33"
        )
        .await
    );
    app.clock.advance(Duration::seconds(2));
    assert!(
        !offered(&app, "/invite", &link("too-late@acme.example"))
            .await
            .1
    );
    assert!(
        !use_link(
            &app,
            "/invite",
            &link("too-late@acme.example"),
            "Invited-Cedar-Lamp-44"
        )
        .await
    );
}

/// Counts link mails not counted before (claimed mails come back once their lease ends).
#[derive(Default)]
struct NewLinks(std::collections::HashSet<(String, String)>);

impl NewLinks {
    async fn count(&mut self, app: &TestApp) -> usize {
        let links = queued_links(app).await;
        links
            .into_iter()
            .filter(|l| self.0.insert(l.clone()))
            .count()
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// SECURITY.md AUTH-4 (reset and invitation): the reset form answers byte for byte
/// the same for an existing account, an unknown one, another tenant's and an unknown
/// tenant, in the same time (median difference < 5 ms over 30 rounds, the clock
/// moved an hour between rounds so the per-account limit never short-cuts); one
/// address is limited to 10 reset requests, whatever the accounts, still with the
/// same answer; inviting an address that exists only in another tenant is answered
/// like a new address.
#[tokio::test]
async fn reset_and_invitation_forms_do_not_tell_which_accounts_exist() {
    let _alone = crate::helpers::TIMING.write().await;
    let app = TestApp::spawn().await;
    let mut answers = Vec::new();
    for (org, email) in [
        ("acme", HOST),
        ("acme", "nobody@acme.example"),
        ("acme", OTHER_ADMIN),
        ("no-such-org", HOST),
    ] {
        answers.push(forgot(&app, org, email, "127.0.21.1").await);
    }
    let mask = |p: &Page| {
        let token = csrf_of(&p.body);
        (p.status, p.body.len(), p.body.replace(&token, ""))
    };
    for a in &answers[1..] {
        assert_eq!(mask(a), mask(&answers[0]));
    }
    let mut mailed = NewLinks::default();
    assert_eq!(mailed.count(&app).await, 1, "one mail, to the real account");

    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..30u32 {
        app.clock.advance(Duration::minutes(61));
        for (email, times) in [(HOST, &mut known), ("nobody@acme.example", &mut unknown)] {
            let b = app.anonymous_from(Some(&format!("127.0.22.{}", round + 1)));
            let form = b.get("/password/forgot").await;
            let csrf = csrf_of(&form.body);
            let started = Instant::now();
            let page = b
                .post_raw(
                    "/password/forgot",
                    &[("csrf", &csrf), ("organisation", "acme"), ("email", email)],
                    None,
                )
                .await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(page.status, 200);
        }
    }
    let (k, u) = (median(&mut known), median(&mut unknown));
    assert!(
        (k - u).abs() < 5.0,
        "median known {k:.2} ms, unknown {u:.2} ms"
    );
    assert_eq!(mailed.count(&app).await, 30, "each known request mailed");

    // One address: ten requests, then nothing is sent (the answer stays the same).
    app.clock.advance(Duration::minutes(61));
    let mut pages = Vec::new();
    for n in 0..12 {
        let target = ["nobody1@acme.example", HOST, DESK, ADMIN][n % 4];
        pages.push(forgot(&app, "acme", target, "127.0.23.1").await);
    }
    for p in &pages {
        assert_eq!(mask(p), mask(&pages[0]));
    }
    // Of the first ten, seven were for real accounts; the last two were not looked at.
    assert_eq!(
        mailed.count(&app).await,
        7,
        "the address limit stops at 10 requests"
    );
    let from_elsewhere = forgot(&app, "acme", "nobody2@acme.example", "127.0.23.2").await;
    assert_eq!(mask(&from_elsewhere), mask(&pages[0]));

    // Invitations: an address known only to another tenant is just a new address here.
    let admin = app.sign_in(ADMIN).await;
    admin
        .post(
            "/users",
            &[
                ("email", OTHER_ADMIN),
                ("name", "Somebody"),
                ("role", "host"),
            ],
        )
        .await
        .assert_redirect("/users?notice=invited");
    admin
        .post(
            "/users",
            &[
                ("email", "fresh@acme.example"),
                ("name", "Somebody"),
                ("role", "host"),
            ],
        )
        .await
        .assert_redirect("/users?notice=invited");
}
