//! id_token checks: algorithm allow-list first, then signature, issuer, audience and
//! `azp`, `exp`/`iat` with skew, and nonce; then the identity out.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreIdTokenVerifier, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, IdToken, IdTokenClaims, Nonce,
    SignatureVerificationError,
};
use serde::{Deserialize, Serialize};

use super::provider::Snapshot;
use super::{OidcConfig, OidcError, OidcIdentity};

/// Claims beyond the standard ones, kept so the configured groups claim can be read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExtraClaims {
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

type GenkanIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type GenkanClaims = IdTokenClaims<ExtraClaims, CoreGenderClaim>;

/// Checks `raw` against the snapshot's keys. `Err(None)` means "no key matched": the caller
/// may refetch the key set once and try again.
pub(crate) fn verify_id_token(
    raw: &str,
    config: &OidcConfig,
    snapshot: &Snapshot,
    expected_nonce: &str,
    now: DateTime<Utc>,
) -> Result<OidcIdentity, Option<OidcError>> {
    check_header_alg(raw, config).map_err(Some)?;
    let token: GenkanIdToken = serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|e| Some(OidcError::MalformedIdToken(e.to_string())))?;
    let skew = config.clock_skew;
    let max_age = config.max_token_age;
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(config.client_id.clone()),
        snapshot.metadata.issuer().clone(),
        snapshot.jwks.clone(),
    )
    .set_allowed_algs(config.algs().into_iter().map(super::SigningAlg::to_core))
    // `exp` passes while now - skew < exp.
    .set_time_fn(move || now - skew)
    .set_issue_time_verifier_fn(move |iat| {
        if iat > now + skew {
            Err(format!("issued in the future ({iat})"))
        } else if iat < now - max_age - skew {
            Err(format!("issued too long ago ({iat})"))
        } else {
            Ok(())
        }
    });
    let nonce = Nonce::new(expected_nonce.to_owned());
    let claims = token.claims(&verifier, &nonce).map_err(map_claims_error)?;
    check_authorized_party(claims, &config.client_id).map_err(Some)?;
    Ok(identity_from(claims, config))
}

/// Refuses `none`, HMAC and anything off the tenant's list before any parsing of the
/// payload, so those tokens get one clear code whatever the library would say.
fn check_header_alg(raw: &str, config: &OidcConfig) -> Result<(), OidcError> {
    let header = raw
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .ok_or_else(|| OidcError::MalformedIdToken("the header is not base64url JSON".into()))?;
    let alg = header.get("alg").and_then(|a| a.as_str()).unwrap_or("");
    let allowed = config.algs().iter().any(|a| {
        serde_json::to_value(a)
            .ok()
            .and_then(|v| v.as_str().map(|s| s == alg))
            == Some(true)
    });
    if allowed {
        Ok(())
    } else {
        Err(OidcError::DisallowedAlgorithm(format!("`{alg}`")))
    }
}

fn map_claims_error(error: ClaimsVerificationError) -> Option<OidcError> {
    use ClaimsVerificationError as C;
    use SignatureVerificationError as S;
    Some(match error {
        C::SignatureVerification(S::NoMatchingKey) => return None,
        C::SignatureVerification(S::DisallowedAlg(m) | S::UnsupportedAlg(m)) => {
            OidcError::DisallowedAlgorithm(m)
        }
        C::SignatureVerification(S::NoSignature) => {
            OidcError::DisallowedAlgorithm("unsigned".into())
        }
        C::SignatureVerification(other) => OidcError::BadSignature(other.to_string()),
        C::InvalidIssuer(m) => OidcError::WrongIssuer(m),
        C::InvalidAudience(m) => OidcError::WrongAudience(m),
        C::Expired(m) => OidcError::Expired(m),
        C::InvalidNonce(_) => OidcError::NonceMismatch,
        other => OidcError::Claims(other.to_string()),
    })
}

/// OIDC Core 3.1.3.7 steps 4–5: with several audiences `azp` must be present, and when
/// present it must be this client.
fn check_authorized_party(claims: &GenkanClaims, client_id: &str) -> Result<(), OidcError> {
    match claims.authorized_party() {
        Some(azp) if azp.as_str() != client_id => Err(OidcError::WrongAudience(format!(
            "authorized party is `{}`",
            azp.as_str()
        ))),
        None if claims.audiences().len() > 1 => Err(OidcError::WrongAudience(
            "several audiences and no authorized party".into(),
        )),
        _ => Ok(()),
    }
}

fn identity_from(claims: &GenkanClaims, config: &OidcConfig) -> OidcIdentity {
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string())
        .or_else(|| {
            let given = claims
                .given_name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string());
            let family = claims
                .family_name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string());
            match (given, family) {
                (Some(g), Some(f)) => Some(format!("{g} {f}")),
                (g, f) => g.or(f),
            }
        });
    let groups = config
        .groups_claim
        .as_deref()
        .and_then(|claim| claims.additional_claims().other.get(claim))
        .map(strings_of)
        .unwrap_or_default();
    OidcIdentity {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        name,
        groups,
        amr: claims
            .auth_method_refs()
            .map(|amr| amr.iter().map(|a| a.to_string()).collect())
            .unwrap_or_default(),
        acr: claims.auth_context_ref().map(|a| a.to_string()),
        auth_time: claims.auth_time(),
    }
}

/// A claim's value as a list of strings: an array of strings or numbers, or one string.
fn strings_of(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}
