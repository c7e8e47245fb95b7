//! The AuthnRequest over HTTP-Redirect, with a 128-bit id kept for `InResponseTo`.

use chrono::{DateTime, Utc};
use samael::crypto::AllowedSignatureAlgorithm;
use samael::service_provider::ServiceProvider;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{SamlError, SamlServiceProvider};

/// What must be kept server-side between the redirect and the ACS POST, keyed by
/// `request_id` (and the tenant). Single use: delete it when a response names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSamlLogin {
    /// The AuthnRequest `ID`, which the response's `InResponseTo` must repeat.
    pub request_id: String,
    /// When the sign-in started.
    pub started_at: DateTime<Utc>,
}

/// The start of a SAML sign-in.
#[derive(Debug, Clone)]
pub struct SamlLoginStart {
    /// The IdP's SSO URL with `SAMLRequest` (deflated, base64) and `RelayState`.
    pub redirect_url: Url,
    /// Keep server-side until the ACS POST.
    pub pending: PendingSamlLogin,
}

fn random_id<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> [u8; 16] {
    let mut id = [0; 16];
    rng.fill_bytes(&mut id);
    id
}

/// Signature algorithms accepted from IdPs: RSA and ECDSA with SHA-2. SHA-1 is refused.
pub(crate) const ALLOWED_ALGORITHMS: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

impl SamlServiceProvider {
    /// samael's SP for this tenant: entity id, ACS, the IdP's metadata, the algorithm list.
    pub(crate) fn samael(&self) -> ServiceProvider {
        ServiceProvider {
            entity_id: Some(self.sp.entity_id.clone()),
            acs_url: Some(self.sp.acs_url.clone()),
            metadata_url: None,
            slo_url: None,
            idp_metadata: self.idp.descriptor.clone(),
            allowed_signature_algorithms: Some(ALLOWED_ALGORITHMS.to_vec()),
            max_clock_skew: self.clock_skew,
            max_issue_delay: super::PENDING_LOGIN_TTL,
            ..ServiceProvider::default()
        }
    }

    /// Builds the AuthnRequest (unsigned, HTTP-Redirect binding, HTTP-POST response) with a
    /// random 128-bit id. `relay_state` comes back untouched: keep it short and opaque
    /// (a key, never a URL to follow unchecked).
    pub fn begin_login(&self, relay_state: &str) -> Result<SamlLoginStart, SamlError> {
        let mut request = self
            .samael()
            .make_authentication_request(&self.idp.sso_redirect_url)
            .map_err(|e| SamlError::Config(e.to_string()))?;
        let id = random_id(&mut rand::rng());
        request.id = format!(
            "_{}",
            id.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let now = self.clock.now();
        request.issue_instant = now;
        let redirect_url = request
            .redirect(relay_state)
            .map_err(|e| SamlError::Config(e.to_string()))?
            .ok_or_else(|| SamlError::Config("the request has no destination".into()))?;
        Ok(SamlLoginStart {
            redirect_url,
            pending: PendingSamlLogin {
                request_id: request.id,
                started_at: now,
            },
        })
    }
}
