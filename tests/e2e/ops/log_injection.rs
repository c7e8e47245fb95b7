//! INJ-5: control characters in logged fields never split or forge a log line: one event is one JSON line, with CR, LF, ESC and the Unicode line separators escaped.
//!
//! The texts a client controls that reach the log are the answers of the tenant's own
//! chat and webhook targets (quoted in delivery failures). A Slack webhook here answers
//! every alert with a body full of line breaks, a forged JSON event and a terminal
//! escape; names, addresses, sign-in fields and a user agent carry the same characters.

use axum::http::StatusCode;
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};
use genkan_e2e::smtp::{Mode, SmtpSink};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::mails_to;

/// Line breaks of every kind, a forged event and a terminal escape.
const HOSTILE: &str = "no\n{\"level\":\"ERROR\",\"message\":\"forged\"}\r\nsplit\u{2028}here\u{2029}and\u{85}there\u{1b}[31mred\u{1b}[0m";

/// A Slack webhook that refuses every post (400) with [`HOSTILE`] as its reason.
async fn hostile_webhook() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/services/T/B/x", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (StatusCode::BAD_REQUEST, HOSTILE)
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_logged_fields_keep_one_event_per_line() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let server = Server::start(&ServerOptions::with_smtp(smtp.port));
    let tenant = server.create_tenant("acme");
    let token = server.create_token("acme", "admin@acme.example", "admin");
    let api = Api::new(&server.url, Some(&token));
    let (webhook, hits) = hostile_webhook().await;
    api.set_slack(&webhook).await.ok();
    let site_id = tenant["site_id"].as_i64().unwrap();
    let created = api.create_kiosk(site_id, "Lobby").await.ok();
    let kiosk = Api::new(
        &server.url,
        Api::new(&server.url, None)
            .pair_kiosk(created["pairing_code"].as_str().unwrap(), "ipad")
            .await
            .ok()["credential"]
            .as_str(),
    );

    // Names and addresses with control characters are refused, never logged raw.
    for bad in [
        "Eve\nforged",
        "Eve\r\nX: y",
        "Eve\u{2028}x",
        "Eve\u{1b}[31m",
    ] {
        let user = api.create_user("eve@acme.example", bad, "host").await;
        assert_eq!(user.status.as_u16(), 422, "{bad:?}");
        let user = api
            .create_user(&format!("eve{bad}@acme.example"), "Eve", "host")
            .await;
        assert_eq!(user.status.as_u16(), 422, "{bad:?}");
    }
    // The sign-in form and a user agent carrying them.
    let http = reqwest::Client::new();
    let agent = reqwest::header::HeaderValue::from_bytes(
        "agent\u{2028}{\"message\":\"forged\"}\u{85}".as_bytes(),
    )
    .unwrap();
    let signed = http
        .post(format!("{}/login", server.url))
        .header(reqwest::header::USER_AGENT, agent)
        .form(&[
            ("organisation", HOSTILE),
            ("email", HOSTILE),
            ("password", HOSTILE),
        ])
        .send()
        .await
        .unwrap();
    assert!(signed.status().is_client_error(), "{}", signed.status());

    // Three arrivals: three Slack alerts refused with the hostile text.
    let now = SystemClock.now();
    let names = ["First Guest", "Second Guest", "Third Guest"];
    let visitors: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
    let appointment = api
        .create_appointment_with_passes(json!({
            "site_id": site_id, "host_id": tenant["admin_id"], "title": "Review",
            "starts_at": now.to_rfc3339(), "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
            "visitors": visitors,
        }))
        .await
        .ok();
    for (i, pass) in appointment["passes"].as_array().unwrap().iter().enumerate() {
        kiosk
            .check_in(json!({"request_id": format!("inj5-{i:08}"), "token": pass["token"]}))
            .await
            .ok();
    }
    mails_to(&smtp, "admin@acme.example", names.len()).await;
    let failed = |log: &str| log.matches("delivery failed for good").count();
    genkan_e2e::eventually(Duration::from_secs(20), || {
        (failed(&server.log()) >= names.len()).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("no {} failed deliveries:\n{}", names.len(), server.log()));

    let log = server.log();
    for c in ['\r', '\u{1b}', '\u{2028}', '\u{2029}', '\u{85}'] {
        assert!(!log.contains(c), "{c:?} written raw into the log");
    }
    let mut failures = 0;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON event ({e}): {line}"));
        assert!(v.is_object(), "{line}");
        assert_ne!(v["message"], "forged", "a forged event: {line}");
        if v["message"] == "delivery failed for good" {
            failures += 1;
            let error = v["error"].as_str().unwrap();
            assert!(
                error.contains("forged"),
                "the reason is kept, escaped: {line}"
            );
        }
    }
    // One line per event: one failure line per refused post, no more, no fewer.
    assert_eq!(failures, hits.load(Ordering::SeqCst));
    assert_eq!(failures, names.len());
}
