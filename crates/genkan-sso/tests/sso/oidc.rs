//! OIDC sign-in against oidc-provider: discovery, code + PKCE, token exchange, id_token
//! checks, the identity out, and key rotation.

use std::sync::Arc;

use chrono::Duration;
use genkan_core::Clock;
use genkan_sso::oidc::{OidcCallback, OidcConfig, OidcError, OidcIdentity, OidcProvider};
use serde_json::{Value, json};
use tokio::process::Child;

use crate::helpers::{clock, follow_until, http, require_program, spawn_reporting, tests_dir};

pub(crate) const CLIENT_ID: &str = "genkan";
pub(crate) const CLIENT_SECRET: &str = "genkan-test-secret";
pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/sso/oidc/callback";

/// oidc-provider on loopback with its test controls.
pub(crate) struct OidcIdp {
    _child: Child,
    pub(crate) issuer: String,
    client: reqwest::Client,
}

impl OidcIdp {
    pub(crate) async fn start() -> Self {
        let node = require_program("node", "apt-get install nodejs (Node 20 or later)");
        let dir = tests_dir().join("oidc-provider");
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "oidc-provider is not installed; run: npm ci --prefix {}",
            dir.display()
        );
        let (child, report) = spawn_reporting(&node, &["provider.mjs"], &dir).await;
        Self {
            _child: child,
            issuer: report["issuer"].as_str().unwrap().to_owned(),
            client: reqwest::Client::new(),
        }
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.issuer))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Sets an account's claims (`sub` is its login hint).
    pub(crate) async fn account(&self, account: Value) {
        self.control("/test/account", account).await;
    }

    /// Replaces the next token response's id_token (see provider.mjs).
    pub(crate) async fn tamper(&self, mode: &str, claims: Value) {
        self.control("/test/tamper", json!({"mode": mode, "claims": claims}))
            .await;
    }

    /// Makes a new signing key the first of the set; returns its kid.
    pub(crate) async fn rotate(&self) -> String {
        self.control("/test/rotate", json!({})).await["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) fn config(&self) -> OidcConfig {
        let mut config = OidcConfig::new(&self.issuer, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT);
        config.scopes.push("groups".into());
        config
    }
}

/// Runs a whole sign-in for `login` and returns the provider's verdict.
pub(crate) async fn sign_in(
    provider: &OidcProvider,
    login: &str,
) -> Result<OidcIdentity, OidcError> {
    let start = provider.begin_login(Some(login)).await;
    let callback = follow_until(&http(), start.authorize_url.as_str(), REDIRECT).await;
    provider
        .complete_login(&start.pending, &callback_of(&callback))
        .await
}

pub(crate) fn callback_of(url: &url::Url) -> OidcCallback {
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    serde_json::from_value(serde_json::to_value(query).unwrap()).unwrap()
}

pub(crate) async fn provider_for(idp: &OidcIdp, clock: Arc<dyn Clock>) -> OidcProvider {
    OidcProvider::discover(idp.config(), http(), clock)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_signs_in_with_code_and_pkce_and_gets_subject_claims_groups_and_mfa() {
    let idp = OidcIdp::start().await;
    idp.account(json!({
        "sub": "bob", "email": "bob@example.test", "email_verified": true, "name": "Bob Tanaka",
        "groups": ["reception", "admins"], "amr": ["pwd", "mfa"], "acr": "urn:genkan:test:mfa"
    }))
    .await;
    let (_, clock) = clock();
    let provider = provider_for(&idp, clock).await;

    let start = provider.begin_login(Some("bob")).await;
    let query: std::collections::HashMap<String, String> =
        start.authorize_url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["scope"], "openid email profile groups");
    assert_eq!(query["state"], start.pending.state);
    assert_eq!(query["nonce"], start.pending.nonce);
    assert!(
        start.pending.state.len() >= 22 && start.pending.nonce.len() >= 22,
        "128 bits or more"
    );
    assert!(!start.authorize_url.as_str().contains(CLIENT_SECRET));
    assert!(
        !start
            .authorize_url
            .as_str()
            .contains(&start.pending.pkce_verifier)
    );

    let callback = follow_until(&http(), start.authorize_url.as_str(), REDIRECT).await;
    let identity = provider
        .complete_login(&start.pending, &callback_of(&callback))
        .await
        .unwrap();
    assert_eq!(identity.issuer, idp.issuer);
    assert_eq!(identity.subject, "bob");
    assert_eq!(identity.email.as_deref(), Some("bob@example.test"));
    assert!(identity.email_verified);
    assert_eq!(identity.name.as_deref(), Some("Bob Tanaka"));
    assert_eq!(identity.groups, vec!["reception", "admins"]);
    assert_eq!(identity.amr, vec!["pwd", "mfa"]);
    assert_eq!(identity.acr.as_deref(), Some("urn:genkan:test:mfa"));
    assert!(identity.idp_asserted_mfa());
    assert!(identity.auth_time.is_some());
}

#[tokio::test]
async fn the_subject_stays_when_the_address_changes_at_the_idp() {
    let idp = OidcIdp::start().await;
    let (_, clock) = clock();
    let provider = provider_for(&idp, clock).await;
    let before = sign_in(&provider, "carol").await.unwrap();
    idp.account(
        json!({"sub": "carol", "email": "carol.new@example.test", "email_verified": false}),
    )
    .await;
    let after = sign_in(&provider, "carol").await.unwrap();
    assert_eq!(before.subject, after.subject);
    assert_eq!(after.email.as_deref(), Some("carol.new@example.test"));
    assert!(
        !after.email_verified,
        "an unverified address must not be used to link accounts"
    );
    assert!(!after.idp_asserted_mfa());
}

#[tokio::test]
async fn a_rotated_key_is_fetched_on_its_first_unknown_kid_at_most_every_five_minutes() {
    let idp = OidcIdp::start().await;
    let (manual, clock) = clock();
    let provider = provider_for(&idp, clock).await;
    sign_in(&provider, "dave").await.unwrap();
    let first_keys = provider.key_ids();

    // The IdP rotates right after our discovery: the new kid is unknown, and the last
    // fetch was under five minutes ago, so no refetch happens and the token is refused.
    let second = idp.rotate().await;
    assert!(!first_keys.contains(&second));
    let refused = sign_in(&provider, "dave").await.unwrap_err();
    assert_eq!(refused.code(), "oidc_bad_signature", "{refused}");
    assert_eq!(
        provider.key_ids(),
        first_keys,
        "no refetch inside the interval"
    );

    // Five minutes later the unknown kid triggers one refetch and the sign-in succeeds.
    manual.advance(Duration::minutes(5) + Duration::seconds(1));
    let identity = sign_in(&provider, "dave").await.unwrap();
    assert_eq!(identity.subject, "dave");
    assert!(provider.key_ids().contains(&second));
    assert!(
        provider.key_ids().iter().any(|k| first_keys.contains(k)),
        "the old key stays published"
    );
}

#[tokio::test]
async fn discovery_is_refreshed_after_an_hour() {
    let idp = OidcIdp::start().await;
    let (manual, clock) = clock();
    let provider = provider_for(&idp, clock).await;
    let fetched = provider.keys_fetched_at();
    let second = idp.rotate().await;
    manual.advance(Duration::minutes(61));
    // begin_login refreshes the document and the key set with it.
    let _ = provider.begin_login(None).await;
    assert!(provider.keys_fetched_at() > fetched);
    assert!(provider.key_ids().contains(&second));
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let idp = OidcIdp::start().await;
    let (_, clock) = clock();
    // The same server under another name (localhost) publishes 127.0.0.1 as its issuer.
    let mut config = idp.config();
    config.issuer = idp.issuer.replace("127.0.0.1", "localhost");
    let error = OidcProvider::discover(config, http(), clock)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "oidc_discovery_issuer_mismatch", "{error}");
}
