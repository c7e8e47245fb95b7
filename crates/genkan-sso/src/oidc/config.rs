//! A tenant's OIDC settings: issuer, client, algorithms and claim names.

use chrono::Duration;
use openidconnect::core::CoreJwsSigningAlgorithm;
use serde::{Deserialize, Serialize};

/// The id_token signature algorithms a tenant may allow. Only asymmetric ones exist here:
/// `none` and the HMAC family (`HS*`, which a public key would "verify") cannot be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (the OIDC default; Entra, Google, Okta).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

impl SigningAlg {
    pub(crate) fn to_core(self) -> CoreJwsSigningAlgorithm {
        use CoreJwsSigningAlgorithm as C;
        match self {
            Self::RS256 => C::RsaSsaPkcs1V15Sha256,
            Self::RS384 => C::RsaSsaPkcs1V15Sha384,
            Self::RS512 => C::RsaSsaPkcs1V15Sha512,
            Self::PS256 => C::RsaSsaPssSha256,
            Self::PS384 => C::RsaSsaPssSha384,
            Self::PS512 => C::RsaSsaPssSha512,
            Self::ES256 => C::EcdsaP256Sha256,
            Self::ES384 => C::EcdsaP384Sha384,
            Self::EdDSA => C::EdDsa,
        }
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded id and secret (`client_secret_basic`, the default).
    #[default]
    Basic,
    /// Id and secret in the form body (`client_secret_post`).
    Post,
}

/// One tenant's relying-party settings.
#[derive(Clone)]
pub struct OidcConfig {
    /// The issuer identifier, exactly as the IdP states it (`https://login.example/tenant/v2.0`).
    pub issuer: String,
    /// The client id registered at the IdP; the required `aud`.
    pub client_id: String,
    /// The client secret (confidential client). `None` for a public client using PKCE alone.
    pub client_secret: Option<String>,
    /// How the secret is sent.
    pub client_auth: ClientAuth,
    /// The callback URL registered at the IdP (Genkan's route).
    pub redirect_url: String,
    /// Scopes besides `openid` (which is always sent): usually `email profile`.
    pub scopes: Vec<String>,
    /// The id_token algorithms accepted. Empty means `[RS256]`.
    pub allowed_algs: Vec<SigningAlg>,
    /// The claim holding group names or ids (`groups` for Entra, Okta and Keycloak).
    pub groups_claim: Option<String>,
    /// Tolerated clock difference for `exp` and `iat`.
    pub clock_skew: Duration,
    /// Oldest `iat` accepted (with the skew): bounds how long an id_token stays usable.
    pub max_token_age: Duration,
}

impl OidcConfig {
    /// Settings with the usual defaults: scopes `email profile`, RS256, `groups`, a
    /// two-minute skew and a ten-minute token age.
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: Option<&str>,
        redirect_url: &str,
    ) -> Self {
        Self {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.map(str::to_owned),
            client_auth: ClientAuth::Basic,
            redirect_url: redirect_url.to_owned(),
            scopes: vec!["email".to_owned(), "profile".to_owned()],
            allowed_algs: vec![SigningAlg::RS256],
            groups_claim: Some("groups".to_owned()),
            clock_skew: Duration::minutes(2),
            max_token_age: Duration::minutes(10),
        }
    }

    pub(crate) fn algs(&self) -> Vec<SigningAlg> {
        if self.allowed_algs.is_empty() {
            vec![SigningAlg::RS256]
        } else {
            self.allowed_algs.clone()
        }
    }
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("client_auth", &self.client_auth)
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("allowed_algs", &self.allowed_algs)
            .field("groups_claim", &self.groups_claim)
            .finish_non_exhaustive()
    }
}
