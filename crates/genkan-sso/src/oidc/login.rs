//! The authorization request (PKCE S256, state, nonce) and its callback: state check,
//! code exchange, id_token verification with one key-set refetch on an unknown key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use super::verify::verify_id_token;
use super::{ClientAuth, OidcError, OidcIdentity, OidcProvider};
use crate::http::fetch_bytes;

/// How long a started sign-in may take before its callback is refused.
pub const PENDING_LOGIN_TTL: Duration = Duration::minutes(10);

/// What must be kept server-side between the redirect and the callback. It holds the
/// PKCE verifier, so it never goes to the browser (a cookie may carry only a random key
/// to it). Single use: delete it when the callback arrives, whatever the outcome.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOidcLogin {
    /// The `state` sent; the callback must return it.
    pub state: String,
    /// The `nonce` sent; the id_token must carry it.
    pub nonce: String,
    /// The PKCE code verifier (secret).
    pub pkce_verifier: String,
    /// When the sign-in started (the provider's clock).
    pub started_at: DateTime<Utc>,
}

impl std::fmt::Debug for PendingOidcLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingOidcLogin")
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

/// The start of a sign-in: where to send the browser, and what to keep.
#[derive(Debug, Clone)]
pub struct OidcLoginStart {
    /// The IdP's authorization URL with all parameters; answer with a 303 to it.
    pub authorize_url: Url,
    /// Keep server-side until the callback (see [`PendingOidcLogin`]).
    pub pending: PendingOidcLogin,
}

/// The callback's query parameters, as the IdP sent them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OidcCallback {
    /// `state`.
    pub state: Option<String>,
    /// `code`, on success.
    pub code: Option<String>,
    /// `error`, when the IdP refused or the user cancelled.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
    /// `iss` (RFC 9207), when the IdP sends it: must be the configured issuer.
    pub iss: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
}

impl OidcProvider {
    /// Builds the authorization request: `response_type=code`, PKCE S256, a fresh `state`
    /// and `nonce` (128 bits or more each), scopes `openid` plus the configured ones.
    /// `login_hint` pre-fills the IdP's account field (an address typed at Genkan).
    pub async fn begin_login(&self, login_hint: Option<&str>) -> OidcLoginStart {
        let snapshot = self.fresh().await;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random().secret().clone();
        let nonce = Nonce::new_random().secret().clone();
        let mut url = snapshot.metadata.authorization_endpoint().url().clone();
        let mut scope = vec!["openid".to_owned()];
        scope.extend(
            self.config
                .scopes
                .iter()
                .filter(|s| *s != "openid")
                .cloned(),
        );
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", &self.config.redirect_url)
                .append_pair("scope", &scope.join(" "))
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", "S256");
            if let Some(hint) = login_hint {
                query.append_pair("login_hint", hint);
            }
        }
        OidcLoginStart {
            authorize_url: url,
            pending: PendingOidcLogin {
                state,
                nonce,
                pkce_verifier: verifier.secret().clone(),
                started_at: self.clock.now(),
            },
        }
    }

    /// Finishes a sign-in: checks the pending login's age and `state`, the optional `iss`,
    /// the IdP's error, exchanges the code with the PKCE verifier, and verifies the
    /// id_token (refetching the key set once, rate-limited, when it names an unknown key).
    pub async fn complete_login(
        &self,
        pending: &PendingOidcLogin,
        callback: &OidcCallback,
    ) -> Result<OidcIdentity, OidcError> {
        let now = self.clock.now();
        if now - pending.started_at > PENDING_LOGIN_TTL
            || now < pending.started_at - self.config.clock_skew
        {
            return Err(OidcError::PendingExpired);
        }
        let returned = callback.state.as_deref().unwrap_or("");
        if !same_secret(returned, &pending.state) {
            return Err(OidcError::StateMismatch);
        }
        if let Some(iss) = callback
            .iss
            .as_ref()
            .filter(|iss| *iss != &self.config.issuer)
        {
            return Err(OidcError::WrongIssuer(format!(
                "the callback names issuer `{iss}`"
            )));
        }
        if let Some(error) = &callback.error {
            return Err(OidcError::ProviderRefused {
                error: error.clone(),
                description: callback.error_description.clone(),
            });
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(OidcError::MissingCode)?;
        let id_token = self.exchange_code(code, &pending.pkce_verifier).await?;
        self.verify(&id_token, &pending.nonce).await
    }

    /// Verifies an id_token with the current keys; on an unknown key, refetches the key
    /// set (at most once per five minutes) and tries once more.
    pub(crate) async fn verify(
        &self,
        id_token: &str,
        nonce: &str,
    ) -> Result<OidcIdentity, OidcError> {
        let snapshot = self.fresh().await;
        match verify_id_token(id_token, &self.config, &snapshot, nonce, self.clock.now()) {
            Ok(identity) => return Ok(identity),
            Err(Some(error)) => return Err(error),
            Err(None) => {}
        }
        let no_key =
            || OidcError::BadSignature("no key of the identity provider matches the token".into());
        if !self.refetch_keys_for_unknown_kid().await? {
            return Err(no_key());
        }
        let snapshot = self.current();
        verify_id_token(id_token, &self.config, &snapshot, nonce, self.clock.now())
            .map_err(|e| e.unwrap_or_else(no_key))
    }

    async fn exchange_code(&self, code: &str, verifier: &str) -> Result<String, OidcError> {
        let snapshot = self.fresh().await;
        let token_url = snapshot
            .metadata
            .token_endpoint()
            .ok_or_else(|| {
                OidcError::Config("the discovery document has no token endpoint".into())
            })?
            .url()
            .clone();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_url.as_str()),
            ("code_verifier", verifier),
        ];
        let mut request = self
            .http
            .post(token_url)
            .header("accept", "application/json");
        match (&self.config.client_secret, self.config.client_auth) {
            (Some(secret), ClientAuth::Basic) => {
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let basic =
                    STANDARD.encode(format!("{}:{}", enc(&self.config.client_id), enc(secret)));
                request = request.header("authorization", format!("Basic {basic}"));
            }
            (Some(secret), ClientAuth::Post) => {
                form.push(("client_id", self.config.client_id.as_str()));
                form.push(("client_secret", secret.as_str()));
            }
            (None, _) => form.push(("client_id", self.config.client_id.as_str())),
        }
        let (status, body) = fetch_bytes(request.form(&form)).await?;
        if !status.is_success() {
            let error = serde_json::from_slice::<TokenError>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| format!("status {}", status.as_u16()));
            return Err(OidcError::TokenRefused { error });
        }
        let response: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| OidcError::MalformedIdToken(e.to_string()))?;
        response.id_token.ok_or(OidcError::MissingIdToken)
    }
}

/// Compares two secrets without an early exit on the first differing byte: their
/// SHA-256 digests are compared, so neither length nor content leaks through timing.
fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_match_only_when_equal_and_never_when_empty() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", ""));
    }
}
