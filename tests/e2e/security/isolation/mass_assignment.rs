//! SECURITY.md ISO-3: fields a caller must not set — the tenant, a role, the owner
//! or host of an object — slipped into JSON bodies, query strings, web forms and CSV
//! columns, alone and as repeated parameters; none of them is ever assigned.

use reqwest::Method;
use serde_json::{Value, json};

use super::fixture::{Tenant, World, appointment_body, assert_unchanged};

/// Keys a client must never set, with a value aimed at another tenant or user.
fn forbidden(victim: &Tenant, me: &Tenant) -> Vec<(&'static str, Value)> {
    vec![
        ("tenant_id", json!(victim_tenant_id(victim))),
        ("tenant", json!(victim.slug)),
        ("organisation", json!(victim.slug)),
        ("role", json!("admin")),
        ("owner", json!(victim.admin_id)),
        ("owner_id", json!(me.host_ids[1])),
        ("user_id", json!(victim.admin_id)),
        ("created_by", json!(victim.admin_id)),
        ("id", json!(victim.appointments[0].id)),
        ("status", json!("active")),
    ]
}

/// Tenant ids follow creation order: acme 1, globex 2, initech 3.
fn victim_tenant_id(t: &Tenant) -> i64 {
    match t.slug.as_str() {
        "acme" => 1,
        "globex" => 2,
        _ => 3,
    }
}

/// Valid bodies of the API's writing operations, made of `me`'s own objects.
fn bodies(me: &Tenant) -> Vec<(Method, &'static str, Value)> {
    vec![
        (
            Method::POST,
            "/api/v1/appointments",
            appointment_body(
                me.site_ids[0],
                me.host_ids[0],
                "Probe",
                json!([{"name": "Probe Visitor"}]),
            ),
        ),
        (
            Method::POST,
            "/api/v1/users",
            json!({"email": "probe@acme.example", "display_name": "Probe", "role": "host"}),
        ),
        (Method::POST, "/api/v1/sites", json!({"name": "Probe site"})),
        (
            Method::POST,
            "/api/v1/kiosks",
            json!({"site_id": me.site_ids[0], "name": "Probe kiosk"}),
        ),
        (
            Method::PUT,
            "/api/v1/settings/slack",
            json!({"webhook_url": null}),
        ),
        (
            Method::PUT,
            "/api/v1/settings/notifications",
            json!({"reminder_enabled": false}),
        ),
    ]
}

/// The API refuses every forbidden key in a body, query strings naming another
/// tenant or host, and repeated keys or parameters.
async fn api_refuses(world: &World, me: &Tenant, victim: &Tenant) {
    let admin = Some(me.admin_token.secret.as_str());
    for (method, path, body) in bodies(me) {
        for (key, value) in forbidden(victim, me) {
            if body.get(key).is_some() {
                continue;
            }
            let mut with = body.clone();
            with[key] = value;
            let r = world.call(method.clone(), path, admin, Some(&with)).await;
            assert_eq!(r.status, 400, "{method} {path} with {key}: {}", r.text());
        }
        // The same key twice: never "the last one wins".
        let text = body.to_string();
        let first_key = text[2..].split('"').next().unwrap().to_owned();
        let doubled = format!("{{\"{first_key}\":{},{}", body[&first_key], &text[1..]);
        let r = world.call_raw(method.clone(), path, admin, &doubled).await;
        assert_eq!(
            r.status,
            400,
            "{method} {path} with {first_key} twice: {}",
            r.text()
        );
    }
    // A host's token: another host, by value, twice, or in the query.
    let host = Some(me.host_tokens[0].secret.as_str());
    let other_host = appointment_body(
        me.site_ids[0],
        me.host_ids[1],
        "Probe",
        json!([{"name": "Probe"}]),
    );
    let r = world
        .call(
            Method::POST,
            "/api/v1/appointments",
            host,
            Some(&other_host),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["fields"][0]["field"].as_str()),
        (422, Some("host_id")),
        "{}",
        r.text()
    );
    let own = appointment_body(
        me.site_ids[0],
        me.host_ids[0],
        "Probe",
        json!([{"name": "Probe"}]),
    );
    for (first, second) in [
        (me.host_ids[0], me.host_ids[1]),
        (me.host_ids[1], me.host_ids[0]),
    ] {
        let text = own.to_string();
        let doubled = format!(
            "{{\"host_id\":{first},{},\"host_id\":{second}}}",
            &text[1..text.len() - 1]
        );
        let r = world
            .call_raw(Method::POST, "/api/v1/appointments", host, &doubled)
            .await;
        assert_eq!(r.status, 400, "host_id {first} then {second}: {}", r.text());
    }
    let r = world
        .call(
            Method::POST,
            &format!("/api/v1/appointments?host_id={}", me.host_ids[1]),
            host,
            Some(&own),
        )
        .await;
    assert_eq!(r.status, 400, "?host_id: {}", r.text());
    let r = world
        .call(
            Method::POST,
            "/api/v1/appointments?return_passes=true&return_passes=false",
            host,
            Some(&own),
        )
        .await;
    assert_eq!(r.status, 400, "return_passes twice: {}", r.text());
}

/// The kiosk's bodies take neither a tenant, a site nor a kiosk: such keys are
/// refused, or ignored so that the answer is the one without them.
async fn kiosk_ignores(world: &World, me: &Tenant, victim: &Tenant) {
    let kiosk = Some(me.kiosk.1.as_str());
    let bodies = |n: usize| {
        [
            (
                "/api/kiosk/v1/check-in",
                json!({"request_id": format!("iso3-check-in-{n}"), "token": victim.unused_pass().token}),
            ),
            (
                "/api/kiosk/v1/walk-in",
                json!({"request_id": format!("iso3-walk-in-{n}"), "name": "Probe", "host_id": me.host_ids[0]}),
            ),
            (
                "/api/kiosk/v1/heartbeat",
                json!({"version": "1.0", "camera": "ok", "journal_length": 0}),
            ),
        ]
    };
    for (n, key) in ["tenant_id", "site_id", "kiosk_id"].into_iter().enumerate() {
        for ((path, plain), (_, mut with)) in bodies(2 * n).into_iter().zip(bodies(2 * n + 1)) {
            with[key] = json!(victim.site_ids[0]);
            let r = world.call(Method::POST, path, kiosk, Some(&with)).await;
            if r.status == 400 {
                continue;
            }
            let without = world.call(Method::POST, path, kiosk, Some(&plain)).await;
            assert_eq!(
                (r.status, r.json()["code"].clone()),
                (without.status, without.json()["code"].clone()),
                "{path} with {key}: {}",
                r.text()
            );
        }
    }
}

/// Query strings naming another tenant or host, or repeating a parameter, are
/// refused — or ignored where an endpoint takes no query, and then the answer is
/// exactly the caller's own.
async fn api_queries(world: &World, me: &Tenant, victim: &Tenant) {
    let tenant = format!("tenant_id={}", victim_tenant_id(victim));
    let admin = Some(me.admin_token.secret.as_str());
    for (method, path, body) in bodies(me) {
        let r = world
            .call(
                method.clone(),
                &format!("{path}?{tenant}"),
                admin,
                Some(&body),
            )
            .await;
        let answer = r.json();
        let owner = answer.get("tenant_id").cloned();
        assert!(
            r.status == 400
                || (r.status < 300 && owner.is_none_or(|t| t == json!(victim_tenant_id(me)))),
            "{method} {path}?{tenant}: {} {}",
            r.status,
            r.text()
        );
    }
    // Lists: such a query is refused, or ignored — the answer is then the same as
    // without it.
    let host = Some(me.host_tokens[0].secret.as_str());
    for path in [
        "/api/v1/appointments",
        "/api/v1/visits",
        "/api/v1/users",
        "/api/v1/sites",
    ] {
        let plain = world.call(Method::GET, path, host, None).await;
        assert_eq!(plain.status, 200, "{path}: {}", plain.text());
        for query in [
            tenant.clone(),
            format!("host_id={}", me.host_ids[1]),
            format!("host={}", me.host_ids[1]),
            "from=2000-01-01T00:00:00Z&from=2001-01-01T00:00:00Z".to_owned(),
        ] {
            let r = world
                .call(Method::GET, &format!("{path}?{query}"), host, None)
                .await;
            if r.status != 400 {
                assert_eq!((r.status, r.json()), (200, plain.json()), "{path}?{query}");
            }
        }
    }
}

/// The web app's forms take the tenant and the acting user from the session only.
async fn web_ignores(world: &World, me: &Tenant, victim: &Tenant) {
    let victim_id = victim_tenant_id(victim).to_string();
    let (host0, host1) = (me.host_ids[0].to_string(), me.host_ids[1].to_string());
    // A host creating appointments: another host by value, first or second of two.
    let form = |hosts: &[&str]| {
        let mut f: Vec<(&str, String)> = vec![
            ("site_id", me.site_ids[0].to_string()),
            ("title", "Probe mass assignment".to_owned()),
            ("date", "2030-01-15".to_owned()),
            ("start", "10:00".to_owned()),
            ("end", "11:00".to_owned()),
            ("visitor_name", "Probe Visitor".to_owned()),
            ("tenant_id", victim_id.clone()),
            ("organisation", victim.slug.clone()),
            ("owner", victim.admin_id.to_string()),
            ("created_by", host1.clone()),
        ];
        f.extend(hosts.iter().map(|h| ("host_id", (*h).to_owned())));
        f
    };
    for hosts in [
        vec![host1.as_str()],
        vec![&host0, &host1],
        vec![&host1, &host0],
    ] {
        let fields = form(&hosts);
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = me.web_host.post("/appointments/new", &f).await;
        assert_eq!(r.status, 303, "hosts {hosts:?}: {}", r.text());
        let id: i64 = r
            .location
            .unwrap()
            .trim_start_matches("/appointments/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let made = world
            .call(
                Method::GET,
                &format!("/api/v1/appointments/{id}"),
                Some(&me.admin_token.secret),
                None,
            )
            .await
            .json();
        assert_eq!(
            made["host_id"],
            json!(me.host_ids[0]),
            "hosts {hosts:?}: {made}"
        );
        // Editing it cannot hand it to someone else either.
        let mut edit = fields.clone();
        edit.retain(|(k, _)| *k != "host_id" && !k.starts_with("visitor"));
        edit.push(("host_id", host1.clone()));
        let e: Vec<(&str, &str)> = edit.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = me
            .web_host
            .post(&format!("/appointments/{id}/edit"), &e)
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let after = world
            .call(
                Method::GET,
                &format!("/api/v1/appointments/{id}"),
                Some(&me.admin_token.secret),
                None,
            )
            .await
            .json();
        assert_eq!(after["host_id"], json!(me.host_ids[0]), "{after}");
    }
    // A host's own settings cannot carry a role or another user.
    let r = me
        .web_host
        .post(
            "/account/language",
            &[
                ("language", "en"),
                ("role", "admin"),
                ("user_id", &victim.admin_id.to_string()),
                ("tenant_id", &victim_id),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    // An administrator's invitation lands in their own tenant with the role asked for.
    let r = me
        .web_admin
        .post(
            "/users",
            &[
                ("email", "invited.iso3@example.com"),
                ("name", "Invited Probe"),
                ("role", "host"),
                ("tenant_id", &victim_id),
                ("organisation", &victim.slug),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    // Members of another tenant named in a group's form are not added.
    let members = [
        ("member", host0.as_str()),
        ("member", &victim.host_ids[0].to_string()),
        ("member", &victim.admin_id.to_string()),
    ];
    let r = me
        .web_admin
        .post(&format!("/users/groups/{}", me.group_id), &members)
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let page = me
        .web_admin
        .get(&format!("/users/groups/{}", me.group_id))
        .await
        .text();
    assert!(
        !page.contains(&victim.canary),
        "another tenant's staff shown in a group"
    );

    // What the forms did: roles and tenants as before, the invitation in `me`.
    let users = world
        .call(
            Method::GET,
            "/api/v1/users",
            Some(&me.admin_token.secret),
            None,
        )
        .await
        .json();
    for u in users.as_array().unwrap() {
        let expected = if u["id"] == json!(me.admin_id) {
            "admin"
        } else if u["id"] == json!(me.desk_id) {
            "receptionist"
        } else {
            "host"
        };
        assert_eq!(u["role"], expected, "{u}");
        assert_eq!(u["tenant_id"], json!(victim_tenant_id(me)), "{u}");
    }
    assert!(
        users.to_string().contains("invited.iso3@example.com"),
        "{users}"
    );
}

/// CSV columns for the tenant, a role's owner or an id, and repeated columns, are
/// refused as a whole.
async fn csv_refuses(me: &Tenant) {
    for header in [
        "email,display_name,role,tenant_id",
        "email,display_name,role,id",
        "email,display_name,role,status",
        "email,display_name,role,owner",
        "email,display_name,role,role",
        "email,display_name,tenant_id,role",
    ] {
        let columns = header.split(',').count();
        let row = ["csv.iso3@example.com", "Csv Probe", "host", "admin", "2"][..columns].join(",");
        let file = format!("{header}\n{row}\n");
        let r = me
            .web_admin
            .upload("/users/import", "users.csv", file.as_bytes())
            .await;
        assert_eq!(r.status, 422, "{header}: {}", r.text());
    }
}

/// SECURITY.md ISO-3: 0 forbidden fields changed — the API refuses them, the web
/// forms ignore them, CSV imports refuse the columns, and the other tenant's data
/// is unchanged throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_fields_in_bodies_queries_forms_and_csv_are_never_assigned() {
    let world = World::start().await;
    let (me, victim) = (&world.tenants[0], &world.tenants[1]);
    let victim_before = world.dump(victim).await;
    let mine_before = world.dump(me).await;
    api_refuses(&world, me, victim).await;
    csv_refuses(me).await;
    // Everything so far was refused: nothing of either tenant changed.
    let mine_after = world.dump(me).await;
    assert_unchanged(&me.slug, &mine_before, &mine_after);
    api_queries(&world, me, victim).await;
    kiosk_ignores(&world, me, victim).await;
    web_ignores(&world, me, victim).await;
    let victim_after = world.dump(victim).await;
    assert_unchanged(&victim.slug, &victim_before, &victim_after);
    // The third tenant too.
    let third = &world.tenants[2];
    let users = world
        .call(
            Method::GET,
            "/api/v1/users",
            Some(&third.admin_token.secret),
            None,
        )
        .await
        .json();
    assert_eq!(users.as_array().unwrap().len(), 4, "{users}");
}
