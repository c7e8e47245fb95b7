//! HDR-1: the security headers on every route (pages, APIs, errors, static files, health) over plain HTTP, HTTPS and the HTTPS listener's redirect.

use std::collections::{BTreeSet, VecDeque};

use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::json;

use super::kit::{self, Reply, WebSession};

/// How an answer was reached, which decides what it must carry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Seen {
    /// With a session cookie or an API credential: `no-store` required.
    Authenticated,
    /// Anonymous.
    Anonymous,
}

/// Referrer policies that never send a path to another origin.
const SAFE_REFERRER_POLICIES: [&str; 4] = [
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
];

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .map(|v| v.to_str().expect("an ASCII header value"))
}

/// The directives of a policy header, by lower-case name.
fn directives(value: &str) -> Vec<(String, Vec<String>)> {
    value
        .split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            let mut words = d.split_ascii_whitespace();
            let name = words.next().unwrap().to_ascii_lowercase();
            (name, words.map(str::to_owned).collect())
        })
        .collect()
}

/// Asserts the HDR-1 bar on one answer; `https` says whether HSTS must be there
/// (over plain HTTP it must not: RFC 6797 §7.2, and browsers ignore it).
fn assert_secure(what: &str, h: &HeaderMap, seen: Seen, https: bool) {
    assert_eq!(
        header(h, "x-content-type-options"),
        Some("nosniff"),
        "{what}: nosniff"
    );
    let referrer =
        header(h, "referrer-policy").unwrap_or_else(|| panic!("{what}: no Referrer-Policy"));
    assert!(
        SAFE_REFERRER_POLICIES.contains(&referrer),
        "{what}: Referrer-Policy {referrer}"
    );
    let csp = header(h, "content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    let policy = directives(csp);
    let get = |name: &str| policy.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    assert_eq!(
        get("frame-ancestors").map(Vec::as_slice),
        Some(&["'none'".to_owned()][..]),
        "{what}: frame-ancestors in {csp}"
    );
    // script-src falls back to default-src; one of them must exist and allow no
    // inline script, eval or whole schemes.
    let scripts = get("script-src")
        .or_else(|| get("default-src"))
        .unwrap_or_else(|| panic!("{what}: neither script-src nor default-src in {csp}"));
    for source in scripts {
        let s = source.to_ascii_lowercase();
        assert!(
            !matches!(
                s.as_str(),
                "'unsafe-inline'"
                    | "'unsafe-eval'"
                    | "'unsafe-hashes'"
                    | "*"
                    | "data:"
                    | "http:"
                    | "https:"
                    | "blob:"
            ),
            "{what}: script source {source} in {csp}"
        );
    }
    match (https, header(h, "strict-transport-security")) {
        (true, Some(hsts)) => {
            let max_age = directives(hsts)
                .into_iter()
                .find_map(|(n, _)| n.strip_prefix("max-age=").map(str::to_owned))
                .unwrap_or_else(|| panic!("{what}: HSTS without max-age: {hsts}"));
            let secs: u64 = max_age.trim_matches('"').parse().unwrap();
            assert!(secs >= 31_536_000, "{what}: HSTS max-age {secs} < 1 year");
        }
        (true, None) => panic!("{what}: no HSTS over HTTPS"),
        (false, Some(hsts)) => panic!("{what}: HSTS over plain HTTP: {hsts}"),
        (false, None) => {}
    }
    if seen == Seen::Authenticated {
        let cache = header(h, "cache-control").unwrap_or("");
        assert!(
            cache
                .split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-store")),
            "{what}: authenticated answer with Cache-Control {cache:?}"
        );
    }
    assert!(
        h.get("x-powered-by").is_none(),
        "{what}: X-Powered-By {:?}",
        h.get("x-powered-by")
    );
    if let Some(server) = header(h, "server") {
        assert!(
            !server.contains('/') && !server.chars().any(|c| c.is_ascii_digit()),
            "{what}: version banner Server: {server}"
        );
    }
}

/// Route pattern of a path: numeric segments become `{id}`, template pages `{kind}/{locale}`.
fn pattern(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap();
    if let Some(rest) = path.strip_prefix("/settings/templates/")
        && rest.split('/').count() == 2
    {
        return "/settings/templates/{kind}/{locale}".to_owned();
    }
    path.split('/')
        .map(|s| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every same-origin `href="/…"` of a page.
fn links(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .map(|l| l.replace("&amp;", "&"))
        .collect()
}

/// The signed-in GET pages of the web app (from `crates/genkan-server/src/routes/web`),
/// each of which the crawl must have answered with 200.
const SIGNED_IN_PAGES: &[&str] = &[
    "/dashboard",
    "/dashboard/live",
    "/appointments",
    "/appointments/new",
    "/appointments/{id}",
    "/appointments/{id}/edit",
    "/visits",
    "/visits/{id}",
    "/onsite",
    "/onsite/muster",
    "/users",
    "/users/new",
    "/users/{id}",
    "/users/groups",
    "/users/groups/{id}",
    "/users/import",
    "/sites",
    "/sites/new",
    "/sites/{id}",
    "/sites/{id}/alerts",
    "/kiosks/new",
    "/kiosks/{id}/revoke",
    "/settings",
    "/settings/security",
    "/settings/notifications",
    "/settings/templates",
    "/settings/templates/{kind}/{locale}",
    "/audit",
    "/exports",
    "/privacy",
    "/account",
    "/account/away",
    "/account/mfa",
    "/brand.css",
];

/// A tenant with an appointment, a visit, a second user and a group, so that every
/// page with an id has something to show; returns the org and the seeds to crawl from.
async fn populated(server: &Server) -> (kit::Org, Vec<String>) {
    let org = kit::org(server, "hdr", 1).await;
    let created = org
        .appointment_at(
            org.site_id,
            SystemClock.now(),
            "Headers",
            json!([{"name": "Visitor One"}]),
        )
        .await;
    let appointment = created["id"].as_i64().unwrap();
    let (token, _) = kit::pass_secrets(&created).remove(0);
    let visit = org.kiosks[0]
        .check_in(json!({"request_id": "req-hdr-00000001", "token": token}))
        .await
        .ok();
    let visit = visit["visit_id"].as_i64().unwrap();
    let user = org
        .admin
        .create_user("host@hdr.example", "Host", "host")
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let seeds = vec![
        "/".to_owned(),
        "/dashboard".to_owned(),
        "/dashboard/live".to_owned(),
        format!("/appointments/{appointment}"),
        format!("/appointments/{appointment}/edit"),
        format!("/visits/{visit}"),
        format!("/users/{user}"),
        format!("/sites/{}", org.site_id),
        format!("/sites/{}/alerts", org.site_id),
        "/users/groups".to_owned(),
        "/settings/templates".to_owned(),
        "/brand.css".to_owned(),
        "/logo.png".to_owned(),
    ];
    (org, seeds)
}

/// GETs every page reachable from `seeds` by links (bounded), checks each answer and
/// returns the route patterns answered with 200.
async fn crawl(web: &WebSession, seeds: Vec<String>, https: bool) -> BTreeSet<String> {
    let mut queue: VecDeque<String> = seeds.into();
    let mut asked = BTreeSet::new();
    let mut patterns_asked = BTreeSet::new();
    let mut ok = BTreeSet::new();
    while let Some(path) = queue.pop_front() {
        // One request per route pattern and query shape keeps the crawl short.
        let shape = format!("{}?{}", pattern(&path), path.contains('?'));
        if asked.len() >= 400 || !asked.insert(path.clone()) || !patterns_asked.insert(shape) {
            continue;
        }
        let reply = web.get(&path).await;
        let seen = if path.starts_with("/static/") {
            Seen::Anonymous
        } else {
            Seen::Authenticated
        };
        assert_secure(
            &format!("GET {path} (signed in)"),
            &reply.headers,
            seen,
            https,
        );
        if reply.status == 200 {
            ok.insert(pattern(&path));
            if header(&reply.headers, "content-type").is_some_and(|c| c.starts_with("text/html")) {
                queue.extend(links(&reply.text()));
            }
        }
    }
    ok
}

fn anonymous() -> reqwest::Client {
    kit::no_redirects()
}

async fn fetch(http: &reqwest::Client, method: Method, url: &str) -> Reply {
    kit::read(http.request(method, url).send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_with_the_security_headers_over_plain_http() {
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let base = server.url.clone();
    let (org, seeds) = populated(&server).await;
    let web = WebSession::sign_in(&base, "hdr", &org.admin_email, &org.admin_password).await;
    // A group, so that its members page exists.
    let group = web.post("/users/groups", &[("name", "Reception")]).await;
    assert!(matches!(group.status, 200 | 303), "group: {}", group.status);

    // Every page of the signed-in web app.
    let pages = crawl(&web, seeds, false).await;
    let missing: Vec<_> = SIGNED_IN_PAGES
        .iter()
        .filter(|p| !pages.contains(**p))
        .collect();
    assert!(
        missing.is_empty(),
        "pages not reached with 200: {missing:?}; reached {pages:?}"
    );

    // Authenticated downloads and form answers (POST).
    for path in [
        "/exports/visits.csv",
        "/audit/export.csv",
        "/exports/all.zip",
    ] {
        let r = web.post(path, &[]).await;
        assert_eq!(r.status, 200, "POST {path}: {}", r.text());
        assert_secure(
            &format!("POST {path}"),
            &r.headers,
            Seen::Authenticated,
            false,
        );
    }
    let invalid = web.post("/sites", &[("name", "")]).await;
    assert!(
        invalid.status >= 400,
        "an invalid form is refused: {}",
        invalid.status
    );
    assert_secure(
        "POST /sites (invalid)",
        &invalid.headers,
        Seen::Authenticated,
        false,
    );
    let wrong_method = web.send(Method::DELETE, "/dashboard").await;
    assert_eq!(wrong_method.status, 405);
    assert_secure(
        "DELETE /dashboard",
        &wrong_method.headers,
        Seen::Authenticated,
        false,
    );
    let csrf = web.send(Method::POST, "/sites").await;
    assert_eq!(csrf.status, 403, "no CSRF token");
    assert_secure(
        "POST /sites without token",
        &csrf.headers,
        Seen::Authenticated,
        false,
    );

    // Anonymous pages, static files, health, errors.
    let http = anonymous();
    let mut anonymous_paths = vec![
        ("/login", 200),
        ("/password/forgot", 200),
        ("/healthz", 200),
        ("/readyz", 200),
        ("/api/openapi.json", 200),
        ("/brand.css", 200),
        ("/dashboard", 303),
        ("/", 303),
        ("/no/such/page", 404),
        ("/static/no-such.css", 404),
        ("/reply/not-a-token", 404),
        ("/invite/not-a-secret", 303),
        ("/password/reset/not-a-secret", 303),
    ];
    let login = fetch(&http, Method::GET, &format!("{base}/login")).await;
    let statics: Vec<String> = links(&login.text())
        .into_iter()
        .filter(|l| l.starts_with("/static/"))
        .collect();
    assert!(!statics.is_empty(), "the sign-in page links static files");
    for s in &statics {
        anonymous_paths.push((s.as_str(), 200));
    }
    for (path, status) in &anonymous_paths {
        let r = fetch(&http, Method::GET, &format!("{base}{path}")).await;
        assert!(
            r.status == *status
                || (*status == 303 && (300..400).contains(&r.status))
                || (*status == 404 && r.status == 404),
            "GET {path}: {} (wanted {status})",
            r.status
        );
        assert_secure(
            &format!("GET {path} (anonymous)"),
            &r.headers,
            Seen::Anonymous,
            false,
        );
    }
    let asset = fetch(&http, Method::GET, &format!("{base}{}", statics[0])).await;
    assert!(
        header(&asset.headers, "cache-control").is_some_and(|c| c.contains("max-age=31536000")),
        "static files are cacheable: {:?}",
        asset.headers.get("cache-control")
    );
    let put = fetch(&http, Method::PUT, &format!("{base}/login")).await;
    assert_eq!(put.status, 405);
    assert_secure("PUT /login", &put.headers, Seen::Anonymous, false);

    // The JSON APIs: answers, 401, 404, 405, 400 and 413, all typed.
    let admin = Api::new(&base, Some(&org.token));
    for path in [
        "/api/v1/me",
        "/api/v1/sites",
        "/api/v1/users",
        "/api/v1/kiosks",
        "/api/v1/appointments",
        "/api/v1/visits",
        "/api/v1/tokens",
    ] {
        let r = kit::read(
            http.get(format!("{base}{path}"))
                .bearer_auth(&org.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "GET {path}");
        assert_secure(
            &format!("GET {path}"),
            &r.headers,
            Seen::Authenticated,
            false,
        );
    }
    for path in [
        "/api/kiosk/v1/config",
        "/api/kiosk/v1/roster",
        "/api/kiosk/v1/hosts?q=adm",
    ] {
        let r = kit::read(
            http.get(format!("{base}{path}"))
                .bearer_auth(&org.kiosk_credentials[0])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "GET {path}");
        assert_secure(
            &format!("GET {path}"),
            &r.headers,
            Seen::Authenticated,
            false,
        );
    }
    let typed = |what: &str, r: &Reply, status: u16, code: &str| {
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        assert_eq!(body["code"], code, "{what}: {}", r.text());
        assert!(
            header(&r.headers, "content-type").is_some_and(|c| c.starts_with("application/json")),
            "{what}: JSON"
        );
    };
    let unauthorised = fetch(&http, Method::GET, &format!("{base}/api/v1/me")).await;
    typed(
        "GET /api/v1/me anonymous",
        &unauthorised,
        401,
        "unauthorized",
    );
    assert_secure(
        "GET /api/v1/me anonymous",
        &unauthorised.headers,
        Seen::Anonymous,
        false,
    );
    let missing = fetch(&http, Method::GET, &format!("{base}/api/v1/no-such")).await;
    typed("GET /api/v1/no-such", &missing, 404, "not_found");
    assert_secure(
        "GET /api/v1/no-such",
        &missing.headers,
        Seen::Anonymous,
        false,
    );
    let not_allowed = fetch(&http, Method::DELETE, &format!("{base}/api/v1/sites")).await;
    assert_eq!(not_allowed.status, 405);
    assert_secure(
        "DELETE /api/v1/sites",
        &not_allowed.headers,
        Seen::Anonymous,
        false,
    );
    let send_body = |body: Vec<u8>| {
        http.post(format!("{base}/api/v1/sites"))
            .bearer_auth(&org.token)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
    };
    let malformed = kit::read(send_body(b"{\"name\":".to_vec()).await.unwrap()).await;
    typed("POST /api/v1/sites malformed", &malformed, 400, "malformed");
    assert_secure(
        "POST /api/v1/sites malformed",
        &malformed.headers,
        Seen::Authenticated,
        false,
    );
    let too_large = kit::read(send_body(vec![b' '; 100 * 1024]).await.unwrap()).await;
    typed(
        "POST /api/v1/sites 100 KiB",
        &too_large,
        413,
        "payload_too_large",
    );
    assert_secure(
        "POST /api/v1/sites 100 KiB",
        &too_large.headers,
        Seen::Authenticated,
        false,
    );
    // The API answers are still fine after all that.
    assert_eq!(admin.sites().await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_answers_carry_hsts_and_its_redirect_listener_the_other_headers() {
    let (server, redirect_addr) = crate::tls::tls_server();
    let base = server.url.clone();
    let http = crate::tls::client(&server);
    let org = kit::org(&server, "hdrs", 0).await;
    let web = WebSession::sign_in_with(
        http.clone(),
        &base,
        "hdrs",
        &org.admin_email,
        &org.admin_password,
    )
    .await;
    for path in [
        "/dashboard",
        "/appointments",
        "/users",
        "/settings",
        "/account",
        "/brand.css",
    ] {
        let r = web.get(path).await;
        assert_eq!(r.status, 200, "GET {path} over HTTPS");
        assert_secure(
            &format!("GET {path} (HTTPS, signed in)"),
            &r.headers,
            Seen::Authenticated,
            true,
        );
    }
    for (path, status) in [
        ("/healthz", 200),
        ("/login", 200),
        ("/static/app.css", 200),
        ("/no/such/page", 404),
        ("/api/v1/me", 401),
        ("/api/v1/no-such", 404),
    ] {
        let r = fetch(&http, Method::GET, &format!("{base}{path}")).await;
        assert_eq!(r.status, status, "GET {path} over HTTPS");
        assert_secure(
            &format!("GET {path} (HTTPS)"),
            &r.headers,
            Seen::Anonymous,
            true,
        );
    }
    let me = kit::read(
        http.get(format!("{base}/api/v1/me"))
            .bearer_auth(&org.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(me.status, 200);
    assert_secure(
        "GET /api/v1/me (HTTPS)",
        &me.headers,
        Seen::Authenticated,
        true,
    );
    let wrong = fetch(&http, Method::PATCH, &format!("{base}/login")).await;
    assert_eq!(wrong.status, 405);
    assert_secure(
        "PATCH /login (HTTPS)",
        &wrong.headers,
        Seen::Anonymous,
        true,
    );

    // The plain-HTTP listener only redirects; its answers carry the headers too, but
    // not HSTS, which a browser ignores over plain HTTP (RFC 6797 §7.2).
    for path in ["/", "/login?x=1", "/api/v1/me", "/static/app.css"] {
        let r = fetch(&http, Method::GET, &format!("http://{redirect_addr}{path}")).await;
        assert_eq!(r.status, 308, "GET {path} over plain HTTP");
        assert_eq!(
            header(&r.headers, "location"),
            Some(format!("https://127.0.0.1{path}").as_str())
        );
        assert_secure(
            &format!("GET {path} (redirect listener)"),
            &r.headers,
            Seen::Anonymous,
            false,
        );
    }
}
