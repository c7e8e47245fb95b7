//! Security settings (admins only): who must use two-step verification, and the
//! networks staff may sign in from (IPv4 and IPv6 CIDRs; administrators only or
//! everyone). A list that would shut out the administrator saving it is refused.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use genkan_core::access::Permission;
use genkan_core::security::{AllowlistScope, IpAllowlist, MfaPolicy};
use genkan_store::security::SecurityPolicy;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser};

#[derive(Template)]
#[template(path = "web/settings/security.html")]
struct SecurityPage {
    layout: Layout,
    mfa: String,
    networks: String,
    scope: String,
    your_ip: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
pub(crate) struct NoticeQuery {
    pub(crate) notice: Option<String>,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    submitted: Option<(String, String, String)>,
    errors: FormErrors,
    notice: Option<&str>,
) -> PageResult<String> {
    let (mfa, networks, scope) = match submitted {
        Some(v) => v,
        None => {
            let p = state.store.security_policy(user.session.tenant_id).await?;
            (
                p.mfa.as_str().to_owned(),
                p.allowlist.networks_text(),
                p.allowlist.scope.as_str().to_owned(),
            )
        }
    };
    let page = SecurityPage {
        layout: Layout::new(state, user, "security.title", "settings")
            .await?
            .with_notice(notice),
        mfa,
        networks,
        scope,
        your_ip: user.ctx.ip.clone().unwrap_or_default(),
        errors,
    };
    Ok(page.render()?)
}

/// The form.
pub(crate) async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let html = render(&state, &user, None, FormErrors::none(), q.notice.as_deref()).await?;
    Ok(Html(html).into_response())
}

/// Saves the policies.
pub(crate) async fn save(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let t = user.t;
    let mut errors = FormErrors::none();
    let mfa = MfaPolicy::parse(form.get("mfa_policy"));
    if mfa.is_none() {
        errors.add(&t, "mfa_policy", "unknown", "choose one from the list");
    }
    let scope = AllowlistScope::parse(form.get("allowlist_scope"));
    if scope.is_none() {
        errors.add(&t, "allowlist_scope", "unknown", "choose one from the list");
    }
    let text = form.get("allowlist");
    let networks = match IpAllowlist::parse_networks(text) {
        Ok(n) => Some(n),
        Err(e) => {
            errors.set(
                "allowlist",
                t.fill("security.network_invalid", &[("value", &e.0)]),
            );
            None
        }
    };
    if let (Some(mfa), Some(scope), Some(networks)) = (mfa, scope, networks) {
        let allowlist = IpAllowlist { networks, scope };
        let here = user.ctx.ip.as_deref().and_then(|ip| ip.parse().ok());
        if !here.is_some_and(|ip| allowlist.permits(user.session.role, ip)) {
            errors.set(
                "allowlist",
                t.fill(
                    "security.would_lock_out",
                    &[("ip", user.ctx.ip.as_deref().unwrap_or("?"))],
                ),
            );
        } else {
            state
                .store
                .set_security_policy(
                    user.session.tenant_id,
                    SecurityPolicy { mfa, allowlist },
                    user.ctx.clone(),
                )
                .await?;
            return Ok(Redirect::to("/settings/security?notice=saved").into_response());
        }
    }
    let submitted = (
        form.get("mfa_policy").chars().take(20).collect(),
        text.chars().take(5000).collect(),
        form.get("allowlist_scope").chars().take(20).collect(),
    );
    let html = render(&state, user, Some(submitted), errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}
