//! KIO-2, RACE-1 (kiosk half) and the walk-in part of KIO-3: typed codes are limited
//! per kiosk and per address, every refusal counts whatever its reason, attempts are
//! taken before the lookup so a burst gets no more lookups than the limit, and
//! walk-ins are limited per kiosk.

use std::sync::Arc;

use chrono::Duration;
use genkan_core::Clock as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{HOST, TestApp};
use crate::kiosk_lobby::{cancel, check_in, kiosk_call, lobby, pass_at, visits};

/// Code attempts a kiosk gets per 15 minutes.
const PER_KIOSK: usize = 10;
/// Code attempts an address gets per 15 minutes, across kiosks.
const PER_ADDRESS: usize = 30;
/// Walk-ins a kiosk registers per 10 minutes.
const WALK_INS: usize = 20;

fn code(request_id: &str, digits: &str) -> Value {
    json!({"request_id": request_id, "code": digits})
}

/// SECURITY.md KIO-2: a code refused as unknown, for another site, expired,
/// cancelled, not yet valid or already inside counts toward the kiosk's limit and
/// the address's limit alike; once spent, even the right code is refused unread.
#[tokio::test]
async fn every_kind_of_refused_code_counts_toward_the_kiosks_and_the_addresss_limits() {
    let app = TestApp::spawn().await;
    let lobby = lobby(&app, 4).await;
    let now = app.clock.now();
    let soon = now + Duration::minutes(30);
    let (expired, _) = pass_at(&app, lobby.site, now - Duration::days(2), "Old Visit").await;
    let (early, _) = pass_at(&app, lobby.site, now + Duration::days(2), "Next Week").await;
    let (cancelled, id) = pass_at(&app, lobby.site, soon, "Called Off").await;
    cancel(&app, id).await;
    let (elsewhere, _) = pass_at(&app, lobby.other_site, soon, "Osaka Visitor").await;
    let (inside, _) = pass_at(&app, lobby.site, soon, "Already Here").await;
    let (right, _) = pass_at(&app, lobby.site, soon, "Right Code").await;
    let (status, body) = check_in(
        &app,
        "127.0.0.1",
        &lobby.kiosks[0],
        json!({"request_id": "inside-token-01", "token": inside.token.encode()}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let unknown = if right.code.as_str() == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    let kinds = [
        (unknown.to_owned(), "pass_unknown"),
        (elsewhere.code.as_str().to_owned(), "other_site"),
        (expired.code.as_str().to_owned(), "pass_expired"),
        (cancelled.code.as_str().to_owned(), "pass_cancelled"),
        (early.code.as_str().to_owned(), "pass_not_yet_valid"),
        (inside.code.as_str().to_owned(), "already_inside"),
    ];

    // Three kiosks, one address: each spends its own limit with refusals of every kind.
    for (k, credential) in lobby.kiosks[..3].iter().enumerate() {
        for i in 0..PER_KIOSK {
            let (digits, expected) = &kinds[(k + i) % kinds.len()];
            let (status, body) = check_in(
                &app,
                "127.0.0.1",
                credential,
                code(&format!("k{k}-try-{i:04}"), digits),
            )
            .await;
            assert_eq!(body["code"], *expected, "kiosk {k}, attempt {i}: {body}");
            assert_ne!(status, 429);
        }
        let (status, body) = check_in(
            &app,
            "127.0.0.9",
            credential,
            code(&format!("k{k}-right-01"), right.code.as_str()),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (429, Some("rate_limited")),
            "kiosk {k}: its limit is spent, even for the right code from a fresh address"
        );
    }
    // The address spent its 30 across those kiosks: a fourth, untouched kiosk is
    // refused from it, not from another address.
    assert_eq!(PER_ADDRESS, 3 * PER_KIOSK);
    let (status, body) = check_in(
        &app,
        "127.0.0.1",
        &lobby.kiosks[3],
        code("k3-right-01", right.code.as_str()),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    let (status, body) = check_in(
        &app,
        "127.0.0.2",
        &lobby.kiosks[3],
        code("k3-right-02", right.code.as_str()),
    )
    .await;
    assert_eq!(status, 200, "another address at an untouched kiosk: {body}");
    assert_eq!(body["visitor_name"], "Right Code");

    // The limits last their window, then the kiosk may try again.
    app.clock.advance(Duration::minutes(15));
    let (status, body) = check_in(
        &app,
        "127.0.0.1",
        &lobby.kiosks[0],
        code("k0-later-01", unknown),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("pass_unknown")));
}

/// Fires `n` code check-ins at once (after a barrier) at one kiosk from 30 loopback
/// addresses; `digits(i)` is the code of request `i`. Returns (status, body) each.
async fn burst(
    app: &Arc<TestApp>,
    credential: &Arc<String>,
    tag: &str,
    n: usize,
    digits: impl Fn(usize) -> String,
) -> Vec<(u16, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (credential, barrier) = (Arc::clone(credential), Arc::clone(&barrier));
            let browser = app.anonymous_from(Some(&format!("127.0.2.{}", i % 30 + 1)));
            let body = code(&format!("{tag}-{i:06}"), &digits(i));
            tokio::spawn(async move {
                barrier.wait().await;
                let (status, _, body) = browser
                    .api(
                        Method::POST,
                        "/api/kiosk/v1/check-in",
                        &credential,
                        Some(body),
                        &[],
                    )
                    .await;
                (status, body)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// SECURITY.md RACE-1 (kiosk half): 300 codes at once against one kiosk, from many
/// addresses, get at most the kiosk's limit of lookups (attempts are taken before the
/// lookup, in one step); a second burst carrying the right code, once the limit is
/// spent, is refused whole without a single lookup, and so is the right code alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_parallel_codes_at_one_kiosk_get_no_more_lookups_than_the_limit() {
    let app = Arc::new(TestApp::spawn().await);
    let lobby = lobby(&app, 1).await;
    let soon = app.clock.now() + Duration::minutes(30);
    let (right, _) = pass_at(&app, lobby.site, soon, "Right Code").await;
    let right = right.code.as_str().to_owned();
    let wrong = |i: usize| {
        let guess = format!("{:08}", 40_000_000 + i * 7);
        if guess == right {
            "99999999".to_owned()
        } else {
            guess
        }
    };
    let credential = Arc::new(lobby.kiosks[0].clone());
    let before = app.store.code_lookups();
    let answers = burst(&app, &credential, "burst", 300, wrong).await;
    let evaluated = app.store.code_lookups() - before;
    assert!(
        evaluated <= PER_KIOSK as u64,
        "{evaluated} codes looked up, the limit is {PER_KIOSK}"
    );
    assert!(evaluated > 0, "the limit lets some through");
    let answered = answers.iter().filter(|(s, _)| *s != 429).count();
    assert_eq!(
        answered as u64, evaluated,
        "each answer but 429 is one lookup"
    );
    for (status, body) in &answers {
        let expected = if *status == 429 {
            "rate_limited"
        } else {
            "pass_unknown"
        };
        assert_eq!(body["code"], expected, "{status}: {body}");
    }

    // The right code inside a second burst, and alone after it: refused unread.
    let lookups = app.store.code_lookups();
    let mixed = burst(&app, &credential, "mixed", 60, |i| {
        if i % 10 == 5 {
            right.clone()
        } else {
            wrong(1000 + i)
        }
    })
    .await;
    assert!(
        mixed
            .iter()
            .all(|(s, b)| *s == 429 && b["code"] == "rate_limited")
    );
    let (status, body) = check_in(
        &app,
        "127.0.3.1",
        &credential,
        code("after-burst-01", &right),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    assert_eq!(app.store.code_lookups(), lookups, "not looked up");
    assert!(visits(&app).await.is_empty());
}

/// SECURITY.md KIO-3 (walk-ins): a flood of walk-ins from one kiosk is refused after
/// its limit with a typed 429 and words for the visitor; nothing is made or alerted
/// for the refused ones; other kiosks are not affected; the limit lasts its window.
#[tokio::test]
async fn a_walk_in_flood_is_limited_per_kiosk_with_a_message_for_the_visitor() {
    let app = TestApp::spawn().await;
    let lobby = lobby(&app, 2).await;
    let host = app.user_id(HOST).await.get();
    let walk_in = |i: usize| {
        json!({"request_id": format!("walkin-{i:06}"), "name": format!("Walk In {i}"),
               "host_id": host, "locale": "en"})
    };
    let mut statuses = Vec::new();
    for i in 0..WALK_INS + 5 {
        let (status, body) = kiosk_call(
            &app,
            "127.0.0.1",
            &lobby.kiosks[0],
            Method::POST,
            "/api/kiosk/v1/walk-in",
            Some(walk_in(i)),
        )
        .await;
        if status == 429 {
            assert_eq!(body["code"], "rate_limited");
            assert!(
                body["message"].as_str().unwrap().contains("reception desk"),
                "{body}"
            );
        } else {
            assert_eq!(status, 200, "{body}");
        }
        statuses.push(status);
    }
    assert!(
        statuses[..WALK_INS].iter().all(|s| *s == 200),
        "{statuses:?}"
    );
    assert!(
        statuses[WALK_INS..].iter().all(|s| *s == 429),
        "{statuses:?}"
    );
    assert_eq!(
        visits(&app).await.len(),
        WALK_INS,
        "nothing made for the refused"
    );

    let (status, _) = kiosk_call(
        &app,
        "127.0.0.1",
        &lobby.kiosks[1],
        Method::POST,
        "/api/kiosk/v1/walk-in",
        Some(walk_in(1000)),
    )
    .await;
    assert_eq!(status, 200, "another kiosk is not affected");
    app.clock.advance(Duration::minutes(10));
    let (status, _) = kiosk_call(
        &app,
        "127.0.0.1",
        &lobby.kiosks[0],
        Method::POST,
        "/api/kiosk/v1/walk-in",
        Some(walk_in(2000)),
    )
    .await;
    assert_eq!(status, 200, "the window ended");
}
