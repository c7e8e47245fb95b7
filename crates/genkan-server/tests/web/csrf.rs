//! CSRF-1 and MFA-2 over the whole route table: forged, token-less and stale-token writes refused on every unsafe route, no GET that changes state, and nothing reachable between password and second factor.

use chrono::Duration;
use genkan_core::Clock as _;

use crate::helpers::{ADMIN, FilePart, HOST, PASSWORD, TestApp, csrf_of, multipart};
use crate::route_table::{Answer, Route, World, all_routes, changed, send, snapshot};

/// A forged request: what it is, its headers, and the CSRF token it carries.
type Case<'a> = (&'a str, Vec<(&'a str, String)>, Option<&'a str>);

/// Forms that work before a session exists (double-submitted cookie token).
const PRE_SESSION: [&str; 4] = ["/login", "/password/forgot", "/password/reset", "/invite"];

/// Routes whose authority is a token or signature in the request itself, not a
/// cookie: a forged request carries nothing the attacker does not already have.
fn bearer_or_signed(path: &str) -> bool {
    path.starts_with("/api/") || path == "/reply" || path == "/integrations/slack/interactions"
}

/// Fields every form of the app might want, so that a write which got past the
/// checks would really change something.
fn form_fields(world_site: &str, user: &str) -> Vec<(&'static str, String)> {
    vec![
        ("email", "forged@acme.example".to_owned()),
        ("name", "Forged Name".to_owned()),
        ("role", "admin".to_owned()),
        ("title", "Forged".to_owned()),
        ("language", "en".to_owned()),
        ("current", PASSWORD.to_owned()),
        ("password", "Forged-Harbour-Lamp-77?".to_owned()),
        ("repeat", "Forged-Harbour-Lamp-77?".to_owned()),
        ("code", "123456".to_owned()),
        ("mfa_policy", "everyone".to_owned()),
        ("allowlist", "203.0.113.0/24".to_owned()),
        ("allowlist_scope", "everyone".to_owned()),
        ("address", "Forged Street".to_owned()),
        ("time_zone", "Asia/Tokyo".to_owned()),
        ("site_id", world_site.to_owned()),
        ("host_id", user.to_owned()),
        ("member", user.to_owned()),
        ("organisation", "acme".to_owned()),
        (
            "webhook_url",
            "https://hooks.slack.com/services/T0/B0/forged".to_owned(),
        ),
        ("url", "https://example.com/forged".to_owned()),
        ("retention_days", "1".to_owned()),
        ("subject", "Forged".to_owned()),
        ("body", "Forged".to_owned()),
    ]
}

/// A body for `route`: multipart for the two upload routes, a form otherwise, JSON
/// for the APIs. `csrf` is added as a field when given.
fn body_for(
    path: &str,
    fields: &[(&'static str, String)],
    csrf: Option<&str>,
) -> (String, Vec<u8>) {
    if path.starts_with("/api/") || path == "/integrations/slack/interactions" {
        return ("application/json".to_owned(), b"{}".to_vec());
    }
    let mut all: Vec<(&str, &str)> = csrf.map(|t| ("csrf", t)).into_iter().collect();
    all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    if path == "/settings/logo" || path == "/users/import" {
        let file = FilePart {
            field: if path == "/settings/logo" {
                "logo"
            } else {
                "file"
            },
            name: "forged.csv",
            content_type: "text/csv",
            bytes: b"email,display_name,role\nforged2@acme.example,Forged,admin\n",
        };
        return multipart(&all, &file);
    }
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(all)
        .finish();
    (
        "application/x-www-form-urlencoded".to_owned(),
        encoded.into_bytes(),
    )
}

/// One way of forging a request: extra headers and the token the form carries.
struct Forgery {
    name: &'static str,
    headers: Vec<(&'static str, String)>,
    token: Option<String>,
}

fn session_forgeries(origin: &str, token: &str, stale: &str, someone_elses: &str) -> Vec<Forgery> {
    let f = |name, headers: Vec<(&'static str, &str)>, token: Option<&str>| Forgery {
        name,
        headers: headers
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect(),
        token: token.map(str::to_owned),
    };
    let lookalike = format!("{origin}.evil.example");
    vec![
        f(
            "foreign origin",
            vec![("origin", "https://evil.example")],
            Some(token),
        ),
        f(
            "look-alike origin",
            vec![("origin", lookalike.as_str())],
            Some(token),
        ),
        f("null origin", vec![("origin", "null")], Some(token)),
        f(
            "cross-site fetch without origin",
            vec![("sec-fetch-site", "cross-site")],
            Some(token),
        ),
        f("no token", vec![("origin", origin)], None),
        f(
            "wrong token",
            vec![("origin", origin)],
            Some(&"0".repeat(48)),
        ),
        f("empty token", vec![("origin", origin)], Some("")),
        f(
            "token of an ended session",
            vec![("origin", origin)],
            Some(stale),
        ),
        f(
            "token of another user's session",
            vec![("origin", origin)],
            Some(someone_elses),
        ),
    ]
}

/// Sends `forgery` to `route` with `cookie`.
async fn forge(
    app: &TestApp,
    route: &Route,
    path: &str,
    cookie: &str,
    forgery: &Forgery,
    fields: &[(&'static str, String)],
) -> Answer {
    let mut headers = forgery.headers.clone();
    headers.push(("cookie", cookie.to_owned()));
    let body = body_for(path, fields, forgery.token.as_deref());
    send(app, &route.method, path, &headers, Some(body)).await
}

/// SECURITY.md CSRF-1: every unsafe route of the route table (read from the router's
/// source) is sent forged writes with a live administrator cookie — foreign,
/// look-alike and `null` origins, cross-site fetch metadata, no, wrong or empty
/// tokens, the token of an ended session or of another user — and, on the forms
/// used before signing in, the same without the matching pre-session cookie; then
/// with the token of a session that timed out. 100 % are refused and not one row
/// of the database changes, while the same write with the right token does change it.
#[tokio::test]
async fn every_unsafe_route_refuses_forged_tokenless_and_stale_writes() {
    let app = TestApp::spawn().await;
    let world = World::seed(&app).await;
    let origin = format!("http://127.0.0.1:{}", app.port);
    let cookie = format!("genkan_session={}", world.admin.session_cookie().unwrap());
    let ended = app.sign_in(ADMIN).await;
    let stale = ended.csrf.clone();
    ended.post("/logout", &[]).await.assert_redirect("/login");
    let host = app.sign_in(HOST).await;
    let forgeries = session_forgeries(&origin, &world.admin.csrf, &stale, &host.csrf);
    let fields = form_fields(world.id("site"), &app.user_id(HOST).await.get().to_string());
    let unsafe_routes: Vec<Route> = all_routes()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(unsafe_routes.len() >= 80, "{}", unsafe_routes.len());

    let before = snapshot(&app);
    let mut sent = 0;
    for r in &unsafe_routes {
        let path = world.fill(r);
        if bearer_or_signed(&r.path) {
            // A cookie (and the form token) gives no authority here.
            let mut headers = vec![("cookie", cookie.clone()), ("origin", origin.clone())];
            headers.push(("x-csrf-token", world.admin.csrf.clone()));
            let a = send(
                &app,
                &r.method,
                &path,
                &headers,
                Some(body_for(&path, &[], None)),
            )
            .await;
            assert!(
                a.status >= 400,
                "{} {path} with a cookie: {}",
                r.method,
                a.status
            );
            sent += 1;
        } else if PRE_SESSION.contains(&r.path.as_str()) {
            let form = send(&app, "GET", &path, &[], None).await;
            let pre = form
                .cookies
                .iter()
                .find(|c| c.starts_with("genkan_pre="))
                .unwrap()
                .clone();
            let token = pre["genkan_pre=".len()..].to_owned();
            // The link forms show no form without a link, but hand out the cookie.
            if form.body.contains("name=\"csrf\"") {
                assert_eq!(csrf_of(&form.body), token);
            }
            let cases: [Case<'_>; 5] = [
                (
                    "foreign origin",
                    vec![
                        ("cookie", pre.clone()),
                        ("origin", "https://evil.example".into()),
                    ],
                    Some(&token),
                ),
                (
                    "null origin",
                    vec![("cookie", pre.clone()), ("origin", "null".into())],
                    Some(&token),
                ),
                (
                    "cross-site fetch",
                    vec![
                        ("cookie", pre.clone()),
                        ("sec-fetch-site", "cross-site".into()),
                    ],
                    Some(&token),
                ),
                (
                    "no token",
                    vec![("cookie", pre.clone()), ("origin", origin.clone())],
                    None,
                ),
                ("no cookie", vec![("origin", origin.clone())], Some(&token)),
            ];
            for (name, headers, token) in cases {
                let a = send(
                    &app,
                    &r.method,
                    &path,
                    &headers,
                    Some(body_for(&path, &fields, token)),
                )
                .await;
                assert_eq!(a.status, 403, "{} {path}, {name}: {}", r.method, a.status);
                sent += 1;
            }
        } else {
            for forgery in &forgeries {
                let a = forge(&app, r, &path, &cookie, forgery, &fields).await;
                assert_eq!(
                    a.status, 403,
                    "{} {path}, {}: {} {}",
                    r.method, forgery.name, a.status, a.location
                );
                sent += 1;
            }
        }
    }
    assert_eq!(
        changed(&before, &snapshot(&app)),
        Vec::<String>::new(),
        "after {sent} forged requests"
    );

    // The check can fail: the same write with the right token and origin goes through.
    let proper = Forgery {
        name: "proper",
        headers: vec![("origin", origin.clone())],
        token: Some(world.admin.csrf.clone()),
    };
    let a = forge(
        &app,
        &route("POST", "/users"),
        "/users",
        &cookie,
        &proper,
        &fields,
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(changed(&before, &snapshot(&app)).contains(&"users".to_owned()));

    // A session that timed out: its cookie and token together are refused everywhere.
    let timed_out = app.sign_in(ADMIN).await;
    let cookie = format!("genkan_session={}", timed_out.session_cookie().unwrap());
    app.clock
        .advance(Duration::minutes(30) + Duration::seconds(1));
    // Half an hour on, the seeded kiosk counts as silent: report it now, as the
    // scheduler (ticking every 20 s) would at any moment, so its alert is not taken
    // for a change made by a refused request.
    app.store
        .alert_silent_kiosks(app.clock.now())
        .await
        .unwrap();
    let before = snapshot(&app);
    let expired = Forgery {
        name: "timed-out session",
        headers: vec![("origin", origin.clone())],
        token: Some(timed_out.csrf.clone()),
    };
    for r in unsafe_routes
        .iter()
        .filter(|r| !bearer_or_signed(&r.path) && !PRE_SESSION.contains(&r.path.as_str()))
    {
        let path = world.fill(r);
        let a = forge(&app, r, &path, &cookie, &expired, &fields).await;
        assert!(
            a.status == 303 && a.location == "/login",
            "{} {path}, {}: {} {}",
            r.method,
            expired.name,
            a.status,
            a.location
        );
    }
    assert_eq!(changed(&before, &snapshot(&app)), Vec::<String>::new());
}

fn route(method: &str, path: &str) -> Route {
    Route {
        method: method.to_owned(),
        path: path.to_owned(),
    }
}

/// Whether an answer hands something out: a page, or a redirect anywhere but to
/// signing in.
fn granted(a: &Answer) -> bool {
    (200..300).contains(&a.status) || (a.status == 303 && !a.location.starts_with("/login"))
}

/// SECURITY.md CSRF-1 (second half): every GET route of the route table is called
/// with real ids as the administrator (web pages with the session cookie, the admin
/// API with a token, the kiosk API with a kiosk credential) and anonymously; not one
/// row of the database changes (only "last used" marks are left out of the comparison).
#[tokio::test]
async fn no_get_route_changes_state() {
    let app = TestApp::spawn().await;
    let world = World::seed(&app).await;
    let cookie = format!("genkan_session={}", world.admin.session_cookie().unwrap());
    let gets: Vec<Route> = all_routes()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert!(gets.len() >= 50, "{}", gets.len());
    let before = snapshot(&app);
    let mut answered = 0;
    for r in &gets {
        let path = world.fill(r);
        let credential = if r.path.starts_with("/api/kiosk/") {
            ("authorization", format!("Bearer {}", world.kiosk))
        } else if r.path.starts_with("/api/") {
            ("authorization", format!("Bearer {}", world.token))
        } else {
            ("cookie", cookie.clone())
        };
        let signed_in = send(&app, "GET", &path, &[credential], None).await;
        assert!(signed_in.status < 500, "GET {path}: {}", signed_in.status);
        answered += usize::from(signed_in.status == 200 || signed_in.status == 303);
        let anonymous = send(&app, "GET", &path, &[], None).await;
        assert!(anonymous.status < 500, "GET {path}: {}", anonymous.status);
        let after = snapshot(&app);
        assert_eq!(
            changed(&before, &after),
            Vec::<String>::new(),
            "GET {path} changed the database"
        );
    }
    // The ids were real: nearly every route answered with its page.
    assert!(
        answered * 10 >= gets.len() * 9,
        "{answered} of {}",
        gets.len()
    );
}

/// SECURITY.md MFA-2: after the password of an account with a second factor, and
/// before its code, every route of the route table (all methods, real ids, the
/// session's own CSRF token) answers no more than it answers a stranger, and the
/// database does not change. The second-factor pages and signing out are the only
/// exceptions (tested in `mfa`).
#[tokio::test]
async fn between_password_and_code_no_route_gives_more_than_to_a_stranger() {
    let app = TestApp::spawn().await;
    let world = World::seed(&app).await;
    crate::mfa::enrol(&app, &world.admin).await;
    app.clock.advance(Duration::seconds(60));
    let (pending, page) = app.password_step(ADMIN, PASSWORD, None).await;
    page.assert_redirect("/login/mfa");
    let token = csrf_of(&pending.get("/login/mfa").await.body);
    let cookie = format!("genkan_session={}", pending.session_cookie().unwrap());
    let origin = format!("http://127.0.0.1:{}", app.port);
    let fields = form_fields("1", "1");
    let before = snapshot(&app);
    let mut walked = 0;
    for r in all_routes()
        .iter()
        .filter(|r| !r.path.starts_with("/login/mfa") && r.path != "/logout")
    {
        let path = world.fill(r);
        let body = (r.method != "GET").then(|| body_for(&path, &fields, Some(&token)));
        let headers = vec![("cookie", cookie.clone()), ("origin", origin.clone())];
        let as_pending = send(&app, &r.method, &path, &headers, body.clone()).await;
        let as_stranger = send(&app, &r.method, &path, &[("origin", origin.clone())], body).await;
        assert!(
            !granted(&as_pending) || granted(&as_stranger),
            "{} {path}: {} {} while the second factor is pending",
            r.method,
            as_pending.status,
            as_pending.location
        );
        walked += 1;
    }
    assert!(walked >= 120, "{walked}");
    assert_eq!(changed(&before, &snapshot(&app)), Vec::<String>::new());
    // The pending session itself still works for its one purpose.
    assert_eq!(pending.get("/login/mfa").await.status, 200);
}
