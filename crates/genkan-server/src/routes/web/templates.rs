//! The tenant's own message templates (admins): per kind and language, subject,
//! text and HTML may replace the built-in ones. A template is validated by
//! rendering it with sample data before it is saved (a problem is shown next to
//! its field); a preview shows the result without saving. The HTML preview is
//! shown in a sandboxed frame (no scripts, no access to this page).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use genkan_core::access::Permission;
use genkan_core::notification::MessageKind;
use genkan_core::text::Locale;
use genkan_store::templates::TemplateParts;
use serde::Deserialize;

use crate::notify::custom::{self, EDITABLE, Part};
use crate::notify::render::{RenderedMail, Renderer};
use crate::notify::sandbox::SandboxError;
use crate::state::AppState;
use crate::web::error::{PageError, PageResult};
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::path::WebPath;
use crate::web::session::{WebForm, WebUser};

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new().route("/settings/templates", get(list)).route(
        "/settings/templates/{kind}/{locale}",
        get(edit).post(submit),
    )
}

struct Row {
    kind: &'static str,
    label: String,
    locale: &'static str,
    custom: bool,
}

#[derive(Template)]
#[template(path = "web/settings/templates.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "web/settings/template_edit.html")]
struct EditPage {
    layout: Layout,
    kind: &'static str,
    label: String,
    locale: &'static str,
    subject: String,
    text: String,
    html: String,
    preview: Option<RenderedMail>,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

fn parse(kind: &str, locale: &str) -> PageResult<(MessageKind, Locale)> {
    let kind = EDITABLE
        .iter()
        .copied()
        .find(|k| k.as_str() == kind)
        .ok_or(PageError::NotFound)?;
    let locale = Locale::parse(locale).map_err(|_| PageError::NotFound)?;
    Ok((kind, locale))
}

async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let custom = state
        .store
        .customised_templates(user.session.tenant_id)
        .await?;
    let rows = EDITABLE
        .iter()
        .flat_map(|k| [(k, Locale::Ja), (k, Locale::En)])
        .map(|(k, l)| Row {
            kind: k.as_str(),
            label: user.t.get(&format!("message.{}", k.as_str())).to_owned(),
            locale: l.as_str(),
            custom: custom
                .iter()
                .any(|(ck, cl)| ck == k.as_str() && cl == l.as_str()),
        })
        .collect();
    let layout = Layout::new(&state, &user, "notify.templates", "settings")
        .await?
        .with_notice(q.notice.as_deref());
    Ok(Html(ListPage { layout, rows }.render()?).into_response())
}

fn builtin(kind: MessageKind, locale: Locale, part: Part) -> String {
    let file = match part {
        Part::Subject => "subject.txt",
        Part::Text => "body.txt",
        Part::Html => "body.html",
    };
    Renderer::source(kind, locale, file)
        .unwrap_or_default()
        .to_owned()
}

#[expect(clippy::too_many_arguments, reason = "one page's facts")]
async fn render_edit(
    state: &AppState,
    user: &WebUser,
    kind: MessageKind,
    locale: Locale,
    parts: [String; 3],
    preview: Option<RenderedMail>,
    errors: FormErrors,
    status: StatusCode,
) -> PageResult<Response> {
    let [subject, text, html] = parts;
    let page = EditPage {
        layout: Layout::new(state, user, "notify.templates", "settings").await?,
        kind: kind.as_str(),
        label: user.t.get(&format!("message.{}", kind.as_str())).to_owned(),
        locale: locale.as_str(),
        subject,
        text,
        html,
        preview,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn edit(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((kind, locale)): WebPath<(String, String)>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let (kind, locale) = parse(&kind, &locale)?;
    let stored = state
        .store
        .template_overrides(user.session.tenant_id, kind, locale)
        .await?;
    let parts = [
        stored
            .subject
            .clone()
            .unwrap_or_else(|| builtin(kind, locale, Part::Subject)),
        stored
            .text
            .clone()
            .unwrap_or_else(|| builtin(kind, locale, Part::Text)),
        stored
            .html
            .clone()
            .unwrap_or_else(|| builtin(kind, locale, Part::Html)),
    ];
    // A template saved before today's limits may fail them: shown, not hidden.
    let checked = custom::validate(
        &state.sandbox,
        user.session.tenant_id,
        kind,
        locale,
        &stored,
    )
    .await;
    let (preview, errors) = match checked {
        Ok(preview) => (Some(preview), FormErrors::none()),
        Err(e) => (None, problem(&user, &e)?.0),
    };
    render_edit(
        &state,
        &user,
        kind,
        locale,
        parts,
        preview,
        errors,
        StatusCode::OK,
    )
    .await
}

/// A submitted part: `None` when it is the built-in one (so later improvements of
/// the built-in template still reach this tenant).
fn submitted(form: &WebForm, kind: MessageKind, locale: Locale, part: Part) -> Option<String> {
    let value = form.get(part.field()).replace("\r\n", "\n");
    let builtin = builtin(kind, locale, part);
    (value.trim() != builtin.trim()).then_some(value)
}

async fn submit(
    State(state): State<AppState>,
    WebPath((kind, locale)): WebPath<(String, String)>,
    form: WebForm,
) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let (kind, locale) = parse(&kind, &locale)?;
    if form.get("action") == "reset" {
        state
            .store
            .set_template(
                user.session.tenant_id,
                kind,
                locale,
                TemplateParts::default(),
                user.ctx.clone(),
            )
            .await?;
        return Ok(Redirect::to("/settings/templates?notice=saved").into_response());
    }
    let parts = TemplateParts {
        subject: submitted(&form, kind, locale, Part::Subject),
        text: submitted(&form, kind, locale, Part::Text),
        html: submitted(&form, kind, locale, Part::Html),
    };
    let too_long = [&parts.subject, &parts.text, &parts.html]
        .into_iter()
        .flatten()
        .any(|p| p.len() > 64 * 1024);
    let shown = [
        form.get("subject").to_owned(),
        form.get("text").to_owned(),
        form.get("html").to_owned(),
    ];
    let checked = if too_long {
        let mut errors = FormErrors::none();
        let prefix = user.t.get("form.template_invalid");
        errors.set(
            Part::Html.field(),
            format!("{prefix} too long (at most 64 KB)"),
        );
        Err((errors, StatusCode::UNPROCESSABLE_ENTITY))
    } else {
        match custom::validate(&state.sandbox, user.session.tenant_id, kind, locale, &parts).await {
            Ok(preview) => Ok(preview),
            Err(e) => Err(problem(user, &e)?),
        }
    };
    let errors = FormErrors::none();
    match checked {
        Err((errors, status)) => {
            let mut page =
                render_edit(&state, user, kind, locale, shown, None, errors, status).await?;
            if status == StatusCode::SERVICE_UNAVAILABLE {
                page.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("5"),
                );
            }
            Ok(page)
        }
        Ok(preview) if form.get("action") == "preview" => {
            render_edit(
                &state,
                user,
                kind,
                locale,
                shown,
                Some(preview),
                errors,
                StatusCode::OK,
            )
            .await
        }
        Ok(_) => {
            state
                .store
                .set_template(
                    user.session.tenant_id,
                    kind,
                    locale,
                    parts,
                    user.ctx.clone(),
                )
                .await?;
            Ok(Redirect::to("/settings/templates?notice=saved").into_response())
        }
    }
}

/// A template's problem shown next to its field (422), or, when the renderer is
/// busy, above the form (503: nothing was saved, try again). A sandbox that cannot
/// run is the server's fault (500, logged).
fn problem(user: &WebUser, e: &SandboxError) -> PageResult<(FormErrors, StatusCode)> {
    let mut errors = FormErrors::none();
    let prefix = user.t.get("form.template_invalid");
    match e {
        SandboxError::Template { part, line, detail } => {
            let line = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            errors.set(part.field(), format!("{prefix} {line}{detail}"));
        }
        SandboxError::Limit { part, limit } => {
            let key = format!("notify.limit_{}", limit.code());
            let why = user.t.get(&key);
            errors.set(part.field(), format!("{prefix} {why}"));
        }
        SandboxError::Busy => {
            errors.set("form", user.t.get("notify.sandbox_busy").to_owned());
            return Ok((errors, StatusCode::SERVICE_UNAVAILABLE));
        }
        SandboxError::Unavailable(why) => {
            tracing::error!(error = %why, "the template sandbox cannot run");
            return Err(PageError::Internal);
        }
    }
    Ok((errors, StatusCode::UNPROCESSABLE_ENTITY))
}
