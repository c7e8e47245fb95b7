//! Who is using the web app: the session cookie, the signed-in user's principal, the
//! CSRF check of every form post, and the language to answer in. Each extractor
//! says what its route does for the read-only rule of ended tenants: [`WebUser`]
//! and [`WebForm`] write unless the method is safe, [`ReadForm`] only reads
//! (exports), [`PendingUser`] and [`PendingForm`] sign in and out.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use genkan_core::access::{Actor, Permission, Principal};
use genkan_core::read_only::{Access, Credential};
use genkan_core::text::Locale;
use genkan_store::AuditCtx;
use genkan_store::sessions::{SessionInfo, SessionLimits};

use super::error::PageError;
use super::i18n::Tr;
use crate::request::{ClientIp, current_id};
use crate::state::AppState;

/// Cookie name over TLS (the `__Host-` prefix binds it to this exact origin).
pub const SECURE_COOKIE: &str = "__Host-genkan_session";
/// Cookie name over plain HTTP (development and demos on localhost).
pub const PLAIN_COOKIE: &str = "genkan_session";
/// Remembers the organisation id on the sign-in form (not a secret).
pub const ORG_COOKIE: &str = "genkan_org";

/// Whether the server is reached over HTTPS (then cookies are `Secure` and `__Host-`).
pub fn is_secure(state: &AppState) -> bool {
    state.config.server.public_url.starts_with("https://")
}

/// The session limits from the configuration.
pub fn limits(state: &AppState) -> SessionLimits {
    SessionLimits {
        idle: chrono::Duration::minutes(state.config.auth.session_idle_minutes.max(1)),
        absolute: chrono::Duration::hours(state.config.auth.session_absolute_hours.max(1)),
    }
}

/// A `Set-Cookie` value for the session.
pub fn session_cookie(state: &AppState, value: &str) -> String {
    if is_secure(state) {
        format!("{SECURE_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Lax")
    } else {
        format!("{PLAIN_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax")
    }
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(state: &AppState) -> String {
    if is_secure(state) {
        format!("{SECURE_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
    } else {
        format!("{PLAIN_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The session cookie of this request (the secure name is preferred).
pub fn session_value(headers: &HeaderMap, state: &AppState) -> Option<String> {
    let name = if is_secure(state) {
        SECURE_COOKIE
    } else {
        PLAIN_COOKIE
    };
    cookie(headers, name)
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
}

/// The language of a request: the user's choice, else the browser's, else the tenant's.
pub fn locale_of(preference: Option<&str>, headers: &HeaderMap, fallback: Locale) -> Locale {
    preference
        .and_then(|p| Locale::parse(p).ok())
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or(fallback)
}

/// A signed-in user of the web app.
#[derive(Debug, Clone)]
pub struct WebUser {
    /// The session.
    pub session: SessionInfo,
    /// As a principal for access checks.
    pub principal: Principal,
    /// Audit context of this request.
    pub ctx: AuditCtx,
    /// Translations in the user's language.
    pub t: Tr,
    /// The tenant's contract has ended (only reading, exporting and signing in and
    /// out reach a handler then).
    pub read_only: bool,
}

impl WebUser {
    /// Refuses with 403 unless the user may do `what`.
    pub fn require(&self, what: Permission) -> Result<(), PageError> {
        if self.principal.may(what) {
            Ok(())
        } else {
            Err(PageError::Forbidden)
        }
    }
}

async fn load(
    parts: &mut Parts,
    state: &AppState,
    allow_mfa_pending: bool,
    access: Access,
) -> Result<WebUser, PageError> {
    let value = session_value(&parts.headers, state).ok_or(PageError::SignIn)?;
    let now = state.clock.now();
    let session = state
        .store
        .session(&value, now, limits(state))
        .await?
        .ok_or(PageError::SignIn)?;
    let ip = ClientIp::from_request_parts(parts, state).await.ok();
    // The tenant's allowlist holds for every request, so a cookie taken elsewhere
    // is useless from outside the listed networks.
    if session.allowlist.applies_to(session.role)
        && !ip.is_some_and(|ip| session.allowlist.permits(session.role, ip.0))
    {
        tracing::warn!(user.id = %session.user_id, "session used from an address outside the allowlist");
        return Err(PageError::Forbidden);
    }
    if session.needs_second_factor() && !allow_mfa_pending {
        return Err(PageError::SecondFactor);
    }
    let primary = crate::credentials::Primary {
        kind: Credential::Session,
        secret: &value,
        tenant: session.tenant_id,
    };
    let read_only = crate::credentials::judge(parts, state, primary, access).await?;
    let principal = Principal {
        tenant_id: session.tenant_id,
        actor: Actor::User {
            user_id: session.user_id,
            role: session.role,
        },
    };
    let ctx = AuditCtx::of(&principal, ip.map(|i| i.to_string()), current_id(), now);
    let t = Tr::new(locale_of(
        session.locale.as_deref(),
        &parts.headers,
        Locale::Ja,
    ));
    Ok(WebUser {
        session,
        principal,
        ctx,
        t,
        read_only,
    })
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        load(
            parts,
            state,
            false,
            Access::of_method(parts.method.as_str()),
        )
        .await
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for WebUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match load(
            parts,
            state,
            false,
            Access::of_method(parts.method.as_str()),
        )
        .await
        {
            Ok(user) => Ok(Some(user)),
            Err(PageError::SignIn | PageError::SecondFactor) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// A session that may still be waiting for its second factor (the MFA page itself).
#[derive(Debug, Clone)]
pub struct PendingUser(pub WebUser);

impl FromRequestParts<AppState> for PendingUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        load(parts, state, true, Access::SignInOut).await.map(Self)
    }
}

/// A form post from a session that may still wait for its second factor (the
/// second-factor pages and signing out), with its CSRF token and origin checked.
#[derive(Debug, Clone)]
pub struct PendingForm {
    /// The user.
    pub user: WebUser,
    /// Every field in order.
    pub fields: Vec<(String, String)>,
}

impl PendingForm {
    /// The first value of `name` (empty if missing).
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl FromRequest<AppState> for PendingForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let PendingUser(user) = PendingUser::from_request_parts(&mut parts, state).await?;
        let fields = read_form(&mut parts, body, &user).await?;
        Ok(Self { user, fields })
    }
}

/// Refuses a state-changing request from another origin (browsers send `Origin`
/// on every POST; a missing one is accepted only with same-origin fetch metadata).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some("null") => false,
        Some(origin) => {
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .unwrap_or("");
            host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
        }
        None => !matches!(
            headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
            Some("cross-site" | "same-site")
        ),
    }
}

/// A form post by a signed-in user, with its CSRF token and origin checked.
/// The body is kept as ordered pairs so repeated fields (visitor rows) survive.
#[derive(Debug, Clone)]
pub struct WebForm {
    /// The user.
    pub user: WebUser,
    /// Every field in order.
    pub fields: Vec<(String, String)>,
}

impl WebForm {
    /// The first value of `name` (empty if missing).
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, v)| k == name && !v.is_empty())
    }
}

/// Checks origin and CSRF token of a form post; returns the fields.
pub async fn read_form(
    parts: &mut Parts,
    body: axum::body::Body,
    user: &WebUser,
) -> Result<Vec<(String, String)>, PageError> {
    if parts.method != Method::POST || !same_origin(&parts.headers) {
        return Err(PageError::Csrf);
    }
    let bytes = axum::body::to_bytes(body, crate::routes::FORM_LIMIT)
        .await
        .map_err(|e| crate::web::form::body_error(e.into_inner().as_ref()))?;
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    let token = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if !token.is_some_and(|t| constant_time_eq(t.as_bytes(), user.session.csrf_token.as_bytes())) {
        tracing::warn!(user.id = %user.session.user_id, "form without a valid CSRF token refused");
        return Err(PageError::Csrf);
    }
    Ok(fields)
}

/// Compares secrets without leaking where they differ (`subtle`; the length is not
/// secret: every token compared has a fixed length).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

impl FromRequest<AppState> for WebForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let user = WebUser::from_request_parts(&mut parts, state).await?;
        let fields = read_form(&mut parts, body, &user).await?;
        Ok(Self { user, fields })
    }
}

/// A form post that changes nothing the tenant owns (an export): like [`WebForm`],
/// but open to a tenant whose contract has ended.
#[derive(Debug, Clone)]
pub struct ReadForm(pub WebForm);

impl FromRequest<AppState> for ReadForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let user = load(&mut parts, state, false, Access::Read).await?;
        let fields = read_form(&mut parts, body, &user).await?;
        Ok(Self(WebForm { user, fields }))
    }
}

/// A file sent with a multipart form.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The name the browser gave (informative only, never trusted).
    pub file_name: String,
    /// The declared content type (informative only, never trusted).
    pub content_type: Option<String>,
    /// The content.
    pub bytes: Vec<u8>,
}

/// A multipart form post (file uploads) by a signed-in user, with its origin and
/// the CSRF token of its `csrf` part checked, like [`WebForm`]. The route decides
/// the largest body with `DefaultBodyLimit`; anything larger answers 413.
#[derive(Debug, Clone)]
pub struct WebUpload {
    /// The user.
    pub user: WebUser,
    /// Every text field in order.
    pub fields: Vec<(String, String)>,
    /// Every file field that carried a file, by field name.
    pub files: Vec<(String, UploadedFile)>,
}

impl WebUpload {
    /// The first value of text field `name` (empty if missing).
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, v)| k == name && !v.is_empty())
    }

    /// The file sent in field `name`, if one was chosen.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files.iter().find(|(k, _)| k == name).map(|(_, f)| f)
    }
}

/// Why an upload was refused before its handler ran.
#[derive(Debug)]
pub enum UploadRejection {
    /// Not signed in, wrong token, unreadable body…
    Page(PageError),
    /// The body is larger than the route accepts.
    TooLarge,
}

impl From<PageError> for UploadRejection {
    fn from(e: PageError) -> Self {
        Self::Page(e)
    }
}

impl axum::response::IntoResponse for UploadRejection {
    fn into_response(self) -> axum::response::Response {
        match self {
            Self::Page(e) => e.into_response(),
            Self::TooLarge => super::error::error_page(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "error.too_large",
                "error.too_large_detail",
            ),
        }
    }
}

fn upload_error(e: &axum::extract::multipart::MultipartError) -> UploadRejection {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        UploadRejection::TooLarge
    } else {
        UploadRejection::Page(PageError::BadRequest)
    }
}

impl FromRequest<AppState> for WebUpload {
    type Rejection = UploadRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let user = WebUser::from_request_parts(&mut parts, state).await?;
        if parts.method != Method::POST || !same_origin(&parts.headers) {
            return Err(PageError::Csrf.into());
        }
        let req = Request::from_parts(parts, body);
        let mut multipart = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|_| PageError::BadRequest)?;
        let mut fields = Vec::new();
        let mut files = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| upload_error(&e))? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let content_type = field.content_type().map(str::to_owned);
                    let bytes = field.bytes().await.map_err(|e| upload_error(&e))?;
                    // A file input left empty still sends an empty part.
                    if !(file_name.is_empty() && bytes.is_empty()) {
                        files.push((
                            name,
                            UploadedFile {
                                file_name,
                                content_type,
                                bytes: bytes.to_vec(),
                            },
                        ));
                    }
                }
                None => {
                    let text = field.text().await.map_err(|e| upload_error(&e))?;
                    fields.push((name, text));
                }
            }
        }
        let token = fields
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str());
        if !token
            .is_some_and(|t| constant_time_eq(t.as_bytes(), user.session.csrf_token.as_bytes()))
        {
            tracing::warn!(user.id = %user.session.user_id, "upload without a valid CSRF token refused");
            return Err(PageError::Csrf.into());
        }
        Ok(Self {
            user,
            fields,
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn foreign_origins_are_refused() {
        assert!(same_origin(&headers(&[
            ("host", "genkan.example"),
            ("origin", "https://genkan.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "genkan.example"),
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "genkan.example"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "genkan.example"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(same_origin(&headers(&[("host", "genkan.example")])));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = headers(&[("cookie", "a=1; genkan_session=abc; genkan_session_x=zzz")]);
        assert_eq!(cookie(&h, "genkan_session"), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn language_follows_preference_then_browser_then_tenant() {
        let h = headers(&[("accept-language", "en-US,en;q=0.9")]);
        assert_eq!(locale_of(Some("ja"), &h, Locale::Ja), Locale::Ja);
        assert_eq!(locale_of(None, &h, Locale::Ja), Locale::En);
        assert_eq!(locale_of(None, &HeaderMap::new(), Locale::Ja), Locale::Ja);
    }
}
