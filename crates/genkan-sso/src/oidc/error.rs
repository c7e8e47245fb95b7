//! Why an OIDC sign-in was refused, with stable codes for the audit log.

use crate::http::FetchError;

/// A refused or failed OIDC step. [`OidcError::code`] is stable; the text is for people.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The configuration is unusable (bad URL, no algorithm).
    #[error("the OIDC settings are not valid: {0}")]
    Config(String),
    /// Discovery, the key set or the token endpoint could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The discovery document names another issuer than the one configured.
    #[error("the discovery document names issuer {found}, not the configured one")]
    DiscoveryIssuerMismatch {
        /// The issuer found in the document.
        found: String,
    },
    /// The callback's `state` is not the pending login's.
    #[error("the sign-in answer does not belong to this browser's sign-in (state mismatch)")]
    StateMismatch,
    /// The pending login is older than allowed.
    #[error("the sign-in took too long; start again")]
    PendingExpired,
    /// The IdP answered the authorization request with an error (user cancelled, denied).
    #[error("the identity provider refused the sign-in: {error}")]
    ProviderRefused {
        /// The `error` parameter.
        error: String,
        /// The `error_description` parameter, if any.
        description: Option<String>,
    },
    /// The callback carried neither a code nor an error.
    #[error("the sign-in answer has no authorization code")]
    MissingCode,
    /// The token endpoint refused the code (used, expired, wrong verifier).
    #[error("the identity provider refused the authorization code: {error}")]
    TokenRefused {
        /// The OAuth `error` field.
        error: String,
    },
    /// The token response had no id_token.
    #[error("the token response has no id_token")]
    MissingIdToken,
    /// The id_token is not a well-formed signed JWT.
    #[error("the id_token is malformed: {0}")]
    MalformedIdToken(String),
    /// `alg` is `none`, HMAC, or not on the tenant's list.
    #[error("the id_token's algorithm is not allowed: {0}")]
    DisallowedAlgorithm(String),
    /// No key in the IdP's set verifies the signature (after one refetch when allowed).
    #[error("the id_token's signature does not verify: {0}")]
    BadSignature(String),
    /// `iss` differs from the configured issuer.
    #[error("the id_token's issuer is wrong: {0}")]
    WrongIssuer(String),
    /// `aud` lacks the client id, names untrusted parties, or `azp` is someone else.
    #[error("the id_token is not meant for this client: {0}")]
    WrongAudience(String),
    /// `exp` has passed, or `iat` is in the future or too old.
    #[error("the id_token is expired or not yet valid: {0}")]
    Expired(String),
    /// `nonce` is missing or not the pending login's.
    #[error("the id_token's nonce does not match this sign-in")]
    NonceMismatch,
    /// Some other id_token claim check failed.
    #[error("the id_token was refused: {0}")]
    Claims(String),
}

impl OidcError {
    /// A stable machine code for logs, audit rows and JSON errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "oidc_config",
            Self::Fetch(_) => "oidc_provider_unreachable",
            Self::DiscoveryIssuerMismatch { .. } => "oidc_discovery_issuer_mismatch",
            Self::StateMismatch => "oidc_state_mismatch",
            Self::PendingExpired => "oidc_login_expired",
            Self::ProviderRefused { .. } => "oidc_provider_refused",
            Self::MissingCode => "oidc_missing_code",
            Self::TokenRefused { .. } => "oidc_code_refused",
            Self::MissingIdToken => "oidc_missing_id_token",
            Self::MalformedIdToken(_) => "oidc_malformed_id_token",
            Self::DisallowedAlgorithm(_) => "oidc_disallowed_alg",
            Self::BadSignature(_) => "oidc_bad_signature",
            Self::WrongIssuer(_) => "oidc_wrong_issuer",
            Self::WrongAudience(_) => "oidc_wrong_audience",
            Self::Expired(_) => "oidc_expired",
            Self::NonceMismatch => "oidc_nonce_mismatch",
            Self::Claims(_) => "oidc_claims",
        }
    }
}
