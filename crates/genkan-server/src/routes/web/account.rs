//! The signed-in user's own account (every role): language, live sessions (end one,
//! or all but this one), and changing the password.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use genkan_core::password;
use genkan_core::text::{EmailAddress, Locale};
use genkan_store::security::{Admission, FailedAttempt, account_name};
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::{FormErrors, password_problem};
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser, clear_cookie};
use crate::web::time;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(page))
        .route("/account/language", post(language))
        .route("/account/sessions/others/end", post(end_others))
        .route("/account/sessions/{handle}/end", post(end_one))
        .route("/account/password", post(change_password))
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// A session as listed.
struct SessionRow {
    handle: String,
    started: String,
    last_seen: String,
    ip: String,
    browser: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "web/account/account.html")]
struct AccountPage {
    layout: Layout,
    email: String,
    language: String,
    sessions: Vec<SessionRow>,
    mfa_enabled: bool,
    min_length: usize,
    errors: FormErrors,
}

/// The listing handle of a session: the first 8 bytes of its hash, in hex.
fn handle_of(user: &WebUser) -> String {
    hex::encode(&user.session.id_hash[..8])
}

/// "Firefox · Windows" from a user agent; the raw text (shortened) if unknown.
fn browser_summary(agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| agent.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| agent.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(b), None) => b.to_owned(),
        _ => agent.chars().take(60).collect(),
    }
}

async fn render(
    state: &AppState,
    user: &WebUser,
    errors: FormErrors,
    notice: Option<&str>,
) -> PageResult<String> {
    let tenant = user.session.tenant_id;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let me = state.store.user(tenant, user.session.user_id).await?;
    let current = handle_of(user);
    let sessions = state
        .store
        .sessions_of(tenant, user.session.user_id, state.clock.now())
        .await?
        .into_iter()
        .map(|s| SessionRow {
            current: s.handle == current,
            started: time::human(s.created_at, zone),
            last_seen: time::human(s.last_seen_at, zone),
            ip: s.ip.unwrap_or_default(),
            browser: s
                .user_agent
                .as_deref()
                .map(browser_summary)
                .unwrap_or_default(),
            handle: s.handle,
        })
        .collect();
    let page = AccountPage {
        layout: Layout::new(state, user, "account.title", "account")
            .await?
            .with_notice(notice),
        email: me.email,
        language: me.locale.map_or("browser", Locale::as_str).to_owned(),
        sessions,
        mfa_enabled: state.store.mfa_status(tenant, me.id).await?.enabled,
        min_length: password::min_length(me.role),
        errors,
    };
    Ok(page.render()?)
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    let html = render(&state, &user, FormErrors::none(), q.notice.as_deref()).await?;
    Ok(Html(html).into_response())
}

async fn language(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    let choice = match form.get("language") {
        "browser" => None,
        other => match Locale::parse(other) {
            Ok(l) => Some(l),
            Err(_) => {
                let mut errors = FormErrors::none();
                errors.add(&user.t, "language", "invalid_locale", "choose a language");
                let html = render(&state, user, errors, None).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
            }
        },
    };
    state
        .store
        .set_user_locale(
            user.session.tenant_id,
            user.session.user_id,
            choice,
            user.ctx.clone(),
        )
        .await?;
    Ok(Redirect::to("/account?notice=saved").into_response())
}

async fn end_one(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    // Only the user's own sessions can be named here: the store filters by user.
    state
        .store
        .end_session_by_handle(
            user.session.tenant_id,
            user.session.user_id,
            &handle,
            user.ctx.clone(),
        )
        .await?;
    if handle.eq_ignore_ascii_case(&handle_of(user)) {
        let mut response = Redirect::to("/login?notice=signed_out").into_response();
        if let Ok(v) = HeaderValue::from_str(&clear_cookie(&state)) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        return Ok(response);
    }
    Ok(Redirect::to("/account?notice=sessions_ended").into_response())
}

async fn end_others(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    state
        .store
        .end_other_sessions(
            user.session.tenant_id,
            user.session.user_id,
            user.session.id_hash,
            user.ctx.clone(),
        )
        .await?;
    Ok(Redirect::to("/account?notice=sessions_ended").into_response())
}

async fn change_password(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    let t = user.t;
    let tenant = user.session.tenant_id;
    let me = state.store.user(tenant, user.session.user_id).await?;
    let email = EmailAddress::parse(&me.email).map_err(PageError::internal)?;
    let slug = state.store.tenant(tenant).await?.slug;
    // Guessing the current password from an open session counts like failed
    // sign-ins: counted before it is checked, and not checked while the account waits.
    let account_key = account_name(&slug, &me.email);
    let now = state.clock.now();
    let throttled =
        state.store.admit_sign_in_attempt(&account_key, now).await? == Admission::Waiting;
    let stored = state
        .store
        .user_credentials(tenant, &email)
        .await?
        .and_then(|(_, hash)| hash)
        .filter(|_| !throttled);
    let passwords = state.passwords.clone();
    let current = form.get("current").to_owned();
    let ok = tokio::task::spawn_blocking(move || match stored {
        Some(hash) => passwords.verify(&hash, &current).0,
        None => {
            passwords.verify_dummy(&current);
            false
        }
    })
    .await
    .map_err(PageError::internal)?;
    let mut errors = FormErrors::none();
    if ok {
        state.store.take_back_attempt(&account_key).await?;
    } else {
        let attempt = FailedAttempt {
            account: account_key,
            // Counted when admitted already.
            counted: false,
            action: "user.password_change",
            target: ("user", Some(me.id.to_string())),
            details: json!({ "reason": "current_password" }),
        };
        state
            .store
            .record_failed_attempt(attempt, user.ctx.clone())
            .await?;
        errors.add(
            &t,
            "current",
            "password_wrong",
            "the current password is not correct",
        );
    }
    let new = form.get("password");
    let settings = state.store.tenant_settings(tenant).await?;
    let local_part = me.email.split('@').next().unwrap_or_default();
    if let Some(text) = password_problem(
        &t,
        new,
        me.role,
        &[&settings.name, local_part, &me.display_name],
    ) {
        errors.set("password", text);
    } else if new != form.get("repeat") {
        errors.add(
            &t,
            "repeat",
            "password_mismatch",
            "the passwords do not match",
        );
    }
    if !errors.is_empty() {
        let html = render(&state, user, errors, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    }
    let passwords = state.passwords.clone();
    let new = new.to_owned();
    let hash = tokio::task::spawn_blocking(move || passwords.hash(&new))
        .await
        .map_err(PageError::internal)?;
    // Whoever else knew the old password is signed out; this browser stays in.
    state
        .store
        .change_password(tenant, me.id, hash, user.session.id_hash, user.ctx.clone())
        .await?;
    Ok(Redirect::to("/account?notice=password_changed").into_response())
}
