//! Groups of users (admins only): the list, creating a group, and choosing its members.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use genkan_core::access::Permission;
use genkan_core::id::UserId;
use genkan_core::text::DisplayName;
use serde::Deserialize;

use super::fields::{is_taken, parse_text, path_id};
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser};

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/groups", get(list).post(create))
        .route("/users/groups/{id}", get(members_page).post(set_members))
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// A group as listed.
struct GroupRow {
    id: i64,
    name: String,
    members: String,
    count: usize,
}

#[derive(Template)]
#[template(path = "web/users/groups.html")]
struct ListPage {
    layout: Layout,
    groups: Vec<GroupRow>,
    name: String,
    errors: FormErrors,
}

async fn render_list(
    state: &AppState,
    user: &WebUser,
    notice: Option<&str>,
    name: String,
    errors: FormErrors,
) -> PageResult<String> {
    let tenant = user.session.tenant_id;
    let users = state.store.users(tenant).await?;
    let name_of = |id: UserId| {
        users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(String::new, |u| u.display_name.clone())
    };
    let groups = state
        .store
        .groups(tenant)
        .await?
        .into_iter()
        .map(|g| {
            let mut names: Vec<String> = g.members.iter().map(|m| name_of(*m)).collect();
            names.sort();
            GroupRow {
                id: g.id,
                name: g.name,
                count: names.len(),
                members: names.join(", "),
            }
        })
        .collect();
    let page = ListPage {
        layout: Layout::new(state, user, "groups.title", "users")
            .await?
            .with_notice(notice),
        groups,
        name,
        errors,
    };
    Ok(page.render()?)
}

async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let html = render_list(
        &state,
        &user,
        q.notice.as_deref(),
        String::new(),
        FormErrors::none(),
    )
    .await?;
    Ok(Html(html).into_response())
}

async fn create(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let t = user.t;
    let mut errors = FormErrors::none();
    // Group names follow the rules of a person's name: one line, at most 100 characters.
    if let Some(name) = parse_text(
        &t,
        &mut errors,
        "name",
        form.get("name"),
        DisplayName::parse,
    ) {
        match state
            .store
            .create_group(
                user.session.tenant_id,
                name.as_str().to_owned(),
                user.ctx.clone(),
            )
            .await
        {
            Ok(id) => {
                return Ok(
                    Redirect::to(&format!("/users/groups/{id}?notice=created")).into_response()
                );
            }
            Err(e) if is_taken(&e) => errors.add(&t, "name", "taken", "already in use"),
            Err(e) => return Err(e.into()),
        }
    }
    let name = form.get("name").chars().take(300).collect();
    let html = render_list(&state, user, None, name, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

/// A user as a member candidate.
struct Candidate {
    id: i64,
    name: String,
    email: String,
    member: bool,
}

#[derive(Template)]
#[template(path = "web/users/group.html")]
struct MembersPage {
    layout: Layout,
    id: i64,
    name: String,
    candidates: Vec<Candidate>,
}

async fn members_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let tenant = user.session.tenant_id;
    let group = state.store.group(tenant, path_id(&id)?).await?;
    let candidates = state
        .store
        .users(tenant)
        .await?
        .into_iter()
        .map(|u| Candidate {
            id: u.id.get(),
            member: group.members.contains(&u.id),
            name: u.display_name,
            email: u.email,
        })
        .collect();
    let page = MembersPage {
        layout: Layout::new(&state, &user, "groups.members_title", "users")
            .await?
            .with_notice(q.notice.as_deref()),
        id: group.id,
        name: group.name,
        candidates,
    };
    Ok(Html(page.render()?).into_response())
}

async fn set_members(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let id = path_id(&id)?;
    // Ids that are not numbers are ignored; the store ignores users of other tenants.
    let members: Vec<UserId> = form
        .all("member")
        .iter()
        .filter_map(|m| m.parse::<i64>().ok())
        .map(UserId)
        .collect();
    state
        .store
        .set_group_members(user.session.tenant_id, id, members, user.ctx.clone())
        .await?;
    Ok(Redirect::to(&format!("/users/groups/{id}?notice=saved")).into_response())
}
