//! INJ-2 at the kiosk: names carrying the injection payloads come back from the kiosk API as the exact text, in JSON that escapes only what JSON must.
//!
//! Script cannot run there: the kiosk draws with Slint, which has no HTML engine and no
//! script interpreter; a name is a `string` property put into `Text` elements and shown
//! glyph for glyph. What remains to prove is that the server hands the kiosk the raw
//! text (not HTML-escaped, so it is not shown as `&lt;`), correctly JSON-escaped, and
//! labelled as JSON so that no browser could take the answer for a page.

use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::inert::PAYLOADS;
use genkan_e2e::server::{Server, ServerOptions};
use serde_json::{Value, json};

use super::kit::org;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_api_returns_injection_payloads_as_exact_json_text() {
    let server = Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    });
    let acme = org(&server, "acme", 1).await;
    let visitors: Vec<Value> = PAYLOADS
        .iter()
        .map(|p| json!({"name": p, "company": p}))
        .collect();
    let created = acme
        .appointment_at(
            acme.site_id,
            SystemClock.now(),
            PAYLOADS[0],
            json!(visitors),
        )
        .await;
    let http = reqwest::Client::new();
    for (i, pass) in created["passes"].as_array().unwrap().iter().enumerate() {
        let answer = http
            .post(format!("{}/api/kiosk/v1/check-in", server.url))
            .bearer_auth(&acme.kiosk_credentials[0])
            .json(&json!({"request_id": format!("kiosk-xss-{i:06}"), "token": pass["token"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        let headers = answer.headers().clone();
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let raw = answer.text().await.unwrap();
        let body: Value = serde_json::from_str(&raw).unwrap();
        let payload = PAYLOADS[i];
        assert_eq!(body["visitor_name"], payload, "{raw}");
        assert_eq!(body["visitor_company"], payload, "{raw}");
        // Exactly what serde_json writes for the text: nothing HTML-escaped on top.
        let encoded = serde_json::to_string(payload).unwrap();
        assert!(raw.contains(&encoded), "{encoded} not in {raw}");
        if !payload.contains("&lt;") {
            assert!(!raw.contains("&lt;") && !raw.contains("&#"), "{raw}");
        }
    }
}
