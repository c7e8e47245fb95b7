//! Host replies: e-mail links (GET shows, POST records, once, until expiry), Slack
//! buttons (signature checked), and the kiosk's long-poll woken by the reply.

use std::time::{Duration, Instant};

use genkan_core::notification::Channel;
use genkan_core::wire::v1::ReplyKind;
use genkan_e2e::smtp::{Mode, SmtpSink};
use genkan_server::notify::links::{self, ReplyLink};
use hmac::{Hmac, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::harness::{HOST, Harness, NowUtc as _, config, sys};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The "I'm coming" and "Please wait" links of the newest alert mail to the host.
async fn reply_links(smtp: &SmtpSink) -> (String, String) {
    let mail = genkan_e2e::eventually(Duration::from_secs(20), || smtp.to(HOST).into_iter().last())
        .await
        .expect("the alert mail");
    let text = mail.parsed().body_text(0).unwrap().into_owned();
    let links: Vec<String> = text
        .split_whitespace()
        .filter(|w| w.starts_with("http://genkan.test/reply/"))
        .map(|w| w.trim_start_matches("http://genkan.test").to_owned())
        .collect();
    assert_eq!(links.len(), 2, "{text}");
    (links[0].clone(), links[1].clone())
}

async fn post_token(base: &str, token: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/reply"))
        .header("origin", base)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reply_link_shows_a_confirmation_on_get_and_records_once_on_post() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    let app = h.serve().await;
    let passes = h.appointment(&["Sato Hanako"]).await;
    let visit = h.check_in(&passes[0]).await;
    let (coming, wait) = reply_links(&smtp).await;
    assert_ne!(coming, wait);

    // GET shows what the link does and changes nothing (mail scanners follow links).
    let page = client()
        .get(format!("{}{coming}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(
        body.contains("Sato Hanako") && body.contains("coming"),
        "{body}"
    );
    assert!(
        h.store
            .latest_reply(h.tenant, visit)
            .await
            .unwrap()
            .is_none()
    );

    // POST records it; the same link works once.
    let token = coming.trim_start_matches("/reply/");
    let done = post_token(&app.base, token).await;
    assert_eq!(done.status(), 200);
    let reply = h
        .store
        .latest_reply(h.tenant, visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (reply.kind, reply.responder_name.as_str()),
        (ReplyKind::Coming, "Tanaka Ichiro")
    );
    assert_eq!(post_token(&app.base, token).await.status(), 409);
    let again = client()
        .get(format!("{}{coming}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);

    // A cross-site POST and an altered link are refused.
    let foreign = client()
        .post(format!("{}/reply", app.base))
        .header("origin", "https://evil.example")
        .form(&[("token", wait.trim_start_matches("/reply/"))])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let altered = wait.trim_start_matches("/reply/").replacen(".w.", ".c.", 1);
    assert_eq!(post_token(&app.base, &altered).await.status(), 404);

    // The other link still works until it expires.
    h.advance(9 * 3600);
    assert_eq!(
        post_token(&app.base, wait.trim_start_matches("/reply/"))
            .await
            .status(),
        410
    );
    let ledger = h.store.ledger(h.tenant, None, Some(visit)).await.unwrap();
    assert!(ledger.iter().any(|l| l.status == "acknowledged"));
}

#[tokio::test]
async fn the_kiosk_long_poll_returns_within_a_second_of_the_click() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let h = Harness::new(config(Some(smtp.port))).await;
    let app = h.serve().await;
    let passes = h.appointment(&["Sato Hanako"]).await;
    let visit = h.check_in(&passes[0]).await;
    let (_, wait) = reply_links(&smtp).await;
    let url = format!("{}/api/kiosk/v1/visits/{}/reply", app.base, visit.get());

    // Nothing yet: an immediate answer with no reply.
    let now: Value = client()
        .get(format!("{url}?wait_ms=0"))
        .bearer_auth(&h.credential)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now, json!({"reply": null}));
    // Without the kiosk credential, or for a visit of another site: refused.
    let anon = client().get(&url).send().await.unwrap();
    assert_eq!(anon.status(), 401);

    let poll = {
        let (url, credential) = (url.clone(), h.credential.clone());
        tokio::spawn(async move {
            let answer: Value = client()
                .get(format!("{url}?wait_ms=20000"))
                .bearer_auth(credential)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (Instant::now(), answer)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let clicked = Instant::now();
    assert_eq!(
        post_token(&app.base, wait.trim_start_matches("/reply/"))
            .await
            .status(),
        200
    );
    let (answered, body) = poll.await.unwrap();
    let latency = answered.saturating_duration_since(clicked);
    assert!(
        latency < Duration::from_secs(1),
        "long-poll answered {latency:?} after the click"
    );
    assert_eq!(body["reply"]["kind"], "wait");
    assert_eq!(body["reply"]["host_name"], "Tanaka Ichiro");
    assert!(body["reply"]["at"].as_str().unwrap().ends_with("+09:00"));
}

#[tokio::test]
async fn a_kiosk_cannot_poll_a_visit_of_another_site() {
    let h = Harness::new(config(None)).await;
    let app = h.serve().await;
    let other_site = h
        .store
        .create_site(
            h.tenant,
            genkan_core::text::OrgName::parse("Osaka").unwrap(),
            genkan_core::tenant::TimeZone::default(),
            String::new(),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap()
        .id;
    let new = h
        .store
        .create_kiosk(
            h.tenant,
            other_site,
            "Osaka lobby".into(),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    let paired = h
        .store
        .pair_kiosk(
            &new.pairing_code,
            None,
            genkan_store::AuditCtx::system(None, h.clock.now_utc()),
        )
        .await
        .unwrap()
        .unwrap();
    let passes = h.appointment(&["Sato Hanako"]).await;
    let visit = h.check_in(&passes[0]).await;
    let r = client()
        .get(format!(
            "{}/api/kiosk/v1/visits/{}/reply?wait_ms=0",
            app.base,
            visit.get()
        ))
        .bearer_auth(&paired.credential)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

fn slack_signature(secret: &str, ts: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn slack_button_clicks_are_recorded_only_with_a_valid_fresh_signature() {
    let h = Harness::new(config(None)).await;
    h.store
        .set_channel(
            h.tenant,
            "slack_bot",
            Some(json!({"bot_token": "xoxb-1", "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5"})),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    let app = h.serve().await;
    let passes = h.appointment(&["Sato Hanako"]).await;
    let visit = h.check_in(&passes[0]).await;
    let alert = h
        .messages()
        .await
        .into_iter()
        .zip(h.store.message_ids(h.tenant).await.unwrap())
        .find(|(m, _)| m.channel == Channel::Slack)
        .map(|(_, id)| id)
        .unwrap();
    let token = links::sign(
        h.store.keys(),
        &ReplyLink {
            tenant: h.tenant,
            visit,
            message: alert,
            kind: ReplyKind::Coming,
            expires: h.clock.now_utc().timestamp() + 3600,
        },
    );
    let payload = json!({"type": "block_actions", "user": {"id": "U1", "name": "tanaka"},
        "actions": [{"action_id": "genkan_reply_coming", "value": token}]});
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let now = h.clock.now_utc().timestamp();
    let send = |sig: String, ts: i64| {
        let (base, body) = (app.base.clone(), body.clone());
        async move {
            client()
                .post(format!("{base}/integrations/slack/interactions"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-slack-request-timestamp", ts.to_string())
                .header("x-slack-signature", sig)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    assert_eq!(send(slack_signature("wrong", now, &body), now).await, 401);
    assert_eq!(
        send(slack_signature(secret, now - 301, &body), now - 301).await,
        401,
        "stale"
    );
    assert!(
        h.store
            .latest_reply(h.tenant, visit)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(send(slack_signature(secret, now, &body), now).await, 200);
    let reply = h
        .store
        .latest_reply(h.tenant, visit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.kind, ReplyKind::Coming);
}
