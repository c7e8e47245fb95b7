//! The frame every page shares: who is signed in, navigation, brand, CSRF token and
//! an optional notice after an action.

use genkan_core::access::{Permission, Role};

use super::error::PageResult;
use super::i18n::Tr;
use super::session::WebUser;
use crate::state::AppState;

/// Notices a page may show after a redirect (`?notice=<key>`); anything else is ignored,
/// so no user-controlled text ever reaches the banner.
const NOTICES: &[&str] = &[
    "saved",
    "created",
    "cancelled",
    "resent",
    "invited",
    "disabled",
    "enabled",
    "imported",
    "revoked",
    "checked_in",
    "checked_out",
    "password_set",
    "signed_out",
    "sessions_ended",
    "link_sent",
    "signed_in",
    "password_changed",
    "erased",
];

/// The shared page frame.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Translations.
    pub t: Tr,
    /// Page title (already translated).
    pub title: String,
    /// Which navigation entry is active.
    pub nav: &'static str,
    /// Signed-in user's name.
    pub user_name: String,
    /// Their role.
    pub role: Role,
    /// CSRF token for forms.
    pub csrf: String,
    /// Company name.
    pub tenant_name: String,
    /// Whether the company uploaded a logo.
    pub has_logo: bool,
    /// A translated notice to show once.
    pub notice: Option<String>,
    /// Cache-busting version of static files.
    pub static_v: &'static str,
    /// Whether admin entries are shown.
    pub is_admin: bool,
    /// Whether front-desk entries are shown.
    pub is_front_desk: bool,
    /// Operator notices shown as banners (incidents, maintenance, …).
    pub banners: Vec<genkan_store::notices::Banner>,
    /// The tenant's contract has ended: everything is read-only.
    pub read_only: bool,
}

impl Layout {
    /// The frame for `user` with title key `title` and active entry `nav`.
    pub async fn new(
        state: &AppState,
        user: &WebUser,
        title: &str,
        nav: &'static str,
    ) -> PageResult<Self> {
        let settings = state.store.tenant_settings(user.session.tenant_id).await?;
        Ok(Self {
            t: user.t,
            title: user.t.get(title).to_owned(),
            nav,
            user_name: user.session.display_name.clone(),
            role: user.session.role,
            csrf: user.session.csrf_token.clone(),
            tenant_name: settings.name,
            has_logo: settings.has_logo,
            notice: None,
            static_v: super::assets::VERSION.as_str(),
            is_admin: user.principal.may(Permission::Administer),
            is_front_desk: user.principal.may(Permission::FrontDesk),
            banners: state
                .store
                .active_notices(user.session.tenant_id, state.clock.now())
                .await?,
            read_only: user.read_only,
        })
    }

    /// Shows the notice named by `key` if it is a known one.
    pub fn with_notice(mut self, key: Option<&str>) -> Self {
        self.notice = key
            .filter(|k| NOTICES.contains(k))
            .map(|k| self.t.get(&format!("notice.{k}")).to_owned());
        self
    }

    /// A notice kind in the user's language.
    pub fn notice_kind(&self, kind: &str) -> &str {
        self.t.get(match kind {
            "incident" => "ops.kind_incident",
            "maintenance" => "ops.kind_maintenance",
            "sla_change" => "ops.kind_sla_change",
            _ => "ops.kind_end_of_service",
        })
    }

    /// The role's name in the user's language.
    pub fn role_name(&self) -> &str {
        self.t.get(match self.role {
            Role::Admin => "role.admin",
            Role::Receptionist => "role.receptionist",
            Role::Host => "role.host",
        })
    }
}
