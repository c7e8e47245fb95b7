//! SECURITY.md ISO-2: every list, search and export returns exactly the ids its caller
//! may see — the whole tenant for administrators and the front desk, their own
//! appointments and visits for a host (DESIGN.md), the kiosk's own organisation and
//! site — while two other tenants with look-alike data share the server. (The browser
//! view of the same rule is `web::visibility` and `web::exports`.)

use std::collections::BTreeSet;

use chrono::Duration;
use genkan_core::pass::PassToken;
use genkan_core::{Clock as _, SystemClock};
use reqwest::Method;
use serde_json::Value;

use super::fixture::{Tenant, World};
use super::web::{Reply, Web, ids_after};

type Ids = BTreeSet<i64>;

fn set(ids: impl IntoIterator<Item = i64>) -> Ids {
    ids.into_iter().collect()
}

/// The `id` fields of a JSON list answer.
fn json_ids(reply: &Reply, what: &str) -> Ids {
    assert_eq!(reply.status, 200, "{what}: {}", reply.text());
    reply
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not a list"))
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect()
}

/// The first column of a CSV export (after its BOM), as ids.
fn csv_ids(reply: &Reply, what: &str) -> Ids {
    assert_eq!(reply.status, 200, "{what}: {}", reply.text());
    let body = reply
        .body
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(&reply.body);
    csv::Reader::from_reader(body)
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect()
}

/// Today in Tokyo (the fixture's zone) as `YYYY-MM-DD`, shifted by `days`.
fn tokyo_day(days: i64) -> String {
    (SystemClock.now() + Duration::hours(9) + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// What one role of a tenant may see.
struct Visible {
    appointments: Ids,
    visits: Ids,
}

fn visible(t: &Tenant, host: Option<i64>) -> Visible {
    let mine = |h: i64| host.is_none_or(|me| me == h);
    Visible {
        appointments: set(t
            .appointments
            .iter()
            .filter(|a| mine(a.host_id))
            .map(|a| a.id)),
        // Visit n is the arrival of appointment n's first visitor.
        visits: set(t
            .visit_ids
            .iter()
            .zip(&t.appointments)
            .filter(|(_, a)| mine(a.host_id))
            .map(|(v, _)| *v)),
    }
}

/// No answer of `t`'s actors may hold another tenant's canary.
fn assert_no_foreign(world: &World, t: &Tenant, what: &str, reply: &Reply) {
    for other in world.tenants.iter().filter(|o| o.slug != t.slug) {
        assert!(
            !reply.leaks(&other.canary),
            "{}: {what} shows {}",
            t.slug,
            other.canary
        );
    }
}

async fn check_api(world: &World, t: &Tenant) {
    let all_time = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
    let roles = [
        ("admin", &t.admin_token.secret, None),
        ("receptionist", &t.desk_token.secret, None),
        ("host 0", &t.host_tokens[0].secret, Some(t.host_ids[0])),
        ("host 1", &t.host_tokens[1].secret, Some(t.host_ids[1])),
    ];
    for (role, token, host) in roles {
        let expected = visible(t, host);
        let bearer = Some(token.as_str());
        let get = |path: String| async move {
            let reply = world.call(Method::GET, &path, bearer, None).await;
            assert_no_foreign(world, t, &path, &reply);
            reply
        };
        let what = format!("{} {role}", t.slug);
        let appointments = get(format!("/api/v1/appointments?{all_time}")).await;
        assert_eq!(
            json_ids(&appointments, &what),
            expected.appointments,
            "{what}: appointments"
        );
        let visits = get(format!("/api/v1/visits?{all_time}&limit=1000")).await;
        assert_eq!(json_ids(&visits, &what), expected.visits, "{what}: visits");
        let users = get("/api/v1/users".to_owned()).await;
        assert_eq!(json_ids(&users, &what), set(t.user_ids()), "{what}: users");
        let sites = get("/api/v1/sites".to_owned()).await;
        assert_eq!(
            json_ids(&sites, &what),
            set(t.site_ids.clone()),
            "{what}: sites"
        );
        // One appointment at a time: the role's own open, the others are not found.
        for a in &t.appointments {
            for path in [
                format!("/api/v1/appointments/{}", a.id),
                format!("/api/v1/appointments/{}/deliveries", a.id),
            ] {
                let status = get(path.clone()).await.status;
                let want = if expected.appointments.contains(&a.id) {
                    200
                } else {
                    404
                };
                assert_eq!(status, want, "{what}: {path}");
            }
        }
    }
    let admin = Some(t.admin_token.secret.as_str());
    let kiosks = world.call(Method::GET, "/api/v1/kiosks", admin, None).await;
    assert_eq!(
        json_ids(&kiosks, &t.slug),
        set([t.kiosk.0]),
        "{}: kiosks",
        t.slug
    );
    let tokens = world.call(Method::GET, "/api/v1/tokens", admin, None).await;
    assert_eq!(
        json_ids(&tokens, &t.slug),
        set(t.token_ids()),
        "{}: tokens",
        t.slug
    );
}

/// A page that must open (200) and show nothing of another tenant.
async fn page(world: &World, t: &Tenant, web: &Web, path: String) -> String {
    let reply = web.get(&path).await;
    assert_eq!(reply.status, 200, "{} {path}: {}", t.slug, reply.text());
    assert_no_foreign(world, t, &path, &reply);
    reply.text()
}

async fn check_web(world: &World, t: &Tenant) {
    let (from, to) = (tokyo_day(-1), tokyo_day(1));
    let range = [("from", from.as_str()), ("to", to.as_str())];
    let roles: [(&str, &Web, Option<i64>); 3] = [
        ("admin", &t.web_admin, None),
        ("receptionist", &t.web_desk, None),
        ("host 0", &t.web_host, Some(t.host_ids[0])),
    ];
    for (role, web, host) in roles {
        let expected = visible(t, host);
        let what = format!("{} {role}", t.slug);
        let page = |path: String| page(world, t, web, path);
        let list = page(format!("/appointments?from={from}&to={to}")).await;
        assert_eq!(
            set(ids_after(&list, "href=\"/appointments/")),
            expected.appointments,
            "{what}: /appointments"
        );
        let history = page(format!("/visits?from={from}&to={to}")).await;
        assert_eq!(
            set(ids_after(&history, "href=\"/visits/")),
            expected.visits,
            "{what}: /visits"
        );
        // Searching names: visitor 1 arrived for host 0, visitor 3 for host 1.
        for (n, visit) in [(1, t.visit_ids[0]), (3, t.visit_ids[1])] {
            let found = page(format!("/visits?from={from}&to={to}&visitor=Visitor+{n}")).await;
            let want = set(expected.visits.iter().copied().filter(|v| *v == visit));
            assert_eq!(
                set(ids_after(&found, "href=\"/visits/")),
                want,
                "{what}: visitor {n}"
            );
        }
        // The dashboard links expected visitors to their appointments and arrivals to
        // their visits; together they name exactly the visible appointments.
        for (path, href) in [
            ("/dashboard", "href=\""),
            ("/dashboard/live", "\"href\":\""),
        ] {
            let board = page(path.to_owned()).await;
            let visits = set(ids_after(&board, &format!("{href}/visits/")));
            assert!(
                visits.is_subset(&expected.visits),
                "{what}: {path} visits {visits:?}"
            );
            let mut named = set(ids_after(&board, &format!("{href}/appointments/")));
            for (v, a) in t.visit_ids.iter().zip(&t.appointments) {
                if visits.contains(v) {
                    named.insert(a.id);
                }
            }
            assert_eq!(named, expected.appointments, "{what}: {path}");
        }
        for (path, wanted) in [
            ("/exports/visits.csv", &expected.visits),
            ("/exports/appointments.csv", &expected.appointments),
        ] {
            let export = web.post(path, &range).await;
            assert_no_foreign(world, t, path, &export);
            assert_eq!(&csv_ids(&export, &what), wanted, "{what}: {path}");
        }
        if host.is_none() {
            // The front desk's on-site list: every arrival can leave, every expected
            // visitor of today can be checked in by hand.
            let onsite = page("/onsite".to_owned()).await;
            assert_eq!(
                set(ids_after(&onsite, "action=\"/onsite/check-out/")),
                set(t.visit_ids.clone()),
                "{what}: /onsite arrivals"
            );
            let waiting = set(ids_after(&onsite, "action=\"/onsite/check-in/"));
            // Nobody arrived for visitor 2 (first appointment) and visitor 4 (annex).
            let expected_today = set([
                t.appointments[0].passes[1].visitor_id,
                t.appointments[2].passes[0].visitor_id,
            ]);
            assert_eq!(waiting, expected_today, "{what}: /onsite expected");
            page("/onsite/muster".to_owned()).await;
        }
    }
    // Administrators only: the user export, the visitor search and the audit log.
    let users = t.web_admin.post("/exports/users.csv", &[]).await;
    assert_eq!(
        csv_ids(&users, &t.slug),
        set(t.user_ids()),
        "{}: users.csv",
        t.slug
    );
    let search = t.web_admin.get("/privacy?q=Visitor").await;
    assert_eq!(search.status, 200);
    assert_no_foreign(world, t, "/privacy", &search);
    assert_eq!(
        set(ids_after(&search.text(), "action=\"/privacy/visitors/")),
        set(t.visitor_ids()),
        "{}: /privacy search",
        t.slug
    );
    for path in ["/audit", "/users", "/users/groups", "/sites", "/settings"] {
        let reply = t.web_admin.get(path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_no_foreign(world, t, path, &reply);
    }
    let audit = t.web_admin.post("/audit/export.csv", &[]).await;
    assert_eq!(audit.status, 200);
    assert_no_foreign(world, t, "/audit/export.csv", &audit);
}

async fn check_kiosk(world: &World, t: &Tenant) {
    let kiosk = Some(t.kiosk.1.as_str());
    // Every tenant has a "Tanaka"; the kiosk finds its own only.
    let hosts = world
        .call(Method::GET, "/api/kiosk/v1/hosts?q=Tanaka", kiosk, None)
        .await;
    assert_no_foreign(world, t, "hosts", &hosts);
    assert_eq!(
        json_ids(&hosts, &t.slug),
        set([t.host_ids[0]]),
        "{}: host search",
        t.slug
    );
    let staff = world
        .call(Method::GET, "/api/kiosk/v1/hosts?q=Cnry", kiosk, None)
        .await;
    assert_no_foreign(world, t, "hosts", &staff);
    let found = json_ids(&staff, &t.slug);
    assert!(
        !found.is_empty() && found.is_subset(&set(t.user_ids())),
        "{}: staff search {found:?}",
        t.slug
    );
    // The roster: the passes of the kiosk's own site, no other site's or tenant's.
    let roster = world
        .call(Method::GET, "/api/kiosk/v1/roster", kiosk, None)
        .await;
    assert_eq!(roster.status, 200, "{}", roster.text());
    assert_no_foreign(world, t, "roster", &roster);
    let listed: BTreeSet<String> = roster.json()["passes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["token_hash"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = t
        .appointments
        .iter()
        .filter(|a| a.site_id == t.site_ids[0])
        .flat_map(|a| &a.passes)
        .map(|p| PassToken::parse(&p.token).unwrap().hash().to_hex())
        .collect();
    assert_eq!(listed, expected, "{}: roster", t.slug);
    let config: Value = world
        .call(Method::GET, "/api/kiosk/v1/config", kiosk, None)
        .await
        .json();
    assert!(config.to_string().contains(&t.canary), "{config}");
}

/// SECURITY.md ISO-2: the API lists, web lists, searches, dashboard, on-site list,
/// CSV exports and the kiosk's host search and roster return exactly each role's
/// visible set, with three tenants holding look-alike data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_searches_and_exports_return_exactly_what_each_role_may_see() {
    let world = World::start().await;
    for t in &world.tenants {
        check_api(&world, t).await;
        check_web(&world, t).await;
        check_kiosk(&world, t).await;
    }
}
