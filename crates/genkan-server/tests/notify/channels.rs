//! Every channel's payload (hostile text inert, signatures that verify), and
//! SSRF: internal targets are never contacted, redirects never followed.

use genkan_core::notification::Channel;
use genkan_e2e::receiver::{Answer, Receiver};
use genkan_e2e::smtp::{Mode, SmtpSink};
use serde_json::json;

use crate::harness::{HOST, Harness, NowUtc as _, config, sys};

const HOSTILE: &str =
    "<!channel> @here <https://evil.example|click> [toall] [x](https://evil.example)";

async fn configure_all(
    h: &Harness,
    slack: &Receiver,
    api: &Receiver,
    teams: &Receiver,
    hook: &Receiver,
) {
    let ctx = || sys(h.tenant, h.clock.now_utc());
    h.store
        .set_slack_webhook(
            h.tenant,
            Some(format!("{}/services/T/B/x", slack.url)),
            ctx(),
        )
        .await
        .unwrap();
    h.store
        .set_channel(
            h.tenant,
            "slack_bot",
            Some(json!({"bot_token": "xoxb-1-2-3", "signing_secret": "abc123"})),
            ctx(),
        )
        .await
        .unwrap();
    h.store
        .set_channel(
            h.tenant,
            "teams",
            Some(json!({"url": format!("{}/workflows/x", teams.url)})),
            ctx(),
        )
        .await
        .unwrap();
    h.store
        .set_channel(
            h.tenant,
            "chatwork",
            Some(json!({"token": "cw-token", "room_id": "4242"})),
            ctx(),
        )
        .await
        .unwrap();
    h.store
        .set_channel(
            h.tenant,
            "webhook",
            Some(json!({"url": format!("{}/genkan", hook.url), "secret": "whsec_test"})),
            ctx(),
        )
        .await
        .unwrap();
    let _ = api;
}

#[tokio::test]
async fn every_channel_receives_the_alert_with_hostile_text_inert() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let (slack, api, teams, hook) = (
        Receiver::start(Answer::Ok).await,
        Receiver::start(Answer::Api).await,
        Receiver::start(Answer::Ok).await,
        Receiver::start(Answer::Ok).await,
    );
    let mut c = config(Some(smtp.port));
    c.outbound.slack_api_url = format!("{}/api", api.url);
    c.outbound.chatwork_api_url = format!("{}/v2", api.url);
    let h = Harness::new(c).await;
    configure_all(&h, &slack, &api, &teams, &hook).await;
    let passes = h.appointment(&[HOSTILE]).await;
    let visit = h.check_in(&passes[0]).await;
    while h.deliver().await > 0 {}

    // Slack webhook: no mention, no link, buttons for the reply.
    let payload = slack.hits()[0].json();
    // Slack parses mentions and links only in mrkdwn and the fallback text;
    // plain_text objects (the header) are shown as typed.
    let mut parsed = vec![payload["text"].as_str().unwrap().to_owned()];
    for block in payload["blocks"].as_array().unwrap() {
        for field in block["fields"].as_array().into_iter().flatten() {
            parsed.push(field["text"].as_str().unwrap().to_owned());
        }
        if block["text"]["type"] == "mrkdwn" {
            parsed.push(block["text"]["text"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(payload["blocks"][0]["text"]["type"], "plain_text");
    for text in &parsed {
        for raw in ["<!channel>", "@here", "<https://", "|click>"] {
            assert!(!text.contains(raw), "{raw} in {text}");
        }
    }
    let actions = payload["blocks"].as_array().unwrap().last().unwrap();
    assert_eq!(actions["type"], "actions");
    assert_eq!(actions["elements"].as_array().unwrap().len(), 2);

    // Slack bot: the host is found by e-mail, a DM opened, the message posted there.
    let paths: Vec<String> = api.hits().iter().map(|h| h.path.clone()).collect();
    for p in [
        "/api/users.lookupByEmail",
        "/api/conversations.open",
        "/api/chat.postMessage",
    ] {
        assert!(paths.iter().any(|x| x == p), "{p} not called: {paths:?}");
    }
    let lookup = api
        .hits()
        .into_iter()
        .find(|x| x.path.ends_with("lookupByEmail"))
        .unwrap();
    assert_eq!(lookup.headers["authorization"], "Bearer xoxb-1-2-3");
    assert!(String::from_utf8_lossy(&lookup.body).contains("tanaka%40acme.example"));
    let post = api
        .hits()
        .into_iter()
        .find(|x| x.path.ends_with("chat.postMessage"))
        .unwrap()
        .json();
    assert_eq!(post["channel"], "D0TEST");
    assert!(!post["text"].as_str().unwrap().contains("<!channel>"));
    assert_eq!(
        post["blocks"][1], payload["blocks"][1],
        "same layout as the webhook's"
    );

    // Teams: an Adaptive Card, nothing clickable from the name.
    let card = teams.hits()[0].json();
    assert_eq!(card["attachments"][0]["content"]["type"], "AdaptiveCard");
    let card_text = card.to_string();
    assert!(
        !card_text.contains("](https") && !card_text.contains("https://evil"),
        "{card_text}"
    );

    // Chatwork: the room's message endpoint with the token header; tags inert.
    let cw = api
        .hits()
        .into_iter()
        .find(|x| x.path == "/v2/rooms/4242/messages")
        .unwrap();
    assert_eq!(cw.headers["x-chatworktoken"], "cw-token");
    let body: String = url::form_urlencoded::parse(&cw.body)
        .find(|(k, _)| k == "body")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert!(
        body.starts_with("[info][title]") && !body.contains("[toall]"),
        "{body}"
    );

    // Webhook: signed JSON that verifies within the window, and only then.
    let w = &hook.hits()[0];
    let ts = w.headers["x-genkan-timestamp"].to_str().unwrap();
    let sig = w.headers["x-genkan-signature"].to_str().unwrap();
    let now = h.clock.now_utc().timestamp();
    assert_eq!(
        genkan_core::webhook::verify(b"whsec_test", ts, sig, &w.body, now),
        Ok(())
    );
    assert!(genkan_core::webhook::verify(b"whsec_test", ts, sig, &w.body, now + 301).is_err());
    assert!(genkan_core::webhook::verify(b"wrong", ts, sig, &w.body, now).is_err());
    let event = w.json();
    assert_eq!(event["event"], "visitor.arrived");
    assert_eq!(event["visit"]["id"], visit.get());
    assert_eq!(event["visit"]["visitor_name"], HOSTILE);
    assert!(
        event["visit"]["checked_in_at"]
            .as_str()
            .unwrap()
            .ends_with("+09:00")
    );
    assert_eq!(
        w.headers["x-genkan-delivery"].to_str().unwrap(),
        event["id"].as_str().unwrap()
    );

    // E-mail: one recipient, no injected header.
    let mail = &smtp.to(HOST)[0];
    assert_eq!(mail.rcpt_to, vec![HOST.to_owned()]);
    let ledger = h.store.ledger(h.tenant, None, Some(visit)).await.unwrap();
    assert_eq!(ledger.len(), 6, "{ledger:?}");
    for l in &ledger {
        let expect = if l.channel == "email" || l.channel == "teams" {
            "sent"
        } else {
            "delivered"
        };
        assert_eq!(l.status, expect, "{l:?}");
    }
}

#[tokio::test]
async fn internal_addresses_stored_for_any_channel_are_never_contacted() {
    let local = Receiver::start(Answer::Api).await;
    let mut c = config(None);
    c.outbound.allow_private_networks = false;
    c.outbound.slack_api_url = format!("{}/api", local.url);
    c.outbound.chatwork_api_url = format!("{}/v2", local.url);
    let h = Harness::new(c).await;
    let port = local.url.rsplit(':').next().unwrap().to_owned();
    // Stored directly, as if a check had been bypassed or a name re-pointed.
    let ctx = || sys(h.tenant, h.clock.now_utc());
    for (i, url) in [
        format!("https://127.0.0.1:{port}/x"),
        format!("https://[::1]:{port}/x"),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        format!("https://localhost:{port}/x"),
        format!("https://2130706433:{port}/x"),
        format!("http://127.0.0.1:{port}/x"),
    ]
    .into_iter()
    .enumerate()
    {
        h.store
            .set_slack_webhook(h.tenant, Some(url.clone()), ctx())
            .await
            .unwrap();
        h.store
            .set_site_slack_webhook(h.tenant, h.site, None, ctx())
            .await
            .unwrap();
        h.store
            .set_channel(h.tenant, "teams", Some(json!({"url": url})), ctx())
            .await
            .unwrap();
        h.store
            .set_channel(
                h.tenant,
                "webhook",
                Some(json!({"url": url, "secret": "s"})),
                ctx(),
            )
            .await
            .unwrap();
        h.store
            .set_channel(
                h.tenant,
                "slack_bot",
                Some(json!({"bot_token": "xoxb-1", "signing_secret": ""})),
                ctx(),
            )
            .await
            .unwrap();
        h.store
            .set_channel(
                h.tenant,
                "chatwork",
                Some(json!({"token": "t", "room_id": "1"})),
                ctx(),
            )
            .await
            .unwrap();
        let passes = h.appointment(&[&format!("Visitor{i} Test")]).await;
        h.check_in(&passes[0]).await;
        while h.deliver().await > 0 {}
    }
    assert!(
        local.hits().is_empty(),
        "{} connections reached the local listener",
        local.hits().len()
    );
    let chat: Vec<_> = h
        .messages()
        .await
        .into_iter()
        .filter(|m| m.channel != Channel::Email)
        .collect();
    assert!(chat.len() >= 6 * 5);
    for m in &chat {
        assert!(m.status == "dead" || m.status == "queued", "{m:?}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = Receiver::start(Answer::Ok).await;
    let port: u16 = target.url.rsplit(':').next().unwrap().parse().unwrap();
    let redirecting = Receiver::start(Answer::Redirect(port)).await;
    let h = Harness::new(config(None)).await;
    h.store
        .set_channel(
            h.tenant,
            "teams",
            Some(json!({"url": format!("{}/x", redirecting.url)})),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    let passes = h.appointment(&["Sato Hanako"]).await;
    h.check_in(&passes[0]).await;
    h.deliver().await;
    assert_eq!(redirecting.hits().len(), 1);
    assert!(target.hits().is_empty(), "the redirect was followed");
    let m = h
        .messages()
        .await
        .into_iter()
        .find(|m| m.channel == Channel::Teams)
        .unwrap();
    assert_eq!(m.status, "dead");
    assert!(m.last_error.unwrap().contains("redirect"));
}

#[tokio::test]
async fn an_away_host_is_replaced_by_the_delegate_and_site_contacts_are_always_alerted() {
    let h = Harness::new(config(None)).await;
    let delegate = h.user("suzuki@acme.example", "Suzuki Jiro").await;
    let ctx = || sys(h.tenant, h.clock.now_utc());
    assert!(
        h.store
            .set_away(
                h.tenant,
                h.host,
                genkan_store::channels::Away {
                    away: true,
                    delegate: Some(delegate)
                },
                ctx()
            )
            .await
            .unwrap()
    );
    // A delegate must be someone else of the same tenant.
    assert!(
        !h.store
            .set_away(
                h.tenant,
                h.host,
                genkan_store::channels::Away {
                    away: true,
                    delegate: Some(h.host)
                },
                ctx()
            )
            .await
            .unwrap()
    );
    h.store
        .set_site_alerts(
            h.tenant,
            h.site,
            vec!["desk@acme.example".into(), "guard@acme.example".into()],
            String::new(),
            ctx(),
        )
        .await
        .unwrap();
    let passes = h.appointment(&["Sato Hanako"]).await;
    h.check_in(&passes[0]).await;
    let alerts: Vec<String> = h
        .messages()
        .await
        .into_iter()
        .filter(|m| m.kind == genkan_core::notification::MessageKind::HostArrival)
        .map(|m| m.recipient)
        .collect();
    assert_eq!(
        alerts,
        [
            "suzuki@acme.example",
            "desk@acme.example",
            "guard@acme.example"
        ]
    );
    // Back from being away: the host again.
    h.store
        .set_away(
            h.tenant,
            h.host,
            genkan_store::channels::Away {
                away: false,
                delegate: Some(delegate),
            },
            ctx(),
        )
        .await
        .unwrap();
    let passes = h.appointment(&["John Smith"]).await;
    h.check_in(&passes[0]).await;
    let last: Vec<String> = h
        .messages()
        .await
        .into_iter()
        .rev()
        .take(3)
        .map(|m| m.recipient)
        .collect();
    assert!(last.contains(&HOST.to_owned()), "{last:?}");
}
