//! Two-step verification on the account page: set it up (scan, confirm with a first
//! code, keep the recovery codes), see how many recovery codes are left, turn it off
//! with a current code — unless the organisation requires it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use genkan_store::StoreError;
use genkan_store::mfa::MfaStatus;
use serde::Deserialize;

use super::{Enrolment, RecoveryPage, enrolment};
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::i18n::Tr;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser};

#[derive(Template)]
#[template(path = "web/mfa/account.html")]
struct AccountMfaPage {
    layout: Layout,
    t: Tr,
    csrf: String,
    status: MfaStatus,
    recovery_text: String,
    required: bool,
    enrol: Option<Enrolment>,
    problem: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct NoticeQuery {
    notice: Option<String>,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    problem: Option<String>,
    notice: Option<&str>,
) -> PageResult<String> {
    let tenant = user.session.tenant_id;
    let me = state.store.user(tenant, user.session.user_id).await?;
    let status = state.store.mfa_status(tenant, me.id).await?;
    let enrol = if status.pending {
        match state.store.pending_mfa_secret(tenant, me.id).await? {
            Some(secret) => {
                let name = state.store.tenant_settings(tenant).await?.name;
                Some(enrolment(
                    &name,
                    &me.email,
                    &secret,
                    "/account/mfa/confirm",
                )?)
            }
            None => None,
        }
    } else {
        None
    };
    let page = AccountMfaPage {
        layout: Layout::new(state, user, "mfa.title", "account")
            .await?
            .with_notice(notice),
        t: user.t,
        csrf: user.session.csrf_token.clone(),
        status,
        recovery_text: user.t.fill(
            "mfa.recovery_left",
            &[("count", &status.recovery_left.to_string())],
        ),
        required: user.session.mfa_policy.requires(user.session.role),
        enrol,
        problem,
    };
    Ok(page.render()?)
}

/// The state of the user's second factor and what can be done with it.
pub(crate) async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    Ok(Html(render(&state, &user, None, q.notice.as_deref()).await?).into_response())
}

/// Makes a secret to scan (replacing an unconfirmed one).
pub(crate) async fn start(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
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
        Ok(()) | Err(StoreError::Conflict { .. }) => {
            Ok(Redirect::to("/account/mfa").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Confirms with the first code; shows the recovery codes once.
pub(crate) async fn confirm(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    let t = user.t;
    let result = state
        .store
        .confirm_mfa(
            user.session.tenant_id,
            user.session.user_id,
            form.get("code").chars().take(40).collect(),
            user.ctx.clone(),
        )
        .await?;
    match result {
        Ok(codes) => {
            let page = RecoveryPage::new(t, codes, "/account/mfa?notice=saved");
            Ok(Html(page.render()?).into_response())
        }
        Err(_) => {
            let problem = Some(t.get("mfa.failed").to_owned());
            let html = render(&state, user, problem, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
    }
}

/// Turns the second factor off with a current code or a recovery code.
pub(crate) async fn disable(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    let t = user.t;
    if user.session.mfa_policy.requires(user.session.role) {
        let problem = Some(t.get("mfa.cannot_disable").to_owned());
        let html = render(&state, user, problem, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    }
    let result = state
        .store
        .disable_mfa(
            user.session.tenant_id,
            user.session.user_id,
            form.get("code").chars().take(40).collect(),
            user.ctx.clone(),
        )
        .await?;
    match result {
        Ok(()) => Ok(Redirect::to("/account/mfa?notice=saved").into_response()),
        Err(_) => {
            let problem = Some(t.get("mfa.failed").to_owned());
            let html = render(&state, user, problem, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
    }
}
