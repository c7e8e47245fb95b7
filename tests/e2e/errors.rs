//! Bad input gets a typed error with a stable code, and changes nothing.

use chrono::Duration;
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};
use genkan_e2e::smtp::{Mode, SmtpSink};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{invitation, kiosk_json, mails_to, write};

struct Tenant {
    admin: Api,
    kiosk: Api,
    site_id: i64,
    host_id: Value,
}

async fn tenant(server: &Server, slug: &str) -> Tenant {
    let t = server.create_tenant(slug);
    let site_id = t["site_id"].as_i64().unwrap();
    let admin = Api::new(
        &server.url,
        Some(&server.create_token(slug, &format!("admin@{slug}.example"), "admin")),
    );
    let host = admin
        .post("/api/v1/users", json!({"email": format!("host@{slug}.example"), "display_name": "Host Person", "role": "host", "password": "quiet lantern mosaic 7391"}))
        .await
        .ok();
    let created = admin.create_kiosk(site_id, "Lobby").await.ok();
    let paired = Api::new(&server.url, None)
        .post(
            "/api/kiosk/v1/pair",
            json!({"pairing_code": created["pairing_code"], "device_name": "test"}),
        )
        .await
        .ok();
    Tenant {
        admin,
        kiosk: Api::new(&server.url, paired["credential"].as_str()),
        site_id,
        host_id: host["id"].clone(),
    }
}

fn appointment(site_id: i64, host_id: &Value, email: &str) -> Value {
    let now = SystemClock.now();
    json!({
        "site_id": site_id, "host_id": host_id,
        "starts_at": now.to_rfc3339(), "ends_at": (now + Duration::hours(1)).to_rfc3339(),
        "visitors": [{"name": "Guest Person", "email": email}],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kiosk_requests_get_typed_errors_and_change_nothing() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let server = Server::start(&ServerOptions::with_smtp(smtp.port));
    let acme = tenant(&server, "acme").await;
    let globex = tenant(&server, "globex").await;

    let cases = [
        (
            json!({"request_id": "req-00000001", "token": "hello"}),
            "malformed",
        ),
        (json!({"request_id": "req-00000002"}), "malformed"),
        (
            json!({"request_id": "req-00000003", "token": "GK1", "code": "12345678"}),
            "malformed",
        ),
        (
            json!({"request_id": "bad id!", "code": "12345678"}),
            "malformed",
        ),
        (
            json!({"request_id": "req-00000004", "code": "1234"}),
            "malformed",
        ),
        // Unknown fields are ignored (forward compatibility), never applied: the tenant
        // is still this kiosk's, so the code is unknown here.
        (
            json!({"request_id": "req-00000005", "code": "12345678", "tenant_id": 2}),
            "pass_unknown",
        ),
        (
            json!({"request_id": "req-00000006", "code": "00000000"}),
            "pass_unknown",
        ),
    ];
    for (body, code) in cases {
        let answer = acme.kiosk.check_in(body.clone()).await;
        assert_eq!(answer.code(), code, "{body} → {answer:?}");
        assert!(
            answer.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(answer.status.is_client_error());
    }

    // A body that is not JSON, and one that is too large.
    let http = reqwest::Client::new();
    let raw = http
        .post(format!("{}/api/kiosk/v1/check-in", server.url))
        .bearer_auth("gk_kiosk_wrong")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.status(),
        StatusCode::UNAUTHORIZED,
        "credentials are checked first"
    );
    let big = acme
        .kiosk
        .check_in(json!({"request_id": "req-00000007", "token": "x".repeat(100_000)}))
        .await;
    assert_eq!(
        (big.status, big.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // Wrong or missing credentials.
    for bearer in [Some("gk_kiosk_0000"), None, Some("gk_at_0000")] {
        let a = Api::new(&server.url, bearer)
            .check_in(json!({"request_id": "req-00000008", "code": "12345678"}))
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{bearer:?}"
        );
    }

    // Another tenant's pass is unknown here, by QR token and by code.
    globex
        .admin
        .create_appointment(appointment(
            globex.site_id,
            &globex.host_id,
            "g@visitor.example",
        ))
        .await
        .ok();
    let theirs = invitation(&mails_to(&smtp, "g@visitor.example", 1).await[0]);
    let work = tempfile::tempdir().unwrap();
    let (_, decoded) = kiosk_json(&["decode", &write(work.path(), "g.png", &theirs.inline_png)]);
    let token = decoded["text"].as_str().unwrap();
    let foreign = acme
        .kiosk
        .check_in(json!({"request_id": "req-00000009", "token": token}))
        .await;
    assert_eq!(
        (foreign.status, foreign.code()),
        (StatusCode::NOT_FOUND, "pass_unknown")
    );
    let foreign = acme
        .kiosk
        .check_in(json!({"request_id": "req-00000010", "code": theirs.code}))
        .await;
    assert_eq!(foreign.code(), "pass_unknown");
    // …and still works at its own kiosk.
    let own = globex
        .kiosk
        .check_in(json!({"request_id": "req-00000011", "token": token}))
        .await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);

    // Too many unknown codes from one kiosk: rate limited, with a retry hint.
    let mut limited = None;
    for i in 0..15 {
        let a = acme.kiosk.check_in(json!({"request_id": format!("guess-{i:08}"), "code": format!("{:08}", 11_111_111 + i)})).await;
        if a.code() == "rate_limited" {
            limited = Some(a);
            break;
        }
        assert_eq!(a.code(), "pass_unknown");
    }
    assert_eq!(
        limited.expect("guessing codes gets rate limited").status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // A revoked kiosk is refused.
    let kiosks = globex.admin.get("/api/v1/kiosks").await.ok();
    let id = kiosks[0]["id"].as_i64().unwrap();
    assert_eq!(
        globex
            .admin
            .post(&format!("/api/v1/kiosks/{id}/revoke"), json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let revoked = globex
        .kiosk
        .check_in(json!({"request_id": "req-00000012", "token": token}))
        .await;
    assert_eq!(
        (revoked.status, revoked.code()),
        (StatusCode::FORBIDDEN, "kiosk_revoked")
    );

    // Nothing of the above created a visit at acme.
    assert_eq!(acme.admin.visits().await.ok().as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_refuses_bad_input_and_other_tenants_objects() {
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let acme = tenant(&server, "acme").await;
    let globex = tenant(&server, "globex").await;
    let theirs = globex
        .admin
        .create_appointment(appointment(
            globex.site_id,
            &globex.host_id,
            "x@visitor.example",
        ))
        .await
        .ok();
    let their_id = theirs["id"].as_i64().unwrap();

    // Validation names each bad field.
    let mut bad = appointment(acme.site_id, &acme.host_id, "not-an-email");
    bad["visitors"][0]["name"] = json!("");
    let answer = acme.admin.create_appointment(bad).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation")
    );
    let fields: Vec<&str> = answer.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"visitors[0].email") && fields.contains(&"visitors[0].name"),
        "{fields:?}"
    );

    // Mass assignment of the tenant is refused outright.
    let mut sneaky = appointment(acme.site_id, &acme.host_id, "y@visitor.example");
    sneaky["tenant_id"] = json!(2);
    assert_eq!(
        acme.admin.create_appointment(sneaky).await.code(),
        "malformed"
    );

    // Another tenant's site, host and appointment are not found.
    let foreign_site = appointment(globex.site_id, &acme.host_id, "z@visitor.example");
    assert_eq!(
        acme.admin.create_appointment(foreign_site).await.body["fields"][0]["field"],
        "site_id"
    );
    let foreign_host = appointment(acme.site_id, &globex.host_id, "z@visitor.example");
    assert_eq!(
        acme.admin.create_appointment(foreign_host).await.body["fields"][0]["field"],
        "host_id"
    );
    for path in [
        format!("/api/v1/appointments/{their_id}"),
        format!("/api/v1/appointments/{their_id}/deliveries"),
    ] {
        let a = acme.admin.get(&path).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let cancel = acme
        .admin
        .post(
            &format!("/api/v1/appointments/{their_id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND);
    assert_eq!(
        globex
            .admin
            .get(&format!("/api/v1/appointments/{their_id}"))
            .await
            .ok()["status"],
        "scheduled"
    );

    // Kiosk credentials and host tokens do not open admin routes.
    assert_eq!(
        acme.kiosk.get("/api/v1/users").await.status,
        StatusCode::UNAUTHORIZED
    );
    let host_token = server.create_token("acme", "host@acme.example", "admin");
    let host = Api::new(&server.url, Some(&host_token));
    assert_eq!(
        host.create_kiosk(acme.site_id, "Mine").await.code(),
        "forbidden"
    );
    assert_eq!(
        host.create_user("x@acme.example", "X", "admin")
            .await
            .code(),
        "forbidden"
    );
    let anonymous = Api::new(&server.url, None);
    assert_eq!(
        anonymous.get("/api/v1/visits").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Unknown routes answer a typed 404 too.
    assert_eq!(
        anonymous.get("/api/v1/nothing-here").await.code(),
        "not_found"
    );
}
