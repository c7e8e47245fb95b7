//! FLT-1 against the real binary: SMTP refusing, Slack, Teams, Chatwork and the
//! webhook failing, then hanging while the server is killed (SIGKILL) with requests
//! in flight, then a restart on the same data: every message arrives, none is lost,
//! none more than twice. The webhook's signature verifies with the secret the API
//! gave once.

use std::collections::HashMap;
use std::time::Duration;

use genkan_e2e::api::Api;
use genkan_e2e::lab::{HOST, Lab, Peers, configure, visitor_email};
use genkan_e2e::receiver::{Answer, Hit, Receiver};
use genkan_e2e::server::Server;
use genkan_e2e::smtp::Mode;
use serde_json::json;

/// How many requests of `receiver` mention each name.
fn per_name(hits: &[Hit], names: &[String]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for hit in hits {
        let raw = String::from_utf8_lossy(&hit.body).into_owned();
        let text: String = url::form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
            + raw.as_str();
        for n in names {
            if text.contains(n.as_str()) {
                *counts.entry(n.clone()).or_default() += 1;
            }
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_arrives_after_outages_and_a_crash_with_at_most_one_duplicate() {
    let peers = Peers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = configure(
        dir.path(),
        &peers,
        "retry_base_secs = 1\nretry_max_secs = 2\nmax_attempts = 1000",
    );
    let mut server = Server::start_in(dir, config);
    let lab = Lab::set_up(&server, &peers, 1).await;
    let names: Vec<String> = (1..=5).map(|i| format!("Guest{i:02} Visitor")).collect();

    // Phase 1: everything refuses or fails.
    peers.smtp.set_mode(Mode::Refuse);
    peers.set_http(Answer::ServerError);
    peers.teams.set_answer(Answer::TooMany(1));
    let tokens = lab.invite(&names).await;
    let kiosk = Api::new(&server.url, Some(&lab.kiosks[0]));
    for (i, token) in tokens.iter().enumerate() {
        let answer = kiosk
            .check_in(json!({"request_id": format!("flt-checkin-{i:04}"), "token": token}))
            .await
            .ok();
        assert_eq!(answer["host_notified"], true);
    }
    let failing = |r: &Receiver| r.hits().len();
    genkan_e2e::eventually(Duration::from_secs(20), || {
        (failing(&peers.slack) >= 5 && failing(&peers.hook) >= 5 && failing(&peers.teams) >= 5)
            .then_some(())
    })
    .await
    .expect("attempts during the outage");

    // Phase 2: Slack and the webhook hang; kill the server with requests in flight.
    let before: Vec<usize> = [&peers.slack, &peers.hook]
        .iter()
        .map(|r| r.hits().len())
        .collect();
    peers.slack.set_answer(Answer::Hang);
    peers.hook.set_answer(Answer::Hang);
    genkan_e2e::eventually(Duration::from_secs(20), || {
        (peers.slack.hits().len() > before[0] && peers.hook.hits().len() > before[1]).then_some(())
    })
    .await
    .expect("requests in flight");
    server.kill();
    let in_flight_slack = peers.slack.hits()[before[0]..].to_vec();
    let in_flight_hook = peers.hook.hits()[before[1]..].to_vec();
    let answered_before: Vec<usize> = [&peers.slack, &peers.hook, &peers.teams, &peers.api]
        .iter()
        .map(|r| r.hits().len())
        .collect();
    assert!(
        peers.smtp.messages().is_empty(),
        "SMTP refused everything so far"
    );

    // Phase 3: restart on the same data with every peer healthy.
    let (dir, config) = server.stop();
    peers.smtp.set_mode(Mode::Accept);
    peers.set_http(Answer::Ok);
    let _server = Server::start_in(dir, config);
    let delivered = || {
        let ok = |r: &Receiver, from: usize| per_name(&r.hits()[from..], &names);
        let slack = ok(&peers.slack, answered_before[0]);
        let hook = ok(&peers.hook, answered_before[1]);
        let teams = ok(&peers.teams, answered_before[2]);
        let api: Vec<Hit> = peers.api.hits()[answered_before[3]..].to_vec();
        let dm = per_name(
            &api.iter()
                .filter(|h| h.path.ends_with("chat.postMessage"))
                .cloned()
                .collect::<Vec<_>>(),
            &names,
        );
        let chatwork = per_name(
            &api.iter()
                .filter(|h| h.path.contains("/rooms/"))
                .cloned()
                .collect::<Vec<_>>(),
            &names,
        );
        (slack, hook, teams, dm, chatwork)
    };
    let complete = genkan_e2e::eventually(Duration::from_secs(60), || {
        let (slack, hook, teams, dm, chatwork) = delivered();
        let mails_ok = names
            .iter()
            .all(|n| !peers.smtp.to(&visitor_email(n)).is_empty())
            && peers.smtp.to(HOST).len() >= names.len();
        let all = [&slack, &hook, &teams, &dm, &chatwork];
        (mails_ok
            && all
                .iter()
                .all(|m| names.iter().all(|n| m.get(n).copied().unwrap_or(0) >= 1)))
        .then_some(())
    })
    .await;
    let (slack, hook, teams, dm, chatwork) = delivered();
    assert!(
        complete.is_some(),
        "not everything arrived: slack {slack:?} hook {hook:?} teams {teams:?} dm {dm:?} chatwork {chatwork:?}; mails {}",
        peers.smtp.messages().len()
    );
    // Let any straggler arrive before counting duplicates.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (slack, hook, teams, dm, chatwork) = delivered();
    let slack_flight = per_name(&in_flight_slack, &names);
    let hook_flight = per_name(&in_flight_hook, &names);
    for n in &names {
        // 0 lost, ≤ 1 duplicate (a request in flight at the crash is sent once more).
        let twice = |ok: &HashMap<String, usize>, flight: &HashMap<String, usize>| {
            ok.get(n).copied().unwrap_or(0) + flight.get(n).copied().unwrap_or(0)
        };
        let none = HashMap::new();
        for (channel, count) in [
            ("slack", twice(&slack, &slack_flight)),
            ("webhook", twice(&hook, &hook_flight)),
            ("teams", twice(&teams, &none)),
            ("slack dm", twice(&dm, &none)),
            ("chatwork", twice(&chatwork, &none)),
        ] {
            assert!((1..=2).contains(&count), "{channel} {n}: {count}");
        }
        assert_eq!(
            peers.smtp.to(&visitor_email(n)).len(),
            1,
            "invitation of {n}"
        );
    }
    let host_mails = peers.smtp.to(HOST);
    assert_eq!(
        host_mails.len(),
        names.len(),
        "one alert per visit, none twice"
    );

    // The webhook's signature verifies with the secret the API showed once.
    let hit = peers.hook.hits().last().unwrap().clone();
    let ts = hit.headers["x-genkan-timestamp"].to_str().unwrap();
    let sig = hit.headers["x-genkan-signature"].to_str().unwrap();
    let now = genkan_core::Clock::now(&genkan_core::SystemClock).timestamp();
    assert_eq!(
        genkan_core::webhook::verify(lab.webhook_secret.as_bytes(), ts, sig, &hit.body, now),
        Ok(())
    );
}
