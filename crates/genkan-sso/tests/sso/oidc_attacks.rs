//! SSO-1: OIDC attacks against the relying party, each through a real code flow at
//! oidc-provider whose token response is then altered (or whose callback is forged).

use chrono::Duration;
use genkan_core::Clock;
use genkan_sso::oidc::OidcCallback;
use serde_json::{Value, json};

use crate::helpers::{clock, follow_until, http};
use crate::oidc::{OidcIdp, REDIRECT, callback_of, provider_for, sign_in};

/// Signs in once with the next id_token rewritten by `mode`/`claims`; returns the code.
async fn refused_with(mode: &str, claims: Value) -> String {
    let idp = OidcIdp::start().await;
    let (_, clock) = clock();
    let provider = provider_for(&idp, clock).await;
    idp.tamper(mode, claims.clone()).await;
    let error = sign_in(&provider, "eve")
        .await
        .expect_err(&format!("{mode} {claims} must be refused"));
    // Nothing is cached in a way that lets the next honest sign-in fail.
    sign_in(&provider, "eve").await.unwrap();
    error.code().to_owned()
}

#[tokio::test]
async fn an_id_token_from_another_issuer_is_refused() {
    assert_eq!(
        refused_with("resign", json!({"iss": "https://evil.example"})).await,
        "oidc_wrong_issuer"
    );
}

#[tokio::test]
async fn an_id_token_for_another_client_or_with_a_foreign_authorized_party_is_refused() {
    assert_eq!(
        refused_with("resign", json!({"aud": "someone-else"})).await,
        "oidc_wrong_audience"
    );
    assert_eq!(
        refused_with(
            "resign",
            json!({"aud": ["genkan", "someone-else"], "azp": "genkan"})
        )
        .await,
        "oidc_wrong_audience"
    );
    assert_eq!(
        refused_with("resign", json!({"aud": "genkan", "azp": "someone-else"})).await,
        "oidc_wrong_audience"
    );
}

#[tokio::test]
async fn an_expired_a_future_and_a_stale_id_token_are_refused() {
    let now = genkan_core::SystemClock.now().timestamp();
    assert_eq!(
        refused_with("resign", json!({"exp": now - 300})).await,
        "oidc_expired"
    );
    assert_eq!(
        refused_with("resign", json!({"iat": now + 3600, "exp": now + 7200})).await,
        "oidc_expired"
    );
    assert_eq!(
        refused_with("resign", json!({"iat": now - 3600})).await,
        "oidc_expired"
    );
}

#[tokio::test]
async fn unsigned_and_hmac_with_the_public_key_and_foreign_key_tokens_are_refused() {
    assert_eq!(refused_with("none", json!({})).await, "oidc_disallowed_alg");
    assert_eq!(
        refused_with("hs256-public-key", json!({})).await,
        "oidc_disallowed_alg"
    );
    assert_eq!(
        refused_with("foreign-key", json!({})).await,
        "oidc_bad_signature"
    );
}

#[tokio::test]
async fn an_id_token_with_another_or_no_nonce_is_refused() {
    assert_eq!(
        refused_with("resign", json!({"nonce": "not-the-one-we-sent"})).await,
        "oidc_nonce_mismatch"
    );
    assert_eq!(
        refused_with("resign", json!({"nonce": null})).await,
        "oidc_nonce_mismatch"
    );
}

#[tokio::test]
async fn a_callback_with_a_wrong_or_missing_state_is_refused_before_the_code_is_spent() {
    let idp = OidcIdp::start().await;
    let (_, clock) = clock();
    let provider = provider_for(&idp, clock).await;
    let start = provider.begin_login(Some("eve")).await;
    let url = follow_until(&http(), start.authorize_url.as_str(), REDIRECT).await;
    let honest = callback_of(&url);
    for state in [Some("forged-state".to_owned()), None, Some(String::new())] {
        let forged = OidcCallback {
            state,
            ..honest.clone()
        };
        let error = provider
            .complete_login(&start.pending, &forged)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "oidc_state_mismatch");
    }
    // The callback of another browser's sign-in does not fit this pending login either.
    let other = provider.begin_login(Some("eve")).await;
    let error = provider
        .complete_login(&other.pending, &honest)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "oidc_state_mismatch");
    // The code was not spent by the refusals: the honest pair still works once …
    provider
        .complete_login(&start.pending, &honest)
        .await
        .unwrap();
    // … and only once: the provider refuses a replayed code.
    let replay = provider
        .complete_login(&start.pending, &honest)
        .await
        .unwrap_err();
    assert_eq!(replay.code(), "oidc_code_refused", "{replay}");
}

#[tokio::test]
async fn a_mixed_up_issuer_a_provider_error_and_a_stale_login_are_refused() {
    let idp = OidcIdp::start().await;
    let (manual, clock) = clock();
    let provider = provider_for(&idp, clock).await;
    let start = provider.begin_login(Some("eve")).await;
    let url = follow_until(&http(), start.authorize_url.as_str(), REDIRECT).await;
    let honest = callback_of(&url);
    let mixed = OidcCallback {
        iss: Some("https://other-idp.example".into()),
        ..honest.clone()
    };
    assert_eq!(
        provider
            .complete_login(&start.pending, &mixed)
            .await
            .unwrap_err()
            .code(),
        "oidc_wrong_issuer"
    );
    let denied = OidcCallback {
        code: None,
        error: Some("access_denied".into()),
        error_description: Some("the user cancelled".into()),
        ..honest.clone()
    };
    assert_eq!(
        provider
            .complete_login(&start.pending, &denied)
            .await
            .unwrap_err()
            .code(),
        "oidc_provider_refused"
    );
    manual.advance(Duration::minutes(10) + Duration::seconds(1));
    assert_eq!(
        provider
            .complete_login(&start.pending, &honest)
            .await
            .unwrap_err()
            .code(),
        "oidc_login_expired"
    );
}
