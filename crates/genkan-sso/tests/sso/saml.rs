//! SAML sign-in against pysaml2 as the IdP: metadata both ways, AuthnRequest over
//! HTTP-Redirect, signed responses over the HTTP-POST form, identity out, replay guard.

use std::sync::Arc;

use genkan_core::Clock;
use genkan_sso::saml::{
    IdpMetadata, MemoryReplayCache, PendingSamlLogin, SamlServiceProvider, SpConfig,
    sp_metadata_xml,
};
use serde_json::{Value, json};
use tokio::process::Child;

use crate::helpers::{clock, http, require_program, spawn_reporting, tests_dir};

pub(crate) const SP_ENTITY: &str = "https://genkan.test/sso/saml/t1";
pub(crate) const SP_ACS: &str = "https://genkan.test/sso/saml/t1/acs";
/// Another SP the IdP knows, for responses meant for someone else.
pub(crate) const OTHER_ENTITY: &str = "https://other.test/saml";
const OTHER_ACS: &str = "https://other.test/saml/acs";

/// pysaml2 on loopback with its one-shot response settings.
pub(crate) struct SamlIdp {
    _child: Child,
    _dir: tempfile::TempDir,
    pub(crate) metadata: IdpMetadata,
    base: String,
}

impl SamlIdp {
    pub(crate) async fn start() -> Self {
        require_program("xmlsec1", "apt-get install xmlsec1");
        let python = tests_dir().join("saml-idp/.venv/bin/python");
        assert!(
            python.is_file(),
            "pysaml2 is not installed; run: python3 -m venv {dir}/.venv && {dir}/.venv/bin/pip install -r {dir}/requirements.txt",
            dir = tests_dir().join("saml-idp").display()
        );
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("sp.xml");
        std::fs::write(&ours, sp_metadata_xml(&sp_config())).unwrap();
        let other = dir.path().join("other-sp.xml");
        std::fs::write(
            &other,
            sp_metadata_xml(&SpConfig {
                entity_id: OTHER_ENTITY.into(),
                acs_url: OTHER_ACS.into(),
            }),
        )
        .unwrap();
        let script = tests_dir().join("saml-idp/idp.py");
        let args = [
            script.to_str().unwrap(),
            dir.path().to_str().unwrap(),
            ours.to_str().unwrap(),
            other.to_str().unwrap(),
        ];
        let (child, report) = spawn_reporting(&python, &args, dir.path()).await;
        let metadata_url = report["metadata_url"].as_str().unwrap().to_owned();
        let xml = http()
            .get(&metadata_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let metadata = IdpMetadata::from_xml(&xml).unwrap();
        Self {
            _child: child,
            _dir: dir,
            metadata,
            base: metadata_url.trim_end_matches("/metadata").to_owned(),
        }
    }

    /// Settings for the next response (see idp.py).
    pub(crate) async fn next(&self, settings: Value) {
        let response = http()
            .post(format!("{}/test/next", self.base))
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

pub(crate) fn sp_config() -> SpConfig {
    SpConfig {
        entity_id: SP_ENTITY.into(),
        acs_url: SP_ACS.into(),
    }
}

pub(crate) fn service_provider(idp: &SamlIdp, clock: Arc<dyn Clock>) -> SamlServiceProvider {
    SamlServiceProvider::new(sp_config(), idp.metadata.clone(), clock)
}

/// Starts a sign-in and returns the pending login and the `SAMLResponse` the IdP's
/// auto-post form carries (what the browser would POST to the ACS).
pub(crate) async fn login(sp: &SamlServiceProvider) -> (PendingSamlLogin, String) {
    let start = sp.begin_login("relay-1").unwrap();
    let response = http()
        .get(start.redirect_url.as_str())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let html = response.text().await.unwrap();
    assert!(status.is_success(), "the IdP answered {status}: {html}");
    assert!(
        html.contains(&format!("action=\"{SP_ACS}\"")) || html.contains("action="),
        "{html}"
    );
    let value = html
        .split("name=\"SAMLResponse\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no SAMLResponse in {html}"));
    let relay = html
        .split("name=\"RelayState\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next());
    assert_eq!(relay, Some("relay-1"));
    (
        start.pending,
        value
            .replace("&#43;", "+")
            .replace("&#x2B;", "+")
            .replace("&#61;", "="),
    )
}

#[tokio::test]
async fn a_signed_response_gives_the_identity_once_and_its_replay_is_refused() {
    let idp = SamlIdp::start().await;
    let (_, clock) = clock();
    let sp = service_provider(&idp, Arc::clone(&clock));
    let cache = MemoryReplayCache::new(1000, clock);
    idp.next(json!({
        "sub": "hanako",
        "attributes": {"mail": ["hanako@example.test"], "displayName": ["山田 花子"], "groups": ["reception", "admins"]},
        "authn_class": "https://refeds.org/profile/mfa"
    }))
    .await;
    let (pending, response) = login(&sp).await;
    assert_eq!(
        genkan_sso::saml::peek_in_response_to(&response).as_deref(),
        Some(pending.request_id.as_str())
    );
    let verified = sp.validate_response(&response, &pending).unwrap();
    assert!(verified.remember_until() > pending.started_at);
    let identity = verified.claim_once(&cache).await.unwrap();
    assert_eq!(identity.issuer, idp.metadata.entity_id);
    assert_eq!(identity.name_id, "hanako");
    assert_eq!(
        identity.name_id_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
    );
    assert_eq!(identity.email(), Some("hanako@example.test"));
    assert_eq!(identity.display_name(), Some("山田 花子"));
    assert_eq!(identity.values("groups"), vec!["reception", "admins"]);
    assert_eq!(
        identity.authn_context.as_deref(),
        Some("https://refeds.org/profile/mfa")
    );
    assert!(identity.idp_asserted_mfa());
    assert!(identity.session_index.is_some());

    // SSO-2: the same response posted again passes the signature but not the replay guard.
    let again = sp.validate_response(&response, &pending).unwrap();
    assert_eq!(
        again.claim_once(&cache).await.unwrap_err().code(),
        "saml_replayed"
    );
}

#[tokio::test]
async fn a_signature_on_the_response_or_on_the_assertion_alone_is_enough() {
    let idp = SamlIdp::start().await;
    let (_, clock) = clock();
    let sp = service_provider(&idp, Arc::clone(&clock));
    let cache = MemoryReplayCache::new(1000, clock);
    for (sign_response, sign_assertion) in [(true, false), (false, true)] {
        idp.next(json!({"sub": "jiro", "sign_response": sign_response, "sign_assertion": sign_assertion})).await;
        let (pending, response) = login(&sp).await;
        let identity = sp
            .validate_response(&response, &pending)
            .unwrap()
            .claim_once(&cache)
            .await
            .unwrap();
        assert_eq!(
            identity.name_id, "jiro",
            "response signed: {sign_response}, assertion signed: {sign_assertion}"
        );
        assert!(!identity.idp_asserted_mfa());
    }
}

#[tokio::test]
async fn the_authn_request_carries_a_fresh_random_id_the_acs_and_the_sp_entity() {
    let idp = SamlIdp::start().await;
    let (_, clock) = clock();
    let sp = service_provider(&idp, clock);
    let a = sp.begin_login("").unwrap();
    let b = sp.begin_login("").unwrap();
    assert_ne!(a.pending.request_id, b.pending.request_id);
    assert_eq!(
        a.pending.request_id.len(),
        33,
        "an underscore and 128 random bits in hex"
    );
    assert!(
        a.redirect_url
            .as_str()
            .starts_with(&idp.metadata.sso_redirect_url)
    );
    assert!(
        a.redirect_url.query_pairs().all(|(k, _)| k != "RelayState"),
        "no empty RelayState"
    );
    // Decode the request as the IdP would and look at it.
    let encoded = a
        .redirect_url
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .into_owned();
    let python = tests_dir().join("saml-idp/.venv/bin/python");
    let out = std::process::Command::new(python)
        .args(["-c", "import sys,base64,zlib;print(zlib.decompress(base64.b64decode(sys.argv[1]),-15).decode())", &encoded])
        .output()
        .unwrap();
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(
        xml.contains(&format!("ID=\"{}\"", a.pending.request_id)),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("AssertionConsumerServiceURL=\"{SP_ACS}\"")),
        "{xml}"
    );
    assert!(xml.contains(SP_ENTITY), "{xml}");
}
