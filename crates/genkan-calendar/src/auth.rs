//! OAuth 2.0 tokens for the providers: authorisation-code exchange and refresh (per
//! host consent, Google and Microsoft), client credentials (Graph application
//! permissions), and Google service accounts with domain-wide delegation (an RS256
//! JWT bearer assertion naming the host in `sub`). Secrets never appear in `Debug`.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, SyncError};
use crate::http::{Limits, send, status_error};

/// Google's token endpoint.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google Calendar read-only scope.
pub const GOOGLE_CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";
/// Microsoft identity platform token endpoint for a directory (tenant) id.
pub fn microsoft_token_url(directory: &str) -> String {
    let dir: String = directory
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .collect();
    format!("https://login.microsoftonline.com/{dir}/oauth2/v2.0/token")
}
/// Graph application-permission scope (client credentials).
pub const GRAPH_APP_SCOPE: &str = "https://graph.microsoft.com/.default";

/// A secret string: redacted in `Debug`, serialised as is (seal it before storing).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An access token and what came with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: Secret,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// A refresh token, when the grant gives one. Microsoft rotates it on every
    /// refresh: store the new one.
    pub refresh_token: Option<Secret>,
    /// Granted scopes, as the server lists them.
    pub scope: Option<String>,
}

impl TokenSet {
    /// Whether the access token is still good for at least a minute at `now`.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at - Duration::seconds(60) > now
    }
}

/// A registered OAuth client (Google or Microsoft app).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthApp {
    /// The token endpoint ([`GOOGLE_TOKEN_URL`], [`microsoft_token_url`], or a
    /// stand-in in tests).
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret,
}

/// What is exchanged for a token at the token endpoint.
#[derive(Debug, Clone)]
pub enum Grant<'a> {
    /// The code the provider sent back to the server's redirect URI.
    AuthorizationCode {
        /// The code.
        code: &'a str,
        /// The redirect URI used in the authorisation request.
        redirect_uri: &'a str,
        /// The PKCE verifier, if PKCE was used.
        code_verifier: Option<&'a str>,
    },
    /// A stored refresh token.
    RefreshToken(&'a Secret),
    /// The app's own identity (Graph application permissions).
    ClientCredentials {
        /// Usually [`GRAPH_APP_SCOPE`].
        scope: &'a str,
    },
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

async fn post_token(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<TokenSet, AuthError> {
    let (status, headers, body) = send(http.post(url).form(form), limits).await?;
    if status.is_success() {
        let answer: TokenAnswer = serde_json::from_str(&body)
            .map_err(|_| SyncError::Protocol("token answer is not JSON".into()))?;
        let lifetime = answer.expires_in.unwrap_or(3600).clamp(60, 86_400 * 90);
        return Ok(TokenSet {
            access_token: Secret(answer.access_token),
            expires_at: now + Duration::seconds(lifetime),
            refresh_token: answer.refresh_token.map(Secret),
            scope: answer.scope,
        });
    }
    let code = serde_json::from_str::<ErrorAnswer>(&body)
        .map(|e| e.error)
        .ok();
    match (status.as_u16(), code.as_deref()) {
        (_, Some("invalid_grant")) => Err(AuthError::InvalidGrant),
        (_, Some(c @ ("invalid_client" | "unauthorized_client" | "invalid_scope"))) => {
            Err(AuthError::InvalidClient(c.to_owned()))
        }
        (429 | 503, _) => Err(AuthError::Throttled {
            retry_after: status_error(status, &headers, &body).retry_after(),
        }),
        _ => Err(status_error(status, &headers, &body).into()),
    }
}

/// Exchanges `grant` for a token at `app`'s endpoint. `now` is the caller's clock.
/// A refresh that gives no new refresh token keeps the old one in the result.
pub async fn request_token(
    http: &reqwest::Client,
    app: &OAuthApp,
    grant: Grant<'_>,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<TokenSet, AuthError> {
    let secret = app.client_secret.expose();
    let mut form: Vec<(&str, &str)> =
        vec![("client_id", &app.client_id), ("client_secret", secret)];
    let mut kept = None;
    match grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            form.extend([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ]);
            if let Some(v) = code_verifier {
                form.push(("code_verifier", v));
            }
        }
        Grant::RefreshToken(token) => {
            form.extend([
                ("grant_type", "refresh_token"),
                ("refresh_token", token.expose()),
            ]);
            kept = Some(token.clone());
        }
        Grant::ClientCredentials { scope } => {
            form.extend([("grant_type", "client_credentials"), ("scope", scope)]);
        }
    }
    let mut set = post_token(http, &app.token_url, &form, now, limits).await?;
    if set.refresh_token.is_none() {
        set.refresh_token = kept;
    }
    Ok(set)
}

/// A Google service-account key, as in the JSON file Google hands out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountKey {
    /// The account's address (`…@….iam.gserviceaccount.com`).
    pub client_email: String,
    /// Key id (sent as the JWT `kid`).
    #[serde(default)]
    pub private_key_id: Option<String>,
    /// PEM-encoded RSA private key.
    pub private_key: Secret,
    /// Token endpoint named in the key file.
    #[serde(default)]
    pub token_uri: Option<String>,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Reads Google's JSON key file.
    pub fn from_json(json: &str) -> Result<Self, AuthError> {
        serde_json::from_str(json)
            .map_err(|_| AuthError::Key("not a service-account key file".into()))
    }
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

/// The signed JWT a service account presents to act as `subject` (domain-wide
/// delegation), valid for one hour from `now`.
pub fn service_account_assertion(
    key: &ServiceAccountKey,
    subject: &str,
    scopes: &[&str],
    audience: &str,
    now: DateTime<Utc>,
) -> Result<String, AuthError> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid.clone_from(&key.private_key_id);
    let scope = scopes.join(" ");
    let claims = Assertion {
        iss: &key.client_email,
        sub: subject,
        scope: &scope,
        aud: audience,
        iat: now.timestamp(),
        exp: (now + Duration::hours(1)).timestamp(),
    };
    let signing = jsonwebtoken::EncodingKey::from_rsa_pem(key.private_key.expose().as_bytes())
        .map_err(|_| AuthError::Key("the private key is not an RSA PEM key".into()))?;
    jsonwebtoken::encode(&header, &claims, &signing).map_err(|e| AuthError::Key(e.to_string()))
}

/// A token for `subject`'s calendar through a service account with domain-wide
/// delegation. `token_url` overrides the key file's endpoint (tests use a stand-in).
pub async fn service_account_token(
    http: &reqwest::Client,
    key: &ServiceAccountKey,
    subject: &str,
    scopes: &[&str],
    token_url: Option<&str>,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<TokenSet, AuthError> {
    let url = token_url
        .or(key.token_uri.as_deref())
        .unwrap_or(GOOGLE_TOKEN_URL);
    let jwt = service_account_assertion(key, subject, scopes, url, now)?;
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", jwt.as_str()),
    ];
    post_token(http, url, &form, now, limits).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let set = TokenSet {
            access_token: Secret::new("ya29.very-secret"),
            expires_at: DateTime::UNIX_EPOCH,
            refresh_token: Some(Secret::new("1//refresh")),
            scope: None,
        };
        let shown = format!("{set:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("refresh\""),
            "{shown}"
        );
        let key = ServiceAccountKey {
            client_email: "sa@p.iam.gserviceaccount.com".into(),
            private_key_id: None,
            private_key: Secret::new("-----BEGIN PRIVATE KEY-----"),
            token_uri: None,
        };
        assert!(!format!("{key:?}").contains("BEGIN"));
    }

    #[test]
    fn a_broken_key_is_a_typed_error() {
        let key = ServiceAccountKey {
            client_email: "sa@p".into(),
            private_key_id: None,
            private_key: Secret::new("not pem"),
            token_uri: None,
        };
        let err = service_account_assertion(
            &key,
            "a@b",
            &[GOOGLE_CALENDAR_SCOPE],
            "x",
            DateTime::UNIX_EPOCH,
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_key");
        assert!(ServiceAccountKey::from_json("{}").is_err());
        assert_eq!(
            microsoft_token_url("contoso.onmicrosoft.com/../x?"),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com..x/oauth2/v2.0/token"
        );
    }
}
