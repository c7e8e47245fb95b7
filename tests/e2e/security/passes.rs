//! QR-1: replayed, expired, tampered, forged and other-tenant passes, revoked kiosks and 1,000 racing duplicates against the real server.

use std::sync::Arc;

use chrono::Duration;
use genkan_core::pass::PassToken;
use genkan_core::{Clock as _, SystemClock};
use genkan_e2e::api::{Answer, Api};
use genkan_e2e::server::{Server, ServerOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::kit::{self, Org};

/// Crockford base-32, the alphabet of pass tokens.
const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn server() -> Server {
    Server::start(&ServerOptions {
        smtp_port: None,
        extra_toml: String::new(),
    })
}

async fn present(kiosk: &Api, request_id: &str, key: (&str, &str)) -> Answer {
    kiosk
        .check_in(json!({"request_id": request_id, key.0: key.1}))
        .await
}

/// Asserts a typed refusal: `status`, `code` and a non-empty message.
#[track_caller]
fn refused(answer: &Answer, status: StatusCode, code: &str, what: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (status, code),
        "{what}: {:?}",
        answer.body
    );
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: a message for people"
    );
}

/// A token with the same prefix and a different body whose check characters are
/// right: well formed, never issued.
fn forged_from(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    for c0 in ALPHABET {
        for c1 in ALPHABET {
            bytes[29] = *c0;
            bytes[30] = *c1;
            let candidate = String::from_utf8(bytes.clone()).unwrap();
            if PassToken::parse(&candidate).is_ok() {
                return candidate;
            }
        }
    }
    panic!("no check characters fit");
}

/// Every visit of the tenant, as (visitor name, status).
async fn visits(org: &Org) -> Vec<(String, String)> {
    org.admin
        .visits()
        .await
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["visitor_name"].as_str().unwrap_or_default().to_owned(),
                v["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// SECURITY.md QR-1: replayed, expired, tampered, forged, cancelled, other-site and
/// other-tenant passes and a revoked kiosk each get their typed error, and none of
/// them opens a visit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_expired_tampered_and_foreign_passes_and_revoked_kiosks_get_typed_errors() {
    let server = server();
    let acme = kit::org(&server, "acme", 2).await;
    let globex = kit::org(&server, "globex", 1).await;
    let now = SystemClock.now();
    let today = acme.passes_now(&["Ada Arrives", "Ben Later"]).await;
    let (ada, ben) = (&today[0], &today[1]);
    let k0 = &acme.kiosks[0];
    let k1 = &acme.kiosks[1];

    // Replay: the same request again is answered from memory, a new request for a
    // pass that is inside is refused, by token (any case) or by code, at any kiosk.
    let first = present(k0, "replay-00000001", ("token", &ada.0)).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let again = present(k0, "replay-00000001", ("token", &ada.0)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["visit_id"], first.body["visit_id"]);
    for (i, (kiosk, key)) in [
        (k0, ("token", ada.0.clone())),
        (k1, ("token", ada.0.to_lowercase())),
        (k1, ("code", ada.1.clone())),
    ]
    .into_iter()
    .enumerate()
    {
        let a = present(kiosk, &format!("replay-1000000{i}"), (key.0, &key.1)).await;
        refused(
            &a,
            StatusCode::CONFLICT,
            "already_inside",
            "pass presented twice",
        );
    }

    // Tampered: any one character of the token changed. The 10-bit check nearly
    // always catches it (malformed); the rare change it misses names no pass.
    let mut caught = 0;
    for pos in 3..ada.0.len() {
        let mut bytes = ada.0.clone().into_bytes();
        bytes[pos] = if bytes[pos] == b'Z' { b'Y' } else { b'Z' };
        let tampered = String::from_utf8(bytes).unwrap();
        let a = present(k0, &format!("tamper-{pos:08}"), ("token", &tampered)).await;
        if a.code() == "malformed" {
            refused(&a, StatusCode::BAD_REQUEST, "malformed", &tampered);
            caught += 1;
        } else {
            refused(&a, StatusCode::NOT_FOUND, "pass_unknown", &tampered);
        }
    }
    assert!(
        caught >= 20,
        "the check characters catch tampering: {caught} of 28"
    );
    for (i, bad) in [
        format!("{}X", ben.0),
        ben.0[..30].to_owned(),
        ben.0.replacen("GK1", "GK2", 1),
        format!("{}\u{0}", &ben.0[..30]),
        format!("{}Ｚ", &ben.0[..30]),
    ]
    .iter()
    .enumerate()
    {
        let a = present(k0, &format!("shape-{i:08}"), ("token", bad)).await;
        refused(&a, StatusCode::BAD_REQUEST, "malformed", bad);
    }
    // Both a token and a code, or a bare token hash outside a journal replay.
    let both = k0
        .check_in(json!({"request_id": "both-00000001", "token": ben.0, "code": ben.1}))
        .await;
    refused(
        &both,
        StatusCode::BAD_REQUEST,
        "malformed",
        "token and code",
    );
    let hash = PassToken::parse(&ben.0).unwrap().hash().to_hex();
    let bare = k0
        .check_in(json!({"request_id": "hash-00000001", "token_hash": hash}))
        .await;
    refused(&bare, StatusCode::BAD_REQUEST, "malformed", "token hash");

    // Forged: well formed with right check characters, but never issued; a code one
    // digit off.
    let forged = forged_from(&ben.0);
    let a = present(k0, "forged-00000001", ("token", &forged)).await;
    refused(&a, StatusCode::NOT_FOUND, "pass_unknown", "forged token");
    let digit = (ben.1.as_bytes()[7] - b'0' + 1) % 10;
    let off_by_one = format!("{}{digit}", &ben.1[..7]);
    let a = present(k0, "forged-00000002", ("code", &off_by_one)).await;
    refused(&a, StatusCode::NOT_FOUND, "pass_unknown", "wrong code");

    // Expired (an appointment two days ago), not yet valid (in two days), cancelled.
    let old = kit::pass_secrets(
        &acme
            .appointment_at(
                acme.site_id,
                now - Duration::days(2),
                "Old",
                json!([{"name": "Old Visitor"}]),
            )
            .await,
    );
    let a = present(k0, "expired-00000001", ("token", &old[0].0)).await;
    refused(
        &a,
        StatusCode::UNPROCESSABLE_ENTITY,
        "pass_expired",
        "expired token",
    );
    let a = present(k0, "expired-00000002", ("code", &old[0].1)).await;
    assert!(
        ["pass_expired", "pass_unknown"].contains(&a.code()),
        "an old code is expired or already given to someone else: {:?}",
        a.body
    );
    let soon = kit::pass_secrets(
        &acme
            .appointment_at(
                acme.site_id,
                now + Duration::days(2),
                "Soon",
                json!([{"name": "Soon Visitor"}]),
            )
            .await,
    );
    let a = present(k0, "early-00000001", ("token", &soon[0].0)).await;
    refused(
        &a,
        StatusCode::UNPROCESSABLE_ENTITY,
        "pass_not_yet_valid",
        "future token",
    );
    let cancelled = acme
        .appointment_at(
            acme.site_id,
            now,
            "Cancelled",
            json!([{"name": "Carl Cancelled"}]),
        )
        .await;
    let id = cancelled["id"].as_i64().unwrap();
    let answer = acme
        .admin
        .post(&format!("/api/v1/appointments/{id}/cancel"), json!({}))
        .await;
    assert!(answer.status.is_success(), "{answer:?}");
    let carl = kit::pass_secrets(&cancelled);
    let a = present(k0, "cancel-00000001", ("token", &carl[0].0)).await;
    refused(
        &a,
        StatusCode::UNPROCESSABLE_ENTITY,
        "pass_cancelled",
        "cancelled token",
    );

    // Another site of the same tenant.
    let branch = acme
        .admin
        .create_site("Osaka Branch", "Asia/Tokyo", "Osaka")
        .await
        .ok();
    let branch_kiosk = Api::new(
        &server.url,
        Some(
            &acme
                .pair_kiosk(&server.url, branch["id"].as_i64().unwrap(), "Branch")
                .await,
        ),
    );
    let a = present(&branch_kiosk, "site-00000001", ("token", &ben.0)).await;
    refused(
        &a,
        StatusCode::UNPROCESSABLE_ENTITY,
        "other_site",
        "other site",
    );

    // Another tenant's pass is unknown here, by token and by code, and the other way round.
    let theirs = globex.passes_now(&["Gina Globex"]).await;
    let a = present(k0, "tenant-00000001", ("token", &theirs[0].0)).await;
    refused(
        &a,
        StatusCode::NOT_FOUND,
        "pass_unknown",
        "other tenant's token",
    );
    let a = present(k0, "tenant-00000002", ("code", &theirs[0].1)).await;
    refused(
        &a,
        StatusCode::NOT_FOUND,
        "pass_unknown",
        "other tenant's code",
    );
    let a = present(&globex.kiosks[0], "tenant-00000003", ("token", &ben.0)).await;
    refused(&a, StatusCode::NOT_FOUND, "pass_unknown", "our token there");

    // A revoked kiosk is refused at once, on every kiosk route, and its refusal does
    // not use the pass up.
    let kiosks = acme.admin.get("/api/v1/kiosks").await.ok();
    let revoked_id = kiosks
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "Kiosk 1")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = acme
        .admin
        .post(&format!("/api/v1/kiosks/{revoked_id}/revoke"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let a = present(k1, "revoked-00000001", ("token", &ben.0)).await;
    refused(&a, StatusCode::FORBIDDEN, "kiosk_revoked", "revoked kiosk");
    let out = k1
        .check_out(json!({"request_id": "revoked-00000002", "token": ada.0}))
        .await;
    refused(
        &out,
        StatusCode::FORBIDDEN,
        "kiosk_revoked",
        "revoked kiosk check-out",
    );
    let config = k1.get("/api/kiosk/v1/config").await;
    assert_eq!(config.code(), "kiosk_revoked", "{config:?}");
    let a = present(k0, "valid-00000001", ("token", &ben.0)).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "Ben's pass still works: {:?}",
        a.body
    );

    // Only Ada and Ben are inside; globex has no visit.
    let mut seen = visits(&acme).await;
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("Ada Arrives".to_owned(), "inside".to_owned()),
            ("Ben Later".to_owned(), "inside".to_owned())
        ]
    );
    assert!(visits(&globex).await.is_empty());
}

/// Fires `n` requests at once (after a barrier), each built by `make(i)`; returns the
/// answers in order.
async fn race<F, Fut>(n: usize, make: F) -> Vec<(u16, Value)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = (u16, Value)> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let request = make(i);
            tokio::spawn(async move {
                barrier.wait().await;
                request.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(
            tokio::time::timeout(std::time::Duration::from_secs(120), t)
                .await
                .expect("every racing request is answered within two minutes")
                .unwrap(),
        );
    }
    out
}

/// One kiosk request over a shared client: (status, JSON body).
async fn kiosk_call(
    http: reqwest::Client,
    url: String,
    credential: String,
    body: Value,
) -> (u16, Value) {
    let r = http
        .post(url)
        .bearer_auth(credential)
        .json(&body)
        .send()
        .await
        .expect("the server answers every racing request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// SECURITY.md QR-1: 1,000 check-ins of one pass racing from four kiosks make exactly
/// one visit; the other 999 get a typed error: `already_inside`, or for the typed
/// codes past the code limits (10 per kiosk, 30 per address, every refusal counting)
/// `rate_limited`. Then 200 racing check-outs close it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_racing_check_ins_of_one_pass_make_exactly_one_visit() {
    let server = server();
    let acme = kit::org(&server, "acme", 4).await;
    let pass = acme.passes_now(&["Rita Race"]).await.remove(0);
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(90))
        .build()
        .unwrap();
    let creds = acme.kiosk_credentials.clone();
    let check_in_url = format!("{}/api/kiosk/v1/check-in", server.url);
    let answers = race(1000, |i| {
        // Every fifth request uses the fallback code instead of the QR token.
        let body = if i % 5 == 0 {
            json!({"request_id": format!("race-in-{i:06}"), "code": pass.1})
        } else {
            json!({"request_id": format!("race-in-{i:06}"), "token": pass.0})
        };
        kiosk_call(
            http.clone(),
            check_in_url.clone(),
            creds[i % creds.len()].clone(),
            body,
        )
    })
    .await;
    let ok: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(ok.len(), 1, "exactly one check-in wins");
    let mut limited = 0;
    for (i, (status, body)) in answers.iter().enumerate() {
        if *status == 200 {
            continue;
        }
        let code = body["code"].as_str().unwrap_or_default();
        if i % 5 == 0 && (*status, code) == (429, "rate_limited") {
            limited += 1;
        } else {
            assert_eq!((*status, code), (409, "already_inside"), "{i}: {body}");
        }
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // A code that checks the visitor in gives its attempt back (the limit bounds
    // refusals), so one more than the address's 30 may be looked up.
    assert!(
        limited >= 200 - 31,
        "at most 30 refused codes from one address are looked up: {limited} limited"
    );
    let list = acme.admin.visits().await.ok();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], ok[0]["visit_id"]);
    assert_eq!(list[0]["status"], "inside");

    let check_out_url = format!("{}/api/kiosk/v1/check-out", server.url);
    let answers = race(200, |i| {
        kiosk_call(
            http.clone(),
            check_out_url.clone(),
            creds[i % creds.len()].clone(),
            json!({"request_id": format!("race-out-{i:06}"), "token": pass.0}),
        )
    })
    .await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 200).count(), 1);
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(
            (*status, body["code"].as_str().unwrap_or_default()),
            (409, "not_inside")
        );
    }
    let list = acme.admin.visits().await.ok();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["status"], "checked_out");
}
