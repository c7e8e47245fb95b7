//! The web app's screens, one module each; `router()` merges them.

pub mod account;
pub mod appointment_form;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod away;
pub mod dashboard;
pub mod export_all;
pub mod exports;
pub mod fields;
pub mod groups;
pub mod import;
pub mod kiosks;
pub mod login;
pub mod mfa;
pub mod notifications;
pub mod onsite;
pub mod privacy;
pub mod settings;
pub mod site_alerts;
pub mod sites;
pub mod templates;
pub mod users;
pub mod visits;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::notify::render::safe_color;
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::session::WebUser;

/// Routes of the web app.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/static/{name}", get(crate::web::assets::serve))
        .route("/brand.css", get(brand_css))
        .route("/logo.png", get(logo))
        .merge(appointments::router())
        .merge(auth::router())
        .merge(mfa::router())
        .merge(audit::router())
        .merge(dashboard::router())
        .merge(exports::router())
        .merge(export_all::router())
        .merge(privacy::router())
        .merge(onsite::router())
        .merge(visits::router())
        .merge(users::router())
        .merge(groups::router())
        .merge(import::router())
        .merge(sites::router())
        .merge(kiosks::router())
        .merge(settings::router())
        .merge(notifications::router())
        .merge(templates::router())
        .merge(site_alerts::router())
        .merge(away::router())
        .merge(account::router())
}

/// The tenant's colours as CSS variables (validated hex only, so nothing can be injected).
async fn brand_css(State(state): State<AppState>, user: Option<WebUser>) -> PageResult<Response> {
    let (primary, accent) = match user {
        Some(u) => {
            let s = state.store.tenant_settings(u.session.tenant_id).await?;
            (safe_color(&s.primary_color), safe_color(&s.accent_color))
        }
        None => (safe_color(""), safe_color("")),
    };
    let css = format!(":root{{--brand:{primary};--accent:{accent};}}\n");
    let mut r = css.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    // Signed in, the colours are the tenant's: like every authenticated answer, they
    // get the `no-store` the security headers add (nothing of a tenant stays cached).
    Ok(r)
}

/// The tenant's logo.
async fn logo(State(state): State<AppState>, user: WebUser) -> PageResult<Response> {
    match state.store.logo(user.session.tenant_id).await? {
        Some(png) => {
            let mut r = png.into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            // Not cached on shared computers (`no-store` from the security headers).
            Ok(r)
        }
        None => Ok(StatusCode::NOT_FOUND.into_response()),
    }
}
