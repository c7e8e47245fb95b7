//! The password step of signing in, and signing out. A wrong password, an unknown
//! account, an account waiting after failures and a network outside the tenant's
//! allowlist all get the same answer, after the same work. Both limits count an
//! attempt before its password is checked, each in one step with the decision
//! whether it may be checked at all (the address's in memory, the account's in the
//! database), so simultaneous attempts cannot all slip under them.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use genkan_core::text::{EmailAddress, mask_email};
use genkan_store::AuditCtx;
use genkan_store::security::{Admission, FailedAttempt, account_name};
use genkan_store::signin::SignIn;
use serde::Deserialize;
use serde_json::json;

use super::auth::{PageQuery, anonymous, new_secret, page_locale, pre_csrf_ok, with_pre_cookie};
use crate::request::ClientIp;
use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::PageForm;
use crate::web::i18n::Tr;
use crate::web::session::{ORG_COOKIE, PendingForm, clear_cookie, cookie, limits, session_cookie};

#[derive(Template)]
#[template(path = "web/login_form.html")]
struct LoginPage {
    t: Tr,
    heading: &'static str,
    message: Option<String>,
    problem: Option<String>,
    csrf: String,
    static_v: &'static str,
    organisation: String,
    email: String,
}

/// The sign-in form.
pub(crate) async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    let t = page_locale(&headers, &q);
    let csrf = new_secret();
    let message = q
        .notice
        .as_deref()
        .filter(|n| ["signed_out", "password_set", "link_sent"].contains(n))
        .map(|n| t.get(&format!("notice.{n}")).to_owned());
    let page = LoginPage {
        t,
        heading: "login.title",
        message,
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

/// The sign-in form as posted.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Checks the password and starts a session: complete, or waiting for the second
/// factor (then `/login/mfa` asks for the code, or for enrolment if the tenant
/// requires one the user does not have yet).
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    PageForm(form): PageForm<LoginForm>,
) -> PageResult<Response> {
    if !pre_csrf_ok(&headers, &form.csrf) {
        return Err(PageError::Csrf);
    }
    let t = page_locale(&headers, &PageQuery::default());
    let organisation = form.organisation.trim().to_ascii_lowercase();
    let again = |problem: String, status: StatusCode| -> PageResult<Response> {
        let csrf = new_secret();
        let page = LoginPage {
            t,
            heading: "login.title",
            message: None,
            problem: Some(problem),
            csrf: csrf.clone(),
            static_v: crate::web::assets::VERSION.as_str(),
            organisation: organisation.clone(),
            email: form.email.chars().take(254).collect(),
        };
        Ok(with_pre_cookie(
            (status, Html(page.render()?)).into_response(),
            &state,
            &csrf,
            None,
        ))
    };
    let Ok(address_attempt) = state.limits.sign_in_ip.acquire(&ip.to_string()) else {
        return again(
            t.get("login.too_many").to_owned(),
            StatusCode::TOO_MANY_REQUESTS,
        );
    };
    let now = state.clock.now();
    let account_key = account_name(&organisation, &form.email);
    let tenant = match genkan_core::tenant::parse_slug(&organisation) {
        Some(slug) => state.store.tenant_by_slug(&slug).await?,
        None => None,
    };
    let email = EmailAddress::parse(&form.email).ok();
    let account = match (&tenant, &email) {
        (Some(t), Some(e)) => state.store.user_credentials(t.id, e).await?,
        _ => None,
    };
    let policy = match &tenant {
        Some(t) => Some(state.store.security_policy(t.id).await?),
        None => None,
    };
    let allowed = match (&account, &policy) {
        (Some((u, _)), Some(p)) => p.allowlist.permits(u.role, ip.0),
        _ => true,
    };
    // Attempts from outside the allowlist can never succeed and get the same answer
    // either way: they do not count against the account, so outsiders cannot lock
    // its owner out. Every other attempt is counted before its password is checked.
    let throttled = if allowed {
        state.store.admit_sign_in_attempt(&account_key, now).await? == Admission::Waiting
    } else {
        state
            .store
            .sign_in_failures(&account_key, now)
            .await?
            .is_some_and(|f| f.blocked_until(now).is_some())
    };
    // Always the same work: the real hash, or the dummy one for unknown accounts
    // and for accounts that wait (their password is then not checked at all), so
    // timing tells nothing either.
    let passwords = state.passwords.clone();
    let stored = account
        .as_ref()
        .filter(|_| !throttled)
        .and_then(|(u, h)| (u.status == "active").then(|| h.clone()).flatten());
    let password = form.password.clone();
    let (ok, rehash) = tokio::task::spawn_blocking(move || match stored {
        Some(hash) => passwords.verify(&hash, &password),
        None => {
            passwords.verify_dummy(&password);
            (false, false)
        }
    })
    .await
    .map_err(PageError::internal)?;
    let mut ctx = anonymous(&state, ip);
    ctx.tenant_id = tenant.as_ref().map(|t| t.id);
    let signed_in = account
        .as_ref()
        .filter(|_| ok && !throttled && allowed)
        .map(|(u, _)| u.clone());
    let Some(user) = signed_in else {
        let target = match &account {
            Some((u, _)) => ("user", Some(u.id.to_string())),
            None => ("account", Some(mask_email(form.email.trim()))),
        };
        let details = if throttled {
            json!({ "reason": "throttled" })
        } else if !allowed {
            // Told to administrators only: the right password from outside the
            // allowlist is a sign of a stolen one.
            json!({ "reason": "address_not_allowed", "password_correct": ok })
        } else {
            json!({ "reason": "wrong_credentials" })
        };
        let attempt = FailedAttempt {
            account: account_key,
            // Counted when admitted already (or not to be counted at all).
            counted: false,
            action: "auth.sign_in",
            target,
            details,
        };
        state.store.record_failed_attempt(attempt, ctx).await?;
        return again(t.get("login.failed").to_owned(), StatusCode::OK);
    };
    // The right password: the attempt was no failure after all.
    state.limits.sign_in_ip.refund(address_attempt);
    state.store.take_back_attempt(&account_key).await?;
    let ctx = AuditCtx {
        actor_kind: "user",
        actor_id: Some(user.id.get()),
        ..ctx
    };
    if rehash {
        let passwords = state.passwords.clone();
        let hash = tokio::task::spawn_blocking(move || passwords.hash(&form.password))
            .await
            .map_err(PageError::internal)?;
        state
            .store
            .rehash_password(user.tenant_id, user.id, hash)
            .await?;
    }
    let enrolled = state
        .store
        .mfa_status(user.tenant_id, user.id)
        .await?
        .enabled;
    let mfa_pending = enrolled || policy.is_some_and(|p| p.mfa.requires(user.role));
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let new = state
        .store
        .sign_in(
            SignIn {
                tenant: user.tenant_id,
                user: user.id,
                mfa_pending,
                limits: limits(&state),
                user_agent: agent,
            },
            ctx,
        )
        .await?;
    let next = if mfa_pending {
        "/login/mfa"
    } else {
        "/dashboard?notice=signed_in"
    };
    let mut response = Redirect::to(next).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&state, &new.cookie)) {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{ORG_COOKIE}={organisation}; Path=/; SameSite=Lax; Max-Age=31536000"
    )) {
        h.append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// Ends this session (also one still waiting for its second factor).
pub(crate) async fn logout(
    State(state): State<AppState>,
    form: PendingForm,
) -> PageResult<Response> {
    state
        .store
        .end_session(form.user.session.id_hash, form.user.ctx.clone())
        .await?;
    let mut response = Redirect::to("/login?notice=signed_out").into_response();
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(&state)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
