//! ISO-4: every administrator-only route (web and `/api/v1`, found in the router's source) refused to hosts, receptionists, kiosks, tokens without the admin scope and strangers, with no row changed.

use std::path::{Path, PathBuf};

use genkan_core::Clock as _;
use genkan_core::access::Scope;
use genkan_store::AuditCtx;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, DESK, FilePart, HOST, TestApp, multipart};
use crate::route_table::{Answer, Route, World, all_routes, changed, send, snapshot};

/// The source file a handler expression such as `security::page` or
/// `crate::web::assets::serve` names, seen from `file`, and the function's name.
fn resolve(src: &Path, file: &Path, expr: &str) -> (PathBuf, String) {
    let segments: Vec<&str> = expr.split("::").collect();
    let (name, modules) = segments.split_last().unwrap();
    let mut dir = if file.file_name().is_some_and(|n| n == "mod.rs") {
        file.parent().unwrap().to_path_buf()
    } else {
        file.with_extension("")
    };
    let mut rest: &[&str] = modules;
    if let Some((&"crate", tail)) = rest.split_first() {
        dir = src.to_path_buf();
        rest = tail;
    }
    while let Some((&"super", tail)) = rest.split_first() {
        dir = dir.parent().unwrap().to_path_buf();
        rest = tail;
    }
    // A child module, or (brought in by `use super::…`) a sibling.
    let target = if rest.is_empty() {
        file.to_path_buf()
    } else {
        let module = rest.join("/");
        [dir, file.parent().unwrap().to_path_buf()]
            .iter()
            .flat_map(|d| {
                [
                    d.join(format!("{module}.rs")),
                    d.join(&module).join("mod.rs"),
                ]
            })
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{expr} from {file:?}: module not found"))
    };
    (target, (*name).to_owned())
}

/// The text of top-level function `name` of `file`, up to its closing brace.
fn function_body(file: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    let start = text
        .find(&format!("fn {name}("))
        .or_else(|| text.find(&format!("fn {name}<")))
        .unwrap_or_else(|| panic!("no fn {name} in {file:?}"));
    let end = text[start..]
        .find("\n}\n")
        .map_or(text.len(), |e| start + e);
    text[start..end].to_owned()
}

/// Whether a handler's body refuses everyone but administrators before acting.
fn refuses_non_admins(body: &str) -> bool {
    body.contains("Permission::Administer)?")
        || body.contains("admin(&staff)?")
        || body
            .lines()
            .any(|l| l.contains('!') && l.contains(".may(Permission::Administer)"))
}

/// Whether function `name` of `file` demands the administrator permission itself or
/// through a function of the same file it calls (`depth` calls deep).
fn demands_admin(file: &Path, name: &str, depth: usize) -> bool {
    let body = function_body(file, name);
    if refuses_non_admins(&body) {
        return true;
    }
    if depth == 0 {
        return false;
    }
    let text = std::fs::read_to_string(file).unwrap();
    let local: Vec<&str> = text
        .match_indices("fn ")
        .filter_map(|(i, _)| {
            let rest = &text[i + 3..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            (rest[end..].starts_with('(') && end > 0).then(|| &rest[..end])
        })
        .collect();
    local.iter().any(|helper| {
        *helper != name
            && body.match_indices(&format!("{helper}(")).any(|(i, _)| {
                let before = body[..i].chars().next_back();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                    && !body[..i].ends_with("fn ")
            })
            && demands_admin(file, helper, depth - 1)
    })
}

/// Every route whose handler demands the `Administer` permission, read from the
/// router's source: each `.route(…)` call's handler for each method, looked up in
/// its module.
fn admin_only_routes() -> Vec<Route> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src.join("routes"), &mut files);
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let prefix = match file.file_name().and_then(|n| n.to_str()) {
            Some("api_v1.rs" | "api_channels.rs") => "/api/v1",
            Some("kiosk_v1.rs") => "/api/kiosk/v1",
            _ => "",
        };
        for (at, _) in text.match_indices(".route(") {
            let call = balanced(&text[at + ".route".len()..]);
            let mut parts = call.splitn(3, '"');
            let (Some(_), Some(path), Some(code)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            for method in ["get", "post", "put", "delete", "patch"] {
                let token = format!("{method}(");
                for (i, _) in code.match_indices(&token) {
                    if i > 0 && code.as_bytes()[i - 1].is_ascii_alphanumeric() {
                        continue;
                    }
                    let arg = &code[i + token.len()..];
                    let expr: String = arg
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    if expr.is_empty() {
                        continue; // a closure: no permission check to find
                    }
                    let (target, name) = resolve(&src, file, &expr);
                    if demands_admin(&target, &name, 2) {
                        found.push(Route {
                            method: method.to_ascii_uppercase(),
                            path: format!("{prefix}{path}"),
                        });
                    }
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// From an opening parenthesis to its balanced closing one.
fn balanced(text: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 1 => return &text[..=i],
            ')' => depth -= 1,
            _ => {}
        }
    }
    text
}

/// Path prefixes where every route is for administrators only.
const ADMIN_AREAS: [&str; 9] = [
    "/users",
    "/settings",
    "/sites",
    "/kiosks",
    "/audit",
    "/privacy",
    "/api/v1/kiosks",
    "/api/v1/settings",
    "/api/v1/tokens",
];

/// A body an administrator's request to `route` would be accepted with, so that a
/// refusal can only come from who is asking.
fn body_for(route: &Route, world: &World, csrf: &str) -> Option<(String, Vec<u8>)> {
    if route.method == "GET" {
        return None;
    }
    if let Some(json) = api_body(&route.path, world) {
        return Some(("application/json".to_owned(), json.to_string().into_bytes()));
    }
    let host = world.id("user").to_owned();
    let site = world.id("site").to_owned();
    let fields: Vec<(&str, &str)> = vec![
        ("csrf", csrf),
        ("email", "iso4@acme.example"),
        ("name", "Iso Four"),
        ("role", "admin"),
        ("language", "en"),
        ("mfa_policy", "everyone"),
        ("allowlist", "203.0.113.0/24"),
        ("allowlist_scope", "everyone"),
        ("address", "Iso Street"),
        ("time_zone", "Asia/Tokyo"),
        ("site_id", &site),
        ("host_id", &host),
        ("member", &host),
        ("webhook_url", "https://hooks.slack.com/services/T0/B0/iso4"),
        ("url", "https://example.com/iso4"),
        ("retention_days", "1"),
        ("subject", "Iso"),
        ("body", "Iso"),
        ("scope", "visits:read"),
        ("days", "30"),
    ];
    if route.path == "/settings/logo" || route.path == "/users/import" {
        let logo = route.path == "/settings/logo";
        let file = FilePart {
            field: if logo { "logo" } else { "file" },
            name: "iso4.csv",
            content_type: "text/csv",
            bytes: b"email,display_name,role\niso4b@acme.example,Iso,admin\n",
        };
        return Some(multipart(&fields, &file));
    }
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    Some((
        "application/x-www-form-urlencoded".to_owned(),
        encoded.into_bytes(),
    ))
}

/// A valid JSON body for an unsafe `/api/v1` route, `None` for other routes.
pub(crate) fn api_body(path: &str, world: &World) -> Option<Value> {
    let site: i64 = world.id("site").parse().unwrap();
    let host: i64 = world.id("user").parse().unwrap();
    Some(match path {
        "/api/v1/sites" => json!({"name": "Iso Annex", "time_zone": "Asia/Tokyo"}),
        "/api/v1/users" => {
            json!({"email": "iso-api@acme.example", "display_name": "Iso Api", "role": "admin"})
        }
        "/api/v1/kiosks" => json!({"site_id": site, "name": "Iso Kiosk"}),
        "/api/v1/appointments" => json!({
            "site_id": site, "host_id": host, "title": "Iso",
            "starts_at": "2026-11-23T02:00:00Z", "ends_at": "2026-11-23T03:00:00Z",
            "visitors": [{"name": "Iso Visitor", "email": "iso@visitor.example", "locale": "en"}]}),
        "/api/v1/settings/slack" => json!({"webhook_url": null}),
        "/api/v1/settings/slack-bot" => json!({"bot_token": null}),
        "/api/v1/settings/teams" | "/api/v1/settings/webhook" => json!({"url": null}),
        "/api/v1/settings/chatwork" => json!({"token": null}),
        "/api/v1/settings/notifications" => {
            json!({"reminder_enabled": true, "reminder_hour": 9, "no_show_minutes": 30})
        }
        "/api/v1/auth/refresh" => json!({"refresh_token": "gk_rt_0"}),
        p if p.starts_with("/api/v1/") => json!({}),
        _ => return None,
    })
}

/// A caller who is not an administrator, and what the app answers it on each kind of route.
struct Caller {
    name: &'static str,
    headers: Vec<(&'static str, String)>,
    /// The session's form token, if a session.
    csrf: String,
    /// The answer on a web route: 403 for a session, a redirect to sign in otherwise.
    web: Expect,
    /// The answer on an `/api/v1` route: 403 `forbidden` for a token, 401 `unauthorized` otherwise.
    api: Expect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 403 with the "not allowed" page or the `forbidden` code.
    Forbidden,
    /// 401 with the `unauthorized` code.
    Unauthorized,
    /// 303 to `/login`.
    SignIn,
}

fn check(expect: Expect, a: &Answer, api: bool) -> Result<(), String> {
    let ok = match (expect, api) {
        (Expect::Forbidden, true) => {
            a.status == 403
                && serde_json::from_str::<Value>(&a.body).is_ok_and(|v| v["code"] == "forbidden")
        }
        (Expect::Forbidden, false) => {
            a.status == 403 && a.body.contains("Not allowed") && !a.body.contains("form expired")
        }
        (Expect::Unauthorized, _) => {
            a.status == 401
                && serde_json::from_str::<Value>(&a.body).is_ok_and(|v| v["code"] == "unauthorized")
        }
        (Expect::SignIn, _) => a.status == 303 && a.location == "/login",
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {expect:?}, got {} {} {}",
            a.status,
            a.location,
            a.body.chars().take(200).collect::<String>()
        ))
    }
}

/// SECURITY.md ISO-4: every route whose handler demands the administrator permission
/// (read from the router's source: web screens and `/api/v1`, 65 today) is called
/// with real ids and a body an administrator's request would succeed with, by a
/// host's and a receptionist's web session (with their own valid form token), a
/// kiosk credential, four tokens without the admin permission (an admin's tokens
/// with no scope and with every scope but `admin`, a host's and a receptionist's token holding every
/// scope) and anonymously. Sessions get 403 on web routes and 401 on the API, tokens
/// get 403 `forbidden` on the API, credentials the web does not take (and nothing)
/// get a redirect to sign in, kiosk credentials and strangers 401 `unauthorized` on
/// the API: never 2xx, and not one row of any table changes. The administrator gets
/// each admin-only page, and the bodies used are accepted from the administrator.
#[tokio::test]
async fn admin_routes_refuse_hosts_receptionists_kiosks_scoped_tokens_and_strangers() {
    let app = TestApp::spawn().await;
    let world = World::seed(&app).await;
    let admin_only = admin_only_routes();
    let web_count = admin_only
        .iter()
        .filter(|r| !r.path.starts_with("/api/"))
        .count();
    let api_count = admin_only.len() - web_count;
    assert!(
        web_count >= 50 && api_count >= 13,
        "{web_count} web, {api_count} API: {admin_only:?}"
    );
    // The source reading finds the routes one would name by hand.
    for (method, path) in [
        ("GET", "/users"),
        ("POST", "/users/{id}/disable"),
        ("GET", "/settings"),
        ("POST", "/settings/security"),
        ("POST", "/kiosks"),
        ("GET", "/audit"),
        ("POST", "/users/import"),
        ("POST", "/api/v1/sites"),
        ("PUT", "/api/v1/settings/webhook"),
        ("POST", "/api/v1/tokens/{id}/revoke"),
        ("GET", "/api/v1/kiosks"),
    ] {
        assert!(
            admin_only
                .iter()
                .any(|r| r.method == method && r.path == path),
            "{method} {path} not found admin-only"
        );
    }
    let all = all_routes();
    assert!(admin_only.iter().all(|r| all.contains(r)));
    // Whole areas are the administrators': a handler there that lost its check would
    // drop out of the source reading, so it fails here instead.
    for r in &all {
        let area = ADMIN_AREAS
            .iter()
            .any(|a| r.path == *a || r.path.starts_with(&format!("{a}/")))
            || (r.method == "POST"
                && ["/api/v1/sites", "/api/v1/users"].contains(&r.path.as_str()));
        assert!(
            !area || admin_only.contains(r),
            "{} {} does not demand an administrator",
            r.method,
            r.path
        );
    }
    for (method, path) in [("GET", "/dashboard"), ("GET", "/api/v1/appointments")] {
        assert!(
            !admin_only
                .iter()
                .any(|r| r.method == method && r.path == path)
        );
    }

    let issue = async |email: &str, scopes: Vec<Scope>| {
        app.store
            .create_api_token(
                app.tenant,
                app.user_id(email).await,
                "iso4".into(),
                scopes,
                None,
                None,
                AuditCtx::system(Some(app.tenant), app.clock.now()),
            )
            .await
            .unwrap()
            .access_token
    };
    let everything = Scope::ALL.to_vec();
    let no_admin: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|s| *s != Scope::Admin)
        .collect();
    let host = app.sign_in(HOST).await;
    let desk = app.sign_in(DESK).await;
    let origin = format!("http://127.0.0.1:{}", app.port);
    let session = |b: &crate::helpers::Browser, name| Caller {
        name,
        headers: vec![
            (
                "cookie",
                format!("genkan_session={}", b.session_cookie().unwrap()),
            ),
            ("origin", origin.clone()),
            ("accept-language", "en".to_owned()),
        ],
        csrf: b.csrf.clone(),
        web: Expect::Forbidden,
        api: Expect::Unauthorized,
    };
    let bearer = |name, secret: String, api| Caller {
        name,
        headers: vec![
            ("authorization", format!("Bearer {secret}")),
            ("origin", origin.clone()),
        ],
        csrf: String::new(),
        web: Expect::SignIn,
        api,
    };
    let callers = vec![
        session(&host, "host session"),
        session(&desk, "receptionist session"),
        bearer(
            "kiosk credential",
            world.kiosk.clone(),
            Expect::Unauthorized,
        ),
        bearer(
            "admin's token without the admin scope",
            issue(ADMIN, no_admin).await,
            Expect::Forbidden,
        ),
        bearer(
            "admin's token without any scope",
            issue(ADMIN, Vec::new()).await,
            Expect::Forbidden,
        ),
        bearer(
            "host's token with every scope",
            issue(HOST, everything.clone()).await,
            Expect::Forbidden,
        ),
        bearer(
            "receptionist's token with every scope",
            issue(DESK, everything).await,
            Expect::Forbidden,
        ),
        Caller {
            name: "anonymous",
            headers: vec![("origin", origin.clone())],
            csrf: String::new(),
            web: Expect::SignIn,
            api: Expect::Unauthorized,
        },
    ];

    let before = snapshot(&app);
    let mut attempts = 0;
    let mut failures = Vec::new();
    for r in &admin_only {
        let path = world.fill(r);
        let api = r.path.starts_with("/api/");
        for c in &callers {
            let a = send(
                &app,
                &r.method,
                &path,
                &c.headers,
                body_for(r, &world, &c.csrf),
            )
            .await;
            attempts += 1;
            assert!(
                !(200..300).contains(&a.status),
                "{} {path} as {}",
                r.method,
                c.name
            );
            if let Err(e) = check(if api { c.api } else { c.web }, &a, api) {
                failures.push(format!("{} {path} as {}: {e}", r.method, c.name));
            }
        }
        let now = snapshot(&app);
        assert_eq!(
            changed(&before, &now),
            Vec::<String>::new(),
            "{} {path} changed the database",
            r.method
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(attempts, admin_only.len() * callers.len());
    assert!(attempts >= 500, "{attempts}");

    // The same routes are the administrator's: every admin-only page opens for them,
    // and the bodies used above are accepted from them.
    let admin_cookie = format!("genkan_session={}", world.admin.session_cookie().unwrap());
    for r in admin_only.iter().filter(|r| r.method == "GET") {
        let path = world.fill(r);
        let (credential, api) = if r.path.starts_with("/api/") {
            (("authorization", format!("Bearer {}", world.token)), true)
        } else {
            (("cookie", admin_cookie.clone()), false)
        };
        let a = send(&app, "GET", &path, &[credential], None).await;
        assert!(
            a.status == 200 || (!api && a.status == 303 && !a.location.starts_with("/login")),
            "GET {path} as the administrator: {} {}",
            a.status,
            a.location
        );
    }
    let admin_headers = vec![
        ("cookie", admin_cookie),
        ("origin", origin.clone()),
        ("authorization", format!("Bearer {}", world.token)),
    ];
    for (method, path, want) in [
        ("POST", "/users", 303),
        ("POST", "/api/v1/sites", 201),
        ("POST", "/api/v1/users", 201),
        ("PUT", "/api/v1/settings/notifications", 204),
    ] {
        let r = Route {
            method: method.to_owned(),
            path: path.to_owned(),
        };
        let a = send(
            &app,
            method,
            path,
            &admin_headers,
            body_for(&r, &world, &world.admin.csrf),
        )
        .await;
        assert_eq!(
            a.status, want,
            "{method} {path} as the administrator: {}",
            a.body
        );
    }
    assert!(!changed(&before, &snapshot(&app)).is_empty());
}
