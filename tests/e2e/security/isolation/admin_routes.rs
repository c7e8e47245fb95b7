//! SECURITY.md ISO-4 against the real binary: every operation the served OpenAPI
//! document marks `(admin)`, and the main administrator screens, called as a host,
//! a receptionist, a kiosk, tokens without the admin scope and a stranger: all
//! 401/403 (web strangers sent to sign in), and the tenant's data unchanged. (The
//! in-process suite walks every admin-only route of the router: `tests/web/admin_routes.rs`.)

use reqwest::Method;
use serde_json::{Value, json};

use super::fixture::{Tenant, World, assert_unchanged};
use super::routes::{Operation, Security, operations};
use super::web::{Reply, Web};

/// A body the administrator's own request would be accepted with.
fn body(op: &Operation, t: &Tenant) -> Option<Value> {
    if op.method == Method::GET {
        return None;
    }
    Some(match op.path.as_str() {
        "/api/v1/sites" => json!({"name": "Iso4 Annex", "time_zone": "Asia/Tokyo"}),
        "/api/v1/users" => {
            json!({"email": "iso4@acme.example", "display_name": "Iso Four", "role": "admin"})
        }
        "/api/v1/kiosks" => json!({"site_id": t.site_ids[0], "name": "Iso4 Kiosk"}),
        "/api/v1/settings/slack" => json!({"webhook_url": null}),
        "/api/v1/settings/slack-bot" => json!({"bot_token": null}),
        "/api/v1/settings/chatwork" => json!({"token": null}),
        "/api/v1/settings/notifications" => json!({"reminder_enabled": true}),
        _ => json!({"url": null}),
    })
}

/// `op`'s path with its id filled from `t`.
fn path(op: &Operation, t: &Tenant) -> String {
    let id = if op.path.contains("/tokens/") {
        t.admin_token.id
    } else {
        t.kiosk.0
    };
    op.path.replace("{id}", &id.to_string())
}

/// An administrator's screen: method, path and form fields.
type Screen<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

fn refused(reply: &Reply, status: u16, code: &str) -> bool {
    reply.status == status && reply.json()["code"] == code
}

/// SECURITY.md ISO-4 (real binary): 0 answers but 401/403 to non-administrators on
/// the admin operations and screens, and 0 changes to the tenant's data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_operations_and_screens_refuse_everyone_but_administrators() {
    let world = World::start().await;
    let doc = world
        .call(Method::GET, "/api/openapi.json", None, None)
        .await
        .json();
    let admin_ops: Vec<Operation> = operations(&doc)
        .into_iter()
        .filter(|op| op.admin_only())
        .collect();
    assert!(admin_ops.len() >= 13, "{}", admin_ops.len());
    assert!(
        admin_ops.iter().all(|op| op.security == Security::Token),
        "an admin operation that takes no API token"
    );
    let t = &world.tenants[0];
    let before = world.dump(t).await;
    let mut failures = Vec::new();
    let mut attempts = 0;
    let callers: [(&str, Option<&str>, u16, &str); 5] = [
        (
            "receptionist token",
            Some(t.desk_token.secret.as_str()),
            403,
            "forbidden",
        ),
        (
            "host token",
            Some(t.host_tokens[0].secret.as_str()),
            403,
            "forbidden",
        ),
        (
            "other host token",
            Some(t.host_tokens[1].secret.as_str()),
            403,
            "forbidden",
        ),
        (
            "kiosk credential",
            Some(t.kiosk.1.as_str()),
            401,
            "unauthorized",
        ),
        ("anonymous", None, 401, "unauthorized"),
    ];
    for op in &admin_ops {
        for (name, bearer, status, code) in callers {
            let reply = world
                .call(
                    op.method.clone(),
                    &path(op, t),
                    bearer,
                    body(op, t).as_ref(),
                )
                .await;
            attempts += 1;
            if !refused(&reply, status, code) {
                failures.push(format!(
                    "{} as {name}: {} {}",
                    op.name(),
                    reply.status,
                    reply.text()
                ));
            }
        }
    }

    let stranger = Web::anonymous(world.url());
    let host_id = t.host_ids[1].to_string();
    let site_id = t.site_ids[0].to_string();
    let screens: [Screen<'_>; 10] = [
        ("GET", "/users".into(), vec![]),
        ("GET", "/settings".into(), vec![]),
        ("GET", "/settings/security".into(), vec![]),
        ("GET", "/sites".into(), vec![]),
        ("GET", "/audit".into(), vec![]),
        ("GET", "/privacy".into(), vec![]),
        (
            "POST",
            "/users".into(),
            vec![
                ("email", "iso4web@acme.example"),
                ("name", "Iso Web"),
                ("role", "admin"),
            ],
        ),
        (
            "POST",
            "/kiosks".into(),
            vec![("site_id", &site_id), ("name", "Iso4 Web Kiosk")],
        ),
        ("POST", format!("/users/{host_id}/disable"), vec![]),
        ("POST", "/users/groups".into(), vec![("name", "Iso4 Group")]),
    ];
    for (method, path, fields) in &screens {
        for (name, web, want) in [
            ("host session", &t.web_host, 403),
            ("receptionist session", &t.web_desk, 403),
            ("stranger", &stranger, 303),
        ] {
            let reply = if *method == "GET" {
                web.get(path).await
            } else {
                web.post(path, fields).await
            };
            attempts += 1;
            let ok = reply.status == want
                && (want != 303 || reply.location.as_deref() == Some("/login"));
            if !ok {
                failures.push(format!(
                    "{method} {path} as {name}: {} {:?}",
                    reply.status, reply.location
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(attempts >= 90, "{attempts}");
    assert_unchanged(&t.slug, &before, &world.dump(t).await);

    // The administrator is let through on the same operations.
    let admin = t.admin(world.url());
    for op in admin_ops.iter().filter(|op| op.method == Method::GET) {
        let answer = admin.call(op.method.clone(), &op.path, None).await;
        assert_eq!(answer.status, 200, "{} as the administrator", op.name());
    }
    assert_eq!(t.web_admin.get("/users").await.status, 200);
}
