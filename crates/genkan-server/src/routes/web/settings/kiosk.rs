//! The kiosk part of the settings: the walk-in form (offered or not, which fields it
//! asks) and after how many silent minutes a kiosk is reported to the admins.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use genkan_core::access::Permission;
use genkan_store::kiosk_settings::{KioskSettings, MAX_SILENCE_MINUTES};

use super::{invalid, render};
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::form::FormErrors;
use crate::web::session::WebForm;

/// `POST /settings/kiosk`.
pub(super) async fn save(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let minutes = form.get("silence_minutes").trim();
    let Some(silence_minutes) = minutes
        .parse::<i64>()
        .ok()
        .filter(|m| (0..=MAX_SILENCE_MINUTES).contains(m))
    else {
        let mut errors = FormErrors::none();
        errors.set(
            "silence_minutes",
            user.t.get("kiosk_settings.silence_range").to_owned(),
        );
        return Ok(invalid(render(&state, user, None, errors, None).await?));
    };
    let settings = KioskSettings {
        walk_in_enabled: form.checked("walk_in_enabled"),
        walk_in_company: form.checked("walk_in_company"),
        walk_in_phone: form.checked("walk_in_phone"),
        silence_minutes,
    };
    state
        .store
        .update_kiosk_settings(user.session.tenant_id, settings, user.ctx.clone())
        .await?;
    Ok(Redirect::to("/settings?notice=saved").into_response())
}
