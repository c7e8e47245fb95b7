//! API-1: every scope against every `/api/v1` endpoint (the table checked against the router): out of scope 403 and nothing changed, within scope past the check; and the shared token helpers of `api_credentials`.

use chrono::{DateTime, Duration, Utc};
use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_store::AuditCtx;
use genkan_store::tokens::IssuedToken;
use serde_json::{Value, json};

use crate::admin_routes::api_body;
use crate::helpers::{ADMIN, DESK, HOST, TestApp};
use crate::route_table::{Answer, Route, World, all_routes, changed, send, snapshot};

/// What a `/api/v1` endpoint asks of the token that calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Any valid access token.
    AnyToken,
    /// This scope (or `admin`), and an owner whose role allows it.
    Scope(Scope),
    /// No bearer at all: the credential is in the body.
    BodyCredential,
}

/// The API's promise, endpoint by endpoint (OpenAPI and `docs`): a new endpoint
/// fails `every_api_endpoint_is_in_the_scope_table` until it is added here.
const SCOPES: [(&str, &str, Need); 22] = [
    ("GET", "/api/v1/me", Need::AnyToken),
    ("GET", "/api/v1/sites", Need::Scope(Scope::DirectoryRead)),
    ("POST", "/api/v1/sites", Need::Scope(Scope::Admin)),
    ("GET", "/api/v1/users", Need::Scope(Scope::DirectoryRead)),
    ("POST", "/api/v1/users", Need::Scope(Scope::Admin)),
    ("GET", "/api/v1/kiosks", Need::Scope(Scope::Admin)),
    ("POST", "/api/v1/kiosks", Need::Scope(Scope::Admin)),
    (
        "POST",
        "/api/v1/kiosks/{id}/revoke",
        Need::Scope(Scope::Admin),
    ),
    (
        "GET",
        "/api/v1/appointments",
        Need::Scope(Scope::AppointmentsRead),
    ),
    (
        "POST",
        "/api/v1/appointments",
        Need::Scope(Scope::AppointmentsWrite),
    ),
    (
        "GET",
        "/api/v1/appointments/{id}",
        Need::Scope(Scope::AppointmentsRead),
    ),
    (
        "POST",
        "/api/v1/appointments/{id}/cancel",
        Need::Scope(Scope::AppointmentsWrite),
    ),
    (
        "GET",
        "/api/v1/appointments/{id}/deliveries",
        Need::Scope(Scope::AppointmentsRead),
    ),
    ("GET", "/api/v1/visits", Need::Scope(Scope::VisitsRead)),
    ("PUT", "/api/v1/settings/slack", Need::Scope(Scope::Admin)),
    (
        "PUT",
        "/api/v1/settings/slack-bot",
        Need::Scope(Scope::Admin),
    ),
    ("PUT", "/api/v1/settings/teams", Need::Scope(Scope::Admin)),
    (
        "PUT",
        "/api/v1/settings/chatwork",
        Need::Scope(Scope::Admin),
    ),
    ("PUT", "/api/v1/settings/webhook", Need::Scope(Scope::Admin)),
    (
        "PUT",
        "/api/v1/settings/notifications",
        Need::Scope(Scope::Admin),
    ),
    ("POST", "/api/v1/auth/refresh", Need::BodyCredential),
    ("GET", "/api/v1/tokens", Need::Scope(Scope::Admin)),
];

/// `POST /api/v1/tokens/{id}/revoke` is in the table too, listed apart because its
/// target is a token made for it.
const REVOKE: (&str, &str, Need) = (
    "POST",
    "/api/v1/tokens/{id}/revoke",
    Need::Scope(Scope::Admin),
);

pub(crate) fn table() -> Vec<(Route, Need)> {
    SCOPES
        .iter()
        .chain([&REVOKE])
        .map(|(m, p, n)| {
            (
                Route {
                    method: (*m).to_owned(),
                    path: (*p).to_owned(),
                },
                *n,
            )
        })
        .collect()
}

/// Every `/api/v1` route the router has is in the scope table, and nothing else.
#[test]
fn every_api_endpoint_is_in_the_scope_table() {
    let mut api: Vec<Route> = all_routes()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .collect();
    let mut listed: Vec<Route> = table().into_iter().map(|(r, _)| r).collect();
    api.sort();
    listed.sort();
    assert_eq!(api, listed);
}

pub(crate) async fn issue(
    app: &TestApp,
    email: &str,
    scopes: Vec<Scope>,
    expires: Option<DateTime<Utc>>,
    refresh: Option<Duration>,
) -> IssuedToken {
    app.store
        .create_api_token(
            app.tenant,
            app.user_id(email).await,
            "api".into(),
            scopes,
            expires,
            refresh,
            AuditCtx::system(Some(app.tenant), app.clock.now()),
        )
        .await
        .unwrap()
}

/// A JSON request with an optional bearer credential.
pub(crate) async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let headers: Vec<(&str, String)> = bearer
        .map(|b| ("authorization", format!("Bearer {b}")))
        .into_iter()
        .collect();
    let body = body.map(|b| ("application/json".to_owned(), b.to_string().into_bytes()));
    send(app, method, path, &headers, body).await
}

/// The stable error code of an answer.
pub(crate) fn code(a: &Answer) -> String {
    serde_json::from_str::<Value>(&a.body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("<not a typed error: {}>", a.body))
}

#[track_caller]
pub(crate) fn assert_refused(a: &Answer, status: u16, what: &str) {
    let want = if status == 401 {
        "unauthorized"
    } else {
        "forbidden"
    };
    assert_eq!(
        (a.status, code(a).as_str()),
        (status, want),
        "{what}: {}",
        a.body
    );
}

/// SECURITY.md API-1: tokens of every single scope, of none, of all but `admin`,
/// and tokens with every scope owned by a host and a receptionist, are sent to every
/// `/api/v1` endpoint (the table is checked against the router) with real ids and
/// bodies that would be accepted. Every call out of the token's scope (or beyond
/// its owner's role) answers 403 `forbidden` and changes no row; every call within
/// it gets past the check (no 401/403). No scope opens the kiosk API (401).
#[tokio::test]
async fn each_scope_reaches_exactly_its_endpoints() {
    let app = TestApp::spawn().await;
    let world = World::seed(&app).await;
    let victim = issue(&app, ADMIN, vec![Scope::AppointmentsRead], None, None).await;
    let mut tokens: Vec<(String, &str, Vec<Scope>)> = vec![
        ("no scope".into(), ADMIN, vec![]),
        (
            "all but admin".into(),
            ADMIN,
            Scope::ALL
                .into_iter()
                .filter(|s| *s != Scope::Admin)
                .collect(),
        ),
        ("host, every scope".into(), HOST, Scope::ALL.to_vec()),
        (
            "receptionist, every scope".into(),
            DESK,
            Scope::ALL.to_vec(),
        ),
    ];
    for s in Scope::ALL {
        tokens.push((format!("only {}", s.as_str()), ADMIN, vec![s]));
    }
    let mut issued = Vec::new();
    for (name, owner, scopes) in &tokens {
        let secret = issue(&app, owner, scopes.clone(), None, None)
            .await
            .access_token;
        issued.push((name.as_str(), *owner, scopes.clone(), secret));
    }
    let allowed = |need: Need, owner: &str, scopes: &[Scope]| match need {
        Need::AnyToken | Need::BodyCredential => true,
        Need::Scope(s) => {
            (s != Scope::Admin || owner == ADMIN)
                && (scopes.contains(&s) || scopes.contains(&Scope::Admin))
        }
    };
    let path_of = |r: &Route| {
        if r.path == REVOKE.1 {
            format!("/api/v1/tokens/{}/revoke", victim.token_id)
        } else {
            world.fill(r)
        }
    };
    let scoped: Vec<(Route, Need)> = table()
        .into_iter()
        .filter(|(_, n)| *n != Need::BodyCredential)
        .collect();

    // Out of scope first: all refused, nothing changed.
    let before = snapshot(&app);
    let mut refused = 0;
    for (r, need) in &scoped {
        for (name, owner, scopes, secret) in &issued {
            if allowed(*need, owner, scopes) {
                continue;
            }
            let path = path_of(r);
            let a = call(
                &app,
                &r.method,
                &path,
                Some(secret),
                api_body(&r.path, &world).as_ref(),
            )
            .await;
            assert_refused(&a, 403, &format!("{} {path} with {name}", r.method));
            refused += 1;
        }
    }
    assert_eq!(changed(&before, &snapshot(&app)), Vec::<String>::new());
    assert!(refused >= 80, "{refused}");

    // Within scope: past the check every time (the answers themselves are other tests').
    let mut admitted = 0;
    for (r, need) in &scoped {
        for (name, owner, scopes, secret) in &issued {
            if !allowed(*need, owner, scopes) {
                continue;
            }
            let path = path_of(r);
            let a = call(
                &app,
                &r.method,
                &path,
                Some(secret),
                api_body(&r.path, &world).as_ref(),
            )
            .await;
            assert!(
                ![401, 403].contains(&a.status) && a.status < 500,
                "{} {path} with {name}: {} {}",
                r.method,
                a.status,
                a.body
            );
            admitted += 1;
        }
    }
    assert!(admitted >= 60, "{admitted}");

    // No scope is a kiosk credential.
    let kiosk_routes: Vec<Route> = all_routes()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/kiosk/v1/") && r.path != "/api/kiosk/v1/pair")
        .collect();
    assert!(kiosk_routes.len() >= 8, "{kiosk_routes:?}");
    for r in &kiosk_routes {
        let path = world.fill(r);
        for (name, _, _, secret) in &issued {
            let body = (r.method != "GET").then(|| json!({}));
            let a = call(&app, &r.method, &path, Some(secret), body.as_ref()).await;
            assert_refused(&a, 401, &format!("{} {path} with {name}", r.method));
        }
    }
}
