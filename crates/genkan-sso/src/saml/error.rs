//! Why a SAML step was refused, with stable codes for the audit log.

/// A refused or failed SAML step. [`SamlError::code`] is stable; the text is for people.
#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    /// The SP settings are unusable.
    #[error("the SAML settings are not valid: {0}")]
    Config(String),
    /// The IdP metadata does not parse or lacks what is required.
    #[error("the identity provider's metadata is not usable: {0}")]
    Metadata(String),
    /// The form value is larger than allowed.
    #[error("the SAML response is too large")]
    TooLarge,
    /// Not base64, not UTF-8, not XML, or carries a DTD.
    #[error("the SAML response is malformed: {0}")]
    Malformed(String),
    /// No valid signature by the IdP's certificate covers the response or assertion.
    #[error("the SAML response is not signed by the identity provider")]
    BadSignature,
    /// The issuer is not the IdP.
    #[error("the SAML response comes from another issuer: {0}")]
    WrongIssuer(String),
    /// The audience restriction is missing or does not name this SP.
    #[error("the SAML assertion is not meant for this service: {0}")]
    WrongAudience(String),
    /// Recipient or Destination is not this SP's ACS URL.
    #[error("the SAML response was sent to another address: {0}")]
    WrongRecipient(String),
    /// NotBefore / NotOnOrAfter conditions fail on the clock.
    #[error("the SAML assertion is expired or not yet valid: {0}")]
    Expired(String),
    /// InResponseTo is missing or not the pending request's.
    #[error("the SAML response does not answer this sign-in: {0}")]
    WrongRequest(String),
    /// The pending sign-in is too old.
    #[error("the sign-in took too long; start again")]
    PendingExpired,
    /// The IdP answered with a non-success status.
    #[error("the identity provider refused the sign-in: {0}")]
    ProviderRefused(String),
    /// The assertion was already used.
    #[error("this SAML assertion was already used")]
    Replayed,
    /// The replay cache could not record the assertion (fails closed).
    #[error("the replay check could not be made: {0}")]
    ReplayCache(String),
    /// The assertion lacks a subject or other required parts.
    #[error("the SAML assertion is incomplete: {0}")]
    Incomplete(String),
}

impl SamlError {
    /// A stable machine code for logs, audit rows and JSON errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "saml_config",
            Self::Metadata(_) => "saml_metadata",
            Self::TooLarge => "saml_too_large",
            Self::Malformed(_) => "saml_malformed",
            Self::BadSignature => "saml_bad_signature",
            Self::WrongIssuer(_) => "saml_wrong_issuer",
            Self::WrongAudience(_) => "saml_wrong_audience",
            Self::WrongRecipient(_) => "saml_wrong_recipient",
            Self::Expired(_) => "saml_expired",
            Self::WrongRequest(_) => "saml_wrong_request",
            Self::PendingExpired => "saml_login_expired",
            Self::ProviderRefused(_) => "saml_provider_refused",
            Self::Replayed => "saml_replayed",
            Self::ReplayCache(_) => "saml_replay_cache",
            Self::Incomplete(_) => "saml_incomplete",
        }
    }
}
