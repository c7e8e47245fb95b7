//! Sites (admins only): the list of sites and kiosks, creating and editing a site.
//! Kiosks themselves are added and revoked in [`super::kiosks`].

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use genkan_core::access::Permission;
use genkan_core::id::SiteId;
use genkan_core::tenant::TimeZone;
use genkan_core::text::{OrgName, ShortText};
use serde::Deserialize;

use super::fields::{is_taken, parse_text, path_id};
use crate::state::AppState;
use crate::web::error::PageResult;
use crate::web::form::FormErrors;
use crate::web::page::Layout;
use crate::web::session::{WebForm, WebUser};
use crate::web::time;

/// Zones offered as suggestions (any IANA zone is accepted).
pub const ZONE_SUGGESTIONS: &[&str] = &[
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Bangkok",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "UTC",
];

/// Routes of this screen.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sites", get(list).post(create))
        .route("/sites/new", get(new_page))
        .route("/sites/{id}", get(edit_page).post(update))
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

struct SiteRow {
    id: i64,
    name: String,
    zone: String,
    offset: String,
    address: String,
}

struct KioskRow {
    id: i64,
    site: String,
    name: String,
    status: String,
    status_label: String,
    device: String,
    last_seen: String,
    health: Option<HealthCell>,
}

/// What the kiosk list says about a kiosk's last heartbeat.
struct HealthCell {
    /// Badge class: `active` (fine), `pending` (needs a look), `dead` (no camera).
    class: &'static str,
    /// The camera's state in words.
    camera: String,
    /// Version, offline journal and last scan.
    detail: String,
}

fn health_cell(
    t: crate::web::i18n::Tr,
    health: &genkan_store::kiosk_health::KioskHealth,
    zone: TimeZone,
) -> HealthCell {
    let (class, key) = match health.camera.as_str() {
        "ok" => ("active", "kiosk_health.camera_ok"),
        "images" => ("active", "kiosk_health.camera_images"),
        "no_frames" => ("pending", "kiosk_health.camera_no_frames"),
        "too_dark" => ("pending", "kiosk_health.camera_too_dark"),
        "starting" => ("pending", "kiosk_health.camera_starting"),
        "no_camera" => ("dead", "kiosk_health.camera_none"),
        _ => ("pending", "kiosk_health.camera_unknown"),
    };
    let mut detail = vec![format!("v{}", health.version)];
    if health.journal_length > 0 {
        detail.push(t.fill(
            "kiosk_health.journal",
            &[("count", &health.journal_length.to_string())],
        ));
    }
    detail.push(match health.last_scan_at {
        Some(at) => t.fill(
            "kiosk_health.last_scan",
            &[("time", &time::human(at, zone))],
        ),
        None => t.get("kiosk_health.no_scan").to_owned(),
    });
    HealthCell {
        class,
        camera: t.get(key).to_owned(),
        detail: detail.join(" · "),
    }
}

#[derive(Template)]
#[template(path = "web/sites/list.html")]
struct ListPage {
    layout: Layout,
    sites: Vec<SiteRow>,
    kiosks: Vec<KioskRow>,
}

async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let tenant = user.session.tenant_id;
    let t = user.t;
    let now = state.clock.now();
    let sites = state.store.sites(tenant).await?;
    let fallback = state.store.tenant_settings(tenant).await?.time_zone;
    let zone_of = |site: SiteId| {
        sites
            .iter()
            .find(|s| s.id == site)
            .map_or(fallback, |s| s.time_zone)
    };
    let kiosks = state
        .store
        .kiosks(tenant)
        .await?
        .into_iter()
        .map(|k| KioskRow {
            id: k.id.get(),
            health: k
                .health
                .as_ref()
                .filter(|_| k.status == "active")
                .map(|(h, _)| health_cell(t, h, zone_of(k.site_id))),
            last_seen: k
                .last_seen_at
                .map_or_else(|| "—".to_owned(), |at| time::human(at, zone_of(k.site_id))),
            status_label: t
                .get(match k.status.as_str() {
                    "active" => "kiosks.status_active",
                    "revoked" => "kiosks.status_revoked",
                    _ => "kiosks.status_pending",
                })
                .to_owned(),
            site: k.site_name,
            name: k.name,
            status: k.status,
            device: k.device_name.unwrap_or_default(),
        })
        .collect();
    let sites = sites
        .iter()
        .map(|s| SiteRow {
            id: s.id.get(),
            name: s.name.as_str().to_owned(),
            zone: s.time_zone.name().to_owned(),
            offset: time::offset(now, s.time_zone),
            address: s.address.clone(),
        })
        .collect();
    let layout = Layout::new(&state, &user, "sites.title", "sites")
        .await?
        .with_notice(q.notice.as_deref());
    Ok(Html(
        ListPage {
            layout,
            sites,
            kiosks,
        }
        .render()?,
    )
    .into_response())
}

#[derive(Template)]
#[template(path = "web/sites/edit.html")]
struct EditPage {
    layout: Layout,
    /// `None` for a new site.
    id: Option<i64>,
    name: String,
    zone: String,
    address: String,
    zones: &'static [&'static str],
    errors: FormErrors,
}

impl EditPage {
    fn action(&self) -> String {
        self.id
            .map_or_else(|| "/sites".to_owned(), |id| format!("/sites/{id}"))
    }
}

async fn new_page(State(state): State<AppState>, user: WebUser) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let zone = state
        .store
        .tenant_settings(user.session.tenant_id)
        .await?
        .time_zone;
    let page = EditPage {
        layout: Layout::new(&state, &user, "sites.new", "sites").await?,
        id: None,
        name: String::new(),
        zone: zone.name().to_owned(),
        address: String::new(),
        zones: ZONE_SUGGESTIONS,
        errors: FormErrors::none(),
    };
    Ok(Html(page.render()?).into_response())
}

async fn edit_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> PageResult<Response> {
    user.require(Permission::Administer)?;
    let site = state
        .store
        .site(user.session.tenant_id, SiteId(path_id(&id)?))
        .await?;
    let page = EditPage {
        layout: Layout::new(&state, &user, "sites.edit", "sites").await?,
        id: Some(site.id.get()),
        name: site.name.as_str().to_owned(),
        zone: site.time_zone.name().to_owned(),
        address: site.address,
        zones: ZONE_SUGGESTIONS,
        errors: FormErrors::none(),
    };
    Ok(Html(page.render()?).into_response())
}

/// A checked site form.
struct SiteInput {
    name: OrgName,
    zone: TimeZone,
    address: String,
}

fn check(form: &WebForm, errors: &mut FormErrors) -> Option<SiteInput> {
    let t = form.user.t;
    let name = parse_text(&t, errors, "name", form.get("name"), OrgName::parse);
    let zone = TimeZone::parse(form.get("time_zone"))
        .map_err(|_| errors.add(&t, "time_zone", "invalid_zone", "unknown time zone"))
        .ok();
    let address = form.get("address").trim();
    let address = if address.is_empty() {
        Some(String::new())
    } else {
        parse_text(&t, errors, "address", address, ShortText::parse).map(|a| a.as_str().to_owned())
    };
    Some(SiteInput {
        name: name?,
        zone: zone?,
        address: address?,
    })
}

async fn save(state: &AppState, form: &WebForm, id: Option<SiteId>) -> PageResult<Response> {
    let user = &form.user;
    user.require(Permission::Administer)?;
    let tenant = user.session.tenant_id;
    if let Some(id) = id {
        state.store.site(tenant, id).await?;
    }
    let t = user.t;
    let mut errors = FormErrors::none();
    if let Some(input) = check(form, &mut errors) {
        let result = match id {
            Some(id) => state
                .store
                .update_site(
                    tenant,
                    id,
                    input.name,
                    input.zone,
                    input.address,
                    user.ctx.clone(),
                )
                .await
                .map(|()| "saved"),
            None => state
                .store
                .create_site(
                    tenant,
                    input.name,
                    input.zone,
                    input.address,
                    user.ctx.clone(),
                )
                .await
                .map(|_| "created"),
        };
        match result {
            Ok(notice) => {
                return Ok(Redirect::to(&format!("/sites?notice={notice}")).into_response());
            }
            Err(e) if is_taken(&e) => errors.add(&t, "name", "taken", "already in use"),
            Err(e) => return Err(e.into()),
        }
    }
    let title = if id.is_some() {
        "sites.edit"
    } else {
        "sites.new"
    };
    let page = EditPage {
        layout: Layout::new(state, user, title, "sites").await?,
        id: id.map(SiteId::get),
        name: form.get("name").chars().take(300).collect(),
        zone: form.get("time_zone").chars().take(100).collect(),
        address: form.get("address").chars().take(500).collect(),
        zones: ZONE_SUGGESTIONS,
        errors,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

async fn create(State(state): State<AppState>, form: WebForm) -> PageResult<Response> {
    save(&state, &form, None).await
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: WebForm,
) -> PageResult<Response> {
    form.user.require(Permission::Administer)?;
    let id = SiteId(path_id(&id)?);
    save(&state, &form, Some(id)).await
}
