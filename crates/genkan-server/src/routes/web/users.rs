//! Users (admins only): the list, inviting by e-mail, changing name and role,
//! disabling and enabling, and sending an invitation again.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use genkan_core::access::{Permission, Role};
use genkan_core::id::UserId;
use genkan_core::text::{DisplayName, EmailAddress};
use genkan_store::staff::UserListing;
use serde::Deserialize;

use super::fields::{
    Choice, is_taken, parse_role, parse_text, path_id, role_choices, role_label, status_label,
};
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser};
use crate::web::time;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(invite))
        .route("/users/new", get(invite_page))
        .route("/users/{id}", get(edit_page).post(update))
        .route("/users/{id}/disable", post(disable))
        .route("/users/{id}/enable", post(enable))
        .route("/users/{id}/resend", post(resend))
        .route("/users/{id}/sessions/end", post(end_sessions))
        .route("/users/{id}/mfa/reset", post(reset_mfa))
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// A user as shown in the list.
struct Row {
    id: i64,
    name: String,
    email: String,
    role: String,
    status: String,
    status_label: String,
    groups: String,
    last_sign_in: String,
}

fn row(user: &WebUser, l: &UserListing, zone: genkan_core::tenant::TimeZone) -> Row {
    Row {
        id: l.user.id.get(),
        name: l.user.display_name.clone(),
        email: l.user.email.clone(),
        role: role_label(&user.t, l.user.role),
        status: l.user.status.clone(),
        status_label: status_label(&user.t, &l.user.status),
        groups: l.groups.join(", "),
        last_sign_in: l
            .last_sign_in_at
            .map_or_else(|| "—".to_owned(), |at| time::human(at, zone)),
    }
}

#[derive(Template)]
#[template(path = "web/users/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
}

async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let tenant = user.session.tenant_id;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let rows = state
        .store
        .user_directory(tenant)
        .await?
        .iter()
        .map(|l| row(&user, l, zone))
        .collect();
    let layout = Layout::new(&state, &user, "users.title", "users")
        .await?
        .with_notice(q.notice.as_deref());
    Ok(Html(ListPage { layout, rows }.render()?).into_response())
}

#[derive(Template)]
#[template(path = "web/users/invite.html")]
struct InvitePage {
    layout: Layout,
    email: String,
    name: String,
    roles: Vec<Choice>,
    errors: FormErrors,
}

async fn invite_page(State(state): State<AppState>, user: WebUser) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let page = InvitePage {
        layout: Layout::new(&state, &user, "users.invite_title", "users").await?,
        email: String::new(),
        name: String::new(),
        roles: role_choices(&user.t, Role::Host.as_str()),
        errors: FormErrors::none(),
    };
    Ok(Html(page.render()?).into_response())
}

/// Invitations are limited per client address and per tenant and day (each one
/// sends a mail): each is counted in the same step that checks the limit, before it
/// is sent.
fn invitation_limited(state: &AppState, user: &WebUser) -> Option<Response> {
    let too_many = || {
        Some(crate::web::error::error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "error.too_many",
            "error.too_many_detail",
        ))
    };
    let by_address = match user
        .ctx
        .ip
        .as_deref()
        .map(|ip| state.limits.invitations.acquire(ip))
    {
        Some(Err(_)) => return too_many(),
        Some(Ok(attempt)) => Some(attempt),
        None => None,
    };
    // Counted for good: an invitation sent is never taken back.
    match state
        .limits
        .invitation_mails
        .acquire(&user.session.tenant_id.to_string())
    {
        Ok(_) => None,
        Err(_) => {
            // Not sent: the address's place is given back.
            if let Some(attempt) = by_address {
                state.limits.invitations.refund(attempt);
            }
            too_many()
        }
    }
}

async fn invite(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    if let Some(refused) = invitation_limited(&state, user) {
        return Ok(refused);
    }
    let t = user.t;
    let mut errors = FormErrors::none();
    let email = parse_text(
        &t,
        &mut errors,
        "email",
        form.get("email"),
        EmailAddress::parse,
    );
    let name = parse_text(
        &t,
        &mut errors,
        "name",
        form.get("name"),
        DisplayName::parse,
    );
    let role = parse_role(&t, &mut errors, "role", form.get("role"));
    if let (Some(email), Some(name), Some(role)) = (email, name, role) {
        match state
            .store
            .invite_user(
                user.session.tenant_id,
                email,
                name,
                role,
                user.session.display_name.clone(),
                user.ctx.clone(),
            )
            .await
        {
            Ok(_) => return Ok(Redirect::to("/users?notice=invited").into_response()),
            Err(e) if is_taken(&e) => errors.add(&t, "email", "taken", "already in use"),
            Err(e) => return Err(e.into()),
        }
    }
    let page = InvitePage {
        layout: Layout::new(&state, user, "users.invite_title", "users").await?,
        email: form.get("email").chars().take(300).collect(),
        name: form.get("name").chars().take(300).collect(),
        roles: role_choices(&t, form.get("role")),
        errors,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

/// A mail sent to the user, as shown.
struct Mail {
    kind: String,
    status: String,
    status_label: String,
    queued: String,
}

#[derive(Template)]
#[template(path = "web/users/edit.html")]
struct EditPage {
    layout: Layout,
    row: Row,
    name: String,
    roles: Vec<Choice>,
    is_self: bool,
    mfa_enabled: bool,
    live_sessions: usize,
    mails: Vec<Mail>,
    problem: Option<String>,
    errors: FormErrors,
}

async fn edit_form(
    state: &AppState,
    user: &WebUser,
    id: UserId,
    name: Option<String>,
    role: Option<String>,
    errors: FormErrors,
    problem: Option<String>,
) -> PageResult<String> {
    let tenant = user.session.tenant_id;
    let listing = state.store.user_listing(tenant, id).await?;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let t = user.t;
    let mails = state
        .store
        .user_messages(tenant, id)
        .await?
        .into_iter()
        .map(|m| Mail {
            kind: t
                .get(match m.kind.as_str() {
                    "password_reset" => "users.mail_password_reset",
                    _ => "users.mail_user_invitation",
                })
                .to_owned(),
            status_label: t
                .get(match m.status.as_str() {
                    "sent" => "users.delivery_sent",
                    "dead" => "users.delivery_dead",
                    _ => "users.delivery_queued",
                })
                .to_owned(),
            status: m.status,
            queued: time::human(m.created_at, zone),
        })
        .collect();
    let page = EditPage {
        layout: Layout::new(state, user, "users.edit_title", "users").await?,
        name: name.unwrap_or_else(|| listing.user.display_name.clone()),
        roles: role_choices(&t, role.as_deref().unwrap_or(listing.user.role.as_str())),
        is_self: id == user.session.user_id,
        mfa_enabled: state.store.mfa_status(tenant, id).await?.enabled,
        live_sessions: state
            .store
            .sessions_of(tenant, id, state.clock.now())
            .await?
            .len(),
        row: row(user, &listing, zone),
        mails,
        problem,
        errors,
    };
    Ok(page.render()?)
}

async fn edit_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let id = UserId(path_id(&id)?);
    let html = edit_form(&state, &user, id, None, None, FormErrors::none(), None).await?;
    Ok(Html(html).into_response())
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let id = UserId(path_id(&id)?);
    let tenant = user.session.tenant_id;
    // 404 before validation, so another tenant's id never gets a form back.
    state.store.user(tenant, id).await?;
    let t = user.t;
    let mut errors = FormErrors::none();
    let name = parse_text(
        &t,
        &mut errors,
        "name",
        form.get("name"),
        DisplayName::parse,
    );
    let role = parse_role(&t, &mut errors, "role", form.get("role"));
    if id == user.session.user_id && role.is_some_and(|r| r != Role::Admin) {
        errors.add(
            &t,
            "role",
            "self_demote",
            "you cannot remove your own administrator role",
        );
    }
    if let (Some(name), Some(role), true) = (name, role, errors.is_empty()) {
        state
            .store
            .update_user(tenant, id, name.as_str().to_owned(), role, user.ctx.clone())
            .await?;
        return Ok(Redirect::to(&format!("/users/{id}?notice=saved")).into_response());
    }
    let html = edit_form(
        &state,
        user,
        id,
        Some(form.get("name").chars().take(300).collect()),
        Some(form.get("role").to_owned()),
        errors,
        None,
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

async fn set_enabled(
    state: &AppState,
    form: &WebForm,
    id: &str,
    enabled: bool,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let id = UserId(path_id(id)?);
    let tenant = user.session.tenant_id;
    state.store.user(tenant, id).await?;
    if !enabled && id == user.session.user_id {
        let problem = Some(user.t.get("users.self_disable").to_owned());
        let html = edit_form(state, user, id, None, None, FormErrors::none(), problem).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    }
    state
        .store
        .set_user_enabled(tenant, id, enabled, user.ctx.clone())
        .await?;
    let notice = if enabled { "enabled" } else { "disabled" };
    Ok(Redirect::to(&format!("/users/{id}?notice={notice}")).into_response())
}

async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    set_enabled(&state, &form, &id, false).await
}

async fn enable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    set_enabled(&state, &form, &id, true).await
}

async fn resend(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    if let Some(refused) = invitation_limited(&state, user) {
        return Ok(refused);
    }
    let id = UserId(path_id(&id)?);
    state
        .store
        .reinvite_user(
            user.session.tenant_id,
            id,
            user.session.display_name.clone(),
            user.ctx.clone(),
        )
        .await?;
    Ok(Redirect::to(&format!("/users/{id}?notice=resent")).into_response())
}

/// Ends every session of the user at once (a lost laptop, a departure). The user's
/// next request with any old cookie is refused.
async fn end_sessions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let id = UserId(path_id(&id)?);
    let tenant = user.session.tenant_id;
    state.store.user(tenant, id).await?;
    state
        .store
        .end_all_sessions(tenant, id, user.ctx.clone())
        .await?;
    Ok(Redirect::to(&format!("/users/{id}?notice=sessions_ended")).into_response())
}

/// Removes the user's second factor (a lost phone): they sign in with the password
/// and, if the organisation requires it, set up a new one before anything else.
async fn reset_mfa(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let id = UserId(path_id(&id)?);
    state
        .store
        .reset_mfa(user.session.tenant_id, id, user.ctx.clone())
        .await?;
    Ok(Redirect::to(&format!("/users/{id}?notice=saved")).into_response())
}
