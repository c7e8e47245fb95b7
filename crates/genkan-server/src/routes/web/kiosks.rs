//! Kiosks (admins only): adding one shows its one-time pairing code exactly once
//! (the answer to the POST, never stored in clear, never shown again); revoking asks
//! for confirmation, then the device's credential stops working at once.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use genkan_core::access::Permission;
use genkan_core::id::{KioskId, SiteId};
use genkan_core::text::DisplayName;
use genkan_store::kiosks::KioskView;

use super::fields::{Choice, parse_text, path_id};
use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser, is_secure};
use crate::web::time;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/kiosks", axum::routing::post(create))
        .route("/kiosks/new", get(new_page))
        .route("/kiosks/{id}/revoke", get(confirm_page).post(revoke))
}

#[derive(Template)]
#[template(path = "web/sites/kiosk_new.html")]
struct NewPage {
    layout: Layout,
    sites: Vec<Choice>,
    name: String,
    errors: FormErrors,
}

async fn site_choices(state: &AppState, user: &WebUser, selected: &str) -> PageResult<Vec<Choice>> {
    Ok(state
        .store
        .sites(user.session.tenant_id)
        .await?
        .into_iter()
        .map(|s| Choice {
            selected: s.id.to_string() == selected,
            value: s.id.to_string(),
            label: s.name.as_str().to_owned(),
        })
        .collect())
}

async fn new_page(State(state): State<AppState>, user: WebUser) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let page = NewPage {
        layout: Layout::new(&state, &user, "kiosks.add", "sites").await?,
        sites: site_choices(&state, &user, "").await?,
        name: String::new(),
        errors: FormErrors::none(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "web/sites/kiosk_code.html")]
struct CodePage {
    layout: Layout,
    name: String,
    site: String,
    code: String,
    expires: String,
    command: String,
}

/// The address kiosks use: the configured public URL, else the one this request came to.
fn server_url(state: &AppState, headers: &HeaderMap) -> String {
    let configured = state.config.server.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = if is_secure(state) { "https" } else { "http" };
    format!("{scheme}://{host}")
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let t = user.t;
    let tenant = user.session.tenant_id;
    let mut errors = FormErrors::none();
    let name = parse_text(
        &t,
        &mut errors,
        "name",
        form.get("name"),
        DisplayName::parse,
    );
    let site = match form.get("site").parse::<i64>() {
        Ok(id) => match state.store.site(tenant, SiteId(id)).await {
            Ok(site) => Some(site),
            Err(genkan_store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    if site.is_none() {
        errors.add(&t, "site", "unknown", "choose one from the list");
    }
    let (Some(name), Some(site)) = (name, site) else {
        let page = NewPage {
            layout: Layout::new(&state, user, "kiosks.add", "sites").await?,
            sites: site_choices(&state, user, form.get("site")).await?,
            name: form.get("name").chars().take(300).collect(),
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    };
    let created = state
        .store
        .create_kiosk(tenant, site.id, name.as_str().to_owned(), user.ctx.clone())
        .await?;
    let url = server_url(&state, &headers);
    let page = CodePage {
        layout: Layout::new(&state, user, "kiosks.code_title", "sites").await?,
        name: name.as_str().to_owned(),
        site: site.name.as_str().to_owned(),
        command: format!(
            "genkan-kiosk pair --server {url} --code {}",
            created.pairing_code
        ),
        code: created.pairing_code,
        expires: time::human(created.expires_at, site.time_zone),
    };
    // Shown once: the security middleware marks every page `no-store`.
    Ok(Html(page.render()?).into_response())
}

async fn find(state: &AppState, user: &WebUser, id: &str) -> PageResult<KioskView> {
    let id = KioskId(path_id(id)?);
    state
        .store
        .kiosks(user.session.tenant_id)
        .await?
        .into_iter()
        .find(|k| k.id == id && k.status != "revoked")
        .ok_or(PageError::NotFound)
}

#[derive(Template)]
#[template(path = "web/sites/kiosk_revoke.html")]
struct ConfirmPage {
    layout: Layout,
    id: i64,
    name: String,
    site: String,
}

async fn confirm_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let kiosk = find(&state, &user, &id).await?;
    let page = ConfirmPage {
        layout: Layout::new(&state, &user, "kiosks.revoke_title", "sites").await?,
        id: kiosk.id.get(),
        name: kiosk.name,
        site: kiosk.site_name,
    };
    Ok(Html(page.render()?).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let kiosk = find(&state, user, &id).await?;
    state
        .store
        .revoke_kiosk(user.session.tenant_id, kiosk.id, user.ctx.clone())
        .await?;
    Ok(Redirect::to("/sites?notice=revoked").into_response())
}
