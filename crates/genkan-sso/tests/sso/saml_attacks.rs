//! SSO-2: SAML attacks with real signed responses from pysaml2: unsigned, tampered,
//! signature-wrapped, SHA-1, wrong audience, recipient or request, expired, oversized.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use genkan_sso::saml::{MAX_ENCODED_RESPONSE, MemoryReplayCache, SamlError};
use serde_json::{Value, json};

use crate::helpers::clock;
use crate::saml::{OTHER_ENTITY, SamlIdp, login, service_provider};

async fn refusal(settings: Value) -> SamlError {
    let idp = SamlIdp::start().await;
    let (_, clock) = clock();
    let sp = service_provider(&idp, clock);
    idp.next(settings.clone()).await;
    let (pending, response) = login(&sp).await;
    sp.validate_response(&response, &pending)
        .expect_err(&format!("{settings} must be refused"))
}

#[tokio::test]
async fn an_unsigned_response_is_refused() {
    let error = refusal(json!({"sign_response": false, "sign_assertion": false})).await;
    assert_eq!(error.code(), "saml_bad_signature", "{error}");
}

#[tokio::test]
async fn a_response_signed_with_sha1_is_refused() {
    let error = refusal(json!({"sha1": true})).await;
    assert_eq!(error.code(), "saml_bad_signature", "{error}");
}

#[tokio::test]
async fn a_response_for_another_service_provider_is_refused() {
    let error = refusal(json!({"audience": OTHER_ENTITY})).await;
    assert!(
        matches!(error.code(), "saml_wrong_audience" | "saml_wrong_recipient"),
        "{error}"
    );
}

#[tokio::test]
async fn a_response_sent_to_another_address_is_refused() {
    let error = refusal(json!({"destination": "https://evil.test/acs"})).await;
    assert_eq!(error.code(), "saml_wrong_recipient", "{error}");
}

#[tokio::test]
async fn an_expired_assertion_and_an_answer_to_another_request_are_refused() {
    let idp = SamlIdp::start().await;
    let (manual, clock) = clock();
    let sp = service_provider(&idp, clock);
    idp.next(json!({"lifetime_minutes": 1})).await;
    let (pending, response) = login(&sp).await;
    // One minute of lifetime and two of skew: four minutes later it is over.
    manual.advance(Duration::minutes(4));
    let error = sp.validate_response(&response, &pending).unwrap_err();
    assert_eq!(error.code(), "saml_expired", "{error}");

    let (first, _) = login(&sp).await;
    let (_, second_response) = login(&sp).await;
    let error = sp.validate_response(&second_response, &first).unwrap_err();
    assert_eq!(error.code(), "saml_wrong_request", "{error}");
    // A stale pending login is refused whatever the response.
    manual.advance(Duration::minutes(11));
    assert_eq!(
        sp.validate_response(&second_response, &first)
            .unwrap_err()
            .code(),
        "saml_login_expired"
    );
}

/// The span `[start, end)` of the first `<prefix:Assertion …>…</prefix:Assertion>`.
fn assertion_span(xml: &str) -> (usize, usize, String) {
    let open = xml.find(":Assertion ").expect("an assertion");
    let start = xml[..open].rfind('<').unwrap();
    let prefix = xml[start + 1..open].to_owned();
    let close = format!("</{prefix}:Assertion>");
    let end = xml.find(&close).unwrap() + close.len();
    (start, end, prefix)
}

/// An unsigned copy of the signed assertion, for "mallory", with a new ID.
fn evil_copy(assertion: &str) -> String {
    let mut evil = assertion
        .replace(">alice<", ">mallory<")
        .replace("alice@example.test", "mallory@example.test");
    if let (Some(s), Some(e)) = (evil.find(":Signature "), evil.find(":Signature>")) {
        let s = evil[..s].rfind('<').unwrap();
        let e = e + ":Signature>".len();
        evil.replace_range(s..e, "");
    }
    let id_at = evil.find(" ID=\"").unwrap() + 5;
    let id_end = id_at + evil[id_at..].find('"').unwrap();
    evil.replace_range(id_at..id_end, "_evil");
    evil
}

fn encode(xml: &str) -> String {
    STANDARD.encode(xml)
}

#[tokio::test]
async fn tampered_and_signature_wrapped_responses_never_yield_the_unsigned_identity() {
    let idp = SamlIdp::start().await;
    let (_, clock) = clock();
    let sp = service_provider(&idp, Arc::clone(&clock));
    let cache = MemoryReplayCache::new(1000, clock);

    // Only the assertion is signed: the classic wrapping target.
    let mut attacks = Vec::new();
    for _ in 0..4 {
        idp.next(json!({"sub": "alice", "sign_response": false, "sign_assertion": true}))
            .await;
        let (pending, response) = login(&sp).await;
        let xml = String::from_utf8(STANDARD.decode(&response).unwrap()).unwrap();
        attacks.push((pending, xml));
    }
    let mut forged = Vec::new();
    {
        // 1. Tampered: the signed assertion's subject changed in place.
        let (pending, xml) = &attacks[0];
        assert!(xml.contains(">alice<"));
        forged.push(("tampered", pending, xml.replace(">alice<", ">mallory<")));
        // 2. Wrapped: an unsigned assertion for mallory inserted before the signed one.
        let (pending, xml) = &attacks[1];
        let (s, e, _) = assertion_span(xml);
        let evil = evil_copy(&xml[s..e]);
        forged.push((
            "unsigned assertion first",
            pending,
            format!("{}{evil}{}", &xml[..s], &xml[s..]),
        ));
        // 3. Wrapped: the unsigned assertion in its place, the signed one moved inside it.
        let (pending, xml) = &attacks[2];
        let (s, e, prefix) = assertion_span(xml);
        let signed = &xml[s..e];
        let evil = evil_copy(signed);
        let issuer_end = evil.find(":Issuer>").unwrap() + ":Issuer>".len();
        let nested = format!(
            "{}<{prefix}:Advice>{signed}</{prefix}:Advice>{}",
            &evil[..issuer_end],
            &evil[issuer_end..]
        );
        forged.push((
            "signed assertion moved into the unsigned one",
            pending,
            format!("{}{nested}{}", &xml[..s], &xml[e..]),
        ));
        // 4. Wrapped: the unsigned assertion in its place, the signed one moved after it.
        let (pending, xml) = &attacks[3];
        let (s, e, _) = assertion_span(xml);
        let signed = &xml[s..e];
        let evil = evil_copy(signed);
        forged.push((
            "unsigned assertion in place, signed one after",
            pending,
            format!("{}{evil}{signed}{}", &xml[..s], &xml[e..]),
        ));
    }
    for (name, pending, xml) in forged {
        let expected = if name == "tampered" {
            "saml_bad_signature"
        } else {
            "saml_malformed"
        };
        match sp.validate_response(&encode(&xml), pending) {
            Err(error) => assert_eq!(error.code(), expected, "{name}: {error}"),
            Ok(verified) => {
                let identity = verified.claim_once(&cache).await.unwrap();
                panic!(
                    "{name}: a forged response was accepted, as {}",
                    identity.name_id
                );
            }
        }
    }
}

#[tokio::test]
async fn oversized_and_dtd_carrying_responses_are_refused_before_parsing() {
    let idp = SamlIdp::start().await;
    let (_, clock) = clock();
    let sp = service_provider(&idp, clock);
    let (pending, response) = login(&sp).await;
    let big = "A".repeat(MAX_ENCODED_RESPONSE + 4);
    assert_eq!(
        sp.validate_response(&big, &pending).unwrap_err().code(),
        "saml_too_large"
    );
    let xml = String::from_utf8(STANDARD.decode(&response).unwrap()).unwrap();
    let with_dtd = xml.replacen("?>", "?><!DOCTYPE r [<!ENTITY x \"alice\">]>", 1);
    assert_eq!(
        sp.validate_response(&encode(&with_dtd), &pending)
            .unwrap_err()
            .code(),
        "saml_malformed"
    );
    assert_eq!(
        sp.validate_response("%%%not-base64", &pending)
            .unwrap_err()
            .code(),
        "saml_malformed"
    );
}
