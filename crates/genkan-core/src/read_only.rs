//! What a tenant whose contract ended may still do, judged over every credential a
//! request carries: its staff may read, export and sign in and out but change
//! nothing, and its kiosks may do nothing at all. A credential whose tenant cannot
//! be told (the lookup failed) refuses the request: the rule fails closed.

/// What a route does, as far as a read-only tenant is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Shows or exports data: open to a read-only tenant.
    Read,
    /// Changes data: refused for a read-only tenant.
    Write,
    /// Signing in and out, the second factor included: open to a read-only tenant.
    SignInOut,
}

impl Access {
    /// What a request does when its route says nothing more: the safe methods read,
    /// every other method writes.
    pub fn of_method(method: &str) -> Self {
        match method {
            "GET" | "HEAD" | "OPTIONS" => Self::Read,
            _ => Self::Write,
        }
    }
}

/// The kind of a credential a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A web session cookie.
    Session,
    /// An API token (access or refresh).
    Token,
    /// A kiosk's device credential.
    Kiosk,
}

/// What is known of the tenant a credential belongs to. (A credential that belongs
/// to no tenant grants nothing and is not judged.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantState {
    /// The contract runs.
    Open,
    /// The contract ended.
    ReadOnly,
    /// The credential or its tenant could not be looked up.
    Unknown,
}

/// The outcome of [`judge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing the request carries stands in its way.
    Allowed,
    /// A credential belongs to a read-only tenant that may not do this.
    ReadOnly,
    /// A credential could not be judged: refused.
    Unknown,
}

/// Judges a request doing `access` with every credential it carries.
pub fn judge(
    access: Access,
    credentials: impl IntoIterator<Item = (Credential, TenantState)>,
) -> Verdict {
    let mut verdict = Verdict::Allowed;
    for (credential, state) in credentials {
        match state {
            TenantState::Unknown => return Verdict::Unknown,
            TenantState::Open => {}
            TenantState::ReadOnly => {
                if credential == Credential::Kiosk || access == Access::Write {
                    verdict = Verdict::ReadOnly;
                }
            }
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use Credential::{Kiosk, Session, Token};
    use TenantState::{Open, ReadOnly, Unknown};

    #[test]
    fn safe_methods_read_and_every_other_method_writes() {
        for m in ["GET", "HEAD", "OPTIONS"] {
            assert_eq!(Access::of_method(m), Access::Read, "{m}");
        }
        for m in [
            "POST", "PUT", "PATCH", "DELETE", "CONNECT", "TRACE", "get", "X",
        ] {
            assert_eq!(Access::of_method(m), Access::Write, "{m}");
        }
    }

    #[test]
    fn staff_of_a_read_only_tenant_read_and_sign_in_and_out_but_never_write() {
        for who in [Session, Token] {
            assert_eq!(judge(Access::Read, [(who, ReadOnly)]), Verdict::Allowed);
            assert_eq!(
                judge(Access::SignInOut, [(who, ReadOnly)]),
                Verdict::Allowed
            );
            assert_eq!(judge(Access::Write, [(who, ReadOnly)]), Verdict::ReadOnly);
            assert_eq!(judge(Access::Write, [(who, Open)]), Verdict::Allowed);
        }
    }

    #[test]
    fn kiosks_of_a_read_only_tenant_do_nothing_at_all() {
        for access in [Access::Read, Access::Write, Access::SignInOut] {
            assert_eq!(judge(access, [(Kiosk, ReadOnly)]), Verdict::ReadOnly);
            assert_eq!(judge(access, [(Kiosk, Open)]), Verdict::Allowed);
        }
    }

    #[test]
    fn every_credential_counts_and_one_that_cannot_be_judged_refuses() {
        // An open session does not cover a read-only token, whatever the order.
        assert_eq!(
            judge(Access::Write, [(Session, Open), (Token, ReadOnly)]),
            Verdict::ReadOnly
        );
        assert_eq!(
            judge(Access::Write, [(Token, ReadOnly), (Session, Open)]),
            Verdict::ReadOnly
        );
        assert_eq!(
            judge(Access::Read, [(Session, Open), (Kiosk, ReadOnly)]),
            Verdict::ReadOnly
        );
        for access in [Access::Read, Access::Write, Access::SignInOut] {
            assert_eq!(
                judge(access, [(Session, Open), (Token, Unknown)]),
                Verdict::Unknown
            );
            assert_eq!(
                judge(access, [(Kiosk, ReadOnly), (Session, Unknown)]),
                Verdict::Unknown
            );
        }
        assert_eq!(judge(Access::Write, []), Verdict::Allowed);
    }
}
