//! The requests sqlmap attacks: every OpenAPI operation and the web forms, with the objects named.

use chrono::{DateTime, Utc};
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::server::Server;
use serde_json::{Map, Value, json};

use super::target::Target;
use crate::security::kit::{self, Org, WebSession};

/// Objects the requests refer to, so that each original request reaches the store.
pub(super) struct Fixtures {
    now: DateTime<Utc>,
    site_id: i64,
    admin_id: i64,
    appointment_id: i64,
    cancel_appointment_id: i64,
    visit_id: i64,
    user_id: i64,
    spare_kiosk_id: i64,
    spare_token_id: i64,
    pairing_code: String,
    refresh_token: String,
    /// A pass not used yet (check-in), and one inside (check-out).
    fresh_pass: (String, String),
    inside_pass: (String, String),
}

pub(super) async fn fixtures(server: &Server, acme: &Org) -> Fixtures {
    let now = SystemClock.now();
    let created = acme
        .appointment_at(
            acme.site_id,
            now,
            "Quarterly review",
            json!([
                {"name": "Sato Hanako", "company": "Globex"},
                {"name": "Suzuki Ichiro", "company": "Globex"},
                {"name": "Takahashi Ken", "company": "Initech"},
            ]),
        )
        .await;
    let passes = kit::pass_secrets(&created);
    let checked_in = acme.kiosks[0]
        .check_in(json!({"request_id": "sqlmap-fixture-01", "token": passes[0].0}))
        .await
        .ok();
    let cancel = acme
        .appointment_at(
            acme.site_id,
            now + chrono::Duration::days(1),
            "To be cancelled",
            json!([{"name": "Ito Mai"}]),
        )
        .await;
    let spare_kiosk = acme.admin.create_kiosk(acme.site_id, "Spare").await.ok();
    let to_pair = acme.admin.create_kiosk(acme.site_id, "To pair").await.ok();
    let user = acme
        .admin
        .create_user("sqlmap.host@acme.example", "Host Person", "host")
        .await
        .ok();
    let spare_token = json_of(&server.genkan(&[
        "token",
        "create",
        "--tenant",
        &acme.slug,
        "--user",
        &acme.admin_email,
    ]));
    let refresh = json_of(&server.genkan(&[
        "token",
        "create",
        "--tenant",
        &acme.slug,
        "--user",
        &acme.admin_email,
        "--refresh",
    ]));
    Fixtures {
        now,
        site_id: acme.site_id,
        admin_id: acme.admin_id,
        appointment_id: created["id"].as_i64().unwrap(),
        cancel_appointment_id: cancel["id"].as_i64().unwrap(),
        visit_id: checked_in["visit_id"].as_i64().unwrap(),
        user_id: user["id"].as_i64().unwrap(),
        spare_kiosk_id: spare_kiosk["id"].as_i64().unwrap(),
        spare_token_id: spare_token["token_id"].as_i64().unwrap(),
        pairing_code: to_pair["pairing_code"].as_str().unwrap().to_owned(),
        refresh_token: refresh["refresh_token"].as_str().unwrap().to_owned(),
        fresh_pass: passes[1].clone(),
        inside_pass: passes[0].clone(),
    }
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every operation of the document with a bearer credential, as requests whose
/// original form is valid: ids of real objects, bodies with every documented field.
pub(super) fn api_targets(document: &Value, f: &Fixtures, acme: &Org) -> Vec<Target> {
    let mut targets = Vec::new();
    for (path, ops) in document["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if params.is_empty() && op.get("requestBody").is_none() {
                // Nothing to inject into but the credential.
                continue;
            }
            let bearer = if path.starts_with("/api/kiosk/") {
                acme.kiosk_credentials[0].clone()
            } else {
                acme.token.clone()
            };
            let mut concrete = path.clone();
            let mut query = Vec::new();
            for p in &params {
                let name = p["name"].as_str().unwrap();
                let schema = resolve(document, &p["schema"]);
                match p["in"].as_str() {
                    Some("path") => {
                        let id = path_id(path, name, f);
                        concrete = concrete.replace(&format!("{{{name}}}"), &format!("{id}*"));
                    }
                    Some("query") => query.push((name, text(&scalar(name, &schema, f)))),
                    _ => {}
                }
            }
            let bodies = match op.pointer("/requestBody/content/application~1json/schema") {
                Some(schema) => bodies(document, path, schema, f),
                None => vec![None],
            };
            for body in bodies {
                let mut t = Target::new(&method.to_uppercase(), &concrete, &query)
                    .header("Authorization", &format!("Bearer {bearer}"))
                    .header("Accept", "application/json");
                if let Some(body) = body {
                    t = t.json(&body);
                }
                targets.push(t);
            }
        }
    }
    targets
}

/// A scalar as it is written in a query string.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The id of a real object for path parameter `name` of `path`.
fn path_id(path: &str, name: &str, f: &Fixtures) -> i64 {
    let before = path
        .split('/')
        .take_while(|s| *s != format!("{{{name}}}"))
        .last()
        .unwrap_or("");
    match before {
        "appointments" if path.ends_with("/cancel") => f.cancel_appointment_id,
        "appointments" => f.appointment_id,
        "visits" => f.visit_id,
        "kiosks" => f.spare_kiosk_id,
        "tokens" => f.spare_token_id,
        "users" => f.user_id,
        "sites" => f.site_id,
        _ => 1,
    }
}

/// The JSON bodies to send for an operation: every documented field filled in; for
/// the pass presentations, one body per way of naming the pass.
fn bodies(document: &Value, path: &str, schema: &Value, f: &Fixtures) -> Vec<Option<Value>> {
    let full = example(document, None, schema, f);
    if path.ends_with("/check-in") || path.ends_with("/check-out") {
        let (token, code) = if path.ends_with("/check-in") {
            &f.fresh_pass
        } else {
            &f.inside_pass
        };
        let id = |n: u32| format!("sqlmap-{}-{n:04}", path.rsplit('/').next().unwrap());
        let mut variants = vec![
            Some(json!({"request_id": id(1), "token": token})),
            Some(json!({"request_id": id(2), "code": code})),
        ];
        if full.get("token_hash").is_some() {
            variants.push(Some(json!({
                "request_id": id(3),
                "token_hash": full["token_hash"],
                "offline_at": full["offline_at"],
            })));
        }
        return variants;
    }
    vec![Some(full)]
}

fn resolve(document: &Value, schema: &Value) -> Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            resolve(document, document.pointer(pointer).unwrap())
        }
        None => schema.clone(),
    }
}

/// A valid value for field `name` with `schema`: a known-good value for the fields
/// that must name real things, otherwise one built from the schema. Strings are never
/// empty (sqlmap only marks non-empty ones).
fn example(document: &Value, name: Option<&str>, schema: &Value, f: &Fixtures) -> Value {
    let schema = resolve(document, schema);
    if let Some(any) = schema["anyOf"].as_array().or(schema["oneOf"].as_array()) {
        let first = any
            .iter()
            .map(|s| resolve(document, s))
            .find(|s| s["type"] != "null")
            .unwrap_or(Value::Null);
        return example(document, name, &first, f);
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut out = Map::new();
            for (k, s) in schema["properties"].as_object().into_iter().flatten() {
                out.insert(k.clone(), example(document, Some(k), s, f));
            }
            Value::Object(out)
        }
        Some("array") => json!([example(document, name, &schema["items"], f)]),
        _ => scalar(name.unwrap_or(""), &schema, f),
    }
}

fn scalar(name: &str, schema: &Value, f: &Fixtures) -> Value {
    let now = f.now;
    let known = match name {
        "site_id" => json!(f.site_id),
        "host_id" => json!(f.admin_id),
        "starts_at" => json!((now + chrono::Duration::hours(2)).to_rfc3339()),
        "ends_at" => json!((now + chrono::Duration::hours(3)).to_rfc3339()),
        "from" => json!((now - chrono::Duration::days(7)).to_rfc3339()),
        "to" => json!((now + chrono::Duration::days(7)).to_rfc3339()),
        "valid_from_date" => json!(now.date_naive().to_string()),
        "valid_until_date" => json!((now + chrono::Duration::days(2)).date_naive().to_string()),
        "email" => json!("sqlmap.person@acme.example"),
        "display_name" => json!("Sqlmap Person"),
        "name" => json!("Tanaka Jiro"),
        "company" => json!("Globex"),
        "phone" => json!("+81 3 1234 5678"),
        "title" => json!("Design review"),
        "address" => json!("1-1 Marunouchi, Chiyoda"),
        "time_zone" => json!("Asia/Tokyo"),
        "locale" => json!("ja"),
        "password" => json!("Quiet-Harbour-Lantern-42"),
        "pairing_code" => json!(f.pairing_code),
        "device_name" => json!("lobby-pc"),
        "refresh_token" => json!(f.refresh_token),
        "request_id" => json!("sqlmap-request-0001"),
        "token" => json!(f.fresh_pass.0),
        "code" => json!(f.fresh_pass.1),
        "token_hash" => json!("0f".repeat(32)),
        "version" => json!("1.0.0"),
        "url" | "webhook_url" => json!("https://hooks.slack.com/services/T000/B000/XXXX"),
        "bot_token" => json!("xoxb-1-2-sqlmap"),
        "signing_secret" => json!("sqlmap-signing-secret"),
        "room_id" => json!("12345"),
        "q" => json!("Admin"),
        "limit" => json!(50),
        "wait_ms" => json!(0),
        _ => Value::Null,
    };
    if !known.is_null() {
        return known;
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("integer" | "number"), _) => {
            json!(
                schema["default"]
                    .as_i64()
                    .or(schema["minimum"].as_i64())
                    .unwrap_or(1)
                    .max(1)
            )
        }
        (Some("boolean"), _) => json!(true),
        (_, Some("date-time")) => json!(now.to_rfc3339()),
        (_, Some("date")) => json!(now.date_naive().to_string()),
        _ => json!("sqlmap sample"),
    }
}

/// The web app's searches, exports and sign-in, with a signed-in admin's session.
pub(super) async fn web_targets(
    base: &str,
    f: &Fixtures,
    acme: &Org,
    web: &WebSession,
) -> Vec<Target> {
    let today = f.now.date_naive();
    // Cursors past everything the fixtures made, so that the original pages list rows
    // and a true condition can be told from a false one.
    let later = f.now + chrono::Duration::days(1);
    let from = (today - chrono::Duration::days(30)).to_string();
    let to = today.to_string();
    let session = |t: Target| {
        t.header("Cookie", &web.cookie)
            .header("Accept", "text/html")
    };
    let posting = |t: Target| session(t).header("Origin", base);
    let mut targets = vec![
        // The visit history filters, and the session cookie attacked once.
        Target::new(
            "GET",
            "/visits",
            &[
                ("from", from.clone()),
                ("to", to.clone()),
                ("site", f.site_id.to_string()),
                ("host", f.admin_id.to_string()),
                ("status", "inside".into()),
                ("visitor", "Sato".into()),
                ("company", "Globex".into()),
                ("after", later.to_rfc3339()),
                ("after_id", f.visit_id.to_string()),
            ],
        )
        .header("Cookie", &format!("{}*", web.cookie))
        .header("Accept", "text/html"),
        session(Target::new("GET", &format!("/visits/{}*", f.visit_id), &[])),
        session(Target::new(
            "GET",
            "/appointments",
            &[
                ("from", from.clone()),
                ("to", to.clone()),
                ("notice", "created".into()),
            ],
        )),
        session(Target::new(
            "GET",
            &format!("/appointments/{}*", f.appointment_id),
            &[("notice", "created".into())],
        )),
        session(Target::new(
            "GET",
            "/users",
            &[("notice", "invited".into())],
        )),
        session(Target::new("GET", &format!("/users/{}*", f.user_id), &[])),
        // The admin's own sign-in: a filter the original page answers with rows.
        session(Target::new(
            "GET",
            "/audit",
            &[
                ("person", f.admin_id.to_string()),
                ("action", "auth.sign_in".into()),
                ("from", from.clone()),
                ("to", to.clone()),
                ("after", format!("{}.1", later.timestamp_micros())),
            ],
        )),
        posting(Target::new("POST", "/exports/visits.csv", &[])).form(&[
            ("csrf", web.csrf.clone()),
            ("from", from.clone()),
            ("to", to.clone()),
        ]),
        posting(Target::new("POST", "/audit/export.csv", &[])).form(&[
            ("csrf", web.csrf.clone()),
            ("person", f.admin_id.to_string()),
            ("action", "auth.sign_in".into()),
            ("from", from.clone()),
            ("to", to.clone()),
        ]),
    ];
    // Sign-in, with the pre-session of a fresh sign-in form; the user agent (stored
    // with sessions) attacked here.
    let (cookie, csrf) = login_form(base).await;
    targets.push(
        Target::new("POST", "/login", &[])
            .header("Cookie", &cookie)
            .header("Origin", base)
            .header(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64) sqlmap-genkan*",
            )
            .form(&[
                ("csrf", csrf),
                ("organisation", acme.slug.clone()),
                ("email", "sqlmap.host@acme.example".into()),
                ("password", "not-the-password-1".into()),
            ]),
    );
    targets
}

/// The pre-session cookie and CSRF token of a fresh sign-in form.
async fn login_form(base: &str) -> (String, String) {
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap();
    let cookie = kit::set_cookies(page.headers()).join("; ");
    let csrf = kit::csrf_field(&page.text().await.unwrap());
    (cookie, csrf)
}
