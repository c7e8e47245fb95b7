//! The identity an IdP asserted, as the rest of Genkan needs it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who signed in, according to a verified id_token.
///
/// Match users on `(issuer, subject)`; `email` is only for linking an existing account the
/// first time (and only when `email_verified`), never for matching later: an address can
/// change hands at the IdP, the subject cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIdentity {
    /// The issuer that vouched (`iss`).
    pub issuer: String,
    /// The stable subject identifier (`sub`).
    pub subject: String,
    /// `email`, if released.
    pub email: Option<String>,
    /// Whether the IdP says it verified the address (`email_verified`, absent = false).
    pub email_verified: bool,
    /// A display name (`name`, or `given_name family_name`).
    pub name: Option<String>,
    /// The configured groups claim's values (strings; numbers are written out).
    pub groups: Vec<String>,
    /// Authentication methods (`amr`, RFC 8176), as asserted.
    pub amr: Vec<String>,
    /// Authentication context class (`acr`), as asserted.
    pub acr: Option<String>,
    /// When the user last authenticated at the IdP (`auth_time`).
    pub auth_time: Option<DateTime<Utc>>,
}

impl OidcIdentity {
    /// Whether the IdP asserted a multi-factor sign-in: `amr` holds `mfa` (Entra, Okta,
    /// Keycloak with a second factor), or two factor kinds from RFC 8176 (something known
    /// and something held or inherent). Record `amr`/`acr` either way.
    pub fn idp_asserted_mfa(&self) -> bool {
        let has = |values: &[&str]| self.amr.iter().any(|a| values.contains(&a.as_str()));
        has(&["mfa"])
            || (has(&["pwd", "pin", "kba"])
                && has(&[
                    "otp", "hwk", "swk", "sms", "tel", "sc", "fpt", "face", "iris", "retina", "vbm",
                ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_amr(amr: &[&str]) -> OidcIdentity {
        OidcIdentity {
            issuer: "https://idp".into(),
            subject: "s".into(),
            email: None,
            email_verified: false,
            name: None,
            groups: vec![],
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            acr: None,
            auth_time: None,
        }
    }

    #[test]
    fn mfa_is_asserted_by_the_mfa_value_or_a_knowledge_and_a_possession_factor() {
        assert!(with_amr(&["pwd", "mfa"]).idp_asserted_mfa());
        assert!(with_amr(&["pwd", "otp"]).idp_asserted_mfa());
        assert!(with_amr(&["pin", "hwk"]).idp_asserted_mfa());
        assert!(!with_amr(&["pwd"]).idp_asserted_mfa());
        assert!(!with_amr(&["otp"]).idp_asserted_mfa());
        assert!(!with_amr(&[]).idp_asserted_mfa());
    }
}
