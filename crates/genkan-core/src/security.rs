//! A tenant's sign-in policies: who must use a second factor, and from which
//! networks staff may sign in and keep using their sessions and API tokens.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::access::Role;

/// Who must sign in with a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaPolicy {
    /// Optional for everyone.
    #[default]
    None,
    /// Required for administrators.
    Admins,
    /// Required for every user.
    Everyone,
}

impl MfaPolicy {
    /// Stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Admins => "admins",
            Self::Everyone => "everyone",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "admins" => Some(Self::Admins),
            "everyone" => Some(Self::Everyone),
            _ => None,
        }
    }

    /// Whether a user with `role` must have a second factor.
    pub fn requires(self, role: Role) -> bool {
        match self {
            Self::None => false,
            Self::Admins => role == Role::Admin,
            Self::Everyone => true,
        }
    }
}

/// To whom the address allowlist applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowlistScope {
    /// Administrators only (the others may sign in from anywhere).
    #[default]
    Admins,
    /// Every staff user and every API token.
    Everyone,
}

impl AllowlistScope {
    /// Stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admins => "admins",
            Self::Everyone => "everyone",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admins" => Some(Self::Admins),
            "everyone" => Some(Self::Everyone),
            _ => None,
        }
    }
}

/// Normalises IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1` → `192.0.2.1`).
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// A network in CIDR notation, IPv4 or IPv6, stored in canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a network could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address or network (write e.g. 203.0.113.0/24 or 2001:db8::/32)")]
pub struct CidrError(pub String);

impl Cidr {
    /// Reads `192.0.2.0/24`, `2001:db8::/32`, or a single address (a /32 or /128).
    /// An IPv4-mapped IPv6 network (`::ffff:192.0.2.0/120`) becomes the IPv4 one;
    /// host bits below the prefix are cleared.
    pub fn parse(input: &str) -> Result<Self, CidrError> {
        let bad = || CidrError(input.chars().take(60).collect());
        let s = input.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                (a, Some(p.parse::<u8>().map_err(|_| bad())?))
            }
            None => (s, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| bad())?;
        let (ip, prefix) = match (ip, prefix) {
            (IpAddr::V4(_), Some(p)) if p > 32 => return Err(bad()),
            (IpAddr::V6(_), Some(p)) if p > 128 => return Err(bad()),
            (IpAddr::V6(v6), p) if v6.to_ipv4_mapped().is_some() => {
                let p = p.unwrap_or(128);
                if p < 96 {
                    return Err(bad());
                }
                (canonical_ip(IpAddr::V6(v6)), p - 96)
            }
            (IpAddr::V4(v4), p) => (IpAddr::V4(v4), p.unwrap_or(32)),
            (IpAddr::V6(v6), p) => (IpAddr::V6(v6), p.unwrap_or(128)),
        };
        Ok(Self {
            network: mask(ip, prefix),
            prefix,
        })
    }

    /// Whether `ip` (normalised first) lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// A tenant's address allowlist: empty means "no restriction".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpAllowlist {
    /// The allowed networks.
    pub networks: Vec<Cidr>,
    /// To whom it applies.
    pub scope: AllowlistScope,
}

/// The most networks one tenant may list.
pub const MAX_NETWORKS: usize = 100;

impl IpAllowlist {
    /// Reads a list of networks separated by new lines, commas or spaces.
    pub fn parse_networks(text: &str) -> Result<Vec<Cidr>, CidrError> {
        let networks = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(Cidr::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if networks.len() > MAX_NETWORKS {
            return Err(CidrError(format!("more than {MAX_NETWORKS} networks")));
        }
        let mut unique: Vec<Cidr> = Vec::with_capacity(networks.len());
        for n in networks {
            if !unique.contains(&n) {
                unique.push(n);
            }
        }
        Ok(unique)
    }

    /// The stored form: one canonical network per line.
    pub fn networks_text(&self) -> String {
        self.networks
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether the list restricts users with `role` at all.
    pub fn applies_to(&self, role: Role) -> bool {
        !self.networks.is_empty()
            && match self.scope {
                AllowlistScope::Admins => role == Role::Admin,
                AllowlistScope::Everyone => true,
            }
    }

    /// Whether a user with `role` may act from `ip`.
    pub fn permits(&self, role: Role, ip: IpAddr) -> bool {
        !self.applies_to(role) || self.networks.iter().any(|n| n.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_are_read_in_canonical_form() {
        assert_eq!(
            Cidr::parse("192.0.2.77/24").unwrap().to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            Cidr::parse("127.0.0.2").unwrap().to_string(),
            "127.0.0.2/32"
        );
        assert_eq!(
            Cidr::parse("2001:db8::1/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(Cidr::parse("::1").unwrap().to_string(), "::1/128");
        assert_eq!(
            Cidr::parse("::ffff:127.0.0.2").unwrap().to_string(),
            "127.0.0.2/32"
        );
        assert_eq!(
            Cidr::parse("::ffff:10.1.0.0/112").unwrap().to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        for bad in [
            "",
            "/24",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0/8",
            "host.example",
            "10.0.0.0/+8",
            "::ffff:1.2.3.4/64",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn membership_normalises_mapped_addresses() {
        let n = Cidr::parse("127.0.0.2/32").unwrap();
        assert!(n.contains(ip("127.0.0.2")));
        assert!(n.contains(ip("::ffff:127.0.0.2")));
        assert!(!n.contains(ip("127.0.0.3")));
        assert!(!n.contains(ip("::1")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("203.0.113.9"))
        );
    }

    #[test]
    fn the_allowlist_applies_to_its_scope_only() {
        let networks = IpAllowlist::parse_networks("127.0.0.2/32, ::1\n127.0.0.2").unwrap();
        assert_eq!(networks.len(), 2, "duplicates are dropped");
        let admins = IpAllowlist {
            networks: networks.clone(),
            scope: AllowlistScope::Admins,
        };
        assert!(admins.permits(Role::Admin, ip("127.0.0.2")));
        assert!(admins.permits(Role::Admin, ip("::1")));
        assert!(!admins.permits(Role::Admin, ip("127.0.0.3")));
        assert!(admins.permits(Role::Host, ip("127.0.0.3")));
        let everyone = IpAllowlist {
            networks,
            scope: AllowlistScope::Everyone,
        };
        assert!(!everyone.permits(Role::Host, ip("127.0.0.3")));
        assert!(IpAllowlist::default().permits(Role::Admin, ip("127.0.0.3")));
        assert_eq!(everyone.networks_text(), "127.0.0.2/32\n::1/128");
    }

    #[test]
    fn mfa_policy_names_who_must_enrol() {
        assert!(!MfaPolicy::None.requires(Role::Admin));
        assert!(MfaPolicy::Admins.requires(Role::Admin));
        assert!(!MfaPolicy::Admins.requires(Role::Host));
        assert!(MfaPolicy::Everyone.requires(Role::Receptionist));
        for p in [MfaPolicy::None, MfaPolicy::Admins, MfaPolicy::Everyone] {
            assert_eq!(MfaPolicy::parse(p.as_str()), Some(p));
        }
    }
}
