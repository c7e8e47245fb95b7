//! Logs: one JSON object per line with `+09:00` timestamps, request-scoped lines
//! carrying their request id, and never a secret (passwords, tokens, kiosk
//! credentials, pass tokens, pairing codes, session cookies) or a full e-mail address.

use chrono::Duration;
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::server::{Server, ServerOptions};
use genkan_e2e::smtp::{Mode, SmtpSink};
use serde_json::json;

use crate::support::mails_to;

/// Every e-mail address in `text` whose local part is shown in full.
fn unmasked_addresses(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'@' {
            continue;
        }
        let local_start = bytes[..i]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || b"._+-*".contains(c)))
            .map_or(0, |p| p + 1);
        let domain_end = bytes[i + 1..]
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || b".-".contains(c)))
            .map_or(bytes.len(), |p| i + 1 + p);
        let local = &text[local_start..i];
        let domain = &text[i + 1..domain_end];
        if !local.is_empty() && domain.contains('.') && !local.ends_with("***") {
            found.push(format!("{local}@{domain}"));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_in_tokyo_time_with_request_ids_and_never_hold_secrets_or_addresses() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let server = Server::start(&ServerOptions::with_smtp(smtp.port));
    let tenant = server.create_tenant("acme");
    let password = tenant["admin_password"].as_str().unwrap().to_owned();
    let token = server.create_token("acme", "admin@acme.example", "admin");
    let api = Api::new(&server.url, Some(&token));
    let site_id = tenant["site_id"].as_i64().unwrap();
    let kiosk = api.create_kiosk(site_id, "Lobby").await.ok();
    let pairing = kiosk["pairing_code"].as_str().unwrap().to_owned();
    let credential = Api::new(&server.url, None)
        .pair_kiosk(&pairing, "ipad")
        .await
        .ok()["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = SystemClock.now();
    let appointment = api
        .create_appointment_with_passes(json!({
            "site_id": site_id, "host_id": tenant["admin_id"], "title": "Review",
            "starts_at": now.to_rfc3339(), "ends_at": (now + Duration::hours(1)).to_rfc3339(),
            "visitors": [{"name": "Secret Visitor", "email": "secret.visitor@example.com", "locale": "en"}],
        }))
        .await
        .ok();
    let pass = appointment["passes"][0].clone();
    let pass_token = pass["token"].as_str().unwrap().to_owned();
    let code = pass["code"].as_str().unwrap().to_owned();
    mails_to(&smtp, "secret.visitor@example.com", 1).await;
    let checked_in = Api::new(&server.url, Some(&credential))
        .check_in(json!({"request_id": "req-log-00000001", "token": pass_token}))
        .await;
    assert_eq!(checked_in.status.as_u16(), 200);
    mails_to(&smtp, "admin@acme.example", 1).await;

    // Signing in (right and wrong password) and a form without its CSRF token.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut jar: Vec<String> = Vec::new();
    let remember = |jar: &mut Vec<String>, r: &reqwest::Response| {
        for v in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = v.to_str().unwrap().split(';').next().unwrap().to_owned();
            let name = pair.split('=').next().unwrap().to_owned();
            jar.retain(|c| !c.starts_with(&format!("{name}=")));
            jar.push(pair);
        }
    };
    let page = http
        .get(format!("{}/login", server.url))
        .send()
        .await
        .unwrap();
    remember(&mut jar, &page);
    let page = page.text().await.unwrap();
    let csrf_of = |page: &str| {
        page.split("name=\"csrf\" value=\"")
            .nth(1)
            .map(|s| s.split('"').next().unwrap_or_default().to_owned())
    };
    let mut csrf = csrf_of(&page).unwrap();
    let wrong = "Wrong-Password-Zq-991!";
    for pw in [wrong, password.as_str()] {
        let r = http
            .post(format!("{}/login", server.url))
            .header(reqwest::header::COOKIE, jar.join("; "))
            .form(&[
                ("csrf", csrf.as_str()),
                ("organisation", "acme"),
                ("email", "admin@acme.example"),
                ("password", pw),
            ])
            .send()
            .await
            .unwrap();
        remember(&mut jar, &r);
        // A refused sign-in shows the form again with a fresh token.
        if let Some(fresh) = csrf_of(&r.text().await.unwrap()) {
            csrf = fresh;
        }
    }
    let session = jar
        .iter()
        .find_map(|c| c.strip_prefix("genkan_session="))
        .expect("signed in")
        .to_owned();
    let forged = http
        .post(format!("{}/users/groups", server.url))
        .header(reqwest::header::COOKIE, jar.join("; "))
        .form(&[("csrf", "not-the-token"), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);

    let log = server.log();
    for secret in [
        password.as_str(),
        wrong,
        session.as_str(),
        token.as_str(),
        credential.as_str(),
        pass_token.as_str(),
        pairing.as_str(),
        code.as_str(),
        "secret.visitor@example.com",
        "admin@acme.example",
    ] {
        assert!(
            !log.contains(secret),
            "the log holds a secret or an address ({} chars)",
            secret.len()
        );
    }
    assert_eq!(unmasked_addresses(&log), Vec::<String>::new());
    let mut with_request_id = 0;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let ts = v["timestamp"].as_str().unwrap_or_default();
        assert!(ts.ends_with("+09:00") && ts.contains('T'), "{line}");
        if let Some(spans) = v["spans"].as_array()
            && let Some(request) = spans.iter().find(|s| s["name"] == "request")
        {
            let id = request["request_id"].as_str().unwrap_or_default();
            assert!(
                id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit()),
                "{line}"
            );
            with_request_id += 1;
        }
    }
    assert!(
        with_request_id >= 1,
        "request-scoped lines carry the request id:\n{log}"
    );
}
