//! Tenant settings (admins only): name, language, zone, brand colours, logo, kiosk
//! check-out, pass validity, notification defaults and the Slack webhook (of which
//! only "configured or not" is ever shown); security and API tokens in submodules.

pub mod api_tokens;
pub mod kiosk;
pub mod logo;
pub mod security;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use genkan_core::access::Permission;
use genkan_core::tenant::TimeZone;
use genkan_core::text::{Locale, OrgName};
use genkan_store::tenants::{SettingsUpdate, TenantSettings};
use serde::Deserialize;

use self::logo::LogoProblem;
use super::fields::parse_text;
use super::sites::ZONE_SUGGESTIONS;
use crate::outbound::{OutboundError, check_webhook_url};
use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUpload, WebUser};

/// Largest logo request: room for an upload a little over the limit, so it gets a
/// friendly answer.
const LOGO_BODY_LIMIT: usize = 2 * logo::MAX_BYTES + 64 * 1024;
/// Most minutes a pass may work before its window.
const MAX_EARLY_MINUTES: i64 = 240;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page).post(save))
        .route(
            "/settings/logo",
            post(upload_logo).layer(DefaultBodyLimit::max(LOGO_BODY_LIMIT)),
        )
        .route("/settings/logo/remove", post(remove_logo))
        .route(
            "/settings/security",
            get(security::page).post(security::save),
        )
        .route(
            "/settings/api-tokens",
            get(api_tokens::page).post(api_tokens::create),
        )
        .route("/settings/api-tokens/{id}/revoke", post(api_tokens::revoke))
        .route("/settings/slack", post(set_slack))
        .route("/settings/slack/clear", post(clear_slack))
        .route("/settings/kiosk", post(kiosk::save))
}

/// The form's values as shown (from the store, or as submitted).
struct Values {
    name: String,
    locale: String,
    zone: String,
    primary: String,
    accent: String,
    checkout: bool,
    policy: String,
    early: String,
    notify_email: bool,
    notify_slack: bool,
}

impl Values {
    fn of(s: &TenantSettings) -> Self {
        Self {
            name: s.name.clone(),
            locale: s.default_locale.as_str().to_owned(),
            zone: s.time_zone.name().to_owned(),
            primary: s.primary_color.clone(),
            accent: s.accent_color.clone(),
            checkout: s.checkout_enabled,
            policy: s.pass_policy.clone(),
            early: s.pass_early_minutes.to_string(),
            notify_email: s.notify_email,
            notify_slack: s.notify_slack,
        }
    }

    fn submitted(form: &WebForm) -> Self {
        let take = |name: &str, n: usize| form.get(name).chars().take(n).collect::<String>();
        Self {
            name: take("name", 300),
            locale: take("default_locale", 10),
            zone: take("time_zone", 100),
            primary: take("primary_color", 20),
            accent: take("accent_color", 20),
            checkout: form.checked("checkout_enabled"),
            policy: take("pass_policy", 10),
            early: take("pass_early_minutes", 10),
            notify_email: form.checked("notify_email"),
            notify_slack: form.checked("notify_slack"),
        }
    }
}

#[derive(Template)]
#[template(path = "web/settings/settings.html")]
struct SettingsPage {
    layout: Layout,
    v: Values,
    has_logo: bool,
    slack_configured: bool,
    zones: &'static [&'static str],
    max_early: i64,
    logo_kb: usize,
    errors: FormErrors,
    kiosk: genkan_store::kiosk_settings::KioskSettings,
    max_silence: i64,
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    values: Option<Values>,
    errors: FormErrors,
    notice: Option<&str>,
) -> PageResult<String> {
    let settings = state.store.tenant_settings(user.session.tenant_id).await?;
    let page = SettingsPage {
        layout: Layout::new(state, user, "settings.title", "settings")
            .await?
            .with_notice(notice),
        v: values.unwrap_or_else(|| Values::of(&settings)),
        has_logo: settings.has_logo,
        slack_configured: settings.slack_configured,
        zones: ZONE_SUGGESTIONS,
        max_early: MAX_EARLY_MINUTES,
        logo_kb: logo::MAX_BYTES / 1024,
        errors,
        kiosk: state.store.kiosk_settings(user.session.tenant_id).await?,
        max_silence: genkan_store::kiosk_settings::MAX_SILENCE_MINUTES,
    };
    Ok(page.render()?)
}

fn invalid(html: String) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response()
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let html = render(&state, &user, None, FormErrors::none(), q.notice.as_deref()).await?;
    Ok(Html(html).into_response())
}

/// `#rrggbb` and nothing else (it ends up in CSS and e-mails).
fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn check(form: &WebForm, errors: &mut FormErrors) -> Option<SettingsUpdate> {
    let t = form.user.t;
    let name = parse_text(&t, errors, "name", form.get("name"), OrgName::parse);
    let locale = Locale::parse(form.get("default_locale"))
        .map_err(|_| errors.add(&t, "default_locale", "invalid_locale", "choose ja or en"))
        .ok();
    let zone = TimeZone::parse(form.get("time_zone"))
        .map_err(|_| errors.add(&t, "time_zone", "invalid_zone", "unknown time zone"))
        .ok();
    let mut color = |field: &str| {
        let c = form.get(field).trim().to_ascii_lowercase();
        if is_hex_color(&c) {
            Some(c)
        } else {
            errors.add(&t, field, "invalid_color", "use the form #rrggbb");
            None
        }
    };
    let primary = color("primary_color");
    let accent = color("accent_color");
    let policy = match form.get("pass_policy") {
        p @ ("day" | "window") => Some(p.to_owned()),
        _ => {
            errors.add(&t, "pass_policy", "unknown", "choose one from the list");
            None
        }
    };
    let early_text = form.get("pass_early_minutes").trim();
    let early = if early_text.is_empty() {
        Some(0)
    } else {
        early_text
            .parse::<i64>()
            .ok()
            .filter(|m| (0..=MAX_EARLY_MINUTES).contains(m))
    };
    if early.is_none() {
        errors.add(&t, "pass_early_minutes", "minutes_range", "enter 0 to 240");
    }
    Some(SettingsUpdate {
        name: name?,
        default_locale: locale?,
        time_zone: zone?,
        primary_color: primary?,
        accent_color: accent?,
        checkout_enabled: form.checked("checkout_enabled"),
        pass_policy: policy?,
        pass_early_minutes: early?,
        notify_email: form.checked("notify_email"),
        notify_slack: form.checked("notify_slack"),
    })
}

async fn save(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let mut errors = FormErrors::none();
    if let Some(update) = check(&form, &mut errors) {
        state
            .store
            .update_tenant_settings(user.session.tenant_id, update, user.ctx.clone())
            .await?;
        return Ok(Redirect::to("/settings?notice=saved").into_response());
    }
    let html = render(&state, user, Some(Values::submitted(&form)), errors, None).await?;
    Ok(invalid(html))
}

async fn upload_logo(State(state): State<AppState>, form: WebUpload) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let t = user.t;
    let mut errors = FormErrors::none();
    let Some(file) = form.file("logo") else {
        errors.add(&t, "logo", "logo_missing", "choose a file");
        return Ok(invalid(render(&state, user, None, errors, None).await?));
    };
    let bytes = file.bytes.clone();
    let result = tokio::task::spawn_blocking(move || logo::reencode(&bytes))
        .await
        .map_err(PageError::internal)?;
    match result {
        Ok(png) => {
            state
                .store
                .set_logo(user.session.tenant_id, Some(png), user.ctx.clone())
                .await?;
            Ok(Redirect::to("/settings?notice=saved").into_response())
        }
        Err(problem) => {
            let (status, code, text) = match problem {
                LogoProblem::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "logo_too_large",
                    "the file is too large",
                ),
                LogoProblem::NotAnImage => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "logo_not_image",
                    "not a PNG or JPEG image",
                ),
            };
            errors.add(&t, "logo", code, text);
            let html = render(&state, user, None, errors, None).await?;
            Ok((status, Html(html)).into_response())
        }
    }
}

async fn remove_logo(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    state
        .store
        .set_logo(user.session.tenant_id, None, user.ctx.clone())
        .await?;
    Ok(Redirect::to("/settings?notice=saved").into_response())
}

async fn set_slack(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let t = user.t;
    let url = form.get("slack_url").trim();
    let checked = if url.is_empty() || url.len() > 2000 {
        Err(OutboundError::Invalid)
    } else {
        check_webhook_url(url, state.config.outbound.allow_private_networks).await
    };
    match checked {
        Ok(parsed) => {
            state
                .store
                .set_slack_webhook(
                    user.session.tenant_id,
                    Some(parsed.to_string()),
                    user.ctx.clone(),
                )
                .await?;
            Ok(Redirect::to("/settings?notice=saved").into_response())
        }
        Err(e) => {
            let code = match e {
                OutboundError::Invalid => "webhook_invalid",
                OutboundError::Scheme => "webhook_scheme",
                OutboundError::NotPublic(_) => "webhook_private",
                OutboundError::Unresolvable => "webhook_unresolvable",
            };
            let mut errors = FormErrors::none();
            errors.add(&t, "slack_url", code, &e.to_string());
            Ok(invalid(render(&state, user, None, errors, None).await?))
        }
    }
}

async fn clear_slack(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    state
        .store
        .set_slack_webhook(user.session.tenant_id, None, user.ctx.clone())
        .await?;
    Ok(Redirect::to("/settings?notice=saved").into_response())
}
