//! SECURITY.md ISO-1: every object endpoint — each id-taking operation of the served
//! OpenAPI document and each id-taking route of the web router — called by every
//! actor of one tenant (admin, receptionist and host, by API token and by web session;
//! the kiosk by its credential) with the ids of the two others.

use std::collections::{BTreeSet, HashMap};

use reqwest::Method;
use serde_json::{Value, json};

use super::fixture::{Tenant, World, appointment_body, assert_unchanged};
use super::routes::{
    Kind, Operation, Security, declared_routes, kind_of_field, operations, params,
};
use super::web::{Reply, Web};

/// Every answer checked against the bar, and what went wrong.
#[derive(Default)]
struct Tally {
    attempts: usize,
    failures: Vec<String>,
    /// `METHOD /path` of every operation or route that was attacked.
    covered: BTreeSet<String>,
}

impl Tally {
    /// An attack on an object of another tenant: 403 or 404, and none of the
    /// canaries of the tenants that are not the attacker's.
    fn object(&mut self, what: &str, reply: &Reply, canaries: &[&str]) {
        self.attempts += 1;
        if reply.status != 403 && reply.status != 404 {
            self.failures
                .push(format!("{what}: {} {}", reply.status, excerpt(reply)));
        }
        self.no_canary(what, reply, canaries);
    }

    fn no_canary(&mut self, what: &str, reply: &Reply, canaries: &[&str]) {
        for c in canaries {
            if reply.leaks(c) {
                self.failures.push(format!("{what}: answer holds {c}"));
            }
        }
    }

    /// An id of another tenant inside a body: the same answer as for an id that
    /// exists nowhere (so it tells nothing), never a success, and no canary.
    fn reference(&mut self, what: &str, foreign: &Reply, nowhere: &Reply, canaries: &[&str]) {
        self.attempts += 1;
        let code = |r: &Reply| r.json()["code"].clone();
        if foreign.status != nowhere.status || code(foreign) != code(nowhere) {
            self.failures.push(format!(
                "{what}: {} {} but {} {} for an id that does not exist",
                foreign.status,
                excerpt(foreign),
                nowhere.status,
                excerpt(nowhere)
            ));
        } else if (200..400).contains(&foreign.status) {
            self.failures
                .push(format!("{what}: accepted ({})", foreign.status));
        }
        self.no_canary(what, foreign, canaries);
    }
}

fn excerpt(reply: &Reply) -> String {
    reply.text().chars().take(200).collect()
}

/// One of the attacker's own forms: path, field, kind of object it names, the other fields.
type Form<'a> = (&'a str, &'a str, Kind, Vec<(&'a str, String)>);

/// An id that exists in no tenant.
const NOWHERE: i64 = 2_000_000_000;

/// The ids of `t`'s objects of `kind`, as path segments.
fn ids(t: &Tenant, kind: Kind, handles: &HashMap<String, Vec<String>>) -> Vec<String> {
    let numbers: Vec<i64> = match kind {
        Kind::Appointment => t.appointments.iter().map(|a| a.id).collect(),
        Kind::Visitor => t.visitor_ids(),
        Kind::Visit => t.visit_ids.clone(),
        Kind::Site => t.site_ids.clone(),
        Kind::User => t.user_ids(),
        Kind::Group => vec![t.group_id],
        Kind::Kiosk => vec![t.kiosk.0],
        Kind::Token => t.token_ids(),
        Kind::Session => return handles[&t.slug].clone(),
    };
    numbers.iter().map(i64::to_string).collect()
}

/// Every way to fill `path`'s id parameters with the victim's ids — and, when there
/// are several, with one of them the attacker's own (an own appointment with the
/// victim's visitor, and the reverse).
fn fillings(
    path: &str,
    attacker: &Tenant,
    victim: &Tenant,
    handles: &HashMap<String, Vec<String>>,
) -> Vec<String> {
    let ps = params(path);
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for (_, kind) in &ps {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                ids(victim, *kind, handles).into_iter().map(move |id| {
                    let mut c = c.clone();
                    c.push(id);
                    c
                })
            })
            .collect();
    }
    if ps.len() > 1 {
        for own in 0..ps.len() {
            let mine = ids(attacker, ps[own].1, handles)[0].clone();
            let theirs: Vec<Vec<String>> = ps
                .iter()
                .enumerate()
                .map(|(i, (_, k))| {
                    if i == own {
                        vec![mine.clone()]
                    } else {
                        ids(victim, *k, handles)
                    }
                })
                .collect();
            let mut extra: Vec<Vec<String>> = vec![Vec::new()];
            for choices in theirs {
                extra = extra
                    .into_iter()
                    .flat_map(|c| {
                        choices.iter().map(move |id| {
                            let mut c = c.clone();
                            c.push(id.clone());
                            c
                        })
                    })
                    .collect();
            }
            combos.extend(extra);
        }
    }
    combos
        .into_iter()
        .map(|values| {
            let mut filled = path.to_owned();
            for ((name, _), value) in ps.iter().zip(values) {
                filled = filled.replace(&format!("{{{name}}}"), &value);
            }
            filled
        })
        .collect()
}

/// A valid body for an operation, made of the caller's own objects, so that an
/// answer other than success can only come from the id under attack.
fn body_for(op: &Operation, own: &Tenant, n: usize) -> Option<Value> {
    let schema = op.body.as_ref()?;
    Some(match (op.method.as_str(), op.path.as_str()) {
        ("POST", "/api/v1/appointments") => appointment_body(
            own.site_ids[0],
            own.host_ids[0],
            "Probe",
            json!([{"name": "Probe Visitor"}]),
        ),
        ("POST", "/api/v1/kiosks") => json!({"site_id": own.site_ids[0], "name": "Probe kiosk"}),
        ("POST", "/api/kiosk/v1/walk-in") => {
            json!({"request_id": format!("iso1-walk-in-{n:06}"), "name": "Probe Visitor", "host_id": own.host_ids[0]})
        }
        _ => {
            let fields = id_fields(schema);
            assert!(
                fields.is_empty(),
                "{}: teach the isolation test a valid body (it names {fields:?})",
                op.name()
            );
            // Only the required fields, with plain values.
            let mut body = serde_json::Map::new();
            for key in schema["required"].as_array().into_iter().flatten() {
                let key = key.as_str().unwrap();
                let value = match schema["properties"][key]["type"].as_str() {
                    Some("integer" | "number") => json!(1),
                    Some("boolean") => json!(false),
                    Some("array") => json!([]),
                    Some("object") => json!({}),
                    _ => json!("probe"),
                };
                body.insert(key.to_owned(), value);
            }
            Value::Object(body)
        }
    })
}

/// The integer `…_id` fields of a body schema: references to other objects.
fn id_fields(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| k.ends_with("_id") && v["type"] == "integer")
        .map(|(k, _)| k.clone())
        .filter(|k| kind_of_field(k).is_some())
        .collect()
}

/// The bearer credentials of the attacker for an operation's kind of security.
fn bearers(op: &Operation, a: &Tenant) -> Vec<(String, String)> {
    match op.security {
        Security::Token => vec![
            ("admin token".to_owned(), a.admin_token.secret.clone()),
            ("receptionist token".to_owned(), a.desk_token.secret.clone()),
            ("host token".to_owned(), a.host_tokens[0].secret.clone()),
        ],
        Security::Kiosk => vec![("kiosk".to_owned(), a.kiosk.1.clone())],
        Security::Open => Vec::new(),
    }
}

/// Form fields that are valid for the attacker, so only the id can be refused.
fn web_fields(path: &str, own: &Tenant) -> Vec<(&'static str, String)> {
    let s = |v: &str| v.to_owned();
    match path {
        "/appointments/{id}/edit" => vec![
            ("site_id", own.site_ids[0].to_string()),
            ("host_id", own.host_ids[0].to_string()),
            ("title", s("Probe")),
            ("date", s("2030-01-15")),
            ("start", s("10:00")),
            ("end", s("11:00")),
        ],
        "/appointments/{id}/visitors" => vec![
            ("name", s("Probe Visitor")),
            ("company", s("Probe KK")),
            ("email", s("probe@visitor.example")),
        ],
        "/sites/{id}" => vec![
            ("name", s("Probe site")),
            ("time_zone", s("Asia/Tokyo")),
            ("address", s("Probe street")),
        ],
        "/sites/{id}/alerts" => vec![
            ("alert_emails", s("probe@alerts.example")),
            ("alert_slack_channel", s("#probe")),
        ],
        "/sites/{id}/alerts/slack" => vec![("site_slack_url", s("http://127.0.0.1:9/hook"))],
        "/users/{id}" => vec![("name", s("Probe Person")), ("role", s("host"))],
        "/users/groups/{id}" => vec![("member", own.host_ids[0].to_string())],
        _ => Vec::new(),
    }
}

async fn web_call(web: &Web, method: &Method, path: &str, fields: &[(&str, String)]) -> Reply {
    if method == Method::GET {
        web.get(path).await
    } else {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        web.post(path, &f).await
    }
}

/// Every attack of `a` on `b`.
async fn attack(
    world: &World,
    ops: &[Operation],
    a: &Tenant,
    b: &Tenant,
    canaries: &[&str],
    handles: &HashMap<String, Vec<String>>,
    tally: &mut Tally,
) {
    // The JSON APIs: every operation with an id in its path.
    for op in ops.iter().filter(|op| op.path.contains('{')) {
        for filled in fillings(&op.path, a, b, handles) {
            for (who, bearer) in bearers(op, a) {
                let body = body_for(op, a, tally.attempts);
                let reply = world
                    .call(op.method.clone(), &filled, Some(&bearer), body.as_ref())
                    .await;
                let what = format!(
                    "{} of {} on {} {filled} of {}",
                    who, a.slug, op.method, b.slug
                );
                tally.object(&what, &reply, canaries);
                tally.covered.insert(op.name());
            }
        }
    }
    // The JSON APIs: ids of the victim inside bodies.
    for op in ops.iter().filter(|op| op.body.is_some()) {
        let schema = op.body.as_ref().unwrap();
        for field in id_fields(schema) {
            let kind = kind_of_field(&field).unwrap();
            for (who, bearer) in bearers(op, a) {
                for id in ids(b, kind, handles) {
                    let mut foreign = body_for(op, a, tally.attempts).unwrap();
                    foreign[&field] = json!(id.parse::<i64>().unwrap());
                    let mut nowhere = body_for(op, a, tally.attempts + 500_000).unwrap();
                    nowhere[&field] = json!(NOWHERE);
                    let r1 = world
                        .call(op.method.clone(), &op.path, Some(&bearer), Some(&foreign))
                        .await;
                    let r2 = world
                        .call(op.method.clone(), &op.path, Some(&bearer), Some(&nowhere))
                        .await;
                    let what = format!(
                        "{who} of {} on {} with {field}={id} of {}",
                        a.slug,
                        op.name(),
                        b.slug
                    );
                    tally.reference(&what, &r1, &r2, canaries);
                    tally.covered.insert(format!("{} {field}", op.name()));
                }
            }
        }
    }
    // The kiosk presenting the victim's passes (by QR token and by code).
    let kiosk = Some(a.kiosk.1.as_str());
    for appointment in &b.appointments {
        let pass = &appointment.passes[0];
        for (path, key, value) in [
            ("/api/kiosk/v1/check-in", "token", &pass.token),
            ("/api/kiosk/v1/check-out", "code", &pass.code),
        ] {
            let body =
                json!({"request_id": format!("iso1-pass-{:06}", tally.attempts), key: value});
            let reply = world.call(Method::POST, path, kiosk, Some(&body)).await;
            let what = format!("kiosk of {} on {path} with a {key} of {}", a.slug, b.slug);
            tally.object(&what, &reply, canaries);
        }
    }
    // The web app: every id-taking route, as admin, receptionist and host.
    let sessions = [
        ("admin", &a.web_admin),
        ("receptionist", &a.web_desk),
        ("host", &a.web_host),
    ];
    for route in declared_routes()
        .into_iter()
        .filter(|r| !r.path.starts_with("/api/") && !params(&r.path).is_empty())
    {
        let fields = web_fields(&route.path, a);
        for filled in fillings(&route.path, a, b, handles) {
            for method in &route.methods {
                for (who, web) in sessions {
                    let reply = web_call(web, method, &filled, &fields).await;
                    let what = format!("{who} of {} on {method} {filled} of {}", a.slug, b.slug);
                    tally.object(&what, &reply, canaries);
                    tally.covered.insert(format!("{method} {}", route.path));
                }
            }
        }
    }
    // The web app: the victim's sites and hosts named in the attacker's own forms.
    let forms: [Form<'_>; 5] = [
        (
            "/appointments/new",
            "site_id",
            Kind::Site,
            appointment_form(a, "site_id"),
        ),
        (
            "/appointments/new",
            "host_id",
            Kind::User,
            appointment_form(a, "host_id"),
        ),
        (
            "/onsite/walk-in",
            "site_id",
            Kind::Site,
            walk_in_form(a, "site_id"),
        ),
        (
            "/onsite/walk-in",
            "host_id",
            Kind::User,
            walk_in_form(a, "host_id"),
        ),
        (
            "/kiosks",
            "site",
            Kind::Site,
            vec![("name", "Probe kiosk".to_owned())],
        ),
    ];
    for (path, field, kind, base) in forms {
        for id in ids(b, kind, handles) {
            for (who, web) in [("admin", &a.web_admin), ("receptionist", &a.web_desk)] {
                let with = |value: String| {
                    let mut f: Vec<(&str, String)> =
                        base.iter().filter(|(k, _)| *k != field).cloned().collect();
                    f.push((field, value));
                    f
                };
                let r1 = web_call(web, &Method::POST, path, &with(id.clone())).await;
                let r2 = web_call(web, &Method::POST, path, &with(NOWHERE.to_string())).await;
                let what = format!(
                    "{who} of {} on POST {path} with {field}={id} of {}",
                    a.slug, b.slug
                );
                tally.reference(&what, &r1, &r2, canaries);
                tally.covered.insert(format!("POST {path} {field}"));
            }
        }
    }
}

/// The appointment form of the attacker, valid but for `skip`.
fn appointment_form(own: &Tenant, skip: &str) -> Vec<(&'static str, String)> {
    [
        ("site_id", own.site_ids[0].to_string()),
        ("host_id", own.host_ids[0].to_string()),
        ("title", "Probe".to_owned()),
        ("date", "2030-01-15".to_owned()),
        ("start", "10:00".to_owned()),
        ("end", "11:00".to_owned()),
        ("visitor_name", "Probe Visitor".to_owned()),
        ("visitor_company", String::new()),
        ("visitor_email", String::new()),
        ("visitor_phone", String::new()),
        ("visitor_locale", String::new()),
    ]
    .into_iter()
    .filter(|(k, _)| *k != skip)
    .collect()
}

/// The walk-in form of the front desk, valid but for `skip`.
fn walk_in_form(own: &Tenant, skip: &str) -> Vec<(&'static str, String)> {
    [
        ("site_id", own.site_ids[0].to_string()),
        ("host_id", own.host_ids[0].to_string()),
        ("name", "Probe Walker".to_owned()),
        ("company", String::new()),
    ]
    .into_iter()
    .filter(|(k, _)| *k != skip)
    .collect()
}

/// SECURITY.md ISO-1: 0 answers but 403/404, 0 canary bytes, the victim's data
/// unchanged, over every id-taking endpoint of both APIs and the web app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_actor_of_one_tenant_reaches_another_tenants_objects_by_id() {
    let world = World::start().await;
    let doc = world
        .call(Method::GET, "/api/openapi.json", None, None)
        .await
        .json();
    let ops = operations(&doc);
    let mut handles = HashMap::new();
    for t in &world.tenants {
        let mut list = Vec::new();
        for web in [&t.web_admin, &t.web_desk, &t.web_host] {
            list.push(web.session_handle().await);
        }
        handles.insert(t.slug.clone(), list);
    }
    let mut tally = Tally::default();
    for b in &world.tenants {
        let before = world.dump(b).await;
        for a in world.tenants.iter().filter(|a| a.slug != b.slug) {
            let canaries: Vec<&str> = world
                .tenants
                .iter()
                .filter(|t| t.slug != a.slug)
                .map(|t| t.canary.as_str())
                .collect();
            attack(&world, &ops, a, b, &canaries, &handles, &mut tally).await;
        }
        let after = world.dump(b).await;
        assert_unchanged(&b.slug, &before, &after);
    }
    assert!(
        tally.failures.is_empty(),
        "{} of {} attempts broke the bar:\n{}",
        tally.failures.len(),
        tally.attempts,
        tally.failures.join("\n")
    );
    assert!(tally.attempts >= 1000, "only {} attempts", tally.attempts);

    // Every id-taking operation and route was attacked.
    for op in ops.iter().filter(|op| !params(&op.path).is_empty()) {
        assert!(
            tally.covered.contains(&op.name()),
            "{} was not attacked",
            op.name()
        );
    }
    for route in declared_routes()
        .iter()
        .filter(|r| !params(&r.path).is_empty())
    {
        if route.path.starts_with("/api/") {
            assert!(
                ops.iter().any(|op| op.path == route.path),
                "{} takes an id but is not in the OpenAPI document",
                route.path
            );
            continue;
        }
        for m in &route.methods {
            assert!(
                tally.covered.contains(&format!("{m} {}", route.path)),
                "{m} {} was not attacked",
                route.path
            );
        }
    }

    // What the victims hold still works: their sessions and their unused passes.
    for t in &world.tenants {
        for web in [&t.web_admin, &t.web_desk, &t.web_host] {
            assert_eq!(
                web.get("/account").await.status,
                200,
                "{}: a session ended",
                t.slug
            );
        }
        let pass = t.unused_pass();
        let reply = world
            .call(
                Method::POST,
                "/api/kiosk/v1/check-in",
                Some(&t.kiosk.1),
                Some(&json!({"request_id": format!("iso1-final-{}", t.slug), "token": pass.token})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}: {}", t.slug, reply.text());
    }
    eprintln!(
        "ISO-1: {} cross-tenant attempts, all refused",
        tally.attempts
    );
}
