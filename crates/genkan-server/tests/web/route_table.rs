//! Every route of the router read from its source, a seeded tenant whose real ids fill the routes' parameters, raw requests, and a snapshot of every table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Duration;
use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_store::AuditCtx;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN, Browser, HOST, TestApp};

/// One route of the router: a method and a path pattern such as `/users/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Route {
    /// `GET`, `POST`, `PUT`, `DELETE` or `PATCH`.
    pub(crate) method: String,
    /// The path with `{name}` parameters.
    pub(crate) path: String,
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The prefix under which `routes/mod.rs` nests the routers of `file`.
fn prefix_of(file: &Path) -> &'static str {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let in_routes = file
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|p| p == "routes");
    match (in_routes, name) {
        (true, "api_v1.rs" | "api_channels.rs") => "/api/v1",
        (true, "kiosk_v1.rs") => "/api/kiosk/v1",
        _ => "",
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `.route(…)` calls of one source text (comment lines removed).
fn routes_in(source: &str, prefix: &str) -> Vec<Route> {
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find(".route(") {
        let open = from + at + ".route".len();
        let mut depth = 0usize;
        let mut end = open;
        for (i, b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let call = &code[open..end];
        let path = call.split('"').nth(1).expect("a route without a path");
        for method in METHODS {
            let token = format!("{method}(");
            let used = call.match_indices(&token).any(|(i, _)| {
                i > 0 && matches!(call.as_bytes()[i - 1], b'.' | b'(' | b':' | b' ' | b'\n')
            });
            if used {
                found.push(Route {
                    method: method.to_ascii_uppercase(),
                    path: format!("{prefix}{path}"),
                });
            }
        }
        from = end;
    }
    found
}

/// Every route of the application's router (not the metrics listener's), sorted.
pub(crate) fn all_routes() -> Vec<Route> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut routes: Vec<Route> = files
        .iter()
        .flat_map(|f| routes_in(&std::fs::read_to_string(f).unwrap(), prefix_of(f)))
        .collect();
    routes.sort();
    routes
}

#[test]
fn the_route_table_read_from_the_source_is_complete_and_has_no_duplicates() {
    let routes = all_routes();
    let mut unique = routes.clone();
    unique.dedup();
    assert_eq!(unique.len(), routes.len(), "a route counted twice");
    assert!(routes.len() >= 120, "only {} routes", routes.len());
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/healthz"),
        ("GET", "/static/{name}"),
        ("POST", "/login"),
        ("GET", "/appointments/{id}/edit"),
        ("POST", "/appointments/{id}/edit"),
        ("POST", "/users/import"),
        ("POST", "/settings/logo"),
        ("POST", "/kiosks"),
        ("GET", "/settings/templates/{kind}/{locale}"),
        ("PUT", "/api/v1/settings/webhook"),
        ("POST", "/api/v1/tokens/{id}/revoke"),
        ("POST", "/api/kiosk/v1/check-in"),
        ("GET", "/api/kiosk/v1/visits/{visit_id}/reply"),
        ("POST", "/integrations/slack/interactions"),
    ] {
        assert!(
            routes.iter().any(|r| r.method == method && r.path == path),
            "{method} {path} not found"
        );
    }
}

/// A tenant with one of everything, so every route's parameters name real objects.
pub(crate) struct World {
    /// The administrator, signed in.
    pub(crate) admin: Browser,
    /// An administrator API token.
    pub(crate) token: String,
    /// A paired kiosk's credential.
    pub(crate) kiosk: String,
    /// Values for path parameters, by the name the route gives them in context.
    ids: BTreeMap<&'static str, String>,
}

/// The first value `sql` selects, as text.
fn one(conn: &rusqlite::Connection, sql: &str) -> String {
    conn.query_row(sql, [], |r| {
        let v: rusqlite::types::Value = r.get(0)?;
        Ok(match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

impl World {
    /// Seeds a site, an appointment with a visitor who is inside, a kiosk, a group,
    /// an invited user, a second session of the admin and an API token.
    pub(crate) async fn seed(app: &TestApp) -> Self {
        let admin = app.sign_in(ADMIN).await;
        let admin_id = app.user_id(ADMIN).await;
        let token = app
            .store
            .create_api_token(
                app.tenant,
                admin_id,
                "walk".into(),
                vec![Scope::Admin],
                None,
                None,
                AuditCtx::system(Some(app.tenant), app.clock.now()),
            )
            .await
            .unwrap()
            .access_token;
        let api = |method: Method, path: &'static str, body: serde_json::Value| {
            let admin = &admin;
            let token = token.clone();
            async move {
                let (status, _, body) = admin.api(method, path, &token, Some(body), &[]).await;
                assert!((200..300).contains(&status), "{path}: {status} {body}");
                body
            }
        };
        let site = api(
            Method::POST,
            "/api/v1/sites",
            json!({"name": "Walk HQ", "time_zone": "Asia/Tokyo", "address": "1-1 Chiyoda"}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        let now = app.clock.now();
        let host = app.user_id(HOST).await;
        let appointment = api(
            Method::POST,
            "/api/v1/appointments",
            json!({"site_id": site, "host_id": host.get(), "title": "Walk",
                   "starts_at": now.to_rfc3339(), "ends_at": (now + Duration::hours(2)).to_rfc3339(),
                   "visitors": [{"name": "Walk Visitor", "email": "walk@visitor.example", "locale": "en"},
                                {"name": "Second Visitor", "email": "second@visitor.example", "locale": "en"}]}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        let pairing = api(
            Method::POST,
            "/api/v1/kiosks",
            json!({"site_id": site, "name": "Lobby"}),
        )
        .await["pairing_code"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, _, paired) = admin
            .api(
                Method::POST,
                "/api/kiosk/v1/pair",
                "",
                Some(json!({"pairing_code": pairing, "device_name": "walk"})),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{paired}");
        let kiosk = paired["credential"].as_str().unwrap().to_owned();
        let conn = raw_db(app);
        let visitor = one(
            &conn,
            &format!("SELECT id FROM visitors WHERE appointment_id = {appointment} ORDER BY id"),
        );
        admin
            .post(&format!("/onsite/check-in/{visitor}"), &[])
            .await
            .assert_redirect("/onsite");
        admin
            .post("/users/groups", &[("name", "Walkers")])
            .await
            .assert_redirect("/users/groups");
        admin
            .post(
                "/users",
                &[
                    ("email", "invited@acme.example"),
                    ("name", "Invited Person"),
                    ("role", "host"),
                ],
            )
            .await
            .assert_redirect("/users?notice=invited");
        // Another session of the administrator, to be named by its handle.
        let other_session = app.sign_in(ADMIN).await.session_cookie().unwrap();
        let handle: String = genkan_store::kiosks::secret_hash(&other_session)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let ids = BTreeMap::from([
            ("site", site.to_string()),
            ("appointment", appointment.to_string()),
            ("visitor", visitor),
            (
                "visit",
                one(&conn, "SELECT id FROM visits ORDER BY id LIMIT 1"),
            ),
            ("user", host.get().to_string()),
            (
                "group",
                one(&conn, "SELECT id FROM groups ORDER BY id LIMIT 1"),
            ),
            (
                "kiosk",
                one(&conn, "SELECT id FROM kiosks ORDER BY id LIMIT 1"),
            ),
            (
                "token",
                one(&conn, "SELECT id FROM api_tokens ORDER BY id LIMIT 1"),
            ),
            ("handle", handle),
        ]);
        Self {
            admin,
            token,
            kiosk,
            ids,
        }
    }

    /// The seeded object called `name` (`site`, `appointment`, `visitor`, `visit`,
    /// `user`, `group`, `kiosk`, `token`, `handle`).
    pub(crate) fn id(&self, name: &str) -> &str {
        &self.ids[name]
    }

    /// `route`'s path with every parameter replaced by a real value.
    pub(crate) fn fill(&self, route: &Route) -> String {
        let p = &route.path;
        let id = |name: &str| self.ids[name].clone();
        let object = if p.starts_with("/appointments/") || p.starts_with("/api/v1/appointments/") {
            id("appointment")
        } else if p.starts_with("/sites/") {
            id("site")
        } else if p.starts_with("/visits/") || p.starts_with("/api/kiosk/v1/visits/") {
            id("visit")
        } else if p.starts_with("/users/groups/") {
            id("group")
        } else if p.starts_with("/users/") {
            id("user")
        } else if p.starts_with("/kiosks/") || p.starts_with("/api/v1/kiosks/") {
            id("kiosk")
        } else if p.starts_with("/api/v1/tokens/") || p.starts_with("/settings/api-tokens/") {
            id("token")
        } else if p.starts_with("/privacy/visitors/") {
            id("visitor")
        } else {
            String::new()
        };
        p.replace("{id}", &object)
            .replace("{visit_id}", &object)
            .replace("{visitor}", &id("visitor"))
            .replace("{visit}", &id("visit"))
            .replace("{handle}", &id("handle"))
            .replace("{name}", "app.js")
            .replace("{kind}", "invitation")
            .replace("{locale}", "en")
            .replace("{channel}", "webhook")
            .replace("{secret}", &"ab".repeat(32))
            .replace("{token}", &"cd".repeat(32))
    }
}

/// A second connection to the application's database, opened with its key and then
/// set up with `pragmas` (e.g. `PRAGMA query_only = 1;`).
pub(crate) fn keyed_db(app: &TestApp, pragmas: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(app.store.path()).unwrap();
    let hex: String = app
        .store
        .keys()
        .database
        .bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\"; {pragmas}"))
        .unwrap();
    conn
}

/// A read-only second connection to the application's database.
pub(crate) fn raw_db(app: &TestApp) -> rusqlite::Connection {
    keyed_db(app, "PRAGMA query_only = 1;")
}

/// Columns that record that something was used, not a change of state. Every column
/// of `kiosk_roster_passes` is one: it records which passes a kiosk's roster (a GET)
/// handed out, and when, so journal replays can be held to it.
const USE_MARKS: [(&str, &str); 8] = [
    ("sessions", "last_seen_at"),
    ("api_tokens", "last_used_at"),
    ("kiosks", "last_seen_at"),
    ("kiosk_roster_passes", "kiosk_id"),
    ("kiosk_roster_passes", "pass_id"),
    ("kiosk_roster_passes", "tenant_id"),
    ("kiosk_roster_passes", "first_at"),
    ("kiosk_roster_passes", "last_at"),
];

/// Every row of every table (use marks left out), to compare before and after.
pub(crate) fn snapshot(app: &TestApp) -> BTreeMap<String, Vec<String>> {
    let conn = raw_db(app);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = BTreeMap::new();
    for table in tables {
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let kept: Vec<String> = columns
            .iter()
            .filter(|c| !USE_MARKS.contains(&(table.as_str(), c.as_str())))
            .map(|c| format!("\"{c}\""))
            .collect();
        if kept.is_empty() {
            continue;
        }
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM \"{table}\" ORDER BY 1",
                kept.join(", ")
            ))
            .unwrap();
        let n = kept.len();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i)))
                    .collect();
                Ok(cells.join("|"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        out.insert(table, rows);
    }
    out
}

/// The tables whose rows differ between two snapshots.
pub(crate) fn changed(
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(t, rows)| before.get(*t) != Some(rows))
        .map(|(t, _)| t.clone())
        .collect()
}

/// An answer to a raw request.
#[derive(Debug)]
pub(crate) struct Answer {
    /// Status.
    pub(crate) status: u16,
    /// `Location`, if any.
    pub(crate) location: String,
    /// `name=value` of every `Set-Cookie`.
    pub(crate) cookies: Vec<String>,
    /// Body.
    pub(crate) body: String,
}

/// Sends one request exactly as given: no cookie jar, no redirects followed.
pub(crate) async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<(String, Vec<u8>)>,
) -> Answer {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = http.request(
        Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{path}", app.base),
    );
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    if let Some((content_type, bytes)) = body {
        req = req.header("content-type", content_type).body(bytes);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let cookies = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect();
    Answer {
        status,
        location,
        cookies,
        body: r.text().await.unwrap_or_default(),
    }
}
