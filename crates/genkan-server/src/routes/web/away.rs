//! "I am away": a staff member marks themselves away and names a delegate, who
//! then receives their arrival alerts and notices instead.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use genkan_core::id::UserId;
use genkan_store::channels::Away;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser};

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new().route("/account/away", get(page).post(save))
}

struct Choice {
    id: i64,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "web/account/away.html")]
struct AwayPage {
    layout: Layout,
    away: bool,
    choices: Vec<Choice>,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    errors: FormErrors,
    notice: Option<&str>,
    status: StatusCode,
) -> PageResult<Response> {
    let tenant = user.session.tenant_id;
    let me = user.session.user_id;
    let current = state.store.away(tenant, me).await?;
    let choices = state
        .store
        .users(tenant)
        .await?
        .into_iter()
        .filter(|u| u.id != me && u.status == "active")
        .map(|u| Choice {
            id: u.id.get(),
            selected: current.delegate == Some(u.id),
            name: u.display_name,
        })
        .collect();
    let page = AwayPage {
        layout: Layout::new(state, user, "notify.away_title", "account")
            .await?
            .with_notice(notice),
        away: current.away,
        choices,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    render(
        &state,
        &user,
        FormErrors::none(),
        q.notice.as_deref(),
        StatusCode::OK,
    )
    .await
}

async fn save(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    let away = form.checked("away");
    let delegate = match form.get("delegate_id").trim() {
        "" => None,
        d => d.parse::<i64>().ok().map(UserId),
    };
    let mut errors = FormErrors::none();
    if away && delegate.is_none() {
        errors.add(
            &user.t,
            "delegate_id",
            "delegate_invalid",
            "choose who receives your alerts",
        );
    } else if state
        .store
        .set_away(
            user.session.tenant_id,
            user.session.user_id,
            Away { away, delegate },
            user.ctx.clone(),
        )
        .await?
    {
        return Ok(Redirect::to("/account/away?notice=saved").into_response());
    } else {
        errors.add(
            &user.t,
            "delegate_id",
            "delegate_invalid",
            "choose who receives your alerts",
        );
    }
    render(&state, user, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
}
