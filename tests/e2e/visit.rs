//! The whole visit: appointment → invitation mail → QR decoded by the kiosk →
//! check-in → host mail and Slack → visit listed → "already inside" → check-out →
//! fallback code.

use chrono::Duration;
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::Api;
use genkan_e2e::receiver::{Answer, Receiver};
use genkan_e2e::server::{Server, ServerOptions};
use genkan_e2e::smtp::{Mode, SmtpSink};
use serde_json::json;

use crate::support::{invitation, kiosk_json, mails_to, write};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_works_end_to_end_from_invitation_to_check_out() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let slack = Receiver::start(Answer::Ok).await;
    let server = Server::start(&ServerOptions::with_smtp(smtp.port));
    let tenant = server.create_tenant("acme");
    let site_id = tenant["site_id"].as_i64().unwrap();
    let token = server.create_token("acme", "admin@acme.example", "admin");
    let api = Api::new(&server.url, Some(&token));

    let host = api
        .create_user("tanaka@acme.example", "Tanaka Ichiro", "host")
        .await
        .ok();
    api.set_slack(&format!("{}/services/T0/B0/secret", slack.url))
        .await
        .ok();
    let kiosk = api.create_kiosk(site_id, "Lobby").await.ok();
    let now = SystemClock.now();
    let appointment = api
        .create_appointment(json!({
            "site_id": site_id,
            "host_id": host["id"],
            "title": "Design review",
            "starts_at": now.to_rfc3339(),
            "ends_at": (now + Duration::hours(1)).to_rfc3339(),
            "visitors": [
                {"name": "Sato Hanako", "company": "Example KK", "email": "sato@visitor.example", "locale": "ja"},
                {"name": "John Smith", "company": "Contoso", "email": "john@visitor.example", "locale": "en"},
            ],
        }))
        .await
        .ok();
    assert_eq!(appointment["visitors"].as_array().unwrap().len(), 2);
    assert!(
        appointment["starts_at_local"]
            .as_str()
            .unwrap()
            .ends_with("+09:00")
    );

    // The invitation reaches the SMTP server with the QR inline (cid:) and attached.
    let sato_mail = &mails_to(&smtp, "sato@visitor.example", 1).await[0];
    let sato = invitation(sato_mail);
    assert!(sato.html.contains("cid:pass-qr"));
    assert!(!sato.html.contains("data:image"), "no data: URIs in mail");
    assert_eq!(sato.inline_png, sato.attached_png);
    assert!(sato.ics.contains("BEGIN:VEVENT"));

    // The kiosk's decoder reads the QR out of the mail.
    let work = tempfile::tempdir().unwrap();
    let png = write(work.path(), "sato.png", &sato.inline_png);
    let (status, decoded) = kiosk_json(&["decode", &png]);
    assert_eq!(status, 0);
    let text = decoded["text"].as_str().expect("the QR decodes");
    assert!(text.starts_with("GK1") && text.len() == 31, "{text}");

    // Pair the kiosk, then check in through the kiosk client.
    let config_dir = work.path().join("kiosk").display().to_string();
    let pairing = kiosk["pairing_code"].as_str().unwrap();
    let (status, paired) = kiosk_json(&[
        "pair",
        "--server",
        &server.url,
        "--code",
        pairing,
        "--config-dir",
        &config_dir,
    ]);
    assert_eq!(status, 0, "{paired}");
    assert!(
        paired.get("credential").is_none(),
        "the credential is not printed"
    );
    let (status, welcome) = kiosk_json(&[
        "checkin",
        "--server",
        &server.url,
        "--image",
        &png,
        "--config-dir",
        &config_dir,
    ]);
    assert_eq!(status, 0, "{welcome}");
    assert_eq!(welcome["visitor_name"], "Sato Hanako");
    assert_eq!(welcome["host_name"], "Tanaka Ichiro");
    assert_eq!(welcome["locale"], "ja");

    // The host's e-mail and the Slack message arrive with the right names.
    let host_mail = &mails_to(&smtp, "tanaka@acme.example", 1).await[0];
    let parsed = host_mail.parsed();
    let subject = parsed.subject().unwrap();
    assert!(subject.contains("Sato Hanako"), "{subject}");
    let text = parsed.body_text(0).unwrap();
    for fact in ["Example KK", "Tokyo HQ", "Lobby", "+09:00"] {
        assert!(text.contains(fact), "{fact} missing from {text}");
    }
    let hit = genkan_e2e::eventually(std::time::Duration::from_secs(20), || {
        slack.hits().into_iter().next()
    })
    .await
    .expect("Slack message");
    let slack_text = hit.json().to_string();
    for fact in [
        "Sato Hanako",
        "Example KK",
        "Tokyo HQ",
        "Tanaka Ichiro",
        "+09:00",
    ] {
        assert!(
            slack_text.contains(fact),
            "{fact} missing from {slack_text}"
        );
    }

    // The visit is listed.
    let visits = api.visits().await.ok();
    let listed = visits.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["visitor_name"], "Sato Hanako");
    assert_eq!(listed[0]["status"], "inside");

    // A second scan says "already inside"; check-out works.
    let (status, again) = kiosk_json(&[
        "checkin",
        "--server",
        &server.url,
        "--image",
        &png,
        "--config-dir",
        &config_dir,
    ]);
    assert_eq!(
        (status, again["code"].as_str()),
        (2, Some("already_inside")),
        "{again}"
    );
    let (status, bye) = kiosk_json(&[
        "checkout",
        "--server",
        &server.url,
        "--image",
        &png,
        "--config-dir",
        &config_dir,
    ]);
    assert_eq!(status, 0, "{bye}");
    assert_eq!(bye["visitor_name"], "Sato Hanako");
    let visits = api.visits().await.ok();
    assert_eq!(visits[0]["status"], "checked_out");

    // The fallback code works too, and the answer is in the visitor's language.
    let john = invitation(&mails_to(&smtp, "john@visitor.example", 1).await[0]);
    let (status, welcome) = kiosk_json(&[
        "checkin",
        "--server",
        &server.url,
        "--code",
        &john.code,
        "--config-dir",
        &config_dir,
    ]);
    assert_eq!(status, 0, "{welcome}");
    assert_eq!(welcome["visitor_name"], "John Smith");
    assert_eq!(welcome["locale"], "en");
}
