//! Bulk import of users from a CSV file (admins only): all rows or none, with a
//! report naming the row, the column and the problem when anything is wrong.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use genkan_core::access::Permission;
use genkan_store::import::ImportRefusal;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::form::FormErrors;
use crate::web::i18n::Tr;
use crate::web::page::Layout;
use crate::web::session::{WebUpload, WebUser};
use genkan_core::import::{self as parse, FileProblem, MAX_BYTES, MAX_ROWS, RowProblem};

/// Largest request body: room for a file a little over the limit, so it gets a
/// friendly answer instead of a dropped connection.
const BODY_LIMIT: usize = 2 * MAX_BYTES + 64 * 1024;
/// Most problems listed (the rest are counted).
const REPORT_LIMIT: usize = 500;

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/users/import",
        get(page)
            .post(upload)
            .layer(DefaultBodyLimit::max(BODY_LIMIT)),
    )
}

#[derive(Deserialize)]
struct ImportQuery {
    notice: Option<String>,
    users: Option<u32>,
    groups: Option<u32>,
}

/// One line of the error report.
struct ProblemRow {
    row: usize,
    field: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "web/users/import.html")]
struct ImportPage {
    layout: Layout,
    summary: Option<String>,
    file_problems: Vec<String>,
    problems: Vec<ProblemRow>,
    more: usize,
    errors: FormErrors,
    limits: String,
}

impl ImportPage {
    async fn new(state: &AppState, user: &WebUser) -> PageResult<Self> {
        let t = user.t;
        Ok(Self {
            layout: Layout::new(state, user, "import.title", "users").await?,
            summary: None,
            file_problems: Vec::new(),
            problems: Vec::new(),
            more: 0,
            errors: FormErrors::none(),
            limits: t.fill(
                "import.limits",
                &[
                    ("mb", &(MAX_BYTES / 1024 / 1024).to_string()),
                    ("rows", &MAX_ROWS.to_string()),
                ],
            ),
        })
    }

    fn respond(self, status: StatusCode) -> PageResult<Response> {
        Ok((status, Html(self.render()?)).into_response())
    }
}

async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<ImportQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let mut page = ImportPage::new(&state, &user).await?;
    page.layout = page.layout.with_notice(q.notice.as_deref());
    if q.notice.as_deref() == Some("imported") {
        page.summary = Some(user.t.fill(
            "import.summary",
            &[
                ("users", &q.users.unwrap_or(0).to_string()),
                ("groups", &q.groups.unwrap_or(0).to_string()),
            ],
        ));
    }
    page.respond(StatusCode::OK)
}

fn file_problem_lines(t: &Tr, problem: &FileProblem) -> Vec<String> {
    let list = |v: &[String]| v.join(", ");
    match problem {
        FileProblem::Encoding => vec![t.get("import.encoding").to_owned()],
        FileProblem::Empty => vec![t.get("import.empty").to_owned()],
        FileProblem::NoRows => vec![t.get("import.no_rows").to_owned()],
        FileProblem::TooManyRows => {
            vec![t.fill("import.too_many_rows", &[("rows", &MAX_ROWS.to_string())])]
        }
        FileProblem::Unreadable(line) => {
            vec![t.fill("import.unreadable", &[("row", &line.to_string())])]
        }
        FileProblem::Columns {
            forbidden,
            unknown,
            missing,
            duplicate,
        } => {
            let mut lines = Vec::new();
            if !forbidden.is_empty() {
                lines.push(t.fill("import.forbidden_columns", &[("columns", &list(forbidden))]));
            }
            if !unknown.is_empty() {
                lines.push(t.fill("import.unknown_columns", &[("columns", &list(unknown))]));
            }
            if !missing.is_empty() {
                lines.push(t.fill("import.missing_columns", &[("columns", &list(missing))]));
            }
            if !duplicate.is_empty() {
                lines.push(t.fill("import.duplicate_columns", &[("columns", &list(duplicate))]));
            }
            lines
        }
    }
}

fn problem_text(t: &Tr, p: &RowProblem) -> String {
    match p.code {
        "duplicate_in_file" => t.fill("import.duplicate_of", &[("row", &p.other_row.to_string())]),
        "taken" => t.get("import.taken").to_owned(),
        "unknown_role" => t.get("import.unknown_role").to_owned(),
        "too_many_fields" => t.get("import.too_many_fields").to_owned(),
        "required" => t.get("form.required").to_owned(),
        "too_long" => t.get("form.too_long").to_owned(),
        "control_character" => t.get("form.control_character").to_owned(),
        "invalid_email" => t.get("form.invalid_email").to_owned(),
        _ => t.get("form.invalid").to_owned(),
    }
}

async fn upload(State(state): State<AppState>, form: WebUpload) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let t = user.t;
    let tenant = user.session.tenant_id;
    let mut page = ImportPage::new(&state, user).await?;
    let Some(file) = form.file("file") else {
        page.errors
            .add(&t, "file", "import_no_file", "choose a file");
        return page.respond(StatusCode::UNPROCESSABLE_ENTITY);
    };
    if file.bytes.len() > MAX_BYTES {
        let text = t.fill(
            "import.too_large",
            &[("mb", &(MAX_BYTES / 1024 / 1024).to_string())],
        );
        page.errors.add(&t, "file", "import_too_large", &text);
        return page.respond(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let mut parsed = match parse::parse(&file.bytes) {
        Ok(p) => p,
        Err(problem) => {
            page.file_problems = file_problem_lines(&t, &problem);
            return page.respond(StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    tracing::info!(tenant.id = %tenant, rows = parsed.users.len() + parsed.problems.len(),
        encoding = ?parsed.encoding, "user import file read");
    // Addresses the tenant has already: reported together with the file's own problems.
    let existing: HashMap<String, ()> = state
        .store
        .users(tenant)
        .await?
        .into_iter()
        .map(|u| (u.email, ()))
        .collect();
    for u in &parsed.users {
        if existing.contains_key(u.email.as_str()) {
            parsed.problems.push(RowProblem {
                row: u.row,
                field: "email",
                code: "taken",
                other_row: 0,
            });
        }
    }
    if parsed.problems.is_empty() {
        // Every imported user is sent an invitation: the whole file takes its mails
        // from the tenant's daily allowance before anything is written, or is refused.
        let rows = u32::try_from(parsed.users.len()).unwrap_or(u32::MAX);
        let mails = &state.limits.invitation_mails;
        let budget = match mails.acquire_many(&tenant.to_string(), rows) {
            Ok(attempt) => attempt,
            Err(wait) => {
                let text = t.fill(
                    "import.over_invitation_limit",
                    &[
                        ("rows", &rows.to_string()),
                        ("left", &mails.left(&tenant.to_string()).to_string()),
                        ("hours", &wait.div_ceil(3600).to_string()),
                    ],
                );
                page.errors
                    .add(&t, "file", "import_over_invitation_limit", &text);
                return page.respond(StatusCode::TOO_MANY_REQUESTS);
            }
        };
        match state
            .store
            .import_users(
                tenant,
                parsed.users,
                user.session.display_name.clone(),
                user.ctx.clone(),
            )
            .await?
        {
            Ok(summary) => {
                return Ok(Redirect::to(&format!(
                    "/users/import?notice=imported&users={}&groups={}",
                    summary.users, summary.groups_created
                ))
                .into_response());
            }
            // Someone added one of the addresses meanwhile: nothing was written
            // and no mail is sent.
            Err(ImportRefusal::EmailsTaken(rows)) => {
                mails.refund(budget);
                parsed
                    .problems
                    .extend(rows.into_iter().map(|(row, _)| RowProblem {
                        row,
                        field: "email",
                        code: "taken",
                        other_row: 0,
                    }));
            }
        }
    }
    parsed.problems.sort_by_key(|p| p.row);
    page.more = parsed.problems.len().saturating_sub(REPORT_LIMIT);
    page.problems = parsed
        .problems
        .iter()
        .take(REPORT_LIMIT)
        .map(|p| ProblemRow {
            row: p.row,
            field: p.field,
            message: problem_text(&t, p),
        })
        .collect();
    page.respond(StatusCode::UNPROCESSABLE_ENTITY)
}
