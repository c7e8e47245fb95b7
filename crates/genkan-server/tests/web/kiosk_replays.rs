//! KIO-3 (journal replays) through the kiosk API with a moved clock: a replay is
//! accepted only for a pass a roster issued to that kiosk listed, at a time that
//! roster allows and the pass was valid; every other replay is refused with
//! `replay_refused` and counted toward the kiosk's limit.

use chrono::{DateTime, Duration, Utc};
use genkan_core::Clock as _;
use genkan_store::appointments::IssuedPass;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::kiosk_lobby::{check_in, kiosk_call, lobby, pass_at, visits};

fn replay(request_id: &str, token_hash: &str, at: DateTime<Utc>) -> Value {
    json!({"request_id": request_id, "token_hash": token_hash, "offline_at": at.to_rfc3339()})
}

fn hash(pass: &IssuedPass) -> String {
    pass.token.hash().to_hex()
}

async fn roster(app: &TestApp, credential: &str) -> Value {
    let (status, body) = kiosk_call(
        app,
        "127.0.0.1",
        credential,
        Method::GET,
        "/api/kiosk/v1/roster",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// SECURITY.md KIO-3: arbitrary token hashes, passes never listed to this kiosk
/// (registered after its roster, or listed only to another kiosk), arrival times
/// before the kiosk had the roster, in the future, older than the replay window or
/// outside the pass's validity are refused with `replay_refused`; the listed pass at
/// its real time is accepted once; the refusals count toward the kiosk's limit.
#[tokio::test]
async fn replays_are_accepted_only_for_passes_this_kiosks_roster_listed_at_a_time_it_allows() {
    let app = TestApp::spawn().await;
    let lobby = lobby(&app, 2).await;
    let (a, b) = (&lobby.kiosks[0], &lobby.kiosks[1]);
    let t0 = app.clock.now();
    let soon = t0 + Duration::minutes(10);
    let (listed, _) = pass_at(&app, lobby.site, soon, "Listed Visitor").await;
    let (tomorrow, _) = pass_at(&app, lobby.site, t0 + Duration::days(1), "Tomorrow Visitor").await;
    let first = roster(&app, a).await;
    assert_eq!(first["passes"].as_array().unwrap().len(), 2);
    app.clock.advance(Duration::minutes(5));
    let (late, _) = pass_at(&app, lobby.site, soon, "Late Registration").await;
    let theirs = roster(&app, b).await;
    assert_eq!(
        theirs["passes"].as_array().unwrap().len(),
        3,
        "kiosk B was given the late pass"
    );
    // The network goes down for kiosk A; the server sees its replays 20 minutes later.
    app.clock.advance(Duration::minutes(20));
    let now = app.clock.now();

    let cases = [
        (
            "an arbitrary token hash",
            replay(
                "replay-arb-01",
                &"ab".repeat(32),
                now - Duration::minutes(3),
            ),
        ),
        (
            "a pass only another kiosk was given",
            replay("replay-late-01", &hash(&late), now - Duration::minutes(3)),
        ),
        (
            "before the kiosk had its roster",
            replay("replay-early-01", &hash(&listed), t0 - Duration::hours(1)),
        ),
        (
            "in the future",
            replay("replay-future-01", &hash(&listed), now + Duration::hours(1)),
        ),
        (
            "older than the replay window",
            replay("replay-old-01", &hash(&listed), now - Duration::days(8)),
        ),
        (
            "outside the pass's validity",
            replay(
                "replay-valid-01",
                &hash(&tomorrow),
                now - Duration::minutes(3),
            ),
        ),
    ];
    for (what, body) in &cases {
        let (status, answer) = check_in(&app, "127.0.0.1", a, body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some("replay_refused")),
            "{what}: {answer}"
        );
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(
        visits(&app).await.is_empty(),
        "no visit from a refused replay"
    );

    // Replays come as token hash and arrival time together, at check-in only.
    for (what, path, body) in [
        (
            "a hash without a time",
            "/api/kiosk/v1/check-in",
            json!({"request_id": "replay-bare-01", "token_hash": hash(&listed)}),
        ),
        (
            "a token with a time",
            "/api/kiosk/v1/check-in",
            json!({"request_id": "replay-tok-01", "token": listed.token.encode(), "offline_at": now.to_rfc3339()}),
        ),
        (
            "a check-out replay",
            "/api/kiosk/v1/check-out",
            replay("replay-out-01", &hash(&listed), now - Duration::minutes(3)),
        ),
    ] {
        let (status, answer) =
            kiosk_call(&app, "127.0.0.1", a, Method::POST, path, Some(body)).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("malformed")),
            "{what}: {answer}"
        );
    }

    // The listed pass at its real arrival time: accepted once, at that time.
    let arrived = t0 + Duration::minutes(12);
    let (status, ok) = check_in(
        &app,
        "127.0.0.1",
        a,
        replay("replay-ok-01", &hash(&listed), arrived),
    )
    .await;
    assert_eq!(status, 200, "{ok}");
    let recorded = visits(&app).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].method.as_str(), recorded[0].checked_in_at),
        ("offline", arrived)
    );

    // Refused replays count: a kiosk sending forged ones is soon refused outright.
    let mut limited = None;
    for i in 0..40 {
        let body = replay(
            &format!("forged-{i:06}"),
            &format!("{i:064x}"),
            now - Duration::minutes(1),
        );
        let (status, answer) = check_in(&app, "127.0.0.1", a, body).await;
        if status == 429 {
            limited = Some(i);
            break;
        }
        assert_eq!(answer["code"], "replay_refused");
    }
    let limited = limited.expect("forged replays get rate limited");
    assert!(
        limited + cases.len() <= 30,
        "limited after {limited} more refusals"
    );
    let (status, answer) = check_in(
        &app,
        "127.0.0.2",
        b,
        replay("replay-b-01", &hash(&late), now - Duration::minutes(2)),
    )
    .await;
    assert_eq!(
        status, 200,
        "kiosk B's own replay of its own roster's pass: {answer}"
    );
}
