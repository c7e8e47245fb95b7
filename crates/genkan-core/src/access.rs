//! Who is asking, and what they may see or do. Every handler asks here before it
//! touches the store; the answer carries the tenant (and for hosts the host) that
//! every query is then restricted to.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::id::{KioskId, SiteId, TenantId, TokenId, UserId};

/// A staff member's role within their tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything of the tenant.
    Admin,
    /// Front desk: today's lists, manual check-in/out, walk-ins.
    Receptionist,
    /// Their own appointments and visits only.
    Host,
}

impl Role {
    /// Stable name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Receptionist => "receptionist",
            Self::Host => "host",
        }
    }

    /// Parses a stored or submitted role name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Self::Admin),
            "receptionist" => Some(Self::Receptionist),
            "host" => Some(Self::Host),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API token may be used for; a token never exceeds its owner's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Read appointments.
    #[serde(rename = "appointments:read")]
    AppointmentsRead,
    /// Create, edit and cancel appointments.
    #[serde(rename = "appointments:write")]
    AppointmentsWrite,
    /// Read visits.
    #[serde(rename = "visits:read")]
    VisitsRead,
    /// Read users and sites.
    #[serde(rename = "directory:read")]
    DirectoryRead,
    /// Tenant administration (settings, kiosks, users).
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope, for listing and validation.
    pub const ALL: [Scope; 5] = [
        Self::AppointmentsRead,
        Self::AppointmentsWrite,
        Self::VisitsRead,
        Self::DirectoryRead,
        Self::Admin,
    ];

    /// Stable name (`appointments:read`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AppointmentsRead => "appointments:read",
            Self::AppointmentsWrite => "appointments:write",
            Self::VisitsRead => "visits:read",
            Self::DirectoryRead => "directory:read",
            Self::Admin => "admin",
        }
    }

    /// Parses a scope name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
    }
}

/// Who performs a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in staff member.
    User {
        /// The person.
        user_id: UserId,
        /// Their role at the time of the request.
        role: Role,
    },
    /// An integration using an API token on behalf of a user.
    Token {
        /// The token.
        token_id: TokenId,
        /// The user who created it; the token never exceeds their role.
        user_id: UserId,
        /// The owner's role.
        role: Role,
        /// What the token was granted.
        scopes: Vec<Scope>,
    },
    /// A paired reception kiosk.
    Kiosk {
        /// The device.
        kiosk_id: KioskId,
        /// The site it stands at.
        site_id: SiteId,
    },
}

/// An authenticated actor of one tenant. Built only by the server's authentication layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant every query of this request is restricted to.
    pub tenant_id: TenantId,
    /// Who is acting.
    pub actor: Actor,
}

/// Something a principal may want to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See appointments (restricted by [`Visibility`]).
    ViewAppointments,
    /// Create, edit, cancel appointments (hosts: only their own).
    ManageAppointments,
    /// See visits (restricted by [`Visibility`]).
    ViewVisits,
    /// Check a visitor in or out by hand, register walk-ins.
    FrontDesk,
    /// See staff and sites (names only, for pickers).
    ViewDirectory,
    /// Users, groups, sites, kiosks, settings, audit log.
    Administer,
}

/// How much of the staff directory a principal sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryView {
    /// Ids and names only: enough for pickers.
    Names,
    /// Everything, including addresses, roles and account states.
    Full,
}

/// Which records of the tenant a principal may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every record of the tenant.
    Tenant,
    /// Only records where this user is the host.
    Host(UserId),
}

impl Principal {
    /// The acting user, if a person (directly or through a token) is acting.
    pub fn user_id(&self) -> Option<UserId> {
        match &self.actor {
            Actor::User { user_id, .. } | Actor::Token { user_id, .. } => Some(*user_id),
            Actor::Kiosk { .. } => None,
        }
    }

    /// The acting user's role, if any.
    pub fn role(&self) -> Option<Role> {
        match &self.actor {
            Actor::User { role, .. } | Actor::Token { role, .. } => Some(*role),
            Actor::Kiosk { .. } => None,
        }
    }

    /// Whether the principal may do `what` at all (visibility narrows it further).
    pub fn may(&self, what: Permission) -> bool {
        let by_role = |role: Role| match what {
            Permission::ViewAppointments
            | Permission::ManageAppointments
            | Permission::ViewVisits
            | Permission::ViewDirectory => true,
            Permission::FrontDesk => matches!(role, Role::Admin | Role::Receptionist),
            Permission::Administer => role == Role::Admin,
        };
        match &self.actor {
            Actor::User { role, .. } => by_role(*role),
            Actor::Token { role, scopes, .. } => {
                let needed = match what {
                    Permission::ViewAppointments => Scope::AppointmentsRead,
                    Permission::ManageAppointments => Scope::AppointmentsWrite,
                    Permission::ViewVisits => Scope::VisitsRead,
                    Permission::ViewDirectory => Scope::DirectoryRead,
                    Permission::FrontDesk | Permission::Administer => Scope::Admin,
                };
                by_role(*role) && (scopes.contains(&needed) || scopes.contains(&Scope::Admin))
            }
            Actor::Kiosk { .. } => false,
        }
    }

    /// How much of the staff directory this principal sees, if anything: full
    /// entries only for those who may administer (an administrator, or a token
    /// of one with the `admin` scope), names for everyone else allowed to look.
    pub fn directory_view(&self) -> Option<DirectoryView> {
        if self.may(Permission::Administer) {
            Some(DirectoryView::Full)
        } else if self.may(Permission::ViewDirectory) {
            Some(DirectoryView::Names)
        } else {
            None
        }
    }

    /// Which appointments and visits this principal may see.
    pub fn visibility(&self) -> Visibility {
        match &self.actor {
            Actor::User { user_id, role } | Actor::Token { user_id, role, .. } => match role {
                Role::Admin | Role::Receptionist => Visibility::Tenant,
                Role::Host => Visibility::Host(*user_id),
            },
            // Kiosks never list anything; give them the narrowest answer.
            Actor::Kiosk { .. } => Visibility::Host(UserId(0)),
        }
    }

    /// Whether this principal may act as host `host` when creating an appointment.
    pub fn may_host_as(&self, host: UserId) -> bool {
        match self.visibility() {
            Visibility::Tenant => self.may(Permission::ManageAppointments),
            Visibility::Host(me) => me == host && self.may(Permission::ManageAppointments),
        }
    }

    /// A short label for the audit log (`user:12`, `kiosk:3`, `token:7`).
    pub fn audit_actor(&self) -> (&'static str, i64) {
        match &self.actor {
            Actor::User { user_id, .. } => ("user", user_id.get()),
            Actor::Token { token_id, .. } => ("token", token_id.get()),
            Actor::Kiosk { kiosk_id, .. } => ("kiosk", kiosk_id.get()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> Principal {
        Principal {
            tenant_id: TenantId(1),
            actor: Actor::User {
                user_id: UserId(7),
                role,
            },
        }
    }

    #[test]
    fn hosts_see_only_their_own_and_cannot_administer() {
        let host = user(Role::Host);
        assert_eq!(host.visibility(), Visibility::Host(UserId(7)));
        assert!(host.may(Permission::ManageAppointments));
        assert!(!host.may(Permission::Administer));
        assert!(!host.may(Permission::FrontDesk));
        assert!(host.may_host_as(UserId(7)));
        assert!(!host.may_host_as(UserId(8)));
    }

    #[test]
    fn admins_and_receptionists_see_the_whole_tenant() {
        assert_eq!(user(Role::Admin).visibility(), Visibility::Tenant);
        assert!(user(Role::Admin).may(Permission::Administer));
        let desk = user(Role::Receptionist);
        assert_eq!(desk.visibility(), Visibility::Tenant);
        assert!(desk.may(Permission::FrontDesk));
        assert!(!desk.may(Permission::Administer));
    }

    #[test]
    fn tokens_need_both_the_scope_and_the_owners_role() {
        let token = |role, scopes: Vec<Scope>| Principal {
            tenant_id: TenantId(1),
            actor: Actor::Token {
                token_id: TokenId(1),
                user_id: UserId(7),
                role,
                scopes,
            },
        };
        let read_only = token(Role::Admin, vec![Scope::AppointmentsRead]);
        assert!(read_only.may(Permission::ViewAppointments));
        assert!(!read_only.may(Permission::ManageAppointments));
        assert!(!read_only.may(Permission::Administer));
        let host_admin_scope = token(Role::Host, vec![Scope::Admin]);
        assert!(!host_admin_scope.may(Permission::Administer));
        assert!(host_admin_scope.may(Permission::ManageAppointments));
    }

    #[test]
    fn only_those_who_administer_see_more_of_the_directory_than_names() {
        let token = |role, scopes: Vec<Scope>| Principal {
            tenant_id: TenantId(1),
            actor: Actor::Token {
                token_id: TokenId(1),
                user_id: UserId(7),
                role,
                scopes,
            },
        };
        use DirectoryView::{Full, Names};
        assert_eq!(user(Role::Admin).directory_view(), Some(Full));
        assert_eq!(user(Role::Receptionist).directory_view(), Some(Names));
        assert_eq!(user(Role::Host).directory_view(), Some(Names));
        let admin_reader = token(Role::Admin, vec![Scope::DirectoryRead]);
        assert_eq!(admin_reader.directory_view(), Some(Names));
        assert_eq!(
            token(Role::Admin, vec![Scope::Admin]).directory_view(),
            Some(Full)
        );
        assert_eq!(
            token(Role::Host, vec![Scope::Admin]).directory_view(),
            Some(Names)
        );
        assert_eq!(
            token(Role::Admin, vec![Scope::VisitsRead]).directory_view(),
            None
        );
    }

    #[test]
    fn kiosks_may_do_nothing_administrative() {
        let kiosk = Principal {
            tenant_id: TenantId(1),
            actor: Actor::Kiosk {
                kiosk_id: KioskId(1),
                site_id: SiteId(1),
            },
        };
        for p in [
            Permission::ViewAppointments,
            Permission::ManageAppointments,
            Permission::ViewVisits,
            Permission::FrontDesk,
            Permission::ViewDirectory,
            Permission::Administer,
        ] {
            assert!(!kiosk.may(p));
        }
    }

    #[test]
    fn scope_names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("root"), None);
    }
}
