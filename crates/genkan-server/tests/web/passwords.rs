//! Password storage and policy (AUTH-1, AUTH-2): argon2id v19 at OWASP ASVS cost for every hash, weaker hashes replaced at the next sign-in, and the policy applied exactly by every form and API that sets a password.

use argon2::password_hash::PasswordHasher as _;
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_core::notification::Channel;
use genkan_server::config::Config;
use genkan_store::AuditCtx;
use genkan_store::users::LinkSecret;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN, Browser, DESK, HOST, PASSWORD, TestApp, csrf_of};
use crate::route_table::raw_db;

/// The cost the server is configured with here (the ASVS "19 MiB, 2 iterations" point).
fn asvs(c: &mut Config) {
    c.auth.argon2_memory_kib = 19_456;
    c.auth.argon2_iterations = 2;
}

/// (algorithm, version, m, t, p) of a PHC string.
fn parts(hash: &str) -> (String, u32, u32, u32, u32) {
    let fields: Vec<&str> = hash.split('$').collect();
    assert!(fields.len() == 6, "not a PHC string: {hash}");
    let version = fields[2].strip_prefix("v=").unwrap().parse().unwrap();
    let mut cost = [0u32; 3];
    for (i, kv) in fields[3].split(',').enumerate() {
        cost[i] = kv.split_once('=').unwrap().1.parse().unwrap();
    }
    (fields[1].to_owned(), version, cost[0], cost[1], cost[2])
}

/// Whether `hash` is argon2id v19 with OWASP ASVS parameters.
fn meets_asvs(hash: &str) -> bool {
    let (algorithm, version, m, t, p) = parts(hash);
    algorithm == "argon2id"
        && version == 19
        && p == 1
        && ((m >= 19_456 && t >= 2) || (m >= 12_288 && t >= 3))
}

/// Every stored password hash, by e-mail address.
fn stored_hashes(app: &TestApp) -> Vec<(String, String)> {
    let conn = raw_db(app);
    let mut stmt = conn
        .prepare(
            "SELECT email, password_hash FROM users WHERE password_hash IS NOT NULL ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn hash_of(app: &TestApp, email: &str) -> String {
    stored_hashes(app)
        .into_iter()
        .find(|(e, _)| e == email)
        .unwrap()
        .1
}

/// Writes `hash` straight into the database, as an old release or an import would have.
fn put_hash(app: &TestApp, email: &str, hash: &str) {
    let conn = crate::route_table::keyed_db(app, "PRAGMA busy_timeout = 5000;");
    let n = conn
        .execute(
            "UPDATE users SET password_hash = ?1 WHERE email = ?2",
            rusqlite::params![hash, email],
        )
        .unwrap();
    assert_eq!(n, 1);
}

fn weak_hash(algorithm: Algorithm, version: Version, m: u32, t: u32, p: u32) -> String {
    Argon2::new(algorithm, version, Params::new(m, t, p, None).unwrap())
        .hash_password_with_salt(PASSWORD.as_bytes(), b"weak-salt-16byte")
        .unwrap()
        .to_string()
}

/// The secret of the newest invitation or reset mail to `address` still queued.
async fn link_to(app: &TestApp, address: &str) -> String {
    let mails = app
        .store
        .claim_due(
            app.clock.now(),
            100,
            Duration::minutes(5),
            &[Channel::Email],
        )
        .await
        .unwrap();
    let payload = mails
        .iter()
        .rev()
        .filter(|m| m.recipient == address)
        .find_map(|m| m.secret_payload.as_deref())
        .unwrap_or_else(|| panic!("no link mail to {address}"));
    serde_json::from_slice::<LinkSecret>(payload)
        .unwrap()
        .secret
}

/// Opens a mailed link in `browser`; returns the set-password form's token.
async fn open_link(browser: &Browser, kind: &str, secret: &str) -> String {
    let form = if kind == "invite" {
        "/invite"
    } else {
        "/password/reset"
    };
    browser
        .get(&format!("{form}/{secret}"))
        .await
        .assert_redirect(form);
    csrf_of(&browser.get(form).await.body)
}

async fn admin_token(app: &TestApp) -> String {
    app.store
        .create_api_token(
            app.tenant,
            app.user_id(ADMIN).await,
            "passwords".into(),
            vec![Scope::Admin],
            None,
            None,
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap()
        .access_token
}

/// SECURITY.md AUTH-1: with the server at ASVS cost, every way a password hash gets
/// stored — seeding, the admin API, accepting an invitation, a reset link, changing
/// one's password, and the rehash at sign-in — leaves argon2id v19 with ASVS
/// parameters (t=2 with m ≥ 19 MiB or t ≥ 3 with m ≥ 12 MiB, p=1) in the database.
#[tokio::test]
async fn every_stored_password_hash_is_argon2id_v19_at_asvs_cost() {
    let app = TestApp::spawn_with(asvs, "127.0.0.1:0").await;
    let admin = app.sign_in(ADMIN).await;
    let token = admin_token(&app).await;
    let (status, _, body) = admin
        .api(
            Method::POST,
            "/api/v1/users",
            &token,
            Some(
                json!({"email": "api@acme.example", "display_name": "Api Person",
                        "role": "host", "password": "Silver-Maple-Creek-31"}),
            ),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    admin
        .post(
            "/users",
            &[
                ("email", "invitee@acme.example"),
                ("name", "Invited Person"),
                ("role", "host"),
            ],
        )
        .await
        .assert_redirect("/users?notice=invited");
    let invitee = app.anonymous();
    let csrf = open_link(
        &invitee,
        "invite",
        &link_to(&app, "invitee@acme.example").await,
    )
    .await;
    let chosen = "Copper-Kettle-Window-58";
    invitee
        .post_raw(
            "/invite",
            &[("csrf", &csrf), ("password", chosen), ("repeat", chosen)],
            None,
        )
        .await
        .assert_redirect("/login?notice=password_set");
    let forgot = app.anonymous();
    let form = forgot.get("/password/forgot").await;
    forgot
        .post_raw(
            "/password/forgot",
            &[
                ("csrf", &csrf_of(&form.body)),
                ("organisation", "acme"),
                ("email", DESK),
            ],
            None,
        )
        .await;
    let csrf = open_link(&forgot, "reset", &link_to(&app, DESK).await).await;
    forgot
        .post_raw(
            "/password/reset",
            &[("csrf", &csrf), ("password", chosen), ("repeat", chosen)],
            None,
        )
        .await
        .assert_redirect("/login?notice=password_set");
    let host = app.sign_in(HOST).await;
    host.post(
        "/account/password",
        &[
            ("current", PASSWORD),
            ("password", chosen),
            ("repeat", chosen),
        ],
    )
    .await
    .assert_redirect("/account?notice=password_changed");

    let hashes = stored_hashes(&app);
    assert!(hashes.len() >= 6, "{hashes:?}");
    for (email, hash) in &hashes {
        assert!(meets_asvs(hash), "{email}: {hash}");
    }
    // All different, even for the same password (random salts).
    let mut distinct: Vec<&String> = hashes.iter().map(|(_, h)| h).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), hashes.len());
}

/// SECURITY.md AUTH-1: weaker hashes written straight into the database (argon2i,
/// argon2d, argon2id v16, too little memory, too few iterations, several lanes) are
/// replaced by an ASVS argon2id v19 hash at the user's next successful sign-in; a
/// failed sign-in leaves them alone, and the new hash still verifies.
#[tokio::test]
async fn weaker_hashes_are_upgraded_at_the_next_sign_in() {
    let app = TestApp::spawn_with(asvs, "127.0.0.1:0").await;
    let admin = app.sign_in(ADMIN).await;
    let token = admin_token(&app).await;
    let weak = [
        (
            "argon2i",
            weak_hash(Algorithm::Argon2i, Version::V0x13, 19_456, 2, 1),
        ),
        (
            "argon2d",
            weak_hash(Algorithm::Argon2d, Version::V0x13, 19_456, 2, 1),
        ),
        (
            "version 16",
            weak_hash(Algorithm::Argon2id, Version::V0x10, 19_456, 2, 1),
        ),
        (
            "4 MiB",
            weak_hash(Algorithm::Argon2id, Version::V0x13, 4_096, 3, 1),
        ),
        (
            "1 iteration",
            weak_hash(Algorithm::Argon2id, Version::V0x13, 19_456, 1, 1),
        ),
        (
            "4 lanes",
            weak_hash(Algorithm::Argon2id, Version::V0x13, 19_456, 2, 4),
        ),
    ];
    for (i, (what, hash)) in weak.iter().enumerate() {
        assert!(!meets_asvs(hash), "{what} is meant to be weak");
        let email = format!("weak{i}@acme.example");
        let (status, _, body) = admin
            .api(
                Method::POST,
                "/api/v1/users",
                &token,
                Some(json!({"email": email, "display_name": format!("Weak {i}"),
                            "role": "host", "password": PASSWORD})),
                &[],
            )
            .await;
        assert_eq!(status, 201, "{body}");
        put_hash(&app, &email, hash);
        // A wrong password changes nothing.
        assert!(
            app.sign_in_with(&email, "Not-The-Password-00")
                .await
                .is_none()
        );
        assert_eq!(&hash_of(&app, &email), hash, "{what}");
        assert!(
            app.sign_in_with(&email, PASSWORD).await.is_some(),
            "{what}: the weak hash still verifies"
        );
        let upgraded = hash_of(&app, &email);
        assert!(meets_asvs(&upgraded), "{what}: {upgraded}");
        assert_ne!(&upgraded, hash);
        assert!(app.sign_in_with(&email, PASSWORD).await.is_some(), "{what}");
        assert_eq!(
            hash_of(&app, &email),
            upgraded,
            "no rehash when already strong"
        );
    }
}

/// SECURITY.md AUTH-1: production mode refuses to start with a hashing cost below
/// ASVS (12 MiB with 2 iterations was once let through).
#[test]
fn production_mode_refuses_a_hashing_cost_below_asvs() {
    for (m, t, ok) in [
        (19_456, 2, true),
        (12_288, 3, true),
        (65_536, 3, true),
        (12_288, 2, false),
        (19_455, 2, false),
        (12_287, 3, false),
        (262_144, 1, false),
    ] {
        let mut config = Config::default();
        config.auth.argon2_memory_kib = m;
        config.auth.argon2_iterations = t;
        let refused = config
            .check_production()
            .err()
            .is_some_and(|e| e.to_string().contains("argon2"));
        assert_eq!(!refused, ok, "m={m} t={t}");
    }
}

/// Who a policy case is for: a host "Hana Host <host…@acme.example>", an
/// administrator "Aiko Admin <admin…@acme.example>", both; all of "Acme Corp".
#[derive(Clone, Copy, PartialEq, Eq)]
enum For {
    Host,
    Admin,
    Both,
}

/// A password, whom it is tried for, and whether the policy accepts it.
const POLICY: &[(&str, For, bool)] = &[
    // Length: 12 for hosts, 15 for administrators, 128 at most; characters, not bytes.
    ("Tq7#mZp2&Lw", For::Host, false),
    ("Tq7#mZp2&Lw9", For::Host, true),
    ("Tq7#mZp2&Lw9Kd", For::Admin, false),
    ("Tq7#mZp2&Lw9Kd4", For::Admin, true),
    ("富士山の朝焼けが好き", For::Host, false),
    ("富士山の朝焼けが好きです", For::Host, true),
    ("雪の日の京都で抹茶を飲む朝", For::Admin, false),
    ("雪の日の京都で抹茶を飲む朝です", For::Admin, true),
    ("🍣🍜🍙🍘🍡🍵🍶🍺🗻🌸🎋🎐", For::Host, true),
    ("Caf\u{e9}-Na\u{ef}ve-R\u{e9}sum\u{e9}-9", For::Both, true),
    // Common passwords and patterns.
    ("password1234", For::Host, false),
    ("Password12345", For::Host, false),
    ("P@ssw0rd1234", For::Host, false),
    ("qwertyuiop123", For::Host, false),
    ("administrator1", For::Host, false),
    ("qwertyuiopasdfgh", For::Both, false),
    ("111111111111111", For::Both, false),
    ("abcdefghijklmnop", For::Both, false),
    ("あいうえおかきくけこさしすせそ", For::Both, false),
    // The tenant's name, the user's own name or address, the product's name.
    ("AcmeCorp-rocks-2026", For::Both, false),
    ("blue-corporation-77", For::Both, false),
    ("my-genkan-login-2026", For::Both, false),
    ("Hana-river-stone-77", For::Host, false),
    ("host-river-stone-77", For::Host, false),
    ("Aiko-river-stone-777", For::Admin, false),
    ("admin-river-stone-77", For::Admin, false),
    ("blue-river-stone-77", For::Both, true),
];

fn long(c: char, n: usize) -> String {
    // Varied enough not to count as a pattern.
    (0..n)
        .map(|i| char::from_u32(u32::from(c) + (i as u32 * 7) % 23).unwrap())
        .collect()
}

/// All policy cases for an administrator (or a host): the table plus the length limits.
fn cases(admin: bool) -> Vec<(String, bool)> {
    let mine = if admin { For::Admin } else { For::Host };
    let mut all: Vec<(String, bool)> = POLICY
        .iter()
        .filter(|(_, who, _)| *who == mine || *who == For::Both)
        .map(|(p, _, ok)| ((*p).to_owned(), *ok))
        .collect();
    all.push((long('a', 128), true));
    all.push((long('a', 129), false));
    all.push((long('一', 128), true));
    all.push((long('一', 129), false));
    all
}

/// SECURITY.md AUTH-2: short, long, Unicode, common and context passwords are
/// accepted or refused exactly per policy by the account form (host and
/// administrator), the invitation form and the admin API.
#[tokio::test]
async fn every_way_of_setting_a_password_follows_the_policy_exactly() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    // The admin API: a new "Hana Host" or "Aiko Admin" per case.
    let token = admin_token(&app).await;
    for admin_role in [false, true] {
        for (n, (password, ok)) in cases(admin_role).into_iter().enumerate() {
            let role = if admin_role { "admin" } else { "host" };
            let (status, _, body) = admin
                .api(
                    Method::POST,
                    "/api/v1/users",
                    &token,
                    Some(json!({"email": format!("{role}+{n}@acme.example"),
                                "display_name": if admin_role { "Aiko Admin" } else { "Hana Host" },
                                "role": role, "password": password})),
                    &[],
                )
                .await;
            if ok {
                assert_eq!(status, 201, "API {role}: {password:?} refused: {body}");
            } else {
                assert_eq!(status, 422, "API {role}: {password:?} accepted");
                assert_eq!(body["fields"][0]["field"], "password", "{body}");
            }
        }
    }
    // The invitation form (a host: the invited user's own name and address count).
    admin
        .post(
            "/users",
            &[
                ("email", "host.new@acme.example"),
                ("name", "Hana Host"),
                ("role", "host"),
            ],
        )
        .await
        .assert_redirect("/users?notice=invited");
    let invitee = app.anonymous();
    let mut csrf = open_link(
        &invitee,
        "invite",
        &link_to(&app, "host.new@acme.example").await,
    )
    .await;
    for (password, ok) in cases(false).into_iter().filter(|(_, ok)| !ok) {
        let page = invitee
            .post_raw(
                "/invite",
                &[
                    ("csrf", &csrf),
                    ("password", &password),
                    ("repeat", &password),
                ],
                None,
            )
            .await;
        assert_eq!(page.status, 422, "invitation: {password:?} accepted ({ok})");
        // Each answer carries a fresh form token.
        csrf = csrf_of(&page.body);
    }
    invitee
        .post_raw(
            "/invite",
            &[
                ("csrf", &csrf),
                ("password", "blue-river-stone-77"),
                ("repeat", "blue-river-stone-77"),
            ],
            None,
        )
        .await
        .assert_redirect("/login?notice=password_set");
    // The account form, host and administrator.
    for (who, admin) in [(HOST, false), (ADMIN, true)] {
        let me = app.sign_in(who).await;
        let mut current = PASSWORD.to_owned();
        for (password, ok) in cases(admin) {
            let page = me
                .post(
                    "/account/password",
                    &[
                        ("current", &current),
                        ("password", &password),
                        ("repeat", &password),
                    ],
                )
                .await;
            if ok {
                page.assert_redirect("/account?notice=password_changed");
                current = password;
            } else {
                assert_eq!(page.status, 422, "{who}: {password:?} accepted");
                assert!(page.is_invalid("password"), "{who}: {password:?}");
            }
        }
    }
}
