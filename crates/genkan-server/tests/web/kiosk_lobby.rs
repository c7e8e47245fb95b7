//! A lobby for the kiosk tests: two sites of the main tenant, paired kiosks at the
//! first, passes with their QR tokens and codes, and kiosk API calls from a chosen
//! loopback address.

use chrono::{DateTime, Duration, Utc};
use genkan_core::Clock as _;
use genkan_core::access::Visibility;
use genkan_core::appointment::{AppointmentInput, VisitorInput};
use genkan_core::id::SiteId;
use genkan_core::tenant::TimeZone;
use genkan_core::text::{Locale, OrgName};
use genkan_store::AuditCtx;
use genkan_store::appointments::IssuedPass;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{HOST, TestApp};

/// Sites and kiosks of the main tenant.
pub(crate) struct Lobby {
    /// Where the kiosks stand.
    pub(crate) site: SiteId,
    /// Another site of the same tenant.
    pub(crate) other_site: SiteId,
    /// Credentials of the kiosks at `site`.
    pub(crate) kiosks: Vec<String>,
}

fn ctx(app: &TestApp) -> AuditCtx {
    AuditCtx::system(Some(app.tenant), app.clock.now())
}

/// Sites "Lobby HQ" and "Lobby Osaka", and `kiosks` paired kiosks at the first.
pub(crate) async fn lobby(app: &TestApp, kiosks: usize) -> Lobby {
    let mut sites = Vec::new();
    for name in ["Lobby HQ", "Lobby Osaka"] {
        let site = app
            .store
            .create_site(
                app.tenant,
                OrgName::parse(name).unwrap(),
                TimeZone::default(),
                String::new(),
                ctx(app),
            )
            .await
            .unwrap();
        sites.push(site.id);
    }
    let mut credentials = Vec::new();
    for i in 0..kiosks {
        let new = app
            .store
            .create_kiosk(app.tenant, sites[0], format!("Kiosk {i}"), ctx(app))
            .await
            .unwrap();
        let paired = app
            .store
            .pair_kiosk(&new.pairing_code, Some(format!("tablet-{i}")), ctx(app))
            .await
            .unwrap()
            .unwrap();
        credentials.push(paired.credential);
    }
    Lobby {
        site: sites[0],
        other_site: sites[1],
        kiosks: credentials,
    }
}

/// A one-hour appointment of the host at `site` from `starts_at`, one visitor: its
/// pass (token and code) and the appointment's id.
pub(crate) async fn pass_at(
    app: &TestApp,
    site: SiteId,
    starts_at: DateTime<Utc>,
    name: &str,
) -> (IssuedPass, genkan_core::id::AppointmentId) {
    let input = AppointmentInput {
        site_id: site,
        host_id: app.user_id(HOST).await,
        title: None,
        starts_at,
        ends_at: starts_at + Duration::hours(1),
        valid_from_date: None,
        valid_until_date: None,
        visitors: vec![VisitorInput {
            name: name.to_owned(),
            ..VisitorInput::default()
        }],
    };
    let created = app
        .store
        .create_appointment(app.tenant, input.validate(Locale::Ja).unwrap(), ctx(app))
        .await
        .unwrap()
        .unwrap();
    let id = created.appointment.id;
    (created.passes.into_iter().next().unwrap(), id)
}

/// Cancels an appointment (its passes are revoked).
pub(crate) async fn cancel(app: &TestApp, id: genkan_core::id::AppointmentId) {
    app.store
        .cancel_appointment(app.tenant, Visibility::Tenant, id, ctx(app))
        .await
        .unwrap()
        .unwrap();
}

/// A kiosk API call from `ip`: (status, body).
pub(crate) async fn kiosk_call(
    app: &TestApp,
    ip: &str,
    credential: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, _, body) = app
        .anonymous_from(Some(ip))
        .api(method, path, credential, body, &[])
        .await;
    (status, body)
}

/// `POST /api/kiosk/v1/check-in` from `ip`.
pub(crate) async fn check_in(
    app: &TestApp,
    ip: &str,
    credential: &str,
    body: Value,
) -> (u16, Value) {
    kiosk_call(
        app,
        ip,
        credential,
        Method::POST,
        "/api/kiosk/v1/check-in",
        Some(body),
    )
    .await
}

/// Visits of the main tenant around now.
pub(crate) async fn visits(app: &TestApp) -> Vec<genkan_store::visits::VisitView> {
    let now = app.clock.now();
    app.store
        .visits_between(
            app.tenant,
            Visibility::Tenant,
            now - Duration::days(30),
            now + Duration::days(30),
            1000,
        )
        .await
        .unwrap()
}
