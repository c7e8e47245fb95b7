//! TRUTH-1: what the kiosk API says about the host alert is what really goes out.
//! `host_notified` only when an alert left on a channel this server delivers (mail
//! with a transport, Slack with a bot or webhook…); else reception's contacts are
//! alerted (`reception_notified`) or, when nobody can be, both are false and the
//! kiosk sends the visitor to the desk. Checked for QR, code, walk-in, replayed
//! check-ins and the roster, against a real SMTP server and a real HTTP receiver.

use chrono::Duration;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::text::Locale;
use genkan_e2e::eventually;
use genkan_e2e::receiver::{Answer, Receiver};
use genkan_e2e::smtp::{Mode, SmtpSink};
use genkan_store::appointments::IssuedPass;
use serde_json::{Value, json};

use crate::harness::{HOST, Harness, NowUtc as _, config, sys};

/// The reception contact of the site.
const DESK: &str = "desk@acme.example";
/// How long the application's own worker may take to deliver (it starts at once).
const LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A pass (token and code) for a visit starting now.
async fn pass(h: &Harness, name: &str) -> IssuedPass {
    let now = h.clock.now_utc();
    let input = AppointmentInput {
        site_id: h.site,
        host_id: h.host,
        title: None,
        starts_at: now,
        ends_at: now + Duration::hours(1),
        valid_from_date: None,
        valid_until_date: None,
        visitors: vec![VisitorInput {
            name: name.to_owned(),
            locale: Some("en".to_owned()),
            ..VisitorInput::default()
        }],
    };
    let created = h
        .store
        .create_appointment(
            h.tenant,
            input.validate(Locale::En).unwrap(),
            sys(h.tenant, now),
        )
        .await
        .unwrap()
        .unwrap();
    created.passes.into_iter().next().unwrap()
}

async fn kiosk(h: &Harness, base: &str, path: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::new();
    let url = format!("{base}/api/kiosk/v1/{path}");
    let request = match body {
        Some(b) => http.post(url).json(&b),
        None => http.get(url),
    };
    let r = request.bearer_auth(&h.credential).send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

/// Every way a visitor arrives at the kiosk: QR, typed code, walk-in, and a journal
/// replay of a roster's pass; returns each answer's (`host_notified`, `reception_notified`).
async fn arrivals(h: &Harness, base: &str) -> Vec<(bool, bool)> {
    let (qr, typed, offline) = (
        pass(h, "Qr Visitor").await,
        pass(h, "Typed Visitor").await,
        pass(h, "Offline Visitor").await,
    );
    let roster = kiosk(h, base, "roster", None).await;
    let listed = roster["passes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["visitor_name"] == "Offline Visitor")
        .unwrap()
        .clone();
    h.advance(60);
    let answers = [
        kiosk(h, base, "check-in", Some(json!({"request_id": "truth-qr-0001", "token": qr.token.encode()}))).await,
        kiosk(h, base, "check-in", Some(json!({"request_id": "truth-code-0001", "code": typed.code.as_str()}))).await,
        kiosk(h, base, "walk-in", Some(json!({"request_id": "truth-walk-0001", "name": "Walk In", "host_id": h.host.get()}))).await,
        kiosk(h, base, "check-in", Some(json!({"request_id": "truth-replay-0001",
            "token_hash": offline.token.hash().to_hex(),
            "offline_at": (h.clock.now_utc() - Duration::seconds(30)).to_rfc3339()}))).await,
    ];
    let reachable = listed["host_reachable"].as_bool().unwrap();
    answers
        .iter()
        .map(|a| {
            let host = a["host_notified"].as_bool().unwrap();
            assert_eq!(host, reachable, "the roster foretold the same: {a}");
            (host, a["reception_notified"].as_bool().unwrap())
        })
        .collect()
}

async fn reception_contact(h: &Harness) {
    h.store
        .set_site_alerts(
            h.tenant,
            h.site,
            vec![DESK.to_owned()],
            String::new(),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
}

async fn host_mail_off(h: &Harness) {
    let s = h.store.tenant_settings(h.tenant).await.unwrap();
    h.store
        .update_tenant_settings(
            h.tenant,
            genkan_store::tenants::SettingsUpdate {
                name: genkan_core::text::OrgName::parse(&s.name).unwrap(),
                default_locale: s.default_locale,
                time_zone: s.time_zone,
                primary_color: s.primary_color,
                accent_color: s.accent_color,
                checkout_enabled: s.checkout_enabled,
                pass_policy: s.pass_policy,
                pass_early_minutes: s.pass_early_minutes,
                notify_email: false,
                notify_slack: s.notify_slack,
            },
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
}

/// SECURITY.md TRUTH-1: no mail transport and no chat channel: nobody can be told,
/// so every answer says so (the kiosk sends the visitor to the desk), even with a
/// reception contact set (its mail could not leave either).
#[tokio::test]
async fn with_no_channel_able_to_deliver_every_arrival_says_nobody_was_told() {
    let h = Harness::new(config(None)).await;
    reception_contact(&h).await;
    let app = h.serve().await;
    for answer in arrivals(&h, &app.base).await {
        assert_eq!(answer, (false, false));
    }
}

/// SECURITY.md TRUTH-1: mail works but the tenant turned host mail off: the host is
/// not told, reception is, and the reception contact really receives the alerts.
#[tokio::test]
async fn when_the_host_cannot_be_reached_reception_is_told_and_really_receives_it() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    reception_contact(&h).await;
    host_mail_off(&h).await;
    let app = h.serve().await;
    for answer in arrivals(&h, &app.base).await {
        assert_eq!(answer, (false, true));
    }
    eventually(LIMIT, || (smtp.to(DESK).len() >= 4).then_some(()))
        .await
        .expect("reception's four alerts");
    assert_eq!(smtp.to(DESK).len(), 4, "one alert per arrival");
    assert!(smtp.to(HOST).is_empty(), "the host was not told");
}

/// SECURITY.md TRUTH-1: with a mail transport the host's own address is reached, and
/// the mails do arrive.
#[tokio::test]
async fn with_a_mail_transport_the_host_is_told_and_really_receives_it() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    let app = h.serve().await;
    for answer in arrivals(&h, &app.base).await {
        assert_eq!(answer, (true, false));
    }
    eventually(LIMIT, || (smtp.to(HOST).len() >= 4).then_some(()))
        .await
        .expect("the host's four alerts");
    assert_eq!(smtp.to(HOST).len(), 4);
}

/// SECURITY.md TRUTH-1: without mail, a Slack bot reaches the host by direct message
/// and a Slack channel reaches reception: chat channels count when configured.
#[tokio::test]
async fn without_mail_a_slack_bot_reaches_the_host_and_receptions_channel() {
    let api = Receiver::start(Answer::Api).await;
    let mut c = config(None);
    c.outbound.slack_api_url = format!("{}/api", api.url);
    let h = Harness::new(c).await;
    h.store
        .set_channel(
            h.tenant,
            "slack_bot",
            Some(json!({"bot_token": "xoxb-1-2-3", "signing_secret": "abc123"})),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    h.store
        .set_site_alerts(
            h.tenant,
            h.site,
            Vec::new(),
            "C0RECEPTION".to_owned(),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    let app = h.serve().await;
    for answer in arrivals(&h, &app.base).await {
        assert_eq!(answer, (true, true));
    }
    let posted = || -> Vec<Value> {
        api.hits()
            .into_iter()
            .filter(|x| x.path.ends_with("chat.postMessage"))
            .map(|x| x.json())
            .collect()
    };
    eventually(LIMIT, || (posted().len() >= 8).then_some(()))
        .await
        .expect("eight Slack posts");
    let posts = posted();
    assert_eq!(
        posts.iter().filter(|p| p["channel"] == "D0TEST").count(),
        4,
        "the host's DMs"
    );
    assert_eq!(
        posts
            .iter()
            .filter(|p| p["channel"] == "C0RECEPTION")
            .count(),
        4,
        "reception's channel"
    );
}
