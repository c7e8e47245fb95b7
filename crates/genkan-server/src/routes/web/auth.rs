//! The pages reached before signing in: the routes of signing in and out (handled
//! in [`super::login`] and [`super::mfa`]), forgotten passwords, and accepting
//! invitations. Every form here is protected by a pre-session CSRF cookie (double
//! submit) and an origin check; failures answer identically whether or not the
//! account exists.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use genkan_core::password;
use genkan_core::text::{EmailAddress, Locale};
use genkan_store::AuditCtx;
use genkan_store::users::LinkPurpose;
use serde::Deserialize;

use super::login;
use crate::request::{ClientIp, current_id};
use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::{FormErrors, PageForm, password_problem};
use crate::web::i18n::Tr;
use crate::web::session::{
    ORG_COOKIE, constant_time_eq, cookie, is_secure, locale_of, same_origin,
};

/// Pre-session CSRF cookie of the sign-in and password forms.
const PRE_COOKIE: &str = "genkan_pre";
/// Cookie carrying a link secret from the mailed URL to the form (never kept in the address bar).
const LINK_COOKIE: &str = "genkan_link";

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/password/forgot", get(forgot_page).post(forgot))
        .route("/password/reset/{secret}", get(take_reset_link))
        .route("/password/reset", get(reset_page).post(reset))
        .route("/invite/{secret}", get(take_invite_link))
        .route("/invite", get(invite_page).post(accept_invite))
}

/// The query of the sign-in and password pages.
#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    /// Language chosen on the page.
    pub(crate) lang: Option<String>,
    /// A notice to show.
    pub(crate) notice: Option<String>,
}

/// The language of a sign-in page.
pub(crate) fn page_locale(headers: &HeaderMap, q: &PageQuery) -> Tr {
    Tr::new(locale_of(
        q.lang.as_deref().or_else(|| cookie(headers, "genkan_lang")),
        headers,
        Locale::Ja,
    ))
}

/// A fresh pre-session CSRF token.
pub(crate) fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 24]>())
}

/// Adds the pre-session CSRF cookie (and the language choice) to a form page.
pub(crate) fn with_pre_cookie(
    mut response: Response,
    state: &AppState,
    value: &str,
    lang: Option<&str>,
) -> Response {
    let secure = if is_secure(state) { "; Secure" } else { "" };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{PRE_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{secure}"
    )) {
        h.append(header::SET_COOKIE, v);
    }
    let lang_cookie = lang.and_then(|l| Locale::parse(l).ok()).and_then(|l| {
        HeaderValue::from_str(&format!(
            "genkan_lang={}; Path=/; SameSite=Lax; Max-Age=31536000{secure}",
            l.as_str()
        ))
        .ok()
    });
    if let Some(v) = lang_cookie {
        h.append(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Checks a pre-session form: same origin and the double-submitted token.
pub(crate) fn pre_csrf_ok(headers: &HeaderMap, submitted: &str) -> bool {
    same_origin(headers)
        && cookie(headers, PRE_COOKIE)
            .is_some_and(|c| !c.is_empty() && constant_time_eq(c.as_bytes(), submitted.as_bytes()))
}

/// The audit context of an anonymous request.
pub(crate) fn anonymous(state: &AppState, ip: ClientIp) -> AuditCtx {
    AuditCtx {
        tenant_id: None,
        actor_kind: "anonymous",
        actor_id: None,
        ip: Some(ip.to_string()),
        request_id: current_id(),
        at: state.clock.now(),
    }
}

#[derive(Template)]
#[template(path = "web/forgot.html")]
struct ForgotPage {
    t: Tr,
    heading: &'static str,
    message: Option<String>,
    problem: Option<String>,
    csrf: String,
    static_v: &'static str,
    organisation: String,
    email: String,
}

async fn forgot_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    let t = page_locale(&headers, &q);
    let csrf = new_secret();
    let page = ForgotPage {
        t,
        heading: "forgot.title",
        message: None,
        problem: None,
        csrf: csrf.clone(),
        static_v: crate::web::assets::VERSION.as_str(),
        organisation: cookie(&headers, ORG_COOKIE).unwrap_or_default().to_owned(),
        email: String::new(),
    };
    Ok(with_pre_cookie(
        Html(page.render()?).into_response(),
        &state,
        &csrf,
        q.lang.as_deref(),
    ))
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    PageForm(form): PageForm<ForgotForm>,
) -> PageResult<Response> {
    if !pre_csrf_ok(&headers, &form.csrf) {
        return Err(PageError::Csrf);
    }
    let t = page_locale(&headers, &PageQuery::default());
    let ip_key = ip.to_string();
    // Per address and per account: a mail-bomb against one person from many
    // addresses is throttled too. Each limit counts the request in the step that
    // checks it; one refused by the account's limit is given back to the address.
    // Limited or not, the answer below is the same.
    let account = genkan_store::security::account_name(&form.organisation, &form.email);
    let allowed = match state.limits.mail_requests.acquire(&ip_key) {
        Ok(by_address) => match state.limits.reset_accounts.acquire(&account) {
            Ok(_) => true,
            Err(_) => {
                state.limits.mail_requests.refund(by_address);
                false
            }
        },
        Err(_) => false,
    };
    if allowed
        && let (Some(slug), Ok(email)) = (
            genkan_core::tenant::parse_slug(&form.organisation),
            EmailAddress::parse(&form.email),
        )
    {
        state
            .store
            .request_password_reset(slug, email, anonymous(&state, ip))
            .await?;
    }
    // The same answer whether or not the account exists (and whether or not throttled).
    let csrf = new_secret();
    let page = ForgotPage {
        t,
        heading: "forgot.title",
        message: Some(t.get("notice.link_sent").to_owned()),
        problem: None,
        csrf: csrf.clone(),
        static_v: crate::web::assets::VERSION.as_str(),
        organisation: String::new(),
        email: String::new(),
    };
    Ok(with_pre_cookie(
        Html(page.render()?).into_response(),
        &state,
        &csrf,
        None,
    ))
}

/// Moves a link secret from the URL into a short-lived cookie and redirects to the
/// plain form address, so the secret leaves the address bar and browser history.
/// `SameSite=Lax`: the link is clicked in a web mailer (another site) and the
/// redirect that follows is still part of that top-level navigation.
fn take_link(state: &AppState, secret: &str, to: &'static str, max_age: i64) -> Response {
    let mut response = Redirect::to(to).into_response();
    let secure = if is_secure(state) { "; Secure" } else { "" };
    let clean: String = secret
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LINK_COOKIE}={clean}; Path={to}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn take_reset_link(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    take_link(&state, &secret, "/password/reset", 1800)
}

async fn take_invite_link(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    take_link(&state, &secret, "/invite", 72 * 3600)
}

#[derive(Template)]
#[template(path = "web/set_password.html")]
struct SetPasswordPage {
    t: Tr,
    heading: &'static str,
    message: Option<String>,
    problem: Option<String>,
    csrf: String,
    static_v: &'static str,
    valid: bool,
    action: &'static str,
    rules: String,
    min_length: usize,
    errors: FormErrors,
}

struct LinkForm {
    purpose: LinkPurpose,
    action: &'static str,
    heading: &'static str,
}

const RESET: LinkForm = LinkForm {
    purpose: LinkPurpose::Reset,
    action: "/password/reset",
    heading: "password.reset_title",
};
const INVITE: LinkForm = LinkForm {
    purpose: LinkPurpose::Invite,
    action: "/invite",
    heading: "password.invite_title",
};

async fn link_page(
    state: &AppState,
    headers: &HeaderMap,
    q: &PageQuery,
    which: &LinkForm,
) -> PageResult<Response> {
    let t = page_locale(headers, q);
    let secret = cookie(headers, LINK_COOKIE).unwrap_or_default().to_owned();
    let target = state
        .store
        .peek_link(&secret, which.purpose, state.clock.now())
        .await?;
    let min_length = match target {
        Ok((tenant, user)) => password::min_length(state.store.user(tenant, user).await?.role),
        Err(_) => 12,
    };
    let csrf = new_secret();
    let page = SetPasswordPage {
        t,
        heading: which.heading,
        message: None,
        problem: target
            .is_err()
            .then(|| t.get("password.link_invalid").to_owned()),
        csrf: csrf.clone(),
        static_v: crate::web::assets::VERSION.as_str(),
        valid: target.is_ok(),
        action: which.action,
        rules: t.fill("password.rules", &[("min", &min_length.to_string())]),
        min_length,
        errors: FormErrors::none(),
    };
    Ok(with_pre_cookie(
        Html(page.render()?).into_response(),
        state,
        &csrf,
        q.lang.as_deref(),
    ))
}

async fn reset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    link_page(&state, &headers, &q, &RESET).await
}

async fn invite_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    link_page(&state, &headers, &q, &INVITE).await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

async fn use_link(
    state: &AppState,
    headers: &HeaderMap,
    ip: ClientIp,
    form: PasswordForm,
    which: &LinkForm,
) -> PageResult<Response> {
    if !pre_csrf_ok(headers, &form.csrf) {
        return Err(PageError::Csrf);
    }
    let t = page_locale(headers, &PageQuery::default());
    let secret = cookie(headers, LINK_COOKIE).unwrap_or_default().to_owned();
    let now = state.clock.now();
    let Ok((tenant, user_id)) = state.store.peek_link(&secret, which.purpose, now).await? else {
        return refused_link(state, headers, which).await;
    };
    let user = state.store.user(tenant, user_id).await?;
    let settings = state.store.tenant_settings(tenant).await?;
    let local_part = user.email.split('@').next().unwrap_or_default().to_owned();
    let mut errors = FormErrors::none();
    if let Some(text) = password_problem(
        &t,
        &form.password,
        user.role,
        &[&settings.name, &local_part, &user.display_name],
    ) {
        errors.set("password", text);
    } else if form.password != form.repeat {
        errors.add(
            &t,
            "repeat",
            "password_mismatch",
            "the passwords do not match",
        );
    }
    if !errors.is_empty() {
        let csrf = new_secret();
        let min_length = password::min_length(user.role);
        let page = SetPasswordPage {
            t,
            heading: which.heading,
            message: None,
            problem: None,
            csrf: csrf.clone(),
            static_v: crate::web::assets::VERSION.as_str(),
            valid: true,
            action: which.action,
            rules: t.fill("password.rules", &[("min", &min_length.to_string())]),
            min_length,
            errors,
        };
        return Ok(with_pre_cookie(
            (StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response(),
            state,
            &csrf,
            None,
        ));
    }
    let passwords = state.passwords.clone();
    let hash = tokio::task::spawn_blocking(move || passwords.hash(&form.password))
        .await
        .map_err(PageError::internal)?;
    match state
        .store
        .use_link(&secret, which.purpose, hash, anonymous(state, ip))
        .await?
    {
        Ok(_) => {
            let mut response = Redirect::to("/login?notice=password_set").into_response();
            if let Ok(v) =
                HeaderValue::from_str(&format!("{LINK_COOKIE}=; Path={}; Max-Age=0", which.action))
            {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(response)
        }
        Err(_) => refused_link(state, headers, which).await,
    }
}

/// The answer to a password set with a link that is unknown, used, expired or made
/// for the other form: the page says the link is not valid, with status 401.
async fn refused_link(
    state: &AppState,
    headers: &HeaderMap,
    which: &LinkForm,
) -> PageResult<Response> {
    let mut response = link_page(state, headers, &PageQuery::default(), which).await?;
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    Ok(response)
}

async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    PageForm(form): PageForm<PasswordForm>,
) -> PageResult<Response> {
    use_link(&state, &headers, ip, form, &RESET).await
}

async fn accept_invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    PageForm(form): PageForm<PasswordForm>,
) -> PageResult<Response> {
    use_link(&state, &headers, ip, form, &INVITE).await
}
