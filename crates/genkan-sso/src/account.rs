//! Which Genkan account an SSO identity signs in to: match on the stable subject, link by
//! a verified address only the first time, create just in time when the tenant allows it,
//! and map IdP groups to a role. Pure decisions; the store looks the candidates up.

use genkan_core::access::Role;

/// A tenant's just-in-time creation rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitPolicy {
    /// Whether unknown users are created at their first sign-in.
    pub enabled: bool,
    /// The role given when no group maps to one.
    pub default_role: Role,
    /// Address domains allowed for creation (lower case, no `@`); empty allows any.
    pub allowed_domains: Vec<String>,
}

/// What the store found for an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidates<U> {
    /// The account already linked to `(issuer, subject)`.
    pub by_subject: Option<U>,
    /// The account of the tenant with the asserted address, and whether it is already
    /// linked to another subject of this IdP.
    pub by_email: Option<(U, bool)>,
}

/// The decision for one sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountDecision<U> {
    /// Sign in to this linked account.
    SignIn(U),
    /// Link `(issuer, subject)` to this account (found by verified address), then sign in.
    LinkAndSignIn(U),
    /// Create an account with this role, link it, sign in.
    Create(Role),
    /// Refuse; audit the reason.
    Refuse(AccountRefusal),
}

/// Why no account was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountRefusal {
    /// No linked account, no linkable one, and just-in-time creation is off.
    #[error("no Genkan account for this identity")]
    NoAccount,
    /// An account has the address but the IdP did not verify it.
    #[error("the address was not verified by the identity provider")]
    UnverifiedEmail,
    /// The account with the address is linked to another subject of this IdP.
    #[error("the account with this address belongs to another identity")]
    LinkedToAnotherSubject,
    /// Creation is on but the address is missing or outside the allowed domains.
    #[error("the address is not in a domain allowed for new accounts")]
    DomainNotAllowed,
}

impl AccountRefusal {
    /// A stable code for the audit log.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoAccount => "sso_no_account",
            Self::UnverifiedEmail => "sso_unverified_email",
            Self::LinkedToAnotherSubject => "sso_email_linked_elsewhere",
            Self::DomainNotAllowed => "sso_domain_not_allowed",
        }
    }
}

/// Decides the account. The subject wins over the address: a changed address at the IdP
/// keeps the same account, and an address that moved to another person never opens the
/// old owner's account (SAML callers pass `email_verified = true` only for IdPs the
/// tenant trusts to assert addresses).
pub fn decide_account<U>(
    candidates: Candidates<U>,
    email: Option<&str>,
    email_verified: bool,
    jit: &JitPolicy,
) -> AccountDecision<U> {
    if let Some(user) = candidates.by_subject {
        return AccountDecision::SignIn(user);
    }
    if let Some((user, linked_elsewhere)) = candidates.by_email {
        return if linked_elsewhere {
            AccountDecision::Refuse(AccountRefusal::LinkedToAnotherSubject)
        } else if !email_verified {
            AccountDecision::Refuse(AccountRefusal::UnverifiedEmail)
        } else {
            AccountDecision::LinkAndSignIn(user)
        };
    }
    if !jit.enabled {
        return AccountDecision::Refuse(AccountRefusal::NoAccount);
    }
    let domain_ok = email
        .filter(|_| email_verified)
        .and_then(|e| e.rsplit_once('@'))
        .is_some_and(|(_, domain)| {
            jit.allowed_domains.is_empty()
                || jit
                    .allowed_domains
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(domain))
        });
    if domain_ok {
        AccountDecision::Create(jit.default_role)
    } else {
        AccountDecision::Refuse(AccountRefusal::DomainNotAllowed)
    }
}

/// The role IdP groups give: the most privileged role any listed group maps to
/// (`Admin` over `Receptionist` over `Host`), or `None` when no group is mapped.
pub fn role_for_groups(groups: &[String], mapping: &[(String, Role)]) -> Option<Role> {
    let rank = |r: Role| match r {
        Role::Admin => 3,
        Role::Receptionist => 2,
        Role::Host => 1,
    };
    mapping
        .iter()
        .filter(|(group, _)| groups.iter().any(|g| g == group))
        .map(|(_, role)| *role)
        .max_by_key(|r| rank(*r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jit(enabled: bool, domains: &[&str]) -> JitPolicy {
        JitPolicy {
            enabled,
            default_role: Role::Host,
            allowed_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    #[test]
    fn the_subject_wins_and_an_address_links_only_once_and_only_when_verified() {
        let none: Candidates<u32> = Candidates {
            by_subject: None,
            by_email: None,
        };
        let linked = Candidates {
            by_subject: Some(1),
            by_email: Some((2, true)),
        };
        assert_eq!(
            decide_account(linked, Some("a@x.jp"), false, &jit(false, &[])),
            AccountDecision::SignIn(1)
        );
        let by_mail = |elsewhere| Candidates {
            by_subject: None,
            by_email: Some((2, elsewhere)),
        };
        assert_eq!(
            decide_account(by_mail(false), Some("a@x.jp"), true, &jit(false, &[])),
            AccountDecision::LinkAndSignIn(2)
        );
        assert_eq!(
            decide_account(by_mail(false), Some("a@x.jp"), false, &jit(true, &[])),
            AccountDecision::Refuse(AccountRefusal::UnverifiedEmail)
        );
        assert_eq!(
            decide_account(by_mail(true), Some("a@x.jp"), true, &jit(true, &[])),
            AccountDecision::Refuse(AccountRefusal::LinkedToAnotherSubject)
        );
        assert_eq!(
            decide_account(none.clone(), Some("a@x.jp"), true, &jit(false, &[])),
            AccountDecision::Refuse(AccountRefusal::NoAccount)
        );
        assert_eq!(
            decide_account(none.clone(), Some("a@X.jp"), true, &jit(true, &["x.jp"])),
            AccountDecision::Create(Role::Host)
        );
        assert_eq!(
            decide_account(none.clone(), Some("a@y.jp"), true, &jit(true, &["x.jp"])),
            AccountDecision::Refuse(AccountRefusal::DomainNotAllowed)
        );
        assert_eq!(
            decide_account(none, None, true, &jit(true, &[])),
            AccountDecision::Refuse(AccountRefusal::DomainNotAllowed)
        );
    }

    #[test]
    fn the_most_privileged_mapped_group_gives_the_role() {
        let mapping = vec![
            ("hosts".to_owned(), Role::Host),
            ("desk".to_owned(), Role::Receptionist),
            ("it".to_owned(), Role::Admin),
        ];
        let groups = |g: &[&str]| g.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            role_for_groups(&groups(&["hosts", "desk"]), &mapping),
            Some(Role::Receptionist)
        );
        assert_eq!(
            role_for_groups(&groups(&["it", "hosts"]), &mapping),
            Some(Role::Admin)
        );
        assert_eq!(role_for_groups(&groups(&["other"]), &mapping), None);
    }
}
