//! API tokens in the web app (admins only): the tenant's tokens with their scopes,
//! owner, expiry and state; creating one (acting for the admin who creates it, with
//! chosen scopes, an expiry and optionally a refresh token), its secret shown once on
//! the answer to the form and never again; revoking one and its whole family.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Duration;
use genkan_core::access::{Permission, Scope};
use genkan_core::id::TokenId;
use genkan_core::tenant::TimeZone;
use genkan_core::text::DisplayName;
use genkan_store::tokens::{IssuedToken, TokenListing};

use super::security::NoticeQuery;
use crate::routes::web::fields::parse_text;
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::form::FormErrors;
use crate::web::i18n::Tr;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser};
use crate::web::time;

/// Longest lifetime an admin may give a token (or its refresh token), in days.
pub const MAX_DAYS: i64 = 3650;
/// The lifetime offered by default, in days.
const DEFAULT_DAYS: i64 = 90;
/// Scopes ticked on a fresh form: what a calendar or visitor-list integration needs.
const DEFAULT_SCOPES: [Scope; 2] = [Scope::AppointmentsRead, Scope::VisitsRead];

/// One token as listed.
struct TokenRow {
    id: i64,
    name: String,
    owner: String,
    scopes: String,
    created: String,
    expires: String,
    state_label: String,
    state: &'static str,
    refreshable: bool,
}

/// One scope checkbox.
struct ScopeChoice {
    value: &'static str,
    label: String,
    checked: bool,
}

/// A token just created: its secrets, shown on this answer only.
struct Fresh {
    access_token: String,
    refresh_token: Option<String>,
    expires: String,
}

#[derive(Template)]
#[template(path = "web/settings/api_tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    name: String,
    days: String,
    refresh: bool,
    scopes: Vec<ScopeChoice>,
    max_days: i64,
    fresh: Option<Fresh>,
    errors: FormErrors,
}

/// The form's values as shown.
struct Submitted {
    name: String,
    days: String,
    refresh: bool,
    scopes: Vec<Scope>,
}

impl Submitted {
    fn fresh_form() -> Self {
        Self {
            name: String::new(),
            days: DEFAULT_DAYS.to_string(),
            refresh: false,
            scopes: DEFAULT_SCOPES.to_vec(),
        }
    }
}

fn row(
    t: &Tr,
    listing: TokenListing,
    zone: TimeZone,
    now: chrono::DateTime<chrono::Utc>,
) -> TokenRow {
    let expired = listing.expires_at.is_some_and(|at| at <= now);
    let (state, key) = if listing.revoked {
        ("revoked", "api_tokens.state_revoked")
    } else if expired && !listing.refreshable {
        ("expired", "api_tokens.state_expired")
    } else {
        ("active", "api_tokens.state_active")
    };
    TokenRow {
        id: listing.id.get(),
        name: listing.name,
        owner: listing.owner,
        scopes: listing.scopes,
        created: time::human(listing.created_at, zone),
        expires: listing
            .expires_at
            .map_or_else(|| "—".to_owned(), |at| time::human(at, zone)),
        state_label: t.get(key).to_owned(),
        state,
        refreshable: listing.refreshable,
    }
}

async fn render(
    state: &AppState,
    user: &WebUser,
    form: Submitted,
    fresh: Option<Fresh>,
    errors: FormErrors,
    notice: Option<&str>,
) -> PageResult<String> {
    let t = user.t;
    let tenant = user.session.tenant_id;
    let zone = state.store.tenant_settings(tenant).await?.time_zone;
    let now = state.clock.now();
    let tokens = state
        .store
        .api_tokens(tenant)
        .await?
        .into_iter()
        .map(|l| row(&t, l, zone, now))
        .collect();
    let scopes = Scope::ALL
        .into_iter()
        .map(|s| ScopeChoice {
            value: s.as_str(),
            label: t
                .get(&format!(
                    "api_tokens.scope_{}",
                    s.as_str().replace(':', "_")
                ))
                .to_owned(),
            checked: form.scopes.contains(&s),
        })
        .collect();
    let page = TokensPage {
        layout: Layout::new(state, user, "api_tokens.title", "settings")
            .await?
            .with_notice(notice),
        tokens,
        name: form.name,
        days: form.days,
        refresh: form.refresh,
        scopes,
        max_days: MAX_DAYS,
        fresh,
        errors,
    };
    Ok(page.render()?)
}

/// The list and the form.
pub(crate) async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let html = render(
        &state,
        &user,
        Submitted::fresh_form(),
        None,
        FormErrors::none(),
        q.notice.as_deref(),
    )
    .await?;
    Ok(Html(html).into_response())
}

/// Creates a token and shows its secret once.
pub(crate) async fn create(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let t = user.t;
    let mut errors = FormErrors::none();
    let name = parse_text(
        &t,
        &mut errors,
        "name",
        form.get("name"),
        DisplayName::parse,
    );
    let mut scopes = Vec::new();
    for value in form.all("scope") {
        match Scope::parse(value) {
            Some(s) if !scopes.contains(&s) => scopes.push(s),
            Some(_) => {}
            None => errors.add(&t, "scope", "unknown", "choose from the list"),
        }
    }
    if scopes.is_empty() {
        errors.set("scope", t.get("api_tokens.scope_required").to_owned());
    }
    let days = match form.get("days").trim().parse::<i64>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => Some(d),
        _ => {
            errors.set(
                "days",
                t.fill("api_tokens.days_invalid", &[("max", &MAX_DAYS.to_string())]),
            );
            None
        }
    };
    let refresh = form.checked("refresh");
    if let (Some(name), Some(days), true) = (name, days, errors.is_empty()) {
        let now = state.clock.now();
        // With a refresh token: a one-hour access token, and a refresh token living
        // `days` (rotated at each use); without: one access token living `days`.
        let (access_expires, refresh_ttl) = if refresh {
            (now + Duration::hours(1), Some(Duration::days(days)))
        } else {
            (now + Duration::days(days), None)
        };
        let issued = state
            .store
            .create_api_token(
                user.session.tenant_id,
                user.session.user_id,
                name.as_str().to_owned(),
                scopes,
                Some(access_expires),
                refresh_ttl,
                user.ctx.clone(),
            )
            .await?;
        let zone = state
            .store
            .tenant_settings(user.session.tenant_id)
            .await?
            .time_zone;
        let IssuedToken {
            access_token,
            refresh_token,
            expires_at,
            ..
        } = issued;
        let fresh = Fresh {
            access_token,
            refresh_token,
            expires: expires_at.map_or_else(|| "—".to_owned(), |at| time::human(at, zone)),
        };
        let html = render(
            &state,
            user,
            Submitted::fresh_form(),
            Some(fresh),
            FormErrors::none(),
            Some("created"),
        )
        .await?;
        let mut response = (StatusCode::CREATED, Html(html)).into_response();
        // The secret is on this page only: no cache may keep it.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(response);
    }
    let submitted = Submitted {
        name: form.get("name").chars().take(300).collect(),
        days: form.get("days").chars().take(20).collect(),
        refresh,
        scopes: form
            .all("scope")
            .into_iter()
            .filter_map(Scope::parse)
            .collect(),
    };
    let html = render(&state, user, submitted, None, errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

/// Revokes a token of this tenant and every token of its family.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    // Another tenant's token, or none, is "not found": the store looks it up by tenant.
    state
        .store
        .revoke_api_token(user.session.tenant_id, TokenId(id), user.ctx.clone())
        .await?;
    Ok(Redirect::to("/settings/api-tokens?notice=revoked").into_response())
}
