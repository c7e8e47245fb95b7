//! The second step of signing in: the code (or a recovery code), or — when the
//! tenant requires a second factor the user does not have yet — enrolment first.
//! Until then the session reaches these pages and signing out, nothing else.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use genkan_store::StoreError;
use genkan_store::mfa::FactorRefusal;

use super::{Enrolment, RecoveryPage, enrolment};
use crate::ratelimit::Attempt;
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::i18n::Tr;
use crate::web::session::{PendingForm, PendingUser, WebUser, limits, session_cookie};

#[derive(Template)]
#[template(path = "web/mfa/code.html")]
struct CodePage {
    t: Tr,
    heading: &'static str,
    message: Option<String>,
    problem: Option<String>,
    static_v: &'static str,
    csrf: String,
}

fn code_page_for(
    user: &WebUser,
    problem: Option<String>,
    status: StatusCode,
) -> PageResult<Response> {
    let page = CodePage {
        t: user.t,
        heading: "mfa.code_title",
        message: None,
        problem,
        static_v: crate::web::assets::VERSION.as_str(),
        csrf: user.session.csrf_token.clone(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// Asks for the code (or sends to enrolment, or on if nothing is missing).
pub(crate) async fn code_page(PendingUser(user): PendingUser) -> PageResult<Response> {
    if !user.session.needs_second_factor() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    if !user.session.mfa_enrolled {
        return Ok(Redirect::to("/login/mfa/setup").into_response());
    }
    code_page_for(&user, None, StatusCode::OK)
}

fn agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Replaces the session cookie with the complete session's.
fn with_session(mut response: Response, state: &AppState, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&session_cookie(state, cookie)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Counts a code attempt against this address before it is checked: `Err` when
/// the address has failed too often (refused without checking). (The account's own
/// throttle is checked and counted in the transaction that checks the code.)
fn address_attempt(state: &AppState, user: &WebUser) -> Result<Option<Attempt>, ()> {
    match user.ctx.ip.as_deref() {
        Some(ip) => state
            .limits
            .sign_in_ip
            .acquire(ip)
            .map(Some)
            .map_err(|_| ()),
        None => Ok(None),
    }
}

/// The code was right: its attempt was no failure.
fn refund(state: &AppState, attempt: Option<Attempt>) {
    if let Some(a) = attempt {
        state.limits.sign_in_ip.refund(a);
    }
}

/// Checks the code; a complete session (new id) replaces the waiting one.
pub(crate) async fn check_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: PendingForm,
) -> PageResult<Response> {
    let user = &form.user;
    let t = user.t;
    let Ok(attempt) = address_attempt(&state, user) else {
        return code_page_for(
            user,
            Some(t.get("login.too_many").to_owned()),
            StatusCode::TOO_MANY_REQUESTS,
        );
    };
    let result = state
        .store
        .finish_mfa_sign_in(
            user.session.id_hash,
            form.get("code").chars().take(40).collect(),
            limits(&state),
            agent(&headers),
            user.ctx.clone(),
        )
        .await?;
    match result {
        Ok(new) => {
            refund(&state, attempt);
            Ok(with_session(
                Redirect::to("/dashboard?notice=signed_in").into_response(),
                &state,
                &new.cookie,
            ))
        }
        Err(_) => code_page_for(user, Some(t.get("mfa.failed").to_owned()), StatusCode::OK),
    }
}

#[derive(Template)]
#[template(path = "web/mfa/setup.html")]
struct SetupPage {
    t: Tr,
    heading: &'static str,
    message: Option<String>,
    problem: Option<String>,
    static_v: &'static str,
    csrf: String,
    enrol: Option<Enrolment>,
}

async fn setup_page_for(
    state: &AppState,
    user: &WebUser,
    problem: Option<String>,
    status: StatusCode,
) -> PageResult<Response> {
    let tenant = user.session.tenant_id;
    let me = state.store.user(tenant, user.session.user_id).await?;
    let enrol = match state.store.pending_mfa_secret(tenant, me.id).await? {
        Some(secret) => {
            let name = state.store.tenant_settings(tenant).await?.name;
            Some(enrolment(
                &name,
                &me.email,
                &secret,
                "/login/mfa/setup/confirm",
            )?)
        }
        None => None,
    };
    let page = SetupPage {
        t: user.t,
        heading: "mfa.setup_title",
        message: Some(user.t.get("mfa.required_notice").to_owned()),
        problem,
        static_v: crate::web::assets::VERSION.as_str(),
        csrf: user.session.csrf_token.clone(),
        enrol,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// Enrolment demanded by the tenant's policy.
pub(crate) async fn setup_page(
    State(state): State<AppState>,
    PendingUser(user): PendingUser,
) -> PageResult<Response> {
    if user.session.mfa_enrolled {
        return Ok(Redirect::to("/login/mfa").into_response());
    }
    if !user.session.needs_second_factor() {
        return Ok(Redirect::to("/account/mfa").into_response());
    }
    setup_page_for(&state, &user, None, StatusCode::OK).await
}

/// Makes the secret to scan.
pub(crate) async fn start(
    State(state): State<AppState>,
    form: PendingForm,
) -> PageResult<Response> {
    let user = &form.user;
    match state
        .store
        .begin_mfa_enrolment(
            user.session.tenant_id,
            user.session.user_id,
            user.ctx.clone(),
        )
        .await
    {
        Ok(()) => Ok(Redirect::to("/login/mfa/setup").into_response()),
        Err(StoreError::Conflict { .. }) => Ok(Redirect::to("/login/mfa").into_response()),
        Err(e) => Err(e.into()),
    }
}

/// Confirms the first code: the sign-in completes and the recovery codes are shown once.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: PendingForm,
) -> PageResult<Response> {
    let user = &form.user;
    let t = user.t;
    let Ok(attempt) = address_attempt(&state, user) else {
        let problem = Some(t.get("login.too_many").to_owned());
        return setup_page_for(&state, user, problem, StatusCode::TOO_MANY_REQUESTS).await;
    };
    let result = state
        .store
        .enrol_and_sign_in(
            user.session.id_hash,
            form.get("code").chars().take(40).collect(),
            limits(&state),
            agent(&headers),
            user.ctx.clone(),
        )
        .await?;
    match result {
        Ok((new, codes)) => {
            refund(&state, attempt);
            let page = RecoveryPage::new(t, codes, "/dashboard?notice=signed_in");
            Ok(with_session(
                Html(page.render()?).into_response(),
                &state,
                &new.cookie,
            ))
        }
        Err(refusal) => {
            // Throttled or wrong: the same answer, so trying faster tells nothing.
            let (FactorRefusal::Rejected | FactorRefusal::Throttled) = refusal;
            let problem = Some(t.get("mfa.failed").to_owned());
            setup_page_for(&state, user, problem, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
