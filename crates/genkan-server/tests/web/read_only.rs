//! A tenant whose contract ended (RO-1): every route that changes something refuses
//! its web sessions and API tokens whatever other credentials ride along, its kiosks
//! are refused altogether, the database stays as it was; reading, exporting and
//! signing in and out still work; and when a credential or the tenant's state
//! cannot be read, the request is refused.

use chrono::{Duration, NaiveDate};
use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_server::ops::lifecycle::read_only_from;
use genkan_store::AuditCtx;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN, HOST, OTHER_ADMIN, PASSWORD, TestApp};
use crate::route_table::{Answer, World, all_routes, changed, send, snapshot};

/// Routes that change something yet stay open to an ended tenant: signing in and
/// out (second factor and password links included), exports, refreshing a token,
/// and routes that take no staff or kiosk credential (pairing, host replies).
const OPEN: [&str; 17] = [
    "POST /login",
    "POST /logout",
    "POST /login/mfa",
    "POST /login/mfa/setup/start",
    "POST /login/mfa/setup/confirm",
    "POST /password/forgot",
    "POST /password/reset",
    "POST /invite",
    "POST /exports/visits.csv",
    "POST /exports/appointments.csv",
    "POST /exports/users.csv",
    "POST /exports/all.zip",
    "POST /audit/export.csv",
    "POST /api/v1/auth/refresh",
    "POST /api/kiosk/v1/pair",
    "POST /reply",
    "POST /integrations/slack/interactions",
];

/// The English heading of the page a refused web request gets.
const READ_ONLY_PAGE: &str = "The contract has ended";

/// Ends the main tenant's contract yesterday: it is read-only from this morning.
async fn end_contract(app: &TestApp) {
    let ends_on = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let from = read_only_from(ends_on, genkan_core::tenant::TimeZone::default());
    assert!(from <= app.clock.now());
    app.store
        .end_contract(
            app.tenant,
            ends_on,
            from,
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap();
}

/// An administrator API token of `tenant` (with a refresh token).
async fn admin_token(
    app: &TestApp,
    tenant: genkan_core::id::TenantId,
    email: &str,
) -> (String, String) {
    let issued = app
        .store
        .create_api_token(
            tenant,
            app.user_id_in(tenant, email).await,
            "ro".into(),
            vec![Scope::Admin],
            None,
            Some(Duration::days(1)),
            AuditCtx::system(Some(tenant), app.clock.now()),
        )
        .await
        .unwrap();
    (issued.access_token, issued.refresh_token.unwrap())
}

fn form(csrf: &str) -> Option<(String, Vec<u8>)> {
    Some((
        "application/x-www-form-urlencoded".to_owned(),
        format!("csrf={csrf}").into_bytes(),
    ))
}

fn json_body() -> Option<(String, Vec<u8>)> {
    Some(("application/json".to_owned(), b"{}".to_vec()))
}

#[track_caller]
fn assert_api_read_only(what: &str, a: &Answer) {
    assert_eq!(a.status, 403, "{what}: {}", a.body);
    let body: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
    assert_eq!(body["code"], "read_only", "{what}: {}", a.body);
}

/// SECURITY.md RO-1: every route that changes something, called by the ended
/// tenant's web session (alone, with a junk bearer token, with another tenant's
/// valid token), by its API token (alone, with another tenant's session cookie) and
/// by its kiosk (every kiosk route, reads included, alone or with another tenant's
/// token), is refused with the read-only page or the typed `read_only` error, and
/// not one row changes. The same requests change things before the end.
#[tokio::test]
async fn an_ended_tenant_changes_nothing_through_forms_tokens_or_kiosks_whatever_rides_along() {
    let app = TestApp::spawn().await;
    let world = World::seed(&app).await;
    let session = world.admin.session_cookie().unwrap();
    let csrf = world.admin.csrf.clone();
    let (foreign_token, _) = admin_token(&app, app.other, OTHER_ADMIN).await;
    let foreign_session = app.sign_in(OTHER_ADMIN).await.session_cookie().unwrap();
    let cookie = |s: &str| ("cookie", format!("genkan_session={s}"));
    let bearer = |t: &str| ("authorization", format!("Bearer {t}"));
    // Before the end, a form with a junk bearer beside the session goes through.
    let before_end = send(
        &app,
        "POST",
        "/users/groups",
        &[cookie(&session), bearer("x")],
        Some((
            "application/x-www-form-urlencoded".to_owned(),
            format!("csrf={csrf}&name=Before+the+end").into_bytes(),
        )),
    )
    .await;
    assert_eq!(before_end.status, 303, "{}", before_end.body);

    end_contract(&app).await;
    let before = snapshot(&app);
    let web_variants = [
        vec![cookie(&session)],
        vec![cookie(&session), bearer("x")],
        vec![cookie(&session), bearer(&foreign_token)],
        vec![bearer(&foreign_token), cookie(&session)],
    ];
    let api_variants = [
        vec![bearer(&world.token)],
        vec![bearer(&world.token), cookie(&foreign_session)],
    ];
    let kiosk_variants = [
        vec![bearer(&world.kiosk)],
        vec![bearer(&world.kiosk), bearer(&foreign_token)],
    ];
    let mut tried = 0;
    for route in all_routes() {
        let key = format!("{} {}", route.method, route.path);
        let path = world.fill(&route);
        let what = |v: usize| format!("{key} (credentials #{v})");
        if route.path.starts_with("/api/kiosk/v1/") {
            if OPEN.contains(&key.as_str()) {
                continue;
            }
            for (v, headers) in kiosk_variants.iter().enumerate() {
                let a = send(&app, &route.method, &path, headers, json_body()).await;
                assert_api_read_only(&what(v), &a);
                tried += 1;
            }
        } else if route.method == "GET" || OPEN.contains(&key.as_str()) {
            continue;
        } else if route.path.starts_with("/api/") {
            for (v, headers) in api_variants.iter().enumerate() {
                let a = send(&app, &route.method, &path, headers, json_body()).await;
                assert_api_read_only(&what(v), &a);
                tried += 1;
            }
        } else {
            for (v, headers) in web_variants.iter().enumerate() {
                let a = send(&app, &route.method, &path, headers, form(&csrf)).await;
                assert_eq!(a.status, 403, "{}: {}", what(v), a.body);
                assert!(a.body.contains(READ_ONLY_PAGE), "{}: {}", what(v), a.body);
                tried += 1;
            }
        }
    }
    assert!(tried >= 200, "only {tried} requests");
    assert_eq!(changed(&before, &snapshot(&app)), Vec::<String>::new());
}

/// SECURITY.md RO-1: an ended tenant still reads (pages with a banner, the API),
/// signs in with its second factor and out, exports and refreshes tokens; its
/// kiosks get nothing, not even their configuration.
#[tokio::test]
async fn an_ended_tenant_still_reads_exports_and_signs_in_and_out() {
    let app = TestApp::spawn().await;
    let world = World::seed(&app).await;
    let (token, refresh) = admin_token(&app, app.tenant, ADMIN).await;
    let (secret, _) = crate::mfa::enrol(&app, &app.sign_in(HOST).await).await;
    end_contract(&app).await;
    app.clock.advance(Duration::seconds(60));

    let admin = app.sign_in(ADMIN).await;
    for path in [
        "/dashboard",
        "/appointments",
        "/users",
        "/exports",
        "/audit",
    ] {
        let page = admin.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains("Your contract has ended"), "{path}");
    }
    for path in ["/api/v1/sites", "/api/v1/me", "/api/v1/appointments"] {
        let (status, _, body) = admin.api(Method::GET, path, &token, None, &[]).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    for path in [
        "/exports/visits.csv",
        "/exports/users.csv",
        "/exports/all.zip",
        "/audit/export.csv",
    ] {
        let page = admin.post(path, &[]).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
    }
    let (status, _, body) = admin
        .api(
            Method::POST,
            "/api/v1/auth/refresh",
            "",
            Some(json!({"refresh_token": refresh})),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The second factor completes a sign-in as before.
    let (host, page) = app.password_step(HOST, PASSWORD, Some("127.0.50.1")).await;
    page.assert_redirect("/login/mfa");
    let csrf = crate::helpers::csrf_of(&host.get("/login/mfa").await.body);
    let code = crate::mfa::code(&app, &secret, 0);
    host.post_raw("/login/mfa", &[("csrf", &csrf), ("code", &code)], None)
        .await
        .assert_redirect("/dashboard?notice=signed_in");
    // Signing out.
    let cookie = admin.session_cookie().unwrap();
    admin.post("/logout", &[]).await.assert_redirect("/login");
    let after = send(
        &app,
        "GET",
        "/account",
        &[("cookie", format!("genkan_session={cookie}"))],
        None,
    )
    .await;
    assert_eq!(after.status, 303, "the old cookie is refused");
    // Kiosks: nothing at all.
    for path in ["/api/kiosk/v1/config", "/api/kiosk/v1/roster"] {
        let a = send(
            &app,
            "GET",
            path,
            &[("authorization", format!("Bearer {}", world.kiosk))],
            None,
        )
        .await;
        assert_api_read_only(path, &a);
    }
}

/// A writable second connection to the application's database.
fn raw_writer(app: &TestApp) -> rusqlite::Connection {
    crate::route_table::keyed_db(
        app,
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = OFF;",
    )
}

/// SECURITY.md RO-1, failing closed: when the tenants' contract state cannot be
/// read (the column the rule reads holds garbage), a form, an API token and a kiosk
/// are all refused and nothing changes; so is a form whose extra bearer token
/// cannot be looked up (its row is unreadable).
#[tokio::test]
async fn when_a_credential_or_the_tenant_state_cannot_be_read_the_request_is_refused() {
    let app = TestApp::spawn().await;
    let world = World::seed(&app).await;
    let session = world.admin.session_cookie().unwrap();
    let csrf = world.admin.csrf.clone();
    let (foreign_token, _) = admin_token(&app, app.other, OTHER_ADMIN).await;
    let group = |name: &str| {
        Some((
            "application/x-www-form-urlencoded".to_owned(),
            format!("csrf={csrf}&name={name}").into_bytes(),
        ))
    };
    let cookie = ("cookie", format!("genkan_session={session}"));

    // An extra credential whose row cannot be read.
    let conn = raw_writer(&app);
    let n = conn
        .execute(
            "UPDATE api_tokens SET tenant_id = 'unreadable' WHERE tenant_id = ?1",
            [app.other.get()],
        )
        .unwrap();
    assert!(n >= 1);
    let before = snapshot(&app);
    let a = send(
        &app,
        "POST",
        "/users/groups",
        &[
            cookie.clone(),
            ("authorization", format!("Bearer {foreign_token}")),
        ],
        group("Unjudged"),
    )
    .await;
    assert!(a.status >= 500, "{}: {}", a.status, a.body);
    assert_eq!(changed(&before, &snapshot(&app)), Vec::<String>::new());
    // Without it the same form goes through (the failure alone refused it).
    let a = send(
        &app,
        "POST",
        "/users/groups",
        std::slice::from_ref(&cookie),
        group("Judged"),
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);

    // The tenants' contract state cannot be read. (Recording another tenant's
    // contract end makes the server read the state afresh.)
    conn.execute(
        "UPDATE tenants SET read_only_from = 'not a time' WHERE id = ?1",
        [app.tenant.get()],
    )
    .unwrap();
    app.store
        .end_contract(
            app.other,
            NaiveDate::from_ymd_opt(2030, 3, 31).unwrap(),
            read_only_from(
                NaiveDate::from_ymd_opt(2030, 3, 31).unwrap(),
                genkan_core::tenant::TimeZone::default(),
            ),
            AuditCtx::system(Some(app.other), app.clock.now()),
        )
        .await
        .unwrap();
    let before = snapshot(&app);
    let a = send(
        &app,
        "POST",
        "/users/groups",
        std::slice::from_ref(&cookie),
        group("Unknown+state"),
    )
    .await;
    assert!(a.status >= 500, "form: {}: {}", a.status, a.body);
    let a = send(
        &app,
        "POST",
        "/api/v1/sites",
        &[("authorization", format!("Bearer {}", world.token))],
        Some((
            "application/json".to_owned(),
            br#"{"name": "Unknown state", "time_zone": "Asia/Tokyo", "address": ""}"#.to_vec(),
        )),
    )
    .await;
    assert!(a.status >= 500, "API: {}: {}", a.status, a.body);
    let a = send(
        &app,
        "POST",
        "/api/kiosk/v1/heartbeat",
        &[("authorization", format!("Bearer {}", world.kiosk))],
        Some(("application/json".to_owned(), b"{}".to_vec())),
    )
    .await;
    assert!(a.status >= 500, "kiosk: {}: {}", a.status, a.body);
    assert_eq!(changed(&before, &snapshot(&app)), Vec::<String>::new());
}
